#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply/internal.h"
#include "apply/unwind_check.h"
#include "apply/load.h"
#include "apply/unwind.h"
#include "util/exitcode.h"
#include "util/fault.h"
#include "util/log.h"

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int engine_fail(struct engine_result *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	r->code = code;
	return code;
}

int engine_open(pid_t pid, struct process_state *ps, struct engine_result *r)
{
	if (!proc_exists(pid))
		return engine_fail(r, EXIT_NO_PROCESS, "no process with pid %d", (int)pid);
	proc_comm(pid, r->comm, sizeof(r->comm));
	int ret = pstate_load(pid, ps);
	if (ret == -ESRCH)
		return engine_fail(r, EXIT_NO_PROCESS, "process %d exited or is a zombie", (int)pid);
	if (ret == -EACCES || ret == -EPERM)
		return engine_fail(r, EXIT_PERMISSION,
				   "cannot access memory of process %d: %s; run suture as root or "
				   "with CAP_SYS_PTRACE", (int)pid, strerror(-ret));
	if (ret)
		return engine_fail(r, EXIT_INTERNAL, "failed to read process %d: %s", (int)pid,
				   strerror(-ret));
	return EXIT_OK;
}

int engine_seize(struct process_state *ps, struct thread_set *set, struct engine_result *r)
{
	int tracer = 0;
	int ret = threads_seize(set, ps->pid, &tracer);

	if (ret == -EBUSY)
		return engine_fail(r, EXIT_TRACED,
				   "process %d is already traced by process %d (a debugger?); "
				   "detach it and try again", (int)ps->pid, tracer);
	if (ret == -EPERM)
		return engine_fail(r, EXIT_PERMISSION,
				   "not allowed to ptrace process %d; run suture as root or with "
				   "CAP_SYS_PTRACE", (int)ps->pid);
	if (ret == -ESRCH)
		return engine_fail(r, EXIT_VANISHED, "process %d exited", (int)ps->pid);
	if (ret)
		return engine_fail(r, EXIT_INTERNAL, "failed to attach to process %d: %s",
				   (int)ps->pid, strerror(-ret));
	fault_point("seized");
	r->threads = (unsigned)set->count;
	return EXIT_OK;
}

size_t engine_pick_thread(const struct thread_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->threads[i].tid == set->pid && set->threads[i].state != THREAD_GONE)
			return i;
	for (size_t i = 0; i < set->count; i++)
		if (set->threads[i].state != THREAD_GONE)
			return i;
	return 0;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Report the busy thread.  Only apply can fall back on --allow-active. */
static int describe_busy(struct process_state *ps, const struct busy_report *b,
			 double seconds, unsigned attempts, int can_allow_active,
			 struct engine_result *r)
{
	return engine_fail(r, EXIT_BUSY,
			   "process %d thread %d %s %s (address 0x%" PRIx64 "); gave up after %u "
			   "checks in %.1f s; retry later%s",
			   (int)ps->pid, (int)b->tid,
			   b->on_stack ? "is due to return into" : "is executing", b->name, b->addr,
			   attempts, seconds,
			   can_allow_active ? ", raise --timeout, or use --allow-active if the "
			   "function never returns" : " or raise --timeout");
}

