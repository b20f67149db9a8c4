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
 * An object of Medusa's client-side encryption (a Fernet chunk stream, see
 * fernet.h) is told by its "source_MD5" in base64 (24 characters), as only
 * Medusa's encrypting writer puts it; its plaintext objects carry
 * "source_MD5": null and "source_size": null, read as absent.
 * An object Medusa uploaded in parts to S3 has the store's multipart ETag
 * "<32 hex>-<parts>" as "MD5" and, from Medusa's plaintext writer, no
 * "source_*": the plaintext MD5 is then unknown (`no_source`), and such an
 * entry is written back the same way, without "source_*".
 */
#ifndef CASSETTE_MANIFEST_H
#define CASSETTE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MANIFEST_MD5_HEX 32
/* Medusa's base64 of an MD5 (its encrypted objects' source_MD5) */
#define MANIFEST_MD5_B64 24
#define MANIFEST_SALT_HEX 64
#define MANIFEST_KEYID_HEX 16
/* MD5 is a hex MD5, or an S3 multipart ETag "<32 hex>-<parts>" (1..5 digits). */
#define MANIFEST_ETAG_MAX 48

struct manifest_object {
	char *path;		/* storage key of the object */
	char md5[MANIFEST_ETAG_MAX + 1];	/* stored object, lowercase; "" only
						 * when encrypted (salt set) */
	uint64_t size;		/* stored object */
	char source_md5[MANIFEST_MD5_HEX + 1];	/* plaintext file, lowercase hex;
						 * "" when no_source */
	uint64_t source_size;	/* plaintext file (= size when no_source) */
	char salt[MANIFEST_SALT_HEX + 1];	/* "" when stored in plaintext */
	char key_id[MANIFEST_KEYID_HEX + 1];	/* "" when stored in plaintext */
	uint8_t fernet;		/* 1: Medusa's Fernet chunk stream (no salt then);
				 * "source_MD5" is written back in base64 */
	uint8_t no_source;	/* 1: a plaintext object whose "MD5" is a multipart
				 * ETag and whose source MD5 is unknown (Medusa's,
				 * without "source_*"); written back without them */
};

struct manifest_table {
	char *keyspace;
	char *columnfamily;	/* "<table>-<32 hex id>" */
	struct manifest_object *objects;
	size_t n_objects;
	size_t cap_objects;
};

/*
 * The same object in about half the memory, for callers that hold many (the
 * history of a node, a backup's results): binary digests instead of hex.
 * `path` is not owned by the record; the caller decides where it lives.
 */
struct manifest_rec {
	const char *path;
	uint64_t size, source_size;
	unsigned char md5[16], source_md5[16], salt[32], key_id[8];
	char etag_tail[7];	/* "" for a plain MD5, else "-<parts>" as written (<= 5 digits) */
	uint8_t encrypted;	/* salt and key_id are set */
	uint8_t no_md5;		/* "MD5" is "" (encrypted, store keeps no ETag) */
	uint8_t fernet;		/* Medusa's Fernet chunk stream (manifest_object.fernet) */
	uint8_t no_source;	/* source_md5 unknown (all zero): manifest_object.no_source */
};
/* Pack a valid object (as manifest_add would accept it); path is copied as
 * a pointer. CST_EINVALID naming the field when it is not valid. */
int manifest_rec_pack(struct manifest_rec *out, const struct manifest_object *obj);
/* The object again, exactly as packed; out->path points at rec->path. */
void manifest_rec_unpack(struct manifest_object *out, const struct manifest_rec *rec);

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
 * source_md5 not 32 hex (no_source: not "", or MD5 no multipart ETag, or
 * source_size not size, or encrypted), salt neither ""
 * nor 64 hex, or a size above INT64_MAX (JSON readers cannot hold it).
 * On any failure the manifest is unchanged.
 */
int manifest_add(struct manifest *m, const char *keyspace, const char *columnfamily,
		 const struct manifest_object *obj);
/* The table (keyspace, columnfamily), created empty when new (a manifest may
 * list a table without objects). 0, CST_EINVALID for a bad name, CST_ENOMEM. */
int manifest_add_table(struct manifest *m, const char *keyspace, const char *columnfamily);
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
 * lowercased. Objects written by Medusa without source_* fields (or with
 * both null) get source_md5 = md5 and source_size = size when md5 is a
 * plain 32-hex MD5, and no_source (source_md5 "", source_size = size) when
 * it is a multipart ETag; giving only one of source_MD5/source_size is
 * refused.
 * A base64 source_MD5 (Medusa's) sets `fernet` and is kept as hex. On success *out is
 * the caller's (manifest_free); on failure it is NULL.
 */
int manifest_parse(struct manifest **out, const char *json, size_t len, const char *origin);

/*
 * Streaming read: the same checks and messages as manifest_parse(), but the
 * document is fed in pieces and each record goes to a sink as soon as it is
 * complete, so memory holds one object at a time (at most 16 MiB for any
 * one value), never the document. For each table, `table` (may be NULL) is
 * called once its names are known and checked, then `object` for each of
 * its objects in order; the strings are borrowed for the call. A table
 * listed twice is announced twice. A sink's non-zero return stops the read
 * and is returned. An error is sticky: later calls return it again.
 */
struct manifest_sink {
	int (*table)(void *arg, const char *keyspace, const char *columnfamily);
	int (*object)(void *arg, const struct manifest_object *obj);
	void *arg;
};
struct manifest_reader;
/* `origin` is copied. *out is the caller's (manifest_reader_free). */
int manifest_reader_new(struct manifest_reader **out, const char *origin,
			const struct manifest_sink *sink);
/* The next `len` bytes of the document. 0 or the first error. */
int manifest_reader_feed(struct manifest_reader *r, const void *buf, size_t len);
/* No more input: 0 when the document was complete and valid. */
int manifest_reader_finish(struct manifest_reader *r);
/* NULL is a no-op. */
void manifest_reader_free(struct manifest_reader *r);

/*
 * Streaming write: the bytes manifest_dump() would give for the same adds,
 * handed to `out` in pieces (at most 64 KiB held), so no whole document is
 * ever in memory. Objects must come grouped by table: going back to a table
 * that was left is CST_EINVALID (snapshot order is grouped). Fields are
 * checked as manifest_add() checks them. `out` returns 0 or a CST_ code,
 * which stops the writer (sticky).
 */
typedef int (*manifest_out_fn)(void *arg, const char *buf, size_t len);
struct manifest_writer;
int manifest_writer_new(struct manifest_writer **out, manifest_out_fn fn, void *arg);
int manifest_writer_add(struct manifest_writer *w, const char *keyspace, const char *columnfamily,
			const struct manifest_object *obj);
/* Close the document and flush it. 0 or the first error. */
int manifest_writer_finish(struct manifest_writer *w);
/* NULL is a no-op; freeing without finish just drops the writer. */
void manifest_writer_free(struct manifest_writer *w);

#endif
