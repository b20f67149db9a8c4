/*
 * The local-directory backend: the contract suite on a scratch directory,
 * then what only this backend promises (on-disk layout, temp files, pruning,
 * the trace and fault testing aids), then a 100k-key listing.
 *
 * The core's own tests (retries, resume, fault grammar, the rate limiter) run
 * here too, in local_core.c: they need a backend, and this one is at hand.
 *
 * Usage: test_storage_local [contract|local|core|large]   (default: all four)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "local_test.h"
#include "scratch.h"

/* ---- the contract fixture ---- */

static int local_setup(struct storage_config *cfg, void **state)
{
	char *dir = scratch_new("storage");

	/* A root that does not exist yet: open must create it. */
	cfg->provider = "local";
	cfg->base_path = dir;
	cfg->bucket_name = "bucket";
	cfg->create = 1;
	*state = dir;
	return 0;
}

static void local_teardown(void *state)
{
	scratch_remove(state);
}

/* The bucket directory holds nothing: no object, no temp file, no staging
 * directory, no empty directory left by a delete or an abort. */
static int local_check_empty(void *state)
{
	char *root = cst_path_join(state, "bucket");
	struct dirent *e;
	DIR *d;
	int left = 0;

	if (root == NULL || (d = opendir(root)) == NULL) {
		free(root);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		fprintf(stderr, "left in %s: %s\n", root, e->d_name);
		left++;
	}
	closedir(d);
	free(root);
	return left;
}

static const struct contract_backend local_backend = {
	.name = "local",
	.setup = local_setup,
	.teardown = local_teardown,
	.check_empty = local_check_empty,
};

/* ---- local-only fixture: a scratch base directory, no bucket ---- */

int lfx_setup(void **state)
{
	struct lfx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	unsetenv("CASSETTE_STORAGE_TRACE");
	unsetenv("CASSETTE_STORAGE_FAULTS");
	fx->dir = scratch_new("storage-local");
	fx->cfg.provider = "local";
	fx->cfg.base_path = fx->dir;
	fx->cfg.create = 1;
	*state = fx;
	return 0;
}

int lfx_teardown(void **state)
{
	struct lfx *fx = *state;

	unsetenv("CASSETTE_STORAGE_TRACE");
	unsetenv("CASSETTE_STORAGE_FAULTS");
	storage_close(fx->s);
	scratch_remove(fx->dir);
	free(fx);
	return 0;
}

void lfx_open(struct lfx *fx)
{
	storage_close(fx->s);
	fx->s = NULL;
	assert_ok(storage_open(&fx->s, &fx->cfg));
}

char *path_in(const char *dir, const char *rel)
{
	char *p = cst_path_join(dir, rel);

	assert_non_null(p);
	return p;
}

int exists(const char *dir, const char *rel)
{
	char *p = path_in(dir, rel);
	struct stat st;
	int r = lstat(p, &st) == 0;

	free(p);
	return r;
}

/* Every file and directory under `dir`, relative to it. */
static void tree_walk(const char *dir, const char *rel, char ***names, size_t *n)
{
	char *path = rel[0] ? path_in(dir, rel) : strdup(dir);
	struct dirent *e;
	DIR *d;

	assert_non_null(path);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char *child;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = rel[0] ? cst_sprintf("%s/%s", rel, e->d_name) : strdup(e->d_name);
		assert_non_null(child);
		*names = realloc(*names, (*n + 1) * sizeof(char *));
		assert_non_null(*names);
		(*names)[(*n)++] = child;
		{
			char *full = path_in(dir, child);

			assert_int_equal(lstat(full, &st), 0);
			free(full);
		}
		if (S_ISDIR(st.st_mode))
			tree_walk(dir, child, names, n);
	}
	closedir(d);
	free(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void assert_tree(const char *dir, const char *want)
{
	char **names = NULL, *text = NULL;
	size_t n = 0, i, len = 0;

	tree_walk(dir, "", &names, &n);
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_str);
	text = strdup("");
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		text = realloc(text, len + l + 2);
		assert_non_null(text);
		memcpy(text + len, names[i], l);
		text[len + l] = '\n';
		text[len + l + 1] = '\0';
		len += l + 1;
		free(names[i]);
	}
	free(names);
	if (strcmp(text, want) != 0)
		fail_msg("tree of %s:\n%s\nwant:\n%s", dir, text, want);
	free(text);
}

