#include "apply/load.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply/detour.h"
#include "apply/record.h"
#include "elf/elf_file.h"
#include "ptrace/seccomp.h"
#include <linux/seccomp.h>
#include "util/fault.h"

#define PAGE 4096ULL
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define REACH (1ULL << 31)
/* Keep clear of the object's neighbours: the heap grows up behind an
 * executable, so never place the image right above an object. */
#define GUARD (16 * PAGE)
#define LOWEST_ADDR 0x10000ULL

void image_layout(struct image *img, const struct patch *p)
{
	memset(img, 0, sizeof(*img));
	img->record_size = PAGE_UP(record_size((uint32_t)p->nfuncs));
	img->stubs_addr = img->record_size;
	img->stubs_span = PAGE_UP(p->nfuncs * DETOUR_STUB_SIZE);
	uint64_t at = img->record_size + img->stubs_span;
	for (int i = 0; i < PATCH_PART_COUNT; i++) {
		img->part_addr[i] = at; /* relative until placed */
		img->part_size[i] = p->part_size[i];
		img->part_span[i] = PAGE_UP(p->part_size[i]);
		at += img->part_span[i];
	}
	img->total = at;
}

/* True when [a, a + len) and the object are all within rel32 reach. */
static int within_reach(uint64_t a, uint64_t len, const struct mem_object *obj)
{
	uint64_t lo = a < obj->lo ? a : obj->lo;
	uint64_t hi = a + len > obj->hi ? a + len : obj->hi;
	return hi - lo < REACH - PAGE;
}

int image_place(struct image *img, const struct process_state *ps, const struct mem_object *obj)
{
	const struct proc_maps *m = &ps->maps;
	uint64_t best = 0, best_distance = UINT64_MAX, len = img->total;

	/* Gaps between mappings: [prev_end, next_start).  The highest fit
	 * below the object, or the lowest fit above it, is closest. */
	for (size_t i = 0; i <= m->count; i++) {
		uint64_t gap_lo = i == 0 ? LOWEST_ADDR : m->maps[i - 1].end + GUARD;
		uint64_t gap_hi = i == m->count ? 0x7ffffffff000ULL : m->maps[i].start;
		if (gap_hi < GUARD || gap_hi - GUARD <= gap_lo || gap_hi - GUARD - gap_lo < len)
			continue;
		gap_hi -= GUARD;
		uint64_t candidate = gap_hi <= obj->lo ? (gap_hi - len) & ~(PAGE - 1) : gap_lo;
		if (candidate < gap_lo || !within_reach(candidate, len, obj))
			continue;
		uint64_t distance = candidate < obj->lo ? obj->lo - candidate : candidate - obj->hi;
		if (distance < best_distance) {
			best = candidate;
			best_distance = distance;
		}
	}
	if (!best)
		return -ENOSPC;
	img->base = best;
	img->stubs_addr += best;
	for (int i = 0; i < PATCH_PART_COUNT; i++)
		img->part_addr[i] += best;
	return 0;
}

void image_free(struct image *img)
{
	for (int i = 0; i < PATCH_PART_COUNT; i++) {
		free(img->bytes[i]);
		img->bytes[i] = NULL;
	}
	free(img->stubs);
	img->stubs = NULL;
}

struct symbol_scope {
	const struct process_state *ps;
	struct elf_file **files; /* one per object, opened on first use */
};

