/*
 * Reader of the patch file format (docs/patch-format.md).  The input is
 * untrusted: every offset, size and count is checked against the buffer
 * with overflow-safe arithmetic before it is used, and the decoded patch is
 * checked again by patch_validate() before the caller sees it.
 */
#include "patch/patch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "patch/format.h"
#include "patch/internal.h"
#include "patch/le.h"

struct section {
	uint32_t type;
	uint32_t flags;
	uint64_t offset;
	uint64_t size;
	uint32_t entry_size;
	uint32_t count;
};

struct reader {
	const uint8_t *buf;
	size_t len;
	char *err;
	size_t errlen;

	uint32_t header_size;
	uint32_t section_count;
	uint32_t section_entry_size;
	uint64_t signed_size;
	uint64_t table_end; /* first byte after the section table */

	struct section sections[PATCH_FILE_MAX_SECTIONS];
	/* Known sections by type, NULL when absent. */
	const struct section *known[PATCH_SEC_LAST + 1];

	const uint8_t *strtab;
	size_t strtab_size;
};

/* Minimum entry size of a section with entries, 0 for a section without. */
struct section_shape {
	uint32_t type;
	uint32_t min_entry_size;
};

static const struct section_shape section_shapes[] = {
	{ PATCH_SEC_TARGET, 0 },
	{ PATCH_SEC_META, PATCH_FILE_META_ENTRY_SIZE },
	{ PATCH_SEC_STRTAB, 0 },
	{ PATCH_SEC_TEXT, 0 },
	{ PATCH_SEC_RODATA, 0 },
	{ PATCH_SEC_DATA, 0 },
	{ PATCH_SEC_BSS, 0 },
	{ PATCH_SEC_FUNCS, PATCH_FILE_FUNC_ENTRY_SIZE },
	{ PATCH_SEC_RELOCS, PATCH_FILE_RELOC_ENTRY_SIZE },
};

static const uint32_t required_sections[] = {
	PATCH_SEC_TARGET, PATCH_SEC_STRTAB, PATCH_SEC_TEXT, PATCH_SEC_FUNCS,
};

int patch_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *c = err; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
	return rc;
}

const char *patch_section_name(uint32_t type)
{
	static const char *const names[] = {
		[PATCH_SEC_TARGET] = "TARGET", [PATCH_SEC_META] = "META",
		[PATCH_SEC_STRTAB] = "STRTAB", [PATCH_SEC_TEXT] = "TEXT",
		[PATCH_SEC_RODATA] = "RODATA", [PATCH_SEC_DATA] = "DATA",
		[PATCH_SEC_BSS] = "BSS",       [PATCH_SEC_FUNCS] = "FUNCS",
		[PATCH_SEC_RELOCS] = "RELOCS", [PATCH_SEC_SIGNATURE] = "SIGNATURE",
		[PATCH_SEC_UNWIND] = "UNWIND",
	};

	if (type >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[type];
}

/* "RELOCS" or "type 42", for messages. */
static const char *section_label(const struct section *s, char buf[24])
{
	const char *name = patch_section_name(s->type);

	if (name)
		return name;
	snprintf(buf, 24, "type %u", s->type);
	return buf;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

static int check_magic_and_version(struct reader *r)
{
	const uint8_t *b = r->buf;
	size_t magic_len = r->len < PATCH_FILE_MAGIC_LEN ? r->len : PATCH_FILE_MAGIC_LEN;
	unsigned int major, minor;

	if (magic_len > 0 && memcmp(b, PATCH_FILE_MAGIC, magic_len) != 0)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "not a suture patch file: it does not start with \"%s\"",
				  PATCH_FILE_MAGIC);
	if (r->len < PATCH_HDR_HEADER_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "file is truncated: %zu bytes, but the header alone is %u bytes",
				  r->len, PATCH_FILE_HEADER_SIZE);

	major = le16_load(b + PATCH_HDR_VERSION_MAJOR);
	minor = le16_load(b + PATCH_HDR_VERSION_MINOR);
	if (major != PATCH_FORMAT_VERSION)
		return patch_fail(r->err, r->errlen, -EPROTONOSUPPORT,
				  "patch format version %u.%u is not supported; this suture reads version %u.x",
				  major, minor, PATCH_FORMAT_VERSION);
	return 0;
}

static int read_header(struct reader *r, struct patch *out)
{
	const uint8_t *b = r->buf;
	uint32_t flags;
	int rc;

	rc = check_magic_and_version(r);
	if (rc < 0)
		return rc;
	if (r->len < PATCH_FILE_HEADER_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "file is truncated: %zu bytes, but the header alone is %u bytes",
				  r->len, PATCH_FILE_HEADER_SIZE);

	out->version = le16_load(b + PATCH_HDR_VERSION_MAJOR);
	out->version_minor = le16_load(b + PATCH_HDR_VERSION_MINOR);
	r->header_size = le32_load(b + PATCH_HDR_HEADER_SIZE);
	r->section_count = le32_load(b + PATCH_HDR_SECTION_COUNT);
	r->section_entry_size = le32_load(b + PATCH_HDR_SECTION_ENTRY_SIZE);
	flags = le32_load(b + PATCH_HDR_FLAGS);
	r->signed_size = le64_load(b + PATCH_HDR_SIGNED_SIZE);

	if (r->signed_size > r->len)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "file is truncated: the header declares a signed region of %llu bytes, but the file has %zu bytes",
				  (unsigned long long)r->signed_size, r->len);
	if (r->header_size < PATCH_FILE_HEADER_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "header size %u is smaller than the %u bytes of a version 1.0 header",
				  r->header_size, PATCH_FILE_HEADER_SIZE);
	if (r->header_size > r->signed_size)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "header size %u exceeds the signed region (%llu bytes)",
				  r->header_size, (unsigned long long)r->signed_size);
	if (flags != 0)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "unknown header flags 0x%x; format version 1 defines none", flags);
	if (!all_zero(b + PATCH_HDR_RESERVED, 4) ||
	    !all_zero(b + PATCH_HDR_RESERVED2, PATCH_FILE_HEADER_SIZE - PATCH_HDR_RESERVED2))
		return patch_fail(r->err, r->errlen, -EINVAL, "reserved header bytes are not zero");
	return 0;
}

