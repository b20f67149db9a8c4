/* manifest: records <-> manifest.json, the shape and the round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "test_manifest.h"
#include "util.h"

#define HEX_A "0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210"
#define SALT_C "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
#define CF_1 "tbl-00112233445566778899aabbccddeeff"

void tm_object(struct manifest_object *o, const char *path, unsigned seed, int salted)
{
	unsigned char bytes[32];
	size_t i;

	memset(o, 0, sizeof(*o));
	o->path = (char *)path;
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(seed * 131u + i * 7u + 1u);
	cst_hex(o->md5, bytes, 16);
	cst_hex(o->source_md5, bytes + 16, 16);
	o->size = (uint64_t)seed * 1000u + 17u;
	o->source_size = (uint64_t)seed * 999u + 5u;
	if (salted) {
		cst_hex(o->salt, bytes, 32);
		cst_hex(o->key_id, bytes + 8, 8);
	}
}

struct manifest *tm_sample(void)
{
	struct manifest_object o;
	struct manifest *m = NULL;

	assert_int_equal(manifest_new(&m), 0);
	tm_object(&o, "n1/data/ks1/t1-" HEX_A "/nb-1-big-Data.db", 1, 1);
	assert_int_equal(manifest_add(m, "ks1", "t1-" HEX_A, &o), 0);
	tm_object(&o, "n1/data/ks1/t2-" HEX_B "/nb-1-big-Index.db", 2, 0);
	assert_int_equal(manifest_add(m, "ks1", "t2-" HEX_B, &o), 0);
	tm_object(&o, "n1/data/ks1/t1-" HEX_A "/nb-2-big-Data.db", 3, 1);
	strcpy(o.md5, HEX_A "-17");
	assert_int_equal(manifest_add(m, "ks1", "t1-" HEX_A, &o), 0);
	tm_object(&o, "n1/data/system/local-" HEX_B "/nb-3-big-Data.db", 4, 1);
	assert_int_equal(manifest_add(m, "system", "local-" HEX_B, &o), 0);
	tm_object(&o, "n1/data/ks1/t2-" HEX_B "/nb-\"q\"-é\n.db", 5, 0);
	assert_int_equal(manifest_add(m, "ks1", "t2-" HEX_B, &o), 0);
	tm_object(&o, "n1/data/system/local-" HEX_B "/nb-4-big-TOC.txt", 6, 1);
	o.size = 0;
	o.source_size = 0;
	assert_int_equal(manifest_add(m, "system", "local-" HEX_B, &o), 0);
	return m;
}

char *tm_dump(const struct manifest *m, size_t *len)
{
	char *s = NULL;

	assert_int_equal(manifest_dump(m, &s, len), 0);
	assert_non_null(s);
	assert_int_equal(strlen(s), *len);
	return s;
}

void tm_assert_equal(const struct manifest *a, const struct manifest *b)
{
	const struct manifest_table *ta, *tb;
	const struct manifest_object *oa, *ob;
	size_t i, j;

	assert_int_equal(manifest_table_count(a), manifest_table_count(b));
	assert_int_equal(manifest_object_count(a), manifest_object_count(b));
	assert_int_equal(manifest_source_bytes(a), manifest_source_bytes(b));
	for (i = 0; i < manifest_table_count(a); i++) {
		ta = manifest_table_at(a, i);
		tb = manifest_table_at(b, i);
		assert_string_equal(ta->keyspace, tb->keyspace);
		assert_string_equal(ta->columnfamily, tb->columnfamily);
		assert_int_equal(ta->n_objects, tb->n_objects);
		for (j = 0; j < ta->n_objects; j++) {
			oa = &ta->objects[j];
			ob = &tb->objects[j];
			assert_string_equal(oa->path, ob->path);
			assert_string_equal(oa->md5, ob->md5);
			assert_int_equal(oa->size, ob->size);
			assert_string_equal(oa->source_md5, ob->source_md5);
			assert_int_equal(oa->source_size, ob->source_size);
			assert_string_equal(oa->salt, ob->salt);
			assert_string_equal(oa->key_id, ob->key_id);
		}
	}
}

void tm_assert_rejected(const char *json, size_t len, const char *where)
{
	struct manifest *m = (struct manifest *)&m;	/* must be reset to NULL */
	const char *msg;

	cst_error_clear();
	assert_int_equal(manifest_parse(&m, json, len, TM_ORIGIN), CST_EINVALID);
	assert_null(m);
	msg = cst_error_msg();
	if (strstr(msg, TM_ORIGIN ": ") != msg || strchr(msg, '\n') != NULL ||
	    (where != NULL && strstr(msg, where) == NULL))
		fail_msg("bad message for %.80s: \"%s\" (wanted \"%s\")", json, msg,
			 where ? where : "");
}

