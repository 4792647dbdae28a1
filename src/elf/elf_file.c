#include "elf/elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERSION_INDEX_MAX 0x7fff /* versym entries keep the index in 15 bits */

struct elf_file {
	char *path;
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	struct elf_segment *loads;
	size_t nloads;
	Elf_Scn *symtab; /* .symtab, or NULL when stripped */
	Elf_Scn *dynsym; /* .dynsym, or NULL */
	Elf_Scn *versym; /* .gnu.version, or NULL */
	const char **version_names; /* indexed by version index, NULL where unused */
	size_t nversion_names;
};

/* A symbol table section with what is needed to walk it. */
struct symtab_view {
	Elf_Data *data;
	size_t count;
	size_t strndx;       /* section index of its string table */
	size_t first_global; /* sh_info: locals come before this index */
};

static int symtab_view_init(const struct elf_file *f, Elf_Scn *scn, struct symtab_view *view)
{
	GElf_Shdr shdr;

	if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_entsize == 0)
		return -ENOENT;
	view->data = elf_getdata(scn, NULL);
	if (!view->data)
		return -EIO;
	view->count = view->data->d_size / gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	view->strndx = shdr.sh_link;
	view->first_global = shdr.sh_info;
	return 0;
}

static const char *symtab_view_name(const struct elf_file *f, const struct symtab_view *view,
				    const GElf_Sym *sym)
{
	const char *name = elf_strptr(f->elf, view->strndx, sym->st_name);

	return name ? name : "";
}

static void symbol_fill(struct elf_symbol *out, const GElf_Sym *sym, const char *name,
			const char *file)
{
	out->name = name;
	out->file = file;
	out->value = sym->st_value;
	out->size = sym->st_size;
	out->shndx = sym->st_shndx;
	out->type = GELF_ST_TYPE(sym->st_info);
	out->bind = GELF_ST_BIND(sym->st_info);
}

static int load_segments(struct elf_file *f)
{
	size_t nphdr;
	GElf_Phdr phdr;

	if (elf_getphdrnum(f->elf, &nphdr) != 0)
		return -EIO;
	f->loads = calloc(nphdr ? nphdr : 1, sizeof(*f->loads));
	if (!f->loads)
		return -ENOMEM;
	for (size_t i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &phdr))
			return -EIO;
		if (phdr.p_type != PT_LOAD)
			continue;
		f->loads[f->nloads++] = (struct elf_segment){
			.vaddr = phdr.p_vaddr, .memsz = phdr.p_memsz,
			.offset = phdr.p_offset, .filesz = phdr.p_filesz,
			.align = phdr.p_align, .flags = phdr.p_flags,
		};
	}
	return 0;
}

static int version_name_set(struct elf_file *f, size_t index, const char *name)
{
	const char **grown;

	if (index > VERSION_INDEX_MAX)
		return -EINVAL;
	if (index >= f->nversion_names) {
		grown = realloc(f->version_names, (index + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + f->nversion_names, 0,
		       (index + 1 - f->nversion_names) * sizeof(*grown));
		f->version_names = grown;
		f->nversion_names = index + 1;
	}
	f->version_names[index] = name;
	return 0;
}

/* Record the names of the versions this file defines (.gnu.version_d). */
static int load_verdef(struct elf_file *f, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t offset = 0;
	GElf_Verdef def;
	GElf_Verdaux aux;
	const char *name;
	int r;

	if (!data)
		return -EIO;
	for (size_t i = 0; i < shdr->sh_info; i++) {
		if (!gelf_getverdef(data, (int)offset, &def) ||
		    !gelf_getverdaux(data, (int)(offset + def.vd_aux), &aux))
			return -EINVAL;
		name = elf_strptr(f->elf, shdr->sh_link, aux.vda_name);
		r = version_name_set(f, def.vd_ndx, name);
		if (r < 0)
			return r;
		if (def.vd_next == 0)
			break;
		offset += def.vd_next;
	}
	return 0;
}

/* Record the names of the versions this file requires (.gnu.version_r). */
static int load_verneed(struct elf_file *f, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t offset = 0, aux_offset;
	GElf_Verneed need;
	GElf_Vernaux aux;
	const char *name;
	int r;

	if (!data)
		return -EIO;
	for (size_t i = 0; i < shdr->sh_info; i++) {
		if (!gelf_getverneed(data, (int)offset, &need))
			return -EINVAL;
		aux_offset = offset + need.vn_aux;
		for (size_t j = 0; j < need.vn_cnt; j++) {
			if (!gelf_getvernaux(data, (int)aux_offset, &aux))
				return -EINVAL;
			name = elf_strptr(f->elf, shdr->sh_link, aux.vna_name);
			r = version_name_set(f, aux.vna_other, name);
			if (r < 0)
				return r;
			if (aux.vna_next == 0)
				break;
			aux_offset += aux.vna_next;
		}
		if (need.vn_next == 0)
			break;
		offset += need.vn_next;
	}
	return 0;
}

static int scan_sections(struct elf_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	int r = 0;

	while ((scn = elf_nextscn(f->elf, scn)) && r == 0) {
		if (!gelf_getshdr(scn, &shdr))
			return -EIO;
		if (shdr.sh_type == SHT_SYMTAB)
			f->symtab = scn;
		else if (shdr.sh_type == SHT_DYNSYM)
			f->dynsym = scn;
		else if (shdr.sh_type == SHT_GNU_versym)
			f->versym = scn;
		else if (shdr.sh_type == SHT_GNU_verdef)
			r = load_verdef(f, scn, &shdr);
		else if (shdr.sh_type == SHT_GNU_verneed)
			r = load_verneed(f, scn, &shdr);
	}
	return r;
}

static int open_elf(struct elf_file *f)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EIO;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf)
		return -EIO;
	if (elf_kind(f->elf) != ELF_K_ELF || gelf_getclass(f->elf) != ELFCLASS64)
		return -ENOEXEC;
	if (!gelf_getehdr(f->elf, &f->ehdr))
		return -EIO;
	return 0;
}

