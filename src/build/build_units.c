/*
 * The changed translation units: the compiles that the build after the diff
 * ran again, narrowed to the objects linked into the target, and their
 * recompiles with one section per function into WORK/objs/{orig,fixed}/N.o.
 */
#include "build/build_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gelf.h>

#include "util/exitcode.h"
#include "util/log.h"

/* Absolute paths of the objects given to the command that linked the target, if one ran. */
struct link_inputs {
	int found;
	int has_archive; /* objects inside an archive are invisible here */
	char **paths;
	size_t count;
};

static char *resolved(const char *path)
{
	char buf[PATH_MAX];

	return realpath(path, buf) ? strdup(buf) : strdup(path);
}

static int is_c_source(const char *path)
{
	static const char *const assembly[] = { ".s", ".S", ".sx" };
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(assembly) / sizeof(assembly[0]); i++) {
		if (!strcmp(dot, assembly[i]))
			return 0;
	}
	return 1;
}

/* The object a compile without -o writes: the source's base name with .o, in the cwd. */
static char *default_object(const char *cwd, const char *source)
{
	const char *base = strrchr(source, '/');
	const char *dot;

	base = base ? base + 1 : source;
	dot = strrchr(base, '.');
	return build_format("%s/%.*s.o", cwd, (int)(dot ? dot - base : (long)strlen(base)), base);
}

int build_copy_record(const struct build_record *from, struct build_record *to)
{
	to->cwd = strdup(from->cwd);
	to->argv = calloc(from->argc + 1, sizeof(*to->argv));
	if (!to->cwd || !to->argv)
		return -ENOMEM;
	for (size_t i = 0; i < from->argc; i++) {
		to->argv[i] = strdup(from->argv[i]);
		if (!to->argv[i])
			return -ENOMEM;
		to->argc++;
	}
	return 0;
}

static int add_unit(struct build_ctx *c, const struct build_record *r,
		    const struct build_command *cmd, size_t source)
{
	struct build_unit *grown = realloc(c->units, (c->nunits + 1) * sizeof(*grown));
	struct build_unit *u;
	const char *out;

	if (!grown)
		return -ENOMEM;
	c->units = grown;
	u = &c->units[c->nunits++];
	memset(u, 0, sizeof(*u));
	u->source_index = source;
	u->source = build_absolute_path(r->cwd, r->argv[source]);
	if (cmd->output) {
		out = r->argv[cmd->output] + (cmd->output_joined ? 2 : 0);
		u->output = build_absolute_path(r->cwd, out);
	} else {
		u->output = default_object(r->cwd, r->argv[source]);
	}
	if (!u->source || !u->output)
		return -ENOMEM;
	return build_copy_record(r, &u->record);
}

static int note_link(struct build_ctx *c, const struct build_record *r,
		     const struct build_command *cmd, const char *target, struct link_inputs *in)
{
	char *out, *path;

	if (!cmd->output || cmd->ninputs == 0)
		return 0;
	path = build_absolute_path(r->cwd, r->argv[cmd->output] + (cmd->output_joined ? 2 : 0));
	out = path ? resolved(path) : NULL;
	free(path);
	if (!out)
		return -ENOMEM;
	if (strcmp(out, target) != 0) {
		free(out);
		return 0;
	}
	free(out);
	for (size_t i = 0; i < in->count; i++)
		free(in->paths[i]);
	free(in->paths);
	in->found = 1;
	in->has_archive = 0;
	in->count = 0;
	in->paths = calloc(cmd->ninputs, sizeof(*in->paths));
	if (!in->paths)
		return -ENOMEM;
	for (size_t i = 0; i < cmd->ninputs; i++) {
		const char *arg = r->argv[cmd->inputs[i]];
		size_t len = strlen(arg);

		in->has_archive |= len > 2 && !strcmp(arg + len - 2, ".a");
		path = build_absolute_path(r->cwd, arg);
		in->paths[in->count] = path ? resolved(path) : NULL;
		free(path);
		if (!in->paths[in->count++])
			return -ENOMEM;
	}
	(void)c;
	return 0;
}

