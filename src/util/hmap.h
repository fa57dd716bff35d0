/* hmap - an open-addressing hash map from byte strings to 32-bit values.
 *
 * The map copies every key it stores into its own arena and frees them all
 * in hmap_free; callers keep their keys.  Lookups never allocate.  Used by
 * the tree compiler for hash-consing and memo tables; not thread-safe.
 */
#ifndef LR_HMAP_H
#define LR_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
	uint64_t hash;
	const void *key;   /* in the arena; NULL for an empty slot */
	size_t len;
	uint32_t value;
};

struct hmap {
	struct hmap_entry *slots;
	size_t mask;       /* slot count - 1 (a power of two) */
	size_t count;
	char **arena;      /* blocks of copied keys */
	size_t n_arena, cap_arena;
	size_t arena_used, arena_size;
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
uint64_t hmap_hash(const void *key, size_t len);
/* Find key; returns true and sets *value when present. */
bool hmap_get(const struct hmap *m, const void *key, size_t len, uint32_t *value);
/* Insert or replace. */
void hmap_put(struct hmap *m, const void *key, size_t len, uint32_t value);

#endif
