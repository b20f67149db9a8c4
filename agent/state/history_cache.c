/*
 * history_cache: the node's history as the state database keeps it, so a
 * run reads only the manifests no earlier run read (docs/FORMAT.md, "The
 * local state database").
 *
 * Manifests are immutable, so what the records of backups b1..bm say stays
 * true as long as those backups are there. The database holds that list
 * (each keyed by name, start and finish times and the listed size of the
 * index copy of its manifest) with the merged records, each with the
 * position of the newest backup that holds it. It is used only when every
 * backup it lists is still listed, unchanged and in the same order; the
 * records of the backups listed since are then merged on top (newest wins,
 * whatever the order of merging, history_add_rec), which is what a fresh
 * load gives. Only the rows that changed are written back, or all of them
 * when positions moved. Anything else (a backup deleted, flagged damaged or
 * rewritten, another store, a row that fails its checksum) and the run reads
 * every manifest and writes the whole cache again: a cache can differ from a
 * fresh load only by being absent.
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statedb.h"
#include "util.h"

struct history_cache {
	struct statedb *db;
	const char *identity;
	size_t n_cached;		/* backups read from the database */
	size_t n_tables;		/* tables read from it */
	int replace;			/* write everything again */
	int warned;
};

/* ---- open and close -------------------------------------------------------- */

#define READ_ALL "every manifest is read"

static void warn(struct history_cache *c, const char *what, const char *consequence)
{
	if (!c->warned)
		fprintf(stderr, "cassette: warning: history cache %s: %s; %s\n",
			statedb_path(c->db), what, consequence);
	c->warned = 1;
}

