/*
 * The comparison of one translation unit before and after the diff: which
 * functions changed, which are new, and whether the data changes are safe.
 *
 * Symbols pair by name.  gcc numbers its clones (.isra.N, .constprop.N,
 * .part.N) and the static variables of functions (name.N), and a change
 * elsewhere in the file can renumber them, so what is left pairs by the
 * name without the numbers when that is unambiguous, and static variables
 * then by the function that uses them.
 */
#include "build/build_diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_internal.h"
#include "build/build_layout.h"
#include "util/exitcode.h"
#include "util/log.h"

struct unit_diff {
	struct build_object orig, fixed;
	size_t index; /* link object index of the fixed object */
	struct build_changes *changes;
	/*
	 * Stacked patch: the running build's object, paired with `base`, a
	 * second reading of the original object, so that the pairs of `orig`
	 * with `fixed` stay as they are.  `running` is not open when the
	 * running build lacks the source.
	 */
	int stacked;
	struct build_object running, base;
};

/*
 * A name that no target defines.  A variable that only the base diffs add
 * is aliased to it, so that the linker rejects a patch that reaches it
 * instead of binding to a variable of the same name in the running build.
 */
#define NAME_NOT_IN_TARGET "(added by a --base-diff)"

static int same_class(const struct build_symbol *a, const struct build_symbol *b)
{
	return build_symbol_is_function(a) == build_symbol_is_function(b) &&
	       build_symbol_is_variable(a) == build_symbol_is_variable(b);
}

static int is_candidate(const struct build_symbol *s)
{
	return build_symbol_is_function(s) || build_symbol_is_variable(s);
}

static int is_static_local(const struct build_symbol *s)
{
	return build_symbol_is_variable(s) && s->bind == STB_LOCAL &&
	       build_is_static_local_name(s->name);
}

static void pair(struct unit_diff *d, size_t fixed, size_t orig)
{
	d->fixed.symbols[fixed].pair = (long)orig;
	d->orig.symbols[orig].pair = (long)fixed;
}

/* Return 1 for a function clone whose name gcc numbers: "f.constprop.0", "f.part.1". */
static int is_numbered_clone(const struct build_symbol *s)
{
	char *stripped;
	int numbered;

	if (!build_symbol_is_function(s) || !strchr(s->name, '.'))
		return 0;
	stripped = build_strip_clone_suffix(s->name);
	numbered = stripped && strcmp(stripped, s->name) != 0;
	free(stripped);
	return numbered;
}

static void pair_exact_names(struct unit_diff *d)
{
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		struct build_symbol *f = &d->fixed.symbols[i];

		if (!is_candidate(f) || is_static_local(f) || is_numbered_clone(f))
			continue;
		for (size_t j = 0; j < d->orig.nsymbols; j++) {
			struct build_symbol *o = &d->orig.symbols[j];

			if (o->pair < 0 && is_candidate(o) && same_class(f, o) &&
			    !strcmp(f->name, o->name)) {
				pair(d, i, j);
				break;
			}
		}
	}
}

/* Count unpaired symbols of `obj` that match `s` by stripped name, and return the last one. */
static size_t count_by_stripped(const struct build_object *obj, const struct build_symbol *s,
				const char *stripped, long *found)
{
	size_t n = 0;

	for (size_t j = 0; j < obj->nsymbols; j++) {
		const struct build_symbol *o = &obj->symbols[j];
		char *other;

		if (o->pair >= 0 || !is_candidate(o) || !same_class(s, o))
			continue;
		other = build_strip_clone_suffix(o->name);
		if (other && !strcmp(other, stripped)) {
			n++;
			*found = (long)j;
		}
		free(other);
	}
	return n;
}

static int same_code(const struct unit_diff *d, const struct build_symbol *f,
		     const struct build_symbol *o)
{
	return f->sym.st_size == o->sym.st_size &&
	       build_sections_equal(&d->orig, o->sym.st_shndx, &d->fixed, f->sym.st_shndx, 0);
}

/*
 * Pair numbered clones whose code is the same.  A diff can renumber them:
 * gcc numbers the clones of a function in the order it makes them, so a
 * new caller can turn the deployed f.constprop.0 into f.constprop.1 while
 * a new f.constprop.0 takes another constant.  Pairing by name would then
 * replace a clone with another clone's code.  Keys must be set first.  A
 * clone that calls other clones pairs in a later round, once they have.
 */
