/* Exit codes of the suture command: one per cause, stable for scripts. */
#ifndef SUTURE_EXITCODE_H
#define SUTURE_EXITCODE_H

enum suture_exit {
	EXIT_OK = 0,
	EXIT_INTERNAL = 1,         /* unexpected failure inside suture */
	EXIT_USAGE = 2,            /* invalid command line */
	EXIT_PATCH_INVALID = 3,    /* truncated, corrupt or unsupported patch file */
	EXIT_NO_PROCESS = 4,       /* pid does not exist */
	EXIT_BUILD_ID_MISMATCH = 5,/* process does not map the patch's target build */
	EXIT_PERMISSION = 6,       /* not root and no CAP_SYS_PTRACE, or ptrace denied */
	EXIT_TRACED = 7,           /* process already traced by another tracer */
	EXIT_BUSY = 8,             /* safety check failed until --timeout expired */
	EXIT_VANISHED = 9,         /* process or thread exited during the operation */
	EXIT_FUNCTION = 10,        /* function missing, mismatching or shorter than the jump */
	EXIT_UNSIGNED = 11,        /* patch file carries no signature */
	EXIT_UNTRUSTED = 12,       /* signed by a key not in the trusted directory */
	EXIT_BAD_SIGNATURE = 13,   /* signature does not match the file */
	EXIT_INSECURE_PATH = 14,   /* key, trust directory or patch writable by non-root */
	EXIT_REVERT_ORDER = 15,    /* a later patch must be reverted first */
	EXIT_STATE = 16,           /* already applied, or not applied */
	EXIT_SECCOMP = 17,         /* the target's seccomp filter forbids a needed call */
	EXIT_NO_CHANGE = 18,       /* build: the diff changes no function */
	EXIT_UNSAFE_CHANGE = 19,   /* build: the change cannot be live-patched safely */
	EXIT_BUILD_FAILED = 20,    /* build: diff does not apply or build command failed */
	EXIT_TARGET_MISMATCH = 21, /* build: original build differs from the deployed binary */
	EXIT_PARTIAL = 22,         /* --all: some processes failed, others were patched */
	EXIT_RECOVERED = 23,       /* an interrupted change was found and completed or rolled back */
	EXIT_NO_SPACE = 24,        /* no free address range within +-2 GiB of the object */
	EXIT_UNWINDER = 25,        /* the target's unwinder cannot take the patch's unwind table */
	EXIT_NO_FILE = 26,         /* a file named on the command line is missing or is a directory */
	EXIT_FILE_EXISTS = 27,     /* keygen: a key file of that name exists already */
	EXIT_JOURNAL = 28,         /* the audit journal cannot be written */
};

#endif
