/*
 * A small but complete patch for the format, trust and fuzzer tests: two
 * functions, all four parts, metadata with two CVE ids, and one relocation
 * of each target kind.  Header-only so that each test binary stays one file.
 */
#ifndef SUTURE_TEST_SAMPLE_PATCH_H
#define SUTURE_TEST_SAMPLE_PATCH_H

#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

static char *sample_strdup(const char *s)
{
	char *copy = malloc(strlen(s) + 1);

	if (copy)
		strcpy(copy, s);
	return copy;
}

static uint8_t *sample_bytes(size_t len, uint8_t seed)
{
	uint8_t *b = malloc(len);

	for (size_t i = 0; b && i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
	return b;
}

static void sample_funcs(struct patch *p)
{
	p->nfuncs = 2;
	p->funcs = calloc(2, sizeof(*p->funcs));
	p->funcs[0].name = sample_strdup("parse_header");
	p->funcs[0].old_addr = 0x401130;
	p->funcs[0].old_size = 96;
	p->funcs[0].new_offset = 0;
	p->funcs[0].new_size = 64;
	memset(p->funcs[0].old_sha256, 0xa1, 32);
	p->funcs[1].name = sample_strdup("check_length");
	p->funcs[1].old_addr = 0x4011a0;
	p->funcs[1].old_size = 40;
	p->funcs[1].new_offset = 64;
	p->funcs[1].new_size = 32;
	memset(p->funcs[1].old_sha256, 0xb2, 32);
}

static void sample_relocs(struct patch *p)
{
	p->nrelocs = 3;
	p->relocs = calloc(3, sizeof(*p->relocs));
	p->relocs[0] = (struct patch_reloc){
		.part = PATCH_PART_TEXT, .type = PATCH_RELOC_PC32,
		.target_kind = PATCH_TARGET_PATCH, .target_part = PATCH_PART_RODATA,
		.offset = 10, .target = 4, .addend = -4,
	};
	p->relocs[1] = (struct patch_reloc){
		.part = PATCH_PART_TEXT, .type = PATCH_RELOC_PC32,
		.target_kind = PATCH_TARGET_OBJECT, .offset = 70, .target = 0x404010,
		.addend = -4,
	};
	p->relocs[2] = (struct patch_reloc){
		.part = PATCH_PART_DATA, .type = PATCH_RELOC_ABS64,
		.target_kind = PATCH_TARGET_SYMBOL, .offset = 8,
		.symbol = sample_strdup("memcpy@GLIBC_2.14"),
	};
}

/* Fill `p` with the sample patch; release it with patch_free(). */
static void sample_patch(struct patch *p)
{
	static const uint8_t build_id[20] = {
		0x3f, 0x1c, 0x9a, 0x07, 0x55, 0xe2, 0x41, 0x8b, 0x90, 0x12,
		0xcd, 0x34, 0x6e, 0xf0, 0x21, 0x77, 0x88, 0x0b, 0x5a, 0xc9,
	};

	memset(p, 0, sizeof(*p));
	p->version = PATCH_FORMAT_VERSION;
	memcpy(p->build_id, build_id, sizeof(build_id));
	p->build_id_len = sizeof(build_id);
	p->object_name = sample_strdup("libdemo.so.1");
	p->name = sample_strdup("fix-header-overflow");
	p->description = sample_strdup("Check the header length before copying.");
	p->ncves = 2;
	p->cves = calloc(2, sizeof(char *));
	p->cves[0] = sample_strdup("CVE-2024-0001");
	p->cves[1] = sample_strdup("CVE-2024-0002");
	p->requires = sample_strdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

	p->part_size[PATCH_PART_TEXT] = 96;
	p->part_data[PATCH_PART_TEXT] = sample_bytes(96, 0x90);
	p->part_size[PATCH_PART_RODATA] = 16;
	p->part_data[PATCH_PART_RODATA] = sample_bytes(16, 0x41);
	p->part_size[PATCH_PART_DATA] = 24;
	p->part_data[PATCH_PART_DATA] = sample_bytes(24, 0x10);
	p->part_size[PATCH_PART_BSS] = 4096;

	sample_funcs(p);
	sample_relocs(p);
}

#endif
