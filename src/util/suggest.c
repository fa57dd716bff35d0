/* suggest - "did you mean" by optimal-string-alignment edit distance.
 *
 * Used to turn a rejected value into a helpful hint.  Must never allocate
 * (the two distance rows live on the stack, sized for the 256-byte cap),
 * never read past the first 256 bytes of either string and never depend on
 * the locale: case folding is ASCII only.
 */
#include "util/suggest.h"

#include <stdbool.h>
#include <string.h>

/* Strings are compared on at most this many leading bytes. */
#define SUGGEST_MAX_LEN 256

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * Two rows suffice for the transposition case: the row being computed
 * overwrites row i-2, so the one value of row i-2 it needs (column j-2) is
 * kept in two scalars as it is overwritten.
 */
size_t suggest_distance(const char *a, const char *b)
{
	const unsigned char *s = (const unsigned char *)a;
	const unsigned char *t = (const unsigned char *)b;
	size_t m = strnlen(a, SUGGEST_MAX_LEN);
	size_t n = strnlen(b, SUGGEST_MAX_LEN);
	size_t row_a[SUGGEST_MAX_LEN + 1], row_b[SUGGEST_MAX_LEN + 1];
	size_t *prev = row_a;   /* row i-1 */
	size_t *cur = row_b;    /* row i-2 on entry, row i on exit */

	if (m == 0)
		return n;
	if (n == 0)
		return m;
	for (size_t j = 0; j <= n; j++) {
		prev[j] = j;
		cur[j] = 0; /* row -1: never read for a transposition */
	}
	for (size_t i = 1; i <= m; i++) {
		unsigned char si = ascii_lower(s[i - 1]);
		unsigned char si_prev = i > 1 ? ascii_lower(s[i - 2]) : 0;
		size_t old_jm2 = 0; /* row i-2, column j-2 */
		size_t old_jm1 = cur[0]; /* row i-2, column j-1 */

		cur[0] = i;
		for (size_t j = 1; j <= n; j++) {
			unsigned char tj = ascii_lower(t[j - 1]);
			size_t old_j = cur[j];
			size_t cost = si == tj ? 0 : 1;
			size_t d = min_size(prev[j] + 1, cur[j - 1] + 1);

			d = min_size(d, prev[j - 1] + cost);
			if (i > 1 && j > 1 && si == ascii_lower(t[j - 2]) && si_prev == tj)
				d = min_size(d, old_jm2 + 1);
			cur[j] = d;
			old_jm2 = old_jm1;
			old_jm1 = old_j;
		}
		size_t *tmp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[n];
}

bool suggest_is_close(const char *word, const char *candidate, size_t distance)
{
	size_t len = strnlen(word, SUGGEST_MAX_LEN);
	size_t limit = len / 3;

	if (limit < 1)
		limit = 1;
	/* Short words get one more edit when the first letter agrees: a typo
	 * in a 4-letter word is often a swap plus a slip. */
	if (len >= 3 && len < 6 && candidate[0] != '\0' &&
	    ascii_lower((unsigned char)word[0]) == ascii_lower((unsigned char)candidate[0]))
		limit = 2;
	/* Replacing every byte of the word is not a suggestion. */
	return distance <= limit && distance < len;
}

const char *suggest_best(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_distance = (size_t)-1;

	if (!word || word[0] == '\0')
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!candidates[i])
			continue;
		d = suggest_distance(word, candidates[i]);
		if (d < best_distance && suggest_is_close(word, candidates[i], d)) {
			best = candidates[i];
			best_distance = d;
		}
	}
	return best;
}
