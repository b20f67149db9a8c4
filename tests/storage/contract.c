/*
 * The storage contract suite (see contract.h). Every test gets a fresh, empty
 * store from the backend fixture plus a local scratch directory for the
 * source files of put_file.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "contract_int.h"
#include "scratch.h"

int fx_setup(void **state)
{
	const struct contract_backend *b = *state;
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->b = b;
	assert_int_equal(b->setup(&fx->cfg, &fx->bstate), 0);
	fx->src_dir = scratch_new("contract-src");
	assert_ok(storage_open(&fx->s, &fx->cfg));
	*state = fx;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *fx = *state;

	storage_close(fx->s);
	fx->b->teardown(fx->bstate);
	scratch_remove(fx->src_dir);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

void put_str(struct storage *s, const char *key, const char *content)
{
	assert_ok(storage_put_buf(s, key, content, strlen(content), 0));
}

void assert_content(struct storage *s, const char *key, const char *want)
{
	char *got = NULL;
	size_t len = 0;

	assert_ok(storage_get_buf(s, key, &got, &len, 1 << 20));
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

/* The listing as "key:size\n" lines, for one readable comparison. */
struct listing {
	char *text;
	size_t len, calls;
	int fail_at;   /* return fail_rc from this call (1-based), 0 = never */
	int fail_rc;
};

static int listing_cb(void *arg, const char *key, uint64_t size)
{
	struct listing *l = arg;
	char *line = cst_sprintf("%s:%llu\n", key, (unsigned long long)size);
	size_t n;

	assert_non_null(line);
	l->calls++;
	n = strlen(line);
	l->text = realloc(l->text, l->len + n + 1);
	assert_non_null(l->text);
	memcpy(l->text + l->len, line, n + 1);
	l->len += n;
	free(line);
	if (l->fail_at > 0 && l->calls == (size_t)l->fail_at)
		return cst_error(l->fail_rc, "listing callback stops");
	return 0;
}

void assert_listing(struct storage *s, const char *prefix, const char *want)
{
	struct listing l = { 0 };

	assert_ok(storage_list(s, prefix, listing_cb, &l));
	if (strcmp(l.text != NULL ? l.text : "", want) != 0)
		fail_msg("list '%s':\n%s\nwant:\n%s", prefix, l.text != NULL ? l.text : "",
			 want);
	free(l.text);
}

void fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

int compare_sink_fn(void *arg, const unsigned char *buf, size_t len)
{
	struct compare_sink *c = arg;

	c->calls++;
	if (c->fail_rc != 0)
		return cst_error(c->fail_rc, "sink says no");
	assert_true(len <= c->want_len - c->got);
	assert_memory_equal(buf, c->want + c->got, len);
	c->got += len;
	return 0;
}

char *src_file(struct fx *fx, const char *name, const void *buf, size_t len)
{
	char *path = cst_path_join(fx->src_dir, name);

	assert_non_null(path);
	scratch_write(fx->src_dir, name, buf, len);
	return path;
}

unsigned char *pattern(size_t len, uint32_t seed)
{
	unsigned char *buf = malloc(len > 0 ? len : 1);

	assert_non_null(buf);
	fill_pattern(buf, len, seed);
	return buf;
}

void md5_of(unsigned char out[16], const void *buf, size_t len)
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len, out, &n, EVP_md5(), NULL), 1);
	assert_int_equal(n, 16);
}

void assert_object(struct storage *s, const char *key, const unsigned char *want, size_t len)
{
	struct compare_sink c = { .want = want, .want_len = len };
	uint64_t size = 0;

	assert_ok(storage_get(s, key, compare_sink_fn, &c));
	assert_int_equal(c.got, len);
	assert_ok(storage_head(s, key, &size));
	assert_int_equal(size, len);
}

void assert_store_empty(struct fx *fx)
{
	assert_listing(fx->s, "", "");
	if (fx->b->check_empty != NULL && fx->b->check_empty(fx->bstate) != 0)
		fail_msg("the %s store is not empty (see above)", fx->b->name);
}

/* ---- round trips ---- */

