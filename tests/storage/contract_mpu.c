/*
 * The storage contract, part two: storage_stat and multipart upload. Parts
 * use S3's sizes (5 MiB for every part but the last), so the same tests run
 * against the local backend and a real S3 endpoint.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract_int.h"

#define PART (5 * MIB)
/* A key with the characters S3 signing and URL encoding get wrong. */
#define ODD_KEY "mp/with space/a+b=c%2B.bin"

/* ---- helpers ---- */

static int is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A single put's ETag is "" or the MD5 of the content as lowercase hex. */
static void assert_etag_single(const char *etag, const void *buf, size_t len)
{
	unsigned char md5[16];
	char hex[33];

	if (etag[0] == '\0')
		return;
	if (strlen(etag) != 32 || !is_lower_hex(etag, 32))
		fail_msg("etag '%s' is neither '' nor 32 lowercase hex digits", etag);
	md5_of(md5, buf, len);
	cst_hex(hex, md5, 16);
	if (strcmp(etag, hex) != 0)
		fail_msg("etag '%s', want '' or the content's MD5 %s", etag, hex);
}

/* A multipart ETag is "" or S3's "<MD5 of the parts' MD5s>-<n>". */
static void assert_etag_multi(const char *etag, const unsigned char (*md5s)[16], unsigned n)
{
	unsigned char joined[16 * 16], md5[16];
	char want[48];

	if (etag[0] == '\0')
		return;
	assert_true(n <= 16);
	memcpy(joined, md5s, 16 * (size_t)n);
	md5_of(md5, joined, 16 * (size_t)n);
	cst_hex(want, md5, 16);
	snprintf(want + 32, sizeof(want) - 32, "-%u", n);
	if (strcmp(etag, want) != 0)
		fail_msg("multipart etag '%s', want '' or '%s'", etag, want);
}

/* Write `len` bytes as a source file and send them as part `no` with their
 * MD5 (or a wrong one). Returns the call's code. */
static int send_part(struct fx *fx, struct storage_upload *u, unsigned no,
		     const unsigned char *buf, size_t len, int bad_md5)
{
	static unsigned counter;
	unsigned char md5[16];
	char name[64], *path;
	int rc;

	snprintf(name, sizeof(name), "part-%u-%u", no, counter++);
	path = src_file(fx, name, buf, len);
	md5_of(md5, buf, len);
	if (bad_md5)
		md5[0] ^= 1;
	rc = storage_upload_part(u, no, path, md5);
	free(path);
	return rc;
}

static void assert_absent(struct storage *s, const char *key)
{
	struct storage_stat st;

	assert_rc(storage_stat(s, key, &st), CST_ENOTFOUND);
}

/* ---- stat ---- */

static void test_stat(void **state)
{
	struct fx *fx = *state;
	size_t len = 3 * MIB + 5;
	unsigned char *data = pattern(len, 11);
	struct storage_stat st;
	char *path;

	put_str(fx->s, "st/hello", "hello");
	memset(&st, 0x55, sizeof(st));
	assert_ok(storage_stat(fx->s, "st/hello", &st));
	assert_int_equal(st.size, 5);
	assert_true(memchr(st.etag, '\0', sizeof(st.etag)) != NULL);
	assert_etag_single(st.etag, "hello", 5);

	path = src_file(fx, "big", data, len);
	assert_ok(storage_put_file(fx->s, "st/big file+", path, 0, NULL, NULL));
	assert_ok(storage_stat(fx->s, "st/big file+", &st));
	assert_int_equal(st.size, len);
	assert_etag_single(st.etag, data, len);

	assert_ok(storage_put_buf(fx->s, "st/empty", NULL, 0, 0));
	assert_ok(storage_stat(fx->s, "st/empty", &st));
	assert_int_equal(st.size, 0);
	assert_etag_single(st.etag, "", 0);

	assert_rc(storage_stat(fx->s, "st/missing", &st), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "st/missing"));
	assert_rc(storage_stat(fx->s, "st", &st), CST_ENOTFOUND);
	assert_rc(storage_stat(fx->s, "st//x", &st), CST_EINVALID);
	assert_rc(storage_stat(fx->s, "st/hello", NULL), CST_EINVALID);
	assert_rc(storage_stat(NULL, "st/hello", &st), CST_EINVALID);
	free(path);
	free(data);
}

/* ---- multipart ---- */

