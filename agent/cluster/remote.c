/* remote: node commands through remote_command, several at a time. */
#define _GNU_SOURCE
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "util.h"

#define MAX_WORDS 64

extern char **environ;

char *remote_shell_quote(const char *word)
{
	size_t n = 2, i;
	const char *p;
	char *out;

	for (p = word; *p; p++)
		n += *p == '\'' ? 4 : 1;
	if ((out = cst_malloc(n + 1)) == NULL)
		return NULL;
	i = 0;
	out[i++] = '\'';
	for (p = word; *p; p++) {
		if (*p == '\'') {
			memcpy(out + i, "'\\''", 4);
			i += 4;
		} else {
			out[i++] = *p;
		}
	}
	out[i++] = '\'';
	out[i] = '\0';
	return out;
}

void remote_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* The template: the configured one, or ssh with the [ssh] options. */
static char *template_of(const struct config *cfg)
{
	char port[16] = "";

	if (cfg->remote_command != NULL)
		return cst_strdup(cfg->remote_command);
	if (cfg->ssh_port)
		snprintf(port, sizeof(port), " -p %u", cfg->ssh_port);
	return cst_sprintf("ssh -o BatchMode=yes%s%s%s%s%s {host}", port,
			   cfg->ssh_username ? " -l " : "", cfg->ssh_username ? cfg->ssh_username : "",
			   cfg->ssh_key_file ? " -i " : "", cfg->ssh_key_file ? cfg->ssh_key_file : "");
}

/* word with every {host} replaced; *seen set when there was one. */
static char *expand(const char *word, const char *host, int *seen)
{
	const char *p = word, *hit;
	char *out = cst_strdup(""), *next;

	while (out != NULL && (hit = strstr(p, "{host}")) != NULL) {
		*seen = 1;
		next = cst_sprintf("%s%.*s%s", out, (int)(hit - p), p, host);
		free(out);
		out = next;
		p = hit + strlen("{host}");
	}
	if (out != NULL) {
		next = cst_sprintf("%s%s", out, p);
		free(out);
		out = next;
	}
	return out;
}

/* cassette_cmd's words and the arguments, each quoted, joined by blanks. */
static char *node_command(const struct config *cfg, const char *const *args)
{
	char *cmd = cst_strdup(cfg->cassette_cmd), *line = cst_strdup(""), *tok, *save = NULL;
	char *q, *next;
	size_t i;

	for (tok = cmd ? strtok_r(cmd, " \t", &save) : NULL; tok && line;
	     tok = strtok_r(NULL, " \t", &save)) {
		q = remote_shell_quote(tok);
		next = q ? cst_sprintf("%s%s%s", line, *line ? " " : "", q) : NULL;
		free(q);
		free(line);
		line = next;
	}
	for (i = 0; args[i] && line; i++) {
		q = remote_shell_quote(args[i]);
		next = q ? cst_sprintf("%s %s", line, q) : NULL;
		free(q);
		free(line);
		line = next;
	}
	free(cmd);
	if (cmd == NULL) {
		free(line);
		return NULL;
	}
	return line;
}

