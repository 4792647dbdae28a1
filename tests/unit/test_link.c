/*
 * Tests of the patch linker.  A small target program and replacement objects
 * are compiled with gcc into a temporary directory when the group starts,
 * then linked, and the tests check the resulting struct patch: parts,
 * functions and relocations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/commands.h"
#include "elf/elf_file.h"
#include "link/link.h"
#include "patch/patch.h"
#include "util/exitcode.h"

static char fixture_dir[] = "/tmp/suture-link-test-XXXXXX";

/* noipa keeps each function whole and under its own name (no clones, no inlining). */
static const char target_c[] =
	"#include <stdio.h>\n"
	"int counter;\n"
	"int __attribute__((noipa)) multiply(int a, int b) { return a * b; }\n"
	"int __attribute__((noipa)) add(int a, int b) { return a + b + counter; }\n"
	"void __attribute__((noipa)) tiny(void) { }\n"
	"static int __attribute__((noipa, used)) scale(int x) { return (x * 3) ^ 0x5a5a5a; }\n"
	"int scale_other(int x);\n"
	"int main(void)\n"
	"{\n"
	"	printf(\"%d\\n\", add(1, 2) + multiply(2, 3) + scale(1) + scale_other(2));\n"
	"	tiny();\n"
	"	return 0;\n"
	"}\n";

static const char other_c[] =
	"static int __attribute__((noipa, used)) scale(int x) { return (x * 5) ^ 0x5a5a5a; }\n"
	"int scale_other(int x) { return scale(x); }\n";

/*
 * The main replacement.  It uses a global of the target (counter), a function
 * of the target (multiply), libc (printf, puts twice), its own static data and
 * a table of function pointers.  Nothing refers to unreachable_global.
 */
static const char fix_c[] =
	"#include <stdio.h>\n"
	"extern int counter;\n"
	"int multiply(int a, int b);\n"
	"int __attribute__((noinline)) helper_used(int x) { return x * 0x1234abcd; }\n"
	"int __attribute__((noinline)) unreachable_global(void) { return 0x5eedf00d; }\n"
	"static const int table[4] = { 11, 22, 33, 44 };\n"
	"static int calls;\n"
	"static int (*const ops[2])(int, int) = { multiply, (int (*)(int, int))helper_used };\n"
	"int add(int a, int b)\n"
	"{\n"
	"	counter++;\n"
	"	calls++;\n"
	"	printf(\"add %d\\n\", a);\n"
	"	puts(\"add called\");\n"
	"	puts(\"again\");\n"
	"	return helper_used(a) + multiply(a, b) + ops[b & 1](a, b) + table[b & 3] + calls;\n"
	"}\n"
	"void tiny(void) { puts(\"tiny\"); }\n";

static const char fix_nopic_c[] =
	"#include <stdio.h>\n"
	"int add(int a, int b) { puts(\"non-PIC\"); return a + b; }\n";

/* opterr lives in libc, which -fPIE code reaches with a PC-relative load. */
static const char fix_piedata_c[] =
	"#include <unistd.h>\n"
	"int add(int a, int b) { return a + b + opterr; }\n";

static const char fix_scale_c[] =
	"int __attribute__((used)) scale(int x) { return x * 7; }\n";

static const char fix_other_scale_c[] =
	"static int __attribute__((used, noinline)) scale(int x) { return x * 9; }\n";

static const char fix_split_a_c[] =
	"int helper2(int x);\n"
	"int add(int a, int b) { return helper2(a) + b; }\n";

static const char fix_split_b_c[] =
	"int helper2(int x) { return x * 0x7777; }\n";

/* With -fcommon both tentative definitions become COMMON symbols. */
static const char fix_common_c[] =
	"int counter;\n"
	"int fresh_common;\n"
	"int add(int a, int b) { counter += a; fresh_common += b; return counter + fresh_common; }\n";

static const char fix_renamed_c[] =
	"int multiply(int a, int b);\n"
	"int multiply_v2(int a, int b) { return a * b + 0x4444; }\n"
	"int add_v2(int a, int b) { return multiply(a, 1) + b + 0x3333; }\n";

/* A C++ replacement whose exception is caught in the same function: an LSDA and a personality. */
static const char fix_cxx_cc[] =
	"#include <stdexcept>\n"
	"extern \"C\" int multiply(int a, int b);\n"
	"extern \"C\" int add(int a, int b)\n"
	"{\n"
	"	try {\n"
	"		if (a < 0)\n"
	"			throw std::runtime_error(\"negative\");\n"
	"		return multiply(a, b);\n"
	"	} catch (const std::runtime_error &) {\n"
	"		return -1;\n"
	"	}\n"
	"}\n";

/*
 * A shared library target and its fix, for the test that loads the patch
 * into this process.  lib_compute(3) returns 3 * 2 + 100 = 106 before the
 * patch.  The replacement keeps using the library's lib_counter and
 * lib_scale, calls snprintf in libc, and counts calls in its own static.
 */
static const char libtarget_c[] =
	"int lib_counter = 100;\n"
	"int __attribute__((noipa)) lib_scale(int x) { return x * 2; }\n"
	"int __attribute__((noipa)) lib_compute(int x) { return lib_scale(x) + lib_counter; }\n";

static const char fix_lib_c[] =
	"#include <stdio.h>\n"
	"extern int lib_counter;\n"
	"int lib_scale(int x);\n"
	"static int calls;\n"
	"static const char greeting[] = \"patched\";\n"
	"int lib_compute(int x)\n"
	"{\n"
	"	char buf[32];\n"
	"	int n = snprintf(buf, sizeof(buf), \"%s-%d\", greeting, x);\n"
	"	calls++;\n"
	"	lib_counter++;\n"
	"	return lib_scale(x) * 10 + n + calls * 1000;\n"
	"}\n";

