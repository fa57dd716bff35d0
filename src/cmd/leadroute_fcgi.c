/* leadroute.fcgi - the FastCGI (and plain CGI) responder behind the form.
 *
 * Three ways to run:
 *   spawned      a web server (lighttpd bin-path, Apache mod_fcgid,
 *                spawn-fcgi) hands it a listening socket on fd 0
 *   --listen A   it opens its own socket: a Unix socket path, or
 *                127.0.0.1:PORT / localhost:PORT (never all interfaces:
 *                Debian 12's libfcgi can be crashed by a crafted record)
 *   CGI          run once per request from the CGI environment and stdin
 * Each request is read in full (up to LEADROUTE_MAX_BODY, whatever
 * CONTENT_LENGTH says), handled by handler.c, and answered; SIGTERM lets the
 * request in flight finish and then exits.  Must never write a header value
 * that came from the request.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcgiapp.h>

#include "handler/handler.h"

extern char **environ;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where the request comes from and the answer goes. */
struct io {
	FCGX_Request *fr;       /* NULL in CGI mode */
	char **envp;
};

static const char *param(const struct io *io, const char *name)
{
	return io->fr ? FCGX_GetParam(name, io->envp) : getenv(name);
}

static int read_some(const struct io *io, char *buf, int n)
{
	if (io->fr)
		return FCGX_GetStr(buf, n, io->fr->in);
	size_t got = fread(buf, 1, (size_t)n, stdin);
	return (int)got;
}

