/* Symbol binding of the patch linker: which definition each reference uses. */
#include "link/link_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A non-local symbol table entry of one object, before names are merged. */
struct name_ref {
	const char *name;
	size_t object, symbol;
	GElf_Sym sym;
};

static int compare_refs(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->object != y->object)
		return x->object < y->object ? -1 : 1;
	if (x->symbol != y->symbol)
		return x->symbol < y->symbol ? -1 : 1;
	return 0;
}

/* Definition strength as the static linker ranks it: strong, weak, COMMON, undefined. */
static int definition_rank(const GElf_Sym *sym)
{
	if (sym->st_shndx == SHN_UNDEF)
		return 0;
	if (sym->st_shndx == SHN_COMMON)
		return 1;
	if (GELF_ST_BIND(sym->st_info) == STB_WEAK)
		return 2;
	return 3;
}

static int collect_refs(struct linker *l, struct name_ref **out, size_t *count)
{
	size_t total = 0, n = 0;
	struct name_ref *refs;
	GElf_Sym sym;

	for (size_t i = 0; i < l->nobjects; i++)
		total += l->objects[i].nsymbols;
	refs = calloc(total ? total : 1, sizeof(*refs));
	if (!refs)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->nobjects; i++) {
		struct link_object *o = &l->objects[i];

		for (size_t j = 1; j < o->nsymbols; j++) {
			if (!gelf_getsym(o->symbols, (int)j, &sym) ||
			    GELF_ST_BIND(sym.st_info) == STB_LOCAL || sym.st_name == 0)
				continue;
			refs[n++] = (struct name_ref){ link_symbol_name(o, &sym), i, j, sym };
		}
	}
	qsort(refs, n, sizeof(*refs), compare_refs);
	*out = refs;
	*count = n;
	return 0;
}

/* Fold one more reference to the same name into `n`, keeping the strongest definition. */
static int merge_ref(struct linker *l, struct link_name *n, int *rank, const struct name_ref *ref)
{
	int ref_rank = definition_rank(&ref->sym);

	if (ref_rank == 3 && *rank == 3)
		return link_fail(l, LINK_ERR_BUILD, -EEXIST,
				 "symbol %s is defined in both %s and %s; keep one definition",
				 n->name, l->objects[n->object].path, l->objects[ref->object].path);
	if (ref_rank == 1) {
		/* COMMON symbols store their alignment in st_value. */
		if (ref->sym.st_size > n->common_size)
			n->common_size = ref->sym.st_size;
		if (ref->sym.st_value > n->common_align)
			n->common_align = ref->sym.st_value;
	}
	if (ref_rank > *rank) {
		*rank = ref_rank;
		n->defined = 1;
		n->object = ref->object;
		n->symbol = ref->symbol;
		n->common = ref_rank == 1;
	}
	return 0;
}

int link_index_names(struct linker *l)
{
	struct name_ref *refs = NULL;
	size_t nrefs = 0;
	int rank = 0, r;

	r = collect_refs(l, &refs, &nrefs);
	if (r < 0)
		return r;
	l->names = calloc(nrefs ? nrefs : 1, sizeof(*l->names));
	if (!l->names) {
		free(refs);
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nrefs && r == 0; i++) {
		if (l->nnames == 0 || strcmp(l->names[l->nnames - 1].name, refs[i].name) != 0) {
			l->names[l->nnames++].name = refs[i].name;
			rank = 0;
		}
		r = merge_ref(l, &l->names[l->nnames - 1], &rank, &refs[i]);
	}
	free(refs);
	return r;
}

static int compare_name_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct link_name *)elem)->name);
}

struct link_name *link_find_name(struct linker *l, const char *name)
{
	return bsearch(name, l->names, l->nnames, sizeof(*l->names), compare_name_key);
}

static int check_new_function(struct linker *l, const char *name, size_t object, size_t symbol)
{
	struct link_object *o = &l->objects[object];
	GElf_Sym sym;
	int r = link_get_symbol(l, object, symbol, &sym);

	if (r < 0)
		return r;
	if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx >= o->nsections ||
	    o->sections[sym.st_shndx].part != PATCH_PART_TEXT)
		return link_fail(l, LINK_ERR_FUNCTION, -EINVAL,
				 "%s in %s is not a function in a text section", name, o->path);
	return 0;
}

