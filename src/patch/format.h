/*
 * Byte layout of a suture patch file, version 1.  docs/patch-format.md
 * describes each structure; this header only names the constants that the
 * reader, the writer and the tests share.  All integers are little-endian.
 */
#ifndef SUTURE_PATCH_FORMAT_H
#define SUTURE_PATCH_FORMAT_H

#define PATCH_FILE_MAGIC "SUTPATCH"
#define PATCH_FILE_MAGIC_LEN 8
#define PATCH_FILE_VERSION_MINOR 1

/* Sizes of the version 1.0 structures.  A file of a later 1.x minor version
 * may use larger headers and entries, and the reader ignores the extra bytes. */
#define PATCH_FILE_HEADER_SIZE 64
#define PATCH_FILE_SECTION_ENTRY_SIZE 32
#define PATCH_FILE_TARGET_FIXED_SIZE 8
#define PATCH_FILE_META_ENTRY_SIZE 8
#define PATCH_FILE_FUNC_ENTRY_SIZE 72
#define PATCH_FILE_RELOC_ENTRY_SIZE 32
#define PATCH_FILE_BSS_SIZE 8
#define PATCH_FILE_UNWIND_SIZE 32 /* since 1.1; later minors may append fields */

/* Header field offsets. */
#define PATCH_HDR_VERSION_MAJOR 8
#define PATCH_HDR_VERSION_MINOR 10
#define PATCH_HDR_HEADER_SIZE 12
#define PATCH_HDR_SECTION_COUNT 16
#define PATCH_HDR_SECTION_ENTRY_SIZE 20
#define PATCH_HDR_FLAGS 24
#define PATCH_HDR_RESERVED 28
#define PATCH_HDR_SIGNED_SIZE 32
#define PATCH_HDR_RESERVED2 40

/* Section table entry field offsets. */
#define PATCH_SEC_TYPE 0
#define PATCH_SEC_FLAGS 4
#define PATCH_SEC_OFFSET 8
#define PATCH_SEC_SIZE 16
#define PATCH_SEC_ENTRY_SIZE 24
#define PATCH_SEC_COUNT 28

/* Set on a section that a reader must understand to use the file.  A reader
 * rejects an unknown section type with this flag and skips one without it. */
#define PATCH_SEC_FLAG_REQUIRED 0x1u

/* Writers start every section at a multiple of this many bytes. */
#define PATCH_FILE_ALIGN 16

/* Upper bounds that keep a hostile file from asking for absurd allocations.
 * A part larger than 1 GiB could not be reached by the rel32 jumps anyway. */
#define PATCH_FILE_MAX_SECTIONS 64
#define PATCH_FILE_MAX_PART_SIZE (1ull << 30)
#define PATCH_FILE_MAX_SIZE (4ull << 30)

enum patch_section_type {
	PATCH_SEC_TARGET = 1,
	PATCH_SEC_META = 2,
	PATCH_SEC_STRTAB = 3,
	PATCH_SEC_TEXT = 4,
	PATCH_SEC_RODATA = 5,
	PATCH_SEC_DATA = 6,
	PATCH_SEC_BSS = 7,
	PATCH_SEC_FUNCS = 8,
	PATCH_SEC_RELOCS = 9,
	PATCH_SEC_SIGNATURE = 10,
	PATCH_SEC_UNWIND = 11, /* since 1.1 */
};

/* Highest section type this reader knows. */
#define PATCH_SEC_LAST PATCH_SEC_UNWIND

/*
 * The signature section follows the signed region and is not listed in the
 * section table, so signing leaves bytes [0, signed_size) and the patch id
 * unchanged.  Layout: u32 type (10), u32 size (112), u32 algorithm, u32 zero,
 * 32-byte public key, 64-byte signature.
 */
#define PATCH_SIG_ALG_ED25519 1
#define PATCH_SIG_OFF_TYPE 0
#define PATCH_SIG_OFF_SIZE 4
#define PATCH_SIG_OFF_ALGORITHM 8
#define PATCH_SIG_OFF_RESERVED 12
#define PATCH_SIG_OFF_PUBLIC_KEY 16
#define PATCH_SIG_OFF_SIGNATURE 48

#endif