static int read_table_bounds(struct reader *r)
{
	uint64_t table_size;

	if (r->section_entry_size < PATCH_FILE_SECTION_ENTRY_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section table entry size %u is smaller than %u",
				  r->section_entry_size, PATCH_FILE_SECTION_ENTRY_SIZE);
	if (r->section_count > PATCH_FILE_MAX_SECTIONS)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section count %u exceeds the maximum %u",
				  r->section_count, PATCH_FILE_MAX_SECTIONS);

	/* Both factors are below 2^32, so the product fits in 64 bits. */
	table_size = (uint64_t)r->section_count * r->section_entry_size;
	r->table_end = r->header_size + table_size;
	if (r->table_end > r->signed_size)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section table (offset %u, %u entries of %u bytes) extends past the signed region (%llu bytes)",
				  r->header_size, r->section_count, r->section_entry_size,
				  (unsigned long long)r->signed_size);
	return 0;
}

/* Read the signature section that may follow the signed region. */
static int read_signature(struct reader *r, struct patch *out)
{
	size_t rest = r->len - (size_t)r->signed_size;
	const uint8_t *t = r->buf + r->signed_size;
	uint32_t type, size, algorithm;

	if (rest == 0)
		return 0;
	if (rest < 8)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "file is truncated inside the signature section: %zu bytes follow the signed region",
				  rest);
	type = le32_load(t + PATCH_SIG_OFF_TYPE);
	size = le32_load(t + PATCH_SIG_OFF_SIZE);
	if (type != PATCH_SEC_SIGNATURE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "%zu unexpected bytes follow the signed region (offset %llu); only a signature section may follow it",
				  rest, (unsigned long long)r->signed_size);
	if (size > rest)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "file is truncated: the signature section declares %u bytes, but %zu remain",
				  size, rest);
	if (size < rest)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "%zu unexpected bytes follow the signature section",
				  rest - size);
	if (size < PATCH_SIG_OFF_PUBLIC_KEY)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "signature section size %u is too small", size);

	algorithm = le32_load(t + PATCH_SIG_OFF_ALGORITHM);
	if (algorithm != PATCH_SIG_ALG_ED25519)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "unknown signature algorithm %u; this suture supports %u (Ed25519)",
				  algorithm, PATCH_SIG_ALG_ED25519);
	if (size != PATCH_SIGNATURE_SECTION_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "signature section size %u is invalid; an Ed25519 signature section is %u bytes",
				  size, PATCH_SIGNATURE_SECTION_SIZE);
	if (!all_zero(t + PATCH_SIG_OFF_RESERVED, 4))
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "reserved bytes of the signature section are not zero");

	out->sig.present = 1;
	memcpy(out->sig.public_key, t + PATCH_SIG_OFF_PUBLIC_KEY, 32);
	memcpy(out->sig.signature, t + PATCH_SIG_OFF_SIGNATURE, 64);
	return 0;
}

