/*
 * Unwind tables of the patch linker.  Each object's .eh_frame is a list of
 * records: CIEs, and FDEs that describe one function each and point back to
 * their CIE.  The patch carries the FDEs of the text sections it copies and
 * the CIEs they use, in one table in RODATA that ends with a zero length
 * word, as the unwinder expects of a registered table.  The relocations
 * inside those records (each FDE's pc_begin, its LSDA pointer, the CIE's
 * personality pointer) become patch relocations, and the sections they
 * refer to (.gcc_except_table, DW.ref.* pointers) are copied as well.
 */
#include "link/link_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EH_LENGTH_64BIT 0xffffffffu /* DWARF64 escape, which gcc never emits */
#define EH_FDE_PC_BEGIN 8           /* length word, CIE pointer, then pc_begin */

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int link_is_eh_frame(const GElf_Shdr *shdr, const char *name)
{
	return shdr->sh_type == SHT_X86_64_UNWIND || strcmp(name, ".eh_frame") == 0;
}

static int find_record(const struct link_object *o, uint64_t offset, size_t *index)
{
	size_t lo = 0, hi = o->neh_records;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct link_eh_record *rec = &o->eh_records[mid];

		if (offset < rec->offset)
			hi = mid;
		else if (offset >= rec->offset + rec->size)
			lo = mid + 1;
		else {
			*index = mid;
			return 0;
		}
	}
	return -ENOENT;
}

static int malformed(struct linker *l, const struct link_object *o, uint64_t at, const char *what)
{
	return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: .eh_frame record at offset 0x%llx %s",
			 o->path, (unsigned long long)at, what);
}

static int add_record(struct linker *l, struct link_object *o, const struct link_eh_record *rec)
{
	struct link_eh_record *grown;

	grown = realloc(o->eh_records, (o->neh_records + 1) * sizeof(*grown));
	if (!grown)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	o->eh_records = grown;
	o->eh_records[o->neh_records++] = *rec;
	return 0;
}

/* Split the object's .eh_frame into records and link each FDE to its CIE. */
static int parse_records(struct linker *l, struct link_object *o, const uint8_t *data,
			 uint64_t size)
{
	uint64_t at = 0;
	int r;

	while (size - at >= 4) {
		uint32_t length = load_le32(data + at);
		struct link_eh_record rec = { .offset = at, .cie = LINK_EH_NO_CIE };

		if (length == 0)
			break; /* a terminator, as crtend.o has; nothing follows it */
		if (length == EH_LENGTH_64BIT)
			return malformed(l, o, at, "uses a 64-bit length, which is not supported");
		if (length < 4 || length > size - at - 4)
			return malformed(l, o, at, "has a length that does not fit the section");
		rec.size = 4 + (uint64_t)length;
		uint32_t cie_pointer = load_le32(data + at + 4);
		if (cie_pointer != 0) {
			/* The CIE pointer counts back from its own field to the CIE. */
			uint64_t field = at + 4;
			size_t cie;

			if (cie_pointer > field || find_record(o, field - cie_pointer, &cie) ||
			    o->eh_records[cie].offset != field - cie_pointer ||
			    o->eh_records[cie].cie != LINK_EH_NO_CIE)
				return malformed(l, o, at, "is an FDE whose CIE pointer is invalid");
			if (rec.size < EH_FDE_PC_BEGIN + 4)
				return malformed(l, o, at, "is an FDE too short for its pc_begin");
			rec.cie = cie;
		}
		r = add_record(l, o, &rec);
		if (r < 0)
			return r;
		at += rec.size;
	}
	return 0;
}

int link_eh_frame_load(struct linker *l, size_t object)
{
	struct link_object *o = &l->objects[object];
	struct link_section *s = &o->sections[o->eh_frame];
	Elf_Data *data = elf_getdata(s->scn, NULL);

	if (!data || data->d_size != s->size || (s->size && !data->d_buf))
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: cannot read section .eh_frame: %s",
				 o->path, elf_errmsg(-1));
	return parse_records(l, o, data->d_buf, s->size);
}

/*
 * Return 1 when the FDE's pc_begin relocation refers to a text section
 * that the patch copies, so the FDE describes code of the patch.  A section
 * that was not included is not resolved at all, because in selective mode
 * resolving decides the binding of sections the patch never uses.
 */
static int fde_describes_patch(struct linker *l, size_t object, const GElf_Rela *rela)
{
	struct link_object *o = &l->objects[object];
	struct link_target target;
	GElf_Sym sym;

	if (link_get_symbol(l, object, GELF_R_SYM(rela->r_info), &sym) < 0)
		return -EINVAL;
	if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= o->nsections ||
	    !o->sections[sym.st_shndx].included)
		return 0;
	if (link_resolve(l, object, GELF_R_SYM(rela->r_info), &target) < 0)
		return -EINVAL;
	return target.kind == PATCH_TARGET_PATCH && target.part == PATCH_PART_TEXT &&
	       !target.common && target.object == object && target.section == sym.st_shndx;
}