struct collect {
	size_t n;
	char *last;
	int sorted;
	uint64_t total;
};

static int collect_cb(void *arg, const char *key, uint64_t size)
{
	struct collect *c = arg;

	if (c->last != NULL && strcmp(c->last, key) >= 0)
		c->sorted = 0;
	free(c->last);
	c->last = strdup(key);
	c->n++;
	c->total += size;
	return 0;
}

/* The last key listed under `prefix` (NULL when none); checks the order. */
static char *listing(struct storage *s, const char *prefix)
{
	struct collect c = { .sorted = 1 };

	assert_ok(storage_list(s, prefix, collect_cb, &c));
	assert_true(c.sorted);
	return c.last;
}

char *read_text(const char *path)
{
	char *buf = NULL;

	assert_ok(cst_read_file(&buf, NULL, path, 1 << 20));
	return buf;
}

/* ---- layout ---- */

static void test_layout_and_mode(void **state)
{
	struct lfx *fx = *state;
	char *p, *buf = NULL;
	struct stat st;
	mode_t old = umask(077);

	lfx_open(fx);
	put_str(fx->s, "x/y/z.bin", "zzz");
	umask(old);
	p = path_in(fx->dir, "x/y/z.bin");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_ok(cst_read_file(&buf, NULL, p, 100));
	assert_string_equal(buf, "zzz");
	assert_tree(fx->dir, "x\nx/y\nx/y/z.bin\n");
	free(buf);
	free(p);
}

static void test_base_path_created_and_bucket(void **state)
{
	struct lfx *fx = *state;
	char *base = path_in(fx->dir, "not/yet/there");

	fx->cfg.base_path = base;
	fx->cfg.bucket_name = "my-bucket";
	lfx_open(fx);
	put_str(fx->s, "k", "v");
	assert_true(exists(fx->dir, "not/yet/there/my-bucket/k"));
	assert_tree(fx->dir, "not\nnot/yet\nnot/yet/there\nnot/yet/there/my-bucket\n"
			     "not/yet/there/my-bucket/k\n");

	/* An empty bucket_name means the base itself. */
	fx->cfg.bucket_name = "";
	lfx_open(fx);
	put_str(fx->s, "k2", "v");
	assert_true(exists(fx->dir, "not/yet/there/k2"));
	fx->cfg.base_path = fx->dir;
	free(base);
}

static void test_readers_do_not_create(void **state)
{
	struct lfx *fx = *state;
	char *base = path_in(fx->dir, "typo");
	struct storage_config cfg = { .provider = "local", .base_path = base, .create = 0 };
	struct storage *s = (struct storage *)1;

	assert_rc(storage_open(&s, &cfg), CST_ENOTFOUND);
	assert_null(s);
	assert_non_null(strstr(cst_error_msg(), "does not exist"));
	assert_tree(fx->dir, "");
	free(base);
}

static void test_bad_config(void **state)
{
	struct lfx *fx = *state;
	struct storage_config cfg = { .provider = "local" };
	struct storage *s = NULL;
	char *file;

	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "base_path"));
	cfg.base_path = "";
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	cfg.base_path = fx->dir;
	cfg.bucket_name = "a/b";
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "bucket_name"));
	cfg.bucket_name = "..";
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_null(s);
	/* A base_path that is a file. */
	scratch_write(fx->dir, "plain", "x", 1);
	file = path_in(fx->dir, "plain");
	cfg.base_path = file;
	cfg.bucket_name = NULL;
	assert_true(storage_open(&s, &cfg) < 0);
	assert_null(s);
	free(file);
	assert_tree(fx->dir, "plain\n");
}

/* The contract checks listings; this checks the directory itself. */
static void test_failed_put_leaves_empty_dir(void **state)
{
	struct lfx *fx = *state;
	char *missing = path_in(fx->dir, "nope");

	lfx_open(fx);
	assert_rc(storage_put_file(fx->s, "deep/er/obj", missing, 0, NULL, NULL), CST_ENOTFOUND);
	assert_tree(fx->dir, "");
	put_str(fx->s, "deep/er/obj", "old");
	assert_rc(storage_put_file(fx->s, "deep/er/obj", missing, 0, NULL, NULL), CST_ENOTFOUND);
	assert_rc(storage_put_buf(fx->s, "deep/er/obj", "new", 3, STORAGE_PUT_NO_OVERWRITE),
		  CST_EEXISTS);
	assert_tree(fx->dir, "deep\ndeep/er\ndeep/er/obj\n");
	assert_content(fx->s, "deep/er/obj", "old");
	/* A directory as the source is refused before anything is made. */
	assert_rc(storage_put_file(fx->s, "other/obj", fx->dir, 0, NULL, NULL), CST_EINVALID);
	assert_tree(fx->dir, "deep\ndeep/er\ndeep/er/obj\n");
	free(missing);
}

