/*
 * Test target that runs under a seccomp filter chosen by its first argument,
 * then reads requests on stdin and prints replies like basic.c.  The filter is classic BPF
 * written by hand and installed with prctl(PR_SET_SECCOMP) before any thread
 * starts, so every thread, and every system call suture injects, is subject
 * to it.
 *
 *   none            no filter
 *   mprotect-exec   kill the process on mprotect/pkey_mprotect with PROT_EXEC
 *   wx              kill the process on mmap/mprotect/pkey_mprotect asking for
 *                   memory both writable and executable (W^X)
 *   mmap-exec       kill the process on any mmap, mprotect or pkey_mprotect
 *                   with PROT_EXEC
 *   memfd-kill      kill the process on memfd_create
 *   memfd-errno     make memfd_create fail with EPERM
 *   memfd-trap      send SIGSYS on memfd_create (default action: core dump)
 *   munmap-kill     kill the process on munmap
 *
 * The request "probe [MODE]" runs the call that MODE (by default the
 * start-up mode) forbids in a forked child, which inherits the filter, and
 * prints how the child ended: a test uses it to
 * show that the filter is really in force.  "restrict MODE" adds the filter
 * of MODE to the main thread later on, as programs that lock themselves
 * down after start-up do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FILTER_LEN 64

__attribute__((noipa)) int compute(int x)
{
	if (x < 0)
		return -1;
	return x + 1;
}

__attribute__((noipa)) const char *greeting(void)
{
	return "hello";
}

struct filter_builder {
	struct sock_filter code[MAX_FILTER_LEN];
	unsigned short len;
};

static void emit(struct filter_builder *b, struct sock_filter insn)
{
	if (b->len == MAX_FILTER_LEN) {
		fprintf(stderr, "seccomp filter longer than %d instructions\n", MAX_FILTER_LEN);
		exit(2);
	}
	b->code[b->len++] = insn;
}

/* Reject any other system call ABI (i386, x32): the rules below only match x86-64 numbers. */
static void emit_arch_check(struct filter_builder *b)
{
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch)));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr)));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

/*
 * Emit a rule that returns `action` for system call `nr`.  With a nonzero
 * `mask`, the rule matches only when (prot argument & mask) == mask.  The protection is the third argument of
 * mmap, mprotect and pkey_mprotect, and its low 32 bits come first in memory
 * on x86-64.
 */
static void emit_rule(struct filter_builder *b, int nr, unsigned mask, unsigned action)
{
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr)));
	if (!mask) {
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
		emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
		return;
	}
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 4));
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[2])));
	emit(b, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mask, 0, 1));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

static void emit_prot_rules(struct filter_builder *b, unsigned mask, int include_mmap)
{
	if (include_mmap)
		emit_rule(b, SYS_mmap, mask, SECCOMP_RET_KILL_PROCESS);
	emit_rule(b, SYS_mprotect, mask, SECCOMP_RET_KILL_PROCESS);
	emit_rule(b, SYS_pkey_mprotect, mask, SECCOMP_RET_KILL_PROCESS);
}

/* Build the filter for `mode`.  Returns 0, or -1 for an unknown mode. */
static int build_filter(const char *mode, struct filter_builder *b)
{
	b->len = 0;
	emit_arch_check(b);
	if (!strcmp(mode, "mprotect-exec"))
		emit_prot_rules(b, PROT_EXEC, 0);
	else if (!strcmp(mode, "wx"))
		emit_prot_rules(b, PROT_WRITE | PROT_EXEC, 1);
	else if (!strcmp(mode, "mmap-exec"))
		emit_prot_rules(b, PROT_EXEC, 1);
	else if (!strcmp(mode, "memfd-kill"))
		emit_rule(b, SYS_memfd_create, 0, SECCOMP_RET_KILL_PROCESS);
	else if (!strcmp(mode, "memfd-errno"))
		emit_rule(b, SYS_memfd_create, 0, SECCOMP_RET_ERRNO | EPERM);
	else if (!strcmp(mode, "memfd-trap"))
		emit_rule(b, SYS_memfd_create, 0, SECCOMP_RET_TRAP);
	else if (!strcmp(mode, "munmap-kill"))
		emit_rule(b, SYS_munmap, 0, SECCOMP_RET_KILL_PROCESS);
	else
		return -1;
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	return 0;
}

static int install_filter(const char *mode)
{
	struct filter_builder b;

	if (!strcmp(mode, "none"))
		return 0;
	if (build_filter(mode, &b)) {
		fprintf(stderr, "unknown filter mode '%s'\n", mode);
		return -1;
	}
	struct sock_fprog prog = { .len = b.len, .filter = b.code };
	/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("installing the seccomp filter");
		return -1;
	}
	return 0;
}

/* The call the filter of `mode` forbids, made in the calling process. */
static void make_forbidden_call(const char *mode)
{
	if (!strcmp(mode, "munmap-kill")) {
		void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		_exit(page == MAP_FAILED ? 99 : munmap(page, 4096) ? 100 + errno : 0);
	}
	if (!strncmp(mode, "memfd-", 6)) {
		long fd = syscall(SYS_memfd_create, "probe", 0);
		_exit(fd < 0 ? 100 + errno : 0);
	}
	int prot = PROT_READ | PROT_EXEC;
	if (!strcmp(mode, "wx"))
		prot |= PROT_WRITE;
	void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		_exit(99);
	if (!strcmp(mode, "mprotect-exec"))
		_exit(mprotect(page, 4096, prot) ? 100 + errno : 0);
	_exit(mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? 100 + errno
										      : 0);
}

static void probe(const char *mode)
{
	pid_t child = fork();
	int status;

	if (child == 0)
		make_forbidden_call(mode);
	if (child < 0 || waitpid(child, &status, 0) != child) {
		printf("probe failed\n");
		return;
	}
	if (WIFSIGNALED(status))
		printf("probe killed by signal %d\n", WTERMSIG(status));
	else
		printf("probe exited with status %d\n", WEXITSTATUS(status));
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "none";
	char line[256], later[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (install_filter(mode))
		return 2;
	for (int i = 0; i < 2; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle_thread, NULL)) {
			perror("pthread_create");
			return 2;
		}
	}
	printf("ready %d %s\n", getpid(), mode);
	while (fgets(line, sizeof(line), stdin)) {
		int n;
		if (sscanf(line, "compute %d", &n) == 1)
			printf("compute %d = %d\n", n, compute(n));
		else if (!strncmp(line, "greeting", 8))
			printf("greeting = %s\n", greeting());
		else if (sscanf(line, "probe %63s", later) == 1)
			probe(later);
		else if (!strncmp(line, "probe", 5))
			probe(mode);
		else if (sscanf(line, "restrict %63s", later) == 1)
			printf("restrict %s: %s\n", later, install_filter(later) ? "failed" : "done");
		else if (!strncmp(line, "exit", 4))
			break;
		else
			printf("unknown request\n");
	}
	return 0;
}
