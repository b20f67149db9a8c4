/*
 * remote: run cassette on the nodes of a cluster through [ssh]
 * remote_command, several at a time. Each node's command is
 *   <remote_command words, {host} replaced> '<cassette_cmd> ARGS...'
 * where the last word is one string of shell-quoted words, as ssh passes it
 * to the remote shell. stdin is /dev/null; stdout and stderr go to one log
 * file per node and phase.
 */
#ifndef CASSETTE_REMOTE_H
#define CASSETTE_REMOTE_H

#include <stddef.h>

struct config;

struct remote_job {
	/* in */
	const char *host;		/* the node's name: {host} */
	const char *const *args;	/* cassette's arguments, NULL-terminated */
	char *log_path;			/* owned by the job (remote_job_clear) */
	/* out */
	int ran;			/* the command was started */
	int status;			/* its exit status; -1 killed or not run */
	double seconds;
	char last_line[512];		/* the log's last line, for a failure */
};

/* The argv for one node: a NULL-terminated array (caller frees with
 * remote_argv_free). CST_EINVALID for a template that is empty, has no
 * {host} and no word after which ssh could take the command, or is too long. */
int remote_argv(char ***out, const struct config *cfg, const char *host, const char *const *args);
void remote_argv_free(char **argv);
/* "a b" -> "'a b'": POSIX shell single quotes, "'" as '\''. Fresh string. */
char *remote_shell_quote(const char *word);

/* Called as each job ends (from the thread that ran it; serialized). */
typedef void (*remote_done_fn)(void *arg, const struct remote_job *job);

/*
 * Run every job, at most `parallel` at once (0 = all at once). Fails only
 * when a job cannot be set up (argv, log file, threads); a node whose
 * command fails is reported in its job. Stops starting new jobs once
 * cassette_interrupted is set.
 */
int remote_run_all(struct remote_job *jobs, size_t n, unsigned parallel, const struct config *cfg,
		   remote_done_fn done, void *arg);
void remote_job_clear(struct remote_job *job);

#endif