static void test_temp_files_hidden(void **state)
{
	struct lfx *fx = *state;
	char *last;

	lfx_open(fx);
	put_str(fx->s, "a/x", "x");
	/* What a crash between mkstemp and rename leaves behind. */
	scratch_write(fx->dir, "a/y.cassette-tmp-Ab12Cd", "partial", 7);
	scratch_write(fx->dir, "z.cassette-tmp-000000", "partial", 7);
	last = listing(fx->s, "");
	assert_string_equal(last, "a/x");
	free(last);
	assert_rc(storage_put_buf(fx->s, "a/y.cassette-tmp-Ab12Cd", "x", 1, 0), CST_EINVALID);
	assert_rc(storage_get(fx->s, "a/y.cassette-tmp-Ab12Cd", NULL, NULL), CST_EINVALID);
	{
		uint64_t size;

		assert_rc(storage_head(fx->s, "z.cassette-tmp-000000", &size), CST_EINVALID);
	}
}

/* A handed-over file on the same file system becomes the object itself:
 * same inode, no copy; mode 0644 like any object. */
static void test_handover_links(void **state)
{
	struct lfx *fx = *state;
	struct stat src, obj;
	struct storage_stat got;
	char *path, *objpath;

	lfx_open(fx);
	scratch_write(fx->dir, "srcdir/f.cassette-tmp-src", "handed over", 11);
	path = path_in(fx->dir, "srcdir/f.cassette-tmp-src");
	assert_ok(storage_put_file(fx->s, "h/obj", path, STORAGE_PUT_HANDOVER, NULL, &got));
	assert_int_equal(got.size, 11);
	assert_string_equal(got.etag, "");
	objpath = path_in(fx->dir, "h/obj");
	assert_int_equal(stat(path, &src), 0);
	assert_int_equal(stat(objpath, &obj), 0);
	assert_true(src.st_ino == obj.st_ino && src.st_dev == obj.st_dev);
	assert_int_equal(obj.st_mode & 07777, 0644);
	assert_int_equal(unlink(path), 0);
	assert_content(fx->s, "h/obj", "handed over");
	/* without the flag: a copy */
	scratch_write(fx->dir, "srcdir/g.cassette-tmp-src", "copied", 6);
	free(path);
	path = path_in(fx->dir, "srcdir/g.cassette-tmp-src");
	assert_ok(storage_put_file(fx->s, "h/copy", path, 0, NULL, NULL));
	free(objpath);
	objpath = path_in(fx->dir, "h/copy");
	assert_int_equal(stat(path, &src), 0);
	assert_int_equal(stat(objpath, &obj), 0);
	assert_true(src.st_ino != obj.st_ino);
	free(path);
	free(objpath);
}

static void test_long_segments(void **state)
{
	struct lfx *fx = *state;
	char seg[300], key[600];

	lfx_open(fx);
	/* 255 bytes is the most a directory entry holds; the temp name is cut
	 * to fit. */
	memset(seg, 's', 255);
	seg[255] = '\0';
	snprintf(key, sizeof(key), "d/%s", seg);
	put_str(fx->s, key, "long");
	assert_content(fx->s, key, "long");
	put_str(fx->s, key, "longer");
	assert_content(fx->s, key, "longer");
	assert_ok(storage_put_buf(fx->s, key, "x", 1, 0));
	memset(seg, 's', 256);
	seg[256] = '\0';
	snprintf(key, sizeof(key), "d/%s", seg);
	assert_true(storage_key_is_valid(key));
	assert_rc(storage_put_buf(fx->s, key, "x", 1, 0), CST_EINVALID);
}

