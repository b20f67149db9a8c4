/* nodetool: run the configured command without a shell. */
#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAX_ARGS 64
/* nodetool ring prints a line of ~130 bytes per token: 64 MiB is 500,000
 * tokens, e.g. 2,000 nodes of 256 vnodes. */
#define MAX_OUTPUT (64u << 20)

/* Split nodetool_cmd on blanks into argv, then append args. */
static int build_argv(char *cmd, const char *const *args, char **argv)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(cmd, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= MAX_ARGS)
			return cst_error(CST_EINVALID, "nodetool_cmd has too many words");
		argv[n++] = tok;
	}
	if (n == 0)
		return cst_error(CST_EINVALID, "nodetool_cmd is empty");
	for (; *args; args++) {
		if (n + 1 >= MAX_ARGS)
			return cst_error(CST_EINVALID, "too many nodetool arguments");
		argv[n++] = (char *)*args;
	}
	argv[n] = NULL;
	return 0;
}

static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = cst_malloc(cap), *grown;

	if (buf == NULL)
		return CST_ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			if (cap >= MAX_OUTPUT) {
				free(buf);
				return cst_error(CST_EINVALID, "nodetool printed more than 64 MiB");
			}
			if ((grown = cst_realloc(buf, cap * 2)) == NULL) {
				free(buf);
				return CST_ENOMEM;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return cst_error_errno("cannot read nodetool output");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int nodetool_run(const struct config *cfg, char **out, const char *const *args)
{
	char *cmd = NULL, *argv[MAX_ARGS], *captured = NULL;
	int pipefd[2] = { -1, -1 }, errfd[2] = { -1, -1 }, status, rc, exec_errno = 0;
	pid_t pid;
	ssize_t got;

	if (out)
		*out = NULL;
	if ((cmd = cst_strdup(cfg->nodetool_cmd)) == NULL)
		return CST_ENOMEM;
	if ((rc = build_argv(cmd, args, argv)) != 0)
		goto out;
	if (out && pipe2(pipefd, O_CLOEXEC) != 0) {
		rc = cst_error_errno("cannot create a pipe for %s", argv[0]);
		goto out;
	}
	/* The child reports a failed exec through a close-on-exec pipe, so
	 * the parent can say "cannot run" in its own one error line. */
	if (pipe2(errfd, O_CLOEXEC) != 0) {
		rc = cst_error_errno("cannot create a pipe for %s", argv[0]);
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = cst_error_errno("cannot start %s", argv[0]);
		goto out;
	}
	if (pid == 0) {
		int null_fd;

		if (out) {
			dup2(pipefd[1], STDOUT_FILENO);
		} else if ((null_fd = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(null_fd, STDOUT_FILENO);	/* chatter; errors go to stderr */
			close(null_fd);
		}
		execvp(argv[0], argv);
		exec_errno = errno;
		if (write(errfd[1], &exec_errno, sizeof(exec_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(errfd[1]);
	errfd[1] = -1;
	if (out) {
		close(pipefd[1]);
		pipefd[1] = -1;
		rc = read_all(pipefd[0], &captured);
		close(pipefd[0]);	/* a child still writing gets EPIPE, not a full pipe */
		pipefd[0] = -1;
	} else {
		rc = 0;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			rc = cst_error_errno("cannot wait for %s", argv[0]);
			goto out;
		}
	if (rc != 0)
		goto out;
	while ((got = read(errfd[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(exec_errno)) {
		rc = cst_error(CST_ERROR, "cannot run %s ([cassandra] nodetool_cmd): %s", argv[0],
			       strerror(exec_errno));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = cst_error(CST_ERROR, "'%s %s' failed (%s %d)", cfg->nodetool_cmd, args[0],
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto out;
	}
	if (out) {
		*out = captured;
		captured = NULL;
	}
out:
	if (errfd[0] >= 0)
		close(errfd[0]);
	if (errfd[1] >= 0)
		close(errfd[1]);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free(captured);
	free(cmd);
	return rc;
}
