/* store - SQLite behind the store interface.
 *
 * One connection per process, WAL journal, synchronous FULL (or NORMAL when
 * configured), a busy timeout so concurrent writers queue, and prepared
 * statements checked at every step.  Must never report success for a write
 * SQLite did not accept, and never leave a transaction open on error.
 */
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "store/groupsync.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define BUSY_TIMEOUT_MS 10000
#define STMT_CACHE 128

struct store {
	sqlite3 *db;
	struct groupsync *gs;   /* the writers' queue (FULL, GROUP) and group flushes */
	bool group;             /* STORE_SYNC_GROUP: wait for a group flush at commit */
	bool in_tx;
	bool queued;            /* holding groupsync's writer lock */
	char err[512];
	struct stmt_slot { const char *sql; sqlite3_stmt *st; } stmts[STMT_CACHE];
	/* strings of the last store_account_get */
	char *acc[5];
};

static int fail(struct store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

const char *store_error(const struct store *s)
{
	return s->err;
}

static int exec(struct store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "%s: %s", what, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The schema, by version: each entry takes the database from version i to
 * i + 1 and runs in one transaction. */
static const char *const migrations[] = {
	"CREATE TABLE leads ("
	"  id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, email TEXT, domain TEXT,"
	"  fields TEXT NOT NULL, status TEXT NOT NULL, queue TEXT, member TEXT, owner TEXT,"
	"  outcome TEXT, redirect TEXT, rule_line INTEGER, idem_key TEXT UNIQUE,"
	"  response TEXT, remote_addr TEXT, crm_status TEXT NOT NULL DEFAULT 'pending');"
	"CREATE INDEX leads_member_time ON leads(member, created_ms);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY, lead_id TEXT, type TEXT NOT NULL, at_ms INTEGER NOT NULL,"
	"  data TEXT);"
	"CREATE INDEX events_type ON events(type, at_ms);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY, lead_id TEXT NOT NULL, kind TEXT NOT NULL,"
	"  payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0, due_ms INTEGER NOT NULL, last_error TEXT,"
	"  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
	"CREATE INDEX outbox_due ON outbox(state, due_ms);"
	"CREATE TABLE rotation ("
	"  queue TEXT NOT NULL, member TEXT NOT NULL, current INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (queue, member));"
	"CREATE TABLE members_away (member TEXT PRIMARY KEY, until_ms INTEGER NOT NULL);"
	"CREATE TABLE accounts ("
	"  domain TEXT PRIMARY KEY, account_id TEXT, owner TEXT, lifecycle TEXT, tier TEXT,"
	"  updated_ms INTEGER NOT NULL);"
	"CREATE TABLE rate (addr TEXT NOT NULL, at_ms INTEGER NOT NULL);"
	"CREATE INDEX rate_addr ON rate(addr, at_ms);",
	/* 2: the embedded CRM of record */
	"CREATE TABLE crm_local (lead_id TEXT PRIMARY KEY, record TEXT NOT NULL,"
	"  written_ms INTEGER NOT NULL);",
	/* 3: the payload fingerprint of an idempotency key (NULL for leads
	 * stored before: their key replays without a check) */
	"ALTER TABLE leads ADD COLUMN idem_fingerprint TEXT;",
	/* 4: the outbox as a work queue shared by processes: a claimed row is
	 * leased (lease_ms) so a crashed deliverer's row comes back; the CRM's
	 * own id of the record, the last HTTP status; CRM-wide pauses (rate
	 * limits) every process respects */
	"ALTER TABLE outbox ADD COLUMN lease_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE outbox ADD COLUMN record_id TEXT;"
	"ALTER TABLE outbox ADD COLUMN http_status INTEGER;"
	"CREATE INDEX outbox_lead ON outbox(lead_id);"
	"CREATE TABLE crm_pause (crm TEXT PRIMARY KEY, until_ms INTEGER NOT NULL,"
	"  reason TEXT);",
	/* 5: small named values (the last accounts sync) */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
	/* 6: the event log's consumers (src/events/sink.h): each sink reads
	 * the events after its cursor; a claimed cursor is leased like an
	 * outbox row; events a destination refused one by one are kept */
	"CREATE TABLE sink_cursor (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL DEFAULT 0,"
	"  due_ms INTEGER NOT NULL DEFAULT 0, lease_ms INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
	"  updated_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sink_dead (sink TEXT NOT NULL, event_id INTEGER NOT NULL, error TEXT,"
	"  at_ms INTEGER NOT NULL, PRIMARY KEY (sink, event_id));"
	"CREATE INDEX events_lead ON events(lead_id, type);",
	/* 7: what an accounts import or sync found twice: a registrable domain
	 * claimed by two accounts (the one kept, the one not), for the report */
	"CREATE TABLE account_conflicts (domain TEXT NOT NULL, account_id TEXT, owner TEXT,"
	"  kept_account_id TEXT, kept_owner TEXT, seen_ms INTEGER NOT NULL);"
	"CREATE INDEX account_conflicts_domain ON account_conflicts(domain);",
	/* 8: alerts are rate-limited per kind and key (a field, a queue) */
	"CREATE TABLE alert_state (kind TEXT NOT NULL, key TEXT NOT NULL,"
	"  last_ms INTEGER NOT NULL, suppressed INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (kind, key));",
};

/* Bring the schema up to date.  The version is read inside a write
 * transaction, so processes opening a new file at the same moment migrate
 * it once, one after the other. */
static int schema_version(struct store *s)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return version;
}

static int migrate(struct store *s)
{
	/* the usual case, a current schema, needs no write lock */
	if (schema_version(s) == (int)(sizeof migrations / sizeof migrations[0]))
		return 0;
	if (store_begin(s) != 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot read the schema version");
		store_rollback(s);
		return -1;
	}
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	int n = (int)(sizeof migrations / sizeof migrations[0]);
	if (version < 0) {
		fail(s, "cannot read the schema version");
		store_rollback(s);
		return -1;
	}
	if (version > n) {
		snprintf(s->err, sizeof s->err, "the database is from a newer leadroute "
		         "(schema %d, this one knows %d)", version, n);
		store_rollback(s);
		return -1;
	}
	for (int v = version; v < n; v++) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (exec(s, migrations[v], "cannot create the tables") != 0 ||
		    exec(s, sql, "cannot set the schema version") != 0) {
			store_rollback(s);
			return -1;
		}
	}
	return store_commit(s);
}

