#include <stdio.h>

#include "cli/commands.h"
#include "util/exitcode.h"

/* Placeholder until the command is written. */
int cmd_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "suture: 'keygen' is not implemented yet\n");
	return EXIT_INTERNAL;
}
