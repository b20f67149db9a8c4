/*
 * rotate-key: every node's data keys re-wrapped under the keyring's newest
 * master key, without reading or writing a data object.
 *
 * For each node (those with data keys, and those with finished backups):
 *   1. the key ids its finished backups' manifests use;
 *   2. a master key of the keyring that version-1 objects of the node are
 *      encrypted under directly is adopted: stored as a data key of
 *      generation 0, wrapped under the new master, so the old master can
 *      leave the keyring;
 *   3. each data key not yet wrapped under the new master is unwrapped with
 *      any key of the keyring, wrapped under the new one, read back and
 *      unwrapped again; only then are its other wraps deleted;
 *   4. with --reencrypt, a new data key (the next generation) becomes the
 *      node's current one: its next backup stores every file again.
 * Last, the backups that still use data keys other than their node's
 * current one are listed: they stay readable by whoever held an old master
 * and a copy of the old wraps, until purge removes them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "commands.h"
#include "config.h"
#include "datakeys.h"
#include "keys.h"
#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "util.h"

#define HEX (2 * CRYPTO_KEYID_LEN)
#define MANIFEST_MAX (1u << 30)

struct ids {
	unsigned char (*v)[CRYPTO_KEYID_LEN];
	size_t n, cap;
};

static int ids_add(struct ids *s, const unsigned char *id)
{
	unsigned char (*v)[CRYPTO_KEYID_LEN];
	size_t i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->v[i], id, CRYPTO_KEYID_LEN) == 0)
			return 0;
	if ((v = cst_grow(s->v, &s->cap, s->n, sizeof(*v), 4)) == NULL)
		return CST_ENOMEM;
	s->v = v;
	memcpy(s->v[s->n++], id, CRYPTO_KEYID_LEN);
	return 0;
}

struct rot {
	const struct config *cfg;
	const struct rotate_opts *o;
	struct storage *st;
	const char *prefix;
	struct crypto_keyring *ring;
	const char *ring_path;
	const struct crypto_key *newest;
	char nhex[HEX + 1];
	struct catalog *cat;
	unsigned rewrapped, adopted, made, kept, failed;
	size_t old_backups;
};

/* The key ids of one backup's manifest on node fqdn. */
static int backup_ids(struct rot *r, const char *backup, const char *fqdn, struct ids *out)
{
	struct manifest *m = NULL;
	char *key = layout_meta_key(r->prefix, fqdn, backup, "manifest.json"), *text = NULL;
	size_t len = 0, t, i;
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	if ((rc = storage_get_buf(r->st, key, &text, &len, MANIFEST_MAX)) == 0 &&
	    (rc = manifest_parse(&m, text, len, key)) == 0)
		for (t = 0; t < manifest_table_count(m) && rc == 0; t++) {
			const struct manifest_table *tab = manifest_table_at(m, t);

			for (i = 0; i < tab->n_objects && rc == 0; i++) {
				unsigned char id[CRYPTO_KEYID_LEN];

				if (tab->objects[i].key_id[0] != '\0' &&
				    cst_unhex(id, sizeof(id), tab->objects[i].key_id) == 0)
					rc = ids_add(out, id);
			}
		}
	manifest_free(m);
	free(text);
	free(key);
	return rc;
}

/* Step 3: re-wrap one data key under the newest master, prove the new wrap
 * by reading it back, then delete the others. */
static int rewrap(struct rot *r, const char *fqdn, const struct dk_entry *e)
{
	const struct crypto_key *by = NULL;
	struct crypto_key *dk = NULL, *again = NULL;
	struct dk_list check = { 0 };
	const struct dk_entry *ce;
	size_t i, masters = 0;
	int rc = 0, have = datakeys_has_wrap(e, "master", r->nhex) >= 0;

	for (i = 0; i < e->n_wraps; i++)
		masters += strncmp(e->wraps[i], "master_", 7) == 0;
	if (masters == 0)	/* wrapped to a recipient (public-key mode) only */
		return 0;
	if (have && masters == 1) {
		r->kept++;
		return 0;
	}
	if (r->o->dry_run) {
		printf("node %s: data key %s would be wrapped under master key %s only\n", fqdn,
		       e->idhex, r->nhex);
		return 0;
	}
	if (!have) {
		if ((rc = datakeys_unwrap(&dk, &by, r->st, r->prefix, fqdn, e, r->ring, r->ring_path)) != 0 ||
		    (rc = datakeys_put(r->st, r->prefix, fqdn, e->gen, dk, r->newest)) != 0)
			goto out;
	}
	/* read back what storage now holds, as a restore would: the newest
	 * master is tried first */
	if ((rc = datakeys_list(&check, r->st, r->prefix, fqdn)) != 0)
		goto out;
	if ((ce = datakeys_find(&check, e->id)) == NULL || datakeys_has_wrap(ce, "master", r->nhex) < 0) {
		rc = cst_error(CST_EINTEGRITY, "node %s: the new wrap of data key %s is not listed", fqdn,
			       e->idhex);
		goto out;
	}
	if ((rc = datakeys_unwrap(&again, &by, r->st, r->prefix, fqdn, ce, r->ring, r->ring_path)) != 0)
		goto out;
	if (by != r->newest) {
		rc = cst_error(CST_EINTEGRITY, "node %s: data key %s did not unwrap with master key %s",
			       fqdn, e->idhex, r->nhex);
		goto out;
	}
	for (i = 0; i < ce->n_wraps; i++)
		if (strncmp(ce->wraps[i], "master_", 7) == 0 &&
		    datakeys_has_wrap(ce, "master", r->nhex) != (int)i &&
		    (rc = datakeys_delete_wrap(r->st, r->prefix, fqdn, ce, ce->wraps[i])) != 0)
			goto out;
	printf("node %s: data key %s is wrapped under master key %s only\n", fqdn, e->idhex, r->nhex);
	r->rewrapped++;
out:
	crypto_key_free(dk);
	crypto_key_free(again);
	datakeys_list_free(&check);
	return rc;
}

