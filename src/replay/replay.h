/* replay - the what-if of a rules change: stored leads through two rule
 * sets, and where they would go (`leadroute replay`, doc/replay.md).
 *
 * Each lead stored since a cutoff (table leads: its fields as normalized
 * and stored, its email, created_ms) is taken again the way the handler
 * takes a submission: lead_normalize_submission (lead.h) with the account
 * facts from the database's account index, read as the handler's lookup
 * reads them (by registrable domain, exact match), then tree_eval and
 * route_resolve.  That is done under the rules deployed now and under the
 * new ones, and the two decisions (queue and outcome) are compared; the
 * moves are tallied from -> to, with the first few leads of each as
 * examples.
 *
 * replay_run opens the database read-only with a connection of its own
 * (the store module owns the schema and every write; this reads the leads
 * and accounts tables only, in one read transaction).  Never writes to the
 * database, never asks a CRM (the handler's live lookup is not replayed),
 * never chooses a member (rotation and caps are state).  Never prints
 * except through replay_print_text, to the stream it is given.
 *
 * Ownership: a struct replay_result owns everything it points to (free it
 * with replay_result_free); a struct replay_decision borrows its strings
 * from the ruleset that made it (or static text).
 */
#ifndef LR_REPLAY_H
#define LR_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "lead/lead.h"
#include "rules/ruleset.h"

/* The "queue" of a lead the rules' normalization refuses (the handler
 * would show the buyer the form again): not a name a queue can have. */
#define REPLAY_REFUSED "(refused)"
#define REPLAY_MAX_EXAMPLES 1000

/* What one rule set decides for one lead.  Strings are borrowed from the
 * ruleset (or static); problem is the lead's own copy. */
struct replay_decision {
	const char *queue;      /* a queue, "drop", "none" (no rule matches) or REPLAY_REFUSED */
	const char *outcome;    /* "confirm", "scheduler" or "page"; NULL when refused */
	const char *page;       /* the page of a page outcome, else NULL */
	int line;               /* the deciding rule's line; 0 when none */
	const char *rule_text;  /* that line's text (rule_len bytes, not terminated); NULL: none */
	size_t rule_len;
	char problem[256];      /* when refused: the first field error */
};

/* One routing decision as a move shows it (owned strings). */
struct replay_route {
	char *queue;
	char *outcome;          /* NULL when refused */
	char *page;             /* NULL unless a page outcome */
};

struct replay_example {
	char *id, *email;       /* owned */
	int from_line, to_line; /* the deciding rules' lines (0: none) */
	char *to_rule;          /* the new deciding rule's line, as written; NULL: none */
	char *problem;          /* why the new rules (else the deployed) refuse it; NULL: none */
};

struct replay_move {
	struct replay_route from, to;
	size_t count;
	struct replay_example *examples;   /* the first n_examples leads that move so */
	size_t n_examples;
};

struct replay_result {
	size_t leads;           /* leads replayed */
	size_t moved, stayed;   /* moved + stayed == leads */
	struct replay_move *moves;   /* replay_sort: most leads first */
	size_t n_moves, cap_moves;
};

/* "30d" or "12h" (a whole number from 1, days or hours) in milliseconds.
 * Returns 0, or -1 when text is anything else (or longer than 100 years). */
int replay_parse_since(const char *text, int64_t *ms);

/* Decide one stored lead (fields_json: the leads.fields object) under rs,
 * with env's reference data and account lookup (env's account_facts and
 * strict_names are ignored: a buyer's terms apply).  Returns 0 with out
 * filled (a lead the rules refuse included), or -1 with err filled when
 * fields_json is not a JSON object of scalars. */
int replay_decide(const struct ruleset *rs, const char *fields_json, const struct lead_env *env,
                  struct replay_decision *out, char *err, size_t errlen);

/* Whether two decisions route differently (queue, outcome or page). */
bool replay_differs(const struct replay_decision *a, const struct replay_decision *b);

/* Count one lead: a stay, or a move from -> to (examples kept up to
 * max_examples per move).  id and email are copied. */
void replay_tally(struct replay_result *r, const char *id, const char *email,
                  const struct replay_decision *from, const struct replay_decision *to,
                  size_t max_examples);

/* Moves by count, most first; ties by from, then to (labels' byte order). */
void replay_sort(struct replay_result *r);

/* Replay every lead of the database at db_path created at or after
 * since_ms, newest first, under now (the rules deployed) and next (the
 * new rules).  env gives the reference data; its account lookup is
 * replaced by the database's account index.  Returns 0 with out filled and
 * sorted (caller frees with replay_result_free), or -1 with err filled
 * (nothing left allocated in out). */
int replay_run(const char *db_path, const struct ruleset *now, const struct ruleset *next,
               const struct lead_env *env, int64_t since_ms, size_t max_examples,
               struct replay_result *out, char *err, size_t errlen);
void replay_result_free(struct replay_result *r);

/* "inbound then confirm", "review then page \"review\"", "(refused)".
 * Caller frees. */
char *replay_route_label(const struct replay_route *rt);

/* The result as aligned text: the totals, then each move with its
 * examples and the line of the new rules that decides each. */
void replay_print_text(const struct replay_result *r, FILE *out);
/* {"leads", "moved", "stayed", "moves": [{"from", "from_outcome",
 * "from_page"?, "to", "to_outcome", "to_page"?, "count", "examples": [{"id",
 * "email", "from_line", "to_line", "to_rule", "problem"?}]}]}.  Caller
 * puts it. */
struct json_object *replay_to_json(const struct replay_result *r);

#endif
