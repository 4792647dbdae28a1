#include "cli/change.h"
#include "cli/commands.h"

int cmd_apply(int argc, char **argv)
{
	return cli_run_change("apply", argc, argv);
}
