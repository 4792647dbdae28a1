/* The common driver of `suture apply` and `suture revert`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply/engine.h"
#include "cli/change.h"
#include "cli/opts.h"
#include "trust/journal.h"
#include "util/exitcode.h"
#include "util/log.h"

#define MAX_WORKERS 8
#define PARALLEL_MIN 16 /* fewer processes are patched by suture itself */

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
		if (journal_append_unsynced(o->journal, &rec))
			return -1;
	}
	return journal_append_unsynced(o->journal, &e);
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Apply or revert in one process, journalling the result. */
static void change_one(const struct cli_opts *o, int is_apply, const struct patch *p,
		       const char *signer, const struct engine_opts *eo, pid_t pid,
		       struct engine_result *r)
{
	if (is_apply)
		engine_apply(p, pid, eo, r);
	else
		engine_revert(p, pid, eo, r);
	if (journal_result(o, is_apply, p, pid, signer, r))
		snprintf(r->journal_error, sizeof(r->journal_error), "%s", o->journal);
}

/*
 * Patch many processes with one worker per CPU: each worker is a forked
 * suture that traces its own share of the processes (ptrace ties a tracee
 * to one tracer) and sends its results back through a pipe.
 */
static int change_in_parallel(const struct cli_opts *o, int is_apply, const struct patch *p,
			      const char *signer, const struct engine_opts *eo, const pid_t *pids,
			      size_t npids, size_t nworkers, struct engine_result *results)
{
	struct pollfd fds[MAX_WORKERS];
	pid_t workers[MAX_WORKERS];
	size_t open_pipes = 0;

	for (size_t w = 0; w < nworkers; w++) {
		int pipefd[2];
		if (pipe2(pipefd, O_CLOEXEC))
			return -errno;
		workers[w] = fork();
		if (workers[w] < 0)
			return -errno;
		if (workers[w] == 0) {
			close(pipefd[0]);
			for (size_t i = w; i < npids; i += nworkers) {
				change_one(o, is_apply, p, signer, eo, pids[i], &results[i]);
				uint32_t index = (uint32_t)i;
				if (write(pipefd[1], &index, sizeof(index)) != sizeof(index) ||
				    write(pipefd[1], &results[i], sizeof(results[i])) !=
					    (ssize_t)sizeof(results[i]))
					_exit(EXIT_INTERNAL);
			}
			_exit(EXIT_OK);
		}
		close(pipefd[1]);
		fds[w] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
		open_pipes++;
	}

	/* A result is written with two writes well under PIPE_BUF; read both. */
	while (open_pipes) {
		if (poll(fds, nworkers, -1) < 0 && errno != EINTR)
			break;
		for (size_t w = 0; w < nworkers; w++) {
			if (fds[w].fd < 0 || !fds[w].revents)
				continue;
			uint32_t index;
			struct engine_result r;
			if (read_full(fds[w].fd, &index, sizeof(index)) ||
			    read_full(fds[w].fd, &r, sizeof(r)) || index >= npids) {
				close(fds[w].fd);
				fds[w].fd = -1;
				open_pipes--;
				continue;
			}
			results[index] = r;
		}
	}
	for (size_t w = 0; w < nworkers; w++)
		waitpid(workers[w], NULL, 0);
	return 0;
}

static size_t worker_count(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 2)
		return 1;
	if (cpus > MAX_WORKERS)
		return MAX_WORKERS;
	return (size_t)cpus;
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
	/* Every change is recorded, so refuse before any change that could not be. */
	code = cli_check_journal("", o.journal);
	if (code != EXIT_OK) {
		cli_opts_free(&o);
		return code;
	}
	char why[512] = "";
	o.trust_optional = !is_apply;
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
	struct engine_result *results = calloc(npids, sizeof(*results));
	if (!results) {
		code = EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < npids; i++) {
		results[i].code = EXIT_INTERNAL;
		snprintf(results[i].message, sizeof(results[i].message),
			 "the worker handling process %d stopped early", (int)pids[i]);
	}
	size_t nworkers = npids >= PARALLEL_MIN ? worker_count() : 1;
	if (nworkers > 1)
		change_in_parallel(&o, is_apply, &p, signer, &eo, pids, npids, nworkers, results);
	else
		for (size_t i = 0; i < npids; i++)
			change_one(&o, is_apply, &p, signer, &eo, pids[i], &results[i]);

	/* The record of what was done reaches the disk before we report it. */
	int journal_failed = journal_sync(o.journal) != 0, any_ok = 0;
	size_t nok = 0, nfailed = 0, nskipped = 0;
	int first = 1;
	if (o.json)
		printf("[");
	for (size_t i = 0; i < npids; i++) {
		journal_failed |= results[i].journal_error[0] != '\0';
		any_ok |= results[i].code == EXIT_OK;
		if (o.all && results[i].code == EXIT_STATE && !o.json)
			printf("pid %d (%s): skipped: %s\n", (int)pids[i], results[i].comm,
			       results[i].message);
		else
			cli_print_result(what, &p, pids[i], &results[i], o.json, &first);
		/* With --all, a process that already has the patch (or, for
		 * revert, never had it) is skipped rather than failed, so that
		 * the command can be run again after new processes started. */
		int skipped = o.all && results[i].code == EXIT_STATE;
		int counted = skipped ? EXIT_OK : results[i].code;
		code = cli_combine_codes(code, counted, i);
		nok += results[i].code == EXIT_OK;
		nskipped += skipped;
		nfailed += !skipped && results[i].code != EXIT_OK;
	}
	/* Each failure went to stderr. The counts follow the results on stdout. */
	if (npids > 1 && !o.json)
		printf("%s: %zu process%s %s, %zu failed, %zu skipped\n", what, nok,
		       nok == 1 ? "" : "es", is_apply ? "patched" : "reverted", nfailed, nskipped);
	if (o.json)
		printf("]\n");
	/* A failure's own message comes first; a lost journal line for a
	 * change that was made must not go unnoticed. */
	if (journal_failed && any_ok) {
		log_error("the change was made, but writing the audit journal %s failed; check "
			  "the disk it is on", o.journal ? o.journal : JOURNAL_DEFAULT_PATH);
		code = EXIT_JOURNAL;
	}
	free(results);
out:
	free(pids);
	patch_free(&p);
	cli_opts_free(&o);
	return code;
}
