#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elf_file.h"
#include "link/link_internal.h"

/* Where the dynamic loader looks on Debian x86-64, after the target's own folder. */
static const char *const library_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib",
};

static struct elf_file *open_library(const char *target_path, const char *name)
{
	char path[4096];
	struct elf_file *f;
	const char *slash = strrchr(target_path, '/');

	if (slash) {
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - target_path), target_path, name);
		if (elf_file_open(path, &f) == 0)
			return f;
	}
	for (size_t i = 0; i < sizeof(library_dirs) / sizeof(library_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", library_dirs[i], name);
		if (elf_file_open(path, &f) == 0)
			return f;
	}
	return NULL;
}

static void load_needed(struct linker *l)
{
	Elf *elf = elf_file_elf(l->target);
	Elf_Scn *scn = NULL;

	l->needed_loaded = 1;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNAMIC ||
		    !(data = elf_getdata(scn, NULL)) || !shdr.sh_entsize)
			continue;
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			const char *name = elf_strptr(elf, shdr.sh_link, dyn.d_un.d_val);
			struct elf_file *f = name ? open_library(elf_file_path(l->target), name) : NULL;
			struct elf_file **grown = f ? realloc(l->needed, (l->nneeded + 1) * sizeof(*grown))
						    : NULL;
			if (!grown) {
				if (f)
					elf_file_close(f);
				continue;
			}
			l->needed = grown;
			l->needed[l->nneeded++] = f;
		}
	}
}

const char *link_versioned_name(struct linker *l, struct link_name *n)
{
	if (n->version_state == 0) {
		n->version_state = -1;
		if (!l->needed_loaded)
			load_needed(l);
		for (size_t i = 0; i < l->nneeded; i++) {
			struct elf_dynsym sym;
			if (elf_file_find_dynsym(l->needed[i], n->name, &sym) || !sym.defined ||
			    !sym.version || sym.hidden)
				continue;
			size_t len = strlen(n->name) + strlen(sym.version) + 2;
			n->versioned = malloc(len);
			if (n->versioned) {
				snprintf(n->versioned, len, "%s@%s", n->name, sym.version);
				n->version_state = 1;
			}
			break;
		}
	}
	return n->version_state == 1 ? n->versioned : n->name;
}

void link_free_versions(struct linker *l)
{
	for (size_t i = 0; i < l->nneeded; i++)
		elf_file_close(l->needed[i]);
	free(l->needed);
	l->needed = NULL;
	l->nneeded = 0;
}