static void test_mpu_round_trip(void **state)
{
	struct fx *fx = *state;
	size_t sizes[3] = { PART, PART, 17 }, off[3] = { 0, PART, 2 * PART };
	size_t len = 2 * PART + 17;
	unsigned char *data = pattern(len, 21), md5s[3][16];
	struct storage_upload *u = NULL;
	struct storage_stat st;
	char want[128];
	unsigned i;

	for (i = 0; i < 3; i++)
		md5_of(md5s[i], data + off[i], sizes[i]);
	assert_ok(storage_upload_begin(&u, fx->s, ODD_KEY, 0));
	assert_non_null(u);
	/* Any order; a part sent again replaces the first copy. */
	assert_ok(send_part(fx, u, 3, data + off[2], sizes[2], 0));
	assert_ok(send_part(fx, u, 1, data + off[1], sizes[1], 0));
	assert_ok(send_part(fx, u, 1, data + off[0], sizes[0], 0));
	assert_ok(send_part(fx, u, 2, data + off[1], sizes[1], 0));
	/* Nothing is visible before the commit. */
	assert_absent(fx->s, ODD_KEY);
	assert_listing(fx->s, "", "");
	assert_ok(storage_upload_commit(u, 3, NULL));
	storage_upload_free(u);

	assert_ok(storage_stat(fx->s, ODD_KEY, &st));
	assert_int_equal(st.size, len);
	assert_etag_multi(st.etag, (const unsigned char(*)[16])md5s, 3);
	assert_object(fx->s, ODD_KEY, data, len);
	snprintf(want, sizeof(want), "%s:%zu\n", ODD_KEY, len);
	assert_listing(fx->s, "mp/with space/a+", want);
	assert_ok(storage_delete(fx->s, ODD_KEY));
	assert_store_empty(fx);
	free(data);
}

/* The only part is also the last, so it may be small. */
static void test_mpu_single_small_part(void **state)
{
	struct fx *fx = *state;
	struct storage_upload *u = NULL;

	assert_ok(storage_upload_begin(&u, fx->s, "mp/one+part", STORAGE_PUT_NO_OVERWRITE));
	assert_ok(send_part(fx, u, 1, (const unsigned char *)"tiny", 4, 0));
	assert_ok(storage_upload_commit(u, 1, NULL));
	storage_upload_free(u);
	assert_content(fx->s, "mp/one+part", "tiny");
	assert_listing(fx->s, "", "mp/one+part:4\n");
}

static void test_mpu_small_part_not_last(void **state)
{
	struct fx *fx = *state;
	unsigned char *data = pattern(PART + 17, 31);
	struct storage_upload *u = NULL;

	assert_ok(storage_upload_begin(&u, fx->s, "mp/small", 0));
	assert_ok(send_part(fx, u, 1, data, PART - 1, 0));
	assert_ok(send_part(fx, u, 2, data + PART, 17, 0));
	assert_rc(storage_upload_commit(u, 2, NULL), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "part 1"));
	assert_non_null(strstr(cst_error_msg(), "mp/small"));
	assert_absent(fx->s, "mp/small");
	/* The refusal leaves the upload open: a right-sized part 1 fixes it. */
	assert_ok(send_part(fx, u, 1, data, PART, 0));
	assert_ok(storage_upload_commit(u, 2, NULL));
	storage_upload_free(u);
	assert_object(fx->s, "mp/small", data, PART + 17);
	free(data);
}

