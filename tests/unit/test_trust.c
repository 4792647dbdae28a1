/*
 * Tests of key generation, signing and verification: every change to a
 * signed file must be caught, and insecure key and patch locations must be
 * rejected with the fix in the message.  Each test works in its own
 * temporary directory under /tmp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/format.h"
#include "patch/le.h"
#include "patch/patch.h"
#include "sample_patch.h"
#include "trust/trust.h"
#include "util/exitcode.h"

struct fixture {
	char dir[64];
	char trusted[96];   /* contains signer.pub only */
	char signer[96];    /* key prefix of signer.key and signer.pub */
	char other[96];     /* a second key pair, not trusted */
	char patch[96];     /* the sample patch, unsigned */
	char signer_id[TRUST_KEY_ID_LEN + 1];
	char other_id[TRUST_KEY_ID_LEN + 1];
};

static void read_whole(const char *path, uint8_t **buf, size_t *len)
{
	char err[256];

	assert_int_equal(patch_read_bytes(path, buf, len, err, sizeof(err)), 0);
}

static void write_whole(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

static void copy_file(const char *from, const char *to)
{
	uint8_t *buf;
	size_t len;

	read_whole(from, &buf, &len);
	write_whole(to, buf, len);
	free(buf);
}

static void key_path(char *out, size_t size, const char *prefix, const char *suffix)
{
	snprintf(out, size, "%s.%s", prefix, suffix);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256], from[128], to[160];
	struct patch p;

	strcpy(f->dir, "/tmp/suture-trust-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->trusted, sizeof(f->trusted), "%s/trusted.d", f->dir);
	snprintf(f->signer, sizeof(f->signer), "%s/signer", f->dir);
	snprintf(f->other, sizeof(f->other), "%s/other", f->dir);
	snprintf(f->patch, sizeof(f->patch), "%s/fix.suture", f->dir);

	assert_int_equal(trust_keygen(f->signer, f->signer_id, err, sizeof(err)), 0);
	assert_int_equal(trust_keygen(f->other, f->other_id, err, sizeof(err)), 0);
	assert_int_equal(mkdir(f->trusted, 0755), 0);
	assert_int_equal(chmod(f->trusted, 0755), 0);
	key_path(from, sizeof(from), f->signer, "pub");
	snprintf(to, sizeof(to), "%s/signer.pub", f->trusted);
	copy_file(from, to);

	sample_patch(&p);
	assert_int_equal(patch_write_file(f->patch, &p), 0);
	patch_free(&p);
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int sign_with(const char *patch_path, const char *prefix)
{
	char key[128], key_id[TRUST_KEY_ID_LEN + 1], err[256];
	int status;

	key_path(key, sizeof(key), prefix, "key");
	status = trust_sign_file(patch_path, key, key_id, err, sizeof(err));
	if (status != EXIT_OK)
		print_message("sign failed: %s\n", err);
	return status;
}

/* Parse the file at `path` and verify it against the fixture's trusted dir. */
static int verify_file(const struct fixture *f, const char *path, int insecure,
		       char *err, size_t errlen, char *key_id)
{
	struct patch p;
	int status;

	if (patch_read_file(path, &p, err, errlen) < 0)
		return EXIT_PATCH_INVALID;
	status = trust_verify_patch(path, &p, f->trusted, insecure, err, errlen, key_id);
	patch_free(&p);
	return status;
}

static void assert_message_contains(const char *err, const char *word)
{
	if (!strstr(err, word))
		fail_msg("message \"%s\" does not contain \"%s\"", err, word);
}

static void keygen_sets_modes_rejects_overwrite(void **state)
{
	struct fixture *f = *state;
	char path[128], key_id[TRUST_KEY_ID_LEN + 1], err[256];
	uint8_t public_key[32], secret_key[64];
	struct stat st;

	key_path(path, sizeof(path), f->signer, "key");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(trust_read_secret_key(path, secret_key, err, sizeof(err)), 0);

	key_path(path, sizeof(path), f->signer, "pub");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(trust_read_public_key(path, public_key, err, sizeof(err)), 0);
	assert_memory_equal(public_key, secret_key + 32, 32);
	trust_key_id(public_key, key_id);
	assert_string_equal(key_id, f->signer_id);

	assert_int_equal(trust_keygen(f->signer, key_id, err, sizeof(err)), -EEXIST);
	assert_message_contains(err, "already exists");
}

static void signed_by_trusted_key_verifies(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];
	struct patch before, after;

	assert_int_equal(patch_read_file(f->patch, &before, err, sizeof(err)), 0);
	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_OK);
	assert_string_equal(key_id, f->signer_id);

	/* Signing appends a section but leaves the signed bytes and the id alone. */
	assert_int_equal(patch_read_file(f->patch, &after, err, sizeof(err)), 0);
	assert_true(after.sig.present);
	assert_int_equal(after.signed_size, before.signed_size);
	assert_memory_equal(after.id, before.id, 32);
	patch_free(&before);
	patch_free(&after);
}