static int scan_records(struct build_ctx *c, const struct build_record *records, size_t count,
			const char *target, struct link_inputs *in)
{
	struct build_command cmd;
	int r = 0;

	for (size_t i = 0; i < count && r == 0; i++) {
		r = build_parse_command(&records[i], &cmd);
		if (r == 0 && cmd.compile && cmd.nsources == 1)
			r = add_unit(c, &records[i], &cmd, cmd.sources[0]);
		else if (r == 0 && cmd.compile && cmd.nsources > 1 && !cmd.output)
			for (size_t j = 0; j < cmd.nsources && r == 0; j++)
				r = add_unit(c, &records[i], &cmd, cmd.sources[j]);
		else if (r == 0 && !cmd.compile && cmd.nsources == 0)
			r = note_link(c, &records[i], &cmd, target, in);
		build_free_command(&cmd);
	}
	return r;
}

static void drop_unit(struct build_ctx *c, size_t i)
{
	struct build_unit *u = &c->units[i];

	build_free_record(&u->record);
	free(u->source);
	free(u->output);
	memmove(u, u + 1, (c->nunits - i - 1) * sizeof(*u));
	c->nunits--;
}

/* Keep only the units whose objects went into the target, when its link command was seen. */
static void keep_target_units(struct build_ctx *c, const struct link_inputs *in)
{
	if (!in->found || in->has_archive)
		return;
	for (size_t i = c->nunits; i-- > 0;) {
		char *out = resolved(c->units[i].output);
		int linked = 0;

		for (size_t j = 0; out && j < in->count; j++)
			linked |= !strcmp(in->paths[j], out);
		if (!linked) {
			log_info("%s is not linked into %s; left out", c->units[i].output,
				 c->opt->target);
			drop_unit(c, i);
		}
		free(out);
	}
}

static int compare_units(const void *a, const void *b)
{
	return strcmp(((const struct build_unit *)a)->output, ((const struct build_unit *)b)->output);
}

/* Reject units suture cannot compare, and sources compiled twice into different objects. */
static int check_units(struct build_ctx *c)
{
	struct build_command cmd;

	for (size_t i = 0; i < c->nunits; i++) {
		struct build_unit *u = &c->units[i];

		if (!is_c_source(u->source))
			return build_fail(EXIT_UNSAFE_CHANGE, "the diff changes assembly source %s; "
					  "suture build compares only C and C++ functions", u->source);
		if (build_parse_command(&u->record, &cmd) < 0)
			return build_fail(EXIT_INTERNAL, "out of memory");
		if (cmd.lto) {
			build_free_command(&cmd);
			return build_fail(EXIT_UNSAFE_CHANGE, "%s is compiled with -flto; link-time "
					  "optimisation is not supported", u->source);
		}
		build_free_command(&cmd);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(c->units[j].source, u->source) &&
			    strcmp(c->units[j].output, u->output) != 0)
				return build_fail(EXIT_UNSAFE_CHANGE, "%s is compiled twice, into %s and "
						  "%s, and the link of %s was not seen, so suture cannot "
						  "tell which object is in it", u->source,
						  c->units[j].output, u->output, c->opt->target);
		}
	}
	return EXIT_OK;
}

/* The same object compiled twice (a rerun of one make rule): keep the later command. */
static void drop_repeated_units(struct build_ctx *c)
{
	for (size_t i = 0; i < c->nunits; i++) {
		for (size_t j = i + 1; j < c->nunits; j++) {
			if (!strcmp(c->units[i].output, c->units[j].output)) {
				drop_unit(c, i);
				i--;
				break;
			}
		}
	}
}

int build_find_units(struct build_ctx *c)
{
	struct link_inputs in = { 0 };
	struct build_record *records = NULL;
	size_t count = 0;
	char *path = build_format("%s/compile-fixed.log", c->logs);
	char *target = build_format("%s/%s", c->tree, c->opt->target);
	char *target_real = target ? resolved(target) : NULL;
	int r = path && target_real ? build_read_records(path, &records, &count) : -ENOMEM;
	int rc = EXIT_OK;

	if (r == 0)
		r = scan_records(c, records, count, target_real, &in);
	if (r < 0) {
		rc = build_fail(EXIT_INTERNAL, "cannot read the compile records %s: %s", path,
				strerror(-r));
	} else {
		drop_repeated_units(c);
		keep_target_units(c, &in);
		rc = check_units(c);
		qsort(c->units, c->nunits, sizeof(*c->units), compare_units);
	}
	for (size_t i = 0; i < count; i++)
		build_free_record(&records[i]);
	free(records);
	for (size_t i = 0; i < in.count; i++)
		free(in.paths[i]);
	free(in.paths);
	free(target_real);
	free(target);
	free(path);
	return rc;
}

