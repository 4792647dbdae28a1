/*
 * Registering a patch's .eh_frame with libgcc_s's unwinder by writing its
 * registry directly (see unwind.h).  The facts relied on are those of
 * libgcc/unwind-dw2-fde.c in gcc 12, as the code of Debian bookworm's
 * libgcc_s.so.1 (12.2.0) shows them, and suture checks them in the code of
 * the target's libgcc_s before use:
 *
 * - __register_frame_info_bases(begin, ob, tbase, dbase) fills the caller's
 *   struct object (pc_begin = -1, tbase, dbase, u.single = begin, s.i with
 *   encoding DW_EH_PE_omit, next), then under object_mutex pushes it on
 *   unseen_objects and sets any_objects_registered.
 * - _Unwind_Find_FDE reads any_objects_registered without the lock, and only
 *   when it is set takes object_mutex, searches seen_objects, then sorts
 *   each unseen object (malloc), moves it to seen_objects and searches it.
 *   Both lists are only touched with object_mutex held.
 * - An object is 48 bytes on x86-64: pc_begin, tbase, dbase, u, s, next.
 */
#include "apply/unwind.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "apply/internal.h"
#include "apply/record.h"
#include "elf/elf_file.h"
#include "util/exitcode.h"
#include "util/log.h"

/* struct object of unwind-dw2-fde.h on x86-64 (no fde_end field there). */
#define OBJ_PC_BEGIN 0
#define OBJ_TBASE 8
#define OBJ_DBASE 16
#define OBJ_SINGLE 24
#define OBJ_S 32
#define OBJ_NEXT 40
#define OBJ_SIZE 48
#define OBJ_S_SORTED 1u      /* s.b.sorted: u.sort is a malloc'ed struct fde_vector */
#define OBJ_S_COUNT_SHIFT 11 /* s.b.count follows sorted, from_array, mixed, encoding */
#define DW_EH_PE_OMIT 0xffu
#define OBJ_S_INITIAL ((uint64_t)DW_EH_PE_OMIT << 3) /* s.i after registration */

/* pthread_mutex_t of glibc on x86-64 (struct __pthread_mutex_s). */
#define MUTEX_SIZE 40
#define MUTEX_LOCK 0
#define MUTEX_OWNER 8
#define MUTEX_KIND 16
#define MUTEX_KIND_ELISION_FLAGS (256 | 512) /* PTHREAD_MUTEX_ELISION_NP, NO_ELISION_NP */

#define MAX_FUNCTION_BYTES 8192
#define MAX_LIST_NODES 100000
#define MAX_REFS 32

static uint64_t load_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int is_libgcc_s(const struct mem_object *o)
{
	const char *path = o->map ? o->map->path : NULL;
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : path;
	return base && !strncmp(base, "libgcc_s.so", strlen("libgcc_s.so"));
}

/* Code of one exported function of libgcc_s, read from the target's memory. */
struct function_code {
	const char *name;
	uint64_t addr;
	size_t size;
	uint8_t bytes[MAX_FUNCTION_BYTES];
};

static int read_function(const struct process_state *ps, const struct mem_object *o,
			 struct elf_file *f, struct function_code *fc, char *err, size_t errlen)
{
	struct elf_dynsym sym;

	if (elf_file_find_dynsym(f, fc->name, &sym) || !sym.sym.size) {
		snprintf(err, errlen, "%s does not export %s", o->map->path, fc->name);
		return -ENOTSUP;
	}
	fc->addr = o->bias + sym.sym.value;
	fc->size = sym.sym.size < MAX_FUNCTION_BYTES ? (size_t)sym.sym.size : MAX_FUNCTION_BYTES;
	if (proc_mem_read(ps->memfd, fc->addr, fc->bytes, fc->size)) {
		snprintf(err, errlen, "cannot read %s at 0x%" PRIx64 " in process %d", fc->name,
			 fc->addr, (int)ps->pid);
		return -EIO;
	}
	return 0;
}

