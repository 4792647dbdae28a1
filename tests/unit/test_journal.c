/*
 * Tests of the audit journal: each line must be one valid JSON object with
 * every field, strings must survive any bytes, and the per-pid reader must
 * return exactly the lines of that pid.  The test has its own small JSON
 * parser so that it does not trust the code under test to read its output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust/journal.h"

#define MAX_FIELDS 32

/* One member of a flat JSON object; strings are decoded, other values kept as text. */
struct json_field {
	char key[32];
	char value[512];
	int is_string;
};

struct json_object {
	struct json_field fields[MAX_FIELDS];
	size_t count;
};

static void append_utf8(char **out, unsigned int cp)
{
	char *o = *out;

	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*out = o;
}

/* Decode the JSON string at *p into out; returns 0 or -1 if invalid. */
static int parse_string(const char **p, char *out, size_t size)
{
	const char *s = *p;
	char *o = out, *end = out + size - 4;

	if (*s++ != '"')
		return -1;
	while (*s != '"') {
		unsigned char c = (unsigned char)*s;

		if (c == '\0' || c < 0x20 || o >= end)
			return -1; /* unterminated, raw control byte, or too long */
		if (c != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned int cp;

			if (sscanf(s, "%4x", &cp) != 1)
				return -1;
			s += 4;
			append_utf8(&o, cp);
			break;
		}
		default:
			return -1;
		}
	}
	*o = '\0';
	*p = s + 1;
	return 0;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parse a flat object (no nested objects or arrays) followed by a newline. */
static int parse_object(const char *line, struct json_object *obj)
{
	const char *p = skip_space(line);

	obj->count = 0;
	if (*p++ != '{')
		return -1;
	for (;;) {
		struct json_field *f = &obj->fields[obj->count++];

		if (obj->count > MAX_FIELDS)
			return -1;
		p = skip_space(p);
		if (parse_string(&p, f->key, sizeof(f->key)) < 0)
			return -1;
		p = skip_space(p);
		if (*p++ != ':')
			return -1;
		p = skip_space(p);
		f->is_string = *p == '"';
		if (f->is_string) {
			if (parse_string(&p, f->value, sizeof(f->value)) < 0)
				return -1;
		} else {
			size_t n = strcspn(p, ",}");

			if (n == 0 || n >= sizeof(f->value))
				return -1;
			memcpy(f->value, p, n);
			f->value[n] = '\0';
			p += n;
		}
		p = skip_space(p);
		if (*p == '}')
			return strcmp(p, "}\n") == 0 ? 0 : -1;
		if (*p++ != ',')
			return -1;
	}
}

static const struct json_field *field(const struct json_object *obj, const char *key)
{
	for (size_t i = 0; i < obj->count; i++) {
		if (!strcmp(obj->fields[i].key, key))
			return &obj->fields[i];
	}
	fail_msg("journal line has no field \"%s\"", key);
	return NULL;
}

static void assert_string_field(const struct json_object *obj, const char *key,
				const char *expected)
{
	const struct json_field *f = field(obj, key);

	assert_true(f->is_string);
	assert_string_equal(f->value, expected);
}

static void assert_raw_field(const struct json_object *obj, const char *key,
			     const char *expected)
{
	const struct json_field *f = field(obj, key);

	assert_false(f->is_string);
	assert_string_equal(f->value, expected);
}

struct fixture {
	char dir[64];
	char journal[128]; /* inside two directories that do not exist yet */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/suture-journal-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->journal, sizeof(f->journal), "%s/log/suture/journal.jsonl", f->dir);
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Read line `index` (0-based) of the journal into `line`. */
static void read_line(const char *path, int index, char *line, size_t size)
{
	FILE *in = fopen(path, "r");

	assert_non_null(in);
	for (int i = 0; i <= index; i++)
		assert_non_null(fgets(line, (int)size, in));
	fclose(in);
}

