/* Helpers shared by the files of the trust module. */
#ifndef SUTURE_TRUST_INTERNAL_H
#define SUTURE_TRUST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define TRUST_PUBLIC_KEY_HEADER "suture-ed25519-public-key"
#define TRUST_SECRET_KEY_HEADER "suture-ed25519-secret-key"

/* Format a one-line error into `err` and return `rc`. */
int trust_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* trust_check_path() on a stat result; `is_parent` allows sticky directories. */
int trust_check_stat(const struct stat *st, const char *path, const char *role,
		     int secret, int is_parent, char *err, size_t errlen);

/*
 * Parse a key file's text: the header line, one line of 64 hex digits, then
 * only blank lines and '#' comments.  Returns 0 or -EINVAL.
 */
int trust_parse_key_text(const char *text, const char *header, uint8_t key[32]);

/*
 * Read a public key from an open file descriptor after checking its owner
 * and mode.  Returns 0, -EPERM (insecure), -EINVAL (malformed) or -errno.
 */
int trust_read_public_key_fd(int fd, const char *path, uint8_t public_key[32],
			     char *err, size_t errlen);

#endif
