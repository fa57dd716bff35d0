/* ast - the parsed form of a .routes file: fields, queues, rules, cases.
 *
 * The parser (grammar/routes.y) builds a struct program; check.c resolves
 * names, types and constants in place (filling the *_id fields and each
 * value's normalized form).  Every node and string is owned by the program
 * and freed by program_free; nothing in it points into the source text.
 * Nothing here evaluates or compiles: see tree.h and oracle.h.
 */
#ifndef LR_AST_H
#define LR_AST_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/source.h"

/* Limits the checker enforces, documented in doc/language.md. */
#define AST_MAX_DEPTH 1000        /* and/or/not operators on one path of a condition */
#define AST_MAX_NAME 64           /* bytes in a field or queue name */
#define AST_MAX_STRING 1024       /* bytes in a string constant */

enum field_type {
	FT_TEXT,      /* compared case-insensitively after normalization */
	FT_NUMBER,    /* compared numerically; ranges take their lower bound */
	FT_ENUM,      /* text restricted to declared values */
	FT_COUNTRY,   /* text, stored as ISO 3166-1 alpha-2 */
	FT_BOOL,      /* a built-in predicate (email personal) */
};

struct field {
	char *name;              /* "employees", "account.lifecycle" */
	enum field_type type;
	char **enum_values;      /* FT_ENUM: lower-case, n_enum of them */
	size_t n_enum;
	bool builtin;
	bool used;               /* some rule or case reads it */
	struct loc loc;          /* declaration (line 0 for built-ins) */
};

enum value_kind { V_WORD, V_STRING, V_NUMBER };

struct value {
	enum value_kind kind;
	char *text;              /* as written (without quotes, escapes undone) */
	double num;              /* V_NUMBER; also set by check for FT_NUMBER */
	char *norm;              /* set by check: normalized text constant */
	struct loc loc;
};

enum cond_kind {
	C_AND, C_OR, C_NOT,      /* a, b (C_NOT: a only) */
	C_CMP,                   /* field op vals[0] */
	C_IN,                    /* field in (vals); negated: not in */
	C_PRESENT,               /* field is present; negated: is missing */
	C_ENDS, C_STARTS, C_CONTAINS, /* field ends with / starts with / contains vals[0] */
	C_MATCHES,               /* field matches "regex" (POSIX ERE, case-insensitive) */
	C_OWNED,                 /* domain owned  (= account.owner is present) */
	C_PERSONAL,              /* email personal */
	C_TRUE,                  /* the condition of `otherwise` */
};

enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct cond {
	enum cond_kind kind;
	struct loc loc;          /* the whole condition */
	struct cond *a, *b;
	bool negated;            /* C_IN, C_PRESENT */
	char *field;             /* name as written */
	struct loc field_loc;
	int field_id;            /* set by check; -1 before or when unknown */
	enum cmp_op op;
	struct value *vals;
	size_t n_vals;
	regex_t *re;             /* C_MATCHES, compiled by check */
};

enum queue_dist {
	D_OWNER,        /* account_owner, or `= owner` */
	D_SINGLE,       /* one member */
	D_ROUND_ROBIN,  /* weighted rotation */
	D_MANUAL,       /* a review queue: one person looks first */
};

struct member {
	char *who;               /* email or CRM owner id */
	int weight;              /* >= 1 */
	char *scheduler;         /* URL or NULL */
	struct loc loc, scheduler_loc;
};

#define HOURS_DAY(d) (1u << (d))  /* d: 0 = Monday ... 6 = Sunday */

struct hours {
	uint8_t days;            /* HOURS_DAY bits */
	int start_min, end_min;  /* minutes after midnight, start < end */
	char *tz;                /* IANA zone */
	struct loc loc, tz_loc;
};

enum cap_period { CAP_NONE, CAP_HOUR, CAP_DAY };