static void test_put_buf_round_trip(void **state)
{
	struct fx *fx = *state;
	uint64_t size = 0;

	assert_string_equal(storage_provider(fx->s), fx->cfg.provider);
	put_str(fx->s, "backups/n1/hello.txt", "hello, storage");
	assert_content(fx->s, "backups/n1/hello.txt", "hello, storage");
	assert_ok(storage_head(fx->s, "backups/n1/hello.txt", &size));
	assert_int_equal(size, 14);
}

static void test_put_file_round_trip_large(void **state)
{
	struct fx *fx = *state;
	size_t len = 3 * 1024 * 1024 + 17;
	unsigned char *data = malloc(len);
	struct compare_sink c = { 0 };
	uint64_t size = 0;
	char *path, *got = NULL;
	size_t got_len = 0;

	assert_non_null(data);
	fill_pattern(data, len, 0x5eed);
	path = src_file(fx, "big.bin", data, len);
	assert_ok(storage_put_file(fx->s, "data/big.bin", path, 0, NULL, NULL));
	assert_ok(storage_head(fx->s, "data/big.bin", &size));
	assert_int_equal(size, len);

	c.want = data;
	c.want_len = len;
	assert_ok(storage_get(fx->s, "data/big.bin", compare_sink_fn, &c));
	assert_int_equal(c.got, len);
	assert_true(c.calls >= 1);

	/* get_buf at exactly the object size is allowed. */
	assert_ok(storage_get_buf(fx->s, "data/big.bin", &got, &got_len, len));
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	assert_int_equal(got[len], '\0');
	assert_listing(fx->s, "data/", "data/big.bin:3145745\n");
	free(got);
	free(path);
	free(data);
}

static void test_empty_object(void **state)
{
	struct fx *fx = *state;
	struct compare_sink c = { .want = (const unsigned char *)"", .want_len = 0 };
	uint64_t size = 99;
	char *got = NULL, *path;
	size_t len = 99;

	assert_ok(storage_put_buf(fx->s, "empty/buf", NULL, 0, 0));
	path = src_file(fx, "empty-src", "", 0);
	assert_ok(storage_put_file(fx->s, "empty/file", path, 0, NULL, NULL));
	assert_ok(storage_head(fx->s, "empty/buf", &size));
	assert_int_equal(size, 0);
	assert_ok(storage_get(fx->s, "empty/file", compare_sink_fn, &c));
	assert_int_equal(c.got, 0);
	assert_ok(storage_get_buf(fx->s, "empty/buf", &got, &len, 0));
	assert_int_equal(len, 0);
	assert_string_equal(got, "");
	assert_listing(fx->s, "", "empty/buf:0\nempty/file:0\n");
	free(got);
	free(path);
}

static void test_missing_key(void **state)
{
	struct fx *fx = *state;
	struct compare_sink c = { 0 };
	char *got = (char *)"untouched";
	uint64_t size;

	put_str(fx->s, "present/a", "a");
	assert_rc(storage_get(fx->s, "present/b", compare_sink_fn, &c), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "present/b"));
	assert_int_equal(c.calls, 0);
	assert_rc(storage_get(fx->s, "absent/dir/key", compare_sink_fn, &c), CST_ENOTFOUND);
	assert_rc(storage_get_buf(fx->s, "absent", &got, NULL, 100), CST_ENOTFOUND);
	assert_null(got);
	assert_rc(storage_head(fx->s, "absent", &size), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "absent"));
	/* A prefix of an existing key is no object either. */
	assert_rc(storage_head(fx->s, "present", &size), CST_ENOTFOUND);
	assert_rc(storage_get(fx->s, "present", compare_sink_fn, &c), CST_ENOTFOUND);
	assert_ok(storage_delete(fx->s, "absent"));
	assert_ok(storage_delete(fx->s, "absent/dir/key"));
	assert_ok(storage_delete(fx->s, "present"));
	assert_content(fx->s, "present/a", "a");
}

