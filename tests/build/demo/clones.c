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

static const long weights[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };

/* gcc -O2 inlines the n < 4 test into scaled_sum() and splits the rest into a .part clone. */
static long scaled_sum_of(long n, long k)
{
	long s = 0;

	if (n < 4)
		return n;
	for (long i = 0; i < n; i++) {
		s += weights[i & 15] * i * k;
		s ^= s >> 3;
		s += weights[(i + k) & 15];
		if (s > 1000000) {
			fprintf(stderr, "scaled sum of %ld overflows at %ld\n", n, i);
			return -1;
		}
	}
	for (long i = n; i > 0; i /= 2)
		s += weights[i & 15] * weights[(i >> 4) & 15];
	return s + n;
}

long scaled_sum(long n)
{
	return scaled_sum_of(n, 3) + scaled_sum_of(n / 2, 5) + scaled_sum_of(n / 3, 2) +
	       scaled_sum_of(n / 5, 7) + scaled_sum_of(n / 7, 11);
}

/* gcc 12 at -O3 gives spread() one .constprop clone per constant k, numbered from the last caller up. */
__attribute__((noinline)) static long spread(long v, long k)
{
	long s = 0;

	for (long i = 0; i < k; i++)
		s += (v * i) ^ (v >> 3);
	return s;
}

long spread_wide(long v)
{
	return spread(v, 31) + spread(v + 1, 31);
}

long spread_narrow(long v)
{
	return spread(v, 17) + spread(v + 2, 17);
}
