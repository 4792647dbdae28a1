#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/detour.h"
#include "apply/internal.h"
#include "apply/record.h"
#include "apply/unwind.h"
#include "util/exitcode.h"
#include "util/fault.h"

static struct applied_patch *find_applied(struct process_state *ps, const uint8_t id[32])
{
	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		if (rec && rec->state == RECORD_APPLIED && !memcmp(rec->patch_id, id, 32))
			return &ps->patches[i];
	}
	return NULL;
}

static const char *patch_label(const struct record *rec, char *buf, size_t len)
{
	char id[65];
	build_id_hex(rec->patch_id, 32, id);
	snprintf(buf, len, "%s%s(%.16s)", rec->patch_name, rec->patch_name[0] ? " " : "", id);
	return buf;
}

/* True when another applied patch wrote `bytes` at `site`: a stacked layer. */
static int is_layer_below(const struct process_state *ps, const struct record *self,
			  uint64_t site, const uint8_t *bytes)
{
	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		if (!rec || rec == self || rec->state != RECORD_APPLIED)
			continue;
		for (uint32_t k = 0; k < rec->nfuncs; k++)
			if (rec->funcs[k].site == site &&
			    !memcmp(rec->funcs[k].new_bytes, bytes, 5))
				return 1;
	}
	return 0;
}

/* Compare the bytes a revert would restore with the object's file. */
static int check_against_file(const struct process_state *ps, const struct record_func *f)
{
	const struct proc_map *m = proc_maps_find(&ps->maps, f->site);
	char path[128];
	uint8_t file_bytes[5];

	if (!m || !m->path)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)ps->pid,
		 m->start, m->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, file_bytes, 5, (off_t)(f->site - m->start + m->offset));
	close(fd);
	if (n != 5)
		return -EIO;
	return memcmp(file_bytes, f->old_bytes, 5) ? -EILSEQ : 0;
}

static int verify_sites(const struct process_state *ps, const struct record *rec,
			struct engine_result *r)
{
	for (uint32_t k = 0; k < rec->nfuncs; k++) {
		const struct record_func *f = &rec->funcs[k];
		uint8_t now[5];
		if (proc_mem_read(ps->memfd, f->site, now, 5) || memcmp(now, f->new_bytes, 5))
			return engine_fail(r, EXIT_FUNCTION, "the entry of %s in process %d no longer "
					   "holds this patch's jump; something else modified it",
					   f->name, (int)ps->pid);
		if (is_layer_below(ps, rec, f->site, f->old_bytes))
			continue;
		int ret = check_against_file(ps, f);
		if (ret == -EILSEQ)
			return engine_fail(r, EXIT_FUNCTION, "the original bytes recorded for %s in "
					   "process %d differ from the object's file; refusing to "
					   "write them back", f->name, (int)ps->pid);
	}
	return EXIT_OK;
}

static int switch_to_old(struct process_state *ps, struct thread_set *set,
			 const struct applied_patch *ap, const struct engine_opts *o,
			 struct engine_result *r)
{
	struct record *rec = ap->rec;
	size_t n = rec->nfuncs + 2;
	struct busy_range *ranges = calloc(n, sizeof(*ranges));
	char label[128];
	uint64_t t0;

	if (!ranges)
		return engine_fail(r, EXIT_INTERNAL, "out of memory");
	/* Every byte of the patch's code goes away with the mapping. */
	for (uint32_t k = 0; k < rec->nfuncs; k++)
		ranges[k] = (struct busy_range){ rec->funcs[k].new_addr,
			rec->funcs[k].new_addr + rec->funcs[k].new_size, 0, rec->funcs[k].name };
	ranges[rec->nfuncs] = (struct busy_range){ rec->text_addr, rec->text_addr + rec->text_size,
		0, patch_label(rec, label, sizeof(label)) };
	ranges[rec->nfuncs + 1] = (struct busy_range){ rec->stubs_addr,
		rec->stubs_addr + rec->nfuncs * DETOUR_STUB_SIZE, 0, label };

