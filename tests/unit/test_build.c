/* Unit tests of suture build's compiler command analysis, records and symbol name rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "build/build_diff.h"
#include "build/build_internal.h"

static struct build_record make_record(char **argv)
{
	struct build_record r = { .cwd = "/src" };

	r.argv = argv;
	while (argv[r.argc])
		r.argc++;
	return r;
}

static void command_compile_with_output(void **state)
{
	char *argv[] = { "gcc", "-O2", "-I", "inc", "-c", "-o", "out/x.o", "x.c", NULL };
	struct build_record r = make_record(argv);
	struct build_command cmd;

	(void)state;
	assert_int_equal(build_parse_command(&r, &cmd), 0);
	assert_true(cmd.compile);
	assert_int_equal(cmd.nsources, 1);
	assert_int_equal(cmd.sources[0], 7);
	assert_int_equal(cmd.output, 6);
	assert_false(cmd.output_joined);
	assert_false(cmd.lto);
	build_free_command(&cmd);
}

static void command_joined_output(void **state)
{
	char *argv[] = { "cc", "-c", "-ox.o", "x.c", NULL };
	struct build_record r = make_record(argv);
	struct build_command cmd;

	(void)state;
	assert_int_equal(build_parse_command(&r, &cmd), 0);
	assert_int_equal(cmd.output, 2);
	assert_true(cmd.output_joined);
	build_free_command(&cmd);
}

static void command_link_inputs(void **state)
{
	char *argv[] = { "gcc", "-o", "prog", "a.o", "lib/b.o", "libc.a", "-lm", "-L", "dir", NULL };
	struct build_record r = make_record(argv);
	struct build_command cmd;

	(void)state;
	assert_int_equal(build_parse_command(&r, &cmd), 0);
	assert_false(cmd.compile);
	assert_int_equal(cmd.nsources, 0);
	assert_int_equal(cmd.ninputs, 3);
	assert_int_equal(cmd.inputs[0], 3);
	assert_int_equal(cmd.inputs[2], 5);
	build_free_command(&cmd);
}

static void command_preprocess_only(void **state)
{
	char *argv[] = { "gcc", "-c", "-E", "x.c", NULL };
	struct build_record r = make_record(argv);
	struct build_command cmd;

	(void)state;
	assert_int_equal(build_parse_command(&r, &cmd), 0);
	assert_false(cmd.compile);
	build_free_command(&cmd);
}

static void command_language_and_lto(void **state)
{
	char *argv[] = { "gcc", "-flto", "-c", "-x", "c", "input.txt", NULL };
	char *off[] = { "gcc", "-flto", "-fno-lto", "-c", "x.c", NULL };
	struct build_record r = make_record(argv);
	struct build_command cmd;

	(void)state;
	assert_int_equal(build_parse_command(&r, &cmd), 0);
	assert_int_equal(cmd.nsources, 1);
	assert_int_equal(cmd.sources[0], 5);
	assert_true(cmd.lto);
	build_free_command(&cmd);
	r = make_record(off);
	assert_int_equal(build_parse_command(&r, &cmd), 0);
	assert_false(cmd.lto);
	build_free_command(&cmd);
}

static void replay_drops_dependencies(void **state)
{
	char *argv[] = { "/w/bin/cc", "-O2", "-MMD", "-MP", "-MF", "x.d", "-Wp,-MD,y.d", "-c",
			 "-o", "x.o", "x.c", NULL };
	struct build_unit u = { .record = make_record(argv), .source_index = 10 };
	char *expected[] = { "/w/bin/cc", "-O2", "-c", "x.c", "-ffunction-sections",
			     "-fdata-sections", "-g", "-o", "/objs/0.o", NULL };
	char **replay = build_replay_argv(&u, "/objs/0.o", 0);
	size_t i;

	(void)state;
	assert_non_null(replay);
	for (i = 0; expected[i]; i++)
		assert_string_equal(replay[i], expected[i]);
	assert_null(replay[i]);
	free(replay);
}

static void replay_adds_pie(void **state)
{
	char *argv[] = { "gcc", "-fno-pie", "-c", "-ox.o", "x.c", NULL };
	struct build_unit u = { .record = make_record(argv), .source_index = 4 };
	char **replay = build_replay_argv(&u, "0.o", 1);
	int pie = 0, joined_output = 0;

	(void)state;
	assert_non_null(replay);
	for (size_t i = 0; replay[i]; i++) {
		pie |= !strcmp(replay[i], "-fPIE");
		joined_output |= !strcmp(replay[i], "-ox.o");
	}
	assert_true(pie);
	assert_false(joined_output);
	free(replay);
}

static size_t count_argument(char **argv, const char *arg)
{
	size_t n = 0;

	for (size_t i = 0; argv[i]; i++)
		n += !strcmp(argv[i], arg);
	return n;
}

static void replay_adds_debug_types(void **state)
{
	char *with_g[] = { "gcc", "-O2", "-g", "-c", "x.c", NULL };
	char *with_g0[] = { "gcc", "-O2", "-g", "-g0", "-c", "x.c", NULL };
	char *with_g3[] = { "gcc", "-O2", "-g3", "-c", "x.c", NULL };
	struct build_unit a = { .record = make_record(with_g), .source_index = 4 };
	struct build_unit b = { .record = make_record(with_g0), .source_index = 5 };
	struct build_unit c = { .record = make_record(with_g3), .source_index = 4 };
	char **ra = build_replay_argv(&a, "0.o", 0);
	char **rb = build_replay_argv(&b, "0.o", 0);
	char **rc = build_replay_argv(&c, "0.o", 0);

	(void)state;
	assert_non_null(ra);
	assert_non_null(rb);
	assert_non_null(rc);
	assert_int_equal(count_argument(ra, "-g"), 1);
	assert_int_equal(count_argument(rb, "-g"), 2);
	assert_string_equal(rb[8], "-g");
	assert_int_equal(count_argument(rc, "-g"), 0);
	free(ra);
	free(rb);
	free(rc);
}

/* Renumber `text` with `groups` and compare the output with `expected`. */
static void check_renumbered(const char *text, const struct build_line_group *groups, size_t count,
			     const char *expected)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	char *out_text = NULL;
	size_t out_size = 0;
	FILE *out = open_memstream(&out_text, &out_size);

	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(build_write_renumbered(in, out, groups, count), 0);
	fclose(in);
	fclose(out);
	assert_string_equal(out_text, expected);
	free(out_text);
}