static int run_command(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static const char *fixture(const char *name)
{
	static char paths[8][256];
	static int next;
	char *path = paths[next++ % 8];

	snprintf(path, sizeof(paths[0]), "%s/%s", fixture_dir, name);
	return path;
}

static int write_text(const char *name, const char *text)
{
	FILE *fp = fopen(fixture(name), "w");

	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

static int build_fixtures(void **state)
{
	static const struct { const char *name, *text; } sources[] = {
		{ "target.c", target_c }, { "other.c", other_c }, { "fix.c", fix_c },
		{ "fix_nopic.c", fix_nopic_c }, { "fix_piedata.c", fix_piedata_c },
		{ "fix_scale.c", fix_scale_c }, { "sub/other.c", fix_other_scale_c },
		{ "fix_split_a.c", fix_split_a_c }, { "fix_split_b.c", fix_split_b_c },
		{ "fix_common.c", fix_common_c }, { "fix_renamed.c", fix_renamed_c },
		{ "libtarget.c", libtarget_c }, { "fix_lib.c", fix_lib_c },
		{ "fix_cxx.cc", fix_cxx_cc },
	};

	(void)state;
	if (!mkdtemp(fixture_dir) || run_command("mkdir %s/sub", fixture_dir) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (write_text(sources[i].name, sources[i].text) != 0)
			return -1;
	}
	return run_command(
		"cd %s && T='-O2 -fcf-protection=none -g0' && "
		"P='-O2 -fcf-protection=none -g0 -fPIC -ffunction-sections -fdata-sections -c' && "
		"gcc $T -o target target.c other.c && "
		"gcc $T -Wl,--build-id=none -o target-noid target.c other.c && "
		"gcc $P -o fix.o fix.c && "
		"gcc -O2 -fcf-protection=none -fno-pic -c -o fix_nopic.o fix_nopic.c && "
		"gcc -O2 -fcf-protection=none -fPIE -c -o fix_piedata.o fix_piedata.c && "
		"gcc $P -o fix_scale.o fix_scale.c && "
		"(cd sub && gcc $P -o ../fix_other_scale.o other.c) && "
		"gcc $P -o fix_split_a.o fix_split_a.c && "
		"gcc $P -o fix_split_b.o fix_split_b.c && "
		"gcc $P -fcommon -o fix_common.o fix_common.c && "
		"gcc $P -o fix_renamed.o fix_renamed.c && "
		"gcc $T -fPIC -shared -Wl,--build-id -o libtarget.so libtarget.c && "
		"gcc $P -o fix_lib.o fix_lib.c && "
		"g++ $P -o fix_cxx.o fix_cxx.cc && "
		"gcc $P -fno-asynchronous-unwind-tables -o fix_nounwind.o fix_scale.c",
		fixture_dir) == 0 ? 0 : -1;
}

static int remove_fixtures(void **state)
{
	(void)state;
	run_command("rm -rf %s", fixture_dir);
	return 0;
}

/*
 * Link `objects` (names in the fixture directory) against `target_name`.
 * `replace_specs` contains --replace arguments separated by commas.
 */
static int link_fixture(const char *target_name, const char *const *objects, size_t nobjects,
			const char *replace_specs, struct patch *p, struct link_error *err)
{
	char objects_path[4][256];
	const char *object_paths[4];
	char target_path[256], specs[128];
	char *spec, *saveptr = NULL;
	struct link_replacement reps[4];
	struct link_input in = {
		.target_path = target_path, .object_paths = object_paths,
		.nobjects = nobjects, .replacements = reps,
	};

	assert_true(nobjects <= 4);
	snprintf(target_path, sizeof(target_path), "%s/%s", fixture_dir, target_name);
	for (size_t i = 0; i < nobjects; i++) {
		snprintf(objects_path[i], sizeof(objects_path[i]), "%s/%s", fixture_dir, objects[i]);
		object_paths[i] = objects_path[i];
	}
	snprintf(specs, sizeof(specs), "%s", replace_specs);
	for (spec = strtok_r(specs, ",", &saveptr); spec; spec = strtok_r(NULL, ",", &saveptr)) {
		assert_true(in.nreplacements < 4);
		assert_int_equal(link_parse_replacement(spec, &reps[in.nreplacements]), 0);
		in.nreplacements++;
	}
	memset(p, 0, sizeof(*p));
	return link_patch(&in, p, err);
}

static void link_main_fix(struct patch *p)
{
	static const char *const objects[] = { "fix.o" };
	struct link_error err;

	assert_int_equal(link_fixture("target", objects, 1, "add", p, &err), 0);
	assert_int_equal(err.kind, LINK_ERR_NONE);
}

static struct elf_symbol target_symbol(const char *name, const char *file_hint)
{
	struct elf_file *f = NULL;
	struct elf_symbol sym;

	assert_int_equal(elf_file_open(fixture("target"), &f), 0);
	assert_int_equal(elf_file_lookup_symbol(f, name, file_hint, &sym), 0);
	sym.name = NULL; /* points into the closed file */
	sym.file = NULL;
	elf_file_close(f);
	return sym;
}

static int part_contains(const struct patch *p, enum patch_part part, const void *bytes,
			 size_t len)
{
	return p->part_data[part] && memmem(p->part_data[part], p->part_size[part], bytes, len);
}

/* Return the index of the slot relocation (ABS64 in RODATA) for a symbol, or -1. */
static long find_symbol_slot(const struct patch *p, const char *symbol, size_t *count)
{
	long found = -1;

	*count = 0;
	for (size_t i = 0; i < p->nrelocs; i++) {
		const struct patch_reloc *r = &p->relocs[i];

		if (r->target_kind == PATCH_TARGET_SYMBOL && strcmp(r->symbol, symbol) == 0) {
			found = (long)i;
			(*count)++;
		}
	}
	return found;
}

/* Count relocations of `part` whose target is offset `target` of the patch part `target_part`. */
static size_t count_refs_to(const struct patch *p, enum patch_part part,
			    enum patch_part target_part, uint64_t target)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nrelocs; i++) {
		const struct patch_reloc *r = &p->relocs[i];

		if (r->part == part && r->target_kind == PATCH_TARGET_PATCH &&
		    r->target_part == target_part && r->target == target)
			n++;
	}
	return n;
}

