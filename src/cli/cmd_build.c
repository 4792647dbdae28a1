/* suture build: make a patch file from a source diff; also the entry of its compiler wrapper. */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build/build.h"
#include "cli/commands.h"
#include "cli/usage.h"
#include "util/exitcode.h"
#include "util/log.h"

struct build_cli {
	struct build_options opt;
	const char **diffs;
	const char **base_diffs;
	const char **stack;
	const char **cves;
	char self[PATH_MAX];
};

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: suture build --src DIR --diff FIX.patch [--diff MORE.patch ...]\n"
		"                    --build COMMAND --target PATH [--against BINARY]\n"
		"                    [--base-diff EARLIER.patch ... --requires EARLIER.suture ...]\n"
		"                    [--name NAME] [--cve ID ...] [--description TEXT]\n"
		"                    [--workdir DIR] -o OUT.suture\n"
		"\n"
		"Build the project twice, before and after the diffs, with its own build\n"
		"command and a compiler wrapper; compare the recompiled files function by\n"
		"function and link the changed functions into a patch for the target.\n"
		"\n"
		"  --src DIR              source tree to copy and build; it is not modified\n"
		"  --diff FILE            diff applied with 'patch -p1' in the tree; repeatable\n"
		"  --base-diff FILE       diff that earlier patches made live in the running\n"
		"                         build, applied before the --diff files; the patch\n"
		"                         contains only what the --diff files change; repeatable\n"
		"  --requires PATCH       earlier patch built from the --base-diff files, which\n"
		"                         must be applied first; needed with them; repeat it\n"
		"                         for every patch of the stack, oldest first (the new\n"
		"                         patch requires the last)\n"
		"  --build COMMAND        build command, run with /bin/sh -c in the tree\n"
		"  --target PATH          the patched executable or library, relative to the tree\n"
		"  --against BINARY       the deployed binary the patch is for (default: the\n"
		"                         built target); its loaded bytes must match the build\n"
		"  --name NAME            short name of the patch\n"
		"  --cve ID               CVE fixed by the patch, as CVE-YYYY-NNNN; repeatable\n"
		"  --description TEXT     what the patch changes\n"
		"  --workdir DIR          work directory (default: /var/tmp/suture-build/HASH,\n"
		"                         named after the inputs); cleared before use\n"
		"  -o, --output FILE      patch file to write\n"
		"  -v, --verbose          log more; repeat for debug output\n"
		"  -h, --help             show this help\n"
		"\n"
		"Exit codes: 3 invalid --requires patch file, 18 no functional change,\n"
		"19 change not safe to live-patch, 20 diff does not apply or build failed,\n"
		"21 build does not match --against, or a --requires patch is for another build.\n");
}

static int handle_option(struct build_cli *b, int opt, const char *arg)
{
	switch (opt) {
	case 's': b->opt.src_dir = arg; return EXIT_OK;
	case 'D': b->diffs[b->opt.ndiffs++] = arg; return EXIT_OK;
	case 'B': b->base_diffs[b->opt.nbase_diffs++] = arg; return EXIT_OK;
	case 'r': b->stack[b->opt.nstack++] = arg; return EXIT_OK;
	case 'b': b->opt.build_command = arg; return EXIT_OK;
	case 't': b->opt.target = arg; return EXIT_OK;
	case 'a': b->opt.against = arg; return EXIT_OK;
	case 'n': b->opt.name = arg; return EXIT_OK;
	case 'd': b->opt.description = arg; return EXIT_OK;
	case 'w': b->opt.workdir = arg; return EXIT_OK;
	case 'o': b->opt.output = arg; return EXIT_OK;
	case 'v': log_verbosity++; return EXIT_OK;
	case 'c':
		if (!cli_is_cve_id(arg)) {
			cli_error("build", "invalid --cve '%s'; expected an id like CVE-2024-12345", arg);
			return EXIT_USAGE;
		}
		b->cves[b->opt.ncves++] = arg;
		return EXIT_OK;
	default:
		return EXIT_USAGE;
	}
}

static const char *first_missing_option(const struct build_options *o)
{
	if (!o->src_dir)
		return "--src";
	if (o->ndiffs == 0)
		return "--diff";
	if (!o->build_command)
		return "--build";
	if (!o->target)
		return "--target";
	if (!o->output)
		return "-o";
	return NULL;
}

