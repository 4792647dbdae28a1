/*
 * Originals compiled while the fixed tree builds.
 *
 * The originals of the changed files must compile at the tree's absolute
 * path, where the fixed tree is building, so that include paths and
 * __FILE__ resolve as in the builds.  For the sources that the diffs modify,
 * which are known before the fixed build starts, a child process makes a
 * private mount namespace, mounts WORK/orig over WORK/tree there and
 * compiles them one after another, on the core that the incremental build
 * usually leaves idle.  build_units.c takes an early object for a unit
 * whose fixed-build command is the original build's command for the same
 * source, and compiles the others after the fixed build as before.
 */
#include "build/build_internal.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/exitcode.h"
#include "util/log.h"

#define EARLY_NO_NAMESPACE 3 /* exit code of the runner when it cannot mount the original tree */

/* Return 1 when `source`, a path of a file in the tree, names a file the diffs modify. */
static int is_modified_source(const struct build_ctx *c, const char *source)
{
	char tree[PATH_MAX], path[PATH_MAX];
	size_t len;

	if (!realpath(c->tree, tree) || !realpath(source, path))
		return 0;
	len = strlen(tree);
	if (strncmp(path, tree, len) != 0 || path[len] != '/')
		return 0;
	for (size_t i = 0; i < c->nline_files; i++) {
		if (!strcmp(path + len + 1, c->line_files[i]))
			return 1;
	}
	return 0;
}

static int add_early(struct build_ctx *c, const struct build_record *r, size_t source_index)
{
	struct build_unit *grown = realloc(c->early, (c->nearly + 1) * sizeof(*grown));
	struct build_unit *u;

	if (!grown)
		return -ENOMEM;
	c->early = grown;
	u = &c->early[c->nearly++];
	memset(u, 0, sizeof(*u));
	u->source_index = source_index;
	u->source = build_absolute_path(r->cwd, r->argv[source_index]);
	u->orig_object = build_format("%s/orig/early-%zu.o", c->objs, c->nearly - 1);
	if (!u->source || !u->orig_object)
		return -ENOMEM;
	return build_copy_record(r, &u->record);
}

/* Pick the original build's compiles of the sources that the diffs modify. */
static int find_early_units(struct build_ctx *c)
{
	struct build_record *records = NULL;
	struct build_command cmd;
	size_t count = 0;
	char *path = build_format("%s/compile-orig.log", c->logs);
	int r = path ? build_read_records(path, &records, &count) : -ENOMEM;

	for (size_t i = 0; i < count && r == 0; i++) {
		char *source;

		r = build_parse_command(&records[i], &cmd);
		if (r == 0 && cmd.compile && cmd.nsources == 1 && !cmd.lto) {
			source = build_absolute_path(records[i].cwd, records[i].argv[cmd.sources[0]]);
			if (!source)
				r = -ENOMEM;
			else if (is_modified_source(c, source))
				r = add_early(c, &records[i], cmd.sources[0]);
			free(source);
		}
		build_free_command(&cmd);
	}
	for (size_t i = 0; i < count; i++)
		build_free_record(&records[i]);
	free(records);
	free(path);
	return r;
}

/* The runner: compile the early units with WORK/orig mounted over WORK/tree.  Never returns. */
static void run_early_compiles(struct build_ctx *c)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(c->orig, c->tree, NULL, MS_BIND, NULL) < 0)
		_exit(EARLY_NO_NAMESPACE);
	for (size_t i = 0; i < c->nearly; i++) {
		struct build_unit *u = &c->early[i];
		char **argv = build_replay_argv(u, u->orig_object, 0);
		char *log_path = build_format("%s/compile-early-%zu.log", c->logs, i);
		int status = 1;

		if (argv && log_path)
			unlink(log_path);
		if (!argv || !log_path || build_spawn(u->record.cwd, argv, c->env, log_path, &status) < 0 ||
		    status != 0)
			unlink(u->orig_object); /* compiled again after the fixed build */
		free(argv);
		free(log_path);
	}
	_exit(0);
}

int build_start_early_originals(struct build_ctx *c)
{
	pid_t pid;
	int rc = build_list_diff_files(c);

	if (rc != EXIT_OK)
		return rc;
	if (find_early_units(c) < 0)
		return build_fail(EXIT_INTERNAL, "cannot read the original build's compile records");
	if (c->nearly == 0)
		return EXIT_OK;
	rc = build_renumber_lines(c, c->orig, c->tree);
	if (rc != EXIT_OK)
		return rc;
	c->early_renumbered = 1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return build_fail(EXIT_INTERNAL, "cannot start the original recompiles: %s",
				  strerror(errno));
	if (pid == 0)
		run_early_compiles(c);
	c->early_runner = pid;
	log_info("compiling %zu original file%s while the fixed tree builds", c->nearly,
		 c->nearly == 1 ? "" : "s");
	return EXIT_OK;
}

int build_finish_early_originals(struct build_ctx *c)
{
	int status = 0, rc = EXIT_OK;

	if (c->early_runner > 0) {
		while (waitpid(c->early_runner, &status, 0) < 0 && errno == EINTR)
			;
		c->early_runner = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == EARLY_NO_NAMESPACE)
			log_info("no private mount namespace for the original recompiles (it needs "
				 "CAP_SYS_ADMIN); they run after the fixed build");
	}
	if (c->early_renumbered) {
		c->early_renumbered = 0;
		rc = build_restore_lines(c, c->orig);
	}
	return rc;
}

static int same_record(const struct build_record *a, const struct build_record *b)
{
	if (strcmp(a->cwd, b->cwd) != 0 || a->argc != b->argc)
		return 0;
	for (size_t i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return 0;
	}
	return 1;
}

int build_take_early_original(struct build_ctx *c, size_t index)
{
	struct build_unit *u = &c->units[index];

	for (size_t i = 0; i < c->nearly; i++) {
		struct build_unit *e = &c->early[i];

		if (e->source_index != u->source_index || !same_record(&e->record, &u->record) ||
		    access(e->orig_object, F_OK) != 0)
			continue;
		if (rename(e->orig_object, u->orig_object) < 0)
			return -errno;
		log_debug("%s: the original compiled during the fixed build", u->source);
		return 1;
	}
	return 0;
}

void build_free_early(struct build_ctx *c)
{
	for (size_t i = 0; i < c->nearly; i++) {
		build_free_record(&c->early[i].record);
		free(c->early[i].source);
		free(c->early[i].orig_object);
	}
	free(c->early);
	c->early = NULL;
	c->nearly = 0;
}
