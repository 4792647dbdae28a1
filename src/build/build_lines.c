/*
 * Line numbers of the original sources, renumbered to match the fixed ones.
 *
 * A diff that adds or removes lines moves every line after it, so each use
 * of __LINE__ below it (assert(), log and accounting macros) compiles to
 * another constant, and the function looks changed although it is not.
 * Before the originals are recompiled, each file that the diffs touch gets
 * a `#line N` directive at the start of every stretch of unchanged lines, N
 * being that line's number in the fixed file.  __LINE__ then expands to the
 * same value in both compiles, so a function that differs only in line
 * numbers compares equal and keeps running the deployed code.  The files
 * are restored after the compiles.
 */
#include "build/build_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/exitcode.h"
#include "util/log.h"

/* Files whose lines the C preprocessor reads, by name ending. */
static const char *const preprocessed_extensions[] = {
	".c", ".h", ".cc", ".cp", ".cxx", ".cpp", ".c++", ".C", ".hh", ".hpp", ".hxx", ".h++",
	".H", ".inc", ".def", ".tcc", ".ipp",
};

static int is_preprocessed(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(preprocessed_extensions) /
			   sizeof(preprocessed_extensions[0]); i++) {
		if (!strcmp(dot, preprocessed_extensions[i]))
			return 1;
	}
	return 0;
}

/* The path after "+++ " with its first component removed, as patch -p1 reads it. */
static char *diff_target_path(const char *line)
{
	const char *p = line + 4, *slash;
	size_t len;

	len = strcspn(p, "\t\n");
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	slash = memchr(p, '/', len);
	if (!slash || !strncmp(p, "/dev/null", 9))
		return NULL;
	len -= (size_t)(slash + 1 - p);
	p = slash + 1;
	return len && !memmem(p, len, "..", 2) ? strndup(p, len) : NULL;
}

static int add_path(struct build_ctx *c, char *path)
{
	char **grown;

	for (size_t i = 0; i < c->nline_files; i++) {
		if (!strcmp(c->line_files[i], path)) {
			free(path);
			return 0;
		}
	}
	grown = realloc(c->line_files, (c->nline_files + 1) * sizeof(*grown));
	if (!grown) {
		free(path);
		return -ENOMEM;
	}
	c->line_files = grown;
	c->line_files[c->nline_files++] = path;
	return 0;
}

/* Collect the preprocessed files that the diffs modify, once. */
static int collect_diff_files(struct build_ctx *c)
{
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (c->line_files_collected)
		return 0;
	c->line_files_collected = 1;

	for (size_t i = 0; i < c->opt->ndiffs && r == 0; i++) {
		FILE *f = fopen(c->opt->diffs[i], "r");

		if (!f)
			return -errno;
		while (r == 0 && getline(&line, &cap, f) >= 0) {
			char *path;

			if (strncmp(line, "+++ ", 4) != 0)
				continue;
			path = diff_target_path(line);
			if (path && is_preprocessed(path))
				r = add_path(c, path);
			else
				free(path);
		}
		fclose(f);
	}
	free(line);
	return r;
}

/* Run diff(1) on the two files and read the unchanged stretches it prints. */
static int read_groups(struct build_ctx *c, const char *orig, const char *fixed,
		       struct build_line_group **out, size_t *count)
{
	char *list = build_format("%s/lines.txt", c->logs);
	char *const argv[] = { "diff", "--unchanged-group-format=%df %dl %dF\n",
			       "--old-group-format=", "--new-group-format=",
			       "--changed-group-format=", "--", (char *)orig, (char *)fixed, NULL };
	struct build_line_group g, *groups = NULL, *grown;
	FILE *f = NULL;
	size_t n = 0;
	int status = 0, r;

	if (!list)
		return -ENOMEM;
	unlink(list);
	r = build_spawn(NULL, argv, NULL, list, &status);
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) > 1))
		r = -EIO;
	f = r == 0 ? fopen(list, "r") : NULL;
	if (r == 0 && !f)
		r = -errno;
	while (r == 0 && fscanf(f, "%ld %ld %ld", &g.first, &g.last, &g.new_first) == 3) {
		grown = realloc(groups, (n + 1) * sizeof(*grown));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		groups = grown;
		groups[n++] = g;
	}
	if (f)
		fclose(f);
	free(list);
	if (r < 0) {
		free(groups);
		return r;
	}
	*out = groups;
	*count = n;
	return 0;
}

/*
 * Advance a C lexer over one line and return whether a block comment is
 * still open at its end.  Strings and character constants end with the
 * line, because one that goes on needs a backslash, which the caller sees.
 */
