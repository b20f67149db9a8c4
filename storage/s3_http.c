/*
 * One signed S3 request with libcurl. curl signs (CURLOPT_AWS_SIGV4); we fill
 * the gaps of libcurl 7.88's signer: our own x-amz-content-sha256, a query
 * string already in canonical form (sorted, RFC 3986, "name="), and object
 * keys RFC 3986-encoded with '/' kept, so the URL path is the canonical URI
 * (s3_proto.c). curl signs every header we add; ours (content-md5,
 * content-type, if-none-match, range, x-amz-content-sha256) are no prefix of
 * one another.
 *
 * Payload hashing. Bodies held in memory (put_buf, the Complete XML) are
 * signed with their real SHA-256: it is cheap. File bodies (put_file, parts)
 * go as UNSIGNED-PAYLOAD: a file is never read a second time only to hash
 * it. When the caller has the body's MD5 (from its own single pass) it goes
 * as Content-MD5, a signed header: the server checks the body against it
 * (400 BadDigest), and nobody can swap the MD5 without breaking the
 * signature, so a body changed on the way is refused all the same (that
 * needs an MD5 second preimage, which no one can make). The caller sends one
 * over plain http always, over https only when it costs nothing (see
 * storage_md5_use): TLS authenticates the bytes on the way, and cassette's
 * objects are encrypted and authenticated besides. AWS and radosgw accept
 * UNSIGNED-PAYLOAD over http as over https (checked against radosgw 16,
 * which has no x-amz-checksum-* support to offer a cheaper checked sum).
 *
 * No loop here: a transient failure is CST_ERETRY and storage.c retries.
 */
#define _GNU_SOURCE
#include "s3_int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define RESP_MAX (32u << 20)	  /* a listing page of 1000 long keys fits */
#define ERR_BODY_MAX (64u << 10)  /* what we keep of an error body */
#define CONNECT_TIMEOUT_S 10L
#define LOW_SPEED_TIME_S 60L	  /* slower than s->low_speed for this long: dead */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct s3_storage *s = arg;

	(void)h;
	(void)access;
	pthread_mutex_lock(&s->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct s3_storage *s = arg;

	(void)h;
	pthread_mutex_unlock(&s->share_locks[data]);
}

/*
 * The trusted CAs, read once. Left to itself, libcurl reads the CA file into
 * a fresh store for every new connection: with the system bundle (about 140
 * certificates) that is milliseconds of CPU and about 1 MiB a connection, and
 * a restore with 32 workers keeps 32 connections. Every connection's TLS
 * context gets this one store instead (OpenSSL counts its references).
 */
static int load_ca_store(struct s3_storage *s)
{
	if ((s->ca_store = X509_STORE_new()) == NULL)
		return cst_error(CST_ENOMEM, "s3: out of memory for the CA store");
	if (s->ca_file != NULL) {
		if (X509_STORE_load_file(s->ca_store, s->ca_file) != 1)
			return cst_error(CST_EINVALID, "s3: ca_file %s holds no certificate OpenSSL can read",
					 s->ca_file);
	} else if (X509_STORE_set_default_paths(s->ca_store) != 1) {
		return cst_error(CST_ERROR, "s3: cannot read the system's CA certificates");
	}
	return 0;
}

static CURLcode ssl_ctx_cb(CURL *h, void *ssl_ctx, void *arg)
{
	struct s3_storage *s = arg;

	(void)h;
	SSL_CTX_set1_cert_store(ssl_ctx, s->ca_store);
	return CURLE_OK;
}

int s3_http_init(struct s3_storage *s)
{
	int i, rc;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return cst_error(CST_ERROR, "s3: curl_global_init: %s", curl_easy_strerror(global_rc));
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->share_locks[i], NULL);
	s->share_locks_ready = 1;
	if ((s->share = curl_share_init()) == NULL)
		return cst_error(CST_ENOMEM, "s3: curl_share_init failed");
	if (curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	    curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(s->share, CURLSHOPT_USERDATA, s) != CURLSHE_OK ||
	    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
		return cst_error(CST_ERROR, "s3: cannot set up curl connection sharing");
	if (s->https && s->ssl_verify && (rc = load_ca_store(s)) != 0)
		return rc;
	return 0;
}

void s3_http_cleanup(struct s3_storage *s)
{
	int i;

	if (s->share != NULL)
		curl_share_cleanup(s->share);
	s->share = NULL;
	if (s->share_locks_ready)
		for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&s->share_locks[i]);
	s->share_locks_ready = 0;
	X509_STORE_free(s->ca_store);
	s->ca_store = NULL;
}

void s3_req_clear(struct s3_req *r)
{
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}

