/* outbox - deliver routed leads to the CRM until each is written once.
 *
 * The lead's transaction put one outbox row next to the lead; this module
 * takes due rows one at a time and hands them to the connector (crm.h):
 *   claim   in a short transaction: the row is leased to this process, so
 *           no other deliverer takes it while the CRM call runs, and comes
 *           back by itself if this process dies;
 *   deliver outside any transaction (a network call must never hold the
 *           database's write lock);
 *   settle  in a second transaction: done; or retry later (exponential
 *           backoff with jitter, never sooner than the CRM's Retry-After);
 *           or dead-lettered at once for a permanent error, or after
 *           policy.max_attempts or policy.max_age_ms, with an `alert` event.
 * A 429 (or Salesforce's 403 REQUEST_LIMIT_EXCEEDED) pauses the whole CRM
 * for every process (store_crm_pause) until the time it asked for; a CRM
 * that does not answer at all (refused, reset, timed out) pauses it for
 * OUTBOX_UNREACHABLE_PAUSE_MS, so an outage costs the backlog one attempt
 * every few seconds, not one attempt per row as fast as connections fail.
 * Every step is an event: crm_write_success, crm_write_failure (retried),
 * dead_lettered, alert.  Delivering a row twice (a lease that ran out,
 * a crash after the CRM answered) is harmless because every connector
 * writes idempotently; losing one is impossible because a row leaves the
 * pending state only in the transaction that records why.
 *
 * Never holds a transaction open across a CRM call; never marks a row done
 * without the connector's CRM_DONE.
 */
#ifndef LR_OUTBOX_H
#define LR_OUTBOX_H

#include <stdint.h>

#include "alert/alert.h"
#include "crm/crm.h"
#include "store/store.h"

struct metrics;   /* metrics/metrics.h */

#define OUTBOX_UNREACHABLE_PAUSE_MS 5000

struct outbox_policy {
	int max_attempts;          /* LEADROUTE_OUTBOX_MAX_ATTEMPTS, default 100 */
	int64_t max_age_ms;        /* LEADROUTE_OUTBOX_MAX_AGE_HOURS, default 72 h */
	int64_t backoff_base_ms;   /* first retry after about this long: 2 s */
	int64_t backoff_cap_ms;    /* longest wait between tries: 1 h */
	int64_t lease_ms;          /* how long a claimed row stays taken */
	struct alert_policy alerts;/* dead letters and bursts of failures (alert.h) */
};

/* The defaults (an inline function, so that reading settings does not
 * link the outbox in): 100 attempts (with waits doubling from 2 s to the
 * 1 h cap, about 90 hours: the age limit comes first), 72 hours, and a
 * lease long enough for a CRM call, its token refresh and its one retry. */
static inline void outbox_policy_default(struct outbox_policy *p, int crm_timeout_ms)
{
	p->max_attempts = 100;
	p->max_age_ms = 72LL * 3600 * 1000;
	p->backoff_base_ms = 2000;
	p->backoff_cap_ms = 3600LL * 1000;
	p->lease_ms = 4LL * (crm_timeout_ms > 0 ? crm_timeout_ms : 10000) + 30000;
	alert_policy_default(&p->alerts);
}

/* How long to wait after attempt number `attempts` failed: base * 2^(n-1),
 * at most the cap, with "equal jitter" (half fixed, half random from rnd),
 * and never less than retry_after_ms. */
int64_t outbox_backoff_ms(const struct outbox_policy *p, int attempts, int64_t retry_after_ms,
                          uint32_t rnd);

struct outbox_counts {
	int done, retried, dead;
	int64_t paused_until;      /* the CRM is paused: nothing was tried */
	char alert[320];           /* the last alert raised (the caller logs it); empty: none */
	/* in (metrics): the shared metrics (metrics.h) that also get each CRM
	 * call's duration and, for a success, the time from the submit;
	 * borrowed; NULL: none */
	struct metrics *metrics;
};

/* Deliver one due row (only lead_id's when not NULL) at now_ms.  Returns
 * 1 when a row was settled (counts says how), 0 when none is due or the
 * CRM is paused, -1 on a store error (err filled; the row, if claimed,
 * comes back when its lease ends). */
int outbox_deliver_one(struct store *s, struct crm *c, const struct outbox_policy *p,
                       int64_t now_ms, const char *lead_id, struct outbox_counts *counts,
                       char *err, size_t errlen);

/* Deliver what is due, at most max rows.  Returns the number settled, or
 * -1 (err filled). */
int outbox_drain(struct store *s, struct crm *c, const struct outbox_policy *p, int64_t now_ms,
                 int max, struct outbox_counts *counts, char *err, size_t errlen);

#endif
