/*
 * Relocatable objects as suture build compares them: sections with sorted
 * relocations, symbols, and equality of two sections judged by what their
 * relocations point at instead of by offsets, which shift with every change.
 */
#include "build/build_diff.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMPARE_DEPTH_MAX 8 /* anonymous data referring to anonymous data, this deep */

static int compare_relas(const void *a, const void *b)
{
	const GElf_Rela *x = a, *y = b;

	if (x->r_offset != y->r_offset)
		return x->r_offset < y->r_offset ? -1 : 1;
	return 0;
}

static int load_relocations(struct build_object *o, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	struct build_section *s;
	size_t n;

	if (shdr->sh_info == 0 || shdr->sh_info >= o->nsections || !data || !shdr->sh_entsize)
		return -EINVAL;
	s = &o->sections[shdr->sh_info];
	n = data->d_size / shdr->sh_entsize;
	s->relas = calloc(n ? n : 1, sizeof(*s->relas));
	if (!s->relas)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getrela(data, (int)i, &s->relas[s->nrelas]))
			return -EINVAL;
		if (GELF_R_TYPE(s->relas[s->nrelas].r_info) != R_X86_64_NONE)
			s->nrelas++;
	}
	qsort(s->relas, s->nrelas, sizeof(*s->relas), compare_relas);
	return 0;
}

static int is_read_only(const struct build_object *o, const GElf_Sym *sym)
{
	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= o->nsections)
		return 0;
	return !(o->sections[sym->st_shndx].shdr.sh_flags & SHF_WRITE) ||
	       !strncmp(o->sections[sym->st_shndx].name, ".data.rel.ro", 12);
}

static int load_symbols(struct build_object *o, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);

	if (!data || !shdr->sh_entsize)
		return -EINVAL;
	o->nsymbols = data->d_size / shdr->sh_entsize;
	o->symbols = calloc(o->nsymbols ? o->nsymbols : 1, sizeof(*o->symbols));
	if (!o->symbols)
		return -ENOMEM;
	for (size_t i = 0; i < o->nsymbols; i++) {
		struct build_symbol *s = &o->symbols[i];
		const char *name;

		if (!gelf_getsym(data, (int)i, &s->sym))
			return -EINVAL;
		name = elf_strptr(o->elf, shdr->sh_link, s->sym.st_name);
		s->name = name ? name : "";
		s->type = GELF_ST_TYPE(s->sym.st_info);
		s->bind = GELF_ST_BIND(s->sym.st_info);
		s->pair = -1;
		if (s->type == STT_FILE && !o->source)
			o->source = s->name;
	}
	return 0;
}

/* Local read-only data (string tables, __func__, const tables) is compared by content. */
static void classify_symbols(struct build_object *o)
{
	for (size_t i = 0; i < o->nsymbols; i++) {
		struct build_symbol *s = &o->symbols[i];

		s->by_content = s->type == STT_OBJECT && s->bind == STB_LOCAL &&
				is_read_only(o, &s->sym);
	}
}

static int load_sections(struct build_object *o)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	int r = 0;

	if (elf_getshdrnum(o->elf, &o->nsections) || elf_getshdrstrndx(o->elf, &shstrndx))
		return -EINVAL;
	o->sections = calloc(o->nsections ? o->nsections : 1, sizeof(*o->sections));
	if (!o->sections)
		return -ENOMEM;
	while ((scn = elf_nextscn(o->elf, scn))) {
		struct build_section *s = &o->sections[elf_ndxscn(scn)];
		const char *name;

		if (!gelf_getshdr(scn, &s->shdr))
			return -EINVAL;
		name = elf_strptr(o->elf, shstrndx, s->shdr.sh_name);
		s->name = name ? name : "";
		s->data = s->shdr.sh_type == SHT_NOBITS ? NULL : elf_getdata(scn, NULL);
	}
	while (r == 0 && (scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr shdr;

		gelf_getshdr(scn, &shdr);
		if (shdr.sh_type == SHT_SYMTAB)
			r = load_symbols(o, scn, &shdr);
		else if (shdr.sh_type == SHT_RELA)
			r = load_relocations(o, scn, &shdr);
	}
	return r;
}