/* RIP-relative references to libgcc_s's writable data found in one function. */
struct code_facts {
	uint64_t lea[MAX_REFS], qword[MAX_REFS], dword[MAX_REFS];
	size_t nlea, nqword, ndword;
	/* __register_frame_info_bases only: */
	uint64_t s_word;      /* immediate stored into the object's s field */
	uint64_t head_store;  /* qword variable that receives the object pointer */
	uint64_t next_source; /* qword variable whose old value went into the object's next */
	uint64_t flag_store;  /* dword variable set to 1 */
};

static void add_unique(uint64_t *set, size_t *n, uint64_t addr)
{
	for (size_t i = 0; i < *n; i++)
		if (set[i] == addr)
			return;
	if (*n < MAX_REFS)
		set[(*n)++] = addr;
}

static int contains(const uint64_t *set, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == addr)
			return 1;
	return 0;
}

static int is_writable_data(const struct process_state *ps, const struct mem_object *o,
			    uint64_t addr)
{
	const struct proc_map *m = proc_maps_find(&ps->maps, addr);
	return addr >= o->lo && addr < o->hi && m && (m->prot & PROT_WRITE);
}

/* 64-bit register that a write to `reg` changes, or X86_REG_INVALID. */
static x86_reg full_register(x86_reg reg)
{
	static const x86_reg pairs[][2] = {
		{ X86_REG_EAX, X86_REG_RAX }, { X86_REG_EBX, X86_REG_RBX },
		{ X86_REG_ECX, X86_REG_RCX }, { X86_REG_EDX, X86_REG_RDX },
		{ X86_REG_ESI, X86_REG_RSI }, { X86_REG_EDI, X86_REG_RDI },
		{ X86_REG_EBP, X86_REG_RBP }, { X86_REG_R8D, X86_REG_R8 },
		{ X86_REG_R9D, X86_REG_R9 },  { X86_REG_R10D, X86_REG_R10 },
		{ X86_REG_R11D, X86_REG_R11 }, { X86_REG_R12D, X86_REG_R12 },
		{ X86_REG_R13D, X86_REG_R13 }, { X86_REG_R14D, X86_REG_R14 },
		{ X86_REG_R15D, X86_REG_R15 },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (pairs[i][0] == reg || pairs[i][1] == reg)
			return pairs[i][1];
	return X86_REG_INVALID;
}

/*
 * What each register holds while __register_frame_info_bases runs: the
 * object pointer (its second argument, copied around), or the value loaded
 * from a variable.  Tracked along the straight-line order of the code, which
 * is enough to recognise the few moves that matter.
 */
struct register_values {
	uint8_t object[X86_REG_ENDING];
	uint64_t loaded_from[X86_REG_ENDING];
};

static void forget_written(csh handle, const cs_insn *insn, struct register_values *rv)
{
	static const x86_reg caller_saved[] = {
		X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RSI, X86_REG_RDI,
		X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11,
	};
	cs_regs read, written;
	uint8_t nread = 0, nwritten = 0;

	if (insn->id == X86_INS_CALL) {
		for (size_t i = 0; i < sizeof(caller_saved) / sizeof(caller_saved[0]); i++) {
			rv->object[caller_saved[i]] = 0;
			rv->loaded_from[caller_saved[i]] = 0;
		}
	}
	if (cs_regs_access(handle, insn, read, &nread, written, &nwritten) != CS_ERR_OK)
		return;
	for (uint8_t i = 0; i < nwritten; i++) {
		x86_reg full = full_register((x86_reg)written[i]);
		if (full != X86_REG_INVALID) {
			rv->object[full] = 0;
			rv->loaded_from[full] = 0;
		}
	}
}

static uint64_t rip_target(const cs_insn *insn, const cs_x86_op *op)
{
	return insn->address + insn->size + (uint64_t)op->mem.disp;
}

static int is_rip_mem(const cs_x86_op *op)
{
	return op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP &&
	       op->mem.index == X86_REG_INVALID;
}

/* Follow the moves of __register_frame_info_bases that fill and link the object. */
static void track_register_moves(const cs_insn *insn, const struct process_state *ps,
				 const struct mem_object *o, struct register_values *rv,
				 struct code_facts *facts)
{
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count != 2)
		return;
	const cs_x86_op *dst = &x->operands[0], *src = &x->operands[1];
	x86_reg src_reg = src->type == X86_OP_REG ? full_register(src->reg) : X86_REG_INVALID;

	if (dst->type == X86_OP_REG) {
		x86_reg d = full_register(dst->reg);
		if (d == X86_REG_INVALID)
			return;
		uint8_t object = 0;
		uint64_t loaded_from = 0;
		if (dst->size == 8 && src_reg != X86_REG_INVALID) {
			object = rv->object[src_reg];
			loaded_from = rv->loaded_from[src_reg];
		} else if (dst->size == 8 && is_rip_mem(src) &&
			   is_writable_data(ps, o, rip_target(insn, src))) {
			loaded_from = rip_target(insn, src);
		}
		rv->object[d] = object;
		rv->loaded_from[d] = loaded_from;
		return;
	}
	if (dst->type != X86_OP_MEM)
		return;
	x86_reg base = full_register(dst->mem.base);
	int into_object = base != X86_REG_INVALID && rv->object[base] &&
			  dst->mem.index == X86_REG_INVALID;

	if (into_object && dst->size == 8 && dst->mem.disp == OBJ_S && src->type == X86_OP_IMM)
		facts->s_word = (uint64_t)src->imm;
	else if (into_object && dst->size == 8 && dst->mem.disp == OBJ_NEXT &&
		 src_reg != X86_REG_INVALID && rv->loaded_from[src_reg])
		facts->next_source = rv->loaded_from[src_reg];
	else if (is_rip_mem(dst) && is_writable_data(ps, o, rip_target(insn, dst))) {
		if (dst->size == 8 && src_reg != X86_REG_INVALID && rv->object[src_reg])
			facts->head_store = rip_target(insn, dst);
		else if (dst->size == 4 && src->type == X86_OP_IMM && src->imm == 1)
			facts->flag_store = rip_target(insn, dst);
	}
}