/*
 * Return 1 when a loaded section of the object needs an absolute 32-bit
 * address (code compiled without -fPIE or -fPIC), which a patch mapped
 * anywhere within 2 GiB of the target cannot provide.
 */
static int needs_absolute_addresses(const char *object)
{
	int fd = open(object, O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	Elf_Scn *scn = NULL;
	int found = 0;

	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr, target;
		Elf_Data *data;
		GElf_Rela rela;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA ||
		    !gelf_getshdr(elf_getscn(elf, shdr.sh_info), &target) ||
		    !(target.sh_flags & SHF_ALLOC))
			continue;
		data = elf_getdata(scn, NULL);
		for (int i = 0; data && gelf_getrela(data, i, &rela); i++) {
			if (GELF_R_TYPE(rela.r_info) == R_X86_64_32 ||
			    GELF_R_TYPE(rela.r_info) == R_X86_64_32S)
				found = 1;
		}
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return found;
}

static int compile_unit(struct build_ctx *c, size_t index, const char *variant,
			const char *object, int add_pie)
{
	struct build_unit *u = &c->units[index];
	char **argv = build_replay_argv(u, object, add_pie);
	char *log_path = build_format("%s/compile-%zu-%s.log", c->logs, index, variant);
	int status = 0, rc = EXIT_OK, r;

	if (!argv || !log_path) {
		rc = build_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	unlink(log_path);
	r = build_spawn(u->record.cwd, argv, c->env, log_path, &status);
	if (r < 0 || status != 0) {
		rc = build_fail(EXIT_BUILD_FAILED, "recompiling the %s %s failed; the end of %s:",
				variant, u->source, log_path);
		build_print_log_tail(log_path, 20);
	}
out:
	free(log_path);
	free(argv);
	return rc;
}

/* Copy a file; returns 0 or a negative errno. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n = 0;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in >= 0 ? open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	int r = in < 0 || out < 0 ? -errno : 0;

	while (r == 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			r = -EIO;
	}
	if (r == 0 && n < 0)
		r = -errno;
	if (out >= 0 && close(out) < 0 && r == 0)
		r = -errno;
	if (in >= 0)
		close(in);
	return r;
}

/*
 * The build after the diff compiled each unit with the recompiles' flags
 * (BUILD_ENV_SECTIONS), so its object is the fixed object.  A unit whose
 * object is gone, because the build renamed or removed it, compiles again.
 */
static int take_fixed_object(struct build_ctx *c, size_t index)
{
	struct build_unit *u = &c->units[index];

	if (copy_file(u->output, u->fixed_object) == 0)
		return EXIT_OK;
	log_info("%s is not where the build wrote it; compiling %s again", u->output, u->source);
	return compile_unit(c, index, "fixed", u->fixed_object, 0);
}

static int compile_fixed(struct build_ctx *c, int *add_pie)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < c->nunits && rc == EXIT_OK; i++) {
		struct build_unit *u = &c->units[i];

		u->fixed_object = build_format("%s/fixed/%zu.o", c->objs, i);
		if (!u->fixed_object)
			return build_fail(EXIT_INTERNAL, "out of memory");
		rc = take_fixed_object(c, i);
		if (rc == EXIT_OK && needs_absolute_addresses(u->fixed_object)) {
			log_info("%s needs absolute addresses; recompiling it with -fPIE", u->source);
			add_pie[i] = 1;
			rc = compile_unit(c, i, "fixed", u->fixed_object, 1);
		}
	}
	return rc;
}

