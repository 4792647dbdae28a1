/*
 * Data layout changes, read from the DWARF of the two objects of a unit.
 *
 * A struct that gains, loses or moves a member changes the code of every
 * function that reads it, and those functions would be replaced.  But the
 * running process already has data in the old layout: objects on the
 * heap, in static storage and on stacks, made by code that the patch does
 * not replace.  So a struct, union or class whose size or members differ
 * between the original and the fixed object is rejected when a changed or
 * new function reaches it: through its parameters, return value, local
 * variables, inlined callees, or a variable it refers to, and from there
 * through pointers and members.
 */
#include "build/build_layout.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_internal.h"
#include "util/exitcode.h"
#include "util/log.h"

#define LAYOUT_TEXT_MAX 4096 /* a longer description is cut; the cut text still compares */

/* One named struct, union or class of an object: its name and a text that describes its layout. */
struct layout {
	char *name;
	char *text;
	Dwarf_Word size;
};

struct layout_set {
	struct layout *items;
	size_t count;
};

/* A relocatable object opened through libdwfl, which applies its relocations to the DWARF. */
struct dwarf_object {
	Dwfl *dwfl;
	Dwarf *dwarf;
};

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static int open_dwarf(const char *path, struct dwarf_object *out)
{
	Dwfl_Module *module;
	Dwarf_Addr bias;

	out->dwarf = NULL;
	out->dwfl = dwfl_begin(&offline_callbacks);
	if (!out->dwfl)
		return -ENOMEM;
	module = dwfl_report_offline(out->dwfl, path, path, -1);
	if (!module || dwfl_report_end(out->dwfl, NULL, NULL) != 0)
		return -EINVAL;
	out->dwarf = dwfl_module_getdwarf(module, &bias);
	return out->dwarf ? 0 : -ENODATA;
}

static void close_dwarf(struct dwarf_object *o)
{
	if (o->dwfl)
		dwfl_end(o->dwfl);
	memset(o, 0, sizeof(*o));
}

static int is_aggregate(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
	       tag == DW_TAG_class_type;
}

static const char *tag_word(int tag)
{
	return tag == DW_TAG_union_type ? "union" : tag == DW_TAG_class_type ? "class" : "struct";
}

static int type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;

	return dwarf_attr_integrate(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, out) ? 0 : -1;
}

/* Append a short name of a type: "long", "struct tally *", "char [16]". */
static void describe_type(Dwarf_Die *type, char *buf, size_t size, int depth)
{
	Dwarf_Die inner;
	Dwarf_Word count;
	const char *name = dwarf_diename(type);
	size_t len = strlen(buf);
	int tag = dwarf_tag(type);

	if (depth > 8 || len + 1 >= size)
		return;
	if (name) {
		snprintf(buf + len, size - len, "%s%s ", is_aggregate(tag) ? tag_word(tag) : "",
			 is_aggregate(tag) ? " " : "");
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s", name);
		return;
	}
	if (type_of(type, &inner) == 0)
		describe_type(&inner, buf, size, depth + 1);
	else
		snprintf(buf + len, size - len, "void");
	len = strlen(buf);
	if (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type)
		snprintf(buf + len, size - len, " *");
	else if (tag == DW_TAG_const_type)
		snprintf(buf + len, size - len, " const");
	else if (tag == DW_TAG_array_type)
		snprintf(buf + len, size - len, " [%lld]",
			 dwarf_aggregate_size(type, &count) == 0 ? (long long)count : -1LL);
	else if (is_aggregate(tag))
		snprintf(buf + len, size - len, " (anonymous %s of %lld bytes)", tag_word(tag),
			 dwarf_aggregate_size(type, &count) == 0 ? (long long)count : -1LL);
}

static Dwarf_Word attr_number(Dwarf_Die *die, unsigned int name, Dwarf_Word fallback)
{
	Dwarf_Attribute attr;
	Dwarf_Word value;

	if (!dwarf_attr(die, name, &attr) || dwarf_formudata(&attr, &value) != 0)
		return fallback;
	return value;
}

