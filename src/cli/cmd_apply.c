#include <stdio.h>

#include "cli/commands.h"
#include "util/exitcode.h"

/* Placeholder until the command is written. */
int cmd_apply(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "suture: 'apply' is not implemented yet\n");
	return EXIT_INTERNAL;
}