static int pair_clones_by_code(struct unit_diff *d)
{
	int progress = 1;

	while (progress) {
		progress = 0;
		for (size_t i = 0; i < d->fixed.nsymbols; i++) {
			struct build_symbol *f = &d->fixed.symbols[i];
			char *stripped;
			long match = -1;
			size_t matches = 0;

			if (f->pair >= 0 || !is_numbered_clone(f))
				continue;
			stripped = build_strip_clone_suffix(f->name);
			if (!stripped)
				return -ENOMEM;
			for (size_t j = 0; j < d->orig.nsymbols; j++) {
				struct build_symbol *o = &d->orig.symbols[j];
				char *other;

				if (o->pair >= 0 || !is_numbered_clone(o))
					continue;
				other = build_strip_clone_suffix(o->name);
				if (other && !strcmp(other, stripped) && same_code(d, f, o)) {
					matches++;
					match = (long)j;
				}
				free(other);
			}
			free(stripped);
			if (matches == 1) {
				pair(d, i, (size_t)match);
				f->key = d->orig.symbols[match].name;
				progress = 1;
			}
		}
	}
	return 0;
}

/* Pair what is left when the names without gcc's numbers match exactly one symbol on each side. */
static int pair_stripped_names(struct unit_diff *d)
{
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		struct build_symbol *f = &d->fixed.symbols[i];
		long in_orig = -1, in_fixed = -1;
		char *stripped;

		if (f->pair >= 0 || !is_candidate(f))
			continue;
		stripped = build_strip_clone_suffix(f->name);
		if (!stripped)
			return -ENOMEM;
		if (strcmp(stripped, f->name) != 0 &&
		    count_by_stripped(&d->fixed, f, stripped, &in_fixed) == 1 &&
		    count_by_stripped(&d->orig, f, stripped, &in_orig) == 1)
			pair(d, i, (size_t)in_orig);
		free(stripped);
	}
	return 0;
}

/* Return 1 when a relocation of `section` refers to symbol `target` or to its section. */
static int section_refers_to(const struct build_object *o, size_t section, size_t target)
{
	const struct build_section *s = &o->sections[section];
	const struct build_symbol *t = &o->symbols[target];

	for (size_t i = 0; i < s->nrelas; i++) {
		size_t index = GELF_R_SYM(s->relas[i].r_info);
		const struct build_symbol *r = index < o->nsymbols ? &o->symbols[index] : NULL;

		if (index == target ||
		    (r && r->type == STT_SECTION && r->sym.st_shndx == t->sym.st_shndx))
			return 1;
	}
	return 0;
}

/* The key of the first paired function that uses a static variable, or NULL. */
static const char *owner_of(const struct build_object *o, size_t variable)
{
	for (size_t i = 0; i < o->nsymbols; i++) {
		const struct build_symbol *f = &o->symbols[i];

		if (build_symbol_is_function(f) && f->key &&
		    section_refers_to(o, f->sym.st_shndx, variable))
			return f->key;
	}
	return NULL;
}

/* Pair the renumbered static variables of functions by the function that uses them. */
static int pair_static_locals_by_owner(struct unit_diff *d)
{
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		struct build_symbol *f = &d->fixed.symbols[i];
		const char *owner;
		char *base;
		long match = -1;
		size_t matches = 0;

		if (f->pair >= 0 || !is_static_local(f))
			continue;
		owner = owner_of(&d->fixed, i);
		base = build_strip_clone_suffix(f->name);
		if (!base)
			return -ENOMEM;
		for (size_t j = 0; owner && j < d->orig.nsymbols; j++) {
			struct build_symbol *o = &d->orig.symbols[j];
			char *other;
			const char *other_owner;

			if (o->pair >= 0 || !is_static_local(o))
				continue;
			other = build_strip_clone_suffix(o->name);
			other_owner = owner_of(&d->orig, j);
			if (other && !strcmp(other, base) && other_owner && !strcmp(other_owner, owner)) {
				matches++;
				match = (long)j;
			}
			free(other);
		}
		if (matches == 1)
			pair(d, i, (size_t)match);
		free(base);
	}
	return 0;
}

