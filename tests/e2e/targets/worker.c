/*
 * Test target for interrupted changes.  It reads requests on stdin and
 * prints replies like basic.c, and one thread calls compute() in bursts of
 * 1000 calls, sorting each result into the old version's (x + 1), the new
 * version's (x * 100) or neither.  "stats" prints those counters, so a test
 * can check that the thread still runs and never saw a torn switch.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x)
{
	if (x < 0)
		return -1;
	return x + 1;
}

__attribute__((noipa)) const char *greeting(void)
{
	return "hello";
}

static atomic_ulong calls, old_results, new_results, bad_results;

static void *caller_thread(void *arg)
{
	(void)arg;
	for (;;) {
		for (int x = 1; x <= 1000; x++) {
			int result = compute(x);
			if (result == x + 1)
				old_results++;
			else if (result == x * 100)
				new_results++;
			else
				bad_results++;
			calls++;
		}
		usleep(1000);
	}
	return NULL;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int start_thread(void *(*fn)(void *))
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int ret = pthread_create(&t, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (start_thread(caller_thread)) {
		perror("pthread_create");
		return 2;
	}
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		int n;
		if (sscanf(line, "compute %d", &n) == 1) {
			printf("compute %d = %d\n", n, compute(n));
		} else if (!strncmp(line, "greeting", 8)) {
			printf("greeting = %s\n", greeting());
		} else if (!strncmp(line, "stats", 5)) {
			printf("stats calls %lu old %lu new %lu bad %lu\n", calls, old_results,
			       new_results, bad_results);
		} else if (sscanf(line, "threads %d", &n) == 1) {
			int i = 0;
			while (i < n && !start_thread(idle_thread))
				i++;
			printf("threads %d started\n", i);
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}
