/*
 * Audit journal writer and reader.  util/log.h is not included because its
 * level names collide with the LOG_* macros of <syslog.h>.
 */
#include "trust/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "trust/json.h"

const char *journal_action_name(enum journal_action action)
{
	switch (action) {
	case JOURNAL_APPLY:
		return "apply";
	case JOURNAL_REVERT:
		return "revert";
	case JOURNAL_REFUSAL:
		return "refusal";
	case JOURNAL_RECOVERY:
		return "recovery";
	}
	return "unknown";
}

/* Create every missing directory above `path` with mode 0750. */
static int make_parent_dirs(const char *path)
{
	char *copy = strdup(path);
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0750) < 0 && errno != EEXIST)
			rc = -errno;
		*p = '/';
	}
	free(copy);
	return rc;
}

/* Write the current UTC time as "2024-05-01T12:00:00.123456Z". */
static void write_time(FILE *out)
{
	struct timespec ts;
	struct tm tm;
	char seconds[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "\"%s.%06uZ\"", seconds, (unsigned int)(ts.tv_nsec / 1000));
}

static void read_comm(int pid, char *out, size_t size)
{
	char path[64];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static void write_user(FILE *out)
{
	uid_t uid = getuid();
	struct passwd pw, *found = NULL;
	char buf[1024];

	fprintf(out, "\"uid\":%u,\"user\":", (unsigned int)uid);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found)
		json_write_string(out, found->pw_name);
	else
		fputs("null", out);
}

static void write_field(FILE *out, const char *key, const char *value)
{
	fprintf(out, ",\"%s\":", key);
	json_write_string(out, value);
}

static void write_entry(FILE *out, const struct journal_entry *e, const char *comm)
{
	fputs("{\"time\":", out);
	write_time(out);
	fputc(',', out);
	write_user(out);
	write_field(out, "action", journal_action_name(e->action));
	fprintf(out, ",\"pid\":%d", e->pid);
	write_field(out, "comm", comm);
	write_field(out, "object", e->object);
	fputs(",\"build_id\":", out);
	json_write_hex(out, e->build_id, e->build_id_len);
	fputs(",\"patch_id\":", out);
	json_write_hex(out, e->patch_id, e->patch_id ? 32 : 0);
	write_field(out, "patch_name", e->patch_name);
	write_field(out, "signer_key_id", e->signer_key_id);
	write_field(out, "result", e->result);
	write_field(out, "message", e->message);
	if (e->pause_us >= 0)
		fprintf(out, ",\"pause_us\":%lld", e->pause_us);
	else
		fputs(",\"pause_us\":null", out);
	fprintf(out, ",\"insecure\":%s}\n", e->insecure ? "true" : "false");
}

/* Format the whole line in memory so that it reaches the file in one write(). */
static int format_line(const struct journal_entry *e, char **line, size_t *len)
{
	char comm[64];
	const char *name = e->comm;
	FILE *out;

	if (!name) {
		read_comm(e->pid, comm, sizeof(comm));
		name = comm[0] ? comm : NULL;
	}
	out = open_memstream(line, len);
	if (!out)
		return -errno;
	write_entry(out, e, name);
	if (fclose(out) != 0)
		return -ENOMEM;
	return 0;
}

/* Open the journal for appending, creating it and its directories. */
static int open_journal(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0 && errno == ENOENT) {
		int rc = make_parent_dirs(path);
		if (rc < 0)
			return rc;
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	}
	return fd < 0 ? -errno : fd;
}

int journal_check(const char *journal_path)
{
	int fd = open_journal(journal_path ? journal_path : JOURNAL_DEFAULT_PATH);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int append_line(const char *path, const char *line, size_t len, int sync)
{
	size_t done = 0;
	int rc = 0;
	int fd = open_journal(path);

	if (fd < 0)
		return fd;
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (rc == 0 && sync && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Copy `s` with control characters replaced, so the summary stays one line. */
static char *one_line(const char *s)
{
	char *copy = strdup(s ? s : "");

	for (char *c = copy; c && *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	}
	return copy;
}

static void send_syslog(const struct journal_entry *e)
{
	int ok = e->result && !strcmp(e->result, "ok");
	char *name = one_line(e->patch_name ? e->patch_name : "(unnamed)");
	char *result = one_line(e->result ? e->result : "(no result)");
	char *message = one_line(e->message);

	openlog("suture", LOG_PID, LOG_AUTHPRIV);
	syslog(ok ? LOG_NOTICE : LOG_WARNING, "%s pid %d patch %s: %s%s%s",
	       journal_action_name(e->action), e->pid, name ? name : "?",
	       result ? result : "?", message && *message ? ": " : "",
	       message ? message : "");
	closelog();
	free(name);
	free(result);
	free(message);
}

static int append_entry(const char *journal_path, const struct journal_entry *e, int sync)
{
	char *line = NULL;
	size_t len = 0;
	int rc;

	if (!journal_path)
		journal_path = JOURNAL_DEFAULT_PATH;
	rc = format_line(e, &line, &len);
	if (rc == 0)
		rc = append_line(journal_path, line, len, sync);
	free(line);
	send_syslog(e);
	return rc;
}

int journal_append(const char *journal_path, const struct journal_entry *e)
{
	return append_entry(journal_path, e, 1);
}

int journal_append_unsynced(const char *journal_path, const struct journal_entry *e)
{
	return append_entry(journal_path, e, 0);
}

int journal_sync(const char *journal_path)
{
	if (!journal_path)
		journal_path = JOURNAL_DEFAULT_PATH;
	int fd = open(journal_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Skip the JSON string that starts at the quote `p`; NULL if unterminated. */
static const char *skip_string(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Skip a scalar value (string, number, true, false, null); NULL on error. */
static const char *skip_value(const char *p)
{
	if (*p == '"')
		return skip_string(p);
	while (*p && *p != ',' && *p != '}' && *p != '{' && *p != '[')
		p++;
	return *p == '{' || *p == '[' ? NULL : p;
}

/*
 * Find the integer member "pid" of the flat JSON object in `line`.  Returns
 * 0 with the value, or -EINVAL when the line is not such an object.
 */
static int find_pid(const char *line, long long *pid)
{
	const char *p = skip_space(line), *key;
	size_t key_len;
	char *number_end;

	if (*p++ != '{')
		return -EINVAL;
	for (;;) {
		p = skip_space(p);
		if (*p != '"')
			return -EINVAL;
		key = p + 1;
		p = skip_string(p);
		if (!p)
			return -EINVAL;
		key_len = (size_t)(p - 1 - key);
		p = skip_space(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_space(p);
		if (key_len == 3 && !memcmp(key, "pid", 3)) {
			errno = 0;
			*pid = strtoll(p, &number_end, 10);
			return errno || number_end == p ? -EINVAL : 0;
		}
		p = skip_value(p);
		if (!p)
			return -EINVAL;
		p = skip_space(p);
		if (*p++ != ',')
			return -EINVAL;
	}
}

int journal_read_pid(const char *journal_path, int pid, FILE *out)
{
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	long long found;
	int count = 0;

	if (!journal_path)
		journal_path = JOURNAL_DEFAULT_PATH;
	in = fopen(journal_path, "re");
	if (!in)
		return -errno;
	while (getline(&line, &cap, in) >= 0) {
		if (find_pid(line, &found) == 0 && found == pid) {
			fputs(line, out);
			count++;
		}
	}
	free(line);
	fclose(in);
	return count;
}
