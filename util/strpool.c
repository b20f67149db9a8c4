/* A string pool: strings copied into large blocks, all freed at once. */
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRPOOL_DEFAULT_BLOCK (64u * 1024)

struct cst_strpool_block {
	struct cst_strpool_block *next;
	size_t used, cap;
	char data[];
};

void cst_strpool_init(struct cst_strpool *p, size_t block_size)
{
	p->head = NULL;
	p->block_size = block_size;
}

char *cst_strpool_dupn(struct cst_strpool *p, const char *s, size_t n)
{
	struct cst_strpool_block *b = p->head;
	char *dst;

	if (n == SIZE_MAX)
		goto too_large;
	if (b == NULL || b->cap - b->used < n + 1) {
		size_t cap = p->block_size ? p->block_size : STRPOOL_DEFAULT_BLOCK;

		if (cap < n + 1)
			cap = n + 1;	/* a string larger than a block gets its own */
		if (cap > SIZE_MAX - sizeof(*b))
			goto too_large;
		if ((b = cst_malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->next = p->head;
		b->used = 0;
		b->cap = cap;
		p->head = b;
	}
	dst = b->data + b->used;
	memcpy(dst, s, n);
	dst[n] = '\0';
	b->used += n + 1;
	return dst;
too_large:
	cst_error(CST_ENOMEM, "string pool: string too large (%zu bytes)", n);
	return NULL;
}

char *cst_strpool_dup(struct cst_strpool *p, const char *s)
{
	return cst_strpool_dupn(p, s, strlen(s));
}

void cst_strpool_free(struct cst_strpool *p)
{
	struct cst_strpool_block *b, *next;

	if (p == NULL)
		return;
	for (b = p->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	p->head = NULL;
}
