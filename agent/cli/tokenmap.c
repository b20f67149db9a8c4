/* fetch-tokenmap: print a backup's tokenmap.json; no key, no data object. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "layout.h"
#include "storage.h"
#include "util.h"

#define MAX_TOKENMAP (64u << 20)	/* 500,000 tokens and their names */

int cmd_fetch_tokenmap(const struct config *cfg, const char *name)
{
	struct storage *st = NULL;
	char *key = NULL, *text = NULL;
	size_t len = 0;
	int rc;

	if (!config_backup_name_is_valid(name)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not a valid backup name", name);
		return CMD_USAGE;
	}
	if ((key = layout_meta_key(cfg->prefix, cfg->fqdn, name, "tokenmap.json")) == NULL)
		return CST_ENOMEM;
	if ((rc = cmd_open_storage(&st, cfg, 0)) != 0)
		goto out;
	rc = storage_get_buf(st, key, &text, &len, MAX_TOKENMAP);
	if (rc == CST_ENOTFOUND)
		rc = cst_error(CST_ENOTFOUND, "backup '%s' of node %s does not exist (no %s)", name,
			       cfg->fqdn, key);
	if (rc != 0)
		goto out;
	if (fwrite(text, 1, len, stdout) != len ||
	    (len > 0 && text[len - 1] != '\n' && putchar('\n') == EOF) || fflush(stdout) != 0)
		rc = cst_error_errno("cannot write the tokenmap to standard output");
out:
	free(text);
	free(key);
	storage_close(st);
	return rc;
}
