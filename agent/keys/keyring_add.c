/*
 * keygen --add-to FILE: a new master key appended to a keyring, as its
 * newest. A key file of one bare line becomes a keyring (its line gains its
 * key id). The file is replaced atomically, mode 0600; a file that does not
 * load as a keyring (too open, malformed) is refused untouched.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
