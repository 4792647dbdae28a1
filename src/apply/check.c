#include "apply/check.h"
#include "apply/unwind_check.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static const struct busy_range *hit(const struct busy_range *ranges, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = ranges[i].entry_ok ? ranges[i].lo + 1 : ranges[i].lo;
		if (addr >= lo && addr < ranges[i].hi)
			return &ranges[i];
	}
	return NULL;
}

struct span {
	uint64_t lo, hi; /* every range lies inside (lo, hi) */
};

static struct span ranges_span(const struct busy_range *ranges, size_t n)
{
	struct span sp = { UINT64_MAX, 0 };

	for (size_t i = 0; i < n; i++) {
		if (ranges[i].lo < sp.lo)
			sp.lo = ranges[i].lo;
		if (ranges[i].hi > sp.hi)
			sp.hi = ranges[i].hi;
	}
	sp.lo = sp.lo ? sp.lo - 1 : 0;
	return sp;
}

/* Look for a word pointing into a range; returns 1 and fills report on a hit. */
static int scan_words(const uint64_t *words, size_t count, struct span sp,
		      const struct busy_range *ranges, size_t n, const struct thread *t,
		      struct busy_report *report)
{
	for (size_t w = 0; w < count; w++) {
		if (words[w] <= sp.lo || words[w] >= sp.hi)
			continue; /* outside every range: most words */
		const struct busy_range *r = hit(ranges, n, words[w]);
		if (r) {
			report->tid = t->tid;
			report->name = r->name;
			report->addr = words[w];
			report->on_stack = 1;
			return 1;
		}
	}
	return 0;
}

/*
 * The scan is conservative: any word on the live stack that points inside a
 * replaced function counts.  A thread it flags is walked exactly with its
 * CFI (unwind_check.c).  Only when that walk cannot finish does a stale
 * copy of such an address keep the patch out until --timeout.
 *
 * Stacks are read in batches: one process_vm_readv() takes up to
 * BATCH_IOVS threads' stacks, which matters inside the pause when a process
 * has a thousand threads.  A stack deeper than BATCH_SLICE bytes is read in
 * chunks of STACK_CHUNK for the rest.  From PARALLEL_MIN_THREADS threads on,
 * a second thread of suture reads and scans half of the stacks.
 */
#define BATCH_IOVS 512
#define BATCH_SLICE (16 * 1024)
#define STACK_CHUNK (256 * 1024)
#define PARALLEL_MIN_THREADS 128

struct stack_piece {
	const struct thread *t;
	uint64_t at, end;          /* live part of the stack: [rsp, end of its mapping) */
	size_t len;                /* bytes read in the batch */
	int elsewhere;             /* rsp is not on the thread's own stack */
	uint64_t tcb;              /* the read ends with the thread's control block here, or 0 */
	int verdict;               /* of the scan: 0 clean, 1 hit, or a negative errno */
	struct busy_report report; /* the hit */
};

/* The buffers of one scanning thread. */
struct scanner {
	uint64_t *batch; /* BATCH_IOVS * BATCH_SLICE bytes */
	uint64_t *chunk; /* STACK_CHUNK bytes */
	struct iovec local[BATCH_IOVS], remote[BATCH_IOVS];
};

struct scan_job {
	const struct process_state *ps;
	struct scanner *scanner;
	struct stack_piece *pieces;
	size_t n;
	const struct busy_range *ranges;
	size_t nranges;
};

static struct scanner scanners[2];

/*
 * True when rsp lies on the thread's own stack: the process's main stack,
 * or a thread stack, which glibc ends with the thread's control block that
 * fs_base points to.  Anywhere else (a sigaltstack, a coroutine's stack),
 * the frames the thread returns to later may lie on another mapping.
 * NOTE: an alternate stack carved out of the thread's own stack mapping
 * counts as its own stack, so only the part above rsp is scanned.
 */
static int on_own_stack(const struct proc_map *m, const struct thread *t)
{
	if (m->path && !strcmp(m->path, "[stack]"))
		return 1;
	return t->regs.fs_base > t->regs.rsp && t->regs.fs_base < m->end;
}

