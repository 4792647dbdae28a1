/* The target's GOT entries for the functions and variables it imports or exports. */
#include "link/link_internal.h"

#include <errno.h>
#include <string.h>

/*
 * Return 1 when `rela_scn` has a GLOB_DAT relocation, or unless `data_only`
 * a JUMP_SLOT one, for `name`, with its GOT vaddr.
 */
static int search_relocations(Elf *elf, Elf_Scn *rela_scn, const GElf_Shdr *shdr,
			      const char *name, int data_only, uint64_t *vaddr)
{
	Elf_Scn *dynsym = elf_getscn(elf, shdr->sh_link);
	Elf_Data *relas = elf_getdata(rela_scn, NULL);
	Elf_Data *symbols = dynsym ? elf_getdata(dynsym, NULL) : NULL;
	GElf_Shdr symshdr;
	GElf_Rela rela;
	GElf_Sym sym;

	if (!relas || !symbols || !gelf_getshdr(dynsym, &symshdr) || symshdr.sh_type != SHT_DYNSYM)
		return 0;
	for (int i = 0; gelf_getrela(relas, i, &rela); i++) {
		uint32_t type = (uint32_t)GELF_R_TYPE(rela.r_info);
		const char *symbol_name;

		if (type != R_X86_64_GLOB_DAT && (data_only || type != R_X86_64_JUMP_SLOT))
			continue;
		if (!gelf_getsym(symbols, (int)GELF_R_SYM(rela.r_info), &sym))
			continue;
		symbol_name = elf_strptr(elf, symshdr.sh_link, sym.st_name);
		if (symbol_name && !strcmp(symbol_name, name)) {
			*vaddr = rela.r_offset;
			return 1;
		}
	}
	return 0;
}

static int find_got(struct linker *l, const char *name, int data_only, uint64_t *vaddr)
{
	Elf *elf = elf_file_elf(l->target);
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			return link_fail(l, LINK_ERR_INPUT, -EIO, "cannot read the sections of %s: %s",
					 l->target_name, elf_errmsg(-1));
		if (shdr.sh_type == SHT_RELA &&
		    search_relocations(elf, scn, &shdr, name, data_only, vaddr))
			return 1;
	}
	return 0;
}

/*
 * Find the GOT entry through which the target reaches `name`.  Returns 1
 * with its link-time address, 0 when the target does not import `name`.
 */
int link_find_target_got(struct linker *l, const char *name, uint64_t *vaddr)
{
	return find_got(l, name, 0, vaddr);
}

int link_find_target_data_got(struct linker *l, const char *name, uint64_t *vaddr)
{
	return find_got(l, name, 1, vaddr);
}
