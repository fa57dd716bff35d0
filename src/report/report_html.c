/* report_html - the routing review as one self-contained HTML page.
 *
 * Inline SVG bar charts (volume by route and by rule, latency median and
 * p90 by route, scheduler shown and booked by route), each followed by a
 * table with the same numbers, under headings; lang, <title>, and every
 * chart an svg role="img" named by its own <title>.  Every text from the
 * database is escaped (buf_add_html).  Must never emit a script, an event
 * handler attribute or a reference to anything outside the page.
 *
 * Chart bars are <rect class="bar" data-series=... data-key=...> so a test
 * can count them.
 */
#include "report/report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define LABEL_W 190          /* the label column of a chart, px */
#define BAR_W 420            /* the longest bar, px */
#define ROW_H 22
#define MAX_LABEL 28         /* label characters shown in a chart; tables show all */
#define MAX_CONFLICTS 200

static const char STYLE[] =
	"body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}"
	"main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem 3rem}"
	"h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin:2rem 0 .5rem;"
	"border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;margin:.5rem 0 1rem}caption{text-align:left;"
	"font-weight:600;padding:.25rem 0}"
	"th,td{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	"figure{margin:1rem 0}figcaption{font-size:.95rem;color:#1a1a1a}.ct{font-weight:600}"
	"svg text{font:12px system-ui,sans-serif;fill:#1a1a1a}"
	".s0{fill:#1f5f99}.s1{fill:#b5530f}"
	".key{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;"
	"vertical-align:middle}.k0{background:#1f5f99}.k1{background:#b5530f}"
	"p.empty{font-size:1.1rem;padding:1rem;border:1px solid #999}";

/* ---- charts ---- */

/* One bar chart: rows of up to two series. */
struct chart {
	const char *id, *title, *desc;
	const char *series[2];       /* legend names; series[1] NULL: one series */
	size_t n;
	const char **labels;         /* n, borrowed */
	const int64_t *values[2];    /* n each, borrowed */
	int durations;               /* 1: values are ms, shown as durations */
};

static void add_label(struct buf *o, const char *s)
{
	size_t n = strlen(s), cut = n;
	if (n > MAX_LABEL) {
		cut = MAX_LABEL - 1;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;   /* not inside a UTF-8 sequence */
	}
	char tmp[MAX_LABEL + 4];
	memcpy(tmp, s, cut);
	tmp[cut] = '\0';
	buf_add_html(o, tmp);
	if (cut < n)
		buf_adds(o, "\xe2\x80\xa6");   /* ... */
}

static void value_text(const struct chart *c, int64_t v, char *out, size_t len)
{
	if (c->durations)
		report_fmt_duration(v, out, len);
	else
		snprintf(out, len, "%" PRId64, v);
}

static void chart_svg(struct buf *o, const struct chart *c)
{
	int nser = c->series[1] ? 2 : 1;
	int64_t max = 0;
	for (int s = 0; s < nser; s++)
		for (size_t i = 0; i < c->n; i++)
			if (c->values[s][i] > max)
				max = c->values[s][i];
	int group_h = nser * ROW_H + 8;
	int height = (int)c->n * group_h + 8;
	int width = LABEL_W + BAR_W + 90;
	buf_adds(o, "<figure>\n<figcaption><span class=\"ct\">");
	buf_add_html(o, c->title);
	buf_adds(o, "</span>");
	for (int s = 0; nser == 2 && s < 2; s++) {
		buf_printf(o, "<span class=\"key k%d\"></span>", s);
		buf_add_html(o, c->series[s]);
	}
	buf_adds(o, "</figcaption>\n");
	buf_printf(o, "<svg id=\"%s\" role=\"img\" aria-labelledby=\"%s-title %s-desc\" "
	           "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	           "xmlns=\"http://www.w3.org/2000/svg\">\n", c->id, c->id, c->id, width, height,
	           width, height);
	buf_printf(o, "<title id=\"%s-title\">", c->id);
	buf_add_html(o, c->title);
	buf_printf(o, "</title>\n<desc id=\"%s-desc\">", c->id);
	buf_add_html(o, c->desc);
	buf_adds(o, "</desc>\n");
	for (size_t i = 0; i < c->n; i++) {
		int y0 = 4 + (int)i * group_h;
		buf_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W - 8,
		           y0 + nser * ROW_H / 2 + 4);
		add_label(o, c->labels[i]);
		buf_adds(o, "</text>\n");
		for (int s = 0; s < nser; s++) {
			int64_t v = c->values[s][i];
			int w = max > 0 ? (int)((double)v / (double)max * BAR_W + 0.5) : 0;
			if (v > 0 && w < 1)
				w = 1;
			int y = y0 + s * ROW_H;
			char vt[32];
			value_text(c, v, vt, sizeof vt);
			buf_printf(o, "<rect class=\"bar s%d\" data-series=\"%d\" data-key=\"", s, s);
			buf_add_html(o, c->labels[i]);
			buf_printf(o, "\" data-value=\"%" PRId64 "\" x=\"%d\" y=\"%d\" width=\"%d\" "
			           "height=\"%d\"></rect>\n", v, LABEL_W, y + 2, w, ROW_H - 4);
			buf_printf(o, "<text x=\"%d\" y=\"%d\">%s</text>\n", LABEL_W + w + 6,
			           y + ROW_H / 2 + 4, vt);
		}
	}
	buf_adds(o, "</svg>\n</figure>\n");
}

