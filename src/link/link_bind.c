/*
 * Section binding in the selective mode of the patch linker: whether the
 * symbols of an object's section are the patch's own copy or the target's
 * definitions.  Objects compiled with -ffunction-sections -fdata-sections
 * hold one function or variable per section, so deciding per section also
 * covers references through section symbols, which the assembler writes for
 * most references to local symbols.
 */
#include "link/link_internal.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

int link_is_owned(const struct linker *l, size_t object, const char *name)
{
	for (size_t i = 0; i < l->in->nown_symbols; i++) {
		if (l->in->own_symbols[i].object == object &&
		    strcmp(l->in->own_symbols[i].name, name) == 0)
			return 1;
	}
	for (size_t i = 0; l->new_object && i < l->in->nreplacements; i++) {
		if (l->new_object[i] == object &&
		    strcmp(l->in->replacements[i].new_name, name) == 0)
			return 1;
	}
	return 0;
}

static const char *target_name_of(const struct linker *l, size_t object, const char *name)
{
	for (size_t i = 0; i < l->in->naliases; i++) {
		if (l->in->aliases[i].object == object && strcmp(l->in->aliases[i].name, name) == 0)
			return l->in->aliases[i].target_name;
	}
	return name;
}

/* Symbols that name a function or variable; assembler labels (.L*) and section symbols do not. */
static int is_named_definition(const GElf_Sym *sym, const char *name)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (!name[0] || name[0] == '.' || sym->st_shndx == SHN_UNDEF)
		return 0;
	return type == STT_FUNC || type == STT_OBJECT || type == STT_NOTYPE ||
	       type == STT_GNU_IFUNC;
}

/*
 * Find the target's definition of a symbol.  A local must be a local of the
 * same source file, never a global that happens to share its name.  Returns
 * 1 when found, 0 when the target has none, or a negative errno.
 */
static int lookup_in_target(struct linker *l, const struct link_object *o, const GElf_Sym *sym,
			    const char *name, struct elf_symbol *out)
{
	char files[256];
	int r;

	if (GELF_ST_BIND(sym->st_info) != STB_LOCAL) {
		r = elf_file_lookup_global(l->target, name, out);
		/* A hidden symbol, or one a version script did not export, is
		 * local in the linked target: take it when it is the only one. */
		if (r == -ENOENT)
			r = elf_file_lookup_symbol(l->target, name, NULL, out);
	} else {
		r = elf_file_lookup_symbol(l->target, name, o->source, out);
		if (r == 0 && out->bind != STB_LOCAL)
			r = -ENOENT;
	}
	if (r == -ENOENT)
		return 0;
	if (r == -ENOTUNIQ) {
		elf_file_describe_definitions(l->target, name, files, sizeof(files));
		return link_fail(l, LINK_ERR_UNSUPPORTED, r,
				 "static %s of %s matches several definitions in %s (%s); "
				 "source files with the same name cannot be told apart",
				 name, o->source ? o->source : o->path, l->target_name, files);
	}
	if (r < 0)
		return link_fail(l, LINK_ERR_INTERNAL, r, "cannot read the symbols of %s: %s",
				 l->target_name, strerror(-r));
	if (out->type == STT_GNU_IFUNC || out->type == STT_TLS)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EOPNOTSUPP,
				 "%s is %s in %s, which a patch cannot refer to directly", name,
				 out->type == STT_TLS ? "a thread-local variable" : "an IFUNC",
				 l->target_name);
	return 1;
}

/* Tally of the named symbols of one section while its binding is decided. */
struct section_census {
	const char *owned;   /* a symbol the objects provide */
	const char *shared;  /* a symbol that binds to the target */
	const char *missing; /* a shared symbol the target lacks */
	int have_base;
	uint64_t base;
};

static int count_symbol(struct linker *l, size_t object, const GElf_Sym *sym,
			struct section_census *c)
{
	struct link_object *o = &l->objects[object];
	const char *name = link_symbol_name(o, sym);
	struct elf_symbol def;
	uint64_t base;
	int r;

	/*
	 * DW.ref.X, which an unwind table's personality or type entries point
	 * to, holds only the address of X, written by a relocation.  The
	 * target's copy is hidden, so the patch carries its own.
	 */
	if (link_is_owned(l, object, name) || !strncmp(name, "DW.ref.", strlen("DW.ref."))) {
		c->owned = name;
		return 0;
	}
	c->shared = name;
	r = lookup_in_target(l, o, sym, target_name_of(l, object, name), &def);
	if (r <= 0) {
		if (r == 0)
			c->missing = name;
		return r;
	}
	base = def.value - sym->st_value;
	if (c->have_base && base != c->base)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EINVAL,
				 "%s: the symbols of section %s lie at other distances in %s; "
				 "compile with -ffunction-sections -fdata-sections",
				 o->path, o->sections[sym->st_shndx].name, l->target_name);
	c->have_base = 1;
	c->base = base;
	return 0;
}

static int decide_binding(struct linker *l, size_t object, struct link_section *s,
			  const struct section_census *c)
{
	const char *path = l->objects[object].path;

	if (c->owned && c->shared)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EINVAL,
				 "%s: section %s contains both %s, which the patch replaces or adds, "
				 "and %s, which it shares with %s; compile with -ffunction-sections "
				 "-fdata-sections", path, s->name, c->owned, c->shared, l->target_name);
	if (c->owned || !c->shared) {
		s->binding = LINK_BIND_COPY;
		return 0;
	}
	if (!c->missing) {
		s->binding = LINK_BIND_TARGET;
		s->target_base = c->base;
		return 0;
	}
	if (s->part == PATCH_PART_DATA || s->part == PATCH_PART_BSS)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -ENOENT,
				 "%s: variable %s is not in %s, so the patch cannot share the running "
				 "process's copy of it", path, c->missing, l->target_name);
	log_info("%s: %s is not in %s; the patch carries its own copy",
		 path, c->missing, l->target_name);
	s->binding = LINK_BIND_COPY;
	return 0;
}

int link_bind_section(struct linker *l, size_t object, size_t section)
{
	struct link_object *o = &l->objects[object];
	struct link_section *s = &o->sections[section];
	struct section_census census = { 0 };
	GElf_Sym sym;
	int r;

	if (!l->in->selective) {
		s->binding = LINK_BIND_COPY;
		return 0;
	}
	if (s->binding != LINK_BIND_UNDECIDED)
		return 0;
	for (size_t j = 1; j < o->nsymbols; j++) {
		if (!gelf_getsym(o->symbols, (int)j, &sym) || sym.st_shndx != section ||
		    !is_named_definition(&sym, link_symbol_name(o, &sym)))
			continue;
		r = count_symbol(l, object, &sym, &census);
		if (r < 0)
			return r;
	}
	return decide_binding(l, object, s, &census);
}