/* ---- callbacks ---- */

struct xfer {
	struct s3_storage *s;
	struct s3_req *r;
	CURL *h;
	uint64_t pos;  /* body read position */
	uint64_t skip; /* bytes of a 200 answer to a ranged GET to drop */
	int checked;   /* the status has been looked at */
	int to_sink;
	size_t keep_max; /* what we keep of a body that goes to no sink */
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	struct s3_req *r = x->r;
	uint64_t total = r->body_fd ? r->fd_len : r->body_len;
	size_t want = size * nitems;
	ssize_t n;

	if (total - x->pos < want)
		want = (size_t)(total - x->pos);
	if (want == 0)
		return 0;
	if (!r->body_fd) {
		memcpy(buf, (const char *)r->body + x->pos, want);
		n = (ssize_t)want;
	} else {
		do
			n = pread(r->fd, buf, want, (off_t)x->pos);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			r->cb_rc = n < 0 ? cst_error_errno("s3 %s %s: reading the source",
							   r->method, r->key)
					 : cst_error(CST_EIO, "s3 %s %s: the source file shrank",
						     r->method, r->key);
			return CURL_READFUNC_ABORT;
		}
	}
	storage_throttle(&x->s->parent, (size_t)n);
	x->pos += (uint64_t)n;
	return (size_t)n;
}

/* curl rewinds when it resends on a fresh connection. */
static int seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct xfer *x = arg;
	uint64_t total = x->r->body_fd ? x->r->fd_len : x->r->body_len;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > total)
		return CURL_SEEKFUNC_CANTSEEK;
	x->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int keep_body(struct s3_req *r, const char *data, size_t len, size_t max)
{
	size_t want;
	char *p;

	if (len > max - r->resp_len) {
		if (max == ERR_BODY_MAX) /* an error body: keep its start */
			len = max - r->resp_len;
		else
			return cst_error(CST_EIO, "s3 %s %s: response larger than %zu bytes",
					 r->method, r->key != NULL ? r->key : "", max);
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		want = r->resp_cap ? r->resp_cap : 16384;
		while (want < r->resp_len + len + 1)
			want *= 2;
		if ((p = cst_realloc(r->resp, want)) == NULL)
			return CST_ENOMEM;
		r->resp = p;
		r->resp_cap = want;
	}
	memcpy(r->resp + r->resp_len, data, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct s3_req *r = x->r;
	size_t len = size * nmemb;
	long status = 0;
	int rc;

	if (!x->checked) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
		x->to_sink = r->sink != NULL && status >= 200 && status < 300;
		/* A server that ignored our Range: drop what we already have. */
		x->skip = x->to_sink && status == 200 ? r->offset : 0;
		x->keep_max = r->sink != NULL || status >= 300 ? ERR_BODY_MAX : RESP_MAX;
		x->checked = 1;
	}
	if (!x->to_sink) {
		if ((rc = keep_body(r, data, len, x->keep_max)) != 0) {
			r->cb_rc = rc;
			return 0;
		}
		return len;
	}
	if (x->skip > 0) {
		size_t drop = x->skip < len ? (size_t)x->skip : len;

		x->skip -= drop;
		data += drop;
		if ((len -= drop) == 0)
			return size * nmemb;
	}
	storage_throttle(&x->s->parent, len);
	if ((rc = r->sink(r->sink_arg, (const unsigned char *)data, len)) != 0) {
		r->cb_rc = rc;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return size * nmemb;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	struct s3_req *r = x->r;
	size_t len = size * nitems, i, o = 0;
	char buf[128];

	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (after 100) */
		r->etag[0] = '\0';
		r->length = r->range_total = 0;
		return len;
	}
	if (len >= sizeof(buf))
		return len;
	memcpy(buf, line, len);
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	if (strncasecmp(buf, "etag:", 5) == 0) {
		for (i = 5; buf[i] != '\0' && o + 1 < sizeof(r->etag); i++)
			if (buf[i] != '"' && buf[i] != ' ')
				r->etag[o++] = (char)tolower((unsigned char)buf[i]);
		r->etag[o] = '\0';
	} else if (strncasecmp(buf, "content-length:", 15) == 0) {
		r->length = strtoull(buf + 15, NULL, 10);
	} else if (strncasecmp(buf, "content-range:", 14) == 0) {
		const char *slash = strchr(buf, '/');

		if (strstr(buf, "*/") != NULL && slash != NULL)
			r->range_total = strtoull(slash + 1, NULL, 10);
	}
	return size * nitems;
}

/* ---- the request ---- */

static int sha256_hex(char out[65], const void *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return cst_error(CST_ERROR, "s3: SHA-256 failed");
	cst_hex(out, md, 32);
	return 0;
}

