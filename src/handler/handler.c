/* handler - the intake path: parse, check, defend, normalize, route,
 * assign, store, answer.
 *
 * Must never acknowledge a lead before its transaction commits, never store
 * half a lead (one transaction or nothing), never redirect anywhere the
 * rules did not name, and never put request bytes into a header.
 */
#include "handler/handler.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "alert/alert.h"
#include "assign/assign.h"
#include "intake/body.h"
#include "intake/hooksig.h"
#include "intake/idem.h"
#include "outbox/outbox.h"
#include "crm/crm.h"
#include "intake/token.h"
#include "lead/lead.h"
#include "metrics/metrics.h"
#include "rules/route.h"
#include "util/clock.h"
#include "util/hmap.h"
#include "util/xalloc.h"

#define TOKEN_MAX_AGE (24 * 3600)
#define RATE_WINDOW_MS 60000

const char *handler_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static void logf_(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct app *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(a->log, "leadroute: ");
	vfprintf(a->log, fmt, ap);
	fprintf(a->log, "\n");
	fflush(a->log);
	va_end(ap);
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = {0};
	char chunk[8192];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, got);
	bool bad = ferror(fp);
	fclose(fp);
	if (bad) {
		snprintf(err, errlen, "cannot read '%s'", path);
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* Load the rules file; on errors log every diagnostic.  Returns the
 * ruleset or NULL. */
static struct ruleset *load_rules(struct app *a, char **problem)
{
	struct lead_env env = refdata_env(&a->rd);
	struct diags d;
	diags_init(&d);
	struct ruleset *keep = NULL;
	struct ruleset *rs = ruleset_load(a->cfg.rules, &env, true, &d, &keep);
	diags_sort(&d);
	if (d.n)
		diags_print(&d, DIAG_TEXT, a->log, false);
	if (!rs && problem) {
		free(*problem);
		*problem = NULL;
		for (size_t i = 0; i < d.n && !*problem; i++) {
			if (d.v[i].severity != DIAG_ERROR)
				continue;
			struct buf b = {0};
			buf_printf(&b, "%s:%d:%d: %s [%s]", a->cfg.rules, d.v[i].loc.line,
			           d.v[i].loc.col, d.v[i].message, d.v[i].code ? d.v[i].code : "");
			*problem = buf_take(&b);
		}
		if (!*problem)
			*problem = xstrdup("the rules file has errors");
	}
	const struct source *read = rs ? rs->src : keep ? keep->src : NULL;
	a->rules_text_hash = read ? hmap_hash(read->text, read->len) : 0;
	diags_free(&d);
	ruleset_free(keep);
	return rs;
}

/* True when the file's bytes are not the ones last read (or cannot be
 * read now: let the reload report that). */
static bool rules_text_changed(struct app *a)
{
	char err[256];
	struct source *src = source_read(a->cfg.rules, err, sizeof err);
	if (!src)
		return true;
	bool changed = hmap_hash(src->text, src->len) != a->rules_text_hash;
	source_free(src);
	return changed;
}

/* What identifies one version of the rules file: a rename puts another
 * inode there, an in-place rewrite changes the size or the time.  A file
 * written within the last RULES_SETTLE_S seconds may still be changing
 * within one tick of a coarse file-system clock, so it is looked at once
 * more after that (app_reload_rules). */
#define RULES_SETTLE_S 2

static bool rules_stamp(const char *path, struct rules_stamp *out)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return false;
	*out = (struct rules_stamp){ st.st_mtim, st.st_size, st.st_ino, st.st_dev };
	return true;
}

static bool stamp_equal(const struct rules_stamp *x, const struct rules_stamp *y)
{
	return x->mtime.tv_sec == y->mtime.tv_sec && x->mtime.tv_nsec == y->mtime.tv_nsec &&
	       x->size == y->size && x->ino == y->ino && x->dev == y->dev;
}

/* When to look at the file again though its stamp is unchanged: once,
 * after it has settled, if it was fresh when read; else never (0). */
static time_t settle_deadline(const struct rules_stamp *st)
{
	time_t now = time(NULL);
	return now - st->mtime.tv_sec < RULES_SETTLE_S ? st->mtime.tv_sec + RULES_SETTLE_S : 0;
}

int app_init(struct app *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	a->log = stderr;
	if (config_load(&a->cfg, err, errlen) != 0)
		return -1;
	if (a->cfg.log_file) {
		a->log = fopen(a->cfg.log_file, "a");
		if (!a->log) {
			snprintf(err, errlen, "LEADROUTE_LOG: cannot open '%s': %s", a->cfg.log_file,
			         strerror(errno));
			a->log = stderr;
			goto fail;
		}
	}
	if (refdata_load(&a->rd, err, errlen) != 0)
		goto fail;
	if (rules_stamp(a->cfg.rules, &a->rules_stamp))
		a->rules_recheck_at = settle_deadline(&a->rules_stamp);
	a->rules = load_rules(a, NULL);
	if (!a->rules) {
		snprintf(err, errlen, "LEADROUTE_RULES: '%s' has errors (see the log); "
		         "check it with routec --check", a->cfg.rules);
		goto fail;
	}
	a->store = store_open(a->cfg.db, a->cfg.sync, err, errlen);
	if (!a->store)
		goto fail;
	a->metrics = metrics_open(a->cfg.db, err, errlen);   /* /metrics (doc/metrics.md) */
	if (!a->metrics)
		goto fail;
	a->crm = crm_open(&a->cfg.crm.crm, a->store, err, errlen);
	if (!a->crm)
		goto fail;
	/* event sinks (src/events/sinks.h); a dry run writes nothing, so
	 * it forwards nothing either */
	if (!a->cfg.dry_run && sinks_open_from_env(a->store, &a->sinks, err, errlen) != 0)
		goto fail;
	char path[4096];
	snprintf(path, sizeof path, "%s/index.html", a->cfg.www);
	if (!(a->form_html = read_file(path, err, errlen)))
		goto fail;
	return 0;
fail:
	app_free(a);
	return -1;
}

void app_free(struct app *a)
{
	ruleset_free(a->rules);
	crm_close(a->crm);
	sink_list_free(&a->sinks);   /* event sinks */
	metrics_close(a->metrics);
	store_close(a->store);
	refdata_free(&a->rd);
	free(a->form_html);
	free(a->rules_problem);
	if (a->log && a->log != stderr)
		fclose(a->log);
	config_free(&a->cfg);
	memset(a, 0, sizeof *a);
}

/* Every process that meets the refused file tries; the rate limit lets
 * one alert through. */
