/*
 * The local backend's multipart emulation as it looks on disk: where the
 * staging directory lives, that commit and abort leave nothing behind, the
 * conflicts only a directory tree has, and the testing aids on the upload
 * calls.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local_test.h"
#include "scratch.h"

/* The one staging directory in dir/rel ("" when none); caller frees. */
static char *staging_in(const char *dir, const char *rel)
{
	char *path = path_in(dir, rel), *found = NULL;
	struct dirent *e;
	DIR *d = opendir(path);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".cassette-tmp-mpu-") == NULL)
			continue;
		assert_null(found); /* only one */
		found = strdup(e->d_name);
		assert_non_null(found);
	}
	closedir(d);
	free(path);
	return found != NULL ? found : strdup("");
}

/* Send `len` bytes of `buf` as part `no`, with their MD5 unless bad_md5. */
static int part(struct lfx *fx, struct storage_upload *u, unsigned no, const void *buf,
		size_t len, int bad_md5)
{
	unsigned char md5[16];
	char name[32], *path;
	int rc;

	snprintf(name, sizeof(name), "src-part-%u", no);
	scratch_write(fx->dir, name, buf, len);
	path = path_in(fx->dir, name);
	md5_of(md5, buf, len);
	md5[15] ^= (unsigned char)bad_md5;
	rc = storage_upload_part(u, no, path, md5);
	unlink(path);
	free(path);
	return rc;
}

static void open_bucket(struct lfx *fx)
{
	fx->cfg.bucket_name = "b";
	lfx_open(fx);
}

static void test_staging_layout(void **state)
{
	struct lfx *fx = *state;
	unsigned char *data = pattern(5 * MIB + 3, 1);
	struct storage_upload *u = NULL;
	char *stage, *want;

	open_bucket(fx);
	assert_ok(storage_upload_begin(&u, fx->s, "x/y/obj.bin", 0));
	stage = staging_in(fx->dir, "b/x/y");
	assert_true(strncmp(stage, "obj.bin.cassette-tmp-mpu-", 25) == 0);
	assert_ok(part(fx, u, 2, data + 5 * MIB, 3, 0));
	assert_ok(part(fx, u, 1, data, 5 * MIB, 0));
	want = cst_sprintf("b\nb/x\nb/x/y\nb/x/y/%s\nb/x/y/%s/part-00001\nb/x/y/%s/part-00002\n",
			   stage, stage, stage);
	assert_tree(fx->dir, want);
	/* The staging directory is no object and no prefix. */
	assert_listing(fx->s, "", "");
	assert_ok(storage_upload_commit(u, 2, NULL));
	storage_upload_free(u);
	assert_tree(fx->dir, "b\nb/x\nb/x/y\nb/x/y/obj.bin\n");
	assert_object(fx->s, "x/y/obj.bin", data, 5 * MIB + 3);
	free(want);
	free(stage);
	free(data);
}

static void test_abort_cleans_up(void **state)
{
	struct lfx *fx = *state;
	struct storage_upload *u = NULL;

	open_bucket(fx);
	put_str(fx->s, "a/keep", "k");
	assert_ok(storage_upload_begin(&u, fx->s, "a/new/deeper/obj", 0));
	assert_ok(part(fx, u, 1, "abc", 3, 0));
	storage_upload_free(u);
	/* Staging gone, and the directories begin made for it too. */
	assert_tree(fx->dir, "b\nb/a\nb/a/keep\n");

	/* A refused part leaves no temp file in the staging directory. */
	assert_ok(storage_upload_begin(&u, fx->s, "a/obj", 0));
	assert_rc(part(fx, u, 1, "abc", 3, 1), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "MD5 mismatch"));
	{
		char *stage = staging_in(fx->dir, "b/a"), *want;

		want = cst_sprintf("b\nb/a\nb/a/keep\nb/a/%s\n", stage);
		assert_tree(fx->dir, want);
		free(want);
		free(stage);
	}
	storage_upload_free(u);
	assert_tree(fx->dir, "b\nb/a\nb/a/keep\n");
}