static void sign_replaces_old_signature(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];
	uint8_t *buf;
	size_t len, unsigned_len;

	read_whole(f->patch, &buf, &unsigned_len);
	free(buf);
	assert_int_equal(sign_with(f->patch, f->other), EXIT_OK);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_UNTRUSTED);
	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	read_whole(f->patch, &buf, &len);
	free(buf);
	assert_int_equal(len, unsigned_len + PATCH_SIGNATURE_SECTION_SIZE);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_OK);
}

static void unsigned_patch_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];

	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_UNSIGNED);
	assert_message_contains(err, "not signed");
	assert_string_equal(key_id, "");
	assert_int_equal(verify_file(f, f->patch, 1, err, sizeof(err), key_id), EXIT_OK);
}

static void untrusted_key_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];

	assert_int_equal(sign_with(f->patch, f->other), EXIT_OK);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_UNTRUSTED);
	assert_message_contains(err, f->other_id);
	assert_message_contains(err, "not in the trusted key directory");
	assert_int_equal(verify_file(f, f->patch, 1, err, sizeof(err), key_id), EXIT_OK);
}

static void missing_trusted_dir_untrusted(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1], path[160];

	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	snprintf(path, sizeof(path), "%s/signer.pub", f->trusted);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(f->trusted), 0);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_UNTRUSTED);
	assert_message_contains(err, "cannot be read");
}

static void malformed_key_file_skipped(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1], path[160];

	snprintf(path, sizeof(path), "%s/broken.pub", f->trusted);
	write_whole(path, (const uint8_t *)"not a key\n", 10);
	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_OK);
}

/* Offset of a section's data in a serialized file. */
static size_t section_offset(const uint8_t *buf, uint32_t type)
{
	uint32_t count = le32_load(buf + PATCH_HDR_SECTION_COUNT);

	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = buf + PATCH_FILE_HEADER_SIZE + i * PATCH_FILE_SECTION_ENTRY_SIZE;

		if (le32_load(e + PATCH_SEC_TYPE) == type)
			return (size_t)le64_load(e + PATCH_SEC_OFFSET);
	}
	fail_msg("section %u not found", type);
	return 0;
}

static size_t section_entry_offset(const uint8_t *buf, uint32_t type)
{
	uint32_t count = le32_load(buf + PATCH_HDR_SECTION_COUNT);

	for (uint32_t i = 0; i < count; i++) {
		size_t e = PATCH_FILE_HEADER_SIZE + i * PATCH_FILE_SECTION_ENTRY_SIZE;

		if (le32_load(buf + e + PATCH_SEC_TYPE) == type)
			return e;
	}
	fail_msg("section %u not found", type);
	return 0;
}

/* A byte to change: XOR with `mask`, or add 1 to the u32 there when mask is 0. */
struct flip_case {
	const char *region;
	size_t offset;
	uint8_t mask;
};

/*
 * One byte per region whose change keeps the file well-formed, so only the
 * signature can catch it.
 */
