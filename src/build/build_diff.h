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

/* A function of a fixed object that the diffs leave unchanged and that the running build has. */
struct build_kept_function {
	size_t object;      /* link object index */
	char *name;         /* in the fixed object */
	char *running_name; /* in the running build */
	char *file_hint;    /* source file of a static function, or NULL */
};

/* A name that a changed or new function uses and that none of the compared objects defines. */
struct build_external {
	char *name;
	char *user; /* the function that uses it */
	char *file; /* the function's source file */
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
	/* Stacked patches: candidates for replacing again what an earlier patch calls (build_stack.c). */
	struct build_kept_function *kept;
	size_t nkept;
	/* Stacked patches: names that changed or new functions use but no object defines. */
	struct build_external *externals;
	size_t nexternals;
};

/* The recompiled objects of one translation unit. */
struct build_unit_objects {
	const char *orig;  /* before the diffs, or NULL for a new source file */
	const char *fixed; /* after the diffs */
	/*
	 * A stacked patch's "before" build is the running build plus the base
	 * diffs.  Then `running` is the running build's object, or NULL when
	 * the running build lacks the source, and the target's names come from
	 * it.  Otherwise they are those of `orig`.
	 */
	int stacked;
	const char *running;
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
 * Compare the objects of one unit and add the result for link object
 * `index` to `changes`.  Returns an enum suture_exit value,
 * EXIT_UNSAFE_CHANGE after printing which variable or function makes the
 * change unsafe.
 */
int build_diff_unit(const struct build_unit_objects *objects, size_t index,
		    struct build_changes *changes);
void build_free_changes(struct build_changes *c);

#endif
