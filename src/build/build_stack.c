/*
 * Stacked patches: the earlier patches that --requires names, and the
 * functions of theirs that a new patch must replace as well.
 *
 * The patch linker binds a call from one function of a patch to another
 * to the patch's own copy, not to the target's entry.  When a later patch
 * replaces F, a function H of an earlier patch that calls that patch's
 * copy of F directly would go on running the old F.  The later patch
 * therefore replaces H too, with the same source, so that H calls the new
 * F.  It follows such calls through code the earlier patch added, and
 * from there on through H's own callers in that patch.
 */
#include "build/build_stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elf_file.h"
#include "util/exitcode.h"
#include "util/log.h"

static void hex_of(const uint8_t *bytes, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
	out[2 * len] = '\0';
}

static const char *label_of(const struct patch *p, char id[65])
{
	patch_id_hex(p, id);
	return p->name ? p->name : id;
}

/* Check that stack[i] requires stack[i - 1], and the oldest patch nothing. */
static int check_order(const struct build_ctx *c, size_t i)
{
	const struct patch *p = &c->stack[i];
	const char *path = c->opt->stack[i];
	char id[65];

	if (i == 0 && p->requires)
		return build_fail(EXIT_USAGE, "--requires %s requires patch %.16s, which no earlier "
				  "--requires names; give every patch of the stack, oldest first",
				  path, p->requires);
	if (i == 0)
		return EXIT_OK;
	patch_id_hex(&c->stack[i - 1], id);
	if (!p->requires || strcmp(p->requires, id) != 0)
		return build_fail(EXIT_USAGE, "--requires %s does not require %s (%.16s); give the "
				  "--requires patches in the order they are applied, oldest first",
				  path, c->opt->stack[i - 1], id);
	if (p->build_id_len != c->stack[0].build_id_len ||
	    memcmp(p->build_id, c->stack[0].build_id, p->build_id_len) != 0)
		return build_fail(EXIT_TARGET_MISMATCH, "--requires %s and %s are patches for "
				  "different build-ids", path, c->opt->stack[0]);
	return EXIT_OK;
}

int build_read_stack(struct build_ctx *c)
{
	char err[512];
	int rc = EXIT_OK;

	if (c->opt->nstack == 0)
		return EXIT_OK;
	c->stack = calloc(c->opt->nstack, sizeof(*c->stack));
	if (!c->stack)
		return build_fail(EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < c->opt->nstack && rc == EXIT_OK; i++) {
		rc = patch_load_file(c->opt->stack[i], &c->stack[i], err, sizeof(err));
		if (rc != EXIT_OK)
			return build_fail(rc, "--requires %s", err);
		c->nstack++;
		rc = check_order(c, i);
	}
	if (rc == EXIT_OK && c->opt->against)
		rc = build_check_stack_target(c, c->opt->against);
	return rc;
}

int build_check_stack_target(const struct build_ctx *c, const char *binary)
{
	const struct patch *last;
	uint8_t build_id[PATCH_BUILD_ID_MAX];
	char have[2 * PATCH_BUILD_ID_MAX + 1], want[2 * PATCH_BUILD_ID_MAX + 1];
	struct elf_file *f = NULL;
	size_t len = 0;
	int r;

	if (c->nstack == 0)
		return EXIT_OK;
	last = &c->stack[c->nstack - 1];
	r = elf_file_open(binary, &f);
	if (r == 0)
		r = elf_file_build_id(f, build_id, sizeof(build_id), &len);
	elf_file_close(f);
	if (r < 0)
		return build_fail(EXIT_TARGET_MISMATCH, "cannot read the build-id of %s: %s", binary,
				  strerror(-r));
	if (len == last->build_id_len && !memcmp(build_id, last->build_id, len))
		return EXIT_OK;
	hex_of(last->build_id, last->build_id_len, want);
	hex_of(build_id, len, have);
	return build_fail(EXIT_TARGET_MISMATCH, "--requires %s is a patch for build-id %s, but "
			  "this patch is for %s (build-id %s); give the patches applied to that build",
			  c->opt->stack[c->nstack - 1], want, binary, have);
}