static void flipped_byte_in_each_region(void **state)
{
	struct fixture *f = *state;
	uint8_t *signed_file, *copy;
	size_t len;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];
	struct flip_case cases[8];
	size_t n = 0;

	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	read_whole(f->patch, &signed_file, &len);

	cases[n++] = (struct flip_case){ "header minor version", PATCH_HDR_VERSION_MINOR, 0x01 };
	cases[n++] = (struct flip_case){ "section table flags",
		section_entry_offset(signed_file, PATCH_SEC_TEXT) + PATCH_SEC_FLAGS,
		PATCH_SEC_FLAG_REQUIRED };
	cases[n++] = (struct flip_case){ "TARGET build-id",
		section_offset(signed_file, PATCH_SEC_TARGET) + PATCH_FILE_TARGET_FIXED_SIZE + 3, 0x40 };
	cases[n++] = (struct flip_case){ "FUNCS old SHA-256",
		section_offset(signed_file, PATCH_SEC_FUNCS) + 40, 0x01 };
	cases[n++] = (struct flip_case){ "RELOCS addend",
		section_offset(signed_file, PATCH_SEC_RELOCS) + 24, 0x02 };
	cases[n++] = (struct flip_case){ "TEXT", section_offset(signed_file, PATCH_SEC_TEXT) + 17, 0xff };
	/* The name value now starts one character later: "ix-header-overflow". */
	cases[n++] = (struct flip_case){ "META value offset",
		section_offset(signed_file, PATCH_SEC_META) + 4, 0x00 };
	cases[n++] = (struct flip_case){ "STRTAB character",
		section_offset(signed_file, PATCH_SEC_STRTAB) + 1, 0x20 };

	copy = malloc(len);
	for (size_t i = 0; i < n; i++) {
		struct patch p;

		memcpy(copy, signed_file, len);
		if (cases[i].mask)
			copy[cases[i].offset] ^= cases[i].mask;
		else
			le32_store(copy + cases[i].offset, le32_load(copy + cases[i].offset) + 1);
		write_whole(f->patch, copy, len);

		if (patch_read_file(f->patch, &p, err, sizeof(err)) != 0)
			fail_msg("%s: the changed file no longer parses: %s", cases[i].region, err);
		patch_free(&p);
		if (verify_file(f, f->patch, 0, err, sizeof(err), key_id) != EXIT_BAD_SIGNATURE)
			fail_msg("%s: a changed byte was not detected (%s)", cases[i].region, err);
		assert_message_contains(err, "does not verify");
		/* --insecure-skip-verify does not excuse a bad signature. */
		assert_int_equal(verify_file(f, f->patch, 1, err, sizeof(err), key_id),
				 EXIT_BAD_SIGNATURE);
	}
	free(copy);
	free(signed_file);
}

/* Every single-byte change is either rejected by the parser or by the signature. */
static void every_flipped_byte_rejected(void **state)
{
	struct fixture *f = *state;
	uint8_t *signed_file, *copy;
	size_t len;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];

	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	read_whole(f->patch, &signed_file, &len);
	copy = malloc(len);
	for (size_t i = 0; i < len; i++) {
		int status;

		memcpy(copy, signed_file, len);
		copy[i] ^= 0x01;
		write_whole(f->patch, copy, len);
		status = verify_file(f, f->patch, 0, err, sizeof(err), key_id);
		if (status != EXIT_PATCH_INVALID && status != EXIT_BAD_SIGNATURE)
			fail_msg("byte %zu of %zu changed, verification returned %d (%s)",
				 i, len, status, err);
	}
	free(copy);
	free(signed_file);
}

