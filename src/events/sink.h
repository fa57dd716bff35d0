/* sink - what every consumer of the event log implements.
 *
 * The events table is the outbox of everything that is told about a lead
 * after it is stored: the JSON-lines file, the analytics tools (Amplitude,
 * Mixpanel, Segment), the owner's notices (Slack, email) and the alerts.
 * Each sink reads the events it wants in id order from a cursor of its own
 * (table sink_cursor), so an event committed with the lead is never lost
 * and a sink that is down only falls behind.  SQLite has one writer at a
 * time, so event ids become visible in increasing order and a cursor never
 * skips one that commits late.
 *
 * A sink must be idempotent where its destination allows it: a batch whose
 * answer was lost is sent again (analytics dedup on an id derived from the
 * event id; see events_dedup_id in forward.h).  It must never block for
 * longer than its timeout, and never free the events it is given.
 */
#ifndef LR_SINK_H
#define LR_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One stored event, borrowed for the length of a send call. */
struct sink_event {
	int64_t id;                 /* events.id: increasing, unique in this database */
	const char *lead_id;        /* NULL for events about no lead (spam_blocked, alert...) */
	const char *type;           /* "owner_assigned", "crm_write_success", ... */
	int64_t at_ms;              /* wall clock, ms since the epoch */
	const char *data_json;      /* a JSON object, or NULL */
};

enum sink_status {
	SINK_DONE,                  /* the batch was taken (minus dead[]) */
	SINK_RETRY,                 /* nothing taken that matters; send the batch again later */
	SINK_DEAD,                  /* the batch can never be taken (a 4xx on all of it) */
};

#define SINK_MAX_DEAD 64

struct sink_result {
	enum sink_status status;
	int http_status;            /* the last HTTP answer; 0: none */
	int64_t retry_after_ms;     /* RETRY: what the destination asked for; 0: backoff decides */
	char message[512];          /* RETRY/DEAD, or DONE with dead events: what went wrong,
	                               in the destination's own words; never a secret */
	size_t n_dead;              /* DONE: events the destination refused one by one */
	int64_t dead[SINK_MAX_DEAD];/* their ids (the rest of the batch was taken) */
};

struct sink {
	const char *name;           /* "amplitude", "slack_notice", ...: the cursor's key */
	int max_batch;              /* events per send, >= 1 */
	/* Whether this sink wants events of this type (the runner skips the
	 * others without calling send). */
	bool (*wants)(const struct sink *sk, const char *type);
	/* Send n >= 1 events; fill res.  Returns 0 for SINK_DONE, else -1. */
	int (*send)(struct sink *sk, const struct sink_event *ev, size_t n,
	            struct sink_result *res);
	void (*close)(struct sink *sk);   /* frees the sink and its state */
	void *state;                /* the sink's own; owned by the sink */
};

#endif
