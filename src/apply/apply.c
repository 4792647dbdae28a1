#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply/detour.h"
#include "apply/internal.h"
#include "apply/load.h"
#include "apply/record.h"
#include "apply/unwind.h"
#include "util/exitcode.h"
#include "util/fault.h"
#include "util/log.h"

#define LOAD_RETRY (-1)

struct apply_plan {
	const struct patch *patch;
	const struct mem_object *obj;
	struct image img;
	struct record *rec;
	struct busy_range *ranges; /* old functions, and earlier patches' versions of them */
	size_t nranges;
	struct busy_range *sites;  /* the bytes the jumps overwrite */
	int switched;              /* the flag is set: the new code is live */
	struct unwind_plan unwind; /* registration of the patch's .eh_frame */
};

static void plan_free(struct apply_plan *plan)
{
	image_free(&plan->img);
	free(plan->rec);
	free(plan->ranges);
	free(plan->sites);
}

static int report_mismatch(const struct process_state *ps, const struct patch *p,
			   struct engine_result *r)
{
	char want[129], have[129];
	build_id_hex(p->build_id, p->build_id_len, want);
	const char *base = p->object_name ? strrchr(p->object_name, '/') : NULL;
	base = base ? base + 1 : p->object_name;

	for (size_t i = 0; base && i < ps->nobjects; i++) {
		const struct mem_object *o = &ps->objects[i];
		const char *name = strrchr(o->map->path, '/');
		if (strcmp(name ? name + 1 : o->map->path, base))
			continue;
		build_id_hex(o->build_id, o->build_id_len, have);
		return engine_fail(r, EXIT_BUILD_ID_MISMATCH,
				   "process %d maps %s%s with build-id %s, but the patch is for "
				   "build-id %s; build the patch for the running build",
				   (int)ps->pid, o->map->path, o->map->deleted ? " (deleted)" : "",
				   o->build_id_len ? have : "(none)", want);
	}
	have[0] = '\0';
	if (ps->nobjects)
		build_id_hex(ps->objects[0].build_id, ps->objects[0].build_id_len, have);
	return engine_fail(r, EXIT_BUILD_ID_MISMATCH,
			   "process %d maps no object with build-id %s (the patch's target %s); "
			   "its executable %s has build-id %s",
			   (int)ps->pid, want, p->object_name ? p->object_name : "?",
			   ps->nobjects ? ps->objects[0].map->path : "?", have[0] ? have : "(none)");
}

/* jmp rel32 from `site` to `dest`; placement keeps every dest within reach. */
static void encode_jump(uint8_t out[8], uint64_t site, uint64_t dest)
{
	int32_t rel = (int32_t)((int64_t)dest - (int64_t)(site + PATCH_JUMP_SIZE));
	memset(out, 0, 8);
	out[0] = 0xe9;
	memcpy(out + 1, &rel, 4);
}

/* The bytes at `site` before any suture patch: the lowest layer's old bytes. */
static const uint8_t *original_entry(const struct process_state *ps, uint64_t site)
{
	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		if (!rec || rec->state != RECORD_APPLIED)
			continue;
		for (uint32_t k = 0; k < rec->nfuncs; k++)
			if (rec->funcs[k].site == site)
				return rec->funcs[k].old_bytes;
	}
	return NULL;
}

/*
 * Check that each function in the process is byte for byte the one the patch
 * was built against (SHA-256 over the whole function, with an earlier
 * patch's jump replaced by the original entry bytes), and fill the plan.
 */
