/* test_notify - the content of owner notices and alerts (src/notify): the
 * mrkdwn escaping and its caps, the exact Slack messages for a known lead
 * and alert, the exact mail and its defences against header injection,
 * RFC 2047 subjects, plain addresses, the CRM link template's checks and
 * encoding, cleaning of values, and loading a notice from a store.
 * The sinks' sending and Slack's and sendmail's answers are tested end to
 * end by tests/notify/notify-test.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/crmlink.h"
#include "notify/email.h"
#include "notify/notice.h"
#include "notify/slack.h"
#include "store/store.h"
#include "util/buf.h"

/* ---- mrkdwn ---- */

static char *escaped(const char *s, size_t max)
{
	struct buf b = { 0 };
	buf_adds(&b, "");
	slack_escape(&b, s, max);
	return buf_take(&b);
}

static void check_escape(const char *in, size_t max, const char *want)
{
	char *got = escaped(in, max);
	assert_string_equal(got, want);
	free(got);
}

static void test_escape(void **state)
{
	(void)state;
	check_escape("a<b>&c", 100, "a&lt;b&gt;&amp;c");
	check_escape("<!channel> <@U1> <http://x|y>", 100,
	             "&lt;!channel&gt; &lt;@U1&gt; &lt;http://x|y&gt;");
	check_escape("*bold* _it_ `code`", 100, "*bold* _it_ `code`");   /* harmless, kept */
	check_escape("&amp;", 100, "&amp;amp;");                          /* no double meaning */
	/* caps never cut an entity or a character, and say "..." */
	check_escape("a&b", 7, "a&amp;b");
	check_escape("a&b", 6, "a...");
	check_escape("ééé", 6, "ééé");
	check_escape("éééé", 7, "éé...");
	check_escape("éééé", 6, "é...");
	check_escape("abcdef", 6, "abcdef");
	check_escape("abcdefg", 6, "abc...");
	struct buf fresh = { 0 };                /* a buffer never grown, cut at once */
	slack_escape(&fresh, "&&", 3);
	assert_string_equal(buf_str(&fresh), "...");
	buf_free(&fresh);
	char *none = escaped(NULL, 10);
	assert_string_equal(none, "");
	free(none);
}

/* ---- the known lead ---- */

static struct notice known(void)
{
	return (struct notice){
		.event_id = 42, .at_ms = 1767225600000, .assigned = true,
		.lead_id = "3f2c6a1e-0b7d-4c8e-9a51-2d4f6e8b0c13", .member = "ann@acme.example",
		.queue = "enterprise_us", .rule_line = 12, .fallbacks = 0, .lead_found = true,
		.name = "Jane Doe", .company = "Example & Sons <Inc>", .email = "jane@example.com",
		.domain = "example.com", .country = "US", .employees = "500",
		.crm_link = "https://crm.example/leads?id=3f2c&q=jane%40example.com",
	};
}

static void test_slack_notice_json(void **state)
{
	(void)state;
	struct notice n = known();
	char *j = slack_notice_json(&n);
	assert_string_equal(j,
		"{\"text\":\"New lead for ann@acme.example: Jane Doe, Example &amp; Sons &lt;Inc&gt;\","
		"\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":"
		"\"*New lead for ann@acme.example*\\n*Jane Doe*, Example &amp; Sons &lt;Inc&gt;\\n"
		"jane@example.com · US · 500 employees\"}},"
		"{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":"
		"\"<https://crm.example/leads?id=3f2c&amp;q=jane%40example.com|Open in the CRM>\"}},"
		"{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"
		"\"queue enterprise_us · rule line 12 · lead 3f2c6a1e-0b7d-4c8e-9a51-2d4f6e8b0c13\"}]}]}");
	free(j);

	/* unassigned, no link, no company or details, fallbacks */
	n = known();
	n.assigned = false;
	n.member = NULL;
	n.queue = "inbound";
	n.company = n.email = n.country = n.employees = n.crm_link = NULL;
	n.fallbacks = 2;
	n.rule_line = 0;
	j = slack_notice_json(&n);
	assert_string_equal(j,
		"{\"text\":\"Lead not assigned: no available member in queue inbound: Jane Doe\","
		"\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":"
		"\"*Lead not assigned: no available member in queue inbound*\\n*Jane Doe*\"}},"
		"{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"
		"\"queue inbound · 2 fallbacks · lead 3f2c6a1e-0b7d-4c8e-9a51-2d4f6e8b0c13\"}]}]}");
	free(j);
}

