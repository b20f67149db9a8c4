/*
 * S3 multipart upload: InitiateMultipartUpload (POST ?uploads=), UploadPart
 * (PUT ?partNumber=N&uploadId=ID, with Content-MD5 when the caller gave the
 * part's MD5; the server answers the part's ETag, its MD5, either way), CompleteMultipartUpload
 * (POST ?uploadId=ID with the part list) and AbortMultipartUpload (DELETE
 * ?uploadId=ID). Parts of one upload may be sent from several threads at
 * once: the table of part MD5s (as the server answered them) is the only
 * shared state, under a mutex.
 *
 * STORAGE_PUT_NO_OVERWRITE: S3 has no reliable "create only" for multipart
 * uploads (If-None-Match on Complete is recent and not everywhere), so we
 * HEAD the key right before Complete and refuse with CST_EEXISTS (the
 * contract: begin succeeds, commit refuses; storage.c then aborts). A writer
 * that creates the key between that HEAD and Complete still wins the race;
 * the agent holds a per-node lock, so no second cassette writes that key.
 *
 * After Complete we HEAD the object: its ETag must be the S3 multipart ETag
 * md5(md5(part 1) || ... || md5(part N)) "-N" of the parts the server
 * acknowledged (radosgw answers Complete with an empty ETag), else
 * CST_EINTEGRITY; its ETag and size are what commit reports (storage.c
 * checks the size against the parts).
 */
#define _GNU_SOURCE
#include "s3_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct s3_upload {
	char *key;
	char *id;
	int flags;
	pthread_mutex_t lock;
	unsigned char (*md5)[16]; /* part n at [n - 1] */
	unsigned char *sent;	  /* 1 when part n went through */
	size_t cap;
};

/* CST_EEXISTS when the key is there, 0 when it is not. */
static int check_absent(struct s3_storage *s, const char *key, const char *what)
{
	struct storage_stat st;
	int rc = s3_head(s, key, &st);

	if (rc == 0)
		return cst_error(CST_EEXISTS, "s3 %s %s/%s: the object already exists", what,
				 s->bucket, key);
	if (rc == CST_ENOTFOUND) {
		cst_error_clear();
		return 0;
	}
	return rc;
}

