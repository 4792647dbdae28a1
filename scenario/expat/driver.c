/*
 * A long-running libexpat client for the live-patching scenario.  It reads
 * one request per line on stdin and writes one result line on stdout, so the
 * scenario can ask the same process before and after each patch.  Each
 * request calls the libexpat API that one of Debian's security fixes changes:
 *
 *   version            XML_ExpatVersion
 *   negative-len       XML_ParseBuffer with len -1 (CVE-2024-45490)
 *   copy-dtd           XML_ExternalEntityParserCreate, which copies the DTD
 *                      with dtdCopy (CVE-2024-45491)
 *   scaffold           an element declaration handler, which builds the
 *                      content model with nextScaffoldPart (CVE-2024-45492)
 *   stop-unstarted     XML_StopParser on a parser that never parsed
 *                      (CVE-2024-50602)
 *   resume-unstarted   XML_ResumeParser after that stop (CVE-2024-50602)
 *   nested-entities N  a document with N general entities, each referring
 *                      to the next (CVE-2024-8176)
 *   chunks N           a 64 KiB attribute value fed in N chunks, with the
 *                      parse time (CVE-2023-52425)
 *   pid                the process id
 *
 * Requests that may crash the vulnerable library (resume-unstarted,
 * nested-entities) run in a forked child: fork copies this process's memory,
 * patched code included, so the child runs exactly the code this process
 * runs, and the parent reports how the child ended and stays alive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <expat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESULT_MAX 1024
#define DETAIL_MAX 256

static void describe_error(char *out, size_t size, XML_Parser parser, enum XML_Status status)
{
	enum XML_Error code = XML_GetErrorCode(parser);
	const XML_LChar *text = XML_ErrorString(code);

	snprintf(out, size, "status=%d error=%d (%s)", (int)status, (int)code,
		 text ? text : "none");
}

static void request_negative_len(char *out, size_t size)
{
	XML_Parser parser = XML_ParserCreate(NULL);
	void *buffer = XML_GetBuffer(parser, 16);

	if (!buffer) {
		snprintf(out, size, "XML_GetBuffer failed");
		XML_ParserFree(parser);
		return;
	}
	enum XML_Status status = XML_ParseBuffer(parser, -1, XML_FALSE);
	describe_error(out, size, parser, status);
	XML_ParserFree(parser);
}

static int external_entity_ref(XML_Parser parser, const XML_Char *context,
			       const XML_Char *base, const XML_Char *system_id,
			       const XML_Char *public_id)
{
	int *copied = XML_GetUserData(parser);
	XML_Parser child = XML_ExternalEntityParserCreate(parser, context, NULL);

	(void)base;
	(void)system_id;
	(void)public_id;
	if (!child)
		return XML_STATUS_ERROR;
	const char text[] = "<b/>";
	if (XML_Parse(child, text, (int)strlen(text), XML_TRUE) == XML_STATUS_OK)
		*copied = 1;
	XML_ParserFree(child);
	return XML_STATUS_OK;
}

static void request_copy_dtd(char *out, size_t size)
{
	static const char doc[] = "<!DOCTYPE a [\n"
				  "  <!ATTLIST a x CDATA 'one' y CDATA 'two'>\n"
				  "  <!ENTITY ext SYSTEM 'ext.xml'>\n"
				  "]><a>&ext;</a>";
	XML_Parser parser = XML_ParserCreate(NULL);
	int copied = 0;

	XML_SetUserData(parser, &copied);
	XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_ALWAYS);
	XML_SetExternalEntityRefHandler(parser, external_entity_ref);
	enum XML_Status status = XML_Parse(parser, doc, (int)strlen(doc), XML_TRUE);
	char detail[DETAIL_MAX];
	describe_error(detail, sizeof(detail), parser, status);
	snprintf(out, size, "%s external-parser=%s", detail, copied ? "parsed" : "failed");
	XML_ParserFree(parser);
}

static void append_model(char *out, size_t size, const XML_Content *model)
{
	size_t used = strlen(out);

	if (model->type == XML_CTYPE_NAME) {
		snprintf(out + used, size - used, "%s", model->name);
		return;
	}
	snprintf(out + used, size - used, "(");
	for (unsigned i = 0; i < model->numchildren; i++) {
		if (i > 0) {
			used = strlen(out);
			snprintf(out + used, size - used,
				 model->type == XML_CTYPE_CHOICE ? "|" : ",");
		}
		append_model(out, size, &model->children[i]);
	}
	used = strlen(out);
	snprintf(out + used, size - used, ")");
}

struct scaffold_state {
	XML_Parser parser;
	char models[DETAIL_MAX];
};

static void element_decl(void *user_data, const XML_Char *name, XML_Content *model)
{
	struct scaffold_state *state = user_data;
	size_t used = strlen(state->models);

	snprintf(state->models + used, DETAIL_MAX - used, "%s%s=", used ? " " : "", name);
	append_model(state->models, DETAIL_MAX, model);
	XML_FreeContentModel(state->parser, model);
}

static void request_scaffold(char *out, size_t size)
{
	static const char doc[] = "<!DOCTYPE a [\n"
				  "  <!ELEMENT a (b,(c|d),e)>\n"
				  "  <!ELEMENT b (#PCDATA)>\n"
				  "]><a/>";
	struct scaffold_state state = { .parser = XML_ParserCreate(NULL), .models = "" };
	XML_Parser parser = state.parser;

	XML_SetUserData(parser, &state);
	XML_SetElementDeclHandler(parser, element_decl);
	enum XML_Status status = XML_Parse(parser, doc, (int)strlen(doc), XML_TRUE);
	char detail[DETAIL_MAX];
	describe_error(detail, sizeof(detail), parser, status);
	snprintf(out, size, "%s models %s", detail, state.models);
	XML_ParserFree(parser);
}

static void request_stop_unstarted(char *out, size_t size)
{
	XML_Parser parser = XML_ParserCreate(NULL);
	enum XML_Status status = XML_StopParser(parser, XML_TRUE);

	describe_error(out, size, parser, status);
	XML_ParserFree(parser);
}

/* The sequence of expat's test_misc_resumeparser_not_crashing. */
static void request_resume_unstarted(char *out, size_t size)
{
	XML_Parser parser = XML_ParserCreate(NULL);

	XML_GetBuffer(parser, 1);
	XML_StopParser(parser, XML_TRUE);
	enum XML_Status status = XML_ResumeParser(parser);
	describe_error(out, size, parser, status);
	XML_ParserFree(parser);
}