/* A key cannot be both an object and a directory of other keys here. */
static void test_file_dir_conflicts(void **state)
{
	struct lfx *fx = *state;
	uint64_t size;
	char *last;

	lfx_open(fx);
	put_str(fx->s, "a", "file");
	put_str(fx->s, "c/d", "below");
	assert_rc(storage_put_buf(fx->s, "a/b", "x", 1, 0), CST_EINVALID);
	assert_rc(storage_put_buf(fx->s, "a/b/c", "x", 1, 0), CST_EINVALID);
	assert_rc(storage_put_buf(fx->s, "c", "x", 1, 0), CST_EINVALID);
	assert_rc(storage_put_buf(fx->s, "c", "x", 1, STORAGE_PUT_NO_OVERWRITE), CST_EINVALID);
	assert_rc(storage_head(fx->s, "a/b", &size), CST_ENOTFOUND);
	assert_rc(storage_head(fx->s, "c", &size), CST_ENOTFOUND);
	assert_ok(storage_delete(fx->s, "a/b"));
	assert_ok(storage_delete(fx->s, "c"));
	assert_content(fx->s, "a", "file");
	assert_content(fx->s, "c/d", "below");
	last = listing(fx->s, "");
	assert_string_equal(last, "c/d");
	free(last);
	assert_tree(fx->dir, "a\nc\nc/d\n");
}

static void test_symlinks_are_not_objects(void **state)
{
	struct lfx *fx = *state;
	char *outside = path_in(fx->dir, "outside"), *root = path_in(fx->dir, "root");
	char *link_path = path_in(root, "link"), *dir_link = path_in(root, "dlink"), *last;
	uint64_t size;

	scratch_write(fx->dir, "outside/secret", "secret", 6);
	fx->cfg.base_path = root;
	lfx_open(fx);
	put_str(fx->s, "real", "r");
	assert_int_equal(symlink("../outside/secret", link_path), 0);
	assert_int_equal(symlink("../outside", dir_link), 0);
	assert_rc(storage_head(fx->s, "link", &size), CST_ENOTFOUND);
	assert_rc(storage_get_buf(fx->s, "link", &last, NULL, 100), CST_ENOTFOUND);
	last = listing(fx->s, "");
	assert_string_equal(last, "real");
	free(last);
	last = listing(fx->s, "dlink/");
	assert_null(last);
	fx->cfg.base_path = fx->dir;
	free(outside);
	free(root);
	free(link_path);
	free(dir_link);
}

static void test_delete_prunes_empty_dirs(void **state)
{
	struct lfx *fx = *state;

	lfx_open(fx);
	put_str(fx->s, "p/q/r/obj", "1");
	put_str(fx->s, "p/keep", "2");
	assert_ok(storage_delete(fx->s, "p/q/r/obj"));
	assert_tree(fx->dir, "p\np/keep\n");
	assert_ok(storage_delete(fx->s, "p/keep"));
	assert_tree(fx->dir, "");
	/* The root itself stays, and stays usable. */
	assert_true(access(fx->dir, F_OK) == 0);
	put_str(fx->s, "p/q/again", "3");
	assert_content(fx->s, "p/q/again", "3");
	/* Deleting a missing key still prunes what is empty. */
	assert_ok(storage_delete(fx->s, "p/q/again"));
	assert_ok(storage_delete(fx->s, "p/q/again"));
	assert_tree(fx->dir, "");
}

static void test_root_removed_under_us(void **state)
{
	struct lfx *fx = *state;
	char *root = path_in(fx->dir, "r"), *last;

	fx->cfg.base_path = root;
	lfx_open(fx);
	assert_ok(cst_remove_tree(root));
	last = listing(fx->s, "");
	assert_null(last);
	put_str(fx->s, "back/again", "x");
	assert_content(fx->s, "back/again", "x");
	fx->cfg.base_path = fx->dir;
	free(root);
}

/* ---- the trace ---- */

