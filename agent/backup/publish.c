/* publish: meta files, manifest.json, then the index (publish.h). */
#define _GNU_SOURCE
#include "publish.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "latest.h"
#include "layout.h"
#include "manifest.h"
#include "meta.h"
#include "meta_auth.h"
#include "node_index.h"
#include "storage.h"
#include "util.h"

static int put_meta(const struct publish *r, const char *name, const char *text, int flags)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(r->st, key, text, strlen(text), flags);
	free(key);
	return rc;
}

static int put_meta_file(const struct publish *r, const char *name, const char *path, int flags)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_file(r->st, key, path, flags, NULL, NULL);
	free(key);
	return rc;
}

static int put_index_file(const struct publish *r, const char *name, const char *path)
{
	char *key = layout_index_key(r->cfg->prefix, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_file(r->st, key, path, 0, NULL, NULL);
	free(key);
	return rc;
}

static int put_index(const struct publish *r, const char *name, const char *text)
{
	char *key = layout_index_key(r->cfg->prefix, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(r->st, key, text, strlen(text), 0);
	free(key);
	return rc;
}

/* The node's own list of its backups (node_index.h), after the finished
 * marker: what the node's next differential backup lists. */
static int put_node_entry(const struct publish *r, int64_t finished)
{
	struct node_backup b;
	struct stat sb;

	memset(&b, 0, sizeof(b));
	b.name = (char *)r->name;
	b.started = r->started;
	b.finished = finished;
	b.files = r->files;
	b.bytes = r->bytes;
	if (stat(r->manifest_path, &sb) != 0)
		return cst_error_errno("cannot stat %s", r->manifest_path);
	b.manifest_size = (uint64_t)sb.st_size;
	return node_index_put(r->st, r->cfg->prefix, r->cfg->fqdn, &b);
}

/* The index copies, the cluster marker (in the node's own index: Medusa's
 * list-backups refuses names it does not know in backup_index/), the
 * finished marker (Medusa's form, content the time), the node's own entry
 * with the counts, then Medusa's latest_backup pointer. */
static int publish_index(const struct publish *r)
{
	const char *fqdn = r->cfg->fqdn;
	const char *tokenmap = r->tokenmap;
	char *name = NULL, *schema_name = NULL, *token_name = NULL, *man_name = NULL, *diff_name = NULL;
	char *cluster_name = NULL, *cluster_text = NULL;
	const char *schema = r->schema ? r->schema : "-- no schema.cql in the snapshot\n";
	char ts[32];
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = meta_cluster_marker(&cluster_name, &cluster_text, tokenmap)) != 0)
		goto out;
	schema_name = cst_sprintf("schema_%s.cql", fqdn);
	token_name = cst_sprintf("tokenmap_%s.json", fqdn);
	man_name = cst_sprintf("manifest_%s.json", fqdn);
	diff_name = cst_sprintf("differential_%s", fqdn);
	name = layout_finished_name(fqdn, now);
	if (!schema_name || !token_name || !man_name || !diff_name || !name) {
		rc = CST_ENOMEM;
		goto out;
	}
	snprintf(ts, sizeof(ts), "%" PRId64, now);
	if ((rc = put_index(r, schema_name, schema)) != 0 ||
	    (rc = put_index(r, token_name, tokenmap)) != 0 ||
	    (rc = put_index_file(r, man_name, r->manifest_path)) != 0 ||
	    (!r->full && (rc = put_index(r, diff_name, "differential")) != 0) ||
	    (rc = node_index_put_text(r->st, r->cfg->prefix, fqdn, r->name, cluster_name,
				      cluster_text)) != 0)
		goto out;
	if ((rc = put_index(r, name, ts)) != 0)	/* the backup is listed as complete */
		goto out;
	if ((rc = put_node_entry(r, now)) != 0)
		goto out;
	rc = latest_backup_set(r->st, r->cfg->prefix, fqdn, r->name, tokenmap);
out:
	free(name);
	free(schema_name);
	free(token_name);
	free(man_name);
	free(diff_name);
	free(cluster_name);
	free(cluster_text);
	return rc;
}