static void test_mpu_bad_arguments(void **state)
{
	struct fx *fx = *state;
	struct storage_upload *u = (struct storage_upload *)fx;
	unsigned char md5[16] = { 0 };
	char *path = src_file(fx, "p", "x", 1), *missing = cst_path_join(fx->src_dir, "nope");

	assert_non_null(missing);
	assert_rc(storage_upload_begin(&u, fx->s, "a//b", 0), CST_EINVALID);
	assert_null(u);
	assert_rc(storage_upload_begin(&u, fx->s, "ok", 0x40), CST_EINVALID);
	assert_rc(storage_upload_begin(&u, NULL, "ok", 0), CST_EINVALID);
	assert_rc(storage_upload_begin(NULL, fx->s, "ok", 0), CST_EINVALID);
	assert_null(u);

	assert_ok(storage_upload_begin(&u, fx->s, "mp/args", 0));
	md5_of(md5, "x", 1);
	assert_rc(storage_upload_part(u, 0, path, md5), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "part number 0"));
	assert_rc(storage_upload_part(u, 10001, path, md5), CST_EINVALID);
	assert_rc(storage_upload_part(u, UINT_MAX, path, md5), CST_EINVALID);
	assert_rc(storage_upload_part(u, 1, NULL, md5), CST_EINVALID);
	assert_rc(storage_upload_part(u, 1, "", md5), CST_EINVALID);
	assert_rc(storage_upload_part(u, 1, missing, md5), CST_ENOTFOUND);
	assert_rc(storage_upload_part(u, 1, fx->src_dir, md5), CST_EINVALID);
	assert_rc(storage_upload_part(NULL, 1, path, md5), CST_EINVALID);
	assert_rc(storage_upload_commit(u, 0, NULL), CST_EINVALID);
	assert_rc(storage_upload_commit(u, 10001, NULL), CST_EINVALID);
	assert_rc(storage_upload_commit(NULL, 1, NULL), CST_EINVALID);
	/* Part 10000 is the last allowed; committing 1 part now leaves it out. */
	assert_ok(storage_upload_part(u, 1, path, md5));
	assert_ok(storage_upload_part(u, 10000, path, md5));
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "part 10000"));
	storage_upload_free(u);
	storage_upload_free(NULL);
	assert_absent(fx->s, "mp/args");
	assert_store_empty(fx);
	free(path);
	free(missing);
}

static void test_mpu_missing_part(void **state)
{
	struct fx *fx = *state;
	unsigned char *data = pattern(PART, 41);
	struct storage_upload *u = NULL;

	assert_ok(storage_upload_begin(&u, fx->s, "mp/gap", 0));
	assert_ok(send_part(fx, u, 1, data, PART, 0));
	assert_ok(send_part(fx, u, 3, data, PART, 0));
	assert_rc(storage_upload_commit(u, 3, NULL), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "part 2"));
	assert_absent(fx->s, "mp/gap");
	assert_listing(fx->s, "", "");
	/* The missing part may be the last one too. */
	assert_ok(send_part(fx, u, 2, data, PART, 0));
	assert_rc(storage_upload_commit(u, 4, NULL), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "part 4"));
	assert_absent(fx->s, "mp/gap");
	storage_upload_free(u);
	assert_absent(fx->s, "mp/gap");
	assert_store_empty(fx);
	free(data);
}

static void test_mpu_free_aborts(void **state)
{
	struct fx *fx = *state;
	unsigned char *data = pattern(PART, 51);
	struct storage_upload *u = NULL;

	assert_ok(storage_upload_begin(&u, fx->s, "mp/deep/er/aborted", 0));
	assert_ok(send_part(fx, u, 1, data, PART, 0));
	assert_ok(send_part(fx, u, 2, data, 99, 0));
	storage_upload_free(u);
	assert_absent(fx->s, "mp/deep/er/aborted");
	assert_store_empty(fx);

	/* With no part at all. */
	assert_ok(storage_upload_begin(&u, fx->s, "mp/nothing", 0));
	storage_upload_free(u);
	assert_store_empty(fx);
	free(data);
}

static void test_mpu_no_overwrite(void **state)
{
	struct fx *fx = *state;
	struct storage_upload *u = NULL;

	put_str(fx->s, "mp/k", "old");
	assert_ok(storage_upload_begin(&u, fx->s, "mp/k", STORAGE_PUT_NO_OVERWRITE));
	assert_ok(send_part(fx, u, 1, (const unsigned char *)"new content", 11, 0));
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EEXISTS);
	assert_non_null(strstr(cst_error_msg(), "mp/k"));
	/* A failed commit closes the upload. */
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EINVALID);
	assert_rc(send_part(fx, u, 1, (const unsigned char *)"x", 1, 0), CST_EINVALID);
	storage_upload_free(u);
	assert_content(fx->s, "mp/k", "old");
	assert_listing(fx->s, "", "mp/k:3\n");

	/* Without the flag it replaces. */
	assert_ok(storage_upload_begin(&u, fx->s, "mp/k", 0));
	assert_ok(send_part(fx, u, 1, (const unsigned char *)"new content", 11, 0));
	assert_ok(storage_upload_commit(u, 1, NULL));
	/* Committed: no more parts or commits. */
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EINVALID);
	assert_rc(send_part(fx, u, 2, (const unsigned char *)"x", 1, 0), CST_EINVALID);
	storage_upload_free(u);
	assert_content(fx->s, "mp/k", "new content");
	assert_listing(fx->s, "", "mp/k:11\n");
}

