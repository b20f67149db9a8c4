/* retention: purge's choice (retention.h). */
#define _GNU_SOURCE
#include "retention.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400

/* Newest finished first; a tie by name, descending, so the choice is stable. */
static int newer_first(const struct retention_backup *a, const struct retention_backup *b)
{
	if (a->finished != b->finished)
		return a->finished > b->finished ? -1 : 1;
	return -strcmp(a->name, b->name);
}

void retention_choose(struct retention_backup *v, size_t n, int64_t now,
		      const struct retention_rules *r)
{
	size_t i, j, newer;

	for (i = 0; i < n; i++) {
		struct retention_backup *b = &v[i];

		b->verdict = RETAIN_KEEP;
		if (b->finished == 0) {
			if (b->started == 0 || now - b->started >= (int64_t)r->grace_days * DAY)
				b->verdict = RETAIN_ABANDONED;
			continue;
		}
		/* Sound finished backups newer than this one. */
		for (newer = 0, j = 0; j < n; j++)
			if (j != i && v[j].finished != 0 && !v[j].damaged && newer_first(&v[j], b) < 0)
				newer++;
		if (!b->damaged && r->max_count > 0 && newer >= r->max_count)
			b->verdict = RETAIN_COUNT;
		else if (r->max_age_days > 0 && now - b->finished > (int64_t)r->max_age_days * DAY &&
			 (b->damaged || newer > 0))
			b->verdict = RETAIN_AGE;
	}
}

const char *retention_reason(enum retention_verdict v)
{
	switch (v) {
	case RETAIN_AGE:
		return "older than max_backup_age";
	case RETAIN_COUNT:
		return "beyond max_backup_count";
	case RETAIN_ABANDONED:
		return "abandoned: started, never finished, older than the grace period";
	default:
		return "kept";
	}
}
