/* The state of one live process as suture reads it: objects and applied patches. */
#ifndef SUTURE_STATE_H
#define SUTURE_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "apply/record.h"
#include "elf/elf_mem.h"
#include "proc/proc.h"

struct unwind_registry;

struct applied_patch {
	uint64_t map_start;  /* address of the record */
	uint64_t map_end;    /* end of the last mapping of this patch */
	struct record *rec;  /* copy read from the target; NULL if the record is missing */
};

struct process_state {
	pid_t pid;
	int memfd;
	struct proc_maps maps;
	struct mem_object *objects;
	size_t nobjects;
	struct applied_patch *patches; /* ascending record sequence; unrecorded ones first */
	size_t npatches;
	/* When set, a stop also waits until no thread holds this unwinder's lock (unwind.h). */
	const struct unwind_registry *unwind_lock;
};

/*
 * Read the process's mappings, objects and patch records.  Returns 0,
 * -ESRCH (no such process), -EACCES/-EPERM (no ptrace access).
 */
int pstate_load(pid_t pid, struct process_state *ps);
void pstate_free(struct process_state *ps);

/* Re-read mappings, objects and records, keeping the memory fd. */
int pstate_reload(struct process_state *ps);

const struct mem_object *pstate_find_build_id(const struct process_state *ps,
					      const uint8_t *id, size_t len);

/* The applied patch whose record sequence is highest on the object at `bias`. */
const struct applied_patch *pstate_last_on_object(const struct process_state *ps, uint64_t bias);

/* The applied patch (state APPLIED) whose new bytes sit at `site`, latest first. */
const struct applied_patch *pstate_owner_of_site(const struct process_state *ps, uint64_t site,
						 const struct record_func **func);

/* Write the record's state field in the target. */
int pstate_set_state(const struct process_state *ps, const struct applied_patch *ap, uint32_t state);

#endif
