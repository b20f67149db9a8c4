/*
 * metrics: the node's state for a monitoring system, as a Prometheus text
 * file that node_exporter's textfile collector reads ([monitoring]
 * prometheus_textfile), and the facts about the node's last backup that
 * report-last-backup prints. Every metric carries the label node="<fqdn>":
 *
 *   cassette_last_backup_timestamp_seconds  when the last finished backup finished
 *   cassette_last_backup_duration_seconds   its finish time less its start time
 *   cassette_last_backup_files              its files
 *   cassette_last_backup_bytes              their plaintext bytes
 *   cassette_last_backup_shrunk             1: its bytes are less than half the
 *                                           node's previous finished backup's
 *   cassette_last_backup_success            0 after a failed backup-node run
 *   cassette_last_verify_success            0 after a failed verify run
 */
#ifndef CASSETTE_METRICS_H
#define CASSETTE_METRICS_H

#include <stdint.h>

struct catalog;
struct catalog_backup;
struct catalog_node;
struct config;
struct storage;

/* What the index says about a node's finished backups (damaged ones, whose
 * manifest is unreadable, do not count). Pointers borrowed from the catalog;
 * NULL when there is none. */
struct metrics_last {
	const struct catalog_backup *backup;	/* the node's last finished backup */
	const struct catalog_node *node;	/* its entry for the node */
	const struct catalog_backup *prev_backup; /* the one finished before it */
	const struct catalog_node *prev;
	int shrunk;			/* node->bytes < prev->bytes / 2 */
	int newest_finished;		/* the node's newest started backup finished */
};
void metrics_last_backup(struct metrics_last *out, const struct catalog *cat, const char *fqdn);

/*
 * Rewrite the text file `path_override`, or cfg->prometheus_textfile (none
 * set: nothing to do, 0), atomically (temp file beside it, fsync, rename;
 * mode 0644). backup_ok / verify_ok: 1 or 0 for the run that just ended,
 * -1 to keep what the file says. The last backup's values come from one
 * listing of the index when backup_ok is not -1, when path_override is
 * given, or when the file lacks them; otherwise they are kept too. `st` may
 * be NULL: the storage is then opened here when needed, and when it cannot
 * be, the backup values the file had are kept. 0, or a CST_ code with the
 * message set.
 */
int metrics_update(const struct config *cfg, struct storage *st, int backup_ok, int verify_ok,
		   const char *path_override);

/* The same for report-last-backup --prometheus PATH, from the catalog it
 * already loaded (no listing of its own); the run values the file at PATH
 * has are kept, the backup's success derived from the catalog when it has
 * none. 0, or a CST_ code with the message set. */
int metrics_write_from(const struct config *cfg, const struct catalog *cat, const char *path);

/* metrics_update() after a command's run, for backup-node and verify: a
 * failure is one warning on stderr, never the run's failure, and the
 * thread's error slot (the run's own message) is left as it was. */
void metrics_record(const struct config *cfg, struct storage *st, int backup_ok, int verify_ok);

#endif
