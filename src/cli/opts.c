#include "cli/opts.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/state.h"
#include "cli/usage.h"
#include "trust/json.h"
#include "trust/trust.h"
#include "util/exitcode.h"
#include "util/log.h"

static void print_help(const char *what, FILE *out)
{
	if (!strcmp(what, "status")) {
		fprintf(out,
			"usage: suture status [--pid N]... [--json] [--history] [--journal FILE]\n"
			"  --pid N                 show process N only (repeatable; default: every\n"
			"                          process with a suture patch mapping)\n"
			"  --json                  print one JSON object per process\n"
			"  --history               print the journal lines of each process too\n"
			"  --journal FILE          audit journal for --history (default %s)\n"
			"  -v                      verbose; repeat for debug output\n",
			JOURNAL_DEFAULT_PATH);
		return;
	}
	fprintf(out,
		"usage: suture %s FIX.suture (--pid N [--pid N]... | --all) [options]\n"
		"  --pid N                 act on process N (repeatable)\n"
		"  --all                   act on every process that maps the patch's target build;\n"
		"                          skip those that have (apply) or lack (revert) the patch\n"
		"  --timeout SEC           retry budget of the safety check, seconds (default 5)\n"
		"%s"
		"  --trusted-dir DIR       directory of trusted public keys (default %s)\n"
		"  --insecure-skip-verify  accept unsigned or untrusted patches (development only)\n"
		"  --journal FILE          audit journal (default %s)\n"
		"  --json                  print one JSON object per process\n"
		"  -v                      verbose; repeat for debug output\n",
		what,
		strcmp(what, "apply") ? "" :
		"  --allow-active          allow replacing functions that are running; running\n"
		"                          activations finish in the old code\n",
		TRUST_DEFAULT_DIR, JOURNAL_DEFAULT_PATH);
}

static int parse_pid(const char *s, pid_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > 0x7fffffff)
		return -1;
	*out = (pid_t)v;
	return 0;
}

int cli_parse(const char *what, int argc, char **argv, struct cli_opts *o, int need_patch)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "history", no_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "allow-active", no_argument, NULL, 'A' },
		{ "insecure-skip-verify", no_argument, NULL, 'I' },
		{ "trusted-dir", required_argument, NULL, 'T' },
		{ "journal", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_sec = 5.0;
	o->journal = JOURNAL_DEFAULT_PATH;
	o->trusted_dir = TRUST_DEFAULT_DIR;
	optind = 0;
	while ((c = cli_next_option(what, argc, argv, "vh", longopts)) != -1) {
		pid_t pid;
		char *end;
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &pid)) {
				fprintf(stderr, "suture %s: invalid pid '%s'; expected a positive number\n",
					what, optarg);
				return EXIT_USAGE;
			}
			int seen = 0;
			for (size_t i = 0; i < o->npids; i++)
				seen |= o->pids[i] == pid;
			if (seen)
				break; /* a pid given twice is patched once */
			pid_t *grown = realloc(o->pids, (o->npids + 1) * sizeof(*grown));
			if (!grown)
				return EXIT_INTERNAL;
			o->pids = grown;
			o->pids[o->npids++] = pid;
			break;
		case 'a': o->all = 1; break;
		case 'j': o->json = 1; break;
		case 'H':
			if (strcmp(what, "status")) {
				cli_usage_error(what, "--history is an option of status only");
				return EXIT_USAGE;
			}
			o->history = 1;
			break;
		case 'A':
			if (strcmp(what, "apply")) {
				cli_usage_error(what, "--allow-active is an option of apply only");
				return EXIT_USAGE;
			}
			o->allow_active = 1;
			break;
		case 'I': o->insecure_skip_verify = 1; break;
		case 'T': o->trusted_dir = optarg; break;
		case 'J': o->journal = optarg; break;
		case 'v': log_verbosity++; break;
		case 't':
			o->timeout_sec = strtod(optarg, &end);
			if (*end || !(o->timeout_sec > 0) || o->timeout_sec > 3600) {
				fprintf(stderr, "suture %s: invalid --timeout '%s'; expected seconds, "
					"more than 0 and at most 3600\n", what, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			print_help(what, stdout);
			exit(EXIT_OK);
		default:
			return EXIT_USAGE;
		}
	}
	if (cli_check_operands(what, argc, argv, need_patch ? "patch file" : NULL) != EXIT_OK)
		return EXIT_USAGE;
	if (need_patch) {
		o->patch_path = argv[optind];
		if (!o->all == !o->npids) {
			cli_usage_error(what, "give either --pid N or --all");
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

void cli_opts_free(struct cli_opts *o)
{
	free(o->pids);
	o->pids = NULL;
}

int cli_load_patch(const struct cli_opts *o, struct patch *p, char signer[17], char *err,
		   size_t errlen)
{
	int code = patch_load_file(o->patch_path, p, err, errlen);
	if (code != EXIT_OK) {
		fprintf(stderr, "suture: %s\n", err);
		return code;
	}
	signer[0] = '\0';
	code = trust_verify_patch(o->patch_path, p, o->trusted_dir, o->insecure_skip_verify,
				      err, errlen, signer);
	/* A revert only restores the original code, checked against the
	 * object, and finds the patch by the id of this very file. */
	if (o->trust_optional && (code == EXIT_UNSIGNED || code == EXIT_UNTRUSTED ||
				  code == EXIT_INSECURE_PATH)) {
		log_info("reverting without a trusted signature: %s", err);
		signer[0] = '\0';
		code = EXIT_OK;
	}
	if (code != EXIT_OK) {
		fprintf(stderr, "suture: %s\n", err);
		patch_free(p);
	}
	return code;
}

static int compare_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int cli_list_pids(pid_t **pids, size_t *count)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t alloc = 0;
	pid_t self = getpid();

	*pids = NULL;
	*count = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid == self)
			continue;
		if (*count == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			pid_t *grown = realloc(*pids, alloc * sizeof(*grown));
			if (!grown) {
				closedir(d);
				return -ENOMEM;
			}
			*pids = grown;
		}
		(*pids)[(*count)++] = pid;
	}
	closedir(d);
	qsort(*pids, *count, sizeof(**pids), compare_pid);
	return 0;
}

