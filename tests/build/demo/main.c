/* Answers one request per input line; main() itself never changes, so it may stay on the stack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "lib/shared.h"

__attribute__((noinline)) static void handle_request(const char *cmd, long arg)
{
	if (!strcmp(cmd, "compute"))
		printf("compute %ld = %ld\n", arg, compute(arg));
	else if (!strcmp(cmd, "count"))
		printf("count = %d\n", next_count());
	else if (!strcmp(cmd, "greet"))
		printf("greeting = %s\n", greeting());
	else if (!strcmp(cmd, "describe"))
		printf("describe %ld = %s\n", arg, describe((int)arg));
	else if (!strcmp(cmd, "apply"))
		printf("apply %ld = %ld\n", arg, apply_op((int)arg, 10));
	else if (!strcmp(cmd, "pid"))
		printf("pid = %ld\n", process_id());
	else if (!strcmp(cmd, "clamp"))
		printf("clamp %ld = %d %d\n", arg, clamp_value((int)arg), clamp_twice((int)arg));
	else if (!strcmp(cmd, "lib"))
		printf("lib %ld = %d\n", arg, lib_value((int)arg));
	else if (!strcmp(cmd, "checksum"))
		printf("checksum %ld = %ld\n", arg, checksum(arg));
	else if (!strcmp(cmd, "limit"))
		printf("limit = %d\n", limit);
	else if (!strcmp(cmd, "setlimit"))
		printf("setlimit = %d\n", limit = (int)arg);
	else if (!strcmp(cmd, "offset"))
		printf("offset %ld = %ld\n", arg, limit_offset(arg));
	else if (!strcmp(cmd, "tally"))
		printf("tally = %ld\n", tally_hits());
	else if (!strcmp(cmd, "line"))
		printf("line = %d\n", line_here());
	else if (!strcmp(cmd, "sum"))
		printf("sum %ld = %ld\n", arg, scaled_sum(arg));
	else if (!strcmp(cmd, "wide"))
		printf("wide %ld = %ld\n", arg, spread_wide(arg));
	else if (!strcmp(cmd, "narrow"))
		printf("narrow %ld = %ld\n", arg, spread_narrow(arg));
	else
		printf("unknown %s\n", cmd);
}

int main(void)
{
	char line[256], cmd[64];
	long arg;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		arg = 0;
		if (sscanf(line, "%63s %ld", cmd, &arg) >= 1)
			handle_request(cmd, arg);
	}
	return 0;
}
