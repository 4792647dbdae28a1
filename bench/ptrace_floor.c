/*
 * `ptrace-floor PID ROUNDS`: measure the least a ptrace-based stop of every
 * thread can cost on this machine.  Each round seizes every thread of PID.
 * Then it times only the calls that any such patcher makes inside its pause.
 * These are PTRACE_INTERRUPT, a wait for the stop, PTRACE_GETREGS (a safety
 * check needs at least rip and rsp) and PTRACE_DETACH, for each thread.
 * From 16 threads on it runs at SCHED_FIFO, as suture does during the pause.
 * Between rounds the threads fall asleep again, as between two commands.
 * Prints the median, minimum and maximum of the rounds, in microseconds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* List the thread ids of pid from /proc. Returns how many, or -1. */
static int list_threads(int pid, int **tids)
{
	char path[64];
	struct dirent *e;
	int n = 0, cap = 64;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	*tids = malloc(cap * sizeof(**tids));
	if (!d || !*tids)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			int *grown = realloc(*tids, 2 * cap * sizeof(*grown));
			if (!grown)
				return -1;
			*tids = grown;
			cap *= 2;
		}
		(*tids)[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

/* Run one round. Returns its pause in microseconds, or -1 if a call failed. */
static double one_round(const int *tids, int n)
{
	struct user_regs_struct regs;
	int status;

	for (int i = 0; i < n; i++)
		if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) < 0)
			return -1;
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		ptrace(PTRACE_INTERRUPT, tids[i], 0, 0);
	for (int i = 0; i < n; i++)
		if (waitpid(tids[i], &status, __WALL) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		ptrace(PTRACE_GETREGS, tids[i], 0, &regs);
	for (int i = 0; i < n; i++)
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
	return now_us() - t0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ptrace-floor PID ROUNDS\n");
		return 2;
	}
	int pid = atoi(argv[1]), rounds = atoi(argv[2]);
	int *tids;
	int n = list_threads(pid, &tids);
	double *us = calloc(rounds > 0 ? rounds : 1, sizeof(*us));
	struct sched_param fifo = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

	if (n <= 0 || rounds <= 0 || !us) {
		fprintf(stderr, "ptrace-floor: failed to list the threads of process %d; check the pid\n", pid);
		return 1;
	}
	/* The same rule as suture's (PRIORITY_MIN_THREADS in src/ptrace/ptrace.c). */
	if (n >= 16 && sched_setscheduler(0, SCHED_FIFO, &fifo) < 0)
		fprintf(stderr, "ptrace-floor: running at normal priority: %s\n", strerror(errno));
	for (int r = 0; r < rounds; r++) {
		/* Let the threads fall asleep again and the CPUs go idle, as
		 * between two suture commands. */
		usleep(50000);
		us[r] = one_round(tids, n);
		if (us[r] < 0) {
			fprintf(stderr, "ptrace-floor: ptrace on process %d failed: %s; run as root\n", pid,
				strerror(errno));
			return 1;
		}
	}
	qsort(us, rounds, sizeof(*us), by_value);
	printf("%.1f %.1f %.1f\n", rounds % 2 ? us[rounds / 2] : (us[rounds / 2 - 1] + us[rounds / 2]) / 2,
	       us[0], us[rounds - 1]);
	return 0;
}
