/* The thread-local error slot. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[1024];
static _Thread_local int err_code;

/* Formatted beside the slot first, so a message may quote the one it
 * replaces: cst_error(rc, "...: %s", cst_error_msg()). */
int cst_error(int code, const char *fmt, ...)
{
	char msg[sizeof(err_msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(err_msg, msg, strlen(msg) + 1);
	err_code = code;
	return code;
}

int cst_error_errno(const char *fmt, ...)
{
	char msg[sizeof(err_msg)];
	int saved = errno, code;
	size_t n;
	va_list ap;

	switch (saved) {
	case ENOENT: code = CST_ENOTFOUND; break;
	case EEXIST: code = CST_EEXISTS; break;
	case ENOMEM: code = CST_ENOMEM; break;
	default: code = CST_EIO; break;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	memcpy(err_msg, msg, strlen(msg) + 1);
	err_code = code;
	errno = saved;
	return code;
}

const char *cst_error_msg(void)
{
	return err_msg;
}

int cst_error_code(void)
{
	return err_code;
}

void cst_error_clear(void)
{
	err_msg[0] = '\0';
	err_code = 0;
}

const char *cst_error_name(int code)
{
	switch (code) {
	case CST_OK: return "ok";
	case CST_ENOTFOUND: return "not found";
	case CST_EEXISTS: return "exists";
	case CST_EAUTH: return "auth";
	case CST_EINTEGRITY: return "integrity";
	case CST_ERETRY: return "retry";
	case CST_EIO: return "io";
	case CST_ENOMEM: return "out of memory";
	case CST_EINVALID: return "invalid";
	case CST_EUNSUPPORTED: return "unsupported";
	default: return "error";
	}
}
