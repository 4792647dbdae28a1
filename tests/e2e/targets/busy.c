/*
 * Test target for functions that are running while a patch is applied, and
 * for processes and threads that exit meanwhile.  It reads requests on
 * stdin, one per line, and prints one line for each:
 *   spin              start a thread that never leaves busy_loop(); prints its tid
 *   spins             total iterations of busy_loop() so far
 *   busy N            call busy_loop(N) on the main thread, print its result
 *   callee            start a thread that calls short_callee(7) in a tight loop
 *   callee-result     the value short_callee(7) last returned in that thread,
 *                     and how many calls it has made
 *   exit-after MS     exit the process (status 0) MS milliseconds from now
 *   factory N         start N threads that create and join short-lived threads
 *                     forever; each short-lived thread calls short_callee(7)
 *   factory-result    the value short_callee(7) last returned in a short-lived
 *                     thread, and how many such threads have finished
 * One more thread idles in pthread_cond_wait from the start.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong spin_count;
static atomic_int callee_result;
static atomic_ulong callee_calls;
static atomic_int factory_result;
static atomic_ulong factory_threads_done;

/* Runs `rounds` iterations and returns 1000 + rounds; a negative count never returns. */
__attribute__((noipa)) int busy_loop(int rounds)
{
	if (rounds < 0) {
		for (;;)
			atomic_fetch_add_explicit(&spin_count, 1, memory_order_relaxed);
	}
	for (int i = 0; i < rounds; i++)
		atomic_fetch_add_explicit(&spin_count, 1, memory_order_relaxed);
	return 1000 + rounds;
}

__attribute__((noipa)) int short_callee(int x)
{
	if (x < 0)
		return 0;
	return x * 3 + 1;
}

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;

static void *idle_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_lock);
	for (;;)
		pthread_cond_wait(&idle_cond, &idle_lock);
	return NULL;
}

static atomic_int spinner_tid;

static void *spin_thread(void *arg)
{
	(void)arg;
	atomic_store(&spinner_tid, (int)gettid());
	busy_loop(-1);
	return NULL;
}

static void *callee_thread(void *arg)
{
	(void)arg;
	for (;;) {
		atomic_store_explicit(&callee_result, short_callee(7), memory_order_relaxed);
		atomic_fetch_add_explicit(&callee_calls, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *exit_thread(void *arg)
{
	long ms = (long)(intptr_t)arg;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
	_exit(0);
	return NULL;
}

static void *short_lived_thread(void *arg)
{
	(void)arg;
	atomic_store(&factory_result, short_callee(7));
	return NULL;
}

static void *factory_thread(void *arg)
{
	(void)arg;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, &attr, short_lived_thread, NULL)) {
			printf("factory: pthread_create failed\n");
			return NULL;
		}
		pthread_join(t, NULL);
		atomic_fetch_add(&factory_threads_done, 1);
	}
	return NULL;
}

static int start_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg)) {
		printf("pthread_create failed\n");
		return -1;
	}
	pthread_detach(t);
	return 0;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (start_thread(idle_thread, NULL))
		return 1;
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		int n;
		if (!strncmp(line, "spins", 5)) {
			printf("spins = %lu\n", atomic_load(&spin_count));
		} else if (!strncmp(line, "spin", 4)) {
			if (start_thread(spin_thread, NULL))
				continue;
			while (!atomic_load(&spinner_tid))
				usleep(1000);
			printf("spin tid = %d\n", atomic_load(&spinner_tid));
		} else if (sscanf(line, "busy %d", &n) == 1) {
			printf("busy %d = %d\n", n, busy_loop(n));
		} else if (!strncmp(line, "callee-result", 13)) {
			printf("callee-result = %d calls %lu\n", atomic_load(&callee_result),
			       atomic_load(&callee_calls));
		} else if (!strncmp(line, "callee", 6)) {
			if (!start_thread(callee_thread, NULL))
				printf("callee started\n");
		} else if (sscanf(line, "exit-after %d", &n) == 1) {
			if (!start_thread(exit_thread, (void *)(intptr_t)n))
				printf("exit in %d ms\n", n);
		} else if (!strncmp(line, "factory-result", 14)) {
			printf("factory-result = %d threads %lu\n", atomic_load(&factory_result),
			       atomic_load(&factory_threads_done));
		} else if (sscanf(line, "factory %d", &n) == 1) {
			int i;
			for (i = 0; i < n; i++)
				if (start_thread(factory_thread, NULL))
					break;
			printf("factory %d started\n", i);
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}
