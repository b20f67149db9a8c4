/*
 * The storage core: picks a backend from the registry, checks every argument
 * once, runs the testing aids (hooks.c), retries transient failures, then
 * dispatches to the backend's ops. Backends never repeat these checks.
 *
 * Retries. Only CST_ERETRY is retried: a backend returns it for failures
 * that are safe to repeat (a dropped connection, a 5xx, a throttling
 * answer), so every operation may be retried, multipart commit included.
 * Every other code, and any code from a caller's sink or listing callback,
 * goes back at once. Between attempts the caller sleeps for a uniformly
 * random time in [0, min(BACKOFF_CAP_MS, retry_base_ms * 2^k)] ("full
 * jitter") after the k-th consecutive failure (k from 0), so clients that
 * failed together do not retry together. After `retries` retries the call
 * fails with CST_EIO and the last attempt's message.
 *
 * Resume. A get or list that fails after delivering something goes on where
 * it stopped: get asks the backend for the bytes from the next undelivered
 * offset, list skips the keys it already handed over (they come in ascending
 * order). An attempt that delivered something also starts the backoff over,
 * so a long transfer through a flaky link is not failed by cuts spread over
 * hours; it still ends, as every such attempt moves forward.
 *
 * Thread safety: the handle's fields are read-only after open; the hooks and
 * the limiter are safe to share; the error slot is thread-local.
 */
#define _GNU_SOURCE
#include "core.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_RETRIES 5
#define DEFAULT_RETRY_BASE_MS 200
/* No single backoff sleeps longer than this. */
#define BACKOFF_CAP_MS 20000

/*
 * The S3 backend lives in s3.c. The reference is weak until the build says
 * s3.c defines it (CASSETTE_HAVE_S3, set by storage/CMakeLists.txt), so the
 * module links while s3.c is still a placeholder; a missing backend is a
 * NULL entry, skipped. The strong reference is needed once it exists: a weak
 * reference alone never pulls s3.o out of the static library.
 */
#ifndef CASSETTE_HAVE_S3
extern const struct storage_ops storage_s3_ops __attribute__((weak));
#endif

static const struct storage_ops *const registry[] = {
	&storage_local_ops,
	&storage_s3_ops,
};

#define REGISTRY_LEN (sizeof(registry) / sizeof(registry[0]))

/* ---- retries ---- */

/* A uniformly random delay in [0, min(cap, base * 2^k)] milliseconds. */
static unsigned long backoff_ms(unsigned base, unsigned k)
{
	uint64_t bound = base;

	while (k-- > 0 && bound < BACKOFF_CAP_MS)
		bound *= 2;
	if (bound > BACKOFF_CAP_MS)
		bound = BACKOFF_CAP_MS;
	/* arc4random: thread-safe, and seeded apart in every process. */
	return arc4random_uniform((uint32_t)bound + 1);
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int storage_call_run(struct storage *s, struct storage_call *c)
{
	char last[1024];
	unsigned attempts = 0, failures = 0;
	unsigned long ms;
	int rc;

	for (;;) {
		c->callback_failed = c->progress = c->cut_hit = c->kill_after = 0;
		c->cut = -1;
		attempts++;
		if ((rc = storage_hooks_attempt(s, c)) == 0)
			rc = c->attempt(s, c);
		if (c->kill_after)
			raise(SIGKILL);
		if (rc != CST_ERETRY || c->callback_failed)
			return rc;
		if (c->progress)
			failures = 0;
		if (failures >= s->retries) {
			/* Copied first: the slot is the message's source. */
			snprintf(last, sizeof(last), "%s", cst_error_msg());
			return cst_error(CST_EIO, "storage %s %s: gave up after %u attempts: %s",
					 storage_op_names[c->op], c->what, attempts, last);
		}
		ms = backoff_ms(s->retry_base_ms, failures);
		storage_hooks_backoff(s, c, ms);
		sleep_ms(ms);
		failures++;
	}
}

/* ---- open / close ---- */

static int find_ops(const struct storage_ops **out, const char *provider)
{
	char known[256];
	size_t i, o = 0;

	*out = NULL;
	if (provider == NULL || *provider == '\0')
		return cst_error(CST_EINVALID, "storage_provider is not set");
	for (i = 0; i < REGISTRY_LEN; i++) {
		if (registry[i] != NULL && strcmp(registry[i]->name, provider) == 0) {
			*out = registry[i];
			return 0;
		}
	}
	known[0] = '\0';
	for (i = 0; i < REGISTRY_LEN && o < sizeof(known); i++)
		if (registry[i] != NULL)
			o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s", o ? ", " : "",
					      registry[i]->name);
	return cst_error(CST_EINVALID, "unknown storage_provider '%s' (known: %s)", provider,
			 known);
}

