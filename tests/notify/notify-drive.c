/* notify-drive - drives the notice and alert sinks (src/notify) for
 * notify-test.sh: one store and one sink of each kind for the whole run,
 * the way the sink runner holds them.
 *
 * The store is the SQLite file named by DRIVE_DB (created when missing).
 * Settings are the sinks' own (LEADROUTE_SLACK_WEBHOOK_URL, ...), changed
 * between opens with setenv/unsetenv.  Commands on standard input, one a
 * line; one JSON line out for each:
 *   setenv NAME VALUE | unsetenv NAME    -> {"rc"}
 *   open slack_notice|slack_alert|email_notice
 *                                        -> {"rc","configured","err","name","max_batch"}
 *   lead {"id","email","domain","queue","member","rule_line","fields":{...}}
 *                                        -> {"rc"}      (store_lead_insert)
 *   event {"lead_id","type","at_ms","data":{...}}
 *                                        -> {"rc","id"} (store_event)
 *   send SINK ID[,ID...]                 -> {"rc","wants","status","http","retry_after_ms",
 *                                            "message","dead":[...],"ms"}
 * The events a send hands over are read back from the events table.  The
 * driver prints only what the sinks hand out, which is what the test
 * checks for secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "events/sink.h"
#include "notify/email.h"
#include "notify/slack.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/xalloc.h"

enum { K_SLACK_NOTICE, K_SLACK_ALERT, K_EMAIL_NOTICE, K_N };
static const char *const kinds[K_N] = { "slack_notice", "slack_alert", "email_notice" };

struct driver {
	struct store *store;
	sqlite3 *db;                /* a second connection, to read events back */
	struct sink *sinks[K_N];
};

static void put(struct json_object *o, const char *k, struct json_object *v)
{
	if (json_object_object_add(o, k, v) != 0) {
		fprintf(stderr, "notify-drive: json-c failed\n");
		exit(2);
	}
}

static void emit(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s)
		exit(2);
	printf("%s\n", s);
	fflush(stdout);
	json_object_put(o);
}

static void answer_rc(int rc, const char *err)
{
	struct json_object *o = json_object_new_object();
	put(o, "rc", json_object_new_int(rc));
	if (err)
		put(o, "err", json_object_new_string(err));
	emit(o);
}

static int kind_of(const char *name)
{
	for (int k = 0; k < K_N; k++)
		if (strcmp(name, kinds[k]) == 0)
			return k;
	return -1;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

static void cmd_open(struct driver *d, const char *arg)
{
	int k = kind_of(arg);
	if (k < 0) {
		answer_rc(-1, "unknown sink");
		return;
	}
	if (d->sinks[k])
		d->sinks[k]->close(d->sinks[k]);
	char err[512] = "x";   /* the constructor must clear it */
	struct sink *(*open[K_N])(struct store *, char *, size_t) = {
		slack_notice_open, slack_alert_open, email_notice_open };
	d->sinks[k] = open[k](d->store, err, sizeof err);
	struct json_object *o = json_object_new_object();
	put(o, "rc", json_object_new_int(d->sinks[k] || !err[0] ? 0 : -1));
	put(o, "configured", json_object_new_boolean(d->sinks[k] != NULL));
	put(o, "err", json_object_new_string(err));
	if (d->sinks[k]) {
		put(o, "name", json_object_new_string(d->sinks[k]->name));
		put(o, "max_batch", json_object_new_int(d->sinks[k]->max_batch));
	}
	emit(o);
}

static void cmd_lead(struct driver *d, const char *arg)
{
	struct json_object *o = json_tokener_parse(arg), *v;
	if (!o || !str(o, "id")) {
		json_object_put(o);
		answer_rc(-1, "lead: a JSON object with an id");
		return;
	}
	struct store_lead l = { 0 };
	snprintf(l.id, sizeof l.id, "%s", str(o, "id"));
	l.created_ms = 1767225600000;
	l.email = str(o, "email");
	l.domain = str(o, "domain");
	l.fields_json = json_object_object_get_ex(o, "fields", &v)
		? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "{}";
	l.status = "routed";
	l.queue = str(o, "queue");
	l.member = str(o, "member");
	l.outcome = "confirm";
	l.redirect = "/confirm";
	l.rule_line = json_object_object_get_ex(o, "rule_line", &v) ? json_object_get_int(v) : 0;
	l.response_json = "{}";
	int rc = store_lead_insert(d->store, &l);
	answer_rc(rc, rc ? store_error(d->store) : NULL);
	json_object_put(o);
}

static void cmd_event(struct driver *d, const char *arg)
{
	struct json_object *o = json_tokener_parse(arg), *v;
	if (!o || !str(o, "type")) {
		json_object_put(o);
		answer_rc(-1, "event: a JSON object with a type");
		return;
	}
	const char *data = json_object_object_get_ex(o, "data", &v) && v
		? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL;
	int64_t at = json_object_object_get_ex(o, "at_ms", &v) ? json_object_get_int64(v)
	                                                     : 1767225600000;
	int rc = store_event(d->store, str(o, "lead_id"), str(o, "type"), at, data);
	int64_t id = -1;
	sqlite3_stmt *st;
	if (rc == 0 && sqlite3_prepare_v2(d->db, "SELECT max(id) FROM events", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	struct json_object *a = json_object_new_object();
	put(a, "rc", json_object_new_int(rc == 0 && id > 0 ? 0 : -1));
	put(a, "id", json_object_new_int64(id));
	if (rc)
		put(a, "err", json_object_new_string(store_error(d->store)));
	emit(a);
	json_object_put(o);
}

static const char *status_name(enum sink_status s)
{
	return s == SINK_DONE ? "DONE" : s == SINK_RETRY ? "RETRY" : "DEAD";
}

/* Read event id back; 1 and *ev (strings owned: free_event), 0 when none. */
static int read_event(struct driver *d, int64_t id, struct sink_event *ev)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, "SELECT id, lead_id, type, at_ms, data FROM events"
	                       " WHERE id = ?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
		fprintf(stderr, "notify-drive: %s\n", sqlite3_errmsg(d->db));
		exit(2);
	}
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		const char *lead = (const char *)sqlite3_column_text(st, 1);
		const char *data = (const char *)sqlite3_column_text(st, 4);
		*ev = (struct sink_event){
			.id = sqlite3_column_int64(st, 0),
			.lead_id = lead ? xstrdup(lead) : NULL,
			.type = xstrdup((const char *)sqlite3_column_text(st, 2)),
			.at_ms = sqlite3_column_int64(st, 3),
			.data_json = data ? xstrdup(data) : NULL,
		};
	}
	sqlite3_finalize(st);
	return found;
}

