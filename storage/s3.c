/*
 * The S3 backend: objects in one bucket of an S3 server (AWS, radosgw, ...),
 * spoken to with libcurl (s3_http.c). Path-style URLs by default
 * (http://host:port/bucket/key), virtual-host style on request.
 *
 * Thread safety: every call runs its own curl easy handle; connections, TLS
 * sessions and DNS answers are shared through one CURLSH with locks, so many
 * threads may call at once on one handle. The handle itself is read-only
 * after open. The process should ignore SIGPIPE (the agent does): we set
 * CURLOPT_NOSIGNAL, as curl's own SIGPIPE juggling is not thread-safe.
 *
 * Integrity: a PUT carries Content-MD5 when the caller gives the body's MD5
 * (the server checks it, and the ETag it answers must be that MD5:
 * CST_EINTEGRITY otherwise); without one, the ETag the server answers, the
 * MD5 of what it received, is what put_file reports. A bucket with SSE-KMS,
 * whose ETags are no MD5, is not supported. storage_md5_use() tells callers
 * when an MD5 is worth computing: always over plain http, where nothing else
 * checks the bytes on the way; over https only when it is at hand, as TLS
 * authenticates every byte. Transient failures are CST_ERETRY; storage.c
 * retries, never this file.
 */
#define _GNU_SOURCE
#include "s3_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S3_PUT_MAX (5ull << 30) /* S3's limit for one PUT */
#define LOW_SPEED_BYTES 1024L

/* ---- open / close ---- */

