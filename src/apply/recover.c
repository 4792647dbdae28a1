/*
 * Recovery after a suture process died in the middle of a change.  The record
 * in the patch mapping stores how far it got, and its switch flag tells
 * whether the functions behave as old or as new (see detour.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/detour.h"
#include "apply/internal.h"
#include "apply/load.h"
#include "apply/record.h"
#include "apply/unwind.h"
#include "util/exitcode.h"

static void note(struct engine_result *r, const char *fmt, const char *name, uint64_t addr)
{
	size_t used = strlen(r->recovery);
	if (used + 2 >= sizeof(r->recovery))
		return;
	if (used)
		r->recovery[used++] = ';', r->recovery[used++] = ' ';
	snprintf(r->recovery + used, sizeof(r->recovery) - used, fmt, name, addr);
}

static struct busy_range stubs_range(const struct record *rec)
{
	return (struct busy_range){ rec->stubs_addr, rec->stubs_addr + rec->nfuncs * DETOUR_STUB_SIZE,
				    0, "a switch stub" };
}

/*
 * Finish an apply killed while switching.  Before the flag was set, every
 * function still behaves as old (entry bytes or stub), so roll back.  After
 * it, every function behaves as new, so complete.
 */
static int finish_switch(struct process_state *ps, struct thread_set *set,
			 struct applied_patch *ap, const struct engine_opts *o,
			 struct engine_result *r)
{
	struct record *rec = ap->rec;
	const char *name = rec->patch_name[0] ? rec->patch_name : "a patch";
	struct busy_range range = stubs_range(rec);
	uint64_t t0;
	int ret = 0;

	if (rec->switch_flag) {
		int code = engine_stop_when_safe(ps, set, NULL, 0, NULL, 0, o, r, &t0);
		if (code != EXIT_OK)
			return code;
		for (uint32_t k = 0; k < rec->nfuncs && !ret; k++)
			ret = proc_mem_write(ps->memfd, rec->funcs[k].site, rec->funcs[k].new_bytes, 5);
		if (!ret)
			ret = pstate_set_state(ps, ap, RECORD_APPLIED);
		threads_resume(set);
		if (ret)
			return engine_fail(r, EXIT_INTERNAL, "failed to complete the interrupted apply "
					   "in process %d: %s", (int)ps->pid, strerror(-ret));
		note(r, "completed the interrupted apply of %s at 0x%" PRIx64
		     " (its functions had already switched)", name, ap->map_start);
		return EXIT_OK;
	}

	/* Threads may be running an entry's old instructions inside a stub. */
	struct unwind_registry unwind;
	int code = unwind_prepare_removal(ps, ap, &unwind, r);
	if (code == EXIT_OK)
		code = engine_stop_when_safe(ps, set, &range, 1, NULL, 0, o, r, &t0);
	if (code != EXIT_OK) {
		ps->unwind_lock = NULL;
		return code;
	}
	for (uint32_t k = 0; k < rec->nfuncs && !ret; k++)
		ret = proc_mem_write(ps->memfd, rec->funcs[k].site, rec->funcs[k].old_bytes, 5);
	if (!ret)
		ret = unwind_remove(ps, ap);
	ps->unwind_lock = NULL;
	if (!ret)
		ret = pstate_set_state(ps, ap, RECORD_REVERTED);
	threads_resume(set);
	if (!ret && engine_unmap(ps, set, ap->map_start, ap->map_end))
		ret = -EIO;
	threads_resume(set);
	if (ret)
		return engine_fail(r, EXIT_INTERNAL, "failed to roll back the interrupted apply in "
				   "process %d: %s", (int)ps->pid, strerror(-ret));
	note(r, "rolled back the interrupted apply of %s at 0x%" PRIx64
	     " (no function had switched)", name, ap->map_start);
	return EXIT_OK;
}

/* Complete a revert: switch back what is not yet back, then unmap. */
static int finish_revert(struct process_state *ps, struct thread_set *set,
			 struct applied_patch *ap, const struct engine_opts *o,
			 struct engine_result *r)
{
	struct record *rec = ap->rec;
	uint64_t t0;

	if (rec->state == RECORD_REVERTING) {
		struct busy_range ranges[2] = {
			{ rec->text_addr, rec->text_addr + rec->text_size, 0, rec->patch_name },
			stubs_range(rec),
		};
		struct unwind_registry unwind;
		int code = unwind_prepare_removal(ps, ap, &unwind, r);
		if (code == EXIT_OK)
			code = engine_stop_when_safe(ps, set, ranges, 2, NULL, 0, o, r, &t0);
		if (code != EXIT_OK) {
			ps->unwind_lock = NULL;
			return code;
		}
		int ret = engine_write_unswitch(ps, ap);
		if (!ret)
			ret = unwind_remove(ps, ap);
		ps->unwind_lock = NULL;
		if (!ret)
			ret = pstate_set_state(ps, ap, RECORD_REVERTED);
		threads_resume(set);
		if (ret)
			return engine_fail(r, EXIT_INTERNAL, "failed to complete the interrupted "
					   "revert in process %d: %s", (int)ps->pid, strerror(-ret));
	}
	int unmapped = engine_unmap(ps, set, ap->map_start, ap->map_end);
	if (unmapped == -EPERM)
		engine_keep_mapping(ps, ap, r);
	else if (unmapped)
		return engine_fail(r, EXIT_INTERNAL, "failed to unmap a reverted patch in process %d",
				   (int)ps->pid);
	threads_resume(set);
	note(r, "completed the interrupted revert of %s at 0x%" PRIx64,
	     rec->patch_name[0] ? rec->patch_name : "a patch", ap->map_start);
	return EXIT_OK;
}

