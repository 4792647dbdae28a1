#include "cli/change.h"
#include "cli/commands.h"

int cmd_revert(int argc, char **argv)
{
	return cli_run_change("revert", argc, argv);
}
