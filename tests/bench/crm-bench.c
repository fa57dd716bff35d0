/* crm-bench - how long a buyer waits for an answer, and how long until the
 * CRM has the lead, with leadroute's design (answer first, then write the
 * CRM through the outbox) against the seed design that awaits the CRM
 * inline before answering.
 *
 * It sets up a struct app from the environment (app_init: LEADROUTE_RULES,
 * LEADROUTE_DB, LEADROUTE_CRM and the connector's settings, exactly as the
 * handler process does) and sends generated leads, one at a time, as JSON
 * POST /lead requests through handler_handle, in two modes:
 *
 *   leadroute  t0 = submit; handler_handle returns: "answered" (the lead is
 *              committed, the answer could go out); then
 *              handler_deliver_outbox, as leadroute.fcgi calls it after
 *              FCGX_Finish_r: "confirmed" (the CRM answered, the outbox row
 *              is settled).  The outbox row is read afterwards (untimed) to
 *              count what the outbox did: done, retry, dead.
 *   inline     the seed design: t0 = submit; crm_lookup_account for the
 *              lead's domain (the live lookup; free-mail leads have no
 *              account and are not looked up, as in the handler), awaited
 *              (within LEADROUTE_CRM_TIMEOUT_MS, like any CRM call);
 *              handler_handle (routes and stores the lead); crm_deliver of
 *              the lead's CRM payload (the outbox row's, so both modes
 *              write the same record), awaited; only then does the buyer
 *              get the answer: "answered" = "confirmed".  Reading the
 *              payload back and marking the row done are left out of the
 *              times.
 *
 * Both modes route from the same account index (run `leadroute accounts
 * sync` first, as production does), so they take the same routes; the
 * inline mode's live lookup is the extra cost of asking the CRM on the
 * request path.  With --mode both (the default) the modes alternate lead by
 * lead (which goes first alternates too), so a change in the machine's load
 * or the CRM's speed falls on both alike; --warmup leads per mode go first
 * and are not counted (the connector's connection, token and owner cache).
 *
 * It prints p50 and p99 of answered and confirmed per mode, the ratios
 * inline / leadroute, the parts (lookup, handler, CRM write) and the
 * figures by kind of lead; --tsv FILE keeps one line per lead, and
 * --report FILE prints the same report from such lines (the lines of
 * several runs put together: tests/bench/crm-bench.sh runs the leads in
 * chunks, each against a freshly started fake CRM).
 * --fake-seed prints the accounts the generated leads use (and their
 * owners) in the fake CRM's seed format (tests/crm/README) and exits;
 * tests/bench/crm-bench.sh seeds the fake with it.
 *
 * A benchmark, not a test: `make check` builds it but never runs it; run it
 * through `make bench-crm` (tests/bench/crm-bench.sh) on an optimized build
 * without sanitizers.  See doc/performance.md.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "crm/crm.h"
#include "handler/handler.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* ---- what the leads look like ---- */

#define N_ACCOUNTS 24
#define N_COMPANIES 400

/* The accounts' owners; tests/bench/crm-bench.sh makes every one of them
 * (and every member of the rules) an owner in the fake CRM. */
static const char *const account_owners[] = {
	"ana@acme.example", "ben@acme.example", "sdr1@acme.example",
	"sdr2@acme.example", "pat@acme.example", "sam@acme.example",
};
#define N_OWNERS (sizeof account_owners / sizeof account_owners[0])

static void account_domain(int i, char *out, size_t size)
{
	snprintf(out, size, "bench-account-%02d.example", i);
}

/* every third account is a customer */
static const char *account_lifecycle(int i)
{
	static const char *const v[] = { "customer", "opportunity", "lead" };
	return v[i % 3];
}