/* The SHA-256 of a local file, read in 1 MiB pieces. */
static int hash_file(unsigned char sha[CRYPTO_SHA256_LEN], const char *path)
{
	struct crypto_sha256 *h = NULL;
	unsigned char *buf = NULL;
	ssize_t got;
	int fd = -1, rc;

	if ((rc = crypto_sha256_new(&h)) != 0)
		return rc;
	if ((buf = cst_malloc(1u << 20)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("cannot open %s", path);
		goto out;
	}
	while ((got = read(fd, buf, 1u << 20)) != 0) {
		if (got < 0) {
			rc = cst_error_errno("cannot read %s", path);
			goto out;
		}
		if ((rc = crypto_sha256_update(h, buf, (size_t)got)) != 0)
			goto out;
	}
	rc = crypto_sha256_final(h, sha);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	crypto_sha256_free(h);
	return rc;
}

/* meta/auth.json over the meta objects this run wrote (FORMAT.md). */
static int put_auth(const struct publish *r, const char *schema, const char *version)
{
	struct crypto_meta_object o[5];
	const char *texts[4] = { schema, r->tokenmap, version, "differential" };
	const char *names[4] = { "schema.cql", "tokenmap.json", "server_version.json", "differential" };
	char *doc = NULL;
	size_t n = 0, i;
	int rc;

	for (i = 0; i < (r->full ? 3u : 4u); i++) {
		o[n].name = names[i];
		if ((rc = crypto_sha256(o[n++].sha256, texts[i], strlen(texts[i]))) != 0)
			return rc;
	}
	o[n].name = "manifest.json";
	if ((rc = hash_file(o[n++].sha256, r->manifest_path)) != 0 ||
	    (rc = r->sign_key ? meta_auth_json_signed(&doc, r->sign_key, r->cfg->fqdn, r->name, o, n) :
				meta_auth_json(&doc, r->key, r->cfg->fqdn, r->name, o, n)) != 0)
		return rc;
	rc = put_meta(r, META_AUTH_NAME, doc, 0);
	free(doc);
	return rc;
}

int publish_backup(const struct publish *r, int *manifest_written)
{
	const char *schema = r->schema ? r->schema : "-- no schema.cql in the snapshot\n";
	char *version = NULL;
	int rc;

	if ((rc = meta_server_version_json(&version, r->cfg)) != 0)
		goto out;
	if ((rc = put_meta(r, "schema.cql", schema, 0)) != 0 ||
	    (rc = put_meta(r, "tokenmap.json", r->tokenmap, 0)) != 0 ||
	    (rc = put_meta(r, "server_version.json", version, 0)) != 0 ||
	    (!r->full && (rc = put_meta(r, "differential", "differential", 0)) != 0))
		goto out;
	/* a rerun of an interrupted backup writes it again: it is not immutable */
	if (r->key != NULL && (rc = put_auth(r, schema, version)) != 0)
		goto out;
	if ((rc = put_meta_file(r, "manifest.json", r->manifest_path, STORAGE_PUT_NO_OVERWRITE)) != 0)
		goto out;
	*manifest_written = 1;
	rc = publish_index(r);
out:
	free(version);
	return rc;
}

/* ---- completing the index of a run killed after its manifest ------------ */

struct fetch_manifest {
	int fd;
	const char *path;
	struct manifest_reader *reader;
	uint64_t files, bytes;
};

static int count_object(void *arg, const struct manifest_object *obj)
{
	struct fetch_manifest *fm = arg;

	fm->files++;
	fm->bytes += obj->source_size;
	return 0;
}

static int manifest_to_file(void *arg, const unsigned char *buf, size_t len)
{
	struct fetch_manifest *fm = arg;
	int rc;

	if ((rc = manifest_reader_feed(fm->reader, buf, len)) != 0)
		return rc;
	if (cst_write_all(fm->fd, buf, len) != 0)
		return cst_error_errno("cannot write %s", fm->path);
	return 0;
}

static int get_meta(const struct publish *r, const char *name, char **out)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_get_buf(r->st, key, out, NULL, 64u << 20);
	free(key);
	return rc;
}