static void test_trace(void **state)
{
	struct lfx *fx = *state;
	char *trace = path_in(fx->dir, "trace.log"), *text, *src, *got = NULL;
	struct collect c = { .sorted = 1 };
	uint64_t size;

	fx->cfg.bucket_name = "b";
	src = path_in(fx->dir, "src");
	scratch_write(fx->dir, "src", "file", 4);
	setenv("CASSETTE_STORAGE_TRACE", trace, 1);
	lfx_open(fx);
	unsetenv("CASSETTE_STORAGE_TRACE"); /* read at open, not per call */
	put_str(fx->s, "a/x", "x");
	assert_ok(storage_put_file(fx->s, "a/y", src, 0, NULL, NULL));
	assert_ok(storage_get_buf(fx->s, "a/x", &got, NULL, 10));
	free(got);
	assert_ok(storage_head(fx->s, "a/x", &size));
	assert_ok(storage_list(fx->s, "a/", collect_cb, &c));
	free(c.last);
	c.last = NULL;
	assert_ok(storage_list(fx->s, "", collect_cb, &c));
	free(c.last);
	assert_ok(storage_delete(fx->s, "a/x"));
	assert_rc(storage_head(fx->s, "a/x", &size), CST_ENOTFOUND);
	/* Rejected calls never reach the backend and are not traced. */
	assert_rc(storage_head(fx->s, "/bad", &size), CST_EINVALID);
	text = read_text(trace);
	assert_string_equal(text, "put_buf a/x\nput_file a/y\nget a/x\nhead a/x\nlist a/\n"
				  "list \ndelete a/x\nhead a/x\n");
	free(text);

	/* A second handle appends to the same file. */
	storage_close(fx->s);
	fx->s = NULL;
	setenv("CASSETTE_STORAGE_TRACE", trace, 1);
	lfx_open(fx);
	put_str(fx->s, "z", "z");
	text = read_text(trace);
	assert_non_null(strstr(text, "head a/x\nput_buf z\n"));
	free(text);

	/* A trace file that cannot be opened fails the open. */
	free(trace);
	trace = path_in(fx->dir, "no/such/dir/trace.log");
	setenv("CASSETTE_STORAGE_TRACE", trace, 1);
	storage_close(fx->s);
	fx->s = (struct storage *)&c;
	assert_true(storage_open(&fx->s, &fx->cfg) < 0);
	assert_null(fx->s);
	assert_non_null(strstr(cst_error_msg(), "CASSETTE_STORAGE_TRACE"));
	free(trace);
	free(src);
}

/* ---- injected faults ---- */

static void test_fault_nth_once(void **state)
{
	struct lfx *fx = *state;
	char *text = NULL;

	setenv("CASSETTE_STORAGE_FAULTS", "put_buf:2", 1);
	lfx_open(fx);
	unsetenv("CASSETTE_STORAGE_FAULTS"); /* parsed at open */
	put_str(fx->s, "k1", "1");
	assert_rc(storage_put_buf(fx->s, "k2", "2", 1, 0), CST_EIO);
	assert_string_equal(cst_error_msg(), "injected fault: put_buf k2");
	put_str(fx->s, "k3", "3");
	put_str(fx->s, "k4", "4");
	/* Invalid calls do not count. */
	assert_rc(storage_put_buf(fx->s, "", "x", 1, 0), CST_EINVALID);
	assert_content(fx->s, "k1", "1");
	assert_true(exists(fx->dir, "k1"));
	assert_false(exists(fx->dir, "k2"));
	assert_true(exists(fx->dir, "k3"));
	assert_tree(fx->dir, "k1\nk3\nk4\n");

	/* Counters belong to the handle: a new handle starts again. */
	setenv("CASSETTE_STORAGE_FAULTS", "put_buf:2,head:1", 1);
	lfx_open(fx);
	put_str(fx->s, "k5", "5");
	assert_rc(storage_put_buf(fx->s, "k6", "6", 1, 0), CST_EIO);
	{
		uint64_t size;

		assert_rc(storage_head(fx->s, "k5", &size), CST_EIO);
		assert_ok(storage_head(fx->s, "k5", &size));
	}
	assert_ok(storage_get_buf(fx->s, "k5", &text, NULL, 10));
	free(text);
}

static void test_fault_persistent(void **state)
{
	struct lfx *fx = *state;
	char *got = NULL, *src = path_in(fx->dir, "src");
	uint64_t size;
	int i;

	scratch_write(fx->dir, "src", "s", 1);
	fx->cfg.bucket_name = "b";
	setenv("CASSETTE_STORAGE_FAULTS", "get:1+,put_file:2+,list:3+,delete:1", 1);
	lfx_open(fx);
	put_str(fx->s, "k", "v");
	for (i = 0; i < 3; i++) {
		assert_rc(storage_get_buf(fx->s, "k", &got, NULL, 10), CST_EIO);
		assert_null(got);
		assert_string_equal(cst_error_msg(), "injected fault: get k");
	}
	assert_ok(storage_head(fx->s, "k", &size));
	assert_ok(storage_put_file(fx->s, "f1", src, 0, NULL, NULL));
	assert_rc(storage_put_file(fx->s, "f2", src, 0, NULL, NULL), CST_EIO);
	assert_rc(storage_put_file(fx->s, "f3", src, 0, NULL, NULL), CST_EIO);
	free(listing(fx->s, ""));
	free(listing(fx->s, "k"));
	{
		struct collect c = { 0 };

		assert_rc(storage_list(fx->s, "", collect_cb, &c), CST_EIO);
		assert_string_equal(cst_error_msg(), "injected fault: list ");
		assert_int_equal(c.n, 0);
	}
	assert_rc(storage_delete(fx->s, "k"), CST_EIO);
	assert_ok(storage_head(fx->s, "k", &size));
	assert_ok(storage_delete(fx->s, "k"));
	assert_tree(fx->dir, "b\nb/f1\nsrc\n");
	free(src);
}

