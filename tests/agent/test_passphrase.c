/*
 * keys/passphrase: reading a passphrase file, and parsing and writing the
 * key-parameters object. (The key itself: tests/crypto/test_crypto_kdf.c;
 * the whole path against a store: tests/e2e/passphrase.sh.)
 */
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

#include "passphrase.h"
#include "scratch.h"
#include "util.h"

#define OBJ "pre/index/key_params.json"
#define SALT "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define GOOD "{\"version\": 1, \"kdf\": \"scrypt\", \"N\": 131072, \"r\": 8, \"p\": 1, " \
	     "\"salt\": \"" SALT "\", \"key_id\": \"0011223344556677\"}\n"

static int setup(void **state)
{
	*state = scratch_new("passphrase");
	return 0;
}

static int teardown(void **state)
{
	scratch_remove(*state);
	return 0;
}

/* Write `len` bytes to dir/name with `mode`; returns the path (caller frees). */
static char *pass_file(const char *dir, const char *text, size_t len, mode_t mode)
{
	char *path = cst_path_join(dir, "pass");

	assert_non_null(path);
	unlink(path);
	scratch_write(dir, "pass", text, len);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void expect_pass(const char *dir, const char *text, size_t len, const char *want, size_t wantlen)
{
	unsigned char buf[PASSPHRASE_MAX];
	char *path = pass_file(dir, text, len, 0600);
	size_t got = 0;

	assert_int_equal(passphrase_read_file(buf, &got, path), 0);
	assert_int_equal(got, wantlen);
	assert_memory_equal(buf, want, wantlen);
	free(path);
}

static void expect_refused(const char *dir, const char *text, size_t len, mode_t mode, const char *msg)
{
	unsigned char buf[PASSPHRASE_MAX];
	char *path = pass_file(dir, text, len, mode);
	size_t got = 7;

	assert_int_equal(passphrase_read_file(buf, &got, path), CST_EINVALID);
	assert_int_equal(got, 0);
	assert_non_null(strstr(cst_error_msg(), path));
	if (strstr(cst_error_msg(), msg) == NULL)
		fail_msg("message '%s' lacks '%s'", cst_error_msg(), msg);
	free(path);
}

static void test_read_file(void **state)
{
	char big[PASSPHRASE_MAX + 3];

	expect_pass(*state, "abc\n", 4, "abc", 3);
	expect_pass(*state, "abc\r\n", 5, "abc", 3);
	expect_pass(*state, "abc", 3, "abc", 3);
	expect_pass(*state, "abc\r", 4, "abc\r", 4);	/* no newline: the \r is the passphrase's */
	expect_pass(*state, "a b\rc\nsecond\n", 13, "a b\rc", 5);
	expect_pass(*state, " x \n", 4, " x ", 3);	/* blanks kept: they are the passphrase's */
	/* 1024 bytes, with and without "\r\n" and more after */
	memset(big, 'p', PASSPHRASE_MAX);
	expect_pass(*state, big, PASSPHRASE_MAX, big, PASSPHRASE_MAX);
	memcpy(big + PASSPHRASE_MAX, "\r\n", 2);
	expect_pass(*state, big, PASSPHRASE_MAX + 2, big, PASSPHRASE_MAX);
	memcpy(big + PASSPHRASE_MAX, "\nx", 2);
	expect_pass(*state, big, PASSPHRASE_MAX + 2, big, PASSPHRASE_MAX);
	/* 1025 */
	memset(big, 'p', sizeof(big));
	expect_refused(*state, big, PASSPHRASE_MAX + 1, 0600, "longer than 1024 bytes");
	big[PASSPHRASE_MAX + 1] = '\n';
	expect_refused(*state, big, PASSPHRASE_MAX + 2, 0600, "longer than 1024 bytes");
	expect_refused(*state, big, sizeof(big), 0600, "longer than 1024 bytes");
	expect_refused(*state, "", 0, 0600, "is empty");
	expect_refused(*state, "\n", 1, 0600, "is empty");
	expect_refused(*state, "\r\nabc\n", 6, 0600, "is empty");
}

static void test_read_file_refused(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601, 0777 };
	unsigned char buf[PASSPHRASE_MAX];
	char want[64], *path;
	size_t i, len;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(want, sizeof(want), "by group or others (mode %04o); chmod 600 it",
			 (unsigned)modes[i]);
		expect_refused(*state, "abc\n", 4, modes[i], want);
	}
	/* the control: owner-only modes are fine */
	path = pass_file(*state, "abc\n", 4, 0400);
	assert_int_equal(passphrase_read_file(buf, &len, path), 0);
	free(path);
	/* a directory, a missing file: named, nothing read */
	assert_int_equal(passphrase_read_file(buf, &len, *state), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "is not a regular file"));
	path = cst_path_join(*state, "missing");
	assert_int_equal(passphrase_read_file(buf, &len, path), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), path));
	assert_int_equal(len, 0);
	free(path);
}

static void expect_params_refused(const char *text, int code, const char *msg)
{
	struct key_params kp;

	memset(&kp, 0xab, sizeof(kp));
	print_message("refused: %.*s\n", (int)strcspn(text, "\n"), text);
	assert_int_equal(key_params_parse(&kp, text, strlen(text), OBJ), code);
	assert_non_null(strstr(cst_error_msg(), "key parameters " OBJ ": "));
	if (strstr(cst_error_msg(), msg) == NULL)
		fail_msg("message '%s' lacks '%s'", cst_error_msg(), msg);
	assert_int_equal(kp.N, 0);	/* nothing half-parsed is left */
}

