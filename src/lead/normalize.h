/* normalize - the one definition of how a value is cleaned before rules see
 * it.  Rule constants (check.c) and lead values (lead.c) both go through
 * here, so "US " in a form and `US` in a rule compare equal.
 *
 * Text: control characters removed, white space trimmed and runs of it
 * folded to one space, ASCII letters lower-cased (other UTF-8 is kept as
 * is).  Numbers: digits with optional sign, decimals, thousands separators
 * (1,000 or 1 000 or 1_000), a k/m suffix (10k), a trailing '+' (5000+),
 * and ranges "201-500" or "201 to 500", which give their lower bound.
 * Never allocates for a rejected number; never accepts NaN or infinity.
 */
#ifndef LR_NORMALIZE_H
#define LR_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Newly allocated normalized text; caller frees.  Returns "" (allocated)
 * for a value that is empty after cleaning: callers treat it as missing. */
char *norm_text(const char *s);
/* Parse a number or range as described above into *out.  Returns false
 * when s is not one (empty, words, overflow). */
bool norm_number(const char *s, double *out);
/* Upper-case ASCII copy into dst (at most n-1 bytes); returns dst. */
char *norm_upper(char *dst, const char *s, size_t n);

#endif
