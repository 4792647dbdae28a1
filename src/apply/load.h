/* Loading a patch image into a target: placement, mapping, relocation. */
#ifndef SUTURE_LOAD_H
#define SUTURE_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "apply/state.h"
#include "patch/patch.h"
#include "ptrace/ptrace.h"

struct image {
	uint64_t base;                         /* start of the mapping (the record) */
	uint64_t total;                        /* bytes mapped */
	uint64_t record_size;                  /* page-rounded */
	uint64_t stubs_addr;                   /* switch stubs, after the record */
	uint64_t stubs_span;
	uint8_t *stubs;
	uint64_t part_addr[PATCH_PART_COUNT];
	uint64_t part_size[PATCH_PART_COUNT];
	uint64_t part_span[PATCH_PART_COUNT];  /* page-rounded size of each part */
	uint8_t *bytes[PATCH_PART_COUNT];      /* relocated contents (not BSS) */
};

/* Compute sizes; base stays 0 until image_place(). */
void image_layout(struct image *img, const struct patch *p);

/*
 * Choose a free range for the image within +-2 GiB of the object, so that
 * rel32 jumps and PC-relative references reach both ways.  Returns -ENOSPC
 * when no gap fits.
 */
int image_place(struct image *img, const struct process_state *ps, const struct mem_object *obj);

/* Copy the parts and apply the relocations for img->base.  err gets a reason. */
int image_relocate(struct image *img, const struct patch *p, const struct process_state *ps,
		   const struct mem_object *obj, char *err, size_t errlen);

void image_free(struct image *img);

/*
 * Create the mapping in the target by running memfd_create, ftruncate, mmap
 * (one per part, each with its final protection, so no page is ever writable
 * and executable) and close in the stopped thread `t`.  The mapping shows in
 * /proc/PID/maps as "/memfd:suture:NAME (deleted)".  Returns 0, -EEXIST when
 * the range was taken meanwhile, or another negative errno (err says which
 * call failed).
 */
int image_map(struct image *img, const char *name, struct process_state *ps, struct thread *t,
	      char *err, size_t errlen);

/* Write the stubs and the parts into the mapping. */
int image_write(const struct image *img, const struct process_state *ps);

/* Find a place for the injection code: the unused tail of an executable segment. */
int inject_site_find(const struct process_state *ps, struct inject_site *site);

/* munmap [start, start + len) in the target by running it in stopped thread `t`. */
int target_munmap(struct process_state *ps, struct thread *t, uint64_t start, uint64_t len);

/* Close suture's leftover memfd descriptors in the target (after a killed apply). */
int target_close_leftover_fds(struct process_state *ps, struct thread *t, int *closed);

#endif