/* Return 1 when some object compiled from `source` defines a local `name`. */
static int source_defines_local(struct linker *l, const char *source, const char *name)
{
	GElf_Sym sym;

	for (size_t i = 0; source && i < l->nobjects; i++) {
		struct link_object *o = &l->objects[i];

		if (!o->source || strcmp(o->source, source) != 0)
			continue;
		for (size_t j = 1; j < o->nsymbols; j++) {
			if (gelf_getsym(o->symbols, (int)j, &sym) &&
			    GELF_ST_BIND(sym.st_info) == STB_LOCAL &&
			    GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF &&
			    strcmp(link_symbol_name(o, &sym), name) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Find the static function `name`, which must be unique across the objects,
 * or across the objects compiled from `source` when some of them define it.
 */
static int find_local_function(struct linker *l, const char *name, const char *source,
			       size_t *object, size_t *symbol)
{
	int restrict_source = source_defines_local(l, source, name);
	size_t found = 0;
	GElf_Sym sym;

	for (size_t i = 0; i < l->nobjects; i++) {
		struct link_object *o = &l->objects[i];

		if (restrict_source && (!o->source || strcmp(o->source, source) != 0))
			continue;

		for (size_t j = 1; j < o->nsymbols; j++) {
			if (!gelf_getsym(o->symbols, (int)j, &sym) ||
			    GELF_ST_BIND(sym.st_info) != STB_LOCAL ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
			    strcmp(link_symbol_name(o, &sym), name) != 0)
				continue;
			*object = i;
			*symbol = j;
			found++;
		}
	}
	if (found > 1)
		return link_fail(l, LINK_ERR_FUNCTION, -ENOTUNIQ,
				 "function %s is defined as static more than once in the objects; "
				 "rename all but one", name);
	return found ? 0 : -ENOENT;
}

int link_find_new_function(struct linker *l, const char *name, const char *source,
			   size_t *object, size_t *symbol)
{
	struct link_name *n = link_find_name(l, name);
	int r;

	if (n && n->defined && !n->common) {
		*object = n->object;
		*symbol = n->symbol;
	} else {
		r = find_local_function(l, name, source, object, symbol);
		if (r == -ENOENT)
			return link_fail(l, LINK_ERR_FUNCTION, r,
					 "function %s not found in the objects; check the "
					 "--replace name and the --object files", name);
		if (r < 0)
			return r;
	}
	return check_new_function(l, name, *object, *symbol);
}

static int is_replaced(const struct linker *l, const char *name)
{
	for (size_t i = 0; i < l->in->nreplacements; i++) {
		if (strcmp(l->in->replacements[i].old_name, name) == 0)
			return 1;
	}
	return 0;
}

/* Resolve a reference to a section of an object (a local or chosen global definition). */
static int resolve_in_section(struct linker *l, size_t object, const GElf_Sym *sym,
			      struct link_target *out)
{
	struct link_object *o = &l->objects[object];
	const char *name = link_symbol_name(o, sym);
	struct link_section *s;
	int r;

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= o->nsections)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EINVAL,
				 "%s: symbol %s has special section index 0x%x (absolute or "
				 "undefined local), which a patch cannot refer to",
				 o->path, name, (unsigned)sym->st_shndx);
	s = &o->sections[sym->st_shndx];
	if (s->part == LINK_TLS_PART)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EOPNOTSUPP,
				 "%s: %s is in thread-local section %s; thread-local storage "
				 "is not supported in patches", o->path, name[0] ? name : s->name, s->name);
	if (s->part == LINK_NO_PART)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL,
				 "%s: code refers to section %s, which is not loaded at run time",
				 o->path, s->name);
	r = link_bind_section(l, object, sym->st_shndx);
	if (r < 0)
		return r;
	if (s->binding == LINK_BIND_TARGET) {
		out->kind = PATCH_TARGET_OBJECT;
		out->value = s->target_base + sym->st_value;
		return 0;
	}
	out->kind = PATCH_TARGET_PATCH;
	out->part = (enum patch_part)s->part;
	out->value = s->offset + sym->st_value;
	out->object = object;
	out->section = sym->st_shndx;
	return 0;
}

