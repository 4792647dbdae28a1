#ifndef DEMO_H
#define DEMO_H

/* Inlined into handle_request() and clamp_twice(), in two files. */
static inline int clamp_value(int v)
{
	return v > 100 ? 100 : v < 0 ? 0 : v;
}

extern int limit;

long compute(long x);
int next_count(void);
const char *greeting(void);
const char *describe(int n);
long apply_op(int index, long value);
long process_id(void);
int clamp_twice(int v);
long checksum(long v);
long scaled_sum(long n);
long spread_wide(long v);
long spread_narrow(long v);
long tally_hits(void);
long limit_offset(long x);
int line_here(void);
struct span;
long span_width(const struct span *s);

#endif
