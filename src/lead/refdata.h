/* refdata - the reference data every process loads once: countries
 * (iso-codes), free-mail domains (data/freemail.txt) and the public suffix
 * list (libpsl, preferring the system's newest list).
 *
 * refdata_load fills a struct the caller owns and frees with refdata_free;
 * refdata_env gives the lead_env view of it.  Never falls back silently: a
 * missing file is an error naming it and the package that provides it.
 */
#ifndef LR_REFDATA_H
#define LR_REFDATA_H

#include <stddef.h>

#include <libpsl.h>

#include "lead/country.h"
#include "lead/freemail.h"
#include "lead/lead.h"

struct refdata {
	struct country_db *countries;
	struct freemail *freemail;
	psl_ctx_t *psl;
};

/* Returns 0, or -1 with err filled (and nothing left allocated). */
int refdata_load(struct refdata *rd, char *err, size_t errlen);
void refdata_free(struct refdata *rd);
struct lead_env refdata_env(const struct refdata *rd);

#endif
