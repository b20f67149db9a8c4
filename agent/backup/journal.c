/* journal: the records of an interrupted backup (journal.h). */
#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define MAGIC "cassette journal 1 "

struct journal {
	char *path;
	int fd;				/* -1: records nothing */
	struct journal_rec *recs;	/* loaded, sorted by (ks, cf, rel), then file order */
	const struct journal_rec **ptrs;
	size_t n;
	struct cst_strpool names;
	int found;			/* a journal was there: a run did not finish */
};

static uint64_t fnv64(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int cmp_file(const struct journal_rec *a, const char *ks, const char *cf, const char *rel)
{
	int c;

	if ((c = strcmp(a->ks, ks)) != 0 || (c = strcmp(a->cf, cf)) != 0)
		return c;
	return strcmp(a->rel, rel);
}

static int cmp_recs(const void *pa, const void *pb)
{
	const struct journal_rec *a = *(const struct journal_rec *const *)pa;
	const struct journal_rec *b = *(const struct journal_rec *const *)pb;
	int c = cmp_file(a, b->ks, b->cf, b->rel);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;	/* file order: the array is in it */
}

static int is_hex(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* One record line (without its '\n'): 1, 0 when torn or malformed, -1 out
 * of memory. */
static int parse_line(struct journal *j, char *line, struct journal_rec *rec)
{
	char *f[10], *p = line, *end, *last = strrchr(line, '\t');
	size_t k;

	/* the checksum covers the line up to its last tab */
	if (last == NULL || !is_hex(last + 1, 16) ||
	    fnv64(line, (size_t)(last - line)) != strtoull(last + 1, NULL, 16))
		return 0;
	for (k = 0; k < 10; k++) {
		f[k] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	if (k != 9)
		return 0;
	memset(rec, 0, sizeof(*rec));
	errno = 0;
	rec->size = strtoull(f[5], &end, 10);
	if (errno || *end || f[5][0] == '\0')
		return 0;
	rec->source_size = strtoull(f[6], &end, 10);
	if (errno || *end || f[6][0] == '\0' || !is_hex(f[7], 32) ||
	    (strcmp(f[8], "-") != 0 && !is_hex(f[8], 64)))
		return 0;
	memcpy(rec->source_md5, f[7], 33);
	if (strcmp(f[8], "-") != 0)
		memcpy(rec->salt, f[8], 65);
	if ((rec->ks = cst_strpool_dup(&j->names, f[0])) == NULL ||
	    (rec->cf = cst_strpool_dup(&j->names, f[1])) == NULL ||
	    (rec->rel = cst_strpool_dup(&j->names, f[2])) == NULL ||
	    (rec->key = cst_strpool_dup(&j->names, f[3])) == NULL ||
	    (strcmp(f[4], "-") != 0 && (rec->variant = cst_strpool_dup(&j->names, f[4])) == NULL))
		return -1;
	return 1;
}

/* Load the records when the header is `header`; 0 also when it is not. */
static int load(struct journal *j, FILE *fp, const char *header, int *matched)
{
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	int rc = 0;

	*matched = 0;
	if ((len = getline(&line, &cap, fp)) < 0 || strcmp(line, header) != 0) {
		free(line);
		return 0;
	}
	*matched = 1;
	while ((len = getline(&line, &cap, fp)) > 0) {
		struct journal_rec rec, *grown;
		int ok;

		if (line[len - 1] != '\n')
			break;		/* torn: the last write was cut */
		line[len - 1] = '\0';
		if ((ok = parse_line(j, line, &rec)) < 0) {
			rc = CST_ENOMEM;
			break;
		}
		if (ok == 0)
			continue;
		if ((grown = cst_grow(j->recs, &alloc, j->n, sizeof(*grown), 64)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		j->recs = grown;
		j->recs[j->n++] = rec;
	}
	free(line);
	return rc;
}

static int index_recs(struct journal *j)
{
	size_t i;

	if (j->n == 0)
		return 0;
	if ((j->ptrs = cst_calloc(j->n, sizeof(*j->ptrs))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < j->n; i++)
		j->ptrs[i] = &j->recs[i];
	qsort(j->ptrs, j->n, sizeof(*j->ptrs), cmp_recs);
	return 0;
}

/* state_dir, 0700 when created here. */
static int make_state_dir(const char *dir)
{
	char *parent, *slash;
	int rc = 0;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return cst_error_errno("cannot create state_dir %s", dir);
	if ((parent = cst_strdup(dir)) == NULL)
		return CST_ENOMEM;
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		rc = cst_mkdirs(parent);
	}
	free(parent);
	if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
		rc = cst_error_errno("cannot create state_dir %s", dir);
	return rc;
}

/* Start the file over with `header`: temp file, fsync, rename. */
static int start_over(struct journal *j, const char *header)
{
	char *tmp = cst_sprintf("%s.tmp", j->path);
	int fd, rc = 0;

	if (tmp == NULL)
		return CST_ENOMEM;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		rc = cst_error_errno("cannot create %s", tmp);
	} else {
		if (cst_write_all(fd, header, strlen(header)) != 0 || fsync(fd) != 0)
			rc = cst_error_errno("cannot write %s", tmp);
		if (close(fd) != 0 && rc == 0)
			rc = cst_error_errno("cannot write %s", tmp);
		if (rc == 0 && rename(tmp, j->path) != 0)
			rc = cst_error_errno("cannot rename %s", tmp);
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

int journal_open(struct journal **out, const struct config *cfg, const char *name, int full,
		 const char *key_id, size_t *resumed)
{
	struct journal *j;
	char *header;
	FILE *fp;
	int matched = 0, rc = 0;

	*out = NULL;
	*resumed = 0;
	if ((j = cst_calloc(1, sizeof(*j))) == NULL)
		return CST_ENOMEM;
	j->fd = -1;
	cst_strpool_init(&j->names, 64 * 1024);
	header = cst_sprintf(MAGIC "%s %s %s\n", name, full ? "full" : "differential",
			     key_id[0] ? key_id : "-");
	if (header == NULL || (j->path = cst_sprintf("%s/%s.journal", cfg->state_dir, cfg->fqdn)) == NULL) {
		free(header);
		journal_free(j);
		return CST_ENOMEM;
	}
	if ((fp = fopen(j->path, "re")) != NULL) {
		char first[512];

		j->found = 1;
		rc = load(j, fp, header, &matched);
		if (!matched) {
			rewind(fp);
			if (fgets(first, sizeof(first), fp) != NULL && strncmp(first, MAGIC, strlen(MAGIC)) == 0) {
				first[strcspn(first, "\n")] = '\0';
				fprintf(stderr, "cassette: the journal of an interrupted backup (%s) is dropped: "
					"this run is another backup, mode or key; purge collects its objects\n",
					first + strlen(MAGIC));
			}
		}
		fclose(fp);
	}
	if (rc == 0)
		rc = index_recs(j);
	if (rc != 0) {
		free(header);
		journal_free(j);
		return rc;
	}
	*resumed = j->n;
	/* a state_dir that cannot be made: the hash cache says so, once */
	if (make_state_dir(cfg->state_dir) != 0) {
		cst_error_clear();
		free(header);
		*out = j;
		return 0;
	}
	if ((matched || (rc = start_over(j, header)) == 0) &&
	    (j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) < 0)
		rc = cst_error_errno("cannot open %s", j->path);
	if (rc != 0) {
		fprintf(stderr, "cassette: warning: %s; an interrupted run of this backup would store "
			"its files again\n", cst_error_msg());
		cst_error_clear();
	}
	free(header);
	*out = j;
	return 0;
}

int journal_intent(struct journal *j, const struct journal_rec *rec)
{
	char *line;
	size_t len;
	int rc = 0;

	if (j == NULL || j->fd < 0)
		return 0;
	line = cst_sprintf("%s\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t", rec->ks, rec->cf,
			   rec->rel, rec->key, rec->variant ? rec->variant : "-", rec->size,
			   rec->source_size, rec->source_md5, rec->salt[0] ? rec->salt : "-");
	if (line == NULL)
		return CST_ENOMEM;
	len = strlen(line);
	{
		char *full = cst_sprintf("%s%016" PRIx64 "\n", line, fnv64(line, len - 1));

		free(line);
		if ((line = full) == NULL)
			return CST_ENOMEM;
	}
	/* one write: O_APPEND keeps concurrent lines whole */
	if (write(j->fd, line, strlen(line)) != (ssize_t)strlen(line))
		rc = cst_error_errno("cannot write the journal %s", j->path);
	free(line);
	return rc;
}

const struct journal_rec *const *journal_find(const struct journal *j, const char *ks,
					      const char *cf, const char *rel,
					      uint64_t source_size, size_t *n)
{
	size_t lo = 0, hi, first;

	*n = 0;
	if (j == NULL || j->n == 0)
		return NULL;
	hi = j->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_file(j->ptrs[mid], ks, cf, rel) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < j->n && cmp_file(j->ptrs[lo], ks, cf, rel) == 0)
		lo++;
	/* the size is checked by the caller's loop over these */
	(void)source_size;
	*n = lo - first;
	return *n ? &j->ptrs[first] : NULL;
}

void journal_remove(const struct config *cfg)
{
	char *path = cst_sprintf("%s/%s.journal", cfg->state_dir, cfg->fqdn);

	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		fprintf(stderr, "cassette: warning: cannot remove %s: %s\n", path, strerror(errno));
	free(path);
}

int journal_found(const struct journal *j)
{
	return j != NULL && j->found;
}

void journal_done(struct journal *j)
{
	if (j == NULL || j->fd < 0)
		return;		/* it never wrote one */
	close(j->fd);
	j->fd = -1;
	if (unlink(j->path) != 0 && errno != ENOENT)
		fprintf(stderr, "cassette: warning: cannot remove %s: %s\n", j->path, strerror(errno));
}

void journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->recs);
	free(j->ptrs);
	cst_strpool_free(&j->names);
	free(j);
}