static int check_section_bounds(struct reader *r, const struct section *s)
{
	char label[24];
	const char *name = section_label(s, label);
	uint64_t end;

	if (__builtin_add_overflow(s->offset, s->size, &end) || end > r->len)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s (offset %llu, size %llu) extends past end of file (size %zu)",
				  name, (unsigned long long)s->offset,
				  (unsigned long long)s->size, r->len);
	if (end > r->signed_size)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s (offset %llu, size %llu) extends past the signed region (%llu bytes)",
				  name, (unsigned long long)s->offset,
				  (unsigned long long)s->size,
				  (unsigned long long)r->signed_size);
	if (s->offset < r->table_end)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s (offset %llu, size %llu) overlaps the header or section table, which end at offset %llu",
				  name, (unsigned long long)s->offset,
				  (unsigned long long)s->size,
				  (unsigned long long)r->table_end);
	return 0;
}

/* Check entry size and count: both 0 for plain sections, size = count x entry size otherwise. */
static int check_section_shape(struct reader *r, const struct section *s)
{
	const char *name = patch_section_name(s->type);
	uint32_t min_entry_size = 0;
	uint64_t expected;

	for (size_t i = 0; i < sizeof(section_shapes) / sizeof(section_shapes[0]); i++) {
		if (section_shapes[i].type == s->type)
			min_entry_size = section_shapes[i].min_entry_size;
	}

	if (min_entry_size == 0) {
		if (s->entry_size != 0 || s->count != 0)
			return patch_fail(r->err, r->errlen, -EINVAL,
					  "section %s has entry size %u and count %u; both must be 0 for a section without entries",
					  name, s->entry_size, s->count);
		return 0;
	}
	if (s->entry_size < min_entry_size)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s entry size %u is smaller than %u",
				  name, s->entry_size, min_entry_size);
	expected = (uint64_t)s->entry_size * s->count;
	if (s->size != expected)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s size %llu does not equal %u entries of %u bytes",
				  name, (unsigned long long)s->size, s->count, s->entry_size);
	return 0;
}

static int check_section_entry(struct reader *r, size_t index)
{
	const struct section *s = &r->sections[index];
	const char *name = patch_section_name(s->type);
	char label[24];
	int rc;

	if (s->type == PATCH_SEC_SIGNATURE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "the section table lists a SIGNATURE section; a signature must follow the signed region instead");
	if (!name && (s->flags & PATCH_SEC_FLAG_REQUIRED))
		return patch_fail(r->err, r->errlen, -EPROTONOSUPPORT,
				  "section type %u is marked required but this suture does not know it; a newer suture is needed",
				  s->type);
	if (s->flags & ~PATCH_SEC_FLAG_REQUIRED)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s has unknown flags 0x%x",
				  section_label(s, label), s->flags);

	rc = check_section_bounds(r, s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < index; i++) {
		if (r->sections[i].type == s->type)
			return patch_fail(r->err, r->errlen, -EINVAL,
					  "section %s appears twice in the section table",
					  section_label(s, label));
	}
	if (!name)
		return 0;
	return check_section_shape(r, s);
}

static int check_section_overlaps(struct reader *r)
{
	char label_a[24], label_b[24];

	for (size_t i = 0; i < r->section_count; i++) {
		const struct section *a = &r->sections[i];

		for (size_t j = i + 1; j < r->section_count; j++) {
			const struct section *b = &r->sections[j];

			/* Bounds are checked, so offset + size cannot overflow here. */
			if (a->size == 0 || b->size == 0 ||
			    a->offset >= b->offset + b->size || b->offset >= a->offset + a->size)
				continue;
			return patch_fail(r->err, r->errlen, -EINVAL,
					  "sections %s (offset %llu, size %llu) and %s (offset %llu, size %llu) overlap",
					  section_label(a, label_a), (unsigned long long)a->offset,
					  (unsigned long long)a->size, section_label(b, label_b),
					  (unsigned long long)b->offset, (unsigned long long)b->size);
		}
	}
	return 0;
}

