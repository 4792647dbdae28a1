#include <stdio.h>

#include "cli/commands.h"
#include "util/exitcode.h"

/* Placeholder until the command is written. */
int cmd_build(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "suture: 'build' is not implemented yet\n");
	return EXIT_INTERNAL;
}

int cmd_cc_wrapper(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return EXIT_INTERNAL;
}
