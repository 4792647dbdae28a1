/* Replacement for storm.c: other allocation sizes. */
#include <stddef.h>

size_t pick_size(unsigned i)
{
	return 32 + (i * 11) % 300;
}