int build_object_open(const char *path, struct build_object *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->path = path;
	elf_version(EV_CURRENT);
	out->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (out->fd < 0)
		return -errno;
	out->elf = elf_begin(out->fd, ELF_C_READ, NULL);
	if (!out->elf || elf_kind(out->elf) != ELF_K_ELF)
		return -ENOEXEC;
	r = load_sections(out);
	if (r == 0 && !out->symbols)
		r = -EINVAL;
	if (r == 0)
		classify_symbols(out);
	return r;
}

void build_object_close(struct build_object *o)
{
	for (size_t i = 0; o->sections && i < o->nsections; i++)
		free(o->sections[i].relas);
	free(o->sections);
	free(o->symbols);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd > 0)
		close(o->fd);
	memset(o, 0, sizeof(*o));
}

static int is_defined(const GElf_Sym *sym)
{
	return sym->st_shndx != SHN_UNDEF && sym->st_shndx < SHN_LORESERVE;
}

int build_symbol_is_function(const struct build_symbol *s)
{
	return s->type == STT_FUNC && is_defined(&s->sym) && s->name[0];
}

/* Variables that are shared with the target by name: globals and writable statics. */
int build_symbol_is_variable(const struct build_symbol *s)
{
	return s->type == STT_OBJECT && s->name[0] && !s->by_content &&
	       (is_defined(&s->sym) || s->sym.st_shndx == SHN_COMMON);
}

/* "name.N" with a C identifier before the dot: gcc's name for a function's static variable. */
int build_is_static_local_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (!dot || dot == name || !dot[1] || (!isalpha((unsigned char)name[0]) && name[0] != '_'))
		return 0;
	for (const char *p = name; p < dot; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	}
	for (const char *p = dot + 1; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
	}
	return 1;
}

