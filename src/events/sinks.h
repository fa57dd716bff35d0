/* sinks - the runner that feeds the event log to its consumers (sink.h),
 * and the list of consumers this deployment has configured.
 *
 * For each sink, one batch at a time:
 *   claim   in a short transaction: the sink's cursor (table sink_cursor)
 *           when it is due and not leased; it is then leased to this
 *           process (outbox_policy.lease_ms), so no other runner sends the
 *           same batch meanwhile, and comes back by itself if this process
 *           dies;
 *   read    up to max_batch events after the cursor that the sink wants
 *           (the others are skipped: the cursor moves past them unsent);
 *   send    outside any transaction;
 *   settle  in one transaction, only while the lease is still this
 *           runner's (a send that outlived it settles nothing: whoever
 *           took the cursor sends the batch again and settles it):
 *           SINK_DONE moves the cursor past the batch
 *           and records each refused event (result.dead) in sink_dead;
 *           SINK_RETRY keeps it, due after outbox_backoff_ms (never sooner
 *           than the destination's Retry-After); SINK_DEAD, or a batch
 *           still failing after policy.max_attempts, records the whole
 *           batch in sink_dead and moves on.
 * A crash between send and settle sends the batch again when the lease
 * ends: the destinations deduplicate on ids derived from the event ids
 * (forward.h), the JSON-lines file on the last id it holds (jsonl.h).
 * For the same reason claim and settle commit without waiting for the
 * group flush (store_commit_relaxed): a crash of the machine that loses
 * them only sends a batch again.
 * After SINKS_ALERT_AFTER failed sends in a row the runner stores an
 * `alert` event of kind sink_failures (once per run of failures).
 *
 * Never holds a transaction across a send; never moves a cursor past an
 * event without the sink's word or a record in sink_dead.
 */
#ifndef LR_SINKS_H
#define LR_SINKS_H

#include <stddef.h>
#include <stdint.h>

#include "events/sink.h"
#include "outbox/outbox.h"
#include "store/store.h"

#define SINKS_ALERT_AFTER 5           /* failed sends in a row before an alert */
#define SINKS_DEFAULT_TIMEOUT_MS 5000 /* LEADROUTE_SINK_TIMEOUT_MS: one HTTP call */
#define SINKS_MAX_PROBLEMS 8          /* failures kept in sinks_counts for the log */

struct sinks_counts {
	int batches;            /* batches settled */
	int sent;               /* events taken by their sink */
	int skipped;            /* events no sink of theirs wanted, passed over */
	int dead;               /* events recorded in sink_dead */
	int retried;            /* batches to send again later */
	/* failures and refusals, "sink NAME: why" (never a secret), for the
	 * caller's log: the first SINKS_MAX_PROBLEMS of the run */
	char problems[SINKS_MAX_PROBLEMS][640];
	int n_problems;
};

/* Run up to max_batches batches for each of the n sinks at now_ms (the
 * clock moves on by the time the sends take).  Adds to *counts.  Returns
 * the number of batches settled, or -1 on a store error (err filled; a
 * claimed cursor comes back when its lease ends).  A sink whose send
 * fails is rescheduled; that is not an error. */
int sinks_run(struct store *s, struct sink *const *sinks, size_t n,
              const struct outbox_policy *p, int64_t now_ms, int max_batches,
              struct sinks_counts *counts, char *err, size_t errlen);

/* The sinks this deployment has configured (README, "Settings"). */
struct sink_list {
	struct sink **v;        /* owned; each closed by sink_list_free */
	size_t n;
};

/* Build the list from the environment: the JSON-lines file
 * (LEADROUTE_EVENTS_FILE), Amplitude, Mixpanel and Segment (each on when
 * its key is set).  store is borrowed (the deployment id lives in it).
 * Returns 0 (the list may be empty), or -1 with err naming the setting at
 * fault (never a secret); the list is then empty. */
int sinks_open_from_env(struct store *s, struct sink_list *out, char *err, size_t errlen);
void sink_list_free(struct sink_list *l);

#endif
