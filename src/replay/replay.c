/* replay - stored leads through the deployed and the new rules, compared.
 *
 * Must never write to the database (it is opened read-only), never ask a
 * CRM, and never decide a lead any other way than the handler does: the
 * normalization is lead_normalize_submission, the decision tree_eval and
 * route_resolve, the account facts the accounts table read as the
 * handler's account lookup reads it.
 */
#include "replay/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rules/route.h"
#include "rules/tree.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define BUSY_TIMEOUT_MS 10000

int replay_parse_since(const char *text, int64_t *ms)
{
	if (!text || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || n == 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	int64_t unit;
	if (end[0] == 'd')
		unit = 24 * 3600 * 1000LL;
	else if (end[0] == 'h')
		unit = 3600 * 1000LL;
	else
		return -1;
	if (n > 100ULL * 366 * 24 * 3600 * 1000 / (unsigned long long)unit)
		return -1;
	*ms = (int64_t)n * unit;
	return 0;
}

int replay_decide(const struct ruleset *rs, const char *fields_json, const struct lead_env *env,
                  struct replay_decision *out, char *err, size_t errlen)
{
	static const char *const outs[] = { "confirm", "scheduler", "page" };
	memset(out, 0, sizeof *out);
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "cannot make a JSON parser (out of memory)");
		return -1;
	}
	size_t len = fields_json ? strlen(fields_json) : 0;
	struct json_object *o = len && len <= INT32_MAX
	                      ? json_tokener_parse_ex(tok, fields_json, (int)len) : NULL;
	bool parsed = o && json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	struct lead l;
	lead_init(&l);
	if (!parsed || !lead_from_json(&l, o, err, errlen)) {
		if (!parsed)
			snprintf(err, errlen, "its stored fields are not a JSON object");
		json_object_put(o);
		lead_free(&l);
		return -1;
	}
	json_object_put(o);
	struct lead_facts lf;
	struct lead_errors errs = {0};
	if (!lead_normalize_submission(rs->prog, &l, env, &lf, &errs)) {
		out->queue = REPLAY_REFUSED;
		snprintf(out->problem, sizeof out->problem, "%s: %s", errs.v[0].field,
		         errs.v[0].message);
	} else {
		uint32_t rule = tree_eval(rs->tree, &lf.facts);
		struct route rt;
		route_resolve(rs->prog, rule, &lf.facts, &rt);
		out->queue = route_queue_name(rs->prog, &rt);
		out->outcome = outs[rt.outcome];
		out->page = rt.page;
		if (rule != TREE_NO_RULE) {
			out->line = rs->prog->rules[rule].loc.line;
			out->rule_text = source_line(rs->src, out->line, &out->rule_len);
		}
	}
	lead_facts_free(&lf);
	lead_errors_free(&errs);
	lead_free(&l);
	return 0;
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool replay_differs(const struct replay_decision *a, const struct replay_decision *b)
{
	return !same_text(a->queue, b->queue) || !same_text(a->outcome, b->outcome) ||
	       !same_text(a->page, b->page);
}

static bool route_is(const struct replay_route *rt, const struct replay_decision *d)
{
	return same_text(rt->queue, d->queue) && same_text(rt->outcome, d->outcome) &&
	       same_text(rt->page, d->page);
}

static struct replay_route route_copy(const struct replay_decision *d)
{
	return (struct replay_route){ xstrdup(d->queue), d->outcome ? xstrdup(d->outcome) : NULL,
	                              d->page ? xstrdup(d->page) : NULL };
}

static void route_free(struct replay_route *rt)
{
	free(rt->queue);
	free(rt->outcome);
	free(rt->page);
}

