/*
 * Shared library for the library tests.  Build it with -DVARIANT=2 to get a
 * different build (other code, other build-id) of the same library.
 */
#ifndef VARIANT
#define VARIANT 1
#endif

__attribute__((noipa)) int demo_scale(void)
{
	return 10;
}

/* VARIANT 1 returns 2x + 1; VARIANT 2 returns 3x + 2. */
__attribute__((noipa)) int demo_compute(int x)
{
	if (x < 0)
		return -1;
	return x * (VARIANT + 1) + VARIANT;
}