static void test_delete(void **state)
{
	struct fx *fx = *state;
	uint64_t size;

	put_str(fx->s, "d/one", "1");
	put_str(fx->s, "d/two", "22");
	assert_ok(storage_delete(fx->s, "d/one"));
	assert_rc(storage_head(fx->s, "d/one", &size), CST_ENOTFOUND);
	assert_ok(storage_delete(fx->s, "d/one"));
	assert_content(fx->s, "d/two", "22");
	assert_listing(fx->s, "", "d/two:2\n");
	assert_ok(storage_delete(fx->s, "d/two"));
	assert_store_empty(fx);
	/* The same key can be stored again after deletion. */
	put_str(fx->s, "d/one", "again");
	assert_content(fx->s, "d/one", "again");
}

/* ---- keys ---- */

static const char *const odd_keys[] = {
	"with space/and more spaces.txt",
	"plus+sign/a+b=c",
	"equals=/k=v==",
	"percent%20/%2F%00",
	"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x98\x83", /* café/日本語 ☃ */
	"emoji/\xf0\x9f\x97\x84\xef\xb8\x8f",
	"deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/leaf",
	".hidden/..three-dots.../...",
	"~tilde/$dollar/#hash/!bang/'quote'/\"dq\"/(paren)/[br]/{cb}/&amp;/;semi/,comma",
	"backslash\\/tab-free",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_odd_keys(void **state)
{
	struct fx *fx = *state;
	const char *sorted[ARRAY_LEN(odd_keys)];
	char *want = NULL, *line;
	size_t i, wlen = 0;

	for (i = 0; i < ARRAY_LEN(odd_keys); i++) {
		assert_true(storage_key_is_valid(odd_keys[i]));
		put_str(fx->s, odd_keys[i], odd_keys[i]);
	}
	for (i = 0; i < ARRAY_LEN(odd_keys); i++)
		assert_content(fx->s, odd_keys[i], odd_keys[i]);

	memcpy(sorted, odd_keys, sizeof(sorted));
	qsort(sorted, ARRAY_LEN(sorted), sizeof(sorted[0]), cmp_str);
	for (i = 0; i < ARRAY_LEN(sorted); i++) {
		line = cst_sprintf("%s:%zu\n", sorted[i], strlen(sorted[i]));
		assert_non_null(line);
		want = realloc(want, wlen + strlen(line) + 1);
		assert_non_null(want);
		memcpy(want + wlen, line, strlen(line) + 1);
		wlen += strlen(line);
		free(line);
	}
	assert_listing(fx->s, "", want);
	assert_listing(fx->s, "caf\xc3\xa9/",
		       "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x98\x83:19\n");
	assert_listing(fx->s, "plus+", "plus+sign/a+b=c:15\n");
	for (i = 0; i < ARRAY_LEN(odd_keys); i++)
		assert_ok(storage_delete(fx->s, odd_keys[i]));
	assert_listing(fx->s, "", "");
	free(want);
}

static const char *const bad_keys[] = {
	"", "/a", "a//b", "a/../b", "a/./b", "a/", ".", "..", "a/..", "./a",
	"new\nline", "tab\there", "del\x7f", "bad-utf8-\xff", "overlong-\xc0\xaf",
	"surrogate-\xed\xa0\x80", "truncated-\xe6\x97",
};

static void test_invalid_keys(void **state)
{
	struct fx *fx = *state;
	struct compare_sink c = { 0 };
	char long_key[1026], *got = NULL, *path;
	const char *key;
	uint64_t size;
	size_t i;

	path = src_file(fx, "src", "x", 1);
	memset(long_key, 'k', 1025);
	long_key[1025] = '\0';
	for (i = 0; i <= ARRAY_LEN(bad_keys); i++) {
		key = i < ARRAY_LEN(bad_keys) ? bad_keys[i] : long_key;
		assert_false(storage_key_is_valid(key));
		assert_rc(storage_put_buf(fx->s, key, "x", 1, 0), CST_EINVALID);
		assert_rc(storage_put_file(fx->s, key, path, 0, NULL, NULL), CST_EINVALID);
		assert_rc(storage_get(fx->s, key, compare_sink_fn, &c), CST_EINVALID);
		assert_rc(storage_get_buf(fx->s, key, &got, NULL, 10), CST_EINVALID);
		assert_null(got);
		assert_rc(storage_head(fx->s, key, &size), CST_EINVALID);
		assert_rc(storage_delete(fx->s, key), CST_EINVALID);
	}
	assert_int_equal(c.calls, 0);
	assert_false(storage_key_is_valid(NULL));
	assert_rc(storage_put_buf(fx->s, NULL, "x", 1, 0), CST_EINVALID);
	assert_rc(storage_get(fx->s, NULL, compare_sink_fn, &c), CST_EINVALID);

	/* 1024 bytes is the limit, and allowed. */
	long_key[1024] = '\0';
	assert_true(storage_key_is_valid(long_key));
	assert_true(storage_key_is_valid("a"));
	assert_true(storage_key_is_valid("a/b.c/d..e/...")); /* dots inside segments */

	/* The message names the call and shows control characters escaped. */
	assert_rc(storage_head(fx->s, "new\nline", &size), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "head"));
	assert_non_null(strstr(cst_error_msg(), "new\\x0aline"));

	/* Other arguments. */
	assert_rc(storage_put_buf(fx->s, "k", NULL, 1, 0), CST_EINVALID);
	assert_rc(storage_put_buf(fx->s, "k", "x", 1, 0x100), CST_EINVALID);
	assert_rc(storage_put_file(fx->s, "k", NULL, 0, NULL, NULL), CST_EINVALID);
	assert_rc(storage_put_file(fx->s, "k", "", 0, NULL, NULL), CST_EINVALID);
	assert_rc(storage_get(fx->s, "k", NULL, NULL), CST_EINVALID);
	assert_rc(storage_get_buf(fx->s, "k", NULL, NULL, 10), CST_EINVALID);
	assert_rc(storage_head(fx->s, "k", NULL), CST_EINVALID);
	assert_rc(storage_list(fx->s, NULL, listing_cb, NULL), CST_EINVALID);
	assert_rc(storage_list(fx->s, "a\nb", listing_cb, NULL), CST_EINVALID);
	assert_rc(storage_list(fx->s, "a", NULL, NULL), CST_EINVALID);
	assert_rc(storage_put_buf(NULL, "k", "x", 1, 0), CST_EINVALID);
	assert_rc(storage_list(NULL, "", listing_cb, NULL), CST_EINVALID);

	/* Nothing was stored by any of the above. */
	assert_store_empty(fx);
	free(path);
}

