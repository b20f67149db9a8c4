/*
 * The MD5 hub: many threads' MD5 streams hashed together in SIMD lanes, by
 * flat combining.
 *
 * A thread's update() (or submit()) queues a request {stream, pointer,
 * whole blocks} on the hub; then, in update() (or wait()), if no thread is
 * combining, it becomes the combiner: it fills the lanes from the queue,
 * runs the kernel STEP_BLOCKS blocks at a time and, between steps, retires
 * finished requests (waking their threads) and refills the free lanes from
 * the queue. Once its own request is done it puts the unfinished lanes back
 * at the head of the queue (their state and position saved in their streams)
 * and hands the role to the first thread waiting for a queued request (a
 * thread that submitted and went on takes it, if still needed, when it
 * waits). Other threads sleep on their stream's condition variable until
 * their request is done or they are handed the role. No waits have
 * timeouts: progress never depends on timing.
 *
 * The lanes in use are always 0 .. n-1 (a retired lane takes the last one),
 * so a step can run the narrowest kernel that holds n lanes: one lane runs
 * the scalar code (faster than any SIMD kernel with one lane), an AVX-512
 * hub runs up to 8 lanes on ymm registers, more on zmm.
 * All request fields and the queue are guarded by hub->mu; the combiner
 * reads the callers' buffers and states outside the lock, which is safe
 * because a request belongs to the combiner from dequeue until retired.
 */
#include "md5_mb.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Blocks per lane per kernel call between two looks at the queue (4 KiB). */
#define STEP_BLOCKS 64
/* Requests shorter than this many blocks are hashed by their own thread. */
#define MIN_SHARED_BLOCKS 16
/* Up to this many lanes, the scalar code is faster than any SIMD kernel. */
#define SCALAR_MAX_LANES 1

struct md5_hub_stream {
	struct crypto_md5_hub *hub;
	uint32_t h[4];
	uint64_t total;			/* bytes absorbed since reset */
	unsigned char buf[64];
	size_t buflen;
	int pending;			/* submitted, not yet waited for (owner only) */
	/* the request; guarded by hub->mu */
	const unsigned char *req_p;
	size_t req_blocks;
	int req_done;
	int waiting;			/* its thread sleeps on cv */
	struct md5_hub_stream *next;
	pthread_cond_t cv;
};

struct crypto_md5_hub {
	pthread_mutex_t mu;
	struct md5_hub_stream *head, *tail;	/* queued requests, not in a lane */
	int combining;
	enum md5mb_isa isa;
	unsigned lanes;
	_Atomic uint64_t steps, lane_blocks;	/* kernel block steps, blocks hashed */
};

int crypto_md5_hub_new(struct crypto_md5_hub **out)
{
	struct crypto_md5_hub *hub;
	int rc;

	*out = NULL;
	if ((hub = cst_calloc(1, sizeof(*hub))) == NULL)
		return CST_ENOMEM;
	if ((rc = pthread_mutex_init(&hub->mu, NULL)) != 0) {
		free(hub);
		errno = rc;
		return cst_error_errno("MD5 hub: mutex");
	}
	hub->isa = md5mb_isa_pick();
	hub->lanes = md5mb_isa_lanes(hub->isa);
	*out = hub;
	return 0;
}

void crypto_md5_hub_free(struct crypto_md5_hub *hub)
{
	if (hub == NULL)
		return;
	pthread_mutex_destroy(&hub->mu);
	free(hub);
}

unsigned crypto_md5_hub_lanes(const struct crypto_md5_hub *hub)
{
	return hub->lanes;
}

const char *crypto_md5_hub_isa(const struct crypto_md5_hub *hub)
{
	return md5mb_isa_name(hub->isa);
}

void crypto_md5_hub_fill(struct crypto_md5_hub *hub, uint64_t *steps, uint64_t *lane_blocks)
{
	*steps = atomic_load_explicit(&hub->steps, memory_order_relaxed);
	*lane_blocks = atomic_load_explicit(&hub->lane_blocks, memory_order_relaxed);
}

int md5_hub_stream_new(struct md5_hub_stream **out, struct crypto_md5_hub *hub)
{
	struct md5_hub_stream *s;
	int rc;

	*out = NULL;
	if ((s = cst_calloc(1, sizeof(*s))) == NULL)
		return CST_ENOMEM;
	if ((rc = pthread_cond_init(&s->cv, NULL)) != 0) {
		free(s);
		errno = rc;
		return cst_error_errno("MD5 hub: condition variable");
	}
	s->hub = hub;
	md5_hub_stream_reset(s);
	*out = s;
	return 0;
}

void md5_hub_stream_free(struct md5_hub_stream *s)
{
	if (s == NULL)
		return;
	md5_hub_stream_wait(s);
	pthread_cond_destroy(&s->cv);
	free(s);
}

void md5_hub_stream_reset(struct md5_hub_stream *s)
{
	md5_hub_stream_wait(s);
	md5mb_init(s->h);
	s->total = 0;
	s->buflen = 0;
}

/* The kernel for n lanes in use (md5mb_run() runs the AVX-512 kernel on
 * ymm registers for up to 8 lanes). */
static enum md5mb_isa isa_for(const struct crypto_md5_hub *hub, unsigned n)
{
	return n <= SCALAR_MAX_LANES ? MD5MB_SCALAR : hub->isa;
}

/*
 * Combine until `me` is done; called and returns with hub->mu held and
 * hub->combining set (cleared on return).
 */
