/*
 * verify: whether a stored backup is still whole. Without a key, from the
 * manifest and the store: every object exists with its recorded size (one
 * listing per folder), its ETag is the manifest's MD5 (S3), and an encrypted
 * object's header holds the manifest's key id and salt and a segment size
 * that gives its stored size. With --deep (the key), every object is read
 * and proven as a restore proves it, and its plaintext MD5 and size compared
 * with source_MD5 and source_size; --sample PERCENT does that for a random
 * share of the files, at least one per table. Takes no node lock: it only
 * reads, apart from the damage records it writes.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "fernet.h"
#include "layout.h"
#include "node_index.h"
#include "manifest.h"
#include "meta_auth.h"
#include "metrics.h"
#include "keys.h"
#include "storage.h"
#include "verify_int.h"

#define NAMES_BLOCK (256 * 1024)

const char *verify_problem_name(int problem)
{
	static const char *const names[] = {
		"ok", "missing", "wrong size", "wrong MD5", "wrong key id", "bad header",
		"fails authentication", "wrong source size", "wrong source MD5",
		"outside the node's backups", "could not be read", "data key missing",
	};

	return problem >= 0 && (size_t)problem < sizeof(names) / sizeof(names[0]) ? names[problem] : "?";
}

/* ---- the manifest ------------------------------------------------------------ */

static int on_table(void *arg, const char *ks, const char *cf)
{
	struct verify *v = arg;
	struct fetch_table *t, **grown;
	size_t i;

	v->cur_valid = layout_keyspace_is_valid(ks) && layout_table_dir_is_valid(cf);
	for (i = 0; i < v->n_tables; i++)	/* a table listed twice is one table */
		if (strcmp(v->tables[i]->keyspace, ks) == 0 && strcmp(v->tables[i]->columnfamily, cf) == 0) {
			v->cur = v->tables[i];
			return 0;
		}
	if ((grown = cst_grow(v->tables, &v->cap_tables, v->n_tables, sizeof(*grown), 16)) == NULL)
		return CST_ENOMEM;
	v->tables = grown;
	if ((t = cst_calloc(1, sizeof(*t))) == NULL)
		return CST_ENOMEM;
	v->tables[v->n_tables++] = t;
	if ((t->keyspace = cst_strdup(ks)) == NULL || (t->columnfamily = cst_strdup(cf)) == NULL)
		return CST_ENOMEM;
	v->cur = t;
	return 0;
}

static int on_object(void *arg, const struct manifest_object *obj)
{
	struct verify *v = arg;
	struct verify_item *it, *grown;
	char *rel = NULL;
	int rc;

	if ((grown = cst_grow(v->items, &v->cap_items, v->n_items, sizeof(*grown), 1024)) == NULL)
		return CST_ENOMEM;
	v->items = grown;
	it = &v->items[v->n_items];
	memset(it, 0, sizeof(*it));
	if ((rc = manifest_rec_pack(&it->job.rec, obj)) != 0)
		return rc;
	if ((it->job.rec.path = cst_strpool_dup(&v->names, obj->path)) == NULL)
		return CST_ENOMEM;
	it->job.tab = v->cur;
	v->n_items++;
	v->bytes += obj->source_size;
	v->encrypted |= it->job.rec.encrypted;
	if (it->job.rec.fernet && v->medusa_object == NULL)
		v->medusa_object = it->job.rec.path;
	/* a key outside the pool and the backup's own folder is named, not read */
	if (!v->cur_valid || layout_rel_from_key(&rel, obj->path, v->cfg->prefix, v->cfg->fqdn,
						 v->o->name, v->cur->keyspace, v->cur->columnfamily) != 0) {
		if (rel == NULL && cst_error_code() == CST_ENOMEM)
			return CST_ENOMEM;
		verify_flag(it, VP_LAYOUT, "the manifest names object %s, which is not a file of %s.%s in "
			    "this node's backups", obj->path, v->cur->keyspace, v->cur->columnfamily);
		cst_error_clear();
		return 0;
	}
	it->job.rel = (uint32_t)(strlen(obj->path) - strlen(rel));
	free(rel);
	return 0;
}

