/* report - the routing review: figures over a time window, as text or HTML.
 *
 * report_compute reads one leadroute database through its own read-only
 * SQLite connection (SQLITE_OPEN_READONLY; the store module owns the schema
 * and every write, and this module never writes) and fills a struct report:
 *
 *   leads        leads created in [since_ms, until_ms): volume by route
 *                (leads.queue) and by rule (leads.rule_line, with the rule's
 *                source line when the rules file can be read)
 *   latency      submit -> owner assigned (the first owner_assigned event's
 *                at_ms - leads.created_ms) and submit -> CRM confirmed (the
 *                first crm_write_success's data.ms_since_submit), median and
 *                p90 by route, nearest-rank: the value at rank ceil(p * n)
 *                of the n values sorted (so the median of 1,2,3,4 is 2)
 *   first pass   assigned leads (an owner_assigned event) with no
 *                lead_reassigned event at or after it
 *   exceptions   unassigned (a lead_unassigned event), fallback
 *                (owner_assigned with data.fallbacks > 0), review (queue
 *                "review", or an outbox payload with "review_owner": true),
 *                each with the rules that send the most leads there
 *   scheduler    per route, leads with a scheduler_shown and leads with a
 *                meeting_booked event
 *   intake       form_submitted and validation_failed events in the window;
 *                failures by field (each name in validation_failed
 *                data.fields) over attempts (form_submitted + validation_failed)
 *   CRM          crm_write_failure and dead_lettered events in the window,
 *                outbox rows dead now
 *   accounts     rows of account_conflicts seen in the window, by domain
 *
 * Events count for a lead whenever they happened; events without a lead
 * (intake, CRM failures) count when they happened in the window.  Data that
 * is not valid JSON counts as empty.  Rows are sorted by count, then name.
 * One pass over the leads of the window, each lead's events found through
 * the events(lead_id, type) index.
 *
 * Ownership: a struct report owns every string and array in it;
 * report_free releases them.  Renderers write to a FILE and return 0, or
 * -1 when the write failed (errno set).  Errors are returned with a message
 * a person can act on; nothing here prints on its own.
 */
#ifndef LR_REPORT_H
#define LR_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A median and p90 over n values (both 0 when n is 0). */
struct report_latency {
	int64_t n, p50_ms, p90_ms;
};

struct report_route {
	char *queue;                 /* "" for leads without a queue (dropped) */
	int64_t leads, assigned, first_pass, unassigned, fallback, review;
	int64_t shown, booked;       /* leads with scheduler_shown, with meeting_booked */
	struct report_latency to_owner, to_crm;
};

struct report_rule {
	int line;                    /* 0: no rule matched */
	char *text;                  /* the rule's source line, trimmed; NULL when unknown */
	int64_t leads, unassigned, fallback, review;
};

struct report_field {
	char *name;
	int64_t failures;
};

/* One domain of account_conflicts: the newest row's account not kept and
 * account kept (with their owners), how many rows, when the newest was
 * seen, and whether any row's owners differ. */
struct report_conflict {
	char *domain, *lost_account, *lost_owner, *kept_account, *kept_owner;   /* may be NULL */
	int64_t rows, last_ms;
	int owner_differs;           /* 1: an ownership conflict, 0: a duplicate domain */
};

struct report {
	int64_t since_ms, until_ms;
	char *rules_note;            /* where rule text came from, or why there is none */

	int64_t leads, assigned, first_pass, reassigned, unassigned, fallback, review;
	struct report_latency to_owner, to_crm;          /* over all routes */
	int64_t shown, booked;
	struct report_route *routes;   size_t n_routes;  /* by leads, descending */
	struct report_rule *rules;     size_t n_rules;   /* by leads, descending */

	int64_t submitted, validation_failed;
	struct report_field *fields;   size_t n_fields;  /* by failures, descending */

	int64_t crm_failures, dead_lettered, outbox_dead;

	int64_t conflict_rows;
	struct report_conflict *conflicts; size_t n_conflicts;   /* newest first */
};

/* Fill r with the figures of [since_ms, until_ms) from the database at
 * db_path, opened read-only.  rules_path (may be NULL) names the current
 * rules file for the rules' text; an unreadable one is noted in
 * r->rules_note, not an error.  Returns 0, or -1 with err filled (r is then
 * empty and needs no report_free). */
int report_compute(const char *db_path, int64_t since_ms, int64_t until_ms,
                   const char *rules_path, struct report *r, char *err, size_t errlen);
void report_free(struct report *r);

/* Nearest-rank percentile (0 < p <= 100) of n values sorted ascending;
 * 0 when n is 0.  Exposed for the tests. */
int64_t report_percentile(const int64_t *sorted, size_t n, int p);

/* "14d", "36h": a window length in milliseconds.  Returns 0, or -1 for
 * anything else (no unit, zero, a sign, trailing text, overflow). */
int report_parse_since(const char *text, int64_t *ms);

/* ---- shared by the renderers ---- */

enum report_exception { REPORT_UNASSIGNED, REPORT_FALLBACK, REPORT_REVIEW };
/* A rule's count of one exception. */
int64_t report_rule_count(const struct report_rule *u, enum report_exception which);
/* Up to max rules with the most leads of that exception (none with 0),
 * most first, then by line; out[] borrows from r.  Returns how many. */
size_t report_top_rules(const struct report *r, enum report_exception which,
                        const struct report_rule **out, size_t max);
/* Nothing in the window: no leads, no intake or CRM events, no conflicts. */
int report_is_empty(const struct report *r);
/* "850 ms", "12.5 s", "4.2 min", "3.1 h" into out. */
void report_fmt_duration(int64_t ms, char *out, size_t len);
/* "95.0%" for n of d, "-" when d is 0. */
void report_fmt_percent(int64_t n, int64_t d, char *out, size_t len);
/* "2026-11-25 08:00 UTC". */
void report_fmt_time(int64_t ms, char *out, size_t len);

/* The report as aligned plain text, the terminal's view (report_text.c). */
int report_render_text(const struct report *r, FILE *out);
/* The report as one self-contained HTML page: inline SVG charts, tables
 * with the same numbers, no script and no external resource
 * (report_html.c). */
int report_render_html(const struct report *r, FILE *out);

#endif
