/*
 * Relocation translation of the patch linker: each x86-64 relocation of an
 * included section becomes PATCH_RELOC_ABS64 or PATCH_RELOC_PC32 entries,
 * with stubs for calls into other objects and 8-byte slots for GOT loads.
 */
#include "link/link_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One relocation being translated, with the object and section it applies to. */
struct reloc_site {
	struct link_object *object;
	struct link_section *section;
	GElf_Rela rela;
	uint32_t type;
};

const char *link_reloc_type_name(uint32_t type, char *buf, size_t size)
{
	static const char *const names[] = {
		[R_X86_64_NONE] = "R_X86_64_NONE", [R_X86_64_64] = "R_X86_64_64",
		[R_X86_64_PC32] = "R_X86_64_PC32", [R_X86_64_GOT32] = "R_X86_64_GOT32",
		[R_X86_64_PLT32] = "R_X86_64_PLT32", [R_X86_64_GOTPCREL] = "R_X86_64_GOTPCREL",
		[R_X86_64_32] = "R_X86_64_32", [R_X86_64_32S] = "R_X86_64_32S",
		[R_X86_64_16] = "R_X86_64_16", [R_X86_64_PC16] = "R_X86_64_PC16",
		[R_X86_64_8] = "R_X86_64_8", [R_X86_64_PC8] = "R_X86_64_PC8",
		[R_X86_64_DTPMOD64] = "R_X86_64_DTPMOD64", [R_X86_64_DTPOFF64] = "R_X86_64_DTPOFF64",
		[R_X86_64_TPOFF64] = "R_X86_64_TPOFF64", [R_X86_64_TLSGD] = "R_X86_64_TLSGD",
		[R_X86_64_TLSLD] = "R_X86_64_TLSLD", [R_X86_64_DTPOFF32] = "R_X86_64_DTPOFF32",
		[R_X86_64_GOTTPOFF] = "R_X86_64_GOTTPOFF", [R_X86_64_TPOFF32] = "R_X86_64_TPOFF32",
		[R_X86_64_PC64] = "R_X86_64_PC64", [R_X86_64_GOTOFF64] = "R_X86_64_GOTOFF64",
		[R_X86_64_GOTPC32] = "R_X86_64_GOTPC32", [R_X86_64_SIZE32] = "R_X86_64_SIZE32",
		[R_X86_64_SIZE64] = "R_X86_64_SIZE64",
		[R_X86_64_GOTPC32_TLSDESC] = "R_X86_64_GOTPC32_TLSDESC",
		[R_X86_64_TLSDESC_CALL] = "R_X86_64_TLSDESC_CALL",
		[R_X86_64_GOTPCRELX] = "R_X86_64_GOTPCRELX",
		[R_X86_64_REX_GOTPCRELX] = "R_X86_64_REX_GOTPCRELX",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, size, "relocation type %u", (unsigned)type);
	return buf;
}

static int is_tls_relocation(uint32_t type)
{
	switch (type) {
	case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64: case R_X86_64_TPOFF64:
	case R_X86_64_TLSGD: case R_X86_64_TLSLD: case R_X86_64_DTPOFF32:
	case R_X86_64_GOTTPOFF: case R_X86_64_TPOFF32: case R_X86_64_GOTPC32_TLSDESC:
	case R_X86_64_TLSDESC_CALL:
		return 1;
	default:
		return 0;
	}
}

static int reject_site(struct linker *l, const struct reloc_site *site, const char *reason,
		       const char *fix)
{
	char buf[32];

	return link_fail(l, LINK_ERR_UNSUPPORTED, -EOPNOTSUPP, "%s: %s at %s+0x%llx %s; %s",
			 site->object->path, link_reloc_type_name(site->type, buf, sizeof(buf)),
			 site->section->name, (unsigned long long)site->rela.r_offset, reason, fix);
}

