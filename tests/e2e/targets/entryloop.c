/*
 * Test target built with -Os, which does not align loops: the loop of
 * count_forever() starts 4 bytes into the function, inside the 5 bytes that
 * a jump at its entry overwrites.  Requests on stdin, one line of output each:
 *   loop      start a thread that runs count_forever() and never returns
 *   count     how many times that thread went round its loop
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong counter;

__attribute__((noipa)) void tick(void)
{
	atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

/* Calls tick() and bumps *rounds forever.  Keeping `rounds` in a callee-saved
 * register across the call needs a prologue (push, mov) before the loop. */
__attribute__((noipa)) void count_forever(unsigned long *rounds)
{
	for (;;) {
		tick();
		(*rounds)++;
	}
}

static unsigned long loop_rounds;

static void *loop_thread(void *arg)
{
	(void)arg;
	count_forever(&loop_rounds);
	return NULL;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "loop", 4)) {
			pthread_t t;
			if (pthread_create(&t, NULL, loop_thread, NULL))
				printf("pthread_create failed\n");
			else
				printf("loop started\n");
		} else if (!strncmp(line, "count", 5)) {
			printf("count = %lu\n", atomic_load(&counter));
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}