/* The store checks each part against the MD5 it was sent with. */
static void test_mpu_md5_mismatch(void **state)
{
	struct fx *fx = *state;
	struct storage_upload *u = NULL;

	assert_ok(storage_upload_begin(&u, fx->s, "mp/md5", 0));
	assert_rc(send_part(fx, u, 1, (const unsigned char *)"payload", 7, 1), CST_EINTEGRITY);
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EINVALID);
	assert_ok(send_part(fx, u, 1, (const unsigned char *)"payload", 7, 0));
	assert_ok(storage_upload_commit(u, 1, NULL));
	storage_upload_free(u);
	assert_content(fx->s, "mp/md5", "payload");
}

/* What a put reports: the size taken and the store's ETag ("" or the MD5 of
 * what it received), with or without an MD5 from the caller; a wrong MD5 is
 * refused and nothing is kept. */
static void test_put_file_reports(void **state)
{
	struct fx *fx = *state;
	size_t len = 2 * MIB + 3;
	unsigned char *data = pattern(len, 5), md5[16];
	struct storage_stat got, st;
	char *path = src_file(fx, "rep", data, len);

	memset(&got, 0x55, sizeof(got));
	assert_ok(storage_put_file(fx->s, "rep/none", path, 0, NULL, &got));
	assert_int_equal(got.size, len);
	assert_true(memchr(got.etag, '\0', sizeof(got.etag)) != NULL);
	assert_etag_single(got.etag, data, len);
	assert_ok(storage_stat(fx->s, "rep/none", &st));
	assert_string_equal(st.etag, got.etag);

	md5_of(md5, data, len);
	assert_ok(storage_put_file(fx->s, "rep/md5", path, 0, md5, &got));
	assert_int_equal(got.size, len);
	assert_etag_single(got.etag, data, len);
	md5[3] ^= 1;
	assert_rc(storage_put_file(fx->s, "rep/bad", path, 0, md5, &got), CST_EINTEGRITY);
	assert_absent(fx->s, "rep/bad");
	assert_object(fx->s, "rep/md5", data, len);
	free(path);
	free(data);
}

/* Parts sent without an MD5: the store builds the object all the same, and
 * commit reports its size and the multipart ETag of what it received. */
static void test_mpu_without_md5(void **state)
{
	struct fx *fx = *state;
	size_t len = PART + 9;
	unsigned char *data = pattern(len, 9), md5s[2][16];
	struct storage_upload *u = NULL;
	struct storage_stat got;
	char *p1 = src_file(fx, "nm1", data, PART), *p2 = src_file(fx, "nm2", data + PART, 9);

	md5_of(md5s[0], data, PART);
	md5_of(md5s[1], data + PART, 9);
	assert_ok(storage_upload_begin(&u, fx->s, "mp/nomd5", 0));
	assert_ok(storage_upload_part(u, 2, p2, NULL));
	assert_ok(storage_upload_part(u, 1, p1, NULL));
	memset(&got, 0x55, sizeof(got));
	assert_ok(storage_upload_commit(u, 2, &got));
	storage_upload_free(u);
	assert_int_equal(got.size, len);
	assert_true(memchr(got.etag, '\0', sizeof(got.etag)) != NULL);
	assert_etag_multi(got.etag, (const unsigned char(*)[16])md5s, 2);
	assert_object(fx->s, "mp/nomd5", data, len);
	free(p1);
	free(p2);
	free(data);
}

/* STORAGE_PUT_HANDOVER: the store may keep the caller's files themselves;
 * a refused put leaves the source as it was, and deleting the sources
 * afterwards changes no object. */
