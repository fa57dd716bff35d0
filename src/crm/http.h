/* http - the small libcurl layer every CRM connector shares.
 *
 * One struct http owns one libcurl easy handle, kept for the life of the
 * connector so connections (and TLS sessions) are reused between calls.
 * http_do sends one request (method, URL, headers, body, a timeout for the
 * whole exchange) and collects the answer: status, body up to a cap, and
 * the response headers (CURLOPT_HEADERFUNCTION; looked up by name without
 * regard to case).  http_classify turns an answer, or its absence, into
 * the outbox's verdict (crm.h): connection errors and timeouts, 408, 429
 * and 5xx are RETRY (429 with the wait its Retry-After asked for), 2xx is
 * DONE, anything else (other 4xx, 1xx, 3xx: redirects are never followed)
 * is DEAD.
 *
 * Every request is limited to http and https, sets CURLOPT_NOSIGNAL, and
 * follows no redirect.  Every libcurl call is checked.  Messages name the
 * call (http_request.what) and libcurl's own reason; they never contain a
 * request header (Authorization included), a request body or the URL (a
 * webhook URL may carry a secret in its path or query).
 *
 * libcurl sends a request again, once and on a new connection, when a
 * kept-alive connection closes before any byte of the answer (the server
 * may have dropped it while idle); a request can therefore reach the
 * server twice.  Every connector's writes are idempotent (crm.h), so that
 * is harmless; do not use this layer for a write that is not.
 *
 * A struct http is used by one thread.  Strings handed out are borrowed
 * from the response and valid until it is reused or freed.
 */
#ifndef LR_CRM_HTTP_H
#define LR_CRM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/crm.h"
#include "util/buf.h"

#define HTTP_MAX_BODY (8u << 20)     /* default cap of a response body, bytes */
#define HTTP_MAX_HEADERS 48          /* response headers kept; the rest are dropped */
#define HTTP_MAX_RETRY_AFTER_MS (INT64_C(24) * 3600 * 1000)   /* a longer Retry-After is capped */

struct http;

/* A new handle; NULL with err filled when libcurl cannot start. */
struct http *http_open(char *err, size_t errlen);
void http_close(struct http *h);

struct http_request {
	const char *method;          /* "GET", "POST", "PUT", "PATCH" or "DELETE" */
	const char *url;             /* http:// or https:// */
	const char *const *headers;  /* "Name: value" lines, NULL-terminated; NULL: none */
	const char *body;            /* NULL: no body (a PUT/PATCH/POST then sends an empty one) */
	size_t body_len;
	int timeout_ms;              /* the whole exchange, connecting included; <= 0: 10000 */
	size_t max_body;             /* cap of the answer's body; 0: HTTP_MAX_BODY */
	const char *what;            /* names the call in messages, e.g. "HubSpot owners" */
};

struct http_header {
	char *name, *value;          /* owned by the response */
};

struct http_response {
	long status;                 /* the HTTP status; 0: no answer (see error) */
	struct buf body;             /* the answer's body, at most max_body bytes */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	int64_t retry_after_ms;      /* from Retry-After (seconds or a date); -1: absent or bad */
	bool timed_out;              /* no complete answer within timeout_ms */
	bool too_big;                /* the body went over the cap (the transfer was cut) */
	bool permanent;              /* a failure a retry cannot fix (bad URL, protocol) */
	char error[256];             /* http_do returned -1: what went wrong */
};

/* Send rq and fill rs (a zeroed or previously used response: it is reset
 * first).  Returns 0 when a complete HTTP answer came, whatever its status;
 * -1 with rs->error filled when none did (connection, timeout, TLS, a body
 * over the cap, a libcurl option refused). */
int http_do(struct http *h, const struct http_request *rq, struct http_response *rs);
void http_response_free(struct http_response *rs);

/* The value of response header name (any case), or NULL: borrowed. */
const char *http_header(const struct http_response *rs, const char *name);

/* The outbox's verdict on rs (after http_do returned rc): fills
 * res->status, res->http_status, res->retry_after_ms and a first message
 * ("<what>: HTTP 500", or the transport error) for the connector to
 * improve with the CRM's own words.  Returns res->status. */
enum crm_status http_classify(const struct http_request *rq, const struct http_response *rs,
                              int rc, struct crm_result *res);

/* s escaped for a URL path segment or query value (RFC 3986 unreserved
 * characters kept); caller frees. */
char *http_escape(const char *s);

#endif
