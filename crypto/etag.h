/*
 * etag: proves an object against an S3 multipart ETag, "<MD5 of the
 * concatenated part MD5s>-<parts>", while it streams past once. The part
 * size is not recorded (Medusa keeps only the ETag), so it is derived from
 * the part count and the object's size: a few candidate part sizes, each
 * with its own MD5 contexts over the same bytes, and the ETag holds when one
 * of them gives it (docs/FORMAT.md, "Medusa and cassette").
 */
#ifndef CASSETTE_ETAG_H
#define CASSETTE_ETAG_H

#include <stddef.h>
#include <stdint.h>

#define ETAG_MAX_CANDIDATES 4
/* The part size of a single-part ETag: the whole object is the part. */
#define ETAG_WHOLE UINT64_MAX

/*
 * The part sizes tried for an object of `size` bytes in `parts` parts, in
 * this order, each kept only when ceil(size / part) == parts and not
 * already listed: 8 MiB doubled while it would give more than 10,000 parts
 * (boto3's default chunk size and its adjustment, what Medusa uploads
 * with); each power of two from 8 MiB to 4 GiB (a configured
 * multipart_chunksize); the smallest whole MiB. One part: ETAG_WHOLE only.
 * Returns how many (0: no part size gives `parts` parts of `size` bytes).
 */
size_t etag_candidates(uint64_t size, unsigned parts, uint64_t out[ETAG_MAX_CANDIDATES]);

struct etag_prover;
/* A prover for an object of `size` bytes whose ETag has `parts` parts.
 * CST_EINTEGRITY when no part size can give that (the message says so,
 * naming `what`), CST_ENOMEM, CST_EUNSUPPORTED (no MD5). */
int etag_prover_new(struct etag_prover **out, uint64_t size, unsigned parts, const char *what);
/* The next bytes of the object, fed to every candidate. 0 or a CST_ code. */
int etag_prover_update(struct etag_prover *e, const void *buf, size_t len);
/*
 * After the last byte: 1 when a candidate's ETag MD5 is `want` (16 bytes)
 * with `parts` parts (*part_size, may be NULL, gets its part size), 0 when
 * none is, or a negative CST_ code. Call once.
 */
int etag_prover_match(struct etag_prover *e, const unsigned char want[16], uint64_t *part_size);
/* NULL is a no-op. */
void etag_prover_free(struct etag_prover *e);

/* The ETag a part size gives, in one call over a buffer (tests). */
int etag_of_buffer(const void *buf, size_t len, uint64_t part_size, unsigned char out[16],
		   unsigned *parts);

#endif
