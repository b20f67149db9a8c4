/*
 * manifest records: tables in first-seen order, each with its objects in
 * insertion order. Tables are found through a small hash index so a hostile
 * manifest with many tables cannot make loading quadratic.
 */
#include "manifest_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TABLES_MIN 4
#define OBJECTS_MIN 8
#define INDEX_MIN 16

int manifest_new(struct manifest **out)
{
	struct manifest *m = NULL;
	int r = CST_EINVALID;

	if (out == NULL) {
		r = cst_error(CST_EINVALID, "manifest_new: no out pointer");
		goto out;
	}
	*out = NULL;
	if ((m = cst_calloc(1, sizeof(*m))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	*out = m;
	r = 0;
out:
	return r;
}

void manifest_free(struct manifest *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_tables; i++) {
		struct manifest_table *t = &m->tables[i];

		for (j = 0; j < t->n_objects; j++)
			free(t->objects[j].path);
		free(t->objects);
		free(t->keyspace);
		free(t->columnfamily);
	}
	free(m->tables);
	free(m->index);
	free(m);
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The first n chars are hex digits; lowercase them. */
static int hex_lower(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_hex(s[i]))
			return 0;
		if (s[i] >= 'A' && s[i] <= 'F')
			s[i] = (char)(s[i] - 'A' + 'a');
	}
	return 1;
}

/* `field` is a NUL-terminated string of exactly n hex digits. */
static int hex_field(char *field, size_t fieldsz, size_t n)
{
	return memchr(field, '\0', fieldsz) != NULL && strlen(field) == n && hex_lower(field, n);
}

