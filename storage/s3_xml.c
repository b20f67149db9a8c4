/*
 * The few S3 XML bodies we read: Error, InitiateMultipartUploadResult and
 * ListBucketResult (ListObjectsV2). expat decodes entities and character
 * references (keys like "a&b" arrive as "a&amp;b"). Documents with a DOCTYPE
 * or entity declarations are refused: S3 never sends them, and that shuts
 * out entity-expansion tricks. Element names are matched without namespace
 * processing, so the xmlns S3 puts on the root does not matter.
 */
#define _GNU_SOURCE
#include "s3_int.h"
#include "util.h"

#include <errno.h>
#include <expat.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XML_DEPTH 4		/* the deepest element we look at */
#define XML_NAME_MAX 48
#define XML_TEXT_MAX (64u << 10) /* longer text is no S3 answer */

struct xml_ctx {
	XML_Parser p;
	int depth;
	char names[XML_DEPTH + 1][XML_NAME_MAX]; /* names[1] is the root */
	char *text;
	size_t len, cap;
	int rc;
	/* Called at the end of every element up to XML_DEPTH, with its text. */
	int (*on_end)(struct xml_ctx *x, void *arg);
	void *arg;
};

static void xml_fail(struct xml_ctx *x, int rc)
{
	if (x->rc == 0)
		x->rc = rc;
	XML_StopParser(x->p, XML_FALSE);
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_ctx *x = arg;

	(void)attrs;
	x->depth++;
	if (x->depth <= XML_DEPTH)
		snprintf(x->names[x->depth], XML_NAME_MAX, "%s", name);
	x->len = 0;
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int n)
{
	struct xml_ctx *x = arg;
	char *p;

	if (x->depth > XML_DEPTH || n <= 0)
		return;
	if ((size_t)n > XML_TEXT_MAX - x->len) {
		xml_fail(x, cst_error(CST_EIO, "s3: XML element <%s> too long",
				      x->names[x->depth]));
		return;
	}
	if (x->len + (size_t)n + 1 > x->cap) {
		size_t want = x->cap ? x->cap * 2 : 256;

		while (want < x->len + (size_t)n + 1)
			want *= 2;
		if ((p = cst_realloc(x->text, want)) == NULL) {
			xml_fail(x, CST_ENOMEM);
			return;
		}
		x->text = p;
		x->cap = want;
	}
	memcpy(x->text + x->len, s, (size_t)n);
	x->len += (size_t)n;
	x->text[x->len] = '\0';
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
	struct xml_ctx *x = arg;
	int rc;

	(void)name;
	if (x->depth <= XML_DEPTH) {
		if (x->text != NULL)
			x->text[x->len] = '\0';
		if ((rc = x->on_end(x, x->arg)) != 0)
			xml_fail(x, rc);
	}
	x->len = 0;
	x->depth--;
}

static void XMLCALL on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	struct xml_ctx *x = arg;

	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	xml_fail(x, cst_error(CST_EIO, "s3: XML answer with a DOCTYPE refused"));
}

/* The text of the element that just ended ("" when it had none). */
static const char *xml_text(const struct xml_ctx *x)
{
	return x->text != NULL ? x->text : "";
}

/* 1 when the element that just ended is `name` at `depth` under `parent`. */
static int xml_at(const struct xml_ctx *x, int depth, const char *parent, const char *name)
{
	return x->depth == depth && strcmp(x->names[depth], name) == 0 &&
	       (parent == NULL || strcmp(x->names[depth - 1], parent) == 0);
}

static int xml_parse(const char *body, size_t len, const char *root,
		     int (*end_fn)(struct xml_ctx *, void *), void *arg)
{
	struct xml_ctx x = { .on_end = end_fn, .arg = arg };
	int rc = 0;

	if ((x.p = XML_ParserCreate("UTF-8")) == NULL)
		return cst_error(CST_ENOMEM, "s3: cannot create an XML parser");
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, on_start, on_end);
	XML_SetCharacterDataHandler(x.p, on_text);
	XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
	if (len > (size_t)INT32_MAX) {
		rc = cst_error(CST_EIO, "s3: XML answer too large");
		goto out;
	}
	if (XML_Parse(x.p, body, (int)len, XML_TRUE) != XML_STATUS_OK) {
		rc = x.rc != 0 ? x.rc
			       : cst_error(CST_EIO, "s3: malformed XML answer: %s at line %lu",
					   XML_ErrorString(XML_GetErrorCode(x.p)),
					   (unsigned long)XML_GetCurrentLineNumber(x.p));
		goto out;
	}
	if (root != NULL && strcmp(x.names[1], root) != 0)
		rc = cst_error(CST_EIO, "s3: expected an XML <%s> answer, got <%s>", root,
			       x.names[1]);