static void test_fault_malformed(void **state)
{
	struct lfx *fx = *state;
	static const char *const bad[] = {
		"put:x", "put:1", "get", "get:", "get:0", "get:x", "get:1,", ",get:1",
		"get:1++", "get:-1", "get: 1", "get:1 ", "GET:1", "get:+", "get:1+2",
		"get:1,,head:2", "get:12345678901", "get:1:2",
	};
	static const char *const good[] = {
		"get:1", "get:1+", "put_file:3,put_buf:1+,get:2,head:4,list:1,delete:9",
		"get:999999999", "get:1,get:3",
	};
	struct storage *s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("CASSETTE_STORAGE_FAULTS", bad[i], 1);
		s = (struct storage *)fx;
		if (storage_open(&s, &fx->cfg) != CST_EINVALID)
			fail_msg("CASSETTE_STORAGE_FAULTS='%s' was accepted", bad[i]);
		assert_null(s);
		assert_non_null(strstr(cst_error_msg(), "CASSETTE_STORAGE_FAULTS"));
	}
	/* Nothing was created for a refused open. */
	assert_tree(fx->dir, "");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		setenv("CASSETTE_STORAGE_FAULTS", good[i], 1);
		s = NULL;
		if (storage_open(&s, &fx->cfg) != 0)
			fail_msg("CASSETTE_STORAGE_FAULTS='%s': %s", good[i], cst_error_msg());
		storage_close(s);
	}
	/* Empty means off. */
	setenv("CASSETTE_STORAGE_FAULTS", "", 1);
	lfx_open(fx);
	put_str(fx->s, "k", "v");
}

/* get:2 with get:3 on the same op: both fire, once each. */
static void test_fault_multiple_rules(void **state)
{
	struct lfx *fx = *state;
	uint64_t size;

	setenv("CASSETTE_STORAGE_FAULTS", "head:2,head:3", 1);
	lfx_open(fx);
	put_str(fx->s, "k", "v");
	assert_ok(storage_head(fx->s, "k", &size));
	assert_rc(storage_head(fx->s, "k", &size), CST_EIO);
	assert_rc(storage_head(fx->s, "k", &size), CST_EIO);
	assert_ok(storage_head(fx->s, "k", &size));
}

/* ---- many keys ---- */