static void note_data_refs(const cs_insn *insn, const struct process_state *ps,
			   const struct mem_object *o, struct code_facts *facts)
{
	const cs_x86 *x = &insn->detail->x86;

	for (uint8_t i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];
		if (!is_rip_mem(op) || !is_writable_data(ps, o, rip_target(insn, op)))
			continue;
		uint64_t addr = rip_target(insn, op);
		if (insn->id == X86_INS_LEA)
			add_unique(facts->lea, &facts->nlea, addr);
		else if (op->size == 8)
			add_unique(facts->qword, &facts->nqword, addr);
		else if (op->size == 4)
			add_unique(facts->dword, &facts->ndword, addr);
	}
}

static int analyse_function(const struct process_state *ps, const struct mem_object *o,
			    const struct function_code *fc, int track_object,
			    struct code_facts *facts, char *err, size_t errlen)
{
	struct register_values rv;
	cs_insn *insns = NULL;
	csh handle;

	memset(facts, 0, sizeof(*facts));
	memset(&rv, 0, sizeof(rv));
	rv.object[X86_REG_RSI] = 1; /* the struct object is the second argument */
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
		snprintf(err, errlen, "capstone failed to start");
		return -ENOTSUP;
	}
	cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	size_t n = cs_disasm(handle, fc->bytes, fc->size, fc->addr, 0, &insns);
	for (size_t i = 0; i < n; i++) {
		note_data_refs(&insns[i], ps, o, facts);
		if (!track_object)
			continue;
		/* A move writes only its destination, which it tracks itself. */
		if (insns[i].id == X86_INS_MOV)
			track_register_moves(&insns[i], ps, o, &rv, facts);
		else
			forget_written(handle, &insns[i], &rv);
	}
	if (n)
		cs_free(insns, n);
	cs_close(&handle);
	if (n == 0) {
		snprintf(err, errlen, "cannot disassemble %s", fc->name);
		return -ENOTSUP;
	}
	return 0;
}

