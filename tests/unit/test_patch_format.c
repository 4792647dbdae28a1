/*
 * Tests of the patch file reader and writer: round trips, determinism, and
 * rejection of truncated, inconsistent and hostile files with a message
 * that names the problem.
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
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "patch/format.h"
#include "patch/le.h"
#include "patch/patch.h"
#include "sample_patch.h"

struct blob {
	uint8_t *buf;
	size_t len;
};

static struct blob serialize_sample(void)
{
	struct patch p;
	struct blob b;

	sample_patch(&p);
	assert_int_equal(patch_serialize(&p, &b.buf, &b.len), 0);
	patch_free(&p);
	return b;
}

/* Section table entry of `type`, or NULL. */
static uint8_t *find_entry(const struct blob *b, uint32_t type)
{
	uint32_t count = le32_load(b->buf + PATCH_HDR_SECTION_COUNT);

	for (uint32_t i = 0; i < count; i++) {
		uint8_t *e = b->buf + PATCH_FILE_HEADER_SIZE + i * PATCH_FILE_SECTION_ENTRY_SIZE;

		if (le32_load(e + PATCH_SEC_TYPE) == type)
			return e;
	}
	return NULL;
}

static uint8_t *section_bytes(const struct blob *b, uint32_t type)
{
	uint8_t *e = find_entry(b, type);

	assert_non_null(e);
	return b->buf + le64_load(e + PATCH_SEC_OFFSET);
}

/* Parse `b`, expect `rc`, and check that the message contains `word`. */
static void expect_rejected(const struct blob *b, int rc, const char *word)
{
	struct patch p;
	char err[512];

	assert_int_equal(patch_parse(b->buf, b->len, &p, err, sizeof(err)), rc);
	if (!strstr(err, word))
		fail_msg("message \"%s\" does not contain \"%s\"", err, word);
	assert_null(p.funcs);
	assert_null(p.object_name);
}

static void assert_same_patch(const struct patch *a, const struct patch *b)
{
	assert_int_equal(a->build_id_len, b->build_id_len);
	assert_memory_equal(a->build_id, b->build_id, a->build_id_len);
	assert_string_equal(a->object_name, b->object_name);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->description, b->description);
	assert_string_equal(a->requires, b->requires);
	assert_int_equal(a->ncves, b->ncves);
	for (size_t i = 0; i < a->ncves; i++)
		assert_string_equal(a->cves[i], b->cves[i]);
	for (int i = 0; i < PATCH_PART_COUNT; i++) {
		assert_int_equal(a->part_size[i], b->part_size[i]);
		if (i != PATCH_PART_BSS)
			assert_memory_equal(a->part_data[i], b->part_data[i], a->part_size[i]);
	}
	assert_int_equal(a->nfuncs, b->nfuncs);
	for (size_t i = 0; i < a->nfuncs; i++) {
		assert_string_equal(a->funcs[i].name, b->funcs[i].name);
		assert_int_equal(a->funcs[i].old_addr, b->funcs[i].old_addr);
		assert_int_equal(a->funcs[i].old_size, b->funcs[i].old_size);
		assert_int_equal(a->funcs[i].new_offset, b->funcs[i].new_offset);
		assert_int_equal(a->funcs[i].new_size, b->funcs[i].new_size);
		assert_memory_equal(a->funcs[i].old_sha256, b->funcs[i].old_sha256, 32);
	}
	assert_int_equal(a->nrelocs, b->nrelocs);
	for (size_t i = 0; i < a->nrelocs; i++) {
		const struct patch_reloc *x = &a->relocs[i], *y = &b->relocs[i];

		assert_int_equal(x->part, y->part);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->target_kind, y->target_kind);
		assert_int_equal(x->target_part, y->target_part);
		assert_int_equal(x->offset, y->offset);
		assert_int_equal(x->target, y->target);
		assert_int_equal(x->addend, y->addend);
		if (x->symbol || y->symbol)
			assert_string_equal(x->symbol, y->symbol);
	}
}

