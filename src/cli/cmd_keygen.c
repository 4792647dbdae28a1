/* suture keygen: create an Ed25519 key pair for signing patches. */
#include <errno.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/usage.h"
#include "patch/patch.h"
#include "trust/trust.h"
#include "util/exitcode.h"

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: suture keygen --out PREFIX\n"
		"\n"
		"Create PREFIX.key (secret key, mode 0600) and PREFIX.pub (public key,\n"
		"mode 0644).  Existing files are never overwritten.  To trust the key,\n"
		"copy PREFIX.pub into " TRUST_DEFAULT_DIR "/ on the machines that apply\n"
		"patches.\n"
		"\n"
		"  --out PREFIX   path and file name stem of the two key files\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix = NULL;
	char key_id[TRUST_KEY_ID_LEN + 1], err[512];
	int opt, rc;

	optind = 0;
	while ((opt = cli_next_option("keygen", argc, argv, "ho:", options)) != -1) {
		if (opt == 'o') {
			prefix = optarg;
		} else if (opt == 'h') {
			print_usage(stdout);
			return EXIT_OK;
		} else {
			return EXIT_USAGE;
		}
	}
	if (cli_check_operands("keygen", argc, argv, NULL) != EXIT_OK)
		return EXIT_USAGE;
	if (!prefix) {
		cli_usage_error("keygen", "missing --out");
		return EXIT_USAGE;
	}

	rc = trust_keygen(prefix, key_id, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "suture: %s\n", err);
		return rc == -EEXIST ? EXIT_FILE_EXISTS : patch_exit_for_errno(rc);
	}
	printf("created %s.key and %s.pub, key id %s\n", prefix, prefix, key_id);
	return EXIT_OK;
}
