/*
 * The storage core: picks a backend from the registry, checks every argument
 * once, runs the testing aids (trace and injected faults), then dispatches to
 * the backend's ops. Backends never repeat these checks.
 */
#define _GNU_SOURCE
#include "backend.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORAGE_KEY_MAX 1024

#define TRACE_ENV "CASSETTE_STORAGE_TRACE"
#define FAULTS_ENV "CASSETTE_STORAGE_FAULTS"

static const struct storage_ops *const registry[] = {
	&storage_local_ops,
};

#define REGISTRY_LEN (sizeof(registry) / sizeof(registry[0]))

/* The operations the trace and the fault rules name. */
enum { OP_PUT_FILE, OP_PUT_BUF, OP_GET, OP_HEAD, OP_LIST, OP_DELETE, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
	"put_file", "put_buf", "get", "head", "list", "delete",
};

struct fault_rule {
	int op;
	unsigned long nth;	/* 1-based call number */
	int persistent;		/* "op:N+": the Nth and every later call */
};

struct storage_hooks {
	int trace_fd; /* -1 when tracing is off */
	char *trace_path;
	struct fault_rule *rules;
	size_t nrules;
	atomic_ulong calls[OP_COUNT]; /* counted only while rules exist */
};

/* ---- keys ---- */

/* Length of the UTF-8 sequence at p, 0 when it is not valid UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included). A NUL inside a
 * sequence fails the continuation test, so this never reads past the end. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned int cp;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Why `key` breaks the key rules, or NULL when it follows them. */
static const char *key_problem(const char *key)
{
	const unsigned char *p, *seg;
	size_t n;

	if (key == NULL)
		return "missing";
	if (*key == '\0')
		return "empty";
	if (strlen(key) > STORAGE_KEY_MAX)
		return "longer than 1024 bytes";
	seg = p = (const unsigned char *)key;
	for (;;) {
		if (*p == '/' || *p == '\0') {
			n = (size_t)(p - seg);
			if (n == 0)
				return "empty segment";
			if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return "'.' or '..' segment";
			if (*p == '\0')
				return NULL;
			seg = ++p;
			continue;
		}
		if (is_control(*p))
			return "control character";
		if ((n = utf8_len(p)) == 0)
			return "not UTF-8";
		p += n;
	}
}

int storage_key_is_valid(const char *key)
{
	return key_problem(key) == NULL;
}

/* A printable rendering of a caller's string for error messages: control
 * bytes as \xNN, cut after 128 bytes. */