/*
 * Walk the frames of a thread on another stack whose scan found nothing.
 * The exact walk follows signal frames back to the interrupted stack.
 */
static int check_elsewhere(const struct process_state *ps, const struct stack_piece *pc,
			   const struct busy_range *ranges, size_t nranges,
			   struct busy_report *report)
{
	int ret = unwind_check_thread(ps->pid, pc->t->tid, ranges, nranges, report);

	if (ret >= 0)
		return ret;
	/* NOTE: frames beyond where the walk stopped stay unchecked. */
	log_warn("process %d thread %d runs on a stack other than its own, and walking its frames "
		 "failed; frames on its own stack are not checked",
		 (int)ps->pid, (int)pc->t->tid);
	return 0;
}

static int scan_rest(const struct scan_job *job, struct stack_piece *pc, uint64_t at)
{
	struct span sp = ranges_span(job->ranges, job->nranges);
	uint64_t *buf = job->scanner->chunk;

	while (at < pc->end) {
		size_t len = pc->end - at > STACK_CHUNK ? STACK_CHUNK : (size_t)(pc->end - at);
		struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)at, len };
		if (process_vm_readv(job->ps->pid, &local, 1, &remote, 1, 0) != (ssize_t)len &&
		    proc_mem_read(job->ps->memfd, at, buf, len))
			return -EIO;
		if (scan_words(buf, len / 8, sp, job->ranges, job->nranges, pc->t, &pc->report))
			return 1;
		at += len;
	}
	return 0;
}

/* Scan the stack of every piece of the job and record each verdict. */
static void scan_pieces(const struct scan_job *job)
{
	struct scanner *sc = job->scanner;
	struct span sp = ranges_span(job->ranges, job->nranges);

	for (size_t first = 0; first < job->n; first += BATCH_IOVS) {
		size_t n = job->n - first < BATCH_IOVS ? job->n - first : BATCH_IOVS;
		struct stack_piece *pieces = job->pieces + first;
		size_t total = 0;

		for (size_t i = 0; i < n; i++) {
			sc->local[i] = (struct iovec){ (char *)sc->batch + total, pieces[i].len };
			sc->remote[i] = (struct iovec){ (void *)(uintptr_t)pieces[i].at, pieces[i].len };
			total += pieces[i].len;
		}
		int whole = process_vm_readv(job->ps->pid, sc->local, n, sc->remote, n, 0) ==
			    (ssize_t)total;
		for (size_t i = 0; i < n; i++) {
			struct stack_piece *pc = &pieces[i];
			const uint64_t *words = sc->local[i].iov_base;
			size_t nwords = pc->len / 8;
			/* glibc's control block starts with pointers to itself at
			 * offsets 0 and 16: only its own data lies above it. */
			int tcb = whole && pc->tcb && nwords >= 3 && words[nwords - 3] == pc->tcb &&
				  words[nwords - 1] == pc->tcb;
			if (whole)
				pc->verdict = scan_words(words, tcb ? nwords - 3 : nwords, sp,
							 job->ranges, job->nranges, pc->t,
							 &pc->report);
			else
				pc->verdict = scan_rest(job, pc, pc->at);
			if (whole && !tcb && !pc->verdict && pc->at + pc->len < pc->end)
				pc->verdict = scan_rest(job, pc, pc->at + pc->len);
		}
	}
}

static void *scan_thread(void *arg)
{
	scan_pieces(arg);
	return NULL;
}

/* Scan all pieces, half of them on a second thread when there are many. */
static void scan_all(const struct process_state *ps, struct stack_piece *pieces, size_t n,
		     const struct busy_range *ranges, size_t nranges)
{
	struct scan_job own = { ps, &scanners[0], pieces, n, ranges, nranges };
	struct scan_job other = own;
	pthread_t helper;

	if (n < PARALLEL_MIN_THREADS || !scanners[1].batch) {
		scan_pieces(&own);
		return;
	}
	own.n = n / 2;
	other.scanner = &scanners[1];
	other.pieces = pieces + own.n;
	other.n = n - own.n;
	if (pthread_create(&helper, NULL, scan_thread, &other) != 0) {
		own.n = n;
		scan_pieces(&own);
		return;
	}
	scan_pieces(&own);
	pthread_join(helper, NULL);
}

