#include <stdio.h>

#include "cli/commands.h"
#include "util/exitcode.h"

/* Placeholder until the command is written. */
int cmd_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "suture: 'sign' is not implemented yet\n");
	return EXIT_INTERNAL;
}
