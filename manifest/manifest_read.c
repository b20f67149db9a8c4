/*
 * manifest.json, read as a stream. Documents come back from storage and may
 * be damaged or hostile, so every field is checked and every failure is one
 * line naming the origin and the position.
 *
 * The outer shape (the array of tables, each table's keys, the "objects"
 * array) is scanned here, byte by byte as it arrives; each value inside it
 * (one object, one name) is cut out whole and handed to jansson. So memory
 * holds one object at a time, never the document or a tree of it: a manifest
 * of 100,000 objects is ~30 MB of text and would be ~100 MB as a jansson tree.
 * What an object's fields mean, and manifest_parse(), are in manifest_parse.c.
 */
#include "manifest_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One value (an object, a name, an unknown key's value) at most this big. */
#define VALUE_MAX (16u << 20)
#define COMPACT_MIN (64u << 10)

enum state {
	S_TOP,		/* before the top-level '[' */
	S_TABLE_FIRST,	/* after '[': a table or ']' */
	S_TABLE,	/* after ',': a table */
	S_TABLE_SEP,	/* after a table: ',' or ']' */
	S_KEY_FIRST,	/* after '{': a key or '}' */
	S_KEY,		/* after ',' in a table: a key */
	S_COLON,
	S_VALUE,	/* the value of key `key` */
	S_MEMBER_SEP,	/* after a member: ',' or '}' */
	S_OBJ_FIRST,	/* after "objects":[ : an object or ']' */
	S_OBJ,		/* after ',': an object */
	S_OBJ_SEP,	/* after an object: ',' or ']' */
	S_DONE,
};

enum key { K_OTHER, K_KEYSPACE, K_COLUMNFAMILY, K_OBJECTS };

/* Where the parser is, for error messages. Positions count from 1; 0 = none. */
struct where {
	const char *origin;
	size_t table;
	char ks[64];
	char cf[96];
	size_t object;
};

struct manifest_reader {
	struct manifest_sink sink;
	char *origin;
	struct where w;
	enum state st;
	int failed;		/* sticky: the first error's code */
	char *buf;		/* unconsumed input is buf[off..len) */
	size_t off, len, cap;
	int line, column;	/* of buf[off], as jansson counts them */
	/* the value being cut out: scanned up to buf[off + scan] */
	size_t scan;
	int depth, in_str, esc;
	/* the current table */
	enum key key;
	char **seen;		/* its keys so far: open addressing, for duplicates */
	size_t seen_cap, n_seen;
	char *ks, *cf;
	const char *ks_why, *cf_why;	/* bad name, or NULL */
	int has_objects, objects_bad, announced;
	struct manifest_object *held;	/* objects seen before both names */
	size_t n_held, cap_held;
};

static int bad(const struct where *w, const char *why)
{
	if (w->table == 0)
		return cst_error(CST_EINVALID, "%s: %s", w->origin, why);
	if (w->ks[0] == '\0' && w->object == 0)
		return cst_error(CST_EINVALID, "%s: table %zu: %s", w->origin, w->table, why);
	if (w->ks[0] == '\0')
		return cst_error(CST_EINVALID, "%s: table %zu object %zu: %s", w->origin, w->table,
				 w->object, why);
	if (w->object == 0)
		return cst_error(CST_EINVALID, "%s: table %zu (%s.%s): %s", w->origin, w->table,
				 w->ks, w->cf, why);
	return cst_error(CST_EINVALID, "%s: table %zu (%s.%s) object %zu: %s", w->origin,
			 w->table, w->ks, w->cf, w->object, why);
}

static int fail(struct manifest_reader *r, int rc)
{
	if (!r->failed)
		r->failed = rc;
	return r->failed;
}

/* A JSON syntax error at line/column (jansson's `text` when it has one). */
static int json_err(struct manifest_reader *r, int line, int column, const char *text)
{
	char t[160];

	manifest_printable(t, sizeof(t), text);
	return fail(r, cst_error(CST_EINVALID, "%s: JSON error at line %d column %d: %s",
				 r->w.origin, line, column, t));
}

