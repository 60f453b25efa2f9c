/* SPDX-License-Identifier: MIT */
/* A bump allocator for many small objects that die together (an import parses millions of short
 * strings): 64 KiB blocks, big requests in blocks of their own. Zero-initialised is empty;
 * pool_free() releases everything at once. Allocation failure aborts, like xmalloc(). */
#ifndef SHIPLOG_POOL_H
#define SHIPLOG_POOL_H

#include <stddef.h>

struct pool_block;

struct pool {
	struct pool_block *head;
};

/* n bytes aligned for any type, valid until pool_free(). */
void *pool_alloc(struct pool *p, size_t n);
/* A copy of s in the pool. */
char *pool_strdup(struct pool *p, const char *s);
/* Frees every block; the pool is empty again. */
void pool_free(struct pool *p);

#endif
