/*
 * Test helper: attaches to process argv[1] with PTRACE_SEIZE, as a debugger
 * would, prints "ready", and keeps it traced until it is killed or stdin
 * closes.  The tracee keeps running.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char line[64];

	if (argc != 2) {
		fprintf(stderr, "usage: tracer PID\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		fprintf(stderr, "tracer: PTRACE_SEIZE of %d failed: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d tracing %d\n", getpid(), (int)pid);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
