/*
 * Tests of the file-based ELF helpers.  Fixtures are compiled with gcc into a
 * temporary directory when the group starts; libc and /bin/true from the
 * system serve as real-world inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elf_file.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

static char fixture_dir[] = "/tmp/suture-elf-test-XXXXXX";

static const char source_a[] =
	"static int __attribute__((noinline, used)) helper(int x) { return x + 1; }\n"
	"int call_b(int x);\n"
	"int call_a(int x) { return helper(x); }\n"
	"const unsigned char magic[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };\n"
	"char zeros[8192];\n"
	"int main(void) { return call_a(0) + call_b(0) + zeros[0]; }\n";

static const char source_b[] =
	"#include <stdio.h>\n"
	"static int __attribute__((noinline, used)) helper(int x) { return x + 2; }\n"
	"int call_b(int x) { puts(\"b\"); return helper(x); }\n";

static int run_command(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void write_text(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static const char *fixture(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	return path;
}

static struct elf_file *open_fixture(const char *name)
{
	struct elf_file *f = NULL;

	assert_int_equal(elf_file_open(fixture(name), &f), 0);
	return f;
}

static int build_fixtures(void **state)
{
	(void)state;
	if (!mkdtemp(fixture_dir))
		return -1;
	write_text("a.c", source_a);
	write_text("b.c", source_b);
	/* -O0 keeps both static helpers under their own names, without clones. */
	return run_command("cd %s && gcc -O0 -g0 -fcf-protection=none -pie -fPIE "
			   "-Wl,--build-id=0x0123456789abcdef -o pie a.c b.c && "
			   "gcc -O0 -g0 -no-pie -fno-pie -Wl,--build-id=none -o nopie a.c b.c && "
			   "gcc -O0 -g0 -c -o a.o a.c && "
			   "gcc -O0 -g0 -rdynamic -o pie-stripped a.c b.c && strip pie-stripped",
			   fixture_dir) == 0 ? 0 : -1;
}

static int remove_fixtures(void **state)
{
	(void)state;
	run_command("rm -rf %s", fixture_dir);
	return 0;
}

static void open_missing_file_fails(void **state)
{
	struct elf_file *f = NULL;

	(void)state;
	assert_int_equal(elf_file_open(fixture("no-such-file"), &f), -ENOENT);
	assert_null(f);
}

static void open_source_file_is_not_elf(void **state)
{
	struct elf_file *f = NULL;

	(void)state;
	assert_int_equal(elf_file_open(fixture("a.c"), &f), -ENOEXEC);
}

static void type_of_each_fixture(void **state)
{
	struct elf_file *pie = open_fixture("pie");
	struct elf_file *nopie = open_fixture("nopie");
	struct elf_file *obj = open_fixture("a.o");

	(void)state;
	assert_int_equal(elf_file_type(pie), ET_DYN);
	assert_int_equal(elf_file_type(nopie), ET_EXEC);
	assert_int_equal(elf_file_type(obj), ET_REL);
	assert_int_equal(elf_file_machine(pie), EM_X86_64);
	assert_string_equal(elf_file_path(pie), fixture("pie"));
	elf_file_close(pie);
	elf_file_close(nopie);
	elf_file_close(obj);
}