static int to_reader(void *arg, const unsigned char *buf, size_t len)
{
	return manifest_reader_feed(arg, buf, len);
}

/* Flag the backup in the node's own index: its manifest is unreadable
 * (FORMAT.md "The node index"). */
static void flag_damaged(struct verify *v, const char *why)
{
	if (node_index_flag_damaged(v->st, v->cfg->prefix, v->cfg->fqdn, v->o->name, why) != 0)
		fprintf(stderr, "cassette: warning: cannot flag backup %s damaged: %s\n", v->o->name,
			cst_error_msg());
}

/* With the key (--deep, --sample), the manifest's bytes must be the ones
 * meta/auth.json authenticates before anything it says is checked or a
 * damage record written. */
static int authenticate(struct verify *v, const unsigned char sha[CRYPTO_SHA256_LEN], const char *key)
{
	struct meta_auth *auth = NULL;
	int rc;

	if (v->keys == NULL)
		return 0;
	if ((rc = meta_auth_require(&auth, v->st, v->cfg->prefix, v->cfg->fqdn, v->o->name,
				    keys_meta_key, v->keys, v->o->allow_unauthenticated)) == 0)
		rc = meta_auth_check(auth, "manifest.json", sha, key);
	meta_auth_free(auth);
	if (rc != 0)
		rc = cst_error(rc, "%s; nothing was checked", cst_error_msg());
	return rc;
}

/* 0, CST_ENOTFOUND (no manifest), or CST_EINVALID for an unreadable one,
 * which is then flagged; *why holds the reader's message. */
static int read_manifest(struct verify *v, char **why)
{
	struct manifest_sink sink = { on_table, on_object, v };
	struct manifest_reader *r = NULL;
	struct meta_tee tee;
	unsigned char sha[CRYPTO_SHA256_LEN];
	char *key, *origin;
	int rc;

	*why = NULL;
	memset(&tee, 0, sizeof(tee));
	key = layout_meta_key(v->cfg->prefix, v->cfg->fqdn, v->o->name, "manifest.json");
	origin = cst_sprintf("backup %s manifest", v->o->name);
	if (key == NULL || origin == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = manifest_reader_new(&r, origin, &sink)) != 0 ||
	    (rc = meta_tee_init(&tee, to_reader, r)) != 0)
		goto out;
	if ((rc = storage_get(v->st, key, meta_tee_sink, &tee)) == CST_ENOTFOUND) {
		rc = cst_error(CST_ENOTFOUND, "backup '%s' of node %s not found (or not complete): no %s",
			       v->o->name, v->cfg->fqdn, key);
		goto out;
	}
	if (rc != 0 || (rc = meta_tee_digest(&tee, sha)) != 0 || (rc = authenticate(v, sha, key)) != 0)
		goto out;
	if ((rc = meta_tee_rethrow(&tee)) == 0)
		rc = manifest_reader_finish(r);
	if (rc == CST_EINVALID) {
		if ((*why = cst_strdup(cst_error_msg())) == NULL)
			rc = CST_ENOMEM;
		else
			flag_damaged(v, *why);
	}
out:
	meta_tee_free(&tee);
	manifest_reader_free(r);
	free(key);
	free(origin);
	return rc;
}

/* ---- the sample --------------------------------------------------------------- */

