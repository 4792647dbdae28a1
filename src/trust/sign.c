/* Signing a patch file in place. */
#include "trust/trust.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "trust/internal.h"
#include "util/exitcode.h"

/*
 * Build the signed file: the signed region unchanged, then a new signature
 * section.  An existing signature section is dropped because it lies past
 * signed_size.
 */
static int build_signed_file(const uint8_t *buf, size_t signed_size,
			     const uint8_t secret_key[64], uint8_t **out, size_t *outlen)
{
	uint8_t signature[64];
	uint8_t *signed_file;

	signed_file = malloc(signed_size + PATCH_SIGNATURE_SECTION_SIZE);
	if (!signed_file)
		return -ENOMEM;
	crypto_sign_detached(signature, NULL, buf, signed_size, secret_key);
	memcpy(signed_file, buf, signed_size);
	/* Bytes 32..63 of a libsodium secret key are the public key. */
	patch_encode_signature(secret_key + 32, signature, signed_file + signed_size);
	*out = signed_file;
	*outlen = signed_size + PATCH_SIGNATURE_SECTION_SIZE;
	return 0;
}

/* Sign the file at the resolved path `path` with `secret_key`. */
static int sign_resolved(const char *path, const uint8_t secret_key[64],
			 char *err, size_t errlen)
{
	struct patch p;
	struct stat st;
	uint8_t *buf = NULL, *signed_file = NULL;
	size_t len, signed_len;
	int rc, status = EXIT_OK;

	rc = patch_read_bytes(path, &buf, &len, err, errlen);
	if (rc < 0)
		return patch_exit_for_errno(rc);
	rc = patch_parse(buf, len, &p, err, errlen);
	if (rc < 0) {
		free(buf);
		return EXIT_PATCH_INVALID;
	}

	rc = build_signed_file(buf, p.signed_size, secret_key, &signed_file, &signed_len);
	if (rc == 0 && stat(path, &st) < 0)
		rc = -errno;
	if (rc == 0)
		rc = patch_write_bytes(path, signed_file, signed_len, st.st_mode & 07777);
	if (rc < 0)
		status = trust_fail(err, errlen, EXIT_INTERNAL, "cannot rewrite %s: %s",
				    path, strerror(-rc));
	patch_free(&p);
	free(buf);
	free(signed_file);
	return status;
}

int trust_sign_file(const char *patch_path, const char *key_path,
		    char key_id_out[TRUST_KEY_ID_LEN + 1], char *err, size_t errlen)
{
	uint8_t secret_key[64];
	char *resolved;
	int rc, status;

	key_id_out[0] = '\0';
	rc = trust_read_secret_key(key_path, secret_key, err, errlen);
	if (rc == -EPERM)
		return EXIT_INSECURE_PATH;
	if (rc < 0)
		return patch_exit_for_errno(rc);

	/* Rewrite the file a symbolic link points to, not the link. */
	resolved = realpath(patch_path, NULL);
	if (!resolved) {
		rc = -errno;
		status = trust_fail(err, errlen, patch_exit_for_errno(rc), "cannot open %s: %s; check the path",
				    patch_path, strerror(-rc));
	} else {
		status = sign_resolved(resolved, secret_key, err, errlen);
	}
	if (status == EXIT_OK)
		trust_key_id(secret_key + 32, key_id_out);
	sodium_memzero(secret_key, sizeof(secret_key));
	free(resolved);
	return status;
}
