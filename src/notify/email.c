/* email - the email_notice sink: one plain-text mail per owner_assigned
 * event, through sendmail (email.h).
 * Must never let a CR or LF into a header, never mail an address that is
 * not one plain address, and never send two different Message-IDs for one
 * event.
 */
#include "notify/email.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handler/config.h"
#include "notify/crmlink.h"
#include "notify/mailer.h"
#include "util/xalloc.h"

#define MAX_FROM 256
#define ENCODED_CHUNK 45      /* raw bytes per encoded word: 60 base64 characters */

bool email_address_ok(const char *addr)
{
	static const char local_extra[] = ".!#$%&'*+=?^_{}~-";
	size_t len = addr ? strlen(addr) : 0;
	const char *at = addr ? strchr(addr, '@') : NULL;
	if (!at || len > 254 || at == addr || at - addr > 64 || strchr(at + 1, '@'))
		return false;
	for (const char *p = addr; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(local_extra, *p)))
			return false;
	size_t label = 0;
	for (const char *p = at + 1;; p++) {
		if (*p == '.' || !*p) {
			if (label == 0)
				return false;
			if (!*p)
				return true;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		           (*p >= '0' && *p <= '9') || *p == '-') {
			label++;
		} else {
			return false;
		}
	}
}

static void base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
		              i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		buf_add(b, q, 4);
	}
}

void email_add_header(struct buf *b, const char *name, const char *value)
{
	struct buf v = { 0 };
	bool ascii = true;
	buf_add(&v, "", 0);
	for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
		buf_addc(&v, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
		ascii = ascii && *p < 0x80;
	}
	buf_adds(b, name);
	buf_adds(b, ": ");
	if (ascii) {
		buf_adds(b, buf_str(&v));
	} else {
		const unsigned char *p = (const unsigned char *)v.data, *end = p + v.len;
		while (p < end) {
			size_t n = (size_t)(end - p) < ENCODED_CHUNK ? (size_t)(end - p) : ENCODED_CHUNK;
			while (n > 1 && p + n < end && (p[n] & 0xc0) == 0x80)
				n--;      /* never split a character between two words */
			if (p != (const unsigned char *)v.data)
				buf_adds(b, "\n ");
			buf_adds(b, "=?UTF-8?B?");
			base64(b, p, n);
			buf_adds(b, "?=");
			p += n;
		}
	}
	buf_addc(b, '\n');
	buf_free(&v);
}