out:
	XML_ParserFree(x.p);
	free(x.text);
	return rc;
}

/* ---- Error ---- */

struct err_out {
	char *code, *msg;
	size_t code_size, msg_size;
};

/* Copy without control characters, truncated to size. */
static void copy_clean(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; *src != '\0' && o + 1 < size; src++)
		if ((unsigned char)*src >= 0x20 && *src != 0x7f)
			dst[o++] = *src;
	dst[o] = '\0';
}

static int error_end(struct xml_ctx *x, void *arg)
{
	struct err_out *e = arg;

	if (xml_at(x, 2, "Error", "Code"))
		copy_clean(e->code, e->code_size, xml_text(x));
	else if (xml_at(x, 2, "Error", "Message"))
		copy_clean(e->msg, e->msg_size, xml_text(x));
	return 0;
}

int s3_xml_error(const char *body, size_t len, char *code, size_t code_size, char *msg,
		 size_t msg_size)
{
	struct err_out e = { code, msg, code_size, msg_size };

	code[0] = msg[0] = '\0';
	/* A body that is no S3 error (an HTML page from a proxy) is no
	 * error document; the caller reports the HTTP status instead. */
	if (len == 0 || xml_parse(body, len, "Error", error_end, &e) != 0) {
		code[0] = msg[0] = '\0';
		return 0;
	}
	return 1;
}

/* ---- InitiateMultipartUploadResult ---- */

static int upload_id_end(struct xml_ctx *x, void *arg)
{
	char **id = arg;

	if (xml_at(x, 2, "InitiateMultipartUploadResult", "UploadId") && *id == NULL &&
	    (*id = cst_strdup(xml_text(x))) == NULL)
		return CST_ENOMEM;
	return 0;
}

int s3_xml_upload_id(char **out, const char *body, size_t len)
{
	char *id = NULL;
	int rc;

	*out = NULL;
	if ((rc = xml_parse(body, len, "InitiateMultipartUploadResult", upload_id_end, &id)) != 0)
		goto out;
	if (id == NULL || *id == '\0') {
		rc = cst_error(CST_EIO, "s3: InitiateMultipartUpload answer without an UploadId");
		goto out;
	}
	*out = id;
	id = NULL;
out:
	free(id);
	return rc;
}

/* ---- ListMultipartUploadsResult ---- */

struct uploads_state {
	struct s3_uploads_page *page;
	char *key, *id;	/* of the <Upload> being read */
};

static int uploads_end(struct xml_ctx *x, void *arg)
{
	struct uploads_state *us = arg;
	struct s3_uploads_page *pg = us->page;
	char **field = NULL;

	if (xml_at(x, 3, "Upload", "Key"))
		field = &us->key;
	else if (xml_at(x, 3, "Upload", "UploadId"))
		field = &us->id;
	else if (xml_at(x, 2, NULL, "NextKeyMarker"))
		field = &pg->next_key;
	else if (xml_at(x, 2, NULL, "NextUploadIdMarker"))
		field = &pg->next_id;
	if (field != NULL) {
		free(*field);
		return (*field = cst_strdup(xml_text(x))) == NULL ? CST_ENOMEM : 0;
	}
	if (xml_at(x, 2, NULL, "Upload")) {
		struct s3_upload_entry *v;

		if (us->key == NULL || us->id == NULL)
			return cst_error(CST_EIO, "s3 list uploads: <Upload> without <Key> or <UploadId>");
		if ((v = cst_grow(pg->v, &pg->cap, pg->n, sizeof(*v), 16)) == NULL)
			return CST_ENOMEM;
		pg->v = v;
		pg->v[pg->n].key = us->key;
		pg->v[pg->n].id = us->id;
		pg->n++;
		us->key = us->id = NULL;
	} else if (xml_at(x, 2, NULL, "IsTruncated")) {
		pg->truncated = strcmp(xml_text(x), "true") == 0;
	}
	return 0;
}

