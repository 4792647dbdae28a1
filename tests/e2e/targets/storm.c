/*
 * Test target: 16 threads call malloc and free in a tight loop, so the
 * allocator's locks are taken all the time.  The size of each allocation
 * comes from pick_size(), the function the tests replace.  Requests on stdin:
 *   counts    the 16 per-thread loop counters, space-separated
 *   pick N    the result of pick_size(N) on the main thread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORM_THREADS 16
/* Above glibc's default tcache limit (1032 bytes) and below its default mmap
 * threshold (128 KiB), so each such block comes from an arena under its lock. */
#define LARGE_SIZE (64 * 1024)

__attribute__((noipa)) size_t pick_size(unsigned i)
{
	return 16 + (i * 7) % 200;
}

/* One counter per cache line, so the threads do not slow each other down. */
static struct {
	atomic_ulong count;
	char pad[64 - sizeof(atomic_ulong)];
} counters[STORM_THREADS];

static void *storm_thread(void *arg)
{
	size_t index = (size_t)(uintptr_t)arg;
	for (unsigned i = 0;; i++) {
		size_t size = i % 16 == 0 ? LARGE_SIZE : pick_size(i);
		char *p = malloc(size);
		if (!p) {
			fprintf(stderr, "storm: malloc(%zu) failed\n", size);
			abort();
		}
		p[0] = (char)i;
		p[size - 1] = (char)i;
		free(p);
		atomic_fetch_add_explicit(&counters[index].count, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < STORM_THREADS; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, storm_thread, (void *)(uintptr_t)i)) {
			fprintf(stderr, "storm: pthread_create failed\n");
			return 1;
		}
	}
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		unsigned n;
		if (!strncmp(line, "counts", 6)) {
			printf("counts =");
			for (size_t i = 0; i < STORM_THREADS; i++)
				printf(" %lu", atomic_load(&counters[i].count));
			printf("\n");
		} else if (sscanf(line, "pick %u", &n) == 1) {
			printf("pick %u = %zu\n", n, pick_size(n));
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}
