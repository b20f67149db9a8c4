/*
 * manifest.json: writing and strict reading. Documents come back from
 * storage and may be damaged or hostile, so every field is checked and every
 * failure is one line naming the origin and the position.
 */
#include "manifest_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DUMP_MIN 4096

/* A growable output buffer, always NUL-terminated once allocated. */
struct dumpbuf {
	char *p;
	size_t len;
	size_t cap;
};

/* jansson's output callback: 0 or -1. */
static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dumpbuf *b = data;
	size_t ncap = b->cap ? b->cap : DUMP_MIN;
	char *p;

	if (size >= SIZE_MAX - b->len)
		return -1;
	while (ncap - b->len <= size) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (ncap != b->cap) {
		if ((p = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = p;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, buf, size);
	b->len += size;
	b->p[b->len] = '\0';
	return 0;
}

static int dump_raw(struct dumpbuf *b, const char *s)
{
	if (dump_cb(s, strlen(s), b) != 0)
		return cst_error(CST_ENOMEM, "manifest_dump: out of memory");
	return 0;
}

/* Append `j` in compact form and drop the reference (NULL means it failed). */
static int dump_json(struct dumpbuf *b, json_t *j)
{
	int r = 0;

	if (j == NULL || json_dump_callback(j, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
		r = cst_error(CST_ENOMEM, "manifest_dump: out of memory");
	json_decref(j);
	return r;
}

/* The object in the documented key order; NULL when out of memory. */
static json_t *object_json(const struct manifest_object *o)
{
	json_t *j = json_object();

	if (json_object_set_new(j, "path", json_string(o->path)) != 0 ||
	    json_object_set_new(j, "MD5", json_string(o->md5)) != 0 ||
	    json_object_set_new(j, "size", json_integer((json_int_t)o->size)) != 0 ||
	    json_object_set_new(j, "source_MD5", json_string(o->source_md5)) != 0 ||
	    json_object_set_new(j, "source_size", json_integer((json_int_t)o->source_size)) != 0 ||
	    (o->salt[0] != '\0' && json_object_set_new(j, "salt", json_string(o->salt)) != 0) ||
	    (o->key_id[0] != '\0' && json_object_set_new(j, "key_id", json_string(o->key_id)) != 0)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/*
 * Written one object at a time rather than as one jansson tree: the bytes are
 * what json_dumps(tree, JSON_COMPACT) would give, without a tree that costs
 * ~1 KiB per object.
 */
int manifest_dump(const struct manifest *m, char **out, size_t *len)
{
	struct dumpbuf b = { NULL, 0, 0 };
	const struct manifest_table *t;
	size_t i, j;
	int r = CST_EINVALID;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (m == NULL || out == NULL) {
		r = cst_error(CST_EINVALID, "manifest_dump: no manifest or no out pointer");
		goto out;
	}
	if ((r = dump_raw(&b, "[")) != 0)
		goto out;
	for (i = 0; i < m->n_tables; i++) {
		t = &m->tables[i];
		if ((r = dump_raw(&b, i ? ",{\"keyspace\":" : "{\"keyspace\":")) != 0 ||
		    (r = dump_json(&b, json_string(t->keyspace))) != 0 ||
		    (r = dump_raw(&b, ",\"columnfamily\":")) != 0 ||
		    (r = dump_json(&b, json_string(t->columnfamily))) != 0 ||
		    (r = dump_raw(&b, ",\"objects\":[")) != 0)
			goto out;
		for (j = 0; j < t->n_objects; j++) {
			if ((j && (r = dump_raw(&b, ",")) != 0) ||
			    (r = dump_json(&b, object_json(&t->objects[j]))) != 0)
				goto out;
		}
		if ((r = dump_raw(&b, "]}")) != 0)
			goto out;
	}
	if ((r = dump_raw(&b, "]")) != 0)
		goto out;
	*out = b.p;
	if (len != NULL)
		*len = b.len;
	b.p = NULL;
	r = 0;
out:
	free(b.p);
	return r;
}

/* Where the parser is, for error messages. Positions count from 1; 0 = none. */
struct where {
	const char *origin;
	size_t table;
	char ks[64];
	char cf[96];
	size_t object;
};

static int bad(const struct where *w, const char *why)
{
	if (w->table == 0)
		return cst_error(CST_EINVALID, "%s: %s", w->origin, why);
	if (w->ks[0] == '\0')
		return cst_error(CST_EINVALID, "%s: table %zu: %s", w->origin, w->table, why);
	if (w->object == 0)
		return cst_error(CST_EINVALID, "%s: table %zu (%s.%s): %s", w->origin, w->table,
				 w->ks, w->cf, why);
	return cst_error(CST_EINVALID, "%s: table %zu (%s.%s) object %zu: %s", w->origin,
			 w->table, w->ks, w->cf, w->object, why);
}

/* A JSON string of 1..max bytes with no NUL inside; its value, else NULL. */
static const char *str_value(const json_t *v, size_t max)
{
	size_t n;

	if (!json_is_string(v))
		return NULL;
	n = json_string_length(v);
	if (n == 0 || n > max || strlen(json_string_value(v)) != n)
		return NULL;
	return json_string_value(v);
}

/* A JSON integer >= 0 (reals, strings and negatives are refused). */
static int size_value(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

#define WHY_MD5 "\"MD5\" must be 32 hex digits or an S3 multipart ETag \"<32 hex>-<parts>\""
#define WHY_SOURCE_MD5 "\"source_MD5\" must be 32 hex digits"

/* Objects without source_* (Medusa's): the stored bytes are the plaintext. */
static const char *source_fallback(struct manifest_object *o)
{
	if (!manifest_etag_check(o->md5, sizeof(o->md5)))
		return WHY_MD5;
	if (strlen(o->md5) != MANIFEST_MD5_HEX)
		return "no \"source_MD5\"/\"source_size\" and \"MD5\" is a multipart ETag, "
		       "so the plaintext checksum is unknown";
	memcpy(o->source_md5, o->md5, sizeof(o->source_md5));
	o->source_size = o->size;
	return NULL;
}

/* Fill `o` from one JSON object (path borrowed from jo); NULL or a reason. */
static const char *parse_object(const json_t *jo, struct manifest_object *o)
{
	const json_t *smd5, *ssize, *salt, *kid;
	const char *s, *why;

	memset(o, 0, sizeof(*o));
	if (!json_is_object(jo))
		return "must be a JSON object";
	if ((s = str_value(json_object_get(jo, "path"), SIZE_MAX)) == NULL)
		return "\"path\" must be a non-empty string without NUL";
	o->path = (char *)s;	/* only read, and copied by manifest_table_append */
	/* "" is allowed here, and checked with the salt below: an encrypted
	 * object in a store that keeps no ETag (local) has no MD5. */
	if (json_is_string(json_object_get(jo, "MD5")) &&
	    json_string_length(json_object_get(jo, "MD5")) == 0)
		o->md5[0] = '\0';
	else if ((s = str_value(json_object_get(jo, "MD5"), MANIFEST_ETAG_MAX)) == NULL)
		return WHY_MD5;
	else
		memcpy(o->md5, s, strlen(s) + 1);
	if (!size_value(json_object_get(jo, "size"), &o->size))
		return "\"size\" must be a non-negative integer";
	smd5 = json_object_get(jo, "source_MD5");
	ssize = json_object_get(jo, "source_size");
	if (smd5 == NULL && ssize == NULL) {
		if ((why = source_fallback(o)) != NULL)
			return why;
	} else if (smd5 == NULL || ssize == NULL) {
		return "\"source_MD5\" and \"source_size\" must be given together";
	} else {
		if ((s = str_value(smd5, MANIFEST_MD5_HEX)) == NULL)
			return WHY_SOURCE_MD5;
		memcpy(o->source_md5, s, strlen(s) + 1);
		if (!size_value(ssize, &o->source_size))
			return "\"source_size\" must be a non-negative integer";
	}
	if ((salt = json_object_get(jo, "salt")) != NULL) {
		/* "" is refused too: a writer omits the salt, never empties it */
		if ((s = str_value(salt, MANIFEST_SALT_HEX)) == NULL ||
		    strlen(s) != MANIFEST_SALT_HEX)
			return "\"salt\" must be 64 hex digits";
		memcpy(o->salt, s, MANIFEST_SALT_HEX + 1);
	}
	if ((kid = json_object_get(jo, "key_id")) != NULL) {
		if ((s = str_value(kid, MANIFEST_KEYID_HEX)) == NULL ||
		    strlen(s) != MANIFEST_KEYID_HEX)
			return "\"key_id\" must be 16 hex digits";
		memcpy(o->key_id, s, MANIFEST_KEYID_HEX + 1);
	}
	return manifest_object_check(o);
}

static int parse_table(struct manifest *m, const json_t *jt, struct where *w)
{
	const json_t *objs, *jo;
	const char *ks, *cf, *why;
	struct manifest_object o;
	size_t ti, j;
	int r;

	if (!json_is_object(jt)) {
		r = bad(w, "must be a JSON object");
		goto out;
	}
	if ((ks = str_value(json_object_get(jt, "keyspace"), SIZE_MAX)) == NULL) {
		r = bad(w, "\"keyspace\" must be a non-empty string without NUL");
		goto out;
	}
	if ((cf = str_value(json_object_get(jt, "columnfamily"), SIZE_MAX)) == NULL) {
		r = bad(w, "\"columnfamily\" must be a non-empty string without NUL");
		goto out;
	}
	manifest_printable(w->ks, sizeof(w->ks), ks);
	manifest_printable(w->cf, sizeof(w->cf), cf);
	if (!json_is_array(objs = json_object_get(jt, "objects"))) {
		r = bad(w, "\"objects\" must be an array");
		goto out;
	}
	/* a table listed twice is merged into its first position */
	if ((r = manifest_table_get(m, ks, cf, &ti)) != 0)
		goto out;
	for (j = 0; j < json_array_size(objs); j++) {
		jo = json_array_get(objs, j);
		w->object = j + 1;
		if ((why = parse_object(jo, &o)) != NULL) {
			r = bad(w, why);
			goto out;
		}
		if ((r = manifest_table_append(m, ti, &o)) != 0)
			goto out;
	}
	w->object = 0;
	r = 0;
out:
	return r;
}

int manifest_parse(struct manifest **out, const char *json, size_t len, const char *origin)
{
	struct manifest *m = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	struct where w;
	char text[sizeof(jerr.text)];
	size_t i;
	int r = CST_EINVALID;

	memset(&w, 0, sizeof(w));
	w.origin = origin != NULL ? origin : "manifest";
	if (out != NULL)
		*out = NULL;
	if (out == NULL || (json == NULL && len != 0)) {
		r = cst_error(CST_EINVALID, "%s: manifest_parse: no out pointer or no input",
			      w.origin);
		goto out;
	}
	/* duplicate keys are refused: readers disagree on which one wins */
	root = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			r = cst_error(CST_ENOMEM, "%s: out of memory while parsing", w.origin);
			goto out;
		}
		manifest_printable(text, sizeof(text), jerr.text);
		r = cst_error(CST_EINVALID, "%s: JSON error at line %d column %d: %s", w.origin,
			      jerr.line, jerr.column, text);
		goto out;
	}
	if (!json_is_array(root)) {
		r = bad(&w, "the top level must be an array of tables");
		goto out;
	}
	if ((r = manifest_new(&m)) != 0)
		goto out;
	for (i = 0; i < json_array_size(root); i++) {
		w.table = i + 1;
		w.ks[0] = w.cf[0] = '\0';
		if ((r = parse_table(m, json_array_get(root, i), &w)) != 0)
			goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	manifest_free(m);
	json_decref(root);
	return r;
}
