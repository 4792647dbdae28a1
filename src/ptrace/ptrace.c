#include "ptrace/ptrace.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"
#include "util/log.h"

/* Kernel-internal syscall restart codes, visible in rax at a stop. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

#define STOP_TIMEOUT_SEC 10

static volatile sig_atomic_t wait_timed_out;

static void on_wait_alarm(int sig)
{
	(void)sig;
	wait_timed_out = 1;
}

/*
 * Bound every blocking waitpid() by a timer: a thread that never reports a
 * stop (a kernel corner case such as a zombie group leader) must not hang
 * suture while the other threads of the target are held stopped.
 */
static void wait_timer_arm(int seconds)
{
	struct sigaction sa = { .sa_handler = on_wait_alarm };
	struct itimerval it = { .it_value = { .tv_sec = seconds } };

	wait_timed_out = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: waitpid returns EINTR */
	setitimer(ITIMER_REAL, &it, NULL);
}

static void wait_timer_disarm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Run suture at the lowest real-time priority while the threads of a big
 * process are stopped.  At normal priority, each thread it wakes to stop
 * or resume preempts it, so every ptrace call waits behind a context switch.
 * With few threads it is the other way round: a woken thread that cannot
 * preempt suture goes to another CPU, and waking an idle CPU costs more.
 * Measured on 2 CPUs: 1000 threads paused 17 ms at normal priority and
 * 13 ms at SCHED_FIFO, 1 thread 115 us and 175 us, and the two broke even
 * between 10 and 30 threads.  Without the privilege (EPERM), suture runs at
 * normal priority.
 */
#define PRIORITY_MIN_THREADS 16

static void priority_raise(struct thread_set *set)
{
	struct sched_param fifo = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };
	struct sched_param old;

	if (set->raised || set->count < PRIORITY_MIN_THREADS)
		return;
	set->saved_policy = sched_getscheduler(0);
	if (set->saved_policy < 0 || sched_getparam(0, &old) < 0)
		return;
	set->saved_priority = old.sched_priority;
	if (sched_setscheduler(0, SCHED_FIFO, &fifo) == 0)
		set->raised = 1;
	else
		log_debug("running the pause at normal priority: %s", strerror(errno));
}

static void priority_restore(struct thread_set *set)
{
	struct sched_param old = { .sched_priority = set->saved_priority };

	if (!set->raised)
		return;
	if (sched_setscheduler(0, set->saved_policy, &old) < 0)
		log_warn("failed to restore suture's scheduling policy: %s", strerror(errno));
	set->raised = 0;
}

