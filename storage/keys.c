/*
 * The key rules of storage.h and the argument checks every call shares, so
 * that backends never see a bad argument.
 */
#define _GNU_SOURCE
#include "core.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

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

int storage_check_handle(const struct storage *s, const char *op)
{
	if (s == NULL || s->ops == NULL)
		return cst_error(CST_EINVALID, "storage %s: no storage handle", op);
	return 0;
}

int storage_check_key(const char *op, const char *key)
{
	const char *why = key_problem(key);
	char buf[160];

	if (why == NULL)
		return 0;
	return cst_error(CST_EINVALID, "storage %s: invalid key '%s' (%s)", op,
			 shown(buf, sizeof(buf), key), why);
}

int storage_check_flags(const char *op, const char *key, int flags)
{
	if ((flags & ~(STORAGE_PUT_NO_OVERWRITE | STORAGE_PUT_HANDOVER)) != 0)
		return cst_error(CST_EINVALID, "storage %s %s: unknown flags 0x%x", op, key,
				 (unsigned int)flags);
	return 0;
}

int storage_check_prefix(const char *prefix)
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
