/* suture mkpatch: link replacement objects against a target into a patch file. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/usage.h"
#include "link/link.h"
#include "patch/patch.h"
#include "util/exitcode.h"
#include "util/log.h"

struct mkpatch_options {
	const char *target;
	const char *output;
	const char *name;
	const char *description;
	const char **objects;
	size_t nobjects;
	char **replace_specs; /* copies of the --replace arguments, split in place */
	struct link_replacement *replacements;
	size_t nreplacements;
	const char **cves;
	size_t ncves;
};

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: suture mkpatch --target BINARY --object FIX.o [--object MORE.o ...]\n"
		"                      --replace [FILE:]FUNC[=NEWFUNC] [--replace ...]\n"
		"                      [--name NAME] [--cve ID ...] [--description TEXT]\n"
		"                      -o OUT.suture\n"
		"\n"
		"Link replacement objects (compiled with -fPIC -ffunction-sections\n"
		"-fdata-sections) against an unstripped target into a patch file.\n"
		"\n"
		"  --target BINARY        executable or shared library to patch\n"
		"  --object FILE.o        relocatable object with the new code; repeatable\n"
		"  --replace SPEC         replace FUNC by NEWFUNC (default: the same name);\n"
		"                         FILE: picks a static FUNC defined in several files;\n"
		"                         repeatable\n"
		"  --name NAME            short name of the patch\n"
		"  --cve ID               CVE fixed by the patch, as CVE-YYYY-NNNN; repeatable\n"
		"  --description TEXT     what the patch changes\n"
		"  -o, --output FILE      patch file to write\n"
		"  -v, --verbose          log more; repeat for debug output\n"
		"  -h, --help             show this help\n");
}

static int has_control_chars(const char *text)
{
	for (; *text; text++) {
		if (iscntrl((unsigned char)*text))
			return 1;
	}
	return 0;
}

static int add_replacement(struct mkpatch_options *o, const char *arg)
{
	char *spec = strdup(arg);

	if (!spec) {
		cli_error("mkpatch", "out of memory");
		return EXIT_INTERNAL;
	}
	o->replace_specs[o->nreplacements] = spec;
	if (link_parse_replacement(spec, &o->replacements[o->nreplacements]) < 0) {
		free(spec);
		cli_error("mkpatch", "invalid --replace '%s'; expected [FILE:]FUNC or [FILE:]FUNC=NEWFUNC", arg);
		return EXIT_USAGE;
	}
	o->nreplacements++;
	return EXIT_OK;
}

static int add_cve(struct mkpatch_options *o, const char *id)
{
	if (!cli_is_cve_id(id)) {
		cli_error("mkpatch", "invalid --cve '%s'; expected an id like CVE-2024-12345", id);
		return EXIT_USAGE;
	}
	o->cves[o->ncves++] = id;
	return EXIT_OK;
}

static int handle_option(struct mkpatch_options *o, int opt, const char *arg)
{
	switch (opt) {
	case 't': o->target = arg; return EXIT_OK;
	case 'O': o->objects[o->nobjects++] = arg; return EXIT_OK;
	case 'r': return add_replacement(o, arg);
	case 'n': o->name = arg; return EXIT_OK;
	case 'c': return add_cve(o, arg);
	case 'd': o->description = arg; return EXIT_OK;
	case 'o': o->output = arg; return EXIT_OK;
	case 'v': log_verbosity++; return EXIT_OK;
	default: return EXIT_USAGE;
	}
}

static const char *first_missing_option(const struct mkpatch_options *o)
{
	if (!o->target)
		return "--target";
	if (o->nobjects == 0)
		return "--object";
	if (o->nreplacements == 0)
		return "--replace";
	if (!o->output)
		return "-o";
	return NULL;
}