/* Does `pid` map an object with this build-id?  Reads the mapped pages. */
static int maps_build_id(pid_t pid, const struct patch *p)
{
	struct proc_maps maps;
	struct mem_object *objs;
	size_t n;
	int found = 0;

	int memfd = proc_mem_open(pid);
	if (memfd < 0)
		return 0;
	if (proc_read_maps(pid, &maps) == 0) {
		if (mem_list_objects(memfd, &maps, &objs, &n) == 0) {
			for (size_t i = 0; i < n && !found; i++)
				found = objs[i].build_id_len == p->build_id_len &&
					!memcmp(objs[i].build_id, p->build_id, p->build_id_len);
			free(objs);
		}
		proc_maps_free(&maps);
	}
	close(memfd);
	return found;
}

int cli_find_processes(const struct patch *p, pid_t **pids, size_t *count)
{
	pid_t *all;
	size_t n, kept = 0;

	int ret = cli_list_pids(&all, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (maps_build_id(all[i], p))
			all[kept++] = all[i];
	*pids = all;
	*count = kept;
	return 0;
}

void cli_print_result(const char *action, const struct patch *p, pid_t pid,
		      const struct engine_result *r, int json, int *first)
{
	const char *name = p->name ? p->name : "patch";

	if (json) {
		printf("%s{\"pid\":%d,\"comm\":", *first ? "" : ",\n", (int)pid);
		json_write_string(stdout, r->comm);
		printf(",\"action\":\"%s\",\"result\":\"%s\",\"exit_code\":%d,\"patch\":", action,
		       r->code == EXIT_OK ? "ok" : "failed", r->code);
		json_write_string(stdout, name);
		printf(",\"object\":");
		json_write_string(stdout, r->object);
		printf(",\"build_id\":\"%s\",\"pause_us\":%.1f,\"load_stop_us\":%.1f,"
		       "\"threads\":%u,\"attempts\":%u,\"recovery\":",
		       r->build_id, r->pause_ns / 1000.0, r->load_stop_ns / 1000.0, r->threads,
		       r->attempts);
		json_write_string(stdout, r->recovery);
		printf(",\"message\":");
		json_write_string(stdout, r->message);
		printf("}");
		*first = 0;
		return;
	}
	if (r->recovery[0])
		printf("pid %d (%s): recovery: %s\n", (int)pid, r->comm, r->recovery);
	if (r->code != EXIT_OK) {
		fprintf(stderr, "suture: %s\n", r->message);
		return;
	}
	printf("pid %d (%s): %s %s %s %s: pause %.1f us (%u thread%s, %u attempt%s)\n",
	       (int)pid, r->comm, !strcmp(action, "apply") ? "applied" : "reverted", name,
	       !strcmp(action, "apply") ? "to" : "from", r->object, r->pause_ns / 1000.0,
	       r->threads, r->threads == 1 ? "" : "s", r->attempts, r->attempts == 1 ? "" : "s");
	log_info("pid %d: the loading thread was stopped for %.1f us", (int)pid,
		 r->load_stop_ns / 1000.0);
}

int cli_combine_codes(int previous, int code, size_t index)
{
	if (index == 0 || previous == code)
		return code;
	/* Partial only when some processes succeeded and others failed.  When
	 * all failed, the exit code is the first failure's. */
	if (previous == EXIT_OK || code == EXIT_OK)
		return EXIT_PARTIAL;
	return previous;
}

int cli_check_journal(const char *command, const char *journal)
{
	int rc = journal_check(journal);

	if (rc == 0)
		return EXIT_OK;
	fprintf(stderr, "suture%s: cannot write the audit journal %s: %s; check that its "
		"directory exists or can be created and is writable, or pass --journal PATH\n",
		command, journal ? journal : JOURNAL_DEFAULT_PATH, strerror(-rc));
	return EXIT_JOURNAL;
}
