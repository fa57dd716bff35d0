/* sinks - claim a sink's cursor, send its next batch, settle (sinks.h);
 * and the configured list of sinks.
 * Must never hold a transaction across a send, never move a cursor past an
 * event the sink did not take without recording it in sink_dead, and never
 * put a secret into an event, a stored error or a message.
 */
#include "events/sinks.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "events/forward.h"
#include "events/jsonl.h"
#include "notify/email.h"
#include "notify/slack.h"
#include "handler/config.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* events read per batch at most, wanted or not: skipping the events a sink
 * does not want costs one read per this many */
#define SCAN_MIN 1000

static uint32_t jitter(void)
{
	uint32_t r = 0;
	/* the jitter only spreads retries; a failure leaves it 0 (no jitter) */
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = 0;
	return r;
}

/* One batch read from the store: the events to send (borrowed from rows)
 * and how far the cursor moves when they are settled. */
struct batch {
	struct store_event_row *rows;   /* owned */
	size_t n_rows;
	struct sink_event *ev;          /* owned array; strings borrowed from rows */
	size_t n;
	int64_t upto;                   /* the cursor after this batch */
	int skipped;                    /* unwanted events passed over */
};

static void batch_free(struct batch *b)
{
	store_event_rows_free(b->rows, b->n_rows);
	free(b->ev);
	memset(b, 0, sizeof *b);
}

static int batch_read(struct store *s, struct sink *sk, int64_t last_id, struct batch *b)
{
	memset(b, 0, sizeof *b);
	b->upto = last_id;
	int scan = sk->max_batch > SCAN_MIN ? sk->max_batch : SCAN_MIN;
	if (store_events_after(s, last_id, scan, &b->rows, &b->n_rows) != 0)
		return -1;
	b->ev = xcalloc(b->n_rows ? b->n_rows : 1, sizeof *b->ev);
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct store_event_row *r = &b->rows[i];
		bool want = !sk->wants || sk->wants(sk, r->type);
		if (want && b->n == (size_t)sk->max_batch)
			break;
		if (want)
			b->ev[b->n++] = (struct sink_event){ r->id, r->lead_id, r->type, r->at_ms,
			                                     r->data };
		else
			b->skipped++;
		b->upto = r->id;
	}
	return 0;
}

static const char *json_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                         JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The alert after SINKS_ALERT_AFTER failed sends in a row. */
static int alert_failures(struct store *s, const struct sink *sk, int attempts,
                          const struct sink_result *res, int64_t now_ms)
{
	struct json_object *o = json_object_new_object();
	char msg[700];
	snprintf(msg, sizeof msg, "%s: %d sends in a row failed: %s", sk->name, attempts,
	         res->message);
	json_object_object_add(o, "alert", json_object_new_string("sink_failures"));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "sink", json_object_new_string(sk->name));
	json_object_object_add(o, "attempts", json_object_new_int(attempts));
	if (res->http_status)
		json_object_object_add(o, "http_status", json_object_new_int(res->http_status));
	int rc = store_event(s, NULL, "alert", now_ms, json_text(o));
	json_object_put(o);
	return rc;
}

/* Keep only the dead ids that are in the batch (a sink's mistake must not
 * record events it was never given). */
static void check_dead(const struct batch *b, struct sink_result *res)
{
	size_t k = 0;
	if (res->n_dead > SINK_MAX_DEAD)
		res->n_dead = SINK_MAX_DEAD;
	for (size_t i = 0; i < res->n_dead; i++) {
		for (size_t j = 0; j < b->n; j++) {
			if (b->ev[j].id == res->dead[i]) {
				res->dead[k++] = res->dead[i];
				break;
			}
		}
	}
	res->n_dead = k;
}

/* Record the outcome of one send in one transaction.  Returns 0, 1 when
 * the lease was lost meanwhile (a send longer than the lease: another
 * runner took the cursor, and its settle counts), or -1. */
