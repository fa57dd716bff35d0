/* store - the durable state of leadroute, behind one interface.
 *
 * Leads, their assignments, the CRM outbox, events, rotation state, members
 * marked away, the account index, idempotency keys and rate-limit marks all
 * live in one SQLite file (WAL, synchronous=FULL by default).  Callers see
 * only these functions, so a PostgreSQL backend can follow without touching
 * them.  Every write that belongs to one lead happens inside one
 * transaction opened with store_begin (BEGIN IMMEDIATE: the write lock is
 * taken first, so concurrent handler processes serialize instead of failing
 * with SQLITE_BUSY) and made durable by store_commit; nothing is
 * acknowledged to a buyer before store_commit returns 0.
 *
 * Errors: every function returns 0 on success and -1 on failure with a
 * message in the store's error buffer (store_error), naming the operation
 * and SQLite's own message.  Strings handed out are owned by the caller
 * unless the comment says "borrowed".  A store is used by one thread.
 * Never open a store before fork() and use it after: open it in the child.
 */
#ifndef LR_STORE_H
#define LR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* How a commit reaches the disk.  FULL: SQLite fsyncs the WAL inside every
 * commit, holding the write lock.  GROUP: as durable (store_commit returns
 * only once an fsync covering the commit has finished) but the fsync runs
 * outside the write lock and one covers the commits of every process that
 * wrote before it (src/store/groupsync.h).  NORMAL: commits survive a
 * crash of the process but not of the machine. */
enum store_sync { STORE_SYNC_FULL, STORE_SYNC_GROUP, STORE_SYNC_NORMAL };

/* Open (creating and migrating as needed) the database at path.  Returns
 * NULL and fills err when it cannot. */
struct store *store_open(const char *path, enum store_sync sync, char *err, size_t errlen);
void store_close(struct store *s);
const char *store_error(const struct store *s);     /* borrowed */

int store_begin(struct store *s);     /* BEGIN IMMEDIATE, waiting up to the busy timeout */
int store_commit(struct store *s);
void store_rollback(struct store *s); /* safe to call when no transaction is open */

/* ---- leads ---- */

struct store_lead {
	char id[37];            /* UUID, made by store_lead_new_id */
	int64_t created_ms;     /* Unix time in milliseconds */
	const char *email, *domain;
	const char *fields_json;   /* the normalized submission as a JSON object */
	const char *status;     /* "routed", "dropped", "unassigned" */
	const char *queue, *member, *owner, *outcome, *redirect;
	int rule_line;          /* 0: none */
	const char *idem_key;   /* NULL: none */
	const char *idem_fingerprint; /* the payload's (intake/idem.h); NULL with no key */
	const char *response_json; /* the answer given, replayed for the same key */
	const char *remote_addr;
};

void store_lead_new_id(char id[37]);
int store_lead_insert(struct store *s, const struct store_lead *l);
/* The stored answer for an idempotency key: 1 with *response_json and
 * *fingerprint (caller frees both; the fingerprint is NULL for a lead
 * stored before fingerprints were kept) when the key is known, 0 when
 * not, -1 on error. */
int store_idem_lookup(struct store *s, const char *key, char **response_json,
                      char **fingerprint);

/* One row per lead for `leadroute leads list`. */
struct store_lead_row {
	char *id, *created, *email, *queue, *member, *owner, *outcome, *status, *crm_status;
	int rule_line;
};
typedef int (*store_lead_fn)(void *ctx, const struct store_lead_row *row);
int store_leads_each(struct store *s, int limit, store_lead_fn fn, void *ctx);

/* A lead named by a webhook: by id when lead_id is not NULL, else the
 * newest lead with this email (compared without regard to case).  1 with
 * *out filled, 0 when there is none, -1 on error. */
struct store_lead_ref {
	char id[37];
	char member[256];       /* empty: unassigned */
	char queue[128];        /* empty: none */
};
int store_lead_find(struct store *s, const char *lead_id, const char *email,
                    struct store_lead_ref *out);

