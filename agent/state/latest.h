/*
 * latest: Medusa's pointer to a node's newest backup, kept true by both
 * the backup that finishes and the removal of the backup it names.
 *
 *   <prefix>/index/latest_backup/<fqdn>/tokenmap.json    the backup's tokenmap.json
 *   <prefix>/index/latest_backup/<fqdn>/backup_name.txt  the backup's name, no newline
 *
 * Medusa's backup-node reads it to find the backup its differential mode
 * compares with, and report-last-backup to find the last backup; without
 * it, Medusa rebuilds its index inside the store. cassette reads nothing
 * from it.
 */
#ifndef CASSETTE_LATEST_H
#define CASSETTE_LATEST_H

struct storage;

/* Write both objects (tokenmap.json first, as Medusa does). 0 or a CST_ code. */
int latest_backup_set(struct storage *st, const char *prefix, const char *fqdn, const char *name,
		      const char *tokenmap);
/*
 * After backup `removed` of node `fqdn` went: when the pointer names it,
 * point it at the node's newest remaining finished backup (not flagged
 * damaged), with that backup's index copy tokenmap_<fqdn>.json, or remove
 * both objects when none is left. A pointer that names another backup (or
 * none) is left alone. 0 or a CST_ code.
 */
int latest_backup_after_removal(struct storage *st, const char *prefix, const char *fqdn,
				const char *removed);

#endif
