/* Replacement for basic.c's compute that calls libc's strlen, an IFUNC. */
#include <string.h>

static char text[32] = "abcdefg";

int compute(int x)
{
	char *volatile p = text;
	return x + (int)strlen(p) + (int)strlen(p + 1) * 100;
}
