/*
 * Test target: a thread runs a signal handler on an alternate signal stack
 * while the function that raised the signal waits to be returned into.
 * Requests on stdin:
 *   "enter"    starts the thread, which calls raise_and_wait().  The signal
 *              handler then blocks on a pipe, on its own sigaltstack mapping.
 *   "release"  lets the handler return, and raise_and_wait() with it.
 *   "call N"   prints raise_and_wait's result for N without a signal.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALT_STACK_SIZE (64 * 1024)

static int release_pipe[2];
static volatile int handled;

static void on_signal(int sig)
{
	char byte;

	(void)sig;
	/* Blocks here, on the alternate stack, until "release". */
	while (read(release_pipe[0], &byte, 1) < 0)
		;
	handled++;
}

__attribute__((noipa)) int raise_and_wait(int x, int with_signal)
{
	if (with_signal)
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
	return x + 1;
}

static void *worker(void *arg)
{
	stack_t alt = { .ss_size = ALT_STACK_SIZE };

	(void)arg;
	alt.ss_sp = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt.ss_sp == MAP_FAILED || sigaltstack(&alt, NULL) < 0) {
		perror("sigaltstack");
		exit(1);
	}
	printf("worker tid = %ld\n", (long)syscall(SYS_gettid));
	int result = raise_and_wait(1, 1);
	printf("worker result = %d\n", result);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK };
	char line[256];
	pthread_t t;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(release_pipe) < 0 || sigaction(SIGUSR1, &sa, NULL) < 0) {
		perror("setup");
		return 1;
	}
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "enter", 5)) {
			if (pthread_create(&t, NULL, worker, NULL))
				printf("enter failed\n");
		} else if (!strncmp(line, "release", 7)) {
			if (write(release_pipe[1], "x", 1) != 1)
				printf("release failed\n");
		} else if (sscanf(line, "call %d", &n) == 1) {
			printf("call %d = %d\n", n, raise_and_wait(n, 0));
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}