enum kind {
	K_CUSTOMER,     /* an owned domain whose account is a customer */
	K_OWNED,        /* an owned domain, not a customer */
	K_PERSONAL,     /* a free-mail address */
	K_US_BIG,       /* US, more than 200 employees */
	K_CAMX_BIG,     /* CA or MX, more than 200 employees */
	K_PLG,          /* product PLG, or a plan */
	K_OTHER,        /* everything else: the otherwise rule */
	K_N
};
static const char *const kind_names[K_N] = {
	"customer", "owned", "personal", "us_big", "camx_big", "plg", "other",
};
/* how often each kind comes, in percent */
static const int kind_weight[K_N] = { 10, 15, 10, 20, 10, 15, 20 };

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int rnd_below(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

struct lead_spec {
	enum kind kind;
	char first[16], last[16], domain[64], company[64], country[4], product[16], plan[16];
	const char *intent;
	int employees;
	bool website;
	bool lookup;            /* the inline mode asks the CRM (not a free-mail address) */
};

static void lead_make(struct lead_spec *l)
{
	static const char *const first[] = { "Ada", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus",
		"Hana", "Ivan", "Jo", "Kofi", "Lena", "Mia", "Noor", "Omar", "Priya" };
	static const char *const last[] = { "Abe", "Berg", "Costa", "Diaz", "Endo", "Fox", "Gray",
		"Hill", "Ito", "Jones", "Khan", "Lund", "Moss", "Nagy", "Ortiz", "Park" };
	static const char *const freemail[] = { "gmail.com", "outlook.com", "yahoo.com" };
	static const char *const other_countries[] = { "DE", "FR", "GB", "US", "BR", "IN", "JP",
		"AU", "ES", "NL" };
	static const char *const intents[] = { "demo", "contact", "pricing" };

	memset(l, 0, sizeof *l);
	int w = rnd_below(100), k = 0;
	while (k < K_N - 1 && w >= kind_weight[k])
		w -= kind_weight[k++];
	l->kind = (enum kind)k;
	snprintf(l->first, sizeof l->first, "%s", first[rnd_below(16)]);
	snprintf(l->last, sizeof l->last, "%s", last[rnd_below(16)]);
	l->intent = intents[rnd_below(3)];
	l->lookup = true;
	int c = rnd_below(N_COMPANIES);
	snprintf(l->domain, sizeof l->domain, "company-%03d.example", c);
	snprintf(l->company, sizeof l->company, "Company %03d", c);
	snprintf(l->country, sizeof l->country, "%s", other_countries[rnd_below(10)]);
	l->employees = 5 + rnd_below(196);
	l->website = rnd_below(2) == 0;
	switch (l->kind) {
	case K_CUSTOMER:
	case K_OWNED: {
		int a;
		do
			a = rnd_below(N_ACCOUNTS);
		while ((a % 3 == 0) != (l->kind == K_CUSTOMER));
		account_domain(a, l->domain, sizeof l->domain);
		snprintf(l->company, sizeof l->company, "Account %02d", a);
		l->employees = 50 + rnd_below(5000);
		break;
	}
	case K_PERSONAL:
		snprintf(l->domain, sizeof l->domain, "%s", freemail[rnd_below(3)]);
		l->company[0] = '\0';
		l->website = false;
		l->lookup = false;
		break;
	case K_US_BIG:
		snprintf(l->country, sizeof l->country, "US");
		l->employees = 201 + rnd_below(5000);
		break;
	case K_CAMX_BIG:
		snprintf(l->country, sizeof l->country, "%s", rnd_below(2) ? "CA" : "MX");
		l->employees = 201 + rnd_below(5000);
		break;
	case K_PLG:
		if (rnd_below(2))
			snprintf(l->product, sizeof l->product, "PLG");
		else
			snprintf(l->plan, sizeof l->plan, "team");
		l->employees = 5 + rnd_below(150);
		break;
	default:
		break;
	}
}

/* The request body: the same fields in both modes; the email's local part
 * names the mode and the lead, so every lead is a new contact. */
static char *lead_body(const struct lead_spec *l, char mode, int n)
{
	struct buf b = {0}, email = {0};
	buf_printf(&email, "%s.%s.%c%d@%s", l->first, l->last, mode, n, l->domain);
	for (size_t i = 0; i < email.len; i++)
		if (email.data[i] >= 'A' && email.data[i] <= 'Z')
			email.data[i] = (char)(email.data[i] - 'A' + 'a');
	buf_adds(&b, "{\"email\":");
	buf_add_json_str(&b, buf_str(&email));
	buf_adds(&b, ",\"first_name\":");
	buf_add_json_str(&b, l->first);
	buf_adds(&b, ",\"last_name\":");
	buf_add_json_str(&b, l->last);
	if (l->company[0]) {
		buf_adds(&b, ",\"company\":");
		buf_add_json_str(&b, l->company);
	}
	if (l->website)
		buf_printf(&b, ",\"website\":\"https://www.%s/\"", l->domain);
	buf_printf(&b, ",\"country\":\"%s\",\"employees\":%d,\"intent\":\"%s\"", l->country,
	           l->employees, l->intent);
	if (l->product[0])
		buf_printf(&b, ",\"product\":\"%s\"", l->product);
	if (l->plan[0])
		buf_printf(&b, ",\"plan\":\"%s\"", l->plan);
	buf_adds(&b, ",\"message\":\"We would like to see the product.\"}");
	buf_free(&email);
	return buf_take(&b);
}

static void print_fake_seed(void)
{
	struct buf b = {0};
	buf_adds(&b, "{\"fields\":{\"hubspot\":{\"tier\":\"hs_ideal_customer_profile\"}},"
	         "\"owners\":[");
	for (size_t i = 0; i < N_OWNERS; i++)
		buf_printf(&b, "%s{\"email\":\"%s\",\"firstName\":\"Owner\",\"lastName\":\"%zu\"}",
		           i ? "," : "", account_owners[i], i + 1);
	buf_adds(&b, "],\"accounts\":[");
	for (int i = 0; i < N_ACCOUNTS; i++) {
		char d[64];
		account_domain(i, d, sizeof d);
		buf_printf(&b, "%s{\"domain\":\"%s\",\"name\":\"Account %02d\",\"owner\":\"%s\","
		           "\"lifecycle\":\"%s\",\"tier\":\"%s\","
		           "\"modified\":\"2025-01-%02dT00:00:00.000Z\"}",
		           i ? "," : "", d, i, account_owners[(size_t)i % N_OWNERS],
		           account_lifecycle(i), i % 2 ? "mid-market" : "enterprise", 1 + i % 28);
	}
	buf_adds(&b, "]}\n");
	fputs(buf_str(&b), stdout);
	buf_free(&b);
}

/* ---- time ---- */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* Nearest-rank percentile (p in 0..100) of n values; NAN when n is 0. */
static double pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return NAN;
	double *s = xmalloc(n * sizeof *s);
	memcpy(s, v, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_double);
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	double r = s[rank > 0 ? rank - 1 : 0];
	free(s);
	return r;
}

