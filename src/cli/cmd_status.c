#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply/engine.h"
#include "apply/state.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "trust/journal.h"
#include "trust/json.h"
#include "util/exitcode.h"
#include "util/log.h"

static const char *state_name(uint32_t state)
{
	static const char *const names[] = { "loading", "prepared", "switching", "applied",
					     "reverting", "reverted" };
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

static void format_time(uint64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *object_path(const struct process_state *ps, const struct record *rec)
{
	for (size_t i = 0; i < ps->nobjects; i++)
		if (ps->objects[i].base == rec->object_base)
			return ps->objects[i].map->path;
	return "?";
}

static void print_text(const struct process_state *ps, const char *comm)
{
	printf("pid %d (%s): %zu patch%s\n", (int)ps->pid, comm, ps->npatches,
	       ps->npatches == 1 ? "" : "es");
	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		char id[65], bid[129], when[32];
		if (!rec) {
			printf("  incomplete patch mapping at 0x%" PRIx64 "\n", ps->patches[i].map_start);
			continue;
		}
		build_id_hex(rec->patch_id, 32, id);
		build_id_hex(rec->build_id, rec->build_id_len, bid);
		format_time(rec->applied_at_us, when, sizeof(when));
		printf("  %s (id %.16s) %s on %s (build-id %s) at %s, pause %.1f us%s%s%s\n",
		       rec->patch_name[0] ? rec->patch_name : "unnamed", id, state_name(rec->state),
		       object_path(ps, rec), bid, when, rec->pause_ns / 1000.0,
		       rec->signer[0] ? ", signed by " : "", rec->signer,
		       rec->flags & RECORD_FLAG_INSECURE ? ", UNVERIFIED" : "");
		for (uint32_t k = 0; k < rec->nfuncs; k++)
			printf("    %s at 0x%" PRIx64 " -> 0x%" PRIx64 "\n", rec->funcs[k].name,
			       rec->funcs[k].site, rec->funcs[k].new_addr);
	}
}

static void print_json_patch(const struct process_state *ps, const struct applied_patch *ap)
{
	const struct record *rec = ap->rec;
	char id[65], bid[129], when[32];

	if (!rec) {
		printf("{\"state\":\"incomplete\",\"address\":%" PRIu64 "}", ap->map_start);
		return;
	}
	build_id_hex(rec->patch_id, 32, id);
	build_id_hex(rec->build_id, rec->build_id_len, bid);
	format_time(rec->applied_at_us, when, sizeof(when));
	printf("{\"name\":");
	json_write_string(stdout, rec->patch_name);
	printf(",\"id\":\"%s\",\"state\":\"%s\",\"object\":", id, state_name(rec->state));
	json_write_string(stdout, object_path(ps, rec));
	printf(",\"build_id\":\"%s\",\"applied_at\":\"%s\",\"sequence\":%" PRIu64
	       ",\"pause_us\":%.1f,\"signer\":", bid, when, rec->sequence, rec->pause_ns / 1000.0);
	json_write_string(stdout, rec->signer);
	printf(",\"insecure\":%s,\"address\":%" PRIu64 ",\"functions\":[",
	       rec->flags & RECORD_FLAG_INSECURE ? "true" : "false", ap->map_start);
	for (uint32_t k = 0; k < rec->nfuncs; k++) {
		printf("%s{\"name\":", k ? "," : "");
		json_write_string(stdout, rec->funcs[k].name);
		printf(",\"address\":%" PRIu64 ",\"new_address\":%" PRIu64 "}", rec->funcs[k].site,
		       rec->funcs[k].new_addr);
	}
	printf("]}");
}

static void print_json(const struct process_state *ps, const char *comm, int *first)
{
	printf("%s{\"pid\":%d,\"comm\":", *first ? "" : ",\n", (int)ps->pid);
	json_write_string(stdout, comm);
	printf(",\"patches\":[");
	*first = 0;
	for (size_t i = 0; i < ps->npatches; i++) {
		if (i)
			printf(",");
		print_json_patch(ps, &ps->patches[i]);
	}
	printf("]}");
}

/* Show one process; returns 1 if it was shown. */
static int show_process(pid_t pid, const struct cli_opts *o, int explicit, int *first, int *code)
{
	struct process_state ps;
	struct engine_result r;
	struct engine_opts eo = { .timeout_sec = o->timeout_sec };
	char comm[32];

	int ret = pstate_load(pid, &ps);
	if (ret) {
		if (explicit && (ret == -EACCES || ret == -EPERM)) {
			fprintf(stderr, "suture: cannot access memory of process %d: %s; run suture as "
				"root or with CAP_SYS_PTRACE\n", (int)pid, strerror(-ret));
			*code = EXIT_PERMISSION;
		} else if (explicit) {
			fprintf(stderr, "suture: no process with pid %d\n", (int)pid);
			*code = EXIT_NO_PROCESS;
		}
		return 0;
	}
	if (engine_needs_recovery(&ps)) {
		pstate_free(&ps);
		engine_recover(pid, &eo, &r);
		if (r.recovery[0])
			fprintf(stderr, "suture: pid %d: recovery: %s\n", (int)pid, r.recovery);
		if (r.code != EXIT_OK)
			fprintf(stderr, "suture: %s\n", r.message);
		if (pstate_load(pid, &ps))
			return 0;
	}
	proc_comm(pid, comm, sizeof(comm));
	if (ps.npatches || explicit) {
		if (o->json)
			print_json(&ps, comm, first);
		else
			print_text(&ps, comm);
		if (o->history && !o->json) {
			int lines = journal_read_pid(o->journal, (int)pid, stdout);
			if (lines == -ENOENT)
				log_warn("no journal at %s, so no history; pass --journal PATH if "
					 "it is elsewhere", o->journal);
			else if (lines < 0)
				log_warn("cannot read the journal %s: %s", o->journal,
					 strerror(-lines));
		}
	}
	pstate_free(&ps);
	return 1;
}

int cmd_status(int argc, char **argv)
{
	struct cli_opts o;
	pid_t *pids;
	size_t n;
	int first = 1, code = EXIT_OK;

	code = cli_parse("status", argc, argv, &o, 0);
	if (code != EXIT_OK)
		return code;
	if (o.npids) {
		pids = o.pids;
		n = o.npids;
		o.pids = NULL;
	} else if (cli_list_pids(&pids, &n)) {
		fprintf(stderr, "suture: cannot list processes in /proc\n");
		return EXIT_INTERNAL;
	}
	if (o.json)
		printf("[");
	for (size_t i = 0; i < n; i++)
		show_process(pids[i], &o, o.npids > 0 || n == 1, &first, &code);
	if (o.json)
		printf("]\n");
	free(pids);
	cli_opts_free(&o);
	return code;
}
