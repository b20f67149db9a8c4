/*
 * The S3 protocol bits that need no curl handle: URL and query encoding in
 * the canonical form SigV4 signs (curl 7.88 signs the URL as it is given), and
 * what an answer or a transport failure means as a CST_ code and a message.
 */
#define _GNU_SOURCE
#include "s3_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ---- */

/* RFC 3986 unreserved, in ASCII whatever the locale says. */
static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 percent-encoding of `in` appended at out (room for 3x). */
static size_t encode(char *out, const char *in, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t o = 0;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return o;
}

struct qpair {
	const char *name, *value;
};

static int qpair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qpair *)a)->name, ((const struct qpair *)b)->name);
}

char *s3_query(const char *const *pairs)
{
	struct qpair *v = NULL;
	size_t n = 0, i, room = 1, o = 0;
	char *out = NULL;

	while (pairs[2 * n] != NULL)
		n++;
	if ((v = cst_calloc(n + 1, sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		v[i].name = pairs[2 * i];
		v[i].value = pairs[2 * i + 1] != NULL ? pairs[2 * i + 1] : "";
		room += 3 * (strlen(v[i].name) + strlen(v[i].value)) + 2;
	}
	/* Parameter names are plain ASCII words: their order is their
	 * encoded order, as SigV4 wants. */
	qsort(v, n, sizeof(*v), qpair_cmp);
	if ((out = cst_malloc(room)) == NULL)
		goto out;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			out[o++] = '&';
		o += encode(out + o, v[i].name, 0);
		out[o++] = '=';
		o += encode(out + o, v[i].value, 0);
	}
	out[o] = '\0';
out:
	free(v);
	return out;
}

char *s3_url(const struct s3_storage *s, const struct s3_req *r)
{
	size_t klen = r->key != NULL ? 3 * strlen(r->key) : 0;
	size_t qlen = r->query != NULL ? strlen(r->query) : 0;
	size_t o = strlen(s->base_url);
	char *url = cst_malloc(o + klen + qlen + 4);

	if (url == NULL)
		return NULL;
	memcpy(url, s->base_url, o);
	url[o++] = '/';
	url[o] = '\0';
	if (r->key != NULL)
		o += encode(url + o, r->key, 1);
	if (r->query != NULL) {
		url[o++] = '?';
		memcpy(url + o, r->query, qlen + 1);
	}
	return url;
}

/* ---- what answers mean ---- */

#define WHERE "s3 %s %s%s%s"
#define WHERE_ARGS(s, r) \
	((r)->what ? (r)->what : (r)->method), (s)->bucket, ((r)->key ? "/" : ""), \
	((r)->key ? (r)->key : "")

static int in_list(const char *code, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(code, *list) == 0)
			return 1;
	return 0;
}

static const char *const retry_codes[] = {
	"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
	"OperationAborted", "Throttling", "ThrottlingException", "TooManyRequests", NULL,
};
static const char *const auth_codes[] = {
	"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken",
	"ExpiredToken", "RequestTimeTooSkewed", NULL,
};
static const char *const integrity_codes[] = {
	"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", NULL,
};

/* A non-2xx answer as a CST_ code and a message with the server's words. */
int s3_answer_error(const struct s3_storage *s, const struct s3_req *r)
{
	char code[64] = "", msg[256] = "";
	long st = r->status;
	int rc;

	if (r->resp != NULL)
		s3_xml_error(r->resp, r->resp_len, code, sizeof(code), msg, sizeof(msg));
	if (st == 404 && strcmp(code, "NoSuchBucket") == 0)
		return cst_error(CST_ENOTFOUND, WHERE ": bucket %s does not exist (NoSuchBucket)",
				 WHERE_ARGS(s, r), s->bucket);
	if (st == 404 && code[0] == '\0')
		return cst_error(CST_ENOTFOUND, WHERE ": not found (HTTP 404)", WHERE_ARGS(s, r));
	if (st == 412 && r->if_none_match)
		return cst_error(CST_EEXISTS, WHERE ": the object already exists", WHERE_ARGS(s, r));
	if (st == 404)
		rc = CST_ENOTFOUND;
	else if (st >= 500 || st == 429 || in_list(code, retry_codes))
		rc = CST_ERETRY;
	else if (st == 401 || st == 403 || in_list(code, auth_codes))
		rc = CST_EAUTH;
	else if (in_list(code, integrity_codes))
		rc = CST_EINTEGRITY;
	else if (st < 400 || st == 400 || st == 411 || st == 413 || st == 416)
		rc = CST_EINVALID; /* a bad request, or a redirect (another region) */
	else
		rc = CST_EIO;
	if (code[0] == '\0')
		return cst_error(rc, WHERE ": HTTP %ld%s", WHERE_ARGS(s, r), st,
				 st >= 300 && st < 400 ? " (redirect: wrong region or endpoint?)"
				 : rc == CST_EAUTH ? " (access denied; check the credentials)"
				 : "");
	return cst_error(rc, WHERE ": %s%s%s (HTTP %ld%s)", WHERE_ARGS(s, r), code,
			 msg[0] ? ": " : "", msg, st,
			 rc == CST_EAUTH ? "; access denied: check the credentials" : "");
}

int s3_transport_error(const struct s3_storage *s, const struct s3_req *r, CURLcode c,
			const char *errbuf)
{
	int rc;

	switch (c) {
	case CURLE_WRITE_ERROR:
	case CURLE_READ_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		if (r->cb_rc != 0)
			return r->cb_rc; /* the sink's or reader's own message */
		rc = CST_EIO;
		break;
	case CURLE_OUT_OF_MEMORY:
		rc = CST_ENOMEM;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		rc = CST_EAUTH; /* the server is not who it claims: no retry */
		break;
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_NOT_BUILT_IN:
		rc = CST_EINVALID;
		break;
	default: /* refused, reset, timed out, DNS: the server may come back */
		rc = CST_ERETRY;
		break;
	}
	return cst_error(rc, WHERE ": %s%s%s", WHERE_ARGS(s, r), curl_easy_strerror(c),
			 errbuf[0] ? ": " : "", errbuf);
}

