/* Section selection and layout of the patch linker. */
#include "link/link_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct section_ref {
	size_t object, section;
};

struct worklist {
	struct section_ref *items;
	size_t count;
};

static void include_section(struct linker *l, struct worklist *w, size_t object, size_t section)
{
	struct link_section *s = &l->objects[object].sections[section];

	if (s->included)
		return;
	s->included = 1;
	w->items[w->count++] = (struct section_ref){ object, section };
}

/* Include every patch section that a relocation of `ref` refers to. */
static int follow_relocations(struct linker *l, struct worklist *w, struct section_ref ref)
{
	struct link_section *s = &l->objects[ref.object].sections[ref.section];
	Elf_Data *data = s->rela ? elf_getdata(s->rela, NULL) : NULL;
	struct link_target target;
	GElf_Rela rela;
	int r;

	for (int i = 0; data && gelf_getrela(data, i, &rela); i++) {
		if (GELF_R_TYPE(rela.r_info) == R_X86_64_NONE)
			continue;
		r = link_resolve(l, ref.object, GELF_R_SYM(rela.r_info), &target);
		if (r < 0)
			return r;
		if (target.kind != PATCH_TARGET_PATCH)
			continue;
		if (target.common)
			target.common->common_used = 1;
		else
			include_section(l, w, target.object, target.section);
	}
	return 0;
}

static int include_replacement_roots(struct linker *l, struct worklist *w)
{
	GElf_Sym sym;
	int r;

	for (size_t i = 0; i < l->in->nreplacements; i++) {
		r = link_get_symbol(l, l->new_object[i], l->new_symbol[i], &sym);
		if (r < 0)
			return r;
		include_section(l, w, l->new_object[i], sym.st_shndx);
	}
	return 0;
}

static void include_for_unwind(struct linker *l, void *context, size_t object, size_t section)
{
	include_section(l, context, object, section);
}

int link_select_sections(struct linker *l)
{
	struct worklist w = { 0 };
	size_t total = 0, next = 0;
	int changed = 1;
	int r;

	for (size_t i = 0; i < l->nobjects; i++)
		total += l->objects[i].nsections;
	w.items = calloc(total ? total : 1, sizeof(*w.items));
	if (!w.items)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = include_replacement_roots(l, &w);
	/*
	 * The list only grows, so walking it by index visits each section once.
	 * The FDEs of the included text bring in their LSDAs and personality
	 * pointers, which may reach more text with FDEs of its own.
	 */
	while (r == 0 && (changed || next < w.count)) {
		for (; r == 0 && next < w.count; next++)
			r = follow_relocations(l, &w, w.items[next]);
		if (r == 0)
			r = link_eh_frame_select(l, include_for_unwind, &w, &changed);
	}
	free(w.items);
	return r;
}

static uint64_t align_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) / align * align;
}

static int place_section(struct linker *l, struct link_object *o, struct link_section *s)
{
	uint64_t *size = &l->part_size[s->part];

	if (s->align > LINK_ALIGN_MAX)
		return link_fail(l, LINK_ERR_UNSUPPORTED, -EINVAL,
				 "%s: section %s needs %llu-byte alignment, more than the %d bytes "
				 "a patch part guarantees", o->path, s->name,
				 (unsigned long long)s->align, LINK_ALIGN_MAX);
	s->offset = align_up(*size, s->align);
	*size = s->offset + s->size;
	return 0;
}

static int place_commons(struct linker *l)
{
	uint64_t *size = &l->part_size[PATCH_PART_BSS];

	for (size_t i = 0; i < l->nnames; i++) {
		struct link_name *n = &l->names[i];
		uint64_t align = n->common_align ? n->common_align : 1;

		if (!n->common || !n->common_used)
			continue;
		if (align > LINK_ALIGN_MAX)
			return link_fail(l, LINK_ERR_UNSUPPORTED, -EINVAL,
					 "COMMON symbol %s needs %llu-byte alignment, more than the "
					 "%d bytes a patch part guarantees", n->name,
					 (unsigned long long)align, LINK_ALIGN_MAX);
		n->common_offset = align_up(*size, align);
		*size = n->common_offset + n->common_size;
	}
	return 0;
}

/*
 * Give each included section its offset: parts in order, and inside a part
 * the objects in command-line order and their sections in index order, so
 * that the same inputs always give the same layout.
 */
int link_layout(struct linker *l)
{
	int r;

	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		for (size_t i = 0; i < l->nobjects; i++) {
			struct link_object *o = &l->objects[i];

			for (size_t j = 1; j < o->nsections; j++) {
				if (!o->sections[j].included || o->sections[j].part != part)
					continue;
				r = place_section(l, o, &o->sections[j]);
				if (r < 0)
					return r;
			}
		}
	}
	r = place_commons(l);
	if (r == 0)
		r = link_eh_frame_layout(l);
	if (r < 0)
		return r;
	l->stub_base = align_up(l->part_size[PATCH_PART_TEXT], LINK_STUB_SIZE);
	l->slot_base = align_up(l->part_size[PATCH_PART_RODATA], LINK_SLOT_SIZE);
	return 0;
}

static int copy_section(struct linker *l, struct link_object *o, struct link_section *s)
{
	Elf_Data *data = elf_getdata(s->scn, NULL);

	if (!data || data->d_size != s->size || (s->size && !data->d_buf))
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: cannot read section %s: %s",
				 o->path, s->name, elf_errmsg(-1));
	if (s->size)
		memcpy(l->part_data[s->part] + s->offset, data->d_buf, s->size);
	return 0;
}

static int allocate_parts(struct linker *l)
{
	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		if (part == PATCH_PART_BSS || l->part_size[part] == 0)
			continue;
		l->part_data[part] = malloc(l->part_size[part]);
		if (!l->part_data[part])
			return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
		/* Padding between functions is int3, so a stray jump traps at once. */
		memset(l->part_data[part], part == PATCH_PART_TEXT ? 0xcc : 0, l->part_size[part]);
	}
	return 0;
}

int link_copy_sections(struct linker *l)
{
	int r = allocate_parts(l);

	for (size_t i = 0; i < l->nobjects && r == 0; i++) {
		struct link_object *o = &l->objects[i];

		for (size_t j = 1; j < o->nsections && r == 0; j++) {
			struct link_section *s = &o->sections[j];

			if (s->included && s->part != PATCH_PART_BSS)
				r = copy_section(l, o, s);
		}
	}
	return r == 0 ? link_eh_frame_copy(l) : r;
}
