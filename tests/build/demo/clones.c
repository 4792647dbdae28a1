/* Functions that gcc -O2 splits and clones: .constprop, .isra, .part and .cold. */
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"

struct pair {
	long first, second;
	char pad[64];
};

__attribute__((noinline)) static long mix(long v, long k)
{
	return (v * k) ^ (v >> 3);
}

__attribute__((noinline)) static long first_of(const struct pair *p)
{
	return p->first * 7;
}

__attribute__((cold, noinline)) static void report(long v)
{
	fprintf(stderr, "checksum of %ld overflows\n", v);
}

long checksum(long v)
{
	struct pair p = { .first = v, .second = 0 };
	long s = mix(v, 31) + first_of(&p);

	if (v > 1000000) {
		report(v);
		fprintf(stderr, "giving up on %ld\n", v);
		return -1;
	}
	return s + mix(v + 1, 31);
}
