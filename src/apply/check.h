/* The safety check run while every thread of the target is stopped. */
#ifndef SUTURE_CHECK_H
#define SUTURE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "apply/state.h"
#include "ptrace/ptrace.h"

/*
 * Code no thread may be executing or due to return into.  For a replaced
 * function the entry itself is allowed (entry_ok).  A thread about to execute
 * the first instruction will execute the new jump instead, which is a call of
 * the new function with the same arguments.  A word equal to the entry on a
 * stack is a function pointer, not a return address.
 */
struct busy_range {
	uint64_t lo, hi;
	int entry_ok;
	const char *name;
};

struct busy_report {
	pid_t tid;
	const char *name;
	uint64_t addr;
	int on_stack; /* 0: the thread's rip; 1: a word on its stack */
};

/* Allocate and fault in the buffers for `threads` stacks, before a pause. */
int check_prepare(size_t threads);

/* check_threads() result: a thread needs the exact walk, see below. */
#define CHECK_NEED_WALKER 2

/*
 * Check every stopped thread's rip and the live part of its stack (from rsp
 * to the end of the stack's mapping) against `ranges`.  With `allow_active`,
 * only `jump_sites` (the bytes overwritten by the jumps) are forbidden.
 * Returns 0 when safe, 1 when busy (*report filled), or a negative errno.
 * Returns CHECK_NEED_WALKER when a thread needs the exact walk and
 * unwind_check_prepare() has not run: let the threads go, call it, and
 * stop them again.
 */
int check_threads(const struct process_state *ps, const struct thread_set *set,
		  const struct busy_range *ranges, size_t nranges,
		  const struct busy_range *jump_sites, size_t nsites, int allow_active,
		  struct busy_report *report);

#endif
