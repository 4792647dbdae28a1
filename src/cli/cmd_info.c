/* suture info: describe a patch file without applying or verifying it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/usage.h"
#include "patch/patch.h"
#include "trust/json.h"
#include "trust/trust.h"
#include "util/exitcode.h"

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: suture info FIX.suture [--json]\n"
		"\n"
		"Print what a patch file contains: format version, patch id, target\n"
		"build-id, metadata, part sizes, functions and signature state.\n"
		"The signature is not checked here; use 'suture verify' for that.\n"
		"\n"
		"  --json    print one JSON object instead of text\n");
}

/* Print untrusted text with control characters escaped, so a crafted
 * patch cannot send escape sequences to the terminal. */
static void print_text(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '\n')
			fputs("\n               ", stdout);
		else if (*c < 0x20 || *c == 0x7f)
			printf("\\x%02x", *c);
		else
			putchar(*c);
	}
}

static void print_field(const char *label, const char *value)
{
	printf("%-15s", label);
	print_text(value ? value : "none");
	putchar('\n');
}

static void print_hex(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", bytes[i]);
}

static void print_functions_text(const struct patch *p)
{
	printf("%-15s%zu\n", "functions:", p->nfuncs);
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct patch_func *f = &p->funcs[i];

		fputs("  ", stdout);
		print_text(f->name ? f->name : "(unnamed)");
		printf("  old 0x%" PRIx64 " (%" PRIu64 " bytes)  new %" PRIu64 " bytes\n",
		       f->old_addr, f->old_size, f->new_size);
	}
}

static void print_text_report(const char *path, const struct patch *p, const char *id_hex)
{
	char key_id[TRUST_KEY_ID_LEN + 1];

	print_field("file:", path);
	printf("%-15s%u.%u\n", "format:", p->version, p->version_minor);
	printf("%-15s%s\n", "patch id:", id_hex);
	print_field("target:", p->object_name);
	printf("%-15s", "build-id:");
	print_hex(p->build_id, p->build_id_len);
	putchar('\n');
	print_field("name:", p->name);
	print_field("description:", p->description);
	printf("%-15s", "CVEs:");
	for (size_t i = 0; i < p->ncves; i++) {
		print_text(p->cves[i]);
		fputs(i + 1 < p->ncves ? ", " : "", stdout);
	}
	puts(p->ncves ? "" : "none");
	print_field("requires:", p->requires);
	printf("%-15stext %" PRIu64 ", rodata %" PRIu64 ", data %" PRIu64 ", bss %" PRIu64 " bytes\n",
	       "parts:", p->part_size[PATCH_PART_TEXT], p->part_size[PATCH_PART_RODATA],
	       p->part_size[PATCH_PART_DATA], p->part_size[PATCH_PART_BSS]);
	print_functions_text(p);
	printf("%-15s%zu\n", "relocations:", p->nrelocs);
	if (p->eh_frame_size)
		printf("%-15s%" PRIu64 " bytes of .eh_frame\n", "unwind table:", p->eh_frame_size);
	else
		printf("%-15snone\n", "unwind table:");
	if (!p->sig.present) {
		printf("%-15sunsigned\n", "signature:");
		return;
	}
	trust_key_id(p->sig.public_key, key_id);
	printf("%-15ssigned by key %s (not verified; run 'suture verify')\n",
	       "signature:", key_id);
}

static void print_functions_json(const struct patch *p)
{
	fputs(",\"functions\":[", stdout);
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct patch_func *f = &p->funcs[i];

		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		json_write_string(stdout, f->name);
		printf(",\"old_addr\":%" PRIu64 ",\"old_size\":%" PRIu64
		       ",\"new_offset\":%" PRIu64 ",\"new_size\":%" PRIu64 "}",
		       f->old_addr, f->old_size, f->new_offset, f->new_size);
	}
	putchar(']');
}

static void print_json_report(const char *path, const struct patch *p, const char *id_hex)
{
	char key_id[TRUST_KEY_ID_LEN + 1];

	fputs("{\"file\":", stdout);
	json_write_string(stdout, path);
	printf(",\"format_version\":\"%u.%u\",\"patch_id\":\"%s\",\"target\":{\"object\":",
	       p->version, p->version_minor, id_hex);
	json_write_string(stdout, p->object_name);
	fputs(",\"build_id\":", stdout);
	json_write_hex(stdout, p->build_id, p->build_id_len);
	fputs("},\"name\":", stdout);
	json_write_string(stdout, p->name);
	fputs(",\"description\":", stdout);
	json_write_string(stdout, p->description);
	fputs(",\"cves\":[", stdout);
	for (size_t i = 0; i < p->ncves; i++) {
		fputs(i ? "," : "", stdout);
		json_write_string(stdout, p->cves[i]);
	}
	fputs("],\"requires\":", stdout);
	json_write_string(stdout, p->requires);
	printf(",\"parts\":{\"text\":%" PRIu64 ",\"rodata\":%" PRIu64 ",\"data\":%" PRIu64
	       ",\"bss\":%" PRIu64 "}",
	       p->part_size[PATCH_PART_TEXT], p->part_size[PATCH_PART_RODATA],
	       p->part_size[PATCH_PART_DATA], p->part_size[PATCH_PART_BSS]);
	print_functions_json(p);
	printf(",\"relocations\":%zu,\"eh_frame_size\":%" PRIu64 ",\"signature\":", p->nrelocs,
	       p->eh_frame_size);
	if (p->sig.present) {
		trust_key_id(p->sig.public_key, key_id);
		printf("{\"state\":\"signed\",\"key_id\":\"%s\"}}\n", key_id);
	} else {
		puts("{\"state\":\"unsigned\"}}");
	}
}

int cmd_info(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct patch p;
	char id_hex[65], err[512];
	int json = 0, opt, status;

	optind = 0;
	while ((opt = cli_next_option("info", argc, argv, "h", options)) != -1) {
		if (opt == 'j') {
			json = 1;
		} else if (opt == 'h') {
			print_usage(stdout);
			return EXIT_OK;
		} else {
			return EXIT_USAGE;
		}
	}
	if (cli_check_operands("info", argc, argv, "patch file") != EXIT_OK)
		return EXIT_USAGE;

	status = patch_load_file(argv[optind], &p, err, sizeof(err));
	if (status != EXIT_OK) {
		fprintf(stderr, "suture: %s\n", err);
		return status;
	}
	patch_id_hex(&p, id_hex);
	if (json)
		print_json_report(argv[optind], &p, id_hex);
	else
		print_text_report(argv[optind], &p, id_hex);
	patch_free(&p);
	return EXIT_OK;
}