static int stop_when_safe(struct process_state *ps, struct thread_set *set,
			  const struct busy_range *ranges, size_t nranges,
			  const struct busy_range *sites, size_t nsites,
			  const struct engine_opts *o, struct engine_result *r, uint64_t *t0)
{
	uint64_t started = now_ns();
	uint64_t deadline = started + (uint64_t)(o->timeout_sec * 1e9);
	uint64_t backoff = 200000; /* 0.2 ms, doubled up to 20 ms */
	struct busy_report busy = { 0 };

	check_prepare(set->count);
	for (;;) {
		r->attempts++;
		*t0 = now_ns();
		int ret = threads_stop(set);
		if (ret == -ESRCH)
			return engine_fail(r, EXIT_VANISHED, "process %d exited while being patched",
					   (int)ps->pid);
		if (ret) {
			threads_resume(set);
			return engine_fail(r, EXIT_INTERNAL, "failed to stop the threads of process "
					   "%d: %s", (int)ps->pid, strerror(-ret));
		}
		r->threads = (unsigned)threads_live(set);
		uint64_t t_stopped = now_ns();
		ret = check_threads(ps, set, ranges, nranges, sites, nsites, o->allow_active, &busy);
		if (ret == -ENOENT) {
			/* A thread's stack is newer than our copy of the maps, and
			 * than the walker's module list if there is one, so that
			 * list is rebuilt now, inside the pause.  A prepared list
			 * stays prepared until the call returns, so the check
			 * returns CHECK_NEED_WALKER at most once per call. */
			if (unwind_check_ready(ps->pid))
				unwind_check_prepare(ps->pid);
			ret = pstate_reload(ps);
			if (!ret)
				ret = check_threads(ps, set, ranges, nranges, sites, nsites,
						    o->allow_active, &busy);
		}
		/* libgcc's lists may be written only while no thread holds their lock. */
		if (ret == 0 && ps->unwind_lock)
			ret = unwind_lock_busy(ps, set, ps->unwind_lock, &busy);
		r->stop_ns = t_stopped - *t0;
		r->check_ns = now_ns() - t_stopped;
		if (ret == 0)
			return EXIT_OK;
		threads_resume(set);
		if (ret == CHECK_NEED_WALKER) {
			/* Build the walker's module list with the threads running,
			 * then stop them again at once. */
			unwind_check_prepare(ps->pid);
			continue;
		}
		if (ret < 0)
			return engine_fail(r, EXIT_INTERNAL, "safety check of process %d failed: %s",
					   (int)ps->pid, strerror(-ret));
		if (now_ns() >= deadline)
			return describe_busy(ps, &busy, (now_ns() - started) / 1e9, r->attempts,
					     nsites > 0, r);
		sleep_ns(backoff + (uint64_t)(now_ns() % backoff));
		if (backoff < 20000000)
			backoff *= 2;
	}
}

int engine_stop_when_safe(struct process_state *ps, struct thread_set *set,
			  const struct busy_range *ranges, size_t nranges,
			  const struct busy_range *sites, size_t nsites,
			  const struct engine_opts *o, struct engine_result *r, uint64_t *t0)
{
	int code = stop_when_safe(ps, set, ranges, nranges, sites, nsites, o, r, t0);

	unwind_check_end();
	return code;
}

int engine_unmap(struct process_state *ps, struct thread_set *set, uint64_t start, uint64_t end)
{
	size_t i = engine_pick_thread(set);
	int ret = thread_stop(set, i);
	if (!ret)
		ret = target_munmap(ps, &set->threads[i], start, end - start);
	return ret;
}

int engine_write_unswitch(const struct process_state *ps, const struct applied_patch *ap)
{
	static const uint8_t off = 0;
	const struct record *rec = ap->rec;
	int ret = 0;

	for (uint32_t k = 0; k < rec->nfuncs && !ret; k++)
		ret = proc_mem_write(ps->memfd, rec->funcs[k].site, rec->funcs[k].stub_bytes, 5);
	if (!ret)
		ret = proc_mem_write(ps->memfd, ap->map_start + offsetof(struct record, switch_flag),
				     &off, 1);
	fault_point("flag-cleared");
	for (uint32_t k = 0; k < rec->nfuncs && !ret; k++)
		ret = proc_mem_write(ps->memfd, rec->funcs[k].site, rec->funcs[k].old_bytes, 5);
	return ret;
}

void engine_keep_mapping(struct process_state *ps, struct applied_patch *ap,
			 struct engine_result *r)
{
	uint32_t flags = ap->rec->flags | RECORD_FLAG_MAPPING_KEPT;

	proc_mem_write(ps->memfd, ap->map_start + offsetof(struct record, flags), &flags,
		       sizeof(flags));
	ap->rec->flags = flags;
	snprintf(r->recovery + strlen(r->recovery), sizeof(r->recovery) - strlen(r->recovery),
		 "%sthe original code is back, but the patch mapping at 0x%" PRIx64 " stays because "
		 "the process's seccomp filter forbids munmap", r->recovery[0] ? "; " : "",
		 ap->map_start);
}
