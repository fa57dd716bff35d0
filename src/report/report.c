/* report - the routing review's figures, read from the database.
 *
 * Opens its own read-only SQLite connection (the store owns the schema and
 * all writes; see report.h) and reads every figure inside one read
 * transaction, so the numbers agree with each other.  Must never write to
 * the database, and never report a figure from a query that failed.
 */
#include "report/report.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "rules/source.h"
#include "util/hmap.h"
#include "util/xalloc.h"

#define BUSY_TIMEOUT_MS 5000

/* An int64 array that grows; owned by its holder. */
struct vals {
	int64_t *v;
	size_t n, cap;
};

static void vals_add(struct vals *a, int64_t x)
{
	a->v = xgrow(a->v, &a->cap, a->n + 1, sizeof *a->v);
	a->v[a->n++] = x;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t report_percentile(const int64_t *sorted, size_t n, int p)
{
	if (n == 0 || p <= 0)
		return 0;
	if (p > 100)
		p = 100;
	size_t rank = ((size_t)p * n + 99) / 100;   /* ceil(p/100 * n), at least 1 */
	return sorted[rank ? rank - 1 : 0];
}

/* Sort a's values and summarize them; frees a's array. */
static struct report_latency latency_of(struct vals *a)
{
	struct report_latency l = { (int64_t)a->n, 0, 0 };
	if (a->n) {
		qsort(a->v, a->n, sizeof *a->v, cmp_i64);
		l.p50_ms = report_percentile(a->v, a->n, 50);
		l.p90_ms = report_percentile(a->v, a->n, 90);
	}
	free(a->v);
	*a = (struct vals){0};
	return l;
}

int report_parse_since(const char *text, int64_t *ms)
{
	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	char *end;
	long long n = strtoll(text, &end, 10);
	if (errno || n <= 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	int64_t unit = end[0] == 'd' ? 86400000 : end[0] == 'h' ? 3600000 : 0;
	if (!unit || n > INT64_MAX / unit)
		return -1;
	*ms = (int64_t)n * unit;
	return 0;
}

/* ---- the database ---- */

struct reader {
	sqlite3 *db;
	char *err;
	size_t errlen;
};

static int fail(struct reader *rd, const char *what)
{
	snprintf(rd->err, rd->errlen, "%s: %s", what, sqlite3_errmsg(rd->db));
	return -1;
}

/* A statement with ?1 = since and ?2 = until bound, or NULL with the error
 * filled.  Caller finalizes. */
static sqlite3_stmt *prep(struct reader *rd, const char *what, const char *sql, int64_t since,
                          int64_t until)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(rd->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(rd, what);
		sqlite3_finalize(st);
		return NULL;
	}
	int np = sqlite3_bind_parameter_count(st);
	if ((np >= 1 && sqlite3_bind_int64(st, 1, since) != SQLITE_OK) ||
	    (np >= 2 && sqlite3_bind_int64(st, 2, until) != SQLITE_OK)) {
		fail(rd, what);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* The text of column i, copied (NULL for SQL NULL). */
static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	if (!t && sqlite3_column_type(st, i) != SQLITE_NULL)
		abort();   /* SQLite could not allocate the text: as xalloc does */
	return t ? xstrdup((const char *)t) : NULL;
}

static int table_exists(struct reader *rd, const char *name, int *exists)
{
	sqlite3_stmt *st = NULL;
	const char *what = "cannot read the database's tables";
	if (sqlite3_prepare_v2(rd->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                       " AND name = ?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		fail(rd, what);
		sqlite3_finalize(st);
		return -1;
	}
	*exists = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return 0;
}

/* ---- leads: routes, rules, latency, exceptions, scheduler ---- */

/* What a route collects before it is summarized. */
struct route_acc {
	struct vals to_owner, to_crm;
};

/* Each lead of the window with what its events say (see report.h).  The
 * JSON functions only see valid JSON: anything else counts as empty.  The
 * unary + on at_ms keeps SQLite from walking events(type, at_ms) in order
 * (every event of a type, for each lead) instead of looking the lead's few
 * events up in events(lead_id, type). */
static const char LEADS_SQL[] =
	"SELECT ifnull(l.queue, ''), ifnull(l.rule_line, 0),"
	" a.at_ms - l.created_ms,"
	" CASE WHEN json_valid(a.data) THEN json_extract(a.data, '$.fallbacks') END,"
	" EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.type = 'lead_unassigned'),"
	" EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.type = 'lead_reassigned'"
	"   AND +e.at_ms >= a.at_ms),"
	" (SELECT CASE WHEN json_valid(e.data) THEN json_extract(e.data, '$.ms_since_submit') END"
	"   FROM events e WHERE e.lead_id = l.id AND e.type = 'crm_write_success'"
	"   ORDER BY +e.at_ms, e.id LIMIT 1),"
	" EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.type = 'scheduler_shown'),"
	" EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.type = 'meeting_booked'),"
	" EXISTS (SELECT 1 FROM outbox o WHERE o.lead_id = l.id AND"
	"   (CASE WHEN json_valid(o.payload) THEN json_extract(o.payload, '$.review_owner') END)"
	"   = 1)"
	" FROM leads l LEFT JOIN events a ON a.id = (SELECT e.id FROM events e"
	"   WHERE e.lead_id = l.id AND e.type = 'owner_assigned' ORDER BY +e.at_ms, e.id LIMIT 1)"
	" WHERE l.created_ms >= ?1 AND l.created_ms < ?2";

/* The growing arrays of read_leads: the report's routes and rules, and
 * what each route collects; the maps find a route by queue, a rule by line. */
struct lead_tally {
	struct hmap routes_ix, rules_ix;
	size_t routes_cap, rules_cap;
	struct route_acc *acc;
	size_t acc_cap;
};

static size_t route_index(struct report *r, struct lead_tally *t, const char *queue)
{
	uint32_t i;
	if (hmap_get(&t->routes_ix, queue, strlen(queue), &i))
		return i;
	r->routes = xgrow(r->routes, &t->routes_cap, r->n_routes + 1, sizeof *r->routes);
	t->acc = xgrow(t->acc, &t->acc_cap, r->n_routes + 1, sizeof *t->acc);
	r->routes[r->n_routes] = (struct report_route){ .queue = xstrdup(queue) };
	t->acc[r->n_routes] = (struct route_acc){0};
	hmap_put(&t->routes_ix, queue, strlen(queue), (uint32_t)r->n_routes);
	return r->n_routes++;
}

static size_t rule_index(struct report *r, struct lead_tally *t, int line)
{
	uint32_t i;
	if (hmap_get(&t->rules_ix, &line, sizeof line, &i))
		return i;
	r->rules = xgrow(r->rules, &t->rules_cap, r->n_rules + 1, sizeof *r->rules);
	r->rules[r->n_rules] = (struct report_rule){ .line = line };
	hmap_put(&t->rules_ix, &line, sizeof line, (uint32_t)r->n_rules);
	return r->n_rules++;
}

static int cmp_route(const void *a, const void *b)
{
	const struct report_route *x = a, *y = b;
	if (x->leads != y->leads)
		return x->leads > y->leads ? -1 : 1;
	return strcmp(x->queue, y->queue);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct report_rule *x = a, *y = b;
	if (x->leads != y->leads)
		return x->leads > y->leads ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int read_leads(struct reader *rd, struct report *r)
{
	const char *what = "cannot read the leads of the window";
	sqlite3_stmt *st = prep(rd, what, LEADS_SQL, r->since_ms, r->until_ms);
	if (!st)
		return -1;
	struct lead_tally t = {0};
	hmap_init(&t.routes_ix);
	hmap_init(&t.rules_ix);
	struct vals all_owner = {0}, all_crm = {0};
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *queue = (const char *)sqlite3_column_text(st, 0);
		if (!queue) {
			rc = SQLITE_NOMEM;
			break;
		}
		size_t qi = route_index(r, &t, queue);
		size_t ui = rule_index(r, &t, sqlite3_column_int(st, 1));   /* may move r->rules */
		struct report_route *q = &r->routes[qi];
		struct report_rule *u = &r->rules[ui];
		bool assigned = sqlite3_column_type(st, 2) != SQLITE_NULL;
		bool fallback = assigned && sqlite3_column_int64(st, 3) > 0;
		bool unassigned = sqlite3_column_int(st, 4) != 0;
		bool reassigned = sqlite3_column_int(st, 5) != 0;
		bool confirmed = sqlite3_column_type(st, 6) != SQLITE_NULL;
		bool shown = sqlite3_column_int(st, 7) != 0, booked = sqlite3_column_int(st, 8) != 0;
		bool review = strcmp(queue, "review") == 0 || sqlite3_column_int(st, 9) != 0;

		r->leads++, q->leads++, u->leads++;
		if (assigned) {
			int64_t ms = sqlite3_column_int64(st, 2);
			r->assigned++, q->assigned++;
			vals_add(&t.acc[qi].to_owner, ms);
			vals_add(&all_owner, ms);
			if (reassigned)
				r->reassigned++;
			else
				r->first_pass++, q->first_pass++;
		}
		if (confirmed) {
			int64_t ms = sqlite3_column_int64(st, 6);
			vals_add(&t.acc[qi].to_crm, ms);
			vals_add(&all_crm, ms);
		}
		if (unassigned)
			r->unassigned++, q->unassigned++, u->unassigned++;
		if (fallback)
			r->fallback++, q->fallback++, u->fallback++;
		if (review)
			r->review++, q->review++, u->review++;
		if (shown)
			r->shown++, q->shown++;
		if (booked)
			r->booked++, q->booked++;
	}
	int status = 0;
	if (rc != SQLITE_DONE)
		status = fail(rd, what);
	sqlite3_finalize(st);
	for (size_t i = 0; i < r->n_routes; i++) {
		r->routes[i].to_owner = latency_of(&t.acc[i].to_owner);
		r->routes[i].to_crm = latency_of(&t.acc[i].to_crm);
	}
	r->to_owner = latency_of(&all_owner);
	r->to_crm = latency_of(&all_crm);
	free(t.acc);
	hmap_free(&t.routes_ix);
	hmap_free(&t.rules_ix);
	if (r->n_routes)
		qsort(r->routes, r->n_routes, sizeof *r->routes, cmp_route);
	if (r->n_rules)
		qsort(r->rules, r->n_rules, sizeof *r->rules, cmp_rule);
	return status;
}

/* The rules' text from the current rules file: its line, trimmed. */
static void read_rule_text(struct report *r, const char *rules_path)
{
	char msg[512];
	if (!rules_path || !*rules_path) {
		r->rules_note = xstrdup("rules by line only: LEADROUTE_RULES is not set");
		return;
	}
	struct source *src = source_read(rules_path, msg, sizeof msg);
	if (!src) {
		size_t n = strlen(msg) + 64;
		r->rules_note = xmalloc(n);
		snprintf(r->rules_note, n, "rules by line only: %s", msg);
		return;
	}
	for (size_t i = 0; i < r->n_rules; i++) {
		size_t len;
		const char *t = r->rules[i].line > 0 ? source_line(src, r->rules[i].line, &len) : NULL;
		if (!t)
			continue;
		while (len && isspace((unsigned char)*t))
			t++, len--;
		while (len && isspace((unsigned char)t[len - 1]))
			len--;
		r->rules[i].text = xstrndup(t, len);
	}
	size_t n = strlen(rules_path) + 96;
	r->rules_note = xmalloc(n);
	snprintf(r->rules_note, n, "rule text from %s as it is now; lines may have moved since",
	         rules_path);
	source_free(src);
}

/* ---- events without a lead, the outbox, the account index ---- */

static int read_counts(struct reader *rd, struct report *r)
{
	const char *what = "cannot count the events of the window";
	sqlite3_stmt *st = prep(rd, what,
		"SELECT type, count(*) FROM events WHERE type IN ('form_submitted',"
		" 'validation_failed', 'crm_write_failure', 'dead_lettered')"
		" AND at_ms >= ?1 AND at_ms < ?2 GROUP BY type", r->since_ms, r->until_ms);
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);
		if (!type)
			continue;
		if (strcmp(type, "form_submitted") == 0)
			r->submitted = n;
		else if (strcmp(type, "validation_failed") == 0)
			r->validation_failed = n;
		else if (strcmp(type, "crm_write_failure") == 0)
			r->crm_failures = n;
		else
			r->dead_lettered = n;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(rd, what);

	what = "cannot count the dead letters in the outbox";
	st = prep(rd, what, "SELECT count(*) FROM outbox WHERE state = 'dead'", 0, 0);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r->outbox_dead = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : fail(rd, what);
}

static int read_fields(struct reader *rd, struct report *r)
{
	const char *what = "cannot read the fields that failed validation";
	sqlite3_stmt *st = prep(rd, what,
		"SELECT f.value, count(DISTINCT e.id) FROM events e, json_each("
		"  CASE WHEN json_valid(e.data) THEN e.data ELSE '{}' END, '$.fields') f"
		" WHERE e.type = 'validation_failed' AND e.at_ms >= ?1 AND e.at_ms < ?2"
		"  AND f.type = 'text'"
		" GROUP BY f.value ORDER BY 2 DESC, 1", r->since_ms, r->until_ms);
	if (!st)
		return -1;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r->fields = xgrow(r->fields, &cap, r->n_fields + 1, sizeof *r->fields);
		r->fields[r->n_fields++] = (struct report_field){ col_text(st, 0),
		                                                  sqlite3_column_int64(st, 1) };
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(rd, what);
}

static int read_conflicts(struct reader *rd, struct report *r)
{
	int exists;
	if (table_exists(rd, "account_conflicts", &exists) != 0)
		return -1;
	if (!exists)
		return 0;   /* a database from before schema 7 has recorded none */
	const char *what = "cannot read the account conflicts";
	/* one max() aggregate: the bare columns come from the newest row */
	sqlite3_stmt *st = prep(rd, what,
		"SELECT domain, account_id, owner, kept_account_id, kept_owner, max(seen_ms),"
		" count(*), sum(ifnull(owner, '') IS NOT ifnull(kept_owner, ''))"
		" FROM account_conflicts WHERE seen_ms >= ?1 AND seen_ms < ?2"
		" GROUP BY domain ORDER BY 6 DESC, 1", r->since_ms, r->until_ms);
	if (!st)
		return -1;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r->conflicts = xgrow(r->conflicts, &cap, r->n_conflicts + 1, sizeof *r->conflicts);
		struct report_conflict *c = &r->conflicts[r->n_conflicts++];
		*c = (struct report_conflict){
			col_text(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3),
			col_text(st, 4), sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 5),
			sqlite3_column_int64(st, 7) > 0,
		};
		r->conflict_rows += c->rows;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(rd, what);
}

/* ---- the whole ---- */

int report_compute(const char *db_path, int64_t since_ms, int64_t until_ms,
                   const char *rules_path, struct report *r, char *err, size_t errlen)
{
	*r = (struct report){ .since_ms = since_ms, .until_ms = until_ms };
	struct reader rd = { NULL, err, errlen };
	if (sqlite3_open_v2(db_path, &rd.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the database '%s' to read it: %s", db_path,
		         rd.db ? sqlite3_errmsg(rd.db) : "out of memory");
		sqlite3_close(rd.db);
		return -1;
	}
	int leads_table = 0;
	int rc = sqlite3_busy_timeout(rd.db, BUSY_TIMEOUT_MS) == SQLITE_OK ? 0
	       : fail(&rd, "cannot set the busy timeout");
	if (rc == 0 && sqlite3_exec(rd.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		rc = fail(&rd, "cannot start reading");
	if (rc == 0)
		rc = table_exists(&rd, "leads", &leads_table);
	if (rc == 0 && !leads_table) {
		snprintf(err, errlen, "'%s' is not a leadroute database (it has no leads table); "
		         "check LEADROUTE_DB", db_path);
		rc = -1;
	}
	if (rc == 0)
		rc = read_leads(&rd, r);
	if (rc == 0)
		rc = read_counts(&rd, r);
	if (rc == 0)
		rc = read_fields(&rd, r);
	if (rc == 0)
		rc = read_conflicts(&rd, r);
	sqlite3_exec(rd.db, "COMMIT", NULL, NULL, NULL);   /* a read: nothing to lose */
	sqlite3_close(rd.db);
	if (rc != 0) {
		report_free(r);
		return -1;
	}
	read_rule_text(r, rules_path);
	return 0;
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n_routes; i++)
		free(r->routes[i].queue);
	for (size_t i = 0; i < r->n_rules; i++)
		free(r->rules[i].text);
	for (size_t i = 0; i < r->n_fields; i++)
		free(r->fields[i].name);
	for (size_t i = 0; i < r->n_conflicts; i++) {
		struct report_conflict *c = &r->conflicts[i];
		free(c->domain);
		free(c->lost_account);
		free(c->lost_owner);
		free(c->kept_account);
		free(c->kept_owner);
	}
	free(r->routes);
	free(r->rules);
	free(r->fields);
	free(r->conflicts);
	free(r->rules_note);
	*r = (struct report){0};
}

/* ---- shared by the renderers ---- */

int64_t report_rule_count(const struct report_rule *u, enum report_exception which)
{
	return which == REPORT_UNASSIGNED ? u->unassigned
	     : which == REPORT_FALLBACK ? u->fallback : u->review;
}

size_t report_top_rules(const struct report *r, enum report_exception which,
                        const struct report_rule **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct report_rule *u = &r->rules[i];
		int64_t c = report_rule_count(u, which);
		if (c == 0)
			continue;
		/* insertion into the first max places, most first, then by line */
		size_t at = n;
		while (at > 0) {
			int64_t prev = report_rule_count(out[at - 1], which);
			if (prev > c || (prev == c && out[at - 1]->line < u->line))
				break;
			at--;
		}
		if (at >= max)
			continue;
		if (n < max)
			n++;
		memmove(&out[at + 1], &out[at], (n - 1 - at) * sizeof *out);
		out[at] = u;
	}
	return n;
}

int report_is_empty(const struct report *r)
{
	return r->leads == 0 && r->submitted == 0 && r->validation_failed == 0 &&
	       r->crm_failures == 0 && r->dead_lettered == 0 && r->n_conflicts == 0;
}

void report_fmt_duration(int64_t ms, char *out, size_t len)
{
	double v = (double)ms;
	if (ms < 1000 && ms > -1000)
		snprintf(out, len, "%lld ms", (long long)ms);
	else if (ms < 60000 && ms > -60000)
		snprintf(out, len, "%.1f s", v / 1000);
	else if (ms < 3600000 && ms > -3600000)
		snprintf(out, len, "%.1f min", v / 60000);
	else
		snprintf(out, len, "%.1f h", v / 3600000);
}

void report_fmt_percent(int64_t n, int64_t d, char *out, size_t len)
{
	if (d <= 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.1f%%", 100.0 * (double)n / (double)d);
}

void report_fmt_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, len, "%lld ms", (long long)ms);
}