static long find_object_reloc(const struct patch *p, enum patch_part part, uint8_t type,
			      uint64_t vaddr)
{
	for (size_t i = 0; i < p->nrelocs; i++) {
		const struct patch_reloc *r = &p->relocs[i];

		if (r->part == part && r->type == type && r->target_kind == PATCH_TARGET_OBJECT &&
		    r->target == vaddr)
			return (long)i;
	}
	return -1;
}

static void link_header_identifies_target(void **state)
{
	struct patch p;
	struct elf_file *f = NULL;
	uint8_t id[64];
	size_t len;
	char reason[256];

	(void)state;
	link_main_fix(&p);
	assert_int_equal(elf_file_open(fixture("target"), &f), 0);
	assert_int_equal(elf_file_build_id(f, id, sizeof(id), &len), 0);
	elf_file_close(f);
	assert_int_equal(p.version, PATCH_FORMAT_VERSION);
	assert_int_equal(p.build_id_len, len);
	assert_memory_equal(p.build_id, id, len);
	assert_string_equal(p.object_name, "target");
	assert_null(p.name);
	assert_int_equal(patch_validate(&p, reason, sizeof(reason)), 0);
	patch_free(&p);
}

static void link_function_describes_old_and_new(void **state)
{
	struct elf_symbol old = target_symbol("add", NULL);
	struct elf_file *f = NULL;
	struct elf_symbol new_sym;
	uint8_t *bytes, hash[32];
	struct patch p;

	(void)state;
	link_main_fix(&p);
	assert_int_equal(p.nfuncs, 1);
	assert_string_equal(p.funcs[0].name, "add");
	assert_int_equal(p.funcs[0].old_addr, old.value);
	assert_int_equal(p.funcs[0].old_size, old.size);

	assert_int_equal(elf_file_open(fixture("target"), &f), 0);
	bytes = malloc(old.size);
	assert_non_null(bytes);
	assert_int_equal(elf_file_read(f, old.value, bytes, old.size), 0);
	crypto_hash_sha256(hash, bytes, old.size);
	assert_memory_equal(p.funcs[0].old_sha256, hash, 32);
	free(bytes);
	elf_file_close(f);

	assert_int_equal(elf_file_open(fixture("fix.o"), &f), 0);
	assert_int_equal(elf_file_lookup_symbol(f, "add", NULL, &new_sym), 0);
	assert_int_equal(p.funcs[0].new_size, new_sym.size);
	assert_true(p.funcs[0].new_offset + p.funcs[0].new_size <= p.part_size[PATCH_PART_TEXT]);
	elf_file_close(f);
	patch_free(&p);
}

static void link_leaves_out_unreachable_code(void **state)
{
	static const uint8_t reachable_imm[] = { 0xcd, 0xab, 0x34, 0x12 };
	static const uint8_t unreachable_imm[] = { 0x0d, 0xf0, 0xed, 0x5e };
	struct patch p;

	(void)state;
	link_main_fix(&p);
	assert_true(part_contains(&p, PATCH_PART_TEXT, reachable_imm, sizeof(reachable_imm)));
	assert_false(part_contains(&p, PATCH_PART_TEXT, unreachable_imm, sizeof(unreachable_imm)));
	patch_free(&p);
}

static void link_places_data_in_parts(void **state)
{
	static const int table[4] = { 11, 22, 33, 44 };
	struct patch p;

	(void)state;
	link_main_fix(&p);
	assert_true(part_contains(&p, PATCH_PART_RODATA, table, sizeof(table)));
	assert_true(part_contains(&p, PATCH_PART_RODATA, "add called", 11));
	assert_true(part_contains(&p, PATCH_PART_RODATA, "add %d\n", 8));
	/* static int calls is zero-initialised, so it goes to BSS. */
	assert_true(p.part_size[PATCH_PART_BSS] >= sizeof(int));
	assert_null(p.part_data[PATCH_PART_BSS]);
	patch_free(&p);
}

/* Check the stub and slot that route calls of `symbol`, and return the call sites. */
static size_t check_stub_for(const struct patch *p, const char *symbol)
{
	size_t nslots;
	long slot = find_symbol_slot(p, symbol, &nslots);
	const struct patch_reloc *slot_rel, *stub_rel = NULL;
	uint64_t stub;

	assert_int_equal(nslots, 1);
	assert_true(slot >= 0);
	slot_rel = &p->relocs[slot];
	assert_int_equal(slot_rel->part, PATCH_PART_RODATA);
	assert_int_equal(slot_rel->type, PATCH_RELOC_ABS64);
	assert_int_equal(slot_rel->addend, 0);

	/* The stub's disp32 is the relocation that points at the slot from TEXT. */
	for (size_t i = 0; i < p->nrelocs; i++) {
		const struct patch_reloc *r = &p->relocs[i];

		if (r->part == PATCH_PART_TEXT && r->target_kind == PATCH_TARGET_PATCH &&
		    r->target_part == PATCH_PART_RODATA && r->target == slot_rel->offset &&
		    r->offset >= 2 && p->part_data[PATCH_PART_TEXT][r->offset - 2] == 0xff)
			stub_rel = r;
	}
	assert_non_null(stub_rel);
	assert_int_equal(stub_rel->type, PATCH_RELOC_PC32);
	assert_int_equal(stub_rel->addend, -4);
	stub = stub_rel->offset - 2;
	assert_int_equal(p->part_data[PATCH_PART_TEXT][stub], 0xff);
	assert_int_equal(p->part_data[PATCH_PART_TEXT][stub + 1], 0x25);
	return count_refs_to(p, PATCH_PART_TEXT, PATCH_PART_TEXT, stub);
}