int storage_open(struct storage **out, const struct storage_config *cfg)
{
	const struct storage_ops *ops;
	struct storage_hooks *hooks = NULL;
	struct storage_limiter *limiter = NULL;
	struct storage *s = NULL;
	int rc;

	if (out == NULL || cfg == NULL)
		return cst_error(CST_EINVALID, "storage_open: missing argument");
	*out = NULL;
	if ((rc = find_ops(&ops, cfg->provider)) != 0)
		goto out;
	if ((rc = storage_hooks_new(&hooks)) != 0)
		goto out;
	if (cfg->max_bandwidth > 0 &&
	    (rc = storage_limiter_new(&limiter, cfg->max_bandwidth)) != 0)
		goto out;
	if ((rc = ops->open(&s, cfg)) != 0)
		goto out;
	s->hooks = hooks;
	s->limiter = limiter;
	s->retries = cfg->retries > 0 ? cfg->retries : DEFAULT_RETRIES;
	s->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : DEFAULT_RETRY_BASE_MS;
	hooks = NULL;
	limiter = NULL;
	*out = s;
out:
	storage_hooks_free(hooks);
	storage_limiter_free(limiter);
	return rc;
}

void storage_close(struct storage *s)
{
	struct storage_hooks *hooks;
	struct storage_limiter *limiter;

	if (s == NULL)
		return;
	hooks = s->hooks;
	limiter = s->limiter;
	s->ops->close(s);
	storage_hooks_free(hooks);
	storage_limiter_free(limiter);
}

const char *storage_provider(const struct storage *s)
{
	return s != NULL && s->ops != NULL ? s->ops->name : NULL;
}

/* ---- put ---- */

struct put_call {
	struct storage_call c;
	const char *path;
	const void *buf;
	size_t len;
	int flags;
	const unsigned char *md5;
	struct storage_stat *out;
};

static int put_file_attempt(struct storage *s, struct storage_call *c)
{
	struct put_call *p = (struct put_call *)c;

	memset(p->out, 0, sizeof(*p->out));
	return s->ops->put_file(s, c->what, p->path, p->flags, p->md5, p->out);
}

static int put_buf_attempt(struct storage *s, struct storage_call *c)
{
	struct put_call *p = (struct put_call *)c;

	return s->ops->put_buf(s, c->what, p->buf, p->len, p->flags);
}

int storage_md5_use(const struct storage *s)
{
	return s != NULL ? s->md5_use : STORAGE_MD5_NEVER;
}

int storage_takes_files_from(struct storage *s, const char *dir)
{
	if (s == NULL || dir == NULL || s->ops->takes_files_from == NULL)
		return 0;
	return s->ops->takes_files_from(s, dir);
}

