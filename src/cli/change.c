/* The common driver of `suture apply` and `suture revert`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/engine.h"
#include "cli/change.h"
#include "cli/opts.h"
#include "trust/journal.h"
#include "util/exitcode.h"
#include "util/log.h"

static const char *result_name(int code)
{
	switch (code) {
	case EXIT_OK: return "ok";
	case EXIT_NO_PROCESS: return "no-process";
	case EXIT_BUILD_ID_MISMATCH: return "build-id-mismatch";
	case EXIT_PERMISSION: return "permission-denied";
	case EXIT_TRACED: return "already-traced";
	case EXIT_BUSY: return "busy";
	case EXIT_VANISHED: return "process-exited";
	case EXIT_FUNCTION: return "function-mismatch";
	case EXIT_REVERT_ORDER: return "revert-order";
	case EXIT_STATE: return "state";
	case EXIT_SECCOMP: return "seccomp";
	case EXIT_NO_SPACE: return "no-address-space";
	case EXIT_PATCH_INVALID: return "invalid-patch";
	case EXIT_UNSIGNED: return "unsigned";
	case EXIT_UNTRUSTED: return "untrusted-key";
	case EXIT_BAD_SIGNATURE: return "bad-signature";
	case EXIT_INSECURE_PATH: return "insecure-path";
	default: return "failed";
	}
}

static int journal_result(const struct cli_opts *o, int is_apply, const struct patch *p,
			  pid_t pid, const char *signer, const struct engine_result *r)
{
	struct journal_entry e = {
		.action = is_apply ? JOURNAL_APPLY : JOURNAL_REVERT,
		.pid = (int)pid,
		.comm = r->comm[0] ? r->comm : NULL,
		.object = r->object[0] ? r->object : p->object_name,
		.build_id = p->build_id,
		.build_id_len = p->build_id_len,
		.patch_id = p->id,
		.patch_name = p->name,
		.signer_key_id = signer && signer[0] ? signer : NULL,
		.result = result_name(r->code),
		.message = r->code == EXIT_OK ? NULL : r->message,
		.pause_us = r->code == EXIT_OK ? (long long)(r->pause_ns / 1000) : -1,
		.insecure = o->insecure_skip_verify,
	};
	if (r->recovery[0]) {
		struct journal_entry rec = e;
		rec.action = JOURNAL_RECOVERY;
		rec.result = "ok";
		rec.message = r->recovery;
		rec.pause_us = -1;
		if (journal_append(o->journal, &rec))
			return -1;
	}
	return journal_append(o->journal, &e);
}

int cli_run_change(const char *what, int argc, char **argv)
{
	int is_apply = !strcmp(what, "apply");
	struct cli_opts o;
	struct patch p;
	char signer[17] = "";
	pid_t *pids = NULL;
	size_t npids = 0;

	int code = cli_parse(what, argc, argv, &o, 1);
	if (code != EXIT_OK)
		return code;
	char why[512] = "";
	code = cli_load_patch(&o, &p, signer, why, sizeof(why));
	if (code != EXIT_OK) {
		/* The journal keeps refusals too: who tried to apply what. */
		struct journal_entry e = {
			.action = JOURNAL_REFUSAL,
			.pid = o.npids == 1 ? (int)o.pids[0] : 0,
			.object = o.patch_path,
			.result = result_name(code),
			.message = why,
			.pause_us = -1,
			.insecure = o.insecure_skip_verify,
		};
		journal_append(o.journal, &e);
		cli_opts_free(&o);
		return code;
	}

	if (o.all) {
		if (cli_find_processes(&p, &pids, &npids) || !npids) {
			fprintf(stderr, "suture: no process maps an object with the patch's build-id "
				"(%s); nothing to %s\n", p.object_name ? p.object_name : "target", what);
			code = EXIT_BUILD_ID_MISMATCH;
			goto out;
		}
	} else {
		pids = o.pids;
		npids = o.npids;
		o.pids = NULL;
	}

	struct engine_opts eo = {
		.timeout_sec = o.timeout_sec,
		.allow_active = o.allow_active,
		.insecure = o.insecure_skip_verify,
		.signer = signer,
	};
	int first = 1;
	if (o.json)
		printf("[");
	for (size_t i = 0; i < npids; i++) {
		struct engine_result r;
		if (is_apply)
			engine_apply(&p, pids[i], &eo, &r);
		else
			engine_revert(&p, pids[i], &eo, &r);
		/* The record of what was done reaches the disk before we report it. */
		if (journal_result(&o, is_apply, &p, pids[i], signer, &r) && r.code == EXIT_OK)
			log_warn("failed to write the audit journal %s", o.journal);
		cli_print_result(what, &p, pids[i], &r, o.json, &first);
		code = cli_combine_codes(code, r.code, i);
	}
	if (o.json)
		printf("]\n");
out:
	free(pids);
	patch_free(&p);
	cli_opts_free(&o);
	return code;
}