/* ---- tables ---- */

static void th(struct buf *o, const char *text, int numeric)
{
	buf_adds(o, numeric ? "<th scope=\"col\" class=\"n\">" : "<th scope=\"col\">");
	buf_add_html(o, text);
	buf_adds(o, "</th>");
}

static void td_text(struct buf *o, const char *text, int row_header)
{
	buf_adds(o, row_header ? "<th scope=\"row\">" : "<td>");
	buf_add_html(o, text ? text : "");
	buf_adds(o, row_header ? "</th>" : "</td>");
}

static void td_num(struct buf *o, int64_t n)
{
	buf_printf(o, "<td class=\"n\">%" PRId64 "</td>", n);
}

static void td_pct(struct buf *o, int64_t n, int64_t d)
{
	char p[32];
	report_fmt_percent(n, d, p, sizeof p);
	buf_printf(o, "<td class=\"n\">%s</td>", p);
}

static void td_dur(struct buf *o, const struct report_latency *l, int p90)
{
	char d[32] = "-";
	if (l->n)
		report_fmt_duration(p90 ? l->p90_ms : l->p50_ms, d, sizeof d);
	buf_printf(o, "<td class=\"n\">%s</td>", d);
}

static const char *route_name(const char *q)
{
	return q && *q ? q : "(no queue)";
}

/* ---- sections ---- */

static void section_routes(struct buf *o, const struct report *r, const char **labels,
                           int64_t *v0)
{
	buf_adds(o, "<section aria-labelledby=\"h-routes\">\n<h2 id=\"h-routes\">Volume by route"
	         "</h2>\n");
	for (size_t i = 0; i < r->n_routes; i++) {
		labels[i] = route_name(r->routes[i].queue);
		v0[i] = r->routes[i].leads;
	}
	struct chart c = { "chart-routes", "Leads by route", "Leads created in the window, by "
	                   "the queue they were routed to; the table below has the numbers.",
	                   { "leads", NULL }, r->n_routes, labels, { v0, NULL }, 0 };
	chart_svg(o, &c);
	buf_adds(o, "<table id=\"table-routes\"><caption>Leads by route</caption>\n<thead><tr>");
	th(o, "route", 0), th(o, "leads", 1), th(o, "share", 1), th(o, "assigned", 1);
	th(o, "first pass", 1), th(o, "unassigned", 1), th(o, "fallback", 1), th(o, "review", 1);
	buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct report_route *q = &r->routes[i];
		buf_adds(o, "<tr>");
		td_text(o, route_name(q->queue), 1);
		td_num(o, q->leads), td_pct(o, q->leads, r->leads), td_num(o, q->assigned);
		td_pct(o, q->first_pass, q->assigned), td_num(o, q->unassigned);
		td_num(o, q->fallback), td_num(o, q->review);
		buf_adds(o, "</tr>\n");
	}
	buf_adds(o, "</tbody>\n<tfoot><tr>");
	td_text(o, "all", 1);
	td_num(o, r->leads), td_pct(o, r->leads, r->leads), td_num(o, r->assigned);
	td_pct(o, r->first_pass, r->assigned), td_num(o, r->unassigned);
	td_num(o, r->fallback), td_num(o, r->review);
	buf_adds(o, "</tr></tfoot></table>\n</section>\n");
}

