/*
 * Unit tests of the pipeline's hashing budget: each plaintext byte is fed to
 * MD5 once (the source MD5), encrypted or not, whole object or multipart,
 * and the manifest MD5 follows the rule of docs/FORMAT.md for a store that
 * keeps no ETag (local): the source MD5 for plaintext, "" for encrypted.
 * The count comes from crypto_md5_bytes_hashed(), which every crypto_md5
 * context feeds. With the argument "s3" (under tests/support/rgw.sh run) the
 * same against radosgw: over https the count is the same and the MD5 is the
 * server's ETag; over plain http the stored bytes are hashed once more, for
 * Content-MD5.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "config.h"
#include "crypto.h"
#include "pipeline.h"
#include "scratch.h"
#include "snapshot.h"
#include "storage.h"
#include "uploads.h"
#include "util.h"

#define CF "t1-0123456789abcdef0123456789abcdef"
#define MIB (1024u * 1024u)

/* Which store the tests run against: local, or the radosgw of
 * tests/support/rgw.sh over https or over plain http. */
static enum { LOCAL, S3_HTTPS, S3_HTTP } backend = LOCAL;

struct fx {
	char *dir, *tmp, *store;
	struct config cfg;
	struct storage *st;
	struct uploads *up;
	struct crypto_key *key;
};

