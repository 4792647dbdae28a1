#include "apply/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* Deeper stacks are read in chunks of this size. */
#define STACK_CHUNK (256 * 1024)

static const struct busy_range *hit(const struct busy_range *ranges, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = ranges[i].entry_ok ? ranges[i].lo + 1 : ranges[i].lo;
		if (addr >= lo && addr < ranges[i].hi)
			return &ranges[i];
	}
	return NULL;
}

/*
 * LIMITATION: the scan is conservative, not an unwind: any word on the live
 * stack that points inside a replaced function counts, so a stale spill of
 * such an address makes the check retry until --timeout.  Frames of a thread
 * running a handler on a sigaltstack are only seen on the alternate stack.
 */
static int scan_stack(const struct process_state *ps, const struct thread *t,
		      const struct busy_range *ranges, size_t n, struct busy_report *report)
{
	uint64_t rsp = t->regs.rsp & ~7ULL;
	uint64_t span_lo = UINT64_MAX, span_hi = 0;

	for (size_t i = 0; i < n; i++) {
		if (ranges[i].lo < span_lo)
			span_lo = ranges[i].lo;
		if (ranges[i].hi > span_hi)
			span_hi = ranges[i].hi;
	}
	span_lo = span_lo ? span_lo - 1 : 0;
	const struct proc_map *m = proc_maps_find(&ps->maps, rsp);
	if (!m)
		return -ENOENT; /* stack not in the mapping list read earlier */

	/* One buffer for all threads: a fresh allocation per thread costs an
	 * mmap and page faults inside the pause. */
	static uint64_t *buf;
	if (!buf && !(buf = malloc(STACK_CHUNK)))
		return -ENOMEM;
	int ret = 0;
	for (uint64_t at = rsp; at < m->end && !ret;) {
		size_t len = m->end - at > STACK_CHUNK ? STACK_CHUNK : (size_t)(m->end - at);
		/* process_vm_readv is cheaper than /proc/PID/mem, and stacks are
		 * readable mappings, so FOLL_FORCE is not needed here. */
		struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)at, len };
		if (process_vm_readv(ps->pid, &local, 1, &remote, 1, 0) != (ssize_t)len &&
		    proc_mem_read(ps->memfd, at, buf, len)) {
			ret = -EIO;
			break;
		}
		for (size_t w = 0; w < len / 8; w++) {
			if (buf[w] <= span_lo || buf[w] >= span_hi)
				continue; /* outside every range: most words */
			const struct busy_range *r = hit(ranges, n, buf[w]);
			if (r) {
				report->tid = t->tid;
				report->name = r->name;
				report->addr = buf[w];
				report->on_stack = 1;
				ret = 1;
				break;
			}
		}
		at += len;
	}
	return ret;
}

int check_threads(const struct process_state *ps, const struct thread_set *set,
		  const struct busy_range *ranges, size_t nranges,
		  const struct busy_range *jump_sites, size_t nsites, int allow_active,
		  struct busy_report *report)
{
	const struct busy_range *check = allow_active ? jump_sites : ranges;
	size_t ncheck = allow_active ? nsites : nranges;

	for (size_t i = 0; i < set->count; i++) {
		const struct thread *t = &set->threads[i];
		if (t->state != THREAD_STOPPED)
			continue;
		const struct busy_range *r = hit(check, ncheck, t->regs.rip);
		if (r) {
			report->tid = t->tid;
			report->name = r->name;
			report->addr = t->regs.rip;
			report->on_stack = 0;
			return 1;
		}
		int ret = scan_stack(ps, t, check, ncheck, report);
		if (ret)
			return ret;
	}
	return 0;
}