/* Step 2: version-1 objects of the node under master keys other than the
 * newest: each such master becomes a data key of generation 0. */
static int adopt(struct rot *r, const char *fqdn, const struct ids *used, const struct dk_list *l)
{
	char hex[HEX + 1];
	size_t i;
	int rc;

	for (i = 0; i < used->n; i++) {
		const struct crypto_key *m = crypto_keyring_find(r->ring, used->v[i]);

		if (m == NULL || m == r->newest || datakeys_find(l, used->v[i]) != NULL)
			continue;
		cst_hex(hex, used->v[i], CRYPTO_KEYID_LEN);
		if (r->o->dry_run) {
			printf("node %s: master key %s, which encrypts backups of version 1, would become a "
			       "data key wrapped under master key %s\n", fqdn, hex, r->nhex);
			continue;
		}
		if ((rc = datakeys_put(r->st, r->prefix, fqdn, 0, m, r->newest)) != 0 && rc != CST_EEXISTS)
			return rc;
		printf("node %s: master key %s, which encrypts backups of version 1, is now a data key "
		       "wrapped under master key %s\n", fqdn, hex, r->nhex);
		r->adopted++;
	}
	return 0;
}

/* Step 4: a new current data key for the node. */
static int reencrypt(struct rot *r, const char *fqdn, const struct dk_list *l)
{
	unsigned gen = l->n > 0 ? l->v[l->n - 1].gen + 1 : 1;
	struct crypto_key *dk = NULL;
	char hex[HEX + 1];
	int rc;

	if (r->o->dry_run) {
		printf("node %s: a new data key (generation %u) would become current\n", fqdn, gen);
		return 0;
	}
	if ((rc = crypto_key_generate(&dk)) != 0 ||
	    (rc = datakeys_put(r->st, r->prefix, fqdn, gen, dk, r->newest)) != 0)
		goto out;
	cst_hex(hex, crypto_key_id(dk), CRYPTO_KEYID_LEN);
	printf("node %s: new data key %s (generation %u) is current: its next backup stores every "
	       "file again\n", fqdn, hex, gen);
	r->made++;
out:
	crypto_key_free(dk);
	return rc;
}

/* The node's finished backups and the key ids each uses. */
struct usage {
	const char **names;
	struct ids *ids;
	size_t n;
	struct ids all;
};

static void usage_free(struct usage *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->ids[i].v);
	free(u->ids);
	free(u->names);
	free(u->all.v);
}

static int node_usage(struct rot *r, const char *fqdn, struct usage *u)
{
	size_t b, i;
	int rc;

	memset(u, 0, sizeof(*u));
	if ((u->names = calloc(r->cat->n_backups + 1, sizeof(*u->names))) == NULL ||
	    (u->ids = calloc(r->cat->n_backups + 1, sizeof(*u->ids))) == NULL)
		return CST_ENOMEM;
	for (b = 0; b < r->cat->n_backups; b++) {
		const struct catalog_node *cn = catalog_node_of(&r->cat->backups[b], fqdn);

		if (cn == NULL || cn->finished == 0 || cn->damaged)
			continue;
		u->names[u->n] = r->cat->backups[b].name;
		if ((rc = backup_ids(r, u->names[u->n], fqdn, &u->ids[u->n])) != 0)
			return cst_error(rc, "backup %s of node %s: %s", u->names[u->n], fqdn,
					 cst_error_msg());
		for (i = 0; i < u->ids[u->n].n; i++)
			if ((rc = ids_add(&u->all, u->ids[u->n].v[i])) != 0)
				return rc;
		u->n++;
	}
	return 0;
}