int history_cache_open(struct history_cache **out, const char *state_dir, const char *fqdn,
		       const char *identity)
{
	struct history_cache *c;
	int rc;

	*out = NULL;
	if ((c = cst_calloc(1, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	c->identity = identity;
	if ((rc = statedb_open(&c->db, state_dir, fqdn)) != 0) {
		if (rc == CST_ENOMEM) {
			free(c);
			return rc;
		}
		/* no warning: the hash cache, which opens the same file next,
		 * says it once for both */
		cst_error_clear();
		free(c);
		return 0;
	}
	*out = c;
	return 0;
}

void history_cache_close(struct history_cache *c)
{
	if (c == NULL)
		return;
	statedb_close(c->db);
	free(c);
}

/* ---- reading ---------------------------------------------------------------- */

/* One SELECT, each row to `row`; its non-zero return stops with that code.
 * A SQLite error is -1 with a warning. */
static int each_row(struct history_cache *c, const char *sql,
		    int (*row)(void *arg, sqlite3_stmt *s), void *arg)
{
	sqlite3 *db = statedb_sqlite(c->db);
	sqlite3_stmt *s = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		warn(c, sqlite3_errmsg(db), READ_ALL);
		return -1;
	}
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = row(arg, s);
	if (rc == 0 && step != SQLITE_DONE) {
		warn(c, sqlite3_errmsg(db), READ_ALL);
		rc = -1;
	}
	sqlite3_finalize(s);
	return rc;
}

struct reading {
	struct history_cache *c;
	struct history *h;
	const struct history_seq *seq;
	size_t n, count;
	size_t next;			/* where in seq the next cached backup may be */
	uint32_t *where;		/* cached position -> position in seq */
	size_t cap_where;
	int identity_ok;
};

/* Row results: 0 go on, 1 stale (not an error), -1 damaged, CST_ENOMEM. */
enum { ROW_STALE = 1, ROW_BAD = -1 };

static int identity_row(void *arg, sqlite3_stmt *s)
{
	struct reading *r = arg;
	const char *v = (const char *)sqlite3_column_text(s, 0);

	r->identity_ok = v != NULL && strcmp(v, r->c->identity) == 0;
	return 0;
}

static int backup_row(void *arg, sqlite3_stmt *s)
{
	struct reading *r = arg;
	struct history_seq b;
	int64_t pos = sqlite3_column_int64(s, 0);
	uint32_t *w;

	b.name = (const char *)sqlite3_column_text(s, 1);
	b.started = sqlite3_column_int64(s, 2);
	b.finished = sqlite3_column_int64(s, 3);
	b.size = (uint64_t)sqlite3_column_int64(s, 4);
	if (b.name == NULL || sqlite3_column_int64(s, 5) != hcache_backup_sum(&b))
		return ROW_BAD;
	if (pos != (int64_t)r->count)
		return ROW_BAD;
	/* still there, unchanged, in the same order: later in seq than the
	 * one before (backups listed since may sit anywhere) */
	while (r->next < r->n && strcmp(r->seq[r->next].name, b.name) != 0)
		r->next++;
	if (r->next == r->n || r->seq[r->next].started != b.started ||
	    r->seq[r->next].finished != b.finished || r->seq[r->next].size != b.size)
		return ROW_STALE;
	if ((w = cst_grow(r->where, &r->cap_where, r->count, sizeof(*w), 64)) == NULL)
		return CST_ENOMEM;
	r->where = w;
	r->where[r->count++] = (uint32_t)r->next++;
	return 0;
}

static int table_row(void *arg, sqlite3_stmt *s)
{
	struct reading *r = arg;
	int64_t id = sqlite3_column_int64(s, 0);
	const char *ks = (const char *)sqlite3_column_text(s, 1);
	const char *cf = (const char *)sqlite3_column_text(s, 2);
	uint32_t got;
	int rc;

	if (ks == NULL || cf == NULL || sqlite3_column_int64(s, 3) != hcache_table_sum((uint64_t)id, ks, cf) ||
	    id != (int64_t)r->h->n_tables)
		return ROW_BAD;
	if ((rc = history_table_add(r->h, ks, cf, &got)) != 0)
		return rc;
	return got == (uint32_t)id ? 0 : ROW_BAD;	/* a table listed twice */
}

static int key_row(void *arg, sqlite3_stmt *s)
{
	struct reading *r = arg;
	const char *key = (const char *)sqlite3_column_text(s, 0);

	if (key == NULL)
		return ROW_BAD;
	return history_key_intern(r->h, key) == NULL ? CST_ENOMEM : 0;
}

static int rec_row(void *arg, sqlite3_stmt *s)
{
	struct reading *r = arg;
	int64_t tbl = sqlite3_column_int64(s, 0), own = sqlite3_column_int64(s, 5);
	int64_t ord = sqlite3_column_int64(s, 6);
	const char *rel = (const char *)sqlite3_column_text(s, 1);
	const char *path = (const char *)sqlite3_column_text(s, 4);
	const unsigned char *kind = sqlite3_column_blob(s, 2), *blob = sqlite3_column_blob(s, 3);
	unsigned char want[HCACHE_KIND_LEN];
	struct manifest_rec rec;

	if (rel == NULL || kind == NULL || blob == NULL || sqlite3_column_bytes(s, 2) != HCACHE_KIND_LEN ||
	    sqlite3_column_bytes(s, 3) != HCACHE_REC_LEN ||
	    sqlite3_column_int64(s, 7) != hcache_rec_sum((uint64_t)tbl, rel, kind, blob, path,
						  (uint64_t)own, (uint64_t)ord))
		return ROW_BAD;
	if (tbl < 0 || (size_t)tbl >= r->h->n_tables || ord < 0 || (size_t)ord >= r->count ||
	    own < 0 || own > 1 || hcache_rec_decode(&rec, blob) != 0)
		return ROW_BAD;
	hcache_kind(want, &rec);
	if (memcmp(want, kind, HCACHE_KIND_LEN) != 0)
		return ROW_BAD;
	if (path != NULL) {
		size_t pl = strlen(path), rl = strlen(rel);

		if (pl < rl || strcmp(path + pl - rl, rel) != 0)
			return ROW_BAD;
		if ((rec.path = history_key_intern(r->h, path)) == NULL)
			return CST_ENOMEM;
	}
	return history_add_rec(r->h, (uint32_t)tbl, rel, &rec, r->where[ord], (int)own);
}

int history_cache_read(struct history_cache *c, struct history *h, const struct history_seq *seq,
		       size_t n, unsigned char *cached, size_t *n_cached)
{
	struct reading r;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.h = h;
	r.seq = seq;
	r.n = n;
	*n_cached = 0;
	c->replace = 1;
	rc = each_row(c, "SELECT v FROM hist_meta WHERE k = 'identity'", identity_row, &r);
	if (rc == 0 && !r.identity_ok)
		goto out;	/* new, or written for another store */
	if (rc == 0)
		rc = each_row(c, "SELECT pos, name, started, finished, size, sum FROM hist_backup "
			      "ORDER BY pos", backup_row, &r);
	if (rc == ROW_STALE || (rc == 0 && r.count == 0)) {
		rc = 0;		/* a backup went, or none cached yet */
		goto out;
	}
	if (rc == 0)
		rc = each_row(c, "SELECT id, ks, cf, sum FROM hist_table ORDER BY id", table_row, &r);
	if (rc == 0)
		rc = each_row(c, "SELECT key FROM hist_key", key_row, &r);
	if (rc == 0)
		rc = each_row(c, "SELECT tbl, rel, kind, rec, path, own, ord, sum FROM hist_rec",
			      rec_row, &r);
	if (rc == 0) {
		for (i = 0; i < r.count; i++)
			cached[r.where[i]] = 1;
		c->n_cached = *n_cached = r.count;
		c->n_tables = h->n_tables;
		c->replace = 0;
		goto out;
	}
	if (rc == ROW_BAD)
		warn(c, "a row fails its check", READ_ALL);
	history_reset(h);	/* what was read of it goes too */
	if (rc != CST_ENOMEM)
		rc = 0;
out:
	free(r.where);
	return rc;
}

/* ---- writing ---------------------------------------------------------------- */

struct writing {
	sqlite3 *db;
	sqlite3_stmt *backup, *table, *key, *rec;
};

static int step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int write_backup(struct writing *w, size_t pos, const struct history_seq *b)
{
	sqlite3_bind_int64(w->backup, 1, (sqlite3_int64)pos);
	sqlite3_bind_text(w->backup, 2, b->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->backup, 3, b->started);
	sqlite3_bind_int64(w->backup, 4, b->finished);
	sqlite3_bind_int64(w->backup, 5, (sqlite3_int64)b->size);
	sqlite3_bind_int64(w->backup, 6, hcache_backup_sum(b));
	return step(w->backup);
}

static int write_table(struct writing *w, const struct history *h, size_t id)
{
	const char *name = h->tables[id], *nl = strchr(name, '\n');
	char *ks = strndup(name, (size_t)(nl - name));
	int rc;

	if (ks == NULL)
		return -1;
	sqlite3_bind_int64(w->table, 1, (sqlite3_int64)id);
	sqlite3_bind_text(w->table, 2, ks, -1, SQLITE_STATIC);
	sqlite3_bind_text(w->table, 3, nl + 1, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->table, 4, hcache_table_sum(id, ks, nl + 1));
	rc = step(w->table);
	free(ks);
	return rc;
}

static int write_key(struct writing *w, const char *key)
{
	sqlite3_bind_text(w->key, 1, key, -1, SQLITE_STATIC);
	return step(w->key);
}

static int write_rec(struct writing *w, const struct entry *e)
{
	unsigned char kind[HCACHE_KIND_LEN], rec[HCACHE_REC_LEN];

	hcache_kind(kind, &e->rec);
	hcache_rec_encode(rec, &e->rec);
	sqlite3_bind_int64(w->rec, 1, e->table);
	sqlite3_bind_text(w->rec, 2, e->rel, -1, SQLITE_STATIC);
	sqlite3_bind_blob(w->rec, 3, kind, HCACHE_KIND_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(w->rec, 4, rec, HCACHE_REC_LEN, SQLITE_STATIC);
	if (e->rec.path)
		sqlite3_bind_text(w->rec, 5, e->rec.path, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(w->rec, 5);
	sqlite3_bind_int64(w->rec, 6, e->own_taken);
	sqlite3_bind_int64(w->rec, 7, e->order);
	sqlite3_bind_int64(w->rec, 8, hcache_rec_sum(e->table, e->rel, kind, rec, e->rec.path, e->own_taken,
					      e->order));
	return step(w->rec);
}

/* Every row that is new since the read (all of them when replacing). */
static int write_rows(struct history_cache *c, struct writing *w, struct history *h,
		      const struct history_seq *seq, size_t n)
{
	size_t i;

	for (i = c->n_cached; i < n; i++)
		if (write_backup(w, i, &seq[i]) != 0)
			return -1;
	for (i = c->n_tables; i < h->n_tables; i++)
		if (write_table(w, h, i) != 0)
			return -1;
	if (c->replace) {
		for (i = 0; i < h->keys_cap; i++)
			if (h->keys[i] != NULL && write_key(w, h->keys[i]) != 0)
				return -1;
	} else {
		for (i = 0; i < h->n_new_keys; i++)
			if (write_key(w, h->new_keys[i]) != 0)
				return -1;
	}
	for (i = 0; i < h->n_entries; i++)
		if ((c->replace || h->entries[i].dirty) && write_rec(w, &h->entries[i]) != 0)
			return -1;
	return 0;
}

static int prepare(struct writing *w)
{
	return sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO hist_backup VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				  -1, &w->backup, NULL) != SQLITE_OK ||
	       sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO hist_table VALUES (?1, ?2, ?3, ?4)", -1,
				  &w->table, NULL) != SQLITE_OK ||
	       sqlite3_prepare_v2(w->db, "INSERT OR IGNORE INTO hist_key VALUES (?1)", -1, &w->key,
				  NULL) != SQLITE_OK ||
	       sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO hist_rec VALUES "
				  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &w->rec, NULL) != SQLITE_OK ?
		       -1 : 0;
}

static int dirty(const struct history *h)
{
	size_t i;

	for (i = 0; i < h->n_entries; i++)
		if (h->entries[i].dirty)
			return 1;
	return h->n_new_keys > 0;
}

int history_cache_write(struct history_cache *c, struct history *h, const struct history_seq *seq,
			size_t n, int append)
{
	struct writing w;
	int failed;

	if (!append)
		c->replace = 1;	/* positions moved: every row again */

	if (!c->replace && n == c->n_cached && !dirty(h))
		return 0;	/* nothing new */
	memset(&w, 0, sizeof(w));
	w.db = statedb_sqlite(c->db);
	failed = sqlite3_exec(w.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK;
	if (!failed && c->replace) {
		sqlite3_stmt *id = NULL;

		failed = sqlite3_exec(w.db, "DELETE FROM hist_backup; DELETE FROM hist_table; "
				      "DELETE FROM hist_key; DELETE FROM hist_rec;", NULL, NULL,
				      NULL) != SQLITE_OK ||
			 sqlite3_prepare_v2(w.db, "INSERT OR REPLACE INTO hist_meta VALUES "
					    "('identity', ?1)", -1, &id, NULL) != SQLITE_OK;
		if (!failed) {
			sqlite3_bind_text(id, 1, c->identity, -1, SQLITE_STATIC);
			failed = step(id) != 0;
		}
		sqlite3_finalize(id);
		c->n_cached = c->n_tables = 0;
	}
	failed = failed || prepare(&w) != 0 || write_rows(c, &w, h, seq, n) != 0 ||
		 sqlite3_exec(w.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK;
	if (failed) {
		warn(c, sqlite3_errmsg(w.db), "not updated (the next run reads what it lacks)");
		sqlite3_exec(w.db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(w.backup);
	sqlite3_finalize(w.table);
	sqlite3_finalize(w.key);
	sqlite3_finalize(w.rec);
	return 0;
}