static int remove_unswitched(struct process_state *ps, struct thread_set *set,
			     struct applied_patch *ap, struct engine_result *r)
{
	if (engine_unmap(ps, set, ap->map_start, ap->map_end))
		return engine_fail(r, EXIT_INTERNAL, "failed to unmap an interrupted patch load in "
				   "process %d", (int)ps->pid);
	threads_resume(set);
	note(r, "rolled back the interrupted apply of %s (loaded at 0x%" PRIx64
	     ", no function switched)", ap->rec && ap->rec->patch_name[0] ? ap->rec->patch_name
	     : "a patch", ap->map_start);
	return EXIT_OK;
}

/*
 * Compare the injection site with the object's file: a difference means a
 * killed suture left its code there.  *addr and file_bytes describe the site.
 */
static int inject_site_modified(const struct process_state *ps, uint64_t *addr,
				uint8_t file_bytes[INJECT_SITE_SIZE])
{
	struct inject_site site;
	char path[128];

	if (inject_site_find(ps, &site))
		return 0;
	const struct proc_map *m = proc_maps_find(&ps->maps, site.addr);
	if (!m || !m->path)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)ps->pid,
		 m->start, m->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, file_bytes, INJECT_SITE_SIZE, (off_t)(site.addr - m->start + m->offset));
	close(fd);
	*addr = site.addr;
	return n == INJECT_SITE_SIZE && memcmp(file_bytes, site.saved, INJECT_SITE_SIZE);
}

static int has_leftover_fd(pid_t pid)
{
	char dir_path[64], link_path[320], target[256];
	struct dirent *de;
	int found = 0;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir_path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		snprintf(link_path, sizeof(link_path), "%s/%s", dir_path, de->d_name);
		ssize_t n = readlink(link_path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strncmp(target, RECORD_MAP_PREFIX, strlen(RECORD_MAP_PREFIX));
	}
	closedir(d);
	return found;
}

int engine_needs_recovery(const struct process_state *ps)
{
	uint8_t file_bytes[INJECT_SITE_SIZE];
	uint64_t addr;

	for (size_t i = 0; i < ps->npatches; i++) {
		const struct record *rec = ps->patches[i].rec;
		if (rec && rec->state == RECORD_REVERTED && (rec->flags & RECORD_FLAG_MAPPING_KEPT))
			continue;
		if (!rec || rec->state != RECORD_APPLIED)
			return 1;
	}
	return inject_site_modified(ps, &addr, file_bytes) || has_leftover_fd(ps->pid);
}

int engine_recover_seized(struct process_state *ps, struct thread_set *set,
			  const struct engine_opts *o, struct engine_result *r)
{
	int code = EXIT_OK;

	for (size_t i = 0; i < ps->npatches && code == EXIT_OK; i++) {
		struct applied_patch *ap = &ps->patches[i];
		uint32_t state = ap->rec ? ap->rec->state : RECORD_EMPTY;
		if (state == RECORD_REVERTED && (ap->rec->flags & RECORD_FLAG_MAPPING_KEPT))
			continue;
		switch (state) {
		case RECORD_APPLIED:
			break;
		case RECORD_SWITCHING:
			code = finish_switch(ps, set, ap, o, r);
			break;
		case RECORD_REVERTING:
		case RECORD_REVERTED:
			code = finish_revert(ps, set, ap, o, r);
			break;
		default: /* EMPTY or PREPARED: nothing was switched */
			code = remove_unswitched(ps, set, ap, r);
			break;
		}
	}
	if (code != EXIT_OK)
		return code;

	size_t ti = engine_pick_thread(set);
	int closed = 0;
	if (thread_stop(set, ti) == 0) {
		uint8_t file_bytes[INJECT_SITE_SIZE];
		uint64_t addr;
		if (inject_site_modified(ps, &addr, file_bytes) &&
		    !proc_mem_write(ps->memfd, addr, file_bytes, INJECT_SITE_SIZE))
			note(r, "restored the unused bytes%s at 0x%" PRIx64 " that an interrupted "
			     "suture had used to run system calls", "", addr);
		if (target_close_leftover_fds(ps, &set->threads[ti], &closed) == 0 && closed)
			note(r, "closed %s%" PRIu64 " descriptor(s) of an interrupted patch load", "",
			     (uint64_t)closed);
		threads_resume(set);
	}
	return EXIT_OK;
}

int engine_recover(pid_t pid, const struct engine_opts *o, struct engine_result *r)
{
	struct process_state ps;
	struct thread_set set = { 0 };

	memset(r, 0, sizeof(*r));
	int code = engine_open(pid, &ps, r);
	if (code != EXIT_OK)
		return code;
	if (engine_needs_recovery(&ps)) {
		code = engine_seize(&ps, &set, r);
		if (code == EXIT_OK)
			code = engine_recover_seized(&ps, &set, o, r);
		threads_detach(&set);
		threads_free(&set);
	}
	pstate_free(&ps);
	return r->code = code;
}