static int add_reloc(struct linker *l, enum patch_part part, enum patch_reloc_type type,
		     uint64_t offset, const struct link_target *target, int64_t addend)
{
	struct patch_reloc *rel, *grown;
	size_t capacity;

	if (l->nrelocs == l->relocs_capacity) {
		capacity = l->relocs_capacity ? 2 * l->relocs_capacity : 64;
		grown = realloc(l->relocs, capacity * sizeof(*grown));
		if (!grown)
			return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
		l->relocs = grown;
		l->relocs_capacity = capacity;
	}
	rel = &l->relocs[l->nrelocs];
	*rel = (struct patch_reloc){
		.part = (uint8_t)part, .type = (uint8_t)type,
		.target_kind = (uint8_t)target->kind, .offset = offset,
		.target = target->value, .addend = addend,
	};
	if (target->kind == PATCH_TARGET_PATCH)
		rel->target_part = (uint8_t)target->part;
	if (target->kind == PATCH_TARGET_SYMBOL) {
		rel->symbol = strdup(target->symbol);
		if (!rel->symbol)
			return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	l->nrelocs++;
	return 0;
}

static int same_target(const struct link_target *a, const struct link_target *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == PATCH_TARGET_SYMBOL)
		return strcmp(a->symbol, b->symbol) == 0;
	return a->value == b->value && (a->kind != PATCH_TARGET_PATCH || a->part == b->part);
}

/* Return the RODATA offset of the 8-byte slot holding `target`'s address, adding one if needed. */
static int get_slot(struct linker *l, const struct link_target *target, uint64_t *offset)
{
	struct link_slot *grown;
	int r;

	for (size_t i = 0; i < l->nslots; i++) {
		if (same_target(&l->slots[i].target, target)) {
			*offset = l->slots[i].offset;
			return 0;
		}
	}
	grown = realloc(l->slots, (l->nslots + 1) * sizeof(*grown));
	if (!grown)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	l->slots = grown;
	*offset = l->slot_base + l->nslots * LINK_SLOT_SIZE;
	l->slots[l->nslots++] = (struct link_slot){ *target, *offset };
	r = add_reloc(l, PATCH_PART_RODATA, PATCH_RELOC_ABS64, *offset, target, 0);
	return r;
}

/* Return the TEXT offset of the stub that jumps to `symbol`, adding one if needed. */
static int get_stub(struct linker *l, const struct link_target *target, uint64_t *offset)
{
	struct link_target slot = { .kind = PATCH_TARGET_PATCH, .part = PATCH_PART_RODATA };
	struct link_stub *grown;
	int r;

	for (size_t i = 0; i < l->nstubs; i++) {
		if (strcmp(l->stubs[i].symbol, target->symbol) == 0) {
			*offset = l->stubs[i].offset;
			return 0;
		}
	}
	if (target->has_got) {
		/* The target's GOT entry is within 2 GiB, so the stub jumps through it directly. */
		slot.kind = PATCH_TARGET_OBJECT;
		slot.value = target->got;
	} else {
		r = get_slot(l, target, &slot.value);
		if (r < 0)
			return r;
	}
	grown = realloc(l->stubs, (l->nstubs + 1) * sizeof(*grown));
	if (!grown)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	l->stubs = grown;
	*offset = l->stub_base + l->nstubs * LINK_STUB_SIZE;
	l->stubs[l->nstubs++] = (struct link_stub){ target->symbol, *offset };
	/* The disp32 of jmp *disp32(%rip) starts 2 bytes in and is relative to the stub's 6th byte. */
	return add_reloc(l, PATCH_PART_TEXT, PATCH_RELOC_PC32, *offset + 2, &slot, -4);
}

/*
 * Return 1 when the 4 bytes at r_offset are the rel32 of a call, jmp or jcc.
 * A RIP-relative memory operand is preceded by a ModRM byte of the form
 * 00 reg 101 (0x05, 0x0d, ... 0x3d), which can never be E8, E9 or 0F 8x, so
 * these opcodes identify a branch without decoding the whole instruction.
 */
static int is_branch_target(struct linker *l, const struct reloc_site *site)
{
	const uint8_t *code = l->part_data[PATCH_PART_TEXT] + site->section->offset;
	uint64_t at = site->rela.r_offset;

	if (site->section->part != PATCH_PART_TEXT || site->rela.r_addend != -4 || at < 1)
		return 0;
	if (code[at - 1] == 0xe8 || code[at - 1] == 0xe9)
		return 1;
	return at >= 2 && code[at - 2] == 0x0f && (code[at - 1] & 0xf0) == 0x80;
}