static int settle(struct store *s, struct sink *sk, const struct outbox_policy *p,
                  const struct store_sink_cursor *cur, const struct batch *b,
                  struct sink_result *res, int64_t now_ms, struct sinks_counts *k)
{
	int rc = store_begin(s);
	if (rc != 0)
		return -1;
	struct store_sink_cursor held;
	int got = store_sink_peek(s, sk->name, &held);
	if (got != 1 || held.lease_ms != cur->lease_ms) {
		store_rollback(s);
		return got < 0 ? -1 : 1;
	}
	enum sink_status st = b->n ? res->status : SINK_DONE;
	char why[700];
	if (st == SINK_RETRY && cur->attempts >= p->max_attempts) {
		snprintf(why, sizeof why, "%.440s (gave up after %d attempts)", res->message,
		         cur->attempts);
		snprintf(res->message, sizeof res->message, "%.500s", why);
		st = SINK_DEAD;
	}
	if (st == SINK_DONE) {
		for (size_t i = 0; rc == 0 && i < res->n_dead; i++)
			rc = store_sink_dead_add(s, sk->name, res->dead[i], res->message, now_ms);
		if (rc == 0)
			rc = store_sink_advance(s, sk->name, b->upto, now_ms);
	} else if (st == SINK_RETRY) {
		int64_t wait = outbox_backoff_ms(p, cur->attempts, res->retry_after_ms, jitter());
		rc = store_sink_retry(s, sk->name, now_ms + wait, res->message, now_ms);
		if (rc == 0 && cur->attempts == SINKS_ALERT_AFTER)
			rc = alert_failures(s, sk, cur->attempts, res, now_ms);
	} else {
		for (size_t i = 0; rc == 0 && i < b->n; i++)
			rc = store_sink_dead_add(s, sk->name, b->ev[i].id, res->message, now_ms);
		if (rc == 0)
			rc = store_sink_advance(s, sk->name, b->upto, now_ms);
	}
	if (rc == 0)
		rc = store_commit_relaxed(s);
	else
		store_rollback(s);
	if (rc != 0)
		return -1;
	k->batches++;
	k->skipped += b->skipped;
	if (st == SINK_DONE) {
		k->sent += (int)(b->n - res->n_dead);
		k->dead += (int)res->n_dead;
	} else if (st == SINK_DEAD) {
		k->dead += (int)b->n;
	} else {
		k->retried++;
	}
	if ((st != SINK_DONE || res->n_dead) && k->n_problems < SINKS_MAX_PROBLEMS)
		snprintf(k->problems[k->n_problems++], sizeof k->problems[0], "sink %s: %.600s",
		         sk->name, res->message);
	return 0;
}

/* Whether sink name may have work at now_ms, read without a lock: its
 * cursor due, not leased, and behind the last event.  1, 0 or -1. */
static int has_work(struct store *s, const char *name, int64_t now_ms, int64_t last_event)
{
	struct store_sink_cursor c = {0};
	int got = store_sink_peek(s, name, &c);
	if (got < 0)
		return -1;
	return c.due_ms <= now_ms && c.lease_ms <= now_ms && c.last_id < last_event;
}

/* One batch of sk: 1 when one was settled, 0 when there is nothing to do,
 * -1 on a store error. */
