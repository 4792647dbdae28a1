/*
 * The patch linker: turns relocatable objects (.o files compiled with
 * -ffunction-sections -fdata-sections -fPIC) into a struct patch that
 * replaces functions of one x86-64 ELF target (executable or shared library).
 *
 * Only the sections reachable through relocations from the replacement
 * functions are laid out into the patch parts.  A reference binds to the
 * patch when the objects define the symbol.  The exception is a non-local
 * symbol that the target also defines and that is not being replaced: it
 * binds to the target, so the patch shares the process's global variables
 * and functions.  Names defined nowhere become dynamic symbols resolved when
 * the patch is applied, reached through a stub and an 8-byte slot.
 *
 * The FDEs of the copied code go into one .eh_frame in RODATA
 * (link_eh_frame.c), which apply registers with the target's unwinder.
 * LIMITATION: debuggers find no CFI for the new code, because it lies in no
 * ELF file that they read.
 * LIMITATION: with -fno-semantic-interposition gcc may call a global function
 * of the same object through a local alias, and the patch then calls its own
 * copy of that function instead of the target's.
 * With use_target_got, a load of a variable's address through the GOT reads
 * the target's own GOT entry, which holds the executable's copy when the
 * executable took a library's variable over with a copy relocation.
 * LIMITATION: other references to exported data of a shared library target
 * (a PC-relative access without the GOT, or a pointer in copied data) bind
 * to the library's own definition, which is stale in that case.
 */
#ifndef SUTURE_LINK_H
#define SUTURE_LINK_H

#include <stddef.h>

#include "patch/patch.h"

struct link_replacement {
	const char *old_name;  /* function in the target */
	const char *new_name;  /* its replacement, defined in one of the objects */
	/*
	 * Source file (STT_FILE) of a static old_name, or NULL.  A static
	 * new_name defined in several objects is taken from the object compiled
	 * from this file.
	 */
	const char *file_hint;
};

/* A symbol defined by one of the objects, named for the selective mode of struct link_input. */
struct link_symbol_ref {
	size_t object;           /* index into link_input.object_paths */
	const char *name;        /* symbol name in that object */
	const char *target_name; /* in `aliases`: the target's name for the symbol */
};

struct link_input {
	const char *target_path;
	const char *const *object_paths;
	size_t nobjects;
	const struct link_replacement *replacements;
	size_t nreplacements;

	/*
	 * Selective mode, for objects compiled from whole source files of the
	 * target (suture build).  Only the symbols in `own_symbols`, the new
	 * functions of `replacements`, and sections without named symbols
	 * (string literals, constants, jump tables) come from the objects.
	 * Every other named symbol, local or global, binds to the target's
	 * definition of the same name, or of the name that `aliases` gives it.
	 * A local is looked up among the locals of the object's source file.
	 * A symbol the target lacks is copied when it is code or read-only
	 * data, and rejected when it is writable, because a copy would not
	 * share the process's state.
	 */
	int selective;
	/*
	 * Call functions that the target imports through the target's own GOT
	 * entry, which its dynamic linker filled (or, with lazy binding, points
	 * at the PLT's resolver path), instead of a slot that the patch loader
	 * resolves by name.  This also reaches the implementation that an
	 * IFUNC such as glibc's strcmp selected, where a name lookup yields the
	 * resolver.
	 */
	int use_target_got;
	const struct link_symbol_ref *own_symbols;
	size_t nown_symbols;
	const struct link_symbol_ref *aliases;
	size_t naliases;
};

/* Cause of a failed link, so that callers can pick an exit code. */
enum link_error_kind {
	LINK_ERR_NONE = 0,
	LINK_ERR_INPUT,       /* input file missing, unreadable, or not the right kind of ELF */
	LINK_ERR_FUNCTION,    /* replaced function missing, ambiguous or too short */
	LINK_ERR_UNSUPPORTED, /* code or target that a patch cannot express safely */
	LINK_ERR_BUILD,       /* objects that do not link: duplicate or malformed symbols */
	LINK_ERR_INTERNAL,    /* out of memory, libelf failure */
};

struct link_error {
	enum link_error_kind kind;
	char message[512]; /* one line, without the "suture:" prefix */
};

/*
 * Parse a --replace argument "[FILE:]OLD[=NEW]" in place: ':' and '=' in
 * `spec` are overwritten with NUL and the fields point into it.  NEW defaults
 * to OLD.  Returns -EINVAL when a field is empty.
 */
int link_parse_replacement(char *spec, struct link_replacement *out);

/*
 * Link the objects against the target into `out`, which the caller frees with
 * patch_free().  Fills the build-id, object_name, parts, functions and
 * relocations, and leaves the metadata fields NULL.  The result depends only
 * on the inputs, so the same files give the same patch.  Returns 0, or a
 * negative errno with `err` describing the failure.  On failure `out` is
 * left untouched.
 */
int link_patch(const struct link_input *in, struct patch *out, struct link_error *err);

#endif
