/*
 * keys/passphrase: a master key from a passphrase ([storage]
 * key_passphrase_file or $CASSETTE_PASSPHRASE_FILE) and the store's
 * key-parameters object <prefix>/index/key_params.json, which holds the
 * scrypt salt and costs and the key id they give (docs/FORMAT.md,
 * "Passphrase keys").
 */
#ifndef CASSETTE_PASSPHRASE_H
#define CASSETTE_PASSPHRASE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

struct config;
struct storage;

/* A passphrase is 1 to 1024 bytes: the first line of its file. */
#define PASSPHRASE_MAX 1024
#define KEY_PARAMS_SALT_LEN 32
/* What a new store gets: about 128 MiB and a quarter of a second. */
#define KEY_PARAMS_DEFAULT_N ((uint64_t)1 << 17)
#define KEY_PARAMS_DEFAULT_R 8u
#define KEY_PARAMS_DEFAULT_P 1u

struct key_params {
	uint64_t N;
	uint32_t r, p;
	unsigned char salt[KEY_PARAMS_SALT_LEN];
	unsigned char key_id[CRYPTO_KEYID_LEN];
};

/*
 * Read a passphrase file into buf (PASSPHRASE_MAX bytes): its first line
 * without the "\n" or "\r\n" that ends it. Refused with CST_EINVALID when
 * it is not a regular file, when group or others have any permission on it
 * ("chmod 600 it"), when that line is empty or longer than PASSPHRASE_MAX;
 * CST_ENOTFOUND / CST_EIO when it cannot be opened or read. The message
 * names the path, never the content. Every copy but buf is wiped; buf is
 * wiped on failure.
 */
int passphrase_read_file(unsigned char *buf, size_t *len, const char *path);

/*
 * Parse the text of a key-parameters object named `object` (for the
 * messages). Every field must be there with its type, and no other:
 * CST_EUNSUPPORTED for a version other than 1 or a kdf other than
 * "scrypt", CST_EINTEGRITY for anything else wrong, costs out of range
 * (crypto_scrypt_check_costs()) included. Each message starts with the
 * object's name.
 */
int key_params_parse(struct key_params *out, const char *text, size_t len, const char *object);
/* The object's text for kp: one line of JSON ending in "\n". Fresh string
 * (caller frees) or NULL with CST_ENOMEM set. */
char *key_params_format(const struct key_params *kp);

/*
 * The master key from the configured passphrase file and the store's key
 * parameters, read from `st`. When the store has none and may_create is
 * set (a writing command), new ones are made (random salt, the default
 * costs) and stored create-only; when another node stored its own first,
 * those are used. A read-only command (may_create 0) that finds none fails
 * with CST_ENOTFOUND naming the object. A passphrase that gives another key
 * id than the object records is CST_EAUTH ("wrong key: ..."), never an
 * integrity error. Every passphrase-file problem (missing and unreadable
 * too) and no passphrase file configured are CST_EINVALID; the object's, as
 * key_params_parse(); a
 * storage error keeps its code. *out is owned by the caller (NULL on
 * failure).
 */
int passphrase_master_key(struct crypto_key **out, const struct config *cfg, struct storage *st,
			  int may_create);

#endif