int remote_argv(char ***out, const struct config *cfg, const char *host, const char *const *args)
{
	char *tmpl = template_of(cfg), *tok, *save = NULL, **argv;
	size_t n = 0;
	int seen = 0, rc = 0;

	*out = NULL;
	if (tmpl == NULL || (argv = cst_calloc(MAX_WORDS + 2, sizeof(*argv))) == NULL) {
		free(tmpl);
		return CST_ENOMEM;
	}
	for (tok = strtok_r(tmpl, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS) {
			rc = cst_error(CST_EINVALID, "%s: [ssh] remote_command has more than %d words",
				       cfg->path, MAX_WORDS);
			goto out;
		}
		if ((argv[n++] = expand(tok, host, &seen)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
	}
	if (n == 0 || !seen) {
		rc = cst_error(CST_EINVALID, "%s: [ssh] remote_command must name the node with {host}%s",
			       cfg->path, n == 0 ? " (it is empty)" : "");
		goto out;
	}
	if ((argv[n++] = node_command(cfg, args)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	*out = argv;
	argv = NULL;
out:
	remote_argv_free(argv);
	free(tmpl);
	return rc;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The log's last non-blank line (a node's error is its last word). */
static void read_last_line(struct remote_job *job)
{
	char *text = NULL, *end, *start;
	size_t len = 0;

	job->last_line[0] = '\0';
	if (cst_read_file(&text, &len, job->log_path, 64u << 20) != 0) {
		cst_error_clear();
		return;
	}
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		end--;
	*end = '\0';
	start = strrchr(text, '\n');
	snprintf(job->last_line, sizeof(job->last_line), "%s", start ? start + 1 : text);
	free(text);
}

static int run_one(struct remote_job *job, const struct config *cfg)
{
	posix_spawn_file_actions_t fa;
	char **argv = NULL;
	double t0 = now_seconds();
	pid_t pid;
	int status, rc, err;

	job->status = -1;
	if ((rc = remote_argv(&argv, cfg, job->host, job->args)) != 0)
		return rc;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, job->log_path,
					 O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		snprintf(job->last_line, sizeof(job->last_line), "cannot run %s: %s", argv[0],
			 strerror(err));
		remote_argv_free(argv);
		return 0;
	}
	remote_argv_free(argv);
	job->ran = 1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cst_error_errno("cannot wait for the command of node %s", job->host);
	job->seconds = now_seconds() - t0;
	job->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	read_last_line(job);
	if (WIFSIGNALED(status))
		snprintf(job->last_line, sizeof(job->last_line), "killed by signal %d",
			 WTERMSIG(status));
	return 0;
}

struct pool {
	struct remote_job *jobs;
	size_t n, next;
	const struct config *cfg;
	remote_done_fn done;
	void *arg;
	pthread_mutex_t lock;
	int rc;
	char msg[512];
};

static void *worker(void *p_)
{
	struct pool *p = p_;

	for (;;) {
		struct remote_job *job;
		int rc;

		pthread_mutex_lock(&p->lock);
		if (p->next == p->n || p->rc != 0 || cassette_interrupted) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		job = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->lock);
		rc = run_one(job, p->cfg);
		pthread_mutex_lock(&p->lock);
		if (rc != 0 && p->rc == 0) {
			p->rc = rc;
			snprintf(p->msg, sizeof(p->msg), "%s", cst_error_msg());
		}
		if (rc == 0 && p->done)
			p->done(p->arg, job);
		pthread_mutex_unlock(&p->lock);
	}
}

int remote_run_all(struct remote_job *jobs, size_t n, unsigned parallel, const struct config *cfg,
		   remote_done_fn done, void *arg)
{
	struct pool p;
	pthread_t *threads;
	size_t i, started = 0, want = parallel == 0 || parallel > n ? n : parallel;

	if (n == 0)
		return 0;
	memset(&p, 0, sizeof(p));
	p.jobs = jobs;
	p.n = n;
	p.cfg = cfg;
	p.done = done;
	p.arg = arg;
	pthread_mutex_init(&p.lock, NULL);
	if ((threads = cst_calloc(want, sizeof(*threads))) == NULL) {
		pthread_mutex_destroy(&p.lock);
		return CST_ENOMEM;
	}
	for (i = 0; i < want; i++) {
		if (pthread_create(&threads[i], NULL, worker, &p) != 0)
			break;
		started++;
	}
	if (started == 0)
		p.rc = cst_error(CST_ERROR, "cannot start threads for the node commands");
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_destroy(&p.lock);
	if (p.rc != 0 && p.msg[0])
		return cst_error(p.rc, "%s", p.msg);
	return p.rc;
}

void remote_job_clear(struct remote_job *job)
{
	if (job == NULL)
		return;
	free(job->log_path);
	job->log_path = NULL;
}