static int translate_pc32(struct linker *l, const struct reloc_site *site,
			  const struct link_target *target, uint64_t place)
{
	struct link_target stub = { .kind = PATCH_TARGET_PATCH, .part = PATCH_PART_TEXT };
	int r;

	if (target->kind != PATCH_TARGET_SYMBOL)
		return add_reloc(l, site->section->part, PATCH_RELOC_PC32, place, target,
				 site->rela.r_addend);
	/*
	 * Another object may be loaded more than 2 GiB away, so a call goes
	 * through a stub next to the patch.  Data cannot be redirected that way.
	 */
	if (site->type != R_X86_64_PLT32 && !is_branch_target(l, site))
		return reject_site(l, site, "refers to data outside the target",
				   "compile the replacement with -fPIC so that it loads "
				   "the address from the GOT");
	r = get_stub(l, target, &stub.value);
	if (r < 0)
		return r;
	return add_reloc(l, site->section->part, PATCH_RELOC_PC32, place, &stub,
			 site->rela.r_addend);
}

static int translate_gotpcrel(struct linker *l, const struct reloc_site *site,
			      const struct link_target *target, uint64_t place)
{
	struct link_target slot = { .kind = PATCH_TARGET_PATCH, .part = PATCH_PART_RODATA };
	int r = 0;

	if (target->has_got) {
		slot.kind = PATCH_TARGET_OBJECT;
		slot.value = target->got;
	} else {
		r = get_slot(l, target, &slot.value);
	}
	if (r < 0)
		return r;
	/* The instruction keeps loading an address from memory, now from the slot. */
	return add_reloc(l, site->section->part, PATCH_RELOC_PC32, place, &slot,
			 site->rela.r_addend);
}

/*
 * Point a reference to the start of a replaced function's new copy at the
 * original function's entry, which jumps to whichever version is live.  A
 * later patch that replaces the function again then serves this patch's
 * callers too.  A function pointer that the new code hands out stays valid
 * after a revert.  Only code references (calls, jumps and address loads,
 * addend -4) and absolute pointers qualify, because the unwind table and
 * jump tables must keep pointing into the copy.
 */
static void reroute_to_entry(const struct linker *l, struct reloc_site *site,
			     struct link_target *target)
{
	int64_t addend = site->rela.r_addend;
	uint64_t entry;

	if (target->kind != PATCH_TARGET_PATCH || target->part != PATCH_PART_TEXT)
		return;
	if (site->type == R_X86_64_64)
		entry = target->value + (uint64_t)addend;
	else if (site->section->part == PATCH_PART_TEXT && addend == -4 &&
		 (site->type == R_X86_64_PC32 || site->type == R_X86_64_PLT32))
		entry = target->value;
	else if (site->section->part == PATCH_PART_TEXT &&
		 (site->type == R_X86_64_GOTPCREL || site->type == R_X86_64_GOTPCRELX ||
		  site->type == R_X86_64_REX_GOTPCRELX))
		entry = target->value;
	else
		return;
	for (size_t i = 0; i < l->in->nreplacements; i++) {
		if (l->funcs[i].new_offset != entry)
			continue;
		memset(target, 0, sizeof(*target));
		target->kind = PATCH_TARGET_OBJECT;
		target->value = l->funcs[i].old_addr;
		if (site->type == R_X86_64_64)
			site->rela.r_addend = 0;
		return;
	}
}

static uint64_t reloc_width(uint32_t type)
{
	return type == R_X86_64_64 ? 8 : 4;
}