/* RFC 5322 date of a wall-clock time in ms, in UTC. */
static void mail_date(int64_t ms, char *out, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The domain of the sender's address, for Message-ID. */
static void from_domain(const char *from, char *out, size_t size)
{
	const char *at = strrchr(from, '@');
	size_t j = 0;
	for (const char *p = at ? at + 1 : ""; *p && j + 1 < size; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			break;
		out[j++] = *p;
	}
	out[j] = '\0';
	if (!j)
		snprintf(out, size, "leadroute.invalid");
}

/* "Label:     value\n" when value is given (control characters as spaces). */
static void body_line(struct buf *b, const char *label, const char *value)
{
	if (!value)
		return;
	buf_printf(b, "%-11s", label);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		buf_addc(b, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
	buf_addc(b, '\n');
}

char *email_notice_message(const struct notice *n, const char *from, char *err, size_t errlen)
{
	if (!n->assigned || !email_address_ok(n->member)) {
		snprintf(err, errlen, "event %lld: the member '%.80s' is not one plain email address; "
		         "no mail sent (rules name members by address)", (long long)n->event_id,
		         n->member ? n->member : "(none)");
		return NULL;
	}
	struct buf m = { 0 }, subject = { 0 };
	char date[64], domain[128], id[256];
	mail_date(n->at_ms, date, sizeof date);
	from_domain(from, domain, sizeof domain);
	/* the lead id is ours (a UUID) but only its safe characters go in */
	size_t j = 0;
	char lead[64];
	for (const char *p = n->lead_id; p && *p && j + 1 < sizeof lead; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-')
			lead[j++] = *p;
	lead[j] = '\0';
	snprintf(id, sizeof id, "<leadroute.notice.%lld.%s@%s>", (long long)n->event_id, lead,
	         domain);

	buf_adds(&subject, "New lead: ");
	if (n->name || n->email || !n->lead_found)
		buf_adds(&subject, n->name ? n->name : n->email ? n->email : "(lead no longer stored)");
	else
		buf_adds(&subject, "(no name)");
	if (n->company)
		buf_printf(&subject, " (%s)", n->company);

	email_add_header(&m, "From", from);
	email_add_header(&m, "To", n->member);
	email_add_header(&m, "Subject", buf_str(&subject));
	email_add_header(&m, "Date", date);
	email_add_header(&m, "Message-ID", id);
	email_add_header(&m, "Auto-Submitted", "auto-generated");
	email_add_header(&m, "MIME-Version", "1.0");
	email_add_header(&m, "Content-Type", "text/plain; charset=utf-8");
	email_add_header(&m, "Content-Transfer-Encoding", "8bit");
	buf_addc(&m, '\n');

	buf_adds(&m, "A new lead was routed to you.\n\n");
	if (!n->lead_found)
		buf_adds(&m, "(The lead is no longer stored; only its id is known.)\n");
	body_line(&m, "Name:", n->name);
	body_line(&m, "Company:", n->company);
	body_line(&m, "Email:", n->email);
	body_line(&m, "Country:", n->country);
	body_line(&m, "Employees:", n->employees);
	buf_addc(&m, '\n');
	body_line(&m, "Queue:", n->queue);
	if (n->rule_line > 0)
		buf_printf(&m, "%-11s%d of the rules file\n", "Rule line:", n->rule_line);
	if (n->fallbacks > 0)
		buf_printf(&m, "%-11s%d queue%s before this one had nobody available\n", "Fallbacks:",
		           n->fallbacks, n->fallbacks == 1 ? "" : "s");
	body_line(&m, "CRM:", n->crm_link);
	buf_printf(&m, "\n-- \nleadroute: lead %s, event %lld\n", lead, (long long)n->event_id);
	buf_free(&subject);
	return buf_take(&m);
}

/* ---- the sink ---- */

struct email_sink {
	struct sink sink;
	struct store *store;    /* borrowed */
	char *sendmail;         /* LEADROUTE_SENDMAIL */
	char *from;             /* LEADROUTE_NOTIFY_FROM */
	char *link;             /* LEADROUTE_CRM_LINK; NULL: none */
	int timeout_ms;
};

static bool email_wants(const struct sink *sk, const char *type)
{
	(void)sk;
	return strcmp(type, "owner_assigned") == 0;
}

/* One event: its verdict in res. */
static enum sink_status send_one(struct email_sink *es, const struct sink_event *ev,
                                 struct sink_result *res)
{
	*res = (struct sink_result){ .status = SINK_DONE };
	struct notice n;
	int rc = notice_load(es->store, ev, es->link, &n, res->message, sizeof res->message);
	if (rc != 0)
		return res->status = rc == NOTICE_FAILED ? SINK_RETRY : SINK_DEAD;
	char *mail = email_notice_message(&n, es->from, res->message, sizeof res->message);
	notice_free(&n);
	if (!mail)
		return res->status = SINK_DEAD;
	mailer_send(es->sendmail, mail, strlen(mail), es->timeout_ms, res);
	free(mail);
	return res->status;
}

/* Events one by one (max_batch is 1; in a longer batch a RETRY stops it,
 * so the events before are sent again). */
static int email_send(struct sink *sk, const struct sink_event *ev, size_t n,
                      struct sink_result *res)
{
	struct email_sink *es = sk->state;
	struct sink_result one;
	*res = (struct sink_result){ .status = SINK_DONE };
	for (size_t i = 0; i < n; i++) {
		if (!email_wants(sk, ev[i].type))
			continue;
		enum sink_status st = send_one(es, &ev[i], &one);
		if (st == SINK_RETRY) {
			*res = one;
			return -1;
		}
		if (st == SINK_DEAD) {
			if (res->n_dead < SINK_MAX_DEAD)
				res->dead[res->n_dead++] = ev[i].id;
			snprintf(res->message, sizeof res->message, "%s", one.message);
		}
	}
	if (n == 1 && res->n_dead == 1) {
		res->status = SINK_DEAD;
		res->n_dead = 0;
		return -1;
	}
	return 0;
}

static void email_close(struct sink *sk)
{
	if (!sk)
		return;
	struct email_sink *es = sk->state;
	free(es->sendmail);
	free(es->from);
	free(es->link);
	free(es);
}

/* A setting, with "" as unset: 0 and *out (may be NULL), or -1. */
static int setting(const char *name, char **out, char *err, size_t errlen)
{
	bool failed;
	*out = config_get(name, err, errlen, &failed);
	if (failed)
		return -1;
	if (*out && !**out) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

static bool from_ok(const char *from)
{
	if (strlen(from) > MAX_FROM || !strchr(from, '@'))
		return false;
	for (const unsigned char *p = (const unsigned char *)from; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

struct sink *email_notice_open(struct store *s, char *err, size_t errlen)
{
	err[0] = '\0';
	char *sendmail = NULL, *from = NULL, *link = NULL;
	int timeout_ms;
	if (setting("LEADROUTE_SENDMAIL", &sendmail, err, errlen) != 0 ||
	    setting("LEADROUTE_NOTIFY_FROM", &from, err, errlen) != 0)
		goto fail;
	if (!sendmail && !from)
		return NULL;
	if (!sendmail || !from) {
		snprintf(err, errlen, "%s is set but %s is not: set both to mail owners, or neither",
		         sendmail ? "LEADROUTE_SENDMAIL" : "LEADROUTE_NOTIFY_FROM",
		         sendmail ? "LEADROUTE_NOTIFY_FROM" : "LEADROUTE_SENDMAIL");
		goto fail;
	}
	if (sendmail[0] != '/' || access(sendmail, X_OK) != 0) {
		snprintf(err, errlen, "LEADROUTE_SENDMAIL: '%.200s' is not the absolute path of a "
		         "program this process can run%s%s", sendmail, sendmail[0] == '/' ? ": " : "",
		         sendmail[0] == '/' ? strerror(errno) : "");
		goto fail;
	}
	if (!from_ok(from)) {
		snprintf(err, errlen, "LEADROUTE_NOTIFY_FROM must be an address such as "
		         "\"Leadroute <leads@example.com>\" in printable ASCII, at most %d bytes",
		         MAX_FROM);
		goto fail;
	}
	if (notice_timeout_setting(&timeout_ms, err, errlen) != 0 ||
	    crmlink_setting(&link, err, errlen) != 0)
		goto fail;
	struct email_sink *es = xcalloc(1, sizeof *es);
	es->store = s;
	es->sendmail = sendmail;
	es->from = from;
	es->link = link;
	es->timeout_ms = timeout_ms;
	es->sink = (struct sink){
		.name = "email_notice",
		.max_batch = 1,
		.wants = email_wants,
		.send = email_send,
		.close = email_close,
		.state = es,
	};
	return &es->sink;
fail:
	free(sendmail);
	free(from);
	free(link);
	return NULL;
}