static void test_slack_notice_caps(void **state)
{
	(void)state;
	char big[NOTICE_MAX_VALUE + 1];
	memset(big, '<', NOTICE_MAX_VALUE);
	big[NOTICE_MAX_VALUE] = '\0';
	struct notice n = known();
	n.name = n.company = n.email = n.country = n.employees = n.member = n.queue = big;
	char *j = slack_notice_json(&n);
	assert_null(strstr(j, "<<"));        /* every < escaped */
	/* the section's text: from its opening quote to the closing one */
	const char *t = strstr(j, "\"text\":\"*New lead");
	assert_non_null(t);
	t += strlen("\"text\":\"");
	const char *end = strstr(t, "\"}}");
	assert_non_null(end);
	assert_true((size_t)(end - t) <= SLACK_MAX_SECTION);
	free(j);
}

static void test_slack_alert_json(void **state)
{
	(void)state;
	char err[256] = "";
	char *j = slack_alert_json("{\"alert\":\"crm_dead_letter\",\"key\":\"hubspot\",\"message\":"
	                           "\"a lead's write to <hubspot> & co was dead-lettered\","
	                           "\"suppressed\":2,\"lead_id\":\"x\"}", err, sizeof err);
	assert_non_null(j);
	assert_string_equal(j,
		"{\"text\":\"leadroute alert crm_dead_letter: a lead's write to &lt;hubspot&gt; &amp; co "
		"was dead-lettered\",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\","
		"\"text\":\"*leadroute alert* `crm_dead_letter`\\na lead's write to &lt;hubspot&gt; "
		"&amp; co was dead-lettered\"}},{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\","
		"\"text\":\"key hubspot · 2 more held back since the last one\"}]}]}");
	free(j);
	j = slack_alert_json("{\"alert\":\"rules_refused\"}", err, sizeof err);
	assert_string_equal(j,
		"{\"text\":\"leadroute alert rules_refused: (no message)\",\"blocks\":[{\"type\":"
		"\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"*leadroute alert* `rules_refused`"
		"\\n(no message)\"}}]}");
	free(j);
	assert_null(slack_alert_json("{\"message\":\"no kind\"}", err, sizeof err));
	assert_non_null(strstr(err, "alert"));
	assert_null(slack_alert_json("[1]", err, sizeof err));
	assert_null(slack_alert_json(NULL, err, sizeof err));
}

/* ---- mail ---- */

static void test_email_message(void **state)
{
	(void)state;
	struct notice n = known();
	char err[256] = "";
	char *m = email_notice_message(&n, "Leadroute <leads@acme.example>", err, sizeof err);
	assert_non_null(m);
	assert_string_equal(m,
		"From: Leadroute <leads@acme.example>\n"
		"To: ann@acme.example\n"
		"Subject: New lead: Jane Doe (Example & Sons <Inc>)\n"
		"Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
		"Message-ID: <leadroute.notice.42.3f2c6a1e-0b7d-4c8e-9a51-2d4f6e8b0c13@acme.example>\n"
		"Auto-Submitted: auto-generated\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"A new lead was routed to you.\n"
		"\n"
		"Name:      Jane Doe\n"
		"Company:   Example & Sons <Inc>\n"
		"Email:     jane@example.com\n"
		"Country:   US\n"
		"Employees: 500\n"
		"\n"
		"Queue:     enterprise_us\n"
		"Rule line: 12 of the rules file\n"
		"CRM:       https://crm.example/leads?id=3f2c&q=jane%40example.com\n"
		"\n"
		"-- \n"
		"leadroute: lead 3f2c6a1e-0b7d-4c8e-9a51-2d4f6e8b0c13, event 42\n");
	/* the same event gives the same mail, Message-ID included */
	char *again = email_notice_message(&n, "Leadroute <leads@acme.example>", err, sizeof err);
	assert_string_equal(m, again);
	free(again);
	free(m);
}

/* Every header line of m (up to the blank line) is "Name: ..." with a
 * name from the list, or a folded continuation (" ..."). */
static void assert_headers_only(const char *m, const char *const *names)
{
	const char *p = m;
	int to = 0;
	while (*p && *p != '\n') {
		const char *eol = strchr(p, '\n');
		assert_non_null(eol);
		if (*p != ' ') {
			bool known_name = false;
			for (const char *const *nm = names; *nm; nm++)
				if (strncmp(p, *nm, strlen(*nm)) == 0 && p[strlen(*nm)] == ':')
					known_name = true;
			if (!known_name)
				fail_msg("an injected header line: %.*s", (int)(eol - p), p);
			to += strncmp(p, "To:", 3) == 0;
		}
		assert_null(memchr(p, '\r', (size_t)(eol - p)));
		p = eol + 1;
	}
	assert_int_equal(to, 1);
}

