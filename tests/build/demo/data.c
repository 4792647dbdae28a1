/* Heap data, global data and __LINE__, for the suture build tests. */
#include <stdlib.h>

#include "demo.h"

struct tally {
	long hits;
};

struct tally *current_tally; /* global, so no compiler moves the heap object */

/* The first call allocates the tally; the running process keeps it across patches. */
long tally_hits(void)
{
	if (!current_tally)
		current_tally = calloc(1, sizeof(*current_tally));
	if (!current_tally)
		return -1;
	return ++current_tally->hits;
}

/* Reads the global limit, which the executable may own through a copy relocation. */
long limit_offset(long x)
{
	return limit + x;
}

/* Returns its own line number, as an assertion or a log message records it. */
int line_here(void)
{
	return __LINE__;
}

/* A range that callers pass by pointer; no variable of this file has the type. */
struct span {
	long lo;
	long hi;
};

long span_width(const struct span *s)
{
	return s->hi - s->lo;
}
