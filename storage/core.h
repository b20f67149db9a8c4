/*
 * storage/core.h: what the core files of the storage module share
 * (storage.c, hooks.c, upload.c, limiter.c). Private: backends include
 * backend.h only, and nothing outside storage/ includes either.
 */
#ifndef CASSETTE_STORAGE_CORE_H
#define CASSETTE_STORAGE_CORE_H

#include "backend.h"

#define STORAGE_KEY_MAX 1024

/* The operations the trace and the fault rules name (see storage.h). */
enum {
	OP_PUT_FILE,
	OP_PUT_BUF,
	OP_GET,
	OP_HEAD,
	OP_STAT,
	OP_LIST,
	OP_DELETE,
	OP_UPLOAD_BEGIN,
	OP_UPLOAD_PART,
	OP_UPLOAD_COMMIT,
	OP_UPLOAD_ABORT,
	OP_CLEAN_UPLOADS,
	OP_COUNT
};

extern const char *const storage_op_names[OP_COUNT];

/*
 * One call as the retry loop sees it. A caller embeds it as the FIRST member
 * of its own state and sets op, what and attempt; storage_call_run() does the
 * rest.
 */
struct storage_call {
	int op;
	const char *what; /* the key or prefix, for the trace and messages */
	/* One backend attempt: 0, or a negative code with the slot set. */
	int (*attempt)(struct storage *s, struct storage_call *c);
	/* Set by a sink or listing wrapper when the caller's callback failed:
	 * that code goes back unchanged and is never retried. */
	int callback_failed;
	/* Set by a wrapper when an attempt delivered something: a transfer
	 * that moves forward starts its backoff over. */
	int progress;
	/* An injected cut (fault kind "cut=N"): >= 0 arms it, counting bytes
	 * (get) or keys (list) this attempt may still deliver; -1 = none. */
	long long cut;
	int cut_hit;
	/* Fault kind "killafter": SIGKILL once the backend answered. */
	int kill_after;
};

/*
 * Run c->attempt until it succeeds, fails with a code other than CST_ERETRY,
 * or the handle's retries are used up (then CST_EIO, keeping the last
 * message). Each attempt is traced and may be failed by a fault rule first;
 * between attempts it sleeps with exponential backoff and full jitter.
 */
int storage_call_run(struct storage *s, struct storage_call *c);

/* Argument checks shared by storage.c and upload.c; each sets the slot. */
int storage_check_handle(const struct storage *s, const char *op);
int storage_check_key(const char *op, const char *key);
int storage_check_flags(const char *op, const char *key, int flags);
int storage_check_prefix(const char *prefix);

/* ---- testing aids (hooks.c) ---- */

/* Read CASSETTE_STORAGE_TRACE and _FAULTS. *out stays NULL when both are
 * unset or empty. CST_EINVALID for a malformed fault list. */
int storage_hooks_new(struct storage_hooks **out);
void storage_hooks_free(struct storage_hooks *h);
/* Trace one attempt of `c`, then apply the fault rules: returns the
 * injected code or 0, and may arm c->cut. Thread-safe. */
int storage_hooks_attempt(struct storage *s, struct storage_call *c);
/* Trace the backoff chosen before the next attempt of `c`. */
void storage_hooks_backoff(struct storage *s, const struct storage_call *c, unsigned long ms);

/* ---- the rate limiter (limiter.c) ---- */

/* A token bucket for `rate` bytes per second (> 0). */
int storage_limiter_new(struct storage_limiter **out, uint64_t rate);
void storage_limiter_free(struct storage_limiter *l);

#endif