/* ---- one mode's figures ---- */

enum outcome { O_DONE, O_RETRY, O_DEAD, O_NONE, O_ERROR, O_N };
static const char *const outcome_names[O_N] = { "done", "retry", "dead", "none", "error" };

struct sample {
	enum kind kind;
	enum outcome outcome;
	double answered, confirmed;     /* ms since submit; confirmed NAN unless done */
	double lookup, handler, crm;    /* ms: the live lookup (inline), handler_handle, the CRM write */
	int lookup_got;                 /* crm_lookup_account's answer: 1, 0, -1; 2: not asked */
	int http_status;             /* HTTP status of the last CRM answer */
};

struct mode {
	const char *name;
	char tag;                       /* in the email's local part */
	struct sample *s;
	size_t n;
	int outcomes[O_N];
	int lookups[3];                 /* failed, none, found */
	char first_error[512];
};

static void mode_note_error(struct mode *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mode_note_error(struct mode *m, const char *fmt, ...)
{
	if (m->first_error[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->first_error, sizeof m->first_error, fmt, ap);
	va_end(ap);
}

/* ---- the newest outbox row ---- */

struct row_pick {
	const char *lead_id;
	bool found;
	int64_t id;
	char state[16];
	char *payload;
	int http_status;
	char last_error[256];
};

static int pick_row(void *ctx, const struct store_outbox_row *r)
{
	struct row_pick *p = ctx;
	if (strcmp(r->lead_id, p->lead_id) != 0)
		return 0;
	p->found = true;
	p->id = r->id;
	snprintf(p->state, sizeof p->state, "%s", r->state ? r->state : "");
	p->payload = r->payload ? xstrdup(r->payload) : NULL;
	p->http_status = r->http_status;
	snprintf(p->last_error, sizeof p->last_error, "%s", r->last_error ? r->last_error : "");
	return 1;
}

/* The outbox row of lead_id, looked for among the newest rows (the lead
 * was just stored).  0 and *p filled, -1 when it is not there. */
static int find_row(struct store *s, const char *lead_id, struct row_pick *p)
{
	memset(p, 0, sizeof *p);
	p->lead_id = lead_id;
	if (store_outbox_each(s, NULL, 8, pick_row, p) != 0 || !p->found)
		return -1;
	return 0;
}

/* ---- one lead ---- */

struct answer {
	int status;
	char lead_id[64];
};

static void submit(struct app *a, const char *body, const char *idem, struct answer *ans)
{
	struct request req = {
		.method = "POST", .path = "/lead", .content_type = "application/json",
		.accept = "application/json", .idempotency_key = idem, .remote_addr = "127.0.0.1",
		.body = body, .body_len = strlen(body), .now_ms = clock_wall_ms(),
	};
	struct response resp;
	handler_handle(a, &req, &resp);
	ans->status = resp.status;
	ans->lead_id[0] = '\0';
	if (resp.status == 200) {
		struct json_object *o = json_tokener_parse(buf_str(&resp.body)), *id = NULL;
		if (o && json_object_object_get_ex(o, "lead_id", &id) &&
		    json_object_is_type(id, json_type_string))
			snprintf(ans->lead_id, sizeof ans->lead_id, "%s", json_object_get_string(id));
		json_object_put(o);
	}
	buf_free(&resp.body);
}

static void run_leadroute(struct app *a, struct mode *m, const struct lead_spec *l, int n,
                          bool record)
{
	struct sample x = { .kind = l->kind, .confirmed = NAN, .lookup = NAN, .crm = NAN,
	                    .lookup_got = 2 };
	char *body = lead_body(l, m->tag, n), idem[64];
	snprintf(idem, sizeof idem, "crm-bench-%c-%d-%lld", m->tag, n, (long long)getpid());
	struct answer ans;

	double t0 = now_ms();
	submit(a, body, idem, &ans);
	double t1 = now_ms();
	int settled = ans.status == 200 ? handler_deliver_outbox(a, clock_wall_ms()) : 0;
	double t2 = now_ms();

	x.handler = x.answered = t1 - t0;
	x.crm = t2 - t1;
	struct row_pick row = {0};
	if (ans.status != 200 || !ans.lead_id[0]) {
		x.outcome = O_ERROR;
		mode_note_error(m, "lead %d: handler answered %d", n, ans.status);
	} else if (find_row(a->store, ans.lead_id, &row) != 0) {
		x.outcome = O_NONE;     /* dropped: no CRM write owed */
	} else if (strcmp(row.state, "done") == 0) {
		x.outcome = O_DONE;
		x.confirmed = t2 - t0;
	} else {
		x.outcome = strcmp(row.state, "dead") == 0 ? O_DEAD : O_RETRY;
		mode_note_error(m, "lead %d: outbox %s after %d settled, HTTP %d: %s", n, row.state,
		                settled, row.http_status, row.last_error);
	}
	x.http_status = row.http_status;
	free(row.payload);
	free(body);
	if (record) {
		m->outcomes[x.outcome]++;
		m->s[m->n++] = x;
	}
}

static void run_inline(struct app *a, struct mode *m, const struct lead_spec *l, int n,
                       bool record)
{
	struct sample x = { .kind = l->kind, .confirmed = NAN, .lookup = 0, .crm = NAN,
	                    .lookup_got = 2 };
	char *body = lead_body(l, m->tag, n), idem[64];
	snprintf(idem, sizeof idem, "crm-bench-%c-%d-%lld", m->tag, n, (long long)getpid());
	struct answer ans;
	struct crm_result res;
	struct crm_account acc;
	memset(&res, 0, sizeof res);

	double t0 = now_ms();
	if (l->lookup) {
		/* awaited: the seed design waits as long as any CRM call */
		x.lookup_got = crm_lookup_account(a->crm, l->domain, a->cfg.crm.crm.timeout_ms,
		                                  &acc, &res);
		if (x.lookup_got < 0)
			mode_note_error(m, "lead %d: live lookup of %s: %s", n, l->domain, res.message);
	}
	double t1 = now_ms();
	submit(a, body, idem, &ans);
	a->last_lead[0] = '\0';   /* this design has no outbox to run */
	double t2 = now_ms();
	struct row_pick row = {0};
	bool have_row = ans.status == 200 && ans.lead_id[0] &&
	                find_row(a->store, ans.lead_id, &row) == 0 && row.payload;
	double t3 = now_ms();
	if (have_row) {
		memset(&res, 0, sizeof res);
		crm_deliver(a->crm, row.payload, &res);
	}
	double t4 = now_ms();

	x.lookup = t1 - t0;
	x.handler = t2 - t1;
	x.crm = have_row ? t4 - t3 : NAN;
	x.answered = (t2 - t0) + (t4 - t3);
	if (ans.status != 200 || !ans.lead_id[0]) {
		x.outcome = O_ERROR;
		mode_note_error(m, "lead %d: handler answered %d", n, ans.status);
	} else if (!have_row) {
		x.outcome = O_NONE;
	} else if (res.status == CRM_DONE) {
		x.outcome = O_DONE;
		x.confirmed = x.answered;
		/* the design keeps its own record of the write (untimed); it also
		 * keeps the leadroute mode's outbox runs from picking the row up */
		int64_t w = clock_wall_ms();
		if (store_begin(a->store) != 0 ||
		    store_outbox_done(a->store, row.id, ans.lead_id, res.record_id[0] ? res.record_id
		                      : NULL, res.http_status, w) != 0 ||
		    store_commit(a->store) != 0) {
			store_rollback(a->store);
			mode_note_error(m, "lead %d: cannot mark the row done: %s", n,
			                store_error(a->store));
		}
	} else {
		x.outcome = res.status == CRM_DEAD ? O_DEAD : O_RETRY;
		mode_note_error(m, "lead %d: CRM write %s, HTTP %d: %s", n,
		                outcome_names[x.outcome], res.http_status, res.message);
	}
	x.http_status = res.http_status;
	free(row.payload);
	free(body);
	if (record) {
		m->outcomes[x.outcome]++;
		if (x.lookup_got >= -1 && x.lookup_got <= 1)
			m->lookups[x.lookup_got + 1]++;
		m->s[m->n++] = x;
	}
}

/* ---- report ---- */

enum measure { F_ANSWERED, F_CONFIRMED, F_LOOKUP, F_HANDLER, F_CRM };

static double field_of(const struct sample *x, enum measure f)
{
	switch (f) {
	case F_ANSWERED: return x->answered;
	case F_CONFIRMED: return x->confirmed;
	case F_LOOKUP: return x->lookup_got == 2 ? NAN : x->lookup;
	case F_HANDLER: return x->handler;
	default: return x->crm;
	}
}

/* p of field f over the samples of kind k (K_N: all; -1 lookups: only
 * those answered "none", one CRM call), NAN values left out. */
static double stat(const struct mode *m, enum measure f, int k, double p, size_t *count)
{
	double *v = xmalloc((m->n + 1) * sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct sample *x = &m->s[i];
		if (k >= 0 && k < K_N && (int)x->kind != k)
			continue;
		if (k == -1 && x->lookup_got != 0)
			continue;
		if (x->outcome == O_ERROR)
			continue;
		double d = field_of(x, f);
		if (!isnan(d))
			v[n++] = d;
	}
	double r = pct(v, n, p);
	free(v);
	if (count)
		*count = n;
	return r;
}

static void print_ms(double v)
{
	if (isnan(v))
		printf(" %9s", "-");
	else
		printf(" %9.1f", v);
}

static void report(const struct mode *modes, size_t n_modes, const char *crm, FILE *tsv)
{
	printf("%-10s %6s %9s %9s %9s %9s   %s\n", "mode", "leads", "ans p50", "ans p99",
	       "conf p50", "conf p99", "CRM write: done retry dead none error");
	for (size_t i = 0; i < n_modes; i++) {
		const struct mode *m = &modes[i];
		printf("%-10s %6zu", m->name, m->n);
		print_ms(stat(m, F_ANSWERED, K_N, 50, NULL));
		print_ms(stat(m, F_ANSWERED, K_N, 99, NULL));
		print_ms(stat(m, F_CONFIRMED, K_N, 50, NULL));
		print_ms(stat(m, F_CONFIRMED, K_N, 99, NULL));
		printf("   %d %d %d %d %d\n", m->outcomes[O_DONE], m->outcomes[O_RETRY],
		       m->outcomes[O_DEAD], m->outcomes[O_NONE], m->outcomes[O_ERROR]);
	}
	printf("(ms from submit; answered: the buyer could have the answer; confirmed: the CRM "
	       "wrote the lead; p99 is the nearest rank)\n");
	if (n_modes == 2) {
		const struct mode *L = &modes[0], *I = &modes[1];
		printf("\nratio inline/leadroute: answered p50 %.1fx, p99 %.1fx; confirmed p50 "
		       "%.2fx, p99 %.2fx\n",
		       stat(I, F_ANSWERED, K_N, 50, NULL) / stat(L, F_ANSWERED, K_N, 50, NULL),
		       stat(I, F_ANSWERED, K_N, 99, NULL) / stat(L, F_ANSWERED, K_N, 99, NULL),
		       stat(I, F_CONFIRMED, K_N, 50, NULL) / stat(L, F_CONFIRMED, K_N, 50, NULL),
		       stat(I, F_CONFIRMED, K_N, 99, NULL) / stat(L, F_CONFIRMED, K_N, 99, NULL));
		printf("leadroute: confirmed - answered, p50 %.1f ms\n",
		       stat(L, F_CONFIRMED, K_N, 50, NULL) - stat(L, F_ANSWERED, K_N, 50, NULL));
	}
	printf("\nparts, p50 (p99) ms:\n");
	for (size_t i = 0; i < n_modes; i++) {
		const struct mode *m = &modes[i];
		printf("  %-10s handler_handle %.2f (%.2f)", m->name, stat(m, F_HANDLER, K_N, 50, NULL),
		       stat(m, F_HANDLER, K_N, 99, NULL));
		if (m->tag == 'i') {
			size_t none = 0;
			double one = stat(m, F_LOOKUP, -1, 50, &none);
			printf(", live lookup %.1f (%.1f), crm_deliver %.1f (%.1f)\n",
			       stat(m, F_LOOKUP, K_N, 50, NULL), stat(m, F_LOOKUP, K_N, 99, NULL),
			       stat(m, F_CRM, K_N, 50, NULL), stat(m, F_CRM, K_N, 99, NULL));
			printf("  %-10s live lookups: %d found, %d none, %d failed; one CRM call "
			       "(a lookup that found none, %zu) p50 %.1f ms\n", "", m->lookups[2],
			       m->lookups[1], m->lookups[0], none, one);
		} else {
			printf(", handler_deliver_outbox %.1f (%.1f)\n", stat(m, F_CRM, K_N, 50, NULL),
			       stat(m, F_CRM, K_N, 99, NULL));
		}
	}
	printf("\nby kind of lead, p50 ms answered / confirmed (leads):\n  %-10s", "mode");
	for (int k = 0; k < K_N; k++)
		printf(" %17s", kind_names[k]);
	printf("\n");
	for (size_t i = 0; i < n_modes; i++) {
		const struct mode *m = &modes[i];
		printf("  %-10s", m->name);
		for (int k = 0; k < K_N; k++) {
			size_t c = 0;
			double ans = stat(m, F_ANSWERED, k, 50, &c);
			double conf = stat(m, F_CONFIRMED, k, 50, NULL);
			char cell[32];
			if (c == 0)
				snprintf(cell, sizeof cell, "-");
			else
				snprintf(cell, sizeof cell, "%.0f/%.0f (%zu)", ans, conf, c);
			printf(" %17s", cell);
		}
		printf("\n");
	}
	for (size_t i = 0; i < n_modes; i++)
		if (modes[i].first_error[0])
			printf("\n%s: first problem: %s\n", modes[i].name, modes[i].first_error);
	if (tsv) {
		fprintf(tsv, "crm\tmode\tlead\tkind\toutcome\tanswered_ms\tconfirmed_ms\tlookup_ms"
		        "\tlookup\thandler_ms\tcrm_ms\thttp\n");
		for (size_t i = 0; i < n_modes; i++)
			for (size_t j = 0; j < modes[i].n; j++) {
				const struct sample *x = &modes[i].s[j];
				fprintf(tsv, "%s\t%s\t%zu\t%s\t%s\t%.3f\t%.3f\t%.3f\t%d\t%.3f\t%.3f\t%d\n",
				        crm, modes[i].name, j, kind_names[x->kind],
				        outcome_names[x->outcome], x->answered, x->confirmed,
				        field_of(x, F_LOOKUP), x->lookup_got, x->handler, x->crm,
				        x->http_status);
			}
	}
}

/* ---- the report of saved lines (--report) ---- */

static int name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* Read the lines --tsv wrote (headers anywhere are skipped) into
 * modes[0] (leadroute) and modes[1] (inline).  0, or -1 with a message. */
static int read_tsv(const char *path, struct mode modes[2], char *crm, size_t crmlen)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "crm-bench: cannot read '%s': %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap[2] = {0, 0};
	char line[1024];
	long lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof line, fp)) {
		lineno++;
		char *col[12], *save = NULL, *t = strtok_r(line, "\t\n", &save);
		int n = 0;
		while (t && n < 12) {
			col[n++] = t;
			t = strtok_r(NULL, "\t\n", &save);
		}
		if (n == 0 || strcmp(col[0], "crm") == 0)
			continue;
		int m = n == 12 ? (strcmp(col[1], "leadroute") == 0 ? 0
		                   : strcmp(col[1], "inline") == 0 ? 1 : -1) : -1;
		int k = n == 12 ? name_index(kind_names, K_N, col[3]) : -1;
		int o = n == 12 ? name_index(outcome_names, O_N, col[4]) : -1;
		if (m < 0 || k < 0 || o < 0) {
			fprintf(stderr, "crm-bench: %s:%ld: not a line crm-bench --tsv wrote\n", path,
			        lineno);
			rc = -1;
			break;
		}
		snprintf(crm, crmlen, "%s", col[0]);
		struct mode *md = &modes[m];
		md->s = xgrow(md->s, &cap[m], md->n + 1, sizeof *md->s);
		struct sample *x = &md->s[md->n++];
		*x = (struct sample){ .kind = (enum kind)k, .outcome = (enum outcome)o,
		                      .answered = strtod(col[5], NULL),
		                      .confirmed = strtod(col[6], NULL),
		                      .lookup = strtod(col[7], NULL),
		                      .lookup_got = (int)strtol(col[8], NULL, 10),
		                      .handler = strtod(col[9], NULL), .crm = strtod(col[10], NULL),
		                      .http_status = (int)strtol(col[11], NULL, 10) };
		md->outcomes[o]++;
		if (x->lookup_got >= -1 && x->lookup_got <= 1)
			md->lookups[x->lookup_got + 1]++;
	}
	fclose(fp);
	return rc;
}

