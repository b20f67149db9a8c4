/*
 * MD5 compression over 1, 8 (AVX2) or 16 (AVX-512) independent streams.
 *
 * The 64 steps are written once (MD5_ROUNDS) and instantiated three times
 * with the step and round functions of each width. The SIMD kernels load one
 * block of every lane with unaligned loads and transpose it, so that vector
 * w[i] holds message word i of every lane (one 16x16 or two 8x8 dword
 * transposes per block, 64 or 48 shuffles against some 400 operations of
 * the 64 steps). On the AMD EPYC (AVX-512) it was written on, that beat
 * loading w[i] with two vpgatherqd a word by about 25%. The small loops are
 * unrolled (GCC unroll) so the message and the state stay in registers:
 * left as loops, GCC kept w[] on the stack and the 16-lane kernel ran a
 * quarter slower.
 *
 * The SIMD functions carry __attribute__((target(...))) so the file builds
 * without -mavx flags; md5mb_cpu_has() decides at run time what may run.
 */
#include "md5_mb.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define MD5MB_X86 1
#include <immintrin.h>
#else
#define MD5MB_X86 0
#endif

/* S(f, a, b, c, d, message word index, constant, rotation) x 64 */
#define MD5_ROUNDS(S, F, G, H, I)                                   \
	S(F, a, b, c, d, 0, 0xd76aa478u, 7)                         \
	S(F, d, a, b, c, 1, 0xe8c7b756u, 12)                        \
	S(F, c, d, a, b, 2, 0x242070dbu, 17)                        \
	S(F, b, c, d, a, 3, 0xc1bdceeeu, 22)                        \
	S(F, a, b, c, d, 4, 0xf57c0fafu, 7)                         \
	S(F, d, a, b, c, 5, 0x4787c62au, 12)                        \
	S(F, c, d, a, b, 6, 0xa8304613u, 17)                        \
	S(F, b, c, d, a, 7, 0xfd469501u, 22)                        \
	S(F, a, b, c, d, 8, 0x698098d8u, 7)                         \
	S(F, d, a, b, c, 9, 0x8b44f7afu, 12)                        \
	S(F, c, d, a, b, 10, 0xffff5bb1u, 17)                       \
	S(F, b, c, d, a, 11, 0x895cd7beu, 22)                       \
	S(F, a, b, c, d, 12, 0x6b901122u, 7)                        \
	S(F, d, a, b, c, 13, 0xfd987193u, 12)                       \
	S(F, c, d, a, b, 14, 0xa679438eu, 17)                       \
	S(F, b, c, d, a, 15, 0x49b40821u, 22)                       \
	S(G, a, b, c, d, 1, 0xf61e2562u, 5)                         \
	S(G, d, a, b, c, 6, 0xc040b340u, 9)                         \
	S(G, c, d, a, b, 11, 0x265e5a51u, 14)                       \
	S(G, b, c, d, a, 0, 0xe9b6c7aau, 20)                        \
	S(G, a, b, c, d, 5, 0xd62f105du, 5)                         \
	S(G, d, a, b, c, 10, 0x02441453u, 9)                        \
	S(G, c, d, a, b, 15, 0xd8a1e681u, 14)                       \
	S(G, b, c, d, a, 4, 0xe7d3fbc8u, 20)                        \
	S(G, a, b, c, d, 9, 0x21e1cde6u, 5)                         \
	S(G, d, a, b, c, 14, 0xc33707d6u, 9)                        \
	S(G, c, d, a, b, 3, 0xf4d50d87u, 14)                        \
	S(G, b, c, d, a, 8, 0x455a14edu, 20)                        \
	S(G, a, b, c, d, 13, 0xa9e3e905u, 5)                        \
	S(G, d, a, b, c, 2, 0xfcefa3f8u, 9)                         \
	S(G, c, d, a, b, 7, 0x676f02d9u, 14)                        \
	S(G, b, c, d, a, 12, 0x8d2a4c8au, 20)                       \
	S(H, a, b, c, d, 5, 0xfffa3942u, 4)                         \
	S(H, d, a, b, c, 8, 0x8771f681u, 11)                        \
	S(H, c, d, a, b, 11, 0x6d9d6122u, 16)                       \
	S(H, b, c, d, a, 14, 0xfde5380cu, 23)                       \
	S(H, a, b, c, d, 1, 0xa4beea44u, 4)                         \
	S(H, d, a, b, c, 4, 0x4bdecfa9u, 11)                        \
	S(H, c, d, a, b, 7, 0xf6bb4b60u, 16)                        \
	S(H, b, c, d, a, 10, 0xbebfbc70u, 23)                       \
	S(H, a, b, c, d, 13, 0x289b7ec6u, 4)                        \
	S(H, d, a, b, c, 0, 0xeaa127fau, 11)                        \
	S(H, c, d, a, b, 3, 0xd4ef3085u, 16)                        \
	S(H, b, c, d, a, 6, 0x04881d05u, 23)                        \
	S(H, a, b, c, d, 9, 0xd9d4d039u, 4)                         \
	S(H, d, a, b, c, 12, 0xe6db99e5u, 11)                       \
	S(H, c, d, a, b, 15, 0x1fa27cf8u, 16)                       \
	S(H, b, c, d, a, 2, 0xc4ac5665u, 23)                        \
	S(I, a, b, c, d, 0, 0xf4292244u, 6)                         \
	S(I, d, a, b, c, 7, 0x432aff97u, 10)                        \
	S(I, c, d, a, b, 14, 0xab9423a7u, 15)                       \
	S(I, b, c, d, a, 5, 0xfc93a039u, 21)                        \
	S(I, a, b, c, d, 12, 0x655b59c3u, 6)                        \
	S(I, d, a, b, c, 3, 0x8f0ccc92u, 10)                        \
	S(I, c, d, a, b, 10, 0xffeff47du, 15)                       \
	S(I, b, c, d, a, 1, 0x85845dd1u, 21)                        \
	S(I, a, b, c, d, 8, 0x6fa87e4fu, 6)                         \
	S(I, d, a, b, c, 15, 0xfe2ce6e0u, 10)                       \
	S(I, c, d, a, b, 6, 0xa3014314u, 15)                        \
	S(I, b, c, d, a, 13, 0x4e0811a1u, 21)                       \
	S(I, a, b, c, d, 4, 0xf7537e82u, 6)                         \
	S(I, d, a, b, c, 11, 0xbd3af235u, 10)                       \
	S(I, c, d, a, b, 2, 0x2ad7d2bbu, 15)                        \
	S(I, b, c, d, a, 9, 0xeb86d391u, 21)

