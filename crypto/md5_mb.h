/*
 * Private to crypto/ (and its tests): MD5 compression over several
 * independent streams at once ("lanes"), one SIMD lane per stream.
 *
 * State is word-major: st[0][l], st[1][l], st[2][l], st[3][l] are A, B, C, D
 * of lane l. A kernel advances lanes 0 .. nlanes-1 by nblocks 64-byte blocks
 * each, reading p[l] .. p[l] + 64 * nblocks - 1 (any alignment); the columns
 * of st at and above nlanes are overwritten with garbage. p[l] is not moved.
 */
#ifndef CASSETTE_MD5_MB_H
#define CASSETTE_MD5_MB_H

#include <stddef.h>
#include <stdint.h>

#define MD5MB_MAX_LANES 16

enum md5mb_isa {
	MD5MB_SCALAR = 0,
	MD5MB_AVX2 = 1,		/* 8 lanes */
	MD5MB_AVX512 = 2	/* 16 lanes (avx512f, avx512bw, avx512vl) */
};

/* The initial MD5 state. */
void md5mb_init(uint32_t h[4]);
/* One stream: advance h by nblocks 64-byte blocks at p. Portable C. */
void md5mb_compress(uint32_t h[4], const unsigned char *p, size_t nblocks);
/*
 * Pad and finish one stream: h is the state after the whole blocks, `tail`
 * the tail_len < 64 bytes after them, total the stream's length in bytes.
 */
void md5mb_finish(const uint32_t h[4], uint64_t total, const unsigned char *tail,
		  size_t tail_len, unsigned char out[16]);

/* 1 when the CPU (and OS) can run `isa`. */
int md5mb_cpu_has(enum md5mb_isa isa);
/* The best ISA the CPU has, lowered (never raised) by the environment
 * variable CASSETTE_MD5_ISA=scalar|avx2|avx512. */
enum md5mb_isa md5mb_isa_pick(void);
unsigned md5mb_isa_lanes(enum md5mb_isa isa);
const char *md5mb_isa_name(enum md5mb_isa isa);

/*
 * Run `isa`'s kernel over lanes 0 .. nlanes-1 (1 <= nlanes <=
 * md5mb_isa_lanes(isa); the scalar ISA runs the lanes one after another).
 * The caller checks md5mb_cpu_has(isa) first.
 */
void md5mb_run(enum md5mb_isa isa, uint32_t st[4][MD5MB_MAX_LANES],
	       const unsigned char *const p[], unsigned nlanes, size_t nblocks);

/*
 * Streams hashed through a hub (md5_hub.c). crypto_md5 contexts made by
 * crypto_md5_new_shared() hold one of these; md5.c counts the bytes and
 * checks the final()/reset() order, these only hash.
 */
struct crypto_md5_hub;
struct md5_hub_stream;
int md5_hub_stream_new(struct md5_hub_stream **out, struct crypto_md5_hub *hub);
void md5_hub_stream_free(struct md5_hub_stream *s);
void md5_hub_stream_reset(struct md5_hub_stream *s);
/* Returns when every byte of buf is absorbed (hashed or buffered). */
void md5_hub_stream_update(struct md5_hub_stream *s, const unsigned char *buf, size_t len);
/* Starts absorbing buf, which must stay unchanged until wait(); every other
 * call on s waits first. */
void md5_hub_stream_submit(struct md5_hub_stream *s, const unsigned char *buf, size_t len);
void md5_hub_stream_wait(struct md5_hub_stream *s);
void md5_hub_stream_final(struct md5_hub_stream *s, unsigned char out[16]);

#endif
