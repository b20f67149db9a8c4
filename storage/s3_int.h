/*
 * storage/s3_int.h: what the S3 backend's files share (s3.c: the ops table,
 * s3_mpu.c: multipart upload, s3_http.c: one signed HTTP exchange with
 * libcurl, s3_proto.c: URL encoding and what answers mean, s3_xml.c: the XML
 * bodies). Private to the S3 backend.
 */
#ifndef CASSETTE_STORAGE_S3_INT_H
#define CASSETTE_STORAGE_S3_INT_H

#include "backend.h"

#include <curl/curl.h>
#include <pthread.h>

struct s3_storage {
	struct storage parent; /* first: storage.c hands us this pointer */
	char *base_url;	       /* "http://host:port/bucket" or "http://bucket.host:port" */
	char *bucket;
	char *sigv4;	       /* "aws:amz:REGION:s3" for CURLOPT_AWS_SIGV4 */
	char *key_id;
	char *secret;	       /* wiped on close */
	char *ca_file;	       /* NULL: the system store */
	int https;
	int ssl_verify;
	struct x509_store_st *ca_store; /* the trusted CAs, read once for every
				 * connection (NULL: not https, or no checks) */
	long low_speed;	       /* bytes/s below which a transfer is dead (after 60 s) */
	CURLSH *share;	       /* DNS, TLS sessions and connections, shared by threads */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	int share_locks_ready;
};

/*
 * One request. The caller fills the "in" part (zero the rest), runs
 * s3_http_do(), reads the "out" part, then s3_req_clear().
 */
struct s3_req {
	/* in */
	const char *method;	 /* GET, HEAD, PUT, POST, DELETE */
	const char *what;	 /* the operation in messages; NULL = method */
	const char *key;	 /* the object key; NULL = the bucket itself */
	const char *query;	 /* canonical query string from s3_query(), or NULL */
	const char *content_md5; /* base64, or NULL */
	int if_none_match;	 /* send If-None-Match: * */
	uint64_t offset;	 /* GET: Range from here when > 0 */
	const void *body;	 /* PUT/POST from memory (body_len bytes) ... */
	size_t body_len;
	int fd;			 /* ... or, when body_fd is set, from this file */
	int body_fd;
	uint64_t fd_len;
	storage_sink_fn sink;	 /* GET: a 2xx body goes here, else to resp */
	void *sink_arg;
	/* out */
	long status;		 /* HTTP status; 0 when no response came */
	char etag[64];		 /* unquoted, lowercase; "" when none */
	uint64_t length;	 /* Content-Length of the response */
	uint64_t range_total;	 /* N of "Content-Range: bytes * / N"; 0 if none */
	char *resp;		 /* the body when no sink took it (capped) */
	size_t resp_len, resp_cap;
	int cb_rc;		 /* a sink's or the body reader's failure */
};

/* Set up / tear down the connection sharing of `s` (and libcurl, once). */
int s3_http_init(struct s3_storage *s);
void s3_http_cleanup(struct s3_storage *s);
/*
 * Run `r`. 0 for a 2xx answer; else a CST_ code with the error slot set
 * "s3 WHAT bucket/key: cause" (CST_ERETRY for transport failures, 5xx, 429
 * and S3's throttling codes; CST_EAUTH for refused credentials; ...), or a
 * sink's code unchanged. r->status tells the caller what the server said.
 */
int s3_http_do(struct s3_storage *s, struct s3_req *r);
void s3_req_clear(struct s3_req *r);

/* The protocol (s3_proto.c). */
/* "name=value&..." sorted by name, both RFC 3986 encoded; valueless
 * parameters as "name=". `pairs` is NULL-terminated name, value, ...
 * Caller frees; NULL with CST_ENOMEM set on failure. */
char *s3_query(const char *const *pairs);
/* The URL of r: base, the RFC 3986-encoded key ('/' kept), "?" query.
 * Caller frees; NULL with CST_ENOMEM set. */
char *s3_url(const struct s3_storage *s, const struct s3_req *r);
/* A non-2xx answer in r (status, body) as a CST_ code with the message
 * "s3 WHAT bucket/key: Code: Message (HTTP n)". */
int s3_answer_error(const struct s3_storage *s, const struct s3_req *r);
/* A failed transfer: CST_ERETRY for what may pass (refused, reset, timed
 * out), the callback's code when a sink or the body reader stopped it. */
int s3_transport_error(const struct s3_storage *s, const struct s3_req *r, CURLcode c,
		       const char *errbuf);

/* XML bodies (s3_xml.c). */
/* 1 when `body` is an S3 <Error> document: its Code and Message copied
 * (truncated, control characters dropped); else 0. */
int s3_xml_error(const char *body, size_t len, char *code, size_t code_size, char *msg,
		 size_t msg_size);
/* The UploadId of an InitiateMultipartUploadResult. *out owned by the
 * caller. CST_EIO when it is missing or the body is not XML. */
int s3_xml_upload_id(char **out, const char *body, size_t len);

struct s3_list_entry {
	char *key;
	uint64_t size;
	int64_t mtime;		/* LastModified, unix seconds; 0 when absent */
	char etag[64];		/* ETag without quotes, lowercase; "" when absent */
};
struct s3_list_page {
	struct s3_list_entry *v;
	size_t n, cap;
	int truncated;
	char *next_token;
};
/* "2024-01-15T10:30:00.000Z" (ISO 8601 UTC, fraction optional) as unix
 * seconds; -1 when it is not such a time. */
int64_t s3_xml_time(const char *text);
/* One ListObjectsV2 page. Clear the page with s3_list_page_clear(), also
 * after a failure. CST_EIO for a body that is not a listing. */
int s3_xml_list(struct s3_list_page *page, const char *body, size_t len);
void s3_list_page_clear(struct s3_list_page *page);

struct s3_upload_entry {
	char *key, *id;
};
struct s3_uploads_page {
	struct s3_upload_entry *v;
	size_t n, cap;
	int truncated;
	char *next_key, *next_id;
};
/* One ListMultipartUploads page; clear it with s3_uploads_page_clear(). */
int s3_xml_uploads(struct s3_uploads_page *page, const char *body, size_t len);
void s3_uploads_page_clear(struct s3_uploads_page *page);

/* Multipart (s3_mpu.c), the backend ops of the same names. */
int s3_mpu_begin(struct storage *st, const char *key, int flags, void **upload);
int s3_mpu_part(struct storage *st, void *upload, unsigned part_no, const char *path,
		const unsigned char md5[16]);
int s3_mpu_commit(struct storage *st, void *upload, unsigned n_parts, struct storage_stat *out);
int s3_mpu_abort(struct storage *st, void *upload);
int s3_mpu_clean(struct storage *st, const char *prefix, size_t *n);
void s3_mpu_free(struct storage *st, void *upload);

/* Shared helpers of s3.c for s3_mpu.c. */
/* Base64 of 16 MD5 bytes into out[25]. */
void s3_md5_base64(char out[25], const unsigned char md5[16]);
/* Run a PUT whose body the caller set up, with Content-MD5 from `md5` when
 * not NULL, and check the ETag the server answers is that MD5 (else
 * CST_EINTEGRITY), or without one that it is an MD5 (else CST_EUNSUPPORTED).
 * r->etag holds it afterwards. */
int s3_put_checked(struct s3_storage *s, struct s3_req *r, const unsigned char *md5);
/* HEAD `key`: size and ETag; CST_ENOTFOUND when missing. */
int s3_head(struct s3_storage *s, const char *key, struct storage_stat *out);

#endif