/* Look up the target's global definition of `n` once.  Returns 1 when there is one. */
static int target_defines(struct linker *l, struct link_name *n)
{
	int r;

	if (n->target_state == 0) {
		r = elf_file_lookup_global(l->target, n->name, &n->target_sym);
		/* Hidden symbols of other source files are local in the linked
		 * target; a unique one is the definition the object meant. */
		if (r == -ENOENT)
			r = elf_file_lookup_symbol(l->target, n->name, NULL, &n->target_sym);
		if (r == -ENOTUNIQ) {
			char files[256];
			elf_file_describe_definitions(l->target, n->name, files, sizeof(files));
			return link_fail(l, LINK_ERR_UNSUPPORTED, r, "%s is not exported by %s and "
					 "several of its source files define a local %s (%s)", n->name,
					 l->target_name, n->name, files);
		}
		if (r < 0 && r != -ENOENT)
			return link_fail(l, LINK_ERR_INTERNAL, r, "cannot read the symbols of %s: %s",
					 l->target_name, strerror(-r));
		n->target_state = r == 0 ? 1 : -1;
	}
	return n->target_state == 1;
}

static int resolve_in_target(struct linker *l, const struct link_name *n, struct link_target *out)
{
	if (n->target_sym.type == STT_GNU_IFUNC)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EOPNOTSUPP,
				 "%s is an IFUNC in %s; a patch cannot call it directly",
				 n->name, l->target_name);
	if (n->target_sym.type == STT_TLS)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EOPNOTSUPP,
				 "%s is a thread-local variable in %s; thread-local storage is not "
				 "supported in patches", n->name, l->target_name);
	out->kind = PATCH_TARGET_OBJECT;
	out->value = n->target_sym.value;
	return 0;
}

static int resolve_name(struct linker *l, struct link_name *n, struct link_target *out)
{
	GElf_Sym def;
	int r;

	/*
	 * The objects' own definition of a replaced function is the new code.  A
	 * reference to a replaced function the objects do not define goes to the
	 * target's copy, whose entry will jump to the replacement.
	 */
	if (l->in->selective && n->defined && !n->common) {
		/* The section's binding decides between the objects and the target. */
		r = link_get_symbol(l, n->object, n->symbol, &def);
		if (r < 0)
			return r;
		return resolve_in_section(l, n->object, &def, out);
	}
	if (!n->defined || !is_replaced(l, n->name)) {
		r = target_defines(l, n);
		if (r < 0)
			return r;
		if (r == 1)
			return resolve_in_target(l, n, out);
	}
	if (!n->defined) {
		/*
		 * NOTE: an undefined weak reference is emitted like any other, so
		 * applying the patch fails when no loaded object defines it,
		 * where the static linker would have used 0.
		 */
		out->kind = PATCH_TARGET_SYMBOL;
		out->symbol = link_versioned_name(l, n);
		if (l->in->use_target_got && n->got_state == 0) {
			r = link_find_target_got(l, n->name, &n->got_vaddr);
			if (r < 0)
				return r;
			n->got_state = r == 1 ? 1 : -1;
		}
		out->has_got = n->got_state == 1;
		out->got = n->got_vaddr;
		return 0;
	}
	if (n->common) {
		out->kind = PATCH_TARGET_PATCH;
		out->part = PATCH_PART_BSS;
		out->value = n->common_offset;
		out->common = n;
		return 0;
	}
	r = link_get_symbol(l, n->object, n->symbol, &def);
	if (r < 0)
		return r;
	return resolve_in_section(l, n->object, &def, out);
}

/*
 * Note the target's GOT entry for a global that binds to the target's own
 * definition, so that a load of its address through the GOT reads the same
 * entry as the target's code.  got_state caches the lookup.  It cannot
 * mix with the lookup for undefined names, because a name that resolves to
 * the target never reaches that one.
 */
static int find_definition_got(struct linker *l, struct link_name *n, struct link_target *out)
{
	int r;

	if (n->got_state == 0) {
		r = link_find_target_data_got(l, n->name, &n->got_vaddr);
		if (r < 0)
			return r;
		n->got_state = r == 1 ? 1 : -1;
	}
	out->has_got = n->got_state == 1;
	out->got = n->got_vaddr;
	return 0;
}

int link_resolve(struct linker *l, size_t object, size_t symbol, struct link_target *out)
{
	GElf_Sym sym;
	struct link_name *n;
	int r;

	memset(out, 0, sizeof(*out));
	r = link_get_symbol(l, object, symbol, &sym);
	if (r < 0)
		return r;
	if (GELF_ST_BIND(sym.st_info) == STB_LOCAL)
		return resolve_in_section(l, object, &sym, out);
	n = link_find_name(l, link_symbol_name(&l->objects[object], &sym));
	if (!n)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: symbol %zu has no name",
				 l->objects[object].path, symbol);
	r = resolve_name(l, n, out);
	if (r == 0 && out->kind == PATCH_TARGET_OBJECT && l->in->use_target_got)
		r = find_definition_got(l, n, out);
	return r;
}
