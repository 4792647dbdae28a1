/*
 * suture build: turns a source diff into a live patch.  The project's own
 * build runs twice under a compiler wrapper, before and after the diff is
 * applied; the translation units that the second, incremental run compiles
 * are recompiled with one section per function and variable, compared
 * function by function, and the changed functions are linked against the
 * original build into a patch for the deployed binary.  With base diffs,
 * the build before the diff is the running build plus the diffs that
 * earlier patches made live, so the patch stacks on those patches.
 * docs/build.md describes the steps and the rules for data.
 */
#ifndef SUTURE_BUILD_H
#define SUTURE_BUILD_H

#include <stddef.h>

struct build_options {
	const char *src_dir;
	const char *const *diffs; /* applied in order with patch -p1 */
	size_t ndiffs;
	/* Diffs that earlier patches made live, applied before `diffs`; empty for a first patch. */
	const char *const *base_diffs;
	size_t nbase_diffs;
	/* Patch files of those earlier patches, in the order they are applied. */
	const char *const *stack;
	size_t nstack;
	const char *build_command; /* run with /bin/sh -c in the copied tree */
	const char *target;        /* path of the patched object inside the build tree */
	const char *against;       /* deployed binary, or NULL for the built target */
	const char *name;
	const char *description;
	const char *const *cves;
	size_t ncves;
	const char *workdir;       /* or NULL for a path derived from the inputs */
	const char *output;
	const char *self_path;     /* the suture executable, run by the compiler wrapper */
};

/* Run all steps and write the patch file.  Returns an enum suture_exit value. */
int build_run(const struct build_options *o);

/*
 * The compiler wrapper: `argv[0]` is the path it was started as (a script
 * in the wrapper directory named after a compiler), the rest the compiler's
 * arguments.  Records the invocation and execs the real compiler, so it
 * returns only on failure, with an enum suture_exit value.
 */
int build_cc_wrapper(int argc, char **argv);

#endif
