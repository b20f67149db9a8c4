/* lock: flock(2) on a file that names its holder (lock.h). */
#define _GNU_SOURCE
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

struct node_lock {
	int fd;
};

/* "<pid> <command>" from the file, or "" when empty or unreadable. */
static void read_holder(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	char *nl;

	buf[n > 0 ? (size_t)n : 0] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
}

int node_lock_take(struct node_lock **out, const struct config *cfg, const char *fqdn,
		   const char *command)
{
	struct node_lock *l;
	char *path, holder[160], words[160];
	int fd, rc;

	*out = NULL;
	if ((rc = cst_mkdirs(cfg->encryption_tmp_dir)) != 0)
		return rc;
	if ((path = cst_sprintf("%s/cassette-%s.lock", cfg->encryption_tmp_dir, fqdn)) == NULL)
		return CST_ENOMEM;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		rc = cst_error_errno("cannot open lock file %s", path);
		free(path);
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		read_holder(fd, holder, sizeof(holder));
		if (e == EWOULDBLOCK) {
			long pid = 0;
			char what[128] = "another command";

			if (sscanf(holder, "%ld %127s", &pid, what) >= 1 && pid > 0)
				rc = cst_error(CST_EEXISTS, "node %s is busy: %s (pid %ld) holds %s", fqdn,
					       what, pid, path);
			else
				rc = cst_error(CST_EEXISTS, "node %s is busy: another cassette holds %s",
					       fqdn, path);
		} else {
			errno = e;
			rc = cst_error_errno("cannot lock %s", path);
		}
		close(fd);
		free(path);
		return rc;
	}
	read_holder(fd, holder, sizeof(holder));
	if (holder[0] != '\0') {
		long pid = 0;
		char what[128] = "a command";

		if (sscanf(holder, "%ld %127s", &pid, what) >= 1 && pid > 0)
			fprintf(stderr, "cassette: taking over the stale lock %s: %s (pid %ld) died "
				"without releasing it\n", path, what, pid);
	}
	snprintf(words, sizeof(words), "%ld %s\n", (long)getpid(), command);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, words, strlen(words), 0) != (ssize_t)strlen(words)) {
		rc = cst_error_errno("cannot write lock file %s", path);
		close(fd);
		free(path);
		return rc;
	}
	free(path);
	if ((l = cst_malloc(sizeof(*l))) == NULL) {
		close(fd);
		return CST_ENOMEM;
	}
	l->fd = fd;
	*out = l;
	return 0;
}

void node_lock_release(struct node_lock *l)
{
	if (l == NULL)
		return;
	if (ftruncate(l->fd, 0) != 0) {
		/* the next run would only print a needless "taking over" */
	}
	close(l->fd);
	free(l);
}
