/* Applying, reverting and recovering patches in one live process. */
#ifndef SUTURE_ENGINE_H
#define SUTURE_ENGINE_H

#include <stdint.h>
#include <sys/types.h>

#include "patch/patch.h"

struct thread_set;

struct engine_opts {
	double timeout_sec; /* retry budget of the safety check */
	int allow_active;   /* let running activations of old code finish there */
	int insecure;       /* the patch was accepted without a trusted signature */
	const char *signer; /* key id of the signer, or NULL */
	/* Threads the caller has seized and keeps stopped (suture run), or NULL
	 * to seize the process here and let it go when done. */
	struct thread_set *attached;
};

struct engine_result {
	int code;            /* enum suture_exit */
	char message[512];   /* one line, set when code != EXIT_OK */
	char comm[32];
	char object[256];    /* path of the patched object in the target */
	char build_id[129];
	uint64_t pause_ns;   /* first thread stopped to last thread resumed */
	uint64_t load_stop_ns; /* how long one thread was stopped to map the image */
	uint64_t stop_ns;    /* parts of the last pause: stopping all threads, */
	uint64_t check_ns;   /* the safety check, */
	uint64_t write_ns;   /* writing the jumps, */
	uint64_t resume_ns;  /* and letting the threads go */
	unsigned attempts;   /* stop-check rounds */
	unsigned threads;
	char recovery[256];  /* what an interrupted earlier change needed, or "" */
	char journal_error[64]; /* the journal that could not be written, or "" */
};

int engine_apply(const struct patch *p, pid_t pid, const struct engine_opts *o,
		 struct engine_result *r);
int engine_revert(const struct patch *p, pid_t pid, const struct engine_opts *o,
		  struct engine_result *r);

/*
 * Finish or roll back changes that a killed suture left in `pid`.  Sets
 * r->recovery when something was found.  Returns an enum suture_exit.
 */
int engine_recover(pid_t pid, const struct engine_opts *o, struct engine_result *r);

struct process_state;

/* True when the process contains an interrupted change or a leftover of one. */
int engine_needs_recovery(const struct process_state *ps);

uint64_t now_ns(void);

#endif
