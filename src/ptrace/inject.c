#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"
#include "ptrace/ptrace.h"
#include "util/fault.h"

/* Kernel-internal syscall restart codes, visible in rax at a ptrace-stop. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

#define INJECT_CODE_MAX 128

static int park(struct thread *t, struct user_regs_struct *regs, int sig);

int inject_site_claim(struct inject_site *site, int memfd, uint64_t addr)
{
	site->addr = addr;
	site->memfd = memfd;
	site->string_addr = addr + INJECT_CODE_MAX;
	site->held = NULL;
	return proc_mem_read(memfd, addr, site->saved, sizeof(site->saved));
}

/* Put the thread held at the site back into a plain stop with its own registers. */
static int release_held(struct inject_site *site)
{
	struct thread *t = site->held;

	site->held = NULL;
	if (!t || t->state == THREAD_GONE)
		return t ? -ESRCH : 0;
	return park(t, &t->regs, 0);
}

int inject_site_release(struct inject_site *site)
{
	int parked = release_held(site);
	int ret = proc_mem_write(site->memfd, site->addr, site->saved, sizeof(site->saved));

	return parked && parked != -ESRCH ? parked : ret;
}

int inject_site_set_string(struct inject_site *site, const char *s)
{
	size_t len = strlen(s) + 1;
	if (len > INJECT_STRING_MAX)
		return -ENAMETOOLONG;
	return proc_mem_write(site->memfd, site->string_addr, s, len);
}

/*
 * Turn the registers of a thread stopped at a syscall exit into the plain
 * user-mode state the kernel would resume it in.  A syscall interrupted by
 * the ptrace stop returns -ERESTART* in rax.  On resume the kernel restarts it
 * by rewinding rip over the 2-byte `syscall` and reloading rax, but only if
 * orig_rax still names a syscall.  Doing that rewind here, with orig_rax = -1,
 * gives a state that is valid both for the kernel (no second rewind) and for
 * the restore code in the injection site, and the restarted call sees no
 * EINTR and no shortened sleep (nanosleep resumes through restart_syscall).
 */
static void resolve_restart(struct user_regs_struct *r)
{
	if ((long long)r->orig_rax >= 0) {
		switch (-(long long)r->rax) {
		case ERESTARTSYS:
		case ERESTARTNOINTR:
		case ERESTARTNOHAND:
			r->rax = r->orig_rax;
			r->rip -= 2;
			break;
		case ERESTART_RESTARTBLOCK:
			r->rax = SYS_restart_syscall;
			r->rip -= 2;
			break;
		default:
			break;
		}
	}
	r->orig_rax = (unsigned long long)-1;
}

static size_t emit_mov_imm64(uint8_t *p, uint8_t rex, uint8_t opcode, uint64_t value)
{
	p[0] = rex;
	p[1] = opcode;
	memcpy(p + 2, &value, 8);
	return 10;
}

/*
 * Code at the site: `syscall`, then the registers a syscall clobbers or we
 * set as arguments are reloaded from immediates, then an indirect jump back
 * to the thread's own rip.  rflags survive the syscall (sysret reloads them
 * from r11) and rsp is never touched, so nothing below the red zone is used.
 */
static size_t build_site_code(uint8_t *code, const struct user_regs_struct *r)
{
	size_t n = 0;

	code[n++] = 0x0f;
	code[n++] = 0x05;
	n += emit_mov_imm64(code + n, 0x48, 0xb8, r->rax);
	n += emit_mov_imm64(code + n, 0x48, 0xb9, r->rcx);
	n += emit_mov_imm64(code + n, 0x49, 0xbb, r->r11);
	n += emit_mov_imm64(code + n, 0x48, 0xbf, r->rdi);
	n += emit_mov_imm64(code + n, 0x48, 0xbe, r->rsi);
	n += emit_mov_imm64(code + n, 0x48, 0xba, r->rdx);
	n += emit_mov_imm64(code + n, 0x49, 0xba, r->r10);
	n += emit_mov_imm64(code + n, 0x49, 0xb8, r->r8);
	n += emit_mov_imm64(code + n, 0x49, 0xb9, r->r9);
	static const uint8_t jmp_rip_indirect[] = { 0xff, 0x25, 0, 0, 0, 0 };
	memcpy(code + n, jmp_rip_indirect, sizeof(jmp_rip_indirect));
	n += sizeof(jmp_rip_indirect);
	memcpy(code + n, &r->rip, 8);
	n += 8;
	return n;
}

/*
 * Resume `t` with ptrace `request` (and signal `sig`) and wait for what it
 * reports next.  Returns 0, -ESRCH when the thread exited, or a negative errno.
 */
static int resume_and_wait(struct thread *t, enum __ptrace_request request, int sig,
			   int *status)
{
	if (ptrace(request, t->tid, 0, sig) < 0)
		return -errno;
	if (waitpid(t->tid, status, __WALL) < 0)
		return -errno;
	if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
		t->state = THREAD_GONE;
		return -ESRCH;
	}
	return 0;
}