static void test_roundtrip(void **state)
{
	struct manifest *m = tm_sample(), *p = NULL, *q = NULL;
	char *s1, *s2, *s3, *jd;
	size_t n1, n2, n3;
	json_t *root;

	(void)state;
	s1 = tm_dump(m, &n1);
	assert_int_equal(manifest_parse(&p, s1, n1, TM_ORIGIN), 0);
	tm_assert_equal(m, p);
	/* the sample has three tables in first-seen order */
	assert_int_equal(manifest_table_count(p), 3);
	assert_string_equal(manifest_table_at(p, 0)->columnfamily, "t1-" HEX_A);
	assert_string_equal(manifest_table_at(p, 1)->columnfamily, "t2-" HEX_B);
	assert_string_equal(manifest_table_at(p, 2)->keyspace, "system");
	assert_string_equal(manifest_table_at(p, 1)->objects[1].path,
			    "n1/data/ks1/t2-" HEX_B "/nb-\"q\"-é\n.db");
	assert_string_equal(manifest_table_at(p, 0)->objects[1].md5, HEX_A "-17");
	s2 = tm_dump(p, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(s1, s2, n1);
	/* byte-for-byte what jansson itself writes for the same tree */
	root = json_loadb(s1, n1, 0, NULL);
	assert_non_null(root);
	jd = json_dumps(root, JSON_COMPACT);
	assert_non_null(jd);
	assert_string_equal(jd, s1);
	/* a parsed manifest can be extended and still round-trips */
	{
		struct manifest_object o;

		tm_object(&o, "late", 9, 0);
		assert_int_equal(manifest_add(p, "ks1", "t2-" HEX_B, &o), 0);
		s3 = tm_dump(p, &n3);
		assert_int_equal(manifest_parse(&q, s3, n3, TM_ORIGIN), 0);
		tm_assert_equal(p, q);
		assert_int_equal(manifest_table_at(q, 1)->n_objects, 3);
		free(s3);
	}
	free(jd);
	json_decref(root);
	free(s1);
	free(s2);
	manifest_free(m);
	manifest_free(p);
	manifest_free(q);
}

static void test_exact_json(void **state)
{
	const char *want =
		"[{\"keyspace\":\"ks1\",\"columnfamily\":\"" CF_1 "\",\"objects\":["
		"{\"path\":\"a/\\\"b\\\"\\n\\u0001é\",\"MD5\":\"" HEX_A "\",\"size\":10,"
		"\"source_MD5\":\"" HEX_B "\",\"source_size\":7,\"salt\":\"" SALT_C "\","
		"\"key_id\":\"0011223344556677\"},"
		"{\"path\":\"c\",\"MD5\":\"" HEX_B "-2\",\"size\":9223372036854775807,"
		"\"source_MD5\":\"" HEX_A "\",\"source_size\":0}]},"
		"{\"keyspace\":\"ks2\",\"columnfamily\":\"t\",\"objects\":["
		"{\"path\":\"d\",\"MD5\":\"" HEX_A "\",\"size\":0,"
		"\"source_MD5\":\"" HEX_A "\",\"source_size\":0}]}]";
	struct manifest_object o;
	struct manifest *m = NULL;
	char *s;
	size_t n;

	(void)state;
	assert_int_equal(manifest_new(&m), 0);
	s = tm_dump(m, &n);
	assert_string_equal(s, "[]");
	free(s);

	memset(&o, 0, sizeof(o));
	o.path = "a/\"b\"\n\001é";
	strcpy(o.md5, HEX_A);
	o.size = 10;
	strcpy(o.source_md5, HEX_B);
	o.source_size = 7;
	strcpy(o.salt, SALT_C);
	strcpy(o.key_id, "0011223344556677");
	assert_int_equal(manifest_add(m, "ks1", CF_1, &o), 0);
	memset(&o, 0, sizeof(o));
	o.path = "d";
	strcpy(o.md5, HEX_A);
	strcpy(o.source_md5, HEX_A);
	assert_int_equal(manifest_add(m, "ks2", "t", &o), 0);
	o.path = "c";
	strcpy(o.md5, HEX_B "-2");
	o.size = INT64_MAX;
	assert_int_equal(manifest_add(m, "ks1", CF_1, &o), 0);
	s = tm_dump(m, &n);
	assert_string_equal(s, want);
	assert_int_equal(n, strlen(want));
	free(s);
	manifest_free(m);
}

/* MD5 "" (an encrypted object in a store that keeps no ETag) is written and
 * read back, and refused for a plaintext object, whose MD5 is always known;
 * an old manifest's 32-hex MD5 of an encrypted object still loads. */
static void test_empty_md5(void **state)
{
	static const char plain[] = "[{\"keyspace\":\"ks\",\"columnfamily\":\"t\",\"objects\":"
		"[{\"path\":\"p\",\"MD5\":\"\",\"size\":1,\"source_MD5\":"
		"\"0123456789abcdef0123456789abcdef\",\"source_size\":1}]}]";
	struct manifest_object o;
	struct manifest *m = NULL, *p = NULL;
	char *s;
	size_t n;

	(void)state;
	assert_int_equal(manifest_new(&m), 0);
	tm_object(&o, "sealed", 2, 1);
	assert_int_equal(manifest_add(m, "ks", "t", &o), 0);	/* old: 32 hex */
	o.md5[0] = '\0';
	assert_int_equal(manifest_add(m, "ks", "t", &o), 0);
	s = tm_dump(m, &n);
	assert_non_null(strstr(s, "\"MD5\":\"\""));
	assert_int_equal(manifest_parse(&p, s, n, TM_ORIGIN), 0);
	assert_int_equal(strlen(manifest_table_at(p, 0)->objects[0].md5), 32);
	assert_string_equal(manifest_table_at(p, 0)->objects[1].md5, "");
	tm_object(&o, "plain", 1, 0);
	o.md5[0] = '\0';
	assert_int_equal(manifest_add(m, "ks", "t", &o), CST_EINVALID);
	manifest_free(p);
	p = NULL;
	assert_int_equal(manifest_parse(&p, plain, sizeof(plain) - 1, TM_ORIGIN), CST_EINVALID);
	assert_null(p);
	free(s);
	manifest_free(m);
}

static void test_salt_omitted(void **state)
{
	struct manifest_object o;
	struct manifest *m = NULL, *p = NULL;
	json_t *root, *objs;
	char *s;
	size_t n;

	(void)state;
	assert_int_equal(manifest_new(&m), 0);
	tm_object(&o, "plain", 1, 0);
	assert_int_equal(manifest_add(m, "ks", "t", &o), 0);
	tm_object(&o, "sealed", 2, 1);
	assert_int_equal(manifest_add(m, "ks", "t", &o), 0);
	s = tm_dump(m, &n);
	root = json_loadb(s, n, 0, NULL);
	assert_non_null(root);
	objs = json_object_get(json_array_get(root, 0), "objects");
	assert_int_equal(json_array_size(objs), 2);
	assert_null(json_object_get(json_array_get(objs, 0), "salt"));
	assert_int_equal(json_object_size(json_array_get(objs, 0)), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 1), "salt")),
			    o.salt);
	assert_int_equal(manifest_parse(&p, s, n, TM_ORIGIN), 0);
	assert_string_equal(manifest_table_at(p, 0)->objects[0].salt, "");
	assert_string_equal(manifest_table_at(p, 0)->objects[1].salt, o.salt);
	json_decref(root);
	free(s);
	manifest_free(m);
	manifest_free(p);
}

