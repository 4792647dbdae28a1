/*
 * The check that the original build matches the deployed binary: the same
 * build-id, or else the same loaded bytes.  The build-id also covers debug
 * information, which names the build directory, so a rebuild elsewhere
 * differs in the build-id alone.
 */
#include "build/build_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elf/elf_file.h"
#include "elf/elf_mem.h"
#include "patch/patch.h"
#include "util/exitcode.h"
#include "util/log.h"

/* Link-time address range of the build-id bytes, so that the comparison skips them. */
struct id_range {
	uint64_t vaddr;
	uint64_t size;
};

static void find_build_id(struct elf_file *f, struct id_range *out)
{
	Elf *elf = elf_file_elf(f);
	size_t count = 0;

	out->vaddr = out->size = 0;
	if (elf_getphdrnum(elf, &count) != 0)
		return;
	for (size_t i = 0; i < count; i++) {
		GElf_Phdr phdr;
		GElf_Nhdr note;
		Elf_Data *data;
		size_t offset = 0, name_at, desc_at;

		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, (int64_t)phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
		while (data && (offset = gelf_getnote(data, offset, &note, &name_at, &desc_at)) > 0) {
			if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
			    !memcmp((const char *)data->d_buf + name_at, "GNU", 4)) {
				out->vaddr = phdr.p_vaddr + desc_at;
				out->size = note.n_descsz;
				return;
			}
		}
	}
}

static void mask_range(uint8_t *buf, const struct elf_segment *seg, uint64_t vaddr, uint64_t size)
{
	for (uint64_t a = vaddr; a < vaddr + size; a++) {
		if (a >= seg->vaddr && a < seg->vaddr + seg->filesz)
			buf[a - seg->vaddr] = 0;
	}
}

/*
 * Clear the bytes that may differ between two builds of the same code: the
 * build-id, and the ELF header's section header table fields, which the
 * first segment maps but nothing reads at run time and which move with the
 * size of the debug information.
 */
static void mask_unused(uint8_t *buf, const struct elf_segment *seg, const struct id_range *id)
{
	mask_range(buf, seg, id->vaddr, id->size);
	if (seg->offset == 0) {
		mask_range(buf, seg, seg->vaddr + offsetof(Elf64_Ehdr, e_shoff), 8);
		mask_range(buf, seg, seg->vaddr + offsetof(Elf64_Ehdr, e_shnum), 4);
	}
}

static int same_build_id(struct elf_file *a, struct elf_file *b)
{
	uint8_t ida[PATCH_BUILD_ID_MAX], idb[PATCH_BUILD_ID_MAX];
	size_t la = 0, lb = 0;

	return elf_file_build_id(a, ida, sizeof(ida), &la) == 0 &&
	       elf_file_build_id(b, idb, sizeof(idb), &lb) == 0 && la == lb && !memcmp(ida, idb, la);
}

/* Return the first offset at which the segment's bytes differ, or -1 when equal. */
static long compare_segment(struct elf_file *a, struct elf_file *b, const struct elf_segment *seg,
			    const struct id_range *ida, const struct id_range *idb)
{
	uint8_t *x = malloc(seg->filesz ? seg->filesz : 1);
	uint8_t *y = malloc(seg->filesz ? seg->filesz : 1);
	long differs = -2;

	if (x && y && elf_file_read(a, seg->vaddr, x, seg->filesz) == 0 &&
	    elf_file_read(b, seg->vaddr, y, seg->filesz) == 0) {
		mask_unused(x, seg, ida);
		mask_unused(y, seg, idb);
		differs = -1;
		for (uint64_t i = 0; i < seg->filesz && differs == -1; i++) {
			if (x[i] != y[i])
				differs = (long)i;
		}
	}
	free(x);
	free(y);
	return differs;
}

static int compare_loads(struct elf_file *a, struct elf_file *b, const char *target,
			 const char *against)
{
	const struct elf_segment *sa, *sb;
	struct id_range ida, idb;
	size_t na, nb;
	long at;

	elf_file_load_segments(a, &sa, &na);
	elf_file_load_segments(b, &sb, &nb);
	if (na != nb)
		return build_fail(EXIT_TARGET_MISMATCH, "%s has %zu loadable segments and %s has %zu; "
				  "the build does not match the deployed binary", target, na,
				  against, nb);
	find_build_id(a, &ida);
	find_build_id(b, &idb);
	for (size_t i = 0; i < na; i++) {
		if (sa[i].vaddr != sb[i].vaddr || sa[i].memsz != sb[i].memsz ||
		    sa[i].filesz != sb[i].filesz || sa[i].flags != sb[i].flags)
			return build_fail(EXIT_TARGET_MISMATCH, "segment %zu (vaddr 0x%llx) has another "
					  "address, size or protection in %s than in %s; the build "
					  "does not match the deployed binary", i,
					  (unsigned long long)sa[i].vaddr, target, against);
		at = compare_segment(a, b, &sa[i], &ida, &idb);
		if (at == -2)
			return build_fail(EXIT_INTERNAL, "cannot read segment %zu of %s or %s", i,
					  target, against);
		if (at >= 0)
			return build_fail(EXIT_TARGET_MISMATCH, "segment %zu of %s differs from %s at "
					  "offset 0x%lx (vaddr 0x%llx); build from the same sources, "
					  "compiler and options as the deployed binary", i, target,
					  against, (unsigned long)at,
					  (unsigned long long)(sa[i].vaddr + (uint64_t)at));
	}
	return EXIT_OK;
}

int build_verify_target(const char *target, const char *against)
{
	struct elf_file *a = NULL, *b = NULL;
	int rc = EXIT_OK, r;

	r = elf_file_open(target, &a);
	if (r < 0) {
		rc = build_fail(EXIT_BUILD_FAILED, "cannot read the built target %s: %s; check "
				"--target (relative to the tree) and the build command", target,
				strerror(-r));
		goto out;
	}
	struct stat st;
	if (stat(against, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = build_fail(EXIT_NO_FILE, "--against %s is a directory; give the deployed "
				"binary itself", against);
		goto out;
	}
	r = elf_file_open(against, &b);
	if (r < 0) {
		rc = build_fail(r == -ENOENT || r == -ENOTDIR ? EXIT_NO_FILE : EXIT_USAGE,
				"cannot read --against %s: %s", against, strerror(-r));
		goto out;
	}
	if (elf_file_type(a) != elf_file_type(b) || elf_file_machine(a) != elf_file_machine(b))
		rc = build_fail(EXIT_TARGET_MISMATCH, "%s and %s are different kinds of ELF file",
				target, against);
	else if (!same_build_id(a, b))
		rc = compare_loads(a, b, target, against);
out:
	elf_file_close(b);
	elf_file_close(a);
	return rc;
}

int build_warn_no_against(const char *target)
{
	uint8_t id[PATCH_BUILD_ID_MAX];
	char hex[2 * PATCH_BUILD_ID_MAX + 1];
	struct elf_file *f = NULL;
	size_t len = 0;
	int r = elf_file_open(target, &f);

	if (r == 0)
		r = elf_file_build_id(f, id, sizeof(id), &len);
	elf_file_close(f);
	if (r < 0)
		return build_fail(EXIT_BUILD_FAILED, "cannot read the build-id of the built target "
				  "%s: %s; check --target (relative to the tree) and the build command",
				  target, strerror(-r));
	build_id_hex(id, len, hex);
	log_warn("no --against: the patch is for build-id %s, the tree's own build of %s; give "
		 "--against with the deployed binary to check that they match", hex, target);
	return EXIT_OK;
}
