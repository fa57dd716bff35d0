/* noop_fcgi - a do-nothing FastCGI responder, the baseline of the HTTP
 * benchmark (tests/bench/http-bench.sh).
 *
 * It does what leadroute.fcgi does around the handler and nothing else:
 * the same FCGX_Accept_r loop on the socket the web server hands it on fd
 * 0, the same parameters looked up, the body read to its end in 8 KiB
 * chunks into a growing buffer (up to LEADROUTE_MAX_BODY + 1 bytes, as
 * src/cmd/leadroute_fcgi.c does), and a fixed answer with the same headers:
 * 200 JSON shaped like a routed lead's when the request accepts
 * application/json, else the 303 to /confirm a form post gets.  A GET (the
 * benchmark's /healthz probe) gets 200 JSON too.  It never parses,
 * routes or stores anything, so leadroute.fcgi's throughput as a fraction
 * of this one's is the share of the web server's capacity the handler
 * itself leaves over.
 *
 * `make check` builds it so it keeps compiling, and never runs it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

static const char json_answer[] =
	"{\"lead_id\":\"00000000-0000-4000-8000-000000000000\",\"queue\":\"inbound\","
	"\"owner\":\"sdr1@acme.example\",\"outcome\":\"confirm\",\"redirect\":\"/confirm\"}\n";

static const char html_answer[] =
	"<!doctype html><title>Thank you</title><p>Continue to <a href=\"/confirm\">the next "
	"step</a>.</p>\n";

static const char common_headers[] =
	"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	"Referrer-Policy: strict-origin-when-cross-origin\r\n\r\n";

struct body {
	char *data;
	size_t len, cap;
};

static int body_add(struct body *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Read the body to its end, or one byte past the limit (leadroute_fcgi.c's
 * read_body without the handler's flags). */
static void read_body(FCGX_Request *fr, size_t max_body, struct body *b)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	if (cl && *cl && strtoll(cl, NULL, 10) > (long long)max_body)
		return;
	char chunk[8192];
	for (;;) {
		size_t room = max_body + 1 - b->len;
		int want = room < sizeof chunk ? (int)room : (int)sizeof chunk;
		if (want <= 0)
			break;
		int got = FCGX_GetStr(chunk, want, fr->in);
		if (got <= 0 || body_add(b, chunk, (size_t)got) != 0)
			break;
	}
}

int main(void)
{
	size_t max_body = 65536;
	const char *mb = getenv("LEADROUTE_MAX_BODY");
	if (mb && *mb && atol(mb) >= 1024)
		max_body = (size_t)atol(mb);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "noop_fcgi: cannot initialise libfcgi\n");
		return 1;
	}
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, 0, 0) != 0) {
		fprintf(stderr, "noop_fcgi: cannot set up a request\n");
		return 1;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		const char *method = FCGX_GetParam("REQUEST_METHOD", fr.envp);
		(void)FCGX_GetParam("PATH_INFO", fr.envp);
		const char *accept = FCGX_GetParam("HTTP_ACCEPT", fr.envp);
		(void)FCGX_GetParam("CONTENT_TYPE", fr.envp);
		(void)FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr.envp);
		(void)FCGX_GetParam("REMOTE_ADDR", fr.envp);
		struct timespec now;   /* the handler stamps every request */
		clock_gettime(CLOCK_REALTIME, &now);
		(void)now;
		struct body b = {0};
		if (method && strcmp(method, "POST") == 0)
			read_body(&fr, max_body, &b);
		bool json = !method || strcmp(method, "POST") != 0 ||
		            (accept && strstr(accept, "application/json"));
		if (json) {
			FCGX_FPrintF(fr.out, "Status: 200 OK\r\nContent-Type: application/json\r\n%s",
			             common_headers);
			FCGX_PutStr(json_answer, (int)sizeof json_answer - 1, fr.out);
		} else {
			FCGX_FPrintF(fr.out, "Status: 303 See Other\r\nContent-Type: text/html; "
			             "charset=utf-8\r\nLocation: /confirm\r\n%s", common_headers);
			FCGX_PutStr(html_answer, (int)sizeof html_answer - 1, fr.out);
		}
		FCGX_Finish_r(&fr);
		free(b.data);
	}
	FCGX_Free(&fr, 1);
	return 0;
}
