/* Command-line parsing and one-line usage errors shared by the suture commands. */
#ifndef SUTURE_USAGE_H
#define SUTURE_USAGE_H

#include <getopt.h>

/*
 * Print "suture COMMAND: MESSAGE; see 'suture COMMAND --help'" on stderr.
 * The caller then returns EXIT_USAGE.
 */
void cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Return the next option of `argv` as getopt_long() does, or -1 after the
 * last one.  For an unknown or ambiguous option, a missing value or a value
 * given to an option that takes none, print the error with cli_usage_error()
 * and return '?'.  `shortopts` is getopt's string, without the leading ':'
 * that this function adds.  Set optind to 0 before the first call.
 */
int cli_next_option(const char *command, int argc, char **argv, const char *shortopts,
		    const struct option *longopts);

/*
 * Check the operands left after the options, argv[optind] onwards: exactly
 * one when `operand` names it (for messages, e.g. "patch file"), none when
 * `operand` is NULL.  Returns EXIT_OK, or EXIT_USAGE after printing the error.
 */
int cli_check_operands(const char *command, int argc, char **argv, const char *operand);

/* Print "suture COMMAND: MESSAGE" on stderr, for errors that need no hint about --help. */
void cli_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Return 1 when `id` is a CVE id, CVE-YYYY-NNNN with four or more digits at the end. */
int cli_is_cve_id(const char *id);

#endif