/* A signal-delivery-stop came before the injected call started. */
#define SIGNAL_FIRST 1

/*
 * Let the thread run the site's `syscall` under PTRACE_SYSCALL and collect
 * its entry and exit stops.  Syscall-stops are not signals: had we
 * single-stepped instead, the thread would wait in a SIGTRAP
 * signal-delivery-stop, and if suture died there the kernel would deliver
 * that SIGTRAP and kill the target.  A signal dequeued on the way to the
 * call is reported as SIGNAL_FIRST with *sig set.  The thread then waits in
 * that signal's delivery stop, and nothing has run yet.
 */
static int run_site_syscall(struct thread *t, uint64_t site_addr, int *sig)
{
	int seen_entry = 0;

	for (int tries = 0; tries < 8; tries++) {
		int status;
		int ret = resume_and_wait(t, PTRACE_SYSCALL, 0, &status);
		if (ret)
			return ret;
		if (!WIFSTOPPED(status))
			continue;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			/* An interrupt stop still pending from an earlier
			 * PTRACE_INTERRUPT: nothing ran, go on. */
			if ((status >> 16) == PTRACE_EVENT_STOP && !seen_entry)
				continue;
			if ((status >> 16) != 0 || seen_entry)
				return -EPROTO;
			*sig = WSTOPSIG(status);
			return SIGNAL_FIRST;
		}
		struct user_regs_struct now;
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &now) < 0)
			return -errno;
		if (now.rip != site_addr + 2)
			return -EFAULT;
		if (seen_entry)
			return 0;
		seen_entry = 1;
	}
	return -EAGAIN;
}

/*
 * Put the thread back into a plain interrupt stop with registers `regs`,
 * the ones it had when we stopped it.  A syscall it was blocked in still
 * shows -ERESTART* in rax, so on resume the kernel decides, as it would
 * have, between restarting it and failing it with EINTR for a signal
 * handler.  That decision is only taken on the way out of a signal stop, so
 * the thread is led through one: PTRACE_INTERRUPT, then PTRACE_CONT.
 * `sig`, the signal of the stop the thread is in (or 0), and signals met on
 * the way are delivered with the thread's own registers; then `regs` is
 * whatever state the thread reached.
 */
static int park(struct thread *t, struct user_regs_struct *regs, int sig)
{
	if (ptrace(PTRACE_SETREGS, t->tid, 0, regs) < 0 ||
	    ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0)
		return -errno;
	for (int tries = 0; tries < 64; tries++) {
		int status;
		int ret = resume_and_wait(t, PTRACE_CONT, sig, &status);
		if (ret)
			return ret;
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return ptrace(PTRACE_GETREGS, t->tid, 0, regs) < 0 ? -errno : 0;
		sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
	}
	return -EAGAIN;
}

/* Write the site's code for a thread whose registers are `orig`. */
static int write_site_code(const struct inject_site *site, const struct user_regs_struct *orig,
			   struct user_regs_struct *own)
{
	uint8_t code[INJECT_CODE_MAX];

	*own = *orig;
	resolve_restart(own);
	size_t len = build_site_code(code, own);
	return proc_mem_write(site->memfd, site->addr, code, len);
}

int inject_syscall(struct thread *t, struct inject_site *site, long nr,
		   const uint64_t args[6], int64_t *result)
{
	struct user_regs_struct own, call;
	int ret = -EAGAIN, sig = 0;

	if (site->held != t) {
		ret = release_held(site);
		if (ret && ret != -ESRCH)
			return ret;
	}
	/* The code restores t->regs, which stay the same for a series of calls. */
	ret = write_site_code(site, &t->regs, &own);
	if (ret)
		return ret;
	site->held = t;
	ret = -EAGAIN;
	for (int tries = 0; tries < 8 && ret == -EAGAIN; tries++) {
		call = own;
		call.rax = (unsigned long long)nr;
		call.rdi = args[0];
		call.rsi = args[1];
		call.rdx = args[2];
		call.r10 = args[3];
		call.r8 = args[4];
		call.r9 = args[5];
		call.rip = site->addr;
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &call) < 0) {
			ret = -errno;
			break;
		}

		fault_point("injecting");
		ret = run_site_syscall(t, site->addr, &sig);
		if (ret != SIGNAL_FIRST)
			break;
		/* Deliver the signal with the thread's own registers, so that its
		 * handler gets the real context and its siginfo is kept.  Then
		 * take the thread back and try again from where it is now. */
		ret = park(t, &t->regs, sig);
		if (!ret)
			ret = write_site_code(site, &t->regs, &own);
		if (ret)
			break;
		ret = -EAGAIN;
	}
	if (ret == 0) {
		struct user_regs_struct after;
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &after) < 0)
			ret = -errno;
		else
			*result = (int64_t)after.rax;
	}
	if (t->state == THREAD_GONE) {
		site->held = NULL;
		return -ESRCH;
	}
	if (ret)
		release_held(site);
	return ret;
}
