/*
 * The compiler wrapper of suture build.  WORK/bin holds one small script
 * per compiler name; the build finds them first in PATH and through CC and
 * CXX.  Each script runs `suture build --cc-wrapper`, which appends the
 * invocation to the record file and execs the real compiler.
 *
 * A record is one line: the working directory and the arguments, separated
 * by spaces, with '%', spaces, control characters and DEL written as %XX.
 */
#include "build/build_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/exitcode.h"

extern char **environ;

#define BUILD_SELF_COPY ".suture" /* hidden, so that it shadows no suture in PATH */

static const char *const wrapped_compilers[] = { "cc", "gcc", "clang", "c++", "g++", "clang++" };

static int is_wrapped_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(wrapped_compilers) / sizeof(wrapped_compilers[0]); i++) {
		if (strlen(wrapped_compilers[i]) == len && !strncmp(wrapped_compilers[i], name, len))
			return 1;
	}
	return 0;
}

/* Write `text` between single quotes for /bin/sh. */
static void write_shell_quoted(FILE *f, const char *text)
{
	fputc('\'', f);
	for (; *text; text++) {
		if (*text == '\'')
			fputs("'\\''", f);
		else
			fputc(*text, f);
	}
	fputc('\'', f);
}

/*
 * Copy the suture executable into the wrapper directory, so that the build
 * runs one fixed binary even when the installed one is replaced meanwhile.
 */
static int copy_self(const struct build_ctx *c, char **out)
{
	char buf[65536];
	ssize_t n = 0;
	char *path = build_format("%s/%s", c->bin, BUILD_SELF_COPY);
	int in = open(c->opt->self_path, O_RDONLY | O_CLOEXEC);
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755) : -1;
	int r = in < 0 || fd < 0 ? -errno : 0;

	while (r == 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		if (write(fd, buf, (size_t)n) != n)
			r = -EIO;
	}
	if (r == 0 && n < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (in >= 0)
		close(in);
	if (r < 0) {
		free(path);
		return r;
	}
	*out = path;
	return 0;
}

static int write_script(const struct build_ctx *c, const char *name, const char *self)
{
	char *path = build_format("%s/%s", c->bin, name);
	FILE *f = path ? fopen(path, "w") : NULL;
	int ok;

	if (!f) {
		free(path);
		return -errno;
	}
	fputs("#!/bin/sh\nexec ", f);
	write_shell_quoted(f, self);
	fputs(" build --cc-wrapper \"$0\" \"$@\"\n", f);
	ok = fclose(f) == 0 && chmod(path, 0755) == 0;
	free(path);
	return ok ? 0 : -EIO;
}

/*
 * Point CC or CXX at the wrapper of the compiler it names.  A value that
 * names another compiler stays, with a warning, because its compiles go
 * unrecorded.
 */
static char *wrapped_compiler_variable(const struct build_ctx *c, const char *var,
				       const char *fallback)
{
	const char *value = getenv(var);
	const char *name, *end;

	if (!value || !value[0])
		return build_format("%s=%s/%s", var, c->bin, fallback);
	end = value + strcspn(value, " \t");
	name = value;
	for (const char *p = value; p < end; p++) {
		if (*p == '/')
			name = p + 1;
	}
	if (is_wrapped_name(name, (size_t)(end - name)))
		return build_format("%s=%s/%.*s%s", var, c->bin, (int)(end - name), name, end);
	fprintf(stderr, "suture build: warning: %s=%s is not a compiler suture wraps (%s, ...); "
		"its compiles are not seen\n", var, value, wrapped_compilers[0]);
	return build_format("%s=%s", var, value);
}

static int is_replaced_variable(const char *entry)
{
	static const char *const names[] = { "PATH=", "CC=", "CXX=", BUILD_ENV_LOG "=",
					     BUILD_ENV_WRAPPERS "=", BUILD_ENV_SECTIONS "=" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strncmp(entry, names[i], strlen(names[i])))
			return 1;
	}
	return 0;
}

