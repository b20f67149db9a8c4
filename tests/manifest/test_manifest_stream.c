/* manifest: the streaming reader and writer agree with parse and dump. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_manifest.h"
#include "util.h"

struct build {
	struct manifest *m;
	char ks[64], cf[96];
	size_t tables, objects;
};

static int on_table(void *arg, const char *ks, const char *cf)
{
	struct build *b = arg;

	snprintf(b->ks, sizeof(b->ks), "%s", ks);
	snprintf(b->cf, sizeof(b->cf), "%s", cf);
	b->tables++;
	return 0;
}

static int on_object(void *arg, const struct manifest_object *o)
{
	struct build *b = arg;

	b->objects++;
	return manifest_add(b->m, b->ks, b->cf, o);
}

/* Feed `s` in pieces of 1..step bytes; the records equal manifest_parse's. */
static void feed_in_pieces(const char *s, size_t n, size_t step, const struct manifest *want)
{
	struct build b;
	struct manifest_sink sink = { on_table, on_object, &b };
	struct manifest_reader *r = NULL;
	size_t off = 0, k = 0;

	memset(&b, 0, sizeof(b));
	assert_int_equal(manifest_new(&b.m), 0);
	assert_int_equal(manifest_reader_new(&r, TM_ORIGIN, &sink), 0);
	while (off < n) {
		size_t len = 1 + (k++ % step);

		if (len > n - off)
			len = n - off;
		assert_int_equal(manifest_reader_feed(r, s + off, len), 0);
		off += len;
	}
	assert_int_equal(manifest_reader_finish(r), 0);
	tm_assert_equal(want, b.m);
	assert_int_equal(b.tables, manifest_table_count(want));
	assert_int_equal(b.objects, manifest_object_count(want));
	manifest_reader_free(r);
	manifest_free(b.m);
}

void test_reader_pieces(void **state)
{
	struct manifest *m = tm_sample();
	size_t n, step;
	char *s = tm_dump(m, &n);

	(void)state;
	for (step = 1; step <= 64; step *= 2)
		feed_in_pieces(s, n, step, m);
	free(s);
	manifest_free(m);
}

/* Names after "objects", blanks and newlines everywhere: same records. */
void test_reader_key_order(void **state)
{
	const char *doc = "[ {\n \"objects\" : [ {\"path\":\"p\",\"MD5\":\"0123456789abcdef0123456789abcdef\","
			  "\"size\":1} ] ,\n \"x\": {\"y\": [1, \"]\"]}, \"columnfamily\":\"t\", \"keyspace\" : \"k\" } ]\n";
	struct manifest *m = NULL;
	const struct manifest_table *t;

	(void)state;
	assert_int_equal(manifest_parse(&m, doc, strlen(doc), TM_ORIGIN), 0);
	assert_int_equal(manifest_table_count(m), 1);
	t = manifest_table_at(m, 0);
	assert_string_equal(t->keyspace, "k");
	assert_string_equal(t->columnfamily, "t");
	assert_int_equal(t->n_objects, 1);
	assert_string_equal(t->objects[0].path, "p");
	manifest_free(m);
	/* an error on the second line names line 2 */
	tm_assert_rejected("[\n{\"keyspace\" \"k\"}]", 19, "JSON error at line 2");
	tm_assert_rejected("[{\"keyspace\":\"k\",\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":[]}]",
			   66, "duplicate");
}

static int to_buf(void *arg, const char *buf, size_t len)
{
	char **s = arg;
	char *p = cst_sprintf("%s%.*s", *s, (int)len, buf);

	if (p == NULL)
		return CST_ENOMEM;
	free(*s);
	*s = p;
	return 0;
}

