#include <stdio.h>
#include <unistd.h>

#include "demo.h"

int limit = 10;

long compute(long x)
{
	return x + 1;
}

int next_count(void)
{
	static int count;

	return ++count;
}

const char *greeting(void)
{
	return "hello";
}

const char *describe(int n)
{
	switch (n) {
	case 0: return "zero";
	case 1: return "one";
	case 2: return "two";
	case 3: return "three";
	case 4: return "four";
	case 5: return "five";
	default: return "many";
	}
}

static long op_add(long a, long b)
{
	return a + b;
}

static long op_sub(long a, long b)
{
	return a - b;
}

static long op_mul(long a, long b)
{
	return a * b;
}

static long (*const ops[])(long, long) = { op_add, op_sub, op_mul };

long apply_op(int index, long value)
{
	if (index < 0 || index >= (int)(sizeof(ops) / sizeof(ops[0])))
		return -1;
	return ops[index](value, 3);
}

long process_id(void)
{
	return limit - 1000;
}

int clamp_twice(int v)
{
	return clamp_value(v) + clamp_value(v);
}
