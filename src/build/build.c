/* The steps of suture build, from the copied source tree to the written patch file. */
#include "build/build_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build/build_diff.h"
#include "build/build_stack.h"
#include "elf/elf_file.h"
#include "link/link.h"
#include "patch/patch.h"
#include "util/exitcode.h"
#include "util/log.h"

static int copy_sources(struct build_ctx *c)
{
	char *log_path = build_format("%s/copy.log", c->logs);
	int r = log_path ? build_copy_tree(c->opt->src_dir, c->tree, log_path) : -ENOMEM;

	if (r < 0) {
		build_fail(EXIT_INTERNAL, "cannot copy %s to %s; the end of %s:", c->opt->src_dir,
			   c->tree, log_path ? log_path : "the log");
		if (log_path)
			build_print_log_tail(log_path, 10);
		free(log_path);
		return EXIT_INTERNAL;
	}
	free(log_path);
	return EXIT_OK;
}

/* Run the build command for `stage` and check that it produced the target. */
static int build_stage(struct build_ctx *c, const char *stage)
{
	char *target = build_format("%s/%s", c->tree, c->opt->target);
	int rc = target ? build_run_build(c, stage) : build_fail(EXIT_INTERNAL, "out of memory");

	if (rc == EXIT_OK && access(target, R_OK) != 0)
		rc = build_fail(EXIT_BUILD_FAILED, "the build did not produce --target %s (no file "
				"%s); check --target, which is relative to the tree",
				c->opt->target, target);
	free(target);
	return rc;
}

static int keep_copy(const char *tree, const char *copy)
{
	if (build_copy_tree(tree, copy, NULL) < 0)
		return build_fail(EXIT_INTERNAL, "cannot copy %s to %s", tree, copy);
	return EXIT_OK;
}

/*
 * Build the original tree, check it against the deployed binary and keep a
 * copy of it: as WORK/orig, or as WORK/running when base diffs follow.
 */
static int build_original(struct build_ctx *c)
{
	char *target = build_format("%s/%s", c->tree, c->opt->target);
	int rc = target ? build_stage(c, "orig") : build_fail(EXIT_INTERNAL, "out of memory");

	if (rc == EXIT_OK && c->opt->against) {
		rc = build_verify_target(target, c->opt->against);
	} else if (rc == EXIT_OK) {
		rc = build_check_stack_target(c, target);
		if (rc == EXIT_OK)
			rc = build_warn_no_against(target);
	}
	free(target);
	if (rc == EXIT_OK)
		rc = keep_copy(c->tree, c->running ? c->running : c->orig);
	return rc;
}

/*
 * Apply the base diffs, which earlier patches made live, and build again:
 * this is the state before the diffs, kept as WORK/orig.  The build is
 * incremental, like the fixed build after it.
 */
static int build_base(struct build_ctx *c)
{
	int rc;

	if (!c->running)
		return EXIT_OK;
	rc = build_apply_base_diffs(c);
	if (rc == EXIT_OK)
		rc = build_stage(c, "base");
	if (rc == EXIT_OK)
		rc = keep_copy(c->tree, c->orig);
	return rc;
}

static int diff_units(struct build_ctx *c, struct build_changes *changes)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < c->nunits && rc == EXIT_OK; i++) {
		struct build_unit_objects objects = {
			.orig = c->units[i].orig_object, .fixed = c->units[i].fixed_object,
			.stacked = c->running != NULL, .running = c->units[i].running_object,
		};

		rc = build_diff_unit(&objects, i, changes);
	}
	if (rc == EXIT_OK && changes->nreplacements == 0)
		rc = build_fail(EXIT_NO_CHANGE, "no functional change: the %zu recompiled file%s "
				"of %s contain%s the same code as before the diff", c->nunits,
				c->nunits == 1 ? "" : "s", c->opt->target, c->nunits == 1 ? "s" : "");
	return rc;
}

