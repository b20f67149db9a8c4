/*
 * manifest internals shared by manifest.c (the records), manifest_json.c
 * (the JSON form), manifest_read.c (the streaming reader) and
 * manifest_parse.c (the values it reads). Not installed, not for other
 * modules.
 */
#ifndef CASSETTE_MANIFEST_INT_H
#define CASSETTE_MANIFEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/*
 * jansson integers are signed 64-bit, so a size above this cannot be written
 * or read back; manifest_add refuses it rather than emit a negative number.
 */
#define MANIFEST_SIZE_MAX ((uint64_t)INT64_MAX)

struct manifest {
	struct manifest_table *tables;
	size_t n_tables;
	size_t cap_tables;
	/* open addressing over (keyspace, columnfamily): table index + 1, 0 = empty */
	size_t *index;
	size_t index_cap;	/* 0 or a power of two, at least 2 * n_tables */
	size_t n_objects;
	uint64_t source_bytes;	/* saturates at UINT64_MAX */
};

/*
 * Validate `o` in place and lowercase its hex fields. NULL when it is fine,
 * else a static reason naming the field, for the caller to prefix with where
 * the object came from.
 */
const char *manifest_object_check(struct manifest_object *o);
/*
 * Check an object about to be added to table (keyspace, columnfamily): both
 * names (manifest_name_check) and `o` (manifest_object_check, which
 * lowercases its hex fields in place). 0, or CST_EINVALID with the message
 * "<who> <ks>.<cf> object '<path>': <reason>".
 */
int manifest_entry_check(const char *who, const char *keyspace, const char *columnfamily,
			 struct manifest_object *o);
/*
 * `field` (an array of fieldsz bytes) holds a NUL-terminated "<32 hex>" or S3
 * multipart ETag "<32 hex>-<1..5 digits>" (not all zero: parts >= 1);
 * lowercases it. 1 if so, else 0.
 */
int manifest_etag_check(char *field, size_t fieldsz);
/* Medusa's base64 MD5 ("<22 chars>==", standard alphabet, canonical) to 32
 * lowercase hex + NUL, and back. 0, or -1 when it is not one. */
int manifest_md5_from_b64(char hex[MANIFEST_MD5_HEX + 1], const char *b64);
int manifest_md5_to_b64(char b64[MANIFEST_MD5_B64 + 1], const char *hex);
/*
 * A keyspace or columnfamily: non-NULL, non-empty, valid UTF-8 (what jansson
 * can write). NULL when fine, else a static reason without the field name.
 */
const char *manifest_name_check(const char *s);
/*
 * Find the table (keyspace, columnfamily), appending an empty one if it is
 * new; *ti is its index. The names must already have passed
 * manifest_name_check. 0 or CST_ENOMEM.
 */
int manifest_table_get(struct manifest *m, const char *keyspace,
		       const char *columnfamily, size_t *ti);
/* Append a copy of an already checked object to table `ti`. 0 or CST_ENOMEM. */
int manifest_table_append(struct manifest *m, size_t ti, const struct manifest_object *o);
struct json_t;	/* jansson's json_t */
/* A JSON string of 1..max bytes with no NUL inside: its value (borrowed from
 * v), else NULL. */
const char *manifest_json_str(const struct json_t *v, size_t max);
/*
 * Fill `o` from one JSON object of a table's "objects" and check it
 * (manifest_object_check). o->path is borrowed from jo. NULL when fine, else
 * a static reason naming the field.
 */
const char *manifest_object_from_json(const struct json_t *jo, struct manifest_object *o);
/*
 * Copy `s` into dst (dstsz >= 8) for an error message: one line, printable
 * ASCII only (others become '?'), cut with "..." when long. Never NULL.
 */
void manifest_printable(char *dst, size_t dstsz, const char *s);

#endif
