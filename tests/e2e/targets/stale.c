/*
 * Test target for the exact stack check.  One thread keeps, in a local
 * variable of its own frame, an address inside compute() and sleeps: a
 * stale value that only looks like a return address.  Another thread, on
 * "wait", blocks in read() called from inside waiter(), so it really is due
 * to return into waiter().  Requests on stdin: "compute N", "wait", and
 * "threads N", which starts N more threads that sleep in pause().
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int wait_pipe[2];
static volatile int stale_in_place;

__attribute__((noipa)) int compute(int x)
{
	if (x < 0)
		return -1;
	return x + 1;
}

__attribute__((noipa)) int waiter(void)
{
	char c;
	if (read(wait_pipe[0], &c, 1) != 1)
		return -1;
	return c;
}

__attribute__((noipa)) static void hold_stale_address(void)
{
	volatile uintptr_t stale = (uintptr_t)compute + 3;
	stale_in_place = 1;
	for (;;)
		pause();
	(void)stale;
}

static void *stale_thread(void *arg)
{
	(void)arg;
	hold_stale_address();
	return NULL;
}

static void *sleeping_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *waiter_thread(void *arg)
{
	(void)arg;
	waiter();
	return NULL;
}

int main(void)
{
	char line[128];
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(wait_pipe) || pthread_create(&t, NULL, stale_thread, NULL))
		return 1;
	while (!stale_in_place)
		usleep(1000);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		int n;
		if (sscanf(line, "compute %d", &n) == 1) {
			printf("compute %d = %d\n", n, compute(n));
		} else if (!strncmp(line, "wait", 4)) {
			pthread_create(&t, NULL, waiter_thread, NULL);
			usleep(100000);
			printf("waiting\n");
		} else if (sscanf(line, "threads %d", &n) == 1) {
			pthread_attr_t attr;
			int started = 0;
			pthread_attr_init(&attr);
			pthread_attr_setstacksize(&attr, 64 * 1024);
			while (started < n && !pthread_create(&t, &attr, sleeping_thread, NULL))
				started++;
			printf("threads %d started\n", started);
		}
	}
	return 0;
}
