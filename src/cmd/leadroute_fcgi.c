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
 * request in flight finish and then exits 0 (see wait_for_work).  Must never
 * write a header value that came from the request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "util/clock.h"

extern char **environ;

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
	req.signature = param(io, "HTTP_LEADROUTE_SIGNATURE");
	if (!req.signature)
		req.signature = param(io, "HTTP_CALENDLY_WEBHOOK_SIGNATURE");
	req.sig_timestamp = param(io, "HTTP_LEADROUTE_TIMESTAMP");
	req.remote_addr = param(io, "REMOTE_ADDR");
	req.now_ms = clock_wall_ms();
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

/* ---- stopping between requests ----
 *
 * The web server stops its handlers with SIGTERM (lighttpd kill-signal,
 * mod_fcgid, systemd), and libfcgi's old graceful signal is SIGUSR1.
 * libfcgi (Debian's 2.4.2) catches both itself, without SA_RESTART: a
 * signal that arrives while the body is being read interrupts the read,
 * libfcgi takes the EINTR for a broken stream, and the buyer gets a 400
 * and loses the lead.  So the process blocks both signals all the time and
 * opens them only while it waits for the next connection, in ppoll, which
 * unblocks them atomically: a signal sent during a request waits until the
 * answer is out (and the outbox delivered), then ends the loop; one sent
 * while idle ends the wait at once; none is lost in between.  A connection
 * still waiting in the listen queue when the loop ends is closed unanswered
 * (the web server reports its backend gone); none is half answered.  The
 * listening socket is non-blocking so that a process sharing it with
 * others (spawn-fcgi -F N) never sleeps in accept, with the signals
 * blocked, after another one took the connection. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void stop_signals_setup(sigset_t *waiting)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGUSR1);
	sigprocmask(SIG_BLOCK, &stop, waiting);
	sigdelset(waiting, SIGTERM);
	sigdelset(waiting, SIGUSR1);
}

/* The stop signal that came, or 0.  One sent during a request stays
 * pending (blocked) until it is looked for here: ppoll returns a ready
 * connection without taking a pending signal, so it is looked for before
 * the wait and after it. */
static int stop_requested(void)
{
	if (stop_signal)
		return stop_signal;
	sigset_t pending;
	if (sigpending(&pending) != 0)
		return 0;
	if (sigismember(&pending, SIGTERM))
		return SIGTERM;
	if (sigismember(&pending, SIGUSR1))
		return SIGUSR1;
	return 0;
}

/* Wait, with the stop signals open, until fd (the listening socket, or a
 * connection the web server keeps open) is readable.  Returns 0 when
 * there is work, -1 when a stop signal came (none is taken after it) or
 * the wait failed. */
static int wait_for_work(struct app *a, int fd, const sigset_t *waiting)
{
	for (;;) {
		int n = 0, sig = stop_requested();
		if (!sig) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			n = ppoll(&p, 1, NULL, waiting);
			sig = stop_requested();
		}
		if (sig) {
			fprintf(a->log, "leadroute: %s: exiting (no request in flight)\n",
			        sig == SIGTERM ? "SIGTERM" : "SIGUSR1");
			fflush(a->log);
			return -1;
		}
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			fprintf(a->log, "leadroute: waiting for a connection: %s\n", strerror(errno));
			fflush(a->log);
			return -1;
		}
	}
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
	sigset_t waiting;
	if (!cgi) {
		/* before app_init: a stop signal during start-up waits for the loop */
		stop_signals_setup(&waiting);
		int fl = fcntl(sock, F_GETFL);
		if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) != 0) {
			fprintf(stderr, "leadroute.fcgi: cannot make the listening socket non-blocking: %s\n",
			        strerror(errno));
			return 1;
		}
	}
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
		handler_deliver_outbox(&a, clock_wall_ms());
		handler_run_sinks(&a, clock_wall_ms());   /* then the event sinks */
		app_free(&a);
		return 0;
	}
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, sock, 0) != 0) {
		fprintf(stderr, "leadroute.fcgi: cannot set up a request\n");
		app_free(&a);
		return 1;
	}
	/* the stop signals are blocked from here on except inside wait_for_work */
	for (;;) {
		if (wait_for_work(&a, fr.ipcFd >= 0 ? fr.ipcFd : sock, &waiting) != 0)
			break;
		int rc = FCGX_Accept_r(&fr);
		if (rc == -EAGAIN || rc == -EINTR)
			continue;   /* another process took the connection */
		if (rc < 0)
			break;
		struct io io = { &fr, fr.envp };
		serve_one(&a, &io);
		FCGX_Finish_r(&fr);
		/* the buyer has the answer; confirm in the CRM before the next
		 * request (crash-only: a kill here leaves the row due) */
		handler_deliver_outbox(&a, clock_wall_ms());
		handler_run_sinks(&a, clock_wall_ms());   /* then the event sinks */
	}
	FCGX_Free(&fr, 1);
	app_free(&a);
	return 0;
}