/* Drop the numbers gcc gives clones and statics: "f.constprop.3.isra.0" becomes "f.constprop.isra". */
char *build_strip_clone_suffix(const char *name)
{
	char *out = malloc(strlen(name) + 1);
	const char *p = name;
	size_t n = 0;

	if (!out)
		return NULL;
	while (*p) {
		size_t len = strcspn(p + 1, ".") + 1;
		int digits = *p == '.' && len > 1;

		for (size_t i = 1; digits && i < len; i++)
			digits = isdigit((unsigned char)p[i]);
		if (!digits || p == name) {
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	out[n] = '\0';
	return out;
}

/* What a relocation refers to, in terms that do not depend on the layout of the object. */
enum ref_kind { REF_NAME, REF_SELF, REF_STRING, REF_CONTENT };

struct ref {
	enum ref_kind kind;
	const char *key;     /* REF_NAME: the symbol's key, NULL for a new symbol */
	const char *text;    /* REF_STRING */
	size_t section;      /* REF_CONTENT */
	int64_t offset;      /* addend relative to the symbol, string or section */
};

static int is_pc_relative(uint32_t type)
{
	switch (type) {
	case R_X86_64_PC32: case R_X86_64_PLT32: case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX: case R_X86_64_REX_GOTPCRELX:
		return 1;
	default:
		return 0;
	}
}

/*
 * What to add to symbol + addend to reach the address a relocation refers
 * to.  In code, a PC-relative operand lies 4 bytes before the end of its
 * instruction, which the addend's -4 undoes.  In data, a PC-relative entry
 * is one of a table of offsets from the table's start (gcc's jump tables,
 * clang's relative lookup tables), so its addend includes the entry's
 * offset in the section.
 */
static int64_t pc_bias(const struct build_object *o, size_t self, const GElf_Rela *rela)
{
	if (!is_pc_relative((uint32_t)GELF_R_TYPE(rela->r_info)))
		return 0;
	if (o->sections[self].shdr.sh_flags & SHF_EXECINSTR)
		return 4;
	return -(int64_t)rela->r_offset;
}

/* The key-identified symbol of `section` that contains `at`, else the nearest before it. */
static const struct build_symbol *symbol_at(const struct build_object *o, size_t section,
					    int64_t at)
{
	const struct build_symbol *best = NULL;

	for (size_t i = 0; i < o->nsymbols; i++) {
		const struct build_symbol *s = &o->symbols[i];

		if (s->sym.st_shndx != section ||
		    !(build_symbol_is_function(s) || build_symbol_is_variable(s)))
			continue;
		if (at >= (int64_t)s->sym.st_value && at < (int64_t)(s->sym.st_value + s->sym.st_size))
			return s;
		if (!best || ((int64_t)s->sym.st_value <= at && s->sym.st_value > best->sym.st_value))
			best = s;
	}
	return best;
}

static void string_ref(const struct build_object *o, size_t section, int64_t at,
		       int64_t offset, struct ref *out)
{
	const struct build_section *s = &o->sections[section];
	const char *bytes = s->data ? s->data->d_buf : NULL;
	int64_t size = s->data ? (int64_t)s->data->d_size : 0;
	int64_t start = at < 0 ? 0 : at >= size ? size - 1 : at;

	out->kind = REF_STRING;
	if (!bytes || size <= 0 || bytes[size - 1] != '\0') {
		out->kind = REF_CONTENT;
		out->section = section;
		out->offset = offset;
		return;
	}
	while (start > 0 && bytes[start - 1] != '\0')
		start--;
	out->text = bytes + start;
	out->offset = offset - start;
}

static void ref_of(const struct build_object *o, size_t self, const GElf_Rela *rela,
		   struct ref *out)
{
	size_t index = GELF_R_SYM(rela->r_info);
	const struct build_symbol *s = index < o->nsymbols ? &o->symbols[index] : NULL;
	const struct build_symbol *named;
	int64_t offset, at;

	memset(out, 0, sizeof(*out));
	out->kind = REF_NAME;
	out->offset = rela->r_addend;
	if (!s || !is_defined(&s->sym)) {
		out->key = s ? s->name : NULL;
		return;
	}
	if (build_symbol_is_function(s) || build_symbol_is_variable(s)) {
		out->key = s->key;
		return;
	}
	offset = (int64_t)s->sym.st_value + rela->r_addend;
	at = offset + pc_bias(o, self, rela);
	if (s->sym.st_shndx == self) {
		out->kind = REF_SELF;
		out->offset = offset;
		return;
	}
	named = symbol_at(o, s->sym.st_shndx, at);
	if (named) {
		out->key = named->key;
		out->offset = offset - (int64_t)named->sym.st_value;
	} else if (o->sections[s->sym.st_shndx].shdr.sh_flags & SHF_STRINGS) {
		string_ref(o, s->sym.st_shndx, at, offset, out);
	} else {
		out->kind = REF_CONTENT;
		out->section = s->sym.st_shndx;
		out->offset = offset;
	}
}

static int refs_equal(const struct build_object *a, const struct ref *ra,
		      const struct build_object *b, const struct ref *rb, int depth)
{
	if (ra->kind != rb->kind || ra->offset != rb->offset)
		return 0;
	switch (ra->kind) {
	case REF_NAME:
		return ra->key && rb->key && !strcmp(ra->key, rb->key);
	case REF_SELF:
		return 1;
	case REF_STRING:
		return !strcmp(ra->text, rb->text);
	case REF_CONTENT:
		return build_sections_equal(a, ra->section, b, rb->section, depth + 1);
	}
	return 0;
}

static int headers_equal(const GElf_Shdr *x, const GElf_Shdr *y)
{
	const GElf_Xword flags = SHF_WRITE | SHF_ALLOC | SHF_EXECINSTR | SHF_TLS;

	return x->sh_type == y->sh_type && x->sh_size == y->sh_size &&
	       (x->sh_flags & flags) == (y->sh_flags & flags);
}

/*
 * Return 1 when two sections have the same bytes and their relocations
 * refer to the same things at the same places.  A reference into a string
 * section compares the string, and one into anonymous data (jump tables,
 * constants) compares that data in turn.
 */
int build_sections_equal(const struct build_object *a, size_t sa, const struct build_object *b,
			 size_t sb, int depth)
{
	const struct build_section *x = &a->sections[sa], *y = &b->sections[sb];
	struct ref rx, ry;

	if (depth > COMPARE_DEPTH_MAX || !headers_equal(&x->shdr, &y->shdr) ||
	    x->nrelas != y->nrelas || !x->data != !y->data)
		return 0;
	if (x->data && (x->data->d_size != y->data->d_size ||
			(x->data->d_size && memcmp(x->data->d_buf, y->data->d_buf, x->data->d_size))))
		return 0;
	for (size_t i = 0; i < x->nrelas; i++) {
		if (x->relas[i].r_offset != y->relas[i].r_offset ||
		    GELF_R_TYPE(x->relas[i].r_info) != GELF_R_TYPE(y->relas[i].r_info))
			return 0;
		ref_of(a, sa, &x->relas[i], &rx);
		ref_of(b, sb, &y->relas[i], &ry);
		if (!refs_equal(a, &rx, b, &ry, depth))
			return 0;
	}
	return 1;
}