static int reject(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "the code of %s does not match the unwinder registry of gcc 12's "
		 "libgcc_s, which suture writes: %s", path, what);
	return -ENOTSUP;
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Derive the registry from three functions and accept it only when they
 * agree: the registering function names the list head, the flag and the
 * mutex; the deregistering one the second list; _Unwind_Find_FDE uses all.
 */
static int derive_registry(const struct process_state *ps, const struct mem_object *o,
			   const struct code_facts *reg_fn, const struct code_facts *dereg_fn,
			   const struct code_facts *find_fn, struct unwind_registry *out,
			   char *err, size_t errlen)
{
	const char *path = o->map->path;

	if (reg_fn->s_word != OBJ_S_INITIAL)
		return reject(err, errlen, path, "__register_frame_info_bases does not initialise "
			      "the object's encoding word at offset 32 as expected");
	if (!reg_fn->head_store || reg_fn->head_store != reg_fn->next_source)
		return reject(err, errlen, path, "__register_frame_info_bases does not push the "
			      "object on a list with its next field at offset 40");
	if (!reg_fn->flag_store || reg_fn->nlea != 1)
		return reject(err, errlen, path, "__register_frame_info_bases does not set one "
			      "flag under one mutex");
	out->unseen_objects = reg_fn->head_store;
	out->any_registered = reg_fn->flag_store;
	out->mutex = reg_fn->lea[0];
	out->encoding_word = reg_fn->s_word;

	/* The deregistering function walks both lists under the same mutex. */
	uint64_t other[MAX_REFS * 2];
	size_t nother = 0;
	for (size_t i = 0; i < dereg_fn->nqword; i++)
		add_unique(other, &nother, dereg_fn->qword[i]);
	for (size_t i = 0; i < dereg_fn->nlea; i++)
		if (dereg_fn->lea[i] != out->mutex)
			add_unique(other, &nother, dereg_fn->lea[i]);
	if (!contains(dereg_fn->lea, dereg_fn->nlea, out->mutex) || nother != 2 ||
	    !contains(other, nother, out->unseen_objects))
		return reject(err, errlen, path, "__deregister_frame_info_bases does not walk "
			      "two lists under the registering function's mutex");
	out->seen_objects = other[0] == out->unseen_objects ? other[1] : other[0];

	if (!contains(find_fn->lea, find_fn->nlea, out->mutex) ||
	    !contains(find_fn->qword, find_fn->nqword, out->unseen_objects) ||
	    !contains(find_fn->qword, find_fn->nqword, out->seen_objects) ||
	    !contains(find_fn->dword, find_fn->ndword, out->any_registered))
		return reject(err, errlen, path, "_Unwind_Find_FDE does not use the same lists, "
			      "flag and mutex");
	if (ranges_overlap(out->mutex, MUTEX_SIZE, out->unseen_objects, 8) ||
	    ranges_overlap(out->mutex, MUTEX_SIZE, out->seen_objects, 8) ||
	    ranges_overlap(out->mutex, MUTEX_SIZE, out->any_registered, 4) ||
	    ranges_overlap(out->unseen_objects, 8, out->seen_objects, 8) ||
	    ranges_overlap(out->any_registered, 4, out->unseen_objects, 8) ||
	    ranges_overlap(out->any_registered, 4, out->seen_objects, 8))
		return reject(err, errlen, path, "its registry variables overlap");

	uint8_t mutex[MUTEX_SIZE];
	int32_t kind;
	if (proc_mem_read(ps->memfd, out->mutex, mutex, sizeof(mutex)))
		return reject(err, errlen, path, "its mutex cannot be read");
	memcpy(&kind, mutex + MUTEX_KIND, sizeof(kind));
	if (kind & ~MUTEX_KIND_ELISION_FLAGS)
		return reject(err, errlen, path, "its mutex is not a default glibc mutex");
	snprintf(out->path, sizeof(out->path), "%s", path);
	return 0;
}

