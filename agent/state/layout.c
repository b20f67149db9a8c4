/* layout: storage key names and the name rules that guard the disk. */
#define _GNU_SOURCE
#include "layout.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* "<prefix>/" or "" */
static const char *sep(const char *prefix)
{
	return prefix[0] ? "/" : "";
}

char *layout_meta_key(const char *prefix, const char *fqdn, const char *backup, const char *name)
{
	return cst_sprintf("%s%s%s/%s/meta/%s", prefix, sep(prefix), fqdn, backup, name);
}

char *layout_pool_key(const char *prefix, const char *fqdn, const char *ks, const char *cf,
		      const char *rel, const char *variant_backup)
{
	if (variant_backup != NULL)
		return cst_sprintf("%s%s%s/data/%s/%s/@%s/%s", prefix, sep(prefix), fqdn, ks, cf,
				   variant_backup, rel);
	return cst_sprintf("%s%s%s/data/%s/%s/%s", prefix, sep(prefix), fqdn, ks, cf, rel);
}

char *layout_full_key(const char *prefix, const char *fqdn, const char *backup, const char *ks,
		      const char *cf, const char *rel)
{
	return cst_sprintf("%s%s%s/%s/data/%s/%s/%s", prefix, sep(prefix), fqdn, backup, ks, cf, rel);
}

char *layout_index_prefix(const char *prefix)
{
	return cst_sprintf("%s%sindex/backup_index/", prefix, sep(prefix));
}

char *layout_key_params_key(const char *prefix)
{
	return cst_sprintf("%s%sindex/key_params.json", prefix, sep(prefix));
}

char *layout_index_key(const char *prefix, const char *backup, const char *name)
{
	return cst_sprintf("%s%sindex/backup_index/%s/%s", prefix, sep(prefix), backup, name);
}

static int is_word(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_')
			return 0;
	return n > 0 && n <= max;
}

int layout_keyspace_is_valid(const char *ks)
{
	return ks != NULL && is_word(ks, 222);
}

int layout_table_dir_is_valid(const char *cf)
{
	const char *dash;
	char name[256];
	size_t i;

	if (cf == NULL || (dash = strrchr(cf, '-')) == NULL || strlen(dash + 1) != 32 ||
	    (size_t)(dash - cf) >= sizeof(name) || dash == cf)
		return 0;
	for (i = 1; i <= 32; i++)
		if (!isxdigit((unsigned char)dash[i]) || isupper((unsigned char)dash[i]))
			return 0;
	memcpy(name, cf, (size_t)(dash - cf));
	name[dash - cf] = '\0';
	return is_word(name, 222);
}

int layout_index_dir_is_valid(const char *dir)
{
	return dir != NULL && dir[0] == '.' && is_word(dir + 1, 222);
}

int layout_file_is_temporary(const char *name)
{
	size_t n = strlen(name);

	if (strncmp(name, "tmp-", 4) == 0 || strncmp(name, "tmplink-", 8) == 0)
		return 1;
	if (n >= 4 && strcmp(name + n - 4, ".tmp") == 0)
		return 1;
	if (strstr(name, "_txn_") != NULL && n >= 4 && strcmp(name + n - 4, ".log") == 0)
		return 1;
	return strstr(name, ".cassette-tmp-") != NULL;
}

static int file_is_valid(const char *name)
{
	return cst_name_is_safe(name) && name[0] != '.' && name[0] != '@' &&
	       !layout_file_is_temporary(name);
}

int layout_rel_is_valid(const char *rel)
{
	const char *slash;
	char dir[256];

	if (rel == NULL)
		return 0;
	if ((slash = strchr(rel, '/')) == NULL)
		return file_is_valid(rel);
	if ((size_t)(slash - rel) >= sizeof(dir))
		return 0;
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = '\0';
	return layout_index_dir_is_valid(dir) && file_is_valid(slash + 1);
}