/* Shaped like Medusa 0.x output for a two-table node backup. */
static const char medusa_doc[] =
	"[\n"
	"  {\"keyspace\": \"system_schema\", \"columnfamily\": \"tables-afddfb9dbc1e30688056eed6c302ba09\",\n"
	"   \"objects\": [\n"
	"     {\"path\": \"cassandra-1/data/system_schema/tables-afddfb9dbc1e30688056eed6c302ba09/nb-5-big-Data.db\",\n"
	"      \"MD5\": \"9A2B0C4D6E8F10213243546576879808\", \"size\": 6144},\n"
	"     {\"path\": \"cassandra-1/data/system_schema/tables-afddfb9dbc1e30688056eed6c302ba09/nb-5-big-TOC.txt\",\n"
	"      \"MD5\": \"d41d8cd98f00b204e9800998ecf8427e\", \"size\": 0}]},\n"
	"  {\"keyspace\": \"shop\", \"columnfamily\": \"orders-5f2d8c10a1b111eeb9620242ac120002\",\n"
	"   \"objects\": [\n"
	"     {\"path\": \"cassandra-1/data/shop/orders-5f2d8c10a1b111eeb9620242ac120002/nb-12-big-Data.db\",\n"
	"      \"MD5\": \"0cc175b9c0f1b6a831c399e269772661\", \"size\": 104857600, \"storage_class\": \"STANDARD\"}]}\n"
	"]\n";

