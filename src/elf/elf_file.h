/*
 * Read-only access to an ELF file on disk through elfutils libelf: build-id,
 * type, PT_LOAD segments, symbol lookup, dynamic symbols with their version
 * names, and reads of file contents by link-time virtual address.
 *
 * Open a file once with elf_file_open() and query it as often as needed.
 * Every function returns 0 or a negative errno unless stated otherwise.
 * Strings returned through the structs below point into the file's string
 * tables and stay valid until elf_file_close().
 */
#ifndef SUTURE_ELF_FILE_H
#define SUTURE_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

struct elf_file;

/* One PT_LOAD program header. */
struct elf_segment {
	uint64_t vaddr;
	uint64_t memsz;
	uint64_t offset; /* file offset of the first byte */
	uint64_t filesz; /* bytes present in the file, and zeros follow up to memsz */
	uint64_t align;
	uint32_t flags;  /* PF_R | PF_W | PF_X */
};

/* A defined symbol found by one of the lookup functions. */
struct elf_symbol {
	const char *name;
	const char *file; /* STT_FILE name of the local's source file, or NULL */
	uint64_t value;   /* link-time vaddr (or section offset in ET_REL files) */
	uint64_t size;
	uint16_t shndx;
	unsigned char type; /* STT_FUNC, STT_OBJECT, ... */
	unsigned char bind; /* STB_LOCAL, STB_GLOBAL, STB_WEAK, ... */
};

/* One entry of .dynsym with its symbol version. */
struct elf_dynsym {
	struct elf_symbol sym;
	const char *version; /* version name, or NULL when unversioned */
	int hidden;          /* 1 for name@VERSION, 0 for the default name@@VERSION */
	int defined;         /* 0 for an undefined reference to another object */
};

/*
 * Open `path` and read its headers.  Returns -ENOENT and other open(2)
 * errors, -ENOEXEC when the file is not a 64-bit ELF file, -EIO when libelf
 * cannot parse it.
 */
int elf_file_open(const char *path, struct elf_file **out);
void elf_file_close(struct elf_file *f);

const char *elf_file_path(const struct elf_file *f);

/* The libelf handle, for callers that walk sections themselves. */
Elf *elf_file_elf(const struct elf_file *f);

/* Return e_type (ET_REL, ET_EXEC, ET_DYN, ...) and e_machine (EM_X86_64, ...). */
int elf_file_type(const struct elf_file *f);
int elf_file_machine(const struct elf_file *f);

/*
 * Copy the NT_GNU_BUILD_ID note into `buf`.  Returns -ENOENT when the file
 * has none, -ENOBUFS when it is longer than `size`.
 */
int elf_file_build_id(const struct elf_file *f, uint8_t *buf, size_t size, size_t *len);

/* Point `*segments` at the file's PT_LOAD headers, in file order. */
void elf_file_load_segments(const struct elf_file *f,
			    const struct elf_segment **segments, size_t *count);

/*
 * Copy `len` bytes at link-time address `vaddr` into `buf`, reading through
 * the PT_LOAD segment that covers the whole range.  Bytes past the segment's
 * p_filesz read as zero.  Returns -EFAULT when no single segment covers the
 * range, -EIO on a short read.
 */
int elf_file_read(const struct elf_file *f, uint64_t vaddr, void *buf, size_t len);

/*
 * Find the defined symbol `name` in .symtab, or in .dynsym when the file has
 * no .symtab.  A name without '@' also matches the default-version spelling
 * "name@@VERSION" that linkers write into .symtab.
 *
 * Several static functions may share a name.  `file_hint`, when not NULL,
 * selects the local defined after the STT_FILE symbol of that name (a source
 * file name such as "server.c"); when no local of that file matches, only
 * global definitions count.  Returns -ENOENT when nothing matches and
 * -ENOTUNIQ when more than one definition matches.
 */
int elf_file_lookup_symbol(const struct elf_file *f, const char *name,
			   const char *file_hint, struct elf_symbol *out);

/*
 * Find the global or weak definition of `name`, the one an undefined
 * reference from another object would bind to: .symtab first, then the
 * default version in .dynsym.  Returns -ENOENT when there is none.
 */
int elf_file_lookup_global(const struct elf_file *f, const char *name,
			   struct elf_symbol *out);

/*
 * Write the STT_FILE names of the source files that define a local `name`,
 * separated by ", ", into `buf` (truncated to `size`).  For error messages
 * after elf_file_lookup_symbol() returned -ENOTUNIQ.
 */
void elf_file_describe_definitions(const struct elf_file *f, const char *name,
				   char *buf, size_t size);

/*
 * Call `fn` for each .dynsym entry after the null entry, in table order,
 * until it returns non-zero.  Returns that value, 0 when every call returned 0,
 * or a negative errno when the version sections are malformed.
 */
int elf_file_foreach_dynsym(const struct elf_file *f,
			    int (*fn)(const struct elf_dynsym *sym, void *arg), void *arg);

/*
 * Find a defined dynamic symbol by "name" (the default version, or an
 * unversioned symbol), "name@VERSION" (that version, default or not) or
 * "name@@VERSION" (that version, only as the default).  Returns -ENOENT when
 * nothing matches.
 */
int elf_file_find_dynsym(const struct elf_file *f, const char *name,
			 struct elf_dynsym *out);

/* As elf_file_find_dynsym(), returning only the symbol's value. */
int elf_file_lookup_dynsym(struct elf_file *f, const char *name, uint64_t *value);

#endif