static const uint8_t build_id[4] = { 0xde, 0xad, 0xbe, 0xef };
static const uint8_t patch_id[32] = { 0x01, 0x23, [31] = 0xff };

static struct journal_entry sample_entry(void)
{
	return (struct journal_entry){
		.action = JOURNAL_APPLY,
		.pid = 4242,
		.comm = "nginx",
		.object = "/usr/sbin/nginx",
		.build_id = build_id,
		.build_id_len = sizeof(build_id),
		.patch_id = patch_id,
		.patch_name = "fix-header-overflow",
		.signer_key_id = "0123456789abcdef",
		.result = "ok",
		.message = "applied",
		.pause_us = 850,
		.insecure = 0,
	};
}

static void line_has_every_field(void **state)
{
	struct fixture *f = *state;
	struct journal_entry e = sample_entry();
	struct json_object obj;
	char line[2048], uid[16];
	const struct json_field *time;

	assert_int_equal(journal_append(f->journal, &e), 0);
	read_line(f->journal, 0, line, sizeof(line));
	if (parse_object(line, &obj) < 0)
		fail_msg("not a JSON object: %s", line);

	time = field(&obj, "time");
	assert_true(time->is_string);
	/* 2024-05-01T12:00:00.123456Z */
	assert_int_equal(strlen(time->value), 27);
	assert_int_equal(time->value[10], 'T');
	assert_int_equal(time->value[19], '.');
	assert_int_equal(time->value[26], 'Z');

	snprintf(uid, sizeof(uid), "%u", (unsigned int)getuid());
	assert_raw_field(&obj, "uid", uid);
	assert_true(field(&obj, "user")->is_string);
	assert_string_field(&obj, "action", "apply");
	assert_raw_field(&obj, "pid", "4242");
	assert_string_field(&obj, "comm", "nginx");
	assert_string_field(&obj, "object", "/usr/sbin/nginx");
	assert_string_field(&obj, "build_id", "deadbeef");
	assert_string_field(&obj, "patch_id",
			    "01230000000000000000000000000000000000000000000000000000000000ff");
	assert_string_field(&obj, "patch_name", "fix-header-overflow");
	assert_string_field(&obj, "signer_key_id", "0123456789abcdef");
	assert_string_field(&obj, "result", "ok");
	assert_string_field(&obj, "message", "applied");
	assert_raw_field(&obj, "pause_us", "850");
	assert_raw_field(&obj, "insecure", "false");
}

