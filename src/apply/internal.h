/* Helpers shared by the apply, revert and recovery steps. */
#ifndef SUTURE_APPLY_INTERNAL_H
#define SUTURE_APPLY_INTERNAL_H

#include "apply/check.h"
#include "apply/engine.h"
#include "apply/state.h"
#include "ptrace/ptrace.h"

int engine_fail(struct engine_result *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Load the process state, mapping errors to exit codes and messages. */
int engine_open(pid_t pid, struct process_state *ps, struct engine_result *r);

/* Seize all threads, mapping errors to exit codes and messages. */
int engine_seize(struct process_state *ps, struct thread_set *set, struct engine_result *r);

/* Index of the thread to run injected system calls in: the main thread if alive. */
size_t engine_pick_thread(const struct thread_set *set);

/*
 * Stop all threads and run the safety check until it passes or the budget
 * runs out.  On success, returns EXIT_OK with every thread stopped and
 * *t0 set to when the stop began; otherwise threads are running (still
 * seized) and r describes why.
 */
int engine_stop_when_safe(struct process_state *ps, struct thread_set *set,
			  const struct busy_range *ranges, size_t nranges,
			  const struct busy_range *sites, size_t nsites,
			  const struct engine_opts *o, struct engine_result *r, uint64_t *t0);

/* Stop one thread, unmap [start, end) in the target, and leave it stopped. */
/* Returns 0, -EPERM when the seccomp filter forbids munmap, or another negative errno. */
int engine_unmap(struct process_state *ps, struct thread_set *set, uint64_t start, uint64_t end);

/*
 * With all threads stopped, switch every function of an applied patch back:
 * entries to their stubs, the flag cleared (all functions at once), then the
 * entries' old bytes.  Idempotent, so recovery can run it again.
 */
int engine_write_unswitch(const struct process_state *ps, const struct applied_patch *ap);

/*
 * Mark a reverted patch whose mapping cannot be removed (the seccomp filter
 * forbids munmap) so that recovery leaves it alone, and say so in r.
 */
void engine_keep_mapping(struct process_state *ps, struct applied_patch *ap,
			 struct engine_result *r);

/* Finish or undo interrupted changes; threads seized, running on return. */
int engine_recover_seized(struct process_state *ps, struct thread_set *set,
			  const struct engine_opts *o, struct engine_result *r);

#endif