static void test_medusa_fallback(void **state)
{
	const struct manifest_object *o;
	struct manifest *m = NULL;

	(void)state;
	assert_int_equal(manifest_parse(&m, medusa_doc, strlen(medusa_doc), TM_ORIGIN), 0);
	assert_int_equal(manifest_table_count(m), 2);
	assert_int_equal(manifest_object_count(m), 3);
	assert_int_equal(manifest_source_bytes(m), 6144 + 0 + 104857600);
	o = &manifest_table_at(m, 0)->objects[0];
	assert_string_equal(o->md5, "9a2b0c4d6e8f10213243546576879808");
	assert_string_equal(o->source_md5, "9a2b0c4d6e8f10213243546576879808");
	assert_int_equal(o->size, 6144);
	assert_int_equal(o->source_size, 6144);
	assert_string_equal(o->salt, "");
	o = &manifest_table_at(m, 1)->objects[0];
	assert_string_equal(manifest_table_at(m, 1)->keyspace, "shop");
	assert_string_equal(o->path,
			    "cassandra-1/data/shop/orders-5f2d8c10a1b111eeb9620242ac120002/nb-12-big-Data.db");
	assert_string_equal(o->source_md5, "0cc175b9c0f1b6a831c399e269772661");
	assert_int_equal(o->source_size, 104857600);
	manifest_free(m);
}

static void test_multipart_etag(void **state)
{
	const char *doc = "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"p\",\"MD5\":\"" HEX_A "-12345\",\"size\":5,"
			  "\"source_MD5\":\"" HEX_B "\",\"source_size\":4}]}]";
	struct manifest_object o;
	struct manifest *m = NULL;

	(void)state;
	assert_int_equal(manifest_parse(&m, doc, strlen(doc), TM_ORIGIN), 0);
	assert_string_equal(manifest_table_at(m, 0)->objects[0].md5, HEX_A "-12345");
	assert_string_equal(manifest_table_at(m, 0)->objects[0].source_md5, HEX_B);
	tm_object(&o, "q", 1, 0);
	strcpy(o.md5, HEX_B "-1");
	assert_int_equal(manifest_add(m, "k", "t", &o), 0);
	strcpy(o.md5, HEX_B "-123456");
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	strcpy(o.md5, HEX_B "-");
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	strcpy(o.md5, HEX_B "-1a");
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	strcpy(o.md5, HEX_B "-0");	/* parts >= 1 */
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	strcpy(o.md5, HEX_B "-000");
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	strcpy(o.md5, HEX_B "+3");
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	assert_int_equal(manifest_object_count(m), 2);
	manifest_free(m);
}