static void parent_dirs_created_0750(void **state)
{
	struct fixture *f = *state;
	struct journal_entry e = sample_entry();
	char path[128];
	struct stat st;
	mode_t mask = umask(0);

	umask(mask);
	assert_int_equal(journal_append(f->journal, &e), 0);
	snprintf(path, sizeof(path), "%s/log/suture", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
	assert_int_equal(stat(f->journal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~mask);
}

static void missing_values_are_null(void **state)
{
	struct fixture *f = *state;
	struct journal_entry e = {
		.action = JOURNAL_REFUSAL,
		.pid = 0,
		.comm = "",
		.result = "unsigned",
		.message = "patch file refused",
		.pause_us = -1,
		.insecure = 1,
	};
	struct json_object obj;
	char line[2048];

	assert_int_equal(journal_append(f->journal, &e), 0);
	read_line(f->journal, 0, line, sizeof(line));
	assert_int_equal(parse_object(line, &obj), 0);
	assert_string_field(&obj, "action", "refusal");
	assert_raw_field(&obj, "object", "null");
	assert_raw_field(&obj, "build_id", "null");
	assert_raw_field(&obj, "patch_id", "null");
	assert_raw_field(&obj, "patch_name", "null");
	assert_raw_field(&obj, "signer_key_id", "null");
	assert_raw_field(&obj, "pause_us", "null");
	assert_raw_field(&obj, "insecure", "true");
}

static void strings_escaped(void **state)
{
	struct fixture *f = *state;
	struct journal_entry e = sample_entry();
	struct json_object obj;
	char line[2048];

	e.message = "quote \" backslash \\ newline \n tab \t bell \a del \x7f "
		    "e-acute \xc3\xa9 invalid \xff end";
	e.patch_name = "overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xe2\x82";
	assert_int_equal(journal_append(f->journal, &e), 0);
	read_line(f->journal, 0, line, sizeof(line));

	/* The raw line contains no control byte except its final newline. */
	for (const char *c = line; *c && *c != '\n'; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	assert_int_equal(parse_object(line, &obj), 0);
	assert_string_field(&obj, "message",
			    "quote \" backslash \\ newline \n tab \t bell \a del \x7f "
			    "e-acute \xc3\xa9 invalid \xef\xbf\xbd end");
	/* Each invalid byte becomes U+FFFD (EF BF BD). */
	assert_string_field(&obj, "patch_name",
			    "overlong \xef\xbf\xbd\xef\xbf\xbd surrogate "
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd cut \xef\xbf\xbd\xef\xbf\xbd");
}

static void comm_read_from_proc(void **state)
{
	struct fixture *f = *state;
	struct journal_entry e = sample_entry();
	struct json_object obj;
	char line[2048], expected[64] = "";
	FILE *comm = fopen("/proc/self/comm", "r");

	assert_non_null(comm);
	assert_non_null(fgets(expected, sizeof(expected), comm));
	fclose(comm);
	expected[strcspn(expected, "\n")] = '\0';

	e.pid = (int)getpid();
	e.comm = NULL;
	assert_int_equal(journal_append(f->journal, &e), 0);
	read_line(f->journal, 0, line, sizeof(line));
	assert_int_equal(parse_object(line, &obj), 0);
	assert_string_field(&obj, "comm", expected);
}

static void read_pid_returns_only_that_pid(void **state)
{
	struct fixture *f = *state;
	struct journal_entry e = sample_entry();
	char *out_text = NULL, line[2048];
	size_t out_len = 0;
	FILE *out;
	struct json_object obj;

	e.pid = 100;
	e.message = "first";
	assert_int_equal(journal_append(f->journal, &e), 0);
	/* A message that imitates the pid member must not match. */
	e.pid = 200;
	e.message = "\"pid\":100,";
	assert_int_equal(journal_append(f->journal, &e), 0);
	e.pid = 1000;
	e.message = "pid 1000 starts with 100";
	assert_int_equal(journal_append(f->journal, &e), 0);
	e.pid = 100;
	e.action = JOURNAL_REVERT;
	e.message = "second";
	assert_int_equal(journal_append(f->journal, &e), 0);

	out = open_memstream(&out_text, &out_len);
	assert_non_null(out);
	assert_int_equal(journal_read_pid(f->journal, 100, out), 2);
	fclose(out);

	assert_non_null(strstr(out_text, "\"message\":\"first\""));
	assert_non_null(strstr(out_text, "\"message\":\"second\""));
	assert_null(strstr(out_text, "starts with"));
	assert_null(strstr(out_text, "\\\"pid\\\""));

	/* The copied lines are unchanged and still parse. */
	memcpy(line, out_text, strcspn(out_text, "\n") + 1);
	line[strcspn(out_text, "\n") + 1] = '\0';
	assert_int_equal(parse_object(line, &obj), 0);
	assert_raw_field(&obj, "pid", "100");
	free(out_text);
}

static void read_pid_missing_journal(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(journal_read_pid(f->journal, 1, stdout), -ENOENT);
}

#define JOURNAL_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		JOURNAL_TEST(line_has_every_field),
		JOURNAL_TEST(parent_dirs_created_0750),
		JOURNAL_TEST(missing_values_are_null),
		JOURNAL_TEST(strings_escaped),
		JOURNAL_TEST(comm_read_from_proc),
		JOURNAL_TEST(read_pid_returns_only_that_pid),
		JOURNAL_TEST(read_pid_missing_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
