/*
 * retention: which of a node's backups purge removes, from the index alone
 * (no object read). Pure: the caller gives the clock.
 */
#ifndef CASSETTE_RETENTION_H
#define CASSETTE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

enum retention_verdict {
	RETAIN_KEEP,
	RETAIN_AGE,		/* finished longer ago than max_backup_age */
	RETAIN_COUNT,		/* beyond the newest max_backup_count */
	RETAIN_ABANDONED,	/* started, never finished, older than the grace period */
};

struct retention_backup {
	const char *name;		/* borrowed */
	int64_t started, finished;	/* unix seconds; 0 = none (not finished) */
	int damaged;			/* flagged damaged: the manifest is unreadable */
	enum retention_verdict verdict;	/* set by retention_choose() */
};

struct retention_rules {
	unsigned max_age_days;		/* 0 = no limit */
	unsigned max_count;		/* 0 = no limit */
	unsigned grace_days;
};

/*
 * Set each backup's verdict, as of `now`:
 *   - finished ones go when finished more than max_age_days ago (AGE), or
 *     when more than max_count sound ones finished after them (COUNT; the
 *     newest finished first, a tie broken by name). A damaged backup takes
 *     no place among the kept ones, and only age removes it: it restores
 *     nothing, but an operator may still want to look at it;
 *   - the newest sound finished backup is never removed, whatever its age:
 *     a node whose backups have failed for weeks keeps its last one;
 *   - one that never finished is ABANDONED when it started at least
 *     grace_days ago (or has no start time at all), else kept: it may be
 *     running or be resumed.
 * The array's order is not changed.
 */
void retention_choose(struct retention_backup *v, size_t n, int64_t now,
		      const struct retention_rules *r);
/* "older than max_backup_age"... for messages. Static string. */
const char *retention_reason(enum retention_verdict v);

#endif
