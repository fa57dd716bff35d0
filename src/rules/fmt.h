/* fmt - print a parsed program in the canonical layout (routec --fmt).
 *
 * Formatting a formatted file changes nothing; the formatted file parses to
 * the same program (same statements in the same order, the same condition
 * trees, the same values).  Never prints a file that did not load without
 * errors, and never drops a comment.
 *
 * The layout:
 *
 * - One statement per line, in source order (`;` between statements is
 *   dropped).  Tokens are separated by one space; none inside parentheses
 *   or before `,` and `:`.  Indentation is spaces, never tabs.
 *     field NAME: text | number | enum(a, b, c)
 *     queue NAME = owner | "member" | manual "member" | round_robin(...)
 *     when CONDITION -> ACTION
 *     otherwise -> ACTION
 *     expect { key: value, ... } -> QUEUE        (`expect {} -> QUEUE` when empty)
 *     fallback account_owner QUEUE
 * - round_robin keeps its members inline when there is one member without
 *   options; otherwise each member goes on its own line indented 8 spaces,
 *   the `)` right after the last one.  Member options follow the member:
 *   `weight N` (kept when written, even `weight 1`), then `scheduler "URL"`.
 * - Queue options go on their own lines indented 4 spaces, in the order
 *   hours, cap, fallback: `hours DAYS HH:MM-HH:MM "Zone"` (days and times as
 *   written, day lists joined by `,` without spaces), `cap N per day|hour`,
 *   `fallback QUEUE`.
 * - An action is `QUEUE` or `drop`, then `then scheduler | confirm |
 *   page "NAME"` only when an outcome was written (the last one written),
 *   then all its tags as one `tag "a", "b"`.
 * - Conditions are printed from the tree with the fewest parentheses that
 *   parse back to the same tree: `and` binds tighter than `or`, both group
 *   to the left (so `a or (b or c)` keeps its parentheses), `not` takes
 *   parentheses around an `and` or `or`.  `is not present` prints as
 *   `is missing`, `is not missing` as `is present`.
 * - Values as written: a string stays a string, a bare word stays bare, a
 *   number keeps its spelling.  Strings are re-quoted with the escapes
 *   \" \\ \n \t; expect keys are bare when they are valid bare words (not
 *   keywords), quoted otherwise.
 * - Within a block of rules (consecutive rules with no blank line and no
 *   other statement between them; comment lines do not break a block) the
 *   arrows line up one space after the widest `when CONDITION` (or
 *   `otherwise`) of the block.  A `when CONDITION` wider than 60 columns
 *   (counted in characters) gets a single space before its arrow and does
 *   not widen the others.
 * - Comments: a comment on its own line stays on its own line above the
 *   statement that follows it (at column 1), or above the member or queue
 *   option that follows it (at that line's indentation); comments after
 *   the last statement stay at the end.  A comment after the last token of
 *   an output line (a statement, a member, a queue option) stays at the end
 *   of that line, two spaces after it.  A comment inside a statement that
 *   is printed on one line (say, in the middle of a rule split over lines)
 *   moves above it.  Trailing white space in comments is removed.
 * - A blank line is kept between two top-level lines (statements and
 *   comment lines) that had at least one blank line between them; runs of
 *   blank lines fold to one; blank lines at the start and the end of the
 *   file, and inside a statement, go.  The output ends with exactly one
 *   newline (nothing at all for a file with no statements and no comments).
 */
#ifndef LR_FMT_H
#define LR_FMT_H

#include <stdio.h>

#include "rules/ast.h"
#include "rules/source.h"

/* Write the canonical form of p to out.  p must have been parsed (and
 * checked) from src without errors: comment places and the spelling of
 * numbers, days and enum values are read back from src. */
void fmt_program(const struct program *p, const struct source *src, FILE *out);

#endif