static struct elf_file *scope_open(struct symbol_scope *s, size_t i)
{
	if (s->files[i])
		return s->files[i];
	const struct mem_object *o = &s->ps->objects[i];
	char path[128];
	/* map_files reaches the mapped file even after it was deleted. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)s->ps->pid,
		 o->map->start, o->map->end);
	if (elf_file_open(path, &s->files[i]) == 0)
		return s->files[i];
	s->files[i] = NULL;
	return NULL;
}

/*
 * The implementation an IFUNC resolver picks for this CPU.  Running the
 * target's resolver would run its code, so suture resolves the symbol in its
 * own process instead.  It accepts the result only if it comes from the very
 * same library build as the target's (same build-id), and moves it to the
 * target's load address.  NOTE: a target started with other GLIBC_TUNABLES
 * (hardware capability masks) may have picked another implementation.
 */
static int resolve_ifunc(const struct mem_object *o, const char *name, uint64_t *addr)
{
	char base[256];
	const char *version = strchr(name, '@');
	Dl_info info;
	uint8_t id[ELF_BUILD_ID_MAX];
	size_t id_len = 0;
	struct elf_file *mine;

	size_t base_len = version ? (size_t)(version - name) : strlen(name);
	if (base_len >= sizeof(base))
		return -ENAMETOOLONG;
	memcpy(base, name, base_len);
	base[base_len] = '\0';
	while (version && *version == '@')
		version++;
	/* Ask the library itself, already loaded in suture (RTLD_NOLOAD runs
	 * no constructor), so that an interposer in suture's own image, such
	 * as a sanitizer's strlen, is not what we find. */
	const char *file = strrchr(o->map->path, '/');
	void *lib = dlopen(file ? file + 1 : o->map->path, RTLD_LAZY | RTLD_NOLOAD);
	if (!lib)
		return -ENOENT;
	void *local = version ? dlvsym(lib, base, version) : dlsym(lib, base);
	int found = local && dladdr(local, &info) && info.dli_fname;
	dlclose(lib);
	if (!found)
		return -ENOENT;
	if (elf_file_open(info.dli_fname, &mine))
		return -ENOENT;
	int ret = elf_file_build_id(mine, id, sizeof(id), &id_len);
	elf_file_close(mine);
	if (ret || id_len != o->build_id_len || memcmp(id, o->build_id, id_len))
		return -ENOENT;
	*addr = o->bias + ((uint64_t)(uintptr_t)local - (uint64_t)(uintptr_t)info.dli_fbase);
	return 0;
}

/* Resolve a dynamic symbol in the process's objects, in load order. */
static int resolve_symbol(struct symbol_scope *s, const char *name, uint64_t *addr, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < s->ps->nobjects; i++) {
		struct elf_file *f = scope_open(s, i);
		struct elf_dynsym sym;
		if (!f || elf_file_find_dynsym(f, name, &sym) || !sym.defined || !sym.sym.value)
			continue;
		if (sym.sym.type != STT_GNU_IFUNC) {
			*addr = s->ps->objects[i].bias + sym.sym.value;
			return 0;
		}
		if (resolve_ifunc(&s->ps->objects[i], name, addr) == 0)
			return 0;
		snprintf(err, errlen, "symbol %s needed by the patch is an IFUNC in %s, whose choice "
			 "for process %d suture cannot determine without running the target's code; "
			 "build the patch to call it through the target's GOT", name,
			 s->ps->objects[i].map->path, (int)s->ps->pid);
		return -ENOTSUP;
	}
	snprintf(err, errlen, "symbol %s needed by the patch is not defined by any object loaded "
		 "in process %d", name, (int)s->ps->pid);
	return -ENOENT;
}

static int apply_reloc(const struct image *img, const struct patch_reloc *r, uint64_t s_addr,
		       char *err, size_t errlen)
{
	uint64_t place = img->part_addr[r->part] + r->offset;
	uint8_t *at = img->bytes[r->part] + r->offset;

	if (r->type == PATCH_RELOC_ABS64) {
		uint64_t v = s_addr + (uint64_t)r->addend;
		memcpy(at, &v, 8);
		return 0;
	}
	int64_t v = (int64_t)(s_addr + (uint64_t)r->addend - place);
	if (v < INT32_MIN || v > INT32_MAX) {
		snprintf(err, errlen, "relocation at part %u offset 0x%" PRIx64
			 " does not reach its target 0x%" PRIx64 " from 0x%" PRIx64,
			 r->part, r->offset, s_addr, place);
		return -ERANGE;
	}
	int32_t v32 = (int32_t)v;
	memcpy(at, &v32, 4);
	return 0;
}

