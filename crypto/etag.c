/* etag: S3 multipart ETags recomputed in one pass; see etag.h. */
#include "etag.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)
#define BOTO_CHUNK (8 * MIB)	/* boto3 TransferConfig's multipart_chunksize */
#define BOTO_MAX_PARTS 10000	/* s3transfer doubles the chunk size above this */
#define POW2_MAX (UINT64_C(4) << 30)

static uint64_t parts_of(uint64_t size, uint64_t part)
{
	return size / part + (size % part != 0);
}

static size_t add(uint64_t *out, size_t n, uint64_t size, unsigned parts, uint64_t p)
{
	size_t i;

	if (n == ETAG_MAX_CANDIDATES || p == 0 || parts_of(size, p) != parts)
		return n;
	for (i = 0; i < n; i++) {
		if (out[i] == p)
			return n;
	}
	out[n] = p;
	return n + 1;
}

size_t etag_candidates(uint64_t size, unsigned parts, uint64_t out[ETAG_MAX_CANDIDATES])
{
	uint64_t p, lo;
	size_t n = 0;

	if (parts == 0)
		return 0;
	if (parts == 1) {	/* one part of any size (an empty object too) */
		out[0] = ETAG_WHOLE;
		return 1;
	}
	if (size < parts)	/* every part but the last holds at least a byte */
		return 0;
	for (p = BOTO_CHUNK; parts_of(size, p) > BOTO_MAX_PARTS; p *= 2)
		;
	n = add(out, n, size, parts, p);
	for (p = BOTO_CHUNK; p <= POW2_MAX; p *= 2)
		n = add(out, n, size, parts, p);
	lo = size / parts + (size % parts != 0);	/* the smallest part size at all */
	n = add(out, n, size, parts, (lo + MIB - 1) / MIB * MIB);
	return n;
}

struct cand {
	uint64_t part_size, in_part;	/* bytes of the current part so far */
	unsigned parts;			/* parts finished */
	struct crypto_md5 *part, *outer;
};

struct etag_prover {
	struct cand c[ETAG_MAX_CANDIDATES];
	size_t n;
	unsigned parts;
	uint64_t seen;
};

void etag_prover_free(struct etag_prover *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n; i++) {
		crypto_md5_free(e->c[i].part);
		crypto_md5_free(e->c[i].outer);
	}
	free(e);
}

int etag_prover_new(struct etag_prover **out, uint64_t size, unsigned parts, const char *what)
{
	uint64_t ps[ETAG_MAX_CANDIDATES];
	struct etag_prover *e;
	size_t n, i;
	int rc;

	*out = NULL;
	if ((n = etag_candidates(size, parts, ps)) == 0)
		return cst_error(CST_EINTEGRITY, "%s: a multipart ETag of %u parts cannot describe %" PRIu64
				 " bytes", what, parts, size);
	if ((e = cst_calloc(1, sizeof(*e))) == NULL)
		return CST_ENOMEM;
	e->parts = parts;
	for (i = 0; i < n; i++) {
		e->c[i].part_size = ps[i];
		if ((rc = crypto_md5_new(&e->c[i].part)) != 0 ||
		    (rc = crypto_md5_new(&e->c[i].outer)) != 0) {
			e->n = i + 1;
			etag_prover_free(e);
			return rc;
		}
		e->n = i + 1;
	}
	*out = e;
	return 0;
}

/* Close the candidate's current part into its outer MD5. */
static int close_part(struct cand *c)
{
	unsigned char d[16];
	int rc;

	if ((rc = crypto_md5_final(c->part, d)) != 0 || (rc = crypto_md5_update(c->outer, d, 16)) != 0 ||
	    (rc = crypto_md5_reset(c->part)) != 0)
		return rc;
	c->parts++;
	c->in_part = 0;
	return 0;
}

int etag_prover_update(struct etag_prover *e, const void *buf, size_t len)
{
	size_t i;
	int rc;

	for (i = 0; i < e->n; i++) {
		struct cand *c = &e->c[i];
		const unsigned char *p = buf;
		size_t left = len;

		while (left > 0) {
			uint64_t room = c->part_size - c->in_part;
			size_t take = room < left ? (size_t)room : left;

			if (take == 0) {	/* a full part, and more bytes come */
				if ((rc = close_part(c)) != 0)
					return rc;
				continue;
			}
			if ((rc = crypto_md5_update(c->part, p, take)) != 0)
				return rc;
			c->in_part += take;
			p += take;
			left -= take;
		}
	}
	e->seen += len;
	return 0;
}

int etag_prover_match(struct etag_prover *e, const unsigned char want[16], uint64_t *part_size)
{
	unsigned char got[16];
	int rc, found = 0;
	size_t i;

	for (i = 0; i < e->n; i++) {
		struct cand *c = &e->c[i];

		/* the last part (an empty object is one empty part) */
		if ((c->in_part > 0 || c->parts == 0) && (rc = close_part(c)) != 0)
			return rc;
		if ((rc = crypto_md5_final(c->outer, got)) != 0)
			return rc;
		if (!found && c->parts == e->parts && memcmp(got, want, 16) == 0) {
			found = 1;
			if (part_size != NULL)
				*part_size = c->part_size;
		}
	}
	return found;
}

int etag_of_buffer(const void *buf, size_t len, uint64_t part_size, unsigned char out[16],
		   unsigned *parts)
{
	struct etag_prover e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.n = 1;
	e.c[0].part_size = part_size;
	if ((rc = crypto_md5_new(&e.c[0].part)) != 0 || (rc = crypto_md5_new(&e.c[0].outer)) != 0)
		goto out;
	if ((rc = etag_prover_update(&e, buf, len)) != 0)
		goto out;
	if ((e.c[0].in_part > 0 || e.c[0].parts == 0) && (rc = close_part(&e.c[0])) != 0)
		goto out;
	rc = crypto_md5_final(e.c[0].outer, out);
	*parts = e.c[0].parts;
out:
	crypto_md5_free(e.c[0].part);
	crypto_md5_free(e.c[0].outer);
	return rc;
}