static void alert_rules_refused(struct app *a)
{
	if (a->cfg.dry_run || !a->store)
		return;
	char msg[700];
	snprintf(msg, sizeof msg, "the rules file %.200s was changed and refused (%.300s); the "
	         "last good rules are still in use: fix it (routec --check) and save it again",
	         a->cfg.rules, a->rules_problem ? a->rules_problem : "see the log");
	bool raised = false;
	int64_t now = clock_wall_ms();
	if (store_begin(a->store) != 0 ||
	    alert_raise(a->store, &a->cfg.crm.outbox.alerts, "rules_refused", a->cfg.rules, NULL,
	                msg, NULL, now, &raised) != 0 ||
	    store_commit(a->store) != 0) {
		store_rollback(a->store);
		logf_(a, "the rules_refused alert was not stored: %s", store_error(a->store));
	} else if (raised) {
		logf_(a, "ALERT: %s", msg);
	}
}

void app_reload_rules(struct app *a)
{
	struct rules_stamp st;
	if (!rules_stamp(a->cfg.rules, &st)) {
		if (!a->rules_refused)
			logf_(a, "cannot stat rules file '%s': %s; keeping the rules in use",
			      a->cfg.rules, strerror(errno));
		a->rules_refused = true;
		free(a->rules_problem);
		a->rules_problem = xstrdup("the rules file cannot be read");
		/* whatever comes back, even the same file, is read again */
		memset(&a->rules_stamp, 0, sizeof a->rules_stamp);
		return;
	}
	if (stamp_equal(&st, &a->rules_stamp)) {
		if (!a->rules_recheck_at || time(NULL) < a->rules_recheck_at)
			return;
		a->rules_recheck_at = 0;
		if (!rules_text_changed(a))
			return;
	}
	a->rules_stamp = st;
	a->rules_recheck_at = settle_deadline(&st);
	struct ruleset *rs = load_rules(a, &a->rules_problem);
	if (!rs) {
		a->rules_refused = true;
		logf_(a, "refused the changed rules file '%s'; still serving the last good rules",
		      a->cfg.rules);
		alert_rules_refused(a);
		return;
	}
	ruleset_free(a->rules);
	a->rules = rs;
	a->rules_refused = false;
	free(a->rules_problem);
	a->rules_problem = NULL;
	logf_(a, "loaded the changed rules file '%s'", a->cfg.rules);
}

/* ---- responses ---- */

static void respond_text(struct response *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	buf_adds(&r->body, text);
	buf_addc(&r->body, '\n');
}

static void respond_json(struct response *r, int status, struct json_object *o)
{
	r->status = status;
	r->content_type = "application/json";
	buf_adds(&r->body, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_addc(&r->body, '\n');
}

static void respond_error(struct response *r, bool json, int status, const char *msg)
{
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(msg));
		respond_json(r, status, o);
		json_object_put(o);
	} else {
		respond_text(r, status, msg);
	}
}

/* A Location value: only what the rules named, and never a byte that
 * could end the header. */
static bool set_location(struct response *r, const char *url)
{
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f)
			return false;
	if (strlen(url) >= sizeof r->location)
		return false;
	snprintf(r->location, sizeof r->location, "%s", url);
	return true;
}

/* ---- the form page ---- */

/* The fields the form page shows; errors for other names go to
 * {{error:form}}. */
static bool on_page(const char *field)
{
	static const char *const fields[] = { "first_name", "last_name", "email", "company",
		"website", "country", "region", "employees", "product", "intent", "message" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strcmp(fields[i], field) == 0)
			return true;
	return false;
}

/* Render the form template (www/README): {{form_token}},
 * {{idempotency_key}}, {{value:F}}, {{error:F}}, {{error:form}},
 * {{invalid:F}}, {{selected:F:V}}, {{checked:F:V}}, {{iferrors:TEXT}} and
 * {{noerrors:TEXT}}.  Every substituted value or message is HTML-escaped;
 * the TEXT of iferrors/noerrors is the template's own and goes out as it
 * is, when there are (iferrors) or are not (noerrors) errors.  l and errs
 * are NULL for the fresh form.  Unknown placeholders render empty. */
static void render(struct buf *out, const char *tpl, const char *token, const char *idem,
                   const struct lead *l, const struct lead_errors *errs)
{
	const bool has_errors = errs && errs->n > 0;
	const char *p = tpl;
	for (;;) {
		const char *open = strstr(p, "{{");
		if (!open) {
			buf_adds(out, p);
			return;
		}
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			buf_adds(out, p);
			return;
		}
		buf_add(out, p, (size_t)(open - p));
		char key[160];
		size_t kl = (size_t)(close - open - 2);
		if (kl >= sizeof key)
			kl = sizeof key - 1;
		memcpy(key, open + 2, kl);
		key[kl] = '\0';
		if (strncmp(key, "iferrors:", 9) == 0 || strncmp(key, "noerrors:", 9) == 0) {
			/* verbatim from the template, whatever its length */
			if (has_errors == (key[0] == 'i'))
				buf_add(out, open + 2 + 9, (size_t)(close - open - 2 - 9));
		} else if (strcmp(key, "form_token") == 0) {
			buf_add_html(out, token ? token : "");
		} else if (strcmp(key, "idempotency_key") == 0) {
			buf_add_html(out, idem ? idem : "");
		} else if (strncmp(key, "value:", 6) == 0) {
			const char *v = l ? lead_get(l, key + 6) : NULL;
			buf_add_html(out, v ? v : "");
		} else if (strcmp(key, "error:form") == 0) {
			for (size_t i = 0; errs && i < errs->n; i++) {
				if (on_page(errs->v[i].field))
					continue;
				buf_add_html(out, errs->v[i].message);
				buf_addc(out, ' ');
			}
		} else if (strncmp(key, "error:", 6) == 0 || strncmp(key, "invalid:", 8) == 0) {
			bool inv = key[0] == 'i';
			const char *f = key + (inv ? 8 : 6);
			for (size_t i = 0; errs && i < errs->n; i++) {
				if (strcmp(errs->v[i].field, f) != 0)
					continue;
				if (inv)
					buf_adds(out, "aria-invalid=\"true\"");
				else
					buf_add_html(out, errs->v[i].message);
				break;
			}
		} else if (strncmp(key, "selected:", 9) == 0 || strncmp(key, "checked:", 8) == 0) {
			bool sel = key[0] == 's';
			char *f = key + (sel ? 9 : 8), *eq = strchr(f, ':');
			if (eq && l) {
				*eq = '\0';
				const char *v = lead_get(l, f);
				if (v && strcasecmp(v, eq + 1) == 0)
					buf_adds(out, sel ? "selected" : "checked");
			}
		} else if (strcmp(key, "errors_summary") == 0 && has_errors) {
			buf_printf(out, "Please correct %zu field%s below.", errs->n,
			           errs->n == 1 ? "" : "s");
		}
		p = close + 2;
	}
}

static void new_idem_key(char out[37])
{
	store_lead_new_id(out);
}

