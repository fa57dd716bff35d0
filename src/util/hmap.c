/* hmap - open addressing with linear probing, keys copied into an arena.
 * Must never hand out a pointer to a key that a later insert could move. */
#include "util/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define ARENA_BLOCK (64u * 1024u)

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof *m);
	m->mask = 63;
	m->slots = xcalloc(m->mask + 1, sizeof *m->slots);
}

void hmap_free(struct hmap *m)
{
	for (size_t i = 0; i < m->n_arena; i++)
		free(m->arena[i]);
	free(m->arena);
	free(m->slots);
	memset(m, 0, sizeof *m);
}

uint64_t hmap_hash(const void *key, size_t len)
{
	/* FNV-1a, then a final mix so low bits depend on every byte. */
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static const void *arena_copy(struct hmap *m, const void *key, size_t len)
{
	if (len > ARENA_BLOCK / 4) {
		char *big = xmalloc(len);
		memcpy(big, key, len);
		m->arena = xgrow(m->arena, &m->cap_arena, m->n_arena + 1, sizeof *m->arena);
		/* keep the current block last so it stays the one being filled */
		if (m->n_arena) {
			m->arena[m->n_arena] = m->arena[m->n_arena - 1];
			m->arena[m->n_arena - 1] = big;
		} else {
			m->arena[0] = big;
			m->arena_used = m->arena_size = 0;
		}
		m->n_arena++;
		return big;
	}
	if (m->arena_used + len > m->arena_size) {
		m->arena = xgrow(m->arena, &m->cap_arena, m->n_arena + 1, sizeof *m->arena);
		m->arena[m->n_arena++] = xmalloc(ARENA_BLOCK);
		m->arena_used = 0;
		m->arena_size = ARENA_BLOCK;
	}
	char *dst = m->arena[m->n_arena - 1] + m->arena_used;
	memcpy(dst, key, len);
	m->arena_used += (len + 7) & ~(size_t)7;
	if (m->arena_used > m->arena_size)
		m->arena_used = m->arena_size;
	return dst;
}

static void rehash(struct hmap *m)
{
	size_t n = (m->mask + 1) * 2;
	struct hmap_entry *s = xcalloc(n, sizeof *s);
	for (size_t i = 0; i <= m->mask; i++) {
		struct hmap_entry *e = &m->slots[i];
		if (!e->key)
			continue;
		size_t j = e->hash & (n - 1);
		while (s[j].key)
			j = (j + 1) & (n - 1);
		s[j] = *e;
	}
	free(m->slots);
	m->slots = s;
	m->mask = n - 1;
}

bool hmap_get(const struct hmap *m, const void *key, size_t len, uint32_t *value)
{
	uint64_t h = hmap_hash(key, len);
	for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
		const struct hmap_entry *e = &m->slots[i];
		if (!e->key)
			return false;
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
			*value = e->value;
			return true;
		}
	}
}

void hmap_put(struct hmap *m, const void *key, size_t len, uint32_t value)
{
	if ((m->count + 1) * 4 > (m->mask + 1) * 3)
		rehash(m);
	uint64_t h = hmap_hash(key, len);
	size_t i = h & m->mask;
	for (;; i = (i + 1) & m->mask) {
		struct hmap_entry *e = &m->slots[i];
		if (!e->key)
			break;
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
			e->value = value;
			return;
		}
	}
	m->slots[i] = (struct hmap_entry){ h, len ? arena_copy(m, key, len) : (const void *)"", len, value };
	m->count++;
}