static void s3_config(struct storage_config *sc, int tls)
{
	const char *port = getenv(tls ? "CASSETTE_TEST_S3_TLS_PORT" : "CASSETTE_TEST_S3_PORT");

	assert_non_null(port);
	sc->provider = "s3";
	sc->host = "127.0.0.1";
	sc->port = atoi(port);
	sc->secure = tls;
	sc->ssl_verify = 1;
	sc->ca_file = getenv("CASSETTE_TEST_S3_CA");
	sc->bucket_name = getenv("CASSETTE_TEST_S3_BUCKET");
	sc->access_key_id = getenv("CASSETTE_TEST_S3_KEY_ID");
	sc->secret_access_key = getenv("CASSETTE_TEST_S3_SECRET");
	assert_non_null(sc->bucket_name);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct storage_config sc = { .provider = "local", .create = 1 };
	static const int use[] = { STORAGE_MD5_NEVER, STORAGE_MD5_IF_KNOWN, STORAGE_MD5_ALWAYS };
	unsigned char raw[32];

	assert_non_null(fx);
	fx->dir = scratch_new("pipeline");
	fx->tmp = cst_path_join(fx->dir, "enctmp");
	fx->store = cst_path_join(fx->dir, "store");
	sc.base_path = fx->store;
	if (backend != LOCAL)
		s3_config(&sc, backend == S3_HTTPS);
	fx->cfg.encryption_tmp_dir = fx->tmp;
	fx->cfg.segment_size = 1 * MIB;
	fx->cfg.multipart_threshold = 8 * MIB;	/* multipart above, parts of 8 MiB */
	assert_int_equal(storage_open(&fx->st, &sc), 0);
	assert_int_equal(storage_md5_use(fx->st), use[backend]);
	/* local, one file system: whole objects, linked in (no parts) */
	assert_int_equal(storage_takes_files_from(fx->st, fx->dir), backend == LOCAL);
	assert_int_equal(uploads_new(&fx->up, fx->st, 2, 2), 0);
	memset(raw, 7, sizeof(raw));
	assert_int_equal(crypto_key_from_bytes(&fx->key, raw, sizeof(raw)), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	uploads_free(fx->up);
	storage_close(fx->st);
	crypto_key_free(fx->key);
	scratch_remove(fx->dir);
	free(fx->tmp);
	free(fx->store);
	free(fx);
	return 0;
}

/* Incompressible-looking bytes, different for each seed. */
static unsigned char *noise(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void md5_hex(char hex[33], const void *buf, size_t len)
{
	unsigned char md[16];

	assert_int_equal(EVP_Digest(buf, len, md, NULL, EVP_md5(), NULL), 1);
	cst_hex(hex, md, 16);
}

/* Store `len` bytes as one file and check the MD5 budget and the record. */
static void store_one(struct fx *fx, size_t len, int encrypted, const char *name)
{
	unsigned char *data = noise(len, (unsigned)len);
	struct snap_file f = { .keyspace = "ks1", .table = CF };
	struct pipeline *p = NULL;
	struct stored_object so;
	uint64_t before, stat_size;
	char rel[64], key[128], hex[33], got[33];

	snprintf(rel, sizeof(rel), "%s", name);
	snprintf(key, sizeof(key), "node/data/ks1/%s/%s", CF, name);
	f.rel = rel;
	scratch_write(fx->dir, name, data, len);
	f.dir = fx->dir;
	f.size = len;
	assert_int_equal(pipeline_new(&p, &fx->cfg, fx->st, fx->up, encrypted ? fx->key : NULL, NULL), 0);

	before = crypto_md5_bytes_hashed();
	assert_int_equal(pipeline_store(p, &f, "node", key, NULL, 0, &so), 0);
	/* once per plaintext byte: nothing else hashed, the ciphertext neither;
	 * over plain http, the stored bytes once more for Content-MD5 (but a
	 * plaintext whole object's are the source: nothing more) */
	if (backend == S3_HTTP && (encrypted || len > fx->cfg.multipart_threshold))
		assert_int_equal(crypto_md5_bytes_hashed() - before, len + so.size);
	else
		assert_int_equal(crypto_md5_bytes_hashed() - before, len);

	md5_hex(hex, data, len);
	cst_hex(got, so.source_md5, 16);
	assert_string_equal(got, hex);
	assert_int_equal(so.source_size, len);
	assert_int_equal(so.encrypted, encrypted);
	assert_int_equal(so.size, encrypted ? crypto_object_size(len, fx->cfg.segment_size) : len);
	assert_int_equal(storage_head(fx->st, key, &stat_size), 0);
	assert_int_equal(stat_size, so.size);
	if (backend == LOCAL) {
		/* the local store keeps no ETag: plaintext records the source
		 * MD5 (its stored bytes are the source), encrypted records "" */
		if (encrypted)
			assert_string_equal(so.etag, "");
		else
			assert_string_equal(so.etag, hex);
	} else {
		/* S3: the ETag the server reports for the object */
		struct storage_stat st;

		assert_int_equal(storage_stat(fx->st, key, &st), 0);
		assert_string_equal(so.etag, st.etag);
		if (so.size > fx->cfg.multipart_threshold)
			assert_non_null(strchr(so.etag, '-'));
		else if (!encrypted)
			assert_string_equal(so.etag, hex);
		assert_int_equal(storage_delete(fx->st, key), 0);
	}
	pipeline_free(p);
	free(data);
}

static void test_encrypted_whole(void **state)
{
	store_one(*state, 1 * MIB + 3, 1, "nb-1-big-Data.db");
}

static void test_encrypted_multipart(void **state)
{
	store_one(*state, 20 * MIB + 11, 1, "nb-2-big-Data.db");	/* S3: 3 parts */
}

static void test_plaintext_whole(void **state)
{
	store_one(*state, 3 * MIB, 0, "nb-3-big-Data.db");
}

static void test_plaintext_multipart(void **state)
{
	store_one(*state, 17 * MIB, 0, "nb-4-big-Data.db");
}

static void test_empty(void **state)
{
	store_one(*state, 0, 1, "nb-5-big-Data.db");
	store_one(*state, 0, 0, "nb-6-big-Data.db");
}

#define PT(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		PT(test_encrypted_whole),
		PT(test_encrypted_multipart),
		PT(test_plaintext_whole),
		PT(test_plaintext_multipart),
		PT(test_empty),
	};

	int failed;

	/* "s3": against the radosgw of tests/support/rgw.sh run, over https
	 * and then over plain http. */
	if (argc > 1 && strcmp(argv[1], "s3") == 0) {
		backend = S3_HTTPS;
		failed = cmocka_run_group_tests_name("pipeline over https", tests, NULL, NULL);
		backend = S3_HTTP;
		return failed + cmocka_run_group_tests_name("pipeline over http", tests, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