static void round_trip_keeps_every_field(void **state)
{
	struct patch original, parsed;
	struct blob b = serialize_sample();
	uint8_t digest[32];
	char err[256];

	(void)state;
	sample_patch(&original);
	assert_int_equal(patch_parse(b.buf, b.len, &parsed, err, sizeof(err)), 0);
	assert_same_patch(&original, &parsed);
	assert_int_equal(parsed.version, PATCH_FORMAT_VERSION);
	assert_int_equal(parsed.version_minor, PATCH_FILE_VERSION_MINOR);
	assert_int_equal(parsed.signed_size, b.len);
	assert_false(parsed.sig.present);

	crypto_hash_sha256(digest, b.buf, b.len);
	assert_memory_equal(parsed.id, digest, 32);

	patch_free(&original);
	patch_free(&parsed);
	free(b.buf);
}

static void round_trip_minimal_patch(void **state)
{
	struct patch p, parsed;
	struct blob b;
	char err[256];

	(void)state;
	sample_patch(&p);
	/* Drop everything optional; keep an empty object name to check it is
	 * not confused with a missing one. */
	free(p.name);
	free(p.description);
	free(p.requires);
	p.name = p.description = p.requires = NULL;
	free(p.object_name);
	p.object_name = sample_strdup("");
	for (size_t i = 0; i < p.ncves; i++)
		free(p.cves[i]);
	free(p.cves);
	p.cves = NULL;
	p.ncves = 0;
	for (size_t i = 0; i < p.nrelocs; i++)
		free(p.relocs[i].symbol);
	free(p.relocs);
	p.relocs = NULL;
	p.nrelocs = 0;
	p.part_size[PATCH_PART_BSS] = 0;

	assert_int_equal(patch_serialize(&p, &b.buf, &b.len), 0);
	assert_null(find_entry(&b, PATCH_SEC_META));
	assert_null(find_entry(&b, PATCH_SEC_RELOCS));
	assert_null(find_entry(&b, PATCH_SEC_BSS));
	assert_int_equal(patch_parse(b.buf, b.len, &parsed, err, sizeof(err)), 0);
	assert_null(parsed.name);
	assert_null(parsed.requires);
	assert_int_equal(parsed.ncves, 0);
	assert_non_null(parsed.object_name);
	assert_string_equal(parsed.object_name, "");
	assert_int_equal(parsed.nrelocs, 0);
	assert_int_equal(parsed.part_size[PATCH_PART_BSS], 0);
	patch_free(&p);
	patch_free(&parsed);
	free(b.buf);
}

static void serialize_is_deterministic(void **state)
{
	struct blob a = serialize_sample(), b = serialize_sample(), c;
	struct patch parsed;
	char err[256];

	(void)state;
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);

	/* Writing what was read gives the same bytes again. */
	assert_int_equal(patch_parse(a.buf, a.len, &parsed, err, sizeof(err)), 0);
	assert_int_equal(patch_serialize(&parsed, &c.buf, &c.len), 0);
	assert_int_equal(c.len, a.len);
	assert_memory_equal(c.buf, a.buf, a.len);
	patch_free(&parsed);
	free(a.buf);
	free(b.buf);
	free(c.buf);
}

static void write_and_read_file(void **state)
{
	char dir[] = "/tmp/suture-format-test-XXXXXX", path[64], err[256];
	struct patch original, parsed;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fix.suture", dir);
	sample_patch(&original);
	assert_int_equal(patch_write_file(path, &original), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	assert_int_equal(patch_read_file(path, &parsed, err, sizeof(err)), 0);
	assert_same_patch(&original, &parsed);
	patch_free(&parsed);

	/* A directory and a missing file are I/O errors, not parse errors. */
	assert_int_equal(patch_read_file(dir, &parsed, err, sizeof(err)), -EISDIR);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(patch_read_file(path, &parsed, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));

	patch_free(&original);
	assert_int_equal(rmdir(dir), 0);
}

static void patch_id_hex_matches_id(void **state)
{
	struct patch p;
	char hex[65];

	(void)state;
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 32; i++)
		p.id[i] = (uint8_t)(i * 9);
	patch_id_hex(&p, hex);
	assert_int_equal(strlen(hex), 64);
	assert_memory_equal(hex, "0009121b242d363f", 16);
}

