/*
 * uploads: `concurrent_transfers` threads that send objects and multipart
 * parts, and the slots that bound how many temp files exist at once. The
 * encoders reserve a slot before they create a temp file; the upload thread
 * that sends it deletes it and frees the slot.
 */
#ifndef CASSETTE_UPLOADS_H
#define CASSETTE_UPLOADS_H

#include <pthread.h>

#include "storage.h"

struct uploads;

/* One file's jobs: the encoder waits for them with uploads_wait(). */
struct upload_batch {
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned pending;
	int rc;			/* first failure */
	char msg[1024];		/* its message */
	int used_variant;	/* a put landed on its variant key */
	struct storage_stat put;	/* what the store reported for a put */
};

/* `threads` upload threads, and `slots` temp files at most (at least one per
 * thread: fewer would leave threads idle). */
int uploads_new(struct uploads **out, struct storage *st, unsigned threads, unsigned slots);
/* Stops and joins the threads once the queue is empty. NULL is a no-op. */
void uploads_free(struct uploads *u);
/* From now on reserve() fails at once (after an error elsewhere). */
void uploads_cancel(struct uploads *u);

/* Wait for a free temp-file slot. CST_ERROR once cancelled. */
int uploads_reserve(struct uploads *u);
/* Give back a slot whose temp file will not be submitted. */
void uploads_release(struct uploads *u);

void uploads_batch_init(struct upload_batch *b);
void uploads_batch_destroy(struct upload_batch *b);
/*
 * Queue a whole-object put of the temp file `path` (ownership passes: it is
 * deleted after the attempt, and its slot freed). With STORAGE_PUT_NO_OVERWRITE
 * and an existing `key`, the same bytes go to `variant` instead (when given).
 * `md5` (copied; NULL when not computed) goes to storage_put_file; what the
 * store reports about the object lands in b->put. One put per batch.
 */
int uploads_put(struct uploads *u, struct upload_batch *b, const char *key,
		const char *variant, int flags, char *path, const unsigned char *md5);
/* Queue one part of a multipart upload; `path` and `md5` as above. */
int uploads_part(struct uploads *u, struct upload_batch *b, struct storage_upload *up,
		 unsigned part_no, char *path, const unsigned char *md5);
/* Wait until every job of the batch finished; its first failure (the message
 * is put in this thread's error slot) or 0. */
int uploads_wait(struct upload_batch *b);

#endif
