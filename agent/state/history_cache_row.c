/*
 * history_cache: how a row of the history cache holds a record, and the
 * checksum each row carries (docs/FORMAT.md, "The history cache").
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <string.h>

static unsigned char *put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		*p++ = (unsigned char)(v >> (8 * i));
	return p;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static unsigned char *put(unsigned char *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

/* What makes two records of one file interchangeable (history.c's rec_same). */
void hcache_kind(unsigned char out[HCACHE_KIND_LEN], const struct manifest_rec *r)
{
	unsigned char *p = put64(out, r->source_size);

	/* an ETag-only record (no source MD5) is told by its ETag */
	p = put(p, r->no_source ? r->md5 : r->source_md5, 16);
	*p++ = (unsigned char)(r->encrypted | r->no_source << 1);
	put(p, r->key_id, 8);
}

void hcache_rec_encode(unsigned char out[HCACHE_REC_LEN], const struct manifest_rec *r)
{
	unsigned char *p = put64(out, r->size);

	p = put64(p, r->source_size);
	p = put(p, r->md5, 16);
	p = put(p, r->source_md5, 16);
	p = put(p, r->salt, 32);
	p = put(p, r->key_id, 8);
	p = put(p, r->etag_tail, 7);
	*p++ = r->encrypted;
	*p = (unsigned char)(r->no_md5 | r->no_source << 1);	/* bit 1: no_source */
}

/* 0, or -1 when the bytes cannot be a record this version wrote. */
int hcache_rec_decode(struct manifest_rec *r, const unsigned char in[HCACHE_REC_LEN])
{
	memset(r, 0, sizeof(*r));
	r->size = get64(in);
	r->source_size = get64(in + 8);
	memcpy(r->md5, in + 16, 16);
	memcpy(r->source_md5, in + 32, 16);
	memcpy(r->salt, in + 48, 32);
	memcpy(r->key_id, in + 80, 8);
	memcpy(r->etag_tail, in + 88, 7);
	r->encrypted = in[95];
	r->no_md5 = in[96] & 1;
	r->no_source = (in[96] >> 1) & 1;
	if (r->etag_tail[6] != '\0' || r->encrypted > 1 || in[96] > 3)
		return -1;
	return 0;
}

/* FNV-1a 64 over the fields of a row: damage SQLite's own checks miss makes
 * the cache unusable, never a wrong record. */
struct sum {
	uint64_t h;
};

static void sum_bytes(struct sum *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		s->h = (s->h ^ b[i]) * 0x100000001b3ull;
}

static void sum_u64(struct sum *s, uint64_t v)
{
	unsigned char b[8];

	put64(b, v);
	sum_bytes(s, b, 8);
}

static void sum_str(struct sum *s, const char *str)
{
	if (str == NULL)
		sum_u64(s, UINT64_MAX);
	else
		sum_bytes(s, str, strlen(str) + 1);
}

#define SUM0 { 0xcbf29ce484222325ull }

int64_t hcache_backup_sum(const struct history_seq *b)
{
	struct sum s = SUM0;

	sum_str(&s, b->name);
	sum_u64(&s, (uint64_t)b->started);
	sum_u64(&s, (uint64_t)b->finished);
	sum_u64(&s, b->size);
	return (int64_t)s.h;
}

int64_t hcache_table_sum(uint64_t id, const char *ks, const char *cf)
{
	struct sum s = SUM0;

	sum_u64(&s, id);
	sum_str(&s, ks);
	sum_str(&s, cf);
	return (int64_t)s.h;
}

int64_t hcache_rec_sum(uint64_t tbl, const char *rel, const unsigned char *kind,
		       const unsigned char *rec, const char *path, uint64_t own, uint64_t ord)
{
	struct sum s = SUM0;

	sum_u64(&s, tbl);
	sum_str(&s, rel);
	sum_bytes(&s, kind, HCACHE_KIND_LEN);
	sum_bytes(&s, rec, HCACHE_REC_LEN);
	sum_str(&s, path);
	sum_u64(&s, own);
	sum_u64(&s, ord);
	return (int64_t)s.h;
}