static int report_file(const char *path)
{
	struct mode modes[2] = { { .name = "leadroute", .tag = 'l' },
	                         { .name = "inline", .tag = 'i' } };
	char crm[32] = "?";
	int bad = 0;
	if (read_tsv(path, modes, crm, sizeof crm) != 0) {
		bad = 2;
	} else {
		struct mode *use = modes;
		size_t n = 2;
		if (modes[0].n == 0) {
			use = &modes[1];
			n = 1;
		} else if (modes[1].n == 0) {
			n = 1;
		}
		printf("crm-bench: CRM %s, %zu leads leadroute, %zu inline (all the runs in the "
		       "file)\n\n", crm, modes[0].n, modes[1].n);
		report(use, n, crm, NULL);
		for (size_t i = 0; i < 2; i++)
			bad += modes[i].outcomes[O_ERROR] + modes[i].outcomes[O_DEAD] +
			       modes[i].outcomes[O_RETRY];
	}
	free(modes[0].s);
	free(modes[1].s);
	return bad > 1 ? 2 : bad;
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: crm-bench [--leads N] [--warmup W] [--mode both|leadroute|inline]\n"
	        "                 [--seed S] [--tsv FILE]\n"
	        "       crm-bench --fake-seed\n"
	        "       crm-bench --report FILE\n"
	        "Sends N generated leads per mode through handler_handle (POST /lead, JSON)\n"
	        "with the app set up from the environment (LEADROUTE_RULES, LEADROUTE_DB,\n"
	        "LEADROUTE_CRM and its settings, LEADROUTE_WWW, LEADROUTE_FREEMAIL), and\n"
	        "reports submit -> answered and submit -> CRM confirmed (p50, p99) for\n"
	        "leadroute (answer, then the outbox) and for the inline design (live lookup\n"
	        "and CRM write awaited before the answer).  LEADROUTE_SPAM_MIN_SECONDS and\n"
	        "LEADROUTE_RATE_LIMIT default to 0 here.  --fake-seed prints the accounts\n"
	        "the leads use, in the fake CRM's seed format; --report FILE prints the\n"
	        "report of the lines --tsv wrote (of one or more runs).  Defaults: 200\n"
	        "leads, 10 warm-up leads, both modes.\n");
}