/* The rule's line without its leading and trailing blanks; NULL: none. */
static char *rule_copy(const struct replay_decision *d)
{
	if (!d->rule_text)
		return NULL;
	const char *s = d->rule_text;
	size_t n = d->rule_len;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

void replay_tally(struct replay_result *r, const char *id, const char *email,
                  const struct replay_decision *from, const struct replay_decision *to,
                  size_t max_examples)
{
	r->leads++;
	if (!replay_differs(from, to)) {
		r->stayed++;
		return;
	}
	r->moved++;
	struct replay_move *m = NULL;
	for (size_t i = 0; i < r->n_moves && !m; i++)
		if (route_is(&r->moves[i].from, from) && route_is(&r->moves[i].to, to))
			m = &r->moves[i];
	if (!m) {
		r->moves = xgrow(r->moves, &r->cap_moves, r->n_moves + 1, sizeof *r->moves);
		m = &r->moves[r->n_moves++];
		*m = (struct replay_move){ .from = route_copy(from), .to = route_copy(to) };
		if (max_examples)
			m->examples = xcalloc(max_examples, sizeof *m->examples);
	}
	m->count++;
	if (m->n_examples < max_examples)
		m->examples[m->n_examples++] = (struct replay_example){
			xstrdup(id ? id : ""), xstrdup(email ? email : ""), from->line, to->line,
			rule_copy(to), to->problem[0] ? xstrdup(to->problem)
			: from->problem[0] ? xstrdup(from->problem) : NULL };
}

char *replay_route_label(const struct replay_route *rt)
{
	struct buf b = {0};
	buf_adds(&b, rt->queue);
	if (rt->outcome)
		buf_printf(&b, " then %s", rt->outcome);
	if (rt->page)
		buf_printf(&b, " \"%s\"", rt->page);
	return buf_take(&b);
}

static int cmp_moves(const void *x, const void *y)
{
	const struct replay_move *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	char *la = replay_route_label(&a->from), *lb = replay_route_label(&b->from);
	int c = strcmp(la, lb);
	free(la);
	free(lb);
	if (c)
		return c;
	la = replay_route_label(&a->to);
	lb = replay_route_label(&b->to);
	c = strcmp(la, lb);
	free(la);
	free(lb);
	return c;
}

void replay_sort(struct replay_result *r)
{
	if (r->n_moves > 1)
		qsort(r->moves, r->n_moves, sizeof *r->moves, cmp_moves);
}

void replay_result_free(struct replay_result *r)
{
	for (size_t i = 0; i < r->n_moves; i++) {
		struct replay_move *m = &r->moves[i];
		route_free(&m->from);
		route_free(&m->to);
		for (size_t k = 0; k < m->n_examples; k++) {
			free(m->examples[k].id);
			free(m->examples[k].email);
			free(m->examples[k].to_rule);
			free(m->examples[k].problem);
		}
		free(m->examples);
	}
	free(r->moves);
	memset(r, 0, sizeof *r);
}

/* ---- the database, read-only ---- */

/* The account lookup lead_normalize calls: the accounts table, as the
 * handler's lookup reads it (store_account_get: the row whose domain is
 * the lead's registrable domain; a NULL column is not known).  A read
 * error is kept for replay_run to report. */
struct account_reader {
	sqlite3 *db;
	sqlite3_stmt *st;
	char *col[4];           /* account_id, owner, lifecycle, tier of the last row found */
	bool failed;
	char err[512];
};

static bool account_read(void *ctx, const char *domain, struct account *out)
{
	struct account_reader *ar = ctx;
	if (ar->failed)
		return false;
	sqlite3_reset(ar->st);
	if (sqlite3_bind_text(ar->st, 1, domain, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		snprintf(ar->err, sizeof ar->err, "cannot look up the account of %s: %s", domain,
		         sqlite3_errmsg(ar->db));
		ar->failed = true;
		return false;
	}
	int rc = sqlite3_step(ar->st);
	if (rc == SQLITE_DONE)
		return false;
	if (rc != SQLITE_ROW) {
		snprintf(ar->err, sizeof ar->err, "cannot look up the account of %s: %s", domain,
		         sqlite3_errmsg(ar->db));
		ar->failed = true;
		return false;
	}
	for (int i = 0; i < 4; i++) {
		free(ar->col[i]);
		const unsigned char *v = sqlite3_column_text(ar->st, i);
		ar->col[i] = v ? xstrdup((const char *)v) : NULL;
	}
	*out = (struct account){ ar->col[0], ar->col[1], ar->col[2], ar->col[3] };
	return true;
}

static int db_fail(sqlite3 *db, const char *path, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "database '%s': %s: %s", path, what,
	         db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

int replay_run(const char *db_path, const struct ruleset *now, const struct ruleset *next,
               const struct lead_env *env, int64_t since_ms, size_t max_examples,
               struct replay_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	sqlite3 *db = NULL;
	sqlite3_stmt *leads = NULL;
	struct account_reader ar = {0};
	int rc = -1;
	bool in_tx = false;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
	    != SQLITE_OK) {
		db_fail(db, db_path, "cannot open it read-only", err, errlen);
		goto done;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	/* one snapshot for the leads and the accounts they are looked up in */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, db_path, "cannot start reading", err, errlen);
		goto done;
	}
	in_tx = true;
	if (sqlite3_prepare_v2(db, "SELECT id, email, fields FROM leads WHERE created_ms >= ?"
	                       " ORDER BY created_ms DESC, id", -1, &leads, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(leads, 1, since_ms) != SQLITE_OK) {
		db_fail(db, db_path, "cannot read the leads (is it leadroute's database?)", err,
		        errlen);
		goto done;
	}
	if (sqlite3_prepare_v2(db, "SELECT account_id, owner, lifecycle, tier FROM accounts"
	                       " WHERE domain = ?", -1, &ar.st, NULL) != SQLITE_OK) {
		db_fail(db, db_path, "cannot read the account index", err, errlen);
		goto done;
	}
	ar.db = db;
	struct account_lookup lookup = { account_read, &ar };
	struct lead_env with_index = *env;
	with_index.accounts = &lookup;
	int step;
	while ((step = sqlite3_step(leads)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(leads, 0);
		const char *email = (const char *)sqlite3_column_text(leads, 1);
		const char *fields = (const char *)sqlite3_column_text(leads, 2);
		struct replay_decision was, will;
		char why[256];
		for (int k = 0; k < 2; k++) {
			const struct ruleset *rs = k ? next : now;
			int got = replay_decide(rs, fields, &with_index, k ? &will : &was, why,
			                        sizeof why);
			if (got != 0) {
				snprintf(err, errlen, "database '%s': lead %s: %s", db_path,
				         id ? id : "?", why);
				goto done;
			}
			if (ar.failed) {
				snprintf(err, errlen, "database '%s': %s", db_path, ar.err);
				goto done;
			}
		}
		replay_tally(out, id, email, &was, &will, max_examples);
	}
	if (step != SQLITE_DONE) {
		db_fail(db, db_path, "cannot read the leads", err, errlen);
		goto done;
	}
	replay_sort(out);
	rc = 0;
done:
	sqlite3_finalize(leads);
	sqlite3_finalize(ar.st);
	for (int i = 0; i < 4; i++)
		free(ar.col[i]);
	if (in_tx)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);   /* a read: nothing to keep */
	sqlite3_close(db);
	if (rc != 0)
		replay_result_free(out);
	return rc;
}

/* ---- output ---- */

static int line_or_null(struct json_object *o, const char *key, int line)
{
	return json_object_object_add(o, key, line ? json_object_new_int(line) : NULL);
}

struct json_object *replay_to_json(const struct replay_result *r)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "leads", json_object_new_int64((int64_t)r->leads));
	json_object_object_add(o, "moved", json_object_new_int64((int64_t)r->moved));
	json_object_object_add(o, "stayed", json_object_new_int64((int64_t)r->stayed));
	struct json_object *moves = json_object_new_array();
	for (size_t i = 0; i < r->n_moves; i++) {
		const struct replay_move *m = &r->moves[i];
		struct json_object *mo = json_object_new_object();
		json_object_object_add(mo, "from", json_object_new_string(m->from.queue));
		json_object_object_add(mo, "from_outcome", m->from.outcome
		                       ? json_object_new_string(m->from.outcome) : NULL);
		if (m->from.page)
			json_object_object_add(mo, "from_page",
			                       json_object_new_string(m->from.page));
		json_object_object_add(mo, "to", json_object_new_string(m->to.queue));
		json_object_object_add(mo, "to_outcome", m->to.outcome
		                       ? json_object_new_string(m->to.outcome) : NULL);
		if (m->to.page)
			json_object_object_add(mo, "to_page", json_object_new_string(m->to.page));
		json_object_object_add(mo, "count", json_object_new_int64((int64_t)m->count));
		struct json_object *ex = json_object_new_array();
		for (size_t k = 0; k < m->n_examples; k++) {
			const struct replay_example *e = &m->examples[k];
			struct json_object *eo = json_object_new_object();
			json_object_object_add(eo, "id", json_object_new_string(e->id));
			json_object_object_add(eo, "email", json_object_new_string(e->email));
			line_or_null(eo, "from_line", e->from_line);
			line_or_null(eo, "to_line", e->to_line);
			json_object_object_add(eo, "to_rule", e->to_rule
			                       ? json_object_new_string(e->to_rule) : NULL);
			if (e->problem)
				json_object_object_add(eo, "problem",
				                       json_object_new_string(e->problem));
			json_object_array_add(ex, eo);
		}
		json_object_object_add(mo, "examples", ex);
		json_object_array_add(moves, mo);
	}
	json_object_object_add(o, "moves", moves);
	return o;
}