static int find_in_object(const struct process_state *ps, const struct mem_object *o,
			  struct unwind_registry *reg, char *err, size_t errlen)
{
	static const char *const names[3] = {
		"__register_frame_info_bases", "__deregister_frame_info_bases", "_Unwind_Find_FDE",
	};
	struct code_facts facts[3];
	struct elf_file *f = NULL;
	char path[128];
	int ret;

	struct function_code *code = calloc(3, sizeof(*code));
	if (!code) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < 3; i++)
		code[i].name = names[i];

	/* map_files reaches the mapped file even after it was deleted or replaced. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)ps->pid,
		 o->map->start, o->map->end);
	ret = elf_file_open(path, &f);
	if (ret) {
		snprintf(err, errlen, "cannot open %s of process %d: %s", o->map->path,
			 (int)ps->pid, strerror(-ret));
		free(code);
		return -ENOTSUP;
	}
	for (int i = 0; i < 3 && !ret; i++)
		ret = read_function(ps, o, f, &code[i], err, errlen);
	elf_file_close(f);
	for (int i = 0; i < 3 && !ret; i++)
		ret = analyse_function(ps, o, &code[i], i == 0, &facts[i], err, errlen);
	free(code);
	if (ret)
		return ret;
	return derive_registry(ps, o, &facts[0], &facts[1], &facts[2], reg, err, errlen);
}

int unwind_registry_find(const struct process_state *ps, struct unwind_registry *reg,
			 char *err, size_t errlen)
{
	memset(reg, 0, sizeof(*reg));
	for (size_t i = 0; i < ps->nobjects; i++)
		if (is_libgcc_s(&ps->objects[i]))
			return find_in_object(ps, &ps->objects[i], reg, err, errlen);
	snprintf(err, errlen, "process %d has not loaded libgcc_s.so.1", (int)ps->pid);
	return -ENOENT;
}

int unwind_plan_patch(const struct process_state *ps, const struct patch *p,
		      const struct image *img, struct unwind_plan *plan,
		      struct engine_result *r)
{
	char err[384];

	memset(plan, 0, sizeof(*plan));
	/* A table of only the terminator is one that libgcc would not register either. */
	if (p->eh_frame_size <= 4)
		return EXIT_OK;
	int ret = unwind_registry_find(ps, &plan->reg, err, sizeof(err));
	if (ret == -ENOENT) {
		/*
		 * LIMITATION: glibc 2.36 loads libgcc_s on the first pthread_cancel(),
		 * pthread_exit() or backtrace(), and the table of a patch applied
		 * before that stays unregistered.  Only an info line says so, because
		 * for C code built without -fexceptions (the only code that runs
		 * without libgcc_s) glibc reaches cleanup handlers with longjmp, and
		 * only backtrace() is cut short.
		 */
		log_info("process %d has not loaded libgcc_s.so.1, so the patch's unwind table is "
			 "not registered; if it loads it later, backtrace() will not unwind past the "
			 "new code", (int)ps->pid);
		return EXIT_OK;
	}
	if (ret)
		return engine_fail(r, EXIT_UNWINDER, "process %d: %s; not applying, because C++ "
				   "exceptions, thread cancellation and backtrace() could not unwind "
				   "through the new code", (int)ps->pid, err);
	plan->active = 1;
	plan->object = img->part_addr[PATCH_PART_BSS] + p->eh_frame_reg_offset;
	plan->eh_frame = img->part_addr[PATCH_PART_RODATA] + p->eh_frame_offset;
	log_debug("process %d: libgcc_s registry in %s: unseen_objects 0x%" PRIx64
		  ", seen_objects 0x%" PRIx64 ", flag 0x%" PRIx64 ", mutex 0x%" PRIx64,
		  (int)ps->pid, plan->reg.path, plan->reg.unseen_objects, plan->reg.seen_objects,
		  plan->reg.any_registered, plan->reg.mutex);
	return EXIT_OK;
}

