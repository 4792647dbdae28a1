/* The work directory of suture build, and the commands run in it: copies, the build, patch. */
#include "build/build_internal.h"
#include "build/build_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "util/exitcode.h"
#include "util/log.h"

#define BUILD_WORK_ROOT "/var/tmp/suture-build"
#define BUILD_WORK_MARKER ".suture-build" /* file that marks a directory suture may clear */
#define BUILD_TAIL_LINES 30

int build_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("suture build: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

char *build_format(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&out, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : out;
}

static void hash_string(crypto_hash_sha256_state *state, const char *text)
{
	crypto_hash_sha256_update(state, (const unsigned char *)text, strlen(text) + 1);
}

static int hash_file(crypto_hash_sha256_state *state, const char *path)
{
	unsigned char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crypto_hash_sha256_update(state, buf, n);
	fclose(f);
	return 0;
}

/*
 * Name the default work directory after a hash of the inputs, so that a
 * rerun builds at the same paths and the compiler writes the same bytes.
 */
static int default_workdir(const struct build_options *o, char **out)
{
	crypto_hash_sha256_state state;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[2 * 16 + 1];
	char src[PATH_MAX];
	int r;

	if (sodium_init() < 0 || !realpath(o->src_dir, src))
		return build_fail(EXIT_USAGE, "cannot resolve --src %s: %s", o->src_dir,
				  strerror(errno));
	crypto_hash_sha256_init(&state);
	hash_string(&state, src);
	for (size_t i = 0; i < o->ndiffs; i++) {
		r = hash_file(&state, o->diffs[i]);
		if (r < 0)
			return build_fail(EXIT_USAGE, "cannot read --diff %s: %s", o->diffs[i],
					  strerror(-r));
	}
	/* Only stacked builds hash base diffs, so other inputs keep their directory. */
	if (o->nbase_diffs)
		hash_string(&state, "--base-diff");
	for (size_t i = 0; i < o->nbase_diffs; i++) {
		r = hash_file(&state, o->base_diffs[i]);
		if (r < 0)
			return build_fail(EXIT_USAGE, "cannot read --base-diff %s: %s",
					  o->base_diffs[i], strerror(-r));
	}
	hash_string(&state, o->build_command);
	hash_string(&state, o->target);
	crypto_hash_sha256_final(&state, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, 16);
	*out = build_format("%s/%s", BUILD_WORK_ROOT, hex);
	return *out ? EXIT_OK : build_fail(EXIT_INTERNAL, "out of memory");
}

static int directory_is_empty(const char *path)
{
	/* rmdir() succeeds only on an empty directory, which is then recreated. */
	int empty = rmdir(path) == 0;

	if (empty && mkdir(path, 0755) < 0)
		empty = 0;
	return empty;
}

/* Remove a work directory of an earlier run, which its marker file identifies. */
static int clear_workdir(const char *work)
{
	char *marker = build_format("%s/%s", work, BUILD_WORK_MARKER);
	char *const argv[] = { "rm", "-rf", "--one-file-system", "--", (char *)work, NULL };
	struct stat st;
	int status = 0, r;

	if (!marker)
		return build_fail(EXIT_INTERNAL, "out of memory");
	r = stat(marker, &st);
	free(marker);
	if (r < 0) {
		if (directory_is_empty(work))
			return EXIT_OK;
		return build_fail(EXIT_USAGE, "work directory %s exists and was not made by suture "
				  "build; remove it or choose another --workdir", work);
	}
	if (build_spawn(NULL, argv, NULL, NULL, &status) < 0 || status != 0)
		return build_fail(EXIT_INTERNAL, "cannot remove the old work directory %s", work);
	return EXIT_OK;
}

static int make_directories(const char *path)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			r = -errno;
		*p = '/';
	}
	if (r == 0 && mkdir(copy, 0755) < 0 && errno != EEXIST)
		r = -errno;
	free(copy);
	return r;
}

static int set_work_paths(struct build_ctx *c)
{
	c->tree = build_format("%s/tree", c->work);
	c->orig = build_format("%s/orig", c->work);
	c->fixed = build_format("%s/fixed", c->work);
	c->bin = build_format("%s/bin", c->work);
	c->logs = build_format("%s/logs", c->work);
	c->objs = build_format("%s/objs", c->work);
	if (c->opt->nbase_diffs) {
		c->running = build_format("%s/running", c->work);
		c->link_target = c->running ? build_format("%s/%s", c->running, c->opt->target) : NULL;
	} else {
		c->link_target = build_format("%s/%s", c->orig, c->opt->target);
	}
	if (!c->tree || !c->orig || !c->fixed || !c->bin || !c->logs || !c->objs ||
	    !c->link_target)
		return build_fail(EXIT_INTERNAL, "out of memory");
	return EXIT_OK;
}