/* Describe an aggregate's size and members, each by name, offset, bit field and type. */
static char *describe_layout(Dwarf_Die *die, Dwarf_Word *size)
{
	char *text = calloc(1, LAYOUT_TEXT_MAX);
	Dwarf_Die member, type;
	size_t len;

	if (!text)
		return NULL;
	*size = attr_number(die, DW_AT_byte_size, 0);
	snprintf(text, LAYOUT_TEXT_MAX, "size %llu;", (unsigned long long)*size);
	if (dwarf_child(die, &member) != 0)
		return text;
	do {
		const char *name = dwarf_diename(&member);

		if (dwarf_tag(&member) != DW_TAG_member)
			continue;
		len = strlen(text);
		snprintf(text + len, LAYOUT_TEXT_MAX - len, " %s@%llu:%llu:%llu ", name ? name : "?",
			 (unsigned long long)attr_number(&member, DW_AT_data_member_location, 0),
			 (unsigned long long)attr_number(&member, DW_AT_data_bit_offset, 0),
			 (unsigned long long)attr_number(&member, DW_AT_bit_size, 0));
		if (type_of(&member, &type) == 0)
			describe_type(&type, text, LAYOUT_TEXT_MAX, 0);
	} while (dwarf_siblingof(&member, &member) == 0);
	return text;
}

/* The name a layout is known by: its tag, or the typedef that names an anonymous one. */
static char *layout_name(Dwarf_Die *die, Dwarf_Die *typedef_die)
{
	const char *name = dwarf_diename(die);

	if (name)
		return build_format("%s %s", tag_word(dwarf_tag(die)), name);
	name = typedef_die ? dwarf_diename(typedef_die) : NULL;
	return name ? strdup(name) : NULL;
}

static const struct layout *find_layout(const struct layout_set *set, const char *name)
{
	for (size_t i = 0; i < set->count; i++) {
		if (!strcmp(set->items[i].name, name))
			return &set->items[i];
	}
	return NULL;
}

static int add_layout(struct layout_set *set, Dwarf_Die *die, Dwarf_Die *typedef_die)
{
	struct layout *grown, item = { 0 };

	if (dwarf_hasattr(die, DW_AT_declaration))
		return 0;
	item.name = layout_name(die, typedef_die);
	if (!item.name)
		return 0;
	if (find_layout(set, item.name)) {
		free(item.name);
		return 0;
	}
	item.text = describe_layout(die, &item.size);
	grown = item.text ? realloc(set->items, (set->count + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(item.name);
		free(item.text);
		return -ENOMEM;
	}
	set->items = grown;
	set->items[set->count++] = item;
	return 0;
}

static int collect_layouts_below(Dwarf_Die *parent, struct layout_set *set)
{
	Dwarf_Die child, type;
	int r = 0;

	if (dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);

		if (is_aggregate(tag))
			r = add_layout(set, &child, NULL);
		else if (tag == DW_TAG_typedef && type_of(&child, &type) == 0 &&
			 is_aggregate(dwarf_tag(&type)) && !dwarf_diename(&type))
			r = add_layout(set, &type, &child);
		if (r == 0 && (tag == DW_TAG_namespace || tag == DW_TAG_subprogram ||
			       tag == DW_TAG_lexical_block || is_aggregate(tag)))
			r = collect_layouts_below(&child, set);
	} while (r == 0 && dwarf_siblingof(&child, &child) == 0);
	return r;
}

static int collect_layouts(Dwarf *dwarf, struct layout_set *set)
{
	Dwarf_Off offset = 0, next;
	size_t header;
	Dwarf_Die cu;
	int r = 0;

	while (r == 0 && dwarf_nextcu(dwarf, offset, &next, &header, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dwarf, offset + header, &cu))
			r = collect_layouts_below(&cu, set);
		offset = next;
	}
	return r;
}

