/* pipeline: read once; hash, encrypt and hash again as the bytes pass. */
#define _GNU_SOURCE
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "snapshot.h"
#include "storage.h"
#include "util.h"

#define READ_CHUNK (1u << 20)

struct pipeline {
	const struct config *cfg;
	struct storage *st;
	const struct crypto_key *key;
	char *tmpdir;
	struct crypto_md5 *md5_src, *md5_obj;
	unsigned char *buf;
};

int pipeline_new(struct pipeline **out, const struct config *cfg, struct storage *st,
		 const struct crypto_key *key)
{
	struct pipeline *p;
	int rc = 0;

	*out = NULL;
	if ((p = cst_calloc(1, sizeof(*p))) == NULL)
		return CST_ENOMEM;
	p->cfg = cfg;
	p->st = st;
	p->key = key;
	if ((rc = cst_mkdirs(cfg->encryption_tmp_dir)) != 0)
		goto out;
	if ((p->tmpdir = cst_sprintf("%s/cassette.XXXXXX", cfg->encryption_tmp_dir)) == NULL ||
	    (p->buf = cst_malloc(READ_CHUNK)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (mkdtemp(p->tmpdir) == NULL) {
		rc = cst_error_errno("cannot create a temp directory in encryption_tmp_dir %s",
				     cfg->encryption_tmp_dir);
		free(p->tmpdir);
		p->tmpdir = NULL;
		goto out;
	}
	if ((rc = crypto_md5_new(&p->md5_src)) != 0 || (rc = crypto_md5_new(&p->md5_obj)) != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	pipeline_free(p);
	return rc;
}

void pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	if (p->tmpdir != NULL) {
		cst_remove_tree(p->tmpdir);
		free(p->tmpdir);
	}
	crypto_md5_free(p->md5_src);
	crypto_md5_free(p->md5_obj);
	free(p->buf);
	free(p);
}

static ssize_t read_some(int fd, unsigned char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

int pipeline_hash_file(struct pipeline *p, const char *path, unsigned char md5[16], uint64_t *size)
{
	uint64_t total = 0;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cst_error_errno("cannot open %s", path);
	if ((rc = crypto_md5_reset(p->md5_src)) != 0)
		goto out;
	while ((n = read_some(fd, p->buf, READ_CHUNK)) > 0) {
		if ((rc = crypto_md5_update(p->md5_src, p->buf, (size_t)n)) != 0)
			goto out;
		total += (uint64_t)n;
	}
	if (n < 0) {
		rc = cst_error_errno("cannot read %s", path);
		goto out;
	}
	rc = crypto_md5_final(p->md5_src, md5);
	*size = total;
out:
	close(fd);
	return rc;
}

struct sink_ctx {
	int fd;
	const char *path;
	struct crypto_md5 *md5;
	uint64_t bytes;
};

static int write_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct sink_ctx *s = arg;
	int rc;

	if ((rc = crypto_md5_update(s->md5, buf, len)) != 0)
		return rc;
	if (cst_write_all(s->fd, buf, len) != 0)
		return cst_error_errno("cannot write temp file %s", s->path);
	s->bytes += len;
	return 0;
}

/* Encrypt src_fd into the temp file of `sink`, hashing both sides. */
static int encrypt_to(struct pipeline *p, int src_fd, const struct snap_file *f,
		      const char *fqdn, struct sink_ctx *sink, struct stored_object *out)
{
	struct crypto_identity id = { fqdn, f->keyspace, f->table, f->rel };
	struct crypto_enc_params params = { p->cfg->segment_size, NULL, NULL };
	struct crypto_stream *enc = NULL;
	uint64_t total = 0;
	ssize_t n;
	int rc;

	if ((rc = crypto_encryptor_new(&enc, p->key, &id, &params)) != 0)
		return rc;
	while ((n = read_some(src_fd, p->buf, READ_CHUNK)) > 0) {
		if ((rc = crypto_md5_update(p->md5_src, p->buf, (size_t)n)) != 0 ||
		    (rc = crypto_stream_update(enc, p->buf, (size_t)n, write_sink, sink)) != 0)
			goto out;
		total += (uint64_t)n;
	}
	if (n < 0) {
		rc = cst_error_errno("cannot read %s", f->path);
		goto out;
	}
	if ((rc = crypto_stream_final(enc, write_sink, sink)) != 0)
		goto out;
	memcpy(out->salt, crypto_stream_header(enc)->salt, sizeof(out->salt));
	out->encrypted = 1;
	out->source_size = total;
out:
	crypto_stream_free(enc);
	return rc;
}

int pipeline_store(struct pipeline *p, const struct snap_file *f, const char *fqdn,
		   const char *key, int flags, struct stored_object *out)
{
	struct sink_ctx sink = { -1, NULL, p->md5_obj, 0 };
	char *tmp = NULL;
	int src = -1, rc;

	memset(out, 0, sizeof(*out));
	if (p->key == NULL) {	/* encryption = none: the object is the file */
		if ((rc = pipeline_hash_file(p, f->path, out->source_md5, &out->source_size)) != 0)
			return rc;
		memcpy(out->md5, out->source_md5, 16);
		out->size = out->source_size;
		if (out->source_size != f->size)
			return cst_error(CST_EINVALID, "%s changed during the backup", f->path);
		return storage_put_file(p->st, key, f->path, flags);
	}
	if ((src = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cst_error_errno("cannot open %s", f->path);
	if ((tmp = cst_sprintf("%s/object-XXXXXX", p->tmpdir)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((sink.fd = mkstemp(tmp)) < 0) {
		rc = cst_error_errno("cannot create a temp file in %s", p->tmpdir);
		goto out;
	}
	sink.path = tmp;
	if ((rc = crypto_md5_reset(p->md5_src)) != 0 || (rc = crypto_md5_reset(p->md5_obj)) != 0 ||
	    (rc = encrypt_to(p, src, f, fqdn, &sink, out)) != 0)
		goto out;
	if (out->source_size != f->size) {
		rc = cst_error(CST_EINVALID, "%s changed during the backup (%llu bytes, snapshot had %llu)",
			       f->path, (unsigned long long)out->source_size, (unsigned long long)f->size);
		goto out;
	}
	if ((rc = crypto_md5_final(p->md5_src, out->source_md5)) != 0 ||
	    (rc = crypto_md5_final(p->md5_obj, out->md5)) != 0)
		goto out;
	out->size = sink.bytes;
	if (close(sink.fd) != 0) {
		sink.fd = -1;
		rc = cst_error_errno("cannot write temp file %s", tmp);
		goto out;
	}
	sink.fd = -1;
	rc = storage_put_file(p->st, key, tmp, flags);
out:
	if (sink.fd >= 0)
		close(sink.fd);
	if (sink.path != NULL)
		unlink(tmp);
	free(tmp);
	close(src);
	return rc;
}
