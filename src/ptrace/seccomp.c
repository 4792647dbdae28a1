#include "ptrace/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

#define FILTER_MAX 32

int seccomp_filters_read(pid_t tid, struct seccomp_filters *out)
{
	memset(out, 0, sizeof(*out));
	out->progs = calloc(FILTER_MAX, sizeof(*out->progs));
	out->lengths = calloc(FILTER_MAX, sizeof(*out->lengths));
	if (!out->progs || !out->lengths) {
		seccomp_filters_free(out);
		return -ENOMEM;
	}
	for (unsigned long i = 0; i < FILTER_MAX; i++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)i, NULL);
		if (n < 0) {
			if (errno == ENOENT)
				return 0; /* no more filters */
			int err = -errno;
			seccomp_filters_free(out);
			return err;
		}
		out->progs[i] = calloc((size_t)n, sizeof(struct sock_filter));
		if (!out->progs[i]) {
			seccomp_filters_free(out);
			return -ENOMEM;
		}
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)i, out->progs[i]) != n) {
			seccomp_filters_free(out);
			return -EIO;
		}
		out->lengths[i] = (size_t)n;
		out->count = i + 1;
	}
	return 0;
}

void seccomp_filters_free(struct seccomp_filters *f)
{
	for (size_t i = 0; f->progs && i < FILTER_MAX; i++)
		free(f->progs[i]);
	free(f->progs);
	free(f->lengths);
	memset(f, 0, sizeof(*f));
}

static uint32_t alu(uint16_t op, uint32_t a, uint32_t v, int *bad)
{
	switch (op) {
	case BPF_ADD: return a + v;
	case BPF_SUB: return a - v;
	case BPF_MUL: return a * v;
	case BPF_DIV: if (!v) { *bad = 1; return 0; } return a / v;
	case BPF_MOD: if (!v) { *bad = 1; return 0; } return a % v;
	case BPF_OR: return a | v;
	case BPF_AND: return a & v;
	case BPF_XOR: return a ^ v;
	case BPF_LSH: return v < 32 ? a << v : 0;
	case BPF_RSH: return v < 32 ? a >> v : 0;
	case BPF_NEG: return -a;
	default: *bad = 1; return 0;
	}
}

/*
 * Classic BPF over struct seccomp_data, following the kernel's rules for
 * seccomp programs (loads of 32-bit words at aligned offsets, forward jumps
 * only).  A program this interpreter cannot follow counts as KILL, so an
 * unknown filter makes suture refuse rather than guess.
 */
static uint32_t run_filter(const struct sock_filter *prog, size_t len,
			   const struct seccomp_data *data)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	const uint8_t *bytes = (const uint8_t *)data;
	int bad = 0;

	for (size_t pc = 0; pc < len && !bad; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t k = in->k;
		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
			if (in->code == (BPF_LD | BPF_W | BPF_ABS) && k % 4 == 0 && k + 4 <= sizeof(*data))
				memcpy(&a, bytes + k, 4);
			else if (in->code == (BPF_LD | BPF_W | BPF_LEN))
				a = sizeof(*data);
			else if (in->code == (BPF_LD | BPF_IMM))
				a = k;
			else if (in->code == (BPF_LD | BPF_MEM) && k < BPF_MEMWORDS)
				a = mem[k];
			else
				bad = 1;
			break;
		case BPF_LDX:
			if (in->code == (BPF_LDX | BPF_W | BPF_LEN))
				x = sizeof(*data);
			else if (in->code == (BPF_LDX | BPF_IMM))
				x = k;
			else if (in->code == (BPF_LDX | BPF_MEM) && k < BPF_MEMWORDS)
				x = mem[k];
			else
				bad = 1;
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				bad = 1;
			else
				mem[k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			a = alu(BPF_OP(in->code), a, BPF_SRC(in->code) == BPF_X ? x : k, &bad);
			break;
		case BPF_JMP: {
			uint32_t v = BPF_SRC(in->code) == BPF_X ? x : k;
			int taken;
			switch (BPF_OP(in->code)) {
			case BPF_JA: pc += k; continue;
			case BPF_JEQ: taken = a == v; break;
			case BPF_JGT: taken = a > v; break;
			case BPF_JGE: taken = a >= v; break;
			case BPF_JSET: taken = (a & v) != 0; break;
			default: bad = 1; continue;
			}
			pc += taken ? in->jt : in->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(in->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			bad = 1;
		}
	}
	return SECCOMP_RET_KILL_PROCESS;
}

uint32_t seccomp_filters_evaluate(const struct seccomp_filters *f, long nr,
				  const uint64_t args[6], uint64_t ip)
{
	struct seccomp_data data = { .nr = (int)nr, .arch = AUDIT_ARCH_X86_64,
				     .instruction_pointer = ip };
	uint32_t result = SECCOMP_RET_ALLOW;

	memcpy(data.args, args, sizeof(data.args));
	/* The kernel keeps the action with the lowest value as a signed
	 * number: KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, ..., ALLOW. */
	for (size_t i = 0; i < f->count; i++) {
		uint32_t r = run_filter(f->progs[i], f->lengths[i], &data);
		if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) < (int32_t)(result & SECCOMP_RET_ACTION_FULL))
			result = r;
	}
	return result;
}