/* ---- scalar ------------------------------------------------------------ */

#define SF(b, c, d) ((((c) ^ (d)) & (b)) ^ (d))
#define SG(b, c, d) ((((b) ^ (c)) & (d)) ^ (c))
#define SH(b, c, d) ((b) ^ (c) ^ (d))
#define SI(b, c, d) ((c) ^ ((b) | ~(d)))
#define SROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))
#define SSTEP(f, a, b, c, d, i, k, s)                              \
	a += f(b, c, d) + w[i] + (k);                               \
	a = SROTL(a, s) + b;

static uint32_t load_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void md5mb_init(uint32_t h[4])
{
	h[0] = 0x67452301u;
	h[1] = 0xefcdab89u;
	h[2] = 0x98badcfeu;
	h[3] = 0x10325476u;
}

void md5mb_compress(uint32_t h[4], const unsigned char *p, size_t nblocks)
{
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
	uint32_t w[16];

	for (; nblocks > 0; nblocks--, p += 64) {
		uint32_t a0 = a, b0 = b, c0 = c, d0 = d;

		for (int i = 0; i < 16; i++)
			w[i] = load_le32(p + 4 * i);
		MD5_ROUNDS(SSTEP, SF, SG, SH, SI)
		a += a0;
		b += b0;
		c += c0;
		d += d0;
	}
	h[0] = a;
	h[1] = b;
	h[2] = c;
	h[3] = d;
}