static void test_list_100k(void **state)
{
	struct lfx *fx = *state;
	enum { DIRS = 100, PER_DIR = 1000 };
	struct collect c = { .sorted = 1 };
	struct timespec t0, t1;
	char path[512];
	int d, f, fd;
	uint64_t want_total = 0;

	lfx_open(fx);
	/* Files made directly: 100k puts would be 200k fsyncs. */
	for (d = 0; d < DIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%03d", fx->dir, d);
		assert_int_equal(mkdir(path, 0755), 0);
		for (f = 0; f < PER_DIR; f++) {
			int size = (d + f) % 5;

			snprintf(path, sizeof(path), "%s/d%03d/f%05d", fx->dir, d, f);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, "abcde", (size_t)size), size);
			close(fd);
			want_total += (uint64_t)size;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_ok(storage_list(fx->s, "", collect_cb, &c));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(c.n, DIRS * PER_DIR);
	assert_true(c.sorted);
	assert_int_equal(c.total, want_total);
	assert_string_equal(c.last, "d099/f00999");
	free(c.last);
	print_message("listed %d keys in %.3f s\n", DIRS * PER_DIR,
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

	/* A prefix reads only the subtree it names. */
	memset(&c, 0, sizeof(c));
	c.sorted = 1;
	assert_ok(storage_list(fx->s, "d042/", collect_cb, &c));
	assert_int_equal(c.n, PER_DIR);
	free(c.last);
	memset(&c, 0, sizeof(c));
	c.sorted = 1;
	assert_ok(storage_list(fx->s, "d04", collect_cb, &c));
	assert_int_equal(c.n, 10 * PER_DIR);
	assert_true(c.sorted);
	assert_string_equal(c.last, "d049/f00999");
	free(c.last);
	memset(&c, 0, sizeof(c));
	assert_ok(storage_list(fx->s, "d042/f001", collect_cb, &c));
	assert_int_equal(c.n, 100);
	free(c.last);
}

/* Keys nest as deep as the 1024-byte limit allows, without recursion. */
static void test_deep_key(void **state)
{
	struct lfx *fx = *state;
	char key[1025], *last;
	size_t i;

	lfx_open(fx);
	for (i = 0; i < 1023; i += 2) {
		key[i] = 'd';
		key[i + 1] = '/';
	}
	key[1023] = 'k';
	key[1024] = '\0';
	put_str(fx->s, key, "deep");
	assert_content(fx->s, key, "deep");
	last = listing(fx->s, "d/d/");
	assert_string_equal(last, key);
	free(last);
	assert_ok(storage_delete(fx->s, key));
	assert_tree(fx->dir, "");
}

struct mtimes {
	char text[256];
};

static int mtimes_cb(void *arg, const struct storage_entry *e)
{
	struct mtimes *m = arg;
	size_t o = strlen(m->text);

	snprintf(m->text + o, sizeof(m->text) - o, "%s:%lld:%s\n", e->key, (long long)e->mtime,
		 e->etag);
	return 0;
}

/* An entry's mtime is its file's, whatever set it: retention ages objects
 * by it. */
static void test_list_entries_mtime(void **state)
{
	struct lfx *fx = *state;
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct mtimes m = { "" };
	char *p;

	lfx_open(fx);
	put_str(fx->s, "m/old", "o");
	put_str(fx->s, "m/new", "n");
	p = path_in(fx->dir, "m/old");
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	ts[0].tv_sec = ts[1].tv_sec = 2000000000;
	free(p);
	p = path_in(fx->dir, "m/new");
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_ok(storage_list_entries(fx->s, "m/", mtimes_cb, &m));
	assert_string_equal(m.text, "m/new:2000000000:\nm/old:1000000000:\n");
	free(p);
}

static const struct CMUnitTest local_tests[] = {
	LT(test_list_entries_mtime),
	LT(test_layout_and_mode),
	LT(test_base_path_created_and_bucket),
	LT(test_readers_do_not_create),
	LT(test_bad_config),
	LT(test_failed_put_leaves_empty_dir),
	LT(test_temp_files_hidden),
	LT(test_handover_links),
	LT(test_long_segments),
	LT(test_file_dir_conflicts),
	LT(test_symlinks_are_not_objects),
	LT(test_delete_prunes_empty_dirs),
	LT(test_root_removed_under_us),
	LT(test_trace),
	LT(test_fault_nth_once),
	LT(test_fault_persistent),
	LT(test_fault_malformed),
	LT(test_fault_multiple_rules),
	LT(test_deep_key),
};

static const struct CMUnitTest large_tests[] = {
	LT(test_list_100k),
};

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "all";
	int all = strcmp(which, "all") == 0, failed = 0;

	if (!all && strcmp(which, "contract") != 0 && strcmp(which, "local") != 0 &&
	    strcmp(which, "core") != 0 && strcmp(which, "large") != 0) {
		fprintf(stderr, "usage: %s [contract|local|core|large]\n", argv[0]);
		return 2;
	}
	if (all || strcmp(which, "contract") == 0)
		failed += contract_run(&local_backend);
	if (all || strcmp(which, "local") == 0) {
		failed += cmocka_run_group_tests_name("storage local", local_tests, NULL, NULL);
		failed += _cmocka_run_group_tests("storage local multipart", local_mpu_tests,
						  local_mpu_count, NULL, NULL);
	}
	if (all || strcmp(which, "core") == 0)
		failed += _cmocka_run_group_tests("storage core", core_tests, core_count, NULL,
						  NULL);
	if (all || strcmp(which, "large") == 0)
		failed += cmocka_run_group_tests_name("storage local large", large_tests, NULL,
						      NULL);
	return failed != 0;
}