/* Medusa's multipart upload: the ETag is its only checksum (no source_*, or
 * both null). Accepted with no_source, written back as it came. */
static void test_etag_without_source(void **state)
{
	const char *doc = "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"p\",\"MD5\":\"" HEX_A "-3\",\"size\":17825797},"
			  "{\"path\":\"q\",\"MD5\":\"" HEX_B "-1\",\"size\":0,"
			  "\"source_MD5\":null,\"source_size\":null}]}]";
	const char *want = "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":["
			   "{\"path\":\"p\",\"MD5\":\"" HEX_A "-3\",\"size\":17825797},"
			   "{\"path\":\"q\",\"MD5\":\"" HEX_B "-1\",\"size\":0}]}]";
	const struct manifest_object *p;
	struct manifest_object o, back;
	struct manifest_rec rec;
	struct manifest *m = NULL, *m2 = NULL;
	char *out = NULL;

	(void)state;
	assert_int_equal(manifest_parse(&m, doc, strlen(doc), TM_ORIGIN), 0);
	p = &manifest_table_at(m, 0)->objects[0];
	assert_int_equal(p->no_source, 1);
	assert_string_equal(p->md5, HEX_A "-3");
	assert_string_equal(p->source_md5, "");
	assert_int_equal(p->source_size, 17825797);
	assert_int_equal(manifest_table_at(m, 0)->objects[1].no_source, 1);
	assert_int_equal(manifest_source_bytes(m), 17825797);
	/* written back unchanged: no source_MD5 invented */
	assert_int_equal(manifest_dump(m, &out, NULL), 0);
	assert_string_equal(out, want);
	assert_int_equal(manifest_parse(&m2, out, strlen(out), TM_ORIGIN), 0);
	assert_int_equal(manifest_table_at(m2, 0)->objects[0].no_source, 1);
	/* and through the packed record */
	assert_int_equal(manifest_rec_pack(&rec, p), 0);
	assert_int_equal(rec.no_source, 1);
	assert_string_equal(rec.etag_tail, "-3");
	manifest_rec_unpack(&back, &rec);
	assert_int_equal(back.no_source, 1);
	assert_string_equal(back.md5, HEX_A "-3");
	assert_string_equal(back.source_md5, "");
	/* a plain MD5 without source_* still stands for the plaintext */
	tm_object(&o, "r", 1, 0);
	o.source_md5[0] = '\0';
	o.source_size = o.size;
	o.no_source = 1;
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);	/* MD5 is a plain MD5 */
	strcpy(o.md5, HEX_B "-2");
	assert_int_equal(manifest_add(m, "k", "t", &o), 0);
	o.source_size = o.size + 1;
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);	/* source_size is size */
	o.source_size = o.size;
	strcpy(o.source_md5, HEX_A);
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);	/* no source MD5 */
	o.source_md5[0] = '\0';
	o.no_source = 2;
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);
	tm_object(&o, "s", 2, 1);	/* salted */
	strcpy(o.md5, HEX_B "-2");
	o.source_md5[0] = '\0';
	o.source_size = o.size;
	o.no_source = 1;
	assert_int_equal(manifest_add(m, "k", "t", &o), CST_EINVALID);	/* encrypted */
	assert_int_equal(manifest_object_count(m), 3);
	free(out);
	manifest_free(m2);
	manifest_free(m);
}

