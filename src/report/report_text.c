/* report_text - the routing review as aligned plain text for a terminal.
 *
 * Renders a struct report (report.h) section by section; each table's
 * columns are as wide as their widest cell, numbers right-aligned.  Must
 * never compute a figure of its own beyond shares and rates of the
 * report's counts, and never print NaN: a rate over nothing is "-".
 */
#include "report/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define MAX_COLS 10
#define MAX_CELL 96          /* longer cells (rule text) are cut with "..." */
#define MAX_CONFLICTS 25     /* domains listed; the rest are counted */
#define TOP_RULES 3

/* A table being built: cells owned by it, first row the header. */
struct table {
	int ncols;
	const char *align;       /* per column: 'l' or 'r' */
	char **cells;            /* nrows * ncols */
	size_t nrows, cap;
};

static void table_row(struct table *t, ...)
{
	t->cells = xgrow(t->cells, &t->cap, (t->nrows + 1) * (size_t)t->ncols, sizeof *t->cells);
	va_list ap;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *c = va_arg(ap, const char *);
		c = c ? c : "";
		size_t n = strlen(c);
		size_t cut = MAX_CELL;
		while (n > MAX_CELL && cut > 0 && ((unsigned char)c[cut] & 0xC0) == 0x80)
			cut--;   /* not inside a UTF-8 sequence */
		char *cell;
		if (n > MAX_CELL) {
			cell = xmalloc(cut + 4);
			memcpy(cell, c, cut);
			memcpy(cell + cut, "...", 4);
		} else {
			cell = xstrdup(c);
		}
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = cell;
	}
	va_end(ap);
	t->nrows++;
}

/* Print t indented by two spaces and free its cells. */
static void table_print(struct table *t, struct buf *out)
{
	size_t w[MAX_COLS] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		struct buf line = {0};
		for (int c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
			int width = (int)w[c];
			if (t->align[c] == 'r')
				buf_printf(&line, "  %*s", width, cell);
			else
				buf_printf(&line, "  %-*s", width, cell);
		}
		while (line.len && line.data[line.len - 1] == ' ')
			line.data[--line.len] = '\0';
		buf_printf(out, "%s\n", buf_str(&line));
		buf_free(&line);
	}
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	*t = (struct table){0};
}

/* Small formatted strings for cells: a ring of buffers, so one table_row
 * call can use several. */
struct cells {
	char s[16][64];
	int next;
};

static const char *num(struct cells *c, int64_t n)
{
	char *s = c->s[c->next++ % 16];
	snprintf(s, 64, "%" PRId64, n);
	return s;
}

static const char *pct(struct cells *c, int64_t n, int64_t d)
{
	char *s = c->s[c->next++ % 16];
	report_fmt_percent(n, d, s, 64);
	return s;
}

static const char *dur(struct cells *c, const struct report_latency *l, int p90)
{
	char *s = c->s[c->next++ % 16];
	if (l->n == 0)
		snprintf(s, 64, "-");
	else
		report_fmt_duration(p90 ? l->p90_ms : l->p50_ms, s, 64);
	return s;
}

static const char *route_name(const char *q)
{
	return q && *q ? q : "(no queue)";
}

static void section_routes(const struct report *r, struct buf *o)
{
	struct cells c = {0};
	struct table t = { 8, "lrrrrrrr", NULL, 0, 0 };
	buf_adds(o, "\nVolume by route\n");
	table_row(&t, "route", "leads", "share", "assigned", "first pass", "unassigned", "fallback",
	          "review");
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct report_route *q = &r->routes[i];
		table_row(&t, route_name(q->queue), num(&c, q->leads), pct(&c, q->leads, r->leads),
		          num(&c, q->assigned), pct(&c, q->first_pass, q->assigned),
		          num(&c, q->unassigned), num(&c, q->fallback), num(&c, q->review));
		c.next = 0;
	}
	table_row(&t, "all", num(&c, r->leads), pct(&c, r->leads, r->leads), num(&c, r->assigned),
	          pct(&c, r->first_pass, r->assigned), num(&c, r->unassigned),
	          num(&c, r->fallback), num(&c, r->review));
	table_print(&t, o);
}