/* ---- events ---- */

int store_event(struct store *s, const char *lead_id, const char *type, int64_t at_ms,
                const char *data_json);
int64_t store_event_count(struct store *s, const char *type);
/* Each event type with its count, in type order. */
typedef int (*store_count_fn)(void *ctx, const char *type, int64_t n);
int store_event_counts(struct store *s, store_count_fn fn, void *ctx);
/* Events of type at or after since_ms; with field (not NULL), only those
 * whose data.fields array holds it (validation_failed).  -1 on error. */
int64_t store_event_count_since(struct store *s, const char *type, int64_t since_ms,
                                const char *field);
/* The rate limit of alerts (src/alert/): 1 when an alert of kind about key
 * may be raised now (none within every_ms; recorded as raised now, and
 * *suppressed gets how many were held back since the last), 0 when it is
 * held back (counted), -1 on error.  Call inside a transaction. */
int store_alert_gate(struct store *s, const char *kind, const char *key, int64_t now_ms,
                     int64_t every_ms, int64_t *suppressed);
/* How many events of type about lead_id have data.<key> equal to value
 * (key: a plain member name the caller writes, never input).  -1 on error. */
int64_t store_event_match(struct store *s, const char *type, const char *lead_id,
                          const char *key, const char *value);

/* ---- outbox ---- */

/* Queue a CRM write for lead_id, due at due_ms; *id (when not NULL) gets
 * the row's id. */
int store_outbox_add(struct store *s, const char *lead_id, const char *kind,
                     const char *payload_json, int64_t due_ms, int64_t *id);

/* One outbox row.  States: pending (due at due_ms; leased to a deliverer
 * until its lease ends), done, dead (dead-lettered: needs a person). */
struct store_outbox_row {
	int64_t id;
	char *lead_id, *kind, *payload;   /* owned by the row; store_outbox_row_free */
	int attempts;                     /* deliveries started, this one included */
	char *state;
	int64_t due_ms, created_ms, updated_ms;
	char *last_error, *record_id;     /* NULL: none */
	int http_status;                  /* of the last attempt; 0: none */
};
void store_outbox_row_free(struct store_outbox_row *r);
/* Claim the oldest pending row due at now_ms whose lease has ended (only
 * lead_id's rows when it is not NULL): lease it until now_ms + lease_ms and
 * count the attempt.  Call inside a transaction and commit before
 * delivering, so no other process takes it meanwhile; a deliverer that
 * dies leaves the row to come back when the lease ends.  1 and *out
 * filled, 0 when none, -1 on error. */
int store_outbox_claim(struct store *s, int64_t now_ms, int64_t lease_ms, const char *lead_id,
                       struct store_outbox_row *out);
/* Delivered: the row done (with the CRM's record id, may be NULL) and the
 * lead's crm_status 'written'. */
int store_outbox_done(struct store *s, int64_t id, const char *lead_id, const char *record_id,
                      int http_status, int64_t now_ms);
/* Not delivered, try again at due_ms. */
int store_outbox_retry(struct store *s, int64_t id, int64_t due_ms, const char *error,
                       int http_status, int64_t now_ms);
/* Not deliverable: dead-lettered, the lead's crm_status 'failed'. */
int store_outbox_dead(struct store *s, int64_t id, const char *lead_id, const char *error,
                      int http_status, int64_t now_ms);
/* Bring dead letters back (id, or all when id is 0), due now with their
 * attempts reset.  Returns how many, or -1. */
int store_outbox_revive(struct store *s, int64_t id, int64_t now_ms);
/* One row by id: 1 and *out, 0 when there is none, -1 on error. */
int store_outbox_get(struct store *s, int64_t id, struct store_outbox_row *out);
/* Rows in state (NULL: all), newest first, at most limit; fn returns
 * nonzero to stop.  The row is freed after fn returns. */
