/*
 * Compiler command lines in the gcc driver syntax, which clang shares: which
 * arguments are sources, objects and the output, and the command that
 * recompiles one source into an object of ours.
 */
#include "build/build_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Options whose value is the next argument. */
static const char *const options_with_value[] = {
	"-o", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-idirafter", "-iquote",
	"-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-imultilib", "-MF",
	"-MT", "-MQ", "-x", "-Xlinker", "-Xassembler", "-Xpreprocessor", "-Xclang", "-mllvm",
	"-L", "-T", "-u", "-z", "-e", "-aux-info", "-dumpbase", "-dumpbase-ext", "-dumpdir",
	"-wrapper", "--param", "-target", "-arch", "-B", "-l", "--sysroot",
};

static const char *const source_extensions[] = {
	".c", ".i", ".cc", ".cp", ".cxx", ".cpp", ".CPP", ".c++", ".C", ".ii", ".s", ".S", ".sx",
};

static const char *const input_extensions[] = { ".o", ".a", ".so", ".lo", ".obj" };

static int takes_value(const char *arg)
{
	for (size_t i = 0; i < sizeof(options_with_value) / sizeof(options_with_value[0]); i++) {
		if (!strcmp(arg, options_with_value[i]))
			return 1;
	}
	return 0;
}

static int has_extension(const char *arg, const char *const *list, size_t count)
{
	const char *dot = strrchr(arg, '.');

	for (size_t i = 0; dot && i < count; i++) {
		if (!strcmp(dot, list[i]))
			return 1;
	}
	return 0;
}

/* Classify one argument that is not an option. */
static void add_operand(struct build_command *out, size_t index, const char *arg,
			int language_set)
{
	if (language_set || has_extension(arg, source_extensions,
					  sizeof(source_extensions) / sizeof(source_extensions[0])))
		out->sources[out->nsources++] = index;
	else if (has_extension(arg, input_extensions,
			       sizeof(input_extensions) / sizeof(input_extensions[0])) ||
		 strstr(arg, ".so."))
		out->inputs[out->ninputs++] = index;
}

/* Note the options that matter to suture; -fno-lto after -flto switches LTO off again. */
static void note_option(struct build_command *out, const char *arg, int *stops_early)
{
	if (!strcmp(arg, "-c"))
		out->compile = 1;
	else if (!strcmp(arg, "-E") || !strcmp(arg, "-S") || !strcmp(arg, "-M") ||
		 !strcmp(arg, "-MM"))
		*stops_early = 1;
	else if (!strncmp(arg, "-flto", 5) && strcmp(arg, "-flto-partition=none") != 0)
		out->lto = 1;
	else if (!strcmp(arg, "-fno-lto"))
		out->lto = 0;
}

int build_parse_command(const struct build_record *r, struct build_command *out)
{
	int stops_early = 0, language_set = 0;

	memset(out, 0, sizeof(*out));
	out->sources = calloc(r->argc, sizeof(*out->sources));
	out->inputs = calloc(r->argc, sizeof(*out->inputs));
	if (!out->sources || !out->inputs)
		return -ENOMEM;
	for (size_t i = 1; i < r->argc; i++) {
		const char *arg = r->argv[i];

		if (arg[0] != '-' || !arg[1]) {
			add_operand(out, i, arg, language_set);
			continue;
		}
		note_option(out, arg, &stops_early);
		if (!strcmp(arg, "-o") && i + 1 < r->argc) {
			out->output = i + 1;
		} else if (!strncmp(arg, "-o", 2) && arg[2]) {
			out->output = i;
			out->output_joined = 1;
		} else if (!strcmp(arg, "-x") && i + 1 < r->argc) {
			language_set = strcmp(r->argv[i + 1], "none") != 0;
		}
		if (takes_value(arg))
			i++;
	}
	if (stops_early)
		out->compile = 0;
	return 0;
}

void build_free_command(struct build_command *cmd)
{
	free(cmd->sources);
	free(cmd->inputs);
	memset(cmd, 0, sizeof(*cmd));
}

char *build_absolute_path(const char *cwd, const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	if (!strncmp(path, "./", 2))
		path += 2;
	return build_format("%s/%s", cwd, path);
}

/* Dependency-file options, which the recompiles must not act on. */
static int is_dependency_option(const char *arg, int *skip_value)
{
	*skip_value = !strcmp(arg, "-MF") || !strcmp(arg, "-MT") || !strcmp(arg, "-MQ");
	return *skip_value || !strcmp(arg, "-MD") || !strcmp(arg, "-MMD") || !strcmp(arg, "-MP") ||
	       !strncmp(arg, "-MF", 3) || !strncmp(arg, "-MT", 3) || !strncmp(arg, "-MQ", 3) ||
	       !strncmp(arg, "-Wp,-MD", 7) || !strncmp(arg, "-Wp,-MMD", 8);
}

/* Return 1 when the command's last -g option turns on debug information with types. */
int build_has_debug_types(const struct build_record *r)
{
	int on = 0;

	for (size_t i = 1; i < r->argc; i++) {
		const char *arg = r->argv[i];

		if (strncmp(arg, "-g", 2) != 0)
			continue;
		if (!strcmp(arg, "-g0") || !strcmp(arg, "-g1") || !strcmp(arg, "-ggdb0") ||
		    !strcmp(arg, "-ggdb1") || !strcmp(arg, "-gline-tables-only"))
			on = 0;
		else if (!strcmp(arg, "-g") || !strncmp(arg, "-g2", 3) || !strncmp(arg, "-g3", 3) ||
			 !strncmp(arg, "-ggdb", 5) || !strncmp(arg, "-gdwarf", 7))
			on = 1;
	}
	return on;
}

/*
 * The unit's command with only its own source, output to `object`, without
 * dependency-file options, and with one section per function and variable
 * so that functions can be compared and linked one by one.  `add_pie`
 * appends -fPIE, for code that would otherwise need absolute addresses.
 * -g is appended when the command has no debug information with types,
 * which the check of struct layouts reads; it does not change the code.
 */
char **build_replay_argv(const struct build_unit *u, const char *object, int add_pie)
{
	const struct build_record *r = &u->record;
	struct build_command cmd;
	char **argv = calloc(r->argc + 7, sizeof(*argv));
	size_t n = 0;
	int skip_value;

	if (!argv || build_parse_command(r, &cmd) < 0) {
		free(argv);
		return NULL;
	}
	for (size_t i = 0; i < r->argc; i++) {
		int is_source = 0;

		for (size_t j = 0; j < cmd.nsources; j++)
			is_source |= cmd.sources[j] == i;
		if (i > 0 && is_dependency_option(r->argv[i], &skip_value)) {
			i += (size_t)skip_value;
			continue;
		}
		if ((is_source && i != u->source_index) || (cmd.output && i == cmd.output))
			continue;
		if (cmd.output && !cmd.output_joined && i + 1 == cmd.output)
			continue; /* the "-o" before the value */
		argv[n++] = r->argv[i];
	}
	build_free_command(&cmd);
	argv[n++] = "-ffunction-sections";
	argv[n++] = "-fdata-sections";
	if (!build_has_debug_types(r))
		argv[n++] = "-g";
	if (add_pie)
		argv[n++] = "-fPIE";
	argv[n++] = "-o";
	argv[n++] = (char *)object;
	argv[n] = NULL;
	return argv;
}
