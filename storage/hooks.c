/*
 * The storage testing aids: the call trace and injected faults, read from the
 * environment at open (grammar in storage.h). Both are thread-safe without a
 * lock: the rules never change after open, the per-op call counters are
 * atomics, and each trace line is one write() to an O_APPEND descriptor, so
 * lines from concurrent calls (or processes) never interleave.
 */
#define _GNU_SOURCE
#include "core.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACE_ENV "CASSETTE_STORAGE_TRACE"
#define FAULTS_ENV "CASSETTE_STORAGE_FAULTS"

const char *const storage_op_names[OP_COUNT] = {
	"put_file", "put_buf", "get", "head", "stat", "list", "delete",
	"upload_begin", "upload_part", "upload_commit", "upload_abort", "clean_uploads",
};

/* The failure kinds a rule may inject; "cut" is handled apart. */
static const struct {
	const char *name;
	int code;
} kinds[] = {
	{ "eio", CST_EIO },	      { "retry", CST_ERETRY },	   { "auth", CST_EAUTH },
	{ "notfound", CST_ENOTFOUND }, { "invalid", CST_EINVALID }, { "integrity", CST_EINTEGRITY },
};

struct fault_rule {
	int op;
	unsigned long first, last; /* 1-based call numbers, inclusive */
	int code;		   /* the injected code, 0 for a cut */
	long long cut;		   /* cut=N: items delivered before CST_ERETRY */
	int kill;		   /* KILL_BEFORE, KILL_AFTER: the process dies */
};

enum { KILL_BEFORE = 1, KILL_AFTER = 2 };

struct storage_hooks {
	int trace_fd; /* -1 when tracing is off */
	char *trace_path;
	struct fault_rule *rules;
	size_t nrules;
	atomic_ulong calls[OP_COUNT]; /* counted only while rules exist */
};

void storage_hooks_free(struct storage_hooks *h)
{
	if (h == NULL)
		return;
	if (h->trace_fd >= 0)
		close(h->trace_fd);
	free(h->trace_path);
	free(h->rules);
	free(h);
}

/* ---- parsing ---- */

static int fault_malformed(const char *item, size_t len)
{
	return cst_error(CST_EINVALID,
			 "%s: malformed entry '%.*s' (want op:N, op:N+ or op:N-M, then "
			 "optionally :eio, :retry, :auth, :notfound, :invalid, :integrity, "
			 ":kill, :killafter or :cut=BYTES (get, list); see storage.h)",
			 FAULTS_ENV, (int)len, item);
}

/* Digits in [p, end), at most `max` of them, as a number. -1 when empty,
 * too long or not all digits. */
static long long parse_num(const char *p, const char *end, int max)
{
	long long n = 0;

	if (p == end || end - p > max)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

static int parse_kind(struct fault_rule *rule, const char *p, const char *end)
{
	size_t i, len = (size_t)(end - p);

	if (len > 4 && memcmp(p, "cut=", 4) == 0) {
		if (rule->op != OP_GET && rule->op != OP_LIST)
			return -1;
		return (rule->cut = parse_num(p + 4, end, 18)) < 0 ? -1 : 0;
	}
	if ((len == 4 && memcmp(p, "kill", 4) == 0) || (len == 9 && memcmp(p, "killafter", 9) == 0)) {
		rule->kill = len == 4 ? KILL_BEFORE : KILL_AFTER;
		return 0;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) == len && memcmp(kinds[i].name, p, len) == 0) {
			rule->code = kinds[i].code;
			return 0;
		}
	}
	return -1;
}