static void truncated_at_every_length(void **state)
{
	struct blob b = serialize_sample(), t;

	(void)state;
	for (size_t len = 0; len < b.len; len++) {
		t.buf = b.buf;
		t.len = len;
		expect_rejected(&t, -EINVAL, "truncated");
	}
	free(b.buf);
}

static void empty_buffer_rejected(void **state)
{
	struct patch p;
	char err[256];

	(void)state;
	assert_int_equal(patch_parse(NULL, 0, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
}

static void truncated_signature_section(void **state)
{
	struct blob b = serialize_sample(), s, t;
	uint8_t key[32] = { 1 }, sig[64] = { 2 };
	struct patch p;
	char err[256];

	(void)state;
	s.len = b.len + PATCH_SIGNATURE_SECTION_SIZE;
	s.buf = malloc(s.len);
	memcpy(s.buf, b.buf, b.len);
	patch_encode_signature(key, sig, s.buf + b.len);
	assert_int_equal(patch_parse(s.buf, s.len, &p, err, sizeof(err)), 0);
	assert_true(p.sig.present);
	assert_memory_equal(p.sig.public_key, key, 32);
	assert_memory_equal(p.sig.signature, sig, 64);
	patch_free(&p);

	/* Cutting exactly at the signed region leaves a valid unsigned file. */
	assert_int_equal(patch_parse(s.buf, b.len, &p, err, sizeof(err)), 0);
	assert_false(p.sig.present);
	patch_free(&p);

	for (size_t len = b.len + 1; len < s.len; len++) {
		t.buf = s.buf;
		t.len = len;
		expect_rejected(&t, -EINVAL, "truncated");
	}
	free(s.buf);
	free(b.buf);
}

static void section_past_end_of_file(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *e = find_entry(&b, PATCH_SEC_RELOCS);
	struct patch p;
	char err[256], expected[128];

	(void)state;
	le64_store(e + PATCH_SEC_OFFSET, b.len - 4);
	assert_int_equal(patch_parse(b.buf, b.len, &p, err, sizeof(err)), -EINVAL);
	snprintf(expected, sizeof(expected),
		 "section RELOCS (offset %zu, size 96) extends past end of file (size %zu)",
		 b.len - 4, b.len);
	assert_string_equal(err, expected);

	/* An offset near 2^64 must not wrap around into the file. */
	le64_store(e + PATCH_SEC_OFFSET, UINT64_MAX - 8);
	expect_rejected(&b, -EINVAL, "past end of file");
	free(b.buf);
}

static void section_size_past_end_of_file(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *e = find_entry(&b, PATCH_SEC_TEXT);

	(void)state;
	le64_store(e + PATCH_SEC_SIZE, UINT64_MAX);
	expect_rejected(&b, -EINVAL, "past end of file");
	free(b.buf);
}

static void section_overlapping_another(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *text = find_entry(&b, PATCH_SEC_TEXT);
	uint8_t *rodata = find_entry(&b, PATCH_SEC_RODATA);

	(void)state;
	le64_store(rodata + PATCH_SEC_OFFSET, le64_load(text + PATCH_SEC_OFFSET) + 8);
	expect_rejected(&b, -EINVAL, "overlap");
	free(b.buf);
}

static void section_overlapping_header(void **state)
{
	struct blob b = serialize_sample();

	(void)state;
	le64_store(find_entry(&b, PATCH_SEC_TEXT) + PATCH_SEC_OFFSET, 16);
	expect_rejected(&b, -EINVAL, "overlaps the header");
	free(b.buf);
}

static void duplicate_section(void **state)
{
	struct blob b = serialize_sample();

	(void)state;
	le32_store(find_entry(&b, PATCH_SEC_RODATA) + PATCH_SEC_TYPE, PATCH_SEC_TEXT);
	expect_rejected(&b, -EINVAL, "appears twice");
	free(b.buf);
}

static void missing_required_section(void **state)
{
	struct blob b = serialize_sample();

	(void)state;
	/* An unknown type without the required flag is skipped, so FUNCS is gone. */
	le32_store(find_entry(&b, PATCH_SEC_FUNCS) + PATCH_SEC_TYPE, 77);
	expect_rejected(&b, -EINVAL, "required section FUNCS is missing");
	free(b.buf);
}

static void unknown_optional_section_skipped(void **state)
{
	struct blob b = serialize_sample();
	struct patch p;
	char err[256];

	(void)state;
	le32_store(find_entry(&b, PATCH_SEC_BSS) + PATCH_SEC_TYPE, 77);
	assert_int_equal(patch_parse(b.buf, b.len, &p, err, sizeof(err)), 0);
	assert_int_equal(p.part_size[PATCH_PART_BSS], 0);
	patch_free(&p);
	free(b.buf);
}

static void unknown_required_section(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *e = find_entry(&b, PATCH_SEC_BSS);

	(void)state;
	le32_store(e + PATCH_SEC_TYPE, 77);
	le32_store(e + PATCH_SEC_FLAGS, PATCH_SEC_FLAG_REQUIRED);
	expect_rejected(&b, -EPROTONOSUPPORT, "type 77");
	free(b.buf);
}

static void unknown_major_version(void **state)
{
	struct blob b = serialize_sample();
	struct patch p;
	char err[256];

	(void)state;
	le16_store(b.buf + PATCH_HDR_VERSION_MAJOR, 2);
	le16_store(b.buf + PATCH_HDR_VERSION_MINOR, 0);
	assert_int_equal(patch_parse(b.buf, b.len, &p, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "version 2.0"));
	assert_non_null(strstr(err, "version 1.x"));
	free(b.buf);
}

static void newer_minor_version_accepted(void **state)
{
	struct blob b = serialize_sample();
	struct patch p;
	char err[256];

	(void)state;
	le16_store(b.buf + PATCH_HDR_VERSION_MINOR, 7);
	assert_int_equal(patch_parse(b.buf, b.len, &p, err, sizeof(err)), 0);
	assert_int_equal(p.version_minor, 7);
	patch_free(&p);
	free(b.buf);
}

static void bad_magic(void **state)
{
	struct blob b = serialize_sample();

	(void)state;
	b.buf[0] = 'X';
	expect_rejected(&b, -EINVAL, "not a suture patch file");
	free(b.buf);
}

static void header_flags_and_reserved(void **state)
{
	struct blob b = serialize_sample();

	(void)state;
	le32_store(b.buf + PATCH_HDR_FLAGS, 4);
	expect_rejected(&b, -EINVAL, "unknown header flags");
	le32_store(b.buf + PATCH_HDR_FLAGS, 0);
	b.buf[PATCH_HDR_RESERVED2 + 3] = 1;
	expect_rejected(&b, -EINVAL, "reserved");
	free(b.buf);
}

static void trailing_bytes_after_signed_region(void **state)
{
	struct blob b = serialize_sample(), t;

	(void)state;
	t.len = b.len + 12;
	t.buf = calloc(1, t.len);
	memcpy(t.buf, b.buf, b.len);
	expect_rejected(&t, -EINVAL, "unexpected bytes");
	free(t.buf);
	free(b.buf);
}

static void overlapping_functions(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *funcs = section_bytes(&b, PATCH_SEC_FUNCS);

	(void)state;
	/* Function 1 now starts inside function 0 (0x401130, 96 bytes). */
	le64_store(funcs + PATCH_FILE_FUNC_ENTRY_SIZE + 8, 0x401180);
	expect_rejected(&b, -EINVAL, "overlap");
	expect_rejected(&b, -EINVAL, "parse_header");
	free(b.buf);
}

static void function_outside_text(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *funcs = section_bytes(&b, PATCH_SEC_FUNCS);

	(void)state;
	le64_store(funcs + 32, 97); /* new_size of function 0; TEXT is 96 bytes */
	expect_rejected(&b, -EINVAL, "past the end of TEXT");
	le64_store(funcs + 32, 64);
	le64_store(funcs + 24, UINT64_MAX - 10); /* new_offset that wraps */
	expect_rejected(&b, -EINVAL, "past the end of TEXT");
	free(b.buf);
}

static void function_wrapping_address_space(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *funcs = section_bytes(&b, PATCH_SEC_FUNCS);

	(void)state;
	le64_store(funcs + 8, UINT64_MAX - 4);
	expect_rejected(&b, -EINVAL, "wraps around");
	free(b.buf);
}

static void relocation_place_outside_part(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *relocs = section_bytes(&b, PATCH_SEC_RELOCS);

	(void)state;
	le64_store(relocs + 8, 94); /* 4-byte place at 94 in the 96-byte TEXT */
	expect_rejected(&b, -EINVAL, "past the end of its part");
	le64_store(relocs + 8, UINT64_MAX - 1);
	expect_rejected(&b, -EINVAL, "past the end of its part");
	free(b.buf);
}

static void relocation_invalid_enums(void **state)
{
	static const struct {
		size_t byte;
		uint8_t value;
		const char *word;
	} cases[] = {
		{ 0, 4, "part 4" },
		{ 0, PATCH_PART_BSS, "BSS" },
		{ 1, 9, "type 9" },
		{ 2, 7, "target kind 7" },
		{ 3, 5, "target part 5" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blob b = serialize_sample();
		uint8_t *relocs = section_bytes(&b, PATCH_SEC_RELOCS);

		relocs[cases[i].byte] = cases[i].value;
		expect_rejected(&b, -EINVAL, cases[i].word);
		free(b.buf);
	}
}

static void relocation_target_outside_part(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *relocs = section_bytes(&b, PATCH_SEC_RELOCS);

	(void)state;
	le64_store(relocs + 16, 17); /* RODATA is 16 bytes; 16 itself is allowed */
	expect_rejected(&b, -EINVAL, "target offset 17");
	free(b.buf);
}

static void string_not_terminated(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *e = find_entry(&b, PATCH_SEC_STRTAB);
	uint8_t *strtab = section_bytes(&b, PATCH_SEC_STRTAB);

	(void)state;
	strtab[le64_load(e + PATCH_SEC_SIZE) - 1] = 'x';
	expect_rejected(&b, -EINVAL, "not NUL-terminated");
	free(b.buf);
}

static void string_offset_outside_strtab(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *e = find_entry(&b, PATCH_SEC_STRTAB);
	uint8_t *funcs = section_bytes(&b, PATCH_SEC_FUNCS);

	(void)state;
	le32_store(funcs, (uint32_t)le64_load(e + PATCH_SEC_SIZE));
	expect_rejected(&b, -EINVAL, "outside STRTAB");
	expect_rejected(&b, -EINVAL, "function 0 name");
	free(b.buf);
}

static void meta_key_twice(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *meta = section_bytes(&b, PATCH_SEC_META);

	(void)state;
	/* Entry 1 (description) now repeats the key of entry 0 (name). */
	memcpy(meta + PATCH_FILE_META_ENTRY_SIZE, meta, 4);
	expect_rejected(&b, -EINVAL, "appears twice");
	free(b.buf);
}

static void meta_unknown_key_ignored(void **state)
{
	struct blob b = serialize_sample();
	uint8_t *meta = section_bytes(&b, PATCH_SEC_META);
	struct patch p;
	char err[256];

	(void)state;
	/* Point entry 0's key at the value "fix-header-overflow". */
	memcpy(meta, meta + 4, 4);
	assert_int_equal(patch_parse(b.buf, b.len, &p, err, sizeof(err)), 0);
	assert_null(p.name);
	assert_string_equal(p.description, "Check the header length before copying.");
	patch_free(&p);
	free(b.buf);
}

static void requires_must_be_patch_id(void **state)
{
	struct patch p;
	char err[256];

	(void)state;
	sample_patch(&p);
	p.requires[5] = 'G';
	assert_int_equal(patch_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "requires"));
	patch_free(&p);
}

static void serialize_rejects_invalid_struct(void **state)
{
	struct patch p;
	uint8_t *buf;
	size_t len;
	char err[256];

	(void)state;
	sample_patch(&p);
	p.funcs[1].old_addr = p.funcs[0].old_addr + 1;
	assert_int_equal(patch_serialize(&p, &buf, &len), -EINVAL);
	assert_null(buf);
	assert_int_equal(patch_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "overlap"));

	p.nfuncs = 0;
	assert_int_equal(patch_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no function"));
	p.nfuncs = 2;

	p.build_id_len = 0;
	assert_int_equal(patch_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "build-id"));
	patch_free(&p);
}

static void message_control_bytes_replaced(void **state)
{
	struct patch p;
	char err[256];

	(void)state;
	sample_patch(&p);
	free(p.funcs[0].name);
	p.funcs[0].name = sample_strdup("evil\033[2Jname");
	p.funcs[0].new_size = 1000;
	assert_int_equal(patch_validate(&p, err, sizeof(err)), -EINVAL);
	assert_null(strchr(err, '\033'));
	assert_non_null(strstr(err, "evil?[2Jname"));
	patch_free(&p);
}

/*
 * Give the sample patch an unwind table: RODATA becomes 32 bytes with one
 * 16-byte record at offset 8 and the zero terminator after it, and the
 * registration space sits at offset 64 of BSS.
 */
static void add_unwind_table(struct patch *p)
{
	uint8_t *rodata = calloc(1, 32);

	le32_store(rodata + 8, 12); /* record length, after the length word */
	memset(rodata + 12, 0x5a, 12);
	free(p->part_data[PATCH_PART_RODATA]);
	p->part_data[PATCH_PART_RODATA] = rodata;
	p->part_size[PATCH_PART_RODATA] = 32;
	p->eh_frame_offset = 8;
	p->eh_frame_size = 20;
	p->eh_frame_reg_offset = 64;
	p->eh_frame_reg_size = PATCH_EH_FRAME_REG_SIZE;
}

static void unwind_round_trip(void **state)
{
	struct patch original, parsed;
	uint8_t *buf;
	size_t len;
	char err[256];

	(void)state;
	sample_patch(&original);
	add_unwind_table(&original);
	assert_int_equal(patch_serialize(&original, &buf, &len), 0);
	assert_int_equal(patch_parse(buf, len, &parsed, err, sizeof(err)), 0);
	assert_same_patch(&original, &parsed);
	assert_int_equal(parsed.version_minor, 1);
	assert_int_equal(parsed.eh_frame_offset, 8);
	assert_int_equal(parsed.eh_frame_size, 20);
	assert_int_equal(parsed.eh_frame_reg_offset, 64);
	assert_int_equal(parsed.eh_frame_reg_size, PATCH_EH_FRAME_REG_SIZE);

	/* A 1.0 reader skips the section, so it must not be marked required. */
	struct blob b = { buf, len };
	uint8_t *e = find_entry(&b, PATCH_SEC_UNWIND);
	assert_non_null(e);
	assert_int_equal(le32_load(e + PATCH_SEC_FLAGS), 0);
	assert_int_equal(le64_load(e + PATCH_SEC_SIZE), PATCH_FILE_UNWIND_SIZE);
	patch_free(&parsed);
	patch_free(&original);
	free(buf);
}

static void unwind_absent_without_table(void **state)
{
	struct blob b = serialize_sample();

	(void)state;
	assert_null(find_entry(&b, PATCH_SEC_UNWIND));
	free(b.buf);
}

/* Apply `change` to a patch with an unwind table and expect validation to name `word`. */
static void expect_unwind_invalid(void (*change)(struct patch *), const char *word)
{
	struct patch p;
	char err[256];

	sample_patch(&p);
	add_unwind_table(&p);
	change(&p);
	assert_int_equal(patch_validate(&p, err, sizeof(err)), -EINVAL);
	if (!strstr(err, word))
		fail_msg("message \"%s\" does not contain \"%s\"", err, word);
	patch_free(&p);
}

static void misalign_table(struct patch *p) { p->eh_frame_offset = 6; }
static void table_past_rodata(struct patch *p) { p->eh_frame_size = 28; }
static void no_terminator(struct patch *p) { p->eh_frame_size = 16; }
static void record_past_table(struct patch *p) { le32_store(p->part_data[PATCH_PART_RODATA] + 8, 40); }
static void dwarf64_length(struct patch *p) { le32_store(p->part_data[PATCH_PART_RODATA] + 8, UINT32_MAX); }
static void registration_past_bss(struct patch *p) { p->eh_frame_reg_offset = 4090; }
static void registration_too_small(struct patch *p) { p->eh_frame_reg_size = 16; }
static void registration_misaligned(struct patch *p) { p->eh_frame_reg_offset = 68; }
static void fields_without_table(struct patch *p) { p->eh_frame_size = 0; }

static void unwind_invalid_fields(void **state)
{
	(void)state;
	expect_unwind_invalid(misalign_table, "not 4-byte aligned");
	expect_unwind_invalid(table_past_rodata, "inside RODATA");
	expect_unwind_invalid(no_terminator, "zero length word");
	expect_unwind_invalid(record_past_table, "extends past the table");
	expect_unwind_invalid(dwarf64_length, "64-bit length");
	expect_unwind_invalid(registration_past_bss, "inside BSS");
	expect_unwind_invalid(registration_too_small, "at least 64 bytes");
	expect_unwind_invalid(registration_misaligned, "8-byte aligned");
	expect_unwind_invalid(fields_without_table, "size is 0");
}

static void unwind_section_too_short(void **state)
{
	struct patch p;
	struct blob b;

	(void)state;
	sample_patch(&p);
	add_unwind_table(&p);
	assert_int_equal(patch_serialize(&p, &b.buf, &b.len), 0);
	patch_free(&p);
	le64_store(find_entry(&b, PATCH_SEC_UNWIND) + PATCH_SEC_SIZE, 16);
	expect_rejected(&b, -EINVAL, "section UNWIND is 16 bytes");
	free(b.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_keeps_every_field),
		cmocka_unit_test(round_trip_minimal_patch),
		cmocka_unit_test(serialize_is_deterministic),
		cmocka_unit_test(write_and_read_file),
		cmocka_unit_test(patch_id_hex_matches_id),
		cmocka_unit_test(truncated_at_every_length),
		cmocka_unit_test(empty_buffer_rejected),
		cmocka_unit_test(truncated_signature_section),
		cmocka_unit_test(section_past_end_of_file),
		cmocka_unit_test(section_size_past_end_of_file),
		cmocka_unit_test(section_overlapping_another),
		cmocka_unit_test(section_overlapping_header),
		cmocka_unit_test(duplicate_section),
		cmocka_unit_test(missing_required_section),
		cmocka_unit_test(unknown_optional_section_skipped),
		cmocka_unit_test(unknown_required_section),
		cmocka_unit_test(unknown_major_version),
		cmocka_unit_test(newer_minor_version_accepted),
		cmocka_unit_test(bad_magic),
		cmocka_unit_test(header_flags_and_reserved),
		cmocka_unit_test(trailing_bytes_after_signed_region),
		cmocka_unit_test(overlapping_functions),
		cmocka_unit_test(function_outside_text),
		cmocka_unit_test(function_wrapping_address_space),
		cmocka_unit_test(relocation_place_outside_part),
		cmocka_unit_test(relocation_invalid_enums),
		cmocka_unit_test(relocation_target_outside_part),
		cmocka_unit_test(string_not_terminated),
		cmocka_unit_test(string_offset_outside_strtab),
		cmocka_unit_test(meta_key_twice),
		cmocka_unit_test(meta_unknown_key_ignored),
		cmocka_unit_test(requires_must_be_patch_id),
		cmocka_unit_test(serialize_rejects_invalid_struct),
		cmocka_unit_test(message_control_bytes_replaced),
		cmocka_unit_test(unwind_round_trip),
		cmocka_unit_test(unwind_absent_without_table),
		cmocka_unit_test(unwind_invalid_fields),
		cmocka_unit_test(unwind_section_too_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