/* With a key: auth.json, and the small meta files it must authenticate. */
static int check_small_meta(const struct meta_auth *a, const struct publish *p, const char *schema,
			    const char *tokenmap, const char *diff)
{
	const char *names[3] = { "schema.cql", "tokenmap.json", "differential" };
	const char *texts[3] = { schema, tokenmap, diff };
	char *key;
	size_t i;
	int rc = 0;

	for (i = 0; i < 3 && rc == 0; i++) {
		if (texts[i] == NULL)
			continue;
		if ((key = layout_meta_key(p->cfg->prefix, p->cfg->fqdn, p->name, names[i])) == NULL)
			return CST_ENOMEM;
		rc = meta_auth_check_buf(a, names[i], texts[i], strlen(texts[i]), key);
		free(key);
	}
	return rc;
}

int publish_complete_index(const struct config *cfg, struct storage *st, const char *name,
			   int64_t started, const char *workdir, meta_auth_key_fn keys, void *arg,
			   uint64_t *files, uint64_t *bytes, int *unauthentic)
{
	struct manifest_sink sink = { NULL, count_object, NULL };
	struct fetch_manifest fm;
	struct meta_tee tee;
	struct meta_auth *auth = NULL;
	struct publish p;
	unsigned char sha[CRYPTO_SHA256_LEN];
	char *schema = NULL, *tokenmap = NULL, *diff = NULL, *mkey = NULL, *path = NULL;
	int rc;

	*unauthentic = 0;
	memset(&fm, 0, sizeof(fm));
	memset(&tee, 0, sizeof(tee));
	fm.fd = -1;
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.st = st;
	p.name = name;
	p.started = started;
	sink.arg = &fm;
	if (keys != NULL && (rc = meta_auth_load(&auth, st, cfg->prefix, cfg->fqdn, name, keys, arg)) != 0) {
		*unauthentic = rc == CST_ENOTFOUND || rc == CST_EINTEGRITY || rc == CST_EAUTH ||
			       rc == CST_EUNSUPPORTED;
		goto out;
	}
	if ((rc = get_meta(&p, "schema.cql", &schema)) != 0 || (rc = get_meta(&p, "tokenmap.json", &tokenmap)) != 0)
		goto out;
	if ((rc = get_meta(&p, "differential", &diff)) == CST_ENOTFOUND) {
		cst_error_clear();
		p.full = 1;
	} else if (rc != 0) {
		goto out;
	}
	if ((rc = check_small_meta(auth, &p, schema, tokenmap, diff)) != 0) {
		*unauthentic = 1;
		goto out;
	}
	if ((mkey = layout_meta_key(cfg->prefix, cfg->fqdn, name, "manifest.json")) == NULL ||
	    (path = cst_sprintf("%s/manifest-XXXXXX", workdir)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((fm.fd = mkstemp(path)) < 0) {
		rc = cst_error_errno("cannot create a temp file in %s", workdir);
		free(path);
		path = NULL;
		goto out;
	}
	fm.path = path;
	if ((rc = manifest_reader_new(&fm.reader, mkey, &sink)) != 0 ||
	    (rc = meta_tee_init(&tee, manifest_to_file, &fm)) != 0 ||
	    (rc = storage_get(st, mkey, meta_tee_sink, &tee)) != 0 ||
	    (rc = meta_tee_digest(&tee, sha)) != 0)
		goto out;
	if (auth != NULL && (rc = meta_auth_check(auth, "manifest.json", sha, mkey)) != 0) {
		*unauthentic = 1;
		goto out;
	}
	if ((rc = meta_tee_rethrow(&tee)) != 0 || (rc = manifest_reader_finish(fm.reader)) != 0)
		goto out;
	p.schema = schema;
	p.tokenmap = tokenmap;
	p.manifest_path = path;
	p.files = *files = fm.files;
	p.bytes = *bytes = fm.bytes;
	rc = publish_index(&p);
out:
	meta_tee_free(&tee);
	meta_auth_free(auth);
	manifest_reader_free(fm.reader);
	if (fm.fd >= 0)
		close(fm.fd);
	if (path != NULL)
		unlink(path);
	free(path);
	free(mkey);
	free(schema);
	free(tokenmap);
	free(diff);
	return rc;
}
