/*
 * Function-by-function comparison of an original and a fixed object of one
 * translation unit, both compiled with -ffunction-sections -fdata-sections.
 */
#ifndef SUTURE_BUILD_DIFF_H
#define SUTURE_BUILD_DIFF_H

#include <stddef.h>

#include <gelf.h>

#include "link/link.h"

/* One symbol table entry of an object, with what the comparison learns about it. */
struct build_symbol {
	const char *name;
	GElf_Sym sym;
	int type, bind;
	int by_content;     /* local read-only data: compared by its bytes, never shared */
	long pair;          /* index of the same symbol in the other object, or -1 */
	const char *key;    /* name that identifies it across both objects, NULL when new */
	int changed;        /* fixed object: a paired function or variable that differs */
};

struct build_section {
	const char *name;
	GElf_Shdr shdr;
	Elf_Data *data;
	GElf_Rela *relas; /* sorted by r_offset */
	size_t nrelas;
};

struct build_object {
	const char *path;
	int fd;
	Elf *elf;
	const char *source; /* STT_FILE name */
	struct build_section *sections;
	size_t nsections;
	struct build_symbol *symbols;
	size_t nsymbols;
};

/* What a patch built from the compared objects contains. */
struct build_changes {
	struct link_replacement *replacements;
	size_t nreplacements;
	struct link_symbol_ref *own; /* changed and new functions, new variables */
	size_t nown;
	struct link_symbol_ref *aliases;
	size_t naliases;
	size_t nnew_functions, nnew_variables;
};

/* build_object.c */
int build_object_open(const char *path, struct build_object *out);
void build_object_close(struct build_object *o);
int build_symbol_is_function(const struct build_symbol *s);
int build_symbol_is_variable(const struct build_symbol *s);
int build_sections_equal(const struct build_object *a, size_t sa, const struct build_object *b,
			 size_t sb, int depth);
char *build_strip_clone_suffix(const char *name);
int build_is_static_local_name(const char *name);

/* build_diff.c */
/*
 * Compare the objects of one unit (`orig` NULL for a new source file) and
 * add the result for link object `index` to `changes`.  Returns an enum
 * suture_exit value, EXIT_UNSAFE_CHANGE after printing which variable
 * makes the change unsafe.
 */
int build_diff_unit(const char *orig, const char *fixed, size_t index,
		    struct build_changes *changes);
void build_free_changes(struct build_changes *c);

#endif
