/* suture verify: check a patch file's signature against the trusted keys. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/usage.h"
#include "patch/patch.h"
#include "trust/trust.h"
#include "util/exitcode.h"

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: suture verify FIX.suture [--trusted-dir DIR]\n"
		"\n"
		"Check that the patch file is signed, that the signature matches its\n"
		"contents, and that the signing key is one of the *.pub files in the\n"
		"trusted directory.  The exit code names the outcome (0 valid, 11\n"
		"unsigned, 12 untrusted key, 13 bad signature, 14 insecure path).\n"
		"\n"
		"  --trusted-dir DIR   directory of trusted public keys (default\n"
		"                      " TRUST_DEFAULT_DIR ")\n");
}

int cmd_verify(int argc, char **argv)
{
	static const struct option options[] = {
		{ "trusted-dir", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *trusted_dir = TRUST_DEFAULT_DIR, *path;
	char key_id[TRUST_KEY_ID_LEN + 1], err[512];
	struct patch p;
	int opt, status;

	optind = 0;
	while ((opt = cli_next_option("verify", argc, argv, "h", options)) != -1) {
		if (opt == 't') {
			trusted_dir = optarg;
		} else if (opt == 'h') {
			print_usage(stdout);
			return EXIT_OK;
		} else {
			return EXIT_USAGE;
		}
	}
	if (cli_check_operands("verify", argc, argv, "patch file") != EXIT_OK)
		return EXIT_USAGE;
	path = argv[optind];

	status = patch_load_file(path, &p, err, sizeof(err));
	if (status != EXIT_OK) {
		fprintf(stderr, "suture: %s\n", err);
		return status;
	}

	status = trust_verify_patch(path, &p, trusted_dir, 0, err, sizeof(err), key_id);
	if (status == EXIT_OK)
		printf("%s: valid signature by trusted key %s\n", path, key_id);
	else
		fprintf(stderr, "suture: %s\n", err);
	patch_free(&p);
	return status;
}
