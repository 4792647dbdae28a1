/*
 * Semantic checks on a decoded patch, shared by the reader (on untrusted
 * input) and the writer (so that it never emits a file the reader rejects).
 */
#include "patch/patch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patch/format.h"
#include "patch/internal.h"

struct func_range {
	uint64_t start;
	uint64_t size;
	size_t index;
};

static const char *func_name(const struct patch_func *f)
{
	return f->name ? f->name : "(unnamed)";
}

static int validate_target(const struct patch *p, char *err, size_t errlen)
{
	if (p->build_id_len == 0 || p->build_id_len > PATCH_BUILD_ID_MAX)
		return patch_fail(err, errlen, -EINVAL,
				  "target build-id length %zu is outside 1..%u",
				  p->build_id_len, PATCH_BUILD_ID_MAX);
	return 0;
}

static int validate_meta(const struct patch *p, char *err, size_t errlen)
{
	if (p->ncves && !p->cves)
		return patch_fail(err, errlen, -EINVAL, "patch lists %zu CVE ids but no array", p->ncves);
	for (size_t i = 0; i < p->ncves; i++) {
		if (!p->cves[i])
			return patch_fail(err, errlen, -EINVAL, "CVE id %zu is missing", i);
	}
	if (!p->requires)
		return 0;

	/* A patch id is the lower-case hex of a SHA-256: exactly 64 digits. */
	if (strlen(p->requires) != 64 ||
	    strspn(p->requires, "0123456789abcdef") != 64)
		return patch_fail(err, errlen, -EINVAL,
				  "META 'requires' value '%.80s' is not a patch id (64 lower-case hex digits)",
				  p->requires);
	return 0;
}

static int validate_parts(const struct patch *p, char *err, size_t errlen)
{
	static const char *const names[PATCH_PART_COUNT] = { "TEXT", "RODATA", "DATA", "BSS" };

	for (int i = 0; i < PATCH_PART_COUNT; i++) {
		if (p->part_size[i] > PATCH_FILE_MAX_PART_SIZE)
			return patch_fail(err, errlen, -EINVAL,
					  "part %s size %llu exceeds the maximum part size %llu",
					  names[i], (unsigned long long)p->part_size[i],
					  (unsigned long long)PATCH_FILE_MAX_PART_SIZE);
		if (i != PATCH_PART_BSS && p->part_size[i] && !p->part_data[i])
			return patch_fail(err, errlen, -EINVAL,
					  "part %s has size %llu but no data",
					  names[i], (unsigned long long)p->part_size[i]);
	}
	return 0;
}