static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int by_table(const void *a, const void *b)
{
	const struct verify_item *x = *(const struct verify_item *const *)a;
	const struct verify_item *y = *(const struct verify_item *const *)b;

	if (x->job.tab != y->job.tab)
		return (uintptr_t)x->job.tab < (uintptr_t)y->job.tab ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* --deep: every file; --sample P: ceil(P% of each table's files), at least one. */
static int select_deep(struct verify *v)
{
	struct verify_item **idx;
	uint64_t seed;
	size_t i, start, n = 0;

	if (!v->o->deep && v->o->sample == 0)
		return 0;
	if ((idx = cst_calloc(v->n_items ? v->n_items : 1, sizeof(*idx))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < v->n_items; i++)
		if (v->items[i].problem != VP_LAYOUT)
			idx[n++] = &v->items[i];
	if (v->o->sample == 0 || v->o->sample >= 100) {
		for (i = 0; i < n; i++)
			idx[i]->deep = 1;
		free(idx);
		return 0;
	}
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	qsort(idx, n, sizeof(*idx), by_table);
	for (start = 0; start < n;) {
		size_t end = start, count, want, k;

		while (end < n && idx[end]->job.tab == idx[start]->job.tab)
			end++;
		count = end - start;
		want = (count * v->o->sample + 99) / 100;
		if (want == 0)
			want = 1;
		for (k = 0; k < want; k++) {	/* a partial Fisher-Yates shuffle */
			size_t pick = start + k + (size_t)(next_random(&seed) % (count - k));
			struct verify_item *tmp = idx[start + k];

			idx[start + k] = idx[pick];
			idx[pick] = tmp;
			idx[start + k]->deep = 1;
		}
		start = end;
	}
	free(idx);
	return 0;
}

/* ---- the report ---------------------------------------------------------------- */

static char *file_name(const struct verify_item *it)
{
	return cst_sprintf("%s.%s/%s", it->job.tab->keyspace, it->job.tab->columnfamily,
			   fetch_rel(&it->job));
}

static int report_json(const struct verify *v, const char *manifest_error)
{
	json_t *root, *bad = json_array();
	char *text, *file;
	size_t i;

	if (bad == NULL)
		return CST_ENOMEM;
	for (i = 0; i < v->n_items; i++) {
		const struct verify_item *it = &v->items[i];

		if (it->problem == VP_OK)
			continue;
		if ((file = file_name(it)) == NULL) {
			json_decref(bad);
			return CST_ENOMEM;
		}
		json_array_append_new(bad, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "file", file,
			"keyspace", it->job.tab->keyspace, "table", it->job.tab->columnfamily,
			"object", it->job.rec.path, "problem", verify_problem_name(it->problem),
			"detail", it->detail ? it->detail : "", "recorded", it->recorded));
		free(file);
	}
	root = json_pack("{s:s,s:s,s:b,s:s,s:s?,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:o}",
			 "backup", v->o->name, "node", v->cfg->fqdn,
			 "ok", manifest_error == NULL && v->n_bad == 0,
			 "manifest", manifest_error ? "unreadable" : "ok", "manifest_error", manifest_error,
			 "files", (json_int_t)v->n_items, "tables", (json_int_t)v->n_tables,
			 "bytes", (json_int_t)v->bytes,
			 "checked", "listed", (json_int_t)v->n_items, "headers", (json_int_t)v->n_headers,
			 "etags", (json_int_t)v->n_etags, "deep", (json_int_t)v->n_deep,
			 "bad_files", (json_int_t)v->n_bad, "bad", bad);
	if (root == NULL)
		return cst_error(CST_ENOMEM, "out of memory");
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		return cst_error(CST_ENOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

static int report_text(const struct verify *v)
{
	char human[32], *file;
	size_t i;

	printf("backup %s of node %s: %zu file%s in %zu table%s (%s)\n", v->o->name, v->cfg->fqdn,
	       v->n_items, v->n_items == 1 ? "" : "s", v->n_tables, v->n_tables == 1 ? "" : "s",
	       cmd_human_bytes(human, sizeof(human), v->bytes));
	printf("checked: every object's existence and size (listing), %zu header%s, %zu ETag%s, "
	       "%zu file%s deep (read, decrypted, hashed)\n", v->n_headers, v->n_headers == 1 ? "" : "s",
	       v->n_etags, v->n_etags == 1 ? "" : "s", v->n_deep, v->n_deep == 1 ? "" : "s");
	for (i = 0; i < v->n_items; i++) {
		const struct verify_item *it = &v->items[i];

		if (it->problem == VP_OK)
			continue;
		if ((file = file_name(it)) == NULL)
			return CST_ENOMEM;
		printf("BAD %s (object %s): %s: %s\n", file, it->job.rec.path,
		       verify_problem_name(it->problem), it->detail ? it->detail : "");
		free(file);
	}
	if (v->n_bad == 0)
		printf("sound: every file checked is as the manifest says\n");
	return 0;
}

/* ---- the command ------------------------------------------------------------------ */

static void free_verify(struct verify *v)
{
	size_t i;

	for (i = 0; i < v->n_items; i++)
		free(v->items[i].detail);
	free(v->items);
	for (i = 0; i < v->n_tables; i++) {
		free(v->tables[i]->keyspace);
		free(v->tables[i]->columnfamily);
		free(v->tables[i]);
	}
	free(v->tables);
	cst_strpool_free(&v->names);
	keys_free(v->keys);
	fernet_key_free(v->medusa_key);
	storage_close(v->st);
}

static int run(struct verify *v)
{
	const struct verify_opts *o = v->o;
	char *why = NULL;
	size_t i;
	int rc;

	if ((rc = cmd_open_storage(&v->st, v->cfg, 0)) != 0)
		return rc;
	v->remote = strcmp(storage_provider(v->st), "local") != 0;
	/* the key reads the objects, and first proves the manifest */
	if ((o->deep || o->sample) && config_has_key(v->cfg) &&
	    (rc = keys_open(&v->keys, v->cfg, v->st, v->cfg->fqdn, 0)) != 0)
		return rc;
	if ((rc = read_manifest(v, &why)) != 0) {
		if (rc == CST_EINVALID && why != NULL) {
			if (o->json)
				report_json(v, why);
			rc = cst_error(CST_EINTEGRITY, "backup %s of node %s: its manifest is unreadable (%s); "
				       "the backup is flagged damaged (index/node_index/%s/%s/damaged)", o->name,
				       v->cfg->fqdn, why, v->cfg->fqdn, o->name);
		}
		free(why);
		return rc;
	}
	if ((o->deep || o->sample) && v->encrypted && v->keys == NULL &&
	    (rc = keys_open(&v->keys, v->cfg, v->st, v->cfg->fqdn, 0)) != 0)
		return rc;
	if ((o->deep || o->sample) && v->medusa_object != NULL &&
	    (rc = fetch_medusa_key(&v->medusa_key, v->cfg, o->name, v->medusa_object)) != 0)
		return rc;
	if ((rc = select_deep(v)) != 0 || (rc = verify_listing(v)) != 0 || (rc = verify_data_keys(v)) != 0 ||
	    (rc = verify_objects(v)) != 0)
		return rc;
	for (i = 0; i < v->n_items; i++)
		v->n_bad += v->items[i].problem != VP_OK;
	if (v->n_bad > 0 && verify_record_damage(v) != 0)
		fprintf(stderr, "cassette: warning: not every damaged object could be recorded: %s\n",
			cst_error_msg());
	if ((rc = o->json ? report_json(v, NULL) : report_text(v)) != 0)
		return rc;
	if (v->n_bad > 0)
		return cst_error(CST_EINTEGRITY, "backup %s of node %s: %zu of %zu file%s %s bad (%zu recorded "
				 "under index/damaged_objects/%s/: the next backup stores such a file again)",
				 o->name, v->cfg->fqdn, v->n_bad, v->n_items, v->n_items == 1 ? "" : "s",
				 v->n_bad == 1 ? "is" : "are", v->n_recorded, v->cfg->fqdn);
	return 0;
}

int cmd_verify(const struct config *cfg, const struct verify_opts *o)
{
	struct verify v;
	int rc;

	if (!config_backup_name_is_valid(o->name)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not a valid backup name", o->name);
		return CMD_USAGE;
	}
	memset(&v, 0, sizeof(v));
	cst_strpool_init(&v.names, NAMES_BLOCK);
	v.cfg = cfg;
	v.o = o;
	rc = run(&v);
	/* the monitoring file is this host's node: another node's verify is not its news */
	if (rc != CMD_USAGE && strcmp(cfg->fqdn, cfg->node_fqdn) == 0)
		metrics_record(cfg, v.st, -1, rc == 0);
	free_verify(&v);
	return rc;
}
