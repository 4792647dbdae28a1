/*
 * Signing keys, patch signatures and the trusted-key directory.
 *
 * Keys are Ed25519 (libsodium).  A key id is the first 16 hex digits of the
 * public key.  Files that decide trust must not be writable by group or
 * others, and must be owned by root or by the effective user (only root
 * when running as root).  These are the trusted directory and its keys, a
 * secret key, and when running as root the patch file and its parents.
 * docs/trust.md explains the model.
 */
#ifndef SUTURE_TRUST_H
#define SUTURE_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "patch/patch.h"

#define TRUST_DEFAULT_DIR "/etc/suture/trusted.d"
#define TRUST_KEY_ID_LEN 16

/* Write the key id (16 lower-case hex digits and a NUL) of a public key. */
void trust_key_id(const uint8_t public_key[32], char out[TRUST_KEY_ID_LEN + 1]);

/*
 * Create PREFIX.key (secret, mode 0600) and PREFIX.pub (mode 0644).  Fails
 * with -EEXIST, creating nothing, when either file exists.  Returns 0 or a
 * negative errno with a one-line reason in `err`.
 */
int trust_keygen(const char *prefix, char key_id_out[TRUST_KEY_ID_LEN + 1],
		 char *err, size_t errlen);

/* Read a public key file.  Returns 0, -EINVAL for a malformed file, or -errno. */
int trust_read_public_key(const char *path, uint8_t public_key[32],
			  char *err, size_t errlen);

/*
 * Read a secret key file after checking that only its owner can access it.
 * `secret_key` receives libsodium's 64-byte form (seed and public key);
 * wipe it with sodium_memzero() after use.  Returns 0, -EPERM for an
 * insecure file, -EINVAL for a malformed one, or -errno.
 */
int trust_read_secret_key(const char *path, uint8_t secret_key[64],
			  char *err, size_t errlen);

/*
 * Check one file or directory the way ssh and sudo do: owner root or the
 * effective user (only root when running as root), not writable by group
 * or others.  With `secret`, group and others must have no access at all.
 * With `check_parents`, every directory above it is checked too.  A parent
 * writable by others passes only with the sticky bit (like /tmp), because
 * then others cannot rename or remove entries they do not own.  Returns 0,
 * -EPERM with the path and the fix in `err`, or -errno.
 */
int trust_check_path(const char *path, const char *role, int secret, int check_parents,
		     char *err, size_t errlen);

/*
 * Sign a patch file in place: any existing signature is replaced and the
 * file is rewritten atomically with the same mode.  The signed bytes, and
 * so the patch id, do not change.  Returns an enum suture_exit value:
 * EXIT_OK, EXIT_PATCH_INVALID, EXIT_INSECURE_PATH (secret key readable or
 * writable by others), EXIT_USAGE (missing or malformed file), or
 * EXIT_INTERNAL.
 */
int trust_sign_file(const char *patch_path, const char *key_path,
		    char key_id_out[TRUST_KEY_ID_LEN + 1], char *err, size_t errlen);

/*
 * Decide whether a parsed patch may be applied.  Rereads `patch_path` and
 * checks that its signed region still hashes to p->id, verifies the
 * signature, and looks for the signer's key in `trusted_dir` (NULL for
 * TRUST_DEFAULT_DIR, files *.pub).  Returns an enum suture_exit value:
 * EXIT_OK, EXIT_UNSIGNED, EXIT_UNTRUSTED, EXIT_BAD_SIGNATURE,
 * EXIT_INSECURE_PATH, or EXIT_USAGE / EXIT_INTERNAL when the file cannot be
 * read.  With `insecure_skip_verify`, an unsigned or untrusted patch gives
 * EXIT_OK after a warning on stderr; a bad signature or an insecure path is
 * still rejected.  `key_id_out` (may be NULL) receives the signer's key id
 * when the signature verifies, else "".
 */
int trust_verify_patch(const char *patch_path, const struct patch *p,
		       const char *trusted_dir, int insecure_skip_verify,
		       char *err, size_t errlen, char key_id_out[TRUST_KEY_ID_LEN + 1]);

#endif
