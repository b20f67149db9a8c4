/*
 * Key files that keygen writes besides a bare key (inspect.c):
 * keygen --add-to FILE: a new master key appended to a keyring, as its
 * newest. A key file of one bare line becomes a keyring (its line gains its
 * key id). The file is replaced atomically, mode 0600; a file that does not
 * load as a keyring (too open, malformed) is refused untouched.
 * keygen --recipient / --node-signing --output FILE: a key pair of the
 * public-key mode, FILE (0600) and FILE.pub.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "util.h"

#define KEYRING_FILE_MAX (16 * 1024)

static int read_text(char **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "re");
	size_t n;

	*out = NULL;
	if (f == NULL)
		return cst_error_errno("cannot open %s", path);
	if ((*out = calloc(1, KEYRING_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return CST_ENOMEM;
	}
	n = fread(*out, 1, KEYRING_FILE_MAX, f);
	fclose(f);
	*len = n;
	return 0;
}

int cmd_keygen_add(const char *path)
{
	struct crypto_keyring *ring = NULL;
	char line[CRYPTO_KEYRING_LINE_LEN + 1], id[2 * CRYPTO_KEYID_LEN + 1];
	char *old = NULL, *text = NULL;
	size_t len = 0, a = 0, b;
	int rc;

	if ((rc = crypto_keyring_load_file(&ring, path)) != 0)
		return CMD_USAGE;	/* missing, too open or malformed: setup */
	if ((rc = read_text(&old, &len, path)) != 0 || (rc = crypto_keyring_line_new(line)) != 0)
		goto out;
	b = len;
	while (a < b && strchr(" \t\r\n", old[a]))
		a++;
	while (b > a && strchr(" \t\r\n", old[b - 1]))
		b--;
	cst_hex(id, crypto_key_id(crypto_keyring_key(ring, 0)), CRYPTO_KEYID_LEN);
	/* a bare key: one token, no comment, no key id */
	if (crypto_keyring_count(ring) == 1 && b - a == CRYPTO_KEY_B64_LEN && old[a] != '#')
		text = cst_sprintf("# cassette keyring: '<key id> <key>' lines, the last one the newest\n"
				   "%s %.*s\n%s\n", id, (int)(b - a), old + a, line);
	else
		text = cst_sprintf("%.*s\n%s\n", (int)b, old, line);
	if (text == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = cst_write_file_atomic(path, text, strlen(text), 0600)) != 0)
		goto out;
	fprintf(stderr, "cassette: added key %.16s to %s, now its newest of %zu; copy the file to every "
		"host, then run cassette rotate-key\n", line, path, crypto_keyring_count(ring) + 1);
out:
	if (old != NULL)
		cst_wipe(old, KEYRING_FILE_MAX + 1);
	if (text != NULL)
		cst_wipe(text, strlen(text));
	free(old);
	free(text);
	cst_wipe(line, sizeof(line));
	crypto_keyring_free(ring);
	return rc;
}

/* Create `path` with `text`, mode `mode`, never over an existing file. */
static int create_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int rc = 0;

	if (fd < 0)
		return errno == EEXIST ? cst_error(CST_EEXISTS, "%s exists: keygen never replaces a key "
						   "file", path) :
					 cst_error_errno("cannot create %s", path);
	if (cst_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0)
		rc = cst_error_errno("cannot write %s", path);
	if (close(fd) != 0 && rc == 0)
		rc = cst_error_errno("cannot write %s", path);
	if (rc != 0)
		unlink(path);
	return rc;
}

int cmd_keygen_pk(const char *output, int signing, const char *fqdn)
{
	struct crypto_pk_pair pair;
	char host[256], *pub = NULL;
	int rc;

	if (output == NULL) {
		cst_error(CST_EINVALID, "keygen %s needs --output FILE (the private key; FILE.pub gets "
			  "the public one)", signing ? "--node-signing" : "--recipient");
		return CMD_USAGE;
	}
	if (signing && fqdn == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			return cst_error_errno("cannot get the host name; give --fqdn");
		host[sizeof(host) - 1] = '\0';
		fqdn = host;
	}
	if ((pub = cst_sprintf("%s.pub", output)) == NULL)
		return CST_ENOMEM;
	if ((rc = crypto_pk_keygen(&pair, signing, fqdn)) != 0)
		goto out;
	if (access(pub, F_OK) == 0) {
		rc = cst_error(CST_EEXISTS, "%s exists: keygen never replaces a key file", pub);
		goto out;
	}
	if ((rc = create_file(output, pair.priv, 0600)) != 0)
		goto out;
	if ((rc = create_file(pub, pair.pub, 0644)) != 0) {
		unlink(output);
		goto out;
	}
	if (signing)
		fprintf(stderr, "cassette: node %s's signing key is in %s (keep it on that node, "
			"[storage] node_signing_key_file); add the line of %s to the keyring of every host "
			"that restores\n", fqdn, output, pub);
	else
		fprintf(stderr, "cassette: the recipient's private key is in %s: keep it off the nodes, "
			"on the hosts that restore (a line of their keyring); give %s to the nodes "
			"([storage] recipient_public_key_file)\n", output, pub);
out:
	cst_wipe(&pair, sizeof(pair));
	free(pub);
	return rc;
}
