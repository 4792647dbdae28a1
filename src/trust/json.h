/* JSON output helpers shared by the audit journal and `--json` output. */
#ifndef SUTURE_JSON_H
#define SUTURE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Write `s` as a quoted JSON string, or `null` when s is NULL.  Quotes,
 * backslashes and control characters are escaped, and bytes that are not
 * valid UTF-8 become U+FFFD, so the output is valid JSON for any input.
 */
void json_write_string(FILE *out, const char *s);

/* Write bytes as a quoted lower-case hex string, or `null` when len is 0. */
void json_write_hex(FILE *out, const uint8_t *bytes, size_t len);

#endif