static void test_email_injection(void **state)
{
	(void)state;
	static const char *const names[] = { "From", "To", "Subject", "Date", "Message-ID",
	                                     "Auto-Submitted", "MIME-Version", "Content-Type",
	                                     "Content-Transfer-Encoding", NULL };
	struct notice n = known();
	char err[256] = "";
	n.name = "Jane\r\nBcc: victim@evil.example";
	n.company = "Acme\nTo: other@evil.example\r\n\r\nforged body";
	n.email = "x@y.z\rCc: c@evil.example";
	char *m = email_notice_message(&n, "leads@acme.example", err, sizeof err);
	assert_non_null(m);
	assert_headers_only(m, names);
	assert_non_null(strstr(m, "Subject: New lead: Jane  Bcc: victim@evil.example (Acme To: "
	                          "other@evil.example    forged body)\n"));
	/* the body's lines too: the value stays on its line */
	assert_non_null(strstr(m, "\nEmail:     x@y.z Cc: c@evil.example\n"));
	free(m);

	/* a non-ASCII subject with a CR LF in it: encoded, still one header */
	n = known();
	n.name = "José\r\nBcc: victim@evil.example";
	m = email_notice_message(&n, "leads@acme.example", err, sizeof err);
	assert_non_null(m);
	assert_headers_only(m, names);
	assert_non_null(strstr(m, "Subject: =?UTF-8?B?"));
	free(m);

	/* a To that is not one plain address is refused, not cleaned */
	static const char *const bad_to[] = {
		"ann@acme.example\r\nBcc: victim@evil.example", "ann@acme.example, b@evil.example",
		"Ann <ann@acme.example>", "ann", "@acme.example", "ann@", "ann@acme..example",
		"ann@@acme.example", "|/bin/sh@acme.example", "ann rep@acme.example", "",
	};
	for (size_t i = 0; i < sizeof bad_to / sizeof bad_to[0]; i++) {
		n = known();
		n.member = (char *)bad_to[i];
		err[0] = '\0';
		assert_null(email_notice_message(&n, "leads@acme.example", err, sizeof err));
		assert_non_null(strstr(err, "not one plain email address"));
	}
	n = known();
	n.assigned = false;
	assert_null(email_notice_message(&n, "leads@acme.example", err, sizeof err));
}

static void test_email_header(void **state)
{
	(void)state;
	struct buf b = { 0 };
	email_add_header(&b, "Subject", "Café");
	assert_string_equal(buf_str(&b), "Subject: =?UTF-8?B?Q2Fmw6k=?=\n");
	buf_reset(&b);
	email_add_header(&b, "Subject", "a\r\nb\tc");
	assert_string_equal(buf_str(&b), "Subject: a  b c\n");
	buf_reset(&b);
	/* 46 two-byte characters: words of at most 45 bytes, split between
	 * characters (22 a word) */
	char s[200] = "";
	for (int i = 0; i < 46; i++)
		strcat(s, "é");
	email_add_header(&b, "Subject", s);
	assert_string_equal(buf_str(&b),
		"Subject: =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\n"
		" =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\n"
		" =?UTF-8?B?w6nDqQ==?=\n");
	buf_free(&b);
}

static void test_email_address(void **state)
{
	(void)state;
	assert_true(email_address_ok("ann@acme.example"));
	assert_true(email_address_ok("ann.rep+leads@sub.acme-corp.example"));
	assert_true(email_address_ok("o'neil@acme.example"));
	assert_false(email_address_ok(NULL));
	assert_false(email_address_ok("ann@acme.example\n"));
	assert_false(email_address_ok("ann@acme.example "));
	assert_false(email_address_ok("ann@acme.example;b@c.d"));
	assert_false(email_address_ok("ann@.example"));
	assert_false(email_address_ok("ann@acme.example."));
	assert_false(email_address_ok("/tmp/x@acme.example"));
	assert_false(email_address_ok("ann\"@acme.example"));
}

/* ---- the CRM link ---- */

static void test_crmlink(void **state)
{
	(void)state;
	char err[256];
	const char *t = "https://crm.example/leads/{lead_id}?q={email}&d={domain}";
	assert_int_equal(crmlink_check(t, err, sizeof err), 0);
	char *l = crmlink_expand(t, "3f2c-01", "jane+x@ex.com", "ex.com");
	assert_string_equal(l, "https://crm.example/leads/3f2c-01?q=jane%2Bx%40ex.com&d=ex.com");
	free(l);
	/* a lead's value can add no parameter, path, fragment, space or Slack syntax */
	l = crmlink_expand(t, "../admin", "a@b.c&admin=1#x y|<!channel>", NULL);
	assert_string_equal(l, "https://crm.example/leads/..%2Fadmin?q=a%40b.c%26admin%3D1%23x"
	                       "%20y%7C%3C%21channel%3E&d=");
	free(l);
	l = crmlink_expand("http://crm.example/{email}{email}", NULL, "é", NULL);
	assert_string_equal(l, "http://crm.example/%C3%A9%C3%A9");
	free(l);
	static const char *const bad[] = {
		"ftp://crm.example/{lead_id}", "crm.example/{lead_id}", "https://crm.example/{id}",
		"https://crm.example/{lead_id", "https://crm.example/}", "https://crm.example/a b",
		"https://crm.example/a|b", "https://crm.example/<a>", "https://crm.example/\"",
		"https://crm.example/\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(crmlink_check(bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "LEADROUTE_CRM_LINK"));
	}
	/* a link longer than CRMLINK_MAX is no link */
	char big[CRMLINK_MAX];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_null(crmlink_expand("https://c.example/{email}", NULL, big, NULL));
}

