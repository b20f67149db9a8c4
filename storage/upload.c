/*
 * Multipart upload, the backend-independent half: argument checks, the part
 * bookkeeping and S3's size rules, so every backend (the local one too)
 * refuses the same uploads.
 *
 * When the 5 MiB rule is checked: at commit. A part cannot know whether it
 * will be the last one, so upload_part() accepts any size up to 5 GiB and
 * records it; upload_commit() refuses (CST_EINVALID, naming the part) when a
 * part of 1..n-1 is smaller than 5 MiB, when one of 1..n was never sent,
 * when a part above n was sent, or while a part is still on its way. Those
 * refusals happen before the backend is asked, and leave the upload open:
 * the caller may send what is missing and commit again. A commit the
 * backend fails (after retries) closes the upload; free it to abort.
 *
 * Parts of one upload may be sent from several threads at once; a mutex
 * guards the bookkeeping, never a transfer.
 */
#define _GNU_SOURCE
#include "core.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PART_NO_MAX 10000u
#define PART_MIN ((uint64_t)5 << 20)
#define PART_MAX ((uint64_t)5 << 30)

enum { PART_NONE, PART_SENDING, PART_SENT };
enum { UPLOAD_OPEN, UPLOAD_COMMITTING, UPLOAD_COMMITTED, UPLOAD_FAILED };

struct part_slot {
	uint64_t size;
	int state;
};

struct storage_upload {
	struct storage *s;
	char *key;
	void *state; /* the backend's */
	pthread_mutex_t lock;
	/* Guarded by lock: */
	struct part_slot *parts; /* parts[i] is part i + 1 */
	size_t nparts;		 /* slots allocated */
	unsigned inflight;
	int phase;
};

struct upload_call {
	struct storage_call c;
	struct storage_upload *u;
	int flags;
	unsigned part_no, n_parts;
	const char *path;
	const unsigned char *md5;
	struct storage_stat *out;
};

static int begin_attempt(struct storage *s, struct storage_call *c)
{
	struct upload_call *uc = (struct upload_call *)c;

	return s->ops->mpu_begin(s, c->what, uc->flags, &uc->u->state);
}

static int part_attempt(struct storage *s, struct storage_call *c)
{
	struct upload_call *uc = (struct upload_call *)c;

	return s->ops->mpu_part(s, uc->u->state, uc->part_no, uc->path, uc->md5);
}

static int commit_attempt(struct storage *s, struct storage_call *c)
{
	struct upload_call *uc = (struct upload_call *)c;

	memset(uc->out, 0, sizeof(*uc->out));
	return s->ops->mpu_commit(s, uc->u->state, uc->n_parts, uc->out);
}

static int abort_attempt(struct storage *s, struct storage_call *c)
{
	struct upload_call *uc = (struct upload_call *)c;

	return s->ops->mpu_abort(s, uc->u->state);
}

static void upload_release(struct storage_upload *u)
{
	pthread_mutex_destroy(&u->lock);
	free(u->parts);
	free(u->key);
	free(u);
}

