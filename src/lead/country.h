/* country - ISO 3166-1 countries from Debian's iso-codes data.
 *
 * Loads iso_3166-1.json (iso-codes package) once into a table and answers
 * lookups by alpha-2, alpha-3, English name, common name or official name,
 * case-insensitively and ignoring surrounding white space and inner runs of
 * white space ("united  states" = "United States"), dots ("U.K." = "UK")
 * and the accents of Latin-1 letters ("Cote d'Ivoire").  A few well-known
 * extra spellings that iso-codes does not carry ("USA" is alpha-3 already; "UK" ->
 * GB, "Great Britain" -> GB, "South Korea" -> KR, "North Korea" -> KP,
 * "Russia" -> RU, "Holland" -> NL, "Czech Republic" -> CZ, "Ivory Coast" ->
 * CI, "Vatican" -> VA, "Turkey" -> TR) are kept in a small documented table.
 *
 * The table owns all its strings; country_db_free releases them.  Lookups
 * return pointers borrowed from the table.  Never writes to stdout/stderr.
 */
#ifndef LR_COUNTRY_H
#define LR_COUNTRY_H

#include <stddef.h>

struct country {
	char alpha2[3];      /* "US" */
	char alpha3[4];      /* "USA" */
	const char *name;    /* "United States" */
};

struct country_db;

/* Load from the iso-codes JSON file at path (NULL: the path configure found,
 * ISO_CODES_DIR "/iso_3166-1.json").  Returns NULL and fills err on failure
 * with a message naming the file and the Debian package. */
struct country_db *country_db_load(const char *path, char *err, size_t errlen);
void country_db_free(struct country_db *db);

/* Find a country by any accepted spelling.  NULL when unknown. */
const struct country *country_find(const struct country_db *db, const char *s);
/* Closest country to an unknown spelling, for "did you mean": compares with
 * codes and names by edit distance (case-insensitive, same normalization as
 * country_find); NULL when nothing is reasonably close: distance >
 * max(2, len/3) or >= len.  Inputs of 1-2 bytes get no suggestion (a typo in
 * a 2-letter code is ambiguous), 3-byte inputs only ones with the same first
 * letter; on equal distance a spelling with the same first letter wins. */
const struct country *country_suggest(const struct country_db *db, const char *s);
size_t country_count(const struct country_db *db);
const struct country *country_at(const struct country_db *db, size_t i);

#endif