static void renumber_after_insertion(void **state)
{
	/* The fixed file has two more lines after line 1: old 2..3 are new 4..5. */
	const struct build_line_group groups[] = { { 1, 1, 1 }, { 2, 3, 4 } };

	(void)state;
	check_renumbered("a\nb\nc\n", groups, 2, "a\n#line 4\nb\nc\n");
}

static void renumber_unchanged_file(void **state)
{
	const struct build_line_group groups[] = { { 1, 3, 1 } };

	(void)state;
	check_renumbered("a\nb\nc\n", groups, 1, "a\nb\nc\n");
}

static void renumber_skips_block_comment(void **state)
{
	/* Old line 2 opens a comment that line 3 closes: the directive waits for line 4. */
	const struct build_line_group groups[] = { { 1, 1, 1 }, { 3, 4, 5 } };

	(void)state;
	check_renumbered("a\n/* x\ny */\nz\n", groups, 2, "a\n/* x\ny */\n#line 6\nz\n");
}

static void renumber_skips_continued_line(void **state)
{
	/* Line 2 ends a macro line with a backslash, so line 3 is part of it. */
	const struct build_line_group groups[] = { { 1, 1, 1 }, { 3, 4, 6 } };

	(void)state;
	check_renumbered("a\n#define M 1 \\\n + 2\nz\n", groups, 2,
			 "a\n#define M 1 \\\n + 2\n#line 7\nz\n");
}