int s3_mpu_begin(struct storage *st, const char *key, int flags, void **upload)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_req r = { .method = "POST", .what = "InitiateMultipartUpload", .key = key,
			    .query = "uploads=" };
	struct s3_upload *u = NULL;
	int rc;

	*upload = NULL;
	if ((u = cst_calloc(1, sizeof(*u))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->flags = flags;
	if ((u->key = cst_strdup(key)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = s3_http_do(s, &r)) != 0)
		goto out;
	if ((rc = s3_xml_upload_id(&u->id, r.resp, r.resp_len)) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", cst_error_msg());
		rc = cst_error(rc, "s3 InitiateMultipartUpload %s/%s: %s", s->bucket, key, why);
		goto out;
	}
	*upload = u;
	u = NULL;
out:
	if (u != NULL)
		s3_mpu_free(st, u);
	s3_req_clear(&r);
	return rc;
}

static int record_part(struct s3_upload *u, unsigned part_no, const unsigned char md5[16])
{
	size_t want;
	void *p;
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	if (part_no > u->cap) {
		for (want = u->cap ? u->cap : 16; want < part_no; want *= 2)
			;
		if ((p = cst_realloc(u->md5, want * sizeof(*u->md5))) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		u->md5 = p;
		if ((p = cst_realloc(u->sent, want)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		u->sent = p;
		memset(u->sent + u->cap, 0, want - u->cap);
		u->cap = want;
	}
	memcpy(u->md5[part_no - 1], md5, 16);
	u->sent[part_no - 1] = 1;
out:
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int s3_mpu_part(struct storage *st, void *upload, unsigned part_no, const char *path,
		const unsigned char md5[16])
{
	unsigned char got[16];
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_upload *u = upload;
	char num[16], what[32];
	const char *pairs[] = { "partNumber", num, "uploadId", u->id, NULL };
	struct s3_req r = { .method = "PUT", .what = what, .key = u->key, .body_fd = 1,
			    .fd = -1 };
	struct stat sb;
	char *query = NULL;
	int rc;

	snprintf(num, sizeof(num), "%u", part_no);
	snprintf(what, sizeof(what), "UploadPart(%u)", part_no);
	if ((r.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("s3 %s %s/%s: cannot open %s", what, s->bucket, u->key, path);
		goto out;
	}
	if (fstat(r.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = cst_error(CST_EINVALID, "s3 %s %s/%s: %s is not a readable regular file",
			       what, s->bucket, u->key, path);
		goto out;
	}
	r.fd_len = (uint64_t)sb.st_size;
	if ((query = s3_query(pairs)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	r.query = query;
	if ((rc = s3_put_checked(s, &r, md5)) != 0)
		goto out;
	/* The part's MD5 as the server computed it: what Complete names. */
	if ((rc = cst_unhex(got, sizeof(got), r.etag)) != 0)
		goto out;
	rc = record_part(u, part_no, got);
out:
	if (r.fd >= 0)
		close(r.fd);
	s3_req_clear(&r);
	free(query);
	return rc;
}

/* The Complete body and the ETag the object must get. */
static int complete_body(struct s3_storage *s, struct s3_upload *u, unsigned n, char **xml,
			 char etag[48])
{
	static const char head[] = "<CompleteMultipartUpload>", tail[] = "</CompleteMultipartUpload>";
	unsigned char all[16];
	char hex[33];
	size_t o, room = sizeof(head) + sizeof(tail) + (size_t)n * 128;
	unsigned i;
	int rc = 0;

	*xml = NULL;
	pthread_mutex_lock(&u->lock);
	for (i = 1; i <= n; i++)
		if (i > u->cap || !u->sent[i - 1]) {
			rc = cst_error(CST_EINVALID, "s3 CompleteMultipartUpload %s/%s: part %u "
				       "was not sent", s->bucket, u->key, i);
			goto out;
		}
	if ((*xml = cst_malloc(room)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	o = (size_t)snprintf(*xml, room, "%s", head);
	for (i = 1; i <= n; i++) {
		cst_hex(hex, u->md5[i - 1], 16);
		o += (size_t)snprintf(*xml + o, room - o,
				      "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
				      i, hex);
	}
	snprintf(*xml + o, room - o, "%s", tail);
	if (EVP_Digest(u->md5, (size_t)n * 16, all, NULL, EVP_md5(), NULL) != 1) {
		rc = cst_error(CST_ERROR, "s3: MD5 is not available");
		goto out;
	}
	cst_hex(hex, all, 16);
	snprintf(etag, 48, "%s-%u", hex, n);
out:
	pthread_mutex_unlock(&u->lock);
	if (rc != 0) {
		free(*xml);
		*xml = NULL;
	}
	return rc;
}

/* The object must now carry the multipart ETag of what we sent; `st` gets
 * its size and ETag. */
static int check_etag(struct s3_storage *s, struct s3_upload *u, const char *want,
		      struct storage_stat *st)
{
	int rc;

	if ((rc = s3_head(s, u->key, st)) != 0)
		return rc;
	if (strcmp(st->etag, want) != 0)
		return cst_error(CST_EINTEGRITY, "s3 CompleteMultipartUpload %s/%s: the object's "
				 "ETag is '%s', expected %s", s->bucket, u->key, st->etag, want);
	return 0;
}

int s3_mpu_commit(struct storage *st, void *upload, unsigned n_parts, struct storage_stat *out)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_upload *u = upload;
	const char *pairs[] = { "uploadId", u->id, NULL };
	struct s3_req r = { .method = "POST", .what = "CompleteMultipartUpload", .key = u->key };
	char etag[48], code[64], msg[256], *xml = NULL, *query = NULL;
	int rc;

	if ((rc = complete_body(s, u, n_parts, &xml, etag)) != 0)
		goto out;
	if ((u->flags & STORAGE_PUT_NO_OVERWRITE) &&
	    (rc = check_absent(s, u->key, "CompleteMultipartUpload")) != 0)
		goto out;
	if ((query = s3_query(pairs)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	r.query = query;
	r.body = xml;
	r.body_len = strlen(xml);
	rc = s3_http_do(s, &r);
	if (rc == CST_ENOTFOUND && s3_xml_error(r.resp, r.resp_len, code, sizeof(code), msg,
						 sizeof(msg)) && strcmp(code, "NoSuchUpload") == 0) {
		/* A retry after a Complete whose answer was lost: the upload is
		 * gone, and the object is ours if it has our ETag. */
		if (check_etag(s, u, etag, out) == 0)
			rc = 0;
		else
			rc = cst_error(CST_ENOTFOUND, "s3 CompleteMultipartUpload %s/%s: upload "
				       "%s no longer exists (NoSuchUpload)", s->bucket, u->key, u->id);
		goto out;
	}
	if (rc != 0)
		goto out;
	/* S3 may answer 200 and still fail, with an <Error> body. */
	if (s3_xml_error(r.resp, r.resp_len, code, sizeof(code), msg, sizeof(msg))) {
		rc = cst_error(strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0
				       ? CST_ERETRY : CST_EIO,
			       "s3 CompleteMultipartUpload %s/%s: %s%s%s", s->bucket, u->key, code,
			       msg[0] ? ": " : "", msg);
		goto out;
	}
	rc = check_etag(s, u, etag, out);
out:
	s3_req_clear(&r);
	free(query);
	free(xml);
	return rc;
}

int s3_mpu_abort(struct storage *st, void *upload)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_upload *u = upload;
	const char *pairs[] = { "uploadId", u->id, NULL };
	struct s3_req r = { .method = "DELETE", .what = "AbortMultipartUpload", .key = u->key };
	char *query;
	int rc;

	if ((query = s3_query(pairs)) == NULL)
		return CST_ENOMEM;
	r.query = query;
	/* NoSuchUpload: already gone, which is what we want. */
	if ((rc = s3_http_do(s, &r)) == CST_ENOTFOUND) {
		cst_error_clear();
		rc = 0;
	}
	s3_req_clear(&r);
	free(query);
	return rc;
}

/* ListMultipartUploads under `prefix`, page by page; each one aborted. */
int s3_mpu_clean(struct storage *st, const char *prefix, size_t *n)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_uploads_page pg = { 0 };
	char *query = NULL, *key_marker = NULL, *id_marker = NULL;
	int rc = 0;
	size_t i;

	*n = 0;
	for (;;) {
		struct s3_req r = { .method = "GET", .what = "ListMultipartUploads" };
		const char *pairs[] = { "uploads", "", "prefix", prefix,
					key_marker ? "key-marker" : NULL, key_marker,
					"upload-id-marker", id_marker, NULL };

		free(query);
		if ((query = s3_query(pairs)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		r.query = query;
		rc = s3_http_do(s, &r);
		s3_uploads_page_clear(&pg);
		if (rc == 0 && (rc = s3_xml_uploads(&pg, r.resp, r.resp_len)) != 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", cst_error_msg());
			rc = cst_error(rc, "s3 ListMultipartUploads %s prefix '%s': %s", s->bucket, prefix,
				       why);
		}
		s3_req_clear(&r);
		if (rc != 0)
			break;
		for (i = 0; i < pg.n && rc == 0; i++) {
			struct s3_upload u = { .key = pg.v[i].key, .id = pg.v[i].id };

			if ((rc = s3_mpu_abort(st, &u)) == 0)
				(*n)++;
		}
		if (rc != 0 || !pg.truncated)
			break;
		free(key_marker);
		free(id_marker);
		key_marker = pg.next_key;
		id_marker = pg.next_id;
		pg.next_key = pg.next_id = NULL;
	}
	s3_uploads_page_clear(&pg);
	free(query);
	free(key_marker);
	free(id_marker);
	return rc;
}

void s3_mpu_free(struct storage *st, void *upload)
{
	struct s3_upload *u = upload;

	(void)st;
	if (u == NULL)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u->key);
	free(u->id);
	free(u->md5);
	free(u->sent);
	free(u);
}