static void build_id_matches_linker_option(void **state)
{
	static const uint8_t expected[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	struct elf_file *f = open_fixture("pie");
	uint8_t id[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(elf_file_build_id(f, id, sizeof(id), &len), 0);
	assert_int_equal(len, sizeof(expected));
	assert_memory_equal(id, expected, sizeof(expected));
	assert_int_equal(elf_file_build_id(f, id, 4, &len), -ENOBUFS);
	elf_file_close(f);
}

static void build_id_missing_is_enoent(void **state)
{
	struct elf_file *f = open_fixture("nopie");
	uint8_t id[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(elf_file_build_id(f, id, sizeof(id), &len), -ENOENT);
	elf_file_close(f);
}

static void build_id_of_system_binary(void **state)
{
	struct elf_file *f = NULL;
	uint8_t id[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(elf_file_open("/bin/true", &f), 0);
	assert_int_equal(elf_file_build_id(f, id, sizeof(id), &len), 0);
	assert_int_equal(len, 20);
	elf_file_close(f);
}

static void load_segments_include_text(void **state)
{
	struct elf_file *f = open_fixture("pie");
	const struct elf_segment *segs;
	size_t n, executable = 0;

	(void)state;
	elf_file_load_segments(f, &segs, &n);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		assert_true(segs[i].filesz <= segs[i].memsz);
		if (segs[i].flags & PF_X)
			executable++;
	}
	assert_int_equal(executable, 1);
	elf_file_close(f);
}

static void lookup_global_function(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct elf_symbol sym;

	(void)state;
	assert_int_equal(elf_file_lookup_symbol(f, "call_a", NULL, &sym), 0);
	assert_string_equal(sym.name, "call_a");
	assert_int_equal(sym.type, STT_FUNC);
	assert_int_equal(sym.bind, STB_GLOBAL);
	assert_true(sym.size > 0);
	assert_true(sym.value > 0);
	elf_file_close(f);
}

static void lookup_duplicate_static_is_ambiguous(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct elf_symbol sym;
	char files[128];

	(void)state;
	assert_int_equal(elf_file_lookup_symbol(f, "helper", NULL, &sym), -ENOTUNIQ);
	elf_file_describe_definitions(f, "helper", files, sizeof(files));
	assert_string_equal(files, "a.c, b.c");
	elf_file_close(f);
}

static void lookup_static_with_file_hint(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct elf_symbol in_a, in_b, missing;

	(void)state;
	assert_int_equal(elf_file_lookup_symbol(f, "helper", "a.c", &in_a), 0);
	assert_int_equal(elf_file_lookup_symbol(f, "helper", "b.c", &in_b), 0);
	assert_string_equal(in_a.file, "a.c");
	assert_string_equal(in_b.file, "b.c");
	assert_int_equal(in_a.bind, STB_LOCAL);
	assert_int_not_equal(in_a.value, in_b.value);
	/* A hint naming no file falls back to globals, and helper has none. */
	assert_int_equal(elf_file_lookup_symbol(f, "helper", "c.c", &missing), -ENOENT);
	/* A global is found whatever file the hint names. */
	assert_int_equal(elf_file_lookup_symbol(f, "call_b", "a.c", &missing), 0);
	elf_file_close(f);
}

static void lookup_unknown_symbol_is_enoent(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct elf_symbol sym;

	(void)state;
	assert_int_equal(elf_file_lookup_symbol(f, "no_such_function", NULL, &sym), -ENOENT);
	assert_int_equal(elf_file_lookup_global(f, "no_such_function", &sym), -ENOENT);
	/* An undefined reference is not a definition. */
	assert_int_equal(elf_file_lookup_global(f, "puts", &sym), -ENOENT);
	elf_file_close(f);
}

static void lookup_global_skips_statics(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct elf_symbol sym;

	(void)state;
	assert_int_equal(elf_file_lookup_global(f, "helper", &sym), -ENOENT);
	assert_int_equal(elf_file_lookup_global(f, "zeros", &sym), 0);
	assert_int_equal(sym.type, STT_OBJECT);
	assert_int_equal(sym.size, 8192);
	elf_file_close(f);
}

static void lookup_in_stripped_file_uses_dynsym(void **state)
{
	struct elf_file *f = open_fixture("pie-stripped");
	struct elf_symbol sym;

	(void)state;
	/* -rdynamic exported call_a, so it survives strip in .dynsym, but the statics do not. */
	assert_int_equal(elf_file_lookup_symbol(f, "call_a", NULL, &sym), 0);
	assert_int_equal(sym.type, STT_FUNC);
	assert_int_equal(elf_file_lookup_symbol(f, "helper", "a.c", &sym), -ENOENT);
	elf_file_close(f);
}

static void read_returns_file_bytes(void **state)
{
	static const uint8_t expected[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const char *names[] = { "pie", "nopie" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct elf_file *f = open_fixture(names[i]);
		struct elf_symbol sym;
		uint8_t buf[8];

		assert_int_equal(elf_file_lookup_symbol(f, "magic", NULL, &sym), 0);
		assert_int_equal(elf_file_read(f, sym.value, buf, sizeof(buf)), 0);
		assert_memory_equal(buf, expected, sizeof(expected));
		elf_file_close(f);
	}
}

static void read_past_filesz_is_zero(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct elf_symbol sym;
	static uint8_t buf[8192];

	(void)state;
	assert_int_equal(elf_file_lookup_symbol(f, "zeros", NULL, &sym), 0);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(elf_file_read(f, sym.value, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	elf_file_close(f);
}

static void read_outside_segments_fails(void **state)
{
	struct elf_file *f = open_fixture("pie");
	const struct elf_segment *segs;
	size_t n;
	uint8_t buf[16];
	uint64_t last_end;

	(void)state;
	elf_file_load_segments(f, &segs, &n);
	last_end = segs[n - 1].vaddr + segs[n - 1].memsz;
	assert_int_equal(elf_file_read(f, UINT64_MAX - 4, buf, sizeof(buf)), -EFAULT);
	/* The range starts inside the last segment but runs past its end. */
	assert_int_equal(elf_file_read(f, last_end - 4, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(elf_file_read(f, last_end - 4, buf, 4), 0);
	elf_file_close(f);
}

static void dynsym_versioned_libc_names(void **state)
{
	struct elf_file *f = NULL;
	uint64_t plain = 0, versioned = 0, explicit_default = 0, old = 0;

	(void)state;
	assert_int_equal(elf_file_open(LIBC_PATH, &f), 0);
	assert_int_equal(elf_file_lookup_dynsym(f, "memcpy@GLIBC_2.14", &versioned), 0);
	assert_int_equal(elf_file_lookup_dynsym(f, "memcpy", &plain), 0);
	assert_int_equal(elf_file_lookup_dynsym(f, "memcpy@@GLIBC_2.14", &explicit_default), 0);
	assert_int_equal(elf_file_lookup_dynsym(f, "memcpy@GLIBC_2.2.5", &old), 0);
	assert_true(versioned != 0);
	assert_int_equal(plain, versioned);
	assert_int_equal(explicit_default, versioned);
	elf_file_close(f);
}

static void dynsym_unknown_names_are_enoent(void **state)
{
	struct elf_file *f = NULL;
	uint64_t value;

	(void)state;
	assert_int_equal(elf_file_open(LIBC_PATH, &f), 0);
	assert_int_equal(elf_file_lookup_dynsym(f, "no_such_symbol_in_libc", &value), -ENOENT);
	assert_int_equal(elf_file_lookup_dynsym(f, "memcpy@GLIBC_9.99", &value), -ENOENT);
	/* The 2.2.5 memcpy exists only as a hidden, non-default version. */
	assert_int_equal(elf_file_lookup_dynsym(f, "memcpy@@GLIBC_2.2.5", &value), -ENOENT);
	elf_file_close(f);
}

static void lookup_symbol_in_libc_uses_default_version(void **state)
{
	struct elf_file *f = NULL;
	struct elf_symbol sym;
	uint64_t value = 0;

	(void)state;
	assert_int_equal(elf_file_open(LIBC_PATH, &f), 0);
	assert_int_equal(elf_file_lookup_dynsym(f, "puts", &value), 0);
	assert_int_equal(elf_file_lookup_global(f, "puts", &sym), 0);
	assert_int_equal(sym.value, value);
	assert_int_equal(sym.type, STT_FUNC);
	elf_file_close(f);
}

struct import_search {
	const char *name;
	const char *version;
	int defined;
	int found;
};

static int find_import(const struct elf_dynsym *sym, void *arg)
{
	struct import_search *search = arg;

	if (strcmp(sym->sym.name, search->name) != 0)
		return 0;
	search->found = 1;
	search->version = sym->version;
	search->defined = sym->defined;
	return 1;
}

static void dynsym_import_carries_needed_version(void **state)
{
	struct elf_file *f = open_fixture("pie");
	struct import_search search = { .name = "puts" };

	(void)state;
	assert_int_equal(elf_file_foreach_dynsym(f, find_import, &search), 1);
	assert_true(search.found);
	assert_false(search.defined);
	assert_non_null(search.version);
	assert_string_equal(search.version, "GLIBC_2.2.5");
	elf_file_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_missing_file_fails),
		cmocka_unit_test(open_source_file_is_not_elf),
		cmocka_unit_test(type_of_each_fixture),
		cmocka_unit_test(build_id_matches_linker_option),
		cmocka_unit_test(build_id_missing_is_enoent),
		cmocka_unit_test(build_id_of_system_binary),
		cmocka_unit_test(load_segments_include_text),
		cmocka_unit_test(lookup_global_function),
		cmocka_unit_test(lookup_duplicate_static_is_ambiguous),
		cmocka_unit_test(lookup_static_with_file_hint),
		cmocka_unit_test(lookup_unknown_symbol_is_enoent),
		cmocka_unit_test(lookup_global_skips_statics),
		cmocka_unit_test(lookup_in_stripped_file_uses_dynsym),
		cmocka_unit_test(read_returns_file_bytes),
		cmocka_unit_test(read_past_filesz_is_zero),
		cmocka_unit_test(read_outside_segments_fails),
		cmocka_unit_test(dynsym_versioned_libc_names),
		cmocka_unit_test(dynsym_unknown_names_are_enoent),
		cmocka_unit_test(lookup_symbol_in_libc_uses_default_version),
		cmocka_unit_test(dynsym_import_carries_needed_version),
	};

	return cmocka_run_group_tests(tests, build_fixtures, remove_fixtures);
}
