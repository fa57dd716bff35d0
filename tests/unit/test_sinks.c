/* test_sinks - the sink runner (src/events/sinks.h) against a scripted
 * sink, and the JSON-lines sink (src/events/jsonl.h) on a real file.
 *
 * Checked: the cursor moves past what was taken and nothing is sent twice;
 * unwanted types are skipped without a send; batches are at most max_batch
 * and a run at most max_batches; a retry keeps the cursor, waits by the
 * outbox's backoff and honours Retry-After; refused events (one by one, or
 * a whole batch) are recorded in sink_dead; a batch still failing after
 * max_attempts is given up and recorded; an alert after SINKS_ALERT_AFTER
 * failures; a leased cursor is not taken until its lease ends, and then the
 * batch is sent again (a crash between send and settle), and a send that
 * outlived its lease settles nothing; the JSON-lines
 * file resumes from its last line and cuts off a torn one; dedup ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "events/forward.h"
#include "events/jsonl.h"
#include "events/sinks.h"
#include "store/store.h"

/* ---- the scripted sink ---- */

#define MAX_SENT 256

struct script {
	struct sink_result next[32];
	int n_next, pos;
	int calls;
	int64_t sent[MAX_SENT];      /* every event id handed to send, in order */
	size_t n_sent;
	size_t batch_sizes[64];
	const char *only;            /* wants only this type; NULL: all */
	int64_t steal_at;            /* nonzero: during the send, another runner claims the
	                                cursor at this time (the lease ran out) */
};

static struct store *s;
static struct outbox_policy pol;

static bool scripted_wants(const struct sink *sk, const char *type)
{
	const struct script *sc = sk->state;
	return !sc->only || strcmp(sc->only, type) == 0;
}

static int scripted_send(struct sink *sk, const struct sink_event *ev, size_t n,
                         struct sink_result *res)
{
	struct script *sc = sk->state;
	if (sc->calls < 64)
		sc->batch_sizes[sc->calls] = n;
	sc->calls++;
	for (size_t i = 0; i < n && sc->n_sent < MAX_SENT; i++)
		sc->sent[sc->n_sent++] = ev[i].id;
	if (sc->steal_at) {
		struct store_sink_cursor c;
		assert_int_equal(store_begin(s), 0);
		assert_int_equal(store_sink_claim(s, sk->name, sc->steal_at, pol.lease_ms, &c), 1);
		assert_int_equal(store_commit(s), 0);
	}
	if (sc->pos < sc->n_next)
		*res = sc->next[sc->pos++];
	else
		*res = (struct sink_result){ .status = SINK_DONE, .http_status = 200 };
	return res->status == SINK_DONE ? 0 : -1;
}

static void scripted_close(struct sink *sk)
{
	(void)sk;
}

static struct sink *scripted(struct script *sc, int max_batch)
{
	static struct sink sk;
	sk = (struct sink){ .name = "scripted", .max_batch = max_batch, .wants = scripted_wants,
	                    .send = scripted_send, .close = scripted_close, .state = sc };
	return &sk;
}

static struct sink_result *then(struct script *sc, enum sink_status st, int64_t retry_after,
                                const char *msg)
{
	struct sink_result *r = &sc->next[sc->n_next++];
	memset(r, 0, sizeof *r);
	r->status = st;
	r->http_status = st == SINK_DONE ? 200 : 503;
	r->retry_after_ms = retry_after;
	snprintf(r->message, sizeof r->message, "%s", msg);
	return r;
}

/* ---- fixtures ---- */

static char dir[64], db[128];
static const int64_t T0 = 1800000000000;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/lr-sinks.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/leads.db", dir);
	char err[512];
	s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	outbox_policy_default(&pol, 1000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(s);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void add_events(int n, const char *type)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(store_event(s, i % 2 ? "lead-0001" : NULL, type, T0 + i,
		                             "{\"n\":1}"), 0);
}

static struct store_sink_cursor cursor(const char *name)
{
	struct store_sink_cursor c = {0};
	assert_int_equal(store_sink_peek(s, name, &c), 1);
	return c;
}