int build_prepare_workdir(struct build_ctx *c)
{
	const char *subdirs[] = { "bin", "logs", "objs/orig", "objs/fixed", "objs/running" };
	char *marker, *path;
	int rc, r, fd;

	if (c->opt->workdir) {
		c->work = strdup(c->opt->workdir);
		rc = c->work ? EXIT_OK : build_fail(EXIT_INTERNAL, "out of memory");
	} else {
		rc = default_workdir(c->opt, &c->work);
	}
	if (rc == EXIT_OK && access(c->work, F_OK) == 0)
		rc = clear_workdir(c->work);
	if (rc != EXIT_OK)
		return rc;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		path = build_format("%s/%s", c->work, subdirs[i]);
		r = path ? make_directories(path) : -ENOMEM;
		free(path);
		if (r < 0)
			return build_fail(EXIT_INTERNAL, "cannot create the work directory %s: %s",
					  c->work, strerror(-r));
	}
	marker = build_format("%s/%s", c->work, BUILD_WORK_MARKER);
	fd = marker ? open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
	free(marker);
	if (fd < 0)
		return build_fail(EXIT_INTERNAL, "cannot write to the work directory %s", c->work);
	close(fd);
	log_info("work directory %s", c->work);
	return set_work_paths(c);
}

static void run_child(const char *cwd, char *const argv[], char *const envp[],
		      const char *log_path)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	if (log_path) {
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0)
			_exit(127);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if (cwd && chdir(cwd) < 0) {
		fprintf(stderr, "suture build: cannot enter %s: %s\n", cwd, strerror(errno));
		_exit(127);
	}
	if (envp)
		execvpe(argv[0], argv, envp);
	else
		execvp(argv[0], argv);
	fprintf(stderr, "suture build: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Run argv in `cwd` (NULL: ours) with `envp` (NULL: ours), its output
 * appended to `log_path` (NULL: ours).  Returns 0 with the wait status in
 * `status`, or a negative errno when the process cannot be started.
 */
int build_spawn(const char *cwd, char *const argv[], char *const envp[], const char *log_path,
		int *status)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		run_child(cwd, argv, envp, log_path);
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int build_copy_tree(const char *from, const char *to, const char *log_path)
{
	char *source = build_format("%s/.", from);
	char *const argv[] = { "cp", "-a", "--", source, (char *)to, NULL };
	int status = 0, r;

	if (!source)
		return -ENOMEM;
	r = build_spawn(NULL, argv, NULL, log_path, &status);
	free(source);
	if (r == 0 && status != 0)
		r = -EIO;
	return r;
}

/* Print the last `lines` lines of a log file to stderr, indented. */
void build_print_log_tail(const char *log_path, size_t lines)
{
	FILE *f = fopen(log_path, "r");
	char **ring = calloc(lines, sizeof(*ring));
	char *line = NULL;
	size_t cap = 0, count = 0;

	while (f && ring && getline(&line, &cap, f) >= 0) {
		free(ring[count % lines]);
		ring[count % lines] = strdup(line);
		count++;
	}
	for (size_t i = count > lines ? count - lines : 0; ring && i < count; i++) {
		const char *text = ring[i % lines];

		fprintf(stderr, "    %s%s", text ? text : "",
			text && text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
	}
	for (size_t i = 0; ring && i < lines; i++)
		free(ring[i]);
	free(ring);
	free(line);
	if (f)
		fclose(f);
}

/* `env` plus `entry` and, unless NULL, `extra`. */
static char **env_with(char **env, const char *entry, const char *extra)
{
	size_t n = 0;
	char **out;

	while (env[n])
		n++;
	out = calloc(n + 3, sizeof(*out));
	if (!out)
		return NULL;
	memcpy(out, env, n * sizeof(*out));
	out[n] = (char *)entry;
	out[n + 1] = (char *)extra;
	return out;
}

/*
 * Run the build command in the tree, recording compiles into
 * WORK/compile-STAGE.log.  In the build after the diff, compiles also get
 * the recompiles' flags, so that their objects can serve as the fixed
 * objects without compiling the changed files once more.
 */
int build_run_build(struct build_ctx *c, const char *stage)
{
	char *log_path = build_format("%s/build-%s.log", c->logs, stage);
	char *records = build_format("%s=%s/compile-%s.log", BUILD_ENV_LOG, c->logs, stage);
	char *const argv[] = { "/bin/sh", "-c", (char *)c->opt->build_command, NULL };
	const char *sections = strcmp(stage, "fixed") ? NULL : BUILD_ENV_SECTIONS "=1";
	char **env = log_path && records ? env_with(c->env, records, sections) : NULL;
	const char *label = !strcmp(stage, "orig") ? "original tree" :
			    !strcmp(stage, "base") ? "tree with the base diffs" : "fixed tree";
	int status = 0, rc = EXIT_OK, r;

	if (!env) {
		rc = build_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	log_info("building the %s: %s", label, c->opt->build_command);
	r = build_spawn(c->tree, argv, env, log_path, &status);
	if (r < 0) {
		rc = build_fail(EXIT_INTERNAL, "cannot start /bin/sh: %s", strerror(-r));
	} else if (status != 0) {
		rc = build_fail(EXIT_BUILD_FAILED, "the build of the %s failed (%s %d); "
				"the end of %s:", label,
				WIFEXITED(status) ? "exit code" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log_path);
		build_print_log_tail(log_path, BUILD_TAIL_LINES);
	}
out:
	free(env);
	free(records);
	free(log_path);
	return rc;
}

/* Apply one diff; `option` (--diff or --base-diff) and `index` name it in messages and logs. */
static int apply_one_diff(struct build_ctx *c, const char *option, size_t index,
			  const char *diff)
{
	const char *kind = strcmp(option, "--diff") ? "base-" : "";
	char *log_path = build_format("%s/patch-%s%zu.log", c->logs, kind, index);
	char *rejects = build_format("%s/patch-%s%zu.rej", c->logs, kind, index);
	char *const argv[] = { "patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
			       "-d", c->tree, "-i", (char *)diff, "-r", rejects, NULL };
	int status = 0, rc = EXIT_OK, r;

	if (!log_path || !rejects) {
		rc = build_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	r = build_spawn(NULL, argv, NULL, log_path, &status);
	if (r < 0) {
		rc = build_fail(EXIT_INTERNAL, "cannot run patch: %s", strerror(-r));
	} else if (status != 0) {
		const char *after_base = !*kind && c->opt->nbase_diffs ?
					 " with the --base-diff files" : "";

		rc = build_fail(EXIT_BUILD_FAILED, "%s %s does not apply to %s%s; patch -p1 printed:",
				*kind ? option : "diff", diff, c->opt->src_dir, after_base);
		build_print_log_tail(log_path, BUILD_TAIL_LINES);
		if (access(rejects, R_OK) == 0) {
			fprintf(stderr, "  the rejected hunks (%s):\n", rejects);
			build_print_log_tail(rejects, BUILD_TAIL_LINES);
		}
	}
out:
	free(rejects);
	free(log_path);
	return rc;
}

static int apply_diff_list(struct build_ctx *c, const char *option, const char *const *diffs,
			   size_t count)
{
	char path[PATH_MAX];
	int rc;

	for (size_t i = 0; i < count; i++) {
		if (!realpath(diffs[i], path))
			return build_fail(EXIT_USAGE, "cannot read %s %s: %s", option, diffs[i],
					  strerror(errno));
		rc = apply_one_diff(c, option, i, path);
		if (rc != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}

int build_apply_diffs(struct build_ctx *c)
{
	return apply_diff_list(c, "--diff", c->opt->diffs, c->opt->ndiffs);
}

int build_apply_base_diffs(struct build_ctx *c)
{
	return apply_diff_list(c, "--base-diff", c->opt->base_diffs, c->opt->nbase_diffs);
}

void build_free_ctx(struct build_ctx *c)
{
	for (size_t i = 0; i < c->nunits; i++) {
		build_free_record(&c->units[i].record);
		free(c->units[i].source);
		free(c->units[i].output);
		free(c->units[i].orig_object);
		free(c->units[i].fixed_object);
		free(c->units[i].running_object);
	}
	free(c->units);
	build_free_early(c);
	for (size_t i = 0; i < c->nline_files; i++)
		free(c->line_files[i]);
	free(c->line_files);
	for (size_t i = 0; c->env && c->env[i]; i++)
		free(c->env[i]);
	free(c->env);
	free(c->work);
	free(c->tree);
	free(c->orig);
	free(c->running);
	free(c->link_target);
	build_free_stack(c);
	free(c->fixed);
	free(c->bin);
	free(c->logs);
	free(c->objs);
}
