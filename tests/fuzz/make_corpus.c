/*
 * Write the seed corpus for fuzz_patch_parse: the unit tests' sample patch
 * (unsigned and signed with a fixed test key), a minimal patch, one with
 * many functions and relocations, and one with an unwind table (UNWIND,
 * format 1.1).  Run by `make corpus`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/sample_patch.h"

static int write_file(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "make_corpus: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static int write_patch(const char *dir, const char *name, const struct patch *p)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (patch_serialize(p, &buf, &len) != 0) {
		fprintf(stderr, "make_corpus: patch %s is invalid\n", name);
		return -1;
	}
	rc = write_file(dir, name, buf, len);
	free(buf);
	return rc;
}

/* Sign with a key derived from a fixed seed, so the corpus is reproducible. */
static int write_signed(const char *dir, const char *name, const struct patch *p)
{
	uint8_t seed[32] = { 's', 'u', 't', 'u', 'r', 'e' }, pk[32], sk[64], sig[64];
	uint8_t *buf, *signed_file;
	size_t len;
	int rc;

	if (patch_serialize(p, &buf, &len) != 0)
		return -1;
	signed_file = malloc(len + PATCH_SIGNATURE_SECTION_SIZE);
	crypto_sign_seed_keypair(pk, sk, seed);
	crypto_sign_detached(sig, NULL, buf, len, sk);
	memcpy(signed_file, buf, len);
	patch_encode_signature(pk, sig, signed_file + len);
	rc = write_file(dir, name, signed_file, len + PATCH_SIGNATURE_SECTION_SIZE);
	free(buf);
	free(signed_file);
	return rc;
}

static void make_minimal(struct patch *p)
{
	sample_patch(p);
	free(p->name);
	free(p->description);
	free(p->requires);
	p->name = p->description = p->requires = NULL;
	for (size_t i = 0; i < p->ncves; i++)
		free(p->cves[i]);
	p->ncves = 0;
	for (size_t i = 0; i < p->nrelocs; i++)
		free(p->relocs[i].symbol);
	p->nrelocs = 0;
	p->part_size[PATCH_PART_BSS] = 0;
	free(p->funcs[1].name);
	p->nfuncs = 1;
}

/* 16 functions of 8 bytes and 32 relocations into TEXT. */
static void make_many(struct patch *p)
{
	sample_patch(p);
	for (size_t i = 0; i < p->nfuncs; i++)
		free(p->funcs[i].name);
	p->nfuncs = 16;
	p->funcs = realloc(p->funcs, p->nfuncs * sizeof(*p->funcs));
	for (size_t i = 0; i < p->nfuncs; i++) {
		char name[32];

		snprintf(name, sizeof(name), "func_%zu", i);
		memset(&p->funcs[i], 0, sizeof(p->funcs[i]));
		p->funcs[i].name = sample_strdup(name);
		p->funcs[i].old_addr = 0x1000 + 0x40 * i;
		p->funcs[i].old_size = 0x20;
		p->funcs[i].new_offset = 6 * i;
		p->funcs[i].new_size = 6;
	}
	for (size_t i = 0; i < p->nrelocs; i++)
		free(p->relocs[i].symbol);
	p->nrelocs = 32;
	p->relocs = realloc(p->relocs, p->nrelocs * sizeof(*p->relocs));
	for (size_t i = 0; i < p->nrelocs; i++) {
		struct patch_reloc *r = &p->relocs[i];

		*r = (struct patch_reloc){
			.part = PATCH_PART_TEXT, .type = PATCH_RELOC_PC32,
			.target_kind = PATCH_TARGET_OBJECT, .offset = 2 * i,
			.target = 0x2000 + i, .addend = -4,
		};
		/* Odd entries name a symbol; two names alternate so STRTAB shares them. */
		if (i % 2) {
			r->target_kind = PATCH_TARGET_SYMBOL;
			r->target = 0;
			r->symbol = sample_strdup(i % 4 == 1 ? "puts" : "strlen");
		}
	}
}

/* One 16-byte .eh_frame record and its terminator in RODATA, registration space in BSS. */
static void make_unwind(struct patch *p)
{
	uint8_t *rodata = calloc(1, 32);

	sample_patch(p);
	rodata[8] = 12; /* little-endian length of the record after its length word */
	memset(rodata + 12, 0x5a, 12);
	free(p->part_data[PATCH_PART_RODATA]);
	p->part_data[PATCH_PART_RODATA] = rodata;
	p->part_size[PATCH_PART_RODATA] = 32;
	p->eh_frame_offset = 8;
	p->eh_frame_size = 20;
	p->eh_frame_reg_offset = 64;
	p->eh_frame_reg_size = PATCH_EH_FRAME_REG_SIZE;
}

int main(int argc, char **argv)
{
	struct patch p;
	int rc = 0;

	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	sample_patch(&p);
	rc |= write_patch(argv[1], "sample.suture", &p);
	rc |= write_signed(argv[1], "sample-signed.suture", &p);
	patch_free(&p);

	make_minimal(&p);
	rc |= write_patch(argv[1], "minimal.suture", &p);
	patch_free(&p);

	make_unwind(&p);
	rc |= write_patch(argv[1], "unwind.suture", &p);
	patch_free(&p);

	make_many(&p);
	rc |= write_patch(argv[1], "many.suture", &p);
	patch_free(&p);
	return rc ? 1 : 0;
}
