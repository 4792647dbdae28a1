/* Helpers shared by the patch reader, writer and validator. */
#ifndef SUTURE_PATCH_INTERNAL_H
#define SUTURE_PATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Format a one-line error into `err` and return `rc`.  Control bytes are
 * replaced by '?' because names in the message come from untrusted files.
 */
int patch_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Name of a section type as written in docs/patch-format.md, NULL if unknown. */
const char *patch_section_name(uint32_t type);

#endif