static void renumber_ignores_comment_in_string(void **state)
{
	/* A comment opener inside a string literal opens no comment. */
	const struct build_line_group groups[] = { { 1, 1, 1 }, { 2, 2, 5 } };

	(void)state;
	check_renumbered("s = \"/*\";\nz\n", groups, 2, "s = \"/*\";\n#line 5\nz\n");
}

static void absolute_paths(void **state)
{
	char *a = build_absolute_path("/src", "./x.c");
	char *b = build_absolute_path("/src", "/abs/y.c");

	(void)state;
	assert_string_equal(a, "/src/x.c");
	assert_string_equal(b, "/abs/y.c");
	free(a);
	free(b);
}

static void records_round_trip(void **state)
{
	char path[] = "/tmp/suture-test-records.XXXXXX";
	int fd = mkstemp(path);
	struct build_record *records;
	size_t count;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	/* A space, a percent sign and an empty argument, escaped as the wrapper writes them. */
	fputs("/dir%20with%20space gcc -DNAME=%25x  -c a.c\n", f);
	fputs("/d cc -c b.c\n", f);
	fclose(f);
	assert_int_equal(build_read_records(path, &records, &count), 0);
	unlink(path);
	assert_int_equal(count, 2);
	assert_string_equal(records[0].cwd, "/dir with space");
	assert_int_equal(records[0].argc, 5);
	assert_string_equal(records[0].argv[1], "-DNAME=%x");
	assert_string_equal(records[0].argv[2], "");
	assert_string_equal(records[1].argv[2], "b.c");
	for (size_t i = 0; i < count; i++)
		build_free_record(&records[i]);
	free(records);
}

static void records_reject_bad_escape(void **state)
{
	char path[] = "/tmp/suture-test-records.XXXXXX";
	int fd = mkstemp(path);
	struct build_record *records;
	size_t count;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "/d gcc %zz\n", 11), 11);
	close(fd);
	assert_int_equal(build_read_records(path, &records, &count), -EINVAL);
	unlink(path);
}

static void clone_suffixes_stripped(void **state)
{
	static const char *const cases[][2] = {
		{ "foo.constprop.0", "foo.constprop" },
		{ "foo.isra.12", "foo.isra" },
		{ "foo.part.0.cold", "foo.part.cold" },
		{ "foo.constprop.3.isra.0", "foo.constprop.isra" },
		{ "count.4", "count" },
		{ "plain", "plain" },
		{ "foo.cold", "foo.cold" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *stripped = build_strip_clone_suffix(cases[i][0]);

		assert_string_equal(stripped, cases[i][1]);
		free(stripped);
	}
}

static void static_local_names(void **state)
{
	(void)state;
	assert_true(build_is_static_local_name("count.0"));
	assert_true(build_is_static_local_name("_buf.12"));
	assert_false(build_is_static_local_name("count"));
	assert_false(build_is_static_local_name("foo.cold"));
	assert_false(build_is_static_local_name("foo.isra.0"));
	assert_false(build_is_static_local_name(".LC0"));
	assert_false(build_is_static_local_name("count."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(command_compile_with_output),
		cmocka_unit_test(command_joined_output),
		cmocka_unit_test(command_link_inputs),
		cmocka_unit_test(command_preprocess_only),
		cmocka_unit_test(command_language_and_lto),
		cmocka_unit_test(replay_drops_dependencies),
		cmocka_unit_test(replay_adds_pie),
		cmocka_unit_test(replay_adds_debug_types),
		cmocka_unit_test(renumber_after_insertion),
		cmocka_unit_test(renumber_unchanged_file),
		cmocka_unit_test(renumber_skips_block_comment),
		cmocka_unit_test(renumber_skips_continued_line),
		cmocka_unit_test(renumber_ignores_comment_in_string),
		cmocka_unit_test(absolute_paths),
		cmocka_unit_test(records_round_trip),
		cmocka_unit_test(records_reject_bad_escape),
		cmocka_unit_test(clone_suffixes_stripped),
		cmocka_unit_test(static_local_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
