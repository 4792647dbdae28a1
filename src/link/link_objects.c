/* Loading the relocatable objects of a patch: sections, symbols, relocations. */
#include "link/link_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Decide which patch part a section of a relocatable object belongs in. */
static int classify_section(const GElf_Shdr *shdr, const char *name)
{
	if (!(shdr->sh_flags & SHF_ALLOC))
		return LINK_NO_PART;
	if (shdr->sh_flags & SHF_TLS)
		return LINK_TLS_PART;
	if (shdr->sh_flags & SHF_EXECINSTR)
		return PATCH_PART_TEXT;
	if (shdr->sh_type == SHT_NOBITS)
		return PATCH_PART_BSS;
	/* .data.rel.ro contains pointers that only relocations write, so it can be read-only. */
	if ((shdr->sh_flags & SHF_WRITE) && strncmp(name, ".data.rel.ro", 12) != 0)
		return PATCH_PART_DATA;
	return PATCH_PART_RODATA;
}

static int check_object_header(struct linker *l, struct link_object *o)
{
	if (elf_file_type(o->file) != ET_REL)
		return link_fail(l, LINK_ERR_INPUT, -EINVAL,
				 "%s is not a relocatable object; pass the .o file from 'gcc -c'",
				 o->path);
	if (elf_file_machine(o->file) != EM_X86_64)
		return link_fail(l, LINK_ERR_INPUT, -EINVAL,
				 "%s is not an x86-64 object; only x86-64 is supported", o->path);
	return 0;
}

static void read_source_name(struct link_object *o)
{
	GElf_Sym sym;

	for (size_t i = 1; i < o->nsymbols; i++) {
		if (!gelf_getsym(o->symbols, (int)i, &sym))
			return;
		if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			o->source = link_symbol_name(o, &sym);
			return;
		}
	}
}

static int load_symbols(struct linker *l, struct link_object *o, Elf_Scn *scn,
			const GElf_Shdr *shdr)
{
	o->symbols = elf_getdata(scn, NULL);
	if (!o->symbols || shdr->sh_entsize == 0)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL,
				 "%s: cannot read the symbol table", o->path);
	o->nsymbols = o->symbols->d_size / shdr->sh_entsize;
	o->symstrndx = shdr->sh_link;
	read_source_name(o);
	return 0;
}

static int attach_relocations(struct linker *l, struct link_object *o, Elf_Scn *scn,
			      const GElf_Shdr *shdr, const char *name)
{
	if (shdr->sh_type == SHT_REL)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL,
				 "%s: section %s uses REL relocations, which x86-64 objects never do",
				 o->path, name);
	if (shdr->sh_info == 0 || shdr->sh_info >= o->nsections)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL,
				 "%s: relocation section %s applies to invalid section %u",
				 o->path, name, (unsigned)shdr->sh_info);
	o->sections[shdr->sh_info].rela = scn;
	return 0;
}

static int load_section(struct linker *l, struct link_object *o, Elf_Scn *scn,
			size_t shstrndx)
{
	struct link_section *s = &o->sections[elf_ndxscn(scn)];
	GElf_Shdr shdr;
	const char *name;

	if (!gelf_getshdr(scn, &shdr))
		return link_fail(l, LINK_ERR_INTERNAL, -EIO, "%s: cannot read a section header: %s",
				 o->path, elf_errmsg(-1));
	name = elf_strptr(o->elf, shstrndx, shdr.sh_name);
	s->scn = scn;
	s->name = name ? name : "?";
	s->size = shdr.sh_size;
	s->align = shdr.sh_addralign ? shdr.sh_addralign : 1;
	s->part = classify_section(&shdr, s->name);
	if (link_is_eh_frame(&shdr, s->name)) {
		/* Its records are picked one by one (link_eh_frame.c), never the whole section. */
		s->part = LINK_NO_PART;
		if (o->eh_frame)
			return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s has two .eh_frame sections",
					 o->path);
		o->eh_frame = elf_ndxscn(scn);
		return 0;
	}
	if (shdr.sh_type == SHT_SYMTAB)
		return load_symbols(l, o, scn, &shdr);
	if (shdr.sh_type == SHT_RELA || shdr.sh_type == SHT_REL)
		return attach_relocations(l, o, scn, &shdr, s->name);
	return 0;
}

static int load_sections(struct linker *l, struct link_object *o)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	int r;

	if (elf_getshdrnum(o->elf, &o->nsections) != 0 ||
	    elf_getshdrstrndx(o->elf, &shstrndx) != 0)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: cannot read the section headers: %s",
				 o->path, elf_errmsg(-1));
	o->sections = calloc(o->nsections ? o->nsections : 1, sizeof(*o->sections));
	if (!o->sections)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	while ((scn = elf_nextscn(o->elf, scn))) {
		r = load_section(l, o, scn, shstrndx);
		if (r < 0)
			return r;
	}
	if (!o->symbols)
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s has no symbol table", o->path);
	return o->eh_frame ? link_eh_frame_load(l, (size_t)(o - l->objects)) : 0;
}

int link_load_object(struct linker *l, size_t index, const char *path)
{
	struct link_object *o = &l->objects[index];
	int r;

	o->path = path;
	r = elf_file_open(path, &o->file);
	if (r == -ENOEXEC)
		return link_fail(l, LINK_ERR_INPUT, r, "%s is not a 64-bit ELF object", path);
	if (r < 0)
		return link_fail(l, LINK_ERR_INPUT, r, "cannot open object %s: %s", path, strerror(-r));
	o->elf = elf_file_elf(o->file);
	r = check_object_header(l, o);
	if (r < 0)
		return r;
	return load_sections(l, o);
}

void link_free_objects(struct linker *l)
{
	for (size_t i = 0; i < l->nobjects; i++) {
		free(l->objects[i].eh_records);
		free(l->objects[i].sections);
		elf_file_close(l->objects[i].file);
	}
	free(l->objects);
	l->objects = NULL;
	l->nobjects = 0;
}

const char *link_symbol_name(const struct link_object *o, const GElf_Sym *sym)
{
	const char *name = elf_strptr(o->elf, o->symstrndx, sym->st_name);

	return name ? name : "";
}

int link_get_symbol(struct linker *l, size_t object, size_t index, GElf_Sym *sym)
{
	struct link_object *o = &l->objects[object];

	if (index == 0 || index >= o->nsymbols || !gelf_getsym(o->symbols, (int)index, sym))
		return link_fail(l, LINK_ERR_BUILD, -EINVAL, "%s: invalid symbol index %zu",
				 o->path, index);
	return 0;
}