int unwind_lock_busy(const struct process_state *ps, const struct thread_set *set,
		     const struct unwind_registry *reg, struct busy_report *busy)
{
	uint8_t mutex[MUTEX_SIZE];
	int32_t lock, owner;

	int ret = proc_mem_read(ps->memfd, reg->mutex, mutex, sizeof(mutex));
	if (ret)
		return ret;
	memcpy(&lock, mutex + MUTEX_LOCK, sizeof(lock));
	memcpy(&owner, mutex + MUTEX_OWNER, sizeof(owner));
	if (lock == 0)
		return 0;
	busy->tid = owner;
	busy->name = "libgcc_s's unwinder with its lock held";
	busy->addr = reg->mutex;
	busy->on_stack = 0;
	for (size_t i = 0; i < set->count; i++)
		if (set->threads[i].tid == owner && set->threads[i].state == THREAD_STOPPED)
			busy->addr = set->threads[i].regs.rip;
	return 1;
}

static int write_record_flags(const struct process_state *ps, uint64_t record_addr,
			      uint32_t set_bits, uint32_t clear_bits)
{
	uint64_t at = record_addr + offsetof(struct record, flags);
	uint32_t flags;

	int ret = proc_mem_read(ps->memfd, at, &flags, sizeof(flags));
	if (ret)
		return ret;
	flags = (flags | set_bits) & ~clear_bits;
	return proc_mem_write(ps->memfd, at, &flags, sizeof(flags));
}

int unwind_register(const struct process_state *ps, const struct unwind_plan *plan,
		    uint64_t record_addr)
{
	const struct unwind_registry *reg = &plan->reg;
	uint8_t object[OBJ_SIZE] = { 0 };
	uint64_t head, all_ones = UINT64_MAX;
	int32_t any;

	/* The flag goes first, so a suture killed from here on leaves a record that
	 * tells recovery to look for the object in libgcc's lists. */
	int ret = write_record_flags(ps, record_addr, RECORD_FLAG_UNWIND, 0);
	if (!ret)
		ret = proc_mem_read(ps->memfd, reg->unseen_objects, &head, sizeof(head));
	if (ret)
		return ret;
	memcpy(object + OBJ_PC_BEGIN, &all_ones, 8);
	memcpy(object + OBJ_SINGLE, &plan->eh_frame, 8);
	memcpy(object + OBJ_S, &reg->encoding_word, 8);
	memcpy(object + OBJ_NEXT, &head, 8);
	ret = proc_mem_write(ps->memfd, plan->object, object, sizeof(object));
	if (!ret)
		ret = proc_mem_write(ps->memfd, reg->unseen_objects, &plan->object, 8);
	if (ret)
		return ret;
	ret = proc_mem_read(ps->memfd, reg->any_registered, &any, sizeof(any));
	if (!ret && !any) {
		any = 1;
		ret = proc_mem_write(ps->memfd, reg->any_registered, &any, sizeof(any));
	}
	if (ret)
		proc_mem_write(ps->memfd, reg->unseen_objects, &head, 8);
	return ret;
}