static int validate_func(const struct patch *p, size_t i, char *err, size_t errlen)
{
	const struct patch_func *f = &p->funcs[i];
	uint64_t text_size = p->part_size[PATCH_PART_TEXT];
	uint64_t end;

	if (f->old_size == 0 || f->new_size == 0)
		return patch_fail(err, errlen, -EINVAL,
				  "function %zu (%s) has old size %llu and new size %llu; both must be non-zero",
				  i, func_name(f), (unsigned long long)f->old_size,
				  (unsigned long long)f->new_size);
	if (__builtin_add_overflow(f->old_addr, f->old_size, &end))
		return patch_fail(err, errlen, -EINVAL,
				  "function %zu (%s) at 0x%llx with size %llu wraps around the address space",
				  i, func_name(f), (unsigned long long)f->old_addr,
				  (unsigned long long)f->old_size);
	if (__builtin_add_overflow(f->new_offset, f->new_size, &end) || end > text_size)
		return patch_fail(err, errlen, -EINVAL,
				  "function %zu (%s) replacement (offset %llu, size %llu) extends past the end of TEXT (%llu bytes)",
				  i, func_name(f), (unsigned long long)f->new_offset,
				  (unsigned long long)f->new_size, (unsigned long long)text_size);
	return 0;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct func_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Sort the old ranges by address; any overlap then shows between neighbours. */
static int check_func_overlaps(const struct patch *p, char *err, size_t errlen)
{
	struct func_range *ranges = calloc(p->nfuncs, sizeof(*ranges));
	int rc = 0;

	if (!ranges)
		return patch_fail(err, errlen, -ENOMEM, "out of memory checking functions");
	for (size_t i = 0; i < p->nfuncs; i++) {
		ranges[i].start = p->funcs[i].old_addr;
		ranges[i].size = p->funcs[i].old_size;
		ranges[i].index = i;
	}
	qsort(ranges, p->nfuncs, sizeof(*ranges), compare_ranges);

	for (size_t i = 1; i < p->nfuncs && rc == 0; i++) {
		const struct func_range *a = &ranges[i - 1], *b = &ranges[i];

		/* validate_func() ruled out wrap-around, so start + size is exact. */
		if (b->start >= a->start + a->size)
			continue;
		rc = patch_fail(err, errlen, -EINVAL,
				"functions %s (0x%llx, %llu bytes) and %s (0x%llx, %llu bytes) overlap",
				func_name(&p->funcs[a->index]), (unsigned long long)a->start,
				(unsigned long long)a->size, func_name(&p->funcs[b->index]),
				(unsigned long long)b->start, (unsigned long long)b->size);
	}
	free(ranges);
	return rc;
}

static int validate_funcs(const struct patch *p, char *err, size_t errlen)
{
	int rc;

	if (p->nfuncs == 0 || !p->funcs)
		return patch_fail(err, errlen, -EINVAL, "patch replaces no function");
	for (size_t i = 0; i < p->nfuncs; i++) {
		rc = validate_func(p, i, err, errlen);
		if (rc < 0)
			return rc;
	}
	return check_func_overlaps(p, err, errlen);
}

static int reloc_width(uint8_t type)
{
	switch (type) {
	case PATCH_RELOC_ABS64:
		return 8;
	case PATCH_RELOC_PC32:
		return 4;
	default:
		return 0;
	}
}

static int validate_reloc_place(const struct patch *p, size_t i, char *err, size_t errlen)
{
	const struct patch_reloc *r = &p->relocs[i];
	int width = reloc_width(r->type);
	uint64_t size;

	if (r->part >= PATCH_PART_COUNT)
		return patch_fail(err, errlen, -EINVAL,
				  "relocation %zu: part %u is not a valid part (0..%d)",
				  i, r->part, PATCH_PART_COUNT - 1);
	if (r->part == PATCH_PART_BSS)
		return patch_fail(err, errlen, -EINVAL,
				  "relocation %zu writes into BSS, which has no file contents", i);
	if (width == 0)
		return patch_fail(err, errlen, -EINVAL,
				  "relocation %zu: type %u is not a known relocation type", i, r->type);

	size = p->part_size[r->part];
	if (r->offset > size || size - r->offset < (uint64_t)width)
		return patch_fail(err, errlen, -EINVAL,
				  "relocation %zu: place (offset %llu, %d bytes) extends past the end of its part (%llu bytes)",
				  i, (unsigned long long)r->offset, width, (unsigned long long)size);
	return 0;
}

static int validate_reloc_target(const struct patch *p, size_t i, char *err, size_t errlen)
{
	const struct patch_reloc *r = &p->relocs[i];

	switch (r->target_kind) {
	case PATCH_TARGET_PATCH:
		if (r->target_part >= PATCH_PART_COUNT)
			return patch_fail(err, errlen, -EINVAL,
					  "relocation %zu: target part %u is not a valid part (0..%d)",
					  i, r->target_part, PATCH_PART_COUNT - 1);
		/* The end of a part is a valid target, like a linker's _end symbol. */
		if (r->target > p->part_size[r->target_part])
			return patch_fail(err, errlen, -EINVAL,
					  "relocation %zu: target offset %llu is past the end of its part (%llu bytes)",
					  i, (unsigned long long)r->target,
					  (unsigned long long)p->part_size[r->target_part]);
		break;
	case PATCH_TARGET_OBJECT:
		if (r->target_part != 0)
			return patch_fail(err, errlen, -EINVAL,
					  "relocation %zu: target part must be 0 for an object address", i);
		break;
	case PATCH_TARGET_SYMBOL:
		if (!r->symbol || !r->symbol[0])
			return patch_fail(err, errlen, -EINVAL,
					  "relocation %zu refers to a symbol but names none", i);
		if (r->target != 0 || r->target_part != 0)
			return patch_fail(err, errlen, -EINVAL,
					  "relocation %zu: target and target part must be 0 for a symbol", i);
		return 0;
	default:
		return patch_fail(err, errlen, -EINVAL,
				  "relocation %zu: target kind %u is not known", i, r->target_kind);
	}
	if (r->symbol)
		return patch_fail(err, errlen, -EINVAL,
				  "relocation %zu names a symbol but its target kind is %u, not a symbol",
				  i, r->target_kind);
	return 0;
}

static int validate_relocs(const struct patch *p, char *err, size_t errlen)
{
	int rc;

	if (p->nrelocs && !p->relocs)
		return patch_fail(err, errlen, -EINVAL, "patch lists %zu relocations but no array", p->nrelocs);
	for (size_t i = 0; i < p->nrelocs; i++) {
		rc = validate_reloc_place(p, i, err, errlen);
		if (rc == 0)
			rc = validate_reloc_target(p, i, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Walk the CIE and FDE length words: they must tile the table up to its zero terminator. */
static int validate_eh_frame_records(const uint8_t *table, uint64_t size, char *err, size_t errlen)
{
	uint64_t at = 0;

	while (at + 4 <= size) {
		uint32_t length = (uint32_t)table[at] | (uint32_t)table[at + 1] << 8 |
				  (uint32_t)table[at + 2] << 16 | (uint32_t)table[at + 3] << 24;

		if (length == 0)
			break;
		if (length == UINT32_MAX)
			return patch_fail(err, errlen, -EINVAL,
					  "UNWIND: record at .eh_frame offset %llu uses a 64-bit length, "
					  "which is not supported", (unsigned long long)at);
		if (length > size - at - 4)
			return patch_fail(err, errlen, -EINVAL,
					  "UNWIND: record at .eh_frame offset %llu (%u bytes) extends past "
					  "the table (%llu bytes)", (unsigned long long)at, length,
					  (unsigned long long)size);
		at += 4 + (uint64_t)length;
	}
	if (at + 4 != size)
		return patch_fail(err, errlen, -EINVAL,
				  "UNWIND: .eh_frame (%llu bytes) does not end with exactly one zero "
				  "length word after its records", (unsigned long long)size);
	return 0;
}

static int validate_unwind(const struct patch *p, char *err, size_t errlen)
{
	uint64_t end;

	if (!p->eh_frame_size) {
		if (p->eh_frame_offset || p->eh_frame_reg_offset || p->eh_frame_reg_size)
			return patch_fail(err, errlen, -EINVAL,
					  "UNWIND: fields are set but the .eh_frame size is 0");
		return 0;
	}
	if (p->eh_frame_offset % 4 ||
	    __builtin_add_overflow(p->eh_frame_offset, p->eh_frame_size, &end) ||
	    end > p->part_size[PATCH_PART_RODATA])
		return patch_fail(err, errlen, -EINVAL,
				  "UNWIND: .eh_frame (offset %llu, size %llu) is not 4-byte aligned "
				  "inside RODATA (%llu bytes)", (unsigned long long)p->eh_frame_offset,
				  (unsigned long long)p->eh_frame_size,
				  (unsigned long long)p->part_size[PATCH_PART_RODATA]);
	if (p->eh_frame_reg_offset % 8 || p->eh_frame_reg_size < PATCH_EH_FRAME_REG_SIZE ||
	    __builtin_add_overflow(p->eh_frame_reg_offset, p->eh_frame_reg_size, &end) ||
	    end > p->part_size[PATCH_PART_BSS])
		return patch_fail(err, errlen, -EINVAL,
				  "UNWIND: registration space (offset %llu, size %llu) is not at least "
				  "%d bytes, 8-byte aligned, inside BSS (%llu bytes)",
				  (unsigned long long)p->eh_frame_reg_offset,
				  (unsigned long long)p->eh_frame_reg_size, PATCH_EH_FRAME_REG_SIZE,
				  (unsigned long long)p->part_size[PATCH_PART_BSS]);
	return validate_eh_frame_records(p->part_data[PATCH_PART_RODATA] + p->eh_frame_offset,
					 p->eh_frame_size, err, errlen);
}

int patch_validate(const struct patch *p, char *err, size_t errlen)
{
	int rc;

	rc = validate_target(p, err, errlen);
	if (rc == 0)
		rc = validate_meta(p, err, errlen);
	if (rc == 0)
		rc = validate_parts(p, err, errlen);
	if (rc == 0)
		rc = validate_funcs(p, err, errlen);
	if (rc == 0)
		rc = validate_relocs(p, err, errlen);
	if (rc == 0)
		rc = validate_unwind(p, err, errlen);
	return rc;
}
