/*
 * Audit journal: one JSON object per line for every apply, revert, refusal
 * and recovery, appended durably, with a one-line summary sent to syslog
 * (ident "suture", facility LOG_AUTHPRIV).
 */
#ifndef SUTURE_JOURNAL_H
#define SUTURE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JOURNAL_DEFAULT_PATH "/var/log/suture/journal.jsonl"

enum journal_action {
	JOURNAL_APPLY,
	JOURNAL_REVERT,
	JOURNAL_REFUSAL,
	JOURNAL_RECOVERY,
};

/* One journal record.  NULL strings and pointers are written as JSON null. */
struct journal_entry {
	enum journal_action action;
	int pid;
	const char *comm;          /* process name; NULL reads /proc/PID/comm */
	const char *object;        /* path or name of the patched object */
	const uint8_t *build_id;
	size_t build_id_len;
	const uint8_t *patch_id;   /* 32 bytes, or NULL */
	const char *patch_name;
	const char *signer_key_id; /* NULL when unsigned or not verified */
	const char *result;        /* "ok" or a short failure name, e.g. "busy" */
	const char *message;       /* one line for a person */
	long long pause_us;        /* time the target was stopped; < 0 writes null */
	int insecure;              /* --insecure-skip-verify was given */
};

/*
 * Append `e` to the journal at `journal_path` (NULL for JOURNAL_DEFAULT_PATH)
 * with time, uid and user name added, and fsync() it before returning.
 * Missing parent directories are created with mode 0750 and the file with
 * mode 0640.  Returns 0 or a negative errno.
 */
int journal_append(const char *journal_path, const struct journal_entry *e);

/*
 * As journal_append(), without the fsync(): for runs over many processes,
 * which call journal_sync() once before reporting.  A line written this way
 * survives the death of suture (it is in the page cache), not a crash of
 * the machine until journal_sync() returns.
 */
int journal_append_unsynced(const char *journal_path, const struct journal_entry *e);

/*
 * Check that the journal can be appended to, creating it as
 * journal_append() does, so that a command can refuse before it changes
 * anything it could not record.  Returns 0 or a negative errno.
 */
int journal_check(const char *journal_path);

/* fsync() the journal.  Returns 0 or a negative errno. */
int journal_sync(const char *journal_path);

/*
 * Copy to `out` every journal line whose "pid" is `pid`, in file order.
 * Returns the number of lines copied, or a negative errno (-ENOENT when the
 * journal does not exist yet).
 */
int journal_read_pid(const char *journal_path, int pid, FILE *out);

/* Name of an action as written in the journal ("apply", "revert", ...). */
const char *journal_action_name(enum journal_action action);

#endif
