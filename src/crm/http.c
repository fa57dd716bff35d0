/* http - one libcurl easy handle per connector: send a request, collect
 * the answer within a cap, classify it for the outbox (http.h).
 * Must never put a request header, a request body or a URL into a message,
 * never follow a redirect, never allow a protocol other than http/https,
 * and never leave a libcurl return value unchecked.
 */
#include "config.h"   /* PACKAGE_NAME, PACKAGE_VERSION */

#include "crm/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "util/xalloc.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_HEADER_BYTES (16 * 1024)   /* names and values kept, all headers together */

struct http {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/* What the callbacks of one transfer see. */
struct transfer {
	struct http_response *rs;
	size_t max_body;
	size_t header_bytes;
};

struct http *http_open(char *err, size_t errlen)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);   /* reference counted */
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "libcurl cannot start: %s", curl_easy_strerror(rc));
		return NULL;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		curl_global_cleanup();
		snprintf(err, errlen, "libcurl cannot start: no easy handle");
		return NULL;
	}
	struct http *h = xcalloc(1, sizeof *h);
	h->curl = c;
	return h;
}

void http_close(struct http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	curl_global_cleanup();
	free(h);
}

static void clear_headers(struct http_response *rs)
{
	for (size_t i = 0; i < rs->n_headers; i++) {
		free(rs->headers[i].name);
		free(rs->headers[i].value);
	}
	rs->n_headers = 0;
}

void http_response_free(struct http_response *rs)
{
	if (!rs)
		return;
	clear_headers(rs);
	buf_free(&rs->body);
}

static void response_reset(struct http_response *rs)
{
	clear_headers(rs);
	buf_reset(&rs->body);
	rs->status = 0;
	rs->retry_after_ms = -1;
	rs->timed_out = rs->too_big = rs->permanent = false;
	rs->error[0] = '\0';
}

const char *http_header(const struct http_response *rs, const char *name)
{
	for (size_t i = rs->n_headers; i > 0; i--)     /* the last one wins */
		if (strcasecmp(rs->headers[i - 1].name, name) == 0)
			return rs->headers[i - 1].value;
	return NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * n;

	if (len > t->max_body || t->rs->body.len > t->max_body - len) {
		t->rs->too_big = true;
		return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	buf_add(&t->rs->body, p, len);
	return len;
}

/* One header line ("Name: value\r\n"), or a status line that starts a new
 * answer (an interim 1xx before the real one): keep the last answer's. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	struct http_response *rs = t->rs;
	size_t len = size * n;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		clear_headers(rs);
		t->header_bytes = 0;
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon || colon == p || rs->n_headers >= HTTP_MAX_HEADERS ||
	    t->header_bytes + len > MAX_HEADER_BYTES)
		return len;   /* a continuation, the blank line, or over the caps: dropped */
	size_t nlen = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	rs->headers[rs->n_headers].name = xstrndup(p, nlen);
	rs->headers[rs->n_headers].value = xstrndup(v, (size_t)(end - v));
	rs->n_headers++;
	t->header_bytes += len;
	return len;
}

/* Retry-After: delay-seconds or an HTTP date (RFC 9110 10.2.3). */
static int64_t parse_retry_after(const char *v)
{
	if (!v || !*v)
		return -1;
	if (isdigit((unsigned char)v[0])) {
		int64_t s = 0;
		for (const char *p = v; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			if (s > HTTP_MAX_RETRY_AFTER_MS / 1000)
				return HTTP_MAX_RETRY_AFTER_MS;
			s = s * 10 + (*p - '0');
		}
		int64_t ms = s * 1000;
		return ms > HTTP_MAX_RETRY_AFTER_MS ? HTTP_MAX_RETRY_AFTER_MS : ms;
	}
	time_t at = curl_getdate(v, NULL);
	if (at == (time_t)-1)
		return -1;
	time_t now = time(NULL);
	if (at <= now)
		return 0;
	int64_t ms = ((int64_t)at - (int64_t)now) * 1000;
	return ms > HTTP_MAX_RETRY_AFTER_MS ? HTTP_MAX_RETRY_AFTER_MS : ms;
}

static const char *what_of(const struct http_request *rq)
{
	return rq->what && *rq->what ? rq->what : "HTTP request";
}