void build_free_stack(struct build_ctx *c)
{
	for (size_t i = 0; i < c->nstack; i++)
		patch_free(&c->stack[i]);
	free(c->stack);
	c->stack = NULL;
	c->nstack = 0;
}

static int is_own(const struct build_changes *changes, const char *name)
{
	for (size_t i = 0; i < changes->nown; i++) {
		if (!strcmp(changes->own[i].name, name))
			return 1;
	}
	return 0;
}

/* Return 1 when `f` defines a global `name`, 0 when not, or a negative errno. */
static int defines_global(struct elf_file *f, const char *name)
{
	struct elf_symbol sym;
	int r = elf_file_lookup_global(f, name, &sym);

	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

/* Reject a name that the base diffs add and that no compared object brings along. */
static int check_external(const struct build_ctx *c, struct elf_file *running,
			  struct elf_file *before, const struct build_changes *changes,
			  const struct build_external *e)
{
	int in_running, in_before;

	if (is_own(changes, e->name))
		return EXIT_OK;
	in_running = defines_global(running, e->name);
	in_before = in_running == 0 ? defines_global(before, e->name) : 0;
	if (in_running < 0 || in_before < 0)
		return build_fail(EXIT_INTERNAL, "cannot read the symbols of %s",
				  in_running < 0 ? c->link_target : elf_file_path(before));
	if (!in_before)
		return EXIT_OK;
	return build_fail(EXIT_UNSAFE_CHANGE, "%s (%s) uses %s, which the running build lacks: a "
			  "--base-diff adds it in a file that the diffs do not recompile; build one "
			  "patch with every diff as --diff instead", e->user, e->file, e->name);
}

int build_check_base_externals(const struct build_ctx *c, const struct build_changes *changes)
{
	char *before_path = build_format("%s/%s", c->orig, c->opt->target);
	struct elf_file *running = NULL, *before = NULL;
	int rc = EXIT_OK, r;

	if (!before_path)
		return build_fail(EXIT_INTERNAL, "out of memory");
	r = elf_file_open(c->link_target, &running);
	if (r == 0)
		r = elf_file_open(before_path, &before);
	if (r < 0)
		rc = build_fail(EXIT_INTERNAL, "cannot read %s or %s: %s", c->link_target,
				before_path, strerror(-r));
	for (size_t i = 0; i < changes->nexternals && rc == EXIT_OK; i++)
		rc = check_external(c, running, before, changes, &changes->externals[i]);
	elf_file_close(running);
	elf_file_close(before);
	free(before_path);
	return rc;
}

/*
 * The code of one earlier patch as a graph.  Nodes are its functions
 * (FUNCS entries) followed by the stretches of TEXT between them, which
 * contain the code it added (new functions, cold parts).  A stretch may
 * contain several of them, which only adds edges.
 */
struct code_graph {
	const struct patch *patch;
	size_t nnodes;
	uint64_t *starts, *ends; /* TEXT range of each node */
	unsigned char *edges;    /* nnodes * nnodes: edges[from * nnodes + to] */
};

static long node_at(const struct code_graph *g, uint64_t offset)
{
	for (size_t i = 0; i < g->nnodes; i++) {
		if (offset >= g->starts[i] && offset < g->ends[i])
			return (long)i;
	}
	return -1;
}

struct text_range {
	uint64_t start, end;
};

static int compare_ranges(const void *a, const void *b)
{
	uint64_t x = ((const struct text_range *)a)->start, y = ((const struct text_range *)b)->start;

	return x < y ? -1 : x > y;
}

/* Add the stretches of TEXT that no function covers as nodes after the functions. */
static int add_gap_nodes(struct code_graph *g)
{
	const struct patch *p = g->patch;
	struct text_range *funcs = calloc(p->nfuncs + 1, sizeof(*funcs));
	uint64_t at = 0;

	if (!funcs)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfuncs; i++)
		funcs[i] = (struct text_range){ p->funcs[i].new_offset,
						p->funcs[i].new_offset + p->funcs[i].new_size };
	qsort(funcs, p->nfuncs, sizeof(*funcs), compare_ranges);
	for (size_t i = 0; i <= p->nfuncs; i++) {
		uint64_t end = i < p->nfuncs ? funcs[i].start : p->part_size[PATCH_PART_TEXT];

		if (end > at) {
			g->starts[g->nnodes] = at;
			g->ends[g->nnodes++] = end;
		}
		if (i < p->nfuncs && funcs[i].end > at)
			at = funcs[i].end;
	}
	free(funcs);
	return 0;
}

