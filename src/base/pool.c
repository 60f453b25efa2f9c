/* SPDX-License-Identifier: MIT */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define POOL_BLOCK (64u * 1024u)

struct pool_block {
	struct pool_block *next;
	size_t used, size;
	max_align_t data[];
};

void *pool_alloc(struct pool *p, size_t n)
{
	struct pool_block *blk = p->head;
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *ptr;

	if (!blk || blk->size - blk->used < need) {
		size_t size = need > POOL_BLOCK / 4 ? need : POOL_BLOCK;

		blk = xmalloc(sizeof(*blk) + size);
		blk->used = 0;
		blk->size = size;
		if (size == need && p->head) {
			/* a big one: keep the current block for the small ones */
			blk->next = p->head->next;
			p->head->next = blk;
		} else {
			blk->next = p->head;
			p->head = blk;
		}
	}
	ptr = (char *)blk->data + blk->used;
	blk->used += need;
	return ptr;
}

char *pool_strdup(struct pool *p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = pool_alloc(p, n);

	memcpy(copy, s, n);
	return copy;
}

void pool_free(struct pool *p)
{
	while (p->head) {
		struct pool_block *next = p->head->next;
		free(p->head);
		p->head = next;
	}
}