static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (l == NULL)
		return cst_error(CST_ENOMEM, "s3: out of memory");
	*list = l;
	return 0;
}

static int build_headers(struct curl_slist **out, const struct s3_req *r)
{
	char line[128], sha[65];
	int rc;

	*out = NULL;
	if (r->body_fd)
		snprintf(sha, sizeof(sha), "UNSIGNED-PAYLOAD"); /* see the top of the file */
	else if (r->body_len > 0 && (rc = sha256_hex(sha, r->body, r->body_len)) != 0)
		return rc;
	else if (r->body_len == 0)
		snprintf(sha, sizeof(sha), "%s", EMPTY_SHA256);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sha);
	if ((rc = add_header(out, line)) != 0)
		return rc;
	if (r->content_md5 != NULL) {
		snprintf(line, sizeof(line), "Content-MD5: %s", r->content_md5);
		if ((rc = add_header(out, line)) != 0)
			return rc;
	}
	if (r->if_none_match && (rc = add_header(out, "If-None-Match: *")) != 0)
		return rc;
	if (r->offset > 0) {
		snprintf(line, sizeof(line), "Range: bytes=%llu-", (unsigned long long)r->offset);
		if ((rc = add_header(out, line)) != 0)
			return rc;
	}
	if (strcmp(r->method, "POST") == 0 && (rc = add_header(out, "Content-Type: application/xml")) != 0)
		return rc;
	return 0;
}

static int setup(CURL *h, struct s3_storage *s, struct xfer *x, const char *url,
		 struct curl_slist *headers, char *errbuf)
{
	struct s3_req *r = x->r;
	CURLcode c = CURLE_OK;

#define SET(opt, val) \
	do { if (c == CURLE_OK) c = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SHARE, s->share);
	/* Idle connections kept for reuse (the default, 5, is less than the
	 * workers): a worker's next request then needs no new TCP and TLS
	 * handshake. Above the most threads that ever send at once. */
	SET(CURLOPT_MAXCONNECTS, 64L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_USERAGENT, "cassette/0.1");
	SET(CURLOPT_AWS_SIGV4, s->sigv4);
	SET(CURLOPT_USERNAME, s->key_id);
	SET(CURLOPT_PASSWORD, s->secret);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	SET(CURLOPT_LOW_SPEED_LIMIT, s->low_speed);
	SET(CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, s->ssl_verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, s->ssl_verify ? 2L : 0L);
	if (s->ca_store != NULL) {
		SET(CURLOPT_CAINFO, NULL);	/* nothing read per connection: */
		SET(CURLOPT_CAPATH, NULL);
		SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);	/* the store read once */
		SET(CURLOPT_SSL_CTX_DATA, s);
	}
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	if (strcmp(r->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_READFUNCTION, read_cb);
		SET(CURLOPT_READDATA, x);
		SET(CURLOPT_SEEKFUNCTION, seek_cb);
		SET(CURLOPT_SEEKDATA, x);
		SET(CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(r->body_fd ? r->fd_len : (uint64_t)r->body_len));
	} else if (strcmp(r->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, r->body_len > 0 ? (const char *)r->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
#undef SET
	if (c != CURLE_OK)
		return cst_error(CST_ERROR, "s3: curl_easy_setopt: %s", curl_easy_strerror(c));
	return 0;
}

/* "s3 WHAT bucket/key" in every message. */
int s3_http_do(struct s3_storage *s, struct s3_req *r)
{
	struct xfer x = { .s = s, .r = r };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	CURLcode c;
	size_t n;
	int rc;

	r->status = 0;
	r->etag[0] = '\0';
	r->length = r->range_total = 0;
	r->cb_rc = 0;
	s3_req_clear(r);
	if ((url = s3_url(s, r)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = build_headers(&headers, r)) != 0)
		goto out;
	if ((x.h = curl_easy_init()) == NULL) {
		rc = cst_error(CST_ENOMEM, "s3: curl_easy_init failed");
		goto out;
	}
	if ((rc = setup(x.h, s, &x, url, headers, errbuf)) != 0)
		goto out;
	c = curl_easy_perform(x.h);
	curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &r->status);
	n = strlen(errbuf);
	while (n > 0 && errbuf[n - 1] == '\n')
		errbuf[--n] = '\0';
	if (c != CURLE_OK)
		rc = s3_transport_error(s, r, c, errbuf);
	else if (r->status < 200 || r->status >= 300)
		rc = s3_answer_error(s, r);
out:
	if (x.h != NULL)
		curl_easy_cleanup(x.h);
	curl_slist_free_all(headers);
	free(url);
	return rc;
}