static void link_routes_libc_calls_through_stubs(void **state)
{
	struct patch p;

	(void)state;
	link_main_fix(&p);
	/* One stub and one slot per function, however many calls use them.  The
	 * names carry the version the target's libc defines as default, which
	 * is GLIBC_2.2.5 for both on x86-64. */
	assert_int_equal(check_stub_for(&p, "puts@GLIBC_2.2.5"), 2);
	assert_int_equal(check_stub_for(&p, "printf@GLIBC_2.2.5"), 1);
	patch_free(&p);
}

static void link_loads_target_global_from_slot(void **state)
{
	struct elf_symbol counter = target_symbol("counter", NULL);
	struct patch p;
	long slot;

	(void)state;
	link_main_fix(&p);
	slot = find_object_reloc(&p, PATCH_PART_RODATA, PATCH_RELOC_ABS64, counter.value);
	assert_true(slot >= 0);
	assert_int_equal(p.relocs[slot].addend, 0);
	assert_int_equal(p.relocs[slot].offset % 8, 0);
	/* The GOT load in add now reads the slot. */
	assert_int_equal(count_refs_to(&p, PATCH_PART_TEXT, PATCH_PART_RODATA,
				       p.relocs[slot].offset), 1);
	patch_free(&p);
}

static void link_calls_target_function_directly(void **state)
{
	struct elf_symbol multiply = target_symbol("multiply", NULL);
	struct patch p;
	long call, table_entry;

	(void)state;
	link_main_fix(&p);
	/* multiply is not replaced, so add and the ops table use the target's copy. */
	call = find_object_reloc(&p, PATCH_PART_TEXT, PATCH_RELOC_PC32, multiply.value);
	table_entry = find_object_reloc(&p, PATCH_PART_RODATA, PATCH_RELOC_ABS64,
					multiply.value);
	assert_true(call >= 0);
	assert_int_equal(p.relocs[call].addend, -4);
	assert_true(table_entry >= 0);
	assert_int_equal(p.relocs[table_entry].addend, 0);
	patch_free(&p);
}

static void link_binds_own_symbols_to_patch(void **state)
{
	struct patch p;
	size_t text_refs = 0, bss_refs = 0, rodata_refs = 0;

	(void)state;
	link_main_fix(&p);
	for (size_t i = 0; i < p.nrelocs; i++) {
		const struct patch_reloc *r = &p.relocs[i];

		assert_true(r->offset < p.part_size[r->part]);
		if (r->target_kind != PATCH_TARGET_PATCH)
			continue;
		assert_true(r->target < p.part_size[r->target_part]);
		if (r->part == PATCH_PART_TEXT && r->target_part == PATCH_PART_BSS)
			bss_refs++;
		if (r->part == PATCH_PART_TEXT && r->target_part == PATCH_PART_TEXT)
			text_refs++;
		if (r->part == PATCH_PART_RODATA && r->target_part == PATCH_PART_TEXT &&
		    r->type == PATCH_RELOC_ABS64)
			rodata_refs++;
	}
	assert_int_equal(bss_refs, 2);    /* calls++ reads and writes it */
	assert_true(text_refs >= 4);      /* helper_used, puts twice, printf */
	assert_int_equal(rodata_refs, 1); /* ops[1] = helper_used */
	patch_free(&p);
}