static void combine(struct crypto_md5_hub *hub, struct md5_hub_stream *me)
{
	struct md5_hub_stream *lane[MD5MB_MAX_LANES];
	const unsigned char *p[MD5MB_MAX_LANES];
	size_t left[MD5MB_MAX_LANES];
	uint32_t st[4][MD5MB_MAX_LANES];
	unsigned n = 0;

	for (;;) {
		size_t step = STEP_BLOCKS;

		/* refill the free lanes */
		while (n < hub->lanes && hub->head != NULL) {
			struct md5_hub_stream *s = hub->head;

			if ((hub->head = s->next) == NULL)
				hub->tail = NULL;
			s->next = NULL;
			lane[n] = s;
			p[n] = s->req_p;
			left[n] = s->req_blocks;
			for (int i = 0; i < 4; i++)
				st[i][n] = s->h[i];
			n++;
		}
		pthread_mutex_unlock(&hub->mu);

		for (unsigned l = 0; l < n; l++)
			if (left[l] < step)
				step = left[l];
		md5mb_run(isa_for(hub, n), st, p, n, step);
		atomic_fetch_add_explicit(&hub->steps, step, memory_order_relaxed);
		atomic_fetch_add_explicit(&hub->lane_blocks, step * n, memory_order_relaxed);
		for (unsigned l = 0; l < n; l++) {
			p[l] += step * 64;
			left[l] -= step;
		}

		pthread_mutex_lock(&hub->mu);
		for (unsigned l = 0; l < n;) {
			struct md5_hub_stream *s = lane[l];

			if (left[l] != 0) {
				l++;
				continue;
			}
			for (int i = 0; i < 4; i++)
				s->h[i] = st[i][l];
			s->req_done = 1;
			if (s->waiting)
				pthread_cond_signal(&s->cv);
			n--;
			lane[l] = lane[n];
			p[l] = p[n];
			left[l] = left[n];
			for (int i = 0; i < 4; i++)
				st[i][l] = st[i][n];
		}
		if (me->req_done)
			break;
	}

	/* hand the unfinished lanes back to the queue, in lane order, at its head */
	while (n > 0) {
		struct md5_hub_stream *s = lane[--n];

		for (int i = 0; i < 4; i++)
			s->h[i] = st[i][n];
		s->req_p = p[n];
		s->req_blocks = left[n];
		if ((s->next = hub->head) == NULL)
			hub->tail = s;
		hub->head = s;
	}
	/* the role goes to the first thread waiting for a queued request
	 * (threads that submitted and went on take it when they wait) */
	hub->combining = 0;
	for (struct md5_hub_stream *s = hub->head; s != NULL; s = s->next) {
		if (s->waiting) {
			pthread_cond_signal(&s->cv);
			break;
		}
	}
}

void md5_hub_stream_wait(struct md5_hub_stream *s)
{
	struct crypto_md5_hub *hub = s->hub;

	if (!s->pending)
		return;
	s->pending = 0;
	pthread_mutex_lock(&hub->mu);
	while (!s->req_done) {
		if (!hub->combining) {
			hub->combining = 1;
			combine(hub, s);
		} else {
			s->waiting = 1;
			pthread_cond_wait(&s->cv, &hub->mu);
			s->waiting = 0;
		}
	}
	pthread_mutex_unlock(&hub->mu);
}

/* Queue nblocks whole blocks at p for s (or hash them now if few). */
static void hub_submit_blocks(struct md5_hub_stream *s, const unsigned char *p, size_t nblocks)
{
	struct crypto_md5_hub *hub = s->hub;

	if (hub->lanes == 1 || nblocks < MIN_SHARED_BLOCKS) {
		md5mb_compress(s->h, p, nblocks);
		return;
	}
	pthread_mutex_lock(&hub->mu);
	s->req_p = p;
	s->req_blocks = nblocks;
	s->req_done = 0;
	s->next = NULL;
	if (hub->tail != NULL)
		hub->tail->next = s;
	else
		hub->head = s;
	hub->tail = s;
	pthread_mutex_unlock(&hub->mu);
	s->pending = 1;
}

void md5_hub_stream_submit(struct md5_hub_stream *s, const unsigned char *buf, size_t len)
{
	size_t nblocks;

	md5_hub_stream_wait(s);
	s->total += len;
	if (s->buflen > 0) {
		size_t take = 64 - s->buflen < len ? 64 - s->buflen : len;

		memcpy(s->buf + s->buflen, buf, take);
		s->buflen += take;
		buf += take;
		len -= take;
		if (s->buflen < 64)
			return;
		md5mb_compress(s->h, s->buf, 1);
		s->buflen = 0;
	}
	/* the tail is copied now: only the whole blocks stay in the caller's buffer */
	nblocks = len / 64;
	if (len % 64 > 0)
		memcpy(s->buf, buf + nblocks * 64, len % 64);
	s->buflen = len % 64;
	if (nblocks > 0)
		hub_submit_blocks(s, buf, nblocks);
}

void md5_hub_stream_update(struct md5_hub_stream *s, const unsigned char *buf, size_t len)
{
	md5_hub_stream_submit(s, buf, len);
	md5_hub_stream_wait(s);
}

void md5_hub_stream_final(struct md5_hub_stream *s, unsigned char out[16])
{
	md5_hub_stream_wait(s);
	md5mb_finish(s->h, s->total, s->buf, s->buflen, out);
}
