/*
 * Test-only tool (not installed) for the cross-check against the Python
 * reference:
 *   cst_crypt_tool enc KEYFILE FQDN KEYSPACE TABLE FILE IN OUT [SEGMENT_SIZE]
 *   cst_crypt_tool dec KEYFILE FQDN KEYSPACE TABLE FILE IN OUT
 *   cst_crypt_tool keygen
 * Streams IN through the crypto module in odd-sized chunks. Exit 0 on
 * success, 2 when dec refuses the object (message on stderr), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "util.h"

#define CHUNK 100003	/* prime, so chunks straddle segment boundaries */

static int write_sink(void *arg, const unsigned char *buf, size_t len)
{
	if (cst_write_all(*(int *)arg, buf, len) != 0)
		return cst_error_errno("write failed");
	return 0;
}

static int run(struct crypto_stream *s, const char *in, const char *out)
{
	unsigned char *buf = NULL;
	int ifd = -1, ofd = -1, rc = 0;
	ssize_t n;

	if ((buf = cst_malloc(CHUNK)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((ifd = open(in, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("cannot open %s", in);
		goto out;
	}
	if ((ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		rc = cst_error_errno("cannot create %s", out);
		goto out;
	}
	for (;;) {
		n = read(ifd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cst_error_errno("cannot read %s", in);
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = crypto_stream_update(s, buf, (size_t)n, write_sink, &ofd)) != 0)
			goto out;
	}
	rc = crypto_stream_final(s, write_sink, &ofd);
out:
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0 && close(ofd) != 0 && rc == 0)
		rc = cst_error_errno("cannot write %s", out);
	if (rc != 0)
		unlink(out);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct crypto_enc_params params = { .segment_size = 0 };
	const char *zmode = getenv("CST_COMPRESS");
	struct crypto_stream *s = NULL;
	struct crypto_key *key = NULL;
	struct crypto_identity id;
	char line[CRYPTO_KEY_B64_LEN + 1];
	int rc, dec;

	if (argc == 2 && strcmp(argv[1], "keygen") == 0) {
		if (crypto_keygen_b64(line) != 0)
			goto fail;
		printf("%s\n", line);
		return 0;
	}
	dec = argc == 9 && strcmp(argv[1], "dec") == 0;
	if (!dec && !((argc == 9 || argc == 10) && strcmp(argv[1], "enc") == 0)) {
		fprintf(stderr, "usage: %s enc|dec KEYFILE FQDN KEYSPACE TABLE FILE IN OUT "
			"[SEGMENT_SIZE]\n       %s keygen\n", argv[0], argv[0]);
		return 1;
	}
	id.fqdn = argv[3];
	id.keyspace = argv[4];
	id.table = argv[5];
	id.file = argv[6];
	if (argc == 10)
		params.segment_size = (uint32_t)strtoul(argv[9], NULL, 10);
	/* CST_COMPRESS=auto|zstd: an object with segment kinds */
	if (zmode != NULL && strcmp(zmode, "auto") == 0)
		params.compress = CRYPTO_COMPRESS_AUTO;
	else if (zmode != NULL && strcmp(zmode, "zstd") == 0)
		params.compress = CRYPTO_COMPRESS_ZSTD;
	if ((rc = crypto_key_load_file(&key, argv[2])) != 0)
		goto fail;
	if (dec)
		rc = crypto_decryptor_new(&s, key, &id, NULL);
	else
		rc = crypto_encryptor_new(&s, key, &id, &params);
	if (rc == 0)
		rc = run(s, argv[7], argv[8]);
	crypto_stream_free(s);
	crypto_key_free(key);
	if (rc == 0)
		return 0;
	fprintf(stderr, "cst_crypt_tool: %s (%s)\n", cst_error_msg(), cst_error_name(rc));
	/* The key loaded, so these are about the object's bytes. */
	return dec && (rc == CST_EINTEGRITY || rc == CST_EAUTH || rc == CST_EINVALID ||
		       rc == CST_EUNSUPPORTED) ? 2 : 1;
fail:
	fprintf(stderr, "cst_crypt_tool: %s\n", cst_error_msg());
	return 1;
}
