/* nodetool: run the configured command (nodetool_cmd, cqlsh_cmd) without a shell. */
#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_ARGS 64
/* nodetool ring prints a line of ~130 bytes per token: 64 MiB is 500,000
 * tokens, e.g. 2,000 nodes of 256 vnodes. */
#define MAX_OUTPUT (64u << 20)

/* Split the command (option: its config key) on blanks into argv, then append args. */
static int build_argv(char *cmd, const char *option, const char *const *args, char **argv)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(cmd, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= MAX_ARGS)
			return cst_error(CST_EINVALID, "%s has too many words", option);
		argv[n++] = tok;
	}
	if (n == 0)
		return cst_error(CST_EINVALID, "%s is empty", option);
	for (; *args; args++) {
		if (n + 1 >= MAX_ARGS)
			return cst_error(CST_EINVALID, "too many arguments for %s", option);
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
	if ((rc = build_argv(cmd, "nodetool_cmd", args, argv)) != 0)
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

/* ---- a command with stdout and stderr captured, under a deadline --------- */

struct capture {
	char *buf;
	size_t len, cap, max;
	int fd;
};

/* Read what fd has: 1 at end of file, 0 for more, <0 on error. Past max
 * bytes the rest is read and dropped (stderr) or refused (stdout). */
static int capture_read(struct capture *c, const char *what)
{
	char tmp[4096];
	ssize_t n;

	while ((n = read(c->fd, tmp, sizeof(tmp))) < 0 && errno == EINTR)
		;
	if (n < 0)
		return cst_error_errno("cannot read the output of %s", what);
	if (n == 0)
		return 1;
	if (c->len + (size_t)n + 1 > c->cap) {
		size_t want = c->len + (size_t)n + 1, cap = c->cap ? c->cap : 4096;
		char *grown;

		if (want > c->max + 1) {
			if (c->max == MAX_OUTPUT)
				return cst_error(CST_EINVALID, "%s printed more than 64 MiB", what);
			n = (ssize_t)(c->max - c->len);	/* keep the start */
			want = c->max + 1;
		}
		while (cap < want)
			cap *= 2;
		if ((grown = cst_realloc(c->buf, cap)) == NULL)
			return CST_ENOMEM;
		c->buf = grown;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, tmp, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Both pipes until both end or the deadline passes (CST_ERROR, the child killed). */
static int capture_both(struct capture *io, pid_t pid, unsigned timeout_s, const char *what)
{
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	int open_fds = 2, rc;

	while (open_fds > 0) {
		struct pollfd p[2];
		int64_t left = deadline - now_ms();
		int i, n = 0, r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			return cst_error(CST_ERROR, "%s did not finish within %u s; killed", what,
					 timeout_s);
		}
		for (i = 0; i < 2; i++)
			if (io[i].fd >= 0) {
				p[n].fd = io[i].fd;
				p[n].events = POLLIN;
				n++;
			}
		if ((r = poll(p, (nfds_t)n, left > 1000 ? 1000 : (int)left)) < 0) {
			if (errno == EINTR)
				continue;
			return cst_error_errno("cannot wait for the output of %s", what);
		}
		for (i = 0; i < n; i++) {
			struct capture *c;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			c = p[i].fd == io[0].fd ? &io[0] : &io[1];
			if ((rc = capture_read(c, what)) < 0)
				return rc;
			if (rc == 1) {
				close(c->fd);
				c->fd = -1;
				open_fds--;
			}
		}
	}
	return 0;
}

/* The first non-blank line of text, at most 200 characters, into buf. */
static void first_line(char *buf, size_t len, const char *text)
{
	size_t n;

	buf[0] = '\0';
	if (text == NULL)
		return;
	text += strspn(text, " \t\r\n");
	n = strcspn(text, "\r\n");
	if (n > 200)
		n = 200;
	snprintf(buf, len, "%.*s", (int)n, text);
}

int command_capture(const char *cmdline, const char *option, const char *const *args,
		    unsigned timeout_s, char **out)
{
	char *cmd = NULL, *argv[MAX_ARGS], line[256];
	struct capture io[2];
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, execp[2] = { -1, -1 };
	int status = 0, rc, exec_errno = 0;
	pid_t pid = -1;
	ssize_t got;

	*out = NULL;
	memset(io, 0, sizeof(io));
	io[0].fd = io[1].fd = -1;
	io[0].max = MAX_OUTPUT;
	io[1].max = 64u << 10;
	if ((cmd = cst_strdup(cmdline)) == NULL)
		return CST_ENOMEM;
	if ((rc = build_argv(cmd, option, args, argv)) != 0)
		goto out;
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 || pipe2(execp, O_CLOEXEC) != 0) {
		rc = cst_error_errno("cannot create a pipe for %s", argv[0]);
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = cst_error_errno("cannot start %s", argv[0]);
		goto out;
	}
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDONLY);

		if (null_fd >= 0)
			dup2(null_fd, STDIN_FILENO);	/* never a prompt */
		dup2(outp[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		execvp(argv[0], argv);
		exec_errno = errno;
		if (write(execp[1], &exec_errno, sizeof(exec_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	close(execp[1]);
	outp[1] = errp[1] = execp[1] = -1;
	io[0].fd = outp[0];
	io[1].fd = errp[0];
	outp[0] = errp[0] = -1;
	rc = capture_both(io, pid, timeout_s, argv[0]);
	if (rc != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			rc = cst_error_errno("cannot wait for %s", argv[0]);
			goto out;
		}
	if (rc != 0)
		goto out;
	while ((got = read(execp[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(exec_errno)) {
		rc = cst_error(CST_ERROR, "cannot run %s (%s): %s", argv[0], option, strerror(exec_errno));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		first_line(line, sizeof(line), io[1].buf);
		rc = cst_error(CST_ERROR, "'%s' failed (%s %d)%s%s", cmdline,
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			       line[0] ? ": " : "", line);
		goto out;
	}
	*out = io[0].buf ? io[0].buf : cst_strdup("");
	io[0].buf = NULL;
	if (*out == NULL)
		rc = CST_ENOMEM;
out:
	for (int i = 0; i < 2; i++) {
		if (io[i].fd >= 0)
			close(io[i].fd);
		free(io[i].buf);
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (execp[i] >= 0)
			close(execp[i]);
	}
	free(cmd);
	return rc;
}