typedef int (*store_outbox_fn)(void *ctx, const struct store_outbox_row *row);
int store_outbox_each(struct store *s, const char *state, int limit, store_outbox_fn fn,
                      void *ctx);
/* When the next pending row can be delivered (ms; 0 when none), or -1. */
int64_t store_outbox_next_due(struct store *s);
/* A CRM-wide pause (a rate limit answered by one process holds for all):
 * recorded as the later of the existing and the new time. */
int store_crm_pause(struct store *s, const char *crm, int64_t until_ms, const char *reason);
/* Until when crm is paused (0: not), or -1 on error. */
int64_t store_crm_paused_until(struct store *s, const char *crm);
/* The embedded CRM of record (LEADROUTE_CRM=local): upsert by lead id, so a
 * repeated delivery never makes a second record. */
int store_crm_local_put(struct store *s, const char *lead_id, const char *payload_json,
                        int64_t now_ms);

/* ---- rotation and members ---- */

struct store_member {
	const char *who;
	int weight;
	bool eligible;      /* in hours, not away, under its cap */
};

/* Smooth weighted round robin over the eligible members of queue, with the
 * state kept in the store (call inside a transaction).  Returns the index of
 * the chosen member in m, or -1 when none is eligible (or on error: check
 * store_error).  Members that are not eligible do not accumulate credit, so
 * a member coming back gets no burst. */
int store_rotation_pick(struct store *s, const char *queue, const struct store_member *m,
                        size_t n);
/* Leads assigned to member since since_ms (for caps). */
int64_t store_member_count_since(struct store *s, const char *member, int64_t since_ms);
/* Away until until_ms (0: back). */
int store_member_set_away(struct store *s, const char *member, int64_t until_ms);
/* 1 when member is away at now_ms, 0 when not, -1 on error. */
int store_member_is_away(struct store *s, const char *member, int64_t now_ms);

/* ---- accounts ---- */

struct store_account {
	const char *domain, *id, *owner, *lifecycle, *tier;
};
int store_account_put(struct store *s, const struct store_account *a);
/* The account of domain changed hands in the CRM: every lead created since
 * since_ms that the rules gave its old owner (owner and member both
 * old_owner) and that is not already recorded as new_owner's gets a
 * lead_reassigned event {from, to, source: "accounts_sync", queue}.
 * Returns how many, or -1. */
int64_t store_leads_reassigned(struct store *s, const char *domain, const char *old_owner,
                               const char *new_owner, int64_t since_ms, int64_t now_ms);
/* 1 and fills *out (strings valid until the next call on s) when found. */
int store_account_get(struct store *s, const char *domain, struct store_account *out);
/* -- account conflicts (for `leadroute report`) -- */
/* Record in account_conflicts that lost->domain was claimed by lost, an
 * account the index does not keep, while it keeps kept. */
int store_account_conflict_add(struct store *s, const struct store_account *lost,
                               const struct store_account *kept, int64_t seen_ms);
/* store_account_put, recording a conflict first when the domain is stored
 * under another account (both account ids known and different; the index
 * keeps a, the new one).  1 when a conflict was recorded, 0 when not, -1 on
 * error.  Call inside a transaction. */
int store_account_put_noting_conflict(struct store *s, const struct store_account *a,
                                      int64_t now_ms);

/* ---- rate limit ---- */

/* Record a submission from addr at now_ms and return how many it made in
 * the last window_ms (this one included). */
int64_t store_rate_hit(struct store *s, const char *addr, int64_t now_ms, int64_t window_ms);

/* ---- small named values ---- */

int store_meta_put(struct store *s, const char *key, const char *value);
/* 1 and *value (caller frees) when key is set, 0 when not, -1 on error. */
int store_meta_get(struct store *s, const char *key, char **value);

