/* lead - a lead as submitted, and its normalization into rule facts.
 *
 * A struct lead is the raw submission: names and values as the form (or a
 * JSON line given to routec) sent them; it owns copies of both.
 * lead_normalize turns it into the facts a program's rules read, applying
 * the one normalization the handler and routec share: email lower-cased,
 * registrable domain from the email (or the website when the email is
 * free-mail) through libpsl, free-mail detection, country to ISO alpha-2,
 * employee ranges to numbers, text cleaned, length limits.  Account facts
 * (account.owner, .lifecycle, .tier) come from the lead itself when it
 * carries them, else from an account lookup by domain.
 *
 * Problems are reported per field (struct lead_errors), so the handler can
 * show each next to its input.  Never prints; never keeps a pointer into
 * the raw lead after lead_normalize returns (the facts own their strings).
 */
#ifndef LR_LEAD_H
#define LR_LEAD_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <libpsl.h>

#include "lead/country.h"
#include "lead/freemail.h"
#include "rules/ast.h"
#include "rules/facts.h"

#define LEAD_MAX_FIELDS 64         /* names in one submission */
#define LEAD_MAX_VALUE 256         /* bytes in one value (message: below) */
#define LEAD_MAX_MESSAGE 5000      /* bytes in `message` */

struct lead_kv {
	char *name;
	char *value;
};

struct lead {
	struct lead_kv *kv;
	size_t n, cap;
};

/* What the account index knows of one registrable domain. */
struct account {
	char *id, *owner, *lifecycle, *tier;   /* owned by whoever filled it */
};

/* Looks up an account by registrable domain; fills *out with strings the
 * caller does not free (valid until the next call) and returns true when
 * found.  Returns false when not found. */
struct account_lookup {
	bool (*find)(void *ctx, const char *domain, struct account *out);
	void *ctx;
};

struct lead_env {
	const struct country_db *countries;   /* required */
	const struct freemail *freemail;      /* required */
	const psl_ctx_t *psl;                 /* required */
	const struct account_lookup *accounts;  /* optional */
	bool strict_names;   /* unknown names are errors (routec), not ignored */
	bool account_facts;  /* the lead may carry account.* facts (routec, cases);
	                        never for a buyer's submission: the index says */
};

struct lead_error {
	char *field;
	char *message;
};

struct lead_errors {
	struct lead_error *v;
	size_t n, cap;
};

/* The facts of one lead plus the strings they point to. */
struct lead_facts {
	struct facts facts;
	char **strings;        /* owned */
	size_t n_strings, cap_strings;
	char *email_domain;    /* host part of the email, or NULL */
	bool account_from_index;
};

void lead_init(struct lead *l);
void lead_free(struct lead *l);
/* Set name to value (copies both; a repeated name replaces the value). */
void lead_set(struct lead *l, const char *name, const char *value);
const char *lead_get(const struct lead *l, const char *name);   /* borrowed */

/* Fill a lead from a JSON object: strings, numbers and booleans as text,
 * null as absent, a nested "account" object as account.KEY.  Returns false
 * and fills err for anything else (arrays, nested objects). */
bool lead_from_json(struct lead *l, struct json_object *obj, char *err, size_t errlen);
/* Fill from "k=v" words (routec --explain). */
bool lead_from_words(struct lead *l, int argc, char **argv, char *err, size_t errlen);

/* Normalize into facts for p.  Returns true when there were no errors;
 * otherwise errs holds one message per bad field and out is still filled
 * with what was valid.  Caller frees out with lead_facts_free and errs with
 * lead_errors_free. */
bool lead_normalize(const struct program *p, const struct lead *l, const struct lead_env *env,
                    struct lead_facts *out, struct lead_errors *errs);
/* A buyer's submission as the handler takes it (and as `leadroute replay`
 * takes a stored one again): lead_normalize under a buyer's terms, whatever
 * env says (account facts only from env->accounts, never from the lead;
 * unknown names ignored), and the email required.  Same return and
 * ownership as lead_normalize. */
bool lead_normalize_submission(const struct program *p, const struct lead *l,
                               const struct lead_env *env, struct lead_facts *out,
                               struct lead_errors *errs);
void lead_facts_free(struct lead_facts *lf);
/* Add a message for field unless it already has one (the first stays). */
void lead_errors_add(struct lead_errors *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lead_errors_free(struct lead_errors *e);

/* Registrable domain of a host or URL ("https://www.acme.co.uk/x" ->
 * "acme.co.uk"); NULL when there is none.  Caller frees. */
char *lead_registrable_domain(const psl_ctx_t *psl, const char *host_or_url);

#endif
