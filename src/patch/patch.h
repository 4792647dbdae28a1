/*
 * In-memory form of a suture patch file and the API to read, write and
 * describe one.  The on-disk layout is specified in docs/patch-format.md.
 *
 * A patch targets one ELF object (executable or shared library), named by
 * its GNU build-id, and replaces whole functions of it.  New code and data
 * form a patch image of up to four parts, each mapped with its own
 * protection: text (r-x), rodata (r--), data (rw-) and bss (rw-, zeroed).
 */
#ifndef SUTURE_PATCH_H
#define SUTURE_PATCH_H

#include <stddef.h>
#include <stdint.h>

#define PATCH_FORMAT_VERSION 1
#define PATCH_BUILD_ID_MAX 64
#define PATCH_JUMP_SIZE 5 /* jmp rel32 written at each replaced entry */
#define PATCH_SIGNATURE_SECTION_SIZE 112 /* bytes appended by signing */
#define PATCH_EH_FRAME_REG_SIZE 64 /* minimum BSS space for registering .eh_frame */

enum patch_part {
	PATCH_PART_TEXT = 0,
	PATCH_PART_RODATA = 1,
	PATCH_PART_DATA = 2,
	PATCH_PART_BSS = 3,
	PATCH_PART_COUNT
};

/* What a relocation's target address is relative to. */
enum patch_target_kind {
	PATCH_TARGET_PATCH = 0,  /* a part of this patch image: target_part + target */
	PATCH_TARGET_OBJECT = 1, /* a virtual address of the target object (link-time vaddr) */
	PATCH_TARGET_SYMBOL = 2, /* a dynamic symbol "name" or "name@VERSION" of another object */
};

/* How the relocation writes its value (x86-64 semantics, P = place). */
enum patch_reloc_type {
	PATCH_RELOC_ABS64 = 1, /* 64-bit S + A */
	PATCH_RELOC_PC32 = 2,  /* 32-bit signed S + A - P; must fit */
};

struct patch_func {
	char *name;          /* symbol name in the target object, for messages */
	uint64_t old_addr;   /* link-time vaddr of the replaced function */
	uint64_t old_size;   /* its size in bytes (from the symbol table) */
	uint64_t new_offset; /* entry of the replacement, offset in the text part */
	uint64_t new_size;
	uint8_t old_sha256[32]; /* SHA-256 of the original old_size bytes */
};

struct patch_reloc {
	uint8_t part;        /* enum patch_part where the value is written */
	uint8_t type;        /* enum patch_reloc_type */
	uint8_t target_kind; /* enum patch_target_kind */
	uint8_t target_part; /* enum patch_part, for PATCH_TARGET_PATCH */
	uint64_t offset;     /* place, offset inside `part` */
	uint64_t target;     /* offset in target_part, or object vaddr */
	int64_t addend;
	char *symbol;        /* for PATCH_TARGET_SYMBOL, else NULL */
};

struct patch_signature {
	int present;
	uint8_t public_key[32]; /* Ed25519 public key of the signer */
	uint8_t signature[64];  /* Ed25519 signature of the signed region */
};

struct patch {
	uint32_t version;       /* major format version; patch_serialize() ignores it */
	uint32_t version_minor; /* filled by patch_parse(); the writer emits 1.1 */
	uint8_t build_id[PATCH_BUILD_ID_MAX];
	size_t build_id_len;
	char *object_name;  /* soname or file name of the target, informational */

	/* Metadata, all optional, NULL when absent. */
	char *name;
	char *description;
	char **cves;
	size_t ncves;
	char *requires;     /* hex patch id that must be applied first, or NULL */

	uint8_t *part_data[PATCH_PART_COUNT]; /* NULL for BSS */
	uint64_t part_size[PATCH_PART_COUNT];

	struct patch_func *funcs;
	size_t nfuncs;
	struct patch_reloc *relocs;
	size_t nrelocs;

	/*
	 * Unwind table of the new code (UNWIND section, format 1.1), all 0 when
	 * absent: .eh_frame CIEs and FDEs in RODATA, ending with a zero length
	 * word, and zeroed BSS space that apply uses to register the table with
	 * the target's unwinder.
	 */
	uint64_t eh_frame_offset;
	uint64_t eh_frame_size;
	uint64_t eh_frame_reg_offset;
	uint64_t eh_frame_reg_size;

	/* Filled by patch_parse(). */
	uint8_t id[32];     /* SHA-256 of the signed region: the patch id */
	size_t signed_size; /* bytes of the file covered by the signature */
	struct patch_signature sig;
};

/*
 * Parse a patch file from memory.  Every offset, length and count is checked
 * against the buffer before use.  Returns 0, or a negative errno with a one-line
 * reason written to `err` (size errlen): -EINVAL malformed, -EPROTONOSUPPORT
 * unknown version.
 */
int patch_parse(const uint8_t *buf, size_t len, struct patch *out,
		char *err, size_t errlen);

/* Read and parse a file; -errno on I/O errors, otherwise as patch_parse(). */
int patch_read_file(const char *path, struct patch *out, char *err, size_t errlen);

/*
 * Read and parse a file for a command.  Returns an enum suture_exit value:
 * EXIT_OK, EXIT_PATCH_INVALID, or as patch_exit_for_errno() when the file
 * cannot be read.  The message in `err` names the path.
 */
int patch_load_file(const char *path, struct patch *out, char *err, size_t errlen);

/*
 * Map a negative errno from reading a patch or key file to an enum
 * suture_exit value: EXIT_NO_FILE for a missing path or a directory,
 * EXIT_USAGE for another file that is not a regular file or not the kind
 * expected, EXIT_PERMISSION for -EACCES, EXIT_INTERNAL otherwise.
 */
int patch_exit_for_errno(int rc);

/*
 * Check the rules that patch_parse() enforces on a decoded patch: build-id
 * length, part sizes, functions inside TEXT and not overlapping, relocation
 * places and targets in range, enum values known.  Returns 0 or -EINVAL with
 * a one-line reason in `err`.
 */
int patch_validate(const struct patch *p, char *err, size_t errlen);

/*
 * Serialise a patch (unsigned) into a newly allocated buffer.  The output is
 * deterministic: the same struct gives the same bytes.  Returns -EINVAL when
 * patch_validate() rejects the struct (call it for the reason), -ENOMEM.
 */
int patch_serialize(const struct patch *p, uint8_t **out, size_t *outlen);

/* Serialise and write atomically (temporary file and rename), mode 0644. */
int patch_write_file(const char *path, const struct patch *p);

/*
 * Read a whole regular file into a newly allocated buffer.  Returns 0 or a
 * negative errno with a one-line reason in `err`; -EFBIG above 4 GiB.
 */
int patch_read_bytes(const char *path, uint8_t **buf, size_t *len,
		     char *err, size_t errlen);

/*
 * Write `buf` to `path` atomically: a temporary file in the same directory
 * is written, fsync()ed, given `mode` and renamed over `path`.
 */
int patch_write_bytes(const char *path, const uint8_t *buf, size_t len,
		      unsigned int mode);

/* Encode the signature section that signing appends after the signed region. */
void patch_encode_signature(const uint8_t public_key[32], const uint8_t signature[64],
			    uint8_t out[PATCH_SIGNATURE_SECTION_SIZE]);

void patch_free(struct patch *p);

/* Lower-case hex of the patch id (65 bytes with NUL). */
void patch_id_hex(const struct patch *p, char out[65]);

#endif