static int read_section_table(struct reader *r)
{
	int rc;

	for (size_t i = 0; i < r->section_count; i++) {
		const uint8_t *e = r->buf + r->header_size + i * r->section_entry_size;
		struct section *s = &r->sections[i];

		s->type = le32_load(e + PATCH_SEC_TYPE);
		s->flags = le32_load(e + PATCH_SEC_FLAGS);
		s->offset = le64_load(e + PATCH_SEC_OFFSET);
		s->size = le64_load(e + PATCH_SEC_SIZE);
		s->entry_size = le32_load(e + PATCH_SEC_ENTRY_SIZE);
		s->count = le32_load(e + PATCH_SEC_COUNT);
		rc = check_section_entry(r, i);
		if (rc < 0)
			return rc;
		if (patch_section_name(s->type))
			r->known[s->type] = s;
	}

	rc = check_section_overlaps(r);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(required_sections) / sizeof(required_sections[0]); i++) {
		if (!r->known[required_sections[i]])
			return patch_fail(r->err, r->errlen, -EINVAL,
					  "required section %s is missing",
					  patch_section_name(required_sections[i]));
	}
	return 0;
}

static const uint8_t *section_data(const struct reader *r, const struct section *s)
{
	return r->buf + s->offset;
}

/* Copy the string at STRTAB offset `offset`; offset 0 means absent (NULL). */
static int read_string(struct reader *r, uint32_t offset, const char *field, char **out)
{
	*out = NULL;
	if (offset == 0)
		return 0;
	if (offset >= r->strtab_size)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "%s: string offset %u is outside STRTAB (size %zu)",
				  field, offset, r->strtab_size);
	if (!memchr(r->strtab + offset, 0, r->strtab_size - offset))
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "%s: string at STRTAB offset %u is not NUL-terminated inside STRTAB",
				  field, offset);
	*out = strdup((const char *)r->strtab + offset);
	if (!*out)
		return patch_fail(r->err, r->errlen, -ENOMEM, "out of memory reading %s", field);
	return 0;
}

static int read_strtab(struct reader *r)
{
	const struct section *s = r->known[PATCH_SEC_STRTAB];

	r->strtab = section_data(r, s);
	r->strtab_size = (size_t)s->size;
	if (r->strtab_size == 0 || r->strtab[0] != 0)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section STRTAB must start with a NUL byte (offset 0 means no string)");
	return 0;
}

static int read_target(struct reader *r, struct patch *out)
{
	const struct section *s = r->known[PATCH_SEC_TARGET];
	const uint8_t *d = section_data(r, s);
	uint32_t id_len;

	if (s->size < PATCH_FILE_TARGET_FIXED_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section TARGET is %llu bytes, shorter than its %u-byte fixed part",
				  (unsigned long long)s->size, PATCH_FILE_TARGET_FIXED_SIZE);
	id_len = le32_load(d);
	if (id_len == 0 || id_len > PATCH_BUILD_ID_MAX)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "target build-id length %u is outside 1..%u",
				  id_len, PATCH_BUILD_ID_MAX);
	if (s->size != PATCH_FILE_TARGET_FIXED_SIZE + (uint64_t)id_len)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section TARGET size %llu does not match its build-id length %u (expected %u bytes)",
				  (unsigned long long)s->size, id_len,
				  PATCH_FILE_TARGET_FIXED_SIZE + id_len);

	out->build_id_len = id_len;
	memcpy(out->build_id, d + PATCH_FILE_TARGET_FIXED_SIZE, id_len);
	return read_string(r, le32_load(d + 4), "target object name", &out->object_name);
}

/* Store one META value; unknown keys are skipped so later versions can add keys. */
static int store_meta(struct reader *r, struct patch *out, const char *key, char **value)
{
	char **slot = NULL;
	char **cves;

	if (!strcmp(key, "name"))
		slot = &out->name;
	else if (!strcmp(key, "description"))
		slot = &out->description;
	else if (!strcmp(key, "requires"))
		slot = &out->requires;

	if (slot) {
		if (*slot)
			return patch_fail(r->err, r->errlen, -EINVAL,
					  "META key '%s' appears twice", key);
		*slot = *value;
		*value = NULL;
		return 0;
	}
	if (strcmp(key, "cve") != 0)
		return 0;

	cves = realloc(out->cves, (out->ncves + 1) * sizeof(*cves));
	if (!cves)
		return patch_fail(r->err, r->errlen, -ENOMEM, "out of memory reading META");
	out->cves = cves;
	out->cves[out->ncves++] = *value;
	*value = NULL;
	return 0;
}