static void signature_from_other_file_rejected(void **state)
{
	struct fixture *f = *state;
	char other_path[128], err[256], key_id[TRUST_KEY_ID_LEN + 1];
	uint8_t *a, *b;
	size_t a_len, b_len;
	struct patch p;

	/* A second patch, signed by the same trusted key. */
	sample_patch(&p);
	free(p.name);
	p.name = sample_strdup("another-fix");
	snprintf(other_path, sizeof(other_path), "%s/other.suture", f->dir);
	assert_int_equal(patch_write_file(other_path, &p), 0);
	patch_free(&p);
	assert_int_equal(sign_with(other_path, f->signer), EXIT_OK);
	assert_int_equal(verify_file(f, other_path, 0, err, sizeof(err), key_id), EXIT_OK);

	/* Graft its signature section onto the unsigned first patch. */
	read_whole(f->patch, &a, &a_len);
	read_whole(other_path, &b, &b_len);
	a = realloc(a, a_len + PATCH_SIGNATURE_SECTION_SIZE);
	memcpy(a + a_len, b + b_len - PATCH_SIGNATURE_SECTION_SIZE, PATCH_SIGNATURE_SECTION_SIZE);
	write_whole(f->patch, a, a_len + PATCH_SIGNATURE_SECTION_SIZE);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_BAD_SIGNATURE);
	assert_string_equal(key_id, "");
	free(a);
	free(b);
}

static void file_changed_after_parse_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1], other_path[128];
	struct patch p;

	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	assert_int_equal(patch_read_file(f->patch, &p, err, sizeof(err)), 0);

	/* Replace the file with another validly signed patch after parsing. */
	snprintf(other_path, sizeof(other_path), "%s/other.suture", f->dir);
	{
		struct patch q;

		sample_patch(&q);
		free(q.description);
		q.description = sample_strdup("a different description");
		assert_int_equal(patch_write_file(other_path, &q), 0);
		patch_free(&q);
	}
	assert_int_equal(sign_with(other_path, f->signer), EXIT_OK);
	assert_int_equal(rename(other_path, f->patch), 0);

	assert_int_equal(trust_verify_patch(f->patch, &p, f->trusted, 0, err, sizeof(err), key_id),
			 EXIT_BAD_SIGNATURE);
	assert_message_contains(err, "changed after it was read");
	patch_free(&p);
}

static void group_writable_trusted_dir_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];

	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	assert_int_equal(chmod(f->trusted, 0775), 0);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "chmod go-w");
	assert_message_contains(err, "trusted.d");
	/* A sticky bit does not help: others could still add keys. */
	assert_int_equal(chmod(f->trusted, 01777), 0);
	assert_int_equal(verify_file(f, f->patch, 1, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
}

static void group_writable_key_file_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1], path[160];

	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	snprintf(path, sizeof(path), "%s/signer.pub", f->trusted);
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "chmod go-w");
	assert_message_contains(err, "signer.pub");
}

static void other_writable_unrelated_key_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1], from[128], to[160];

	/* Even a key that does not match makes the directory untrustworthy. */
	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	key_path(from, sizeof(from), f->other, "pub");
	snprintf(to, sizeof(to), "%s/other.pub", f->trusted);
	copy_file(from, to);
	assert_int_equal(chmod(to, 0646), 0);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "other.pub");
}

static void readable_secret_key_rejected(void **state)
{
	struct fixture *f = *state;
	char key[128], key_id[TRUST_KEY_ID_LEN + 1], err[256];

	key_path(key, sizeof(key), f->signer, "key");
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(trust_sign_file(f->patch, key, key_id, err, sizeof(err)),
			 EXIT_INSECURE_PATH);
	assert_message_contains(err, "chmod go-rwx");
	assert_message_contains(err, key);
}

static void sign_rejects_invalid_patch(void **state)
{
	struct fixture *f = *state;
	char key[128], key_id[TRUST_KEY_ID_LEN + 1], err[256];

	write_whole(f->patch, (const uint8_t *)"SUTPATCH", 8);
	key_path(key, sizeof(key), f->signer, "key");
	assert_int_equal(trust_sign_file(f->patch, key, key_id, err, sizeof(err)),
			 EXIT_PATCH_INVALID);
	assert_message_contains(err, "truncated");
}

