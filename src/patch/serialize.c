/*
 * Writer of the patch file format (docs/patch-format.md).  The layout is a
 * pure function of the struct: sections in type order, each aligned to
 * PATCH_FILE_ALIGN, strings in the order they are first used, padding zero.
 */
#include "patch/patch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patch/format.h"
#include "patch/le.h"

struct strtab_builder {
	char *data;
	size_t len;
	size_t cap;
};

/* STRTAB offsets of every string the file refers to. */
struct string_offsets {
	uint32_t object_name;
	uint32_t *meta_keys;   /* one per META entry */
	uint32_t *meta_values;
	size_t nmeta;
	uint32_t *func_names;
	uint32_t *reloc_symbols;
};

struct out_section {
	uint32_t type;
	uint32_t entry_size;
	uint32_t count;
	uint64_t offset;
	uint64_t size;
};

struct layout {
	struct out_section sections[PATCH_SEC_LAST];
	size_t nsections;
	size_t total;
};

/* Return the offset of `s`, appending it unless an identical string is stored. */
static int strtab_add(struct strtab_builder *sb, const char *s, uint32_t *offset)
{
	size_t n;

	*offset = 0;
	if (!s)
		return 0;
	for (size_t o = 1; o < sb->len; o += strlen(sb->data + o) + 1) {
		if (!strcmp(sb->data + o, s)) {
			*offset = (uint32_t)o;
			return 0;
		}
	}

	n = strlen(s) + 1;
	if (sb->len + n > UINT32_MAX)
		return -EOVERFLOW;
	if (sb->len + n > sb->cap) {
		size_t cap = (sb->cap ? sb->cap * 2 : 256) + n;
		char *data = realloc(sb->data, cap);

		if (!data)
			return -ENOMEM;
		sb->data = data;
		sb->cap = cap;
	}
	memcpy(sb->data + sb->len, s, n);
	*offset = (uint32_t)sb->len;
	sb->len += n;
	return 0;
}

static size_t meta_count(const struct patch *p)
{
	return (p->name != NULL) + (p->description != NULL) + p->ncves + (p->requires != NULL);
}

static int add_meta(struct strtab_builder *sb, struct string_offsets *so,
		    const char *key, const char *value)
{
	int rc;

	if (!value)
		return 0;
	rc = strtab_add(sb, key, &so->meta_keys[so->nmeta]);
	if (rc == 0)
		rc = strtab_add(sb, value, &so->meta_values[so->nmeta]);
	so->nmeta++;
	return rc;
}

static int add_meta_strings(const struct patch *p, struct strtab_builder *sb,
			    struct string_offsets *so)
{
	int rc;

	rc = add_meta(sb, so, "name", p->name);
	if (rc == 0)
		rc = add_meta(sb, so, "description", p->description);
	for (size_t i = 0; i < p->ncves && rc == 0; i++)
		rc = add_meta(sb, so, "cve", p->cves[i]);
	if (rc == 0)
		rc = add_meta(sb, so, "requires", p->requires);
	return rc;
}

static int build_strtab(const struct patch *p, struct strtab_builder *sb,
			struct string_offsets *so)
{
	size_t nmeta = meta_count(p);
	int rc;

	/* Offset 0 is a NUL byte so that offset 0 can mean "no string". */
	sb->cap = 256;
	sb->data = calloc(1, sb->cap);
	sb->len = 1;
	so->meta_keys = calloc(nmeta + 1, sizeof(uint32_t));
	so->meta_values = calloc(nmeta + 1, sizeof(uint32_t));
	so->func_names = calloc(p->nfuncs + 1, sizeof(uint32_t));
	so->reloc_symbols = calloc(p->nrelocs + 1, sizeof(uint32_t));
	if (!sb->data || !so->meta_keys || !so->meta_values || !so->func_names ||
	    !so->reloc_symbols)
		return -ENOMEM;

	rc = strtab_add(sb, p->object_name, &so->object_name);
	if (rc == 0)
		rc = add_meta_strings(p, sb, so);
	for (size_t i = 0; i < p->nfuncs && rc == 0; i++)
		rc = strtab_add(sb, p->funcs[i].name, &so->func_names[i]);
	for (size_t i = 0; i < p->nrelocs && rc == 0; i++)
		rc = strtab_add(sb, p->relocs[i].symbol, &so->reloc_symbols[i]);
	return rc;
}

static void free_strings(struct strtab_builder *sb, struct string_offsets *so)
{
	free(sb->data);
	free(so->meta_keys);
	free(so->meta_values);
	free(so->func_names);
	free(so->reloc_symbols);
}

