/*
 * manifest.json (manifest/manifest_read.c, manifest_parse.c): the input is a
 * document as it comes back from storage.
 *
 * - manifest_parse() on the whole input;
 * - the streaming reader on the same bytes in pieces (sizes from a hash of
 *   the input) must agree with it: the same code and message, the same
 *   records;
 * - an accepted manifest dumps, and its dump parses back to the same dump;
 * - the streaming writer, given its records, writes the same bytes as the
 *   dump (when every table has objects: the writer has no empty table).
 */
#include "fuzz.h"
#include "manifest.h"

struct collect {
	struct manifest *m;
	char *ks_copy, *cf_copy;
};

static int on_table(void *arg, const char *keyspace, const char *columnfamily)
{
	struct collect *c = arg;
	int rc;

	free(c->ks_copy);
	free(c->cf_copy);
	c->ks_copy = strdup(keyspace);
	c->cf_copy = strdup(columnfamily);
	FUZZ_CHECK(c->ks_copy != NULL && c->cf_copy != NULL);
	/* a table may be listed without objects */
	rc = manifest_add_table(c->m, keyspace, columnfamily);
	FUZZ_CHECK(rc == 0);	/* the reader checked the names */
	return 0;
}

static int on_object(void *arg, const struct manifest_object *obj)
{
	struct collect *c = arg;
	int rc;

	FUZZ_CHECK(c->ks_copy != NULL);	/* objects come after their table */
	rc = manifest_add(c->m, c->ks_copy, c->cf_copy, obj);
	FUZZ_CHECK(rc == 0);	/* the reader checked the object */
	return 0;
}

struct out {
	char *p;
	size_t len;
};

static int out_append(void *arg, const char *buf, size_t len)
{
	struct out *o = arg;

	o->p = realloc(o->p, o->len + len);
	FUZZ_CHECK(o->p != NULL);
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

/* The writer on m's records; checked against manifest_dump()'s `d`. */
static void writer_same(const struct manifest *m, const char *d, size_t len)
{
	struct manifest_writer *w = NULL;
	struct out o = { NULL, 0 };
	const struct manifest_table *t;
	size_t i, j;

	for (i = 0; i < manifest_table_count(m); i++)
		if (manifest_table_at(m, i)->n_objects == 0)
			return;
	FUZZ_CHECK(manifest_writer_new(&w, out_append, &o) == 0);
	for (i = 0; i < manifest_table_count(m); i++) {
		t = manifest_table_at(m, i);
		for (j = 0; j < t->n_objects; j++)
			FUZZ_CHECK(manifest_writer_add(w, t->keyspace, t->columnfamily,
						       &t->objects[j]) == 0);
	}
	FUZZ_CHECK(manifest_writer_finish(w) == 0);
	FUZZ_CHECK(o.len == len && memcmp(o.p, d, len) == 0);
	manifest_writer_free(w);
	free(o.p);
}

static char *dump(const struct manifest *m, size_t *len)
{
	char *out = NULL;
	int rc = manifest_dump(m, &out, len);

	FUZZ_CHECK(rc == 0 && out != NULL);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_sink sink = { on_table, on_object, NULL };
	struct collect c = { NULL, NULL, NULL };
	struct manifest_reader *r = NULL;
	struct manifest *m = NULL, *again = NULL;
	struct fuzz_pieces pieces;
	char msg[1024], *d1, *d2, *d3;
	size_t off, n, l1, l2, l3;
	int rc, rc2;

	cst_error_clear();
	rc = manifest_parse(&m, (const char *)data, size, "fuzz");
	fuzz_verdict("manifest_parse", rc);
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (m != NULL));
	snprintf(msg, sizeof(msg), "%s", cst_error_msg());

	/* the streaming reader, fed in pieces */
	FUZZ_CHECK(manifest_new(&c.m) == 0);
	sink.arg = &c;
	FUZZ_CHECK(manifest_reader_new(&r, "fuzz", &sink) == 0);
	fuzz_pieces_init(&pieces, fuzz_hash(data, size));
	cst_error_clear();
	for (off = 0, rc2 = 0; off < size && rc2 == 0; off += n) {
		n = fuzz_pieces_next(&pieces, size - off);
		rc2 = manifest_reader_feed(r, data + off, n);
	}
	if (rc2 == 0)
		rc2 = manifest_reader_finish(r);
	fuzz_check_rc(rc2);
	if (rc2 != rc || (rc != 0 && strcmp(msg, cst_error_msg()) != 0)) {
		fprintf(stderr, "whole: %d %s\npieces: %d %s\n", rc, msg, rc2, cst_error_msg());
		FUZZ_CHECK(!"the streaming reader disagrees with manifest_parse");
	}
	manifest_reader_free(r);

	if (rc == 0) {
		d1 = dump(m, &l1);
		d2 = dump(c.m, &l2);
		FUZZ_CHECK(l1 == l2 && memcmp(d1, d2, l1) == 0);
		FUZZ_CHECK(manifest_object_count(m) == manifest_object_count(c.m));
		/* what we write, we read back the same */
		cst_error_clear();
		rc = manifest_parse(&again, d1, l1, "dump");
		if (rc != 0)
			fprintf(stderr, "the dump does not parse: %s\n", cst_error_msg());
		FUZZ_CHECK(rc == 0);
		d3 = dump(again, &l3);
		FUZZ_CHECK(l1 == l3 && memcmp(d1, d3, l1) == 0);
		writer_same(m, d1, l1);
		free(d1);
		free(d2);
		free(d3);
	}
	manifest_free(again);
	manifest_free(m);
	manifest_free(c.m);
	free(c.ks_copy);
	free(c.cf_copy);
	return 0;
}