/* Our environment with the wrapper directory first in PATH and CC, CXX pointing into it. */
static int make_environment(struct build_ctx *c)
{
	const char *path = getenv("PATH");
	size_t n = 0, k = 0;

	while (environ[n])
		n++;
	c->env = calloc(n + 5, sizeof(*c->env));
	if (!c->env)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (is_replaced_variable(environ[i]))
			continue;
		c->env[k] = strdup(environ[i]);
		if (!c->env[k++])
			return -ENOMEM;
	}
	c->env[k++] = build_format("PATH=%s%s%s", c->bin, path ? ":" : "", path ? path : "");
	c->env[k++] = wrapped_compiler_variable(c, "CC", "cc");
	c->env[k++] = wrapped_compiler_variable(c, "CXX", "c++");
	c->env[k++] = build_format("%s=%s", BUILD_ENV_WRAPPERS, c->bin);
	for (size_t i = 0; i < k; i++) {
		if (!c->env[i])
			return -ENOMEM;
	}
	return 0;
}

int build_install_wrappers(struct build_ctx *c)
{
	char *self = NULL;
	int r = copy_self(c, &self);

	if (r < 0)
		return build_fail(EXIT_INTERNAL, "cannot copy %s into %s: %s", c->opt->self_path,
				  c->bin, strerror(-r));
	for (size_t i = 0; i < sizeof(wrapped_compilers) / sizeof(wrapped_compilers[0]); i++) {
		r = write_script(c, wrapped_compilers[i], self);
		if (r < 0) {
			free(self);
			return build_fail(EXIT_INTERNAL, "cannot write the compiler wrapper %s/%s: %s",
					  c->bin, wrapped_compilers[i], strerror(-r));
		}
	}
	free(self);
	if (make_environment(c) < 0)
		return build_fail(EXIT_INTERNAL, "out of memory");
	return EXIT_OK;
}

static int needs_escape(unsigned char ch)
{
	return ch <= ' ' || ch == '%' || ch == 0x7f;
}

static void append_field(char **p, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if (needs_escape(*s)) {
			*(*p)++ = '%';
			*(*p)++ = hex[*s >> 4];
			*(*p)++ = hex[*s & 15];
		} else {
			*(*p)++ = (char)*s;
		}
	}
}

/* Append one record in a single write(2) under an exclusive lock, as parallel builds compile at once. */
static int append_record(const char *log_path, int argc, char **argv)
{
	char cwd[PATH_MAX];
	size_t size, len;
	char *line, *p;
	int fd, r = 0;

	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	size = 3 * strlen(cwd) + 2;
	for (int i = 0; i < argc; i++)
		size += 3 * strlen(argv[i]) + 1;
	line = p = malloc(size);
	if (!line)
		return -ENOMEM;
	append_field(&p, cwd);
	for (int i = 0; i < argc; i++) {
		*p++ = ' ';
		append_field(&p, argv[i]);
	}
	*p++ = '\n';
	len = (size_t)(p - line);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(fd, line, len) != (ssize_t)len)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(line);
	return r;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Find the compiler `name` in PATH, skipping the wrapper directory. */
static char *find_real_compiler(const char *name, const char *wrappers)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin");
	char *save = NULL, *found = NULL;

	for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *candidate;

		if (wrappers && same_file(dir, wrappers))
			continue;
		candidate = build_format("%s/%s", dir[0] ? dir : ".", name);
		if (candidate && access(candidate, X_OK) == 0)
			found = candidate;
		else
			free(candidate);
	}
	free(copy);
	return found;
}

/*
 * The compiler's arguments with the flags that the recompiles of changed
 * files add (build_replay_argv()), when BUILD_ENV_SECTIONS asks for them
 * and the command compiles; else `argv` itself.  Dependency-file options
 * stay, because the build reads them.
 */