static void handle_form(struct app *a, const struct request *req, struct response *r)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		r->allow = "GET, HEAD";
		respond_text(r, 405, "use GET for the form");
		return;
	}
	char token[TOKEN_MAX] = "", idem[37];
	if (a->cfg.secret && token_make(a->cfg.secret, a->cfg.secret_len, req->now_ms / 1000,
	                                token) != 0) {
		respond_text(r, 503, "cannot make a form token; try again");
		return;
	}
	new_idem_key(idem);
	r->status = 200;
	r->content_type = "text/html; charset=utf-8";
	render(&r->body, a->form_html, token, idem, NULL, NULL);
}

/* ---- metrics and health ---- */

static int metric_row(void *ctx, const char *type, int64_t n)
{
	struct buf *b = ctx;
	buf_printf(b, "leadroute_events_total{type=\"%s\"} %lld\n", type, (long long)n);
	return 0;
}

static void handle_metrics(struct app *a, const struct request *req, struct response *r)
{
	if (strcmp(req->method, "GET") != 0) {
		r->allow = "GET";
		respond_text(r, 405, "use GET for metrics");
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_adds(&r->body, "# HELP leadroute_events_total Events stored, by type (all processes).\n"
	         "# TYPE leadroute_events_total counter\n");
	/* metrics: the outbox's backlog from the store, then what every
	 * process recorded in the shared file (doc/metrics.md) */
	int64_t pending = -1, dead = -1;
	if (store_event_counts(a->store, metric_row, &r->body) != 0 ||
	    (pending = store_outbox_count(a->store, "pending")) < 0 ||
	    (dead = store_outbox_count(a->store, "dead")) < 0) {
		buf_reset(&r->body);
		respond_text(r, 503, "metrics unavailable: the store cannot be read");
		logf_(a, "metrics: %s", store_error(a->store));
		return;
	}
	buf_printf(&r->body, "# HELP leadroute_outbox_rows Outbox rows now waiting for the CRM "
	           "(pending) or dead-lettered (dead).\n# TYPE leadroute_outbox_rows gauge\n"
	           "leadroute_outbox_rows{state=\"pending\"} %lld\n"
	           "leadroute_outbox_rows{state=\"dead\"} %lld\n", (long long)pending,
	           (long long)dead);
	buf_printf(&r->body, "# HELP leadroute_rules_refused Whether the last change to the rules "
	           "file was refused (1) or is in use (0).\n# TYPE leadroute_rules_refused gauge\n"
	           "leadroute_rules_refused %d\n", a->rules_refused ? 1 : 0);
	metrics_render(a->metrics, &r->body);
}

static void handle_healthz(struct app *a, const struct request *req, struct response *r)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		r->allow = "GET, HEAD";
		respond_text(r, 405, "use GET for health");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(a->rules_refused ? "degraded" : "ok"));
	struct json_object *ru = json_object_new_object();
	json_object_object_add(ru, "file", json_object_new_string(a->cfg.rules));
	json_object_object_add(ru, "refused", json_object_new_boolean(a->rules_refused));
	if (a->rules_problem)
		json_object_object_add(ru, "problem", json_object_new_string(a->rules_problem));
	json_object_object_add(o, "rules", ru);
	respond_json(r, 200, o);
	json_object_put(o);
}

/* ---- beacons ---- */

static void handle_event(struct app *a, const struct request *req, struct response *r)
{
	if (strcmp(req->method, "POST") != 0) {
		r->allow = "POST";
		respond_text(r, 405, "use POST for events");
		return;
	}
	if (req->body_too_large) {
		respond_text(r, 413, "event too large");
		return;
	}
	/* sendBeacon sends text/plain or application/json; accept both */
	struct json_object *o = NULL;
	struct json_tokener *tok = json_tokener_new_ex(3);
	if (req->body_len)
		o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	bool ok = o && json_tokener_get_error(tok) == json_tokener_success &&
	          json_object_is_type(o, json_type_object);
	json_tokener_free(tok);
	struct json_object *type = NULL;
	const char *t = ok && json_object_object_get_ex(o, "type", &type)
	              ? json_object_get_string(type) : NULL;
	if (!t || (strcmp(t, "form_view") != 0 && strcmp(t, "form_start") != 0)) {
		json_object_put(o);
		respond_text(r, 400, "an event is {\"type\": \"form_view\" | \"form_start\"}");
		return;
	}
	struct json_object *data = json_object_new_object();
	struct json_object *form = NULL, *page = NULL;
	if (json_object_object_get_ex(o, "form", &form) && json_object_is_type(form, json_type_string))
		json_object_object_add(data, "form", json_object_new_string_len(
			json_object_get_string(form), json_object_get_string_len(form) > 64 ? 64
			: json_object_get_string_len(form)));
	if (json_object_object_get_ex(o, "page", &page) && json_object_is_type(page, json_type_string))
		json_object_object_add(data, "page", json_object_new_string_len(
			json_object_get_string(page), json_object_get_string_len(page) > 256 ? 256
			: json_object_get_string_len(page)));
	int rc = store_begin(a->store);
	if (rc == 0)
		rc = store_event(a->store, NULL, t, req->now_ms, json_object_to_json_string(data));
	if (rc == 0)
		rc = store_commit(a->store);
	else
		store_rollback(a->store);
	json_object_put(data);
	json_object_put(o);
	if (rc != 0) {
		logf_(a, "event: %s", store_error(a->store));
		respond_text(r, 503, "cannot record the event now");
		return;
	}
	r->status = 204;
	r->content_type = "text/plain; charset=utf-8";
}

/* ---- leads ---- */

static bool wants_json(const struct request *req, enum body_kind kind)
{
	return kind == BODY_JSON || (req->accept && strstr(req->accept, "application/json"));
}

/* Answer from a stored response JSON {lead_id, queue, owner, outcome,
 * redirect}: 200 JSON for fetch, 303 to redirect for a form post. */
static void respond_lead(struct response *r, bool json, const char *response_json)
{
	struct json_object *o = json_tokener_parse(response_json);
	struct json_object *red = NULL;
	const char *url = o && json_object_object_get_ex(o, "redirect", &red)
	                ? json_object_get_string(red) : "/confirm";
	if (json) {
		r->status = 200;
		r->content_type = "application/json";
		buf_adds(&r->body, response_json);
		buf_addc(&r->body, '\n');
	} else if (set_location(r, url ? url : "/confirm")) {
		r->status = 303;
		r->content_type = "text/html; charset=utf-8";
		buf_adds(&r->body, "<!doctype html><title>Thank you</title><p>Continue to <a href=\"");
		buf_add_html(&r->body, r->location);
		buf_adds(&r->body, "\">the next step</a>.</p>\n");
	} else {
		respond_text(r, 500, "bad redirect target");
	}
	json_object_put(o);
}