/* A number from the database (checks on tables the store does not list). */
static int64_t sql_int(const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static int run(struct sink *sk, int64_t now, int max_batches, struct sinks_counts *k)
{
	char err[512];
	memset(k, 0, sizeof *k);
	int n = sinks_run(s, &sk, 1, &pol, now, max_batches, k, err, sizeof err);
	assert_true(n >= 0);
	return n;
}

/* ---- the runner ---- */

static void test_cursor_advances_and_nothing_twice(void **state)
{
	(void)state;
	struct script sc = {0};
	struct sink *sk = scripted(&sc, 10);
	struct sinks_counts k;
	assert_int_equal(run(sk, T0, 5, &k), 0);   /* no events: no send, no cursor */
	assert_int_equal(sc.calls, 0);
	add_events(4, "form_submitted");
	assert_int_equal(run(sk, T0, 5, &k), 1);
	assert_int_equal(sc.calls, 1);
	assert_int_equal(sc.n_sent, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sc.sent[i], (int64_t)i + 1);
	assert_int_equal(k.sent, 4);
	struct store_sink_cursor c = cursor("scripted");
	assert_int_equal(c.last_id, 4);
	assert_int_equal(c.attempts, 0);
	assert_int_equal(c.lease_ms, 0);
	assert_int_equal(run(sk, T0 + 1, 5, &k), 0);
	assert_int_equal(sc.calls, 1);
	add_events(2, "owner_assigned");
	assert_int_equal(run(sk, T0 + 2, 5, &k), 1);
	assert_int_equal(sc.n_sent, 6);
	assert_int_equal(sc.sent[4], 5);
	assert_int_equal(sc.sent[5], 6);
}

static void test_batches_bounded(void **state)
{
	(void)state;
	struct script sc = {0};
	struct sink *sk = scripted(&sc, 3);
	add_events(7, "form_view");
	struct sinks_counts k;
	assert_int_equal(run(sk, T0, 2, &k), 2);   /* two batches of 3 */
	assert_int_equal(sc.batch_sizes[0], 3);
	assert_int_equal(sc.batch_sizes[1], 3);
	assert_int_equal(cursor("scripted").last_id, 6);
	assert_int_equal(run(sk, T0, 2, &k), 1);
	assert_int_equal(sc.batch_sizes[2], 1);
	assert_int_equal(cursor("scripted").last_id, 7);
	assert_int_equal(sc.n_sent, 7);
}

static void test_unwanted_skipped(void **state)
{
	(void)state;
	struct script sc = { .only = "meeting_booked" };
	struct sink *sk = scripted(&sc, 10);
	add_events(3, "form_view");
	add_events(1, "meeting_booked");   /* id 4 */
	add_events(2, "form_start");
	struct sinks_counts k;
	assert_int_equal(run(sk, T0, 5, &k), 1);
	assert_int_equal(sc.calls, 1);
	assert_int_equal(sc.n_sent, 1);
	assert_int_equal(sc.sent[0], 4);
	assert_int_equal(k.skipped, 5);
	assert_int_equal(cursor("scripted").last_id, 6);
	/* only unwanted ones: passed over without a send */
	add_events(3, "form_view");
	assert_int_equal(run(sk, T0, 5, &k), 1);
	assert_int_equal(sc.calls, 1);
	assert_int_equal(k.skipped, 3);
	assert_int_equal(cursor("scripted").last_id, 9);
}

static void test_retry_backoff_and_retry_after(void **state)
{
	(void)state;
	struct script sc = {0};
	struct sink *sk = scripted(&sc, 10);
	add_events(3, "form_submitted");
	then(&sc, SINK_RETRY, 0, "HTTP 503");
	then(&sc, SINK_RETRY, 60000, "HTTP 429");
	struct sinks_counts k;
	assert_int_equal(run(sk, T0, 5, &k), 1);
	assert_int_equal(k.retried, 1);
	struct store_sink_cursor c = cursor("scripted");
	assert_int_equal(c.last_id, 0);
	assert_int_equal(c.attempts, 1);
	assert_true(c.due_ms >= T0 + pol.backoff_base_ms / 2);
	assert_true(c.due_ms <= T0 + pol.backoff_base_ms + 5000);
	char *e = NULL;
	int attempts = 0;
	assert_int_equal(store_sink_last_error(s, "scripted", &e, &attempts), 1);
	assert_string_equal(e, "HTTP 503");
	free(e);
	/* not due yet: nothing is sent */
	assert_int_equal(run(sk, c.due_ms - 1, 5, &k), 0);
	assert_int_equal(sc.calls, 1);
	/* due: the same batch again; a Retry-After of a minute is honoured */
	assert_int_equal(run(sk, c.due_ms, 5, &k), 1);
	assert_int_equal(sc.calls, 2);
	assert_int_equal(sc.sent[3], 1);
	struct store_sink_cursor c2 = cursor("scripted");
	assert_int_equal(c2.last_id, 0);
	assert_int_equal(c2.attempts, 2);
	assert_true(c2.due_ms >= c.due_ms + 60000);
	/* then taken */
	assert_int_equal(run(sk, c2.due_ms, 5, &k), 1);
	assert_int_equal(cursor("scripted").last_id, 3);
	assert_int_equal(cursor("scripted").attempts, 0);
	assert_int_equal(store_sink_last_error(s, "scripted", &e, &attempts), 1);
	assert_null(e);
}

static void test_dead_events_recorded(void **state)
{
	(void)state;
	struct script sc = {0};
	struct sink *sk = scripted(&sc, 3);
	add_events(6, "owner_assigned");
	struct sink_result *r = then(&sc, SINK_DONE, 0, "invalid field time");
	r->n_dead = 2;
	r->dead[0] = 2;
	r->dead[1] = 99;   /* not in the batch: must not be recorded */
	then(&sc, SINK_DEAD, 0, "HTTP 400: bad request");
	struct sinks_counts k;
	assert_int_equal(run(sk, T0, 5, &k), 2);
	assert_int_equal(k.sent, 2);
	assert_int_equal(k.dead, 4);
	assert_int_equal(cursor("scripted").last_id, 6);
	assert_int_equal(sql_int("SELECT count(*) FROM sink_dead WHERE sink = 'scripted'"), 4);
	assert_int_equal(sql_int("SELECT count(*) FROM sink_dead WHERE event_id = 2 AND "
	                         "error = 'invalid field time'"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM sink_dead WHERE event_id IN (4,5,6) AND "
	                         "error = 'HTTP 400: bad request'"), 3);
	assert_int_equal(sql_int("SELECT count(*) FROM sink_dead WHERE event_id = 99"), 0);
}

static void test_gives_up_and_alerts(void **state)
{
	(void)state;
	struct script sc = {0};
	struct sink *sk = scripted(&sc, 2);   /* the alert event stays out of the batch */
	pol.max_attempts = SINKS_ALERT_AFTER + 1;
	add_events(2, "form_submitted");
	for (int i = 0; i < SINKS_ALERT_AFTER + 1; i++)
		then(&sc, SINK_RETRY, 0, "connection refused");
	struct sinks_counts k;
	int64_t now = T0;
	for (int i = 0; i < SINKS_ALERT_AFTER; i++) {
		assert_int_equal(run(sk, now, 1, &k), 1);
		now = cursor("scripted").due_ms;
		int64_t alerts = store_event_count(s, "alert");
		assert_int_equal(alerts, i + 1 == SINKS_ALERT_AFTER ? 1 : 0);
	}
	assert_int_equal(sql_int("SELECT count(*) FROM events WHERE type = 'alert' AND "
	                         "json_extract(data, '$.alert') = 'sink_failures' AND "
	                         "json_extract(data, '$.sink') = 'scripted'"), 1);
	/* the last allowed attempt fails too: the batch is given up, recorded */
	assert_int_equal(run(sk, now, 1, &k), 1);
	assert_int_equal(k.dead, 2);
	assert_int_equal(sql_int("SELECT count(*) FROM sink_dead WHERE error LIKE "
	                         "'connection refused (gave up after %'"), 2);
	/* the cursor moved past the batch (not past the alert event, id 3) */
	assert_int_equal(cursor("scripted").last_id, 2);
	assert_int_equal(run(sk, now, 1, &k), 1);
	assert_int_equal(sc.sent[sc.n_sent - 1], 3);
}

static void test_lease(void **state)
{
	(void)state;
	struct script sc = {0};
	struct sink *sk = scripted(&sc, 10);
	add_events(2, "form_submitted");
	/* another process claimed the cursor and is sending (or died) */
	struct store_sink_cursor c;
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_sink_claim(s, "scripted", T0, pol.lease_ms, &c), 1);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(c.attempts, 1);
	struct sinks_counts k;
	assert_int_equal(run(sk, T0 + pol.lease_ms - 1, 5, &k), 0);
	assert_int_equal(sc.calls, 0);
	/* the lease ran out: the batch is sent (again) and settled */
	assert_int_equal(run(sk, T0 + pol.lease_ms, 5, &k), 1);
	assert_int_equal(sc.n_sent, 2);
	assert_int_equal(cursor("scripted").last_id, 2);
	/* a send that outlived its lease: another runner took the cursor, so
	 * this one settles nothing (the other's settle counts) */
	add_events(1, "form_submitted");
	sc.steal_at = T0 + 3 * pol.lease_ms;
	assert_int_equal(run(sk, T0 + 2 * pol.lease_ms, 5, &k), 0);
	assert_int_equal(k.batches, 0);
	struct store_sink_cursor after = cursor("scripted");
	assert_int_equal(after.last_id, 2);
	assert_int_equal(after.lease_ms, T0 + 3 * pol.lease_ms + pol.lease_ms);
	sc.steal_at = 0;
	/* a claim while leased is refused */
	assert_int_equal(store_begin(s), 0);
	int64_t later = T0 + 5 * pol.lease_ms;
	assert_int_equal(store_sink_claim(s, "scripted", later, pol.lease_ms, &c), 1);
	assert_int_equal(store_sink_claim(s, "scripted", later + 1, pol.lease_ms, &c), 0);
	store_rollback(s);
}