void md5mb_finish(const uint32_t h[4], uint64_t total, const unsigned char *tail,
		  size_t tail_len, unsigned char out[16])
{
	unsigned char pad[128];
	uint32_t s[4];
	size_t n = tail_len < 56 ? 64 : 128;
	uint64_t bits = total * 8;

	memset(pad, 0, sizeof(pad));
	if (tail_len > 0)
		memcpy(pad, tail, tail_len);
	pad[tail_len] = 0x80;
	for (int i = 0; i < 8; i++)
		pad[n - 8 + (size_t)i] = (unsigned char)(bits >> (8 * i));
	memcpy(s, h, sizeof(s));
	md5mb_compress(s, pad, n / 64);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (unsigned char)(s[i] >> (8 * j));
}

static void run_scalar(uint32_t st[4][MD5MB_MAX_LANES], const unsigned char *const p[],
		       unsigned nlanes, size_t nblocks)
{
	for (unsigned l = 0; l < nlanes; l++) {
		uint32_t h[4] = { st[0][l], st[1][l], st[2][l], st[3][l] };

		md5mb_compress(h, p[l], nblocks);
		for (int i = 0; i < 4; i++)
			st[i][l] = h[i];
	}
}

#if MD5MB_X86
/* A zero block for lanes a kernel runs but nobody reads. */
static const unsigned char dummy_block[64] __attribute__((aligned(64)));

/* ---- AVX2, 8 lanes -------------------------------------------------------- */

#define A2ADD(x, y) _mm256_add_epi32(x, y)
#define A2F(b, c, d) _mm256_xor_si256(_mm256_and_si256(_mm256_xor_si256(c, d), b), d)
#define A2G(b, c, d) _mm256_xor_si256(_mm256_and_si256(_mm256_xor_si256(b, c), d), c)
#define A2H(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
/* c ^ (b | ~d) == ~c ^ (~b & d) */
#define A2I(b, c, d) _mm256_xor_si256(_mm256_xor_si256(c, ones), _mm256_andnot_si256(b, d))
#define A2ROTL(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define A2STEP(f, a, b, c, d, i, k, s)                                              \
	a = A2ADD(a, A2ADD(f(b, c, d), A2ADD(w[i], _mm256_set1_epi32((int)(k))))); \
	a = A2ADD(A2ROTL(a, s), b);

__attribute__((target("avx2"), always_inline))
static inline void transpose8(__m256i w[8], const __m256i r[8])
{
	__m256i t[8], u[8];

	_Pragma("GCC unroll 16")
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
	}
	_Pragma("GCC unroll 16")
	for (int g = 0; g < 8; g += 4) {
		u[g + 0] = _mm256_unpacklo_epi64(t[g + 0], t[g + 2]);
		u[g + 1] = _mm256_unpackhi_epi64(t[g + 0], t[g + 2]);
		u[g + 2] = _mm256_unpacklo_epi64(t[g + 1], t[g + 3]);
		u[g + 3] = _mm256_unpackhi_epi64(t[g + 1], t[g + 3]);
	}
	_Pragma("GCC unroll 16")
	for (int j = 0; j < 4; j++) {
		w[j] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x20);
		w[j + 4] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x31);
	}
}

/*
 * The 8-lane kernel body, for AVX2 and (with vpternlogd and vprold on ymm
 * registers) for AVX-512VL: on CPUs that run 512-bit operations in two
 * halves, the latter is nearly as fast with 8 lanes as the zmm kernel with
 * 16, so few busy streams still get most of the speed.
 */