static int exit_code_for(enum link_error_kind kind)
{
	switch (kind) {
	case LINK_ERR_INPUT: return EXIT_USAGE;
	case LINK_ERR_FUNCTION: return EXIT_FUNCTION;
	case LINK_ERR_UNSUPPORTED: return EXIT_UNSAFE_CHANGE;
	case LINK_ERR_BUILD: return EXIT_BUILD_FAILED;
	default: return EXIT_INTERNAL;
	}
}

static char *dup_or_null(const char *text, int *failed)
{
	char *copy = text ? strdup(text) : NULL;

	if (text && !copy)
		*failed = 1;
	return copy;
}

/* Give the patch the deployed binary's identity, the user's metadata and the patch it requires. */
static int finish_patch(const struct build_ctx *c, struct patch *p)
{
	const struct build_options *o = c->opt;
	const char *against = o->against ? o->against : NULL;
	char id[65];
	struct elf_file *f = NULL;
	int failed = 0, r;

	if (against) {
		const char *slash = strrchr(against, '/');

		r = elf_file_open(against, &f);
		if (r == 0)
			r = elf_file_build_id(f, p->build_id, sizeof(p->build_id), &p->build_id_len);
		elf_file_close(f);
		if (r < 0)
			return build_fail(EXIT_TARGET_MISMATCH, "cannot read the build-id of %s: %s",
					  against, strerror(-r));
		free(p->object_name);
		p->object_name = dup_or_null(slash ? slash + 1 : against, &failed);
	}
	p->name = dup_or_null(o->name, &failed);
	p->description = dup_or_null(o->description, &failed);
	if (o->ncves) {
		p->cves = calloc(o->ncves, sizeof(*p->cves));
		failed |= !p->cves;
		for (size_t i = 0; p->cves && i < o->ncves; i++)
			p->cves[p->ncves++] = dup_or_null(o->cves[i], &failed);
	}
	if (c->nstack) {
		patch_id_hex(&c->stack[c->nstack - 1], id);
		p->requires = dup_or_null(id, &failed);
	}
	return failed ? build_fail(EXIT_INTERNAL, "out of memory") : EXIT_OK;
}

static void print_summary(const struct build_ctx *c, const struct patch *p,
			  const struct build_changes *changes)
{
	printf("%s: %zu function%s replaced (", c->opt->output, p->nfuncs, p->nfuncs == 1 ? "" : "s");
	for (size_t i = 0; i < p->nfuncs; i++)
		printf("%s%s", i ? ", " : "", p->funcs[i].name);
	printf("), %zu new function%s, %zu new variable%s, %llu bytes of code",
	       changes->nnew_functions, changes->nnew_functions == 1 ? "" : "s",
	       changes->nnew_variables, changes->nnew_variables == 1 ? "" : "s",
	       (unsigned long long)p->part_size[PATCH_PART_TEXT]);
	if (p->requires)
		printf(", requires %s (%.16s)", c->opt->stack[c->nstack - 1], p->requires);
	putchar('\n');
}

/* Link the changed functions of the fixed objects against the running build's target. */
static int link_changes(struct build_ctx *c, const struct build_changes *changes,
			struct patch *out)
{
	const char **objects = calloc(c->nunits, sizeof(*objects));
	struct link_input in = {
		.target_path = c->link_target, .object_paths = objects, .nobjects = c->nunits,
		.replacements = changes->replacements, .nreplacements = changes->nreplacements,
		.selective = 1, .use_target_got = 1,
		.own_symbols = changes->own, .nown_symbols = changes->nown,
		.aliases = changes->aliases, .naliases = changes->naliases,
	};
	struct link_error err;
	int rc = EXIT_OK;

	if (!objects)
		return build_fail(EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < c->nunits; i++)
		objects[i] = c->units[i].fixed_object;
	if (link_patch(&in, out, &err) < 0)
		rc = build_fail(exit_code_for(err.kind), "%s", err.message);
	free(objects);
	return rc;
}

