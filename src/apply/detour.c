#include "apply/detour.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "patch/patch.h"

static int put_rel32(uint8_t *at, uint64_t from_end, uint64_t to)
{
	int64_t rel = (int64_t)(to - from_end);
	if (rel < INT32_MIN || rel > INT32_MAX)
		return -ERANGE;
	int32_t v = (int32_t)rel;
	memcpy(at, &v, 4);
	return 0;
}

static int in_group(const cs_insn *in, uint8_t group)
{
	for (uint8_t i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == group)
			return 1;
	return 0;
}

static int is_relative_branch(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;
	return x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	       (in_group(in, CS_GRP_JUMP) || in_group(in, CS_GRP_CALL));
}

/* Copy one instruction to `out` at `at` (run-time address), fixing PC-relative parts. */
static int relocate_one(const cs_insn *in, uint8_t *out, uint64_t at, size_t *len,
			char *err, size_t errlen)
{
	const cs_x86 *x = &in->detail->x86;

	if (is_relative_branch(in)) {
		uint64_t target = (uint64_t)x->operands[0].imm;
		if (in->id == X86_INS_JMP) {
			out[0] = 0xe9;
			*len = 5;
		} else if (in->id == X86_INS_CALL) {
			out[0] = 0xe8;
			*len = 5;
		} else if (in->bytes[0] >= 0x70 && in->bytes[0] <= 0x7f) {
			out[0] = 0x0f; /* jcc rel8 becomes jcc rel32 */
			out[1] = (uint8_t)(0x80 | (in->bytes[0] & 0x0f));
			*len = 6;
		} else if (in->bytes[0] == 0x0f && (in->bytes[1] & 0xf0) == 0x80) {
			out[0] = 0x0f;
			out[1] = in->bytes[1];
			*len = 6;
		} else {
			snprintf(err, errlen, "cannot relocate '%s %s' at the function entry",
				 in->mnemonic, in->op_str);
			return -ENOTSUP;
		}
		return put_rel32(out + *len - 4, at + *len, target);
	}

	memcpy(out, in->bytes, in->size);
	*len = in->size;
	for (int i = 0; i < x->op_count; i++) {
		if (x->operands[i].type != X86_OP_MEM || x->operands[i].mem.base != X86_REG_RIP)
			continue;
		if (x->encoding.disp_size != 4) {
			snprintf(err, errlen, "unexpected rip-relative encoding of '%s %s'",
				 in->mnemonic, in->op_str);
			return -ENOTSUP;
		}
		uint64_t target = in->address + in->size + (uint64_t)x->disp;
		return put_rel32(out + x->encoding.disp_offset, at + in->size, target);
	}
	return 0;
}

/*
 * Refuse if any branch in the function targets the bytes the jump
 * overwrites (other than the entry): such a branch would land inside the
 * jump.  NOTE: targets reached only through jump tables are not seen.
 */
static int check_no_branch_back(csh handle, const uint8_t *code, size_t len, uint64_t func_addr,
				size_t covered, char *err, size_t errlen)
{
	cs_insn *insns;
	size_t n = cs_disasm(handle, code, len, func_addr, 0, &insns);
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		if (!is_relative_branch(&insns[i]))
			continue;
		uint64_t target = (uint64_t)insns[i].detail->x86.operands[0].imm;
		if (target > func_addr && target < func_addr + covered) {
			snprintf(err, errlen, "the instruction at offset 0x%" PRIx64 " branches into "
				 "the first %zu bytes, which the jump overwrites",
				 insns[i].address - func_addr, covered);
			ret = -ENOTSUP;
		}
	}
	if (n)
		cs_free(insns, n);
	return ret;
}

int detour_build(const uint8_t *code, size_t func_len, uint64_t func_addr,
		 uint64_t stub_addr, uint64_t flag_addr, uint64_t new_addr,
		 uint8_t stub[DETOUR_STUB_SIZE], char *err, size_t errlen)
{
	csh handle;
	cs_insn *insns = NULL;
	size_t n = 0, covered = 0, used = 0;
	int ret = 0;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
		snprintf(err, errlen, "capstone failed to start");
		return -ENOTSUP;
	}
	cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	memset(stub, 0xcc, DETOUR_STUB_SIZE);

	/* cmp byte [rip + flag], 0 ; jne new */
	stub[0] = 0x80;
	stub[1] = 0x3d;
	stub[6] = 0x00;
	ret = put_rel32(stub + 2, stub_addr + 7, flag_addr);
	stub[7] = 0x0f;
	stub[8] = 0x85;
	if (!ret)
		ret = put_rel32(stub + 9, stub_addr + 13, new_addr);
	used = 13;

	if (!ret)
		n = cs_disasm(handle, code, func_len, func_addr, 0, &insns);
	for (size_t i = 0; !ret && i < n && covered < PATCH_JUMP_SIZE; i++) {
		size_t len = 0;
		if (used + 6 + 15 + 5 > DETOUR_STUB_SIZE) {
			ret = -ENOTSUP;
			snprintf(err, errlen, "relocated entry instructions do not fit the stub");
			break;
		}
		ret = relocate_one(&insns[i], stub + used, stub_addr + used, &len, err, errlen);
		used += len;
		covered += insns[i].size;
	}
	if (!ret && covered < PATCH_JUMP_SIZE) {
		snprintf(err, errlen, "cannot decode the first %d bytes of the function",
			 PATCH_JUMP_SIZE);
		ret = -ENOTSUP;
	}
	if (!ret) {
		stub[used] = 0xe9; /* back into the old function */
		ret = put_rel32(stub + used + 1, stub_addr + used + 5, func_addr + covered);
	}
	if (!ret)
		ret = check_no_branch_back(handle, code, func_len, func_addr, covered, err, errlen);
	if (n)
		cs_free(insns, n);
	cs_close(&handle);
	return ret;
}

int detour_check_branches(const uint8_t *code, size_t func_len, uint64_t func_addr,
			  char *err, size_t errlen)
{
	csh handle;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
		snprintf(err, errlen, "capstone failed to start");
		return -ENOTSUP;
	}
	cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	int ret = check_no_branch_back(handle, code, func_len, func_addr, PATCH_JUMP_SIZE, err,
				       errlen);
	cs_close(&handle);
	return ret;
}