/* Set one option; on failure say which and stop. */
#define SETOPT(opt, val)                                                                   \
	do {                                                                               \
		CURLcode rc_ = curl_easy_setopt(h->curl, opt, val);                        \
		if (rc_ != CURLE_OK) {                                                     \
			snprintf(rs->error, sizeof rs->error, "%s: libcurl refused %s: %s", \
			         what_of(rq), #opt, curl_easy_strerror(rc_));              \
			rs->permanent = true;                                              \
			goto out;                                                          \
		}                                                                          \
	} while (0)

static bool has_body_method(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

int http_do(struct http *h, const struct http_request *rq, struct http_response *rs)
{
	struct curl_slist *hdrs = NULL;
	struct transfer t = { .rs = rs, .max_body = rq->max_body ? rq->max_body : HTTP_MAX_BODY };
	int ret = -1;
	long timeout = rq->timeout_ms > 0 ? rq->timeout_ms : DEFAULT_TIMEOUT_MS;
	const char *m = rq->method ? rq->method : "GET";

	response_reset(rs);
	if (!rq->url || !(strncasecmp(rq->url, "http://", 7) == 0 ||
	                  strncasecmp(rq->url, "https://", 8) == 0)) {
		snprintf(rs->error, sizeof rs->error, "%s: the URL is not http or https", what_of(rq));
		rs->permanent = true;
		return -1;
	}
	if (!has_body_method(m) && strcmp(m, "GET") != 0 && strcmp(m, "DELETE") != 0) {
		snprintf(rs->error, sizeof rs->error, "%s: method '%.16s' not supported", what_of(rq), m);
		rs->permanent = true;
		return -1;
	}

	/* a fresh set of options each time; connections and caches stay */
	curl_easy_reset(h->curl);
	h->errbuf[0] = '\0';
	SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500   /* 7.85.0: the _STR forms */
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_URL, rq->url);
	SETOPT(CURLOPT_TIMEOUT_MS, timeout);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, &t);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, &t);

	if (strcmp(m, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else if (has_body_method(m)) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->body_len : 0));
		SETOPT(CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		if (strcmp(m, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, m);
	} else {
		SETOPT(CURLOPT_CUSTOMREQUEST, m);
	}

	/* no "Expect: 100-continue" round trip; then the caller's headers */
	static const char *const always[] = { "Expect:", NULL };
	for (const char *const *l = always; *l; l++) {
		struct curl_slist *n = curl_slist_append(hdrs, *l);
		if (!n) {
			snprintf(rs->error, sizeof rs->error, "%s: libcurl cannot add a header",
			         what_of(rq));
			goto out;
		}
		hdrs = n;
	}
	for (const char *const *l = rq->headers; l && *l; l++) {
		struct curl_slist *n = curl_slist_append(hdrs, *l);
		if (!n) {
			snprintf(rs->error, sizeof rs->error, "%s: libcurl cannot add a header",
			         what_of(rq));
			goto out;
		}
		hdrs = n;
	}
	SETOPT(CURLOPT_HTTPHEADER, hdrs);

	CURLcode rc = curl_easy_perform(h->curl);
	long status = 0;
	CURLcode irc = curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (irc != CURLE_OK)
		status = 0;
	if (rc != CURLE_OK) {
		/* an answer cut short is no answer, whatever its status line said */
		rs->status = 0;
		if (rs->too_big) {
			snprintf(rs->error, sizeof rs->error, "%s: the answer's body is over %zu bytes",
			         what_of(rq), t.max_body);
		} else if (rc == CURLE_OPERATION_TIMEDOUT) {
			rs->timed_out = true;
			snprintf(rs->error, sizeof rs->error, "%s: no answer within %ld ms", what_of(rq),
			         timeout);
		} else {
			rs->permanent = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL;
			snprintf(rs->error, sizeof rs->error, "%s: %s%s%.180s", what_of(rq),
			         curl_easy_strerror(rc), h->errbuf[0] ? ": " : "", h->errbuf);
		}
		goto out;
	}
	if (irc != CURLE_OK || status < 100 || status > 999) {
		snprintf(rs->error, sizeof rs->error, "%s: no HTTP status in the answer", what_of(rq));
		goto out;
	}
	rs->status = status;
	rs->retry_after_ms = parse_retry_after(http_header(rs, "Retry-After"));
	ret = 0;
out:
	/* the handle must not keep pointers to what this call owned */
	if (curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL) != CURLE_OK &&
	    ret == 0) {
		snprintf(rs->error, sizeof rs->error, "%s: libcurl refused to drop the headers",
		         what_of(rq));
		ret = -1;
	}
	curl_slist_free_all(hdrs);
	return ret;
}

enum crm_status http_classify(const struct http_request *rq, const struct http_response *rs,
                              int rc, struct crm_result *res)
{
	res->http_status = (int)rs->status;
	res->retry_after_ms = 0;
	res->message[0] = '\0';
	if (rc != 0 || rs->status == 0) {
		res->http_status = 0;
		res->status = rs->permanent ? CRM_DEAD : CRM_RETRY;
		snprintf(res->message, sizeof res->message, "%s",
		         rs->error[0] ? rs->error : "no answer");
		return res->status;
	}
	long s = rs->status;
	if (s >= 200 && s <= 299) {
		res->status = CRM_DONE;
		return res->status;
	}
	if (s == 429 || s == 408 || (s >= 500 && s <= 599)) {
		res->status = CRM_RETRY;
		if (rs->retry_after_ms >= 0)
			res->retry_after_ms = rs->retry_after_ms;
	} else {
		res->status = CRM_DEAD;   /* other 4xx; 1xx and 3xx: nothing we can act on */
	}
	snprintf(res->message, sizeof res->message, "%s: HTTP %ld%s", what_of(rq), s,
	         s >= 300 && s <= 399 ? " (a redirect; not followed: check the URL)" : "");
	return res->status;
}

char *http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			buf_addc(&b, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_add(&b, e, 3);
		}
	}
	return buf_take(&b);
}