static int scanner_prepare(struct scanner *sc, size_t threads)
{
	size_t slices = threads < BATCH_IOVS ? threads : BATCH_IOVS;

	if (!sc->batch && !(sc->batch = malloc((size_t)BATCH_IOVS * BATCH_SLICE)))
		return -ENOMEM;
	if (!sc->chunk && !(sc->chunk = malloc(STACK_CHUNK)))
		return -ENOMEM;
	/* Fault the pages in now rather than inside the pause. */
	memset(sc->batch, 0, slices * BATCH_SLICE);
	return 0;
}

int check_prepare(size_t threads)
{
	int ret = scanner_prepare(&scanners[0], threads);

	if (!ret && threads >= PARALLEL_MIN_THREADS && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		ret = scanner_prepare(&scanners[1], (threads + 1) / 2);
	return ret;
}

/* Decide on one scanned thread, walking its frames exactly where the scan cannot decide. */
static int settle(const struct process_state *ps, struct stack_piece *pc,
		  const struct busy_range *ranges, size_t nranges, struct busy_report *report)
{
	if (pc->verdict < 0)
		return pc->verdict;
	if (pc->verdict == 0 && !pc->elsewhere)
		return 0;
	/* A walk is due: its module list is built with the threads running. */
	if (!unwind_check_ready(ps->pid))
		return CHECK_NEED_WALKER;
	if (pc->verdict == 0)
		return check_elsewhere(ps, pc, ranges, nranges, report);
	/* A word that looks like a return address may be a stale copy: an
	 * exact walk of the frames can clear the thread. */
	int walked = unwind_check_thread(ps->pid, pc->t->tid, ranges, nranges, report);
	if (walked == 0)
		return 0;
	if (walked < 0)
		*report = pc->report;
	return 1;
}

static int check_pass(const struct process_state *ps, const struct thread_set *set,
		      const struct busy_range *ranges, size_t nranges,
		      const struct busy_range *jump_sites, size_t nsites, int allow_active,
		      struct busy_report *report)
{
	const struct busy_range *check = allow_active ? jump_sites : ranges;
	size_t ncheck = allow_active ? nsites : nranges;
	static struct stack_piece *pieces;
	static size_t capacity;
	size_t n = 0;

	if (set->count > capacity) {
		struct stack_piece *grown = realloc(pieces, set->count * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		pieces = grown;
		capacity = set->count;
	}
	if (check_prepare(0))
		return -ENOMEM;
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
		uint64_t rsp = t->regs.rsp & ~7ULL;
		const struct proc_map *m = proc_maps_find(&ps->maps, rsp);
		if (!m)
			return -ENOENT; /* stack not in the mapping list read earlier */
		uint64_t len = m->end - rsp;
		/* The frames of a glibc thread end below its control block, at
		 * fs_base near the top of its stack mapping: read up to the first
		 * words of the block, whose self pointers scan_pieces checks. */
		uint64_t tcb = t->regs.fs_base;
		if (tcb > rsp && tcb % 8 == 0 && tcb + 24 <= m->end && tcb + 24 - rsp <= BATCH_SLICE)
			len = tcb + 24 - rsp;
		else
			tcb = 0;
		pieces[n++] = (struct stack_piece){ .t = t, .at = rsp, .end = m->end,
			.len = (size_t)(len > BATCH_SLICE ? BATCH_SLICE : len),
			.elsewhere = !on_own_stack(m, t), .tcb = tcb };
	}
	scan_all(ps, pieces, n, check, ncheck);
	for (size_t i = 0; i < n; i++) {
		int ret = settle(ps, &pieces[i], check, ncheck, report);
		if (ret)
			return ret;
	}
	return 0;
}

int check_threads(const struct process_state *ps, const struct thread_set *set,
		  const struct busy_range *ranges, size_t nranges,
		  const struct busy_range *jump_sites, size_t nsites, int allow_active,
		  struct busy_report *report)
{
	return check_pass(ps, set, ranges, nranges, jump_sites, nsites, allow_active, report);
}