int elf_file_open(const char *path, struct elf_file **out)
{
	struct elf_file *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->path = strdup(path);
	if (!f->path) {
		r = -ENOMEM;
		goto fail;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = open_elf(f);
	if (r == 0)
		r = load_segments(f);
	if (r == 0)
		r = scan_sections(f);
	if (r < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	elf_file_close(f);
	return r;
}

void elf_file_close(struct elf_file *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->version_names);
	free(f->loads);
	free(f->path);
	free(f);
}

const char *elf_file_path(const struct elf_file *f)
{
	return f->path;
}

Elf *elf_file_elf(const struct elf_file *f)
{
	return f->elf;
}

int elf_file_type(const struct elf_file *f)
{
	return f->ehdr.e_type;
}

int elf_file_machine(const struct elf_file *f)
{
	return f->ehdr.e_machine;
}

/* Search one block of notes for NT_GNU_BUILD_ID owned by "GNU". */
static int find_build_id_note(Elf_Data *data, uint8_t *buf, size_t size, size_t *len)
{
	GElf_Nhdr nhdr;
	size_t offset = 0, next, name_offset, desc_offset;
	const char *bytes = data->d_buf;

	while ((next = gelf_getnote(data, offset, &nhdr, &name_offset, &desc_offset)) > 0) {
		offset = next;
		if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
		    memcmp(bytes + name_offset, "GNU", 4) != 0)
			continue;
		if (nhdr.n_descsz > size)
			return -ENOBUFS;
		memcpy(buf, bytes + desc_offset, nhdr.n_descsz);
		*len = nhdr.n_descsz;
		return 0;
	}
	return -ENOENT;
}

