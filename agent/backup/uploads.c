/* uploads: the upload thread pool and the temp-file slots. */
#define _GNU_SOURCE
#include "uploads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage.h"
#include "util.h"

struct job {
	struct job *next;
	struct upload_batch *batch;
	char *path;
	char *key, *variant;	/* put */
	int flags;
	struct storage_upload *up;	/* part */
	unsigned part_no;
	unsigned char md5[16];
	int has_md5;
};

struct uploads {
	struct storage *st;
	pthread_mutex_t lock;
	pthread_cond_t work, slot;
	struct job *head, *tail;
	unsigned free_slots;
	int stopping, cancelled;
	pthread_t *threads;
	unsigned n_threads;
};

static void finish(struct uploads *u, struct job *j, int rc, int used_variant,
		   const struct storage_stat *put)
{
	struct upload_batch *b = j->batch;

	unlink(j->path);
	pthread_mutex_lock(&b->lock);
	if (rc != 0 && b->rc == 0) {
		b->rc = rc;
		snprintf(b->msg, sizeof(b->msg), "%s", cst_error_msg());
	}
	if (rc == 0 && put != NULL)
		b->put = *put;
	b->used_variant |= used_variant;
	b->pending--;
	pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&b->lock);
	uploads_release(u);
	free(j->path);
	free(j->key);
	free(j->variant);
	free(j);
}

static void run_job(struct uploads *u, struct job *j)
{
	const unsigned char *md5 = j->has_md5 ? j->md5 : NULL;
	struct storage_stat put;
	int rc, used_variant = 0;

	if (j->up != NULL) {
		rc = storage_upload_part(j->up, j->part_no, j->path, md5);
		finish(u, j, rc, 0, NULL);
		return;
	}
	rc = storage_put_file(u->st, j->key, j->path, j->flags, md5, &put);
	if (rc == CST_EEXISTS && j->variant != NULL) {
		/* The first key is taken: an object no known manifest
		 * references. Never overwrite it; the ciphertext is bound to
		 * the file, not the key, so it can go elsewhere as is. */
		cst_error_clear();
		rc = storage_put_file(u->st, j->variant, j->path,
				      j->flags & ~STORAGE_PUT_NO_OVERWRITE, md5, &put);
		used_variant = 1;
	}
	finish(u, j, rc, used_variant, &put);
}

static void *worker(void *arg)
{
	struct uploads *u = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&u->lock);
		while (u->head == NULL && !u->stopping)
			pthread_cond_wait(&u->work, &u->lock);
		if (u->head == NULL) {
			pthread_mutex_unlock(&u->lock);
			return NULL;
		}
		j = u->head;
		u->head = j->next;
		if (u->head == NULL)
			u->tail = NULL;
		pthread_mutex_unlock(&u->lock);
		run_job(u, j);
	}
}

int uploads_new(struct uploads **out, struct storage *st, unsigned threads, unsigned slots)
{
	struct uploads *u;
	unsigned i;

	*out = NULL;
	if (threads == 0)
		threads = 1;
	if ((u = cst_calloc(1, sizeof(*u))) == NULL ||
	    (u->threads = cst_calloc(threads, sizeof(*u->threads))) == NULL) {
		free(u);
		return CST_ENOMEM;
	}
	u->st = st;
	u->free_slots = slots > threads ? slots : threads;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->work, NULL);
	pthread_cond_init(&u->slot, NULL);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&u->threads[i], NULL, worker, u) != 0) {
			uploads_free(u);
			return cst_error(CST_ERROR, "cannot start upload threads");
		}
		u->n_threads++;
	}
	*out = u;
	return 0;
}

void uploads_free(struct uploads *u)
{
	unsigned i;

	if (u == NULL)
		return;
	pthread_mutex_lock(&u->lock);
	u->stopping = 1;
	pthread_cond_broadcast(&u->work);
	pthread_mutex_unlock(&u->lock);
	for (i = 0; i < u->n_threads; i++)
		pthread_join(u->threads[i], NULL);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->work);
	pthread_cond_destroy(&u->slot);
	free(u->threads);
	free(u);
}

void uploads_cancel(struct uploads *u)
{
	pthread_mutex_lock(&u->lock);
	u->cancelled = 1;
	pthread_cond_broadcast(&u->slot);
	pthread_mutex_unlock(&u->lock);
}

int uploads_reserve(struct uploads *u)
{
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	while (u->free_slots == 0 && !u->cancelled)
		pthread_cond_wait(&u->slot, &u->lock);
	if (u->cancelled)
		rc = cst_error(CST_ERROR, "cancelled after an earlier failure");
	else
		u->free_slots--;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

void uploads_release(struct uploads *u)
{
	pthread_mutex_lock(&u->lock);
	u->free_slots++;
	pthread_cond_signal(&u->slot);
	pthread_mutex_unlock(&u->lock);
}

void uploads_batch_init(struct upload_batch *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->done, NULL);
}

void uploads_batch_destroy(struct upload_batch *b)
{
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->done);
}

static int submit(struct uploads *u, struct job *j)
{
	pthread_mutex_lock(&j->batch->lock);
	j->batch->pending++;
	pthread_mutex_unlock(&j->batch->lock);
	pthread_mutex_lock(&u->lock);
	if (u->tail)
		u->tail->next = j;
	else
		u->head = j;
	u->tail = j;
	pthread_cond_signal(&u->work);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* On failure to queue, the temp file is deleted and its slot freed here. */
static int fail_job(struct uploads *u, struct job *j, char *path)
{
	unlink(path);
	free(path);
	if (j) {
		free(j->key);
		free(j->variant);
		free(j);
	}
	uploads_release(u);
	return CST_ENOMEM;
}

static void set_md5(struct job *j, const unsigned char *md5)
{
	if (md5 != NULL) {
		memcpy(j->md5, md5, 16);
		j->has_md5 = 1;
	}
}

int uploads_put(struct uploads *u, struct upload_batch *b, const char *key,
		const char *variant, int flags, char *path, const unsigned char *md5)
{
	struct job *j = cst_calloc(1, sizeof(*j));

	if (j == NULL || (j->key = cst_strdup(key)) == NULL ||
	    (variant && (j->variant = cst_strdup(variant)) == NULL))
		return fail_job(u, j, path);
	j->batch = b;
	j->path = path;
	j->flags = flags;
	set_md5(j, md5);
	return submit(u, j);
}

int uploads_part(struct uploads *u, struct upload_batch *b, struct storage_upload *up,
		 unsigned part_no, char *path, const unsigned char *md5)
{
	struct job *j = cst_calloc(1, sizeof(*j));

	if (j == NULL)
		return fail_job(u, j, path);
	j->batch = b;
	j->path = path;
	j->up = up;
	j->part_no = part_no;
	set_md5(j, md5);
	return submit(u, j);
}

int uploads_wait(struct upload_batch *b)
{
	int rc;

	pthread_mutex_lock(&b->lock);
	while (b->pending > 0)
		pthread_cond_wait(&b->done, &b->lock);
	rc = b->rc;
	if (rc != 0)
		cst_error(rc, "%s", b->msg);
	pthread_mutex_unlock(&b->lock);
	return rc;
}