/* The backups using a key other than the node's current data key. */
static int report_old(struct rot *r, const char *fqdn, const struct usage *u)
{
	struct dk_list l = { 0 };
	char hex[HEX + 1];
	size_t b, i;
	int rc;

	if ((rc = datakeys_list(&l, r->st, r->prefix, fqdn)) != 0)
		return rc;
	for (b = 0; b < u->n; b++)
		for (i = 0; i < u->ids[b].n; i++) {
			if (l.n > 0 && memcmp(u->ids[b].v[i], l.v[l.n - 1].id, CRYPTO_KEYID_LEN) == 0)
				continue;
			cst_hex(hex, u->ids[b].v[i], CRYPTO_KEYID_LEN);
			printf("backup %s of node %s still depends on key %s, not the node's current data "
			       "key: whoever held an old master key and a copy of its wraps can read it "
			       "until purge removes it\n", u->names[b], fqdn, hex);
			r->old_backups++;
			break;
		}
	datakeys_list_free(&l);
	return 0;
}

static int rotate_node(struct rot *r, const char *fqdn)
{
	struct dk_list l = { 0 };
	struct usage u;
	size_t i;
	int rc;

	if ((rc = node_usage(r, fqdn, &u)) != 0 || (rc = datakeys_list(&l, r->st, r->prefix, fqdn)) != 0 ||
	    (rc = adopt(r, fqdn, &u.all, &l)) != 0)
		goto out;
	datakeys_list_free(&l);
	if ((rc = datakeys_list(&l, r->st, r->prefix, fqdn)) != 0)
		goto out;
	for (i = 0; i < l.n; i++)
		if (rewrap(r, fqdn, &l.v[i]) != 0) {
			fprintf(stderr, "cassette: %s\n", cst_error_msg());
			r->failed++;
		}
	if (r->o->reencrypt && (rc = reencrypt(r, fqdn, &l)) != 0)
		goto out;
	if (!r->o->dry_run)
		rc = report_old(r, fqdn, &u);
out:
	datakeys_list_free(&l);
	usage_free(&u);
	return rc;
}

static int add_node(char ***v, size_t *n, const char *fqdn)
{
	char **grown;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], fqdn) == 0)
			return 0;
	if ((grown = realloc(*v, (*n + 2) * sizeof(**v))) == NULL)
		return CST_ENOMEM;
	*v = grown;
	if ((grown[*n] = cst_strdup(fqdn)) == NULL)
		return CST_ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

int cmd_rotate_key(const struct config *cfg, const struct rotate_opts *o)
{
	struct rot r;
	struct keyset *ks = NULL;
	char **nodes = NULL;
	size_t n = 0, i, b, k;
	int rc;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.o = o;
	r.prefix = cfg->prefix ? cfg->prefix : "";
	if ((rc = cmd_open_storage(&r.st, cfg, 0)) != 0)
		return rc;
	if ((rc = keys_open(&ks, cfg, r.st, cfg->fqdn, 0)) != 0) {
		storage_close(r.st);
		return rc;
	}
	r.ring = (struct crypto_keyring *)keys_ring(ks);
	r.ring_path = keys_ring_path(ks);
	if ((r.newest = crypto_keyring_newest(r.ring)) == NULL) {
		rc = cst_error(CST_EINVALID, "key file %s holds no master key: rotate-key re-wraps data "
			       "keys under master keys (in public-key mode every backup has a data key "
			       "of its own; to change the recipient, make a new one and give the nodes "
			       "its public key)", r.ring_path);
		storage_close(r.st);
		keys_free(ks);
		return CMD_USAGE;
	}
	cst_hex(r.nhex, crypto_key_id(r.newest), CRYPTO_KEYID_LEN);
	if ((rc = catalog_load(&r.cat, r.st, r.prefix)) != 0 ||
	    (rc = datakeys_nodes(&nodes, r.st, r.prefix)) != 0)
		goto out;
	while (nodes[n] != NULL)
		n++;
	for (b = 0; b < r.cat->n_backups; b++)
		for (k = 0; k < r.cat->backups[b].n_nodes; k++)
			if ((rc = add_node(&nodes, &n, r.cat->backups[b].nodes[k].fqdn)) != 0)
				goto out;
	for (i = 0; i < n && rc == 0; i++)
		rc = rotate_node(&r, nodes[i]);
	if (rc != 0)
		goto out;
	if (r.failed > 0) {
		rc = cst_error(CST_EAUTH, "%u data key%s could not be re-wrapped (above); their other wraps "
			       "were kept", r.failed, r.failed == 1 ? "" : "s");
		goto out;
	}
	if (o->dry_run)
		printf("dry run: nothing was changed\n");
	else
		printf("rotate-key: %zu node%s; every data key is wrapped under master key %s only "
		       "(%u re-wrapped, %u already were, %u version-1 master key%s adopted, %u new data "
		       "key%s); the keyring's other keys can leave %s once every host has the new one%s\n",
		       n, n == 1 ? "" : "s", r.nhex, r.rewrapped, r.kept, r.adopted,
		       r.adopted == 1 ? "" : "s", r.made, r.made == 1 ? "" : "s", r.ring_path,
		       r.old_backups ? "; the backups listed above still use older data keys" : "");
out:
	for (i = 0; nodes && i < n; i++)
		free(nodes[i]);
	free(nodes);
	catalog_free(r.cat);
	storage_close(r.st);
	keys_free(ks);
	return rc;
}