static int check_required(const struct mkpatch_options *o)
{
	const char *missing = first_missing_option(o);

	if (missing) {
		cli_usage_error("mkpatch", "missing %s", missing);
		return EXIT_USAGE;
	}
	if (o->name && (!o->name[0] || has_control_chars(o->name))) {
		cli_error("mkpatch", "invalid --name; it must be non-empty and on one line");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int parse_options(int argc, char **argv, struct mkpatch_options *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "object", required_argument, NULL, 'O' },
		{ "replace", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "cve", required_argument, NULL, 'c' },
		{ "description", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	optind = 0; /* glibc: restart scanning, in case getopt ran before in this process */
	while ((opt = cli_next_option("mkpatch", argc, argv, "o:vh", longopts)) != -1) {
		if (opt == 'h') {
			print_usage(stdout);
			return -1;
		}
		rc = handle_option(o, opt, optarg);
		if (rc != EXIT_OK)
			return rc;
	}
	if (cli_check_operands("mkpatch", argc, argv, NULL) != EXIT_OK)
		return EXIT_USAGE;
	return check_required(o);
}

static int allocate_options(struct mkpatch_options *o, int argc)
{
	size_t n = argc > 0 ? (size_t)argc : 1;

	o->objects = calloc(n, sizeof(*o->objects));
	o->replace_specs = calloc(n, sizeof(*o->replace_specs));
	o->replacements = calloc(n, sizeof(*o->replacements));
	o->cves = calloc(n, sizeof(*o->cves));
	if (!o->objects || !o->replace_specs || !o->replacements || !o->cves) {
		cli_error("mkpatch", "out of memory");
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

static void free_options(struct mkpatch_options *o)
{
	for (size_t i = 0; i < o->nreplacements; i++)
		free(o->replace_specs[i]);
	free(o->replace_specs);
	free(o->replacements);
	free(o->objects);
	free(o->cves);
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

static char *copy_optional(const char *text, int *failed)
{
	char *copy;

	if (!text)
		return NULL;
	copy = strdup(text);
	if (!copy)
		*failed = 1;
	return copy;
}

static int set_metadata(struct patch *p, const struct mkpatch_options *o)
{
	int failed = 0;

	p->name = copy_optional(o->name, &failed);
	p->description = copy_optional(o->description, &failed);
	if (o->ncves > 0) {
		p->cves = calloc(o->ncves, sizeof(*p->cves));
		if (!p->cves)
			return -ENOMEM;
		for (size_t i = 0; i < o->ncves; i++)
			p->cves[p->ncves++] = copy_optional(o->cves[i], &failed);
	}
	return failed ? -ENOMEM : 0;
}

static int write_patch(const struct patch *p, const char *path)
{
	char reason[256];
	int r = patch_write_file(path, p);

	if (r == -EINVAL) {
		patch_validate(p, reason, sizeof(reason));
		cli_error("mkpatch", "the linked patch is invalid (%s); this is a bug in suture", reason);
		return EXIT_INTERNAL;
	}
	if (r < 0) {
		cli_error("mkpatch", "cannot write %s: %s", path, strerror(-r));
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

static int make_patch(const struct mkpatch_options *o)
{
	const struct link_input in = {
		.target_path = o->target,
		.object_paths = o->objects,
		.nobjects = o->nobjects,
		.replacements = o->replacements,
		.nreplacements = o->nreplacements,
	};
	struct link_error err;
	struct patch p = { 0 };
	int rc;

	if (link_patch(&in, &p, &err) < 0) {
		cli_error("mkpatch", "%s", err.message);
		return exit_code_for(err.kind);
	}
	if (set_metadata(&p, o) < 0) {
		cli_error("mkpatch", "out of memory");
		rc = EXIT_INTERNAL;
	} else {
		rc = write_patch(&p, o->output);
	}
	if (rc == EXIT_OK)
		printf("%s: %zu function%s replaced, %llu bytes of code, %zu relocations\n",
		       o->output, p.nfuncs, p.nfuncs == 1 ? "" : "s",
		       (unsigned long long)p.part_size[PATCH_PART_TEXT], p.nrelocs);
	patch_free(&p);
	return rc;
}

int cmd_mkpatch(int argc, char **argv)
{
	struct mkpatch_options o = { 0 };
	int rc = allocate_options(&o, argc);

	if (rc == EXIT_OK)
		rc = parse_options(argc, argv, &o);
	if (rc == -1)
		rc = EXIT_OK; /* --help */
	else if (rc == EXIT_OK)
		rc = make_patch(&o);
	free_options(&o);
	return rc;
}