static int build_id_from_sections(const struct elf_file *f, uint8_t *buf, size_t size,
				  size_t *len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	Elf_Data *data;
	int r;

	while ((scn = elf_nextscn(f->elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		r = find_build_id_note(data, buf, size, len);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

/* For files whose section headers were removed, the notes are still in PT_NOTE. */
static int build_id_from_segments(const struct elf_file *f, uint8_t *buf, size_t size,
				  size_t *len)
{
	size_t nphdr;
	GElf_Phdr phdr;
	Elf_Data *data;
	int r;

	if (elf_getphdrnum(f->elf, &nphdr) != 0)
		return -ENOENT;
	for (size_t i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(f->elf, (int64_t)phdr.p_offset, phdr.p_filesz,
					    phdr.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (!data)
			continue;
		r = find_build_id_note(data, buf, size, len);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

int elf_file_build_id(const struct elf_file *f, uint8_t *buf, size_t size, size_t *len)
{
	int r = build_id_from_sections(f, buf, size, len);

	if (r == -ENOENT)
		r = build_id_from_segments(f, buf, size, len);
	return r;
}

void elf_file_load_segments(const struct elf_file *f,
			    const struct elf_segment **segments, size_t *count)
{
	*segments = f->loads;
	*count = f->nloads;
}

static const struct elf_segment *segment_covering(const struct elf_file *f, uint64_t vaddr,
						  size_t len)
{
	for (size_t i = 0; i < f->nloads; i++) {
		const struct elf_segment *s = &f->loads[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->memsz &&
		    len <= s->memsz - (vaddr - s->vaddr))
			return s;
	}
	return NULL;
}

int elf_file_read(const struct elf_file *f, uint64_t vaddr, void *buf, size_t len)
{
	const struct elf_segment *s = segment_covering(f, vaddr, len);
	uint64_t start, in_file = 0;
	ssize_t n;

	if (!s)
		return -EFAULT;
	start = vaddr - s->vaddr;
	if (start < s->filesz)
		in_file = s->filesz - start < len ? s->filesz - start : len;
	if (in_file > 0) {
		n = pread(f->fd, buf, in_file, (off_t)(s->offset + start));
		if (n < 0)
			return -errno;
		if ((uint64_t)n != in_file)
			return -EIO;
	}
	memset((uint8_t *)buf + in_file, 0, len - in_file);
	return 0;
}

/*
 * Return 1 when the symbol table name `have` names `want`.  Linkers write
 * versioned dynamic symbols into .symtab as "name@@VERSION" (default) or
 * "name@VERSION", so a plain `want` also matches the default spelling.
 */
static int symbol_name_matches(const char *have, const char *want)
{
	size_t n = strlen(want);

	if (strncmp(have, want, n) != 0)
		return 0;
	if (have[n] == '\0')
		return 1;
	return !strchr(want, '@') && have[n] == '@' && have[n + 1] == '@';
}

static const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Compare an STT_FILE name with a user's hint.  A hint without '/' matches in any directory. */
static int file_matches_hint(const char *file, const char *hint)
{
	if (!file)
		return 0;
	if (strchr(hint, '/'))
		return strcmp(file, hint) == 0;
	return strcmp(path_basename(file), hint) == 0;
}

static int symbol_is_definition(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return sym->st_shndx != SHN_UNDEF && type != STT_SECTION && type != STT_FILE;
}

/* Candidates of a .symtab search, counted by kind. */
struct symbol_matches {
	size_t hinted, locals, globals;
	struct elf_symbol hinted_sym, local_sym, global_sym;
};

static void collect_symtab_matches(const struct elf_file *f, const struct symtab_view *view,
				   const char *name, const char *file_hint,
				   struct symbol_matches *m)
{
	const char *file = NULL, *sym_name;
	GElf_Sym sym;

	for (size_t i = 1; i < view->count; i++) {
		if (!gelf_getsym(view->data, (int)i, &sym))
			break;
		sym_name = symtab_view_name(f, view, &sym);
		if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			file = sym_name;
			continue;
		}
		if (i >= view->first_global)
			file = NULL;
		if (!symbol_is_definition(&sym) || !symbol_name_matches(sym_name, name))
			continue;
		if (GELF_ST_BIND(sym.st_info) != STB_LOCAL) {
			symbol_fill(&m->global_sym, &sym, sym_name, NULL);
			m->globals++;
		} else if (file_hint && file_matches_hint(file, file_hint)) {
			symbol_fill(&m->hinted_sym, &sym, sym_name, file);
			m->hinted++;
		} else {
			symbol_fill(&m->local_sym, &sym, sym_name, file);
			m->locals++;
		}
	}
}

static int pick_symbol_match(const struct symbol_matches *m, const char *file_hint,
			     struct elf_symbol *out)
{
	if (file_hint && m->hinted > 0) {
		*out = m->hinted_sym;
		return m->hinted == 1 ? 0 : -ENOTUNIQ;
	}
	if (file_hint || m->locals == 0) {
		if (m->globals == 0)
			return -ENOENT;
		*out = m->global_sym;
		return m->globals == 1 ? 0 : -ENOTUNIQ;
	}
	if (m->locals + m->hinted + m->globals > 1)
		return -ENOTUNIQ;
	*out = m->local_sym;
	return 0;
}

int elf_file_lookup_symbol(const struct elf_file *f, const char *name,
			   const char *file_hint, struct elf_symbol *out)
{
	struct symtab_view view;
	struct symbol_matches matches = { 0 };
	struct elf_dynsym dyn;
	int r;

	if (!f->symtab) {
		r = elf_file_find_dynsym(f, name, &dyn);
		if (r == 0)
			*out = dyn.sym;
		return r;
	}
	r = symtab_view_init(f, f->symtab, &view);
	if (r < 0)
		return r;
	collect_symtab_matches(f, &view, name, file_hint, &matches);
	return pick_symbol_match(&matches, file_hint, out);
}

int elf_file_lookup_global(const struct elf_file *f, const char *name,
			   struct elf_symbol *out)
{
	struct symtab_view view;
	struct elf_dynsym dyn;
	const char *sym_name;
	GElf_Sym sym;
	int r;

	if (symtab_view_init(f, f->symtab, &view) == 0) {
		for (size_t i = view.first_global; i < view.count; i++) {
			if (!gelf_getsym(view.data, (int)i, &sym))
				break;
			sym_name = symtab_view_name(f, &view, &sym);
			if (GELF_ST_BIND(sym.st_info) == STB_LOCAL || !symbol_is_definition(&sym) ||
			    !symbol_name_matches(sym_name, name))
				continue;
			symbol_fill(out, &sym, sym_name, NULL);
			return 0;
		}
	}
	r = elf_file_find_dynsym(f, name, &dyn);
	if (r == 0)
		*out = dyn.sym;
	return r;
}

static void append_text(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf);

	if (used < size)
		snprintf(buf + used, size - used, "%s%s", used ? ", " : "", text);
}

void elf_file_describe_definitions(const struct elf_file *f, const char *name,
				   char *buf, size_t size)
{
	struct symtab_view view;
	const char *file = NULL, *sym_name;
	GElf_Sym sym;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (symtab_view_init(f, f->symtab, &view) < 0)
		return;
	for (size_t i = 1; i < view.count; i++) {
		if (!gelf_getsym(view.data, (int)i, &sym))
			break;
		sym_name = symtab_view_name(f, &view, &sym);
		if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			file = sym_name;
			continue;
		}
		if (i >= view.first_global)
			file = NULL;
		if (!symbol_is_definition(&sym) || !symbol_name_matches(sym_name, name))
			continue;
		if (GELF_ST_BIND(sym.st_info) != STB_LOCAL)
			append_text(buf, size, "a global definition");
		else
			append_text(buf, size, file ? file : "an unnamed file");
	}
}

static void dynsym_fill_version(const struct elf_file *f, Elf_Data *versym, size_t index,
				struct elf_dynsym *out)
{
	GElf_Versym vs;
	size_t version;

	out->version = NULL;
	out->hidden = 0;
	if (!versym || !gelf_getversym(versym, (int)index, &vs))
		return;
	version = vs & VERSION_INDEX_MAX;
	out->hidden = (vs & 0x8000) != 0;
	/* Indexes 0 (local) and 1 (global) mean unversioned. */
	if (version >= 2 && version < f->nversion_names)
		out->version = f->version_names[version];
}

int elf_file_foreach_dynsym(const struct elf_file *f,
			    int (*fn)(const struct elf_dynsym *sym, void *arg), void *arg)
{
	struct symtab_view view;
	Elf_Data *versym = f->versym ? elf_getdata(f->versym, NULL) : NULL;
	struct elf_dynsym dyn;
	GElf_Sym sym;
	int r;

	if (symtab_view_init(f, f->dynsym, &view) < 0)
		return 0;
	for (size_t i = 1; i < view.count; i++) {
		if (!gelf_getsym(view.data, (int)i, &sym))
			return -EIO;
		symbol_fill(&dyn.sym, &sym, symtab_view_name(f, &view, &sym), NULL);
		dyn.defined = sym.st_shndx != SHN_UNDEF;
		dynsym_fill_version(f, versym, i, &dyn);
		r = fn(&dyn, arg);
		if (r != 0)
			return r;
	}
	return 0;
}

/* A "name[@[@]VERSION]" request split into its pieces. */
struct dynsym_request {
	const char *name;
	size_t name_len;
	const char *version; /* NULL for the default version */
	int default_only;    /* "@@" was used */
	struct elf_dynsym *out;
};

static int dynsym_request_match(const struct elf_dynsym *sym, void *arg)
{
	struct dynsym_request *req = arg;

	if (!sym->defined || strlen(sym->sym.name) != req->name_len ||
	    strncmp(sym->sym.name, req->name, req->name_len) != 0)
		return 0;
	if (!req->version) {
		if (sym->hidden)
			return 0;
	} else if (!sym->version || strcmp(sym->version, req->version) != 0 ||
		   (req->default_only && sym->hidden)) {
		return 0;
	}
	*req->out = *sym;
	return 1;
}

int elf_file_find_dynsym(const struct elf_file *f, const char *name,
			 struct elf_dynsym *out)
{
	struct dynsym_request req = { .name = name, .out = out };
	const char *at = strchr(name, '@');
	int r;

	req.name_len = at ? (size_t)(at - name) : strlen(name);
	if (at) {
		req.default_only = at[1] == '@';
		req.version = at + 1 + req.default_only;
	}
	r = elf_file_foreach_dynsym(f, dynsym_request_match, &req);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -ENOENT;
}

int elf_file_lookup_dynsym(struct elf_file *f, const char *name, uint64_t *value)
{
	struct elf_dynsym dyn;
	int r = elf_file_find_dynsym(f, name, &dyn);

	if (r == 0)
		*value = dyn.sym.value;
	return r;
}