/* "N", "N+" or "N-M" in [p, end). */
static int parse_range(struct fault_rule *rule, const char *p, const char *end)
{
	const char *dash = memchr(p, '-', (size_t)(end - p));
	long long first, last;

	if (end > p && end[-1] == '+') {
		if ((first = parse_num(p, end - 1, 9)) < 1)
			return -1;
		rule->first = (unsigned long)first;
		rule->last = ULONG_MAX;
		return 0;
	}
	if (dash == NULL) {
		if ((first = parse_num(p, end, 9)) < 1)
			return -1;
		rule->first = rule->last = (unsigned long)first;
		return 0;
	}
	if ((first = parse_num(p, dash, 9)) < 1 || (last = parse_num(dash + 1, end, 9)) < first)
		return -1;
	rule->first = (unsigned long)first;
	rule->last = (unsigned long)last;
	return 0;
}

/* One "op:RANGE[:KIND]" entry of `len` bytes at `item`. */
static int fault_parse_one(struct fault_rule *rule, const char *item, size_t len)
{
	const char *end = item + len, *colon = memchr(item, ':', len), *colon2;
	int op;

	if (colon == NULL)
		return fault_malformed(item, len);
	for (op = 0; op < OP_COUNT; op++)
		if (strlen(storage_op_names[op]) == (size_t)(colon - item) &&
		    memcmp(storage_op_names[op], item, (size_t)(colon - item)) == 0)
			break;
	if (op == OP_COUNT)
		return fault_malformed(item, len);
	rule->op = op;
	rule->code = CST_EIO;
	rule->cut = -1;
	colon2 = memchr(colon + 1, ':', (size_t)(end - colon - 1));
	if (parse_range(rule, colon + 1, colon2 != NULL ? colon2 : end) != 0 ||
	    (colon2 != NULL && parse_kind(rule, colon2 + 1, end) != 0))
		return fault_malformed(item, len);
	if (rule->cut >= 0)
		rule->code = 0;
	return 0;
}

static int faults_parse(struct storage_hooks *h, const char *spec)
{
	const char *p = spec, *comma;
	size_t count = 1;
	int rc;

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
			return 0;
		p = comma + 1;
	}
}

int storage_hooks_new(struct storage_hooks **out)
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
	storage_hooks_free(h);
	return rc;
}

/* ---- running ---- */

/* Append one line; a single write() so concurrent lines stay whole. */
static int trace_line(struct storage_hooks *h, char *line)
{
	int rc = 0;

	if (line == NULL)
		return CST_ENOMEM;
	if (cst_write_all(h->trace_fd, line, strlen(line)) != 0)
		rc = cst_error_errno("%s: cannot write %s", TRACE_ENV, h->trace_path);
	free(line);
	return rc;
}

int storage_hooks_attempt(struct storage *s, struct storage_call *c)
{
	struct storage_hooks *h = s->hooks;
	const char *op = storage_op_names[c->op];
	unsigned long nth;
	size_t i;
	int rc;

	if (h == NULL)
		return 0;
	if (h->trace_fd >= 0 &&
	    (rc = trace_line(h, cst_sprintf("%s %s\n", op, c->what))) != 0)
		return rc;
	if (h->nrules == 0)
		return 0;
	nth = atomic_fetch_add(&h->calls[c->op], 1) + 1;
	for (i = 0; i < h->nrules; i++) {
		const struct fault_rule *r = &h->rules[i];

		if (r->op != c->op || nth < r->first || nth > r->last)
			continue;
		if (r->kill == KILL_BEFORE)
			raise(SIGKILL);	/* a crash, as a power cut would do it */
		if (r->kill == KILL_AFTER) {
			c->kill_after = 1;
			return 0;
		}
		if (r->code == 0) {
			c->cut = r->cut;
			return 0;
		}
		return cst_error(r->code, "injected fault: %s %s", op, c->what);
	}
	return 0;
}

void storage_hooks_backoff(struct storage *s, const struct storage_call *c, unsigned long ms)
{
	struct storage_hooks *h = s->hooks;

	/* Best effort: the call's own error, not the trace's, matters here. */
	if (h != NULL && h->trace_fd >= 0)
		(void)trace_line(h, cst_sprintf("backoff %lu %s %s\n", ms,
						storage_op_names[c->op], c->what));
}
