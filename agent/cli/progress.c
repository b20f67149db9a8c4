/* progress: a status line redrawn by a timer thread; see progress.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "progress.h"

/* A few redraws a second: enough to look alive, cheap on a slow terminal. */
#define REDRAW_NS 250000000L

static enum progress_mode mode = PROGRESS_AUTO;

struct progress {
	const char *what;
	uint64_t files_total, bytes_total;
	atomic_uint_fast64_t files, bytes;
	struct timespec start;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	pthread_t thread;
	size_t last_len;	/* of the line on screen, to blank what is left of it */
};

void progress_set_mode(enum progress_mode m)
{
	mode = m;
}

int progress_enabled(void)
{
	const char *env = getenv("CASSETTE_PROGRESS");

	if (mode != PROGRESS_AUTO)
		return mode == PROGRESS_ON;
	if (env != NULL && strcmp(env, "1") == 0)
		return 1;
	if (env != NULL && strcmp(env, "0") == 0)
		return 0;
	return isatty(STDERR_FILENO);
}

const char *progress_duration(char *buf, size_t len, double s)
{
	unsigned long t;

	if (!(s < 100 * 3600 - 0.5)) {	/* NaN and huge ones too: no overflowing cast */
		snprintf(buf, len, "99h+");
		return buf;
	}
	t = s > 0 ? (unsigned long)(s + 0.5) : 0;
	if (t < 60)
		snprintf(buf, len, "%lus", t);
	else if (t < 3600)
		snprintf(buf, len, "%lum%02lus", t / 60, t % 60);
	else
		snprintf(buf, len, "%luh%02lum", t / 3600, t % 3600 / 60);
	return buf;
}

size_t progress_format(char *buf, size_t len, const char *what, const struct progress_state *s)
{
	char done[32], total[32], rate_s[32], left[32];
	double rate = s->elapsed > 0 ? (double)s->bytes / s->elapsed : 0;
	unsigned pct;
	int n;

	if (s->bytes_total > 0)
		pct = (unsigned)(s->bytes >= s->bytes_total ? 100 : 100.0 * s->bytes / s->bytes_total);
	else
		pct = s->files_total == 0 || s->files >= s->files_total ? 100 :
		      (unsigned)(100.0 * s->files / s->files_total);
	if ((s->bytes >= s->bytes_total && s->files >= s->files_total) ||
	    (s->bytes >= s->bytes_total && rate > 0))
		snprintf(left, sizeof(left), "0s");
	else if (rate <= 0)
		snprintf(left, sizeof(left), "--");
	else
		progress_duration(left, sizeof(left), (double)(s->bytes_total - s->bytes) / rate);
	if (rate > 1e18)	/* a tiny elapsed time: keep the cast defined */
		rate = 1e18;
	cmd_human_bytes(rate_s, sizeof(rate_s), (unsigned long long)rate);
	n = snprintf(buf, len, "%s: %llu/%llu files, %s of %s (%u%%), %s/s, %s left", what,
		     (unsigned long long)s->files, (unsigned long long)s->files_total,
		     cmd_human_bytes(done, sizeof(done), s->bytes),
		     cmd_human_bytes(total, sizeof(total), s->bytes_total), pct, rate_s, left);
	if (n < 0)
		n = 0;
	if (len == 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Only one thread draws at a time: the timer thread, then progress_end(). */
static void draw(struct progress *p, const char *end)
{
	struct progress_state s;
	struct winsize ws;
	char line[256], out[512];
	size_t n, pad;
	int m;

	s.files = atomic_load(&p->files);
	s.bytes = atomic_load(&p->bytes);
	s.files_total = p->files_total;
	s.bytes_total = p->bytes_total;
	s.elapsed = seconds_since(&p->start);
	n = progress_format(line, sizeof(line), p->what, &s);
	/* a line wider than the terminal would wrap, and '\r' not go back */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && n >= ws.ws_col)
		line[n = ws.ws_col - 1] = '\0';
	pad = p->last_len > n ? p->last_len - n : 0;
	m = snprintf(out, sizeof(out), "\r%s%*s%s", line, (int)pad, "", end);
	if (m > 0 && write(STDERR_FILENO, out, (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1) < 0)
		errno = 0;	/* nothing to do about a closed terminal */
	p->last_len = n;
}

static void *timer(void *arg)
{
	struct progress *p = arg;
	struct timespec next;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_nsec += REDRAW_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&p->wake, &p->lock, &next) == ETIMEDOUT && !p->stop)
			draw(p, "");
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct progress *progress_start(const char *what, uint64_t files_total, uint64_t bytes_total)
{
	struct progress *p;
	pthread_condattr_t attr;

	if (!progress_enabled() || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->what = what;
	p->files_total = files_total;
	p->bytes_total = bytes_total;
	atomic_init(&p->files, 0);
	atomic_init(&p->bytes, 0);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	draw(p, "");
	if (pthread_create(&p->thread, NULL, timer, p) != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void progress_add_bytes(struct progress *p, uint64_t bytes)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->bytes, bytes, memory_order_relaxed);
}

void progress_file_done(struct progress *p, uint64_t bytes)
{
	if (p == NULL)
		return;
	atomic_fetch_add_explicit(&p->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->files, 1, memory_order_relaxed);
}

void progress_end(struct progress *p, int completed)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	if (completed) {
		draw(p, "\n");
	} else {
		char blank[256];
		size_t n = p->last_len < sizeof(blank) - 3 ? p->last_len : sizeof(blank) - 3;

		blank[0] = '\r';
		memset(blank + 1, ' ', n);
		blank[n + 1] = '\r';
		if (write(STDERR_FILENO, blank, n + 2) < 0)
			errno = 0;
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