static int check_options(const struct build_options *o)
{
	const char *missing = first_missing_option(o);
	struct stat st;

	if (missing) {
		cli_usage_error("build", "missing %s", missing);
		return EXIT_USAGE;
	}
	if (stat(o->src_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cli_error("build", "--src %s is not a directory", o->src_dir);
		return EXIT_USAGE;
	}
	if (o->target[0] == '/' || !strncmp(o->target, "../", 3)) {
		cli_error("build", "--target %s must be a path inside the build tree, relative to --src",
			     o->target);
		return EXIT_USAGE;
	}
	if (o->name && (!o->name[0] || strpbrk(o->name, "\n\r\t"))) {
		cli_error("build", "invalid --name; it must be non-empty and on one line");
		return EXIT_USAGE;
	}
	if (!o->build_command[0]) {
		cli_error("build", "--build is empty; give the command that builds the project");
		return EXIT_USAGE;
	}
	if (o->nbase_diffs && !o->nstack) {
		cli_usage_error("build", "--base-diff needs --requires, the earlier patch that made "
				"the base diffs live");
		return EXIT_USAGE;
	}
	if (o->nstack && !o->nbase_diffs) {
		cli_usage_error("build", "--requires needs --base-diff, the diffs of the earlier "
				"patches that the new patch is built on");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int parse_options(int argc, char **argv, struct build_cli *b)
{
	static const struct option longopts[] = {
		{ "src", required_argument, NULL, 's' },
		{ "diff", required_argument, NULL, 'D' },
		{ "base-diff", required_argument, NULL, 'B' },
		{ "requires", required_argument, NULL, 'r' },
		{ "build", required_argument, NULL, 'b' },
		{ "target", required_argument, NULL, 't' },
		{ "against", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "cve", required_argument, NULL, 'c' },
		{ "description", required_argument, NULL, 'd' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	optind = 0; /* glibc: restart scanning, in case getopt ran before in this process */
	while ((opt = cli_next_option("build", argc, argv, "o:vh", longopts)) != -1) {
		if (opt == 'h') {
			print_usage(stdout);
			return -1;
		}
		rc = handle_option(b, opt, optarg);
		if (rc != EXIT_OK)
			return rc;
	}
	if (cli_check_operands("build", argc, argv, NULL) != EXIT_OK)
		return EXIT_USAGE;
	return check_options(&b->opt);
}

int cmd_build(int argc, char **argv)
{
	struct build_cli b = { 0 };
	size_t n = argc > 0 ? (size_t)argc : 1;
	int rc;

	/* The compiler wrapper scripts run "suture build --cc-wrapper PATH ARGS...". */
	if (argc >= 2 && !strcmp(argv[1], "--cc-wrapper"))
		return cmd_cc_wrapper(argc - 2, argv + 2);
	b.diffs = calloc(n, sizeof(*b.diffs));
	b.base_diffs = calloc(n, sizeof(*b.base_diffs));
	b.stack = calloc(n, sizeof(*b.stack));
	b.cves = calloc(n, sizeof(*b.cves));
	if (!b.diffs || !b.base_diffs || !b.stack || !b.cves) {
		cli_error("build", "out of memory");
		rc = EXIT_INTERNAL;
		goto out;
	}
	b.opt.diffs = b.diffs;
	b.opt.base_diffs = b.base_diffs;
	b.opt.stack = b.stack;
	b.opt.cves = b.cves;
	rc = parse_options(argc, argv, &b);
	if (rc == -1) {
		rc = EXIT_OK; /* --help */
		goto out;
	}
	if (rc != EXIT_OK)
		goto out;
	if (!realpath("/proc/self/exe", b.self)) {
		cli_error("build", "cannot find the suture executable through /proc/self/exe");
		rc = EXIT_INTERNAL;
		goto out;
	}
	b.opt.self_path = b.self;
	rc = build_run(&b.opt);
out:
	free(b.diffs);
	free(b.base_diffs);
	free(b.stack);
	free(b.cves);
	return rc;
}

int cmd_cc_wrapper(int argc, char **argv)
{
	return build_cc_wrapper(argc, argv);
}