static int plan_functions(struct apply_plan *plan, const struct process_state *ps,
			  const struct engine_opts *o, struct engine_result *r)
{
	const struct patch *p = plan->patch;
	const struct mem_object *obj = plan->obj;

	plan->ranges = calloc(2 * p->nfuncs + 1, sizeof(*plan->ranges));
	plan->sites = calloc(p->nfuncs + 1, sizeof(*plan->sites));
	plan->img.stubs = malloc(plan->img.stubs_span);
	if (!plan->ranges || !plan->sites || !plan->img.stubs)
		return engine_fail(r, EXIT_INTERNAL, "out of memory");
	memset(plan->img.stubs, 0xcc, plan->img.stubs_span);

	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct patch_func *f = &p->funcs[i];
		uint64_t site = obj->bias + f->old_addr;
		struct record_func *rf = &plan->rec->funcs[i];

		if (f->old_size < PATCH_JUMP_SIZE)
			return engine_fail(r, EXIT_FUNCTION, "function %s is %" PRIu64 " bytes, "
					   "shorter than the %d-byte jump; it cannot be replaced",
					   f->name, f->old_size, PATCH_JUMP_SIZE);
		if (site < obj->lo || site + f->old_size > obj->hi)
			return engine_fail(r, EXIT_FUNCTION, "function %s (0x%" PRIx64 ") lies "
					   "outside %s in process %d", f->name, f->old_addr,
					   obj->map->path, (int)ps->pid);
		uint8_t *bytes = malloc(f->old_size);
		if (!bytes || proc_mem_read(ps->memfd, site, bytes, f->old_size)) {
			free(bytes);
			return engine_fail(r, EXIT_FUNCTION, "cannot read function %s at 0x%" PRIx64
					   " in process %d", f->name, site, (int)ps->pid);
		}
		memcpy(rf->old_bytes, bytes, PATCH_JUMP_SIZE);

		/* Activations left running in the old code (--allow-active) must
		 * never branch into the bytes the jump overwrites. */
		char err[256];
		if (o->allow_active && detour_check_branches(bytes, f->old_size, site, err,
							      sizeof(err))) {
			free(bytes);
			return engine_fail(r, EXIT_FUNCTION, "function %s cannot be replaced while it "
					   "runs (--allow-active): %s", f->name, err);
		}

		/* The stub's old path runs the entry as it is now, which for a
		 * stacked patch is the earlier patch's jump. */
		uint64_t stub_addr = plan->img.stubs_addr + i * DETOUR_STUB_SIZE;
		uint64_t new_addr = plan->img.part_addr[PATCH_PART_TEXT] + f->new_offset;
		if (!detour_build(bytes, f->old_size, site, stub_addr,
				  plan->img.base + offsetof(struct record, switch_flag), new_addr,
				  plan->img.stubs + i * DETOUR_STUB_SIZE, err, sizeof(err))) {
			encode_jump(rf->stub_bytes, site, stub_addr);
		} else if (p->nfuncs == 1) {
			/* A single function switches atomically with its own jump. */
			encode_jump(rf->stub_bytes, site, new_addr);
		} else {
			free(bytes);
			return engine_fail(r, EXIT_FUNCTION, "function %s cannot be switched together "
					   "with the patch's other functions: %s; split the patch",
					   f->name, err);
		}

		const struct record_func *prev = NULL;
		if (pstate_owner_of_site(ps, site, &prev)) {
			if (memcmp(bytes, prev->new_bytes, PATCH_JUMP_SIZE)) {
				free(bytes);
				return engine_fail(r, EXIT_FUNCTION, "the entry of %s in process %d "
						   "is not the jump an earlier patch wrote there; "
						   "something else modified it", f->name, (int)ps->pid);
			}
			memcpy(bytes, original_entry(ps, site), PATCH_JUMP_SIZE);
			plan->ranges[plan->nranges++] = (struct busy_range){
				prev->new_addr, prev->new_addr + prev->new_size, 0, f->name };
		}
		uint8_t digest[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(digest, bytes, f->old_size);
		free(bytes);
		if (memcmp(digest, f->old_sha256, sizeof(digest)))
			return engine_fail(r, EXIT_FUNCTION,
					   "function %s in process %d (%s) differs from the one the "
					   "patch was built against; rebuild the patch from the "
					   "sources of the running build", f->name, (int)ps->pid,
					   obj->map->path);

		rf->site = site;
		rf->new_addr = new_addr;
		rf->new_size = f->new_size;
		rf->old_size = f->old_size;
		encode_jump(rf->new_bytes, site, new_addr);
		snprintf(rf->name, sizeof(rf->name), "%s", f->name);
		plan->ranges[plan->nranges++] = (struct busy_range){
			site, site + f->old_size, 1, f->name };
		plan->sites[i] = (struct busy_range){ site, site + PATCH_JUMP_SIZE, 1, f->name };
	}
	return EXIT_OK;
}

static uint64_t next_sequence(const struct process_state *ps)
{
	uint64_t seq = 0;
	for (size_t i = 0; i < ps->npatches; i++)
		if (ps->patches[i].rec && ps->patches[i].rec->sequence > seq)
			seq = ps->patches[i].rec->sequence;
	return seq + 1;
}

