/*
 * manifest: turns a backup's records into Medusa-shaped JSON and back. It
 * knows nothing of crypto, storage or commands.
 *
 * manifest.json is an array of tables:
 *   [{"keyspace": K, "columnfamily": "<table>-<id>",
 *     "objects": [{"path", "MD5", "size", "source_MD5", "source_size", "salt"?, "key_id"?}]}]
 * "MD5"/"size" describe the stored object ("MD5" is "" for an encrypted
 * object whose store keeps no ETag, see docs/FORMAT.md), "source_*" the
 * plaintext file,
 * "salt" (64 hex) and "key_id" (16 hex, the master key's id) are present
 * together, and only for encrypted objects.
 */
#ifndef CASSETTE_MANIFEST_H
#define CASSETTE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MANIFEST_MD5_HEX 32
#define MANIFEST_SALT_HEX 64
#define MANIFEST_KEYID_HEX 16
/* MD5 is a hex MD5, or an S3 multipart ETag "<32 hex>-<parts>" (1..5 digits). */
#define MANIFEST_ETAG_MAX 48

struct manifest_object {
	char *path;		/* storage key of the object */
	char md5[MANIFEST_ETAG_MAX + 1];	/* stored object, lowercase; "" only
						 * when encrypted (salt set) */
	uint64_t size;		/* stored object */
	char source_md5[MANIFEST_MD5_HEX + 1];	/* plaintext file, lowercase hex */
	uint64_t source_size;	/* plaintext file */
	char salt[MANIFEST_SALT_HEX + 1];	/* "" when stored in plaintext */
	char key_id[MANIFEST_KEYID_HEX + 1];	/* "" when stored in plaintext */
};

struct manifest_table {
	char *keyspace;
	char *columnfamily;	/* "<table>-<32 hex id>" */
	struct manifest_object *objects;
	size_t n_objects;
	size_t cap_objects;
};

/* Opaque: an ordered list of tables, each with its ordered objects. */
struct manifest;

int manifest_new(struct manifest **out);
/* NULL is a no-op. */
void manifest_free(struct manifest *m);
/*
 * Append a copy of `obj` under (keyspace, columnfamily); the table is created
 * on first use and keeps its first-seen position. The strings are copied and
 * the hex fields lowercased in the copy; `obj` is not touched.
 * CST_EINVALID when a field is malformed: empty or non-UTF-8 keyspace,
 * columnfamily or path, bad MD5/ETag ("" allowed only with a salt),
 * source_md5 not 32 hex, salt neither ""
 * nor 64 hex, or a size above INT64_MAX (JSON readers cannot hold it).
 * On any failure the manifest is unchanged.
 */
int manifest_add(struct manifest *m, const char *keyspace, const char *columnfamily,
		 const struct manifest_object *obj);
size_t manifest_table_count(const struct manifest *m);
/* Borrowed; valid until the manifest is changed or freed. NULL past the end. */
const struct manifest_table *manifest_table_at(const struct manifest *m, size_t i);
/* Total objects and total source bytes (saturating) across all tables. */
size_t manifest_object_count(const struct manifest *m);
uint64_t manifest_source_bytes(const struct manifest *m);

/*
 * Serialize (compact JSON as jansson writes it, keys in the order above,
 * "salt" only when non-empty). *out is NUL-terminated, *len its length (len
 * may be NULL); the caller frees *out with free(). 0, CST_EINVALID or
 * CST_ENOMEM; on failure *out is NULL.
 */
int manifest_dump(const struct manifest *m, char **out, size_t *len);
/*
 * Parse and validate exactly `len` bytes of `json` (no NUL needed). `origin`
 * names the document in error messages ("backup 2024/meta/manifest.json").
 * Malformed JSON (with jansson's line and column), a wrong shape, a missing
 * field or a bad value gives CST_EINVALID with one line naming the origin and
 * the position, counted from 1 ("table 2 (ks.cf) object 5: \"size\" ...").
 * Unknown fields are ignored; a key repeated within one JSON object is
 * refused; a table listed twice is merged into its first position. Hex is
 * lowercased. Objects written by Medusa without source_* fields get
 * source_md5 = md5 and source_size = size when md5 is a plain 32-hex MD5;
 * giving only one of source_MD5/source_size is refused. On success *out is
 * the caller's (manifest_free); on failure it is NULL.
 */
int manifest_parse(struct manifest **out, const char *json, size_t len, const char *origin);

#endif
