/* suture sign: add or replace the signature of a patch file. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/usage.h"
#include "trust/trust.h"
#include "util/exitcode.h"

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: suture sign FIX.suture --key KEY.key\n"
		"\n"
		"Sign the patch file in place with an Ed25519 secret key made by\n"
		"'suture keygen'.  An existing signature is replaced; the patch id\n"
		"does not change.  The key file must be accessible only by its owner.\n"
		"\n"
		"  --key KEY.key   secret key file\n");
}

int cmd_sign(int argc, char **argv)
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key_path = NULL;
	char key_id[TRUST_KEY_ID_LEN + 1], err[512];
	int opt, status;

	optind = 0;
	while ((opt = cli_next_option("sign", argc, argv, "hk:", options)) != -1) {
		if (opt == 'k') {
			key_path = optarg;
		} else if (opt == 'h') {
			print_usage(stdout);
			return EXIT_OK;
		} else {
			return EXIT_USAGE;
		}
	}
	if (cli_check_operands("sign", argc, argv, "patch file") != EXIT_OK)
		return EXIT_USAGE;
	if (!key_path) {
		cli_usage_error("sign", "missing --key");
		return EXIT_USAGE;
	}

	status = trust_sign_file(argv[optind], key_path, key_id, err, sizeof(err));
	if (status == EXIT_PATCH_INVALID)
		fprintf(stderr, "suture: %s: invalid patch file: %s\n", argv[optind], err);
	else if (status != EXIT_OK)
		fprintf(stderr, "suture: %s\n", err);
	else
		printf("signed %s with key %s\n", argv[optind], key_id);
	return status;
}
