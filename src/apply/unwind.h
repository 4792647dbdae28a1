/*
 * Registration of a patch's .eh_frame with the target's unwinder, so that C++
 * exceptions, thread cancellation and backtrace() unwind through the new
 * code.  No code of the target runs: suture writes libgcc's registry itself,
 * with every thread stopped and libgcc's lock free.
 *
 * The registry is the one of libgcc_s.so.1 of gcc 12 (unwind-dw2-fde.c),
 * and of other versions whose code matches.  It has a list of objects
 * registered but not used yet (unseen_objects), a list of objects already
 * sorted (seen_objects), and a flag that any object was ever registered,
 * all behind one mutex.  Its variables are static, so suture finds them in
 * the code of the exported functions that use them, and accepts them only
 * when three of those functions agree.  gcc 13 replaced the lists with a
 * b-tree, which suture does not recognise.
 */
#ifndef SUTURE_UNWIND_H
#define SUTURE_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "apply/check.h"
#include "apply/engine.h"
#include "apply/load.h"
#include "apply/state.h"
#include "ptrace/ptrace.h"

/* Addresses in the target of libgcc's static registry variables. */
struct unwind_registry {
	uint64_t unseen_objects;    /* struct object *, head of the unsorted list */
	uint64_t seen_objects;      /* struct object *, head of the sorted list */
	uint64_t any_registered;    /* int, set once an object was registered */
	uint64_t mutex;             /* pthread_mutex_t guarding both lists */
	uint64_t encoding_word;     /* struct object's s.i as libgcc initialises it */
	char path[256];             /* libgcc_s's path in the target, for messages */
};

/* The registration one apply performs. */
struct unwind_plan {
	int active;                 /* the table is to be registered */
	struct unwind_registry reg;
	uint64_t object;            /* the struct object, in the patch's BSS */
	uint64_t eh_frame;          /* the table, in the patch's RODATA */
};

/*
 * Find and check libgcc_s's registry in the process.  Returns 0, -ENOENT when
 * no libgcc_s.so is mapped, or -ENOTSUP when its code is not the expected
 * kind, with the reason in `err`.
 */
int unwind_registry_find(const struct process_state *ps, struct unwind_registry *reg,
			 char *err, size_t errlen);

/*
 * Decide, before the switch, whether and where apply registers the patch's
 * table.  A process that has not loaded libgcc_s gets no registration and a
 * warning.  Returns EXIT_OK, or EXIT_UNWINDER when libgcc_s is mapped but its
 * registry is not recognised, because unwinding through the new code would
 * then terminate the process.
 */
int unwind_plan_patch(const struct process_state *ps, const struct patch *p,
		      const struct image *img, struct unwind_plan *plan,
		      struct engine_result *r);

/*
 * With every thread stopped, check whether a thread holds libgcc's lock.
 * Returns 0 when it is free, 1 when it is held (*busy names the holder), or
 * a negative errno.
 */
int unwind_lock_busy(const struct process_state *ps, const struct thread_set *set,
		     const struct unwind_registry *reg, struct busy_report *busy);

/*
 * With every thread stopped and libgcc's lock free: mark the record at
 * `record_addr`, then link the patch's struct object into unseen_objects as
 * __register_frame_info_bases would.
 */
int unwind_register(const struct process_state *ps, const struct unwind_plan *plan,
		    uint64_t record_addr);

/*
 * With every thread stopped and libgcc's lock free: unlink every registered
 * object that lies in [start, end) from both lists.  *removed counts them.
 */
int unwind_unregister(const struct process_state *ps, const struct unwind_registry *reg,
		      uint64_t start, uint64_t end, unsigned *removed);

/*
 * Prepare the removal of a patch mapping whose record says its table is
 * registered: find the registry and make the next stops also wait for its
 * lock (ps->unwind_lock).  Returns EXIT_OK, doing nothing for a patch without
 * a registered table, or an exit code with `r` filled.
 */
int unwind_prepare_removal(struct process_state *ps, const struct applied_patch *ap,
			   struct unwind_registry *reg, struct engine_result *r);

/*
 * With every thread stopped after unwind_prepare_removal(): unregister the
 * patch's table, if it has one.  Returns 0 or a negative errno.
 */
int unwind_remove(const struct process_state *ps, const struct applied_patch *ap);

#endif