static int chars_ok(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

static int check_config(const struct storage_config *cfg)
{
	const char *colon;

	if (cfg->bucket_name == NULL || *cfg->bucket_name == '\0')
		return cst_error(CST_EINVALID, "s3: bucket_name is not set");
	if (strlen(cfg->bucket_name) > 255 || !chars_ok(cfg->bucket_name, ".-_"))
		return cst_error(CST_EINVALID, "s3: bucket_name '%.64s' is not a valid bucket name",
				 cfg->bucket_name);
	if (cfg->host == NULL || *cfg->host == '\0')
		return cst_error(CST_EINVALID, "s3: host is not set");
	if (strlen(cfg->host) > 255 || !chars_ok(cfg->host, ".-_:[]"))
		return cst_error(CST_EINVALID,
				 "s3: host '%.64s' is not a host name or IP address (no scheme, "
				 "port or path: those are secure, port and bucket_name)",
				 cfg->host);
	colon = strchr(cfg->host, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) /* one ':' is no IPv6 address */
		return cst_error(CST_EINVALID, "s3: host '%.64s' holds a port; set port instead",
				 cfg->host);
	if (cfg->port < 0 || cfg->port > 65535)
		return cst_error(CST_EINVALID, "s3: port %d is out of range", cfg->port);
	if (cfg->region != NULL && (strlen(cfg->region) > 64 || !chars_ok(cfg->region, "-_")))
		return cst_error(CST_EINVALID, "s3: region '%.64s' is not valid", cfg->region);
	if (cfg->access_key_id == NULL || *cfg->access_key_id == '\0')
		return cst_error(CST_EINVALID, "s3: access_key_id is not set");
	if (cfg->secret_access_key == NULL || *cfg->secret_access_key == '\0')
		return cst_error(CST_EINVALID, "s3: secret_access_key is not set");
	if (cfg->ca_file != NULL && *cfg->ca_file != '\0' && access(cfg->ca_file, R_OK) != 0) {
		char why[128];

		return cst_error(CST_EINVALID, "s3: ca_file %s cannot be read: %s", cfg->ca_file,
				 strerror_r(errno, why, sizeof(why)));
	}
	if (cfg->virtual_host_style && strchr(cfg->host, ':') != NULL)
		return cst_error(CST_EINVALID, "s3: virtual_host_style needs a host name, not '%s'",
				 cfg->host);
	return 0;
}

static void s3_close(struct storage *st)
{
	struct s3_storage *s = (struct s3_storage *)st;

	s3_http_cleanup(s);
	if (s->secret != NULL)
		OPENSSL_cleanse(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->key_id);
	free(s->base_url);
	free(s->bucket);
	free(s->sigv4);
	free(s->ca_file);
	free(s);
}

static int s3_open(struct storage **out, const struct storage_config *cfg)
{
	const char *region = cfg->region != NULL && *cfg->region ? cfg->region : "us-east-1";
	const char *scheme = cfg->secure ? "https" : "http";
	struct s3_storage *s = NULL;
	char port[16] = "";
	int rc, v6;

	*out = NULL;
	if ((rc = check_config(cfg)) != 0)
		goto out;
	if ((s = cst_calloc(1, sizeof(*s))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	s->parent.ops = &storage_s3_ops;
	s->parent.md5_use = cfg->secure ? STORAGE_MD5_IF_KNOWN : STORAGE_MD5_ALWAYS;
	s->https = cfg->secure;
	s->ssl_verify = cfg->ssl_verify;
	/* A transfer under 1 KiB/s for a minute is dead, unless the bandwidth
	 * cap itself is that low: then allow for 64 transfers sharing it. */
	s->low_speed = LOW_SPEED_BYTES;
	if (cfg->max_bandwidth > 0 && cfg->max_bandwidth / 64 < LOW_SPEED_BYTES)
		s->low_speed = cfg->max_bandwidth / 64 > 0 ? (long)(cfg->max_bandwidth / 64) : 1;
	if (cfg->port != 0)
		snprintf(port, sizeof(port), ":%d", cfg->port);
	v6 = strchr(cfg->host, ':') != NULL && cfg->host[0] != '[';
	if (cfg->virtual_host_style)
		s->base_url = cst_sprintf("%s://%s.%s%s", scheme, cfg->bucket_name, cfg->host, port);
	else
		s->base_url = cst_sprintf("%s://%s%s%s%s/%s", scheme, v6 ? "[" : "", cfg->host,
					  v6 ? "]" : "", port, cfg->bucket_name);
	s->bucket = cst_strdup(cfg->bucket_name);
	s->sigv4 = cst_sprintf("aws:amz:%s:s3", region);
	s->key_id = cst_strdup(cfg->access_key_id);
	s->secret = cst_strdup(cfg->secret_access_key);
	if (cfg->ca_file != NULL && *cfg->ca_file != '\0')
		s->ca_file = cst_strdup(cfg->ca_file);
	if (s->base_url == NULL || s->bucket == NULL || s->sigv4 == NULL || s->key_id == NULL ||
	    s->secret == NULL || (cfg->ca_file != NULL && *cfg->ca_file && s->ca_file == NULL)) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = s3_http_init(s)) != 0)
		goto out;
	*out = &s->parent;
	s = NULL;
out:
	if (s != NULL)
		s3_close(&s->parent);
	return rc;
}

/* ---- helpers ---- */

void s3_md5_base64(char out[25], const unsigned char md5[16])
{
	EVP_EncodeBlock((unsigned char *)out, md5, 16);
}

static int is_md5_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[32] == '\0';
}

/* Run a PUT whose body the caller set up, with Content-MD5 when `md5` is
 * given. The ETag the server answers is the MD5 of what it received: it
 * must be that MD5, or without one at least an MD5 (a bucket with SSE-KMS,
 * whose ETags are none, is not supported). */