int image_relocate(struct image *img, const struct patch *p, const struct process_state *ps,
		   const struct mem_object *obj, char *err, size_t errlen)
{
	int ret = 0;
	struct symbol_scope scope = { ps, calloc(ps->nobjects + 1, sizeof(struct elf_file *)) };

	if (!scope.files)
		return -ENOMEM;
	for (int i = 0; i < PATCH_PART_COUNT && !ret; i++) {
		if (i == PATCH_PART_BSS || !p->part_size[i])
			continue;
		img->bytes[i] = malloc(p->part_size[i]);
		if (!img->bytes[i])
			ret = -ENOMEM;
		else
			memcpy(img->bytes[i], p->part_data[i], p->part_size[i]);
	}
	for (size_t i = 0; i < p->nrelocs && !ret; i++) {
		const struct patch_reloc *r = &p->relocs[i];
		uint64_t s_addr = 0;
		switch (r->target_kind) {
		case PATCH_TARGET_PATCH:
			s_addr = img->part_addr[r->target_part] + r->target;
			break;
		case PATCH_TARGET_OBJECT:
			s_addr = obj->bias + r->target;
			break;
		default:
			ret = resolve_symbol(&scope, r->symbol, &s_addr, err, errlen);
			break;
		}
		if (!ret)
			ret = apply_reloc(img, r, s_addr, err, errlen);
	}
	for (size_t i = 0; i < ps->nobjects; i++)
		if (scope.files[i])
			elf_file_close(scope.files[i]);
	free(scope.files);
	return ret;
}

static int run_call(struct process_state *ps, struct thread *t, struct inject_site *site,
		    long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		    uint64_t a5, int64_t *result)
{
	const uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };
	(void)ps;
	return inject_syscall(t, site, nr, args, result);
}

int inject_site_find(const struct process_state *ps, struct inject_site *site)
{
	for (size_t i = 0; i < ps->nobjects; i++) {
		const struct mem_object *o = &ps->objects[i];
		uint64_t start = (o->text_end + 15) & ~15ULL;
		if (!o->slack_end || start + INJECT_SITE_SIZE > o->slack_end)
			continue;
		return inject_site_claim(site, ps->memfd, start);
	}
	return -ENOSPC;
}

/* One mmap of the image, which may cover several neighbouring parts. */
struct map_segment {
	uint64_t addr, len, offset;
	int prot;
};

/*
 * Fill `out` with the mmaps of the image, in address order, and return how
 * many.  The record, the stubs and the parts lie next to each other in the
 * address space and in the memfd.  So neighbours of equal protection, such
 * as the stubs and the text, share one mmap.
 */
static size_t map_segments(const struct image *img, struct map_segment out[PATCH_PART_COUNT + 2])
{
	static const int prot[PATCH_PART_COUNT] = {
		PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE
	};
	uint64_t offset = 0;
	size_t n = 0;

	/* -2: the record, -1: the switch stubs, then the patch's parts. */
	for (int i = -2; i < PATCH_PART_COUNT; i++) {
		struct map_segment seg;
		if (i == -2)
			seg = (struct map_segment){ img->base, img->record_size, 0, PROT_READ };
		else if (i == -1)
			seg = (struct map_segment){ img->stubs_addr, img->stubs_span, 0,
						    PROT_READ | PROT_EXEC };
		else
			seg = (struct map_segment){ img->part_addr[i], img->part_span[i], 0, prot[i] };
		seg.offset = offset;
		offset += seg.len;
		if (!seg.len)
			continue;
		struct map_segment *last = n ? &out[n - 1] : NULL;
		if (last && last->prot == seg.prot && last->addr + last->len == seg.addr &&
		    last->offset + last->len == seg.offset) {
			last->len += seg.len;
			continue;
		}
		out[n++] = seg;
	}
	return n;
}

static int map_parts(struct image *img, struct process_state *ps, struct thread *t,
		     struct inject_site *site, int fd, char *err, size_t errlen)
{
	struct map_segment segs[PATCH_PART_COUNT + 2];
	size_t n = map_segments(img, segs);
	int64_t r;