static int plan_record(struct apply_plan *plan, const struct process_state *ps,
		       const struct engine_opts *o)
{
	const struct patch *p = plan->patch;
	struct record *rec = calloc(1, record_size((uint32_t)p->nfuncs));
	struct timespec ts;

	if (!rec)
		return -ENOMEM;
	memcpy(rec->magic, RECORD_MAGIC, sizeof(rec->magic));
	rec->version = RECORD_VERSION;
	rec->state = RECORD_PREPARED;
	memcpy(rec->patch_id, p->id, sizeof(rec->patch_id));
	snprintf(rec->patch_name, sizeof(rec->patch_name), "%s", p->name ? p->name : "");
	snprintf(rec->signer, sizeof(rec->signer), "%s", o->signer ? o->signer : "");
	memcpy(rec->build_id, p->build_id, p->build_id_len);
	rec->build_id_len = (uint32_t)p->build_id_len;
	rec->nfuncs = (uint32_t)p->nfuncs;
	rec->flags = (o->allow_active ? RECORD_FLAG_ALLOW_ACTIVE : 0) |
		     (o->insecure ? RECORD_FLAG_INSECURE : 0);
	rec->object_base = plan->obj->base;
	rec->bias = plan->obj->bias;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec->applied_at_us = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
	rec->sequence = next_sequence(ps);
	rec->map_start = plan->img.base;
	rec->map_size = plan->img.total;
	rec->text_addr = plan->img.part_addr[PATCH_PART_TEXT];
	rec->text_size = p->part_size[PATCH_PART_TEXT];
	rec->stubs_addr = plan->img.stubs_addr;
	plan->rec = rec;
	return 0;
}

static int check_not_applied(const struct process_state *ps, const struct patch *p,
			     struct engine_result *r)
{
	char id[65];
	patch_id_hex(p, id);
	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		if (rec && rec->state == RECORD_APPLIED && !memcmp(rec->patch_id, p->id, 32))
			return engine_fail(r, EXIT_STATE, "patch %s%s%.16s%s is already applied "
					   "to process %d", p->name ? p->name : "", p->name ? " (" : "",
					   id, p->name ? ")" : "", (int)ps->pid);
	}
	if (!p->requires)
		return EXIT_OK;
	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		char have[65];
		if (!rec || rec->state != RECORD_APPLIED)
			continue;
		build_id_hex(rec->patch_id, 32, have);
		if (!strncmp(have, p->requires, strlen(p->requires)))
			return EXIT_OK;
	}
	return engine_fail(r, EXIT_STATE, "patch %s requires patch %s, which is not applied to "
			   "process %d; apply it first", p->name ? p->name : id, p->requires,
			   (int)ps->pid);
}

/* Let stopped threads run, unless the caller keeps them stopped (suture run). */
static void release(struct thread_set *set, const struct engine_opts *o)
{
	if (!o->attached)
		threads_resume(set);
}

/* Map and fill the image with one thread stopped; the others keep running. */
static int load_image(struct apply_plan *plan, struct process_state *ps, struct thread_set *set,
		      const struct engine_opts *o, struct engine_result *r)
{
	char err[256] = "";
	char name[40];
	size_t ti = engine_pick_thread(set);
	uint64_t t0 = now_ns();

	int ret = thread_stop(set, ti);
	if (ret)
		return engine_fail(r, EXIT_VANISHED, "process %d: thread %d exited before the "
				   "patch could be loaded", (int)ps->pid, (int)set->threads[ti].tid);
	fault_point("load-stopped");
	snprintf(name, sizeof(name), "%s", plan->patch->name ? plan->patch->name : "patch");

	ret = image_map(&plan->img, name, ps, &set->threads[ti], err, sizeof(err));
	if (ret == -EEXIST) {
		/* Another thread mapped something there meanwhile: place again. */
		release(set, o);
		return LOAD_RETRY;
	}
	if (ret == -ESRCH)
		return engine_fail(r, EXIT_VANISHED, "process %d exited while the patch was loaded",
				   (int)ps->pid);
	if (ret == -EPERM) {
		release(set, o);
		return engine_fail(r, EXIT_SECCOMP, "%s", err);
	}
	if (ret)
		return engine_fail(r, ret == -ENOSPC ? EXIT_NO_SPACE : EXIT_INTERNAL,
				   "failed to map the patch into process %d: %s", (int)ps->pid,
				   err[0] ? err : strerror(-ret));
	ret = image_write(&plan->img, ps);
	fault_point("image-written");
	if (!ret)
		ret = proc_mem_write(ps->memfd, plan->img.base, plan->rec,
				     record_size(plan->rec->nfuncs));
	fault_point("prepared");
	release(set, o);
	r->load_stop_ns = now_ns() - t0;
	if (ret) {
		engine_unmap(ps, set, plan->img.base, plan->img.base + plan->img.total);
		return engine_fail(r, EXIT_INTERNAL, "failed to write the patch into process %d: %s",
				   (int)ps->pid, strerror(-ret));
	}
	return EXIT_OK;
}