static struct thread *find_thread(struct thread_set *set, pid_t tid)
{
	for (size_t lo = 0, hi = set->count; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->threads[mid].tid == tid)
			return &set->threads[mid];
		if (set->threads[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Insert keeping the array sorted by tid, so find_thread can bisect. */
static struct thread *add_thread(struct thread_set *set, pid_t tid)
{
	if (set->count == set->alloc) {
		size_t n = set->alloc ? set->alloc * 2 : 16;
		struct thread *grown = realloc(set->threads, n * sizeof(*grown));
		if (!grown)
			return NULL;
		set->threads = grown;
		set->alloc = n;
	}
	size_t at = set->count;
	while (at > 0 && set->threads[at - 1].tid > tid)
		at--;
	memmove(&set->threads[at + 1], &set->threads[at], (set->count - at) * sizeof(struct thread));
	set->count++;
	memset(&set->threads[at], 0, sizeof(struct thread));
	set->threads[at].tid = tid;
	set->threads[at].tgid = set->pid;
	set->threads[at].state = THREAD_RUNNING;
	return &set->threads[at];
}

static int thread_is_zombie(pid_t pid, pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close_paren = strrchr(buf, ')');
	return !close_paren || close_paren[1] == '\0' || close_paren[2] == 'Z' || close_paren[2] == 'X';
}

/* Seize threads listed in /proc that are not in the set yet; returns how many. */
static int seize_new_threads(struct thread_set *set, int *tracer)
{
	pid_t *tids;
	size_t n;
	int added = 0;

	int ret = proc_list_threads(set->pid, &tids, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (find_thread(set, tids[i]))
			continue;
		/* TRACESYSGOOD marks syscall-stops (SIGTRAP | 0x80), which
		 * injected system calls wait for. */
		if (ptrace(PTRACE_SEIZE, tids[i], 0, PTRACE_O_TRACESYSGOOD) == 0) {
			if (!add_thread(set, tids[i])) {
				ret = -ENOMEM;
				break;
			}
			added++;
			continue;
		}
		if (errno == ESRCH || thread_is_zombie(set->pid, tids[i]))
			continue; /* exited, or an exited group leader */
		if (errno == EPERM) {
			int tp = proc_tracer_pid(tids[i]);
			if (tp > 0 && tp != getpid()) {
				*tracer = tp;
				ret = -EBUSY;
			} else {
				ret = -EPERM;
			}
		} else {
			ret = -errno;
		}
		break;
	}
	free(tids);
	return ret < 0 ? ret : added;
}

int threads_seize(struct thread_set *set, pid_t pid, int *tracer)
{
	memset(set, 0, sizeof(*set));
	set->pid = pid;
	*tracer = 0;

	int ret = seize_new_threads(set, tracer);
	if (ret >= 0 && set->count == 0)
		ret = -ESRCH;
	if (ret < 0) {
		threads_detach(set);
		threads_free(set);
		set->pid = pid;
	}
	return ret < 0 ? ret : 0;
}

/* Record what waitpid reported for a thread. */
static void note_wait_status(struct thread *t, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->state = THREAD_GONE;
		return;
	}
	if (!WIFSTOPPED(status))
		return;

	int sig = WSTOPSIG(status);
	int event = status >> 16;
	t->state = THREAD_STOPPED;
	if (event == PTRACE_EVENT_STOP) {
		/* With PTRACE_SEIZE, a group-stop is reported as an event stop
		 * carrying the stop signal; an interrupt carries SIGTRAP. */
		t->group_stop = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
	} else if (event == 0) {
		/* Signal-delivery-stop: the signal is delivered when we resume
		 * or detach with it, so it is neither lost nor duplicated. */
		t->pending_sig = sig;
	}
}

static int read_regs(struct thread *t);

/*
 * Wait until the interrupted thread `t` reports its stop or its exit.  Its
 * registers are read right away, while the other threads are still stopping.
 */
static int wait_stop(struct thread *t)
{
	while (t->interrupted && t->state == THREAD_RUNNING) {
		int status;
		if (waitpid(t->tid, &status, __WALL) < 0) {
			if (errno == EINTR && !wait_timed_out)
				continue;
			if (errno == ECHILD) {
				t->state = THREAD_GONE;
				break;
			}
			return errno == EINTR ? -ETIMEDOUT : -errno;
		}
		note_wait_status(t, status);
	}
	t->interrupted = 0;
	return read_regs(t);
}

/*
 * Wait for each interrupted thread by its own tid.  Since Linux 6.1 a wait
 * for one pid looks at that task only, where waitpid(-1) walks the whole
 * list of tracees each time: quadratic in the number of threads.
 * The group leader goes last: when the process exits, the kernel reports
 * the leader's exit only after the tracer reaped every other thread.
 */
static int collect_stops(struct thread_set *set)
{
	struct thread *leader = NULL;
	int ret = 0;

	wait_timer_arm(STOP_TIMEOUT_SEC);
	for (size_t i = 0; i < set->count && !ret; i++) {
		if (set->threads[i].tid == set->pid)
			leader = &set->threads[i];
		else
			ret = wait_stop(&set->threads[i]);
	}
	if (!ret && leader)
		ret = wait_stop(leader);
	wait_timer_disarm();
	return ret;
}

static int interrupt_running(struct thread_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		struct thread *t = &set->threads[i];
		if (t->state != THREAD_RUNNING)
			continue;
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0) {
			if (errno != ESRCH)
				return -errno;
			t->state = THREAD_GONE;
			continue;
		}
		t->interrupted = 1;
	}
	return 0;
}

/*
 * Count the live threads of the group.  The kernel gives /proc/PID/task a
 * link count of 2 plus the number of threads, and one stat() of it costs
 * far less than reading the Threads: line of /proc/PID/status.
 */
static int thread_count(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (stat(path, &st) < 0 || st.st_nlink < 2)
		return -1;
	return (int)st.st_nlink - 2;
}

/*
 * System calls that fail with EINTR, rather than a restart code, when a
 * stop interrupts them, even without a signal handler (signal(7), section
 * "Interruption of system calls and library functions by stop signals").
 */
static int fails_on_stop(long long nr)
{
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_rt_sigtimedwait:
	case SYS_io_getevents:
	case SYS_io_pgetevents:
		return 1;
	default:
		return 0;
	}
}

/* True when the thread has an unblocked signal pending (its own or the group's). */
static int has_deliverable_signal(pid_t pid, pid_t tid)
{
	char path[80], line[128];
	unsigned long long own = 0, shared = 0, blocked = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "SigPnd: %llx", &own);
		sscanf(line, "ShdPnd: %llx", &shared);
		sscanf(line, "SigBlk: %llx", &blocked);
	}
	fclose(f);
	return ((own | shared) & ~blocked) != 0;
}

/*
 * Our stop made such a call fail with EINTR: rewind the thread so that it
 * makes the call again, as the kernel does for restartable calls.  Skipped
 * when a signal is about to be delivered, whose handler the program may
 * expect the EINTR for.  NOTE: a finite timeout starts again from its full
 * length, so the call may wait longer than asked, never shorter.
 */