int s3_xml_uploads(struct s3_uploads_page *page, const char *body, size_t len)
{
	struct uploads_state us = { .page = page };
	int rc;

	rc = xml_parse(body, len, "ListMultipartUploadsResult", uploads_end, &us);
	free(us.key);
	free(us.id);
	if (rc == 0 && page->truncated && (page->next_key == NULL || page->next_id == NULL))
		rc = cst_error(CST_EIO, "s3 list uploads: truncated listing without its markers");
	return rc;
}

void s3_uploads_page_clear(struct s3_uploads_page *page)
{
	size_t i;

	for (i = 0; i < page->n; i++) {
		free(page->v[i].key);
		free(page->v[i].id);
	}
	free(page->v);
	free(page->next_key);
	free(page->next_id);
	memset(page, 0, sizeof(*page));
}

/* ---- ListBucketResult ---- */

struct list_state {
	struct s3_list_page *page;
	char *key;	/* of the <Contents> being read */
	uint64_t size;
	int have_size;
	int64_t mtime;
	char etag[64];
};

int64_t s3_xml_time(const char *text)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;
	const char *rest;
	time_t t;

	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return -1;
	rest = text + n;
	if (*rest == '.')
		for (rest++; isdigit((unsigned char)*rest); rest++)
			;
	if (strcmp(rest, "Z") != 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t;
}

/* The ETag as a HEAD reports it (s3_http.c): no quotes or blanks, lowercase. */
static void copy_etag(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; *src != '\0' && o + 1 < size; src++)
		if (*src != '"' && *src != ' ')
			dst[o++] = (char)tolower((unsigned char)*src);
	dst[o] = '\0';
}

static int parse_u64(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int list_end(struct xml_ctx *x, void *arg)
{
	struct list_state *ls = arg;
	struct s3_list_page *pg = ls->page;
	struct s3_list_entry *v;

	if (xml_at(x, 3, "Contents", "Key")) {
		free(ls->key);
		if ((ls->key = cst_strdup(xml_text(x))) == NULL)
			return CST_ENOMEM;
	} else if (xml_at(x, 3, "Contents", "Size")) {
		if (parse_u64(&ls->size, xml_text(x)) != 0)
			return cst_error(CST_EIO, "s3 list: bad <Size> '%.32s'", xml_text(x));
		ls->have_size = 1;
	} else if (xml_at(x, 3, "Contents", "LastModified")) {
		if ((ls->mtime = s3_xml_time(xml_text(x))) < 0)
			return cst_error(CST_EIO, "s3 list: bad <LastModified> '%.40s'", xml_text(x));
	} else if (xml_at(x, 3, "Contents", "ETag")) {
		copy_etag(ls->etag, sizeof(ls->etag), xml_text(x));
	} else if (xml_at(x, 2, NULL, "Contents")) {
		if (ls->key == NULL || !ls->have_size)
			return cst_error(CST_EIO, "s3 list: <Contents> without <Key> or <Size>");
		if ((v = cst_grow(pg->v, &pg->cap, pg->n, sizeof(*v), 64)) == NULL)
			return CST_ENOMEM;
		pg->v = v;
		pg->v[pg->n].key = ls->key;
		pg->v[pg->n].size = ls->size;
		pg->v[pg->n].mtime = ls->mtime;
		memcpy(pg->v[pg->n].etag, ls->etag, sizeof(ls->etag));
		pg->n++;
		ls->key = NULL;
		ls->have_size = 0;
		ls->mtime = 0;
		ls->etag[0] = '\0';
	} else if (xml_at(x, 2, NULL, "IsTruncated")) {
		pg->truncated = strcmp(xml_text(x), "true") == 0;
	} else if (xml_at(x, 2, NULL, "NextContinuationToken")) {
		free(pg->next_token);
		if ((pg->next_token = cst_strdup(xml_text(x))) == NULL)
			return CST_ENOMEM;
	}
	return 0;
}

int s3_xml_list(struct s3_list_page *page, const char *body, size_t len)
{
	struct list_state ls = { .page = page };
	int rc;

	rc = xml_parse(body, len, "ListBucketResult", list_end, &ls);
	free(ls.key);
	if (rc == 0 && page->truncated && (page->next_token == NULL || !*page->next_token))
		rc = cst_error(CST_EIO, "s3 list: truncated listing without a continuation token");
	return rc;
}

void s3_list_page_clear(struct s3_list_page *page)
{
	size_t i;

	for (i = 0; i < page->n; i++)
		free(page->v[i].key);
	free(page->v);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}
