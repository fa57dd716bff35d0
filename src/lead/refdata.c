/* refdata - load countries, free-mail domains and the public suffix list.
 * Must never leave a half-loaded struct behind on failure. */
#include "lead/refdata.h"

#include <stdio.h>
#include <string.h>

int refdata_load(struct refdata *rd, char *err, size_t errlen)
{
	memset(rd, 0, sizeof *rd);
	rd->countries = country_db_load(NULL, err, errlen);
	if (!rd->countries)
		return -1;
	rd->freemail = freemail_load(NULL, err, errlen);
	if (!rd->freemail) {
		refdata_free(rd);
		return -1;
	}
	/* psl_latest picks the newer of the built-in list and the system's
	 * (publicsuffix package); NULL only when neither can be had. */
	rd->psl = psl_latest(NULL);
	if (!rd->psl) {
		snprintf(err, errlen, "cannot load the public suffix list "
		         "(apt-get install publicsuffix libpsl5)");
		refdata_free(rd);
		return -1;
	}
	return 0;
}

void refdata_free(struct refdata *rd)
{
	country_db_free(rd->countries);
	freemail_free(rd->freemail);
	if (rd->psl)
		psl_free(rd->psl);
	memset(rd, 0, sizeof *rd);
}

struct lead_env refdata_env(const struct refdata *rd)
{
	return (struct lead_env){ .countries = rd->countries, .freemail = rd->freemail,
	                          .psl = rd->psl };
}