static void link_is_deterministic(void **state)
{
	struct patch a, b;
	uint8_t *bytes_a, *bytes_b;
	size_t len_a, len_b;

	(void)state;
	link_main_fix(&a);
	link_main_fix(&b);
	assert_int_equal(patch_serialize(&a, &bytes_a, &len_a), 0);
	assert_int_equal(patch_serialize(&b, &bytes_b, &len_b), 0);
	assert_int_equal(len_a, len_b);
	assert_memory_equal(bytes_a, bytes_b, len_a);
	free(bytes_a);
	free(bytes_b);
	patch_free(&a);
	patch_free(&b);
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The relocation whose place is `offset` in `part`, or NULL. */
static const struct patch_reloc *reloc_at(const struct patch *p, enum patch_part part,
					  uint64_t offset)
{
	for (size_t i = 0; i < p->nrelocs; i++)
		if (p->relocs[i].part == part && p->relocs[i].offset == offset)
			return &p->relocs[i];
	return NULL;
}

/* Check the table's layout, and count its FDEs and the FDEs with an LSDA pointer. */
static void walk_eh_frame(const struct patch *p, size_t *fdes, size_t *cies)
{
	const uint8_t *table = p->part_data[PATCH_PART_RODATA] + p->eh_frame_offset;
	uint64_t at = 0;

	*fdes = *cies = 0;
	assert_true(p->eh_frame_size > 4);
	assert_true(p->eh_frame_offset + p->eh_frame_size <= p->part_size[PATCH_PART_RODATA]);
	assert_int_equal(p->eh_frame_offset % 8, 0);
	for (;;) {
		uint32_t length = load_le32(table + at);

		if (length == 0)
			break;
		uint32_t id = load_le32(table + at + 4);
		if (id == 0) {
			(*cies)++;
		} else {
			/* The CIE pointer leads back to a CIE of this table. */
			assert_true(id <= at + 4);
			assert_int_equal(load_le32(table + at + 4 - id + 4), 0);
			/* pc_begin is relocated to the new code. */
			const struct patch_reloc *r = reloc_at(p, PATCH_PART_RODATA,
							       p->eh_frame_offset + at + 8);
			assert_non_null(r);
			assert_int_equal(r->type, PATCH_RELOC_PC32);
			assert_int_equal(r->target_kind, PATCH_TARGET_PATCH);
			assert_int_equal(r->target_part, PATCH_PART_TEXT);
			(*fdes)++;
		}
		at += 4 + (uint64_t)length;
		assert_true(at + 4 <= p->eh_frame_size);
	}
	assert_int_equal(at + 4, p->eh_frame_size);
	assert_int_equal(p->eh_frame_reg_size, PATCH_EH_FRAME_REG_SIZE);
	assert_int_equal(p->eh_frame_reg_offset % 8, 0);
	assert_true(p->eh_frame_reg_offset + p->eh_frame_reg_size <= p->part_size[PATCH_PART_BSS]);
}

static void link_copies_fdes_of_included_code(void **state)
{
	struct patch p;
	size_t fdes, cies, entry_fdes = 0;

	(void)state;
	link_main_fix(&p);
	walk_eh_frame(&p, &fdes, &cies);
	/* add and helper_used, and not unreachable_global; one shared CIE. */
	assert_int_equal(fdes, 2);
	assert_int_equal(cies, 1);
	for (size_t i = 0; i < p.nrelocs; i++) {
		const struct patch_reloc *r = &p.relocs[i];
		if (r->part == PATCH_PART_RODATA && r->offset >= p.eh_frame_offset &&
		    r->offset < p.eh_frame_offset + p.eh_frame_size &&
		    r->target_part == PATCH_PART_TEXT && r->target == p.funcs[0].new_offset)
			entry_fdes++;
	}
	assert_int_equal(entry_fdes, 1);
	patch_free(&p);
}

static void link_carries_lsda_and_personality(void **state)
{
	static const char *const objects[] = { "fix_cxx.o" };
	const struct patch_reloc *personality = NULL, *lsda = NULL, *slot = NULL;
	struct link_error err;
	struct patch p;
	size_t fdes, cies;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "add", &p, &err), 0);
	walk_eh_frame(&p, &fdes, &cies);
	/* add, and add.cold, which gcc splits off into .text.unlikely.add. */
	assert_int_equal(fdes, 2);
	/* Besides pc_begin: the CIE's personality pointer goes to DW.ref in DATA,
	 * and the FDE's LSDA pointer to .gcc_except_table in RODATA. */
	for (size_t i = 0; i < p.nrelocs; i++) {
		const struct patch_reloc *r = &p.relocs[i];
		if (r->part != PATCH_PART_RODATA || r->offset < p.eh_frame_offset ||
		    r->offset >= p.eh_frame_offset + p.eh_frame_size ||
		    r->target_part == PATCH_PART_TEXT)
			continue;
		if (r->target_part == PATCH_PART_DATA)
			personality = r;
		else if (r->target_part == PATCH_PART_RODATA)
			lsda = r;
	}
	assert_non_null(personality);
	assert_non_null(lsda);
	assert_true(lsda->target < p.eh_frame_offset);
	/* An LSDA starts with the LPStart encoding, DW_EH_PE_omit for gcc. */
	assert_int_equal(p.part_data[PATCH_PART_RODATA][lsda->target], 0xff);
	slot = reloc_at(&p, PATCH_PART_DATA, personality->target);
	assert_non_null(slot);
	assert_int_equal(slot->type, PATCH_RELOC_ABS64);
	assert_int_equal(slot->target_kind, PATCH_TARGET_SYMBOL);
	assert_string_equal(slot->symbol, "__gxx_personality_v0");
	patch_free(&p);
}

static void link_selective_copies_personality_pointer(void **state)
{
	const char *object_paths[1] = { fixture("fix_cxx.o") };
	struct link_replacement rep = { .old_name = "add", .new_name = "add" };
	struct link_input in = {
		.target_path = fixture("target"), .object_paths = object_paths, .nobjects = 1,
		.replacements = &rep, .nreplacements = 1, .selective = 1,
	};
	struct link_error err;
	struct patch p;
	size_t fdes, cies;

	(void)state;
	memset(&p, 0, sizeof(p));
	/* DW.ref.__gxx_personality_v0 is a variable the target has no global of. */
	assert_int_equal(link_patch(&in, &p, &err), 0);
	walk_eh_frame(&p, &fdes, &cies);
	assert_int_equal(fdes, 2);
	assert_true(p.part_size[PATCH_PART_DATA] >= 8);
	patch_free(&p);
}