static int block_comment_open_after(const char *line, int in_comment)
{
	char quote = 0;

	for (const char *p = line; *p && *p != '\n'; p++) {
		if (in_comment) {
			if (p[0] == '*' && p[1] == '/') {
				in_comment = 0;
				p++;
			}
		} else if (quote) {
			if (p[0] == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (p[0] == '/' && p[1] == '/') {
			break;
		} else if (p[0] == '/' && p[1] == '*') {
			in_comment = 1;
			p++;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		}
	}
	return in_comment;
}

static int ends_with_backslash(const char *line)
{
	size_t len = strcspn(line, "\n");

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return len > 0 && line[len - 1] == '\\';
}

/*
 * Copy `in` to `out` with a #line directive wherever the compiler's line
 * number would otherwise differ from the fixed file's.  A directive never
 * goes inside a block comment, where it would be ignored, nor after a line
 * that ends with a backslash, where it would join a macro definition.  The
 * stretch's next line takes it instead.
 */
int build_write_renumbered(FILE *in, FILE *out, const struct build_line_group *groups,
			   size_t count)
{
	char *line = NULL;
	size_t cap = 0, g = 0;
	long number = 0, shown = 0; /* physical line, and the number the compiler gives it */
	int after_backslash = 0, in_comment = 0;

	while (getline(&line, &cap, in) >= 0) {
		number++;
		shown++;
		while (g < count && groups[g].last < number)
			g++;
		if (g < count && number >= groups[g].first && !after_backslash && !in_comment) {
			long wanted = groups[g].new_first + (number - groups[g].first);

			if (wanted != shown) {
				fprintf(out, "#line %ld\n", wanted);
				shown = wanted;
			}
		}
		fputs(line, out);
		after_backslash = ends_with_backslash(line);
		in_comment = block_comment_open_after(line, in_comment);
	}
	free(line);
	return ferror(in) || ferror(out) ? -EIO : 0;
}

static int is_identifier_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/*
 * Return 1 when a C++ file may hold a raw string literal, R"(...)", which
 * can span lines and would take a directive as text.  C has no raw
 * strings.  R" after an identifier character counts unless the character
 * can be an encoding prefix (LR", uR", UR", u8R"), so a string that merely
 * ends in R is no match.
 */
static int may_have_raw_string(const char *path, FILE *f)
{
	const char *dot = strrchr(path, '.');
	char buf[65536];
	char before = 0;
	size_t n;
	int found = 0;

	if (dot && (!strcmp(dot, ".c") || !strcmp(dot, ".h")))
		return 0;
	while (!found && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (size_t i = 0; !found && i < n; i++) {
			char next = i + 1 < n ? buf[i + 1] : '"';

			found = buf[i] == 'R' && next == '"' &&
				(!is_identifier_char(before) || strchr("LuU8", before));
			before = buf[i];
		}
	}
	rewind(f);
	return found;
}

/* Renumber one file of the original tree at `orig_root`, keeping the original as `saved`. */
static int renumber_file(struct build_ctx *c, const char *orig_root, const char *fixed_root,
			 const char *path, const char *saved)
{
	char *orig = build_format("%s/%s", orig_root, path);
	char *fixed = build_format("%s/%s", fixed_root, path);
	struct build_line_group *groups = NULL;
	size_t count = 0;
	struct stat st;
	FILE *in = NULL, *out = NULL;
	int r = orig && fixed ? 0 : -ENOMEM;

	if (r == 0 && (stat(orig, &st) < 0 || !S_ISREG(st.st_mode) || access(fixed, R_OK) < 0))
		goto out; /* new or removed by the diffs: nothing to renumber */
	if (r == 0)
		r = read_groups(c, orig, fixed, &groups, &count);
	if (r == 0 && rename(orig, saved) < 0)
		r = -errno;
	if (r < 0)
		goto out;
	in = fopen(saved, "r");
	out = fopen(orig, "w");
	if (!in || !out || may_have_raw_string(path, in)) {
		r = in && out ? 0 : -errno;
		if (out)
			fclose(out);
		out = NULL;
		if (rename(saved, orig) < 0 && r == 0)
			r = -errno;
		goto out;
	}
	r = build_write_renumbered(in, out, groups, count);
	if (fchmod(fileno(out), st.st_mode & 07777) < 0 && r == 0)
		r = -errno;
	log_debug("renumbered the lines of %s for the original's compile", path);
out:
	if (in)
		fclose(in);
	if (out && fclose(out) != 0 && r == 0)
		r = -EIO;
	free(groups);
	free(orig);
	free(fixed);
	return r;
}

static char *saved_path(const struct build_ctx *c, size_t index)
{
	return build_format("%s/lines-%zu.orig", c->logs, index);
}

int build_list_diff_files(struct build_ctx *c)
{
	int r = collect_diff_files(c);

	if (r < 0)
		return build_fail(EXIT_INTERNAL, "cannot read the files the diffs modify: %s",
				  strerror(-r));
	return EXIT_OK;
}

int build_renumber_lines(struct build_ctx *c, const char *orig_root, const char *fixed_root)
{
	int r = collect_diff_files(c);

	for (size_t i = 0; i < c->nline_files && r == 0; i++) {
		char *saved = saved_path(c, i);

		r = saved ? renumber_file(c, orig_root, fixed_root, c->line_files[i], saved) :
			    -ENOMEM;
		free(saved);
	}
	if (r < 0)
		return build_fail(EXIT_INTERNAL, "cannot renumber the original sources' lines: %s",
				  strerror(-r));
	return EXIT_OK;
}

int build_restore_lines(struct build_ctx *c, const char *orig_root)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < c->nline_files; i++) {
		char *saved = saved_path(c, i);
		char *orig = build_format("%s/%s", orig_root, c->line_files[i]);

		if (saved && orig && access(saved, F_OK) == 0 && rename(saved, orig) < 0)
			rc = build_fail(EXIT_INTERNAL, "cannot restore %s from %s: %s", orig, saved,
					strerror(errno));
		free(saved);
		free(orig);
	}
	return rc;
}