int manifest_etag_check(char *field, size_t fieldsz)
{
	size_t len, i;
	int nonzero = 0;

	if (memchr(field, '\0', fieldsz) == NULL)
		return 0;
	len = strlen(field);
	if (len < MANIFEST_MD5_HEX || !hex_lower(field, MANIFEST_MD5_HEX))
		return 0;
	if (len == MANIFEST_MD5_HEX)
		return 1;
	/* "-<parts>": 1 to 5 digits (kept as written), parts >= 1 */
	if (field[MANIFEST_MD5_HEX] != '-' || len < MANIFEST_MD5_HEX + 2 || len > MANIFEST_MD5_HEX + 6)
		return 0;
	for (i = MANIFEST_MD5_HEX + 1; i < len; i++) {
		if (field[i] < '0' || field[i] > '9')
			return 0;
		nonzero |= field[i] != '0';
	}
	return nonzero;
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp, min;
	size_t n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			n = 1, cp = *p & 0x1f, min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2, cp = *p & 0x0f, min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3, cp = *p & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		/* a NUL terminator fails the continuation test, so no overrun */
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int manifest_md5_from_b64(char hex[MANIFEST_MD5_HEX + 1], const char *b64)
{
	unsigned char raw[18];
	size_t i, o = 0;

	if (strlen(b64) != MANIFEST_MD5_B64 || strcmp(b64 + 22, "==") != 0)
		return -1;
	for (i = 0; i < 24; i += 4) {
		uint32_t w = 0;
		int k;

		for (k = 0; k < 4; k++) {
			const char *p = b64[i + k] == '=' ? NULL : strchr(B64, b64[i + k]);

			if (b64[i + k] != '=' && (p == NULL || *p == '\0'))
				return -1;
			w = w << 6 | (p != NULL ? (uint32_t)(p - B64) : 0);
		}
		raw[o++] = (unsigned char)(w >> 16);
		raw[o++] = (unsigned char)(w >> 8);
		raw[o++] = (unsigned char)w;
	}
	if (raw[16] != 0 || raw[17] != 0)	/* canonical: the unused bits are 0 */
		return -1;
	cst_hex(hex, raw, 16);
	return 0;
}

int manifest_md5_to_b64(char b64[MANIFEST_MD5_B64 + 1], const char *hex)
{
	unsigned char raw[18] = { 0 };
	size_t i, o = 0;

	if (cst_unhex(raw, 16, hex) != 0)
		return -1;
	for (i = 0; i < 18; i += 3) {
		uint32_t w = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

		b64[o++] = B64[w >> 18 & 63];
		b64[o++] = B64[w >> 12 & 63];
		b64[o++] = B64[w >> 6 & 63];
		b64[o++] = B64[w & 63];
	}
	b64[22] = b64[23] = '=';
	b64[24] = '\0';
	return 0;
}

const char *manifest_name_check(const char *s)
{
	if (s == NULL || *s == '\0')
		return "must be a non-empty string";
	if (!utf8_valid(s))
		return "is not valid UTF-8";
	return NULL;
}

const char *manifest_object_check(struct manifest_object *o)
{
	if (o->path == NULL || o->path[0] == '\0')
		return "\"path\" must be a non-empty string";
	if (!utf8_valid(o->path))
		return "\"path\" is not valid UTF-8";
	if (!manifest_etag_check(o->md5, sizeof(o->md5)) &&
	    !(o->md5[0] == '\0' && o->salt[0] != '\0'))
		return "\"MD5\" must be 32 hex digits or an S3 multipart ETag \"<32 hex>-<parts>\" "
		       "(or \"\" for an encrypted object)";
	if (o->size > MANIFEST_SIZE_MAX)
		return "\"size\" must be a non-negative integer below 2^63";
	if (o->no_source > 1)
		return "no_source must be 0 or 1";
	if (o->no_source) {
		/* Medusa's plaintext object uploaded in parts: only its ETag is known */
		if (strlen(o->md5) <= MANIFEST_MD5_HEX)
			return "without \"source_MD5\" an object's \"MD5\" is a plain MD5 "
			       "(source_MD5 is then the same) or a multipart ETag";
		if (o->source_md5[0] != '\0' || o->source_size != o->size)
			return "an object without \"source_MD5\" has no source MD5, and its "
			       "source size is its size";
		if (o->salt[0] != '\0' || o->fernet)
			return "an encrypted object needs \"source_MD5\" and \"source_size\"";
	} else if (!hex_field(o->source_md5, sizeof(o->source_md5), MANIFEST_MD5_HEX)) {
		return "\"source_MD5\" must be 32 hex digits";
	}
	if (o->source_size > MANIFEST_SIZE_MAX)
		return "\"source_size\" must be a non-negative integer below 2^63";
	if (memchr(o->salt, '\0', sizeof(o->salt)) == NULL ||
	    (o->salt[0] != '\0' && !hex_field(o->salt, sizeof(o->salt), MANIFEST_SALT_HEX)))
		return "\"salt\" must be 64 hex digits";
	if (memchr(o->key_id, '\0', sizeof(o->key_id)) == NULL ||
	    (o->key_id[0] != '\0' && !hex_field(o->key_id, sizeof(o->key_id), MANIFEST_KEYID_HEX)))
		return "\"key_id\" must be 16 hex digits";
	if ((o->salt[0] == '\0') != (o->key_id[0] == '\0'))
		return "\"salt\" and \"key_id\" must be given together";
	if (o->fernet > 1 || (o->fernet && o->salt[0] != '\0'))
		return "an object is not both Medusa-encrypted (base64 \"source_MD5\") and "
		       "cassette-encrypted (\"salt\")";
	return NULL;
}

void manifest_printable(char *dst, size_t dstsz, const char *s)
{
	size_t i = 0;

	if (s == NULL)
		s = "(null)";
	for (; *s != '\0' && i + 1 < dstsz; s++, i++)
		dst[i] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s != '\0')
		memcpy(dst + dstsz - 4, "...", 3);
	dst[i] = '\0';
}

/* FNV-1a; 0xff cannot occur in UTF-8 so it separates the two names. */
static size_t name_hash(const char *keyspace, const char *columnfamily)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)keyspace; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (p = (const unsigned char *)columnfamily; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32));
}