static const char *shown(char *buf, size_t size, const char *s)
{
	const unsigned char *p;
	size_t o = 0;

	if (s == NULL)
		return "(null)";
	for (p = (const unsigned char *)s; *p != '\0' && o + 8 < size; p++) {
		if (o >= 128) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (is_control(*p))
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- argument checks ---- */

static int check_handle(const struct storage *s, const char *op)
{
	if (s == NULL || s->ops == NULL)
		return cst_error(CST_EINVALID, "storage %s: no storage handle", op);
	return 0;
}

static int check_key(const char *op, const char *key)
{
	const char *why = key_problem(key);
	char buf[160];

	if (why == NULL)
		return 0;
	return cst_error(CST_EINVALID, "storage %s: invalid key '%s' (%s)", op,
			 shown(buf, sizeof(buf), key), why);
}

static int check_flags(const char *op, const char *key, int flags)
{
	if ((flags & ~STORAGE_PUT_NO_OVERWRITE) != 0)
		return cst_error(CST_EINVALID, "storage %s %s: unknown flags 0x%x", op, key,
				 (unsigned int)flags);
	return 0;
}

static int check_prefix(const char *prefix)
{
	const unsigned char *p;
	char buf[160];

	if (prefix == NULL)
		return cst_error(CST_EINVALID, "storage list: missing prefix");
	if (strlen(prefix) > STORAGE_KEY_MAX)
		return cst_error(CST_EINVALID, "storage list: prefix longer than %d bytes",
				 STORAGE_KEY_MAX);
	for (p = (const unsigned char *)prefix; *p != '\0'; p++)
		if (is_control(*p))
			return cst_error(CST_EINVALID,
					 "storage list: invalid prefix '%s' (control character)",
					 shown(buf, sizeof(buf), prefix));
	return 0;
}

/* ---- testing aids: trace and injected faults ---- */

static void hooks_free(struct storage_hooks *h)
{
	if (h == NULL)
		return;
	if (h->trace_fd >= 0)
		close(h->trace_fd);
	free(h->trace_path);
	free(h->rules);
	free(h);
}

static int fault_malformed(const char *item, size_t len)
{
	return cst_error(CST_EINVALID,
			 "%s: malformed entry '%.*s' (want op:N or op:N+ with N >= 1, op one of "
			 "put_file, put_buf, get, head, list, delete)",
			 FAULTS_ENV, (int)len, item);
}

/* One "op:N" or "op:N+" entry of `len` bytes at `item`. */
static int fault_parse_one(struct fault_rule *rule, const char *item, size_t len)
{
	const char *colon = memchr(item, ':', len), *p, *end = item + len;
	unsigned long n = 0;
	int op;

	if (colon == NULL)
		return fault_malformed(item, len);
	for (op = 0; op < OP_COUNT; op++)
		if (strlen(op_names[op]) == (size_t)(colon - item) &&
		    memcmp(op_names[op], item, (size_t)(colon - item)) == 0)
			break;
	if (op == OP_COUNT)
		return fault_malformed(item, len);
	rule->op = op;
	rule->persistent = end > colon + 1 && end[-1] == '+';
	if (rule->persistent)
		end--;
	if (end == colon + 1 || end - (colon + 1) > 9)
		return fault_malformed(item, len);
	for (p = colon + 1; p < end; p++) {
		if (*p < '0' || *p > '9')
			return fault_malformed(item, len);
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n == 0)
		return fault_malformed(item, len);
	rule->nth = n;
	return 0;
}

static int faults_parse(struct storage_hooks *h, const char *spec)
{
	const char *p = spec, *comma;
	size_t count = 1;
	int rc = 0;

	for (comma = spec; (comma = strchr(comma, ',')) != NULL; comma++)
		count++;
	if ((h->rules = cst_calloc(count, sizeof(*h->rules))) == NULL)
		return CST_ENOMEM;
	for (;;) {
		size_t len;

		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if ((rc = fault_parse_one(&h->rules[h->nrules], p, len)) != 0)
			return rc;
		h->nrules++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Read both environment variables. *out stays NULL when both are unset or
 * empty, so the common case costs one pointer test per call. */
static int hooks_new(struct storage_hooks **out)
{
	const char *trace = getenv(TRACE_ENV), *faults = getenv(FAULTS_ENV);
	struct storage_hooks *h = NULL;
	int rc = 0, i;

	*out = NULL;
	if ((trace == NULL || *trace == '\0') && (faults == NULL || *faults == '\0'))
		goto out;
	if ((h = cst_calloc(1, sizeof(*h))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	h->trace_fd = -1;
	for (i = 0; i < OP_COUNT; i++)
		atomic_init(&h->calls[i], 0);
	if (faults != NULL && *faults != '\0' && (rc = faults_parse(h, faults)) != 0)
		goto out;
	if (trace != NULL && *trace != '\0') {
		if ((h->trace_path = cst_strdup(trace)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		h->trace_fd = open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (h->trace_fd < 0) {
			rc = cst_error_errno("%s: cannot open %s", TRACE_ENV, trace);
			goto out;
		}
	}
	*out = h;
	h = NULL;
out:
	hooks_free(h);
	return rc;
}

/* Trace the call, then fail it if a fault rule says so. Runs after the
 * argument checks, so only calls that would reach the backend count. */
static int hooks_run(struct storage *s, int op, const char *what)
{
	struct storage_hooks *h = s->hooks;
	unsigned long nth;
	char *line = NULL;
	size_t i;
	int rc = 0;

	if (h == NULL)
		goto out;
	if (h->trace_fd >= 0) {
		/* One write per line with O_APPEND: lines from several
		 * processes sharing the file do not interleave. */
		if ((line = cst_sprintf("%s %s\n", op_names[op], what)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		if (cst_write_all(h->trace_fd, line, strlen(line)) != 0) {
			rc = cst_error_errno("%s: cannot write %s", TRACE_ENV, h->trace_path);
			goto out;
		}
	}
	if (h->nrules == 0)
		goto out;
	nth = atomic_fetch_add(&h->calls[op], 1) + 1;
	for (i = 0; i < h->nrules; i++) {
		const struct fault_rule *r = &h->rules[i];

		if (r->op == op && (nth == r->nth || (r->persistent && nth > r->nth))) {
			rc = cst_error(CST_EIO, "injected fault: %s %s", op_names[op], what);
			goto out;
		}
	}
out:
	free(line);
	return rc;
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
		if (strcmp(registry[i]->name, provider) == 0) {
			*out = registry[i];
			return 0;
		}
	}
	known[0] = '\0';
	for (i = 0; i < REGISTRY_LEN && o < sizeof(known); i++)
		o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s", i ? ", " : "",
				      registry[i]->name);
	return cst_error(CST_EINVALID, "unknown storage_provider '%s' (known: %s)", provider,
			 known);
}

int storage_open(struct storage **out, const struct storage_config *cfg)
{
	const struct storage_ops *ops;
	struct storage_hooks *hooks = NULL;
	struct storage *s = NULL;
	int rc;

	if (out == NULL || cfg == NULL)
		return cst_error(CST_EINVALID, "storage_open: missing argument");
	*out = NULL;
	if ((rc = find_ops(&ops, cfg->provider)) != 0)
		goto out;
	if ((rc = hooks_new(&hooks)) != 0)
		goto out;
	if ((rc = ops->open(&s, cfg)) != 0)
		goto out;
	s->hooks = hooks;
	hooks = NULL;
	*out = s;
out:
	hooks_free(hooks);
	return rc;
}

void storage_close(struct storage *s)
{
	struct storage_hooks *hooks;

	if (s == NULL)
		return;
	hooks = s->hooks;
	s->ops->close(s);
	hooks_free(hooks);
}

const char *storage_provider(const struct storage *s)
{
	return s != NULL && s->ops != NULL ? s->ops->name : NULL;
}

/* ---- calls ---- */

int storage_put_file(struct storage *s, const char *key, const char *path, int flags)
{
	int rc;

	if ((rc = check_handle(s, "put_file")) != 0 || (rc = check_key("put_file", key)) != 0 ||
	    (rc = check_flags("put_file", key, flags)) != 0)
		return rc;
	if (path == NULL || *path == '\0')
		return cst_error(CST_EINVALID, "storage put_file %s: missing source path", key);
	if ((rc = hooks_run(s, OP_PUT_FILE, key)) != 0)
		return rc;
	return s->ops->put_file(s, key, path, flags);
}

int storage_put_buf(struct storage *s, const char *key, const void *buf, size_t len, int flags)
{
	int rc;

	if ((rc = check_handle(s, "put_buf")) != 0 || (rc = check_key("put_buf", key)) != 0 ||
	    (rc = check_flags("put_buf", key, flags)) != 0)
		return rc;
	if (buf == NULL && len != 0)
		return cst_error(CST_EINVALID, "storage put_buf %s: missing buffer", key);
	if ((rc = hooks_run(s, OP_PUT_BUF, key)) != 0)
		return rc;
	return s->ops->put_buf(s, key, buf != NULL ? buf : "", len, flags);
}

int storage_get(struct storage *s, const char *key, storage_sink_fn sink, void *arg)
{
	int rc;

	if ((rc = check_handle(s, "get")) != 0 || (rc = check_key("get", key)) != 0)
		return rc;
	if (sink == NULL)
		return cst_error(CST_EINVALID, "storage get %s: missing sink", key);
	if ((rc = hooks_run(s, OP_GET, key)) != 0)
		return rc;
	return s->ops->get(s, key, sink, arg);
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
	if ((rc = check_handle(s, "get_buf")) != 0 || (rc = check_key("get_buf", key)) != 0)
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

int storage_head(struct storage *s, const char *key, uint64_t *size)
{
	int rc;

	if ((rc = check_handle(s, "head")) != 0 || (rc = check_key("head", key)) != 0)
		return rc;
	if (size == NULL)
		return cst_error(CST_EINVALID, "storage head %s: missing size", key);
	if ((rc = hooks_run(s, OP_HEAD, key)) != 0)
		return rc;
	return s->ops->head(s, key, size);
}

int storage_list(struct storage *s, const char *prefix, storage_list_fn cb, void *arg)
{
	int rc;

	if ((rc = check_handle(s, "list")) != 0 || (rc = check_prefix(prefix)) != 0)
		return rc;
	if (cb == NULL)
		return cst_error(CST_EINVALID, "storage list: missing callback");
	if ((rc = hooks_run(s, OP_LIST, prefix)) != 0)
		return rc;
	return s->ops->list(s, prefix, cb, arg);
}

int storage_delete(struct storage *s, const char *key)
{
	int rc;

	if ((rc = check_handle(s, "delete")) != 0 || (rc = check_key("delete", key)) != 0)
		return rc;
	if ((rc = hooks_run(s, OP_DELETE, key)) != 0)
		return rc;
	return s->ops->del(s, key);
}
