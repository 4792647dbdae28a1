/* Reading a live process through /proc: mappings, threads, memory. */
#ifndef SUTURE_PROC_H
#define SUTURE_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
	uint64_t start, end;
	uint64_t offset;
	unsigned prot;        /* PROT_READ | PROT_WRITE | PROT_EXEC */
	int shared;           /* 's' rather than 'p' */
	uint64_t inode;
	unsigned dev_major, dev_minor;
	int deleted;          /* path ended in " (deleted)" (suffix removed) */
	char *path;           /* NULL for anonymous mappings */
};

struct proc_maps {
	struct proc_map *maps;
	size_t count;
};

int proc_read_maps(pid_t pid, struct proc_maps *out);
void proc_maps_free(struct proc_maps *m);
const struct proc_map *proc_maps_find(const struct proc_maps *m, uint64_t addr);

/* Thread ids of `pid` from /proc/PID/task, sorted ascending. */
int proc_list_threads(pid_t pid, pid_t **tids, size_t *count);

/* Short command name (/proc/PID/comm) into buf; "?" when unreadable. */
void proc_comm(pid_t pid, char *buf, size_t len);

/* TracerPid from /proc/PID/status, or a negative errno. */
int proc_tracer_pid(pid_t pid);

/* Seccomp mode from /proc/PID/status (0, 1 strict, 2 filter), or negative errno. */
int proc_seccomp_mode(pid_t pid);

int proc_exists(pid_t pid);

/*
 * Memory access through /proc/PID/mem.  Writes go through FOLL_FORCE, so they
 * reach read-only and executable private mappings (as a debugger's breakpoints
 * do) without changing their protection.  The caller must be allowed to ptrace
 * the process.  A write of up to one page that does not cross a page boundary
 * is a single copy in the kernel.
 */
int proc_mem_open(pid_t pid);
int proc_mem_read(int memfd, uint64_t addr, void *buf, size_t len);
int proc_mem_write(int memfd, uint64_t addr, const void *buf, size_t len);

#endif