static void section_rules(struct buf *o, const struct report *r, const char **labels,
                          int64_t *v0)
{
	buf_adds(o, "<section aria-labelledby=\"h-rules\">\n<h2 id=\"h-rules\">Volume by rule</h2>\n"
	         "<p>");
	buf_add_html(o, r->rules_note ? r->rules_note : "");
	buf_adds(o, "</p>\n");
	/* the chart shows the 64 rules with the most leads; the table has all */
	char names[64][24];
	size_t shown = r->n_rules < 64 ? r->n_rules : 64;
	for (size_t i = 0; i < shown; i++) {
		if (r->rules[i].line == 0) {
			labels[i] = "no rule matched";
		} else {
			char *s = names[i];
			snprintf(s, sizeof names[0], "line %d", r->rules[i].line);
			labels[i] = s;
		}
		v0[i] = r->rules[i].leads;
	}
	struct chart c = { "chart-rules", "Leads by rule", "Leads created in the window, by the "
	                   "rule that routed them (its line in the rules file); the table below "
	                   "has the numbers and the rules' text.", { "leads", NULL }, shown,
	                   labels, { v0, NULL }, 0 };
	chart_svg(o, &c);
	buf_adds(o, "<table id=\"table-rules\"><caption>Leads by rule</caption>\n<thead><tr>");
	th(o, "line", 1), th(o, "rule", 0), th(o, "leads", 1), th(o, "unassigned", 1);
	th(o, "fallback", 1), th(o, "review", 1);
	buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct report_rule *u = &r->rules[i];
		if (u->line)
			buf_printf(o, "<tr><th scope=\"row\" class=\"n\">%d</th>", u->line);
		else
			buf_adds(o, "<tr><th scope=\"row\" class=\"n\">-</th>");
		td_text(o, u->line == 0 ? "(no rule matched)" : u->text, 0);
		td_num(o, u->leads), td_num(o, u->unassigned), td_num(o, u->fallback);
		td_num(o, u->review);
		buf_adds(o, "</tr>\n");
	}
	buf_adds(o, "</tbody></table>\n</section>\n");
}

static void latency_chart(struct buf *o, const struct report *r, const char *id,
                          const char *title, const char *desc, int crm, const char **labels,
                          int64_t *v0, int64_t *v1)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct report_latency *l = crm ? &r->routes[i].to_crm : &r->routes[i].to_owner;
		if (l->n == 0)
			continue;   /* no bars for a route with nothing measured */
		labels[n] = route_name(r->routes[i].queue);
		v0[n] = l->p50_ms;
		v1[n] = l->p90_ms;
		n++;
	}
	struct chart c = { id, title, desc, { "median", "p90" }, n, labels, { v0, v1 }, 1 };
	chart_svg(o, &c);
}

static void section_latency(struct buf *o, const struct report *r, const char **labels,
                            int64_t *v0, int64_t *v1)
{
	buf_adds(o, "<section aria-labelledby=\"h-latency\">\n<h2 id=\"h-latency\">Time from "
	         "submit to owner and to CRM</h2>\n<p>Median and 90th percentile by route "
	         "(nearest rank).</p>\n");
	latency_chart(o, r, "chart-owner", "Submit to owner assigned, median and p90 by route",
	              "For each route with assigned leads, the median and the 90th percentile of "
	              "the time from the form's submit to the owner's assignment; the table below "
	              "has the numbers.", 0, labels, v0, v1);
	latency_chart(o, r, "chart-crm", "Submit to CRM confirmed, median and p90 by route",
	              "For each route with leads written to the CRM, the median and the 90th "
	              "percentile of the time from the form's submit to the CRM's confirmation; "
	              "the table below has the numbers.", 1, labels, v0, v1);
	buf_adds(o, "<table id=\"table-latency\"><caption>Submit to owner and to CRM</caption>\n"
	         "<thead><tr>");
	th(o, "route", 0), th(o, "assigned", 1), th(o, "owner median", 1), th(o, "owner p90", 1);
	th(o, "confirmed", 1), th(o, "CRM median", 1), th(o, "CRM p90", 1);
	buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i <= r->n_routes; i++) {
		int all = i == r->n_routes;
		const struct report_latency *lo = all ? &r->to_owner : &r->routes[i].to_owner;
		const struct report_latency *lc = all ? &r->to_crm : &r->routes[i].to_crm;
		buf_adds(o, "<tr>");
		td_text(o, all ? "all" : route_name(r->routes[i].queue), 1);
		td_num(o, lo->n), td_dur(o, lo, 0), td_dur(o, lo, 1);
		td_num(o, lc->n), td_dur(o, lc, 0), td_dur(o, lc, 1);
		buf_adds(o, "</tr>\n");
	}
	buf_adds(o, "</tbody></table>\n</section>\n");
}