static char **compile_argv(int argc, char **argv)
{
	struct build_record record = { .argv = argv, .argc = (size_t)argc };
	struct build_command cmd;
	char **out;
	int n = 0, compile;

	if (!getenv(BUILD_ENV_SECTIONS) || build_parse_command(&record, &cmd) < 0)
		return argv;
	compile = cmd.compile && cmd.nsources > 0;
	build_free_command(&cmd);
	out = compile ? calloc((size_t)argc + 4, sizeof(*out)) : NULL;
	if (!out)
		return argv;
	for (int i = 0; i < argc; i++)
		out[n++] = argv[i];
	out[n++] = "-ffunction-sections";
	out[n++] = "-fdata-sections";
	if (!build_has_debug_types(&record))
		out[n++] = "-g";
	out[n] = NULL;
	return out;
}

int build_cc_wrapper(int argc, char **argv)
{
	const char *log_path = getenv(BUILD_ENV_LOG);
	const char *name, *slash;
	char *real;
	int r;

	if (argc < 1)
		return build_fail(EXIT_USAGE, "--cc-wrapper needs the compiler name");
	slash = strrchr(argv[0], '/');
	name = slash ? slash + 1 : argv[0];
	if (log_path && log_path[0]) {
		r = append_record(log_path, argc, argv);
		if (r < 0)
			return build_fail(EXIT_INTERNAL, "cannot record the compile in %s: %s",
					  log_path, strerror(-r));
	}
	real = find_real_compiler(name, getenv(BUILD_ENV_WRAPPERS));
	if (!real)
		return build_fail(EXIT_BUILD_FAILED, "compiler %s not found in PATH outside %s",
				  name, getenv(BUILD_ENV_WRAPPERS) ? getenv(BUILD_ENV_WRAPPERS) : "?");
	/* gcc finds cc1 relative to argv[0], which must not lead back to the wrapper. */
	argv[0] = real;
	execv(real, compile_argv(argc, argv));
	r = build_fail(EXIT_BUILD_FAILED, "cannot run %s: %s", real, strerror(errno));
	free(real);
	return r;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode one field in place.  Returns -EINVAL on a malformed escape. */
static int unescape_field(char *field)
{
	char *out = field;

	for (char *in = field; *in; in++) {
		if (*in != '%') {
			*out++ = *in;
			continue;
		}
		if (hex_value(in[1]) < 0 || hex_value(in[2]) < 0)
			return -EINVAL;
		*out++ = (char)(hex_value(in[1]) << 4 | hex_value(in[2]));
		in += 2;
	}
	*out = '\0';
	return 0;
}

static int parse_record(char *line, struct build_record *out)
{
	size_t fields = 1;
	char *rest = line, *field;

	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; *p; p++)
		fields += *p == ' ';
	out->argv = calloc(fields + 1, sizeof(*out->argv));
	if (!out->argv)
		return -ENOMEM;
	/* strsep() keeps empty fields, which are empty arguments. */
	while ((field = strsep(&rest, " "))) {
		char *copy;

		if (unescape_field(field) < 0)
			return -EINVAL;
		copy = strdup(field);
		if (!copy)
			return -ENOMEM;
		if (!out->cwd)
			out->cwd = copy;
		else
			out->argv[out->argc++] = copy;
	}
	return out->cwd && out->argc > 0 ? 0 : -EINVAL;
}

int build_read_records(const char *path, struct build_record **out, size_t *count)
{
	FILE *f = fopen(path, "r");
	struct build_record *records = NULL, *grown;
	char *line = NULL;
	size_t cap = 0, n = 0;
	int r = 0;

	*out = NULL;
	*count = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && getline(&line, &cap, f) >= 0) {
		grown = realloc(records, (n + 1) * sizeof(*records));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		records = grown;
		memset(&records[n], 0, sizeof(records[n]));
		r = parse_record(line, &records[n]);
		n++;
	}
	free(line);
	fclose(f);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			build_free_record(&records[i]);
		free(records);
		return r;
	}
	*out = records;
	*count = n;
	return 0;
}

void build_free_record(struct build_record *r)
{
	for (size_t i = 0; i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	free(r->cwd);
	r->argv = NULL;
	r->cwd = NULL;
	r->argc = 0;
}
