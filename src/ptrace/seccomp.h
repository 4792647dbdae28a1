/*
 * Evaluation of a stopped thread's seccomp filters on a system call, so that
 * suture never injects a call for which the filter returns SECCOMP_RET_KILL
 * (or anything but ALLOW).
 */
#ifndef SUTURE_SECCOMP_H
#define SUTURE_SECCOMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct seccomp_filters {
	size_t count;
	struct sock_filter **progs;
	size_t *lengths;
};

/*
 * Read the filters of stopped thread `tid` (PTRACE_SECCOMP_GET_FILTER,
 * needs CAP_SYS_ADMIN).  Returns 0, or a negative errno.
 */
int seccomp_filters_read(pid_t tid, struct seccomp_filters *out);
void seccomp_filters_free(struct seccomp_filters *f);

/*
 * Run every filter on the call, as the kernel does, and return the action
 * that wins (SECCOMP_RET_ALLOW when the call would run normally).
 */
uint32_t seccomp_filters_evaluate(const struct seccomp_filters *f, long nr,
				  const uint64_t args[6], uint64_t ip);

#endif