/*
 * Link the patch.  A stacked patch is linked again when functions of the
 * earlier patches must be replaced as well (build_stack.c).
 */
static int link_stacked(struct build_ctx *c, struct build_changes *changes, struct patch *p)
{
	size_t added = 0;
	int rc = c->nstack ? build_check_base_externals(c, changes) : EXIT_OK;

	if (rc == EXIT_OK)
		rc = link_changes(c, changes, p);
	if (rc == EXIT_OK && c->nstack)
		rc = build_replace_stale_callers(c, p, changes, &added);
	if (rc == EXIT_OK && added) {
		patch_free(p);
		memset(p, 0, sizeof(*p));
		rc = link_changes(c, changes, p);
	}
	return rc;
}

static int link_patch_file(struct build_ctx *c, struct build_changes *changes)
{
	struct patch p = { 0 };
	int rc = link_stacked(c, changes, &p), r;

	if (rc == EXIT_OK)
		rc = finish_patch(c, &p);
	if (rc == EXIT_OK) {
		r = patch_write_file(c->opt->output, &p);
		if (r < 0)
			rc = build_fail(r == -EINVAL ? EXIT_INTERNAL : EXIT_USAGE,
					"cannot write %s: %s", c->opt->output, strerror(-r));
	}
	if (rc == EXIT_OK)
		print_summary(c, &p, changes);
	patch_free(&p);
	return rc;
}

static int check_units_found(struct build_ctx *c)
{
	if (c->nunits > 0)
		return EXIT_OK;
	return build_fail(EXIT_NO_CHANGE, "no functional change: the build after the diff "
			  "compiled no file of %s again", c->opt->target);
}

static int build_fixed(struct build_ctx *c)
{
	return build_run_build(c, "fixed");
}

/* One step of suture build, named for the timing that -v prints. */
struct build_step {
	const char *name;
	int (*run)(struct build_ctx *c);
	int (*run_changes)(struct build_ctx *c, struct build_changes *changes);
};

static const struct build_step steps[] = {
	{ "reading the earlier patches", build_read_stack, NULL },
	{ "preparing the work directory", build_prepare_workdir, NULL },
	{ "installing the compiler wrappers", build_install_wrappers, NULL },
	{ "copying the sources", copy_sources, NULL },
	{ "building and checking the original tree", build_original, NULL },
	{ "building the tree with the base diffs", build_base, NULL },
	{ "applying the diffs", build_apply_diffs, NULL },
	{ "starting the original recompiles", build_start_early_originals, NULL },
	{ "building the fixed tree", build_fixed, NULL },
	{ "waiting for the original recompiles", build_finish_early_originals, NULL },
	{ "finding the changed files", build_find_units, NULL },
	{ "checking for changed files", check_units_found, NULL },
	{ "recompiling the changed files", build_compile_units, NULL },
	{ "comparing the objects", NULL, diff_units },
	{ "linking the patch", NULL, link_patch_file },
};

static double seconds_between(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static int run_steps(struct build_ctx *c, struct build_changes *changes)
{
	struct timespec start, before, after;
	int rc = EXIT_OK;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == EXIT_OK; i++) {
		clock_gettime(CLOCK_MONOTONIC, &before);
		rc = steps[i].run ? steps[i].run(c) : steps[i].run_changes(c, changes);
		clock_gettime(CLOCK_MONOTONIC, &after);
		log_info("time: %s: %.2f s", steps[i].name, seconds_between(&before, &after));
	}
	clock_gettime(CLOCK_MONOTONIC, &after);
	log_info("time: total: %.2f s", seconds_between(&start, &after));
	return rc;
}

int build_run(const struct build_options *o)
{
	struct build_ctx c = { .opt = o };
	struct build_changes changes = { 0 };
	int rc = run_steps(&c, &changes);

	/* After a failed step, wait for the recompiles and restore the original tree. */
	build_finish_early_originals(&c);
	build_free_changes(&changes);
	build_free_ctx(&c);
	return rc;
}