static void test_uppercase_normalised(void **state)
{
	const char *doc = "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"P\",\"MD5\":\"0123456789ABCDEF0123456789ABCDEF-3\",\"size\":5,"
			  "\"source_MD5\":\"FEDCBA9876543210FEDCBA9876543210\",\"source_size\":4,"
			  "\"salt\":\"C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00\","
			  "\"key_id\":\"ABCDEF0123456789\"}]}]";
	const struct manifest_object *p;
	struct manifest_object o;
	struct manifest *m = NULL;

	(void)state;
	assert_int_equal(manifest_parse(&m, doc, strlen(doc), TM_ORIGIN), 0);
	p = &manifest_table_at(m, 0)->objects[0];
	assert_string_equal(p->path, "P");	/* paths are not hex: left alone */
	assert_string_equal(p->md5, HEX_A "-3");
	assert_string_equal(p->source_md5, HEX_B);
	assert_string_equal(p->salt, SALT_C);
	assert_string_equal(p->key_id, "abcdef0123456789");
	tm_object(&o, "Q", 1, 0);
	strcpy(o.key_id, "ABCDEF0123456789");
	strcpy(o.md5, "ABCDEF0123456789ABCDEF0123456789");
	strcpy(o.salt, "C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00");
	assert_int_equal(manifest_add(m, "k", "t", &o), 0);
	p = &manifest_table_at(m, 0)->objects[1];
	assert_string_equal(p->md5, "abcdef0123456789abcdef0123456789");
	assert_string_equal(p->salt, SALT_C);
	/* the caller's copy is not touched */
	assert_string_equal(o.md5, "ABCDEF0123456789ABCDEF0123456789");
	manifest_free(m);
}

static void add_rejected(struct manifest *m, const char *ks, const char *cf,
			 const struct manifest_object *o, const char *field)
{
	cst_error_clear();
	assert_int_equal(manifest_add(m, ks, cf, o), CST_EINVALID);
	if (strstr(cst_error_msg(), field) == NULL)
		fail_msg("message \"%s\" does not name %s", cst_error_msg(), field);
}

static void test_add_invalid(void **state)
{
	struct manifest_object o, good;
	struct manifest *m = NULL;

	(void)state;
	assert_int_equal(manifest_new(&m), 0);
	tm_object(&good, "ok", 1, 1);
	o = good;
	o.path = "";
	add_rejected(m, "ks", "t", &o, "\"path\"");
	o.path = NULL;
	add_rejected(m, "ks", "t", &o, "\"path\"");
	o.path = "bad\xc3";
	add_rejected(m, "ks", "t", &o, "UTF-8");
	o = good;
	o.md5[5] = 'g';
	add_rejected(m, "ks", "t", &o, "\"MD5\"");
	o = good;
	o.md5[31] = '\0';
	add_rejected(m, "ks", "t", &o, "\"MD5\"");
	o = good;
	memset(o.md5, 'a', sizeof(o.md5));	/* no terminator at all */
	add_rejected(m, "ks", "t", &o, "\"MD5\"");
	o = good;
	o.source_md5[0] = 'Z';
	add_rejected(m, "ks", "t", &o, "\"source_MD5\"");
	o = good;
	o.source_md5[0] = '\0';
	add_rejected(m, "ks", "t", &o, "\"source_MD5\"");
	o = good;
	o.salt[63] = '\0';
	add_rejected(m, "ks", "t", &o, "\"salt\"");
	o = good;
	o.salt[10] = 'x';
	add_rejected(m, "ks", "t", &o, "\"salt\"");
	o = good;
	o.key_id[15] = '\0';
	add_rejected(m, "ks", "t", &o, "\"key_id\"");
	o = good;
	o.key_id[0] = '\0';
	add_rejected(m, "ks", "t", &o, "given together");
	o = good;
	o.salt[0] = '\0';
	add_rejected(m, "ks", "t", &o, "given together");
	o = good;
	o.size = (uint64_t)INT64_MAX + 1;
	add_rejected(m, "ks", "t", &o, "\"size\"");
	o = good;
	o.source_size = UINT64_MAX;
	add_rejected(m, "ks", "t", &o, "\"source_size\"");
	add_rejected(m, "", "t", &good, "\"keyspace\"");
	add_rejected(m, NULL, "t", &good, "\"keyspace\"");
	add_rejected(m, "ks", "", &good, "\"columnfamily\"");
	add_rejected(m, "ks", "\xff", &good, "\"columnfamily\"");
	add_rejected(m, "ks", "t", NULL, "manifest_add");
	assert_int_equal(manifest_add(NULL, "ks", "t", &good), CST_EINVALID);
	/* nothing half-added */
	assert_int_equal(manifest_table_count(m), 0);
	assert_int_equal(manifest_object_count(m), 0);
	/* and the strings are copies */
	{
		char path[] = "mutable", ks[] = "ks", cf[] = "t";

		o = good;
		o.path = path;
		assert_int_equal(manifest_add(m, ks, cf, &o), 0);
		path[0] = ks[0] = cf[0] = 'X';
		assert_string_equal(manifest_table_at(m, 0)->objects[0].path, "mutable");
		assert_string_equal(manifest_table_at(m, 0)->keyspace, "ks");
		assert_string_equal(manifest_table_at(m, 0)->columnfamily, "t");
	}
	manifest_free(m);
}