static void link_without_unwind_tables(void **state)
{
	static const char *const objects[] = { "fix_nounwind.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "other.c:scale", &p, &err), 0);
	assert_int_equal(p.eh_frame_size, 0);
	assert_int_equal(p.eh_frame_offset, 0);
	assert_int_equal(p.eh_frame_reg_size, 0);
	assert_int_equal(p.part_size[PATCH_PART_BSS], 0);
	patch_free(&p);
}

static void link_rejects_short_function(void **state)
{
	static const char *const objects[] = { "fix.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "tiny", &p, &err), -ERANGE);
	assert_int_equal(err.kind, LINK_ERR_FUNCTION);
	assert_string_equal(err.message,
			    "function tiny is 1 bytes, shorter than the 5-byte jump");
	assert_null(p.funcs);
}

static void link_rejects_missing_function(void **state)
{
	static const char *const objects[] = { "fix.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "nosuch=add", &p, &err), -ENOENT);
	assert_int_equal(err.kind, LINK_ERR_FUNCTION);
	assert_string_equal(err.message, "function nosuch not found in target");

	assert_int_equal(link_fixture("target", objects, 1, "add=nosuch", &p, &err), -ENOENT);
	assert_int_equal(err.kind, LINK_ERR_FUNCTION);
	assert_non_null(strstr(err.message, "function nosuch not found in the objects"));
}

static void link_rejects_non_pic_object(void **state)
{
	static const char *const objects[] = { "fix_nopic.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "add", &p, &err), -EOPNOTSUPP);
	assert_int_equal(err.kind, LINK_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.message, "R_X86_64_32 at .text+0x"));
	assert_non_null(strstr(err.message, "compile the replacement with -fPIC"));
}

static void link_rejects_pc32_to_foreign_data(void **state)
{
	static const char *const objects[] = { "fix_piedata.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "add", &p, &err), -EOPNOTSUPP);
	assert_int_equal(err.kind, LINK_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.message, "R_X86_64_PC32"));
	assert_non_null(strstr(err.message, "refers to data outside the target"));
	assert_non_null(strstr(err.message, "-fPIC"));
}

static void link_rejects_target_without_build_id(void **state)
{
	static const char *const objects[] = { "fix.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target-noid", objects, 1, "add", &p, &err), -ENOENT);
	assert_int_equal(err.kind, LINK_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.message, "has no GNU build-id"));
}

static void link_ambiguous_static_needs_file(void **state)
{
	static const char *const objects[] = { "fix_scale.o" };
	struct elf_symbol in_other = target_symbol("scale", "other.c");
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "scale", &p, &err), -ENOTUNIQ);
	assert_int_equal(err.kind, LINK_ERR_FUNCTION);
	assert_non_null(strstr(err.message, "(target.c, other.c)"));
	assert_non_null(strstr(err.message, "FILE:scale"));

	assert_int_equal(link_fixture("target", objects, 1, "other.c:scale", &p, &err), 0);
	assert_int_equal(p.funcs[0].old_addr, in_other.value);
	patch_free(&p);
}

static void link_static_uses_object_source_name(void **state)
{
	static const char *const objects[] = { "fix_other_scale.o" };
	struct elf_symbol in_other = target_symbol("scale", "other.c");
	struct link_error err;
	struct patch p;

	(void)state;
	/* The object was compiled from a file named other.c, which picks that scale. */
	assert_int_equal(link_fixture("target", objects, 1, "scale", &p, &err), 0);
	assert_int_equal(p.funcs[0].old_addr, in_other.value);
	patch_free(&p);
}

static void link_binds_across_objects(void **state)
{
	static const char *const objects[] = { "fix_split_a.o", "fix_split_b.o" };
	/* helper2 compiles to imul $0x7777, %edi, %eax: 69 c7 imm32. */
	static const uint8_t helper_code[] = { 0x69, 0xc7, 0x77, 0x77, 0x00, 0x00 };
	struct link_error err;
	struct patch p;
	const uint8_t *helper;
	uint64_t helper_offset;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 2, "add", &p, &err), 0);
	helper = memmem(p.part_data[PATCH_PART_TEXT], p.part_size[PATCH_PART_TEXT],
			helper_code, sizeof(helper_code));
	assert_non_null(helper);
	helper_offset = (uint64_t)(helper - p.part_data[PATCH_PART_TEXT]);
	assert_int_equal(count_refs_to(&p, PATCH_PART_TEXT, PATCH_PART_TEXT, helper_offset), 1);
	patch_free(&p);
}

static void link_shares_or_allocates_common(void **state)
{
	static const char *const objects[] = { "fix_common.o" };
	struct elf_symbol counter = target_symbol("counter", NULL);
	struct link_error err;
	struct patch p;
	size_t bss_slots = 0;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "add", &p, &err), 0);
	/* counter is COMMON in the object but defined by the target: shared. */
	assert_true(find_object_reloc(&p, PATCH_PART_RODATA, PATCH_RELOC_ABS64,
				      counter.value) >= 0);
	/* fresh_common exists nowhere else, so it gets space in the patch's BSS. */
	for (size_t i = 0; i < p.nrelocs; i++) {
		if (p.relocs[i].part == PATCH_PART_RODATA && p.relocs[i].type == PATCH_RELOC_ABS64 &&
		    p.relocs[i].target_kind == PATCH_TARGET_PATCH &&
		    p.relocs[i].target_part == PATCH_PART_BSS)
			bss_slots++;
	}
	assert_int_equal(bss_slots, 1);
	/* BSS holds fresh_common, then the space for registering the unwind table. */
	assert_int_equal(p.eh_frame_reg_offset, 8);
	assert_int_equal(p.part_size[PATCH_PART_BSS], 8 + PATCH_EH_FRAME_REG_SIZE);
	patch_free(&p);
}

static void link_replaced_callee_goes_through_target(void **state)
{
	static const char *const objects[] = { "fix_renamed.o" };
	struct elf_symbol multiply = target_symbol("multiply", NULL);
	struct link_error err;
	struct patch p;
	size_t unused;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "add=add_v2,multiply=multiply_v2",
				      &p, &err), 0);
	assert_int_equal(p.nfuncs, 2);
	assert_string_equal(p.funcs[0].name, "add");
	assert_string_equal(p.funcs[1].name, "multiply");
	/* add_v2 calls multiply, which the objects do not define: the target's entry jumps on. */
	assert_true(find_object_reloc(&p, PATCH_PART_TEXT, PATCH_RELOC_PC32,
				      multiply.value) >= 0);
	assert_int_equal(find_symbol_slot(&p, "multiply", &unused), -1);
	patch_free(&p);
}