static void test_unknown_provider(void **state)
{
	struct fx *fx = *state;
	struct storage_config cfg = fx->cfg;
	struct storage *s = (struct storage *)&cfg; /* must be reset to NULL */

	cfg.provider = "tape-robot";
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_null(s);
	assert_non_null(strstr(cst_error_msg(), "unknown storage_provider 'tape-robot'"));
	assert_non_null(strstr(cst_error_msg(), fx->cfg.provider)); /* the known list */
	cfg.provider = NULL;
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_null(s);
	cfg.provider = "";
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_rc(storage_open(NULL, &fx->cfg), CST_EINVALID);
	assert_rc(storage_open(&s, NULL), CST_EINVALID);
	assert_null(storage_provider(NULL));
	storage_close(NULL);
}

/* ---- overwrite ---- */

static void test_overwrite_replaces(void **state)
{
	struct fx *fx = *state;
	uint64_t size;
	char *path;

	put_str(fx->s, "ow/k", "the first, longer content");
	put_str(fx->s, "ow/k", "second");
	assert_content(fx->s, "ow/k", "second");
	assert_ok(storage_head(fx->s, "ow/k", &size));
	assert_int_equal(size, 6);
	path = src_file(fx, "third", "third!!", 7);
	assert_ok(storage_put_file(fx->s, "ow/k", path, 0, NULL, NULL));
	assert_content(fx->s, "ow/k", "third!!");
	assert_listing(fx->s, "", "ow/k:7\n");
	free(path);
}

