/*
 * Stopping, inspecting and resuming every thread of a process with
 * PTRACE_SEIZE/PTRACE_INTERRUPT, and running single system calls in a
 * stopped thread without executing any of the target's own code.
 */
#ifndef SUTURE_PTRACE_H
#define SUTURE_PTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

enum thread_state {
	THREAD_RUNNING, /* seized, not stopped */
	THREAD_STOPPED, /* in a ptrace-stop */
	THREAD_GONE,    /* exited */
};

struct thread {
	pid_t tid;
	pid_t tgid;
	enum thread_state state;
	int pending_sig;  /* stopped in signal-delivery-stop for this signal */
	int group_stop;   /* stopped by job control (SIGSTOP and friends) */
	int interrupted;  /* PTRACE_INTERRUPT sent, stop not collected yet */
	int regs_read;    /* regs hold this stop's registers */
	struct user_regs_struct regs;
};

struct thread_set {
	pid_t pid;
	struct thread *threads;
	size_t count, alloc;
	int raised;       /* suture runs at SCHED_FIFO while the threads are stopped */
	int saved_policy; /* suture's own scheduling policy and priority before that */
	int saved_priority;
};

/*
 * Seize every thread of `pid` (no stop).  Returns 0, -ESRCH (no such
 * process), -EBUSY (already traced by another tracer, *tracer set), -EPERM.
 */
int threads_seize(struct thread_set *set, pid_t pid, int *tracer);

/*
 * Stop every seized thread and seize threads created meanwhile, then read
 * each thread's registers.  Returns 0, or -ESRCH when the whole process
 * exited; threads that exit on the way are marked THREAD_GONE.
 */
int threads_stop(struct thread_set *set);

/* Stop one thread (index `i`) that is not in signal-delivery-stop. */
int thread_stop(struct thread_set *set, size_t i);

/* Let every stopped thread run again, still seized. */
void threads_resume(struct thread_set *set);

/* Detach from every thread; stopped ones resume as they were. */
void threads_detach(struct thread_set *set);

/* Detach every stopped thread but the one at index `keep`, which stays stopped. */
void threads_detach_others(struct thread_set *set, size_t keep);

void threads_free(struct thread_set *set);

size_t threads_live(const struct thread_set *set);

/*
 * A few bytes of executable memory that no code of the target uses (the
 * tail of the last page of an executable segment), where suture writes a
 * `syscall` instruction followed by code that restores the thread's own
 * registers and jumps back to where it was.  If suture dies while the thread
 * is redirected there, the kernel detaches the thread, which then performs
 * the call and returns to its own code with its own registers.
 */
#define INJECT_SITE_SIZE 176

struct inject_site {
	uint64_t addr;
	uint8_t saved[INJECT_SITE_SIZE]; /* original bytes, put back by inject_site_release */
	int memfd;
	uint64_t string_addr; /* INJECT_STRING_MAX bytes after the code, for path arguments */
	struct thread *held;  /* thread left after its last call, still at the site */
};

#define INJECT_STRING_MAX 48

int inject_site_claim(struct inject_site *site, int memfd, uint64_t addr);
int inject_site_release(struct inject_site *site);
int inject_site_set_string(struct inject_site *site, const char *s);

/*
 * Run system call `nr` with `args` in stopped thread `t`.  *result is the
 * raw return value (negative errno on failure).  Returns 0, or -ESRCH if
 * the thread exited.  Between calls on the same site the thread waits at
 * the site, whose code would restore its registers if suture died;
 * inject_site_release() or a call in another thread puts it back into a
 * plain stop with t->regs, its registers from before the first call.
 */
int inject_syscall(struct thread *t, struct inject_site *site, long nr,
		   const uint64_t args[6], int64_t *result);

#endif
