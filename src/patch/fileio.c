/* Whole-file reads and atomic writes of patch files. */
#include "patch/patch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/format.h"
#include "patch/internal.h"
#include "util/exitcode.h"

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank after fstat() */
		done += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Read exactly st_size bytes and check that the file did not grow meanwhile. */
static int read_regular_file(int fd, const char *path, size_t size, uint8_t **buf,
			     char *err, size_t errlen)
{
	uint8_t extra;
	ssize_t n;
	int rc;

	*buf = malloc(size ? size : 1);
	if (!*buf)
		return patch_fail(err, errlen, -ENOMEM, "out of memory reading %s (%zu bytes)", path, size);
	rc = read_all(fd, *buf, size);
	if (rc == 0) {
		do
			n = read(fd, &extra, 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			rc = -errno;
		else if (n > 0)
			rc = -EIO; /* the file grew after fstat() */
	}
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
		if (rc == -EIO)
			return patch_fail(err, errlen, rc,
					  "%s changed size while it was read; retry when nothing writes to it",
					  path);
		return patch_fail(err, errlen, rc, "cannot read %s: %s", path, strerror(-rc));
	}
	return 0;
}

int patch_read_bytes(const char *path, uint8_t **buf, size_t *len,
		     char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK keeps open() from waiting for a writer when path is a FIFO;
	 * such a path is then rejected as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return patch_fail(err, errlen, -errno, "cannot open %s: %s; check the path", path,
				  strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = patch_fail(err, errlen, -errno, "cannot stat %s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		rc = patch_fail(err, errlen, -EISDIR, "%s is a directory, not a patch file", path);
	} else if (!S_ISREG(st.st_mode)) {
		rc = patch_fail(err, errlen, -EINVAL, "%s is not a regular file", path);
	} else if ((unsigned long long)st.st_size > PATCH_FILE_MAX_SIZE) {
		rc = patch_fail(err, errlen, -EFBIG,
				"%s is %lld bytes, larger than the %llu-byte limit for patch files",
				path, (long long)st.st_size, (unsigned long long)PATCH_FILE_MAX_SIZE);
	} else {
		rc = read_regular_file(fd, path, (size_t)st.st_size, buf, err, errlen);
		if (rc == 0)
			*len = (size_t)st.st_size;
	}
	close(fd);
	return rc;
}

/* Make the rename durable: fsync() the directory that contains `path`. */
static int sync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int patch_write_bytes(const char *path, const uint8_t *buf, size_t len,
		      unsigned int mode)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof(".XXXXXX"));
	int fd, rc;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".XXXXXX", sizeof(".XXXXXX"));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}

	rc = write_all(fd, buf, len);
	if (rc == 0 && fchmod(fd, (mode_t)mode) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	else
		rc = sync_parent_dir(path);
	free(tmp);
	return rc;
}

int patch_exit_for_errno(int rc)
{
	switch (rc) {
	case -ENOENT:
	case -ENOTDIR:
	case -EISDIR:
	case -ELOOP:
	case -ENAMETOOLONG:
		return EXIT_NO_FILE;
	case -EINVAL: /* not a regular file, or not the kind of file expected */
		return EXIT_USAGE;
	case -EACCES:
		return EXIT_PERMISSION;
	default:
		return EXIT_INTERNAL;
	}
}

int patch_load_file(const char *path, struct patch *out, char *err, size_t errlen)
{
	char why[512];
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = patch_read_bytes(path, &buf, &len, err, errlen);
	if (rc < 0)
		return patch_exit_for_errno(rc);
	rc = patch_parse(buf, len, out, why, sizeof(why));
	free(buf);
	if (rc < 0)
		return patch_fail(err, errlen, EXIT_PATCH_INVALID, "%s: invalid patch file: %s",
				  path, why);
	return EXIT_OK;
}