struct queue {
	char *name;
	struct loc loc;          /* the name in its declaration */
	enum queue_dist dist;
	struct member *members;
	size_t n_members;
	bool has_hours;
	struct hours hours;
	int cap;                 /* per member per period; 0 = none */
	enum cap_period cap_per;
	struct loc cap_loc;
	char *fallback;          /* queue name or NULL */
	struct loc fallback_loc;
	int fallback_id;         /* set by check */
	bool builtin;            /* account_owner */
	bool used;               /* some rule or fallback sends leads here */
};

enum outcome_kind { OUT_CONFIRM, OUT_SCHEDULER, OUT_PAGE };

struct action {
	bool drop;
	char *queue;             /* NULL when drop */
	struct loc queue_loc;
	int queue_id;            /* set by check; -1 for drop */
	enum outcome_kind outcome;  /* default OUT_CONFIRM */
	bool outcome_given;
	char *page;              /* OUT_PAGE */
	struct loc outcome_loc;
	char **tags;
	size_t n_tags;
};

struct rule {
	struct loc loc;          /* the `when` or `otherwise` keyword */
	bool otherwise;
	struct cond *cond;       /* C_TRUE for otherwise */
	struct action act;
};

struct kv {
	char *key;               /* field name, "account.owner" etc. */
	struct value val;
	struct loc key_loc;
};

struct expect {
	struct loc loc;          /* the `expect` keyword */
	struct kv *kvs;
	size_t n_kvs;
	bool drop;
	char *queue;
	struct loc queue_loc;
};

/* A comment as written ("# ..." to the end of its line), kept so the
 * formatter can put it back. */
struct comment {
	struct loc loc;
	char *text;              /* from '#' on, without the line end */
};

struct program {
	struct comment *comments;  /* in source order */
	size_t n_comments, cap_comments;
	struct field *fields;    /* built-ins first, then declared */
	size_t n_fields, cap_fields;
	struct queue *queues;    /* queues[0] is the built-in account_owner */
	size_t n_queues, cap_queues;
	struct rule *rules;
	size_t n_rules, cap_rules;
	struct expect *expects;
	size_t n_expects, cap_expects;
	char *owner_fallback;    /* `fallback account_owner QUEUE`, or NULL */
	struct loc owner_fallback_loc;
	int owner_fallback_id;
	bool checked;            /* check ran without errors */
	bool conds_ok;           /* every condition resolved (the tree can be built) */
	bool parse_failed;       /* some statement was lost to a syntax error */
};

/* Well-known field ids: the built-ins are always declared in this order. */
enum builtin_field {
	F_EMAIL, F_DOMAIN, F_FIRST_NAME, F_LAST_NAME, F_COMPANY, F_COUNTRY,
	F_REGION, F_EMPLOYEES, F_REVENUE, F_PRODUCT, F_INTENT, F_SOURCE,
	F_UTM_SOURCE, F_UTM_MEDIUM, F_UTM_CAMPAIGN, F_MESSAGE, F_WEBSITE,
	F_ACCOUNT_OWNER, F_ACCOUNT_LIFECYCLE, F_ACCOUNT_TIER,
	F_EMAIL_PERSONAL,        /* the predicate `email personal` */
	F_N_BUILTIN
};

#define QUEUE_ACCOUNT_OWNER 0

/* A new program holding only the built-in fields and the built-in queue. */
struct program *program_new(void);
void program_free(struct program *p);

/* Builders used by the parser.  Each takes ownership of the pointers it is
 * given (`*_take`) and returns the new element, valid until the next add of
 * the same kind. */
struct field *program_add_field(struct program *p);
struct queue *program_add_queue(struct program *p);
struct rule *program_add_rule(struct program *p);
struct expect *program_add_expect(struct program *p);

int program_find_field(const struct program *p, const char *name);  /* -1 */
int program_find_queue(const struct program *p, const char *name);  /* -1 */

struct cond *cond_new(enum cond_kind kind, struct loc loc);
void cond_free(struct cond *c);
void value_free(struct value *v);          /* frees the strings, not v */
void action_free(struct action *a);        /* frees the strings, not a */
void kv_free(struct kv *kv);

const char *field_type_name(enum field_type t);
const char *cmp_op_name(enum cmp_op op);

/* Span from a's start to b's end. */
struct loc loc_join(struct loc a, struct loc b);

#endif