static void add_edge(struct code_graph *g, long from, long to)
{
	if (from >= 0 && to >= 0 && from != to)
		g->edges[(size_t)from * g->nnodes + (size_t)to] = 1;
}

/*
 * Add the edges of one relocation into TEXT.  From code, it is a call, a
 * jump or an address taken.  From data, an absolute address is a function
 * pointer that any code of the patch may call through.  A PC-relative
 * entry of data is a jump table entry, which leads into the code of the
 * table's own function, and adds nothing.
 */
static void add_reloc_edges(struct code_graph *g, const struct patch_reloc *r)
{
	const struct patch *p = g->patch;
	uint64_t field = r->type == PATCH_RELOC_PC32 ? 4 : 0;
	long to = node_at(g, r->target);
	long to_addend = node_at(g, r->target + (uint64_t)r->addend + field);

	if (r->target_kind != PATCH_TARGET_PATCH || r->target_part != PATCH_PART_TEXT)
		return;
	if (r->part == PATCH_PART_TEXT) {
		add_edge(g, node_at(g, r->offset), to);
		add_edge(g, node_at(g, r->offset), to_addend);
		return;
	}
	if (r->type != PATCH_RELOC_ABS64)
		return;
	if (r->part == PATCH_PART_RODATA && r->offset >= p->eh_frame_offset &&
	    r->offset < p->eh_frame_offset + p->eh_frame_size)
		return; /* an FDE's start address: unwind information, no call */
	for (size_t from = 0; from < g->nnodes; from++) {
		add_edge(g, (long)from, to);
		add_edge(g, (long)from, to_addend);
	}
}

static void free_graph(struct code_graph *g)
{
	free(g->starts);
	free(g->ends);
	free(g->edges);
}

static int make_graph(const struct patch *p, struct code_graph *g)
{
	size_t max = 2 * p->nfuncs + 1;

	memset(g, 0, sizeof(*g));
	g->patch = p;
	g->starts = calloc(max, sizeof(*g->starts));
	g->ends = calloc(max, sizeof(*g->ends));
	if (!g->starts || !g->ends)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfuncs; i++) {
		g->starts[i] = p->funcs[i].new_offset;
		g->ends[i] = p->funcs[i].new_offset + p->funcs[i].new_size;
	}
	g->nnodes = p->nfuncs;
	if (add_gap_nodes(g) < 0)
		return -ENOMEM;
	g->edges = calloc(g->nnodes * g->nnodes, 1);
	if (!g->edges)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrelocs; i++)
		add_reloc_edges(g, &p->relocs[i]);
	return 0;
}

/* Mark in `seen` every node that node `from` reaches through one or more edges. */
static int reach(const struct code_graph *g, size_t from, unsigned char *seen)
{
	size_t *queue = calloc(g->nnodes, sizeof(*queue));
	size_t head = 0, tail = 0;

	if (!queue)
		return -ENOMEM;
	memset(seen, 0, g->nnodes);
	queue[tail++] = from;
	while (head < tail) {
		size_t node = queue[head++];

		for (size_t to = 0; to < g->nnodes; to++) {
			if (g->edges[node * g->nnodes + to] && !seen[to]) {
				seen[to] = 1;
				queue[tail++] = to;
			}
		}
	}
	free(queue);
	return 0;
}

