/* service: run stop_cmd / start_cmd; see service.h. */
#define _GNU_SOURCE
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

extern char **environ;

int service_run(const char *what, const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	posix_spawnattr_t attr;
	sigset_t dflt;
	pid_t pid;
	int status, err, rc = 0;

	fflush(stdout);
	fflush(stderr);
	posix_spawnattr_init(&attr);
	/* cassette ignores SIGPIPE; an ignored signal would stay ignored in the
	 * command, which is not what a shell script expects */
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	err = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (err != 0) {
		errno = err;
		return cst_error_errno("cannot run %s '%s' with /bin/sh", what, cmd);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)	/* SIGINT reaches the command too; wait for it */
			return cst_error_errno("cannot wait for %s '%s'", what, cmd);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		rc = cst_error(CST_ERROR, "%s '%s' exited with status %d", what, cmd, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		rc = cst_error(CST_ERROR, "%s '%s' was killed by signal %d (%s)", what, cmd,
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
	return rc;
}