static void set_keys(struct unit_diff *d)
{
	for (size_t j = 0; j < d->orig.nsymbols; j++) {
		if (is_candidate(&d->orig.symbols[j]))
			d->orig.symbols[j].key = d->orig.symbols[j].name;
	}
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		struct build_symbol *f = &d->fixed.symbols[i];

		f->key = f->pair >= 0 ? d->orig.symbols[f->pair].name : NULL;
	}
}

static int correlate(struct unit_diff *d)
{
	int r;

	/* Function keys must be known before static variables pair by their owner. */
	pair_exact_names(d);
	set_keys(d);
	r = pair_clones_by_code(d);
	if (r == 0)
		r = pair_stripped_names(d);
	set_keys(d);
	if (r == 0)
		r = pair_static_locals_by_owner(d);
	set_keys(d);
	return r;
}

/*
 * The running build's name for symbol `orig_index` of the original object,
 * or NULL when the running build has no such symbol, because a base diff
 * added it.
 */
static const char *running_name(const struct unit_diff *d, long orig_index)
{
	long pair;

	if (!d->stacked)
		return d->orig.symbols[orig_index].name;
	if (!d->running.elf)
		return NULL;
	pair = d->base.symbols[orig_index].pair;
	return pair >= 0 ? d->running.symbols[pair].name : NULL;
}

static int symbols_equal(const struct unit_diff *d, const struct build_symbol *f)
{
	const struct build_symbol *o = &d->orig.symbols[f->pair];

	if (f->sym.st_shndx == SHN_COMMON || o->sym.st_shndx == SHN_COMMON)
		return f->sym.st_shndx == o->sym.st_shndx && f->sym.st_size == o->sym.st_size;
	if (f->sym.st_size != o->sym.st_size || f->sym.st_value != o->sym.st_value)
		return 0;
	return build_sections_equal(&d->orig, o->sym.st_shndx, &d->fixed, f->sym.st_shndx, 0);
}

/* "foo.cold" and "foo.part.0.cold" are split-off parts of "foo" and "foo.part.0". */
static size_t cold_parent_length(const char *name)
{
	const char *cold = strstr(name, ".cold");

	if (!cold || (cold[5] && cold[5] != '.'))
		return 0;
	return (size_t)(cold - name);
}

static struct build_symbol *find_function(struct build_object *o, const char *name, size_t len)
{
	for (size_t i = 0; i < o->nsymbols; i++) {
		struct build_symbol *s = &o->symbols[i];

		if (build_symbol_is_function(s) && strlen(s->name) == len && !strncmp(s->name, name, len))
			return s;
	}
	return NULL;
}

static void mark_changes(struct unit_diff *d)
{
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		struct build_symbol *f = &d->fixed.symbols[i];

		if (f->pair >= 0 && is_candidate(f))
			f->changed = !symbols_equal(d, f);
	}
	/* A cold part is reached only from its parent, so a change to it changes the parent. */
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		struct build_symbol *f = &d->fixed.symbols[i];
		size_t len = cold_parent_length(f->name);
		struct build_symbol *parent;

		if (!build_symbol_is_function(f) || !len || (f->pair >= 0 && !f->changed))
			continue;
		parent = find_function(&d->fixed, f->name, len);
		if (parent && parent->pair >= 0)
			parent->changed = 1;
	}
}

static const char *display_name(const char *name, char *buf, size_t size)
{
	if (!build_is_static_local_name(name))
		return name;
	snprintf(buf, size, "%.*s", (int)(strrchr(name, '.') - name), name);
	return buf;
}

/* Reject a changed initial value, or a removed static variable that running code may still use. */
static int check_data_changes(const struct unit_diff *d)
{
	char buf[256];

	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		const struct build_symbol *f = &d->fixed.symbols[i];

		if (f->pair < 0 || !build_symbol_is_variable(f) || !f->changed)
			continue;
		return build_fail(EXIT_UNSAFE_CHANGE,
				  "the diff changes the initial value or size of variable %s (%s); "
				  "the running process keeps its current value, so the change cannot "
				  "be live-patched", display_name(f->name, buf, sizeof(buf)),
				  d->fixed.source ? d->fixed.source : d->fixed.path);
	}
	for (size_t j = 0; j < d->orig.nsymbols; j++) {
		const struct build_symbol *o = &d->orig.symbols[j];

		if (o->pair >= 0 || !is_static_local(o))
			continue;
		return build_fail(EXIT_UNSAFE_CHANGE,
				  "the diff removes static variable %s (%s) or makes it unrecognisable; "
				  "keep it, so that the patched function goes on using the running "
				  "process's value", display_name(o->name, buf, sizeof(buf)),
				  d->orig.source ? d->orig.source : d->orig.path);
	}
	return EXIT_OK;
}