/* Keep the FDEs of included text; set *changed when one is newly kept. */
static int keep_fdes(struct linker *l, size_t object, Elf_Data *relas, int *changed)
{
	struct link_object *o = &l->objects[object];
	GElf_Rela rela;
	size_t index;

	for (int i = 0; relas && gelf_getrela(relas, i, &rela); i++) {
		if (GELF_R_TYPE(rela.r_info) == R_X86_64_NONE ||
		    find_record(o, rela.r_offset, &index))
			continue;
		struct link_eh_record *rec = &o->eh_records[index];
		if (rec->kept || rec->cie == LINK_EH_NO_CIE ||
		    rela.r_offset != rec->offset + EH_FDE_PC_BEGIN)
			continue;
		int describes = fde_describes_patch(l, object, &rela);
		if (describes < 0)
			return describes;
		if (!describes)
			continue;
		rec->kept = 1;
		o->eh_records[rec->cie].kept = 1;
		*changed = 1;
	}
	return 0;
}

/* Report the patch sections that the kept records refer to, besides their functions. */
static int include_referenced(struct linker *l, size_t object, Elf_Data *relas,
			      link_include_fn include, void *context)
{
	struct link_object *o = &l->objects[object];
	struct link_target target;
	GElf_Rela rela;
	size_t index;
	int r;

	for (int i = 0; relas && gelf_getrela(relas, i, &rela); i++) {
		if (GELF_R_TYPE(rela.r_info) == R_X86_64_NONE ||
		    find_record(o, rela.r_offset, &index) || !o->eh_records[index].kept)
			continue;
		r = link_resolve(l, object, GELF_R_SYM(rela.r_info), &target);
		if (r < 0)
			return r;
		if (target.kind != PATCH_TARGET_PATCH)
			continue;
		if (target.common)
			target.common->common_used = 1;
		else
			include(l, context, target.object, target.section);
	}
	return 0;
}

int link_eh_frame_select(struct linker *l, link_include_fn include, void *context,
			 int *changed)
{
	int r;

	*changed = 0;
	for (size_t i = 0; i < l->nobjects; i++) {
		struct link_object *o = &l->objects[i];
		Elf_Scn *rela_scn = o->eh_frame ? o->sections[o->eh_frame].rela : NULL;
		Elf_Data *relas = rela_scn ? elf_getdata(rela_scn, NULL) : NULL;

		if (!relas)
			continue;
		r = keep_fdes(l, i, relas, changed);
		if (r == 0)
			r = include_referenced(l, i, relas, include, context);
		if (r < 0)
			return r;
	}
	return 0;
}

static uint64_t align_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) / align * align;
}

int link_eh_frame_layout(struct linker *l)
{
	uint64_t size = 0;

	for (size_t i = 0; i < l->nobjects; i++) {
		struct link_object *o = &l->objects[i];

		for (size_t j = 0; j < o->neh_records; j++) {
			if (!o->eh_records[j].kept)
				continue;
			o->eh_records[j].out = size;
			size += o->eh_records[j].size;
		}
	}
	if (size == 0)
		return 0;
	/* The terminator: a record of length 0 ends the table for the unwinder. */
	l->eh_frame_size = size + 4;
	l->eh_frame_offset = align_up(l->part_size[PATCH_PART_RODATA], 8);
	l->part_size[PATCH_PART_RODATA] = l->eh_frame_offset + l->eh_frame_size;
	l->eh_frame_reg_offset = align_up(l->part_size[PATCH_PART_BSS], 8);
	l->part_size[PATCH_PART_BSS] = l->eh_frame_reg_offset + PATCH_EH_FRAME_REG_SIZE;
	return 0;
}

int link_eh_frame_copy(struct linker *l)
{
	uint8_t *table = l->part_data[PATCH_PART_RODATA] + l->eh_frame_offset;

	for (size_t i = 0; i < l->nobjects && l->eh_frame_size; i++) {
		struct link_object *o = &l->objects[i];
		Elf_Data *data = o->eh_frame ? elf_getdata(o->sections[o->eh_frame].scn, NULL) : NULL;

		for (size_t j = 0; data && j < o->neh_records; j++) {
			const struct link_eh_record *rec = &o->eh_records[j];

			if (!rec->kept)
				continue;
			memcpy(table + rec->out, (const uint8_t *)data->d_buf + rec->offset, rec->size);
			if (rec->cie != LINK_EH_NO_CIE)
				store_le32(table + rec->out + 4, (uint32_t)(rec->out + 4 -
							o->eh_records[rec->cie].out));
		}
	}
	return 0;
}

int link_eh_frame_relocate(struct linker *l)
{
	struct link_section table = {
		.name = ".eh_frame", .part = PATCH_PART_RODATA, .included = 1,
		.offset = l->eh_frame_offset, .size = l->eh_frame_size,
	};
	GElf_Rela rela;
	size_t index;
	int r;

	for (size_t i = 0; i < l->nobjects && l->eh_frame_size; i++) {
		struct link_object *o = &l->objects[i];
		Elf_Scn *rela_scn = o->eh_frame ? o->sections[o->eh_frame].rela : NULL;
		Elf_Data *relas = rela_scn ? elf_getdata(rela_scn, NULL) : NULL;

		for (int k = 0; relas && gelf_getrela(relas, k, &rela); k++) {
			if (find_record(o, rela.r_offset, &index) || !o->eh_records[index].kept)
				continue;
			/* Same place inside the record, in the output table. */
			rela.r_offset = rela.r_offset - o->eh_records[index].offset +
					o->eh_records[index].out;
			r = link_translate_relocation(l, o, &table, &rela);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
