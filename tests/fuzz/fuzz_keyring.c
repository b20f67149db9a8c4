/*
 * Keyrings and the typed key files of the public-key mode (crypto/keyring.c,
 * crypto/keyfile.c): crypto_keyring_parse() on the input, and the same bytes
 * as a 0600 file through crypto_keyring_load_file(), crypto_typed_key_load()
 * and crypto_public_key_load(). An accepted keyring holds at least one key,
 * finds each of its master keys by id, and its newest is its last; the file
 * loader agrees with the parser.
 */
#include "fuzz.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_keyring *kr = NULL, *kf = NULL;
	struct crypto_key *k = NULL;
	unsigned char pub[CRYPTO_PK_LEN];
	const char *path;
	size_t i, n;
	int rc, rf;

	cst_error_clear();
	rc = crypto_keyring_parse(&kr, (const char *)data, size, "fuzz");
	fuzz_verdict("crypto_keyring_parse", rc);
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (kr != NULL));
	if (rc == 0) {
		n = crypto_keyring_count(kr);
		FUZZ_CHECK(n + crypto_keyring_recipient_count(kr) > 0);
		FUZZ_CHECK(n <= CRYPTO_KEYRING_MAX);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(crypto_keyring_find(kr, crypto_key_id(crypto_keyring_key(kr, i))) ==
				   crypto_keyring_key(kr, i));
		FUZZ_CHECK(crypto_keyring_newest(kr) == (n ? crypto_keyring_key(kr, n - 1) : NULL));
	}
	path = fuzz_input_file(data, size);
	cst_error_clear();
	rf = crypto_keyring_load_file(&kf, path);
	fuzz_check_rc(rf);
	/* the file loader reads at most 16 KiB: beyond, it refuses */
	if (size < 16 * 1024)
		FUZZ_CHECK((rf == 0) == (rc == 0));
	if (rf == 0 && rc == 0)
		FUZZ_CHECK(crypto_keyring_count(kf) == crypto_keyring_count(kr));
	crypto_keyring_free(kr);
	crypto_keyring_free(kf);
	cst_error_clear();
	rc = crypto_typed_key_load(&k, path, "ed25519-private");
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (k != NULL));
	crypto_key_free(k);
	cst_error_clear();
	fuzz_check_rc(crypto_public_key_load(pub, path, "x25519-public"));
	return 0;
}
