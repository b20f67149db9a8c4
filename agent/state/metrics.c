/* metrics: the Prometheus text file; see metrics.h. */
#define _GNU_SOURCE
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "commands.h"
#include "config.h"
#include "storage.h"
#include "util.h"

enum { M_TS, M_DURATION, M_FILES, M_BYTES, M_SHRUNK, M_BACKUP_OK, M_VERIFY_OK, M_COUNT };

static const struct {
	const char *name, *help;
} metric[M_COUNT] = {
	{ "cassette_last_backup_timestamp_seconds",
	  "Unix time when the node's last finished backup finished (0: none)." },
	{ "cassette_last_backup_duration_seconds",
	  "Seconds from the start to the finish of the node's last finished backup." },
	{ "cassette_last_backup_files", "Files in the node's last finished backup." },
	{ "cassette_last_backup_bytes", "Plaintext bytes of the files in the node's last finished backup." },
	{ "cassette_last_backup_shrunk",
	  "1 when the last finished backup holds less than half the bytes of the one before it." },
	{ "cassette_last_backup_success", "1 when the last backup-node run succeeded, 0 when it failed." },
	{ "cassette_last_verify_success", "1 when the last verify run found the backup sound, 0 otherwise." },
};

/* A value as it goes into the file; "" = unknown (the line is left out). */
struct values {
	char v[M_COUNT][32];
};

void metrics_last_backup(struct metrics_last *out, const struct catalog *cat, const char *fqdn)
{
	int64_t newest_start = -1;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		const struct catalog_node *n = catalog_node_of(b, fqdn);

		if (n == NULL)
			continue;
		if (n->started >= newest_start) {
			newest_start = n->started;
			out->newest_finished = n->finished != 0;
		}
		if (n->finished == 0 || n->damaged)
			continue;
		if (out->node == NULL || n->finished >= out->node->finished) {
			out->prev_backup = out->backup;
			out->prev = out->node;
			out->backup = b;
			out->node = n;
		} else if (out->prev == NULL || n->finished >= out->prev->finished) {
			out->prev_backup = b;
			out->prev = n;
		}
	}
	out->shrunk = out->node != NULL && out->prev != NULL && out->node->bytes < out->prev->bytes / 2;
}

/* One sample line: name{node="..."} value. Other nodes' lines are not ours. */
static void parse_line(struct values *old, const char *line, const char *label)
{
	size_t i, n;
	const char *rest;
	char *end;

	if (line[0] == '#')
		return;
	for (i = 0; i < M_COUNT; i++) {
		n = strlen(metric[i].name);
		if (strncmp(line, metric[i].name, n) != 0)
			continue;
		rest = line + n;
		if (strncmp(rest, label, strlen(label)) != 0)
			return;
		rest += strlen(label);
		while (*rest == ' ')
			rest++;
		strtod(rest, &end);
		if (end == rest || (size_t)(end - rest) >= sizeof(old->v[i]))
			return;
		memcpy(old->v[i], rest, (size_t)(end - rest));
		old->v[i][end - rest] = '\0';
		return;
	}
}

