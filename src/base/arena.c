#include "base/arena.h"

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct chunk *head;
	size_t chunk_size;
	size_t total;
};

struct arena *arena_new(size_t chunk_size)
{
	struct arena *a = xcalloc(1, sizeof(*a));
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
	return a;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	for (struct chunk *c = a->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t need, sz;

	if (size_add(n, 15, &need))
		BUG("arena allocation size overflow");
	need &= ~(size_t)15;
	if (!c || c->size - c->used < need) {
		sz = need > a->chunk_size ? need : a->chunk_size;
		c = xmalloc(sizeof(*c) + sz);
		c->size = sz;
		c->used = 0;
		/* A large one-off block goes behind the current chunk so the
		 * current chunk's free space is not wasted. */
		if (a->head && need > a->chunk_size) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += need;
	a->total += need;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}
