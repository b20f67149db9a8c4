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
	char b64[MANIFEST_MD5_B64 + 1];

	/* Medusa's encrypted objects keep their base64 source_MD5 (their mark) */
	if (o->fernet && manifest_md5_to_b64(b64, o->source_md5) != 0) {
		json_decref(j);
		return NULL;
	}

	if (json_object_set_new(j, "path", json_string(o->path)) != 0 ||
	    json_object_set_new(j, "MD5", json_string(o->md5)) != 0 ||
	    json_object_set_new(j, "size", json_integer((json_int_t)o->size)) != 0 ||
	    /* an ETag-only object (Medusa's) goes back as it came: no source_* */
	    (!o->no_source &&
	     json_object_set_new(j, "source_MD5", json_string(o->fernet ? b64 : o->source_md5)) != 0) ||
	    (!o->no_source &&
	     json_object_set_new(j, "source_size", json_integer((json_int_t)o->source_size)) != 0) ||
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

/* ---- streaming writer --------------------------------------------------- */

#define WRITER_FLUSH (64u << 10)

struct manifest_writer {
	manifest_out_fn fn;
	void *arg;
	struct dumpbuf b;
	int failed;
	int started;		/* a table is open */
	size_t n_tables, n_in_table;
	char *ks, *cf;		/* the open table */
	/* every table written so far, to refuse a return to one */
	struct manifest *seen;
};

int manifest_writer_new(struct manifest_writer **out, manifest_out_fn fn, void *arg)
{
	struct manifest_writer *w;
	int r;

	*out = NULL;
	if (fn == NULL)
		return cst_error(CST_EINVALID, "manifest_writer_new: no output function");
	if ((w = cst_calloc(1, sizeof(*w))) == NULL)
		return CST_ENOMEM;
	if ((r = manifest_new(&w->seen)) != 0 || (r = dump_raw(&w->b, "[")) != 0) {
		manifest_writer_free(w);
		return r;
	}
	w->fn = fn;
	w->arg = arg;
	*out = w;
	return 0;
}

static int writer_flush(struct manifest_writer *w, size_t at_least)
{
	int r;

	if (w->b.len < at_least || w->b.len == 0)
		return 0;
	if ((r = w->fn(w->arg, w->b.p, w->b.len)) != 0)
		return w->failed = r;
	w->b.len = 0;
	w->b.p[0] = '\0';
	return 0;
}

int manifest_writer_add(struct manifest_writer *w, const char *keyspace, const char *columnfamily,
			const struct manifest_object *obj)
{
	struct manifest_object o;
	char ks[64], cf[96];
	size_t before, ti;
	int r;

	if (w->failed)
		return w->failed;
	o = *obj;
	if ((r = manifest_entry_check("manifest_writer_add", keyspace, columnfamily, &o)) != 0)
		return r;
	if (!w->started || strcmp(w->ks, keyspace) != 0 || strcmp(w->cf, columnfamily) != 0) {
		before = manifest_table_count(w->seen);
		if ((r = manifest_table_get(w->seen, keyspace, columnfamily, &ti)) != 0)
			return w->failed = r;
		if (manifest_table_count(w->seen) == before) {
			manifest_printable(ks, sizeof(ks), keyspace);
			manifest_printable(cf, sizeof(cf), columnfamily);
			return cst_error(CST_EINVALID, "manifest_writer_add %s.%s: the table's objects "
					 "must come together", ks, cf);
		}
		free(w->ks);
		free(w->cf);
		w->ks = cst_strdup(keyspace);
		w->cf = cst_strdup(columnfamily);
		if (w->ks == NULL || w->cf == NULL)
			return w->failed = CST_ENOMEM;
		if ((w->started && (r = dump_raw(&w->b, "]}")) != 0) ||
		    (r = dump_raw(&w->b, w->n_tables ? ",{\"keyspace\":" : "{\"keyspace\":")) != 0 ||
		    (r = dump_json(&w->b, json_string(keyspace))) != 0 ||
		    (r = dump_raw(&w->b, ",\"columnfamily\":")) != 0 ||
		    (r = dump_json(&w->b, json_string(columnfamily))) != 0 ||
		    (r = dump_raw(&w->b, ",\"objects\":[")) != 0)
			return w->failed = r;
		w->started = 1;
		w->n_tables++;
		w->n_in_table = 0;
	}
	if ((w->n_in_table && (r = dump_raw(&w->b, ",")) != 0) ||
	    (r = dump_json(&w->b, object_json(&o))) != 0)
		return w->failed = r;
	w->n_in_table++;
	return writer_flush(w, WRITER_FLUSH);
}

int manifest_writer_finish(struct manifest_writer *w)
{
	int r;

	if (w->failed)
		return w->failed;
	if ((w->started && (r = dump_raw(&w->b, "]}")) != 0) || (r = dump_raw(&w->b, "]")) != 0)
		return w->failed = r;
	w->started = 0;
	return writer_flush(w, 1);
}

void manifest_writer_free(struct manifest_writer *w)
{
	if (w == NULL)
		return;
	free(w->b.p);
	free(w->ks);
	free(w->cf);
	manifest_free(w->seen);
	free(w);
}