int storage_upload_begin(struct storage_upload **out, struct storage *s, const char *key,
			 int flags)
{
	struct upload_call uc = { .c = { .op = OP_UPLOAD_BEGIN, .attempt = begin_attempt },
				  .flags = flags };
	struct storage_upload *u = NULL;
	int rc;

	if (out == NULL)
		return cst_error(CST_EINVALID, "storage upload_begin: missing output");
	*out = NULL;
	if ((rc = storage_check_handle(s, "upload_begin")) != 0 ||
	    (rc = storage_check_key("upload_begin", key)) != 0 ||
	    (rc = storage_check_flags("upload_begin", key, flags)) != 0)
		return rc;
	if (s->ops->mpu_begin == NULL)
		return cst_error(CST_EUNSUPPORTED, "storage upload_begin %s: the %s backend has no "
				 "multipart upload", key, s->ops->name);
	if ((u = cst_calloc(1, sizeof(*u))) == NULL)
		return CST_ENOMEM;
	if ((u->key = cst_strdup(key)) == NULL) {
		free(u);
		return CST_ENOMEM;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->s = s;
	uc.u = u;
	uc.c.what = u->key;
	if ((rc = storage_call_run(s, &uc.c)) != 0)
		goto out;
	*out = u;
	u = NULL;
out:
	if (u != NULL)
		upload_release(u);
	return rc;
}

/* Room for part `part_no` in u->parts. Called with the lock held. */
static int reserve_slot(struct storage_upload *u, unsigned part_no)
{
	size_t want = u->nparts > 0 ? u->nparts : 16;
	struct part_slot *p;

	if (part_no <= u->nparts)
		return 0;
	while (want < part_no)
		want *= 2;
	if (want > PART_NO_MAX)
		want = PART_NO_MAX;
	if ((p = cst_realloc(u->parts, want * sizeof(*p))) == NULL)
		return CST_ENOMEM;
	memset(p + u->nparts, 0, (want - u->nparts) * sizeof(*p));
	u->parts = p;
	u->nparts = want;
	return 0;
}

static const char *phase_problem(const struct storage_upload *u)
{
	switch (u->phase) {
	case UPLOAD_COMMITTING: return "is being committed";
	case UPLOAD_COMMITTED: return "is already committed";
	case UPLOAD_FAILED: return "failed to commit; free it";
	default: return NULL;
	}
}

/* The part's size, after checking the source file. */
static int part_source(uint64_t *size, const struct storage_upload *u, unsigned part_no,
		       const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return cst_error_errno("storage upload_part %s: part %u: cannot stat %s", u->key,
				       part_no, path);
	if (!S_ISREG(st.st_mode))
		return cst_error(CST_EINVALID, "storage upload_part %s: part %u: %s is not a "
				 "regular file", u->key, part_no, path);
	if ((uint64_t)st.st_size > PART_MAX)
		return cst_error(CST_EINVALID, "storage upload_part %s: part %u has %llu bytes, "
				 "more than 5 GiB", u->key, part_no,
				 (unsigned long long)st.st_size);
	*size = (uint64_t)st.st_size;
	return 0;
}

int storage_upload_part(struct storage_upload *u, unsigned part_no, const char *path,
			const unsigned char md5[16])
{
	struct upload_call uc = { .c = { .op = OP_UPLOAD_PART, .attempt = part_attempt },
				  .u = u, .part_no = part_no, .path = path, .md5 = md5 };
	struct part_slot *slot;
	const char *why;
	uint64_t size = 0;
	int rc;

	if (u == NULL)
		return cst_error(CST_EINVALID, "storage upload_part: no upload");
	uc.c.what = u->key;
	if (part_no < 1 || part_no > PART_NO_MAX)
		return cst_error(CST_EINVALID, "storage upload_part %s: part number %u is not in "
				 "1..%u", u->key, part_no, PART_NO_MAX);
	if (path == NULL || *path == '\0')
		return cst_error(CST_EINVALID, "storage upload_part %s: part %u: missing source path",
				 u->key, part_no);
	if ((rc = part_source(&size, u, part_no, path)) != 0)
		return rc;
	pthread_mutex_lock(&u->lock);
	if ((why = phase_problem(u)) != NULL) {
		rc = cst_error(CST_EINVALID, "storage upload_part %s: the upload %s", u->key, why);
	} else if ((rc = reserve_slot(u, part_no)) == 0 &&
		   u->parts[part_no - 1].state == PART_SENDING) {
		rc = cst_error(CST_EINVALID, "storage upload_part %s: part %u is already being "
			       "sent", u->key, part_no);
	} else if (rc == 0) {
		u->parts[part_no - 1].state = PART_SENDING;
		u->inflight++;
	}
	pthread_mutex_unlock(&u->lock);
	if (rc != 0)
		return rc;

	rc = storage_call_run(u->s, &uc.c);

	pthread_mutex_lock(&u->lock);
	slot = &u->parts[part_no - 1];
	slot->state = rc == 0 ? PART_SENT : PART_NONE;
	slot->size = size;
	u->inflight--;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* Why parts 1..n cannot be committed, with the slot set; 0 when they can.
 * Called with the lock held. */
static int commit_problem(const struct storage_upload *u, unsigned n)
{
	const char *why;
	unsigned i;

	if ((why = phase_problem(u)) != NULL)
		return cst_error(CST_EINVALID, "storage upload_commit %s: the upload %s", u->key,
				 why);
	if (u->inflight > 0)
		return cst_error(CST_EINVALID, "storage upload_commit %s: %u part(s) still being "
				 "sent", u->key, u->inflight);
	if (n < 1 || n > PART_NO_MAX)
		return cst_error(CST_EINVALID, "storage upload_commit %s: %u parts is not in 1..%u",
				 u->key, n, PART_NO_MAX);
	for (i = 1; i <= n; i++) {
		if (i > u->nparts || u->parts[i - 1].state != PART_SENT)
			return cst_error(CST_EINVALID,
					 "storage upload_commit %s: part %u of %u was not sent",
					 u->key, i, n);
		if (i < n && u->parts[i - 1].size < PART_MIN)
			return cst_error(CST_EINVALID, "storage upload_commit %s: part %u has %llu "
					 "bytes; every part but the last needs at least 5 MiB",
					 u->key, i, (unsigned long long)u->parts[i - 1].size);
	}
	for (; i <= u->nparts; i++)
		if (u->parts[i - 1].state != PART_NONE)
			return cst_error(CST_EINVALID, "storage upload_commit %s: part %u was sent "
					 "but the commit names %u parts", u->key, i, n);
	return 0;
}

/* The sum of parts 1..n; called with the lock held, after commit_problem(). */
static uint64_t parts_size(const struct storage_upload *u, unsigned n)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		total += u->parts[i].size;
	return total;
}

int storage_upload_commit(struct storage_upload *u, unsigned n_parts, struct storage_stat *out)
{
	struct storage_stat ignored;
	struct upload_call uc = { .c = { .op = OP_UPLOAD_COMMIT, .attempt = commit_attempt },
				  .u = u, .n_parts = n_parts, .out = out != NULL ? out : &ignored };
	uint64_t want = 0;
	int rc;

	if (u == NULL)
		return cst_error(CST_EINVALID, "storage upload_commit: no upload");
	uc.c.what = u->key;
	pthread_mutex_lock(&u->lock);
	if ((rc = commit_problem(u, n_parts)) == 0) {
		u->phase = UPLOAD_COMMITTING;
		want = parts_size(u, n_parts);
	}
	pthread_mutex_unlock(&u->lock);
	if (rc != 0)
		return rc;

	rc = storage_call_run(u->s, &uc.c);
	/* The object is in place but not what was sent: the caller deletes it. */
	if (rc == 0 && uc.out->size != want)
		rc = cst_error(CST_EINTEGRITY, "storage upload_commit %s: the store holds %llu "
			       "bytes, the parts had %llu", u->key,
			       (unsigned long long)uc.out->size, (unsigned long long)want);

	pthread_mutex_lock(&u->lock);
	u->phase = rc == 0 ? UPLOAD_COMMITTED : UPLOAD_FAILED;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

void storage_upload_free(struct storage_upload *u)
{
	struct upload_call uc = { .c = { .op = OP_UPLOAD_ABORT, .attempt = abort_attempt },
				  .u = u };
	char msg[1024];
	int code;

	if (u == NULL)
		return;
	if (u->phase != UPLOAD_COMMITTED) {
		/* The caller's error (why it is giving up) outlives the abort,
		 * which can only be reported through the trace. */
		code = cst_error_code();
		snprintf(msg, sizeof(msg), "%s", cst_error_msg());
		uc.c.what = u->key;
		(void)storage_call_run(u->s, &uc.c);
		cst_error(code, "%s", msg);
	}
	if (u->s->ops->mpu_free != NULL)
		u->s->ops->mpu_free(u->s, u->state);
	upload_release(u);
}
