/*
 * util: what every module shares -- the error slot, hex, a string pool, safe
 * paths and durable file writes. Nothing here knows about crypto, storage,
 * manifests or commands.
 */
#ifndef CASSETTE_UTIL_H
#define CASSETTE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Error codes. 0 is success; every failure is one of these negatives. */
enum {
	CST_OK = 0,
	CST_ERROR = -1,        /* anything not listed below */
	CST_ENOTFOUND = -2,    /* key, file or backup does not exist */
	CST_EEXISTS = -3,      /* refusing to overwrite */
	CST_EAUTH = -4,        /* wrong key, refused credentials */
	CST_EINTEGRITY = -5,   /* tag mismatch, corrupt or tampered data */
	CST_ERETRY = -6,       /* transient; the caller may retry */
	CST_EIO = -7,          /* a system call failed */
	CST_ENOMEM = -8,
	CST_EINVALID = -9,     /* bad argument, bad input, bad config */
	CST_EUNSUPPORTED = -10 /* unknown version, unimplemented option */
};

/*
 * The error slot is thread-local. Setting it returns `code`, so a failing
 * function can `return cst_error(CST_EINVALID, "...")`.
 */
int cst_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like cst_error() and appends ": strerror(errno)"; the code is derived from
 * errno (ENOENT -> CST_ENOTFOUND, EEXIST -> CST_EEXISTS, ENOMEM -> CST_ENOMEM,
 * everything else CST_EIO). */
int cst_error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message set on this thread ("" when none). Borrowed. */
const char *cst_error_msg(void);
int cst_error_code(void);
void cst_error_clear(void);
/* A short name for a code ("not found", "integrity", ...). Static string. */
const char *cst_error_name(int code);

/* Lowercase hex of `len` bytes into `out` (2*len+1 bytes, NUL-terminated). */
void cst_hex(char *out, const unsigned char *in, size_t len);
/* Parse exactly 2*len lowercase or uppercase hex digits. 0 or CST_EINVALID. */
int cst_unhex(unsigned char *out, size_t len, const char *hex);

/* malloc/strdup that set the error slot on failure. */
void *cst_malloc(size_t n);
void *cst_calloc(size_t n, size_t size);
void *cst_realloc(void *p, size_t n);
char *cst_strdup(const char *s);
/*
 * Make room for one more element in a growable array `arr` holding n of
 * *cap elements: when full, grow geometrically (starting at `first`).
 * Returns the array to use from now on, or NULL (CST_ENOMEM set; `arr` is
 * still valid and owned by the caller).
 */
void *cst_grow(void *arr, size_t *cap, size_t n, size_t elsize, size_t first);
/* asprintf into a fresh string; NULL (and CST_ENOMEM set) on failure. */
char *cst_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A string pool: many small strings copied into large blocks (one malloc per
 * block, not per string), all freed at once by cst_strpool_free(). A string
 * larger than a block gets a block of its own. A zeroed pool is valid and
 * uses a default block size.
 */
struct cst_strpool_block;
struct cst_strpool {
	struct cst_strpool_block *head;	/* newest block first; private */
	size_t block_size;		/* 0: the default */
};
/* An empty pool whose blocks hold block_size bytes (0: the default). */
void cst_strpool_init(struct cst_strpool *p, size_t block_size);
/* A copy of `s` in the pool, valid until cst_strpool_free(); NULL (CST_ENOMEM
 * set) when out of memory. */
char *cst_strpool_dup(struct cst_strpool *p, const char *s);
/* A copy of the first n bytes of `s` (it must hold n) plus a NUL, as above. */
char *cst_strpool_dupn(struct cst_strpool *p, const char *s, size_t n);
/* Free every string of the pool; the pool is empty and usable again. NULL is
 * a no-op. */
void cst_strpool_free(struct cst_strpool *p);

/* Join two path parts with exactly one '/'. Caller frees. */
char *cst_path_join(const char *a, const char *b);
/*
 * A single path component that is safe to create on disk: not empty, not
 * "." or "..", no '/', no NUL, no control characters, at most 255 bytes.
 */
int cst_name_is_safe(const char *name);

/* mkdir -p with mode 0755 (existing directories are fine). */
int cst_mkdirs(const char *path);
/* fsync a directory by path. */
int cst_fsync_dir(const char *dir);
/*
 * Durable replace: write `len` bytes to a temp file beside `path`, fsync it,
 * rename it over `path`, fsync the directory. On failure nothing is left.
 */
int cst_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/* Read a whole regular file, at most `max` bytes (CST_EINVALID if larger).
 * *out is NUL-terminated and owned by the caller. */
int cst_read_file(char **out, size_t *len, const char *path, size_t max);
/* write() all of buf, retrying on EINTR and short writes. */
int cst_write_all(int fd, const void *buf, size_t len);
/* rm -rf; missing is fine. */
int cst_remove_tree(const char *path);

/* Wipe a secret; the compiler may not elide it. */
void cst_wipe(void *p, size_t len);

#endif