static void free_event(struct sink_event *ev)
{
	free((char *)ev->lead_id);
	free((char *)ev->type);
	free((char *)ev->data_json);
}

static void cmd_send(struct driver *d, char *arg)
{
	char *ids = strchr(arg, ' ');
	if (ids)
		*ids++ = '\0';
	int k = kind_of(arg);
	if (k < 0 || !d->sinks[k] || !ids) {
		answer_rc(-1, "send: an open sink and event ids");
		return;
	}
	struct sink *sk = d->sinks[k];
	struct sink_event ev[16];
	size_t n = 0;
	for (char *p = strtok(ids, ","); p && n < 16; p = strtok(NULL, ","))
		if (read_event(d, strtoll(p, NULL, 10), &ev[n]))
			n++;
	if (n == 0) {
		answer_rc(-1, "send: no such event");
		return;
	}
	bool wants = sk->wants(sk, ev[0].type);
	struct sink_result res;
	memset(&res, 0x5a, sizeof res);     /* the sink must fill it */
	int64_t t0 = clock_mono_ms();
	int rc = sk->send(sk, ev, n, &res);
	int64_t ms = clock_mono_ms() - t0;
	struct json_object *o = json_object_new_object(), *dead = json_object_new_array();
	put(o, "rc", json_object_new_int(rc));
	put(o, "wants", json_object_new_boolean(wants));
	put(o, "status", json_object_new_string(status_name(res.status)));
	put(o, "http", json_object_new_int(res.http_status));
	put(o, "retry_after_ms", json_object_new_int64(res.retry_after_ms));
	put(o, "message", json_object_new_string(res.status == SINK_DONE && res.n_dead == 0
	                                          ? "" : res.message));
	for (size_t i = 0; i < res.n_dead && i < SINK_MAX_DEAD; i++)
		json_object_array_add(dead, json_object_new_int64(res.dead[i]));
	put(o, "dead", dead);
	put(o, "ms", json_object_new_int64(ms));
	emit(o);
	for (size_t i = 0; i < n; i++)
		free_event(&ev[i]);
}

int main(void)
{
	const char *path = getenv("DRIVE_DB");
	if (!path) {
		fprintf(stderr, "notify-drive: set DRIVE_DB\n");
		return 2;
	}
	struct driver d = { 0 };
	char err[512];
	d.store = store_open(path, STORE_SYNC_NORMAL, err, sizeof err);
	if (!d.store) {
		fprintf(stderr, "notify-drive: %s\n", err);
		return 2;
	}
	if (sqlite3_open_v2(path, &d.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "notify-drive: %s\n", sqlite3_errmsg(d.db));
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		if (strcmp(line, "setenv") == 0 && arg && strchr(arg, ' ')) {
			char *v = strchr(arg, ' ');
			*v++ = '\0';
			answer_rc(setenv(arg, v, 1), NULL);
		} else if (strcmp(line, "unsetenv") == 0 && arg) {
			answer_rc(unsetenv(arg), NULL);
		} else if (strcmp(line, "open") == 0 && arg) {
			cmd_open(&d, arg);
		} else if (strcmp(line, "lead") == 0 && arg) {
			cmd_lead(&d, arg);
		} else if (strcmp(line, "event") == 0 && arg) {
			cmd_event(&d, arg);
		} else if (strcmp(line, "send") == 0 && arg) {
			cmd_send(&d, arg);
		} else {
			answer_rc(-1, "unknown command");
		}
	}
	free(line);
	for (int k = 0; k < K_N; k++)
		if (d.sinks[k])
			d.sinks[k]->close(d.sinks[k]);
	sqlite3_close(d.db);
	store_close(d.store);
	return 0;
}