static void plan_section(struct layout *l, uint32_t type, uint64_t size,
			 uint32_t entry_size, uint64_t count)
{
	struct out_section *s = &l->sections[l->nsections++];

	s->type = type;
	s->size = size;
	s->entry_size = entry_size;
	s->count = (uint32_t)count;
}

/* Lay out the sections after the header and table; -EOVERFLOW if a count does not fit. */
static int plan_layout(const struct patch *p, const struct strtab_builder *sb,
		       size_t nmeta, struct layout *l)
{
	uint64_t cursor;

	if (nmeta > UINT32_MAX || p->nfuncs > UINT32_MAX || p->nrelocs > UINT32_MAX)
		return -EOVERFLOW;

	plan_section(l, PATCH_SEC_TARGET, PATCH_FILE_TARGET_FIXED_SIZE + p->build_id_len, 0, 0);
	if (nmeta)
		plan_section(l, PATCH_SEC_META, nmeta * PATCH_FILE_META_ENTRY_SIZE,
			     PATCH_FILE_META_ENTRY_SIZE, nmeta);
	plan_section(l, PATCH_SEC_STRTAB, sb->len, 0, 0);
	plan_section(l, PATCH_SEC_TEXT, p->part_size[PATCH_PART_TEXT], 0, 0);
	if (p->part_size[PATCH_PART_RODATA])
		plan_section(l, PATCH_SEC_RODATA, p->part_size[PATCH_PART_RODATA], 0, 0);
	if (p->part_size[PATCH_PART_DATA])
		plan_section(l, PATCH_SEC_DATA, p->part_size[PATCH_PART_DATA], 0, 0);
	if (p->part_size[PATCH_PART_BSS])
		plan_section(l, PATCH_SEC_BSS, PATCH_FILE_BSS_SIZE, 0, 0);
	plan_section(l, PATCH_SEC_FUNCS, (uint64_t)p->nfuncs * PATCH_FILE_FUNC_ENTRY_SIZE,
		     PATCH_FILE_FUNC_ENTRY_SIZE, p->nfuncs);
	if (p->nrelocs)
		plan_section(l, PATCH_SEC_RELOCS, (uint64_t)p->nrelocs * PATCH_FILE_RELOC_ENTRY_SIZE,
			     PATCH_FILE_RELOC_ENTRY_SIZE, p->nrelocs);
	if (p->eh_frame_size)
		plan_section(l, PATCH_SEC_UNWIND, PATCH_FILE_UNWIND_SIZE, 0, 0);

	/* Part sizes are validated to at most 1 GiB each, so the sum cannot overflow. */
	cursor = PATCH_FILE_HEADER_SIZE + l->nsections * PATCH_FILE_SECTION_ENTRY_SIZE;
	for (size_t i = 0; i < l->nsections; i++) {
		cursor = (cursor + PATCH_FILE_ALIGN - 1) & ~(uint64_t)(PATCH_FILE_ALIGN - 1);
		l->sections[i].offset = cursor;
		cursor += l->sections[i].size;
	}
	if (cursor > PATCH_FILE_MAX_SIZE || cursor > SIZE_MAX)
		return -EFBIG;
	l->total = (size_t)cursor;
	return 0;
}

static void write_header(uint8_t *buf, const struct layout *l)
{
	memcpy(buf, PATCH_FILE_MAGIC, PATCH_FILE_MAGIC_LEN);
	le16_store(buf + PATCH_HDR_VERSION_MAJOR, PATCH_FORMAT_VERSION);
	le16_store(buf + PATCH_HDR_VERSION_MINOR, PATCH_FILE_VERSION_MINOR);
	le32_store(buf + PATCH_HDR_HEADER_SIZE, PATCH_FILE_HEADER_SIZE);
	le32_store(buf + PATCH_HDR_SECTION_COUNT, (uint32_t)l->nsections);
	le32_store(buf + PATCH_HDR_SECTION_ENTRY_SIZE, PATCH_FILE_SECTION_ENTRY_SIZE);
	le64_store(buf + PATCH_HDR_SIGNED_SIZE, l->total);

	for (size_t i = 0; i < l->nsections; i++) {
		const struct out_section *s = &l->sections[i];
		uint8_t *e = buf + PATCH_FILE_HEADER_SIZE + i * PATCH_FILE_SECTION_ENTRY_SIZE;

		le32_store(e + PATCH_SEC_TYPE, s->type);
		le64_store(e + PATCH_SEC_OFFSET, s->offset);
		le64_store(e + PATCH_SEC_SIZE, s->size);
		le32_store(e + PATCH_SEC_ENTRY_SIZE, s->entry_size);
		le32_store(e + PATCH_SEC_COUNT, s->count);
	}
}

