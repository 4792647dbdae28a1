/*
 * ELF objects as they are mapped in a live process, read from the mapped
 * pages rather than from disk, so that an object whose file was replaced or
 * deleted (an upgraded package) is still identified by its own build-id.
 */
#ifndef SUTURE_ELF_MEM_H
#define SUTURE_ELF_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"

#define ELF_BUILD_ID_MAX 64

struct mem_object {
	uint64_t base;      /* address of the ELF header */
	uint64_t bias;      /* run-time address = bias + link-time vaddr */
	uint64_t lo, hi;    /* page-aligned span of its PT_LOAD segments */
	uint64_t text_end;  /* end of the highest executable segment */
	uint64_t slack_end; /* end of the mapping holding text_end - 1 */
	uint8_t build_id[ELF_BUILD_ID_MAX];
	size_t build_id_len;
	const struct proc_map *map; /* the mapping at `base` (path, deleted) */
};

/* Objects mapped by the process, found from `maps` and read through `memfd`. */
int mem_list_objects(int memfd, const struct proc_maps *maps,
		     struct mem_object **out, size_t *count);

/* Lower-case hex of a build-id into out (2 * len + 1 bytes). */
void build_id_hex(const uint8_t *id, size_t len, char *out);

#endif