/* Apply the connection's pragmas.  Turning a new file to WAL needs an
 * exclusive lock, and SQLite reports SQLITE_BUSY at once, without calling
 * the busy handler, when two connections would otherwise deadlock on it:
 * processes started together on a fresh database meet exactly that.  So
 * a busy answer is retried here, for as long as the busy timeout. */
static int setup_connection(struct store *s, const char *pragmas)
{
	int64_t deadline = clock_mono_ms() + BUSY_TIMEOUT_MS;
	for (;;) {
		if (exec(s, pragmas, "cannot set up the database") == 0)
			return 0;
		if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY || clock_mono_ms() >= deadline)
			return -1;
		struct timespec pause = { 0, (5 + getpid() % 10) * 1000000L };   /* apart */
		nanosleep(&pause, NULL);
	}
}

struct store *store_open(const char *path, enum store_sync sync, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                         SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database '%s': %s", path,
		         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sqlite3_close(s->db);
		free(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* group mode commits with NORMAL and flushes the WAL itself */
	const char *pragmas = sync == STORE_SYNC_FULL
		? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
		: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
	if (setup_connection(s, pragmas) != 0) {
		snprintf(err, errlen, "database '%s': %s", path, s->err);
		store_close(s);
		return NULL;
	}
	/* the writers' queue serves FULL too: without it a writer that finds
	 * the lock taken sleeps in SQLite's busy handler (1 to 100 ms) */
	s->group = sync == STORE_SYNC_GROUP;
	if (sync != STORE_SYNC_NORMAL &&
	    !(s->gs = groupsync_open(path, s->err, sizeof s->err))) {
		snprintf(err, errlen, "database '%s': %s", path, s->err);
		store_close(s);
		return NULL;
	}
	if (migrate(s) != 0) {
		snprintf(err, errlen, "database '%s': %s", path, s->err);
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_rollback(s);
	for (size_t i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(s->stmts[i].st);
	sqlite3_close(s->db);
	groupsync_close(s->gs);
	for (int i = 0; i < 5; i++)
		free(s->acc[i]);
	free(s);
}

static sqlite3_stmt *prep(struct store *s, const char *what, const char *sql,
                          const char *types, ...);
static int run(struct store *s, sqlite3_stmt *st, const char *what);

static void writer_unlock(struct store *s)
{
	if (s->queued)
		groupsync_writer_unlock(s->gs);
	s->queued = false;
}

int store_begin(struct store *s)
{
	if (s->gs && !s->queued) {
		if (groupsync_writer_lock(s->gs, s->err, sizeof s->err) != 0)
			return -1;
		s->queued = true;
	}
	/* prepared once, like every other statement */
	if (run(s, prep(s, "cannot start a transaction", "BEGIN IMMEDIATE", ""),
	        "cannot start a transaction") != 0) {
		writer_unlock(s);
		return -1;
	}
	s->in_tx = true;
	return 0;
}

/* groupsync's flush: fsync the WAL through SQLite's own handle (opening
 * and closing another descriptor on the database's files can drop SQLite's
 * POSIX locks). */
static int flush_wal(void *ctx, char *err, size_t errlen)
{
	struct store *s = ctx;
	sqlite3_file *wal = NULL;
	int rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	if (rc != SQLITE_OK || !wal || !wal->pMethods) {
		snprintf(err, errlen, "group commit: no WAL file to flush (%s)", sqlite3_errstr(rc));
		return -1;
	}
	rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "group commit: the WAL did not reach the disk (%s); "
		         "the commit is not durable", sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

int store_commit(struct store *s)
{
	if (run(s, prep(s, "cannot commit", "COMMIT", ""), "cannot commit") != 0) {
		store_rollback(s);
		return -1;
	}
	s->in_tx = false;
	writer_unlock(s);
	if (s->group && groupsync_wait(s->gs, flush_wal, s, s->err, sizeof s->err) != 0)
		return -1;
	return 0;
}

void store_rollback(struct store *s)
{
	if (s->in_tx || !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = false;
	writer_unlock(s);
}

/* Prepared statements are kept per connection, keyed by the address of
 * their SQL text: every caller passes a string literal.  One that is in use
 * (a nested call with the same SQL) or does not fit gets a statement of its
 * own, finalized by release. */
static sqlite3_stmt *cached(struct store *s, const char *sql)
{
	struct stmt_slot *free_slot = NULL;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (s->stmts[i].sql == sql && !sqlite3_stmt_busy(s->stmts[i].st))
			return s->stmts[i].st;
		if (!s->stmts[i].sql && !free_slot)
			free_slot = &s->stmts[i];
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(s->db, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &st,
	                       NULL) != SQLITE_OK)
		return NULL;
	if (free_slot)
		*free_slot = (struct stmt_slot){ sql, st };
	return st;
}

/* Done with a statement from prep: reset a cached one for its next use,
 * finalize one of its own. */
static void release(struct store *s, sqlite3_stmt *st)
{
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (s->stmts[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

/* Prepare sql and bind the arguments described by types: 't' text (NULL
 * allowed), 'i' int64, 'n' int.  Returns NULL with the error set. */
static sqlite3_stmt *prep(struct store *s, const char *what, const char *sql,
                          const char *types, ...)
{
	sqlite3_stmt *st = cached(s, sql);
	if (!st)
		return fail(s, what), NULL;
	va_list ap;
	va_start(ap, types);
	int rc = SQLITE_OK;
	for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 't': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		default:
			rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int));
			break;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		fail(s, what);
		release(s, st);
		return NULL;
	}
	return st;
}

/* Run a statement that returns no rows. */
static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	release(s, st);
	if (rc != SQLITE_DONE)
		return fail(s, what);
	return 0;
}

void store_lead_new_id(char id[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1) {
		/* the kernel's random source failing is not something to route
		 * around: stop rather than hand out a guessable id */
		fprintf(stderr, "leadroute: no random bytes for a lead id\n");
		abort();
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(id, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
	         b[12], b[13], b[14], b[15]);
}

int store_lead_insert(struct store *s, const struct store_lead *l)
{
	const char *what = "cannot store the lead";
	sqlite3_stmt *st = prep(s, what,
		"INSERT INTO leads (id, created_ms, email, domain, fields, status, queue, member,"
		" owner, outcome, redirect, rule_line, idem_key, idem_fingerprint, response,"
		" remote_addr) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		"titttttttttntttt", l->id, l->created_ms, l->email, l->domain, l->fields_json,
		l->status, l->queue, l->member, l->owner, l->outcome, l->redirect, l->rule_line,
		l->idem_key, l->idem_fingerprint, l->response_json, l->remote_addr);
	return run(s, st, what);
}

int store_idem_lookup(struct store *s, const char *key, char **response_json,
                      char **fingerprint)
{
	const char *what = "cannot look up the idempotency key";
	sqlite3_stmt *st = prep(s, what, "SELECT response, idem_fingerprint FROM leads"
	                        " WHERE idem_key = ?", "t", key);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *r = sqlite3_column_text(st, 0);
		const unsigned char *f = sqlite3_column_text(st, 1);
		*response_json = xstrdup(r ? (const char *)r : "");
		*fingerprint = f ? xstrdup((const char *)f) : NULL;
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

static char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? xstrdup((const char *)v) : NULL;
}

int store_leads_each(struct store *s, int limit, store_lead_fn fn, void *ctx)
{
	sqlite3_stmt *st = prep(s, "cannot list leads",
		"SELECT id, strftime('%Y-%m-%dT%H:%M:%SZ', created_ms / 1000, 'unixepoch'), email,"
		" queue, member, owner, outcome, status, crm_status, rule_line"
		" FROM leads ORDER BY created_ms DESC, rowid DESC LIMIT ?", "n", limit);
	if (!st)
		return -1;
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && ret == 0) {
		struct store_lead_row r = { col(st, 0), col(st, 1), col(st, 2), col(st, 3),
		                            col(st, 4), col(st, 5), col(st, 6), col(st, 7),
		                            col(st, 8), sqlite3_column_int(st, 9) };
		ret = fn(ctx, &r);
		free(r.id); free(r.created); free(r.email); free(r.queue); free(r.member);
		free(r.owner); free(r.outcome); free(r.status); free(r.crm_status);
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = fail(s, "cannot list leads");
	release(s, st);
	return ret;
}

int store_event(struct store *s, const char *lead_id, const char *type, int64_t at_ms,
                const char *data_json)
{
	const char *what = "cannot store the event";
	return run(s, prep(s, what, "INSERT INTO events (lead_id, type, at_ms, data) VALUES (?,?,?,?)",
	                   "ttit", lead_id, type, at_ms, data_json), what);
}

static int64_t count_query(struct store *s, const char *what, sqlite3_stmt *st)
{
	if (!st)
		return -1;
	int64_t n = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		fail(s, what);
	release(s, st);
	return n;
}

int64_t store_event_count(struct store *s, const char *type)
{
	const char *what = "cannot count events";
	return count_query(s, what, prep(s, what, "SELECT count(*) FROM events WHERE type = ?",
	                                 "t", type));
}

int store_event_counts(struct store *s, store_count_fn fn, void *ctx)
{
	sqlite3_stmt *st = prep(s, "cannot count events",
	                        "SELECT type, count(*) FROM events GROUP BY type ORDER BY type", "");
	if (!st)
		return -1;
	int rc, ret = 0;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(s, "cannot count events");
	release(s, st);
	return ret;
}

int64_t store_event_count_since(struct store *s, const char *type, int64_t since_ms,
                                const char *field)
{
	const char *what = "cannot count recent events";
	return count_query(s, what, prep(s, what,
	        "SELECT count(*) FROM events WHERE type = ?1 AND at_ms >= ?2 AND (?3 IS NULL OR"
	        " EXISTS (SELECT 1 FROM json_each(events.data, '$.fields') WHERE value = ?3))",
	        "tit", type, since_ms, field));
}

int store_alert_gate(struct store *s, const char *kind, const char *key, int64_t now_ms,
                     int64_t every_ms, int64_t *suppressed)
{
	const char *what = "cannot read the alert's state";
	sqlite3_stmt *st = prep(s, what, "SELECT last_ms, suppressed FROM alert_state"
	                        " WHERE kind = ? AND key = ?", "tt", kind, key);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	bool seen = rc == SQLITE_ROW;
	int64_t last = seen ? sqlite3_column_int64(st, 0) : 0;
	*suppressed = seen ? sqlite3_column_int64(st, 1) : 0;
	release(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(s, what);
	what = "cannot record the alert's state";
	if (seen && now_ms - last < every_ms) {
		if (run(s, prep(s, what, "UPDATE alert_state SET suppressed = suppressed + 1"
		                " WHERE kind = ? AND key = ?", "tt", kind, key), what) != 0)
			return -1;
		return 0;
	}
	if (run(s, prep(s, what, "INSERT INTO alert_state (kind, key, last_ms, suppressed)"
	                " VALUES (?,?,?,0) ON CONFLICT (kind, key) DO UPDATE SET"
	                " last_ms = excluded.last_ms, suppressed = 0", "tti", kind, key, now_ms),
	        what) != 0)
		return -1;
	return 1;
}

int64_t store_event_match(struct store *s, const char *type, const char *lead_id,
                          const char *key, const char *value)
{
	const char *what = "cannot look for the event";
	char path[80];
	snprintf(path, sizeof path, "$.%s", key);
	return count_query(s, what, prep(s, what, "SELECT count(*) FROM events WHERE lead_id = ?"
	                                 " AND type = ? AND json_extract(data, ?) = ?", "tttt",
	                                 lead_id, type, path, value));
}

int store_lead_find(struct store *s, const char *lead_id, const char *email,
                    struct store_lead_ref *out)
{
	const char *what = "cannot look up the lead";
	sqlite3_stmt *st = lead_id
		? prep(s, what, "SELECT id, member, queue FROM leads WHERE id = ?", "t", lead_id)
		: prep(s, what, "SELECT id, member, queue FROM leads WHERE lower(email) = lower(?)"
		       " ORDER BY created_ms DESC LIMIT 1", "t", email);
	if (!st)
		return -1;
	memset(out, 0, sizeof *out);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		const char *v[3] = { (const char *)sqlite3_column_text(st, 0),
		                     (const char *)sqlite3_column_text(st, 1),
		                     (const char *)sqlite3_column_text(st, 2) };
		snprintf(out->id, sizeof out->id, "%s", v[0] ? v[0] : "");
		snprintf(out->member, sizeof out->member, "%s", v[1] ? v[1] : "");
		snprintf(out->queue, sizeof out->queue, "%s", v[2] ? v[2] : "");
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

int store_outbox_add(struct store *s, const char *lead_id, const char *kind,
                     const char *payload_json, int64_t due_ms, int64_t *id)
{
	const char *what = "cannot queue the CRM write";
	if (run(s, prep(s, what,
	        "INSERT INTO outbox (lead_id, kind, payload, due_ms, created_ms, updated_ms)"
	        " VALUES (?,?,?,?,?,?)", "tttiii", lead_id, kind, payload_json, due_ms, due_ms,
	        due_ms), what) != 0)
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

void store_outbox_row_free(struct store_outbox_row *r)
{
	free(r->lead_id);
	free(r->kind);
	free(r->payload);
	free(r->state);
	free(r->last_error);
	free(r->record_id);
	memset(r, 0, sizeof *r);
}

/* Columns of a row as handed out, in struct store_outbox_row order. */
#define OUTBOX_COLS "id, lead_id, kind, payload, attempts, state, due_ms, created_ms," \
	" updated_ms, last_error, record_id, http_status"

static void outbox_row_read(sqlite3_stmt *st, struct store_outbox_row *out)
{
	*out = (struct store_outbox_row){
		.id = sqlite3_column_int64(st, 0), .lead_id = col(st, 1), .kind = col(st, 2),
		.payload = col(st, 3), .attempts = sqlite3_column_int(st, 4), .state = col(st, 5),
		.due_ms = sqlite3_column_int64(st, 6), .created_ms = sqlite3_column_int64(st, 7),
		.updated_ms = sqlite3_column_int64(st, 8), .last_error = col(st, 9),
		.record_id = col(st, 10), .http_status = sqlite3_column_int(st, 11),
	};
}

int store_outbox_claim(struct store *s, int64_t now_ms, int64_t lease_ms, const char *lead_id,
                       struct store_outbox_row *out)
{
	const char *what = "cannot claim an outbox row";
	sqlite3_stmt *st = lead_id
		? prep(s, what, "SELECT " OUTBOX_COLS " FROM outbox WHERE lead_id = ?"
		       " AND state = 'pending' AND due_ms <= ? AND lease_ms <= ?"
		       " ORDER BY due_ms, id LIMIT 1", "tii", lead_id, now_ms, now_ms)
		: prep(s, what, "SELECT " OUTBOX_COLS " FROM outbox WHERE state = 'pending'"
		       " AND due_ms <= ? AND lease_ms <= ? ORDER BY due_ms, id LIMIT 1", "ii",
		       now_ms, now_ms);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		outbox_row_read(st, out);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	if (found == 1 &&
	    run(s, prep(s, what, "UPDATE outbox SET lease_ms = ?, attempts = attempts + 1,"
	                " updated_ms = ? WHERE id = ?", "iii", now_ms + lease_ms, now_ms, out->id),
	        what) != 0) {
		store_outbox_row_free(out);
		return -1;
	}
	if (found == 1)
		out->attempts++;
	return found;
}

int store_outbox_done(struct store *s, int64_t id, const char *lead_id, const char *record_id,
                      int http_status, int64_t now_ms)
{
	const char *what = "cannot mark the CRM write done";
	if (run(s, prep(s, what, "UPDATE outbox SET state = 'done', lease_ms = 0, record_id = ?,"
	                " http_status = ?, last_error = NULL, updated_ms = ? WHERE id = ?",
	                "tnii", record_id, http_status, now_ms, id), what) != 0)
		return -1;
	return run(s, prep(s, what, "UPDATE leads SET crm_status = 'written' WHERE id = ?", "t",
	                   lead_id), what);
}

int store_outbox_retry(struct store *s, int64_t id, int64_t due_ms, const char *error,
                       int http_status, int64_t now_ms)
{
	const char *what = "cannot reschedule the CRM write";
	return run(s, prep(s, what, "UPDATE outbox SET lease_ms = 0, due_ms = ?, last_error = ?,"
	                   " http_status = ?, updated_ms = ? WHERE id = ?", "itnii", due_ms, error,
	                   http_status, now_ms, id), what);
}

int store_outbox_dead(struct store *s, int64_t id, const char *lead_id, const char *error,
                      int http_status, int64_t now_ms)
{
	const char *what = "cannot dead-letter the CRM write";
	if (run(s, prep(s, what, "UPDATE outbox SET state = 'dead', lease_ms = 0, last_error = ?,"
	                " http_status = ?, updated_ms = ? WHERE id = ?", "tnii", error, http_status,
	                now_ms, id), what) != 0)
		return -1;
	return run(s, prep(s, what, "UPDATE leads SET crm_status = 'failed' WHERE id = ?", "t",
	                   lead_id), what);
}

int store_outbox_revive(struct store *s, int64_t id, int64_t now_ms)
{
	const char *what = "cannot bring the dead letter back";
	int rc = id > 0
		? run(s, prep(s, what, "UPDATE outbox SET state = 'pending', attempts = 0, due_ms = ?,"
		              " lease_ms = 0, updated_ms = ? WHERE id = ? AND state = 'dead'", "iii",
		              now_ms, now_ms, id), what)
		: run(s, prep(s, what, "UPDATE outbox SET state = 'pending', attempts = 0, due_ms = ?,"
		              " lease_ms = 0, updated_ms = ? WHERE state = 'dead'", "ii", now_ms,
		              now_ms), what);
	if (rc != 0)
		return -1;
	int n = sqlite3_changes(s->db);
	if (n > 0 && run(s, prep(s, what, "UPDATE leads SET crm_status = 'pending' WHERE id IN"
	                         " (SELECT lead_id FROM outbox WHERE state = 'pending')"
	                         " AND crm_status = 'failed'", ""), what) != 0)
		return -1;
	return n;
}

int store_outbox_get(struct store *s, int64_t id, struct store_outbox_row *out)
{
	const char *what = "cannot read the outbox";
	sqlite3_stmt *st = prep(s, what, "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?", "i", id);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		outbox_row_read(st, out);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

int store_outbox_each(struct store *s, const char *state, int limit, store_outbox_fn fn,
                      void *ctx)
{
	const char *what = "cannot list the outbox";
	sqlite3_stmt *st = prep(s, what, "SELECT " OUTBOX_COLS " FROM outbox"
	                        " WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2", "tn",
	                        state, limit);
	if (!st)
		return -1;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_outbox_row r;
		outbox_row_read(st, &r);
		stop = fn(ctx, &r);
		store_outbox_row_free(&r);
	}
	if (!stop && rc != SQLITE_DONE) {
		fail(s, what);
		release(s, st);
		return -1;
	}
	release(s, st);
	return 0;
}

int64_t store_outbox_next_due(struct store *s)
{
	const char *what = "cannot read the outbox";
	sqlite3_stmt *st = prep(s, what, "SELECT min(max(due_ms, lease_ms)) FROM outbox"
	                        " WHERE state = 'pending'", "");
	if (!st)
		return -1;
	int64_t due = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		due = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
	else
		due = fail(s, what);
	release(s, st);
	return due;
}

int store_crm_pause(struct store *s, const char *crm, int64_t until_ms, const char *reason)
{
	const char *what = "cannot record the CRM's pause";
	return run(s, prep(s, what, "INSERT INTO crm_pause (crm, until_ms, reason) VALUES (?,?,?)"
	                   " ON CONFLICT (crm) DO UPDATE SET until_ms = max(until_ms,"
	                   " excluded.until_ms), reason = excluded.reason", "tit", crm, until_ms,
	                   reason), what);
}

int64_t store_crm_paused_until(struct store *s, const char *crm)
{
	const char *what = "cannot read the CRM's pause";
	sqlite3_stmt *st = prep(s, what, "SELECT until_ms FROM crm_pause WHERE crm = ?", "t", crm);
	if (!st)
		return -1;
	int64_t until = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		until = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		until = fail(s, what);
	release(s, st);
	return until;
}

int store_crm_local_put(struct store *s, const char *lead_id, const char *payload_json,
                        int64_t now_ms)
{
	const char *what = "cannot write the lead to the local CRM";
	return run(s, prep(s, what, "INSERT INTO crm_local (lead_id, record, written_ms) VALUES (?,?,?)"
	                   " ON CONFLICT (lead_id) DO UPDATE SET record = excluded.record",
	                   "tti", lead_id, payload_json, now_ms), what);
}

int store_rotation_pick(struct store *s, const char *queue, const struct store_member *m,
                        size_t n)
{
	const char *what = "cannot read the rotation";
	int64_t *cur = xcalloc(n ? n : 1, sizeof(int64_t));
	int64_t total = 0;
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = prep(s, what,
			"SELECT current FROM rotation WHERE queue = ? AND member = ?", "tt", queue,
			m[i].who);
		if (!st) {
			free(cur);
			return -1;
		}
		int rc = sqlite3_step(st);
		cur[i] = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		release(s, st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			free(cur);
			return fail(s, what);
		}
		if (!m[i].eligible) {
			cur[i] = 0;   /* no credit while unavailable: no burst on return */
			continue;
		}
		cur[i] += m[i].weight;
		total += m[i].weight;
		if (best < 0 || cur[i] > cur[best])
			best = (int)i;
	}
	if (best >= 0)
		cur[best] -= total;
	for (size_t i = 0; i < n; i++) {
		const char *w = "cannot save the rotation";
		if (run(s, prep(s, w, "INSERT INTO rotation (queue, member, current) VALUES (?,?,?)"
		                " ON CONFLICT (queue, member) DO UPDATE SET current = excluded.current",
		                "tti", queue, m[i].who, cur[i]), w) != 0) {
			free(cur);
			return -1;
		}
	}
	free(cur);
	return best;
}

int64_t store_member_count_since(struct store *s, const char *member, int64_t since_ms)
{
	const char *what = "cannot count a member's leads";
	return count_query(s, what, prep(s, what,
		"SELECT count(*) FROM leads WHERE member = ? AND created_ms >= ?", "ti", member,
		since_ms));
}

int store_member_set_away(struct store *s, const char *member, int64_t until_ms)
{
	const char *what = "cannot mark the member";
	if (until_ms == 0)
		return run(s, prep(s, what, "DELETE FROM members_away WHERE member = ?", "t", member),
		           what);
	return run(s, prep(s, what, "INSERT INTO members_away (member, until_ms) VALUES (?,?)"
	                   " ON CONFLICT (member) DO UPDATE SET until_ms = excluded.until_ms",
	                   "ti", member, until_ms), what);
}

int store_member_is_away(struct store *s, const char *member, int64_t now_ms)
{
	const char *what = "cannot read members away";
	int64_t n = count_query(s, what, prep(s, what,
		"SELECT count(*) FROM members_away WHERE member = ? AND until_ms > ?", "ti", member,
		now_ms));
	return n < 0 ? -1 : n > 0;
}

int store_account_put(struct store *s, const struct store_account *a)
{
	const char *what = "cannot store the account";
	return run(s, prep(s, what,
		"INSERT INTO accounts (domain, account_id, owner, lifecycle, tier, updated_ms)"
		" VALUES (?,?,?,?,?,?)"
		" ON CONFLICT (domain) DO UPDATE SET account_id = excluded.account_id,"
		" owner = excluded.owner, lifecycle = excluded.lifecycle, tier = excluded.tier,"
		" updated_ms = excluded.updated_ms",
		"ttttti", a->domain, a->id, a->owner, a->lifecycle, a->tier, clock_wall_ms()), what);
}

int64_t store_leads_reassigned(struct store *s, const char *domain, const char *old_owner,
                               const char *new_owner, int64_t since_ms, int64_t now_ms)
{
	const char *what = "cannot record the leads' new owner";
	if (run(s, prep(s, what,
	        "INSERT INTO events (lead_id, type, at_ms, data)"
	        " SELECT id, 'lead_reassigned', ?5, json_object('from', member, 'to', ?3,"
	        "  'source', 'accounts_sync', 'queue', queue)"
	        " FROM leads WHERE domain = ?1 AND lower(owner) = lower(?2)"
	        "  AND lower(member) = lower(?2) AND created_ms >= ?4"
	        "  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = leads.id"
	        "   AND e.type = 'lead_reassigned' AND json_extract(e.data, '$.to') = ?3)",
	        "tttii", domain, old_owner, new_owner, since_ms, now_ms), what) != 0)
		return -1;
	return sqlite3_changes(s->db);
}

int store_account_get(struct store *s, const char *domain, struct store_account *out)
{
	const char *what = "cannot look up the account";
	sqlite3_stmt *st = prep(s, what,
		"SELECT domain, account_id, owner, lifecycle, tier FROM accounts WHERE domain = ?",
		"t", domain);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < 5; i++) {
			free(s->acc[i]);
			s->acc[i] = col(st, i);
		}
		*out = (struct store_account){ s->acc[0], s->acc[1], s->acc[2], s->acc[3], s->acc[4] };
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

/* ---- account conflicts (for leadroute report) ---- */

int store_account_conflict_add(struct store *s, const struct store_account *lost,
                               const struct store_account *kept, int64_t seen_ms)
{
	const char *what = "cannot record the account conflict";
	return run(s, prep(s, what,
		"INSERT INTO account_conflicts (domain, account_id, owner, kept_account_id,"
		" kept_owner, seen_ms) VALUES (?,?,?,?,?,?)",
		"ttttti", lost->domain, lost->id, lost->owner, kept->id, kept->owner, seen_ms), what);
}

int store_account_put_noting_conflict(struct store *s, const struct store_account *a,
                                      int64_t now_ms)
{
	struct store_account old;
	int found = store_account_get(s, a->domain, &old);
	if (found < 0)
		return -1;
	/* old's strings stay valid: nothing below calls store_account_get */
	int conflict = found && old.id && a->id && strcmp(old.id, a->id) != 0;
	if (conflict && store_account_conflict_add(s, &old, a, now_ms) != 0)
		return -1;
	return store_account_put(s, a) == 0 ? conflict : -1;
}

int64_t store_rate_hit(struct store *s, const char *addr, int64_t now_ms, int64_t window_ms)
{
	const char *what = "cannot record the submission rate";
	if (run(s, prep(s, what, "DELETE FROM rate WHERE at_ms < ?", "i", now_ms - window_ms),
	        what) != 0 ||
	    run(s, prep(s, what, "INSERT INTO rate (addr, at_ms) VALUES (?,?)", "ti", addr, now_ms),
	        what) != 0)
		return -1;
	return count_query(s, what, prep(s, what,
		"SELECT count(*) FROM rate WHERE addr = ? AND at_ms >= ?", "ti", addr,
		now_ms - window_ms));
}

int store_meta_put(struct store *s, const char *key, const char *value)
{
	const char *what = "cannot save a setting in the database";
	return run(s, prep(s, what, "INSERT INTO meta (key, value) VALUES (?,?)"
	                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value", "tt", key,
	                   value), what);
}

int store_meta_get(struct store *s, const char *key, char **value)
{
	const char *what = "cannot read a setting from the database";
	sqlite3_stmt *st = prep(s, what, "SELECT value FROM meta WHERE key = ?", "t", key);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		*value = col(st, 0);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

/* ---- sink cursors ----
 * The event log's consumers' cursors and dead events (store.h, "sink
 * cursors"; src/events/sinks.h). */

#define SINK_CURSOR_COLS "last_id, due_ms, lease_ms, attempts"

static void sink_cursor_read(sqlite3_stmt *st, struct store_sink_cursor *out)
{
	*out = (struct store_sink_cursor){
		.last_id = sqlite3_column_int64(st, 0), .due_ms = sqlite3_column_int64(st, 1),
		.lease_ms = sqlite3_column_int64(st, 2), .attempts = sqlite3_column_int(st, 3),
	};
}

int store_sink_peek(struct store *s, const char *name, struct store_sink_cursor *out)
{
	const char *what = "cannot read a sink's cursor";
	sqlite3_stmt *st = prep(s, what, "SELECT " SINK_CURSOR_COLS " FROM sink_cursor"
	                        " WHERE name = ?", "t", name);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		sink_cursor_read(st, out);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

int64_t store_event_last_id(struct store *s)
{
	const char *what = "cannot read the last event id";
	return count_query(s, what, prep(s, what, "SELECT coalesce(max(id), 0) FROM events", ""));
}

int store_sink_claim(struct store *s, const char *name, int64_t now_ms, int64_t lease_ms,
                     struct store_sink_cursor *out)
{
	const char *what = "cannot claim a sink's cursor";
	if (run(s, prep(s, what, "INSERT OR IGNORE INTO sink_cursor (name, updated_ms)"
	                " VALUES (?,?)", "ti", name, now_ms), what) != 0)
		return -1;
	int found = store_sink_peek(s, name, out);
	if (found <= 0)
		return found;
	if (out->due_ms > now_ms || out->lease_ms > now_ms)
		return 0;
	if (run(s, prep(s, what, "UPDATE sink_cursor SET lease_ms = ?, attempts = attempts + 1,"
	                " updated_ms = ? WHERE name = ?", "iit", now_ms + lease_ms, now_ms, name),
	        what) != 0)
		return -1;
	out->lease_ms = now_ms + lease_ms;
	out->attempts++;
	return 1;
}

int store_sink_advance(struct store *s, const char *name, int64_t last_id, int64_t now_ms)
{
	const char *what = "cannot move a sink's cursor";
	return run(s, prep(s, what, "UPDATE sink_cursor SET last_id = ?, due_ms = 0, lease_ms = 0,"
	                   " attempts = 0, last_error = NULL, updated_ms = ? WHERE name = ?", "iit",
	                   last_id, now_ms, name), what);
}

int store_sink_retry(struct store *s, const char *name, int64_t due_ms, const char *error,
                     int64_t now_ms)
{
	const char *what = "cannot reschedule a sink";
	return run(s, prep(s, what, "UPDATE sink_cursor SET due_ms = ?, lease_ms = 0,"
	                   " last_error = ?, updated_ms = ? WHERE name = ?", "itit", due_ms, error,
	                   now_ms, name), what);
}

int store_sink_last_error(struct store *s, const char *name, char **error, int *attempts)
{
	const char *what = "cannot read a sink's last error";
	sqlite3_stmt *st = prep(s, what, "SELECT last_error, attempts FROM sink_cursor"
	                        " WHERE name = ?", "t", name);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		*error = col(st, 0);
		*attempts = sqlite3_column_int(st, 1);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

int store_sink_dead_add(struct store *s, const char *sink, int64_t event_id, const char *error,
                        int64_t now_ms)
{
	const char *what = "cannot record an event a sink refused";
	/* a batch resent after a crash may refuse the same event again */
	return run(s, prep(s, what, "INSERT INTO sink_dead (sink, event_id, error, at_ms)"
	                   " VALUES (?,?,?,?) ON CONFLICT (sink, event_id) DO UPDATE SET"
	                   " error = excluded.error, at_ms = excluded.at_ms", "titi", sink, event_id,
	                   error, now_ms), what);
}

void store_event_rows_free(struct store_event_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].lead_id);
		free(rows[i].type);
		free(rows[i].data);
	}
	free(rows);
}

int store_events_after(struct store *s, int64_t after_id, int limit,
                       struct store_event_row **rows, size_t *n)
{
	const char *what = "cannot read events";
	*rows = NULL;
	*n = 0;
	sqlite3_stmt *st = prep(s, what, "SELECT id, lead_id, type, at_ms, data FROM events"
	                        " WHERE id > ? ORDER BY id LIMIT ?", "in", after_id, limit);
	if (!st)
		return -1;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*rows = xgrow(*rows, &cap, *n + 1, sizeof **rows);
		(*rows)[(*n)++] = (struct store_event_row){
			.id = sqlite3_column_int64(st, 0), .lead_id = col(st, 1), .type = col(st, 2),
			.at_ms = sqlite3_column_int64(st, 3), .data = col(st, 4),
		};
	}
	release(s, st);
	if (rc != SQLITE_DONE) {
		store_event_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		/* release reset the statement; SQLite keeps the connection's message */
		return fail(s, what);
	}
	return 0;
}

int store_commit_relaxed(struct store *s)
{
	if (run(s, prep(s, "cannot commit", "COMMIT", ""), "cannot commit") != 0) {
		store_rollback(s);
		return -1;
	}
	s->in_tx = false;
	writer_unlock(s);
	/* no groupsync_wait: the next group flush (anyone's) covers it */
	return 0;
}

/* ---- end of sink cursors ---- */

/* ---- one lead, read back for owner notices (src/notify) ---- */

int store_lead_info_get(struct store *s, const char *id, struct store_lead_info *out)
{
	const char *what = "cannot read the lead";
	*out = (struct store_lead_info){ 0 };
	sqlite3_stmt *st = prep(s, what, "SELECT id, email, domain, fields, status, queue, member,"
	                        " created_ms, rule_line FROM leads WHERE id = ?", "t", id);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		*out = (struct store_lead_info){ col(st, 0), col(st, 1), col(st, 2), col(st, 3),
		                                 col(st, 4), col(st, 5), col(st, 6),
		                                 sqlite3_column_int64(st, 7),
		                                 sqlite3_column_int(st, 8) };
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = fail(s, what);
	}
	release(s, st);
	return found;
}

void store_lead_info_free(struct store_lead_info *l)
{
	if (!l)
		return;
	free(l->id); free(l->email); free(l->domain); free(l->fields_json); free(l->status);
	free(l->queue); free(l->member);
	*l = (struct store_lead_info){ 0 };
}

/* ---- end of one lead for notices ---- */

/* ---- outbox sizes for /metrics (store.h) ---- */

int64_t store_outbox_count(struct store *s, const char *state)
{
	const char *what = "cannot count the outbox";
	return count_query(s, what, prep(s, what, "SELECT count(*) FROM outbox WHERE state = ?",
	                                 "t", state));
}

/* ---- end of outbox sizes for /metrics ---- */
