/*
 * arena.h - a region allocator for memory that dies all at once (a request,
 * a loaded registry snapshot, a parsed policy).
 *
 * arena_alloc never returns NULL: it aborts on out-of-memory like xmalloc.
 * Sizes derived from input must be checked by the caller first. Memory is
 * 16-byte aligned. Not thread-safe: one arena, one thread at a time.
 */
#ifndef MAMORI_ARENA_H
#define MAMORI_ARENA_H

#include "base/base.h"

struct arena;

struct arena *arena_new(size_t chunk_size);
void arena_free(struct arena *a); /* NULL is a no-op */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Bytes handed out so far (for memory accounting). */
size_t arena_used(const struct arena *a);

#endif