/* What a directory cannot hold, refused as for a plain put. */
static void test_local_conflicts(void **state)
{
	struct lfx *fx = *state;
	struct storage_upload *u = (struct storage_upload *)fx;
	char seg[256], key[300];

	open_bucket(fx);
	put_str(fx->s, "f", "file");
	put_str(fx->s, "d/x", "below");
	assert_rc(storage_upload_begin(&u, fx->s, "f/x", 0), CST_EINVALID);
	assert_null(u);
	assert_rc(storage_upload_begin(&u, fx->s, "k.cassette-tmp-1", 0), CST_EINVALID);
	assert_ok(storage_upload_begin(&u, fx->s, "d", 0));
	assert_ok(part(fx, u, 1, "abc", 3, 0));
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EINVALID);
	storage_upload_free(u);
	assert_tree(fx->dir, "b\nb/d\nb/d/x\nb/f\n");

	/* The longest segment still gets a staging name that fits. */
	memset(seg, 's', 255);
	seg[255] = '\0';
	snprintf(key, sizeof(key), "long/%s", seg);
	assert_ok(storage_upload_begin(&u, fx->s, key, 0));
	assert_ok(part(fx, u, 1, "long", 4, 0));
	assert_ok(storage_upload_commit(u, 1, NULL));
	storage_upload_free(u);
	assert_content(fx->s, key, "long");
}

static void test_upload_trace_and_faults(void **state)
{
	struct lfx *fx = *state;
	char *trace = path_in(fx->dir, "trace.log"), *text;
	struct storage_upload *u = NULL;

	setenv("CASSETTE_STORAGE_TRACE", trace, 1);
	setenv("CASSETTE_STORAGE_FAULTS", "upload_part:1:retry,upload_commit:1,upload_begin:3:auth",
	       1);
	fx->cfg.retry_base_ms = 1;
	open_bucket(fx);
	unsetenv("CASSETTE_STORAGE_TRACE");
	unsetenv("CASSETTE_STORAGE_FAULTS");

	/* A retried part, then a commit that fails: free aborts. */
	assert_ok(storage_upload_begin(&u, fx->s, "m k", 0));
	assert_ok(part(fx, u, 1, "abc", 3, 0));
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EIO);
	assert_string_equal(cst_error_msg(), "injected fault: upload_commit m k");
	storage_upload_free(u);
	/* free keeps the caller's error message. */
	assert_string_equal(cst_error_msg(), "injected fault: upload_commit m k");
	assert_tree(fx->dir, "b\ntrace.log\n");

	assert_ok(storage_upload_begin(&u, fx->s, "m k", 0));
	assert_ok(part(fx, u, 1, "abc", 3, 0));
	assert_ok(storage_upload_commit(u, 1, NULL));
	storage_upload_free(u);
	assert_content(fx->s, "m k", "abc");

	u = (struct storage_upload *)fx;
	assert_rc(storage_upload_begin(&u, fx->s, "m k", 0), CST_EAUTH);
	assert_null(u);
	text = read_text(trace);
	/* The retried part's backoff, whose delay is random. */
	{
		char *b = strstr(text, "backoff "), *eol, rest[32];
		unsigned long ms = 99;

		assert_non_null(b);
		assert_non_null(eol = strchr(b, '\n'));
		assert_int_equal(sscanf(b, "backoff %lu %31[^\n]", &ms, rest), 2);
		assert_string_equal(rest, "upload_part m k");
		assert_true(ms <= 1);
		memmove(b, eol + 1, strlen(eol + 1) + 1);
		assert_null(strstr(text, "backoff "));
	}
	assert_string_equal(text, "upload_begin m k\nupload_part m k\n"
				  "upload_part m k\nupload_commit m k\nupload_abort m k\n"
				  "upload_begin m k\nupload_part m k\nupload_commit m k\n"
				  "get m k\nupload_begin m k\n");
	free(text);
	free(trace);
}

/* Sending a part pays the bandwidth limit: 5 MiB at 16 MiB/s >= 0.31 s. */
static void test_part_is_throttled(void **state)
{
	struct lfx *fx = *state;
	unsigned char *data = pattern(5 * MIB, 2);
	struct storage_upload *u = NULL;
	struct timespec t0, t1;
	double took;

	fx->cfg.max_bandwidth = 16 * MIB;
	open_bucket(fx);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_ok(storage_upload_begin(&u, fx->s, "slow", 0));
	assert_ok(part(fx, u, 1, data, 5 * MIB, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	storage_upload_free(u);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("5 MiB part at 16 MiB/s: %.3f s\n", took);
	if (took < 0.25)
		fail_msg("a 5 MiB part at 16 MiB/s took only %.3f s", took);
	free(data);
}

const struct CMUnitTest local_mpu_tests[] = {
	LT(test_staging_layout),
	LT(test_abort_cleans_up),
	LT(test_local_conflicts),
	LT(test_upload_trace_and_faults),
	LT(test_part_is_throttled),
};

const size_t local_mpu_count = ARRAY_LEN(local_mpu_tests);