/* Step over n bytes of input, counting lines and (UTF-8) columns as jansson does. */
static void consume(struct manifest_reader *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r->buf[r->off + i];

		if (c == '\n') {
			r->line++;
			r->column = 0;
		} else if (c < 0x80 || c >= 0xc0) {
			r->column++;
		}
	}
	r->off += n;
}

/*
 * Cut out the value that starts at buf[off]: 1 with *n its length when it is
 * all there, 0 to wait for more input. `eof`: no more input comes (a bare
 * scalar then ends at the end). Progress is kept between calls.
 */
static int value_extent(struct manifest_reader *r, size_t *n, int eof)
{
	const char *p = r->buf + r->off;
	size_t avail = r->len - r->off;
	char c0 = p[0];

	if (r->scan == 0) {
		r->depth = 0;
		r->in_str = 0;
		r->esc = 0;
	}
	for (; r->scan < avail; r->scan++) {
		char c = p[r->scan];

		if (r->in_str) {
			if (r->esc)
				r->esc = 0;
			else if (c == '\\')
				r->esc = 1;
			else if (c == '"' && (r->in_str = 0, r->depth == 0))
				goto done;
		} else if (c == '"') {
			r->in_str = 1;
		} else if (c0 == '{' || c0 == '[') {
			if (c == '{' || c == '[')
				r->depth++;
			else if ((c == '}' || c == ']') && --r->depth == 0)
				goto done;
		} else if (c != '\0' && strchr(",]} \t\r\n", c) != NULL) {
			*n = r->scan;	/* a scalar ends before its delimiter */
			r->scan = 0;
			return 1;
		}
	}
	if (eof && c0 != '{' && c0 != '[' && c0 != '"' && avail > 0) {
		*n = avail;
		r->scan = 0;
		return 1;
	}
	return 0;
done:
	*n = r->scan + 1;
	r->scan = 0;
	return 1;
}