static void insecure_patch_location_rejected_as_root(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1], subdir[128], path[160];

	if (geteuid() != 0)
		skip();
	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);

	assert_int_equal(chmod(f->patch, 0664), 0);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "chmod go-w");
	assert_message_contains(err, "fix.suture");
	assert_int_equal(chmod(f->patch, 0644), 0);

	/* A parent directory that others may write to without the sticky bit. */
	snprintf(subdir, sizeof(subdir), "%s/drop", f->dir);
	assert_int_equal(mkdir(subdir, 0777), 0);
	assert_int_equal(chmod(subdir, 0777), 0);
	snprintf(path, sizeof(path), "%s/fix.suture", subdir);
	copy_file(f->patch, path);
	assert_int_equal(verify_file(f, path, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "parent directory");
	assert_message_contains(err, subdir);

	/* With the sticky bit, as on /tmp, other users cannot replace the file. */
	assert_int_equal(chmod(subdir, 01777), 0);
	assert_int_equal(verify_file(f, path, 0, err, sizeof(err), key_id), EXIT_OK);

	/* A file owned by another user could be rewritten by that user. */
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(verify_file(f, path, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "chown root");
}

static void trusted_dir_owned_by_other_user_rejected(void **state)
{
	struct fixture *f = *state;
	char err[256], key_id[TRUST_KEY_ID_LEN + 1];

	if (geteuid() != 0)
		skip();
	assert_int_equal(sign_with(f->patch, f->signer), EXIT_OK);
	assert_int_equal(chown(f->trusted, 65534, 65534), 0);
	assert_int_equal(verify_file(f, f->patch, 0, err, sizeof(err), key_id), EXIT_INSECURE_PATH);
	assert_message_contains(err, "uid 65534");
}

static void key_text_format(void **state)
{
	struct fixture *f = *state;
	char path[160], err[256];
	uint8_t key[32];
	static const char good[] =
		"suture-ed25519-public-key\n"
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
		"# a comment\n\n";
	static const char *const bad[] = {
		"",
		"suture-ed25519-public-key\n",
		"suture-ed25519-public-key\n0011\n",
		"suture-ed25519-secret-key\n" /* wrong kind */
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		"suture-ed25519-public-key\n"
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeZZ\n",
		"suture-ed25519-public-key\n"
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
		"extra line\n",
	};

	snprintf(path, sizeof(path), "%s/test.pub", f->dir);
	write_whole(path, (const uint8_t *)good, strlen(good));
	assert_int_equal(trust_read_public_key(path, key, err, sizeof(err)), 0);
	assert_int_equal(key[31], 0xff);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_whole(path, (const uint8_t *)bad[i], strlen(bad[i]));
		assert_int_equal(trust_read_public_key(path, key, err, sizeof(err)), -EINVAL);
		assert_message_contains(err, "not a suture public key");
	}
}

#define TRUST_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TRUST_TEST(keygen_sets_modes_rejects_overwrite),
		TRUST_TEST(signed_by_trusted_key_verifies),
		TRUST_TEST(sign_replaces_old_signature),
		TRUST_TEST(unsigned_patch_rejected),
		TRUST_TEST(untrusted_key_rejected),
		TRUST_TEST(missing_trusted_dir_untrusted),
		TRUST_TEST(malformed_key_file_skipped),
		TRUST_TEST(flipped_byte_in_each_region),
		TRUST_TEST(every_flipped_byte_rejected),
		TRUST_TEST(signature_from_other_file_rejected),
		TRUST_TEST(file_changed_after_parse_rejected),
		TRUST_TEST(group_writable_trusted_dir_rejected),
		TRUST_TEST(group_writable_key_file_rejected),
		TRUST_TEST(other_writable_unrelated_key_rejected),
		TRUST_TEST(readable_secret_key_rejected),
		TRUST_TEST(sign_rejects_invalid_patch),
		TRUST_TEST(insecure_patch_location_rejected_as_root),
		TRUST_TEST(trusted_dir_owned_by_other_user_rejected),
		TRUST_TEST(key_text_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
