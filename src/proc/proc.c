#include "proc/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int parse_map_line(char *line, struct proc_map *m)
{
	char perms[8];
	int path_at = 0;
	unsigned long long start, end, offset, inode;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
		   &m->dev_major, &m->dev_minor, &inode, &path_at) < 7)
		return -EINVAL;
	m->start = start;
	m->end = end;
	m->offset = offset;
	m->inode = inode;
	m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	m->shared = perms[3] == 's';
	m->deleted = 0;
	m->path = NULL;

	char *path = line + path_at;
	size_t len = strlen(path);
	while (len && (path[len - 1] == '\n' || path[len - 1] == ' '))
		path[--len] = '\0';
	if (!len)
		return 0;
	static const char deleted_suffix[] = " (deleted)";
	size_t suffix_len = sizeof(deleted_suffix) - 1;
	if (len > suffix_len && !strcmp(path + len - suffix_len, deleted_suffix)) {
		m->deleted = 1;
		path[len - suffix_len] = '\0';
	}
	m->path = strdup(path);
	return m->path ? 0 : -ENOMEM;
}

int proc_read_maps(pid_t pid, struct proc_maps *out)
{
	char path[64], *line = NULL;
	size_t cap = 0, alloc = 0;
	int ret = 0;

	out->maps = NULL;
	out->count = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (out->count == alloc) {
			size_t n = alloc ? alloc * 2 : 64;
			struct proc_map *grown = realloc(out->maps, n * sizeof(*grown));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			out->maps = grown;
			alloc = n;
		}
		ret = parse_map_line(line, &out->maps[out->count]);
		if (ret)
			break;
		out->count++;
	}
	free(line);
	fclose(f);
	if (!ret && !out->count)
		ret = -ESRCH; /* an exited process (zombie) has no mappings */
	if (ret)
		proc_maps_free(out);
	return ret;
}

void proc_maps_free(struct proc_maps *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->count = 0;
}

const struct proc_map *proc_maps_find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->maps[mid].start)
			hi = mid;
		else if (addr >= m->maps[mid].end)
			lo = mid + 1;
		else
			return &m->maps[mid];
	}
	return NULL;
}

static int compare_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int proc_list_threads(pid_t pid, pid_t **tids, size_t *count)
{
	char path[64];
	size_t alloc = 0;
	struct dirent *de;

	*tids = NULL;
	*count = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (*count == alloc) {
			size_t n = alloc ? alloc * 2 : 16;
			pid_t *grown = realloc(*tids, n * sizeof(*grown));
			if (!grown) {
				closedir(d);
				free(*tids);
				*tids = NULL;
				return -ENOMEM;
			}
			*tids = grown;
			alloc = n;
		}
		(*tids)[(*count)++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	if (!*count)
		return -ESRCH;
	qsort(*tids, *count, sizeof(**tids), compare_pid);
	return 0;
}

void proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static int read_status_field(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			ret = atoi(line + flen + 1);
			break;
		}
	}
	fclose(f);
	return ret;
}

int proc_tracer_pid(pid_t pid)
{
	return read_status_field(pid, "TracerPid");
}

int proc_seccomp_mode(pid_t pid)
{
	return read_status_field(pid, "Seccomp");
}

int proc_exists(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return pid > 0 && access(path, F_OK) == 0;
}

int proc_mem_open(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int proc_mem_read(int memfd, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(memfd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int proc_mem_write(int memfd, uint64_t addr, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(memfd, (const char *)buf + done, len - done, (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}
