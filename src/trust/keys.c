/*
 * Ed25519 key files.  Both kinds are text: a header line naming the kind,
 * one line with 32 bytes in hex (the public key, or the secret seed from
 * which libsodium derives the key pair), then optional '#' comment lines.
 */
#include "trust/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "trust/internal.h"

/* Key files are a few lines; anything larger is not a key file. */
#define KEY_FILE_MAX 4096

void trust_key_id(const uint8_t public_key[32], char out[TRUST_KEY_ID_LEN + 1])
{
	sodium_bin2hex(out, TRUST_KEY_ID_LEN + 1, public_key, TRUST_KEY_ID_LEN / 2);
}

/* Return the next line of `*text` (without its newline) and advance past it. */
static const char *next_line(const char **text, size_t *len)
{
	const char *line = *text;
	const char *nl = strchr(line, '\n');

	*len = nl ? (size_t)(nl - line) : strlen(line);
	*text = nl ? nl + 1 : line + *len;
	return line;
}

int trust_parse_key_text(const char *text, const char *header, uint8_t key[32])
{
	const char *line;
	size_t len, header_len = strlen(header), bin_len;

	line = next_line(&text, &len);
	if (len != header_len || memcmp(line, header, len) != 0)
		return -EINVAL;
	line = next_line(&text, &len);
	if (len != 64)
		return -EINVAL;
	if (sodium_hex2bin(key, 32, line, len, NULL, &bin_len, NULL) != 0 || bin_len != 32)
		return -EINVAL;
	while (*text) {
		line = next_line(&text, &len);
		if (len > 0 && line[0] != '#')
			return -EINVAL;
	}
	return 0;
}