static void link_rejects_function_replaced_twice(void **state)
{
	static const char *const objects[] = { "fix.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 1, "add,add", &p, &err), -EEXIST);
	assert_int_equal(err.kind, LINK_ERR_FUNCTION);
	assert_non_null(strstr(err.message, "function add is replaced twice"));
}

static void link_rejects_duplicate_definition(void **state)
{
	static const char *const objects[] = { "fix_split_a.o", "fix_split_b.o", "fix_split_b.o" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("target", objects, 3, "add", &p, &err), -EEXIST);
	assert_int_equal(err.kind, LINK_ERR_BUILD);
	assert_non_null(strstr(err.message, "symbol helper2 is defined in both"));
}

static void link_rejects_missing_files(void **state)
{
	static const char *const objects[] = { "fix.o" };
	static const char *const missing[] = { "no-such.o" };
	static const char *const not_relocatable[] = { "target" };
	struct link_error err;
	struct patch p;

	(void)state;
	assert_int_equal(link_fixture("no-such-target", objects, 1, "add", &p, &err), -ENOENT);
	assert_int_equal(err.kind, LINK_ERR_INPUT);
	assert_int_equal(link_fixture("target", missing, 1, "add", &p, &err), -ENOENT);
	assert_int_equal(err.kind, LINK_ERR_INPUT);
	assert_int_equal(link_fixture("target", not_relocatable, 1, "add", &p, &err), -EINVAL);
	assert_int_equal(err.kind, LINK_ERR_INPUT);
	assert_non_null(strstr(err.message, "is not a relocatable object"));
}

/* Map the parts of `p` page-aligned into one region within +-2 GiB of `near`. */
static uint8_t *map_parts_near(const struct patch *p, uintptr_t near, uint64_t offsets[],
			       size_t *total)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t step = 16 << 20;

	*total = 0;
	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		offsets[part] = *total;
		*total += (p->part_size[part] + page - 1) / page * page;
	}
	for (uintptr_t addr = near - step; addr > near - (1UL << 30); addr -= step) {
		void *m = mmap((void *)addr, *total, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (m != MAP_FAILED)
			return m;
	}
	fail_msg("no free address range below %#lx", (unsigned long)near);
	return NULL;
}

/* Write one relocation as the apply engine would, with `bias` as the library's load bias. */
static void write_reloc(const struct patch_reloc *r, uint8_t *base, const uint64_t offsets[],
			uintptr_t bias)
{
	uint8_t *place = base + offsets[r->part] + r->offset;
	uint64_t s = 0;
	int64_t pc32;

	if (r->target_kind == PATCH_TARGET_PATCH)
		s = (uint64_t)(uintptr_t)base + offsets[r->target_part] + r->target;
	else if (r->target_kind == PATCH_TARGET_OBJECT)
		s = bias + r->target;
	else
		s = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, r->symbol);
	assert_true(s != 0);
	if (r->type == PATCH_RELOC_ABS64) {
		uint64_t value = s + (uint64_t)r->addend;

		memcpy(place, &value, sizeof(value));
		return;
	}
	pc32 = (int64_t)(s + (uint64_t)r->addend - (uint64_t)(uintptr_t)place);
	assert_true(pc32 >= INT32_MIN && pc32 <= INT32_MAX);
	memcpy(place, &(int32_t){ (int32_t)pc32 }, 4);
}

/* Check the original bytes and write jmp rel32 from the old entry to the new code. */
static void write_jump(const struct patch_func *f, uintptr_t bias, const uint8_t *text)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *entry = (uint8_t *)(bias + f->old_addr), hash[32];
	uintptr_t first_page = (uintptr_t)entry & ~(page - 1);
	size_t span = ((uintptr_t)entry + PATCH_JUMP_SIZE - first_page + page - 1) / page * page;
	int64_t rel = (int64_t)((uintptr_t)text + f->new_offset -
				((uintptr_t)entry + PATCH_JUMP_SIZE));

	crypto_hash_sha256(hash, entry, f->old_size);
	assert_memory_equal(hash, f->old_sha256, 32);
	assert_true(rel >= INT32_MIN && rel <= INT32_MAX);
	assert_int_equal(mprotect((void *)first_page, span, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	entry[0] = 0xe9;
	memcpy(entry + 1, &(int32_t){ (int32_t)rel }, 4);
	assert_int_equal(mprotect((void *)first_page, span, PROT_READ | PROT_EXEC), 0);
}

static void patch_loaded_in_process_runs(void **state)
{
	static const char *const objects[] = { "fix_lib.o" };
	static const int part_prot[PATCH_PART_COUNT] = {
		PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
	};
	struct link_map *map = NULL;
	struct link_error err;
	struct patch p;
	uint64_t offsets[PATCH_PART_COUNT];
	size_t page = (size_t)sysconf(_SC_PAGESIZE), total;
	uint8_t *base;
	void *lib;
	int (*compute)(int);
	int *counter;

	(void)state;
	lib = dlopen(fixture("libtarget.so"), RTLD_NOW | RTLD_LOCAL);
	assert_non_null(lib);
	assert_int_equal(dlinfo(lib, RTLD_DI_LINKMAP, &map), 0);
	compute = (int (*)(int))dlsym(lib, "lib_compute");
	counter = dlsym(lib, "lib_counter");
	assert_non_null(compute);
	assert_non_null(counter);
	assert_int_equal(compute(3), 106);

	assert_int_equal(link_fixture("libtarget.so", objects, 1, "lib_compute", &p, &err), 0);
	base = map_parts_near(&p, (uintptr_t)map->l_addr, offsets, &total);
	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		if (p.part_data[part])
			memcpy(base + offsets[part], p.part_data[part], p.part_size[part]);
	}
	for (size_t i = 0; i < p.nrelocs; i++)
		write_reloc(&p.relocs[i], base, offsets, (uintptr_t)map->l_addr);
	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		size_t len = (p.part_size[part] + page - 1) / page * page;

		if (len > 0)
			assert_int_equal(mprotect(base + offsets[part], len, part_prot[part]), 0);
	}
	write_jump(&p.funcs[0], (uintptr_t)map->l_addr, base + offsets[PATCH_PART_TEXT]);

	/* 3 * 2 * 10 + strlen("patched-3") + calls * 1000, and the library's counter moves. */
	assert_int_equal(compute(3), 60 + 9 + 1000);
	assert_int_equal(*counter, 101);
	assert_int_equal(compute(3), 60 + 9 + 2000);
	assert_int_equal(*counter, 102);

	patch_free(&p);
	dlclose(lib);
	munmap(base, total);
}