int storage_put_file(struct storage *s, const char *key, const char *path, int flags,
		     const unsigned char *md5, struct storage_stat *out)
{
	struct storage_stat ignored;
	struct put_call p = { .c = { .op = OP_PUT_FILE, .what = key, .attempt = put_file_attempt },
			      .path = path, .flags = flags, .md5 = md5,
			      .out = out != NULL ? out : &ignored };
	int rc;

	if ((rc = storage_check_handle(s, "put_file")) != 0 ||
	    (rc = storage_check_key("put_file", key)) != 0 ||
	    (rc = storage_check_flags("put_file", key, flags)) != 0)
		return rc;
	if (path == NULL || *path == '\0')
		return cst_error(CST_EINVALID, "storage put_file %s: missing source path", key);
	return storage_call_run(s, &p.c);
}

int storage_put_buf(struct storage *s, const char *key, const void *buf, size_t len, int flags)
{
	struct put_call p = { .c = { .op = OP_PUT_BUF, .what = key, .attempt = put_buf_attempt },
			      .buf = buf, .len = len, .flags = flags };
	int rc;

	if ((rc = storage_check_handle(s, "put_buf")) != 0 ||
	    (rc = storage_check_key("put_buf", key)) != 0 ||
	    (rc = storage_check_flags("put_buf", key, flags)) != 0)
		return rc;
	if (buf == NULL && len != 0)
		return cst_error(CST_EINVALID, "storage put_buf %s: missing buffer", key);
	if (buf == NULL)
		p.buf = "";
	return storage_call_run(s, &p.c);
}

/* ---- get ---- */

struct get_call {
	struct storage_call c;
	storage_sink_fn sink;
	void *arg;
	uint64_t offset; /* bytes the caller's sink has taken */
};

/* Between the backend and the caller's sink: counts what was delivered,
 * tells the caller's failures from the backend's, and carries out an
 * injected cut. */
static int get_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct get_call *g = arg;
	size_t n = len;
	int rc;

	if (g->c.cut >= 0 && (uint64_t)g->c.cut < len) {
		n = (size_t)g->c.cut;
		g->c.cut_hit = 1;
	}
	if (n > 0) {
		if ((rc = g->sink(g->arg, buf, n)) < 0) {
			g->c.callback_failed = 1;
			return rc;
		}
		g->offset += n;
		g->c.progress = 1;
		if (g->c.cut >= 0)
			g->c.cut -= (long long)n;
	}
	if (g->c.cut_hit)
		return cst_error(CST_ERETRY, "injected fault: get %s (cut at byte %llu)", g->c.what,
				 (unsigned long long)g->offset);
	return 0;
}

static int get_attempt(struct storage *s, struct storage_call *c)
{
	struct get_call *g = (struct get_call *)c;

	return s->ops->get(s, c->what, g->offset, get_sink, g);
}

int storage_get(struct storage *s, const char *key, storage_sink_fn sink, void *arg)
{
	struct get_call g = { .c = { .op = OP_GET, .what = key, .attempt = get_attempt },
			      .sink = sink, .arg = arg };
	int rc;

	if ((rc = storage_check_handle(s, "get")) != 0 || (rc = storage_check_key("get", key)) != 0)
		return rc;
	if (sink == NULL)
		return cst_error(CST_EINVALID, "storage get %s: missing sink", key);
	return storage_call_run(s, &g.c);
}

struct buf_sink {
	const char *key;
	char *buf;
	size_t len, cap, max;
};

