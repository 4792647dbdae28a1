#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "util/exitcode.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "apply", cmd_apply, "apply a patch to running processes" },
	{ "revert", cmd_revert, "remove an applied patch from running processes" },
	{ "status", cmd_status, "list applied patches per process" },
	{ "info", cmd_info, "describe what a patch file contains" },
	{ "keygen", cmd_keygen, "create an Ed25519 signing key pair" },
	{ "sign", cmd_sign, "sign a patch file" },
	{ "verify", cmd_verify, "check a patch file's signature against the trusted keys" },
	{ "mkpatch", cmd_mkpatch, "make a patch file from a compiled replacement object" },
	{ "run", cmd_run, "start a program with patches applied before its main()" },
	{ "build", cmd_build, "make a patch file from a source diff and the running binary" },
};

static void print_usage(FILE *out)
{
	fprintf(out, "usage: suture COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'suture COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "suture: unknown command '%s'; run 'suture --help' for the list\n", argv[1]);
	return EXIT_USAGE;
}
