/* webhook - the generic connector behind crm.h (internal to src/crm:
 * crm.c calls these; nothing else should): each lead is POSTed, as the
 * outbox payload JSON (crm.h) byte for byte, to one URL.
 *
 * Headers sent with it:
 *   Content-Type: application/json
 *   Leadroute-Timestamp: <unix seconds when this attempt was signed>
 *   Leadroute-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>
 *   Idempotency-Key: <lead id>
 * A retry sends the same body and key with a new timestamp and signature.
 *
 * How a receiver verifies a request (also in doc/crm.md):
 *   1. take the Leadroute-Timestamp header t and refuse it when it is more
 *      than 5 minutes from the receiver's clock (replays);
 *   2. compute HMAC-SHA256 over the bytes t + "." + raw body (before any
 *      JSON parsing) with the shared secret, in lower-case hex;
 *   3. compare it with the value after "v1=" in Leadroute-Signature in
 *      constant time (hmac.compare_digest, CRYPTO_memcmp, ...); refuse on
 *      a mismatch;
 *   4. dedupe on Idempotency-Key (the lead id): the same lead may come
 *      more than once (a retry after a lost answer) and must make one
 *      record; answer 2xx for a repeat too.
 * Answers: 2xx DONE (a JSON body's string "id" becomes the record id);
 * timeouts, connection errors, 408, 429 (Retry-After honoured) and 5xx
 * RETRY; any other status DEAD.
 *
 * Never puts the secret or the URL (it may hold a token) in a message.
 */
#ifndef LR_CRM_WEBHOOK_H
#define LR_CRM_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "crm/crm.h"

#define WEBHOOK_MIN_SECRET 16   /* bytes a secret must have at least */

struct webhook;

/* NULL with err filled when the URL is missing or not http(s), the secret
 * is missing or shorter than WEBHOOK_MIN_SECRET, or libcurl cannot start. */
struct webhook *webhook_open(const struct crm_config *cfg, char *err, size_t errlen);
void webhook_close(struct webhook *w);
int webhook_deliver(struct webhook *w, const char *payload_json, struct crm_result *res);

#endif
