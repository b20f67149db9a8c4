/* plan: host list -> (target, source, seed), checked whole. */
#define _GNU_SOURCE
#include "plan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

static void trim(char **s)
{
	char *e;

	while (**s == ' ' || **s == '\t' || **s == '\r')
		(*s)++;
	e = *s + strlen(*s);
	while (e > *s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
}

static const struct plan_source *find_source(const struct plan_source *s, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

static int add(struct plan *p, size_t *cap, const char *target, const struct plan_source *src,
	       int seed, int line)
{
	struct plan_entry *e;

	if ((e = cst_grow(p->entries, cap, p->n, sizeof(*e), 8)) == NULL)
		return CST_ENOMEM;
	p->entries = e;
	e = &p->entries[p->n];
	memset(e, 0, sizeof(*e));
	if ((e->target = cst_strdup(target)) == NULL)
		return CST_ENOMEM;
	e->source = src;
	e->seed = seed;
	e->line = line;
	p->n++;
	return 0;
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* One "is_seed,target,source" line. */
static int parse_line(struct plan *p, size_t *cap, char *line, int lineno, const char *path,
		      const struct plan_source *sources, size_t n_sources, int allow_incomplete)
{
	char *f[3], *save = NULL, *extra;
	const struct plan_source *src;
	int seed, i;

	for (i = 0; i < 3; i++) {
		f[i] = strtok_r(i == 0 ? line : NULL, ",", &save);
		if (f[i] == NULL)
			return cst_error(CST_EINVALID, "%s:%d: expected 'is_seed,target,source' "
					 "(e.g. True,10.0.0.5,node3)", path, lineno);
		trim(&f[i]);
	}
	if ((extra = strtok_r(NULL, "", &save)) != NULL)
		return cst_error(CST_EINVALID, "%s:%d: more than three fields", path, lineno);
	if (strcasecmp(f[0], "true") == 0)
		seed = 1;
	else if (strcasecmp(f[0], "false") == 0)
		seed = 0;
	else
		return cst_error(CST_EINVALID, "%s:%d: is_seed must be True or False, not '%s'", path,
				 lineno, f[0]);
	if (!config_fqdn_is_valid(f[1]))
		return cst_error(CST_EINVALID, "%s:%d: '%s' is not a valid target host name", path,
				 lineno, f[1]);
	if ((src = find_source(sources, n_sources, f[2])) == NULL)
		return cst_error(CST_EINVALID, "%s:%d: unknown host '%s': not a node of this backup",
				 path, lineno, f[2]);
	if (!src->finished && allow_incomplete)
		return 0;	/* nothing to restore there */
	for (i = 0; (size_t)i < p->n; i++) {
		if (strcmp(p->entries[i].target, f[1]) == 0)
			return cst_error(CST_EINVALID, "%s:%d: target '%s' appears twice (also line %d)",
					 path, lineno, f[1], p->entries[i].line);
		if (p->entries[i].source == src)
			return cst_error(CST_EINVALID, "%s:%d: source '%s' appears twice (also line %d)",
					 path, lineno, f[2], p->entries[i].line);
	}
	return add(p, cap, f[1], src, seed, lineno);
}

static int from_list(struct plan *p, const char *text, const char *path,
		     const struct plan_source *sources, size_t n_sources, int allow_incomplete)
{
	char *copy = cst_strdup(text), *line, *next;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (copy == NULL)
		return CST_ENOMEM;
	for (line = copy; rc == 0 && line != NULL; line = next) {
		char *body;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		body = line;
		trim(&body);
		if (*body == '\0' || *body == '#')
			continue;
		rc = parse_line(p, &cap, body, lineno, path, sources, n_sources, allow_incomplete);
	}
	free(copy);
	return rc;
}

static int check(const struct plan *p, const struct plan_source *sources, size_t n_sources,
		 const char *path, int allow_incomplete)
{
	size_t i, j, want = 0;

	for (i = 0; i < n_sources; i++) {
		if (!sources[i].finished && !allow_incomplete)
			return cst_error(CST_EINVALID, "node %s did not finish this backup (use "
					 "--allow-incomplete to restore the others)", sources[i].name);
		want += sources[i].finished;
	}
	if (want == 0)
		return cst_error(CST_EINVALID, "no node finished this backup: nothing to restore");
	for (i = 0; i < n_sources; i++) {
		const struct plan_source *s = &sources[i];

		for (j = 0; j < p->n && p->entries[j].source != s; j++)
			;
		if (j == p->n && s->finished)
			return cst_error(CST_EINVALID, "%s: no target for source node '%s'", path,
					 s->name);
	}
	if (p->n != want)
		return cst_error(CST_EINVALID, "%s: %zu target%s for %zu source node%s: each node of "
				 "the backup needs exactly one target", path, p->n, p->n == 1 ? "" : "s",
				 want, want == 1 ? "" : "s");
	for (i = 0; i < p->n; i++) {
		const struct plan_entry *e = &p->entries[i];
		const struct plan_source *t = find_source(sources, n_sources, e->target);

		if (strcmp(e->target, e->source->name) != 0 && e->source->n_tokens == 0)
			return cst_error(CST_EINVALID, "%s:%d: source %s has no tokens in the backup's "
					 "tokenmap, so it can only be restored onto itself, not onto %s",
					 path, e->line, e->source->name, e->target);
		if (t == NULL || t == e->source)
			continue;
		if (!same(t->dc, e->source->dc) || !same(t->rack, e->source->rack) ||
		    t->n_tokens != e->source->n_tokens)
			return cst_error(CST_EINVALID, "%s:%d: target %s (dc %s, rack %s, %zu tokens) "
					 "cannot take source %s (dc %s, rack %s, %zu tokens)", path,
					 e->line, e->target, t->dc ? t->dc : "?", t->rack ? t->rack : "?",
					 t->n_tokens, e->source->name,
					 e->source->dc ? e->source->dc : "?",
					 e->source->rack ? e->source->rack : "?", e->source->n_tokens);
	}
	return 0;
}

static int by_seed_then_name(const void *a, const void *b)
{
	const struct plan_entry *x = a, *y = b;

	if (x->seed != y->seed)
		return y->seed - x->seed;
	return strcmp(x->target, y->target);
}

int plan_build(struct plan **out, const struct plan_source *sources, size_t n_sources,
	       const char *host_list, const char *list_path, int allow_incomplete)
{
	struct plan *p;
	size_t i, cap = 0;
	int rc = 0;

	*out = NULL;
	if ((p = cst_calloc(1, sizeof(*p))) == NULL)
		return CST_ENOMEM;
	if (host_list != NULL) {
		rc = from_list(p, host_list, list_path, sources, n_sources, allow_incomplete);
	} else {
		list_path = "in place";
		for (i = 0; rc == 0 && i < n_sources; i++)
			if (sources[i].finished || !allow_incomplete)
				rc = add(p, &cap, sources[i].name, &sources[i], 0, 0);
	}
	if (rc == 0)
		rc = check(p, sources, n_sources, list_path, allow_incomplete);
	if (rc != 0) {
		plan_free(p);
		return rc;
	}
	qsort(p->entries, p->n, sizeof(*p->entries), by_seed_then_name);
	*out = p;
	return 0;
}

void plan_free(struct plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->entries[i].target);
	free(p->entries);
	free(p);
}
