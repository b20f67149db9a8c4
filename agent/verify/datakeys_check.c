/*
 * verify without a key: the data keys a backup's objects are encrypted
 * under must still be in the store (index/data_keys/<fqdn>/). A deleted
 * wrap makes every file under that data key unrestorable, while each object
 * still looks whole. Backups that have meta/auth.json are of store version 2
 * (data keys); a backup without one (version 1, Medusa) encrypts under
 * master keys, which the store does not hold, and is not checked here.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "datakeys.h"
#include "layout.h"
#include "meta_auth.h"
#include "storage.h"
#include "verify_int.h"

int verify_data_keys(struct verify *v)
{
	struct dk_list l = { 0 };
	char *auth, hex[2 * CRYPTO_KEYID_LEN + 1];
	uint64_t size = 0;
	size_t i;
	int rc;

	if (!v->encrypted)
		return 0;
	if ((auth = layout_meta_key(v->cfg->prefix, v->cfg->fqdn, v->o->name, META_AUTH_NAME)) == NULL)
		return CST_ENOMEM;
	rc = storage_head(v->st, auth, &size);
	free(auth);
	if (rc == CST_ENOTFOUND) {
		cst_error_clear();
		return 0;	/* version 1 or another tool: master keys, not in the store */
	}
	if (rc != 0 || (rc = datakeys_list(&l, v->st, v->cfg->prefix ? v->cfg->prefix : "", v->cfg->fqdn)) != 0)
		return rc;
	for (i = 0; i < v->n_items; i++) {
		struct verify_item *it = &v->items[i];

		if (it->problem != VP_OK || !it->job.rec.encrypted ||
		    datakeys_find(&l, it->job.rec.key_id) != NULL)
			continue;
		cst_hex(hex, it->job.rec.key_id, CRYPTO_KEYID_LEN);
		verify_flag(it, VP_KEY_MISSING, "object %s is encrypted under data key %s, which is not in "
			    "the store (index/data_keys/%s/): no key can restore it", it->job.rec.path, hex,
			    v->cfg->fqdn);
	}
	datakeys_list_free(&l);
	return 0;
}