/* ---- the JSON-lines sink ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The ids on the file's lines, in order; every line must parse. */
static size_t line_ids(const char *path, int64_t *ids, size_t max)
{
	char *text = slurp(path), *save = NULL;
	size_t n = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *v;
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "id", &v));
		assert_true(n < max);
		ids[n++] = json_object_get_int64(v);
		assert_true(json_object_object_get_ex(o, "at", &v));
		assert_int_equal(strlen(json_object_get_string(v)), 24);
		json_object_put(o);
	}
	free(text);
	return n;
}

static void test_jsonl_writes_and_resumes(void **state)
{
	(void)state;
	char path[160], err[256];
	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	struct sink *sk = jsonl_sink_open(path, err, sizeof err);
	assert_non_null(sk);
	add_events(3, "form_submitted");
	struct sinks_counts k;
	assert_int_equal(run(sk, T0, 5, &k), 1);
	int64_t ids[64];
	assert_int_equal(line_ids(path, ids, 64), 3);
	/* a crash after the append, before the cursor moved: sent again,
	 * written once */
	assert_int_equal(store_sink_advance(s, "jsonl", 0, T0), 0);
	add_events(2, "owner_assigned");
	assert_int_equal(run(sk, T0, 5, &k), 1);
	size_t n = line_ids(path, ids, 64);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], (int64_t)i + 1);
	/* a torn last line (the machine crashed mid-write): cut off, the event
	 * written again whole */
	add_events(1, "meeting_booked");
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	const char torn[] = "{\"id\":6,\"type\":\"meet";
	assert_int_equal(write(fd, torn, sizeof torn - 1), (ssize_t)(sizeof torn - 1));
	close(fd);
	assert_int_equal(run(sk, T0, 5, &k), 1);
	n = line_ids(path, ids, 64);
	assert_int_equal(n, 6);
	assert_int_equal(ids[5], 6);
	char *text = slurp(path);
	assert_non_null(strstr(text, "\"type\":\"meeting_booked\""));
	assert_non_null(strstr(text, "\"lead_id\":null"));
	assert_non_null(strstr(text, "\"data\":{\"n\":1}"));
	assert_non_null(strstr(text, "\"at\":\"2027-01-15T08:00:00.000Z\""));
	free(text);
	sk->close(sk);
}