static void read_old(struct values *old, const char *path, const char *label)
{
	char *text = NULL, *line, *save = NULL;

	memset(old, 0, sizeof(*old));
	if (cst_read_file(&text, NULL, path, 1 << 20) != 0) {
		cst_error_clear();	/* none yet, or unreadable: start afresh */
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		parse_line(old, line, label);
	free(text);
}

/* {node="<fqdn>"} with the label value escaped as the format wants. */
static char *make_label(const char *fqdn)
{
	size_t i, n = 0;
	char *out = cst_malloc(2 * strlen(fqdn) + 16);

	if (out == NULL)
		return NULL;
	n += (size_t)sprintf(out, "{node=\"");
	for (i = 0; fqdn[i]; i++) {
		if (fqdn[i] == '\\' || fqdn[i] == '"' || fqdn[i] == '\n') {
			out[n++] = '\\';
			out[n++] = fqdn[i] == '\n' ? 'n' : fqdn[i];
		} else {
			out[n++] = fqdn[i];
		}
	}
	strcpy(out + n, "\"}");
	return out;
}

static int from_catalog(struct values *v, const struct config *cfg, struct storage *st,
			const struct catalog *given)
{
	struct storage *own = NULL;
	struct catalog *cat = NULL;
	struct metrics_last last;
	int rc = 0;

	if (given == NULL) {
		if (st == NULL && (rc = cmd_open_storage(&own, cfg, 0)) != 0)
			return rc;
		if ((rc = catalog_load(&cat, st ? st : own, cfg->prefix)) != 0 ||
		    (rc = catalog_count_latest(cat, st ? st : own, cfg->prefix, cfg->fqdn, 2)) != 0)
			goto out;
		given = cat;
	}
	metrics_last_backup(&last, given, cfg->fqdn);
	if (last.node == NULL) {
		snprintf(v->v[M_TS], sizeof(v->v[M_TS]), "0");
		snprintf(v->v[M_DURATION], sizeof(v->v[M_DURATION]), "0");
		snprintf(v->v[M_FILES], sizeof(v->v[M_FILES]), "0");
		snprintf(v->v[M_BYTES], sizeof(v->v[M_BYTES]), "0");
	} else {
		int64_t d = last.node->started && last.node->finished >= last.node->started ?
			    last.node->finished - last.node->started : 0;

		snprintf(v->v[M_TS], sizeof(v->v[M_TS]), "%" PRId64, last.node->finished);
		snprintf(v->v[M_DURATION], sizeof(v->v[M_DURATION]), "%" PRId64, d);
		snprintf(v->v[M_FILES], sizeof(v->v[M_FILES]), "%" PRIu64, last.node->files);
		snprintf(v->v[M_BYTES], sizeof(v->v[M_BYTES]), "%" PRIu64, last.node->bytes);
	}
	snprintf(v->v[M_SHRUNK], sizeof(v->v[M_SHRUNK]), "%d", last.shrunk);
	/* no run said: the node's newest backup finished, or not */
	if (v->v[M_BACKUP_OK][0] == '\0')
		snprintf(v->v[M_BACKUP_OK], sizeof(v->v[M_BACKUP_OK]), "%d", last.newest_finished);
out:
	catalog_free(cat);
	storage_close(own);
	return rc;
}

static int render(char **out, const struct values *v, const char *label)
{
	char *text = NULL, *next;
	size_t i;

	if ((text = cst_strdup("")) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < M_COUNT; i++) {
		if (v->v[i][0] == '\0')
			continue;
		next = cst_sprintf("%s# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n", text, metric[i].name,
				   metric[i].help, metric[i].name, metric[i].name, label, v->v[i]);
		free(text);
		if ((text = next) == NULL)
			return CST_ENOMEM;
	}
	*out = text;
	return 0;
}

static int update(const struct config *cfg, struct storage *st, const struct catalog *cat,
		  int backup_ok, int verify_ok, const char *path_override)
{
	const char *path = path_override ? path_override : cfg->prometheus_textfile;
	struct values v;
	char *label = NULL, *text = NULL;
	int rc = 0;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((label = make_label(cfg->fqdn)) == NULL)
		return CST_ENOMEM;
	read_old(&v, path, label);
	if (backup_ok >= 0)
		snprintf(v.v[M_BACKUP_OK], sizeof(v.v[M_BACKUP_OK]), "%d", backup_ok ? 1 : 0);
	if (verify_ok >= 0)
		snprintf(v.v[M_VERIFY_OK], sizeof(v.v[M_VERIFY_OK]), "%d", verify_ok ? 1 : 0);
	if (cat != NULL || backup_ok >= 0 || path_override != NULL || v.v[M_TS][0] == '\0' ||
	    v.v[M_BACKUP_OK][0] == '\0') {
		/* storage out of reach: the file keeps the backup values it had
		 * (a failed backup still says it failed) */
		if ((rc = from_catalog(&v, cfg, st, cat)) != 0 && path_override != NULL)
			goto out;
		rc = 0;
		cst_error_clear();
	}
	if ((rc = render(&text, &v, label)) != 0)
		goto out;
	if ((rc = cst_write_file_atomic(path, text, strlen(text), 0644)) != 0)
		rc = cst_error(rc, "prometheus_textfile: %s", cst_error_msg());
out:
	free(label);
	free(text);
	return rc;
}

int metrics_update(const struct config *cfg, struct storage *st, int backup_ok, int verify_ok,
		   const char *path_override)
{
	return update(cfg, st, NULL, backup_ok, verify_ok, path_override);
}

int metrics_write_from(const struct config *cfg, const struct catalog *cat, const char *path)
{
	return update(cfg, NULL, cat, -1, -1, path);
}

void metrics_record(const struct config *cfg, struct storage *st, int backup_ok, int verify_ok)
{
	char saved[1024];
	int code = cst_error_code();

	if (cfg->prometheus_textfile == NULL)
		return;
	snprintf(saved, sizeof(saved), "%s", cst_error_msg());
	if (metrics_update(cfg, st, backup_ok, verify_ok, NULL) != 0)
		fprintf(stderr, "cassette: warning: %s\n", cst_error_msg());
	if (code != 0)
		cst_error(code, "%s", saved);
	else
		cst_error_clear();
}