	for (size_t i = 0; i < n; i++) {
		uint64_t addr = segs[i].addr, len = segs[i].len;
		int ret = run_call(ps, t, site, SYS_mmap, addr, len, (uint64_t)segs[i].prot,
				   MAP_PRIVATE | MAP_FIXED_NOREPLACE, (uint64_t)fd, segs[i].offset, &r);
		if (ret)
			return ret;
		if (r < 0 || (uint64_t)r != addr) {
			snprintf(err, errlen, "mmap of %" PRIu64 " bytes at 0x%" PRIx64
				 " in process %d failed: %s", len, addr, (int)ps->pid,
				 r < 0 ? strerror((int)-r) : "kernel chose another address");
			if (r >= 0)
				run_call(ps, t, site, SYS_munmap, (uint64_t)r, len, 0, 0, 0, 0, &r);
			else if (img->base != addr)
				run_call(ps, t, site, SYS_munmap, img->base, addr - img->base, 0, 0, 0, 0, &r);
			return r == -EEXIST ? -EEXIST : -EIO;
		}
		fault_point("mapped-part");
	}
	return 0;
}

struct planned_call {
	long nr;
	const char *name;
	uint64_t args[6];
};

static const char *seccomp_action_name(uint32_t action)
{
	switch (action & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: return "KILL_PROCESS";
	case SECCOMP_RET_KILL_THREAD: return "KILL_THREAD";
	case SECCOMP_RET_TRAP: return "TRAP";
	case SECCOMP_RET_ERRNO: return "ERRNO";
	case SECCOMP_RET_USER_NOTIF: return "USER_NOTIF";
	case SECCOMP_RET_TRACE: return "TRACE";
	case SECCOMP_RET_LOG: return "LOG";
	default: return "an unknown action";
	}
}

/*
 * Refuse before injecting anything if the thread's seccomp filter would
 * not simply allow every call suture is about to make (or will need to undo
 * it): a filter that kills on mmap must never see suture's mmap.
 */