static void test_jsonl_last_id(void **state)
{
	(void)state;
	char path[160], err[256];
	snprintf(path, sizeof path, "%s/t.jsonl", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	int64_t last = -1, end = -1;
	assert_int_equal(jsonl_last_id(fd, &last, &end, err, sizeof err), 0);
	assert_int_equal(last, 0);
	assert_int_equal(end, 0);
	/* a line longer than the first read from the end */
	char *big = malloc(200000);
	assert_non_null(big);
	int len = snprintf(big, 200000, "{\"id\":41,\"pad\":\"");
	memset(big + len, 'x', 150000);
	len += 150000;
	len += snprintf(big + len, 200000 - (size_t)len, "\"}\n");
	assert_int_equal(write(fd, "{\"id\":40}\n", 10), 10);
	assert_int_equal(write(fd, big, (size_t)len), len);
	assert_int_equal(jsonl_last_id(fd, &last, &end, err, sizeof err), 0);
	assert_int_equal(last, 41);
	assert_int_equal(end, 10 + len);
	assert_int_equal(write(fd, "{\"id\":42", 8), 8);   /* torn */
	assert_int_equal(jsonl_last_id(fd, &last, &end, err, sizeof err), 0);
	assert_int_equal(last, 41);
	assert_int_equal(end, 10 + len);
	free(big);
	close(fd);
}

static void test_dedup_ids(void **state)
{
	(void)state;
	char out[40], id[33], id2[33], err[256];
	events_dedup_id("0123456789abcdef0123456789abcdef", 42, out);
	assert_string_equal(out, "lr-01234567-42");
	events_dedup_id("0123456789abcdef0123456789abcdef", INT64_MAX, out);
	assert_true(strlen(out) <= 36);
	assert_int_equal(events_deployment_id(s, id, err, sizeof err), 0);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	assert_int_equal(events_deployment_id(s, id2, err, sizeof err), 0);
	assert_string_equal(id, id2);   /* kept */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cursor_advances_and_nothing_twice, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_batches_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwanted_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff_and_retry_after, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_dead_events_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up_and_alerts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jsonl_writes_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jsonl_last_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup_ids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
