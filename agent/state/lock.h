/*
 * lock: one command at a time on a node's backups, on this host.
 *
 * backup-node, purge, delete-backup and restore-node of node FQDN hold
 * <encryption_tmp_dir>/cassette-<fqdn>.lock with flock(2) while they run;
 * the kernel drops it when the process dies, however it dies. The file
 * holds "<pid> <command>\n" of the holder, so a second run names it, and a
 * run that finds the words of a holder that is gone says it takes over.
 */
#ifndef CASSETTE_LOCK_H
#define CASSETTE_LOCK_H

struct config;
struct node_lock;

/* Take the lock of node `fqdn` for `command` ("backup-node"...). Held:
 * CST_EEXISTS, "node X is busy: <command> (pid N) holds <path>". A dead
 * holder's words: one line on stderr, then the lock is ours. */
int node_lock_take(struct node_lock **out, const struct config *cfg, const char *fqdn,
		   const char *command);
/* Clears the words and drops the lock. NULL is a no-op. */
void node_lock_release(struct node_lock *l);

#endif
