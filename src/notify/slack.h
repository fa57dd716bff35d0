/* slack - owner notices and alerts as Slack messages, through incoming
 * webhooks: the slack_notice and slack_alert event sinks.
 *
 * slack_notice (LEADROUTE_SLACK_WEBHOOK_URL) takes `owner_assigned` and
 * `lead_unassigned` events: one message per event, telling the channel
 * who got the lead (or that no member of the queue was available), the
 * lead's name, company, email, country and employees, the queue, the rule's
 * line and, with LEADROUTE_CRM_LINK, a link to the lead in the CRM
 * (notice.h, crmlink.h).  slack_alert (LEADROUTE_SLACK_ALERT_WEBHOOK_URL)
 * takes `alert` events and posts their kind and message.  An unset URL
 * means no sink (open returns NULL with err empty): alerts are in the log
 * in any case, where the code that raises them writes them.
 *
 * Each message has a `text` (the notification's fallback) and `blocks`.
 * Every value that is not ours (the lead's fields, and the rest too) is
 * escaped for mrkdwn (& < > as &amp; &lt; &gt;), so a form cannot write
 * <!channel>, a mention or a link of its own, and capped so a section's
 * text stays within Slack's 3,000 characters.
 *
 * Slack's answers (doc/notify.md): 2xx ("ok") is DONE; 429 (with its
 * Retry-After), 408 and 5xx are RETRY, as are timeouts and connection
 * errors; 400, 403, 404, 410 and other statuses are DEAD with Slack's own
 * words (invalid_payload, no_service, channel_is_archived,
 * action_prohibited...), and for a revoked or misdirected webhook the
 * message says the setting needs fixing.
 *
 * A Slack webhook is NOT idempotent: when an answer is lost (a timeout
 * after Slack took the message) the event is sent again and the channel
 * sees the notice twice.  Nothing on Slack's side can dedupe it.  To keep
 * that to lost answers only, every message goes out on a new connection
 * (libcurl resends a request by itself when a kept-alive connection turns
 * out to be closed).  max_batch is 1: Slack takes about one message a
 * second per webhook, and a 429 tells the runner how long to wait.
 *
 * The webhook URL is a secret: it is in no message, error or result
 * (src/crm/http.h keeps URLs out of its messages; errors name the setting).
 * A sink borrows the store it is given and is used by one thread.
 */
#ifndef LR_NOTIFY_SLACK_H
#define LR_NOTIFY_SLACK_H

#include <stddef.h>

#include "events/sink.h"
#include "notify/notice.h"
#include "util/buf.h"

struct store;

#define SLACK_MAX_SECTION 3000      /* characters of one section's text (Slack's limit) */

/* Append s to b escaped for mrkdwn (& < >), using at most max bytes of b;
 * a longer value is cut before a whole character or entity and ends in
 * "..." (max >= 3).  s NULL appends nothing. */
void slack_escape(struct buf *b, const char *s, size_t max);

/* The message (JSON text) for a notice; caller frees. */
char *slack_notice_json(const struct notice *n);

/* The message for an alert event's data ({"alert": KIND, "message": ...,
 * "key": ..., "suppressed": N}); caller frees.  NULL with err filled when
 * data_json is not a JSON object with a string "alert". */
char *slack_alert_json(const char *data_json, char *err, size_t errlen);

/* The sinks.  NULL with err empty when the webhook URL is not set; NULL with
 * err filled when a setting is wrong (LEADROUTE_SLACK_WEBHOOK_URL or
 * LEADROUTE_SLACK_ALERT_WEBHOOK_URL not http(s), LEADROUTE_CRM_LINK,
 * LEADROUTE_NOTIFY_TIMEOUT_MS) or libcurl cannot start.  s is borrowed for
 * the sink's life (slack_alert does not use it; it may be NULL there). */
struct sink *slack_notice_open(struct store *s, char *err, size_t errlen);
struct sink *slack_alert_open(struct store *s, char *err, size_t errlen);

#endif