int main(int argc, char **argv)
{
	long n_leads = 200, warmup = 10;
	uint64_t seed = 20261125;
	const char *mode = "both", *tsv_path = NULL;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(o, "--fake-seed") == 0) {
			print_fake_seed();
			return 0;
		} else if (!v) {
			usage(stderr);
			return 2;
		} else if (strcmp(o, "--leads") == 0) {
			n_leads = strtol(v, NULL, 10);
		} else if (strcmp(o, "--warmup") == 0) {
			warmup = strtol(v, NULL, 10);
		} else if (strcmp(o, "--mode") == 0) {
			mode = v;
		} else if (strcmp(o, "--seed") == 0) {
			seed = strtoull(v, NULL, 10);
		} else if (strcmp(o, "--tsv") == 0) {
			tsv_path = v;
		} else if (strcmp(o, "--report") == 0) {
			return report_file(v);
		} else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	bool do_l = strcmp(mode, "both") == 0 || strcmp(mode, "leadroute") == 0;
	bool do_i = strcmp(mode, "both") == 0 || strcmp(mode, "inline") == 0;
	if (n_leads < 1 || n_leads > 1000000 || warmup < 0 || warmup > 100000 || !(do_l || do_i)) {
		usage(stderr);
		return 2;
	}
	setenv("LEADROUTE_SPAM_MIN_SECONDS", "0", 0);
	setenv("LEADROUTE_RATE_LIMIT", "0", 0);

	struct app a;
	char err[1024];
	if (app_init(&a, err, sizeof err) != 0) {
		fprintf(stderr, "crm-bench: %s\n", err);
		return 2;
	}
	if (a.cfg.dry_run || a.cfg.min_seconds > 0 || a.cfg.rate_limit > 0) {
		fprintf(stderr, "crm-bench: run it with LEADROUTE_DRY_RUN, LEADROUTE_SPAM_MIN_SECONDS "
		        "and LEADROUTE_RATE_LIMIT off (0)\n");
		app_free(&a);
		return 2;
	}
	FILE *tsv = NULL;
	if (tsv_path && !(tsv = fopen(tsv_path, "w"))) {
		fprintf(stderr, "crm-bench: cannot write '%s': %s\n", tsv_path, strerror(errno));
		app_free(&a);
		return 2;
	}

	struct mode modes[2];
	size_t n_modes = 0;
	if (do_l)
		modes[n_modes++] = (struct mode){ .name = "leadroute", .tag = 'l' };
	if (do_i)
		modes[n_modes++] = (struct mode){ .name = "inline", .tag = 'i' };
	for (size_t i = 0; i < n_modes; i++)
		modes[i].s = xcalloc((size_t)n_leads, sizeof *modes[i].s);

	double loads[3] = {0};
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (fscanf(la, "%lf %lf %lf", &loads[0], &loads[1], &loads[2]) != 3)
			loads[0] = -1;
		fclose(la);
	}
	printf("crm-bench: CRM %s, %ld leads per mode (+%ld warm-up), %s, seed %" PRIu64 "\n",
	       crm_name(a.crm), n_leads, warmup,
	       n_modes == 2 ? "modes alternating lead by lead" : mode, seed);
	printf("machine: %ld cpus, load average %.2f %.2f %.2f; CRM timeout %d ms "
	       "(the inline lookup's too), LEADROUTE_SYNC %s\n\n", sysconf(_SC_NPROCESSORS_ONLN),
	       loads[0], loads[1], loads[2], a.cfg.crm.crm.timeout_ms, a.cfg.sync == STORE_SYNC_GROUP ? "group" : a.cfg.sync == STORE_SYNC_FULL ? "full"
	       : "normal");
	fflush(stdout);

	rng_state = seed;
	double t_start = now_ms();
	for (long i = -warmup; i < n_leads; i++) {
		struct lead_spec l;
		lead_make(&l);
		bool record = i >= 0;
		int n = (int)(i + warmup);
		for (size_t j = 0; j < n_modes; j++) {
			/* alternate which mode goes first */
			struct mode *m = &modes[(j + (size_t)(n % 2)) % n_modes];
			if (m->tag == 'l')
				run_leadroute(&a, m, &l, n, record);
			else
				run_inline(&a, m, &l, n, record);
		}
		if (record && (i + 1) % 50 == 0) {
			fprintf(stderr, "crm-bench: %ld/%ld leads, %.0f s\n", i + 1, n_leads,
			        (now_ms() - t_start) / 1000);
		}
	}
	report(modes, n_modes, crm_name(a.crm), tsv);

	int bad = 0;
	for (size_t i = 0; i < n_modes; i++)
		bad += modes[i].outcomes[O_ERROR] + modes[i].outcomes[O_DEAD] +
		       modes[i].outcomes[O_RETRY];
	for (size_t i = 0; i < n_modes; i++)
		free(modes[i].s);
	if (tsv && fclose(tsv) != 0) {
		fprintf(stderr, "crm-bench: cannot write '%s'\n", tsv_path);
		bad++;
	}
	app_free(&a);
	return bad ? 1 : 0;
}
