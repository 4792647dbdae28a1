/* The patch linker's driver: inputs, replaced functions and the resulting patch. */
#include "link/link_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/log.h"

int link_fail(struct linker *l, enum link_error_kind kind, int rc, const char *fmt, ...)
{
	va_list ap;

	l->err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(l->err->message, sizeof(l->err->message), fmt, ap);
	va_end(ap);
	return rc;
}

int link_parse_replacement(char *spec, struct link_replacement *out)
{
	char *colon = strchr(spec, ':');
	char *equals = strchr(spec, '=');
	char *old_name = spec;

	out->file_hint = NULL;
	if (colon && (!equals || colon < equals)) {
		*colon = '\0';
		out->file_hint = spec;
		old_name = colon + 1;
	}
	out->old_name = old_name;
	out->new_name = old_name;
	if (equals) {
		*equals = '\0';
		out->new_name = equals + 1;
	}
	if (!out->old_name[0] || !out->new_name[0] || (out->file_hint && !out->file_hint[0]))
		return -EINVAL;
	return 0;
}

static const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int open_target(struct linker *l)
{
	const char *path = l->in->target_path;
	int r = elf_file_open(path, &l->target);

	l->target_name = path_basename(path);
	if (r == -ENOEXEC)
		return link_fail(l, LINK_ERR_INPUT, r, "%s is not a 64-bit ELF file", path);
	if (r < 0)
		return link_fail(l, LINK_ERR_INPUT, r, "cannot open target %s: %s", path, strerror(-r));
	if (elf_file_type(l->target) != ET_EXEC && elf_file_type(l->target) != ET_DYN)
		return link_fail(l, LINK_ERR_INPUT, -EINVAL,
				 "%s is not an executable or shared library", path);
	if (elf_file_machine(l->target) != EM_X86_64)
		return link_fail(l, LINK_ERR_INPUT, -EINVAL,
				 "%s is not an x86-64 binary; only x86-64 is supported", path);
	return 0;
}

