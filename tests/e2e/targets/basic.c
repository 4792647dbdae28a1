/*
 * Test target: answers requests read from stdin, one per line, with the
 * result of functions a test replaces.  "threads N" starts N idle threads.
 * Reading stdin blocks in read(2), so every patch hits a blocked syscall.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x)
{
	if (x < 0)
		return -1;
	return x + 1;
}

/* Three bytes at -O2 (xor eax, eax; ret): shorter than a jump. */
__attribute__((noipa)) int tiny(void)
{
	return 0;
}

__attribute__((noipa)) const char *greeting(void)
{
	return "hello";
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

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		int n;
		if (sscanf(line, "compute %d", &n) == 1) {
			printf("compute %d = %d\n", n, compute(n));
		} else if (!strncmp(line, "tiny", 4)) {
			printf("tiny = %d\n", tiny());
		} else if (!strncmp(line, "greeting", 8)) {
			printf("greeting = %s\n", greeting());
		} else if (sscanf(line, "threads %d", &n) == 1) {
			pthread_attr_t attr;
			pthread_attr_init(&attr);
			pthread_attr_setstacksize(&attr, 64 * 1024);
			for (int i = 0; i < n; i++) {
				pthread_t t;
				if (pthread_create(&t, &attr, idle_thread, NULL)) {
					printf("threads failed at %d\n", i);
					break;
				}
			}
			printf("threads %d started\n", n);
		} else if (!strncmp(line, "exit", 4)) {
			break;
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}
