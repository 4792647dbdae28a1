/*
 * The transaction record of one applied patch.  It sits in the first pages of
 * the patch's own mapping in the target, so it lives exactly as long as the
 * process (and is inherited by fork children along with the patched code).
 * Every step of an apply or revert updates `state` before and after it acts,
 * so the next suture command can finish or undo a change whose patcher died.
 * The pages are read-only for the target; suture writes them through
 * /proc/PID/mem.
 */
#ifndef SUTURE_RECORD_H
#define SUTURE_RECORD_H

#include <stdint.h>

#define RECORD_MAGIC "SUTREC01"
#define RECORD_VERSION 1
#define RECORD_MAP_PREFIX "/memfd:suture:"

enum record_state {
	RECORD_EMPTY = 0,     /* mapping made, record not written yet */
	RECORD_PREPARED = 1,  /* image loaded, no jump written */
	RECORD_SWITCHING = 2, /* jumps being written */
	RECORD_APPLIED = 3,   /* every jump written */
	RECORD_REVERTING = 4, /* original bytes being written back */
	RECORD_REVERTED = 5,  /* original bytes back; mapping to be removed */
};

#define RECORD_FLAG_ALLOW_ACTIVE 1u
#define RECORD_FLAG_INSECURE 2u
#define RECORD_FLAG_MAPPING_KEPT 4u /* reverted; munmap forbidden by seccomp */
#define RECORD_FLAG_UNWIND 8u       /* the patch's .eh_frame may be in libgcc_s's registry */

struct record_func {
	uint64_t site;      /* run-time address of the replaced entry */
	uint64_t new_addr;  /* run-time address of the replacement */
	uint64_t new_size;
	uint64_t old_size;
	uint8_t old_bytes[8]; /* bytes at site before this patch (first 5 used) */
	uint8_t new_bytes[8]; /* the jump to the replacement */
	uint8_t stub_bytes[8]; /* the jump to this function's switch stub */
	char name[64];        /* truncated symbol name, for status */
};

struct record {
	char magic[8];
	uint32_t version;
	uint32_t state;
	uint8_t patch_id[32];
	char patch_name[64];
	char signer[24];      /* key id of the signer, or "" */
	uint8_t build_id[64];
	uint32_t build_id_len;
	uint32_t nfuncs;
	uint32_t flags;
	uint32_t reserved;
	uint64_t object_base;
	uint64_t bias;
	uint64_t applied_at_us; /* CLOCK_REALTIME, microseconds */
	uint64_t sequence;      /* order of application in this process */
	uint64_t map_start;
	uint64_t map_size;
	uint64_t text_addr;
	uint64_t text_size;
	uint64_t pause_ns;      /* of the switch that applied it */
	uint64_t stubs_addr;    /* switch stubs, DETOUR_STUB_SIZE bytes per function */
	uint8_t switch_flag;    /* read by the stubs: 0 old code, 1 new code */
	uint8_t reserved2[7];
	struct record_func funcs[];
};

static inline uint64_t record_size(uint32_t nfuncs)
{
	return sizeof(struct record) + (uint64_t)nfuncs * sizeof(struct record_func);
}

#endif