/* ---- cleaning ---- */

static void check_clean(const char *in, size_t max, const char *want)
{
	char *got = notice_clean(in, max);
	assert_string_equal(got, want);
	free(got);
}

static void test_clean(void **state)
{
	(void)state;
	check_clean("  Jane\r\nDoe\t ", 100, "Jane  Doe");
	check_clean("a\x7f" "b\xc2\x85" "c\xe2\x80\xa8" "d", 100, "a b c d");   /* DEL, NEL, LS */
	check_clean("bad \xff\xfe utf8 \xc3", 100, "bad ?? utf8 ?");
	check_clean("\xed\xa0\x80", 100, "???");                                /* a surrogate */
	check_clean("\xe0\x80\xaf", 100, "???");                                /* overlong */
	check_clean("abcdefghij", 10, "abcdefghij");
	check_clean("abcdefghijk", 10, "abcdefg...");
	check_clean("ééééé", 9, "ééé...");
	check_clean("ééééé", 8, "éé...");
	assert_null(notice_clean(NULL, 10));
}

/* ---- a notice from the store ---- */

static void test_notice_load(void **state)
{
	(void)state;
	char path[] = "/tmp/test_notify.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char err[512];
	struct store *s = store_open(path, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	struct store_lead l = {
		.id = "lead-1", .created_ms = 1, .email = "jane+x@example.com", .domain = "example.com",
		.fields_json = "{\"first_name\":\"Jane\",\"last_name\":\"Doe\\r\\nBcc: x\","
		               "\"company\":\"Ex\",\"country\":\"US\",\"employees\":500.0}",
		.status = "routed", .queue = "emea", .member = "ann@acme.example", .rule_line = 9,
		.response_json = "{}",
	};
	assert_int_equal(store_lead_insert(s, &l), 0);

	struct sink_event ev = { 7, "lead-1", "owner_assigned", 1000,
	                         "{\"queue\":\"emea\",\"member\":\"ann@acme.example\","
	                         "\"rule_line\":9,\"fallbacks\":1}" };
	struct notice n;
	assert_int_equal(notice_load(s, &ev, "https://c.example/{lead_id}?e={email}", &n, err,
	                             sizeof err), 0);
	assert_true(n.assigned && n.lead_found);
	assert_string_equal(n.member, "ann@acme.example");
	assert_string_equal(n.name, "Jane Doe  Bcc: x");
	assert_string_equal(n.company, "Ex");
	assert_string_equal(n.employees, "500");
	assert_string_equal(n.email, "jane+x@example.com");
	assert_string_equal(n.crm_link, "https://c.example/lead-1?e=jane%2Bx%40example.com");
	assert_int_equal(n.rule_line, 9);
	assert_int_equal(n.fallbacks, 1);
	assert_int_equal(n.event_id, 7);
	notice_free(&n);

	/* a lead that is gone: the notice still says which */
	ev.lead_id = "lead-gone";
	assert_int_equal(notice_load(s, &ev, NULL, &n, err, sizeof err), 0);
	assert_false(n.lead_found);
	assert_null(n.name);
	assert_null(n.crm_link);
	notice_free(&n);

	/* events that can never make a notice */
	struct sink_event bad[] = {
		{ 8, "lead-1", "owner_assigned", 1, "{\"queue\":\"emea\",\"member\":null}" },
		{ 9, "lead-1", "owner_assigned", 1, NULL },
		{ 10, "lead-1", "owner_assigned", 1, "[]" },
		{ 11, NULL, "lead_unassigned", 1, "{\"queue\":\"emea\"}" },
		{ 12, "lead-1", "form_submitted", 1, "{}" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(notice_load(s, &bad[i], NULL, &n, err, sizeof err), NOTICE_BAD);
		assert_true(err[0] != '\0');
		assert_null(n.lead_id);
	}
	store_close(s);
	unlink(path);
	char side[sizeof path + 8];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_slack_notice_json),
		cmocka_unit_test(test_slack_notice_caps),
		cmocka_unit_test(test_slack_alert_json),
		cmocka_unit_test(test_email_message),
		cmocka_unit_test(test_email_injection),
		cmocka_unit_test(test_email_header),
		cmocka_unit_test(test_email_address),
		cmocka_unit_test(test_crmlink),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_notice_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