int s3_put_checked(struct s3_storage *s, struct s3_req *r, const unsigned char *md5)
{
	char b64[25], hex[33];
	int rc;

	if (md5 != NULL) {
		s3_md5_base64(b64, md5);
		cst_hex(hex, md5, 16);
		r->content_md5 = b64;
	}
	if ((rc = s3_http_do(s, r)) != 0)
		goto out;
	if (md5 != NULL && strcmp(r->etag, hex) != 0)
		rc = cst_error(CST_EINTEGRITY, "s3 %s %s/%s: the server answered ETag '%s', "
			       "not the MD5 %s that was sent", r->what ? r->what : r->method,
			       s->bucket, r->key, r->etag, hex);
	else if (md5 == NULL && !is_md5_hex(r->etag))
		rc = cst_error(CST_EUNSUPPORTED, "s3 %s %s/%s: the server answered ETag '%s', "
			       "which is no MD5 (SSE-KMS or SSE-C buckets are not supported)",
			       r->what ? r->what : r->method, s->bucket, r->key, r->etag);
out:
	r->content_md5 = NULL;
	return rc;
}

int s3_head(struct s3_storage *s, const char *key, struct storage_stat *out)
{
	struct s3_req r = { .method = "HEAD", .key = key };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = s3_http_do(s, &r)) == 0) {
		out->size = r.length;
		snprintf(out->etag, sizeof(out->etag), "%s", r.etag);
	}
	s3_req_clear(&r);
	return rc;
}

/* ---- the calls ---- */

static int s3_put_buf(struct storage *st, const char *key, const void *buf, size_t len,
		      int flags)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_req r = { .method = "PUT", .key = key, .body = buf, .body_len = len,
			    .if_none_match = (flags & STORAGE_PUT_NO_OVERWRITE) != 0 };
	unsigned char md5[16];
	int rc;

	if (EVP_Digest(buf, len, md5, NULL, EVP_md5(), NULL) != 1)
		return cst_error(CST_ERROR, "s3: MD5 is not available");
	rc = s3_put_checked(s, &r, md5);
	s3_req_clear(&r);
	return rc;
}

static int s3_put_file(struct storage *st, const char *key, const char *path, int flags,
		       const unsigned char *md5, struct storage_stat *out)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_req r = { .method = "PUT", .key = key, .body_fd = 1, .fd = -1,
			    .if_none_match = (flags & STORAGE_PUT_NO_OVERWRITE) != 0 };
	struct stat sb;
	int rc;

	/* The file is read once, as it is sent. */
	if ((r.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("s3 PUT %s/%s: cannot open %s", s->bucket, key, path);
		goto out;
	}
	if (fstat(r.fd, &sb) != 0) {
		rc = cst_error_errno("s3 PUT %s/%s: cannot stat %s", s->bucket, key, path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = cst_error(CST_EINVALID, "s3 PUT %s/%s: %s is not a regular file", s->bucket,
			       key, path);
		goto out;
	}
	if ((uint64_t)sb.st_size > S3_PUT_MAX) {
		rc = cst_error(CST_EINVALID, "s3 PUT %s/%s: %s is larger than 5 GiB; use a "
			       "multipart upload", s->bucket, key, path);
		goto out;
	}
	r.fd_len = (uint64_t)sb.st_size;
	if ((rc = s3_put_checked(s, &r, md5)) != 0)
		goto out;
	/* A 2xx answer to a body of Content-Length bytes: the server took
	 * exactly those (a shorter body is a failed transfer, retried). */
	out->size = r.fd_len;
	snprintf(out->etag, sizeof(out->etag), "%s", r.etag);
out:
	if (r.fd >= 0)
		close(r.fd);
	s3_req_clear(&r);
	return rc;
}

static int s3_get(struct storage *st, const char *key, uint64_t offset, storage_sink_fn sink,
		  void *arg)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_req r = { .method = "GET", .key = key, .offset = offset, .sink = sink,
			    .sink_arg = arg };
	struct storage_stat obj;
	int rc;

	rc = s3_http_do(s, &r);
	/* 416 on a resume exactly at the end: nothing is left to deliver.
	 * Not every server names the size in Content-Range (radosgw does
	 * not); then ask for it. */
	if (rc != 0 && r.status == 416 && offset > 0) {
		if (r.range_total == 0 && s3_head(s, key, &obj) == 0)
			r.range_total = obj.size;
		if (r.range_total == offset) {
			cst_error_clear();
			rc = 0;
		} else {
			rc = cst_error(CST_EINVALID, "s3 GET %s/%s: offset %llu is past the end "
				       "of the object", s->bucket, key, (unsigned long long)offset);
		}
	}
	s3_req_clear(&r);
	return rc;
}

