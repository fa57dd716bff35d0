/* suggest - "did you mean" by edit distance.
 *
 * Optimal-string-alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), case-insensitive on ASCII.  Never allocates more than two
 * rows of the distance matrix for strings up to 256 bytes; longer strings are
 * compared on their first 256 bytes.
 */
#ifndef LR_SUGGEST_H
#define LR_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

size_t suggest_distance(const char *a, const char *b);

/* Whether a candidate at `distance` from word is close enough to offer:
 * distance <= max(1, len/3), where len is strlen(word) capped at 256; words of
 * 3 to 5 bytes whose first letter matches the candidate's (ASCII,
 * case-insensitive) may be 2 edits away; and the distance must be below len,
 * so a word is never "corrected" into an unrelated one of the same length. */
bool suggest_is_close(const char *word, const char *candidate, size_t distance);

/* The candidate closest to word among those suggest_is_close accepts, or
 * NULL when none is (or word is NULL or empty).  Ties go to the earliest
 * candidate; NULL entries are skipped.  Returns a pointer borrowed from
 * candidates. */
const char *suggest_best(const char *word, const char *const *candidates,
                         size_t n);

#endif
