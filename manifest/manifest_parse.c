/*
 * manifest.json, the values: one JSON object into a checked manifest_object,
 * and a whole document into a struct manifest through the streaming reader
 * (manifest_read.c).
 */
#include "manifest_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A JSON string of 1..max bytes with no NUL inside; its value, else NULL. */
const char *manifest_json_str(const json_t *v, size_t max)
{
	size_t n;

	if (!json_is_string(v))
		return NULL;
	n = json_string_length(v);
	if (n == 0 || n > max || strlen(json_string_value(v)) != n)
		return NULL;
	return json_string_value(v);
}

/* A JSON integer >= 0 (reals, strings and negatives are refused). */
static int size_value(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

#define WHY_MD5 "\"MD5\" must be 32 hex digits or an S3 multipart ETag \"<32 hex>-<parts>\""
#define WHY_SOURCE_MD5 "\"source_MD5\" must be 32 hex digits (or Medusa's 24-character base64)"

/* Objects without source_* (Medusa's): the stored bytes are the plaintext.
 * With a multipart ETag for MD5 the plaintext's MD5 is unknown (no_source):
 * a restore proves the ETag itself. */
static const char *source_fallback(struct manifest_object *o)
{
	if (!manifest_etag_check(o->md5, sizeof(o->md5)))
		return WHY_MD5;
	o->source_size = o->size;
	if (strlen(o->md5) != MANIFEST_MD5_HEX) {
		o->no_source = 1;
		return NULL;
	}
	memcpy(o->source_md5, o->md5, sizeof(o->source_md5));
	return NULL;
}

/* Fill `o` from one JSON object (path borrowed from jo); NULL or a reason. */
const char *manifest_object_from_json(const json_t *jo, struct manifest_object *o)
{
	const json_t *smd5, *ssize, *salt, *kid;
	const char *s, *why;

	memset(o, 0, sizeof(*o));
	if (!json_is_object(jo))
		return "must be a JSON object";
	if ((s = manifest_json_str(json_object_get(jo, "path"), SIZE_MAX)) == NULL)
		return "\"path\" must be a non-empty string without NUL";
	o->path = (char *)s;	/* only read, and copied by the sink */
	/* "" is allowed here, and checked with the salt by manifest_object_check:
	 * an encrypted object in a store that keeps no ETag (local) has no MD5. */
	if (json_is_string(json_object_get(jo, "MD5")) &&
	    json_string_length(json_object_get(jo, "MD5")) == 0)
		o->md5[0] = '\0';
	else if ((s = manifest_json_str(json_object_get(jo, "MD5"), MANIFEST_ETAG_MAX)) == NULL)
		return WHY_MD5;
	else
		memcpy(o->md5, s, strlen(s) + 1);
	if (!size_value(json_object_get(jo, "size"), &o->size))
		return "\"size\" must be a non-negative integer";
	smd5 = json_object_get(jo, "source_MD5");
	ssize = json_object_get(jo, "source_size");
	/* Medusa's encrypting version writes both null for a plaintext object */
	if (json_is_null(smd5) && json_is_null(ssize))
		smd5 = ssize = NULL;
	if (smd5 == NULL && ssize == NULL) {
		if ((why = source_fallback(o)) != NULL)
			return why;
	} else if (smd5 == NULL || ssize == NULL) {
		return "\"source_MD5\" and \"source_size\" must be given together";
	} else {
		if ((s = manifest_json_str(smd5, MANIFEST_MD5_HEX)) == NULL)
			return WHY_SOURCE_MD5;
		if (strlen(s) == MANIFEST_MD5_B64) {
			/* base64: only Medusa's encrypting writer, only for a Fernet object */
			if (manifest_md5_from_b64(o->source_md5, s) != 0)
				return WHY_SOURCE_MD5;
			o->fernet = 1;
		} else {
			memcpy(o->source_md5, s, strlen(s) + 1);	/* checked as hex below */
		}
		if (!size_value(ssize, &o->source_size))
			return "\"source_size\" must be a non-negative integer";
	}
	if ((salt = json_object_get(jo, "salt")) != NULL) {
		/* "" is refused too: a writer omits the salt, never empties it */
		if ((s = manifest_json_str(salt, MANIFEST_SALT_HEX)) == NULL ||
		    strlen(s) != MANIFEST_SALT_HEX)
			return "\"salt\" must be 64 hex digits";
		memcpy(o->salt, s, MANIFEST_SALT_HEX + 1);
	}
	if ((kid = json_object_get(jo, "key_id")) != NULL) {
		if ((s = manifest_json_str(kid, MANIFEST_KEYID_HEX)) == NULL ||
		    strlen(s) != MANIFEST_KEYID_HEX)
			return "\"key_id\" must be 16 hex digits";
		memcpy(o->key_id, s, MANIFEST_KEYID_HEX + 1);
	}
	return manifest_object_check(o);
}

/* ---- the whole document into a struct manifest ------------------------------ */

struct build {
	struct manifest *m;
	size_t ti;
};

static int build_table(void *arg, const char *keyspace, const char *columnfamily)
{
	struct build *b = arg;

	/* a table listed twice is merged into its first position */
	return manifest_table_get(b->m, keyspace, columnfamily, &b->ti);
}

static int build_object(void *arg, const struct manifest_object *o)
{
	struct build *b = arg;

	return manifest_table_append(b->m, b->ti, o);
}

int manifest_parse(struct manifest **out, const char *json, size_t len, const char *origin)
{
	struct manifest_sink sink = { build_table, build_object, NULL };
	struct manifest_reader *r = NULL;
	struct build b = { NULL, 0 };
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (json == NULL && len != 0))
		return cst_error(CST_EINVALID, "%s: manifest_parse: no out pointer or no input",
				 origin != NULL ? origin : "manifest");
	sink.arg = &b;
	if ((rc = manifest_new(&b.m)) != 0 || (rc = manifest_reader_new(&r, origin, &sink)) != 0 ||
	    (rc = manifest_reader_feed(r, json != NULL ? json : "", len)) != 0 ||
	    (rc = manifest_reader_finish(r)) != 0)
		goto out;
	*out = b.m;
	b.m = NULL;
out:
	manifest_reader_free(r);
	manifest_free(b.m);
	return rc;
}