/*
 * Switch every function with all threads stopped: entries to their stubs
 * (still the old behaviour), then the flag (all functions at once), then
 * entries straight to the new code (the same behaviour as through the
 * stubs).  A suture killed between any two writes leaves the process
 * consistent.  On a failed write before the flag, what was written is put
 * back.
 */
static int write_switch(const struct record *rec, const struct process_state *ps,
			int *flag_set)
{
	static const uint8_t on = 1;
	uint64_t flag = rec->map_start + offsetof(struct record, switch_flag);
	int ret = 0;
	uint32_t k;

	for (k = 0; k < rec->nfuncs && !ret; k++) {
		ret = proc_mem_write(ps->memfd, rec->funcs[k].site, rec->funcs[k].stub_bytes,
				     PATCH_JUMP_SIZE);
		fault_point("stub-written");
	}
	if (ret) {
		for (uint32_t j = 0; j + 1 < k; j++)
			proc_mem_write(ps->memfd, rec->funcs[j].site, rec->funcs[j].old_bytes,
				       PATCH_JUMP_SIZE);
		return ret;
	}
	ret = proc_mem_write(ps->memfd, flag, &on, 1);
	*flag_set = !ret;
	fault_point("flag-set");
	for (k = 0; k < rec->nfuncs && !ret; k++) {
		ret = proc_mem_write(ps->memfd, rec->funcs[k].site, rec->funcs[k].new_bytes,
				     PATCH_JUMP_SIZE);
		fault_point("jump-written");
	}
	return ret;
}

static int switch_to_new(struct apply_plan *plan, struct process_state *ps,
			 struct thread_set *set, const struct engine_opts *o,
			 struct engine_result *r)
{
	struct applied_patch ap = { .map_start = plan->img.base, .rec = NULL };
	uint64_t t0;

	ps->unwind_lock = plan->unwind.active ? &plan->unwind.reg : NULL;
	int code = engine_stop_when_safe(ps, set, plan->ranges, plan->nranges, plan->sites,
					 plan->patch->nfuncs, o, r, &t0);
	ps->unwind_lock = NULL;
	if (code != EXIT_OK)
		return code;
	fault_point("stopped");
	int ret = pstate_set_state(ps, &ap, RECORD_SWITCHING);
	fault_point("switching");
	/* The unwinder must find the new code's FDEs from its first instruction on. */
	if (!ret && plan->unwind.active)
		ret = unwind_register(ps, &plan->unwind, plan->img.base);
	if (!ret)
		ret = write_switch(plan->rec, ps, &plan->switched);
	if (ret && plan->unwind.active && !plan->switched) {
		unsigned removed;
		unwind_unregister(ps, &plan->unwind.reg, plan->img.base,
				  plan->img.base + plan->img.total, &removed);
	}
	if (!ret)
		ret = pstate_set_state(ps, &ap, RECORD_APPLIED);
	fault_point("applied");
	uint64_t t_written = now_ns();
	if (!o->attached)
		threads_detach(set);
	uint64_t t_resumed = now_ns();
	r->pause_ns = t_resumed - t0;
	r->write_ns = t_written - t0 - r->stop_ns - r->check_ns;
	r->resume_ns = t_resumed - t_written;
	log_debug("process %d: pause %.1f us: stop %.1f, check %.1f, write %.1f, resume %.1f",
		  (int)ps->pid, r->pause_ns / 1000.0, r->stop_ns / 1000.0, r->check_ns / 1000.0,
		  r->write_ns / 1000.0, r->resume_ns / 1000.0);
	if (ret)
		return engine_fail(r, EXIT_INTERNAL, "failed to write the jumps into process %d: %s",
				   (int)ps->pid, strerror(-ret));
	proc_mem_write(ps->memfd, plan->img.base + offsetof(struct record, pause_ns), &r->pause_ns,
		       sizeof(r->pause_ns));
	return EXIT_OK;
}

