/* forward - the event log forwarded to analytics: Amplitude (HTTP V2),
 * Mixpanel (/import) and Segment (HTTP tracking, /v1/batch), each a sink
 * (sink.h) over the shared libcurl layer (src/crm/http.h).
 *
 * Every event carries a dedup id, the same on every resend and unique per
 * event and deployment: "lr-" + the first 8 hex digits of the deployment
 * id (random, kept in the meta table) + "-" + the event id, at most 36
 * characters (Amplitude insert_id, Mixpanel $insert_id, Segment
 * messageId).  An event about a lead is the lead's (Amplitude user_id,
 * Mixpanel distinct_id, Segment userId = the lead id); one about no lead
 * is the deployment's ("leadroute-" + the deployment id as Amplitude
 * device_id, Mixpanel distinct_id, Segment anonymousId).  The event's data
 * become its properties.
 *
 * Answers (../shared/reference/crm-apis.md section 3):
 *   2xx                        taken
 *   Amplitude 400 listing events (events_with_invalid_fields,
 *     events_with_missing_fields, silenced_events): those are dead, the
 *     rest is sent again at once
 *   Mixpanel 400 with failed_records: those are dead, the rest was
 *     imported (not sent again)
 *   413, and Segment's 400 (size): the batch is split in halves; one event
 *     alone too big is dead
 *   429: retry after Retry-After, or 30 s for Amplitude without one
 *   5xx, timeouts, refused or reset connections: retry
 *   401, 403 and Amplitude's "Invalid API key": retry (a setting to fix;
 *     the runner alerts when it lasts)
 *   other 4xx: the batch is dead
 * One send makes at most FORWARD_MAX_CALLS requests.
 *
 * Keys, secrets and Authorization headers never appear in a message (the
 * destination's words are redacted too).  A forwarding sink keeps one
 * libcurl handle; it is used by one thread.
 */
#ifndef LR_FORWARD_H
#define LR_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "events/sink.h"
#include "store/store.h"

#define FORWARD_KINDS 3
#define FORWARD_MAX_BATCH 50          /* events per send (<= SINK_MAX_DEAD) */
#define FORWARD_MAX_CALLS 8           /* HTTP requests per send, splits included */
#define FORWARD_AMPLITUDE_429_MS 30000

enum forward_kind { FORWARD_AMPLITUDE, FORWARD_MIXPANEL, FORWARD_SEGMENT };

struct forward_config {
	enum forward_kind kind;
	const char *base_url;       /* e.g. https://api2.amplitude.com (no path) */
	const char *key;            /* Amplitude api_key, Segment write key, Mixpanel
	                               service-account user */
	const char *secret;         /* Mixpanel service-account secret; NULL otherwise */
	const char *project_id;     /* Mixpanel project id; NULL otherwise */
	const char *deployment_id;  /* 32 hex digits (events_deployment_id) */
	int timeout_ms;             /* one HTTP call */
};

/* A forwarding sink named "amplitude", "mixpanel" or "segment" (strings
 * are copied).  NULL with err filled when a setting is missing or libcurl
 * cannot start. */
struct sink *forward_open(const struct forward_config *cfg, char *err, size_t errlen);

/* The forwarding sinks whose settings are present (README): Amplitude with
 * LEADROUTE_AMPLITUDE_API_KEY, Mixpanel with LEADROUTE_MIXPANEL_PROJECT_ID
 * (and _USER, _SECRET), Segment with LEADROUTE_SEGMENT_WRITE_KEY; base
 * URLs from LEADROUTE_*_URL.  Fills out[0..*n).  Returns 0, or -1 with
 * err naming the setting at fault (none is then open). */
int forward_open_from_env(struct store *s, int timeout_ms, struct sink *out[FORWARD_KINDS],
                          size_t *n, char *err, size_t errlen);

/* This deployment's id (32 hex digits), made and kept in the meta table
 * the first time (in a transaction of its own: call outside one).
 * Returns 0, or -1 with err filled. */
int events_deployment_id(struct store *s, char out[33], char *err, size_t errlen);

/* The dedup id of event id in the deployment: "lr-" + the first 8 hex
 * digits of deployment_id + "-" + id. */
void events_dedup_id(const char *deployment_id, int64_t id, char out[40]);

#endif
