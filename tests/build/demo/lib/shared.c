#include "lib/shared.h"

static int lib_calls;

int lib_value(int x)
{
	lib_calls++;
	return x * 2;
}
