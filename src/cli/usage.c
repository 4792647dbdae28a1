#include "cli/usage.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/exitcode.h"

void cli_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "suture %s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'suture %s --help'\n", command);
}

/* Return the length of the option name in `arg` ("--name" or "--name=value"), dashes excluded. */
static size_t typed_name_length(const char *arg)
{
	return strcspn(arg + 2, "=");
}

/*
 * Find the long option whose value is `val` and whose name starts with the
 * name typed in `arg`, because getopt_long() accepts unique abbreviations.
 * Return NULL if `arg` is not a long option or names another one.
 */
static const struct option *find_long_option(const char *arg, int val,
					     const struct option *longopts)
{
	size_t len;

	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	len = typed_name_length(arg);
	for (const struct option *o = longopts; o->name; o++) {
		if (o->val == val && !strncmp(o->name, arg + 2, len))
			return o;
	}
	return NULL;
}

static void report_missing_value(const char *command, const char *arg,
				 const struct option *longopts)
{
	const struct option *o = find_long_option(arg, optopt, longopts);

	if (o)
		cli_usage_error(command, "option '--%s' needs a value", o->name);
	else
		cli_usage_error(command, "option '-%c' needs a value", optopt);
}

/* Report an unknown long option, or an abbreviation that several long options share. */
static void report_unknown_long_option(const char *command, const char *arg,
				       const struct option *longopts)
{
	size_t len = typed_name_length(arg);
	char matches[256] = "";
	size_t used = 0, count = 0;

	for (const struct option *o = longopts; o->name; o++) {
		if (strncmp(o->name, arg + 2, len) != 0)
			continue;
		if (used < sizeof(matches))
			used += (size_t)snprintf(matches + used, sizeof(matches) - used, "%s--%s",
						 count ? ", " : "", o->name);
		count++;
	}
	if (count > 1)
		cli_usage_error(command, "ambiguous option '--%.*s' (%s)", (int)len, arg + 2,
				matches);
	else
		cli_usage_error(command, "unknown option '--%.*s'", (int)len, arg + 2);
}

/*
 * Report the option for which getopt_long() returned '?'.  glibc sets optopt
 * to 0 for an unknown or ambiguous long option, to the option's value for a
 * long option given a value it does not take, and to the character of an
 * unknown short option.  After a long option, optind has moved past it, so
 * `arg` (argv[optind - 1]) is what the user typed.  After a short option
 * that is not the last of a cluster such as "-xv", optind has not moved, so
 * only optopt names the option.
 */
static void report_invalid_option(const char *command, const char *arg,
				  const struct option *longopts)
{
	const struct option *o;

	if (optopt == 0 && !strncmp(arg, "--", 2)) {
		report_unknown_long_option(command, arg, longopts);
		return;
	}
	o = find_long_option(arg, optopt, longopts);
	if (o && o->has_arg == no_argument && strchr(arg, '='))
		cli_usage_error(command, "option '--%s' takes no value", o->name);
	else
		cli_usage_error(command, "unknown option '-%c'", optopt);
}

int cli_next_option(const char *command, int argc, char **argv, const char *shortopts,
		    const struct option *longopts)
{
	char spec[64];
	size_t prefix = shortopts[0] == '+' || shortopts[0] == '-';
	int opt;

	/* A ':' right after the optional '+' or '-' makes getopt_long() return
	 * ':' for a missing value and print nothing itself. */
	assert(strlen(shortopts) + 2 <= sizeof(spec));
	snprintf(spec, sizeof(spec), "%.*s:%s", (int)prefix, shortopts, shortopts + prefix);
	opterr = 0;
	opt = getopt_long(argc, argv, spec, longopts, NULL);
	if (opt == ':') {
		report_missing_value(command, argv[optind - 1], longopts);
		return '?';
	}
	if (opt == '?')
		report_invalid_option(command, argv[optind - 1], longopts);
	return opt;
}

int cli_check_operands(const char *command, int argc, char **argv, const char *operand)
{
	int extra = optind + (operand ? 1 : 0);

	if (operand && optind >= argc) {
		cli_usage_error(command, "missing %s", operand);
		return EXIT_USAGE;
	}
	if (extra < argc) {
		if (operand)
			cli_usage_error(command, "unexpected argument '%s' after the %s",
					argv[extra], operand);
		else
			cli_usage_error(command, "unexpected argument '%s'", argv[extra]);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

void cli_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "suture %s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_is_cve_id(const char *id)
{
	size_t digits = 0;

	if (strncmp(id, "CVE-", 4) != 0)
		return 0;
	for (int i = 4; i < 8; i++) {
		if (!isdigit((unsigned char)id[i]))
			return 0;
	}
	if (id[8] != '-')
		return 0;
	for (const char *p = id + 9; *p; p++, digits++) {
		if (!isdigit((unsigned char)*p))
			return 0;
	}
	return digits >= 4;
}
