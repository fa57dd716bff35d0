/* diff - where two versions of a rules file route leads differently.
 *
 * Compiles both rule lists into one tree over the union of their tests
 * whose leaves are pairs (old rule, new rule); every reachable leaf whose
 * two routes differ (queue, drop, or outcome) is a changed region, reported
 * with an example lead that was checked against both files.  The two files
 * must declare compatible fields (same names and types; one may add fields
 * after the other's).  Never prints anything but the report.
 */
#ifndef LR_DIFF_H
#define LR_DIFF_H

#include <stdio.h>

#include "lead/lead.h"
#include "rules/diag.h"
#include "rules/ruleset.h"

/* Print every changed region to out (text, or one JSON array when
 * format is DIAG_JSON).  Returns the number of changed regions, or -1 with
 * err filled when the files cannot be compared. */
long diff_rulesets(const struct ruleset *old_rs, const struct ruleset *new_rs,
                   const struct lead_env *env, enum diag_format format, FILE *out,
                   char *err, size_t errlen);

#endif
