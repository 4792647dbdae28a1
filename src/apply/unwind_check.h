/*
 * A second, exact opinion for threads that the conservative stack scan
 * flags: walk the thread's frames with the call frame information (CFI) of
 * the mapped objects (elfutils libdwfl) and look only at real return
 * addresses.  A stale copy of a return address left on the stack then no
 * longer keeps a patch out.
 */
#ifndef SUTURE_UNWIND_CHECK_H
#define SUTURE_UNWIND_CHECK_H

#include <stddef.h>
#include <sys/types.h>

#include "apply/check.h"

/*
 * Walk the frames of stopped thread `tid` of `pid`.  Returns 0 when the walk
 * reached the outermost frame and no return address lies in `ranges`, and 1
 * when one does (report filled).  Returns a negative errno when the walk
 * could not be completed; the caller then keeps the conservative verdict.
 */
int unwind_check_thread(pid_t pid, pid_t tid, const struct busy_range *ranges, size_t n,
			struct busy_report *report);

/*
 * Report the modules of `pid` for the walks, while its threads still run.
 * A failure shows later as walks that return -EIO.
 */
void unwind_check_prepare(pid_t pid);

/* Return 1 when unwind_check_prepare() ran for `pid` since the last unwind_check_end(). */
int unwind_check_ready(pid_t pid);

/* Free what the walks share; call it when the threads are about to run again for good. */
void unwind_check_end(void);

#endif
