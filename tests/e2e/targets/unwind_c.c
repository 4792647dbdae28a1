/*
 * Test target for unwinding through replaced C code.  It reads one request
 * per line on stdin and prints one reply line for each:
 *   "cancel"  starts a thread that calls wait_step() in a loop under a
 *             cleanup handler and cancels it once it is inside wait_step.
 *             The reply tells whether pthread_join returned
 *             PTHREAD_CANCELED and how many times the handler ran.
 *   "trace"   take_trace() fills an array with glibc's backtrace().  The
 *             reply tells whether a frame lies in main.
 *   "step"    calls wait_step() once.  The reply shows by how much it
 *             counted: 1 in this code and 2 in the replacement.
 * As unwind-c it is built with -fexceptions, so pthread_cleanup_push()
 * registers the handler as a cleanup that the unwinder runs (glibc's
 * pthread.h), and the cancellation has to unwind through wait_step to reach
 * it.  That build links libgcc_s.so.1.  As unwind-c-plain it is built
 * without, glibc reaches the handler with longjmp, and it loads
 * libgcc_s.so.1 only on the first cancel or trace.  Both builds use
 * -rdynamic, so that dladdr() can name main.
 */
#define _GNU_SOURCE /* dladdr() */
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

atomic_int steps_done;
atomic_int traces_taken;
static atomic_int handlers_run;

/* Counting after the call keeps usleep() from being a tail call, so this
 * function's frame is on the stack while the thread waits in usleep(). */
__attribute__((noipa)) void wait_step(void)
{
	usleep(1000); /* a cancellation point */
	steps_done++;
}

/* As in wait_step, the count keeps backtrace() from being a tail call. */
__attribute__((noipa)) int take_trace(void **frames, int max)
{
	int n = backtrace(frames, max);
	traces_taken++;
	return n;
}

static void count_handler(void *arg)
{
	(void)arg;
	handlers_run++;
}

static void *step_loop(void *arg)
{
	(void)arg;
	pthread_cleanup_push(count_handler, NULL);
	for (;;)
		wait_step();
	pthread_cleanup_pop(0);
	return NULL;
}

static void reply_cancel(void)
{
	int done = steps_done, handled = handlers_run;
	void *result = NULL;
	pthread_t thread;

	if (pthread_create(&thread, NULL, step_loop, NULL)) {
		printf("cancel failed: pthread_create\n");
		return;
	}
	/* After the first step the thread only waits inside wait_step. */
	while (steps_done == done)
		usleep(100);
	pthread_cancel(thread);
	pthread_join(thread, &result);
	printf("cancel joined %s, handler ran %d\n",
	       result == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "another value",
	       handlers_run - handled);
}

__attribute__((noipa)) static void reply_trace(void)
{
	void *frames[64];
	int n = take_trace(frames, 64);
	int reaches_main = 0;

	for (int i = 0; i < n; i++) {
		Dl_info info;
		if (dladdr(frames[i], &info) && info.dli_sname && !strcmp(info.dli_sname, "main"))
			reaches_main = 1;
	}
	printf("trace %d frames, reaches main %s\n", n, reaches_main ? "yes" : "no");
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "cancel", 6))
			reply_cancel();
		else if (!strncmp(line, "trace", 5))
			reply_trace();
		else if (!strncmp(line, "step", 4)) {
			int before = steps_done;
			wait_step();
			printf("step +%d\n", steps_done - before);
		}
		else
			printf("unknown request\n");
	}
	return 0;
}