static int read_meta_entry(struct reader *r, struct patch *out, size_t index, const uint8_t *e)
{
	char field[48];
	char *key = NULL, *value = NULL;
	int rc;

	snprintf(field, sizeof(field), "META entry %zu key", index);
	rc = read_string(r, le32_load(e), field, &key);
	if (rc == 0 && !key)
		rc = patch_fail(r->err, r->errlen, -EINVAL, "META entry %zu has no key", index);
	if (rc == 0) {
		snprintf(field, sizeof(field), "META entry %zu value", index);
		rc = read_string(r, le32_load(e + 4), field, &value);
	}
	if (rc == 0 && !value)
		rc = patch_fail(r->err, r->errlen, -EINVAL,
				"META entry %zu ('%s') has no value", index, key);
	if (rc == 0)
		rc = store_meta(r, out, key, &value);
	free(key);
	free(value);
	return rc;
}

static int read_meta(struct reader *r, struct patch *out)
{
	const struct section *s = r->known[PATCH_SEC_META];
	int rc;

	if (!s)
		return 0;
	for (size_t i = 0; i < s->count; i++) {
		rc = read_meta_entry(r, out, i, section_data(r, s) + i * s->entry_size);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_part(struct reader *r, struct patch *out, enum patch_part part, uint32_t type)
{
	const struct section *s = r->known[type];

	if (!s || s->size == 0)
		return 0;
	if (s->size > PATCH_FILE_MAX_PART_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section %s size %llu exceeds the maximum part size %llu",
				  patch_section_name(type), (unsigned long long)s->size,
				  (unsigned long long)PATCH_FILE_MAX_PART_SIZE);
	out->part_data[part] = malloc((size_t)s->size);
	if (!out->part_data[part])
		return patch_fail(r->err, r->errlen, -ENOMEM,
				  "out of memory copying section %s", patch_section_name(type));
	memcpy(out->part_data[part], section_data(r, s), (size_t)s->size);
	out->part_size[part] = s->size;
	return 0;
}

static int read_parts(struct reader *r, struct patch *out)
{
	const struct section *bss = r->known[PATCH_SEC_BSS];
	int rc;

	rc = read_part(r, out, PATCH_PART_TEXT, PATCH_SEC_TEXT);
	if (rc == 0)
		rc = read_part(r, out, PATCH_PART_RODATA, PATCH_SEC_RODATA);
	if (rc == 0)
		rc = read_part(r, out, PATCH_PART_DATA, PATCH_SEC_DATA);
	if (rc < 0 || !bss)
		return rc;

	if (bss->size != PATCH_FILE_BSS_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section BSS is %llu bytes; it must be %u (the BSS size)",
				  (unsigned long long)bss->size, PATCH_FILE_BSS_SIZE);
	out->part_size[PATCH_PART_BSS] = le64_load(section_data(r, bss));
	return 0;
}

static int read_func(struct reader *r, size_t index, const uint8_t *e, struct patch_func *f)
{
	char field[40];

	if (!all_zero(e + 4, 4))
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "function %zu: reserved bytes are not zero", index);
	f->old_addr = le64_load(e + 8);
	f->old_size = le64_load(e + 16);
	f->new_offset = le64_load(e + 24);
	f->new_size = le64_load(e + 32);
	memcpy(f->old_sha256, e + 40, 32);
	snprintf(field, sizeof(field), "function %zu name", index);
	return read_string(r, le32_load(e), field, &f->name);
}

static int read_funcs(struct reader *r, struct patch *out)
{
	const struct section *s = r->known[PATCH_SEC_FUNCS];
	int rc;

	if (s->count == 0)
		return 0;
	out->funcs = calloc(s->count, sizeof(*out->funcs));
	if (!out->funcs)
		return patch_fail(r->err, r->errlen, -ENOMEM,
				  "out of memory reading %u functions", s->count);
	out->nfuncs = s->count;
	for (size_t i = 0; i < s->count; i++) {
		rc = read_func(r, i, section_data(r, s) + i * s->entry_size, &out->funcs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_reloc(struct reader *r, size_t index, const uint8_t *e, struct patch_reloc *rel)
{
	char field[40];

	rel->part = e[0];
	rel->type = e[1];
	rel->target_kind = e[2];
	rel->target_part = e[3];
	rel->offset = le64_load(e + 8);
	rel->target = le64_load(e + 16);
	rel->addend = (int64_t)le64_load(e + 24);
	snprintf(field, sizeof(field), "relocation %zu symbol", index);
	return read_string(r, le32_load(e + 4), field, &rel->symbol);
}

static int read_relocs(struct reader *r, struct patch *out)
{
	const struct section *s = r->known[PATCH_SEC_RELOCS];
	int rc;

	if (!s || s->count == 0)
		return 0;
	out->relocs = calloc(s->count, sizeof(*out->relocs));
	if (!out->relocs)
		return patch_fail(r->err, r->errlen, -ENOMEM,
				  "out of memory reading %u relocations", s->count);
	out->nrelocs = s->count;
	for (size_t i = 0; i < s->count; i++) {
		rc = read_reloc(r, i, section_data(r, s) + i * s->entry_size, &out->relocs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_unwind(struct reader *r, struct patch *out)
{
	const struct section *s = r->known[PATCH_SEC_UNWIND];
	const uint8_t *d;

	if (!s)
		return 0;
	if (s->size < PATCH_FILE_UNWIND_SIZE)
		return patch_fail(r->err, r->errlen, -EINVAL,
				  "section UNWIND is %llu bytes, shorter than its %u-byte fields",
				  (unsigned long long)s->size, PATCH_FILE_UNWIND_SIZE);
	d = section_data(r, s);
	out->eh_frame_offset = le64_load(d);
	out->eh_frame_size = le64_load(d + 8);
	out->eh_frame_reg_offset = le64_load(d + 16);
	out->eh_frame_reg_size = le64_load(d + 24);
	return 0;
}

static int read_layout(struct reader *r, struct patch *out)
{
	int rc;

	rc = read_header(r, out);
	if (rc == 0)
		rc = read_signature(r, out);
	if (rc == 0)
		rc = read_table_bounds(r);
	if (rc == 0)
		rc = read_section_table(r);
	return rc;
}

static int read_contents(struct reader *r, struct patch *out)
{
	int rc;

	rc = read_strtab(r);
	if (rc == 0)
		rc = read_target(r, out);
	if (rc == 0)
		rc = read_meta(r, out);
	if (rc == 0)
		rc = read_parts(r, out);
	if (rc == 0)
		rc = read_funcs(r, out);
	if (rc == 0)
		rc = read_relocs(r, out);
	if (rc == 0)
		rc = read_unwind(r, out);
	return rc;
}

int patch_parse(const uint8_t *buf, size_t len, struct patch *out,
		char *err, size_t errlen)
{
	struct reader *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!buf && len)
		return patch_fail(err, errlen, -EINVAL, "no buffer to parse");
	/* libsodium must be initialised before any use; later calls are cheap. */
	if (sodium_init() < 0)
		return patch_fail(err, errlen, -EIO, "libsodium failed to initialise");

	/* The reader contains a 2 KiB section array, so keep it off the stack. */
	r = calloc(1, sizeof(*r));
	if (!r)
		return patch_fail(err, errlen, -ENOMEM, "out of memory parsing a patch");
	r->buf = buf;
	r->len = len;
	r->err = err;
	r->errlen = errlen;

	rc = read_layout(r, out);
	if (rc == 0)
		rc = read_contents(r, out);
	if (rc == 0)
		rc = patch_validate(out, err, errlen);
	if (rc == 0) {
		out->signed_size = (size_t)r->signed_size;
		crypto_hash_sha256(out->id, buf, r->signed_size);
	}
	free(r);
	if (rc < 0)
		patch_free(out);
	return rc;
}

int patch_read_file(const char *path, struct patch *out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = patch_read_bytes(path, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = patch_parse(buf, len, out, err, errlen);
	free(buf);
	return rc;
}

void patch_free(struct patch *p)
{
	if (!p)
		return;
	free(p->object_name);
	free(p->name);
	free(p->description);
	for (size_t i = 0; i < p->ncves; i++)
		free(p->cves[i]);
	free(p->cves);
	free(p->requires);
	for (int i = 0; i < PATCH_PART_COUNT; i++)
		free(p->part_data[i]);
	for (size_t i = 0; i < p->nfuncs; i++)
		free(p->funcs[i].name);
	free(p->funcs);
	for (size_t i = 0; i < p->nrelocs; i++)
		free(p->relocs[i].symbol);
	free(p->relocs);
	memset(p, 0, sizeof(*p));
}

void patch_id_hex(const struct patch *p, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[p->id[i] >> 4];
		out[2 * i + 1] = digits[p->id[i] & 0xf];
	}
	out[64] = '\0';
}