/* jansson on exactly the n bytes at buf[off]; NULL after reporting. */
static json_t *load_value(struct manifest_reader *r, size_t n)
{
	json_error_t e;
	json_t *v;

	v = json_loadb(r->buf + r->off, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (v != NULL)
		return v;
	if (json_error_code(&e) == json_error_out_of_memory)
		fail(r, cst_error(CST_ENOMEM, "%s: out of memory while parsing", r->w.origin));
	else
		json_err(r, r->line + e.line - 1, e.line == 1 ? r->column + e.column : e.column,
			 e.text);
	return NULL;
}

/* Remember a table key; 1 when it was already there (a duplicate). */
static int key_seen(struct manifest_reader *r, const char *k, int *dup)
{
	size_t i, h = 5381;
	const unsigned char *p;

	*dup = 0;
	if ((r->n_seen + 1) * 2 > r->seen_cap) {
		size_t cap = r->seen_cap ? r->seen_cap * 2 : 16, j;
		char **nt = cst_calloc(cap, sizeof(*nt));

		if (nt == NULL)
			return fail(r, CST_ENOMEM);
		for (j = 0; j < r->seen_cap; j++) {
			if (r->seen[j] == NULL)
				continue;
			for (h = 5381, p = (const unsigned char *)r->seen[j]; *p; p++)
				h = h * 33 + *p;
			for (i = h & (cap - 1); nt[i] != NULL; i = (i + 1) & (cap - 1))
				;
			nt[i] = r->seen[j];
		}
		free(r->seen);
		r->seen = nt;
		r->seen_cap = cap;
	}
	for (h = 5381, p = (const unsigned char *)k; *p; p++)
		h = h * 33 + *p;
	for (i = h & (r->seen_cap - 1); r->seen[i] != NULL; i = (i + 1) & (r->seen_cap - 1)) {
		if (strcmp(r->seen[i], k) == 0) {
			*dup = 1;
			return 0;
		}
	}
	if ((r->seen[i] = cst_strdup(k)) == NULL)
		return fail(r, CST_ENOMEM);
	r->n_seen++;
	return 0;
}

static void table_reset(struct manifest_reader *r)
{
	size_t i;

	for (i = 0; i < r->seen_cap; i++)
		free(r->seen[i]);
	free(r->seen);
	r->seen = NULL;
	r->seen_cap = r->n_seen = 0;
	free(r->ks);
	free(r->cf);
	r->ks = r->cf = NULL;
	r->ks_why = r->cf_why = NULL;
	r->has_objects = r->objects_bad = r->announced = 0;
	for (i = 0; i < r->n_held; i++)
		free(r->held[i].path);
	r->n_held = 0;
	r->w.ks[0] = r->w.cf[0] = '\0';
	r->w.object = 0;
}

/* Both names are known and good: tell the sink, then any held objects. */
static int announce(struct manifest_reader *r)
{
	size_t i;
	int rc;

	manifest_printable(r->w.ks, sizeof(r->w.ks), r->ks);
	manifest_printable(r->w.cf, sizeof(r->w.cf), r->cf);
	r->announced = 1;
	if (r->sink.table != NULL && (rc = r->sink.table(r->sink.arg, r->ks, r->cf)) != 0)
		return fail(r, rc);
	for (i = 0; i < r->n_held; i++) {
		if ((rc = r->sink.object(r->sink.arg, &r->held[i])) != 0)
			return fail(r, rc);
	}
	return 0;
}

/* The names, checked in the order a reader of the whole table would. */
static int names_check(struct manifest_reader *r)
{
	if (r->ks == NULL || r->ks_why != NULL)
		return fail(r, bad(&r->w, "\"keyspace\" must be a non-empty string without NUL"));
	if (r->cf == NULL || r->cf_why != NULL)
		return fail(r, bad(&r->w, "\"columnfamily\" must be a non-empty string without NUL"));
	return 0;
}

static int table_end(struct manifest_reader *r)
{
	int rc;

	if ((rc = names_check(r)) != 0)
		return rc;
	if (!r->announced && (rc = announce(r)) != 0)
		return rc;
	if (!r->has_objects || r->objects_bad)
		return fail(r, bad(&r->w, "\"objects\" must be an array"));
	table_reset(r);
	return 0;
}

/* One element of "objects", n bytes at buf[off]. */
static int object_value(struct manifest_reader *r, size_t n)
{
	struct manifest_object o;
	const char *why;
	json_t *v;
	int rc = 0;

	r->w.object++;
	if ((v = load_value(r, n)) == NULL)
		return r->failed;
	if ((why = manifest_object_from_json(v, &o)) != NULL) {
		rc = fail(r, bad(&r->w, why));
	} else if (r->announced) {
		if ((rc = r->sink.object(r->sink.arg, &o)) != 0)
			fail(r, rc);
	} else {
		/* a table that gives "objects" before its names: hold them */
		void *p = cst_grow(r->held, &r->cap_held, r->n_held, sizeof(*r->held), 8);

		if (p == NULL || (o.path = cst_strdup(o.path)) == NULL) {
			rc = fail(r, CST_ENOMEM);
		} else {
			r->held = p;
			r->held[r->n_held++] = o;
		}
	}
	json_decref(v);
	return rc;
}

/* A name or unknown key's value, n bytes at buf[off]. */
static int member_value(struct manifest_reader *r, size_t n)
{
	const char *s;
	char **dst;
	json_t *v;

	if ((v = load_value(r, n)) == NULL)
		return r->failed;
	if (r->key == K_KEYSPACE || r->key == K_COLUMNFAMILY) {
		dst = r->key == K_KEYSPACE ? &r->ks : &r->cf;
		if ((s = manifest_json_str(v, SIZE_MAX)) == NULL) {
			*(r->key == K_KEYSPACE ? &r->ks_why : &r->cf_why) = "bad";
		} else if ((*dst = cst_strdup(s)) == NULL) {
			json_decref(v);
			return fail(r, CST_ENOMEM);
		}
	} else if (r->key == K_OBJECTS) {
		r->objects_bad = 1;	/* not an array */
	}
	json_decref(v);
	return 0;
}

/* A table key (n bytes at buf[off], a JSON string). */
static int key_value(struct manifest_reader *r, size_t n)
{
	json_t *v;
	int dup, rc;
	const char *k;

	if ((v = load_value(r, n)) == NULL)
		return r->failed;
	k = json_string_value(v);
	if ((rc = key_seen(r, k, &dup)) != 0) {
		json_decref(v);
		return rc;
	}
	if (dup) {
		json_decref(v);
		return json_err(r, r->line, r->column + 1, "duplicate object key");
	}
	r->key = strcmp(k, "keyspace") == 0 ? K_KEYSPACE :
		 strcmp(k, "columnfamily") == 0 ? K_COLUMNFAMILY :
		 strcmp(k, "objects") == 0 ? K_OBJECTS : K_OTHER;
	json_decref(v);
	return 0;
}

/* A table element that is not an object: valid JSON still, then refused. */
static int non_table(struct manifest_reader *r, size_t n)
{
	json_t *v = load_value(r, n);

	if (v == NULL)
		return r->failed;
	json_decref(v);
	return fail(r, bad(&r->w, "must be a JSON object"));
}

static int unexpected(struct manifest_reader *r, const char *what)
{
	return json_err(r, r->line, r->column + 1, what);
}

/* One step on a non-blank byte c at buf[off]: 1 = progress, 0 = need input. */
static int step(struct manifest_reader *r, char c, int eof)
{
	size_t n;
	int rc = 0;

	switch (r->st) {
	case S_TOP:
		if (c == '[') {
			consume(r, 1);
			r->st = S_TABLE_FIRST;
			return 1;
		}
		if (c == '{')
			return fail(r, bad(&r->w, "the top level must be an array of tables"));
		return unexpected(r, "'[' or '{' expected");
	case S_TABLE_FIRST:
	case S_TABLE:
		if (c == ']' && r->st == S_TABLE_FIRST) {
			consume(r, 1);
			r->st = S_DONE;
			return 1;
		}
		r->w.table++;
		if (c == '{') {
			consume(r, 1);
			r->st = S_KEY_FIRST;
			return 1;
		}
		if (!value_extent(r, &n, eof)) {
			r->w.table--;
			return 0;
		}
		return non_table(r, n);
	case S_TABLE_SEP:
	case S_MEMBER_SEP:
	case S_OBJ_SEP:
		if (c == ',') {
			consume(r, 1);
			r->st = r->st == S_TABLE_SEP ? S_TABLE : r->st == S_MEMBER_SEP ? S_KEY : S_OBJ;
			return 1;
		}
		if (c == (r->st == S_MEMBER_SEP ? '}' : ']')) {
			consume(r, 1);
			if (r->st == S_TABLE_SEP)
				r->st = S_DONE;
			else if (r->st == S_OBJ_SEP)
				r->st = S_MEMBER_SEP;
			else if ((rc = table_end(r)) == 0)
				r->st = S_TABLE_SEP;
			return rc == 0;
		}
		return unexpected(r, r->st == S_MEMBER_SEP ? "',' or '}' expected" :
				  "',' or ']' expected");
	case S_KEY_FIRST:
	case S_KEY:
		if (c == '}' && r->st == S_KEY_FIRST) {
			consume(r, 1);
			if ((rc = table_end(r)) == 0)
				r->st = S_TABLE_SEP;
			return rc == 0;
		}
		if (c != '"')
			return unexpected(r, "string or '}' expected");
		if (!value_extent(r, &n, eof))
			return 0;
		if ((rc = key_value(r, n)) != 0)
			return rc;
		consume(r, n);
		r->st = S_COLON;
		return 1;
	case S_COLON:
		if (c != ':')
			return unexpected(r, "':' expected");
		consume(r, 1);
		r->st = S_VALUE;
		return 1;
	case S_VALUE:
		if (r->key == K_OBJECTS && c == '[') {
			consume(r, 1);
			r->has_objects = 1;
			if (!r->announced && r->ks != NULL && r->cf != NULL && r->ks_why == NULL &&
			    r->cf_why == NULL && (rc = announce(r)) != 0)
				return rc;
			r->st = S_OBJ_FIRST;
			return 1;
		}
		if (!value_extent(r, &n, eof))
			return 0;
		if (r->key == K_OBJECTS)
			r->has_objects = 1;
		if ((rc = member_value(r, n)) != 0)
			return rc;
		consume(r, n);
		r->st = S_MEMBER_SEP;
		return 1;
	case S_OBJ_FIRST:
	case S_OBJ:
		if (c == ']' && r->st == S_OBJ_FIRST) {
			consume(r, 1);
			r->st = S_MEMBER_SEP;
			return 1;
		}
		if (!value_extent(r, &n, eof))
			return 0;
		if ((rc = object_value(r, n)) != 0)
			return rc;
		consume(r, n);
		r->st = S_OBJ_SEP;
		return 1;
	case S_DONE:
		return unexpected(r, "end of file expected");
	}
	return unexpected(r, "unexpected state");
}

/* Consume what can be consumed; a value not yet complete waits for more. */
static int run(struct manifest_reader *r, int eof)
{
	int rc;

	while (!r->failed) {
		char c;

		while (r->off < r->len && strchr(" \t\r\n", r->buf[r->off]) != NULL && r->buf[r->off])
			consume(r, 1);
		if (r->off == r->len)
			break;
		c = r->buf[r->off];
		if ((rc = step(r, c, eof)) < 0)
			return rc;
		if (rc == 0) {
			if (r->len - r->off > VALUE_MAX)
				return fail(r, bad(&r->w, "a value larger than 16 MiB"));
			break;
		}
	}
	return r->failed;
}

int manifest_reader_new(struct manifest_reader **out, const char *origin,
			const struct manifest_sink *sink)
{
	struct manifest_reader *r;

	*out = NULL;
	if (sink == NULL || sink->object == NULL)
		return cst_error(CST_EINVALID, "manifest_reader_new: no sink");
	if ((r = cst_calloc(1, sizeof(*r))) == NULL)
		return CST_ENOMEM;
	if ((r->origin = cst_strdup(origin != NULL ? origin : "manifest")) == NULL) {
		free(r);
		return CST_ENOMEM;
	}
	r->sink = *sink;
	r->w.origin = r->origin;
	r->line = 1;
	*out = r;
	return 0;
}

int manifest_reader_feed(struct manifest_reader *r, const void *buf, size_t len)
{
	if (r->failed)
		return r->failed;
	if (r->off > COMPACT_MIN && r->off > r->len / 2) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (len > r->cap - r->len) {
		size_t cap = r->cap ? r->cap : 4096;
		char *p;

		while (cap - r->len < len) {
			if (cap > SIZE_MAX / 2)
				return fail(r, cst_error(CST_ENOMEM, "%s: too large", r->w.origin));
			cap *= 2;
		}
		if ((p = cst_realloc(r->buf, cap)) == NULL)
			return fail(r, CST_ENOMEM);
		r->buf = p;
		r->cap = cap;
	}
	if (len > 0) {
		memcpy(r->buf + r->len, buf, len);
		r->len += len;
	}
	return run(r, 0);
}

int manifest_reader_finish(struct manifest_reader *r)
{
	int rc;

	if ((rc = run(r, 1)) != 0)
		return rc;
	if (r->st == S_DONE)
		return 0;
	return json_err(r, r->line, r->column + 1, r->off < r->len ? "unexpected end of a value" :
			"unexpected end of file");
}

void manifest_reader_free(struct manifest_reader *r)
{
	if (r == NULL)
		return;
	table_reset(r);
	free(r->held);
	free(r->buf);
	free(r->origin);
	free(r);
}
