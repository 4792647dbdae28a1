/* Options shared by the commands that act on processes. */
#ifndef SUTURE_OPTS_H
#define SUTURE_OPTS_H

#include <stddef.h>
#include <sys/types.h>

#include "apply/engine.h"
#include "patch/patch.h"
#include "trust/journal.h"


struct cli_opts {
	const char *patch_path;
	pid_t *pids;
	size_t npids;
	int all;
	int json;
	int history;
	double timeout_sec;
	int allow_active;
	int insecure_skip_verify;
	int trust_optional; /* revert: a patch without a trusted signature is accepted */
	const char *trusted_dir;
	const char *journal;
};

/*
 * Parse the command line of apply, revert or status (`what`).  Returns
 * EXIT_OK, or EXIT_USAGE after printing a one-line error.
 */
int cli_parse(const char *what, int argc, char **argv, struct cli_opts *o, int need_patch);
void cli_opts_free(struct cli_opts *o);

/*
 * Read, validate and verify the patch file before any process is touched.
 * On failure the reason is printed and left in `err`.
 */
int cli_load_patch(const struct cli_opts *o, struct patch *p, char signer[17], char *err,
		   size_t errlen);

/* Processes mapping an object with the patch's build-id (for --all). */
int cli_find_processes(const struct patch *p, pid_t **pids, size_t *count);

/* All pids in /proc except our own, ascending. */
int cli_list_pids(pid_t **pids, size_t *count);

void cli_print_result(const char *action, const struct patch *p, pid_t pid,
		      const struct engine_result *r, int json, int *first);

int cli_combine_codes(int previous, int code, size_t index);

/*
 * Check that the audit journal can be appended to, before any process is
 * touched.  Returns EXIT_OK, or EXIT_JOURNAL after printing a one-line
 * error prefixed "suture" and `command` (for example " run").
 */
int cli_check_journal(const char *command, const char *journal);

#endif