static void free_layouts(struct layout_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		free(set->items[i].name);
		free(set->items[i].text);
	}
	free(set->items);
	memset(set, 0, sizeof(*set));
}

/* The layouts of the fixed object that differ from the original's, in `changed`. */
static void keep_changed(struct layout_set *fixed, const struct layout_set *orig)
{
	size_t kept = 0;

	for (size_t i = 0; i < fixed->count; i++) {
		const struct layout *o = find_layout(orig, fixed->items[i].name);

		if (o && strcmp(o->text, fixed->items[i].text) != 0) {
			fixed->items[kept++] = fixed->items[i];
			continue;
		}
		free(fixed->items[i].name);
		free(fixed->items[i].text);
	}
	fixed->count = kept;
}

/* A walk over the types that some code reaches, which stops at the first changed layout. */
struct reach {
	const struct layout_set *changed;
	const struct layout *found;
	Dwarf_Off *seen;
	size_t nseen, capacity;
};

static int mark_seen(struct reach *w, Dwarf_Off offset)
{
	Dwarf_Off *grown;

	for (size_t i = 0; i < w->nseen; i++) {
		if (w->seen[i] == offset)
			return 0;
	}
	if (w->nseen == w->capacity) {
		w->capacity = w->capacity ? 2 * w->capacity : 64;
		grown = realloc(w->seen, w->capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		w->seen = grown;
	}
	w->seen[w->nseen++] = offset;
	return 1;
}

static int reach_type(struct reach *w, Dwarf_Die *type, Dwarf_Die *typedef_die)
{
	Dwarf_Die inner, member;
	int tag = dwarf_tag(type), r = mark_seen(w, dwarf_dieoffset(type));

	if (r <= 0 || w->found)
		return r;
	if (is_aggregate(tag)) {
		char *name = layout_name(type, typedef_die);
		const struct layout *hit = name ? find_layout(w->changed, name) : NULL;

		free(name);
		if (hit) {
			w->found = hit;
			return 0;
		}
		if (dwarf_child(type, &member) != 0)
			return 0;
		do {
			if (dwarf_tag(&member) == DW_TAG_member && type_of(&member, &inner) == 0)
				r = reach_type(w, &inner, NULL);
		} while (r >= 0 && !w->found && dwarf_siblingof(&member, &member) == 0);
		return r < 0 ? r : 0;
	}
	if (type_of(type, &inner) != 0)
		return 0;
	return reach_type(w, &inner, tag == DW_TAG_typedef ? type : NULL);
}

/* Walk the types of a DIE and of everything below it: parameters, variables, inlined calls. */
static int reach_die(struct reach *w, Dwarf_Die *die)
{
	Dwarf_Die type, child;
	int r = 0;

	if (type_of(die, &type) == 0)
		r = reach_type(w, &type, NULL);
	if (r < 0 || w->found || dwarf_child(die, &child) != 0)
		return r;
	do {
		r = reach_die(w, &child);
	} while (r >= 0 && !w->found && dwarf_siblingof(&child, &child) == 0);
	return r;
}

/* Return 1 when `name` is the C name of a subprogram DIE, without gcc's clone suffixes. */
static int names_function(Dwarf_Die *die, const char *name)
{
	Dwarf_Attribute attr;
	const char *own = dwarf_diename(die);
	size_t len = strcspn(name, ".");

	if (!own && dwarf_attr_integrate(die, DW_AT_name, &attr))
		own = dwarf_formstring(&attr);
	if (!own && dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))
		own = dwarf_formstring(&attr);
	return own && strlen(own) == len && !strncmp(own, name, len);
}

/*
 * Walk the top-level DIEs with tag `tag_wanted` of every CU whose names are
 * in `names`, and set *user to the index of the name that reaches a changed layout.
 */