/* GOOD with `from` replaced by `to` (one occurrence). */
static char *edit(const char *from, const char *to)
{
	const char *at = strstr(GOOD, from);

	assert_non_null(at);
	return cst_sprintf("%.*s%s%s", (int)(at - GOOD), GOOD, to, at + strlen(from));
}

static void test_params(void **state)
{
	static const struct { const char *from, *to; int code; const char *msg; } bad[] = {
		{ "\"N\": 131072", "\"N\": 16384", CST_EINTEGRITY,
		  "scrypt costs N=16384, r=8, p=1 are below the minimum N=32768, r=8, p=1; refused" },
		{ "\"r\": 8", "\"r\": 4", CST_EINTEGRITY, "r=4, p=1 are below the minimum" },
		{ "\"p\": 1", "\"p\": 0", CST_EINTEGRITY, "p=0 are below the minimum" },
		{ "\"N\": 131072", "\"N\": 0", CST_EINTEGRITY, "N=0, r=8" },
		{ "\"N\": 131072", "\"N\": 131071", CST_EINTEGRITY, "not a power of two" },
		{ "\"N\": 131072", "\"N\": 4611686018427387904", CST_EINTEGRITY, "above the maximum" },
		{ "\"r\": 8", "\"r\": 4294967297", CST_EINTEGRITY, "\"r\" = 4294967297 is out of range" },
		{ "\"p\": 1", "\"p\": -1", CST_EINTEGRITY, "\"p\" = -1 is out of range" },
		{ "\"p\": 1", "\"p\": 1.0", CST_EINTEGRITY, "\"p\" is missing or not an integer" },
		{ "\"N\": 131072", "\"N\": \"131072\"", CST_EINTEGRITY, "\"N\" is missing or not an integer" },
		{ "\"version\": 1", "\"version\": 2", CST_EUNSUPPORTED, "version 2 is not supported" },
		{ "\"version\": 1", "\"version\": 0", CST_EUNSUPPORTED, "version 0 is not supported" },
		{ "\"version\": 1", "\"version\": \"1\"", CST_EINTEGRITY, "\"version\" is missing" },
		{ "\"version\": 1, ", "", CST_EINTEGRITY, "\"version\" is missing" },
		{ "\"kdf\": \"scrypt\"", "\"kdf\": \"argon2id\"", CST_EUNSUPPORTED,
		  "kdf \"argon2id\" is not supported" },
		{ "\"kdf\": \"scrypt\"", "\"kdf\": 1", CST_EINTEGRITY, "\"kdf\" is missing or not a string" },
		{ SALT, "0001", CST_EINTEGRITY, "\"salt\" is not 64 hex digits" },
		{ SALT, SALT "00", CST_EINTEGRITY, "\"salt\" is not 64 hex digits" },
		{ "000102", "x00102", CST_EINTEGRITY, "\"salt\" is not 64 hex digits" },
		{ "\"0011223344556677\"", "\"00112233445566\"", CST_EINTEGRITY,
		  "\"key_id\" is not 16 hex digits" },
		{ "\"0011223344556677\"", "null", CST_EINTEGRITY, "\"key_id\" is not 16 hex digits" },
		{ "\"p\": 1", "\"p\": 1, \"q\": 2", CST_EINTEGRITY, "unknown field \"q\"" },
		{ "\"p\": 1", "\"p\": 1, \"p\": 1", CST_EINTEGRITY, "not a JSON object" },
		{ "{", "[", CST_EINTEGRITY, "not a JSON object" },
	};
	struct key_params kp, kp2;
	unsigned char salt[32];
	char *text;
	size_t i;

	(void)state;
	assert_int_equal(key_params_parse(&kp, GOOD, strlen(GOOD), OBJ), 0);
	assert_int_equal(kp.N, 131072);
	assert_int_equal(kp.r, 8);
	assert_int_equal(kp.p, 1);
	assert_int_equal(cst_unhex(salt, 32, SALT), 0);
	assert_memory_equal(kp.salt, salt, 32);
	assert_memory_equal(kp.key_id, "\x00\x11\x22\x33\x44\x55\x66\x77", 8);
	/* the writer writes exactly the documented line, and reads it back */
	assert_non_null(text = key_params_format(&kp));
	assert_string_equal(text, GOOD);
	assert_int_equal(key_params_parse(&kp2, text, strlen(text), OBJ), 0);
	assert_memory_equal(&kp, &kp2, sizeof(kp));
	free(text);
	/* the other order of fields, upper-case hex, no newline: still fine */
	text = "{\"key_id\": \"00112233445566FF\", \"salt\": \"" SALT "\", \"p\": 16, \"r\": 32, "
	       "\"N\": 32768, \"kdf\": \"scrypt\", \"version\": 1}";
	assert_int_equal(key_params_parse(&kp, text, strlen(text), OBJ), 0);
	assert_int_equal(kp.key_id[7], 0xff);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(text = edit(bad[i].from, bad[i].to));
		expect_params_refused(text, bad[i].code, bad[i].msg);
		free(text);
	}
	expect_params_refused("", CST_EINTEGRITY, "not a JSON object");
	expect_params_refused("1", CST_EINTEGRITY, "not a JSON object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_refused, setup, teardown),
		cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