static int check_calls_allowed(const struct process_state *ps, const struct thread *t,
			       uint64_t ip, const struct planned_call *calls, size_t n,
			       char *err, size_t errlen)
{
	struct seccomp_filters filters;

	if (proc_seccomp_mode(t->tid) != 2)
		return 0;
	int ret = seccomp_filters_read(t->tid, &filters);
	if (ret) {
		snprintf(err, errlen, "cannot read the seccomp filter of process %d thread %d (%s), "
			 "so cannot tell which system calls it allows; not patching it",
			 (int)ps->pid, (int)t->tid, strerror(-ret));
		return -EPERM;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		uint32_t action = seccomp_filters_evaluate(&filters, calls[i].nr, calls[i].args, ip);
		if ((action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ALLOW)
			continue;
		snprintf(err, errlen, "the seccomp filter of process %d answers %s with %s; "
			 "suture needs that call to load the patch, so the process was not touched",
			 (int)ps->pid, calls[i].name, seccomp_action_name(action));
		ret = -EPERM;
	}
	seccomp_filters_free(&filters);
	return ret;
}

static int check_map_calls(const struct image *img, const struct process_state *ps,
			   const struct thread *t, const struct inject_site *site,
			   char *err, size_t errlen)
{
	/* The descriptor number is not known yet; filters rarely look at it. */
	const uint64_t fd = 3;
	struct planned_call calls[PATCH_PART_COUNT + 6] = {
		{ SYS_memfd_create, "memfd_create", { site->string_addr, MFD_CLOEXEC } },
		{ SYS_ftruncate, "ftruncate", { fd, img->total } },
		{ SYS_close, "close", { fd } },
		{ SYS_munmap, "munmap", { img->base, img->total } },
	};
	struct map_segment segs[PATCH_PART_COUNT + 2];
	size_t nsegs = map_segments(img, segs), n = 4;

	for (size_t i = 0; i < nsegs; i++)
		calls[n++] = (struct planned_call){ SYS_mmap, segs[i].prot & PROT_EXEC ?
			"mmap with PROT_EXEC" : "mmap", { segs[i].addr, segs[i].len,
			(uint64_t)segs[i].prot, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd,
			segs[i].offset } };
	return check_calls_allowed(ps, t, site->addr + 2, calls, n, err, errlen);
}

int image_map(struct image *img, const char *name, struct process_state *ps, struct thread *t,
	      char *err, size_t errlen)
{
	struct inject_site site;
	char memfd_name[INJECT_STRING_MAX];
	int64_t fd, r;

	int ret = inject_site_find(ps, &site);
	if (ret) {
		snprintf(err, errlen, "no object in process %d has %d unused bytes after its code "
			 "to run system calls from", (int)ps->pid, INJECT_SITE_SIZE);
		return ret;
	}
	/* The kernel prefixes "memfd:"; maps then shows /memfd:suture:NAME. */
	snprintf(memfd_name, sizeof(memfd_name), "suture:%.38s", name);
	ret = check_map_calls(img, ps, t, &site, err, errlen);
	if (ret)
		return ret;
	ret = inject_site_set_string(&site, memfd_name);
	fault_point("site-written");
	if (!ret)
		ret = run_call(ps, t, &site, SYS_memfd_create, site.string_addr, MFD_CLOEXEC, 0, 0, 0,
			       0, &fd);
	fault_point("memfd-created");
	if (!ret && fd < 0) {
		snprintf(err, errlen, "memfd_create in process %d failed: %s", (int)ps->pid,
			 strerror((int)-fd));
		ret = -EIO;
	}
	if (!ret) {
		ret = run_call(ps, t, &site, SYS_ftruncate, (uint64_t)fd, img->total, 0, 0, 0, 0, &r);
		if (!ret && r < 0) {
			snprintf(err, errlen, "ftruncate of suture's memfd in process %d failed: %s",
				 (int)ps->pid, strerror((int)-r));
			ret = -EIO;
		}
		if (!ret)
			ret = map_parts(img, ps, t, &site, (int)fd, err, errlen);
		int close_ret = run_call(ps, t, &site, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, &r);
		if (!ret)
			ret = close_ret;
	}
	int release = inject_site_release(&site);
	return ret ? ret : release;
}

int image_write(const struct image *img, const struct process_state *ps)
{
	if (img->stubs) {
		int ret = proc_mem_write(ps->memfd, img->stubs_addr, img->stubs, img->stubs_span);
		if (ret)
			return ret;
	}
	for (int i = 0; i < PATCH_PART_COUNT; i++) {
		if (i == PATCH_PART_BSS || !img->bytes[i])
			continue;
		int ret = proc_mem_write(ps->memfd, img->part_addr[i], img->bytes[i], img->part_size[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int target_munmap(struct process_state *ps, struct thread *t, uint64_t start, uint64_t len)
{
	struct inject_site site;
	int64_t r;

	char err[256];
	struct planned_call call = { SYS_munmap, "munmap", { start, len } };

	int ret = inject_site_find(ps, &site);
	if (ret)
		return ret;
	ret = check_calls_allowed(ps, t, site.addr + 2, &call, 1, err, sizeof(err));
	if (ret)
		return ret;
	ret = run_call(ps, t, &site, SYS_munmap, start, len, 0, 0, 0, 0, &r);
	int release = inject_site_release(&site);
	if (!ret && r < 0)
		ret = (int)r;
	return ret ? ret : release;
}

int target_close_leftover_fds(struct process_state *ps, struct thread *t, int *closed)
{
	char dir_path[64], link_path[320], target[256];
	struct inject_site site;
	int ret = 0;

	*closed = 0;
	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", (int)ps->pid);
	DIR *d = opendir(dir_path);
	if (!d)
		return -errno;
	struct dirent *de;
	int claimed = 0;
	while ((de = readdir(d)) && !ret) {
		snprintf(link_path, sizeof(link_path), "%s/%s", dir_path, de->d_name);
		ssize_t n = readlink(link_path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, RECORD_MAP_PREFIX, strlen(RECORD_MAP_PREFIX)))
			continue;
		if (!claimed) {
			ret = inject_site_find(ps, &site);
			if (ret)
				break;
			claimed = 1;
		}
		int64_t r;
		ret = run_call(ps, t, &site, SYS_close, (uint64_t)atoi(de->d_name), 0, 0, 0, 0, 0, &r);
		if (!ret && r == 0)
			(*closed)++;
	}
	closedir(d);
	if (claimed) {
		int release = inject_site_release(&site);
		if (!ret)
			ret = release;
	}
	return ret;
}