static void section_rules(const struct report *r, struct buf *o)
{
	struct cells c = {0};
	struct table t = { 6, "rrrrrl", NULL, 0, 0 };
	buf_printf(o, "\nVolume by rule; %s\n", r->rules_note ? r->rules_note : "by line");
	table_row(&t, "line", "leads", "unassigned", "fallback", "review", "rule");
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct report_rule *u = &r->rules[i];
		table_row(&t, u->line ? num(&c, u->line) : "-", num(&c, u->leads),
		          num(&c, u->unassigned), num(&c, u->fallback), num(&c, u->review),
		          u->line == 0 ? "(no rule matched)" : u->text ? u->text : "");
		c.next = 0;
	}
	table_print(&t, o);
}

static void section_latency(const struct report *r, struct buf *o)
{
	struct cells c = {0};
	struct table t = { 7, "lrrrrrr", NULL, 0, 0 };
	buf_adds(o, "\nSubmit to owner assigned and to CRM confirmed (nearest-rank median, p90)\n");
	table_row(&t, "route", "assigned", "median", "p90", "confirmed", "median", "p90");
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct report_route *q = &r->routes[i];
		table_row(&t, route_name(q->queue), num(&c, q->to_owner.n), dur(&c, &q->to_owner, 0),
		          dur(&c, &q->to_owner, 1), num(&c, q->to_crm.n), dur(&c, &q->to_crm, 0),
		          dur(&c, &q->to_crm, 1));
		c.next = 0;
	}
	table_row(&t, "all", num(&c, r->to_owner.n), dur(&c, &r->to_owner, 0),
	          dur(&c, &r->to_owner, 1), num(&c, r->to_crm.n), dur(&c, &r->to_crm, 0),
	          dur(&c, &r->to_crm, 1));
	table_print(&t, o);
}

static void top_line(const struct report *r, struct buf *o, const char *label,
                     enum report_exception which, int64_t total)
{
	const struct report_rule *top[TOP_RULES];
	size_t n = report_top_rules(r, which, top, TOP_RULES);
	char p[32];
	report_fmt_percent(total, r->leads, p, sizeof p);
	buf_printf(o, "  %-10s %6" PRId64 "  %6s", label, total, p);
	for (size_t i = 0; i < n; i++)
		buf_printf(o, "%s line %d (%" PRId64 ")", i ? "," : "  most from", top[i]->line,
		           report_rule_count(top[i], which));
	buf_adds(o, "\n");
}

static void section_exceptions(const struct report *r, struct buf *o)
{
	char p[32];
	report_fmt_percent(r->first_pass, r->assigned, p, sizeof p);
	buf_printf(o, "\nFirst-pass correct owner: %s (%" PRId64 " of %" PRId64 " assigned leads "
	           "never reassigned in the CRM; %" PRId64 " reassigned)\n", p, r->first_pass,
	           r->assigned, r->reassigned);
	buf_adds(o, "\nExceptions (share of leads; the rules that send the most there)\n");
	top_line(r, o, "unassigned", REPORT_UNASSIGNED, r->unassigned);
	top_line(r, o, "fallback", REPORT_FALLBACK, r->fallback);
	top_line(r, o, "review", REPORT_REVIEW, r->review);
}

static void section_scheduler(const struct report *r, struct buf *o)
{
	struct cells c = {0};
	struct table t = { 4, "lrrr", NULL, 0, 0 };
	buf_adds(o, "\nScheduler shown and meeting booked, by route\n");
	table_row(&t, "route", "shown", "booked", "booked/shown");
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct report_route *q = &r->routes[i];
		if (q->shown == 0 && q->booked == 0)
			continue;
		table_row(&t, route_name(q->queue), num(&c, q->shown), num(&c, q->booked),
		          pct(&c, q->booked, q->shown));
		c.next = 0;
	}
	table_row(&t, "all", num(&c, r->shown), num(&c, r->booked), pct(&c, r->booked, r->shown));
	table_print(&t, o);
}

