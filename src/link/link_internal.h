/* State shared by the steps of the patch linker (link*.c); not a public API. */
#ifndef SUTURE_LINK_INTERNAL_H
#define SUTURE_LINK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

#include "elf/elf_file.h"
#include "link/link.h"
#include "patch/patch.h"

#define LINK_NO_PART (-1)   /* section that is not loaded (debug info, notes) */
#define LINK_TLS_PART (-2)  /* thread-local section, which a patch cannot contain */
#define LINK_STUB_SIZE 8    /* jmp *slot(%rip) is 6 bytes, padded with int3 */
#define LINK_SLOT_SIZE 8
#define LINK_ALIGN_MAX 4096 /* parts are mapped page-aligned, so no section may need more */

struct link_section {
	Elf_Scn *scn;
	const char *name;
	uint64_t size;
	uint64_t align;
	int part;         /* enum patch_part, LINK_NO_PART or LINK_TLS_PART */
	int included;     /* reachable from a replacement function */
	uint64_t offset;  /* offset inside its part, once laid out */
	Elf_Scn *rela;    /* the SHT_RELA section that applies to it, or NULL */
	int binding;      /* enum link_binding, decided on first use in selective mode */
	uint64_t target_base; /* LINK_BIND_TARGET: target vaddr of the section's offset 0 */
};

/* Binding of a section's symbols in the selective mode of struct link_input. */
enum link_binding {
	LINK_BIND_UNDECIDED = 0,
	LINK_BIND_COPY,   /* the section is copied into the patch when reached */
	LINK_BIND_TARGET, /* its symbols are the target's, at target_base + st_value */
};

/* One CIE or FDE of an object's .eh_frame. */
struct link_eh_record {
	uint64_t offset; /* in the object's .eh_frame */
	uint64_t size;   /* including the length word */
	size_t cie;      /* index of an FDE's CIE among the records, or LINK_EH_NO_CIE for a CIE */
	int kept;        /* copied into the patch */
	uint64_t out;    /* offset in the patch's table, once laid out */
};

#define LINK_EH_NO_CIE ((size_t)-1)

struct link_object {
	struct elf_file *file;
	Elf *elf;
	const char *path;
	const char *source; /* first STT_FILE name, or NULL */
	struct link_section *sections; /* indexed by section index */
	size_t nsections;
	Elf_Data *symbols;
	size_t nsymbols;
	size_t symstrndx;
	size_t eh_frame; /* section index of .eh_frame, 0 when there is none */
	struct link_eh_record *eh_records; /* in section order */
	size_t neh_records;
};

/*
 * One non-local symbol name of the objects, with the definition it binds to
 * among them (if any) and the target's definition (looked up on first use).
 */
struct link_name {
	const char *name;
	int defined;           /* some object defines it (a COMMON counts) */
	size_t object, symbol; /* the chosen definition */
	int common;            /* the definition is COMMON and gets BSS space here */
	uint64_t common_size, common_align;
	int common_used;
	uint64_t common_offset; /* in BSS, once laid out */
	int target_state;      /* 0 not looked up, 1 defined by the target, -1 not */
	struct elf_symbol target_sym;
	int got_state;         /* 0 not looked up, 1 the target has a GOT entry for it, -1 not */
	uint64_t got_vaddr;    /* link-time address of that GOT entry */
	char *versioned;       /* "name@VERSION" for a dynamic symbol, once looked up */
	int version_state;     /* 0 not looked up, 1 found, -1 not */
};

/* Resolved target of a symbol reference, in the terms of struct patch_reloc. */
struct link_target {
	enum patch_target_kind kind;
	enum patch_part part; /* PATCH_TARGET_PATCH only */
	uint64_t value;       /* part offset, or link-time vaddr in the target */
	const char *symbol;   /* PATCH_TARGET_SYMBOL only */
	size_t object;        /* for a PATCH target inside a section: the section */
	size_t section;       /* 0 when the target is not a section (COMMON) */
	struct link_name *common; /* for a COMMON target, else NULL */
	int has_got;          /* SYMBOL or OBJECT: the target's GOT entry `got` holds its address */
	uint64_t got;
};

struct link_stub {
	const char *symbol;
	uint64_t offset; /* in TEXT */
};

struct link_slot {
	struct link_target target;
	uint64_t offset; /* in RODATA */
};

