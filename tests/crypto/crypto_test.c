/* Helpers shared by the crypto test binaries. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto_test.h"
#include "util.h"

const struct crypto_identity test_id = {
	.fqdn = "node1.dc1.example.com",
	.keyspace = "shop",
	.table = "orders-5a1b2c3d4e5f60718293a4b5c6d7e8f9",
	.file = "nb-1-big-Data.db",
};

void obuf_reset(struct obuf *o)
{
	o->len = 0;
	o->calls = 0;
	o->fail_at_call = 0;
}

void obuf_free(struct obuf *o)
{
	free(o->p);
	free(o->call_len);
	memset(o, 0, sizeof(*o));
}

int obuf_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct obuf *o = arg;

	if (o->calls == o->call_cap) {
		o->call_cap = o->call_cap ? 2 * o->call_cap : 64;
		o->call_len = realloc(o->call_len, o->call_cap * sizeof(*o->call_len));
		assert_non_null(o->call_len);
	}
	o->call_len[o->calls++] = len;
	if (o->fail_at_call != 0 && o->calls == o->fail_at_call)
		return cst_error(CST_EIO, "test sink fails call %zu", o->calls);
	if (o->len + len > o->cap) {
		while (o->len + len > o->cap)
			o->cap = o->cap ? 2 * o->cap : 4096;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	if (len > 0)
		memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

static int feed(struct crypto_stream *s, const unsigned char *in, size_t len, size_t chunk,
		struct obuf *o)
{
	size_t off = 0, n;
	int rc = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	while (rc == 0 && off < len) {
		n = len - off < chunk ? len - off : chunk;
		rc = crypto_stream_update(s, in + off, n, obuf_sink, o);
		off += n;
	}
	if (rc == 0)
		rc = crypto_stream_final(s, obuf_sink, o);
	return rc;
}

int encrypt_buf(const struct crypto_key *key, const struct crypto_identity *id,
		const struct crypto_enc_params *params, const unsigned char *in, size_t len,
		size_t chunk, struct obuf *o)
{
	struct crypto_stream *s = NULL;
	size_t fail = o->fail_at_call;
	int rc;

	obuf_reset(o);
	o->fail_at_call = fail;
	if ((rc = crypto_encryptor_new(&s, key, id, params)) == 0)
		rc = feed(s, in, len, chunk, o);
	else
		assert_null(s);
	crypto_stream_free(s);
	return rc;
}

int decrypt_buf(const struct crypto_key *key, const struct crypto_identity *id,
		const unsigned char *salt, const unsigned char *in, size_t len, size_t chunk,
		struct obuf *o)
{
	struct crypto_stream *s = NULL;
	size_t fail = o->fail_at_call;
	int rc;

	obuf_reset(o);
	o->fail_at_call = fail;
	if ((rc = crypto_decryptor_new(&s, key, id, salt)) == 0)
		rc = feed(s, in, len, chunk, o);
	else
		assert_null(s);
	crypto_stream_free(s);
	return rc;
}

void fill_pattern(unsigned char *p, size_t len, uint32_t seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

struct crypto_key *test_key(unsigned char seed)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	struct crypto_key *k = NULL;

	memset(raw, seed, sizeof(raw));
	raw[0] ^= 0x5a;
	assert_int_equal(crypto_key_from_bytes(&k, raw, sizeof(raw)), 0);
	assert_non_null(k);
	return k;
}

/* ---- vectors ---- */

static void unhex_alloc(unsigned char **out, size_t *len, const char *hex)
{
	*len = strlen(hex) / 2;
	*out = malloc(*len ? *len : 1);
	assert_non_null(*out);
	assert_int_equal(strlen(hex) % 2, 0);
	assert_int_equal(cst_unhex(*out, *len, hex), 0);
}

static void unhex_fixed(unsigned char *out, size_t len, const char *hex, const char *what)
{
	if (cst_unhex(out, len, hex) != 0)
		fail_msg("vector field %s: %s", what, cst_error_msg());
}

static void index_mix(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i ^ (i >> 8) ^ (i >> 16)) & 0xff);
}

