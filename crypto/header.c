/*
 * The 64-byte object header and the size arithmetic of the segment layout
 * (docs/FORMAT.md, "Encrypted objects"). No keys here.
 */
#include "crypto_int.h"
#include "util.h"

#include <string.h>

static const unsigned char magic[4] = { 'C', 'S', 'T', 'E' };

/* Offsets of the header fields. */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_SUITE = 5,
	OFF_FLAGS = 6,
	OFF_RESERVED1 = 7,
	OFF_SEGMENT = 8,
	OFF_KEYID = 12,
	OFF_SALT = 20,
	OFF_PREFIX = 52,
	OFF_RESERVED2 = 59
};

static int all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	while (n-- > 0)
		acc |= *p++;
	return acc == 0;
}

void crypto_header_encode(unsigned char out[CRYPTO_HEADER_LEN], const struct crypto_header *h)
{
	memset(out, 0, CRYPTO_HEADER_LEN);
	memcpy(out + OFF_MAGIC, magic, sizeof(magic));
	out[OFF_VERSION] = h->version;
	out[OFF_SUITE] = h->suite;
	out[OFF_FLAGS] = h->flags;
	out[OFF_SEGMENT] = (unsigned char)(h->segment_size >> 24);
	out[OFF_SEGMENT + 1] = (unsigned char)(h->segment_size >> 16);
	out[OFF_SEGMENT + 2] = (unsigned char)(h->segment_size >> 8);
	out[OFF_SEGMENT + 3] = (unsigned char)h->segment_size;
	memcpy(out + OFF_KEYID, h->key_id, CRYPTO_KEYID_LEN);
	memcpy(out + OFF_SALT, h->salt, CRYPTO_SALT_LEN);
	memcpy(out + OFF_PREFIX, h->nonce_prefix, CRYPTO_PREFIX_LEN);
}

int crypto_header_parse(struct crypto_header *out, const unsigned char *buf, size_t len)
{
	struct crypto_header h;
	int rc = 0;

	memset(&h, 0, sizeof(h));
	if (len < CRYPTO_HEADER_LEN) {
		rc = cst_error(CST_EINVALID, "not a cassette object: %zu bytes, shorter than "
			       "the %d-byte header", len, CRYPTO_HEADER_LEN);
		goto out;
	}
	if (memcmp(buf + OFF_MAGIC, magic, sizeof(magic)) != 0) {
		rc = cst_error(CST_EINVALID, "not a cassette object: bad magic");
		goto out;
	}
	h.version = buf[OFF_VERSION];
	h.suite = buf[OFF_SUITE];
	h.segment_size = (uint32_t)buf[OFF_SEGMENT] << 24 | (uint32_t)buf[OFF_SEGMENT + 1] << 16 |
			 (uint32_t)buf[OFF_SEGMENT + 2] << 8 | buf[OFF_SEGMENT + 3];
	/* Version first: a later version may give the reserved bytes a meaning. */
	if (h.version != CRYPTO_VERSION) {
		rc = cst_error(CST_EUNSUPPORTED, "unsupported object format version %u",
			       h.version);
		goto out;
	}
	if (h.suite != CRYPTO_SUITE_AES256GCM_HKDF) {
		rc = cst_error(CST_EUNSUPPORTED, "unsupported cipher suite %u", h.suite);
		goto out;
	}
	h.flags = buf[OFF_FLAGS];
	if ((h.flags & ~CRYPTO_FLAG_SEGMENT_KINDS) != 0) {
		rc = cst_error(CST_EUNSUPPORTED, "unsupported header flags 0x%02x", h.flags);
		goto out;
	}
	if (!all_zero(buf + OFF_RESERVED1, 1) ||
	    !all_zero(buf + OFF_RESERVED2, CRYPTO_HEADER_LEN - OFF_RESERVED2)) {
		rc = cst_error(CST_EINVALID, "not a cassette object: reserved header bytes "
			       "are not zero");
		goto out;
	}
	if (h.segment_size < CRYPTO_MIN_SEGMENT || h.segment_size > CRYPTO_MAX_SEGMENT) {
		rc = cst_error(CST_EUNSUPPORTED, "unsupported segment size %u (%u..%u)",
			       h.segment_size, CRYPTO_MIN_SEGMENT, CRYPTO_MAX_SEGMENT);
		goto out;
	}
	memcpy(h.key_id, buf + OFF_KEYID, CRYPTO_KEYID_LEN);
	memcpy(h.salt, buf + OFF_SALT, CRYPTO_SALT_LEN);
	memcpy(h.nonce_prefix, buf + OFF_PREFIX, CRYPTO_PREFIX_LEN);
	*out = h;
out:
	return rc;
}