struct linker {
	const struct link_input *in;
	struct link_error *err;
	struct elf_file *target;
	const char *target_name; /* basename of the target path */

	struct link_object *objects;
	size_t nobjects;
	struct link_name *names; /* sorted by name */
	size_t nnames;

	/* The replacement functions: object and symbol index of each new function. */
	size_t *new_object, *new_symbol;
	struct patch_func *funcs;

	uint64_t part_size[PATCH_PART_COUNT];
	uint8_t *part_data[PATCH_PART_COUNT];
	uint64_t stub_base, slot_base;
	struct link_stub *stubs;
	size_t nstubs;
	struct link_slot *slots;
	size_t nslots;
	struct patch_reloc *relocs;
	size_t nrelocs, relocs_capacity;

	/* The unwind table in RODATA and its registration space in BSS; size 0 without one. */
	uint64_t eh_frame_offset, eh_frame_size;
	uint64_t eh_frame_reg_offset;
	struct elf_file **needed; /* the target's DT_NEEDED libraries found on this machine */
	size_t nneeded;
	int needed_loaded;
};

/* Record a one-line failure in l->err and return `rc`. */
int link_fail(struct linker *l, enum link_error_kind kind, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* link_objects.c */
int link_load_object(struct linker *l, size_t index, const char *path);
void link_free_objects(struct linker *l);
const char *link_symbol_name(const struct link_object *o, const GElf_Sym *sym);
int link_get_symbol(struct linker *l, size_t object, size_t index, GElf_Sym *sym);

/* link_version.c */
/*
 * Name a dynamic symbol with the version that the target's own libraries
 * (DT_NEEDED, found on this machine) define as its default, e.g.
 * "getpid@GLIBC_2.2.5", so that apply binds the same version even where a
 * later default exists.  Returns the plain name when none is found.
 */
const char *link_versioned_name(struct linker *l, struct link_name *n);
void link_free_versions(struct linker *l);

/* link_symbols.c */
int link_index_names(struct linker *l);
struct link_name *link_find_name(struct linker *l, const char *name);
/* Find a replacement function; `source` picks among statics of several objects, or NULL. */
int link_find_new_function(struct linker *l, const char *name, const char *source,
			   size_t *object, size_t *symbol);
int link_resolve(struct linker *l, size_t object, size_t symbol, struct link_target *out);

/* link_bind.c */
int link_bind_section(struct linker *l, size_t object, size_t section);
int link_is_owned(const struct linker *l, size_t object, const char *name);

/* link_got.c */
int link_find_target_got(struct linker *l, const char *name, uint64_t *vaddr);
/*
 * Find the GLOB_DAT entry of the target's GOT for a symbol that the target
 * itself defines.  The dynamic linker fills it with the definition that
 * wins, which is the executable's copy when the executable took a
 * library's variable over with a copy relocation.
 */
int link_find_target_data_got(struct linker *l, const char *name, uint64_t *vaddr);

/* link_layout.c */
int link_select_sections(struct linker *l);
int link_layout(struct linker *l);
int link_copy_sections(struct linker *l);

/* link_reloc.c */
int link_translate_relocations(struct linker *l);
/* Translate one relocation of section `s` (or of a table laid out like one). */
int link_translate_relocation(struct linker *l, struct link_object *o, struct link_section *s,
			      const GElf_Rela *rela);
int link_emit_stubs(struct linker *l);
const char *link_reloc_type_name(uint32_t type, char *buf, size_t size);

/* link_eh_frame.c */
typedef void (*link_include_fn)(struct linker *l, void *context, size_t object, size_t section);
int link_is_eh_frame(const GElf_Shdr *shdr, const char *name);
int link_eh_frame_load(struct linker *l, size_t object);
/*
 * Keep the FDEs of included text sections and their CIEs, and pass every
 * patch section that the kept records refer to to `include`.  Sets
 * *changed when an FDE was newly kept, since its references may include
 * more text, which has FDEs of its own.
 */
int link_eh_frame_select(struct linker *l, link_include_fn include, void *context,
			 int *changed);
/* Place the table in RODATA and its registration space in BSS, after the sections. */
int link_eh_frame_layout(struct linker *l);
int link_eh_frame_copy(struct linker *l);
int link_eh_frame_relocate(struct linker *l);

#endif
