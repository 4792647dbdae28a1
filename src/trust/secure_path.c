/* Ownership and permission checks on the files that decide trust. */
#include "trust/trust.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust/internal.h"

int trust_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int trust_check_stat(const struct stat *st, const char *path, const char *role,
		     int secret, int is_parent, char *err, size_t errlen)
{
	uid_t euid = geteuid();
	mode_t mode = st->st_mode & 07777;

	if (st->st_uid != 0 && st->st_uid != euid) {
		if (euid == 0)
			return trust_fail(err, errlen, -EPERM,
					  "%s %s is owned by uid %u, not root; run 'chown root %s'",
					  role, path, (unsigned int)st->st_uid, path);
		return trust_fail(err, errlen, -EPERM,
				  "%s %s is owned by uid %u, not by root or by you (uid %u); run 'chown %u %s'",
				  role, path, (unsigned int)st->st_uid, (unsigned int)euid,
				  (unsigned int)euid, path);
	}
	if (secret && (mode & 077))
		return trust_fail(err, errlen, -EPERM,
				  "%s %s is accessible by group or others (mode %04o); run 'chmod go-rwx %s'",
				  role, path, (unsigned int)mode, path);
	if (!(mode & (S_IWGRP | S_IWOTH)))
		return 0;
	if (is_parent && S_ISDIR(st->st_mode) && (mode & S_ISVTX))
		return 0;
	return trust_fail(err, errlen, -EPERM,
			  "%s %s is writable by group or others (mode %04o); run 'chmod go-w %s'",
			  role, path, (unsigned int)mode, path);
}

/* Check "/", "/a", "/a/b" for the absolute, resolved path "/a/b/c". */
static int check_parents(const char *resolved, char *err, size_t errlen)
{
	size_t len = strlen(resolved);
	char *prefix = malloc(len + 1);
	struct stat st;
	int rc = 0;

	if (!prefix)
		return -ENOMEM;
	for (size_t i = 0; i < len && rc == 0; i++) {
		if (resolved[i] != '/')
			continue;
		memcpy(prefix, resolved, i ? i : 1);
		prefix[i ? i : 1] = '\0';
		if (stat(prefix, &st) < 0)
			rc = trust_fail(err, errlen, -errno, "cannot check directory %s: %s",
					prefix, strerror(errno));
		else
			rc = trust_check_stat(&st, prefix, "parent directory", 0, 1, err, errlen);
	}
	free(prefix);
	return rc;
}

int trust_check_path(const char *path, const char *role, int secret, int check_parents_too,
		     char *err, size_t errlen)
{
	char *resolved = realpath(path, NULL);
	struct stat st;
	int rc;

	if (!resolved)
		return trust_fail(err, errlen, -errno, "cannot resolve %s %s: %s",
				  role, path, strerror(errno));
	if (stat(resolved, &st) < 0)
		rc = trust_fail(err, errlen, -errno, "cannot check %s %s: %s",
				role, resolved, strerror(errno));
	else
		rc = trust_check_stat(&st, resolved, role, secret, 0, err, errlen);
	if (rc == 0 && check_parents_too)
		rc = check_parents(resolved, err, errlen);
	free(resolved);
	return rc;
}