static void write_func(uint8_t *e, const struct patch_func *f, uint32_t name)
{
	le32_store(e, name);
	le64_store(e + 8, f->old_addr);
	le64_store(e + 16, f->old_size);
	le64_store(e + 24, f->new_offset);
	le64_store(e + 32, f->new_size);
	memcpy(e + 40, f->old_sha256, 32);
}

static void write_reloc(uint8_t *e, const struct patch_reloc *r, uint32_t symbol)
{
	e[0] = r->part;
	e[1] = r->type;
	e[2] = r->target_kind;
	e[3] = r->target_part;
	le32_store(e + 4, symbol);
	le64_store(e + 8, r->offset);
	le64_store(e + 16, r->target);
	le64_store(e + 24, (uint64_t)r->addend);
}

static void write_section(uint8_t *d, uint32_t type, const struct patch *p,
			  const struct strtab_builder *sb, const struct string_offsets *so)
{
	switch (type) {
	case PATCH_SEC_TARGET:
		le32_store(d, (uint32_t)p->build_id_len);
		le32_store(d + 4, so->object_name);
		memcpy(d + PATCH_FILE_TARGET_FIXED_SIZE, p->build_id, p->build_id_len);
		break;
	case PATCH_SEC_META:
		for (size_t i = 0; i < so->nmeta; i++) {
			le32_store(d + i * PATCH_FILE_META_ENTRY_SIZE, so->meta_keys[i]);
			le32_store(d + i * PATCH_FILE_META_ENTRY_SIZE + 4, so->meta_values[i]);
		}
		break;
	case PATCH_SEC_STRTAB:
		memcpy(d, sb->data, sb->len);
		break;
	case PATCH_SEC_TEXT:
	case PATCH_SEC_RODATA:
	case PATCH_SEC_DATA: {
		enum patch_part part = (enum patch_part)(type - PATCH_SEC_TEXT);

		if (p->part_size[part])
			memcpy(d, p->part_data[part], (size_t)p->part_size[part]);
		break;
	}
	case PATCH_SEC_BSS:
		le64_store(d, p->part_size[PATCH_PART_BSS]);
		break;
	case PATCH_SEC_FUNCS:
		for (size_t i = 0; i < p->nfuncs; i++)
			write_func(d + i * PATCH_FILE_FUNC_ENTRY_SIZE, &p->funcs[i], so->func_names[i]);
		break;
	case PATCH_SEC_RELOCS:
		for (size_t i = 0; i < p->nrelocs; i++)
			write_reloc(d + i * PATCH_FILE_RELOC_ENTRY_SIZE, &p->relocs[i],
				    so->reloc_symbols[i]);
		break;
	case PATCH_SEC_UNWIND:
		le64_store(d, p->eh_frame_offset);
		le64_store(d + 8, p->eh_frame_size);
		le64_store(d + 16, p->eh_frame_reg_offset);
		le64_store(d + 24, p->eh_frame_reg_size);
		break;
	}
}

int patch_serialize(const struct patch *p, uint8_t **out, size_t *outlen)
{
	struct strtab_builder sb = { 0 };
	struct string_offsets so = { 0 };
	struct layout l = { 0 };
	uint8_t *buf = NULL;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (patch_validate(p, NULL, 0) < 0)
		return -EINVAL;

	rc = build_strtab(p, &sb, &so);
	if (rc == 0)
		rc = plan_layout(p, &sb, so.nmeta, &l);
	if (rc == 0) {
		buf = calloc(1, l.total);
		if (!buf)
			rc = -ENOMEM;
	}
	if (rc == 0) {
		write_header(buf, &l);
		for (size_t i = 0; i < l.nsections; i++)
			write_section(buf + l.sections[i].offset, l.sections[i].type, p, &sb, &so);
		*out = buf;
		*outlen = l.total;
	}
	free_strings(&sb, &so);
	return rc;
}

int patch_write_file(const char *path, const struct patch *p)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = patch_serialize(p, &buf, &len);
	if (rc < 0)
		return rc;
	rc = patch_write_bytes(path, buf, len, 0644);
	free(buf);
	return rc;
}

void patch_encode_signature(const uint8_t public_key[32], const uint8_t signature[64],
			    uint8_t out[PATCH_SIGNATURE_SECTION_SIZE])
{
	memset(out, 0, PATCH_SIGNATURE_SECTION_SIZE);
	le32_store(out + PATCH_SIG_OFF_TYPE, PATCH_SEC_SIGNATURE);
	le32_store(out + PATCH_SIG_OFF_SIZE, PATCH_SIGNATURE_SECTION_SIZE);
	le32_store(out + PATCH_SIG_OFF_ALGORITHM, PATCH_SIG_ALG_ED25519);
	memcpy(out + PATCH_SIG_OFF_PUBLIC_KEY, public_key, 32);
	memcpy(out + PATCH_SIG_OFF_SIGNATURE, signature, 64);
}
