/* outbox - claim, deliver, settle (see outbox.h).
 * Must never hold a transaction across crm_deliver, never settle a row
 * whose claim it did not make, and never drop a row without recording why.
 */
#include "outbox/outbox.h"
#include "metrics/metrics.h"
#include "util/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/rand.h>

int64_t outbox_backoff_ms(const struct outbox_policy *p, int attempts, int64_t retry_after_ms,
                          uint32_t rnd)
{
	int64_t d = p->backoff_base_ms;
	for (int i = 1; i < attempts && d < p->backoff_cap_ms; i++)
		d *= 2;
	if (d > p->backoff_cap_ms)
		d = p->backoff_cap_ms;
	int64_t half = d / 2;
	d = half + (half > 0 ? (int64_t)(rnd % (uint64_t)(half + 1)) : 0);
	return d < retry_after_ms ? retry_after_ms : d;
}

static uint32_t jitter(void)
{
	uint32_t r = 0;
	/* the jitter only spreads retries; a failure leaves it 0 (no jitter) */
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = 0;
	return r;
}

static const char *event_data(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                         JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Whatever the outcome, a CRM whose rate-limit headers said its budget is
 * spent is paused for every process, before anyone earns the 429. */
static int pause_for_budget(struct store *s, const char *crm, const struct crm_result *res,
                            int64_t now_ms)
{
	if (res->pause_ms <= 0)
		return 0;
	if (store_crm_pause(s, crm, now_ms + res->pause_ms, res->pause_why) != 0)
		return -1;
	struct json_object *ev = json_object_new_object();
	json_object_object_add(ev, "crm", json_object_new_string(crm));
	json_object_object_add(ev, "pause_ms", json_object_new_int64(res->pause_ms));
	json_object_object_add(ev, "why", json_object_new_string(res->pause_why));
	int rc = store_event(s, NULL, "crm_paused", now_ms, event_data(ev));
	json_object_put(ev);
	return rc;
}

/* Record the outcome of one delivery in one transaction. */
static int settle(struct store *s, struct crm *c, const struct outbox_policy *p,
                  const struct store_outbox_row *row, const struct crm_result *res,
                  int64_t now_ms, struct outbox_counts *counts)
{
	const char *crm = crm_name(c);
	struct json_object *ev = json_object_new_object();
	json_object_object_add(ev, "crm", json_object_new_string(crm));
	json_object_object_add(ev, "attempt", json_object_new_int(row->attempts));
	if (res->http_status)
		json_object_object_add(ev, "http_status", json_object_new_int(res->http_status));
	int rc = store_begin(s);
	bool too_old = now_ms - row->created_ms >= p->max_age_ms;
	if (rc == 0 && res->status == CRM_DONE) {
		json_object_object_add(ev, "record_id", json_object_new_string(res->record_id));
		json_object_object_add(ev, "ms_since_submit",
		                       json_object_new_int64(now_ms - row->created_ms));
		rc = store_outbox_done(s, row->id, row->lead_id, res->record_id[0] ? res->record_id
		                       : NULL, res->http_status, now_ms);
		if (rc == 0)
			rc = store_event(s, row->lead_id, "crm_write_success", now_ms, event_data(ev));
		if (rc == 0)
			rc = pause_for_budget(s, crm, res, now_ms);
		counts->done++;
	} else if (rc == 0 && res->status == CRM_RETRY && row->attempts < p->max_attempts &&
	           !too_old) {
		int64_t wait = outbox_backoff_ms(p, row->attempts, res->retry_after_ms, jitter());
		json_object_object_add(ev, "error", json_object_new_string(res->message));
		json_object_object_add(ev, "retry_in_ms", json_object_new_int64(wait));
		rc = store_outbox_retry(s, row->id, now_ms + wait, res->message, res->http_status,
		                        now_ms);
		/* a rate limit holds for every process talking to this CRM, and
		 * so does an outage */
		if (rc == 0 && res->retry_after_ms > 0)
			rc = store_crm_pause(s, crm, now_ms + res->retry_after_ms, res->message);
		else if (rc == 0 && res->http_status == 0 && res->pause_ms == 0)
			rc = store_crm_pause(s, crm, now_ms + OUTBOX_UNREACHABLE_PAUSE_MS, res->message);
		if (rc == 0)
			rc = pause_for_budget(s, crm, res, now_ms);
		if (rc == 0)
			rc = store_event(s, row->lead_id, "crm_write_failure", now_ms, event_data(ev));
		char alert[320];
		if (rc == 0)
			rc = alert_check_crm_failures(s, &p->alerts, crm, now_ms, alert, sizeof alert);
		if (rc == 0 && alert[0])
			snprintf(counts->alert, sizeof counts->alert, "ALERT: %.300s", alert);
		counts->retried++;
	} else if (rc == 0) {
		char why[700];
		if (res->status == CRM_RETRY)
			snprintf(why, sizeof why, "%s (gave up after %d attempts%s)", res->message,
			         row->attempts, too_old ? " and too long" : "");
		else
			snprintf(why, sizeof why, "%s", res->message);
		json_object_object_add(ev, "error", json_object_new_string(why));
		rc = store_outbox_dead(s, row->id, row->lead_id, why, res->http_status, now_ms);
		if (rc == 0)
			rc = store_event(s, row->lead_id, "dead_lettered", now_ms, event_data(ev));
		bool raised = false;
		char alert[640];
		snprintf(alert, sizeof alert, "lead %.40s dead-lettered by %.20s: %.480s; fix the cause, then "
		         "`leadroute outbox retry`", row->lead_id, crm, why);
		if (rc == 0)
			rc = alert_raise(s, &p->alerts, "crm_dead_letter", crm, row->lead_id, alert, ev,
			                 now_ms, &raised);
		if (rc == 0 && raised)
			snprintf(counts->alert, sizeof counts->alert, "ALERT: %.300s", alert);
		if (rc == 0)
			rc = pause_for_budget(s, crm, res, now_ms);
		counts->dead++;
	}
	json_object_put(ev);
	if (rc == 0)
		rc = store_commit(s);
	else
		store_rollback(s);
	return rc;
}

/* The shared metrics of one settled delivery (counts->metrics, when set):
 * the CRM call's duration by how the row was settled, and for a success
 * the time from the buyer's submit (crm_write_success's ms_since_submit). */
static void record_delivery(const struct outbox_counts *counts, enum metrics_crm_result r,
                            const char *crm, uint64_t call_ns, int64_t ms_since_submit)
{
	if (!counts->metrics)
		return;
	metrics_crm_call(counts->metrics, crm, r, call_ns);
	if (r == METRICS_CRM_DONE)
		metrics_submit_to_crm_confirmed(counts->metrics, ms_since_submit > 0
		                                ? (uint64_t)ms_since_submit * 1000000u : 0);
}

int outbox_deliver_one(struct store *s, struct crm *c, const struct outbox_policy *p,
                       int64_t now_ms, const char *lead_id, struct outbox_counts *counts,
                       char *err, size_t errlen)
{
	int64_t paused = store_crm_paused_until(s, crm_name(c));
	if (paused < 0) {
		snprintf(err, errlen, "outbox: %s", store_error(s));
		return -1;
	}
	if (paused > now_ms) {
		counts->paused_until = paused;
		return 0;
	}
	struct store_outbox_row row;
	int got = store_begin(s);
	if (got == 0)
		got = store_outbox_claim(s, now_ms, p->lease_ms, lead_id, &row);
	if (got == 1 && store_commit(s) != 0) {
		store_outbox_row_free(&row);
		got = -1;
	} else if (got != 1) {
		store_rollback(s);
	}
	if (got <= 0) {
		if (got < 0)
			snprintf(err, errlen, "outbox: %s", store_error(s));
		return got;
	}
	struct crm_result res;
	int64_t t0 = clock_mono_ms();
	uint64_t call0 = metrics_clock_ns();
	crm_deliver(c, row.payload, &res);
	uint64_t call_ns = metrics_clock_ns() - call0;
	int64_t done_ms = now_ms + (clock_mono_ms() - t0);
	int done_before = counts->done, retried_before = counts->retried;
	int rc = settle(s, c, p, &row, &res, done_ms, counts);
	if (rc != 0)
		snprintf(err, errlen, "outbox: lead %s: %s", row.lead_id, store_error(s));
	else
		record_delivery(counts, counts->done > done_before ? METRICS_CRM_DONE
		                : counts->retried > retried_before ? METRICS_CRM_RETRY
		                : METRICS_CRM_DEAD, crm_name(c), call_ns, done_ms - row.created_ms);
	store_outbox_row_free(&row);
	return rc == 0 ? 1 : -1;
}

int outbox_drain(struct store *s, struct crm *c, const struct outbox_policy *p, int64_t now_ms,
                 int max, struct outbox_counts *counts, char *err, size_t errlen)
{
	int n = 0;
	int64_t t0 = clock_mono_ms();
	while (n < max) {
		int got = outbox_deliver_one(s, c, p, now_ms + (clock_mono_ms() - t0), NULL, counts, err,
		                             errlen);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		n++;
	}
	return n;
}