int layout_rel_from_key(char **rel, const char *key, const char *prefix, const char *fqdn,
			const char *backup, const char *ks, const char *cf)
{
	char *pool = NULL, *full = NULL;
	const char *rest = NULL;
	int rc = 0;

	*rel = NULL;
	pool = cst_sprintf("%s%s%s/data/%s/%s/", prefix, sep(prefix), fqdn, ks, cf);
	full = cst_sprintf("%s%s%s/%s/data/%s/%s/", prefix, sep(prefix), fqdn, backup, ks, cf);
	if (pool == NULL || full == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (strncmp(key, pool, strlen(pool)) == 0) {
		rest = key + strlen(pool);
		if (rest[0] == '@') {
			const char *slash = strchr(rest, '/');

			rest = slash ? slash + 1 : NULL;
		}
	} else if (strncmp(key, full, strlen(full)) == 0) {
		rest = key + strlen(full);
	}
	if (rest == NULL || !layout_rel_is_valid(rest)) {
		rc = cst_error(CST_EINVALID, "object key '%s' is not a file of %s.%s in this node's backups",
			       key, ks, cf);
		goto out;
	}
	if ((*rel = cst_strdup(rest)) == NULL)
		rc = CST_ENOMEM;
out:
	free(pool);
	free(full);
	return rc;
}

char *layout_started_name(const char *fqdn, int64_t ts)
{
	return cst_sprintf("started_%s_%" PRId64 ".timestamp", fqdn, ts);
}

char *layout_finished_name(const char *fqdn, int64_t ts)
{
	return cst_sprintf("finished_%s_%" PRId64 ".timestamp", fqdn, ts);
}

/* Split off the last "_<digits>" of s[0..*len); 0 on success. */
static int take_number(const char *s, size_t *len, uint64_t *out)
{
	size_t end = *len, start = end;
	char *stop;

	while (start > 0 && isdigit((unsigned char)s[start - 1]))
		start--;
	if (start == end || start == 0 || s[start - 1] != '_' || end - start > 19)
		return -1;
	*out = strtoull(s + start, &stop, 10);
	*len = start - 1;
	return 0;
}

/* The part between "started_"/"finished_" and ".timestamp"; NULL if none. */
static const char *marker_body(struct index_marker *out, const char *name, size_t *len)
{
	const char *body;

	memset(out, 0, sizeof(*out));
	if (strncmp(name, "started_", 8) == 0)
		body = name + 8;
	else if (strncmp(name, "finished_", 9) == 0) {
		body = name + 9;
		out->finished = 1;
	} else
		return NULL;
	*len = strlen(body);
	if (*len < 10 || strcmp(body + *len - 10, ".timestamp") != 0)
		return NULL;
	*len -= 10;
	return body;
}

int layout_parse_marker(struct index_marker *out, const char *name)
{
	const char *body;
	size_t len;
	uint64_t ts;

	if ((body = marker_body(out, name, &len)) == NULL)
		return CST_EINVALID;
	if (take_number(body, &len, &ts) != 0 || len == 0 || len >= sizeof(out->fqdn) ||
	    ts > INT64_MAX)
		return CST_EINVALID;
	memcpy(out->fqdn, body, len);
	out->fqdn[len] = '\0';
	out->ts = (int64_t)ts;
	return 0;
}

int layout_marker_of(struct index_marker *out, const char *name, const char *fqdn)
{
	const char *body;
	size_t len, fl = strlen(fqdn), groups = 0;
	uint64_t g[3];

	if ((body = marker_body(out, name, &len)) == NULL || fl == 0 || fl >= sizeof(out->fqdn) ||
	    len <= fl + 1 || memcmp(body, fqdn, fl) != 0 || body[fl] != '_')
		return CST_EINVALID;
	/* exactly "_<digits>" groups after the fqdn: one, or three (old finished) */
	while (len > fl && groups < 3 && take_number(body, &len, &g[groups]) == 0)
		groups++;
	if (len != fl || !(groups == 1 || (groups == 3 && out->finished)) ||
	    g[groups - 1] > INT64_MAX)
		return CST_EINVALID;
	memcpy(out->fqdn, fqdn, fl + 1);
	out->ts = (int64_t)g[groups - 1];
	if (groups == 3) {
		out->counted = 1;
		out->files = g[1];
		out->bytes = g[0];
	}
	return 0;
}

uint64_t layout_cluster_fingerprint(const char *const *sorted, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;
	const char *p;

	for (i = 0; i < n; i++) {
		for (p = sorted[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
		h = (h ^ '\n') * 0x100000001b3ull;
	}
	return h;
}

char *layout_cluster_name(size_t n, uint64_t fingerprint)
{
	return cst_sprintf("cluster_%zu_%016" PRIx64, n, fingerprint);
}

int layout_parse_cluster(const char *name, size_t *n, uint64_t *fingerprint)
{
	const char *p = name + 8, *us;
	char *end;
	unsigned long long v;

	if (strncmp(name, "cluster_", 8) != 0 || !isdigit((unsigned char)*p))
		return CST_EINVALID;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno != 0 || *end != '_' || v == 0 || v > 1000000)
		return CST_EINVALID;
	us = end + 1;
	if (strlen(us) != 16 || strspn(us, "0123456789abcdef") != 16)
		return CST_EINVALID;
	*n = (size_t)v;
	*fingerprint = strtoull(us, NULL, 16);
	return 0;
}
