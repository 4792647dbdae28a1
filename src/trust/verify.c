/* Signature verification and the trusted-key directory. */
#include "trust/trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "trust/internal.h"
#include "util/exitcode.h"
#include "util/log.h"

/*
 * Reread the file and verify the signature over its signed region.  The
 * region must still hash to p->id, so the bytes that were verified are the
 * bytes the caller parsed, even if the file was replaced in between.
 */
static int verify_signature(const char *path, const struct patch *p,
			    char *err, size_t errlen)
{
	uint8_t *buf, digest[32];
	size_t len;
	int rc, status = EXIT_OK;

	rc = patch_read_bytes(path, &buf, &len, err, errlen);
	if (rc < 0)
		return patch_exit_for_errno(rc);

	if (len < p->signed_size) {
		status = EXIT_BAD_SIGNATURE;
	} else {
		crypto_hash_sha256(digest, buf, p->signed_size);
		if (sodium_memcmp(digest, p->id, sizeof(digest)) != 0)
			status = EXIT_BAD_SIGNATURE;
	}
	if (status != EXIT_OK) {
		trust_fail(err, errlen, 0,
			   "%s changed after it was read; run the command again once nothing writes to it",
			   path);
	} else if (crypto_sign_verify_detached(p->sig.signature, buf, p->signed_size,
					       p->sig.public_key) != 0) {
		status = trust_fail(err, errlen, EXIT_BAD_SIGNATURE,
				    "signature of %s does not verify: the file was changed after signing, or the signature belongs to another file",
				    path);
	}
	free(buf);
	return status;
}

static int has_pub_suffix(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && !strcmp(name + len - 4, ".pub");
}

/*
 * Compare one *.pub entry of the trusted directory with the signer's key.
 * Returns 1 on a match, 0 otherwise, or -EPERM for an insecure key file.
 * A malformed key file is skipped with a warning so that one bad file does
 * not block every patch.
 */
static int match_key_file(int dir_fd, const char *dir, const char *name,
			  const uint8_t public_key[32], char *err, size_t errlen)
{
	char path[4096], reason[512];
	uint8_t key[32];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		log_warn("skipping trusted key file %s: %s", path, strerror(errno));
		return 0;
	}
	rc = trust_read_public_key_fd(fd, path, key, reason, sizeof(reason));
	close(fd);
	if (rc == -EPERM)
		return trust_fail(err, errlen, -EPERM, "%s", reason);
	if (rc < 0) {
		log_warn("skipping trusted key file: %s", reason);
		return 0;
	}
	return sodium_memcmp(key, public_key, 32) == 0;
}

/* Look for the signer's key among the *.pub files of `dir`: 1 found, 0 not found, -errno. */
static int find_trusted_key(const char *dir, const uint8_t public_key[32],
			    char *err, size_t errlen)
{
	DIR *d;
	struct dirent *entry;
	int found = 0, rc = 0;

	d = opendir(dir);
	if (!d)
		return trust_fail(err, errlen, -errno, "cannot open trusted key directory %s: %s",
				  dir, strerror(errno));
	/* Every key file is checked, not only up to the match: an insecure file
	 * in the directory means anyone could have added a key. */
	while (rc == 0 && (entry = readdir(d))) {
		if (!has_pub_suffix(entry->d_name))
			continue;
		rc = match_key_file(dirfd(d), dir, entry->d_name, public_key, err, errlen);
		if (rc > 0)
			found = 1;
		if (rc > 0)
			rc = 0;
	}
	closedir(d);
	return rc < 0 ? rc : found;
}

static void warn_insecure(const char *path, const char *reason)
{
	fprintf(stderr,
		"suture: WARNING: --insecure-skip-verify: accepting %s although %s; its origin is not checked\n",
		path, reason);
}

static int check_trust(const char *patch_path, const struct patch *p, const char *dir,
		       int insecure_skip_verify, char *err, size_t errlen)
{
	char key_id[TRUST_KEY_ID_LEN + 1];
	int rc;

	trust_key_id(p->sig.public_key, key_id);
	rc = trust_check_path(dir, "trusted key directory", 0, 1, err, errlen);
	if (rc == -EPERM)
		return EXIT_INSECURE_PATH;
	if (rc == 0)
		rc = find_trusted_key(dir, p->sig.public_key, err, errlen);
	if (rc == -EPERM)
		return EXIT_INSECURE_PATH;
	if (rc == 1)
		return EXIT_OK;

	if (rc == 0)
		trust_fail(err, errlen, 0,
			   "%s is signed by key %s, which is not in the trusted key directory %s; copy the signer's .pub file there to trust it",
			   patch_path, key_id, dir);
	else
		trust_fail(err, errlen, 0,
			   "%s is signed by key %s, but the trusted key directory %s cannot be read: %s",
			   patch_path, key_id, dir, strerror(-rc));
	if (!insecure_skip_verify)
		return EXIT_UNTRUSTED;
	warn_insecure(patch_path, "its signing key is not trusted");
	return EXIT_OK;
}

/* As root, a patch that another user can replace is as bad as an unsigned one. */
static int check_patch_path(const char *resolved, char *err, size_t errlen)
{
	int rc;

	if (geteuid() != 0)
		return EXIT_OK;
	rc = trust_check_path(resolved, "patch file", 0, 1, err, errlen);
	if (rc == -EPERM)
		return EXIT_INSECURE_PATH;
	return rc < 0 ? patch_exit_for_errno(rc) : EXIT_OK;
}

int trust_verify_patch(const char *patch_path, const struct patch *p,
		       const char *trusted_dir, int insecure_skip_verify,
		       char *err, size_t errlen, char key_id_out[TRUST_KEY_ID_LEN + 1])
{
	char *resolved;
	int status;

	if (key_id_out)
		key_id_out[0] = '\0';
	if (!trusted_dir)
		trusted_dir = TRUST_DEFAULT_DIR;
	if (sodium_init() < 0)
		return trust_fail(err, errlen, EXIT_INTERNAL, "libsodium failed to initialise");

	/* Check and reread the file itself, so that a symbolic link swapped
	 * after the check cannot redirect the read. */
	resolved = realpath(patch_path, NULL);
	if (!resolved) {
		int rc = -errno;

		return trust_fail(err, errlen, patch_exit_for_errno(rc), "cannot open %s: %s; check the path",
				  patch_path, strerror(-rc));
	}

	status = check_patch_path(resolved, err, errlen);
	if (status == EXIT_OK && !p->sig.present) {
		if (insecure_skip_verify)
			warn_insecure(patch_path, "it is not signed");
		else
			status = trust_fail(err, errlen, EXIT_UNSIGNED,
					    "%s is not signed; sign it with 'suture sign %s --key KEY.key'",
					    patch_path, patch_path);
	} else if (status == EXIT_OK) {
		status = verify_signature(resolved, p, err, errlen);
		if (status == EXIT_OK)
			status = check_trust(patch_path, p, trusted_dir, insecure_skip_verify,
					     err, errlen);
		if (status == EXIT_OK && key_id_out)
			trust_key_id(p->sig.public_key, key_id_out);
	}
	free(resolved);
	return status;
}