static int reach_named(struct reach *w, Dwarf *dwarf, char *const *names, size_t count,
		       int tag_wanted, size_t *user)
{
	Dwarf_Off offset = 0, next;
	size_t header;
	Dwarf_Die cu, die;
	int r = 0;

	while (r >= 0 && !w->found &&
	       dwarf_nextcu(dwarf, offset, &next, &header, NULL, NULL, NULL) == 0) {
		Dwarf_Off here = offset;

		offset = next;
		if (!dwarf_offdie(dwarf, here + header, &cu) || dwarf_child(&cu, &die) != 0)
			continue;
		do {
			if (dwarf_tag(&die) != tag_wanted)
				continue;
			for (size_t i = 0; i < count && r >= 0 && !w->found; i++) {
				if (!names_function(&die, names[i]))
					continue;
				r = reach_die(w, &die);
				if (w->found)
					*user = i;
			}
		} while (r >= 0 && !w->found && dwarf_siblingof(&die, &die) == 0);
	}
	return r;
}

static int reject_layout(const struct layout_set *orig, const struct layout *changed,
			 const char *source, const char *function, const char *variable)
{
	const struct layout *old = find_layout(orig, changed->name);
	char sizes[96];

	if (old && old->size != changed->size)
		snprintf(sizes, sizeof(sizes), "%llu bytes before the diff, %llu after",
			 (unsigned long long)old->size, (unsigned long long)changed->size);
	else
		snprintf(sizes, sizeof(sizes), "members moved or changed type");
	return build_fail(EXIT_UNSAFE_CHANGE,
			  "the diff changes the layout of %s (%s, %s), and the patched function "
			  "%s uses it%s%s; data that the running process already has keeps "
			  "the old layout, so the change cannot be live-patched", changed->name,
			  source, sizes, function, variable ? " through variable " : "",
			  variable ? variable : "");
}

int build_check_layouts(const char *orig, const char *fixed, const char *source,
			const struct build_code_users *users)
{
	struct dwarf_object o = { 0 }, f = { 0 };
	struct layout_set orig_set = { 0 }, fixed_set = { 0 };
	struct reach w = { 0 };
	size_t user = 0;
	int rc = EXIT_OK, found_variable = 0, r;

	if (!orig || users->nfunctions == 0)
		return EXIT_OK;
	r = open_dwarf(orig, &o);
	if (r == 0)
		r = open_dwarf(fixed, &f);
	if (r == -ENODATA) {
		log_info("%s has no debug information; struct layout changes are not checked", source);
		goto out;
	}
	if (r == 0)
		r = collect_layouts(o.dwarf, &orig_set);
	if (r == 0)
		r = collect_layouts(f.dwarf, &fixed_set);
	if (r < 0) {
		rc = build_fail(EXIT_INTERNAL, "cannot read the debug information of %s: %s", fixed,
				r == -EINVAL ? dwfl_errmsg(-1) : strerror(-r));
		goto out;
	}
	keep_changed(&fixed_set, &orig_set);
	w.changed = &fixed_set;
	if (fixed_set.count == 0)
		goto out;
	r = reach_named(&w, f.dwarf, users->functions, users->nfunctions, DW_TAG_subprogram,
			&user);
	if (r == 0 && !w.found) {
		r = reach_named(&w, f.dwarf, users->variables, users->nvariables, DW_TAG_variable,
				&user);
		found_variable = w.found != NULL;
	}
	if (r < 0)
		rc = build_fail(EXIT_INTERNAL, "out of memory");
	else if (w.found && found_variable)
		rc = reject_layout(&orig_set, w.found, source, users->variable_users[user],
				   users->variables[user]);
	else if (w.found)
		rc = reject_layout(&orig_set, w.found, source, users->functions[user], NULL);
out:
	free(w.seen);
	free_layouts(&orig_set);
	free_layouts(&fixed_set);
	close_dwarf(&o);
	close_dwarf(&f);
	return rc;
}