static int open_inputs(struct linker *l)
{
	int r = open_target(l);

	if (r < 0)
		return r;
	if (l->in->nobjects == 0)
		return link_fail(l, LINK_ERR_INPUT, -EINVAL, "no object files given");
	if (l->in->nreplacements == 0)
		return link_fail(l, LINK_ERR_INPUT, -EINVAL, "no functions to replace given");
	l->objects = calloc(l->in->nobjects, sizeof(*l->objects));
	l->new_object = calloc(l->in->nreplacements, sizeof(*l->new_object));
	l->new_symbol = calloc(l->in->nreplacements, sizeof(*l->new_symbol));
	l->funcs = calloc(l->in->nreplacements, sizeof(*l->funcs));
	if (!l->objects || !l->new_object || !l->new_symbol || !l->funcs)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	l->nobjects = l->in->nobjects;
	for (size_t i = 0; i < l->nobjects; i++) {
		r = link_load_object(l, i, l->in->object_paths[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int lookup_old_function(struct linker *l, const struct link_replacement *rep,
			       const char *object_source, struct elf_symbol *sym)
{
	char files[256];
	int r;

	if (rep->file_hint) {
		r = elf_file_lookup_symbol(l->target, rep->old_name, rep->file_hint, sym);
	} else {
		/* A static replacement usually comes from the same source file as the original. */
		r = elf_file_lookup_symbol(l->target, rep->old_name, object_source, sym);
		if (r == -ENOENT && object_source)
			r = elf_file_lookup_symbol(l->target, rep->old_name, NULL, sym);
	}
	if (r == -ENOENT)
		return link_fail(l, LINK_ERR_FUNCTION, r, "function %s not found in %s%s%s",
				 rep->old_name, l->target_name, rep->file_hint ? " file " : "",
				 rep->file_hint ? rep->file_hint : "");
	if (r == -ENOTUNIQ) {
		elf_file_describe_definitions(l->target, rep->old_name, files, sizeof(files));
		return link_fail(l, LINK_ERR_FUNCTION, r,
				 "function %s is defined more than once in %s (%s); "
				 "name one as FILE:%s", rep->old_name, l->target_name, files,
				 rep->old_name);
	}
	if (r < 0)
		return link_fail(l, LINK_ERR_INTERNAL, r, "cannot read the symbols of %s: %s",
				 l->target_name, strerror(-r));
	return 0;
}

static int check_old_function(struct linker *l, const char *name, const struct elf_symbol *sym)
{
	if (sym->type != STT_FUNC)
		return link_fail(l, LINK_ERR_FUNCTION, -EINVAL,
				 "%s in %s is not a function%s", name, l->target_name,
				 sym->type == STT_GNU_IFUNC ? " but an IFUNC resolver" : "");
	if (sym->size < PATCH_JUMP_SIZE)
		return link_fail(l, LINK_ERR_FUNCTION, -ERANGE,
				 "function %s is %llu bytes, shorter than the %d-byte jump",
				 name, (unsigned long long)sym->size, PATCH_JUMP_SIZE);
	for (size_t i = 0; i < l->in->nreplacements; i++) {
		if (l->funcs[i].name && l->funcs[i].old_addr == sym->value)
			return link_fail(l, LINK_ERR_FUNCTION, -EEXIST,
					 "function %s is replaced twice; give one --replace per function",
					 name);
	}
	return 0;
}

static int hash_old_function(struct linker *l, const struct elf_symbol *sym, uint8_t out[32])
{
	uint8_t *bytes = malloc(sym->size);
	int r;

	if (!bytes)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = elf_file_read(l->target, sym->value, bytes, sym->size);
	if (r == 0)
		crypto_hash_sha256(out, bytes, sym->size);
	free(bytes);
	if (r < 0)
		return link_fail(l, LINK_ERR_INPUT, r, "cannot read function %s from %s: %s",
				 sym->name, l->target_name, strerror(-r));
	return 0;
}

/* Fill l->funcs[i] except new_offset, which needs the layout. */
static int resolve_replacement(struct linker *l, size_t i)
{
	const struct link_replacement *rep = &l->in->replacements[i];
	struct patch_func *func = &l->funcs[i];
	struct elf_symbol old;
	GElf_Sym new_sym;
	int r;

	r = link_find_new_function(l, rep->new_name, rep->file_hint, &l->new_object[i],
				   &l->new_symbol[i]);
	if (r == 0)
		r = lookup_old_function(l, rep, l->objects[l->new_object[i]].source, &old);
	if (r == 0)
		r = check_old_function(l, rep->old_name, &old);
	if (r == 0)
		r = hash_old_function(l, &old, func->old_sha256);
	if (r == 0)
		r = link_get_symbol(l, l->new_object[i], l->new_symbol[i], &new_sym);
	if (r < 0)
		return r;
	func->old_addr = old.value;
	func->old_size = old.size;
	func->new_size = new_sym.st_size;
	func->name = strdup(rep->old_name);
	if (!func->name)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	return 0;
}

static int resolve_replacements(struct linker *l)
{
	int r;

	if (sodium_init() < 0)
		return link_fail(l, LINK_ERR_INTERNAL, -EIO, "cannot initialise libsodium");
	for (size_t i = 0; i < l->in->nreplacements; i++) {
		r = resolve_replacement(l, i);
		if (r < 0)
			return r;
	}
	return 0;
}

static void set_new_offsets(struct linker *l)
{
	GElf_Sym sym;

	for (size_t i = 0; i < l->in->nreplacements; i++) {
		struct link_object *o = &l->objects[l->new_object[i]];

		/* link_find_new_function() already checked the symbol and its section. */
		gelf_getsym(o->symbols, (int)l->new_symbol[i], &sym);
		l->funcs[i].new_offset = o->sections[sym.st_shndx].offset + sym.st_value;
	}
}

/*
 * Warn when a root section contains several functions, because without
 * -ffunction-sections every function of the object's .text ends up in the patch.
 */
static void warn_shared_text(struct linker *l)
{
	for (size_t i = 0; i < l->in->nreplacements; i++) {
		struct link_object *o = &l->objects[l->new_object[i]];
		GElf_Sym sym, root;
		size_t functions = 0;

		gelf_getsym(o->symbols, (int)l->new_symbol[i], &root);
		for (size_t j = 1; j < o->nsymbols; j++) {
			if (gelf_getsym(o->symbols, (int)j, &sym) &&
			    GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx == root.st_shndx)
				functions++;
		}
		if (functions > 1)
			log_warn("%s: section %s contains %zu functions, all copied into the patch; "
				 "compile with -ffunction-sections to leave unused ones out",
				 o->path, o->sections[root.st_shndx].name, functions);
	}
}

/*
 * Warn about static variables that the patch copies instead of sharing: the
 * replacement reads and writes a fresh copy that starts from its initial
 * value, while the unpatched code keeps using the process's variable.
 */
static void warn_static_copies(struct linker *l)
{
	struct elf_symbol old;
	GElf_Sym sym;

	for (size_t i = 0; i < l->nobjects; i++) {
		struct link_object *o = &l->objects[i];

		for (size_t j = 1; j < o->nsymbols && o->source; j++) {
			if (!gelf_getsym(o->symbols, (int)j, &sym) ||
			    GELF_ST_BIND(sym.st_info) != STB_LOCAL ||
			    GELF_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_shndx >= o->nsections ||
			    !o->sections[sym.st_shndx].included ||
			    (o->sections[sym.st_shndx].part != PATCH_PART_DATA &&
			     o->sections[sym.st_shndx].part != PATCH_PART_BSS))
				continue;
			if (elf_file_lookup_symbol(l->target, link_symbol_name(o, &sym), o->source,
						   &old) == 0 && old.bind == STB_LOCAL)
				log_warn("static variable %s of %s gets a new copy in the patch; "
					 "the running process's copy is not shared",
					 link_symbol_name(o, &sym), o->source);
		}
	}
}

static int read_build_id(struct linker *l, struct patch *p)
{
	int r = elf_file_build_id(l->target, p->build_id, sizeof(p->build_id), &p->build_id_len);

	if (r == -ENOENT)
		return link_fail(l, LINK_ERR_UNSUPPORTED, r,
				 "%s has no GNU build-id, which identifies a patch's target; "
				 "relink it with -Wl,--build-id", l->target_name);
	if (r < 0)
		return link_fail(l, LINK_ERR_UNSUPPORTED, r, "cannot read the build-id of %s: %s",
				 l->target_name, strerror(-r));
	return 0;
}

/* Move the results into `p`, leaving the linker without them. */
static int build_patch(struct linker *l, struct patch *p)
{
	int r = read_build_id(l, p);

	if (r < 0)
		return r;
	p->version = PATCH_FORMAT_VERSION;
	p->object_name = strdup(l->target_name);
	if (!p->object_name)
		return link_fail(l, LINK_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (int part = 0; part < PATCH_PART_COUNT; part++) {
		p->part_size[part] = l->part_size[part];
		p->part_data[part] = l->part_data[part];
		l->part_data[part] = NULL;
	}
	p->funcs = l->funcs;
	p->nfuncs = l->in->nreplacements;
	l->funcs = NULL;
	p->relocs = l->relocs;
	p->nrelocs = l->nrelocs;
	l->relocs = NULL;
	l->nrelocs = 0;
	if (l->eh_frame_size) {
		p->eh_frame_offset = l->eh_frame_offset;
		p->eh_frame_size = l->eh_frame_size;
		p->eh_frame_reg_offset = l->eh_frame_reg_offset;
		p->eh_frame_reg_size = PATCH_EH_FRAME_REG_SIZE;
	}
	return 0;
}

static void free_linker(struct linker *l)
{
	for (size_t i = 0; l->funcs && i < l->in->nreplacements; i++)
		free(l->funcs[i].name);
	free(l->funcs);
	for (size_t i = 0; i < l->nrelocs; i++)
		free(l->relocs[i].symbol);
	free(l->relocs);
	for (int part = 0; part < PATCH_PART_COUNT; part++)
		free(l->part_data[part]);
	free(l->stubs);
	free(l->slots);
	for (size_t i = 0; l->names && i < l->nnames; i++)
		free(l->names[i].versioned);
	free(l->names);
	link_free_versions(l);
	free(l->new_object);
	free(l->new_symbol);
	link_free_objects(l);
	elf_file_close(l->target);
}

static int run_link_steps(struct linker *l)
{
	int r = open_inputs(l);

	if (r == 0)
		r = link_index_names(l);
	if (r == 0)
		r = resolve_replacements(l);
	if (r == 0)
		r = link_select_sections(l);
	if (r < 0)
		return r;
	warn_shared_text(l);
	/* In selective mode only new variables are copied, so nothing is split. */
	if (!l->in->selective)
		warn_static_copies(l);

	r = link_layout(l);
	if (r == 0)
		r = link_copy_sections(l);
	/* The entries of the new copies are known once laid out; the
	 * relocations need them (reroute_to_entry in link_reloc.c). */
	if (r == 0)
		set_new_offsets(l);
	if (r == 0)
		r = link_translate_relocations(l);
	if (r == 0)
		r = link_emit_stubs(l);
	return r;
}

int link_patch(const struct link_input *in, struct patch *out, struct link_error *err)
{
	struct linker l = { .in = in, .err = err };
	struct patch p = { 0 };
	int r;

	err->kind = LINK_ERR_NONE;
	err->message[0] = '\0';
	r = run_link_steps(&l);
	if (r == 0)
		r = build_patch(&l, &p);
	if (r == 0)
		*out = p;
	else
		free(p.object_name);
	free_linker(&l);
	return r;
}
