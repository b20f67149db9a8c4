/*
 * encrypt and decrypt: standard input to standard output in the object
 * format of docs/FORMAT.md, with a label as the identity, for what is not
 * a Cassandra file (pg_dump | cassette encrypt --label db-2026-12-06).
 *
 * The identity of a stream is (fqdn "-", keyspace "-", table "-", file
 * <label>). No node is named "-" (a node name never starts with '-'), so no
 * stream decrypts as a backup's object, nor the other way round.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "crypto.h"
#include "storage.h"
#include "util.h"

#define CHUNK (1u << 20)

struct out {
	uint64_t bytes;
};

static int to_stdout(void *arg, const unsigned char *buf, size_t len)
{
	struct out *o = arg;

	if (cst_write_all(STDOUT_FILENO, buf, len) != 0)
		return cst_error_errno("cannot write standard output");
	o->bytes += len;
	return 0;
}

int cmd_label_is_valid(const char *label)
{
	const unsigned char *p;

	if (label == NULL || label[0] == '\0' || strlen(label) > 255)
		return 0;
	for (p = (const unsigned char *)label; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Read up to len bytes, fewer only at the end of the input. */
static ssize_t read_full(unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		do
			n = read(STDIN_FILENO, buf + got, len - got);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* decrypt: the stream's header names its key; a key the ring lacks is
 * left to the decryptor to call "wrong key" (against the newest). */
static int start_decrypt(struct crypto_stream **s, const struct crypto_keyring *ring,
			 const struct crypto_identity *id, struct out *o)
{
	unsigned char head[CRYPTO_HEADER_LEN];
	const struct crypto_key *key = crypto_keyring_newest(ring);
	struct crypto_header h;
	ssize_t n = read_full(head, sizeof(head));
	int rc;

	if (n < 0)
		return cst_error_errno("cannot read standard input");
	if (crypto_header_parse(&h, head, (size_t)n) == 0 && crypto_keyring_find(ring, h.key_id))
		key = crypto_keyring_find(ring, h.key_id);
	if ((rc = crypto_decryptor_new(s, key, id, NULL)) != 0)
		return rc;
	return crypto_stream_update(*s, head, (size_t)n, to_stdout, o);
}

int cmd_stream(const struct config *cfg, const char *label, int decrypt)
{
	struct crypto_identity id = { "-", "-", "-", label };
	struct crypto_enc_params params = {
		.segment_size = cfg != NULL ? cfg->segment_size : 0,
		.compress = cfg != NULL ? (enum crypto_compress)cfg->compression : CRYPTO_COMPRESS_AUTO,
	};
	struct crypto_keyring *ring = NULL;
	struct crypto_stream *s = NULL;
	struct storage *st = NULL;
	struct out o = { 0 };
	const char *path = getenv("CASSETTE_KEY_FILE");
	unsigned char *buf = NULL;
	ssize_t n;
	int rc;

	if (!cmd_label_is_valid(label)) {
		cst_error(CST_EINVALID, "--label must be 1 to 255 bytes without control characters");
		return CMD_USAGE;
	}
	if (path == NULL || path[0] == '\0')
		path = cfg != NULL ? config_key_file(cfg) : NULL;
	if (config_check_key_source(cfg) != 0)
		return CMD_USAGE;
	if (config_passphrase_file(cfg) != NULL) {
		/* the salt and costs are in the store: it takes a config */
		if (cfg == NULL) {
			cst_error(CST_EINVALID, "%s with $CASSETTE_PASSPHRASE_FILE needs --config: the key "
				  "parameters are in the store the config names",
				  decrypt ? "decrypt" : "encrypt");
			return CMD_USAGE;
		}
		if ((rc = cmd_open_storage(&st, cfg, !decrypt)) != 0 ||
		    (rc = cmd_load_keyring(&ring, &path, cfg, st, CMD_KEY_REQUIRED |
					   (decrypt ? 0 : CMD_KEY_MAY_CREATE))) != 0)
			goto out;
	} else if (path == NULL) {
		cst_error(CST_EINVALID, "%s needs a key: set CASSETTE_KEY_FILE, or [storage] "
			  "key_secret_file in the config (or a passphrase: [storage] key_passphrase_file "
			  "or CASSETTE_PASSPHRASE_FILE, with --config)", decrypt ? "decrypt" : "encrypt");
		return CMD_USAGE;
	} else if (crypto_keyring_load_file(&ring, path) != 0) {
		return CMD_USAGE;
	}
	if (crypto_keyring_newest(ring) == NULL) {
		cst_error(CST_EINVALID, "%s holds no master key: encrypt and decrypt use one", path);
		rc = CMD_USAGE;
		goto out;
	}
	if ((buf = cst_malloc(CHUNK)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	rc = decrypt ? start_decrypt(&s, ring, &id, &o) :
		       crypto_encryptor_new(&s, crypto_keyring_newest(ring), &id, &params);
	if (rc != 0)
		goto out;
	for (;;) {
		do
			n = read(STDIN_FILENO, buf, CHUNK);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			rc = cst_error_errno("cannot read standard input");
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = crypto_stream_update(s, buf, (size_t)n, to_stdout, &o)) != 0)
			goto out;
	}
	rc = crypto_stream_final(s, to_stdout, &o);
out:
	if (rc != 0 && decrypt && s != NULL && (rc == CST_EINTEGRITY || rc == CST_EINVALID)) {
		char why[512];

		snprintf(why, sizeof(why), "%s", cst_error_msg());
		cst_error(rc, "decrypt --label %s: %s (a wrong label, a cut or altered stream, or no "
			  "cassette stream at all); the %llu bytes written before are not to be used",
			  label, why, (unsigned long long)o.bytes);
	}
	crypto_stream_free(s);
	crypto_keyring_free(ring);
	storage_close(st);
	if (buf != NULL) {
		explicit_bzero(buf, CHUNK);
		free(buf);
	}
	return rc;
}
