/* freemail - free-mail (personal address) domains.
 *
 * The list is the data file data/freemail.txt (one lower-case domain per
 * line, '#' comments), installed as PKGDATADIR/freemail.txt; its source and
 * how to update it are in data/README.  Lookups are exact on the lower-cased
 * domain after the '@' (callers pass the domain, not the address).
 * Never writes to stdout/stderr.
 */
#ifndef LR_FREEMAIL_H
#define LR_FREEMAIL_H

#include <stdbool.h>
#include <stddef.h>

struct freemail;

/* path NULL: $LEADROUTE_FREEMAIL if set, else the installed file, else the
 * source tree's data/freemail.txt (for tests run from the build tree).
 * Returns NULL and fills err when the file cannot be read. */
struct freemail *freemail_load(const char *path, char *err, size_t errlen);
void freemail_free(struct freemail *fm);
/* domain is compared case-insensitively. */
bool freemail_is_personal(const struct freemail *fm, const char *domain);
size_t freemail_count(const struct freemail *fm);

#endif
