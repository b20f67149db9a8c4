/*
 * plan: which target host gets which source node's backup in a cluster
 * restore, checked whole before any node is touched.
 */
#ifndef CASSETTE_PLAN_H
#define CASSETTE_PLAN_H

#include <stddef.h>

/* One source node of the backup, as its tokenmap describes it. */
struct plan_source {
	const char *name;
	const char *dc, *rack;		/* NULL when unknown */
	size_t n_tokens;
	int finished;			/* its backup finished */
};

struct plan_entry {
	char *target;
	const struct plan_source *source;
	int seed;
	int line;			/* in the host list; 0 without one */
};

struct plan {
	struct plan_entry *entries;	/* seeds first, then by target name */
	size_t n;
};

/*
 * Build the plan. `host_list` is the text of Medusa's host-list file, one
 * "is_seed,target,source" line per target (True/False; blank lines and '#'
 * comments allowed), or NULL for in place: every source onto the host of
 * the same name, none a seed. Sources that did not finish are left out when
 * `allow_incomplete` (their host-list lines are skipped), else refused.
 * Every source must map to exactly one target and back; a target that is
 * itself a source of the backup must have the same dc, rack and token count
 * as the source it receives, and a source without tokens (a tokenmap made
 * without nodetool) can only go onto itself. Errors are CST_EINVALID naming the file and
 * line. *out owned by the caller.
 */
int plan_build(struct plan **out, const struct plan_source *sources, size_t n_sources,
	       const char *host_list, const char *list_path, int allow_incomplete);
void plan_free(struct plan *p);

#endif