static void exception_row(struct buf *o, const struct report *r, const char *label,
                          enum report_exception which, int64_t total)
{
	const struct report_rule *top[3];
	size_t n = report_top_rules(r, which, top, 3);
	buf_adds(o, "<tr>");
	td_text(o, label, 1);
	td_num(o, total);
	td_pct(o, total, r->leads);
	buf_adds(o, "<td>");
	for (size_t i = 0; i < n; i++)
		buf_printf(o, "%sline %d (%" PRId64 ")", i ? ", " : "", top[i]->line,
		           report_rule_count(top[i], which));
	buf_adds(o, n ? "</td></tr>\n" : "-</td></tr>\n");
}

static void section_exceptions(struct buf *o, const struct report *r)
{
	char p[32];
	report_fmt_percent(r->first_pass, r->assigned, p, sizeof p);
	buf_printf(o, "<section aria-labelledby=\"h-exceptions\">\n<h2 id=\"h-exceptions\">"
	           "Owners and exceptions</h2>\n<p>First-pass correct owner: <strong>%s</strong> "
	           "(%" PRId64 " of %" PRId64 " assigned leads were never reassigned in the CRM; "
	           "%" PRId64 " were).</p>\n", p, r->first_pass, r->assigned, r->reassigned);
	buf_adds(o, "<table id=\"table-exceptions\"><caption>Unassigned, fallback and review "
	         "leads</caption>\n<thead><tr>");
	th(o, "exception", 0), th(o, "leads", 1), th(o, "share", 1);
	th(o, "rules sending the most", 0);
	buf_adds(o, "</tr></thead>\n<tbody>\n");
	exception_row(o, r, "unassigned", REPORT_UNASSIGNED, r->unassigned);
	exception_row(o, r, "fallback", REPORT_FALLBACK, r->fallback);
	exception_row(o, r, "review", REPORT_REVIEW, r->review);
	buf_adds(o, "</tbody></table>\n</section>\n");
}

static void section_scheduler(struct buf *o, const struct report *r, const char **labels,
                              int64_t *v0, int64_t *v1)
{
	buf_adds(o, "<section aria-labelledby=\"h-scheduler\">\n<h2 id=\"h-scheduler\">Scheduler "
	         "shown and meeting booked</h2>\n");
	size_t n = 0;
	for (size_t i = 0; i < r->n_routes; i++) {
		if (r->routes[i].shown == 0 && r->routes[i].booked == 0)
			continue;
		labels[n] = route_name(r->routes[i].queue);
		v0[n] = r->routes[i].shown;
		v1[n] = r->routes[i].booked;
		n++;
	}
	struct chart c = { "chart-scheduler", "Scheduler shown and meeting booked by route",
	                   "For each route that sent buyers to a scheduler, how many leads were "
	                   "shown it and how many booked a meeting; the table below has the "
	                   "numbers.", { "shown", "booked" }, n, labels, { v0, v1 }, 0 };
	chart_svg(o, &c);
	buf_adds(o, "<table id=\"table-scheduler\"><caption>Scheduler shown and meeting booked"
	         "</caption>\n<thead><tr>");
	th(o, "route", 0), th(o, "shown", 1), th(o, "booked", 1), th(o, "booked/shown", 1);
	buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < n; i++) {
		buf_adds(o, "<tr>");
		td_text(o, labels[i], 1);
		td_num(o, v0[i]), td_num(o, v1[i]), td_pct(o, v1[i], v0[i]);
		buf_adds(o, "</tr>\n");
	}
	buf_adds(o, "</tbody>\n<tfoot><tr>");
	td_text(o, "all", 1);
	td_num(o, r->shown), td_num(o, r->booked), td_pct(o, r->booked, r->shown);
	buf_adds(o, "</tr></tfoot></table>\n</section>\n");
}

static void section_intake(struct buf *o, const struct report *r)
{
	int64_t attempts = r->submitted + r->validation_failed;
	char p[32];
	report_fmt_percent(r->validation_failed, attempts, p, sizeof p);
	buf_printf(o, "<section aria-labelledby=\"h-intake\">\n<h2 id=\"h-intake\">Validation "
	           "and CRM</h2>\n<p>%" PRId64 " of %" PRId64 " submissions failed validation "
	           "(%s).</p>\n", r->validation_failed, attempts, p);
	if (r->n_fields) {
		buf_adds(o, "<table id=\"table-fields\"><caption>Validation failures by field"
		         "</caption>\n<thead><tr>");
		th(o, "field", 0), th(o, "failures", 1), th(o, "rate", 1);
		buf_adds(o, "</tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < r->n_fields; i++) {
			buf_adds(o, "<tr>");
			td_text(o, r->fields[i].name, 1);
			td_num(o, r->fields[i].failures);
			td_pct(o, r->fields[i].failures, attempts);
			buf_adds(o, "</tr>\n");
		}
		buf_adds(o, "</tbody></table>\n");
	}
	buf_printf(o, "<p>CRM: %" PRId64 " write failures (retried) and %" PRId64 " dead-lettered "
	           "in the window; %" PRId64 " dead letters in the outbox now.</p>\n</section>\n",
	           r->crm_failures, r->dead_lettered, r->outbox_dead);
}