static int add_ref(struct link_symbol_ref **list, size_t *count, size_t object,
		   const char *name, const char *target_name)
{
	struct link_symbol_ref *grown = realloc(*list, (*count + 1) * sizeof(**list));

	if (!grown)
		return -ENOMEM;
	*list = grown;
	grown[*count].object = object;
	grown[*count].name = strdup(name);
	grown[*count].target_name = target_name ? strdup(target_name) : NULL;
	if (!grown[*count].name || (target_name && !grown[*count].target_name))
		return -ENOMEM;
	(*count)++;
	return 0;
}

/* The source file that tells a static function `f` of the original object apart, or NULL. */
static const char *file_hint_of(const struct unit_diff *d, const struct build_symbol *f)
{
	return d->orig.symbols[f->pair].bind == STB_LOCAL ? d->orig.source : NULL;
}

static int add_replacement(struct unit_diff *d, const struct build_symbol *f,
			   const char *old_name)
{
	struct build_changes *c = d->changes;
	const char *hint = file_hint_of(d, f);
	struct link_replacement *grown;
	struct link_replacement *rep;

	grown = realloc(c->replacements, (c->nreplacements + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->replacements = grown;
	rep = &grown[c->nreplacements++];
	rep->old_name = strdup(old_name);
	rep->new_name = strdup(f->name);
	rep->file_hint = hint ? strdup(hint) : NULL;
	if (!rep->old_name || !rep->new_name || (hint && !rep->file_hint))
		return -ENOMEM;
	log_info("%s: %s changed", d->fixed.source ? d->fixed.source : d->fixed.path, old_name);
	return 0;
}

static int add_kept_function(struct unit_diff *d, const struct build_symbol *f,
			     const char *running)
{
	struct build_changes *c = d->changes;
	const char *hint = file_hint_of(d, f);
	struct build_kept_function *grown = realloc(c->kept, (c->nkept + 1) * sizeof(*grown));
	struct build_kept_function *k;

	if (!grown)
		return -ENOMEM;
	c->kept = grown;
	k = &grown[c->nkept++];
	k->object = d->index;
	k->name = strdup(f->name);
	k->running_name = strdup(running);
	k->file_hint = hint ? strdup(hint) : NULL;
	if (!k->name || !k->running_name || (hint && !k->file_hint))
		return -ENOMEM;
	return 0;
}

static int is_writable(const struct build_object *o, const struct build_symbol *s)
{
	if (s->sym.st_shndx == SHN_COMMON)
		return 1;
	if (s->sym.st_shndx >= o->nsections)
		return 0;
	return (o->sections[s->sym.st_shndx].shdr.sh_flags & SHF_WRITE) != 0;
}

/*
 * An unchanged symbol that only the base diffs add: the running process
 * has it only inside an earlier patch, which the new patch cannot refer
 * to.  Code and constants are copied when the patch reaches them, like
 * new ones.  A copy of a variable would not share the earlier patch's
 * value, so the linker rejects a patch that reaches one.
 */
static int add_base_only(struct unit_diff *d, const struct build_symbol *f)
{
	struct build_changes *c = d->changes;

	if (build_symbol_is_variable(f) && is_writable(&d->fixed, f))
		return add_ref(&c->aliases, &c->naliases, d->index, f->name, NAME_NOT_IN_TARGET);
	return add_ref(&c->own, &c->nown, d->index, f->name, NULL);
}

/* Return 1 when `f` is the cold part of a function that the patch replaces or adds. */
static int is_cold_part_of_copy(struct unit_diff *d, const struct build_symbol *f)
{
	size_t len = cold_parent_length(f->name);
	struct build_symbol *parent = len ? find_function(&d->fixed, f->name, len) : NULL;

	return parent && (parent->pair < 0 || parent->changed);
}

/* Sort one symbol of the fixed object into the replacements, own symbols and aliases. */
static int collect_symbol(struct unit_diff *d, const struct build_symbol *f)
{
	struct build_changes *c = d->changes;
	const char *orig_name = f->pair >= 0 ? running_name(d, f->pair) : NULL;
	int cold = build_symbol_is_function(f) && cold_parent_length(f->name) > 0;

	if (f->by_content && f->name[0])
		return add_ref(&c->own, &c->nown, d->index, f->name, NULL);
	if (!is_candidate(f))
		return 0;
	if (f->pair < 0 || (cold && is_cold_part_of_copy(d, f))) {
		if (f->pair < 0 && build_symbol_is_function(f) && !cold)
			c->nnew_functions++;
		if (f->pair < 0 && build_symbol_is_variable(f))
			c->nnew_variables++;
		return add_ref(&c->own, &c->nown, d->index, f->name, NULL);
	}
	if (f->changed && build_symbol_is_function(f) && !cold) {
		if (add_replacement(d, f, orig_name) < 0)
			return -ENOMEM;
		return add_ref(&c->own, &c->nown, d->index, f->name, NULL);
	}
	if (!orig_name)
		return add_base_only(d, f);
	if (d->stacked && build_symbol_is_function(f) && !cold && add_kept_function(d, f, orig_name) < 0)
		return -ENOMEM;
	if (strcmp(orig_name, f->name) != 0)
		return add_ref(&c->aliases, &c->naliases, d->index, f->name, orig_name);
	return 0;
}

/* Return 1 for a writable variable of the fixed object that only the base diffs add. */
static int is_base_only_variable(const struct unit_diff *d, const struct build_symbol *v)
{
	return build_symbol_is_variable(v) && is_writable(&d->fixed, v) && v->pair >= 0 &&
	       !running_name(d, v->pair);
}

/* A writable variable that only the base diffs add and that function `f` refers to, or NULL. */
static const struct build_symbol *base_only_variable_of(const struct unit_diff *d,
							const struct build_symbol *f)
{
	const struct build_section *s = &d->fixed.sections[f->sym.st_shndx];

	for (size_t i = 0; i < s->nrelas; i++) {
		size_t index = GELF_R_SYM(s->relas[i].r_info);
		const struct build_symbol *ref = index < d->fixed.nsymbols ? &d->fixed.symbols[index] :
					       NULL;

		if (ref && is_base_only_variable(d, ref))
			return ref;
		if (!ref || ref->type != STT_SECTION)
			continue;
		for (size_t j = 0; j < d->fixed.nsymbols; j++) {
			const struct build_symbol *v = &d->fixed.symbols[j];

			if (v->sym.st_shndx == ref->sym.st_shndx && is_base_only_variable(d, v))
				return v;
		}
	}
	return NULL;
}

/*
 * Reject a change to a function that only the base diffs add, and changed
 * or new code that uses a variable that only they add.  The running
 * process has these only inside an earlier patch: that patch's callers
 * call its copy of the function directly, so no entry of the target leads
 * to it, and a copy of the variable would not share the earlier patch's
 * value.
 */
static int check_base_only_changes(const struct unit_diff *d)
{
	const char *source = d->fixed.source ? d->fixed.source : d->fixed.path;
	const struct build_symbol *v;
	char buf[256];

	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		const struct build_symbol *f = &d->fixed.symbols[i];

		if (!build_symbol_is_function(f) || (f->pair >= 0 && !f->changed))
			continue;
		v = d->stacked ? base_only_variable_of(d, f) : NULL;
		if (v)
			return build_fail(EXIT_UNSAFE_CHANGE,
					  "%s (%s) uses variable %s, which the running build lacks: a "
					  "--base-diff adds it, so only an earlier patch contains its value; "
					  "build one patch with every diff as --diff instead", f->name,
					  source, display_name(v->name, buf, sizeof(buf)));
		if (f->pair < 0 || cold_parent_length(f->name) > 0 || running_name(d, f->pair))
			continue;
		return build_fail(EXIT_UNSAFE_CHANGE,
				  "the diff changes function %s (%s), which the running build lacks: "
				  "a --base-diff adds it, so only an earlier patch contains it; "
				  "build one patch with every diff as --diff instead",
				  d->orig.symbols[f->pair].name, source);
	}
	return EXIT_OK;
}

static int add_external(struct unit_diff *d, const char *name, const char *user)
{
	struct build_changes *c = d->changes;
	const char *file = d->fixed.source ? d->fixed.source : d->fixed.path;
	struct build_external *grown;

	for (size_t i = 0; i < c->nexternals; i++) {
		if (!strcmp(c->externals[i].name, name))
			return 0;
	}
	grown = realloc(c->externals, (c->nexternals + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->externals = grown;
	grown[c->nexternals] = (struct build_external){ strdup(name), strdup(user), strdup(file) };
	if (!grown[c->nexternals].name || !grown[c->nexternals].user || !grown[c->nexternals].file)
		return -ENOMEM;
	c->nexternals++;
	return 0;
}

/*
 * Stacked patch: collect the undefined names that changed and new
 * functions use.  build_stack.c rejects those that the base diffs add in
 * another file, which the patch could only import by name.
 */
static int collect_externals(struct unit_diff *d)
{
	for (size_t i = 0; d->stacked && i < d->fixed.nsymbols; i++) {
		const struct build_symbol *f = &d->fixed.symbols[i];
		const struct build_section *s;

		if (!build_symbol_is_function(f) || (f->pair >= 0 && !f->changed))
			continue;
		s = &d->fixed.sections[f->sym.st_shndx];
		for (size_t j = 0; j < s->nrelas; j++) {
			size_t index = GELF_R_SYM(s->relas[j].r_info);
			const struct build_symbol *ref = index < d->fixed.nsymbols ?
							 &d->fixed.symbols[index] : NULL;

			if (ref && ref->sym.st_shndx == SHN_UNDEF && ref->name[0] &&
			    add_external(d, ref->name, f->name) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int collect(struct unit_diff *d)
{
	for (size_t i = 0; i < d->fixed.nsymbols; i++) {
		if (collect_symbol(d, &d->fixed.symbols[i]) < 0)
			return build_fail(EXIT_INTERNAL, "out of memory");
	}
	if (collect_externals(d) < 0)
		return build_fail(EXIT_INTERNAL, "out of memory");
	return EXIT_OK;
}

static int add_name(char ***list, size_t *count, const char *name)
{
	char **grown;

	for (size_t i = 0; i < *count; i++) {
		if (!strcmp((*list)[i], name))
			return 0;
	}
	grown = realloc(*list, (*count + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*list = grown;
	grown[*count] = strdup(name);
	return grown[(*count)++] ? 0 : -ENOMEM;
}

static int add_variable(struct build_code_users *users, const char *name, const char *user)
{
	size_t before = users->nvariables;
	char **grown;
	int r = add_name(&users->variables, &users->nvariables, name);

	if (r < 0 || users->nvariables == before)
		return r;
	grown = realloc(users->variable_users, users->nvariables * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	users->variable_users = grown;
	grown[before] = strdup(user);
	return grown[before] ? 0 : -ENOMEM;
}

/* Add the variables that the relocations of `section` refer to, by name or through their section. */
static int add_referenced_variables(const struct build_object *o, const struct build_symbol *f,
				    struct build_code_users *users)
{
	const struct build_section *s = &o->sections[f->sym.st_shndx];
	int r = 0;

	for (size_t i = 0; i < s->nrelas && r == 0; i++) {
		size_t index = GELF_R_SYM(s->relas[i].r_info);
		const struct build_symbol *ref = index < o->nsymbols ? &o->symbols[index] : NULL;

		if (!ref)
			continue;
		if (build_symbol_is_variable(ref)) {
			r = add_variable(users, ref->name, f->name);
			continue;
		}
		if (ref->type != STT_SECTION)
			continue;
		for (size_t j = 0; j < o->nsymbols && r == 0; j++) {
			if (build_symbol_is_variable(&o->symbols[j]) &&
			    o->symbols[j].sym.st_shndx == ref->sym.st_shndx)
				r = add_variable(users, o->symbols[j].name, f->name);
		}
	}
	return r;
}

/* The changed and new functions of the fixed object and the variables they refer to. */
static int collect_users(const struct unit_diff *d, struct build_code_users *users)
{
	int r = 0;

	for (size_t i = 0; i < d->fixed.nsymbols && r == 0; i++) {
		const struct build_symbol *f = &d->fixed.symbols[i];

		if (!build_symbol_is_function(f) || (f->pair >= 0 && !f->changed))
			continue;
		r = add_name(&users->functions, &users->nfunctions, f->name);
		if (r == 0)
			r = add_referenced_variables(&d->fixed, f, users);
	}
	return r;
}

static void free_users(struct build_code_users *users)
{
	for (size_t i = 0; i < users->nfunctions; i++)
		free(users->functions[i]);
	for (size_t i = 0; i < users->nvariables; i++) {
		free(users->variables[i]);
		free(users->variable_users ? users->variable_users[i] : NULL);
	}
	free(users->functions);
	free(users->variables);
	free(users->variable_users);
}

static int check_layouts(const struct unit_diff *d, const char *orig, const char *fixed)
{
	struct build_code_users users = { 0 };
	int rc = collect_users(d, &users) < 0 ? build_fail(EXIT_INTERNAL, "out of memory") : EXIT_OK;

	if (rc == EXIT_OK)
		rc = build_check_layouts(orig, fixed, d->fixed.source ? d->fixed.source : fixed,
					 &users);
	free_users(&users);
	return rc;
}

static int open_object(const char *path, struct build_object *o)
{
	int r = build_object_open(path, o);

	if (r < 0)
		return build_fail(EXIT_INTERNAL, "cannot read object %s: %s", path, strerror(-r));
	return EXIT_OK;
}

static int open_objects(struct unit_diff *d, const struct build_unit_objects *objects)
{
	int rc = open_object(objects->fixed, &d->fixed);

	if (rc != EXIT_OK || !objects->orig)
		return rc;
	rc = open_object(objects->orig, &d->orig);
	if (rc == EXIT_OK && d->stacked)
		rc = open_object(objects->orig, &d->base);
	if (rc == EXIT_OK && d->stacked && objects->running)
		rc = open_object(objects->running, &d->running);
	return rc;
}

/*
 * Pair the running build's symbols with the original's, by the rules that
 * pair the original's with the fixed object's.  A base diff may have
 * renumbered gcc's clones and static variables, so the original's names
 * can name other symbols in the running build.
 */
static int correlate_running(struct unit_diff *d)
{
	struct unit_diff lower = { .orig = d->running, .fixed = d->base };

	if (!d->running.elf)
		return 0;
	return correlate(&lower);
}

int build_diff_unit(const struct build_unit_objects *objects, size_t index,
		    struct build_changes *changes)
{
	struct unit_diff d = { .index = index, .changes = changes, .stacked = objects->stacked };
	int rc = open_objects(&d, objects);

	if (rc == EXIT_OK && (correlate(&d) < 0 || correlate_running(&d) < 0))
		rc = build_fail(EXIT_INTERNAL, "out of memory");
	if (rc == EXIT_OK) {
		mark_changes(&d);
		rc = check_data_changes(&d);
	}
	if (rc == EXIT_OK)
		rc = check_base_only_changes(&d);
	if (rc == EXIT_OK)
		rc = check_layouts(&d, objects->orig, objects->fixed);
	if (rc == EXIT_OK)
		rc = collect(&d);
	build_object_close(&d.fixed);
	build_object_close(&d.orig);
	build_object_close(&d.base);
	build_object_close(&d.running);
	return rc;
}

static void free_refs(struct link_symbol_ref *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free((char *)list[i].name);
		free((char *)list[i].target_name);
	}
	free(list);
}

void build_free_changes(struct build_changes *c)
{
	for (size_t i = 0; i < c->nreplacements; i++) {
		free((char *)c->replacements[i].old_name);
		free((char *)c->replacements[i].new_name);
		free((char *)c->replacements[i].file_hint);
	}
	free(c->replacements);
	free_refs(c->own, c->nown);
	free_refs(c->aliases, c->naliases);
	for (size_t i = 0; i < c->nkept; i++) {
		free(c->kept[i].name);
		free(c->kept[i].running_name);
		free(c->kept[i].file_hint);
	}
	free(c->kept);
	for (size_t i = 0; i < c->nexternals; i++) {
		free(c->externals[i].name);
		free(c->externals[i].user);
		free(c->externals[i].file);
	}
	free(c->externals);
	memset(c, 0, sizeof(*c));
}
