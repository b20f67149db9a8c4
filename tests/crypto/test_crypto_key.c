/* crypto: key files, key ids and key generation. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto.h"
#include "crypto_test.h"
#include "scratch.h"
#include "util.h"

/* base64 of the 32 bytes 00 01 02 .. 1f */
#define SEQ_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static int setup(void **state)
{
	*state = scratch_new("crypto-key");
	return 0;
}

static int teardown(void **state)
{
	scratch_remove(*state);
	return 0;
}

/* Write `text` to dir/name with `mode`; returns the path (caller frees). */
static char *key_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = cst_path_join(dir, name);

	assert_non_null(path);
	scratch_write(dir, name, text, strlen(text));
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void expect_refused(const char *dir, const char *text, mode_t mode, int want,
			   const char *msg_part)
{
	struct crypto_key *k = (struct crypto_key *)&k;
	char *path = key_file(dir, "key", text, mode);

	assert_int_equal(crypto_key_load_file(&k, path), want);
	assert_null(k);
	assert_non_null(strstr(cst_error_msg(), path));
	if (msg_part != NULL && strstr(cst_error_msg(), msg_part) == NULL)
		fail_msg("message '%s' lacks '%s'", cst_error_msg(), msg_part);
	free(path);
}

static void test_load_ok(void **state)
{
	static const char *texts[] = { SEQ_B64, SEQ_B64 "\n", "  " SEQ_B64 " \r\n\n",
				       "\t" SEQ_B64 };
	unsigned char raw[32], id[8];
	struct crypto_key *k = NULL, *k2 = NULL;
	char *path;
	size_t i;

	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)i;
	assert_int_equal(crypto_key_from_bytes(&k2, raw, sizeof(raw)), 0);
	/* Key id of 00..1f from the Python reference: HKDF-SHA256(ikm = key,
	 * salt = "", info = "cassette v1 key id")[:8]. */
	assert_int_equal(cst_unhex(id, 8, "0df23128c2bd7d2b"), 0);
	assert_memory_equal(crypto_key_id(k2), id, 8);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		path = key_file(*state, "key", texts[i], 0600);
		assert_int_equal(crypto_key_load_file(&k, path), 0);
		assert_memory_equal(crypto_key_id(k), crypto_key_id(k2), 8);
		crypto_key_free(k);
		free(path);
	}
	path = key_file(*state, "key", SEQ_B64, 0400);
	assert_int_equal(crypto_key_load_file(&k, path), 0);
	crypto_key_free(k);
	free(path);
	crypto_key_free(k2);
}

static void test_load_mode_refused(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0606, 0620, 0602, 0610, 0601,
					0777 };
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(want, sizeof(want), "(mode %04o); chmod 600 it", (unsigned)modes[i]);
		expect_refused(*state, SEQ_B64 "\n", modes[i], CST_EINVALID, want);
		if (modes[i] & 044)
			assert_non_null(strstr(cst_error_msg(),
					       "is readable by group or others"));
	}
}

static void test_load_bad_content(void **state)
{
	static const char *bad[] = {
		"",
		"\n",
		/* 31 and 33 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
		/* 64 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==",
		/* no padding, bad characters, non-zero pad bits, inner space */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
		"AAECAwQFBgcICQoLDA0ODxAREh MUFRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=8=",
		SEQ_B64 "\n" SEQ_B64 "\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad key text %zu\n", i);
		expect_refused(*state, bad[i], 0600, CST_EINVALID, "exactly 32 bytes");
		/* The message never echoes what the file holds. */
		if (strlen(bad[i]) > 8)
			assert_null(strstr(cst_error_msg(), bad[i] + 4));
	}
}

static void test_load_not_a_file(void **state)
{
	struct crypto_key *k = NULL;
	char *path = cst_path_join(*state, "missing");

	assert_non_null(path);
	assert_int_equal(crypto_key_load_file(&k, path), CST_ENOTFOUND);
	assert_null(k);
	assert_non_null(strstr(cst_error_msg(), path));
	free(path);
	path = cst_path_join(*state, "dir");
	assert_int_equal(cst_mkdirs(path), 0);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(crypto_key_load_file(&k, path), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "not a regular file"));
	assert_non_null(strstr(cst_error_msg(), path));
	free(path);
	path = cst_path_join(*state, "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(crypto_key_load_file(&k, path), CST_EINVALID);	/* no hang */
	assert_null(k);
	free(path);
}

static void test_from_bytes(void **state)
{
	unsigned char raw[33] = { 0 };
	struct crypto_key *k = (struct crypto_key *)&k;

	(void)state;
	assert_int_equal(crypto_key_from_bytes(&k, raw, 31), CST_EINVALID);
	assert_null(k);
	assert_int_equal(crypto_key_from_bytes(&k, raw, 33), CST_EINVALID);
	assert_int_equal(crypto_key_from_bytes(&k, NULL, 32), CST_EINVALID);
	assert_int_equal(crypto_key_from_bytes(&k, raw, 32), 0);
	assert_non_null(k);
	/* The id is not a prefix of the key. */
	assert_memory_not_equal(crypto_key_id(k), raw, 8);
	crypto_key_free(k);
}

static void test_keygen(void **state)
{
	char a[CRYPTO_KEY_B64_LEN + 1], b[CRYPTO_KEY_B64_LEN + 1], line[64];
	struct crypto_key *ka = NULL, *kb = NULL;
	char *path;

	memset(a, 'z', sizeof(a));
	assert_int_equal(crypto_keygen_b64(a), 0);
	assert_int_equal(crypto_keygen_b64(b), 0);
	assert_int_equal(strlen(a), CRYPTO_KEY_B64_LEN);
	assert_int_equal(a[CRYPTO_KEY_B64_LEN - 1], '=');
	assert_string_not_equal(a, b);
	snprintf(line, sizeof(line), "%s\n", a);
	path = key_file(*state, "gen", line, 0600);
	assert_int_equal(crypto_key_load_file(&ka, path), 0);
	free(path);
	path = key_file(*state, "gen2", b, 0600);
	assert_int_equal(crypto_key_load_file(&kb, path), 0);
	free(path);
	assert_memory_not_equal(crypto_key_id(ka), crypto_key_id(kb), 8);
	crypto_key_free(ka);
	crypto_key_free(kb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_mode_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_bad_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_not_a_file, setup, teardown),
		cmocka_unit_test(test_from_bytes),
		cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
	};

	return cmocka_run_group_tests_name("crypto_key", tests, NULL, NULL);
}