/* Note the sorted FDE array that libgcc allocated for an object being unlinked. */
static void note_leak(const struct process_state *ps, const uint8_t node[OBJ_SIZE])
{
	uint64_t s = load_u64(node + OBJ_S);

	if (!(s & OBJ_S_SORTED))
		return;
	/* struct fde_vector: orig_data, count, then one pointer per FDE. */
	uint64_t count = (s >> OBJ_S_COUNT_SHIFT) & ((1u << 21) - 1);
	log_info("process %d: libgcc's sorted array of the patch's %" PRIu64 " FDEs (%" PRIu64
		 " bytes of its heap) stays allocated, because freeing it would run the target's "
		 "free()", (int)ps->pid, count, 16 + 8 * count);
}

/* Unlink the nodes in [start, end) from the list whose head is at `head_addr`. */
static int unlink_from_list(const struct process_state *ps, uint64_t head_addr, uint64_t start,
			    uint64_t end, unsigned *removed, unsigned *kept)
{
	uint64_t link = head_addr, node;
	uint8_t bytes[OBJ_SIZE];
	unsigned steps = 0;

	int ret = proc_mem_read(ps->memfd, link, &node, sizeof(node));
	while (!ret && node && steps++ < MAX_LIST_NODES) {
		ret = proc_mem_read(ps->memfd, node, bytes, sizeof(bytes));
		if (ret)
			break;
		uint64_t next = load_u64(bytes + OBJ_NEXT);
		if (node >= start && node < end) {
			note_leak(ps, bytes);
			ret = proc_mem_write(ps->memfd, link, &next, sizeof(next));
			(*removed)++;
		} else {
			link = node + OBJ_NEXT;
			(*kept)++;
		}
		node = next;
	}
	if (!ret && node)
		ret = -ELOOP;
	return ret;
}

int unwind_unregister(const struct process_state *ps, const struct unwind_registry *reg,
		      uint64_t start, uint64_t end, unsigned *removed)
{
	unsigned kept = 0;
	int32_t none = 0;

	*removed = 0;
	int ret = unlink_from_list(ps, reg->unseen_objects, start, end, removed, &kept);
	if (!ret)
		ret = unlink_from_list(ps, reg->seen_objects, start, end, removed, &kept);
	/*
	 * With both lists empty the flag only costs every unwind a lock, and
	 * clearing it gives the same answers: _Unwind_Find_FDE falls back to the
	 * loaded objects' tables either way.
	 */
	if (!ret && *removed && !kept)
		ret = proc_mem_write(ps->memfd, reg->any_registered, &none, sizeof(none));
	return ret;
}

int unwind_prepare_removal(struct process_state *ps, const struct applied_patch *ap,
			   struct unwind_registry *reg, struct engine_result *r)
{
	char err[384];

	ps->unwind_lock = NULL;
	if (!ap->rec || !(ap->rec->flags & RECORD_FLAG_UNWIND))
		return EXIT_OK;
	if (unwind_registry_find(ps, reg, err, sizeof(err)))
		return engine_fail(r, EXIT_UNWINDER, "process %d: the patch's unwind table is "
				   "registered with libgcc_s, but its registry cannot be found (%s); "
				   "the patch stays, because removing it would leave the unwinder "
				   "pointing into unmapped memory", (int)ps->pid, err);
	ps->unwind_lock = reg;
	return EXIT_OK;
}

int unwind_remove(const struct process_state *ps, const struct applied_patch *ap)
{
	unsigned removed = 0;

	if (!ps->unwind_lock || !ap->rec || !(ap->rec->flags & RECORD_FLAG_UNWIND))
		return 0;
	int ret = unwind_unregister(ps, ps->unwind_lock, ap->map_start, ap->map_end, &removed);
	if (!ret)
		ret = write_record_flags(ps, ap->map_start, 0, RECORD_FLAG_UNWIND);
	if (!ret)
		ap->rec->flags &= ~RECORD_FLAG_UNWIND;
	log_debug("process %d: removed %u object(s) from libgcc's unwinder registry", (int)ps->pid,
		  removed);
	return ret;
}