static void vec_field(struct vec *v, const char *k, const char *val)
{
	if (strcmp(k, "name") == 0)
		v->name = strdup(val);
	else if (strcmp(k, "key") == 0)
		unhex_fixed(v->key, sizeof(v->key), val, k);
	else if (strcmp(k, "key_id") == 0)
		unhex_fixed(v->key_id, sizeof(v->key_id), val, k);
	else if (strcmp(k, "fqdn") == 0)
		v->fqdn = strdup(val);
	else if (strcmp(k, "keyspace") == 0)
		v->keyspace = strdup(val);
	else if (strcmp(k, "table") == 0)
		v->table = strdup(val);
	else if (strcmp(k, "file") == 0)
		v->file = strdup(val);
	else if (strcmp(k, "segment_size") == 0)
		v->segment_size = (uint32_t)strtoul(val, NULL, 10);
	else if (strcmp(k, "salt") == 0)
		unhex_fixed(v->salt, sizeof(v->salt), val, k);
	else if (strcmp(k, "nonce_prefix") == 0)
		unhex_fixed(v->prefix, sizeof(v->prefix), val, k);
	else if (strcmp(k, "plaintext") == 0)
		unhex_alloc(&v->plain, &v->plain_len, val);
	else if (strcmp(k, "object") == 0)
		unhex_alloc(&v->object, &v->object_len, val);
	else if (strcmp(k, "plaintext_rule") == 0)
		assert_string_equal(val, "index-mix");
	else if (strcmp(k, "plaintext_len") == 0)
		v->plain_len = strtoull(val, NULL, 10);
	else if (strcmp(k, "object_len") == 0)
		v->object_len = strtoull(val, NULL, 10);
	else if (strcmp(k, "object_header") == 0)
		unhex_fixed(v->object_header, sizeof(v->object_header), val, k);
	else if (strcmp(k, "object_sha256") == 0)
		unhex_fixed(v->object_sha256, sizeof(v->object_sha256), val, k);
	else if (strcmp(k, "object_key") != 0)	/* informative only */
		fail_msg("unknown vector field '%s'", k);
}

static void vec_finish(struct vec *v)
{
	assert_non_null(v->name);
	assert_non_null(v->fqdn);
	assert_non_null(v->file);
	if (v->plain == NULL) {	/* rule-generated */
		v->plain = malloc(v->plain_len ? v->plain_len : 1);
		assert_non_null(v->plain);
		index_mix(v->plain, v->plain_len);
	}
}

void vec_load(struct vec **out, size_t *n)
{
	char *text = NULL, *line, *save = NULL, *eq;
	struct vec *v = NULL;
	size_t len, count = 0;
	int in_rec = 0;

	if (cst_read_file(&text, &len, CRYPTO_VECTORS_FILE, 1 << 20) != 0)
		fail_msg("%s", cst_error_msg());
	/* strtok_r would merge the blank separator lines, so split by hand. */
	for (line = text; line != NULL; line = save) {
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		if (line[0] == '#')
			continue;
		if (line[0] == '\0') {	/* a blank line ends a record */
			if (in_rec)
				vec_finish(&v[count - 1]);
			in_rec = 0;
			continue;
		}
		if (!in_rec) {
			v = realloc(v, (count + 1) * sizeof(*v));
			assert_non_null(v);
			memset(&v[count++], 0, sizeof(*v));
			in_rec = 1;
		}
		eq = strstr(line, " = ");
		if (eq == NULL)
			fail_msg("bad vector line '%s'", line);
		*eq = '\0';
		vec_field(&v[count - 1], line, eq + 3);
	}
	if (in_rec)
		vec_finish(&v[count - 1]);
	free(text);
	assert_true(count >= 10);
	*out = v;
	*n = count;
}

void vec_free(struct vec *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].fqdn);
		free(v[i].keyspace);
		free(v[i].table);
		free(v[i].file);
		free(v[i].plain);
		free(v[i].object);
	}
	free(v);
}

struct crypto_identity vec_identity(const struct vec *v)
{
	struct crypto_identity id = { v->fqdn, v->keyspace, v->table, v->file };

	return id;
}