static int write_all(const struct io *io, const char *p, size_t n)
{
	if (io->fr)
		return FCGX_PutStr(p, (int)n, io->fr->out) == (int)n ? 0 : -1;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

/* Read the body to its end (or one byte past the limit). */
static void read_body(struct app *a, const struct io *io, struct request *req, struct buf *body)
{
	const char *cl = param(io, "CONTENT_LENGTH");
	long long declared = -1;
	if (cl && *cl) {
		char *end;
		declared = strtoll(cl, &end, 10);
		if (*end || declared < 0)
			declared = -2;   /* not a number: treated as a mismatch */
	}
	if (declared > (long long)a->cfg.max_body) {
		req->body_too_large = true;   /* refused without reading */
		return;
	}
	char chunk[8192];
	for (;;) {
		size_t room = a->cfg.max_body + 1 - body->len;
		int want = room < sizeof chunk ? (int)room : (int)sizeof chunk;
		if (want <= 0)
			break;
		int got = read_some(io, chunk, want);
		if (got <= 0)
			break;
		buf_add(body, chunk, (size_t)got);
		if (got < want && !io->fr)
			break;
	}
	if (body->len > a->cfg.max_body) {
		req->body_too_large = true;
		return;
	}
	if (declared == -2 || (declared >= 0 && (size_t)declared != body->len))
		req->length_mismatch = true;
}

static void serve_one(struct app *a, const struct io *io)
{
	app_reload_rules(a);
	struct request req = {0};
	req.method = param(io, "REQUEST_METHOD");
	const char *pi = param(io, "PATH_INFO");
	req.path = pi && *pi ? pi : param(io, "SCRIPT_NAME");
	req.content_type = param(io, "CONTENT_TYPE");
	req.accept = param(io, "HTTP_ACCEPT");
	req.idempotency_key = param(io, "HTTP_IDEMPOTENCY_KEY");
	req.remote_addr = param(io, "REMOTE_ADDR");
	req.now_ms = now_ms();
	if (!req.method)
		req.method = "GET";
	struct buf body = {0};
	if (strcmp(req.method, "POST") == 0)
		read_body(a, io, &req, &body);
	req.body = body.data ? body.data : "";
	req.body_len = body.len;
	struct response resp;
	handler_handle(a, &req, &resp);
	struct buf head = {0};
	buf_printf(&head, "Status: %d %s\r\n", resp.status, handler_status_text(resp.status));
	if (resp.content_type)
		buf_printf(&head, "Content-Type: %s\r\n", resp.content_type);
	if (resp.location[0])
		buf_printf(&head, "Location: %s\r\n", resp.location);
	if (resp.allow)
		buf_printf(&head, "Allow: %s\r\n", resp.allow);
	buf_adds(&head, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	         "Referrer-Policy: strict-origin-when-cross-origin\r\n\r\n");
	int rc = write_all(io, head.data, head.len);
	if (rc == 0 && strcmp(req.method, "HEAD") != 0 && resp.body.len)
		rc = write_all(io, resp.body.data, resp.body.len);
	if (rc != 0)
		fprintf(a->log, "leadroute: could not write the response (client gone?)\n");
	buf_free(&head);
	buf_free(&resp.body);
	buf_free(&body);
}

/* A listen address that is a Unix socket path or loopback only. */
static int check_listen(const char *addr)
{
	if (addr[0] == '/' || strncmp(addr, "./", 2) == 0)
		return 0;
	const char *colon = strrchr(addr, ':');
	if (colon && colon > addr) {
		char host[64];
		size_t n = (size_t)(colon - addr);
		struct in_addr in;
		if (n < sizeof host) {
			memcpy(host, addr, n);
			host[n] = '\0';
			/* a number in 127.0.0.0/8, never a name that could resolve
			 * elsewhere (localhost is the one name taken) */
			if ((inet_pton(AF_INET, host, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127) ||
			    strcmp(host, "localhost") == 0)
				return 0;
		}
	}
	fprintf(stderr, "leadroute.fcgi: --listen '%s' is not a Unix socket path or a loopback "
	        "address (127.0.0.1:PORT); refusing to listen on other interfaces\n", addr);
	return -1;
}

int main(int argc, char **argv)
{
	const char *listen_addr = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen_addr = argv[++i];
		} else {
			fprintf(stderr, "usage: leadroute.fcgi [--listen /path/to.sock | 127.0.0.1:PORT]\n"
			        "(spawned by the web server, or run as CGI, it needs no arguments)\n");
			return 2;
		}
	}
	if (listen_addr && check_listen(listen_addr) != 0)
		return 2;
	if (FCGX_Init() != 0) {
		fprintf(stderr, "leadroute.fcgi: cannot initialise libfcgi\n");
		return 1;
	}
	int sock = 0;
	if (listen_addr) {
		mode_t old = umask(0117);   /* socket: owner and group only */
		sock = FCGX_OpenSocket(listen_addr, 128);
		umask(old);
		if (sock < 0) {
			fprintf(stderr, "leadroute.fcgi: cannot listen on '%s'\n", listen_addr);
			return 1;
		}
	}
	bool cgi = !listen_addr && FCGX_IsCGI();
	struct app a;
	char err[1024];
	if (app_init(&a, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute.fcgi: %s\n", err);
		if (cgi)
			printf("Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n"
			       "leadroute is not configured; see the server log\n");
		return 1;
	}
	if (cgi) {
		struct io io = { NULL, environ };
		serve_one(&a, &io);
		fflush(stdout);
		fclose(stdout);   /* the answer is out; now confirm in the CRM */
		handler_deliver_outbox(&a, now_ms(), 16);
		app_free(&a);
		return 0;
	}
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, sock, 0) != 0) {
		fprintf(stderr, "leadroute.fcgi: cannot set up a request\n");
		app_free(&a);
		return 1;
	}
	/* libfcgi's own SIGTERM/SIGUSR1 handlers mark shutdown; the accept that
	 * follows the request in flight then returns and the loop ends */
	while (FCGX_Accept_r(&fr) >= 0) {
		struct io io = { &fr, fr.envp };
		serve_one(&a, &io);
		FCGX_Finish_r(&fr);
		/* the buyer has the answer; confirm in the CRM before the next
		 * request (crash-only: a kill here leaves the row due) */
		handler_deliver_outbox(&a, now_ms(), 16);
	}
	FCGX_Free(&fr, 1);
	app_free(&a);
	return 0;
}
