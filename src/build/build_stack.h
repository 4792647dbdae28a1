/* Stacked patches in suture build (build_stack.c); not a public API. */
#ifndef SUTURE_BUILD_STACK_H
#define SUTURE_BUILD_STACK_H

#include <stddef.h>

#include "build/build_diff.h"
#include "build/build_internal.h"
#include "patch/patch.h"

/*
 * Read the --requires patches into c->stack and check that they form one
 * stack, each requiring the one before it, and that they are for the
 * build-id of --against when it is given.
 */
int build_read_stack(struct build_ctx *c);

/* Check that the stack's patches are for the build-id of `binary`. */
int build_check_stack_target(const struct build_ctx *c, const char *binary);

void build_free_stack(struct build_ctx *c);

/*
 * Reject a function or variable that changed or new code uses, that only
 * the base diffs add, and that is in no compared object: the patch could
 * only import it by name, and the running process has it only inside an
 * earlier patch.  Returns an enum suture_exit value.
 */
int build_check_base_externals(const struct build_ctx *c, const struct build_changes *changes);

/*
 * Add to `changes` the functions of earlier patches that call their own
 * patch's copy of a function that `linked` replaces, directly or through
 * code that patch added, and that must therefore be replaced again.  They
 * are taken from changes->kept.  Sets `added` to their number.  Returns
 * an enum suture_exit value, EXIT_UNSAFE_CHANGE when such a function is in
 * no file that the diffs recompile.
 */
int build_replace_stale_callers(const struct build_ctx *c, const struct patch *linked,
				struct build_changes *changes, size_t *added);

#endif