static void test_duplicate_tables_merged(void **state)
{
	const char *doc = "[{\"keyspace\":\"a\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"1\",\"MD5\":\"" HEX_A "\",\"size\":1}]},"
			  "{\"keyspace\":\"b\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"2\",\"MD5\":\"" HEX_A "\",\"size\":2}]},"
			  "{\"keyspace\":\"a\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"3\",\"MD5\":\"" HEX_A "\",\"size\":3}]},"
			  "{\"keyspace\":\"a\",\"columnfamily\":\"u\",\"objects\":[]}]";
	const struct manifest_table *t;
	struct manifest *m = NULL;

	(void)state;
	assert_int_equal(manifest_parse(&m, doc, strlen(doc), TM_ORIGIN), 0);
	assert_int_equal(manifest_table_count(m), 3);
	t = manifest_table_at(m, 0);
	assert_string_equal(t->keyspace, "a");
	assert_int_equal(t->n_objects, 2);
	assert_string_equal(t->objects[0].path, "1");
	assert_string_equal(t->objects[1].path, "3");
	assert_string_equal(manifest_table_at(m, 1)->keyspace, "b");
	t = manifest_table_at(m, 2);
	assert_string_equal(t->columnfamily, "u");
	assert_int_equal(t->n_objects, 0);
	assert_null(manifest_table_at(m, 3));
	manifest_free(m);
}

static void test_duplicate_keys(void **state)
{
	const char *doc = "[{\"keyspace\":\"a\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"1\",\"path\":\"../../etc/passwd\",\"MD5\":\"" HEX_A
			  "\",\"size\":1}]}]";

	(void)state;
	tm_assert_rejected(doc, strlen(doc), "duplicate");
}

static void test_counts(void **state)
{
	struct manifest *m = tm_sample(), *e = NULL;
	uint64_t want = 0;
	size_t i, j, n = 0;

	(void)state;
	for (i = 0; i < manifest_table_count(m); i++) {
		for (j = 0; j < manifest_table_at(m, i)->n_objects; j++, n++)
			want += manifest_table_at(m, i)->objects[j].source_size;
	}
	assert_int_equal(n, 6);
	assert_int_equal(manifest_object_count(m), 6);
	/* seeds 1..5 give 999 * seed + 5, seed 6 was zeroed */
	assert_int_equal(want, 999u * 15u + 25u);
	assert_int_equal(manifest_source_bytes(m), want);
	assert_int_equal(manifest_new(&e), 0);
	assert_int_equal(manifest_table_count(e), 0);
	assert_int_equal(manifest_object_count(e), 0);
	assert_int_equal(manifest_source_bytes(e), 0);
	assert_null(manifest_table_at(e, 0));
	manifest_free(e);
	manifest_free(m);
	manifest_free(NULL);
	assert_int_equal(manifest_new(NULL), CST_EINVALID);
}

#define T(name) cmocka_unit_test(test_##name)
/* Medusa's encrypting writer: a base64 source_MD5 marks a Fernet object;
 * its plaintext objects carry source_MD5/source_size null. */