/* <!ENTITY e0 'x'> <!ENTITY e1 '&e0;'> ... and the text &eN-1;. */
static char *nested_entity_document(long depth)
{
	size_t size = (size_t)depth * 40 + 128, used = 0;
	char *doc = malloc(size);

	if (!doc)
		return NULL;
	used += (size_t)snprintf(doc + used, size - used, "<!DOCTYPE a [\n<!ENTITY e0 'x'>\n");
	for (long i = 1; i < depth; i++)
		used += (size_t)snprintf(doc + used, size - used, "<!ENTITY e%ld '&e%ld;'>\n", i,
					 i - 1);
	snprintf(doc + used, size - used, "]><a>&e%ld;</a>\n", depth - 1);
	return doc;
}

static void request_nested_entities(char *out, size_t size, long depth)
{
	char *doc = nested_entity_document(depth);

	if (!doc) {
		snprintf(out, size, "out of memory");
		return;
	}
	XML_Parser parser = XML_ParserCreate(NULL);
	enum XML_Status status = XML_Parse(parser, doc, (int)strlen(doc), XML_TRUE);
	describe_error(out, size, parser, status);
	XML_ParserFree(parser);
	free(doc);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* One 64 KiB attribute value fed in `chunks` pieces: each piece makes the
 * vulnerable parser rescan the whole unfinished token. */
static void request_chunks(char *out, size_t size, long chunks)
{
	const size_t value_len = 64 * 1024;
	size_t total = value_len + 16;
	char *doc = malloc(total);

	if (!doc || chunks < 1) {
		snprintf(out, size, "invalid request");
		free(doc);
		return;
	}
	memcpy(doc, "<a b='", 6);
	memset(doc + 6, 'x', value_len);
	memcpy(doc + 6 + value_len, "'/>", 4);
	size_t len = strlen(doc), step = (len + (size_t)chunks - 1) / (size_t)chunks;
	XML_Parser parser = XML_ParserCreate(NULL);
	struct timespec start;
	enum XML_Status status = XML_STATUS_OK;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (size_t at = 0; at < len && status == XML_STATUS_OK; at += step) {
		size_t n = len - at < step ? len - at : step;
		status = XML_Parse(parser, doc + at, (int)n, at + n == len);
	}
	char detail[DETAIL_MAX];
	describe_error(detail, sizeof(detail), parser, status);
	snprintf(out, size, "%s seconds=%.3f", detail, seconds_since(&start));
	XML_ParserFree(parser);
	free(doc);
}

/* Run `request` in a forked child and report its result, or how it died. */
static void run_in_child(char *out, size_t size, void (*request)(char *, size_t, long), long arg)
{
	int fds[2];

	if (pipe(fds) != 0) {
		snprintf(out, size, "pipe failed: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t child = fork();
	if (child < 0) {
		snprintf(out, size, "fork failed: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (child == 0) {
		char result[RESULT_MAX];
		close(fds[0]);
		request(result, sizeof(result), arg);
		ssize_t written = write(fds[1], result, strlen(result));
		_exit(written < 0 ? 1 : 0);
	}
	close(fds[1]);
	char result[RESULT_MAX];
	size_t used = 0;
	ssize_t n;
	while (used < sizeof(result) - 1 &&
	       (n = read(fds[0], result + used, sizeof(result) - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		used += (size_t)n;
	}
	result[used] = '\0';
	close(fds[0]);
	int wstatus = 0;
	while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(wstatus))
		snprintf(out, size, "crashed: forked child %d killed by signal %d (%s)", (int)child,
			 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
	else
		snprintf(out, size, "%s", result);
}

static void child_resume_unstarted(char *out, size_t size, long unused)
{
	(void)unused;
	request_resume_unstarted(out, size);
}

static void child_nested_entities(char *out, size_t size, long depth)
{
	request_nested_entities(out, size, depth);
}

static void handle(const char *line, char *out, size_t size)
{
	char name[64] = "";
	long arg = 0;
	int fields = sscanf(line, "%63s %ld", name, &arg);

	if (fields < 1)
		snprintf(out, size, "empty request");
	else if (!strcmp(name, "version"))
		snprintf(out, size, "%s", XML_ExpatVersion());
	else if (!strcmp(name, "pid"))
		snprintf(out, size, "%d", (int)getpid());
	else if (!strcmp(name, "negative-len"))
		request_negative_len(out, size);
	else if (!strcmp(name, "copy-dtd"))
		request_copy_dtd(out, size);
	else if (!strcmp(name, "scaffold"))
		request_scaffold(out, size);
	else if (!strcmp(name, "stop-unstarted"))
		request_stop_unstarted(out, size);
	else if (!strcmp(name, "resume-unstarted"))
		run_in_child(out, size, child_resume_unstarted, 0);
	else if (!strcmp(name, "nested-entities") && fields == 2 && arg > 0)
		run_in_child(out, size, child_nested_entities, arg);
	else if (!strcmp(name, "chunks") && fields == 2 && arg > 0)
		request_chunks(out, size, arg);
	else
		snprintf(out, size, "unknown request: %s", line);
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready pid=%d %s\n", (int)getpid(), XML_ExpatVersion());
	while (fgets(line, sizeof(line), stdin)) {
		char result[RESULT_MAX];
		line[strcspn(line, "\n")] = '\0';
		handle(line, result, sizeof(result));
		printf("%s: %s\n", line, result);
	}
	return 0;
}
