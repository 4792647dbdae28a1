/* The check of suture build that rejects changed struct layouts (build_layout.c). */
#ifndef SUTURE_BUILD_LAYOUT_H
#define SUTURE_BUILD_LAYOUT_H

#include <stddef.h>

/* The code of the fixed object that the patch carries, by symbol name. */
struct build_code_users {
	char **functions; /* changed and new functions */
	size_t nfunctions;
	char **variables; /* variables those functions refer to */
	char **variable_users; /* for each variable, the first function that refers to it */
	size_t nvariables;
};

/*
 * Reject a struct, union or class whose layout differs between the objects
 * of one unit when the patched code reaches it.  `orig` is NULL for a new
 * source file.  Returns an enum suture_exit value; objects without debug
 * information pass unchecked.
 */
int build_check_layouts(const char *orig, const char *fixed, const char *source,
			const struct build_code_users *users);

#endif
