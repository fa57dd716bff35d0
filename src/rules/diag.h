/* diag - diagnostics for rules files: collect, then print as text, JSON or
 * SARIF.
 *
 * Library code never prints: it adds diagnostics to a struct diags, and the
 * command decides where they go and in which format.  A diagnostic has a
 * severity, a stable code (the kebab-case name shown in brackets), a message,
 * a main location, optional notes with their own locations (the rules that
 * shadow another, say), and an optional suggestion.  The list owns every
 * string added to it; callers keep ownership of what they pass in (it is
 * copied).  Never writes anything but the requested format to the stream.
 */
#ifndef LR_DIAG_H
#define LR_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "rules/source.h"

enum diag_severity { DIAG_NOTE, DIAG_WARNING, DIAG_ERROR };

enum diag_format { DIAG_TEXT, DIAG_JSON, DIAG_SARIF };

struct diag_note {
	struct loc loc;      /* line 0: a note without a location */
	char *message;
};

struct diag {
	enum diag_severity severity;
	const struct source *src; /* borrowed; may be NULL (file-level errors) */
	struct loc loc;
	char *code;               /* stable, kebab-case: "unknown-field" */
	char *message;            /* git style: lower case, no final stop */
	struct diag_note *notes;
	size_t n_notes;
};

struct diags {
	struct diag *v;
	size_t n, cap;
	size_t n_errors, n_warnings;
	size_t max_errors;   /* 0 = no limit; further errors are counted, not kept */
	size_t n_dropped;
	/* Where diag_add puts an error it does not keep (max_errors reached),
	 * so callers can still attach notes; reused by every such error and
	 * never printed.  Private to diag.c. */
	struct diag dropped;
};

void diags_init(struct diags *d);
/* Free everything d holds and leave it as diags_init does (max_errors 0). */
void diags_free(struct diags *d);

/* Add a diagnostic; returns it so notes can be attached.  The returned
 * pointer is valid until the next diag_add on d.  Never returns NULL: an
 * error past max_errors is counted (n_errors, n_dropped) and returned in a
 * scratch slot that is not kept.  code may be NULL (no "[code]"). */
struct diag *diag_add(struct diags *d, enum diag_severity sev,
                      const struct source *src, struct loc loc,
                      const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void diag_note(struct diag *g, struct loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sort by file name, line, column (stable), so output follows the source.
 * Diagnostics without a source come first, then line 0 of each file. */
void diags_sort(struct diags *d);

/* Print every diagnostic in d to out.
 * TEXT:  GCC style, one per diagnostic:
 *     FILE:LINE:COL: error: MESSAGE [CODE]
 *         LINE | source text
 *              |       ^~~~~~
 *     FILE:LINE:COL: note: NOTE MESSAGE      (notes, each with its own snippet)
 *   Tabs in the source line are kept in the caret line so carets align.
 *   The caret sits under the first byte of the span and '~' under the rest
 *   (to the end of the line when the span crosses lines).
 *   color: add ANSI colours (only when asked; never by default in tests).
 *   Without a location: "FILE: error: MESSAGE [CODE]", and "routec: ..."
 *   without a source.  Snippets are shown only for lines that exist.  When
 *   errors were dropped (max_errors), a last line
 *   "routec: N more errors not shown" ("1 more error" for one).
 *   Control bytes (but tab) print as spaces, bytes that are not UTF-8 and
 *   bidi controls as '?', so the terminal only ever gets safe text; carets
 *   follow the printed characters (a cell per UTF-8 character, two for
 *   East Asian wide ones, tabs as tabs; inside a span a tab gets as many
 *   '~' as the cells it takes, for tab stops every 8 columns).
 * JSON:  one array of objects {file,line,column,end_line,end_column,
 *        severity,code,message,notes:[{file,line,column,message}]};
 *        columns count bytes, as in the text.  "file" is null without a
 *        source; line and column fields are null without a location.
 *        Strings that are not valid UTF-8 get '?' for the bad bytes.
 * SARIF: a SARIF 2.1.0 log with one run, tool.driver.name "routec",
 *        the rules seen (ruleId = code), and one result per diagnostic;
 *        notes are relatedLocations.  The run declares columnKind
 *        "unicodeCodePoints" and columns are converted to it. */
void diags_print(const struct diags *d, enum diag_format fmt, FILE *out,
                 bool color);

#endif