static void test_no_overwrite(void **state)
{
	struct fx *fx = *state;
	char *path;

	assert_ok(storage_put_buf(fx->s, "no/k", "original", 8, STORAGE_PUT_NO_OVERWRITE));
	assert_rc(storage_put_buf(fx->s, "no/k", "replacement", 11, STORAGE_PUT_NO_OVERWRITE),
		  CST_EEXISTS);
	assert_non_null(strstr(cst_error_msg(), "no/k"));
	path = src_file(fx, "repl", "replacement", 11);
	assert_rc(storage_put_file(fx->s, "no/k", path, STORAGE_PUT_NO_OVERWRITE, NULL, NULL), CST_EEXISTS);
	assert_content(fx->s, "no/k", "original");
	assert_listing(fx->s, "", "no/k:8\n");
	/* Without the flag it replaces. */
	assert_ok(storage_put_file(fx->s, "no/k", path, 0, NULL, NULL));
	assert_content(fx->s, "no/k", "replacement");
	free(path);
}

/* ---- list ---- */

static const char *const list_keys[] = {
	"a/b/c", "a/bc", "a/bd/x", "a/a", "ab", "b/x", "a/b/d/e", "a/b-",
};

static void put_list_keys(struct storage *s)
{
	size_t i;

	/* Content = key, so each size is the key's length. */
	for (i = 0; i < ARRAY_LEN(list_keys); i++)
		put_str(s, list_keys[i], list_keys[i]);
}

static void test_list_prefix(void **state)
{
	struct fx *fx = *state;

	assert_listing(fx->s, "", "");
	put_list_keys(fx->s);
	/* Bytewise order: '-' (0x2d) < '/' (0x2f) < 'c'. */
	assert_listing(fx->s, "a/b", "a/b-:4\na/b/c:5\na/b/d/e:7\na/bc:4\na/bd/x:6\n");
	assert_listing(fx->s, "a/b/", "a/b/c:5\na/b/d/e:7\n");
	assert_listing(fx->s, "a/b/c", "a/b/c:5\n");
	assert_listing(fx->s, "a/b/d", "a/b/d/e:7\n");
	assert_listing(fx->s, "",
		       "a/a:3\na/b-:4\na/b/c:5\na/b/d/e:7\na/bc:4\na/bd/x:6\nab:2\nb/x:3\n");
	assert_listing(fx->s, "a", "a/a:3\na/b-:4\na/b/c:5\na/b/d/e:7\na/bc:4\na/bd/x:6\nab:2\n");
	assert_listing(fx->s, "a/", "a/a:3\na/b-:4\na/b/c:5\na/b/d/e:7\na/bc:4\na/bd/x:6\n");
	assert_listing(fx->s, "b", "b/x:3\n");
	/* Prefixes that match nothing, including ones no key could have. */
	assert_listing(fx->s, "zzz", "");
	assert_listing(fx->s, "a/x", "");
	assert_listing(fx->s, "a/b/c/", "");
	assert_listing(fx->s, "a/b/cc", "");
	assert_listing(fx->s, "nope/deeper/", "");
	assert_listing(fx->s, "/a", "");
	assert_listing(fx->s, "a//b", "");
	assert_listing(fx->s, "a/./b", "");
}

static void test_list_callback_stops(void **state)
{
	struct fx *fx = *state;
	struct listing l = { .fail_at = 2, .fail_rc = CST_ERETRY };

	put_list_keys(fx->s);
	assert_rc(storage_list(fx->s, "", listing_cb, &l), CST_ERETRY);
	assert_int_equal(l.calls, 2);
	assert_string_equal(cst_error_msg(), "listing callback stops");
	assert_string_equal(l.text, "a/a:3\na/b-:4\n");
	free(l.text);
}

/* ---- list with times ---- */

/* The entries as "key:size:etag\n" lines; every mtime must lie in
 * [lo, hi]. */
struct entries {
	char text[1024];
	size_t calls;
	int64_t lo, hi;
	int stop_at;
};