/* The writer's bytes are manifest_dump's; going back to a table is refused. */
void test_writer(void **state)
{
	struct manifest *m = tm_sample();
	struct manifest_writer *w = NULL;
	struct manifest_object o;
	size_t n, t, i;
	char *want = tm_dump(m, &n), *got = cst_strdup("");

	(void)state;
	assert_int_equal(manifest_writer_new(&w, to_buf, &got), 0);
	for (t = 0; t < manifest_table_count(m); t++) {
		const struct manifest_table *tab = manifest_table_at(m, t);

		for (i = 0; i < tab->n_objects; i++)
			assert_int_equal(manifest_writer_add(w, tab->keyspace, tab->columnfamily,
							     &tab->objects[i]), 0);
	}
	assert_int_equal(manifest_writer_finish(w), 0);
	assert_string_equal(got, want);
	manifest_writer_free(w);
	free(got);
	got = cst_strdup("");
	assert_int_equal(manifest_writer_new(&w, to_buf, &got), 0);
	tm_object(&o, "a", 1, 1);
	assert_int_equal(manifest_writer_add(w, "k", "t1", &o), 0);
	assert_int_equal(manifest_writer_add(w, "k", "t2", &o), 0);
	assert_int_equal(manifest_writer_add(w, "k", "t1", &o), CST_EINVALID);
	strcpy(o.source_md5, "xyz");
	assert_int_equal(manifest_writer_add(w, "k", "t2", &o), CST_EINVALID);
	/* the same checks and messages as manifest_add's */
	assert_ptr_equal(strstr(cst_error_msg(), "manifest_writer_add k.t2 object 'a': "),
			 cst_error_msg());
	assert_non_null(strstr(cst_error_msg(), "\"source_MD5\" must be 32 hex digits"));
	tm_object(&o, "a", 1, 1);
	assert_int_equal(manifest_writer_add(w, "", "t2", &o), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), ": \"keyspace\" "));
	manifest_writer_free(w);
	free(got);
	free(want);
	manifest_free(m);
	assert_int_equal(manifest_writer_new(&w, to_buf, NULL), 0);
	manifest_writer_free(w);
	manifest_writer_free(NULL);
	manifest_reader_free(NULL);
}

/* Packing loses nothing: every sample object, salted or not, multipart or not. */
void test_rec_pack(void **state)
{
	struct manifest *m = tm_sample();
	struct manifest_object back, o;
	struct manifest_rec rec;
	size_t t, i, n = 0;

	(void)state;
	for (t = 0; t < manifest_table_count(m); t++) {
		const struct manifest_table *tab = manifest_table_at(m, t);

		for (i = 0; i < tab->n_objects; i++, n++) {
			assert_int_equal(manifest_rec_pack(&rec, &tab->objects[i]), 0);
			assert_ptr_equal(rec.path, tab->objects[i].path);
			manifest_rec_unpack(&back, &rec);
			assert_memory_equal(&back, &tab->objects[i], sizeof(back));
		}
	}
	assert_true(n >= 6);
	tm_object(&o, "p", 3, 1);
	strcpy(o.md5, "0123456789ABCDEF0123456789ABCDEF-00012");	/* kept as written, lowercased */
	assert_int_equal(manifest_rec_pack(&rec, &o), 0);
	manifest_rec_unpack(&back, &rec);
	assert_string_equal(back.md5, "0123456789abcdef0123456789abcdef-00012");
	/* an encrypted object on a store that keeps no ETag: "MD5" is "" */
	tm_object(&o, "q", 4, 1);
	memset(o.md5, 0, sizeof(o.md5));
	assert_int_equal(manifest_rec_pack(&rec, &o), 0);
	assert_true(rec.no_md5);
	manifest_rec_unpack(&back, &rec);
	assert_memory_equal(&back, &o, sizeof(back));
	/* but never for a plaintext object */
	tm_object(&o, "r", 5, 0);
	memset(o.md5, 0, sizeof(o.md5));
	assert_int_equal(manifest_rec_pack(&rec, &o), CST_EINVALID);
	tm_object(&o, "p", 3, 1);
	strcpy(o.salt, "xyz");
	assert_int_equal(manifest_rec_pack(&rec, &o), CST_EINVALID);
	manifest_free(m);
}