/* Compile the originals of units whose source exists in the original tree. */
static int compile_originals(struct build_ctx *c, const int *add_pie)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < c->nunits && rc == EXIT_OK; i++) {
		struct build_unit *u = &c->units[i];

		if (u->orig_object)
			continue; /* compiled during the fixed build */
		if (access(u->source, F_OK) != 0) {
			log_info("%s is new", u->source);
			continue;
		}
		u->orig_object = build_format("%s/orig/%zu.o", c->objs, i);
		if (!u->orig_object)
			return build_fail(EXIT_INTERNAL, "out of memory");
		rc = compile_unit(c, i, "original", u->orig_object, add_pie[i]);
	}
	return rc;
}

static int rename_tree(const char *from, const char *to)
{
	if (rename(from, to) < 0)
		return build_fail(EXIT_INTERNAL, "cannot rename %s to %s: %s", from, to,
				  strerror(errno));
	return EXIT_OK;
}

/*
 * Stacked patch: compile the running build's version of each unit that
 * existed before the diffs, for the names the target gives its symbols.
 */
static int compile_running(struct build_ctx *c, const int *add_pie)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < c->nunits && rc == EXIT_OK; i++) {
		struct build_unit *u = &c->units[i];

		if (!u->orig_object)
			continue;
		if (access(u->source, F_OK) != 0) {
			log_info("%s is not in the running build; a --base-diff adds it", u->source);
			continue;
		}
		u->running_object = build_format("%s/running/%zu.o", c->objs, i);
		if (!u->running_object)
			return build_fail(EXIT_INTERNAL, "out of memory");
		rc = compile_unit(c, i, "running", u->running_object, add_pie[i]);
	}
	return rc;
}

/* Put the running build in the tree's place while its units compile, as for the originals. */
static int compile_running_in_tree(struct build_ctx *c, const int *add_pie)
{
	int rc = rename_tree(c->running, c->tree), back;

	if (rc != EXIT_OK)
		return rc;
	rc = compile_running(c, add_pie);
	back = rename_tree(c->tree, c->running);
	return rc == EXIT_OK ? back : rc;
}

/* Use the original that build_early.c compiled for unit `index`, if there is one. */
static int take_early_original(struct build_ctx *c, size_t index)
{
	struct build_unit *u = &c->units[index];
	int r;

	u->orig_object = build_format("%s/orig/%zu.o", c->objs, index);
	if (!u->orig_object)
		return build_fail(EXIT_INTERNAL, "out of memory");
	r = build_take_early_original(c, index);
	if (r < 0)
		return build_fail(EXIT_INTERNAL, "cannot move the early original of %s: %s",
				  u->source, strerror(-r));
	if (r == 0) {
		free(u->orig_object);
		u->orig_object = NULL;
	}
	return EXIT_OK;
}

/*
 * Compile the fixed units in the tree, then the originals at the same
 * absolute paths, so that absolute include paths and __FILE__ resolve the
 * way they did in the builds: the original tree moves into the tree's
 * place while they compile.  Its files that the diffs modify are
 * renumbered to the fixed files' line numbers meanwhile (build_lines.c).
 * A stacked patch's running build then compiles there in the same way.
 */
int build_compile_units(struct build_ctx *c)
{
	int *add_pie = calloc(c->nunits ? c->nunits : 1, sizeof(*add_pie));
	int rc, back;

	if (!add_pie)
		return build_fail(EXIT_INTERNAL, "out of memory");
	elf_version(EV_CURRENT);
	rc = compile_fixed(c, add_pie);
	for (size_t i = 0; i < c->nunits && rc == EXIT_OK; i++) {
		if (!add_pie[i])
			rc = take_early_original(c, i);
	}
	if (rc == EXIT_OK)
		rc = rename_tree(c->tree, c->fixed);
	if (rc == EXIT_OK) {
		rc = rename_tree(c->orig, c->tree);
		if (rc == EXIT_OK) {
			rc = build_renumber_lines(c, c->tree, c->fixed);
			if (rc == EXIT_OK)
				rc = compile_originals(c, add_pie);
			back = build_restore_lines(c, c->tree);
			if (rc == EXIT_OK)
				rc = back;
			back = rename_tree(c->tree, c->orig);
			if (rc == EXIT_OK)
				rc = back;
		}
		if (rc == EXIT_OK && c->running)
			rc = compile_running_in_tree(c, add_pie);
		back = rename_tree(c->fixed, c->tree);
		if (rc == EXIT_OK)
			rc = back;
	}
	free(add_pie);
	return rc;
}