static void print_line_no(FILE *out, int line)
{
	if (line)
		fprintf(out, "line %d", line);
	else
		fprintf(out, "no rule");
}

void replay_print_text(const struct replay_result *r, FILE *out)
{
	fprintf(out, "%zu lead%s replayed: %zu would move, %zu stay\n", r->leads,
	        r->leads == 1 ? "" : "s", r->moved, r->stayed);
	if (!r->n_moves)
		return;
	size_t wfrom = strlen("from");
	char **from = xcalloc(r->n_moves, sizeof *from), **to = xcalloc(r->n_moves, sizeof *to);
	for (size_t i = 0; i < r->n_moves; i++) {
		from[i] = replay_route_label(&r->moves[i].from);
		to[i] = replay_route_label(&r->moves[i].to);
		if (strlen(from[i]) > wfrom)
			wfrom = strlen(from[i]);
	}
	int wf = (int)wfrom, we = 0;
	for (size_t i = 0; i < r->n_moves; i++)
		for (size_t k = 0; k < r->moves[i].n_examples; k++)
			if ((int)strlen(r->moves[i].examples[k].email) > we)
				we = (int)strlen(r->moves[i].examples[k].email);
	fprintf(out, "\n%7s  %-*s    %s\n", "count", wf, "from", "to");
	for (size_t i = 0; i < r->n_moves; i++) {
		const struct replay_move *m = &r->moves[i];
		fprintf(out, "%7zu  %-*s -> %s\n", m->count, wf, from[i], to[i]);
		for (size_t k = 0; k < m->n_examples; k++) {
			const struct replay_example *e = &m->examples[k];
			fprintf(out, "%9s%-36s  %-*s  ", "", e->id, we, e->email);
			print_line_no(out, e->from_line);
			fprintf(out, " -> ");
			print_line_no(out, e->to_line);
			if (e->problem)
				fprintf(out, " (%s)", e->problem);
			fprintf(out, "\n");
		}
		/* the new rules' lines that decide these examples, each once */
		for (size_t k = 0; k < m->n_examples; k++) {
			const struct replay_example *e = &m->examples[k];
			bool seen = !e->to_rule;
			for (size_t j = 0; j < k && !seen; j++)
				seen = m->examples[j].to_line == e->to_line;
			if (!seen)
				fprintf(out, "%9snew line %d: %s\n", "", e->to_line, e->to_rule);
		}
	}
	for (size_t i = 0; i < r->n_moves; i++) {
		free(from[i]);
		free(to[i]);
	}
	free(from);
	free(to);
}