static void section_conflicts(struct buf *o, const struct report *r)
{
	size_t owners = 0;
	for (size_t i = 0; i < r->n_conflicts; i++)
		owners += r->conflicts[i].owner_differs != 0;
	buf_printf(o, "<section aria-labelledby=\"h-accounts\">\n<h2 id=\"h-accounts\">Account "
	           "index</h2>\n<p>%zu duplicate domains and %zu ownership conflicts (%" PRId64
	           " recorded).</p>\n", r->n_conflicts - owners, owners, r->conflict_rows);
	if (!r->n_conflicts) {
		buf_adds(o, "</section>\n");
		return;
	}
	buf_adds(o, "<table id=\"table-conflicts\"><caption>Domains claimed by more than one "
	         "account</caption>\n<thead><tr>");
	th(o, "domain", 0), th(o, "kind", 0), th(o, "kept account", 0), th(o, "kept owner", 0);
	th(o, "not kept", 0), th(o, "its owner", 0), th(o, "times", 1), th(o, "last seen", 0);
	buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->n_conflicts && i < MAX_CONFLICTS; i++) {
		const struct report_conflict *k = &r->conflicts[i];
		char when[40];
		report_fmt_time(k->last_ms, when, sizeof when);
		buf_adds(o, "<tr>");
		td_text(o, k->domain, 1);
		td_text(o, k->owner_differs ? "owner" : "duplicate", 0);
		td_text(o, k->kept_account, 0), td_text(o, k->kept_owner, 0);
		td_text(o, k->lost_account, 0), td_text(o, k->lost_owner, 0);
		td_num(o, k->rows);
		td_text(o, when, 0);
		buf_adds(o, "</tr>\n");
	}
	buf_adds(o, "</tbody></table>\n");
	if (r->n_conflicts > MAX_CONFLICTS)
		buf_printf(o, "<p>... and %zu more domains.</p>\n", r->n_conflicts - MAX_CONFLICTS);
	buf_adds(o, "</section>\n");
}

int report_render_html(const struct report *r, FILE *out)
{
	struct buf o = {0};
	char from[40], to[40];
	report_fmt_time(r->since_ms, from, sizeof from);
	report_fmt_time(r->until_ms, to, sizeof to);
	buf_printf(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	           "<title>leadroute routing review, %s to %s</title>\n<style>%s</style>\n"
	           "</head>\n<body>\n<main>\n<h1>Routing review</h1>\n<p>From %s to %s.</p>\n",
	           from, to, STYLE, from, to);
	size_t most = r->n_routes > r->n_rules ? r->n_routes : r->n_rules;
	const char **labels = xcalloc(most + 1, sizeof *labels);
	int64_t *v0 = xcalloc(most + 1, sizeof *v0), *v1 = xcalloc(most + 1, sizeof *v1);
	if (report_is_empty(r)) {
		buf_adds(&o, "<p class=\"empty\">Nothing in the window: no leads, no form "
		         "submissions, no CRM failures and no account conflicts.</p>\n");
		if (r->outbox_dead)
			buf_printf(&o, "<p>%" PRId64 " dead letters wait in the outbox.</p>\n",
			           r->outbox_dead);
	} else {
		buf_printf(&o, "<p>%" PRId64 " leads: %" PRId64 " assigned, %" PRId64 " unassigned, "
		           "%" PRId64 " through a fallback, %" PRId64 " for review.</p>\n", r->leads,
		           r->assigned, r->unassigned, r->fallback, r->review);
		if (r->leads) {
			section_routes(&o, r, labels, v0);
			section_rules(&o, r, labels, v0);
			section_latency(&o, r, labels, v0, v1);
			section_exceptions(&o, r);
			section_scheduler(&o, r, labels, v0, v1);
		}
		section_intake(&o, r);
		section_conflicts(&o, r);
	}
	buf_adds(&o, "</main>\n</body>\n</html>\n");
	free(labels);
	free(v0);
	free(v1);
	size_t n = fwrite(buf_str(&o), 1, o.len, out);
	int rc = n == o.len && fflush(out) == 0 ? 0 : -1;
	buf_free(&o);
	return rc;
}
