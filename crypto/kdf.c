/*
 * Passphrase keys: scrypt (RFC 7914) through OpenSSL's EVP_KDF "SCRYPT".
 * The costs come from a plaintext object in storage, so they are checked
 * both ways: too low is a weak key, too high is a tampered object asking
 * us to allocate without bound.
 */
#include "crypto_int.h"
#include "util.h"

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* scrypt's working memory: V is 128*r*(N+2) bytes, B 128*r*p (OpenSSL's
 * own accounting, which maxmem is compared with). */
static uint64_t scrypt_mem(uint64_t N, uint32_t r, uint32_t p)
{
	return 128u * (uint64_t)r * (N + 2) + 128u * (uint64_t)r * p;
}

int crypto_scrypt_raw(unsigned char *out, size_t outlen, const unsigned char *pass,
		      size_t passlen, const unsigned char *salt, size_t saltlen, uint64_t N,
		      uint32_t r, uint32_t p)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[7], *q = params;
	uint64_t maxmem;
	int rc = CST_ERROR;

	if (N < 2 || (N & (N - 1)) != 0 || N > CRYPTO_SCRYPT_MAX_N || r < 1 ||
	    r > CRYPTO_SCRYPT_MAX_R || p < 1 || p > CRYPTO_SCRYPT_MAX_P ||
	    128u * (uint64_t)r * N > CRYPTO_SCRYPT_MAX_MEM) {
		rc = cst_error(CST_EINVALID, "scrypt: costs N=%llu, r=%u, p=%u are out of range",
			       (unsigned long long)N, (unsigned)r, (unsigned)p);
		goto out;
	}
	maxmem = scrypt_mem(N, r, p);
	if ((kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		cst_error(CST_ERROR, "scrypt: not available from OpenSSL");
		goto out;
	}
	/* OpenSSL takes an empty password as "not set": give it a valid
	 * pointer with length 0, which it copies as an empty buffer. */
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
						 (void *)(pass != NULL ? pass : (const unsigned char *)""),
						 passlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)(salt != NULL ? salt : (const unsigned char *)""),
						 saltlen);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &N);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	*q = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) <= 0) {
		cst_error(CST_ERROR, "scrypt: derivation failed (N=%llu, r=%u, p=%u; out of memory?)",
			  (unsigned long long)N, (unsigned)r, (unsigned)p);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		OPENSSL_cleanse(out, outlen);
	/* the provider wipes its copies of the password and its work area */
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

int crypto_scrypt_check_costs(uint64_t N, uint32_t r, uint32_t p)
{
	if (N < CRYPTO_SCRYPT_MIN_N || r < CRYPTO_SCRYPT_MIN_R || p < CRYPTO_SCRYPT_MIN_P)
		return cst_error(CST_EINVALID, "scrypt costs N=%llu, r=%u, p=%u are below the minimum "
				 "N=%llu, r=%u, p=%u", (unsigned long long)N, (unsigned)r,
				 (unsigned)p, (unsigned long long)CRYPTO_SCRYPT_MIN_N,
				 (unsigned)CRYPTO_SCRYPT_MIN_R, (unsigned)CRYPTO_SCRYPT_MIN_P);
	if ((N & (N - 1)) != 0)
		return cst_error(CST_EINVALID, "scrypt cost N=%llu is not a power of two",
				 (unsigned long long)N);
	if (N > CRYPTO_SCRYPT_MAX_N || r > CRYPTO_SCRYPT_MAX_R || p > CRYPTO_SCRYPT_MAX_P ||
	    128u * (uint64_t)r * N > CRYPTO_SCRYPT_MAX_MEM)
		return cst_error(CST_EINVALID, "scrypt costs N=%llu, r=%u, p=%u are above the maximum "
				 "(N <= 2^22, r <= %u, p <= %u, 128*N*r <= 1 GiB)",
				 (unsigned long long)N, (unsigned)r, (unsigned)p,
				 (unsigned)CRYPTO_SCRYPT_MAX_R, (unsigned)CRYPTO_SCRYPT_MAX_P);
	return 0;
}

int crypto_key_from_passphrase(struct crypto_key **out, const unsigned char *pass, size_t passlen,
			       const unsigned char *salt, size_t saltlen, uint64_t N, uint32_t r,
			       uint32_t p)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	int rc;

	*out = NULL;
	if ((rc = crypto_scrypt_check_costs(N, r, p)) != 0)
		return rc;
	if (pass == NULL || passlen == 0 || salt == NULL || saltlen == 0)
		return cst_error(CST_EINVALID, "scrypt: an empty passphrase or salt");
	if ((rc = crypto_scrypt_raw(raw, sizeof(raw), pass, passlen, salt, saltlen, N, r, p)) == 0)
		rc = crypto_key_from_bytes(out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int crypto_random_bytes(unsigned char *out, size_t len)
{
	if (len > INT_MAX || (len > 0 && RAND_bytes(out, (int)len) != 1))
		return cst_error(CST_ERROR, "the random generator failed");
	return 0;
}
