/*
 * The bandwidth limit: one token bucket per handle, shared by every transfer
 * and thread, up and down together.
 *
 * The bucket fills at `rate` bytes per second and holds at most a quarter
 * second of it, so an idle handle cannot save up a large burst. It starts
 * empty: the limit holds from the first byte. A caller takes its `n` bytes at
 * once, even more than the bucket holds, and the level may go below zero;
 * the caller then sleeps until the refill would have covered the debt. Later
 * callers see the debt and sleep longer, so concurrent transfers share the
 * rate instead of each getting all of it. The lock covers only the
 * arithmetic, never the sleep.
 */
#define _GNU_SOURCE
#include "core.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct storage_limiter {
	pthread_mutex_t lock;
	double rate;	/* bytes per second */
	double burst;	/* the bucket's size, in bytes */
	double level;	/* bytes available; negative = owed */
	struct timespec last; /* when level was last brought up to date */
};

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int storage_limiter_new(struct storage_limiter **out, uint64_t rate)
{
	struct storage_limiter *l;

	*out = NULL;
	if ((l = cst_calloc(1, sizeof(*l))) == NULL)
		return CST_ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->rate = (double)rate;
	l->burst = l->rate / 4 >= 1 ? l->rate / 4 : 1;
	l->level = 0;
	clock_gettime(CLOCK_MONOTONIC, &l->last);
	*out = l;
	return 0;
}

void storage_limiter_free(struct storage_limiter *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void sleep_seconds(double sec)
{
	struct timespec ts;

	/* Past a day something is wrong with the numbers; do not hang. */
	if (sec > 86400)
		sec = 86400;
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void storage_throttle(struct storage *s, size_t n)
{
	struct storage_limiter *l;
	struct timespec now;
	double wait;

	if (s == NULL || (l = s->limiter) == NULL || n == 0)
		return;
	pthread_mutex_lock(&l->lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	l->level += seconds_between(&l->last, &now) * l->rate;
	if (l->level > l->burst)
		l->level = l->burst;
	l->last = now;
	l->level -= (double)n;
	wait = l->level < 0 ? -l->level / l->rate : 0;
	pthread_mutex_unlock(&l->lock);
	if (wait > 0)
		sleep_seconds(wait);
}