/* An address that the new patch replaces, and why. */
struct replaced_set {
	uint64_t *addrs;
	size_t count;
};

static int is_replaced(const struct replaced_set *s, uint64_t addr)
{
	for (size_t i = 0; i < s->count; i++) {
		if (s->addrs[i] == addr)
			return 1;
	}
	return 0;
}

static int add_replaced(struct replaced_set *s, uint64_t addr)
{
	uint64_t *grown = realloc(s->addrs, (s->count + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	s->addrs = grown;
	grown[s->count++] = addr;
	return 0;
}

/* Return 1 when a patch after stack[k] replaces the function at `addr` again. */
static int replaced_later(const struct build_ctx *c, size_t k, uint64_t addr)
{
	for (size_t j = k + 1; j < c->nstack; j++) {
		for (size_t i = 0; i < c->stack[j].nfuncs; i++) {
			if (c->stack[j].funcs[i].old_addr == addr)
				return 1;
		}
	}
	return 0;
}

/* What makes a function of an earlier patch a caller that must be replaced again. */
struct stale_call {
	size_t patch;  /* index into c->stack */
	size_t caller; /* FUNCS index in that patch */
	size_t callee; /* FUNCS index of the replaced function it calls */
};

/*
 * Find a function of stack[k], still in use, that reaches its own copy of
 * a function in `replaced` and is not in `replaced` itself.
 */
static int find_stale_call(const struct build_ctx *c, size_t k, const struct code_graph *g,
			   const struct replaced_set *replaced, unsigned char *seen,
			   struct stale_call *out)
{
	const struct patch *p = &c->stack[k];

	for (size_t h = 0; h < p->nfuncs; h++) {
		if (is_replaced(replaced, p->funcs[h].old_addr) ||
		    replaced_later(c, k, p->funcs[h].old_addr))
			continue;
		if (reach(g, h, seen) < 0)
			return -ENOMEM;
		for (size_t f = 0; f < p->nfuncs; f++) {
			if (seen[f] && is_replaced(replaced, p->funcs[f].old_addr) &&
			    !replaced_later(c, k, p->funcs[f].old_addr)) {
				*out = (struct stale_call){ k, h, f };
				return 1;
			}
		}
	}
	return 0;
}

/* The kept function of the fixed objects that is the target's function at `addr`, or NULL. */
static const struct build_kept_function *kept_at(struct elf_file *target,
						 const struct build_changes *changes,
						 uint64_t addr)
{
	struct elf_symbol sym;

	for (size_t i = 0; i < changes->nkept; i++) {
		const struct build_kept_function *k = &changes->kept[i];

		if (elf_file_lookup_symbol(target, k->running_name, k->file_hint, &sym) == 0 &&
		    sym.type == STT_FUNC && sym.value == addr)
			return k;
	}
	return NULL;
}

static int add_replacement(struct build_changes *changes, const struct build_kept_function *k)
{
	struct link_replacement *grown = realloc(changes->replacements,
						 (changes->nreplacements + 1) * sizeof(*grown));
	struct link_symbol_ref *own = realloc(changes->own, (changes->nown + 1) * sizeof(*own));
	struct link_replacement *rep;

	if (grown)
		changes->replacements = grown;
	if (own)
		changes->own = own;
	if (!grown || !own)
		return -ENOMEM;
	rep = &grown[changes->nreplacements++];
	rep->old_name = strdup(k->running_name);
	rep->new_name = strdup(k->name);
	rep->file_hint = k->file_hint ? strdup(k->file_hint) : NULL;
	own[changes->nown] = (struct link_symbol_ref){ k->object, strdup(k->name), NULL };
	if (!own[changes->nown++].name || !rep->old_name || !rep->new_name ||
	    (k->file_hint && !rep->file_hint))
		return -ENOMEM;
	return 0;
}

/* Replace the caller of a stale call again, from the fixed objects. */
static int replace_caller(const struct build_ctx *c, struct elf_file *target,
			  struct build_changes *changes, const struct stale_call *s)
{
	const struct patch *p = &c->stack[s->patch];
	const char *caller = p->funcs[s->caller].name, *callee = p->funcs[s->callee].name;
	const struct build_kept_function *k = kept_at(target, changes, p->funcs[s->caller].old_addr);
	char id[65];

	if (!k)
		return build_fail(EXIT_UNSAFE_CHANGE, "%s in the earlier patch %s calls that patch's "
				  "own copy of %s, which this patch replaces, and no file that the "
				  "diffs recompile defines %s; build one patch with every diff as --diff",
				  caller, label_of(p, id), callee, caller);
	log_info("replacing %s again: the earlier patch %s calls its own copy of %s from it",
		 caller, label_of(p, id), callee);
	if (add_replacement(changes, k) < 0)
		return build_fail(EXIT_INTERNAL, "out of memory");
	return EXIT_OK;
}

/* Find the stale calls one by one and replace their callers, until none is left. */
static int replace_stale_callers(const struct build_ctx *c, struct code_graph *graphs,
				 struct elf_file *target, struct replaced_set *replaced,
				 struct build_changes *changes, size_t *added)
{
	struct stale_call stale;
	unsigned char *seen;
	int found = 1, rc = EXIT_OK;
	size_t max = 1;

	for (size_t k = 0; k < c->nstack; k++)
		max = graphs[k].nnodes > max ? graphs[k].nnodes : max;
	seen = calloc(max, 1);
	if (!seen)
		return build_fail(EXIT_INTERNAL, "out of memory");
	while (found && rc == EXIT_OK) {
		found = 0;
		for (size_t k = 0; k < c->nstack && !found; k++)
			found = find_stale_call(c, k, &graphs[k], replaced, seen, &stale);
		if (found < 0)
			rc = build_fail(EXIT_INTERNAL, "out of memory");
		if (found > 0)
			rc = replace_caller(c, target, changes, &stale);
		if (found > 0 && rc == EXIT_OK) {
			if (add_replaced(replaced,
					 c->stack[stale.patch].funcs[stale.caller].old_addr) < 0)
				rc = build_fail(EXIT_INTERNAL, "out of memory");
			(*added)++;
		}
	}
	free(seen);
	return rc;
}

int build_replace_stale_callers(const struct build_ctx *c, const struct patch *linked,
				struct build_changes *changes, size_t *added)
{
	struct code_graph *graphs = calloc(c->nstack ? c->nstack : 1, sizeof(*graphs));
	struct replaced_set replaced = { 0 };
	struct elf_file *target = NULL;
	int rc = graphs ? EXIT_OK : build_fail(EXIT_INTERNAL, "out of memory"), r;

	*added = 0;
	for (size_t k = 0; k < c->nstack && rc == EXIT_OK; k++) {
		if (make_graph(&c->stack[k], &graphs[k]) < 0)
			rc = build_fail(EXIT_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < linked->nfuncs && rc == EXIT_OK; i++) {
		if (add_replaced(&replaced, linked->funcs[i].old_addr) < 0)
			rc = build_fail(EXIT_INTERNAL, "out of memory");
	}
	if (rc == EXIT_OK) {
		r = elf_file_open(c->link_target, &target);
		if (r < 0)
			rc = build_fail(EXIT_INTERNAL, "cannot read %s: %s", c->link_target,
					strerror(-r));
	}
	if (rc == EXIT_OK)
		rc = replace_stale_callers(c, graphs, target, &replaced, changes, added);
	elf_file_close(target);
	for (size_t k = 0; graphs && k < c->nstack; k++)
		free_graph(&graphs[k]);
	free(graphs);
	free(replaced.addrs);
	return rc;
}