#define KERNEL8(STEP, F, G, H, I)                                                        \
	const unsigned char *q[8];                                                       \
	size_t step[8];                                                                  \
	const __m256i ones = _mm256_set1_epi32(-1);                                      \
	__m256i a, b, c, d, w[16], r[8];                                                 \
                                                                                         \
	(void)ones;                                                                      \
	_Pragma("GCC unroll 16") \
	for (unsigned l = 0; l < 8; l++) {                                               \
		q[l] = l < nlanes ? p[l] : dummy_block;                                  \
		step[l] = l < nlanes ? 64 : 0;                                           \
	}                                                                                \
	a = _mm256_loadu_si256((const __m256i *)(const void *)st[0]);                    \
	b = _mm256_loadu_si256((const __m256i *)(const void *)st[1]);                    \
	c = _mm256_loadu_si256((const __m256i *)(const void *)st[2]);                    \
	d = _mm256_loadu_si256((const __m256i *)(const void *)st[3]);                    \
	for (; nblocks > 0; nblocks--) {                                                 \
		__m256i a0 = a, b0 = b, c0 = c, d0 = d;                                  \
                                                                                         \
		_Pragma("GCC unroll 16") \
		for (int l = 0; l < 8; l++)                                              \
			r[l] = _mm256_loadu_si256((const __m256i *)(const void *)q[l]);  \
		transpose8(w, r);                                                        \
		_Pragma("GCC unroll 16") \
		for (int l = 0; l < 8; l++)                                              \
			r[l] = _mm256_loadu_si256(                                       \
				(const __m256i *)(const void *)(q[l] + 32));             \
		transpose8(w + 8, r);                                                    \
		_Pragma("GCC unroll 16") \
		for (int l = 0; l < 8; l++)                                              \
			q[l] += step[l];                                                 \
		MD5_ROUNDS(STEP, F, G, H, I)                                             \
		a = A2ADD(a, a0);                                                        \
		b = A2ADD(b, b0);                                                        \
		c = A2ADD(c, c0);                                                        \
		d = A2ADD(d, d0);                                                        \
	}                                                                                \
	_mm256_storeu_si256((__m256i *)(void *)st[0], a);                                \
	_mm256_storeu_si256((__m256i *)(void *)st[1], b);                                \
	_mm256_storeu_si256((__m256i *)(void *)st[2], c);                                \
	_mm256_storeu_si256((__m256i *)(void *)st[3], d);

__attribute__((target("avx2")))
static void run_avx2(uint32_t st[4][MD5MB_MAX_LANES], const unsigned char *const p[],
		     unsigned nlanes, size_t nblocks)
{
	KERNEL8(A2STEP, A2F, A2G, A2H, A2I)
}

/* vpternlogd truth tables with operands (x, y, z): 0xca = x ? y : z,
 * 0x96 = x ^ y ^ z, 0x39 = y ^ (x | ~z). */
#define V8F(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0xca)
#define V8G(b, c, d) _mm256_ternarylogic_epi32(d, b, c, 0xca)
#define V8H(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x96)
#define V8I(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x39)
#define V8STEP(f, a, b, c, d, i, k, s)                                              \
	a = A2ADD(a, A2ADD(f(b, c, d), A2ADD(w[i], _mm256_set1_epi32((int)(k))))); \
	a = A2ADD(_mm256_rol_epi32(a, s), b);

__attribute__((target("avx2,avx512f,avx512bw,avx512vl")))
static void run_avx512vl8(uint32_t st[4][MD5MB_MAX_LANES], const unsigned char *const p[],
			  unsigned nlanes, size_t nblocks)
{
	KERNEL8(V8STEP, V8F, V8G, V8H, V8I)
}

/* ---- AVX-512, 16 lanes ------------------------------------------------------ */