static int undo_stop_eintr(struct thread *t)
{
	struct user_regs_struct *r = &t->regs;

	if ((long long)r->orig_rax < 0 || (long long)r->rax != -EINTR ||
	    !fails_on_stop((long long)r->orig_rax) || has_deliverable_signal(t->tgid, t->tid))
		return 0;
	r->rax = r->orig_rax;
	r->rip -= 2;
	r->orig_rax = (unsigned long long)-1;
	return ptrace(PTRACE_SETREGS, t->tid, 0, r) < 0 ? -errno : 0;
}

/*
 * Read the registers of a thread that has just stopped.  This is its only
 * stop since it last ran, so a call that failed with EINTR failed because of
 * this stop, and undo_stop_eintr rewinds it.
 */
static int read_regs(struct thread *t)
{
	if (t->state != THREAD_STOPPED || t->regs_read)
		return 0;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) < 0 || undo_stop_eintr(t) < 0) {
		if (errno != ESRCH)
			return -errno;
		t->state = THREAD_GONE;
		return 0;
	}
	t->regs_read = 1;
	return 0;
}

int threads_stop(struct thread_set *set)
{
	int tracer, ret;

	priority_raise(set);
	/* Repeat until no thread appears: a thread created while the others
	 * were being stopped is seized and stopped in the next round. */
	do {
		ret = interrupt_running(set);
		if (!ret)
			ret = collect_stops(set);
		if (ret)
			return ret;
		if (thread_count(set->pid) == (int)threads_live(set))
			break;
		ret = seize_new_threads(set, &tracer);
		if (ret == -ESRCH)
			break;
		if (ret < 0)
			return ret;
	} while (ret > 0);

	return threads_live(set) ? 0 : -ESRCH;
}

int thread_stop(struct thread_set *set, size_t i)
{
	struct thread *t = &set->threads[i];

	for (int round = 0; round < 8; round++) {
		if (t->state == THREAD_RUNNING) {
			if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0) {
				t->state = THREAD_GONE;
				return -ESRCH;
			}
			t->interrupted = 1;
			int ret = collect_stops(set);
			if (ret)
				return ret;
		}
		if (t->state == THREAD_GONE)
			return -ESRCH;
		if (!t->pending_sig)
			break;
		/* Let the signal go through, then take the interrupt stop. */
		int sig = t->pending_sig;
		t->pending_sig = 0;
		t->state = THREAD_RUNNING;
		t->regs_read = 0;
		if (ptrace(PTRACE_CONT, t->tid, 0, sig) < 0)
			return -errno;
	}
	if (t->pending_sig)
		return -EAGAIN;
	int ret = read_regs(t);
	if (ret)
		return ret;
	return t->state == THREAD_STOPPED ? 0 : -ESRCH;
}

void threads_resume(struct thread_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		struct thread *t = &set->threads[i];
		if (t->state != THREAD_STOPPED)
			continue;
		/* PTRACE_LISTEN keeps a job-control-stopped thread stopped. */
		long r = t->group_stop ? ptrace(PTRACE_LISTEN, t->tid, 0, 0)
				       : ptrace(PTRACE_CONT, t->tid, 0, t->pending_sig);
		t->state = r < 0 && errno == ESRCH ? THREAD_GONE : THREAD_RUNNING;
		t->regs_read = 0;
		t->pending_sig = 0;
		t->group_stop = 0;
	}
	priority_restore(set);
}

void threads_detach(struct thread_set *set)
{
	/* PTRACE_DETACH needs a stopped tracee, so stop the running ones first.
	 * Collecting their stops also rewinds the calls these stops broke. */
	if (interrupt_running(set) == 0)
		collect_stops(set);
	for (size_t i = 0; i < set->count; i++) {
		struct thread *t = &set->threads[i];
		if (t->state == THREAD_GONE)
			continue;
		if (ptrace(PTRACE_DETACH, t->tid, 0, t->pending_sig) < 0 && errno != ESRCH)
			log_warn("failed to detach from thread %d of process %d: %s", (int)t->tid,
				 (int)set->pid, strerror(errno));
		t->state = THREAD_GONE;
	}
	priority_restore(set);
}

void threads_detach_others(struct thread_set *set, size_t keep)
{
	for (size_t i = 0; i < set->count; i++) {
		struct thread *t = &set->threads[i];
		if (i == keep || t->state != THREAD_STOPPED)
			continue;
		ptrace(PTRACE_DETACH, t->tid, 0, t->pending_sig);
		t->state = THREAD_GONE; /* no longer ours */
	}
	priority_restore(set);
}

void threads_free(struct thread_set *set)
{
	priority_restore(set);
	free(set->threads);
	memset(set, 0, sizeof(*set));
}

size_t threads_live(const struct thread_set *set)
{
	size_t n = 0;
	for (size_t i = 0; i < set->count; i++)
		n += set->threads[i].state != THREAD_GONE;
	return n;
}