static int buf_sink_write(void *arg, const unsigned char *data, size_t len)
{
	struct buf_sink *b = arg;
	size_t need, want, limit;
	char *p;

	if (len > b->max - b->len)
		return cst_error(CST_EINVALID, "storage get %s: object is larger than %zu bytes",
				 b->key, b->max);
	/* Room for the NUL too, and never more than max + 1 bytes. */
	need = b->len + len + 1;
	limit = b->max == SIZE_MAX ? SIZE_MAX : b->max + 1;
	if (need == 0)
		return cst_error(CST_ENOMEM, "storage get %s: object too large", b->key);
	if (need > b->cap) {
		want = b->cap > 0 ? b->cap : 4096;
		while (want < need)
			want = want > SIZE_MAX / 2 ? need : want * 2;
		if (want > limit)
			want = limit;
		if ((p = cst_realloc(b->buf, want)) == NULL)
			return CST_ENOMEM;
		b->buf = p;
		b->cap = want;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	return 0;
}

int storage_get_buf(struct storage *s, const char *key, char **out, size_t *len, size_t max)
{
	struct buf_sink b = { .key = key, .max = max };
	int rc;

	if (out == NULL)
		return cst_error(CST_EINVALID, "storage get_buf: missing output");
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((rc = storage_check_handle(s, "get_buf")) != 0 ||
	    (rc = storage_check_key("get_buf", key)) != 0)
		goto out;
	if ((rc = storage_get(s, key, buf_sink_write, &b)) != 0)
		goto out;
	if (b.buf == NULL && (b.buf = cst_malloc(1)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	b.buf[b.len] = '\0';
	*out = b.buf;
	b.buf = NULL;
	if (len != NULL)
		*len = b.len;
out:
	free(b.buf);
	return rc;
}

/* ---- stat / head ---- */

struct stat_call {
	struct storage_call c;
	struct storage_stat *out;
};

static int stat_attempt(struct storage *s, struct storage_call *c)
{
	struct stat_call *st = (struct stat_call *)c;

	memset(st->out, 0, sizeof(*st->out));
	return s->ops->stat(s, c->what, st->out);
}

static int stat_run(struct storage *s, int op, const char *key, struct storage_stat *out)
{
	struct stat_call st = { .c = { .op = op, .what = key, .attempt = stat_attempt },
				.out = out };

	return storage_call_run(s, &st.c);
}

int storage_stat(struct storage *s, const char *key, struct storage_stat *out)
{
	int rc;

	if ((rc = storage_check_handle(s, "stat")) != 0 ||
	    (rc = storage_check_key("stat", key)) != 0)
		return rc;
	if (out == NULL)
		return cst_error(CST_EINVALID, "storage stat %s: missing output", key);
	return stat_run(s, OP_STAT, key, out);
}

int storage_head(struct storage *s, const char *key, uint64_t *size)
{
	struct storage_stat st;
	int rc;

	if ((rc = storage_check_handle(s, "head")) != 0 ||
	    (rc = storage_check_key("head", key)) != 0)
		return rc;
	if (size == NULL)
		return cst_error(CST_EINVALID, "storage head %s: missing size", key);
	if ((rc = stat_run(s, OP_HEAD, key, &st)) == 0)
		*size = st.size;
	return rc;
}

/* ---- list ---- */

struct list_call {
	struct storage_call c;
	storage_entry_fn cb;
	void *arg;
	char *last; /* the last key handed to cb, for a resumed attempt */
	size_t last_cap;
	int have_last;
};

static int list_cb(void *arg, const struct storage_entry *e)
{
	struct list_call *l = arg;
	size_t n = strlen(e->key) + 1;
	char *p;
	int rc;

	/* Handed over by an earlier attempt. */
	if (l->have_last && strcmp(e->key, l->last) <= 0)
		return 0;
	if (l->c.cut == 0) {
		l->c.cut_hit = 1;
		return cst_error(CST_ERETRY, "injected fault: list %s (cut before '%s')", l->c.what,
				 e->key);
	}
	if (n > l->last_cap) {
		if ((p = cst_realloc(l->last, n)) == NULL)
			return CST_ENOMEM;
		l->last = p;
		l->last_cap = n;
	}
	if ((rc = l->cb(l->arg, e)) < 0) {
		l->c.callback_failed = 1;
		return rc;
	}
	memcpy(l->last, e->key, n);
	l->have_last = 1;
	l->c.progress = 1;
	if (l->c.cut > 0)
		l->c.cut--;
	return 0;
}

static int list_attempt(struct storage *s, struct storage_call *c)
{
	struct list_call *l = (struct list_call *)c;

	return s->ops->list(s, c->what, list_cb, l);
}

int storage_list_entries(struct storage *s, const char *prefix, storage_entry_fn cb, void *arg)
{
	struct list_call l = { .c = { .op = OP_LIST, .what = prefix, .attempt = list_attempt },
			       .cb = cb, .arg = arg };
	int rc;

	if ((rc = storage_check_handle(s, "list")) != 0 || (rc = storage_check_prefix(prefix)) != 0)
		return rc;
	if (cb == NULL)
		return cst_error(CST_EINVALID, "storage list: missing callback");
	rc = storage_call_run(s, &l.c);
	free(l.last);
	return rc;
}

/* storage_list(): the entries, reported as key and size. */
struct key_size_cb {
	storage_list_fn cb;
	void *arg;
};

static int key_size_of(void *arg, const struct storage_entry *e)
{
	const struct key_size_cb *k = arg;

	return k->cb(k->arg, e->key, e->size);
}

int storage_list(struct storage *s, const char *prefix, storage_list_fn cb, void *arg)
{
	struct key_size_cb k = { cb, arg };

	if (cb == NULL) {
		int rc;

		if ((rc = storage_check_handle(s, "list")) != 0 ||
		    (rc = storage_check_prefix(prefix)) != 0)
			return rc;
		return cst_error(CST_EINVALID, "storage list: missing callback");
	}
	return storage_list_entries(s, prefix, key_size_of, &k);
}

/* ---- delete ---- */

static int delete_attempt(struct storage *s, struct storage_call *c)
{
	return s->ops->del(s, c->what);
}

/* ---- the first bytes of an object ---- */

struct head_read {
	unsigned char *buf;
	size_t want, got;
};

static int head_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct head_read *h = arg;
	size_t take = h->want - h->got;

	if (take > len)
		take = len;
	memcpy(h->buf + h->got, buf, take);
	h->got += take;
	/* enough: stop the read (a sink's code comes back unchanged, never
	 * retried; a get has no other use for CST_EEXISTS) */
	return h->got == h->want ? CST_EEXISTS : 0;
}

int storage_get_head(struct storage *s, const char *key, void *buf, size_t len, size_t *got)
{
	struct head_read h = { buf, len, 0 };
	int rc;

	*got = 0;
	if (len == 0)
		return storage_head(s, key, &(uint64_t){ 0 });
	rc = storage_get(s, key, head_sink, &h);
	if (rc == CST_EEXISTS && h.got == h.want) {
		cst_error_clear();
		rc = 0;
	}
	*got = h.got;
	return rc;
}

struct clean_call {
	struct storage_call c;
	size_t n;
};

static int clean_attempt(struct storage *s, struct storage_call *c)
{
	struct clean_call *cc = (struct clean_call *)c;
	size_t n = 0;
	int rc;

	if (s->ops->clean_uploads == NULL)
		return 0;
	rc = s->ops->clean_uploads(s, c->what, &n);
	cc->n += n;	/* a retry finds the rest */
	return rc;
}

int storage_clean_uploads(struct storage *s, const char *prefix, size_t *n)
{
	struct clean_call cc = { .c = { .op = OP_CLEAN_UPLOADS, .what = prefix,
					.attempt = clean_attempt } };
	int rc;

	*n = 0;
	if ((rc = storage_check_handle(s, "clean_uploads")) != 0 ||
	    (rc = storage_check_prefix(prefix)) != 0)
		return rc;
	rc = storage_call_run(s, &cc.c);
	*n = cc.n;
	return rc;
}

int storage_delete(struct storage *s, const char *key)
{
	struct storage_call c = { .op = OP_DELETE, .what = key, .attempt = delete_attempt };
	int rc;

	if ((rc = storage_check_handle(s, "delete")) != 0 ||
	    (rc = storage_check_key("delete", key)) != 0)
		return rc;
	return storage_call_run(s, &c);
}
