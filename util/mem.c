/* Allocation, strings and hex helpers that report through the error slot. */
#define _GNU_SOURCE
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *cst_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		cst_error(CST_ENOMEM, "out of memory (%zu bytes)", n);
	return p;
}

void *cst_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		cst_error(CST_ENOMEM, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *cst_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		cst_error(CST_ENOMEM, "out of memory (%zu bytes)", n);
	return q;
}

void *cst_grow(void *arr, size_t *cap, size_t n, size_t elsize, size_t first)
{
	void *grown;
	size_t want;

	if (n < *cap)
		return arr;
	want = *cap ? *cap * 2 : first;
	if (want < *cap || want > SIZE_MAX / elsize) {
		cst_error(CST_ENOMEM, "array too large");
		return NULL;
	}
	if ((grown = cst_realloc(arr, want * elsize)) != NULL)
		*cap = want;
	return grown;
}

char *cst_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		cst_error(CST_ENOMEM, "out of memory");
	return p;
}

char *cst_sprintf(const char *fmt, ...)
{
	char *p = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		cst_error(CST_ENOMEM, "out of memory");
		return NULL;
	}
	return p;
}

void cst_hex(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cst_unhex(unsigned char *out, size_t len, const char *hex)
{
	size_t i;

	if (hex == NULL || strlen(hex) != 2 * len)
		return cst_error(CST_EINVALID, "expected %zu hex digits", 2 * len);
	for (i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return cst_error(CST_EINVALID, "not a hex string: '%s'", hex);
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void cst_wipe(void *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
}