static int s3_stat(struct storage *st, const char *key, struct storage_stat *out)
{
	return s3_head((struct s3_storage *)st, key, out);
}

/* Deliver one page, checking the order S3 promises (it is what the
 * contract promises our callers). */
static int list_deliver(struct s3_storage *s, const struct s3_list_page *pg, char **last,
			storage_entry_fn cb, void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < pg->n; i++) {
		if (*last != NULL && strcmp(*last, pg->v[i].key) >= 0)
			return cst_error(CST_EIO, "s3 LIST %s: the server listed '%s' after '%s'",
					 s->bucket, pg->v[i].key, *last);
		if ((rc = cb(arg, &(struct storage_entry){ pg->v[i].key, pg->v[i].size,
							   pg->v[i].mtime, pg->v[i].etag })) != 0)
			return rc;
		free(*last);
		if ((*last = cst_strdup(pg->v[i].key)) == NULL)
			return CST_ENOMEM;
	}
	return 0;
}

static int s3_list(struct storage *st, const char *prefix, storage_entry_fn cb, void *arg)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_req r = { .method = "GET", .what = "LIST" };
	struct s3_list_page pg = { 0 };
	char *token = NULL, *last = NULL, *query = NULL;
	int rc;

	for (;;) {
		const char *pairs[] = { "list-type", "2", "prefix", prefix,
					token ? "continuation-token" : NULL, token, NULL };

		free(query);
		if ((query = s3_query(pairs)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		r.query = query;
		if ((rc = s3_http_do(s, &r)) != 0)
			goto out;
		s3_list_page_clear(&pg);
		if ((rc = s3_xml_list(&pg, r.resp, r.resp_len)) != 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", cst_error_msg());
			rc = cst_error(rc, "s3 LIST %s prefix '%s': %s", s->bucket, prefix, why);
			goto out;
		}
		if ((rc = list_deliver(s, &pg, &last, cb, arg)) != 0)
			goto out;
		if (!pg.truncated)
			break;
		free(token);
		token = pg.next_token;
		pg.next_token = NULL;
	}
out:
	s3_list_page_clear(&pg);
	s3_req_clear(&r);
	free(query);
	free(token);
	free(last);
	return rc;
}

static int s3_del(struct storage *st, const char *key)
{
	struct s3_storage *s = (struct s3_storage *)st;
	struct s3_req r = { .method = "DELETE", .key = key };
	char code[32], msg[8];
	int rc;

	rc = s3_http_do(s, &r);
	/* S3 answers 204 for a missing key; some servers say 404. A missing
	 * bucket stays an error. */
	if (rc == CST_ENOTFOUND &&
	    !(s3_xml_error(r.resp, r.resp_len, code, sizeof(code), msg, sizeof(msg)) &&
	      strcmp(code, "NoSuchBucket") == 0)) {
		cst_error_clear();
		rc = 0;
	}
	s3_req_clear(&r);
	return rc;
}

const struct storage_ops storage_s3_ops = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.put_file = s3_put_file,
	.put_buf = s3_put_buf,
	.get = s3_get,
	.stat = s3_stat,
	.list = s3_list,
	.del = s3_del,
	.mpu_begin = s3_mpu_begin,
	.mpu_part = s3_mpu_part,
	.mpu_commit = s3_mpu_commit,
	.mpu_abort = s3_mpu_abort,
	.mpu_free = s3_mpu_free,
	.clean_uploads = s3_mpu_clean,
};