static int segment_ok(uint32_t seg)
{
	return seg >= CRYPTO_MIN_SEGMENT && seg <= CRYPTO_MAX_SEGMENT;
}

/* The number of segments of a plaintext of `plain` bytes; 0 when too many. */
static uint64_t segments(uint64_t plain, uint32_t segment_size)
{
	uint64_t nseg = plain / segment_size + (plain % segment_size != 0);

	if (nseg == 0)
		nseg = 1;
	return nseg > CRYPTO_MAX_SEGMENTS ? 0 : nseg;
}

uint64_t crypto_object_size(uint64_t plain, uint32_t segment_size)
{
	uint64_t nseg;

	if (!segment_ok(segment_size) || (nseg = segments(plain, segment_size)) == 0)
		return 0;
	/* 2^32 segments of at most 2^30 + 16 bytes: no overflow below this. */
	return CRYPTO_HEADER_LEN + plain + CRYPTO_TAG_LEN * nseg;
}

int crypto_object_size_range(uint64_t *min, uint64_t *max, uint64_t plain, uint32_t segment_size,
			     int kinds)
{
	uint64_t nseg;

	*min = *max = 0;
	if (!segment_ok(segment_size) || (nseg = segments(plain, segment_size)) == 0)
		return CST_EINVALID;
	if (!kinds) {
		*min = *max = crypto_object_size(plain, segment_size);
		return 0;
	}
	/* each segment: length (4) || kind (1) || body || tag (16), where a
	 * body is at most the piece itself (a raw one) and at least empty */
	*min = CRYPTO_HEADER_LEN + CRYPTO_SEGHDR_LEN * nseg;
	*max = *min + plain;
	return 0;
}

int crypto_plain_size(uint64_t *out, uint64_t stored, uint32_t segment_size)
{
	uint64_t body, full, rem, stride;
	int rc = 0;

	*out = 0;
	if (!segment_ok(segment_size)) {
		rc = cst_error(CST_EINVALID, "segment size %u out of range", segment_size);
		goto out;
	}
	if (stored < CRYPTO_HEADER_LEN + CRYPTO_TAG_LEN) {
		rc = cst_error(CST_EINVALID, "%llu bytes is too short for an encrypted object",
			       (unsigned long long)stored);
		goto out;
	}
	stride = (uint64_t)segment_size + CRYPTO_TAG_LEN;
	body = stored - CRYPTO_HEADER_LEN;
	full = body / stride;
	rem = body % stride;
	/* rem == 0: the last segment is full; rem == 16 after full segments
	 * would be an empty last segment, which a writer never makes. */
	if ((rem > 0 && rem < CRYPTO_TAG_LEN) || (rem == CRYPTO_TAG_LEN && full > 0) ||
	    full + (rem != 0) > CRYPTO_MAX_SEGMENTS) {
		rc = cst_error(CST_EINVALID, "no plaintext size gives an encrypted object of "
			       "%llu bytes with segment size %u", (unsigned long long)stored,
			       segment_size);
		goto out;
	}
	*out = full * segment_size + (rem != 0 ? rem - CRYPTO_TAG_LEN : 0);
out:
	return rc;
}