static int entries_cb(void *arg, const struct storage_entry *e)
{
	struct entries *en = arg;
	size_t o = strlen(en->text);

	en->calls++;
	assert_non_null(e->key);
	assert_non_null(e->etag);
	if (e->mtime < en->lo || e->mtime > en->hi)
		fail_msg("%s: mtime %lld outside [%lld, %lld]", e->key, (long long)e->mtime,
			 (long long)en->lo, (long long)en->hi);
	snprintf(en->text + o, sizeof(en->text) - o, "%s:%llu:%s\n", e->key,
		 (unsigned long long)e->size, e->etag);
	if (en->stop_at > 0 && en->calls == (size_t)en->stop_at)
		return cst_error(CST_EINTEGRITY, "entries callback stops");
	return 0;
}

static void test_list_entries(void **state)
{
	struct fx *fx = *state;
	/* A store's clock may differ a little from ours (S3 on another host);
	 * what matters is that the time is the write's, not a constant. */
	struct entries en = { .lo = (int64_t)time(NULL) - 120 };
	struct storage_stat st[3];
	static const char *const keys[] = { "en/a", "en/b/c", "en/d" };
	char want[1024], *path;
	size_t i, o = 0;

	put_str(fx->s, "en/d", "dddd");
	put_str(fx->s, "en/a", "a");
	path = src_file(fx, "enfile", "ccc", 3);
	assert_ok(storage_put_file(fx->s, "en/b/c", path, 0, NULL, NULL));
	put_str(fx->s, "other", "x");
	en.hi = (int64_t)time(NULL) + 120;
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		assert_ok(storage_stat(fx->s, keys[i], &st[i]));
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%s:%llu:%s\n", keys[i],
				      (unsigned long long)st[i].size, st[i].etag);
	}
	/* Same keys, order and sizes as storage_list(); the ETag that stat
	 * reports ("" on a store that keeps none). */
	assert_ok(storage_list_entries(fx->s, "en/", entries_cb, &en));
	assert_string_equal(en.text, want);
	assert_listing(fx->s, "en/", "en/a:1\nen/b/c:3\nen/d:4\n");
	memset(en.text, 0, sizeof(en.text));
	assert_ok(storage_list_entries(fx->s, "nothing/", entries_cb, &en));
	assert_string_equal(en.text, "");

	/* A callback's code stops the listing and comes back unchanged. */
	en.calls = 0;
	en.stop_at = 2;
	assert_rc(storage_list_entries(fx->s, "en/", entries_cb, &en), CST_EINTEGRITY);
	assert_int_equal(en.calls, 2);
	assert_string_equal(cst_error_msg(), "entries callback stops");

	/* The same argument checks as storage_list(). */
	assert_rc(storage_list_entries(fx->s, NULL, entries_cb, &en), CST_EINVALID);
	assert_rc(storage_list_entries(fx->s, "a\nb", entries_cb, &en), CST_EINVALID);
	assert_rc(storage_list_entries(fx->s, "en/", NULL, NULL), CST_EINVALID);
	assert_rc(storage_list_entries(NULL, "", entries_cb, &en), CST_EINVALID);
	free(path);
}

/* ---- errors ---- */

static void test_sink_error_propagates(void **state)
{
	struct fx *fx = *state;
	size_t len = 2 * 1024 * 1024 + 5;
	unsigned char *data = malloc(len);
	struct compare_sink c = { .fail_rc = CST_EINTEGRITY };
	char *path;

	assert_non_null(data);
	fill_pattern(data, len, 7);
	put_str(fx->s, "sink/small", "abc");
	assert_rc(storage_get(fx->s, "sink/small", compare_sink_fn, &c), CST_EINTEGRITY);
	assert_string_equal(cst_error_msg(), "sink says no");
	assert_int_equal(c.calls, 1);

	/* A large object stops at the first failing chunk. */
	path = src_file(fx, "big", data, len);
	assert_ok(storage_put_file(fx->s, "sink/big", path, 0, NULL, NULL));
	c.calls = 0;
	c.fail_rc = CST_EAUTH;
	assert_rc(storage_get(fx->s, "sink/big", compare_sink_fn, &c), CST_EAUTH);
	assert_int_equal(c.calls, 1);
	free(path);
	free(data);
}