static void test_handover(void **state)
{
	struct fx *fx = *state;
	size_t len = PART + 5;
	unsigned char *data = pattern(len, 21);
	struct storage_upload *u = NULL;
	struct storage_stat got;
	char *whole = src_file(fx, "ho-whole", data, 1000);
	char *p1 = src_file(fx, "ho-1", data, PART), *p2 = src_file(fx, "ho-2", data + PART, 5);

	put_str(fx->s, "ho/taken", "taken");
	assert_rc(storage_put_file(fx->s, "ho/taken", whole,
				   STORAGE_PUT_NO_OVERWRITE | STORAGE_PUT_HANDOVER, NULL, &got),
		  CST_EEXISTS);
	assert_content(fx->s, "ho/taken", "taken");
	assert_ok(storage_put_file(fx->s, "ho/whole", whole, STORAGE_PUT_HANDOVER, NULL, &got));
	assert_int_equal(got.size, 1000);
	assert_ok(storage_upload_begin(&u, fx->s, "ho/multi", STORAGE_PUT_HANDOVER));
	assert_ok(storage_upload_part(u, 1, p1, NULL));
	assert_ok(storage_upload_part(u, 2, p2, NULL));
	assert_ok(storage_upload_commit(u, 2, &got));
	storage_upload_free(u);
	assert_int_equal(got.size, len);
	assert_int_equal(unlink(whole), 0);
	assert_int_equal(unlink(p1), 0);
	assert_int_equal(unlink(p2), 0);
	assert_object(fx->s, "ho/whole", data, 1000);
	assert_object(fx->s, "ho/multi", data, len);
	assert_listing(fx->s, "ho/", "ho/multi:5242885\nho/taken:5\nho/whole:1000\n");
	free(whole);
	free(p1);
	free(p2);
	free(data);
}

/* ---- parts from several threads ---- */

#define MT_THREADS 4
#define MT_PARTS 6

struct part_job {
	struct storage_upload *u;
	pthread_barrier_t *go;
	char *paths[MT_PARTS];
	unsigned char md5s[MT_PARTS][16];
	int first; /* this thread sends parts first, first + 4, ... (0-based) */
	int rc;
	char msg[256];
};

static void *part_thread(void *arg)
{
	struct part_job *j = arg;
	int i;

	pthread_barrier_wait(j->go);
	for (i = j->first; i < MT_PARTS && j->rc == 0; i += MT_THREADS)
		if ((j->rc = storage_upload_part(j->u, (unsigned)i + 1, j->paths[i],
						 j->md5s[i])) != 0)
			snprintf(j->msg, sizeof(j->msg), "part %d: %s", i + 1, cst_error_msg());
	return NULL;
}

static void test_mpu_parallel_parts(void **state)
{
	struct fx *fx = *state;
	size_t len = (MT_PARTS - 1) * PART + 1000;
	unsigned char *data = pattern(len, 61);
	struct part_job jobs[MT_THREADS];
	pthread_t tids[MT_THREADS];
	pthread_barrier_t go;
	char *paths[MT_PARTS], name[32];
	unsigned char md5s[MT_PARTS][16];
	struct storage_upload *u = NULL;
	size_t off, n;
	int i;

	for (i = 0; i < MT_PARTS; i++) {
		off = (size_t)i * PART;
		n = i < MT_PARTS - 1 ? PART : len - off;
		snprintf(name, sizeof(name), "mt-%d", i + 1);
		paths[i] = src_file(fx, name, data + off, n);
		md5_of(md5s[i], data + off, n);
	}
	assert_ok(storage_upload_begin(&u, fx->s, "mp/parallel parts+", 0));
	assert_int_equal(pthread_barrier_init(&go, NULL, MT_THREADS), 0);
	for (i = 0; i < MT_THREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].u = u;
		jobs[i].go = &go;
		jobs[i].first = i;
		memcpy(jobs[i].paths, paths, sizeof(paths));
		memcpy(jobs[i].md5s, md5s, sizeof(md5s));
		assert_int_equal(pthread_create(&tids[i], NULL, part_thread, &jobs[i]), 0);
	}
	for (i = 0; i < MT_THREADS; i++)
		pthread_join(tids[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < MT_THREADS; i++)
		if (jobs[i].rc != 0)
			fail_msg("thread %d: %d %s", i, jobs[i].rc, jobs[i].msg);
	assert_ok(storage_upload_commit(u, MT_PARTS, NULL));
	storage_upload_free(u);
	assert_object(fx->s, "mp/parallel parts+", data, len);
	for (i = 0; i < MT_PARTS; i++)
		free(paths[i]);
	free(data);
}

#define CT(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

const struct CMUnitTest contract_mpu_tests[] = {
	CT(test_stat),
	CT(test_mpu_round_trip),
	CT(test_mpu_single_small_part),
	CT(test_mpu_small_part_not_last),
	CT(test_mpu_bad_arguments),
	CT(test_mpu_missing_part),
	CT(test_mpu_free_aborts),
	CT(test_mpu_no_overwrite),
	CT(test_mpu_md5_mismatch),
	CT(test_put_file_reports),
	CT(test_mpu_without_md5),
	CT(test_handover),
	CT(test_mpu_parallel_parts),
};

const size_t contract_mpu_count = ARRAY_LEN(contract_mpu_tests);
