/* xalloc - allocation that never returns NULL.
 *
 * Every allocation in leadroute goes through these.  Out of memory is not a
 * condition the program can act on: it prints what it tried to allocate and
 * aborts.  In the handler that is safe because a lead is acknowledged only
 * after its transaction commits (see doc/design-decisions.md).
 * Never use these for sizes taken from input without a bound checked first.
 */
#ifndef LR_XALLOC_H
#define LR_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);                 /* caller frees */
void *xcalloc(size_t count, size_t size);/* zeroed; checks the product */
void *xrealloc(void *p, size_t n);       /* returns the new pointer; p is invalid after */
char *xstrdup(const char *s);            /* caller frees */
char *xstrndup(const char *s, size_t n); /* copies at most n bytes, always terminated */
/* Grow an array to hold at least `need` elements of `size` bytes, doubling.
 * *cap is updated; returns the (possibly moved) array. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);

#endif