static int prepare_plan(struct apply_plan *plan, const struct patch *p, struct process_state *ps,
			const struct engine_opts *o, struct engine_result *r)
{
	char err[256] = "";

	plan->patch = p;
	plan->obj = pstate_find_build_id(ps, p->build_id, p->build_id_len);
	if (!plan->obj)
		return report_mismatch(ps, p, r);
	snprintf(r->object, sizeof(r->object), "%s%s", plan->obj->map->path,
		 plan->obj->map->deleted ? " (deleted)" : "");
	build_id_hex(p->build_id, p->build_id_len, r->build_id);

	image_layout(&plan->img, p);
	if (image_place(&plan->img, ps, plan->obj))
		return engine_fail(r, EXIT_NO_SPACE, "no free address range of %" PRIu64 " bytes "
				   "within 2 GiB of %s in process %d", plan->img.total,
				   plan->obj->map->path, (int)ps->pid);
	if (plan_record(plan, ps, o))
		return engine_fail(r, EXIT_INTERNAL, "out of memory");
	int code = plan_functions(plan, ps, o, r);
	if (code != EXIT_OK)
		return code;
	int ret = image_relocate(&plan->img, p, ps, plan->obj, err, sizeof(err));
	if (ret)
		return engine_fail(r, ret == -ENOENT || ret == -ENOTSUP ? EXIT_FUNCTION
				   : EXIT_PATCH_INVALID, "%s", err);
	return unwind_plan_patch(ps, p, &plan->img, &plan->unwind, r);
}

int engine_apply(const struct patch *p, pid_t pid, const struct engine_opts *o,
		 struct engine_result *r)
{
	struct process_state ps;
	struct thread_set own = { 0 };
	struct thread_set *set = o->attached ? o->attached : &own;
	struct apply_plan plan = { 0 };

	memset(r, 0, sizeof(*r));
	int code = engine_open(pid, &ps, r);
	if (code != EXIT_OK)
		return code;

	if (!o->attached && engine_needs_recovery(&ps)) {
		code = engine_seize(&ps, &own, r);
		if (code == EXIT_OK)
			code = engine_recover_seized(&ps, &own, o, r);
		threads_detach(&own);
		threads_free(&own);
		if (code == EXIT_OK)
			code = pstate_reload(&ps) ? EXIT_VANISHED : EXIT_OK;
		if (code != EXIT_OK)
			goto out;
	}

	code = check_not_applied(&ps, p, r);
	if (code == EXIT_OK)
		code = prepare_plan(&plan, p, &ps, o, r);
	if (code == EXIT_OK && !o->attached)
		code = engine_seize(&ps, &own, r);
	for (int tries = 0; code == EXIT_OK; tries++) {
		code = load_image(&plan, &ps, set, o, r);
		if (code != LOAD_RETRY)
			break;
		plan_free(&plan);
		memset(&plan, 0, sizeof(plan));
		if (tries == 3 || pstate_reload(&ps)) {
			code = engine_fail(r, EXIT_INTERNAL, "the address range chosen for the patch "
					   "in process %d kept being taken; try again", (int)pid);
			break;
		}
		code = prepare_plan(&plan, p, &ps, o, r);
	}
	if (code == EXIT_OK) {
		code = switch_to_new(&plan, &ps, set, o, r);
		/* Once the flag is set, threads may be in the new code: the
		 * mapping stays, and the next command completes the switch. */
		if (code != EXIT_OK && code != EXIT_VANISHED && !plan.switched)
			engine_unmap(&ps, set, plan.img.base, plan.img.base + plan.img.total);
	}
	if (!o->attached) {
		threads_detach(&own);
		threads_free(&own);
	}
out:
	plan_free(&plan);
	pstate_free(&ps);
	return r->code = code;
}
