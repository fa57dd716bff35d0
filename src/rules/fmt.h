/* fmt - print a parsed program in the canonical layout (routec --fmt).
 *
 * One statement per line, in source order, comments kept where they were
 * (a comment on its own line stays above the statement that follows it; a
 * comment at the end of a line stays at the end of that statement), blank
 * lines between statements kept (runs of them folded to one), `=` with one
 * space each side, queue options each on their own indented line, rule
 * arrows aligned within a block of consecutive rules.  Formatting a
 * formatted file changes nothing; the formatted file parses to the same
 * program.  Never prints a file that did not parse without errors.
 */
#ifndef LR_FMT_H
#define LR_FMT_H

#include <stdio.h>

#include "rules/ast.h"
#include "rules/source.h"

/* Write the canonical form of p (parsed from src) to out. */
void fmt_program(const struct program *p, const struct source *src, FILE *out);

#endif