/* ---- sink cursors ----
 * The event log's consumers (src/events/sinks.h): each sink has a cursor
 * (table sink_cursor) naming the last event it has taken; a claimed cursor
 * is leased like an outbox row.  Events a destination refused are kept in
 * sink_dead. */

struct store_sink_cursor {
	int64_t last_id;        /* the last event taken (0: none yet) */
	int64_t due_ms;         /* not before then (a retry's backoff) */
	int64_t lease_ms;       /* taken by a runner until then */
	int attempts;           /* sends of the batch after last_id, this one included */
};
/* The cursor of sink name without taking any lock: 1 and *out when it
 * exists, 0 when not (a new sink starts at event 0), -1 on error. */
int store_sink_peek(struct store *s, const char *name, struct store_sink_cursor *out);
/* The highest event id (0: no event yet), or -1. */
int64_t store_event_last_id(struct store *s);
/* Claim sink name's cursor at now_ms (creating it at 0): 1 with *out when
 * it is due and not leased (it is then leased until now_ms + lease_ms and
 * the attempt counted), 0 when it is leased or not due, -1 on error.  Call
 * inside a transaction and commit before sending. */
int store_sink_claim(struct store *s, const char *name, int64_t now_ms, int64_t lease_ms,
                     struct store_sink_cursor *out);
/* Settled: the cursor moves to last_id, due now, lease and attempts
 * cleared. */
int store_sink_advance(struct store *s, const char *name, int64_t last_id, int64_t now_ms);
/* Not taken: the cursor stays, due at due_ms, lease cleared, error kept. */
int store_sink_retry(struct store *s, const char *name, int64_t due_ms, const char *error,
                     int64_t now_ms);
/* The last error of the cursor (caller frees; NULL when none) and its
 * attempts: 1 when the cursor exists, 0 when not, -1 on error. */
int store_sink_last_error(struct store *s, const char *name, char **error, int *attempts);
/* An event the sink will never take, with why. */
int store_sink_dead_add(struct store *s, const char *sink, int64_t event_id, const char *error,
                        int64_t now_ms);
/* One stored event, owned by the array that holds it. */
struct store_event_row {
	int64_t id, at_ms;
	char *lead_id, *type, *data;      /* lead_id and data may be NULL */
};
/* The events with id > after_id in id order, at most limit: *rows (caller
 * frees with store_event_rows_free) and *n.  Returns 0 or -1. */
int store_events_after(struct store *s, int64_t after_id, int limit,
                       struct store_event_row **rows, size_t *n);
void store_event_rows_free(struct store_event_row *rows, size_t n);
/* Commit like store_commit but, in group mode, without waiting for the
 * group flush: for a sink's claim and settle, which a crash of the machine
 * may lose harmlessly (the batch is sent again; the destinations
 * deduplicate).  Never for a lead's transaction. */
int store_commit_relaxed(struct store *s);

/* ---- end of sink cursors ---- */

/* ---- one lead, read back for owner notices (src/notify) ---- */

/* What a notice shows of a stored lead.  Every string is owned by the
 * struct (store_lead_info_free) and NULL when the column is NULL. */
struct store_lead_info {
	char *id, *email, *domain, *fields_json, *status, *queue, *member;
	int64_t created_ms;
	int rule_line;          /* 0: none */
};
/* The lead with this id: 1 and *out filled, 0 when there is none, -1 on
 * error. */
int store_lead_info_get(struct store *s, const char *id, struct store_lead_info *out);
void store_lead_info_free(struct store_lead_info *l);

/* ---- end of one lead for notices ---- */

/* ---- outbox sizes for /metrics (src/metrics, handler's /metrics) ---- */

/* How many outbox rows are in state ("pending", "done", "dead"): one
 * COUNT over the (state, due_ms) index.  Returns the count, or -1. */
int64_t store_outbox_count(struct store *s, const char *state);

/* ---- end of outbox sizes for /metrics ---- */

#endif
