/* hooksig - the signature of a webhook, both ways: what leadroute's own
 * webhook connector sends, and what its webhook endpoints accept.
 *
 *   Leadroute-Timestamp: <unix seconds>
 *   Leadroute-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">
 *
 * Calendly signs the same bytes and sends both in one header,
 * "Calendly-Webhook-Signature: t=<ts>,v1=<hex>"; that form is accepted
 * too.  A signature more than HOOKSIG_MAX_SKEW_S away from now is refused,
 * so a captured request cannot be replayed later.  Comparison is in
 * constant time.  Never returns a reason that contains the secret or the
 * expected signature.
 */
#ifndef LR_HOOKSIG_H
#define LR_HOOKSIG_H

#include <stddef.h>
#include <stdint.h>

#define HOOKSIG_MAX_SKEW_S 300

/* "v1=<64 hex>" for body signed at ts under secret, into out.  0, or -1
 * when HMAC failed. */
int hooksig_sign(const char *secret, int64_t ts, const void *body, size_t body_len,
                 char out[68]);

/* Split a signature header: "v1=HEX" with ts_header (may be NULL), or
 * "t=TS,v1=HEX".  0 with *ts and *v1 (pointing into sig at "v1="), or -1. */
int hooksig_parse(const char *sig, const char *ts_header, int64_t *ts, const char **v1);

/* 0 when sig (with ts_header) signs body under secret within the skew of
 * now_s; else -1 with *why, a sentence safe to answer the caller with. */
int hooksig_verify(const char *secret, const char *sig, const char *ts_header,
                   const void *body, size_t body_len, int64_t now_s, const char **why);

#endif