#define A5ADD(x, y) _mm512_add_epi32(x, y)
#define A5F(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xca)
#define A5G(b, c, d) _mm512_ternarylogic_epi32(d, b, c, 0xca)
#define A5H(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x96)
#define A5I(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x39)
#define A5STEP(f, a, b, c, d, i, k, s)                                              \
	a = A5ADD(a, A5ADD(f(b, c, d), A5ADD(w[i], _mm512_set1_epi32((int)(k))))); \
	a = A5ADD(_mm512_rol_epi32(a, s), b);

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void run_avx512(uint32_t st[4][MD5MB_MAX_LANES], const unsigned char *const p[],
		       unsigned nlanes, size_t nblocks)
{
	const unsigned char *q[16];
	size_t step[16];
	__m512i a, b, c, d, w[16], t[16];

	_Pragma("GCC unroll 16")
	for (unsigned l = 0; l < 16; l++) {
		q[l] = l < nlanes ? p[l] : dummy_block;
		step[l] = l < nlanes ? 64 : 0;
	}
	a = _mm512_loadu_si512(st[0]);
	b = _mm512_loadu_si512(st[1]);
	c = _mm512_loadu_si512(st[2]);
	d = _mm512_loadu_si512(st[3]);
	for (; nblocks > 0; nblocks--) {
		__m512i a0 = a, b0 = b, c0 = c, d0 = d;

		/* row l = lane l's block; transpose so w[i] = word i of all lanes */
		_Pragma("GCC unroll 16")
		for (int l = 0; l < 16; l++) {
			w[l] = _mm512_loadu_si512(q[l]);
			q[l] += step[l];
		}
		_Pragma("GCC unroll 16")
		for (int i = 0; i < 16; i += 2) {
			t[i] = _mm512_unpacklo_epi32(w[i], w[i + 1]);
			t[i + 1] = _mm512_unpackhi_epi32(w[i], w[i + 1]);
		}
		_Pragma("GCC unroll 16")
		for (int g = 0; g < 16; g += 4) {
			w[g + 0] = _mm512_unpacklo_epi64(t[g + 0], t[g + 2]);
			w[g + 1] = _mm512_unpackhi_epi64(t[g + 0], t[g + 2]);
			w[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
			w[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
		}
		/* w[4g + j], 128-bit chunk k: word 4k + j of rows 4g .. 4g+3 */
		_Pragma("GCC unroll 16")
		for (int j = 0; j < 4; j++) {
			t[j] = _mm512_shuffle_i32x4(w[j], w[j + 4], 0x88);
			t[j + 4] = _mm512_shuffle_i32x4(w[j], w[j + 4], 0xdd);
			t[j + 8] = _mm512_shuffle_i32x4(w[j + 8], w[j + 12], 0x88);
			t[j + 12] = _mm512_shuffle_i32x4(w[j + 8], w[j + 12], 0xdd);
		}
		_Pragma("GCC unroll 16")
		for (int j = 0; j < 8; j++) {
			w[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
			w[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
		}
		MD5_ROUNDS(A5STEP, A5F, A5G, A5H, A5I)
		a = A5ADD(a, a0);
		b = A5ADD(b, b0);
		c = A5ADD(c, c0);
		d = A5ADD(d, d0);
	}
	_mm512_storeu_si512(st[0], a);
	_mm512_storeu_si512(st[1], b);
	_mm512_storeu_si512(st[2], c);
	_mm512_storeu_si512(st[3], d);
}
#endif /* MD5MB_X86 */

/* ---- selection ------------------------------------------------------------- */

int md5mb_cpu_has(enum md5mb_isa isa)
{
	switch (isa) {
	case MD5MB_SCALAR:
		return 1;
#if MD5MB_X86
	case MD5MB_AVX2:
		return __builtin_cpu_supports("avx2");
	case MD5MB_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl");
#endif
	default:
		return 0;
	}
}

enum md5mb_isa md5mb_isa_pick(void)
{
	enum md5mb_isa best = MD5MB_SCALAR, want = MD5MB_AVX512;
	const char *env = getenv("CASSETTE_MD5_ISA");

	if (md5mb_cpu_has(MD5MB_AVX512))
		best = MD5MB_AVX512;
	else if (md5mb_cpu_has(MD5MB_AVX2))
		best = MD5MB_AVX2;
	if (env != NULL && strcmp(env, "scalar") == 0)
		want = MD5MB_SCALAR;
	else if (env != NULL && strcmp(env, "avx2") == 0)
		want = MD5MB_AVX2;
	return want < best ? want : best;
}

unsigned md5mb_isa_lanes(enum md5mb_isa isa)
{
	return isa == MD5MB_AVX512 ? 16 : isa == MD5MB_AVX2 ? 8 : 1;
}

const char *md5mb_isa_name(enum md5mb_isa isa)
{
	return isa == MD5MB_AVX512 ? "avx512" : isa == MD5MB_AVX2 ? "avx2" : "scalar";
}

void md5mb_run(enum md5mb_isa isa, uint32_t st[4][MD5MB_MAX_LANES],
	       const unsigned char *const p[], unsigned nlanes, size_t nblocks)
{
	switch (isa) {
#if MD5MB_X86
	case MD5MB_AVX512:
		if (nlanes <= 8)
			run_avx512vl8(st, p, nlanes, nblocks);
		else
			run_avx512(st, p, nlanes, nblocks);
		return;
	case MD5MB_AVX2:
		run_avx2(st, p, nlanes, nblocks);
		return;
#endif
	default:
		run_scalar(st, p, nlanes, nblocks);
		return;
	}
}
