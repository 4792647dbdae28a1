/* State shared by the steps of suture build (build*.c); not a public API. */
#ifndef SUTURE_BUILD_INTERNAL_H
#define SUTURE_BUILD_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "build/build.h"
#include "patch/patch.h"

/* Environment variables through which the build passes state to the compiler wrapper. */
#define BUILD_ENV_LOG "SUTURE_BUILD_LOG"           /* file the wrapper appends records to */
#define BUILD_ENV_WRAPPERS "SUTURE_BUILD_WRAPPERS" /* wrapper directory, skipped in PATH */
/* Set for the build after the diff: compiles get the flags of the recompiles (build_units.c). */
#define BUILD_ENV_SECTIONS "SUTURE_BUILD_SECTIONS"

/* One compiler invocation as the wrapper recorded it. */
struct build_record {
	char *cwd;
	char **argv; /* argv[0] is the wrapper path the build ran */
	size_t argc;
};

/* What a compiler command line does, as far as suture needs to know. */
struct build_command {
	int compile;       /* -c without -E, -S or -M */
	int lto;           /* -flto in effect */
	size_t *sources;   /* argv indexes of the source files */
	size_t nsources;
	size_t *inputs;    /* argv indexes of objects and archives given to a link */
	size_t ninputs;
	size_t output;     /* argv index of the -o value, or 0 when there is none */
	int output_joined; /* the value is glued to the option: -oFILE */
};

/* A translation unit that the build after the diff compiled again. */
struct build_unit {
	struct build_record record;
	size_t source_index; /* argv index of this unit's source */
	char *source;        /* absolute path */
	char *output;        /* absolute path of the object the build wrote */
	char *orig_object;   /* recompiled original, or NULL when the source is new */
	char *fixed_object;  /* recompiled fixed source */
	/* Stacked patch: the running build's version, or NULL when it lacks the source. */
	char *running_object;
};

struct build_ctx {
	const struct build_options *opt;
	char *work;    /* work directory */
	char *tree;    /* the copy of the sources that is built, WORK/tree */
	char *orig;    /* the original build, WORK/orig */
	char *running; /* with base diffs: the running build, WORK/running; orig has the base diffs */
	char *link_target; /* the running build's target, which the patch is linked against */
	char *fixed;   /* where the fixed tree waits while originals compile, WORK/fixed */
	char *bin;     /* compiler wrappers, WORK/bin */
	char *logs;    /* command output, WORK/logs */
	char *objs;    /* recompiled objects, WORK/objs */
	char **env;    /* environment of the build commands */
	struct build_unit *units;
	size_t nunits;
	char **line_files; /* files the diffs modify, relative to the tree (build_lines.c) */
	size_t nline_files;
	int line_files_collected;
	struct build_unit *early; /* originals compiled during the fixed build (build_early.c) */
	size_t nearly;
	pid_t early_runner;       /* process compiling them, or 0 */
	int early_renumbered;     /* WORK/orig holds renumbered files until they finish */
	struct patch *stack;      /* the earlier patches (--requires), in the order applied */
	size_t nstack;
};

/* Print "suture build: MESSAGE" to stderr and return `code`. */
int build_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malloc'ed printf, or NULL when out of memory. */
char *build_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* build_work.c */
int build_prepare_workdir(struct build_ctx *c);
int build_spawn(const char *cwd, char *const argv[], char *const envp[], const char *log_path,
		int *status);
int build_copy_tree(const char *from, const char *to, const char *log_path);
void build_print_log_tail(const char *log_path, size_t lines);
int build_run_build(struct build_ctx *c, const char *stage);
int build_apply_diffs(struct build_ctx *c);
int build_apply_base_diffs(struct build_ctx *c);
void build_free_ctx(struct build_ctx *c);

/* build_wrapper.c */
int build_install_wrappers(struct build_ctx *c);
int build_read_records(const char *path, struct build_record **out, size_t *count);
void build_free_record(struct build_record *r);

/* build_command.c */
int build_parse_command(const struct build_record *r, struct build_command *out);
void build_free_command(struct build_command *cmd);
char *build_absolute_path(const char *cwd, const char *path);
char **build_replay_argv(const struct build_unit *u, const char *object, int add_pie);
int build_has_debug_types(const struct build_record *r);

/* build_units.c */
int build_copy_record(const struct build_record *from, struct build_record *to);
int build_find_units(struct build_ctx *c);
int build_compile_units(struct build_ctx *c);

/* build_lines.c */
/* A stretch of lines that the diffs leave unchanged: old lines first..last are new lines new_first... */
struct build_line_group {
	long first, last, new_first;
};

/*
 * Copy `in` to `out` with a #line directive wherever the compiler's line
 * number would otherwise differ from the fixed file's (`groups` in order).
 */
int build_write_renumbered(FILE *in, FILE *out, const struct build_line_group *groups,
			   size_t count);
/* Read the names of the files that the diffs modify into c->line_files. */
int build_list_diff_files(struct build_ctx *c);
/* Renumber the lines of the original tree at `orig_root` to match the fixed tree's. */
int build_renumber_lines(struct build_ctx *c, const char *orig_root, const char *fixed_root);
int build_restore_lines(struct build_ctx *c, const char *orig_root);

/* build_early.c */
/*
 * Start compiling the originals of the sources that the diffs modify,
 * while the fixed tree builds.  Does nothing where no private mount
 * namespace can be made, as without CAP_SYS_ADMIN.
 */
int build_start_early_originals(struct build_ctx *c);
/* Wait for them; returns an enum suture_exit value. */
int build_finish_early_originals(struct build_ctx *c);
/* Move the early object of unit `index` to its orig_object; returns 1 when there was one. */
int build_take_early_original(struct build_ctx *c, size_t index);
void build_free_early(struct build_ctx *c);

/* build_verify.c */
int build_verify_target(const char *target, const char *against);

/*
 * Warn that without --against the patch is for the tree's own build, and
 * name its build-id.  Returns EXIT_OK, or EXIT_BUILD_FAILED when the built
 * target cannot be read.
 */
int build_warn_no_against(const char *target);

#endif