/* The slot holding (keyspace, columnfamily), or the empty slot where it goes. */
static size_t index_slot(const struct manifest *m, const char *keyspace, const char *columnfamily)
{
	size_t mask = m->index_cap - 1, i = name_hash(keyspace, columnfamily) & mask;

	while (m->index[i] != 0) {
		const struct manifest_table *t = &m->tables[m->index[i] - 1];

		if (strcmp(t->keyspace, keyspace) == 0 && strcmp(t->columnfamily, columnfamily) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int index_grow(struct manifest *m)
{
	size_t *old = m->index, old_cap = m->index_cap, cap, i;
	int r = CST_ENOMEM;

	cap = old_cap ? old_cap * 2 : INDEX_MIN;
	if (cap < old_cap || cap > SIZE_MAX / sizeof(*m->index)) {
		r = cst_error(CST_ENOMEM, "manifest: too many tables");
		goto out;
	}
	if ((m->index = cst_calloc(cap, sizeof(*m->index))) == NULL) {
		m->index = old;
		goto out;
	}
	m->index_cap = cap;
	for (i = 0; i < m->n_tables; i++)
		m->index[index_slot(m, m->tables[i].keyspace, m->tables[i].columnfamily)] = i + 1;
	free(old);
	r = 0;
out:
	return r;
}

/*
 * Make room for one more element in a geometric array: *out is the array to
 * use (arr itself when no growth was needed), NULL on failure with arr intact.
 */
static int grow(void **out, void *arr, size_t *cap, size_t n, size_t elem, size_t min)
{
	size_t ncap;
	int r = 0;

	*out = arr;
	if (n < *cap)
		goto out;
	ncap = *cap ? *cap * 2 : min;
	if (ncap < *cap || ncap > SIZE_MAX / elem) {
		r = cst_error(CST_ENOMEM, "manifest: too many entries");
		goto out;
	}
	if ((*out = cst_realloc(arr, ncap * elem)) == NULL) {
		*out = arr;
		r = CST_ENOMEM;
		goto out;
	}
	*cap = ncap;
out:
	return r;
}

int manifest_table_get(struct manifest *m, const char *keyspace, const char *columnfamily,
		       size_t *ti)
{
	struct manifest_table *t;
	size_t slot;
	void *p;
	int r;

	if ((m->n_tables + 1) * 2 > m->index_cap && (r = index_grow(m)) != 0)
		goto out;
	slot = index_slot(m, keyspace, columnfamily);
	if (m->index[slot] != 0) {
		*ti = m->index[slot] - 1;
		r = 0;
		goto out;
	}
	r = grow(&p, m->tables, &m->cap_tables, m->n_tables, sizeof(*m->tables), TABLES_MIN);
	m->tables = p;
	if (r != 0)
		goto out;
	t = &m->tables[m->n_tables];
	memset(t, 0, sizeof(*t));
	t->keyspace = cst_strdup(keyspace);
	t->columnfamily = cst_strdup(columnfamily);
	if (t->keyspace == NULL || t->columnfamily == NULL) {
		free(t->keyspace);
		free(t->columnfamily);
		r = CST_ENOMEM;
		goto out;
	}
	m->index[slot] = ++m->n_tables;
	*ti = m->n_tables - 1;
	r = 0;
out:
	return r;
}

int manifest_table_append(struct manifest *m, size_t ti, const struct manifest_object *o)
{
	struct manifest_table *t = &m->tables[ti];
	char *path = NULL;
	void *p;
	int r;

	if ((path = cst_strdup(o->path)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	r = grow(&p, t->objects, &t->cap_objects, t->n_objects, sizeof(*t->objects), OBJECTS_MIN);
	t->objects = p;
	if (r != 0)
		goto out;
	t->objects[t->n_objects] = *o;
	t->objects[t->n_objects++].path = path;
	path = NULL;
	m->n_objects++;
	m->source_bytes = (m->source_bytes > UINT64_MAX - o->source_size) ?
				  UINT64_MAX : m->source_bytes + o->source_size;
out:
	free(path);
	return r;
}

int manifest_entry_check(const char *who, const char *keyspace, const char *columnfamily,
			 struct manifest_object *o)
{
	char ks[64], cf[96], path[128];
	const char *field = "", *why;

	if ((why = manifest_name_check(keyspace)) != NULL)
		field = "\"keyspace\" ";
	else if ((why = manifest_name_check(columnfamily)) != NULL)
		field = "\"columnfamily\" ";
	else
		why = manifest_object_check(o);
	if (why == NULL)
		return 0;
	manifest_printable(ks, sizeof(ks), keyspace);
	manifest_printable(cf, sizeof(cf), columnfamily);
	manifest_printable(path, sizeof(path), o->path);
	return cst_error(CST_EINVALID, "%s %s.%s object '%s': %s%s", who, ks, cf, path, field, why);
}

int manifest_add(struct manifest *m, const char *keyspace, const char *columnfamily,
		 const struct manifest_object *obj)
{
	struct manifest_object o;
	size_t ti;
	int r;

	if (m == NULL || obj == NULL) {
		r = cst_error(CST_EINVALID, "manifest_add: no manifest or no object");
		goto out;
	}
	o = *obj;
	if ((r = manifest_entry_check("manifest_add", keyspace, columnfamily, &o)) != 0)
		goto out;
	if ((r = manifest_table_get(m, keyspace, columnfamily, &ti)) != 0)
		goto out;
	r = manifest_table_append(m, ti, &o);
out:
	return r;
}

int manifest_add_table(struct manifest *m, const char *keyspace, const char *columnfamily)
{
	char ks[64], cf[96];
	const char *why;
	size_t ti;

	if (m == NULL)
		return cst_error(CST_EINVALID, "manifest_add_table: no manifest");
	if ((why = manifest_name_check(keyspace)) != NULL ||
	    (why = manifest_name_check(columnfamily)) != NULL) {
		manifest_printable(ks, sizeof(ks), keyspace);
		manifest_printable(cf, sizeof(cf), columnfamily);
		return cst_error(CST_EINVALID, "manifest_add_table %s.%s: a name %s", ks, cf, why);
	}
	return manifest_table_get(m, keyspace, columnfamily, &ti);
}

size_t manifest_table_count(const struct manifest *m)
{
	return m == NULL ? 0 : m->n_tables;
}

const struct manifest_table *manifest_table_at(const struct manifest *m, size_t i)
{
	return (m == NULL || i >= m->n_tables) ? NULL : &m->tables[i];
}

size_t manifest_object_count(const struct manifest *m)
{
	return m == NULL ? 0 : m->n_objects;
}

uint64_t manifest_source_bytes(const struct manifest *m)
{
	return m == NULL ? 0 : m->source_bytes;
}

int manifest_rec_pack(struct manifest_rec *out, const struct manifest_object *obj)
{
	struct manifest_object o = *obj;
	char path[128];
	const char *why;

	memset(out, 0, sizeof(*out));
	if ((why = manifest_object_check(&o)) != NULL) {
		manifest_printable(path, sizeof(path), o.path);
		return cst_error(CST_EINVALID, "object '%s': %s", path, why);
	}
	out->path = obj->path;
	out->size = o.size;
	out->source_size = o.source_size;
	/* checked above: the hex is well formed, so these cannot fail */
	if (o.md5[0] == '\0') {	/* encrypted, in a store that keeps no ETag */
		out->no_md5 = 1;
	} else {
		/* the check allows at most "-" and 5 digits after the MD5 */
		memcpy(out->etag_tail, o.md5 + MANIFEST_MD5_HEX, strlen(o.md5 + MANIFEST_MD5_HEX) + 1);
		o.md5[MANIFEST_MD5_HEX] = '\0';
		cst_unhex(out->md5, 16, o.md5);
	}
	if (!o.no_source)
		cst_unhex(out->source_md5, 16, o.source_md5);
	out->no_source = o.no_source;
	out->fernet = o.fernet;
	if (o.salt[0] != '\0') {
		out->encrypted = 1;
		cst_unhex(out->salt, 32, o.salt);
		cst_unhex(out->key_id, 8, o.key_id);
	}
	return 0;
}

void manifest_rec_unpack(struct manifest_object *out, const struct manifest_rec *rec)
{
	memset(out, 0, sizeof(*out));
	out->path = (char *)rec->path;
	out->size = rec->size;
	out->source_size = rec->source_size;
	if (!rec->no_md5) {
		cst_hex(out->md5, rec->md5, 16);
		memcpy(out->md5 + MANIFEST_MD5_HEX, rec->etag_tail, strlen(rec->etag_tail) + 1);
	}
	if (!rec->no_source)
		cst_hex(out->source_md5, rec->source_md5, 16);
	out->no_source = rec->no_source;
	out->fernet = rec->fernet;
	if (rec->encrypted) {
		cst_hex(out->salt, rec->salt, 32);
		cst_hex(out->key_id, rec->key_id, 8);
	}
}
