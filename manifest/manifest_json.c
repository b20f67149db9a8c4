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
