/* explain - why a lead went where it went, rule by rule.
 *
 * A second evaluator kept off the hot path: for each rule in file order it
 * records whether it matched and, when not, the smallest part of its
 * condition that failed with the value the lead had.  It must agree with
 * tree_eval (tests run both); it allocates, the tree never does.
 */
#ifndef LR_EXPLAIN_H
#define LR_EXPLAIN_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "rules/ast.h"
#include "rules/facts.h"
#include "rules/source.h"

/* Print the explanation as text to out; returns the winning rule index
 * (UINT32_MAX for none). */
uint32_t explain_text(const struct program *p, const struct source *src,
                      const struct facts *facts, FILE *out);
/* The same as a JSON object (caller puts it):
 * {"rules":[{"line":N,"matched":bool,"failed":"text","value":"..."}...],
 *  "winner":{"line":N,...}|null} */
struct json_object *explain_json(const struct program *p, const struct source *src,
                                 const struct facts *facts, uint32_t *winner);

#endif