static int run_one(struct store *s, struct sink *sk, const struct outbox_policy *p,
                   int64_t now_ms, struct sinks_counts *k)
{
	int64_t last_event = store_event_last_id(s);
	if (last_event < 0)
		return -1;
	int work = has_work(s, sk->name, now_ms, last_event);
	if (work <= 0)
		return work;
	struct store_sink_cursor cur;
	int got = store_begin(s);
	if (got == 0)
		got = store_sink_claim(s, sk->name, now_ms, p->lease_ms, &cur);
	if (got == 1 && store_commit_relaxed(s) != 0)
		got = -1;
	else if (got != 1)
		store_rollback(s);
	if (got <= 0)
		return got;
	struct batch b;
	if (batch_read(s, sk, cur.last_id, &b) != 0)
		return -1;   /* the lease ends by itself */
	struct sink_result res;
	memset(&res, 0, sizeof res);
	res.status = SINK_DONE;
	int64_t t0 = clock_mono_ms();
	if (b.n)
		sk->send(sk, b.ev, b.n, &res);
	if (res.status == SINK_DONE)
		check_dead(&b, &res);
	int rc = settle(s, sk, p, &cur, &b, &res, now_ms + (clock_mono_ms() - t0), k);
	batch_free(&b);
	return rc < 0 ? -1 : rc == 0 ? 1 : 0;
}

int sinks_run(struct store *s, struct sink *const *sinks, size_t n,
              const struct outbox_policy *p, int64_t now_ms, int max_batches,
              struct sinks_counts *counts, char *err, size_t errlen)
{
	int settled = 0;
	int64_t t0 = clock_mono_ms();
	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < max_batches; j++) {
			int got = run_one(s, sinks[i], p, now_ms + (clock_mono_ms() - t0), counts);
			if (got < 0) {
				snprintf(err, errlen, "sink %s: %s", sinks[i]->name,
				         store_error(s));
				return -1;
			}
			if (got == 0)
				break;
			settled++;
		}
	}
	return settled;
}

/* ---- the configured list ---- */

static void list_add(struct sink_list *l, struct sink *sk)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = sk;
}

void sink_list_free(struct sink_list *l)
{
	for (size_t i = 0; l->v && i < l->n; i++)
		l->v[i]->close(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* LEADROUTE_SINK_TIMEOUT_MS: 0 and *ms, or -1 with err filled. */
static int timeout_setting(int *ms, char *err, size_t errlen)
{
	bool failed;
	char *v = config_get("LEADROUTE_SINK_TIMEOUT_MS", err, errlen, &failed);
	*ms = SINKS_DEFAULT_TIMEOUT_MS;
	if (failed)
		return -1;
	if (!v)
		return 0;
	char *end;
	long n = strtol(v, &end, 10);
	int rc = 0;
	if (!*v || *end || n < 100 || n > 600000) {
		snprintf(err, errlen, "LEADROUTE_SINK_TIMEOUT_MS: '%s' is not a number of "
		         "milliseconds from 100 to 600000", v);
		rc = -1;
	} else {
		*ms = (int)n;
	}
	free(v);
	return rc;
}

int sinks_open_from_env(struct store *s, struct sink_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	int timeout_ms;
	if (timeout_setting(&timeout_ms, err, errlen) != 0)
		return -1;
	bool failed;
	char *path = config_get("LEADROUTE_EVENTS_FILE", err, errlen, &failed);
	if (failed)
		return -1;
	if (path && *path) {
		struct sink *sk = jsonl_sink_open(path, err, errlen);
		if (!sk) {
			free(path);
			return -1;
		}
		list_add(out, sk);
	}
	free(path);
	struct sink *fw[FORWARD_KINDS];
	size_t n_fw = 0;
	if (forward_open_from_env(s, timeout_ms, fw, &n_fw, err, errlen) != 0) {
		sink_list_free(out);
		return -1;
	}
	for (size_t i = 0; i < n_fw; i++)
		list_add(out, fw[i]);

	/* the notification sinks (src/notify): each is on when its settings
	 * are there (NULL with err empty when they are not) */
	struct sink *(*const notify[])(struct store *, char *, size_t) = {
		slack_notice_open, slack_alert_open, email_notice_open,
	};
	for (size_t i = 0; i < sizeof notify / sizeof notify[0]; i++) {
		err[0] = '\0';
		struct sink *sk = notify[i](s, err, errlen);
		if (!sk && err[0]) {
			sink_list_free(out);
			return -1;
		}
		if (sk)
			list_add(out, sk);
	}

	return 0;
}
