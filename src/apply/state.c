#include "apply/state.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_MAX_FUNCS 4096

static int read_record(int memfd, uint64_t addr, struct record **out)
{
	struct record head;

	*out = NULL;
	int ret = proc_mem_read(memfd, addr, &head, sizeof(head));
	if (ret)
		return ret;
	if (memcmp(head.magic, RECORD_MAGIC, sizeof(head.magic)) || head.version != RECORD_VERSION ||
	    head.nfuncs > RECORD_MAX_FUNCS)
		return 0; /* incomplete: the mapping exists but its record was never written */
	struct record *rec = malloc(record_size(head.nfuncs));
	if (!rec)
		return -ENOMEM;
	ret = proc_mem_read(memfd, addr, rec, record_size(head.nfuncs));
	if (ret) {
		free(rec);
		return ret;
	}
	*out = rec;
	return 0;
}

static int compare_sequence(const void *a, const void *b)
{
	const struct applied_patch *x = a, *y = b;
	uint64_t sx = x->rec ? x->rec->sequence : 0, sy = y->rec ? y->rec->sequence : 0;
	return (sx > sy) - (sx < sy);
}

static int load_patches(struct process_state *ps)
{
	for (size_t i = 0; i < ps->maps.count; i++) {
		const struct proc_map *m = &ps->maps.maps[i];
		if (!m->path || m->offset != 0 ||
		    strncmp(m->path, RECORD_MAP_PREFIX, strlen(RECORD_MAP_PREFIX)))
			continue;
		struct applied_patch *grown =
			realloc(ps->patches, (ps->npatches + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ps->patches = grown;
		struct applied_patch *ap = &ps->patches[ps->npatches++];
		ap->map_start = m->start;
		ap->map_end = m->end;
		/* Later mappings of the same memfd that follow without a gap
		 * are the patch's other parts (text, rodata, data). */
		for (size_t j = i + 1; j < ps->maps.count; j++) {
			const struct proc_map *n = &ps->maps.maps[j];
			if (n->start != ap->map_end || !n->path || strcmp(n->path, m->path) ||
			    n->inode != m->inode || n->offset == 0)
				break;
			ap->map_end = n->end;
		}
		int ret = read_record(ps->memfd, m->start, &ap->rec);
		if (ret)
			return ret;
	}
	if (ps->npatches > 1)
		qsort(ps->patches, ps->npatches, sizeof(*ps->patches), compare_sequence);
	return 0;
}

static void free_loaded(struct process_state *ps)
{
	for (size_t i = 0; i < ps->npatches; i++)
		free(ps->patches[i].rec);
	free(ps->patches);
	ps->patches = NULL;
	ps->npatches = 0;
	free(ps->objects);
	ps->objects = NULL;
	ps->nobjects = 0;
	proc_maps_free(&ps->maps);
}

int pstate_reload(struct process_state *ps)
{
	free_loaded(ps);
	int ret = proc_read_maps(ps->pid, &ps->maps);
	if (!ret)
		ret = mem_list_objects(ps->memfd, &ps->maps, &ps->objects, &ps->nobjects);
	if (!ret)
		ret = load_patches(ps);
	return ret;
}

int pstate_load(pid_t pid, struct process_state *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->pid = pid;
	ps->memfd = proc_mem_open(pid);
	if (ps->memfd < 0) {
		int ret = ps->memfd;
		ps->memfd = -1;
		return ret == -ENOENT ? -ESRCH : ret;
	}
	int ret = pstate_reload(ps);
	if (ret)
		pstate_free(ps);
	return ret;
}

void pstate_free(struct process_state *ps)
{
	free_loaded(ps);
	if (ps->memfd >= 0)
		close(ps->memfd);
	ps->memfd = -1;
}

const struct mem_object *pstate_find_build_id(const struct process_state *ps, const uint8_t *id,
					      size_t len)
{
	for (size_t i = 0; i < ps->nobjects; i++) {
		const struct mem_object *o = &ps->objects[i];
		if (o->build_id_len == len && !memcmp(o->build_id, id, len))
			return o;
	}
	return NULL;
}

const struct applied_patch *pstate_last_on_object(const struct process_state *ps, uint64_t bias)
{
	for (size_t i = ps->npatches; i-- > 0;) {
		const struct record *r = ps->patches[i].rec;
		if (r && r->bias == bias && r->state != RECORD_REVERTED)
			return &ps->patches[i];
	}
	return NULL;
}

const struct applied_patch *pstate_owner_of_site(const struct process_state *ps, uint64_t site,
						 const struct record_func **func)
{
	for (size_t i = ps->npatches; i-- > 0;) {
		const struct record *r = ps->patches[i].rec;
		if (!r || r->state != RECORD_APPLIED)
			continue;
		for (uint32_t k = 0; k < r->nfuncs; k++) {
			if (r->funcs[k].site == site) {
				*func = &r->funcs[k];
				return &ps->patches[i];
			}
		}
	}
	return NULL;
}

int pstate_set_state(const struct process_state *ps, const struct applied_patch *ap, uint32_t state)
{
	int ret = proc_mem_write(ps->memfd, ap->map_start + offsetof(struct record, state), &state,
				 sizeof(state));
	if (!ret && ap->rec)
		ap->rec->state = state;
	return ret;
}