static int read_key_text(int fd, const char *path, char text[KEY_FILE_MAX + 1],
			 char *err, size_t errlen)
{
	size_t done = 0;

	for (;;) {
		ssize_t n = read(fd, text + done, KEY_FILE_MAX + 1 - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return trust_fail(err, errlen, -errno, "cannot read key file %s: %s",
					  path, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
		if (done > KEY_FILE_MAX)
			return trust_fail(err, errlen, -EINVAL,
					  "key file %s is larger than %d bytes; it is not a suture key",
					  path, KEY_FILE_MAX);
	}
	text[done] = '\0';
	if (memchr(text, '\0', done))
		return trust_fail(err, errlen, -EINVAL,
				  "key file %s contains a NUL byte; it is not a suture key", path);
	return 0;
}

int trust_read_public_key_fd(int fd, const char *path, uint8_t public_key[32],
			     char *err, size_t errlen)
{
	char text[KEY_FILE_MAX + 1];
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0)
		return trust_fail(err, errlen, -errno, "cannot check key file %s: %s",
				  path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return trust_fail(err, errlen, -EINVAL, "key file %s is not a regular file", path);
	rc = trust_check_stat(&st, path, "trusted key file", 0, 0, err, errlen);
	if (rc == 0)
		rc = read_key_text(fd, path, text, err, errlen);
	if (rc == 0 && trust_parse_key_text(text, TRUST_PUBLIC_KEY_HEADER, public_key) < 0)
		rc = trust_fail(err, errlen, -EINVAL,
				"key file %s is not a suture public key (expected a '%s' line and 64 hex digits)",
				path, TRUST_PUBLIC_KEY_HEADER);
	return rc;
}

int trust_read_public_key(const char *path, uint8_t public_key[32], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc;

	if (fd < 0)
		return trust_fail(err, errlen, -errno, "cannot open key file %s: %s",
				  path, strerror(errno));
	rc = trust_read_public_key_fd(fd, path, public_key, err, errlen);
	close(fd);
	return rc;
}

static int read_secret_seed(int fd, const char *path, uint8_t seed[32], char *err, size_t errlen)
{
	char text[KEY_FILE_MAX + 1];
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0)
		return trust_fail(err, errlen, -errno, "cannot check secret key %s: %s",
				  path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return trust_fail(err, errlen, -EINVAL, "secret key %s is not a regular file", path);
	/* Check what the file is first, because a permission hint for a file
	 * that is no secret key would send the user to chmod the wrong file. */
	rc = read_key_text(fd, path, text, err, errlen);
	if (rc == 0 && trust_parse_key_text(text, TRUST_SECRET_KEY_HEADER, seed) < 0) {
		uint8_t public_key[32];

		if (trust_parse_key_text(text, TRUST_PUBLIC_KEY_HEADER, public_key) == 0)
			rc = trust_fail(err, errlen, -EINVAL,
					"%s is a suture public key; sign with the secret key, the "
					".key file of the pair", path);
		else
			rc = trust_fail(err, errlen, -EINVAL,
					"%s is not a suture secret key (expected a '%s' line and 64 "
					"hex digits)", path, TRUST_SECRET_KEY_HEADER);
	}
	if (rc == 0)
		rc = trust_check_stat(&st, path, "secret key", 1, 0, err, errlen);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int trust_read_secret_key(const char *path, uint8_t secret_key[64], char *err, size_t errlen)
{
	uint8_t seed[32], public_key[32];
	int fd, rc;

	if (sodium_init() < 0)
		return trust_fail(err, errlen, -EIO, "libsodium failed to initialise");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return trust_fail(err, errlen, -errno, "cannot open secret key %s: %s",
				  path, strerror(errno));
	rc = read_secret_seed(fd, path, seed, err, errlen);
	close(fd);
	if (rc == 0)
		crypto_sign_seed_keypair(public_key, secret_key, seed);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* Create `path` exclusively with `mode` and write `text` to it durably. */
static int write_new_file(const char *path, const char *text, mode_t mode,
			  char *err, size_t errlen)
{
	size_t len = strlen(text), done = 0;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return trust_fail(err, errlen, -errno, "cannot create %s: %s", path, strerror(errno));
	/* The umask may have cleared bits of `mode`; set exactly what was requested. */
	if (fchmod(fd, mode) < 0)
		rc = -errno;
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		unlink(path);
		return trust_fail(err, errlen, rc, "cannot write %s: %s", path, strerror(-rc));
	}
	return 0;
}

/* Format a key file: header, hex key, and a comment with the key id. */
static void format_key_text(char *text, size_t size, const char *header,
			    const uint8_t key[32], const char *key_id)
{
	char hex[65];

	sodium_bin2hex(hex, sizeof(hex), key, 32);
	snprintf(text, size, "%s\n%s\n# key id %s\n", header, hex, key_id);
	sodium_memzero(hex, sizeof(hex));
}

static int write_key_pair(const char *secret_path, const char *public_path,
			  char key_id_out[TRUST_KEY_ID_LEN + 1], char *err, size_t errlen)
{
	uint8_t public_key[32], secret_key[64];
	char text[256];
	int rc;

	crypto_sign_keypair(public_key, secret_key);
	trust_key_id(public_key, key_id_out);

	/* libsodium's secret key starts with the 32-byte seed; only the seed is stored. */
	format_key_text(text, sizeof(text), TRUST_SECRET_KEY_HEADER, secret_key, key_id_out);
	rc = write_new_file(secret_path, text, 0600, err, errlen);
	if (rc == 0) {
		format_key_text(text, sizeof(text), TRUST_PUBLIC_KEY_HEADER, public_key, key_id_out);
		rc = write_new_file(public_path, text, 0644, err, errlen);
		if (rc < 0)
			unlink(secret_path);
	}
	sodium_memzero(text, sizeof(text));
	sodium_memzero(secret_key, sizeof(secret_key));
	return rc;
}

int trust_keygen(const char *prefix, char key_id_out[TRUST_KEY_ID_LEN + 1],
		 char *err, size_t errlen)
{
	size_t n = strlen(prefix) + sizeof(".key");
	char *secret_path = malloc(n), *public_path = malloc(n);
	struct stat st;
	int rc = 0;

	key_id_out[0] = '\0';
	if (!secret_path || !public_path)
		rc = trust_fail(err, errlen, -ENOMEM, "out of memory");
	else if (sodium_init() < 0)
		rc = trust_fail(err, errlen, -EIO, "libsodium failed to initialise");
	if (rc == 0) {
		snprintf(secret_path, n, "%s.key", prefix);
		snprintf(public_path, n, "%s.pub", prefix);
		if (lstat(secret_path, &st) == 0 || lstat(public_path, &st) == 0)
			rc = trust_fail(err, errlen, -EEXIST,
					"%s already exists; choose another prefix or remove the old key pair first",
					lstat(secret_path, &st) == 0 ? secret_path : public_path);
	}
	if (rc == 0)
		rc = write_key_pair(secret_path, public_path, key_id_out, err, errlen);
	free(secret_path);
	free(public_path);
	return rc;
}