static void parse_replacement_forms(void **state)
{
	struct link_replacement rep;
	char plain[] = "f", renamed[] = "f=g", with_file[] = "a.c:f=g";
	char empty_new[] = "f=", empty_old[] = "=g", empty_file[] = ":f";

	(void)state;
	assert_int_equal(link_parse_replacement(plain, &rep), 0);
	assert_string_equal(rep.old_name, "f");
	assert_string_equal(rep.new_name, "f");
	assert_null(rep.file_hint);
	assert_int_equal(link_parse_replacement(renamed, &rep), 0);
	assert_string_equal(rep.old_name, "f");
	assert_string_equal(rep.new_name, "g");
	assert_int_equal(link_parse_replacement(with_file, &rep), 0);
	assert_string_equal(rep.file_hint, "a.c");
	assert_string_equal(rep.old_name, "f");
	assert_string_equal(rep.new_name, "g");
	assert_int_equal(link_parse_replacement(empty_new, &rep), -EINVAL);
	assert_int_equal(link_parse_replacement(empty_old, &rep), -EINVAL);
	assert_int_equal(link_parse_replacement(empty_file, &rep), -EINVAL);
}

static int run_mkpatch(const char *replace, const char *output)
{
	char target[256], object[256], out[256], spec[64];
	char *argv[] = { "mkpatch", "--target", target, "--object", object, "--replace", spec,
			 "--name", "fix-add", "--cve", "CVE-2024-12345", "-o", out, NULL };

	snprintf(target, sizeof(target), "%s/target", fixture_dir);
	snprintf(object, sizeof(object), "%s/fix.o", fixture_dir);
	snprintf(out, sizeof(out), "%s/%s", fixture_dir, output);
	snprintf(spec, sizeof(spec), "%s", replace);
	return cmd_mkpatch((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
}

static void mkpatch_writes_readable_file(void **state)
{
	struct patch p = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(run_mkpatch("add", "add.suture"), EXIT_OK);
	assert_int_equal(patch_read_file(fixture("add.suture"), &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "fix-add");
	assert_int_equal(p.ncves, 1);
	assert_string_equal(p.cves[0], "CVE-2024-12345");
	assert_int_equal(p.nfuncs, 1);
	assert_string_equal(p.funcs[0].name, "add");
	patch_free(&p);
}

static void mkpatch_exit_codes(void **state)
{
	char *no_target[] = { "mkpatch", "--object", "x.o", "--replace", "f", "-o", "x", NULL };
	char *bad_cve[] = { "mkpatch", "--cve", "2024-1", NULL };

	(void)state;
	assert_int_equal(run_mkpatch("tiny", "tiny.suture"), EXIT_FUNCTION);
	assert_int_equal(run_mkpatch("nosuch=add", "nosuch.suture"), EXIT_FUNCTION);
	assert_int_equal(run_mkpatch("=add", "bad.suture"), EXIT_USAGE);
	assert_int_equal(cmd_mkpatch(7, no_target), EXIT_USAGE);
	assert_int_equal(cmd_mkpatch(3, bad_cve), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(link_header_identifies_target),
		cmocka_unit_test(link_function_describes_old_and_new),
		cmocka_unit_test(link_leaves_out_unreachable_code),
		cmocka_unit_test(link_places_data_in_parts),
		cmocka_unit_test(link_routes_libc_calls_through_stubs),
		cmocka_unit_test(link_loads_target_global_from_slot),
		cmocka_unit_test(link_calls_target_function_directly),
		cmocka_unit_test(link_binds_own_symbols_to_patch),
		cmocka_unit_test(link_is_deterministic),
		cmocka_unit_test(link_copies_fdes_of_included_code),
		cmocka_unit_test(link_carries_lsda_and_personality),
		cmocka_unit_test(link_selective_copies_personality_pointer),
		cmocka_unit_test(link_without_unwind_tables),
		cmocka_unit_test(link_rejects_short_function),
		cmocka_unit_test(link_rejects_missing_function),
		cmocka_unit_test(link_rejects_non_pic_object),
		cmocka_unit_test(link_rejects_pc32_to_foreign_data),
		cmocka_unit_test(link_rejects_target_without_build_id),
		cmocka_unit_test(link_ambiguous_static_needs_file),
		cmocka_unit_test(link_static_uses_object_source_name),
		cmocka_unit_test(link_binds_across_objects),
		cmocka_unit_test(link_shares_or_allocates_common),
		cmocka_unit_test(link_replaced_callee_goes_through_target),
		cmocka_unit_test(link_rejects_function_replaced_twice),
		cmocka_unit_test(link_rejects_duplicate_definition),
		cmocka_unit_test(link_rejects_missing_files),
		cmocka_unit_test(patch_loaded_in_process_runs),
		cmocka_unit_test(parse_replacement_forms),
		cmocka_unit_test(mkpatch_writes_readable_file),
		cmocka_unit_test(mkpatch_exit_codes),
	};

	return cmocka_run_group_tests(tests, build_fixtures, remove_fixtures);
}