static void section_intake(const struct report *r, struct buf *o)
{
	struct cells c = {0};
	int64_t attempts = r->submitted + r->validation_failed;
	char p[32];
	report_fmt_percent(r->validation_failed, attempts, p, sizeof p);
	buf_printf(o, "\nValidation: %" PRId64 " of %" PRId64 " submissions failed (%s)\n",
	           r->validation_failed, attempts, p);
	if (r->n_fields) {
		struct table t = { 3, "lrr", NULL, 0, 0 };
		table_row(&t, "field", "failures", "rate");
		for (size_t i = 0; i < r->n_fields; i++) {
			table_row(&t, r->fields[i].name, num(&c, r->fields[i].failures),
			          pct(&c, r->fields[i].failures, attempts));
			c.next = 0;
		}
		table_print(&t, o);
	}
	buf_printf(o, "\nCRM: %" PRId64 " write failures (retried), %" PRId64 " dead-lettered in "
	           "the window; %" PRId64 " dead letters in the outbox now\n", r->crm_failures,
	           r->dead_lettered, r->outbox_dead);
}

static void section_conflicts(const struct report *r, struct buf *o)
{
	size_t owners = 0;
	for (size_t i = 0; i < r->n_conflicts; i++)
		owners += r->conflicts[i].owner_differs != 0;
	buf_printf(o, "\nAccount index: %zu duplicate domain%s, %zu ownership conflict%s "
	           "(%" PRId64 " recorded)\n", r->n_conflicts - owners,
	           r->n_conflicts - owners == 1 ? "" : "s", owners, owners == 1 ? "" : "s",
	           r->conflict_rows);
	if (!r->n_conflicts)
		return;
	struct cells c = {0};
	struct table t = { 6, "llllrl", NULL, 0, 0 };
	table_row(&t, "domain", "kind", "kept (owner)", "not kept (owner)", "times", "last seen");
	for (size_t i = 0; i < r->n_conflicts && i < MAX_CONFLICTS; i++) {
		const struct report_conflict *k = &r->conflicts[i];
		char kept[200], lost[200], when[40];
		snprintf(kept, sizeof kept, "%s (%s)", k->kept_account ? k->kept_account : "-",
		         k->kept_owner ? k->kept_owner : "-");
		snprintf(lost, sizeof lost, "%s (%s)", k->lost_account ? k->lost_account : "-",
		         k->lost_owner ? k->lost_owner : "-");
		report_fmt_time(k->last_ms, when, sizeof when);
		table_row(&t, k->domain, k->owner_differs ? "owner" : "duplicate", kept, lost,
		          num(&c, k->rows), when);
		c.next = 0;
	}
	table_print(&t, o);
	if (r->n_conflicts > MAX_CONFLICTS)
		buf_printf(o, "  ... and %zu more domains\n", r->n_conflicts - MAX_CONFLICTS);
}

int report_render_text(const struct report *r, FILE *out)
{
	struct buf o = {0};
	char from[40], to[40];
	report_fmt_time(r->since_ms, from, sizeof from);
	report_fmt_time(r->until_ms, to, sizeof to);
	buf_printf(&o, "leadroute report: %s to %s\n", from, to);
	if (report_is_empty(r)) {
		buf_adds(&o, "\nNothing in the window: no leads, no form submissions, no CRM failures "
		         "and no account conflicts.\n");
		if (r->outbox_dead)
			buf_printf(&o, "%" PRId64 " dead letters wait in the outbox (leadroute outbox "
			           "list --state dead).\n", r->outbox_dead);
	} else {
		buf_printf(&o, "\n%" PRId64 " leads: %" PRId64 " assigned, %" PRId64 " unassigned, "
		           "%" PRId64 " through a fallback, %" PRId64 " for review\n", r->leads,
		           r->assigned, r->unassigned, r->fallback, r->review);
		if (r->leads) {
			section_routes(r, &o);
			section_rules(r, &o);
			section_latency(r, &o);
			section_exceptions(r, &o);
			section_scheduler(r, &o);
		}
		section_intake(r, &o);
		section_conflicts(r, &o);
	}
	size_t n = fwrite(buf_str(&o), 1, o.len, out);
	int rc = n == o.len && fflush(out) == 0 ? 0 : -1;
	buf_free(&o);
	return rc;
}