/* The account lookup lead_normalize calls, remembering the account id for
 * the CRM payload: the account index first, then, with
 * LEADROUTE_CRM_LOOKUP=1, the CRM itself within
 * LEADROUTE_CRM_LOOKUP_TIMEOUT_MS.  A store error or a CRM that does not
 * answer in time is logged and routes as "no account": the lead is still
 * taken, and its owner is marked for review (review_owner in the payload). */
struct account_ctx {
	struct app *a;
	char id[128];
	bool failed;
	int64_t now_ms;
	struct crm_account live;    /* the CRM's answer; strings handed to normalize */
};

static bool account_live(struct account_ctx *ac, const char *domain, struct account *out)
{
	struct app *a = ac->a;
	struct crm_result res;
	/* a CRM paused for a rate limit or an outage is not asked: the answer
	 * would be a refusal, or a wait the buyer pays for */
	int64_t paused = store_crm_paused_until(a->store, crm_name(a->crm));
	if (paused != 0 && (paused < 0 || paused > ac->now_ms)) {
		logf_(a, "live account lookup for %s: %s; routing without it, owner to review",
		      domain, paused < 0 ? store_error(a->store) : "the CRM is paused");
		ac->failed = true;
		return false;
	}
	int got = crm_lookup_account(a->crm, domain, a->cfg.crm.lookup_timeout_ms, &ac->live, &res);
	if (got < 0) {
		logf_(a, "live account lookup for %s: %s; routing without it, owner to review",
		      domain, res.message);
		ac->failed = true;
		return false;
	}
	if (got == 0)
		return false;
	snprintf(ac->id, sizeof ac->id, "%s", ac->live.id);
	*out = (struct account){ ac->live.id, ac->live.owner[0] ? ac->live.owner : NULL,
	                         ac->live.lifecycle[0] ? ac->live.lifecycle : NULL,
	                         ac->live.tier[0] ? ac->live.tier : NULL };
	return true;
}

static bool account_find(void *ctx, const char *domain, struct account *out)
{
	struct account_ctx *ac = ctx;
	struct store_account sa;
	int got = store_account_get(ac->a->store, domain, &sa);
	if (got < 0) {
		logf_(ac->a, "account lookup for %s: %s", domain, store_error(ac->a->store));
		ac->failed = true;
		return false;
	}
	if (got == 0)
		return ac->a->cfg.crm.lookup && ac->a->cfg.crm.crm.kind != CRM_LOCAL &&
		       account_live(ac, domain, out);
	snprintf(ac->id, sizeof ac->id, "%s", sa.id ? sa.id : "");
	*out = (struct account){ (char *)sa.id, (char *)sa.owner, (char *)sa.lifecycle,
	                         (char *)sa.tier };
	return true;
}

/* What the outbox carries to the CRM (src/crm/crm.h): the lead, its route
 * and the owner chosen.  Caller frees. */
static char *crm_payload(const struct store_lead *sl, const char *fields_json,
                         const struct account_ctx *ac)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "lead_id", json_object_new_string(sl->id));
	json_object_object_add(o, "created_ms", json_object_new_int64(sl->created_ms));
	json_object_object_add(o, "email", json_object_new_string(sl->email));
	json_object_object_add(o, "domain", sl->domain ? json_object_new_string(sl->domain) : NULL);
	json_object_object_add(o, "fields", json_tokener_parse(fields_json));
	json_object_object_add(o, "queue", sl->queue ? json_object_new_string(sl->queue) : NULL);
	json_object_object_add(o, "owner", sl->member ? json_object_new_string(sl->member) : NULL);
	json_object_object_add(o, "account_id", ac->id[0] ? json_object_new_string(ac->id) : NULL);
	json_object_object_add(o, "rule_line", json_object_new_int(sl->rule_line));
	json_object_object_add(o, "outcome", json_object_new_string(sl->outcome));
	json_object_object_add(o, "review_owner", json_object_new_boolean(ac->failed));
	char *text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

static char *lead_fields_json(const struct program *p, const struct lead_facts *lf)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; i < p->n_fields; i++) {
		const struct fact *f = &lf->facts.v[i];
		if (!f->present || i == F_EMAIL_PERSONAL)
			continue;
		if (p->fields[i].type == FT_NUMBER)
			json_object_object_add(o, p->fields[i].name, json_object_new_double(f->num));
		else
			json_object_object_add(o, p->fields[i].name,
			                       json_object_new_string(f->raw ? f->raw : f->text));
	}
	json_object_object_add(o, "email_personal",
	                       json_object_new_boolean(lf->facts.v[F_EMAIL_PERSONAL].present));
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static void reshow_form(struct app *a, const struct request *req, struct response *r,
                        const struct lead *l, const struct lead_errors *errs, bool json)
{
	if (json) {
		struct json_object *o = json_object_new_object(), *e = json_object_new_object();
		for (size_t i = 0; i < errs->n; i++)
			json_object_object_add(e, errs->v[i].field,
			                       json_object_new_string(errs->v[i].message));
		json_object_object_add(o, "errors", e);
		respond_json(r, 422, o);
		json_object_put(o);
		return;
	}
	char token[TOKEN_MAX] = "";
	if (a->cfg.secret)
		token_make(a->cfg.secret, a->cfg.secret_len, req->now_ms / 1000 - a->cfg.min_seconds,
		           token);
	const char *idem = lead_get(l, "idempotency_key");
	r->status = 422;
	r->content_type = "text/html; charset=utf-8";
	render(&r->body, a->form_html, token, idem, l, errs);
}

