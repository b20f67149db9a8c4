/*
 * storage/local_int.h: what the local backend's files share (local.c,
 * local_put.c, local_list.c, local_mpu.c). Private to them.
 */
#ifndef CASSETTE_STORAGE_LOCAL_INT_H
#define CASSETTE_STORAGE_LOCAL_INT_H

#include "backend.h"

#include <limits.h>
#include <openssl/types.h>

#define LOCAL_CHUNK (1024 * 1024)
/* Every name the backend makes for itself holds this; list skips them and
 * keys may not contain it. */
#define TMP_MARK ".cassette-tmp-"

struct local_storage {
	struct storage parent;
	char *root; /* absolute, resolved at open */
};

static inline struct local_storage *local_of(struct storage *s)
{
	return (struct local_storage *)s;
}

/* CST_EINVALID for keys a directory tree cannot hold (see local.c). */
int local_check_key(const char *op, const char *key);
/* root/key in *out (caller frees), after the local key checks. */
int local_object_path(char **out, struct local_storage *ls, const char *op, const char *key);
/* mkdir -p `dir`, the directory of `key`; a file in the way is CST_EINVALID. */
int local_make_parents(const char *op, const char *key, const char *dir);
/* Remove the now empty directories of `key` below the root; `path` is
 * root/key (modified) and key_off the offset of the key in it. */
void local_prune_parents(char *path, size_t key_off);
/* A name beside `path` (root/key): the directory part, then up to as much of
 * the basename as fits NAME_MAX with `suffix` (which ends in "XXXXXX" for
 * mkstemp/mkdtemp). *dir gets the directory. Caller frees both. */
int local_temp_name(char **tmp, char **dir, const char *path, const char *suffix);

/* Writes an object's bytes into the temp file `fd`; sets the error slot on
 * failure. */
typedef int (*local_fill_fn)(struct storage *s, int fd, const char *key, const char *tmp,
			     void *arg);
/* Create a temp file beside root/key, fill it, fsync, move it into place
 * (rename, or link for STORAGE_PUT_NO_OVERWRITE: CST_EEXISTS when the key
 * exists), fsync the directory. On failure the temp file is gone. With
 * `take`, that file is hard-linked in as the temp file instead of filling
 * one (fill unused); 1 when it cannot be (another file system): copy then. */
int local_put(struct storage *s, const char *op, const char *key, int flags,
	      local_fill_fn fill, void *arg, const char *take);
/* Make the existing name `reserved` (a temp file of ours) a hard link of
 * `src`, atomically. 0; 1 when the file systems cannot (EXDEV...); or a
 * CST_ code with the slot set. */
int local_link_over(const char *src, const char *reserved);

/* Copy src to dst from their current offsets to the end of src: in the
 * kernel (copy_file_range) when no MD5 is wanted and the file systems allow
 * it, else through a buffer, feeding `md5` when not NULL. `throttle`: pay the
 * bandwidth limit. *copied counts the bytes. 0; or -1 with errno kept and
 * *failed naming the step ("read", "write", "copy") for the caller's
 * message; or a CST_ code with the slot set. */
int local_copy(struct storage *s, int src, int dst, int throttle, EVP_MD_CTX *md5,
	       uint64_t *copied, const char **failed);

/* The ops' put_buf and put_file (local_put.c). */
int local_put_buf(struct storage *s, const char *key, const void *buf, size_t len, int flags);
int local_put_file(struct storage *s, const char *key, const char *path, int flags,
		   const unsigned char *md5, struct storage_stat *out);
int local_list(struct storage *s, const char *prefix, storage_entry_fn cb, void *arg);

int local_mpu_begin(struct storage *s, const char *key, int flags, void **upload);
int local_mpu_part(struct storage *s, void *upload, unsigned part_no, const char *path,
		   const unsigned char md5[16]);
int local_mpu_commit(struct storage *s, void *upload, unsigned n_parts,
		     struct storage_stat *out);
int local_mpu_abort(struct storage *s, void *upload);
void local_mpu_free(struct storage *s, void *upload);
int local_mpu_clean(struct storage *s, const char *prefix, size_t *n);

#endif