static void test_failed_put_file_leaves_nothing(void **state)
{
	struct fx *fx = *state;
	char *missing = cst_path_join(fx->src_dir, "does-not-exist");
	uint64_t size;

	assert_non_null(missing);
	assert_rc(storage_put_file(fx->s, "fail/obj", missing, 0, NULL, NULL), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), missing));
	assert_rc(storage_head(fx->s, "fail/obj", &size), CST_ENOTFOUND);
	assert_listing(fx->s, "", "");

	/* Over an existing object, the old one survives. */
	put_str(fx->s, "fail/obj", "kept");
	assert_rc(storage_put_file(fx->s, "fail/obj", missing, 0, NULL, NULL), CST_ENOTFOUND);
	assert_rc(storage_put_file(fx->s, "fail/obj", missing, STORAGE_PUT_NO_OVERWRITE, NULL, NULL),
		  CST_ENOTFOUND);
	assert_content(fx->s, "fail/obj", "kept");
	assert_listing(fx->s, "", "fail/obj:4\n");
	free(missing);
}

static void test_get_buf_max(void **state)
{
	struct fx *fx = *state;
	char data[100], *got = (char *)"untouched";
	size_t len = 7;

	memset(data, 'm', sizeof(data));
	assert_ok(storage_put_buf(fx->s, "max/k", data, sizeof(data), 0));
	assert_rc(storage_get_buf(fx->s, "max/k", &got, &len, 99), CST_EINVALID);
	assert_null(got);
	assert_int_equal(len, 0);
	assert_non_null(strstr(cst_error_msg(), "max/k"));
	assert_rc(storage_get_buf(fx->s, "max/k", &got, &len, 0), CST_EINVALID);
	assert_ok(storage_get_buf(fx->s, "max/k", &got, &len, 100));
	assert_int_equal(len, 100);
	assert_memory_equal(got, data, 100);
	assert_int_equal(got[100], '\0');
	free(got);
	assert_ok(storage_get_buf(fx->s, "max/k", &got, NULL, SIZE_MAX));
	free(got);
}

#define CT(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

static const struct CMUnitTest contract_tests[] = {
	CT(test_put_buf_round_trip),
	CT(test_put_file_round_trip_large),
	CT(test_empty_object),
	CT(test_missing_key),
	CT(test_delete),
	CT(test_odd_keys),
	CT(test_invalid_keys),
	CT(test_unknown_provider),
	CT(test_overwrite_replaces),
	CT(test_no_overwrite),
	CT(test_list_prefix),
	CT(test_list_callback_stops),
	CT(test_list_entries),
	CT(test_sink_error_propagates),
	CT(test_failed_put_file_leaves_nothing),
	CT(test_get_buf_max),
};

int contract_run(const struct contract_backend *backend)
{
	const struct {
		const struct CMUnitTest *v;
		size_t n;
	} parts[] = {
		{ contract_tests, ARRAY_LEN(contract_tests) },
		{ contract_mpu_tests, contract_mpu_count },
		{ contract_conc_tests, contract_conc_count },
	};
	struct CMUnitTest *tests;
	char *group = cst_sprintf("storage contract: %s", backend->name);
	size_t i, j, n = 0;
	int failed;

	unsetenv("CASSETTE_STORAGE_TRACE");
	unsetenv("CASSETTE_STORAGE_FAULTS");
	for (i = 0; i < ARRAY_LEN(parts); i++)
		n += parts[i].n;
	if ((tests = calloc(n, sizeof(*tests))) == NULL) {
		free(group);
		return (int)n;
	}
	/* The backend reaches each test as its initial state. */
	for (n = 0, i = 0; i < ARRAY_LEN(parts); i++) {
		for (j = 0; j < parts[i].n; j++, n++) {
			tests[n] = parts[i].v[j];
			tests[n].initial_state = (void *)backend;
		}
	}
	failed = _cmocka_run_group_tests(group != NULL ? group : backend->name, tests, n, NULL,
					 NULL);
	free(tests);
	free(group);
	return failed;
}
