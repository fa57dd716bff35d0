/* accounts - the account index read from a CSV file.
 *
 * The CSV has a header row naming its columns: domain (required), and any of
 * account_id, owner, lifecycle, tier (other columns are ignored).  Quoting is
 * RFC 4180 ("a ""b"", c").  Domains are reduced to their registrable domain
 * (www.acme.co.uk -> acme.co.uk) and lower-cased.  The same file feeds
 * `routec --accounts` and `leadroute accounts import`.
 *
 * The index owns its rows; lookups hand out borrowed strings.  Never
 * accepts a file with a bad row: the error names the file, line and column.
 */
#ifndef LR_ACCOUNTS_H
#define LR_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include <libpsl.h>

#include "lead/lead.h"

#define ACCOUNTS_MAX_ROWS 5000000

struct account_row {
	char *domain, *id, *owner, *lifecycle, *tier;   /* owned; NULL if empty */
	int line;
};

struct account_index {
	struct account_row *rows;   /* sorted by domain */
	size_t n, cap;
	/* rows left out because an earlier line gave their domain (with the
	 * same owner): the index keeps the earliest line; owned, in line order
	 * within a domain.  `leadroute accounts import` records those of
	 * another account as conflicts. */
	struct account_row *dropped;
	size_t n_dropped, cap_dropped;
};

/* Load path into a new index.  Returns NULL and fills err on any bad row,
 * a missing domain column, or a domain given twice with different owners
 * (the index cannot know which is right). */
struct account_index *accounts_load_csv(const char *path, const psl_ctx_t *psl,
                                        char *err, size_t errlen);
void accounts_free(struct account_index *ix);
const struct account_row *accounts_find(const struct account_index *ix, const char *domain);
/* An account_lookup that reads ix (ix must outlive it). */
struct account_lookup accounts_lookup(const struct account_index *ix);

/* Split one CSV record starting at *p (advanced past its line end).
 * Returns the number of fields (up to max), or -1 with err filled for an
 * unterminated quote.  Fields are newly allocated; caller frees them. */
int csv_record(const char **p, char **fields, int max, char *err, size_t errlen);

#endif
