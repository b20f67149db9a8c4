/* resume: leftovers of a killed run, and proof of its objects (resume.h). */
#define _GNU_SOURCE
#include "resume.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "crypto.h"
#include "history.h"
#include "journal.h"
#include "layout.h"
#include "manifest.h"
#include "pipeline.h"
#include "storage.h"
#include "util.h"

/* Files under `path`, counted before it goes. */
static size_t count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		char *sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((sub = cst_path_join(path, e->d_name)) == NULL)
			continue;
		n += e->d_type == DT_DIR ? count_files(sub) : 1;
		free(sub);
	}
	closedir(d);
	return n;
}

int resume_clean_workdir(const struct config *cfg, size_t *n)
{
	char *dir = pipeline_workdir(cfg);
	DIR *d;
	struct dirent *e;
	int rc = 0;

	*n = 0;
	if (dir == NULL)
		return CST_ENOMEM;
	if ((rc = cst_mkdirs(cfg->encryption_tmp_dir)) != 0)
		goto out;
	if (mkdir(dir, 0700) == 0)
		goto out;
	if (errno != EEXIST) {
		rc = cst_error_errno("cannot create %s in encryption_tmp_dir", dir);
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		rc = cst_error_errno("cannot read %s", dir);
		goto out;
	}
	while ((e = readdir(d)) != NULL && rc == 0) {
		char *sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((sub = cst_path_join(dir, e->d_name)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		*n += count_files(sub);
		rc = cst_remove_tree(sub);
		free(sub);
	}
	closedir(d);
out:
	free(dir);
	return rc;
}

struct md5_sink {
	struct crypto_md5 *md5;
};

static int md5_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct md5_sink *m = arg;

	return crypto_md5_update(m->md5, buf, len);
}

static int plaintext_matches(struct storage *st, const char *key, const char *etag,
			     const char *md5_hex)
{
	struct md5_sink m;
	unsigned char md5[16];
	char hex[33];
	int rc;

	if (strlen(etag) == 32)
		return strcmp(etag, md5_hex) == 0;
	if ((rc = crypto_md5_new(&m.md5)) != 0)
		return rc;
	if ((rc = storage_get(st, key, md5_sink, &m)) == 0 && (rc = crypto_md5_final(m.md5, md5)) == 0) {
		cst_hex(hex, md5, 16);
		rc = strcmp(hex, md5_hex) == 0;
	} else if (rc == CST_ENOTFOUND) {
		cst_error_clear();
		rc = 0;
	}
	crypto_md5_free(m.md5);
	return rc;
}

int resume_object_is_ours(struct storage *st, const struct journal_rec *rec, const char *key,
			  struct storage_stat *got)
{
	struct crypto_header hdr;
	unsigned char head[CRYPTO_HEADER_LEN];
	size_t got_len;
	char salt[2 * CRYPTO_SALT_LEN + 1];
	int rc;

	if ((rc = storage_stat(st, key, got)) == CST_ENOTFOUND) {
		cst_error_clear();
		return 0;
	}
	if (rc != 0)
		return rc;
	if (got->size != rec->size)
		return 0;
	if (rec->salt[0] == '\0')
		return plaintext_matches(st, key, got->etag, rec->source_md5);
	rc = storage_get_head(st, key, head, sizeof(head), &got_len);
	if (rc == CST_ENOTFOUND) {
		cst_error_clear();
		return 0;
	}
	if (rc != 0)
		return rc;
	if (got_len != sizeof(head) || crypto_header_parse(&hdr, head, got_len) != 0) {
		cst_error_clear();
		return 0;
	}
	cst_hex(salt, hdr.salt, CRYPTO_SALT_LEN);
	return strcmp(salt, rec->salt) == 0;
}

/* ---- a manifest a killed run stored before its index ------------------- */

struct orphan_check {
	struct storage *st;
	const struct history *hist;	/* NULL: no pool key is taken */
	const char *pool;		/* "<prefix>/<fqdn>/data/" */
	int sound;
	char why[512];
};

static int orphan_object(void *arg, const struct manifest_object *obj)
{
	struct orphan_check *oc = arg;
	struct journal_rec rec;
	struct storage_stat got;
	int rc;

	if (!oc->sound)
		return 0;
	/* a first pool key that a finished backup references now was stored
	 * again after this run died (its object was collected meanwhile) */
	if (oc->hist != NULL && strncmp(obj->path, oc->pool, strlen(oc->pool)) == 0 &&
	    strstr(obj->path + strlen(oc->pool), "/@") == NULL && history_key_taken(oc->hist, obj->path)) {
		oc->sound = 0;
		snprintf(oc->why, sizeof(oc->why), "%s was stored again by a later backup", obj->path);
		return 0;
	}
	memset(&rec, 0, sizeof(rec));
	rec.key = obj->path;
	rec.size = obj->size;
	rec.source_size = obj->source_size;
	memcpy(rec.source_md5, obj->source_md5, sizeof(rec.source_md5));
	memcpy(rec.salt, obj->salt, sizeof(rec.salt));
	if ((rc = resume_object_is_ours(oc->st, &rec, obj->path, &got)) < 0)
		return rc;
	if (rc == 0) {
		oc->sound = 0;
		snprintf(oc->why, sizeof(oc->why), "%s is gone or is another object now", obj->path);
	}
	return 0;
}

static int feed(void *arg, const unsigned char *buf, size_t len)
{
	return manifest_reader_feed(arg, buf, len);
}

int resume_orphan_manifest_sound(struct storage *st, const struct config *cfg, const char *name,
				 const struct history *hist, int *sound, char *why, size_t why_len)
{
	struct orphan_check oc;
	struct manifest_sink sink = { NULL, orphan_object, NULL };
	struct manifest_reader *reader = NULL;
	char *key = layout_meta_key(cfg->prefix, cfg->fqdn, name, "manifest.json");
	int rc;

	memset(&oc, 0, sizeof(oc));
	oc.st = st;
	oc.hist = hist;
	oc.sound = 1;
	sink.arg = &oc;
	*sound = 0;
	oc.pool = cfg->prefix[0] ? cst_sprintf("%s/%s/data/", cfg->prefix, cfg->fqdn) :
				   cst_sprintf("%s/data/", cfg->fqdn);
	if (key == NULL || oc.pool == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = manifest_reader_new(&reader, key, &sink)) != 0)
		goto out;
	rc = storage_get(st, key, feed, reader);
	if (rc == 0)
		rc = manifest_reader_finish(reader);
	if (rc == CST_EINVALID || rc == CST_EUNSUPPORTED) {
		/* cut short or garbled: no manifest to trust */
		snprintf(oc.why, sizeof(oc.why), "%s", cst_error_msg());
		cst_error_clear();
		oc.sound = 0;
		rc = 0;
	}
	if (rc == 0) {
		*sound = oc.sound;
		snprintf(why, why_len, "%s", oc.why);
	}
out:
	manifest_reader_free(reader);
	free((char *)oc.pool);
	free(key);
	return rc;
}
