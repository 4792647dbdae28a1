/*
 * Benchmark target: `sleeper [THREADS]` runs THREADS threads in all (default
 * 1), prints "ready PID", and then every thread sleeps in pause() until
 * killed.  work() is the function the benchmark patch replaces.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int work_calls;

/* The counter makes the body longer than the 5-byte jump suture writes. */
__attribute__((noipa)) int work(int x)
{
	work_calls++;
	return x + 1;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, idle_thread, NULL)) {
			fprintf(stderr, "pthread_create failed after %d threads\n", i);
			return 1;
		}
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