static int translate_one(struct linker *l, struct reloc_site *site)
{
	struct link_target target;
	uint64_t place = site->section->offset + site->rela.r_offset;
	int r;

	if (site->type == R_X86_64_32 || site->type == R_X86_64_32S)
		return reject_site(l, site, "needs an absolute 32-bit address",
				   "compile the replacement with -fPIC");
	if (is_tls_relocation(site->type))
		return reject_site(l, site, "accesses thread-local storage",
				   "thread-local variables are not supported in patches");
	if (site->type != R_X86_64_64 && site->type != R_X86_64_PC32 &&
	    site->type != R_X86_64_PLT32 && site->type != R_X86_64_GOTPCREL &&
	    site->type != R_X86_64_GOTPCRELX && site->type != R_X86_64_REX_GOTPCRELX)
		return reject_site(l, site, "is not supported",
				   "compile the replacement with -fPIC and the default code model");
	if (site->rela.r_offset > site->section->size ||
	    site->section->size - site->rela.r_offset < reloc_width(site->type))
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: relocation at %s+0x%llx lies "
				 "outside the section", site->object->path, site->section->name,
				 (unsigned long long)site->rela.r_offset);

	r = link_resolve(l, (size_t)(site->object - l->objects), GELF_R_SYM(site->rela.r_info),
			 &target);
	if (r < 0)
		return r;
	reroute_to_entry(l, site, &target);
	if (site->type == R_X86_64_64)
		return add_reloc(l, site->section->part, PATCH_RELOC_ABS64, place, &target,
				 site->rela.r_addend);
	if (site->type == R_X86_64_PC32 || site->type == R_X86_64_PLT32)
		return translate_pc32(l, site, &target, place);
	return translate_gotpcrel(l, site, &target, place);
}

int link_translate_relocation(struct linker *l, struct link_object *o, struct link_section *s,
			      const GElf_Rela *rela)
{
	struct reloc_site site = { .object = o, .section = s, .rela = *rela };

	site.type = (uint32_t)GELF_R_TYPE(rela->r_info);
	if (site.type == R_X86_64_NONE)
		return 0;
	return translate_one(l, &site);
}

static int translate_section(struct linker *l, struct link_object *o, struct link_section *s)
{
	struct reloc_site site = { .object = o, .section = s };
	Elf_Data *data = s->rela ? elf_getdata(s->rela, NULL) : NULL;
	int r;

	for (int i = 0; data && gelf_getrela(data, i, &site.rela); i++) {
		site.type = (uint32_t)GELF_R_TYPE(site.rela.r_info);
		if (site.type == R_X86_64_NONE)
			continue;
		r = translate_one(l, &site);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Translate in layout order (part, object, section, relocation) so the output is stable. */
int link_translate_relocations(struct linker *l)
{
	int r;

	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		for (size_t i = 0; i < l->nobjects; i++) {
			struct link_object *o = &l->objects[i];

			for (size_t j = 1; j < o->nsections; j++) {
				if (!o->sections[j].included || o->sections[j].part != part)
					continue;
				r = translate_section(l, o, &o->sections[j]);
				if (r < 0)
					return r;
			}
		}
	}
	return link_eh_frame_relocate(l);
}

static int grow_part(struct linker *l, enum patch_part part, uint64_t size, uint8_t fill)
{
	uint8_t *grown;

	if (size <= l->part_size[part])
		return 0;
	grown = realloc(l->part_data[part], size);
	if (!grown)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	memset(grown + l->part_size[part], fill, size - l->part_size[part]);
	l->part_data[part] = grown;
	l->part_size[part] = size;
	return 0;
}

/* Append the stubs to TEXT and the slots to RODATA.  Relocations fill in the addresses. */
int link_emit_stubs(struct linker *l)
{
	static const uint8_t jmp_indirect[LINK_STUB_SIZE] = { 0xff, 0x25, 0, 0, 0, 0, 0xcc, 0xcc };
	int r;

	if (l->nstubs > 0) {
		r = grow_part(l, PATCH_PART_TEXT, l->stub_base + l->nstubs * LINK_STUB_SIZE, 0xcc);
		if (r < 0)
			return r;
		for (size_t i = 0; i < l->nstubs; i++)
			memcpy(l->part_data[PATCH_PART_TEXT] + l->stubs[i].offset, jmp_indirect,
			       sizeof(jmp_indirect));
	}
	if (l->nslots > 0)
		return grow_part(l, PATCH_PART_RODATA, l->slot_base + l->nslots * LINK_SLOT_SIZE, 0);
	return 0;
}