/* Spam answers like a success and routes nothing. */
static void answer_spam(struct app *a, const struct request *req, struct response *r, bool json,
                        const char *reason)
{
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "reason", json_object_new_string(reason));
	if (req->remote_addr)
		json_object_object_add(data, "remote_addr", json_object_new_string(req->remote_addr));
	int rc = store_begin(a->store);
	if (rc == 0)
		rc = store_event(a->store, NULL, "spam_blocked", req->now_ms,
		                 json_object_to_json_string(data));
	if (rc == 0)
		rc = store_commit(a->store);
	else
		store_rollback(a->store);
	json_object_put(data);
	if (rc != 0)
		logf_(a, "spam_blocked event not stored: %s", store_error(a->store));
	char id[37];
	store_lead_new_id(id);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "lead_id", json_object_new_string(id));
	json_object_object_add(o, "queue", NULL);
	json_object_object_add(o, "owner", NULL);
	json_object_object_add(o, "outcome", json_object_new_string("confirm"));
	json_object_object_add(o, "redirect", json_object_new_string("/confirm"));
	respond_lead(r, json, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static const char *spam_check(struct app *a, const struct request *req, const struct lead *l)
{
	if (a->cfg.honeypot[0]) {
		const char *hp = lead_get(l, a->cfg.honeypot);
		if (hp && hp[0])
			return "honeypot";
	}
	if (a->cfg.min_seconds > 0) {
		enum token_check tc = token_check(a->cfg.secret, a->cfg.secret_len,
		                                  lead_get(l, "form_token"), req->now_ms / 1000,
		                                  a->cfg.min_seconds, TOKEN_MAX_AGE);
		if (tc != TOKEN_OK && tc != TOKEN_EXPIRED)
			return token_check_name(tc);
	}
	return NULL;
}

/* A submission whose idempotency key is already stored: the same payload
 * (a double click, a retry) gets the first answer again; a different one
 * is refused with 422, and the re-shown form carries a fresh key so that
 * sending it again makes a new lead.  Leads stored before fingerprints
 * were kept (NULL) replay. */
static void answer_repeat(struct app *a, const struct request *req, struct response *r,
                          struct lead *l, bool json, const char *stored,
                          const char *stored_fp, const char *fp)
{
	if (!stored_fp || strcmp(stored_fp, fp) == 0) {
		respond_lead(r, json, stored);
		return;
	}
	if (!a->cfg.dry_run && (store_begin(a->store) != 0 ||
	    store_event(a->store, NULL, "idempotency_key_reused", req->now_ms, NULL) != 0 ||
	    store_commit(a->store) != 0)) {
		store_rollback(a->store);
		logf_(a, "idempotency_key_reused event not stored: %s", store_error(a->store));
	}
	struct lead_errors errs = {0};
	lead_errors_add(&errs, "idempotency_key", json
	                ? "this idempotency key was already used for a different submission"
	                : "This form was already sent with other details. Send it again to "
	                  "send these details as a new request.");
	char fresh[37];
	new_idem_key(fresh);
	lead_set(l, "idempotency_key", fresh);
	reshow_form(a, req, r, l, &errs, json);
	lead_errors_free(&errs);
}

/* LEADROUTE_DRY_RUN: the answer the route gives, with no member chosen
 * (rotation is state) and nothing written; a scheduler outcome goes to the
 * first scheduler among the queue's members. */
static void answer_dry_run(struct response *r, bool json, const struct program *p,
                           const struct route *rt)
{
	static const char *const outs[] = { "confirm", "scheduler", "page" };
	const struct queue *q = !rt->drop && rt->queue_id >= 0 ? &p->queues[rt->queue_id] : NULL;
	char redirect[2048] = "/confirm";
	if (rt->outcome == OUT_PAGE && rt->page)
		snprintf(redirect, sizeof redirect, "/%s", rt->page);
	for (size_t m = 0; q && rt->outcome == OUT_SCHEDULER && m < q->n_members; m++)
		if (q->members[m].scheduler) {
			snprintf(redirect, sizeof redirect, "%s", q->members[m].scheduler);
			break;
		}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "lead_id", NULL);
	json_object_object_add(o, "queue", rt->drop ? json_object_new_string("drop")
	                       : q ? json_object_new_string(q->name) : NULL);
	json_object_object_add(o, "owner", rt->owner ? json_object_new_string(rt->owner) : NULL);
	json_object_object_add(o, "outcome", json_object_new_string(outs[rt->outcome]));
	json_object_object_add(o, "redirect", json_object_new_string(redirect));
	json_object_object_add(o, "dry_run", json_object_new_boolean(1));
	respond_lead(r, json, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void handle_lead(struct app *a, const struct request *req, struct response *r)
{
	if (strcmp(req->method, "POST") != 0) {
		r->allow = "POST";
		respond_text(r, 405, "use POST to submit a lead");
		return;
	}
	enum body_kind kind = body_kind_of(req->content_type);
	bool json = wants_json(req, kind);
	if (kind == BODY_UNSUPPORTED) {
		respond_error(r, json, 415, "send application/x-www-form-urlencoded or application/json");
		return;
	}
	if (req->body_too_large) {
		respond_error(r, json, 413, "the submission is too large");
		return;
	}
	if (req->length_mismatch) {
		respond_error(r, json, 400, "the body does not match its Content-Length");
		return;
	}
	struct lead l;
	lead_init(&l);
	char err[256];
	enum body_status bs = kind == BODY_FORM
		? body_parse_form(req->body, req->body_len, &l, err, sizeof err)
		: body_parse_json(req->body, req->body_len, &l, err, sizeof err);
	if (bs != BODY_OK) {
		respond_error(r, json, bs == BODY_TOO_MANY ? 413 : 400, err);
		lead_free(&l);
		return;
	}
	/* idempotency: the header wins over the hidden field */
	const char *idem_in = req->idempotency_key && req->idempotency_key[0]
	                    ? req->idempotency_key : lead_get(&l, "idempotency_key");
	char idem_buf[IDEM_KEY_MAX + 1], fp[IDEM_FINGERPRINT_LEN + 1] = "";
	const char *idem = NULL;
	if (idem_in && idem_in[0]) {
		if (!idem_key_parse(idem_in, idem_buf)) {
			respond_error(r, json, 400,
			              "bad idempotency key: 8 to 128 letters, digits, '-' or '_'");
			lead_free(&l);
			return;
		}
		const char *const skip[] = { "idempotency_key", "form_token", a->cfg.honeypot, NULL };
		if (idem_fingerprint(&l, skip, fp) != 0) {
			logf_(a, "cannot fingerprint a submission (SHA-256 failed)");
			respond_error(r, json, 503, "cannot take leads right now; please try again");
			lead_free(&l);
			return;
		}
		idem = idem_buf;
	}
	if (idem) {
		char *stored = NULL, *stored_fp = NULL;
		int found = store_idem_lookup(a->store, idem, &stored, &stored_fp);
		if (found < 0) {
			logf_(a, "%s", store_error(a->store));
			respond_error(r, json, 503, "cannot take leads right now; please try again");
			lead_free(&l);
			return;
		}
		if (found == 1) {
			answer_repeat(a, req, r, &l, json, stored, stored_fp, fp);
			free(stored);
			free(stored_fp);
			lead_free(&l);
			return;
		}
	}
	const char *spam = spam_check(a, req, &l);
	struct lead_errors errs = {0};
	if (!spam && a->cfg.min_seconds > 0 &&
	    token_check(a->cfg.secret, a->cfg.secret_len, lead_get(&l, "form_token"),
	                req->now_ms / 1000, a->cfg.min_seconds, TOKEN_MAX_AGE) == TOKEN_EXPIRED) {
		/* a form left open overnight is a person, not a bot: ask again
		 * with a fresh token rather than drop the lead */
		lead_errors_add(&errs, "form_token", "this form was open too long; please send it again");
		reshow_form(a, req, r, &l, &errs, json);
		lead_errors_free(&errs);
		lead_free(&l);
		return;
	}
	if (spam) {
		answer_spam(a, req, r, json, spam);
		lead_free(&l);
		return;
	}

	const struct program *p = a->rules->prog;
	struct lead_env env = refdata_env(&a->rd);
	struct account_ctx actx = { .a = a, .now_ms = req->now_ms };
	struct account_lookup lookup = { account_find, &actx };
	env.accounts = &lookup;
	struct lead_facts lf;
	/* normalize, email required: shared with `leadroute replay` (lead.h) */
	lead_normalize_submission(p, &l, &env, &lf, &errs);
	/* the rate limit counts well-formed submissions only: a buyer fixing
	 * a typo is not flooding us */
	if (!errs.n && a->cfg.rate_limit > 0 && req->remote_addr && !a->cfg.dry_run) {
		int64_t n = -1;
		if (store_begin(a->store) == 0) {
			n = store_rate_hit(a->store, req->remote_addr, req->now_ms, RATE_WINDOW_MS);
			if (n < 0 || store_commit(a->store) != 0) {
				store_rollback(a->store);
				n = -1;
			}
		}
		if (n < 0) {
			logf_(a, "rate limit: %s", store_error(a->store));
			respond_error(r, json, 503, "cannot take leads right now; please try again");
			lead_facts_free(&lf);
			lead_errors_free(&errs);
			lead_free(&l);
			return;
		}
		if (n > a->cfg.rate_limit) {
			answer_spam(a, req, r, json, "rate");
			lead_facts_free(&lf);
			lead_errors_free(&errs);
			lead_free(&l);
			return;
		}
	}
	if (errs.n) {
		struct json_object *ev = json_object_new_object(), *fields = json_object_new_array();
		for (size_t i = 0; i < errs.n; i++)
			json_object_array_add(fields, json_object_new_string(errs.v[i].field));
		json_object_object_add(ev, "fields", fields);
		const char *names[32];
		size_t n_names = 0;
		for (size_t i = 0; i < errs.n && n_names < sizeof names / sizeof names[0]; i++)
			names[n_names++] = errs.v[i].field;
		char alert[400] = "";
		if (!a->cfg.dry_run && (store_begin(a->store) != 0 ||
		    store_event(a->store, NULL, "validation_failed", req->now_ms,
		                json_object_to_json_string(ev)) != 0 ||
		    alert_check_validation(a->store, &a->cfg.crm.outbox.alerts, names, n_names,
		                           req->now_ms, alert, sizeof alert) != 0 ||
		    store_commit(a->store) != 0)) {
			store_rollback(a->store);
			logf_(a, "validation_failed event not stored: %s", store_error(a->store));
		} else if (alert[0]) {
			logf_(a, "ALERT: %s", alert);
		}
		json_object_put(ev);
		reshow_form(a, req, r, &l, &errs, json);
		lead_facts_free(&lf);
		lead_errors_free(&errs);
		lead_free(&l);
		return;
	}

	uint32_t rule = tree_eval(a->rules->tree, &lf.facts);
	struct route rt;
	route_resolve(p, rule, &lf.facts, &rt);
	if (a->cfg.dry_run) {
		answer_dry_run(r, json, p, &rt);
		lead_facts_free(&lf);
		lead_errors_free(&errs);
		lead_free(&l);
		return;
	}
	struct store_lead sl = {0};
	store_lead_new_id(sl.id);
	sl.created_ms = req->now_ms;
	sl.email = lf.facts.v[F_EMAIL].text;
	sl.domain = lf.facts.v[F_DOMAIN].present ? lf.facts.v[F_DOMAIN].text : NULL;
	char *fields = lead_fields_json(p, &lf);
	sl.fields_json = fields;
	sl.rule_line = rule == TREE_NO_RULE ? 0 : p->rules[rule].loc.line;
	sl.idem_key = idem;
	sl.idem_fingerprint = idem ? fp : NULL;
	sl.remote_addr = req->remote_addr;
	static const char *const outs[] = { "confirm", "scheduler", "page" };
	sl.outcome = outs[rt.outcome];

	int rc = store_begin(a->store);
	struct assignment as = { .queue_id = rt.queue_id };
	char aerr[256] = "";
	if (rc == 0 && !rt.drop && rt.queue_id >= 0)
		rc = assign_member(p, rt.queue_id, rt.owner, a->store, req->now_ms, &as, aerr,
		                   sizeof aerr);
	if (rt.outcome == OUT_SCHEDULER && !as.scheduler && as.member)
		for (size_t q = 0; q < p->n_queues && !as.scheduler; q++)
			for (size_t m = 0; m < p->queues[q].n_members; m++)
				if (p->queues[q].members[m].scheduler &&
				    strcasecmp(p->queues[q].members[m].who, as.member) == 0)
					as.scheduler = p->queues[q].members[m].scheduler;
	char redirect[2048];
	if (rt.outcome == OUT_SCHEDULER && as.scheduler)
		snprintf(redirect, sizeof redirect, "%s", as.scheduler);
	else if (rt.outcome == OUT_PAGE && rt.page)
		snprintf(redirect, sizeof redirect, "/%s", rt.page);
	else
		snprintf(redirect, sizeof redirect, "/confirm");
	sl.redirect = redirect;
	sl.status = rt.drop ? "dropped" : as.member ? "routed" : "unassigned";
	sl.queue = rt.drop ? "drop" : as.queue_id >= 0 ? p->queues[as.queue_id].name : NULL;
	sl.member = as.member;
	sl.owner = rt.owner;
	struct json_object *resp = json_object_new_object();
	json_object_object_add(resp, "lead_id", json_object_new_string(sl.id));
	json_object_object_add(resp, "queue", sl.queue ? json_object_new_string(sl.queue) : NULL);
	json_object_object_add(resp, "owner", as.member ? json_object_new_string(as.member) : NULL);
	json_object_object_add(resp, "outcome", json_object_new_string(sl.outcome));
	json_object_object_add(resp, "redirect", json_object_new_string(redirect));
	char *resp_text = xstrdup(json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN |
	                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(resp);
	sl.response_json = resp_text;

	if (rc == 0)
		rc = store_lead_insert(a->store, &sl);
	if (rc == 0)
		rc = store_event(a->store, sl.id, "form_submitted", req->now_ms, NULL);
	if (rc == 0) {
		struct json_object *ev = json_object_new_object();
		json_object_object_add(ev, "queue", sl.queue ? json_object_new_string(sl.queue) : NULL);
		json_object_object_add(ev, "member", as.member ? json_object_new_string(as.member) : NULL);
		json_object_object_add(ev, "rule_line", json_object_new_int(sl.rule_line));
		json_object_object_add(ev, "fallbacks", json_object_new_int(as.fallbacks));
		const char *type = rt.drop ? "lead_dropped" : as.member ? "owner_assigned"
		                 : "lead_unassigned";
		rc = store_event(a->store, sl.id, type, req->now_ms, json_object_to_json_string(ev));
		json_object_put(ev);
	}
	if (rc == 0 && !rt.drop && rt.outcome == OUT_SCHEDULER && as.scheduler) {
		struct json_object *ev = json_object_new_object();
		json_object_object_add(ev, "queue", sl.queue ? json_object_new_string(sl.queue) : NULL);
		json_object_object_add(ev, "member", json_object_new_string(as.member));
		rc = store_event(a->store, sl.id, "scheduler_shown", req->now_ms,
		                 json_object_to_json_string(ev));
		json_object_put(ev);
	}
	char alert[400] = "";
	if (rc == 0 && !rt.drop && !as.member && sl.queue) {
		bool raised = false;
		snprintf(alert, sizeof alert, "queue %.64s has no available member: lead %s is "
		         "unassigned (every member away or at capacity?)", sl.queue, sl.id);
		rc = alert_raise(a->store, &a->cfg.crm.outbox.alerts, "queue_no_member", sl.queue,
		                 sl.id, alert, NULL, req->now_ms, &raised);
		if (!raised)
			alert[0] = '\0';
	}
	if (rc == 0 && !rt.drop) {
		char *payload = crm_payload(&sl, fields, &actx);
		int64_t row = 0;
		rc = store_outbox_add(a->store, sl.id, "crm", payload, req->now_ms, &row);
		/* the embedded CRM is a table of this database: written in the
		 * lead's own transaction, it cannot be stored without it */
		if (rc == 0 && a->cfg.crm.crm.kind == CRM_LOCAL) {
			rc = store_crm_local_put(a->store, sl.id, payload, req->now_ms);
			if (rc == 0)
				rc = store_outbox_done(a->store, row, sl.id, sl.id, 0, req->now_ms);
			if (rc == 0)
				rc = store_event(a->store, sl.id, "crm_write_success", req->now_ms,
				                 "{\"crm\":\"local\",\"ms_since_submit\":0}");
		}
		free(payload);
	}
	if (rc == 0)
		rc = store_commit(a->store);
	else
		store_rollback(a->store);
	char *first = NULL, *first_fp = NULL;
	if (rc != 0 && idem && store_idem_lookup(a->store, idem, &first, &first_fp) == 1) {
		/* the same key committed by another process a moment ago */
		answer_repeat(a, req, r, &l, json, first, first_fp, fp);
		free(first);
		free(first_fp);
	} else if (rc != 0) {
		logf_(a, "lead not stored: %s", aerr[0] ? aerr : store_error(a->store));
		respond_error(r, json, 503, "we could not save your request; please try again");
	} else {
		if (alert[0])
			logf_(a, "ALERT: %s", alert);
		respond_lead(r, json, resp_text);
		if (!rt.drop && a->cfg.crm.crm.kind != CRM_LOCAL)
			snprintf(a->last_lead, sizeof a->last_lead, "%s", sl.id);
	}
	free(resp_text);
	free(fields);
	lead_facts_free(&lf);
	lead_errors_free(&errs);
	lead_free(&l);
}

/* ---- signed webhooks: what other systems tell us about a lead ---- */

/* A string member at a path of plain member names ("payload.email"). */
static const char *json_path_str(struct json_object *o, const char *path)
{
	char part[64];
	while (o && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof part)
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, part, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

/* The first of these paths holding a non-empty string. */
static const char *json_first_str(struct json_object *o, const char *const *paths)
{
	for (; *paths; paths++) {
		const char *v = json_path_str(o, *paths);
		if (v && *v)
			return v;
	}
	return NULL;
}

/* Verify, parse and find the lead a webhook names.  Returns the parsed
 * body (caller puts it) with *lead filled, or NULL with r answered. */
static struct json_object *hook_open(struct app *a, const struct request *req,
                                     struct response *r, const char *secret,
                                     struct store_lead_ref *lead)
{
	const char *why;
	if (strcmp(req->method, "POST") != 0) {
		r->allow = "POST";
		respond_error(r, true, 405, "use POST");
		return NULL;
	}
	if (!secret || a->cfg.dry_run) {
		respond_error(r, true, 404, "this webhook is not configured");
		return NULL;
	}
	if (req->body_too_large || req->length_mismatch) {
		respond_error(r, true, 413, "the body is too large or cut short");
		return NULL;
	}
	if (hooksig_verify(secret, req->signature, req->sig_timestamp, req->body, req->body_len,
	                   req->now_ms / 1000, &why) != 0) {
		logf_(a, "webhook %s refused: %s", req->path, why);
		respond_error(r, true, 401, why);
		return NULL;
	}
	struct json_object *o = json_tokener_parse(req->body);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		respond_error(r, true, 400, "the body is not a JSON object");
		return NULL;
	}
	static const char *const ids[] = { "lead_id", "payload.tracking.utm_content", NULL };
	static const char *const emails[] = { "email", "payload.email", NULL };
	const char *id = json_first_str(o, ids), *email = json_first_str(o, emails);
	int got = id || email ? store_lead_find(a->store, id, id ? NULL : email, lead) : 0;
	if (got != 1) {
		if (got < 0)
			logf_(a, "webhook %s: %s", req->path, store_error(a->store));
		respond_error(r, true, got < 0 ? 503 : 404, got < 0 ? "the store cannot be read"
		              : id || email ? "no lead has this lead_id or email"
		              : "name the lead: lead_id or email");
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Store one event about a webhook's lead and answer 200 with it. */
static void hook_store(struct app *a, const struct request *req, struct response *r,
                       const char *lead_id, const char *type, struct json_object *data)
{
	const char *text = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN |
	                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (store_begin(a->store) != 0 ||
	    store_event(a->store, lead_id, type, req->now_ms, text) != 0 ||
	    store_commit(a->store) != 0) {
		store_rollback(a->store);
		logf_(a, "%s event not stored: %s", type, store_error(a->store));
		respond_error(r, true, 503, "not stored; send it again");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "lead_id", json_object_new_string(lead_id));
	json_object_object_add(o, "event", json_object_new_string(type));
	respond_json(r, 200, o);
	json_object_put(o);
}

/* Answer a webhook that changes nothing: 200 with why, or 503. */
static void hook_noop(struct response *r, int64_t seen, const char *why)
{
	if (seen < 0) {
		respond_error(r, true, 503, "the store cannot be read");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "unchanged", json_object_new_string(why));
	respond_json(r, 200, o);
	json_object_put(o);
}

/* POST /booked: the buyer booked a meeting on the scheduler we sent them
 * to.  The lead is named by lead_id (or Calendly's tracking.utm_content)
 * or, failing that, by the invitee's email; the booking's id (booking_id
 * or Calendly's payload.uri) makes a resent webhook count once. */
static void handle_booked(struct app *a, const struct request *req, struct response *r)
{
	struct store_lead_ref lead;
	struct json_object *o = hook_open(a, req, r, a->cfg.scheduler_secret, &lead);
	if (!o)
		return;
	static const char *const bids[] = { "booking_id", "payload.uri", NULL };
	static const char *const starts[] = { "starts_at", "payload.scheduled_event.start_time",
	                                      NULL };
	const char *booking = json_first_str(o, bids), *start = json_first_str(o, starts);
	int64_t seen = booking ? store_event_match(a->store, "meeting_booked", lead.id,
	                                           "booking_id", booking) : 0;
	if (seen != 0) {
		hook_noop(r, seen, "this booking is already recorded");
		json_object_put(o);
		return;
	}
	struct json_object *ev = json_object_new_object();
	json_object_object_add(ev, "queue", lead.queue[0] ? json_object_new_string(lead.queue)
	                       : NULL);
	json_object_object_add(ev, "member", lead.member[0] ? json_object_new_string(lead.member)
	                       : NULL);
	if (booking)
		json_object_object_add(ev, "booking_id", json_object_new_string(booking));
	if (start)
		json_object_object_add(ev, "starts_at", json_object_new_string(start));
	hook_store(a, req, r, lead.id, "meeting_booked", ev);
	json_object_put(ev);
	json_object_put(o);
}

/* POST /owner-changed: the CRM says who owns the lead now ({"lead_id" or
 * "email", "owner"}).  An owner other than the member we assigned (and
 * than the last reassignment seen) is a lead_reassigned event: the
 * routing's first pass was not the final word. */
static void handle_owner_changed(struct app *a, const struct request *req, struct response *r)
{
	struct store_lead_ref lead;
	struct json_object *o = hook_open(a, req, r, a->cfg.crm_hook_secret, &lead);
	if (!o)
		return;
	static const char *const owners[] = { "owner", NULL };
	const char *owner = json_first_str(o, owners);
	if (!owner || strlen(owner) > 254) {
		respond_error(r, true, 400, "name the new owner: owner (an email, as in the rules)");
		json_object_put(o);
		return;
	}
	int64_t seen = store_event_match(a->store, "lead_reassigned", lead.id, "to", owner);
	if (seen != 0 || strcasecmp(owner, lead.member) == 0) {
		hook_noop(r, seen, "the lead already has this owner");
		json_object_put(o);
		return;
	}
	struct json_object *ev = json_object_new_object();
	json_object_object_add(ev, "from", lead.member[0] ? json_object_new_string(lead.member)
	                       : NULL);
	json_object_object_add(ev, "to", json_object_new_string(owner));
	json_object_object_add(ev, "source", json_object_new_string("crm_webhook"));
	json_object_object_add(ev, "queue", lead.queue[0] ? json_object_new_string(lead.queue)
	                       : NULL);
	hook_store(a, req, r, lead.id, "lead_reassigned", ev);
	json_object_put(ev);
	json_object_put(o);
}

int handler_deliver_outbox(struct app *a, int64_t now_ms)
{
	struct outbox_counts k = { .metrics = a->metrics };
	char err[1024];
	int n = 0;
	/* the lead just answered first: the buyer's submit to the CRM is the
	 * path this process exists to make fast */
	if (a->last_lead[0]) {
		n = outbox_deliver_one(a->store, a->crm, &a->cfg.crm.outbox, now_ms, a->last_lead, &k,
		                       err, sizeof err);
		a->last_lead[0] = '\0';
	}
	/* retries are the worker's job (leadroute outbox run or drain), so
	 * that an outage never holds up the processes that answer buyers; a
	 * request that stored nothing claims nothing */
	if (n < 0)
		logf_(a, "%s", err);
	if (k.alert[0])
		logf_(a, "%s", k.alert);
	return n;
}

/* metrics: one answered request into the shared metrics (doc/metrics.md):
 * its count and duration, and for a lead taken (200 or 303: stored,
 * replayed, or spam answered alike) the time since the process began
 * reading it (req->now_ms). */
static void record_request(struct app *a, const struct request *req, enum metrics_endpoint ep,
                           const struct response *resp, uint64_t t0_ns, int64_t t0_wall_ms)
{
	uint64_t ns = metrics_clock_ns() - t0_ns;
	metrics_request(a->metrics, ep, resp->status, ns);
	if (ep == METRICS_EP_LEAD && strcmp(req->method, "POST") == 0 &&
	    (resp->status == 200 || resp->status == 303)) {
		int64_t reading_ms = t0_wall_ms - req->now_ms;
		metrics_submit_to_answer(a->metrics, ns + (reading_ms > 0 ? (uint64_t)reading_ms
		                                                          * 1000000u : 0));
	}
}

/* ---- event sinks (handler.h) ---- */
int handler_run_sinks(struct app *a, int64_t now_ms)
{
	if (!a->sinks.n)
		return 0;
	struct sinks_counts k;
	memset(&k, 0, sizeof k);
	char err[1024];
	int n = sinks_run(a->store, a->sinks.v, a->sinks.n, &a->cfg.crm.outbox, now_ms,
	                  HANDLER_SINK_BATCHES, &k, err, sizeof err);
	for (int i = 0; i < k.n_problems; i++)
		logf_(a, "%s", k.problems[i]);
	if (n < 0)
		logf_(a, "%s", err);
	return n;
}
/* ---- end of event sinks ---- */

void handler_handle(struct app *a, const struct request *req, struct response *resp)
{
	memset(resp, 0, sizeof *resp);
	a->requests++;
	uint64_t t0_ns = metrics_clock_ns();
	int64_t t0_wall_ms = clock_wall_ms();
	const char *path = req->path ? req->path : "";
	const char *last = strrchr(path, '/');
	last = last ? last + 1 : path;
	enum metrics_endpoint ep =
		strcmp(last, "lead") == 0 ? METRICS_EP_LEAD :
		strcmp(last, "event") == 0 ? METRICS_EP_EVENT :
		strcmp(last, "healthz") == 0 ? METRICS_EP_HEALTHZ :
		strcmp(last, "metrics") == 0 ? METRICS_EP_METRICS :
		!*last || strcmp(last, "form") == 0 || strstr(last, ".fcgi") || strstr(last, ".cgi")
		? METRICS_EP_FORM : METRICS_EP_OTHER;
	switch (ep) {
	case METRICS_EP_LEAD: handle_lead(a, req, resp); break;
	case METRICS_EP_EVENT: handle_event(a, req, resp); break;
	case METRICS_EP_HEALTHZ: handle_healthz(a, req, resp); break;
	case METRICS_EP_METRICS: handle_metrics(a, req, resp); break;
	case METRICS_EP_FORM: handle_form(a, req, resp); break;
	default:
		/* the signed webhooks (rare: counted as other) */
		if (strcmp(last, "booked") == 0)
			handle_booked(a, req, resp);
		else if (strcmp(last, "owner-changed") == 0)
			handle_owner_changed(a, req, resp);
		else
			respond_text(resp, 404, "not found");
		break;
	}
	record_request(a, req, ep, resp, t0_ns, t0_wall_ms);
}