static void test_medusa_fernet(void **state)
{
	const char *doc = "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":["
			  "{\"path\":\"n/data/k/t/a\",\"MD5\":\"" HEX_A "\",\"size\":156,"
			  "\"source_MD5\":\"XUFAKrxLKna5cZ2REBfFkg==\",\"source_size\":5},"
			  "{\"path\":\"n/data/k/t/b\",\"MD5\":\"" HEX_B "\",\"size\":7,"
			  "\"source_MD5\":null,\"source_size\":null}]}]";
	const char *bad[] = {
		/* one null, one given */
		"{\"path\":\"p\",\"MD5\":\"" HEX_A "\",\"size\":1,\"source_MD5\":null,\"source_size\":1}",
		/* not canonical (unused bits set), not base64, no padding */
		"{\"path\":\"p\",\"MD5\":\"" HEX_A "\",\"size\":1,\"source_MD5\":\"XUFAKrxLKna5cZ2REBfFkh==\",\"source_size\":1}",
		"{\"path\":\"p\",\"MD5\":\"" HEX_A "\",\"size\":1,\"source_MD5\":\"XUFAKrxLKna5cZ2REBfF*g==\",\"source_size\":1}",
		"{\"path\":\"p\",\"MD5\":\"" HEX_A "\",\"size\":1,\"source_MD5\":\"XUFAKrxLKna5cZ2REBfFkgAA\",\"source_size\":1}",
		/* Medusa-encrypted and cassette-encrypted at once */
		"{\"path\":\"p\",\"MD5\":\"" HEX_A "\",\"size\":1,\"source_MD5\":\"XUFAKrxLKna5cZ2REBfFkg==\",\"source_size\":1,"
		"\"salt\":\"" HEX_A HEX_A "\",\"key_id\":\"0123456789abcdef\"}",
	};
	const struct manifest_object *o;
	struct manifest_object back;
	struct manifest_rec rec;
	struct manifest *m = NULL;
	char *out = NULL, *doc2;
	size_t i;

	(void)state;
	assert_int_equal(manifest_parse(&m, doc, strlen(doc), TM_ORIGIN), 0);
	o = &manifest_table_at(m, 0)->objects[0];
	assert_int_equal(o->fernet, 1);
	assert_string_equal(o->source_md5, "5d41402abc4b2a76b9719d911017c592");
	assert_int_equal(o->source_size, 5);
	assert_int_equal(manifest_rec_pack(&rec, o), 0);
	assert_int_equal(rec.fernet, 1);
	assert_int_equal(rec.encrypted, 0);
	manifest_rec_unpack(&back, &rec);
	assert_int_equal(back.fernet, 1);
	o = &manifest_table_at(m, 0)->objects[1];	/* null, null: the stored bytes */
	assert_int_equal(o->fernet, 0);
	assert_string_equal(o->source_md5, HEX_B);
	assert_int_equal(o->source_size, 7);
	/* written back, the mark stays */
	assert_int_equal(manifest_dump(m, &out, NULL), 0);
	assert_non_null(strstr(out, "\"source_MD5\":\"XUFAKrxLKna5cZ2REBfFkg==\""));
	assert_non_null(strstr(out, "\"source_MD5\":\"" HEX_B "\""));
	free(out);
	manifest_free(m);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		doc2 = cst_sprintf("[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":[%s]}]", bad[i]);
		assert_non_null(doc2);
		assert_int_equal(manifest_parse(&m, doc2, strlen(doc2), TM_ORIGIN), CST_EINVALID);
		assert_null(m);
		free(doc2);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(roundtrip), T(exact_json), T(salt_omitted), T(empty_md5), T(medusa_fallback),
		T(multipart_etag), T(etag_without_source), T(uppercase_normalised), T(add_invalid),
		T(duplicate_tables_merged), T(duplicate_keys), T(counts), T(malformed),
		T(nul_in_string), T(deep_nesting), T(hostile_names_one_line),
		T(truncations), T(mutations), T(scale), T(many_tables),
		T(reader_pieces), T(reader_key_order), T(writer), T(rec_pack), T(medusa_fernet),
	};
	char name[64];
	size_t i;

	if (argc > 1) {
		snprintf(name, sizeof(name), "test_%s", argv[1]);
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
			if (strcmp(tests[i].name, name) == 0)
				break;
		}
		if (i == sizeof(tests) / sizeof(tests[0])) {
			fprintf(stderr, "no test named %s\n", argv[1]);
			return 2;
		}
		cmocka_set_test_filter(name);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