	struct engine_opts strict = *o;
	strict.allow_active = 0;
	struct unwind_registry unwind;
	int code = unwind_prepare_removal(ps, ap, &unwind, r);
	if (code == EXIT_OK)
		code = engine_stop_when_safe(ps, set, ranges, n, NULL, 0, &strict, r, &t0);
	free(ranges);
	if (code != EXIT_OK) {
		ps->unwind_lock = NULL;
		return code;
	}

	int ret = pstate_set_state(ps, ap, RECORD_REVERTING);
	fault_point("reverting");
	if (!ret)
		ret = engine_write_unswitch(ps, ap);
	/* The FDEs leave libgcc's lists before their memory is unmapped. */
	if (!ret)
		ret = unwind_remove(ps, ap);
	ps->unwind_lock = NULL;
	if (!ret)
		ret = pstate_set_state(ps, ap, RECORD_REVERTED);
	fault_point("reverted");
	/* One thread stays stopped to unmap the patch; the others go now. */
	threads_detach_others(set, engine_pick_thread(set));
	r->pause_ns = now_ns() - t0;
	if (ret)
		return engine_fail(r, EXIT_INTERNAL, "failed to write the original bytes back into "
				   "process %d: %s; run the command again to finish", (int)ps->pid,
				   strerror(-ret));
	return EXIT_OK;
}

int engine_revert(const struct patch *p, pid_t pid, const struct engine_opts *o,
		  struct engine_result *r)
{
	struct process_state ps;
	struct thread_set set = { 0 };
	char label[128], later_label[128];

	memset(r, 0, sizeof(*r));
	int code = engine_open(pid, &ps, r);
	if (code != EXIT_OK)
		return code;
	build_id_hex(p->build_id, p->build_id_len, r->build_id);

	if (engine_needs_recovery(&ps)) {
		code = engine_seize(&ps, &set, r);
		if (code == EXIT_OK)
			code = engine_recover_seized(&ps, &set, o, r);
		threads_detach(&set);
		threads_free(&set);
		if (code == EXIT_OK && pstate_reload(&ps))
			code = engine_fail(r, EXIT_VANISHED, "process %d exited", (int)pid);
		if (code != EXIT_OK)
			goto out;
	}

	struct applied_patch *ap = find_applied(&ps, p->id);
	if (!ap) {
		char id[65];
		patch_id_hex(p, id);
		code = engine_fail(r, EXIT_STATE, "patch %s%s%.16s%s is not applied to process %d",
				   p->name ? p->name : "", p->name ? " (" : "", id, p->name ? ")" : "",
				   (int)pid);
		goto out;
	}
	const struct applied_patch *last = pstate_last_on_object(&ps, ap->rec->bias);
	if (last != ap) {
		code = engine_fail(r, EXIT_REVERT_ORDER, "patch %s was applied to process %d after "
				   "%s on the same object; revert it first",
				   patch_label(last->rec, later_label, sizeof(later_label)), (int)pid,
				   patch_label(ap->rec, label, sizeof(label)));
		goto out;
	}
	const struct mem_object *obj = pstate_find_build_id(&ps, ap->rec->build_id,
							    ap->rec->build_id_len);
	if (obj)
		snprintf(r->object, sizeof(r->object), "%s", obj->map->path);

	code = verify_sites(&ps, ap->rec, r);
	if (code == EXIT_OK)
		code = engine_seize(&ps, &set, r);
	if (code == EXIT_OK)
		code = switch_to_old(&ps, &set, ap, o, r);
	if (code == EXIT_OK) {
		int ret = engine_unmap(&ps, &set, ap->map_start, ap->map_end);
		if (ret == -EPERM)
			engine_keep_mapping(&ps, ap, r);
		else if (ret)
			code = engine_fail(r, EXIT_INTERNAL, "the original code of process %d is back, "
					   "but unmapping the patch failed (%s); run the command again",
					   (int)pid, strerror(-ret));
	}
	threads_detach(&set);
	threads_free(&set);
out:
	pstate_free(&ps);
	return r->code = code;
}
