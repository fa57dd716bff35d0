/* routes_parse.y - the grammar of the .routes language.
 *
 * A pure parser with locations and custom syntax-error reports (LAC on, so
 * the "expected" list is exact).  It only builds the AST: names, types and
 * constants are checked afterwards by check.c.  Every statement starts with
 * a keyword, which is where error recovery resynchronizes, so one bad rule
 * never hides the next.  Never leaks a semantic value: each owned type has a
 * %destructor.
 */
%define api.pure full
%define api.prefix {routes_yy}
%define api.location.type {struct loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {void *scanner}
%parse-param {struct parse_ctx *ctx}

%code requires {
#include "parse_ctx.h"

/* Lists built while parsing; each owns its elements. */
struct vlist { struct value *v; size_t n, cap; };
struct mlist { struct member *v; size_t n, cap; };
struct slist { char **v; size_t n, cap; };
struct kvlist { struct kv *v; size_t n, cap; };

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                     \
	do {                                                            \
		if (N) {                                                \
			(Cur).line = YYRHSLOC(Rhs, 1).line;             \
			(Cur).col = YYRHSLOC(Rhs, 1).col;               \
			(Cur).end_line = YYRHSLOC(Rhs, N).end_line;     \
			(Cur).end_col = YYRHSLOC(Rhs, N).end_col;       \
		} else {                                                \
			(Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line; \
			(Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col;    \
		}                                                       \
	} while (0)
}

%code provides {
/* The flex scanner (grammar/routes_scan.l). */
int routes_flex_lex(ROUTES_YYSTYPE *lval, struct loc *lloc, void *scanner);
struct parse_ctx *routes_flex_get_extra(void *scanner);
}

%code {
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/parse.h"
#include "util/buf.h"
#include "util/suggest.h"
#include "util/xalloc.h"

static void routes_yyerror(struct loc *loc, void *scanner, struct parse_ctx *ctx,
                           const char *msg);
static int routes_yylex(ROUTES_YYSTYPE *lval, struct loc *lloc, void *scanner);
static struct cond *mk_bin(struct parse_ctx *ctx, enum cond_kind k, struct cond *a,
                           struct cond *b, struct loc loc);
static struct cond *mk_not(struct parse_ctx *ctx, struct cond *a, struct loc loc);
static struct cond *mk_pred(enum cond_kind k, char *field, struct loc floc,
                            struct loc loc);
static void vlist_push(struct vlist *l, struct value v);
static void vlist_free(struct vlist *l);
static void mlist_free(struct mlist *l);
static void slist_free(struct slist *l);
static void kvlist_free(struct kvlist *l);
/* The scanner, remembering the last two tokens' spans for error reports. */
static int routes_yylex(ROUTES_YYSTYPE *lval, struct loc *lloc, void *scanner)
{
	struct parse_ctx *ctx = routes_flex_get_extra(scanner);
	int tok = routes_flex_lex(lval, lloc, scanner);
	ctx->prev = ctx->cur;
	ctx->cur = *lloc;
	if (tok == 0) {
		/* end of file: point just past the last byte */
		lloc->line = lloc->end_line = ctx->line;
		lloc->col = lloc->end_col = ctx->col;
	}
	return tok;
}

static struct value word_value(enum value_kind k, char *text, double num, struct loc loc);
}

%union {
	char *str;
	double num;
	struct cond *cond;
	struct value val;
	struct vlist *vals;
	struct member mem;
	struct mlist *mems;
	struct slist *strs;
	struct kv kv;
	struct kvlist *kvs;
	struct action act;
	int op;
}

%token <str> NAME "name"
%token <str> STRING "string"
%token <num> NUMBER "number"
%token <str> TIMERANGE "time range"
%token ARROW "'->'" NE "'!='" LE "'<='" GE "'>='"
%token AND "'and'" CAP "'cap'" CONTAINS "'contains'" DROP "'drop'" ENDS "'ends'"
%token EXPECT "'expect'" FALLBACK "'fallback'" FIELD "'field'" HOURS "'hours'"
%token IN "'in'" IS "'is'" MATCHES "'matches'" MISSING "'missing'" NOT "'not'"
%token OR "'or'" OTHERWISE "'otherwise'" OWNED "'owned'" PER "'per'"
%token PERSONAL "'personal'" PRESENT "'present'" QUEUE "'queue'"
%token SCHEDULER "'scheduler'" STARTS "'starts'" TAG "'tag'" THEN "'then'"
%token WEIGHT "'weight'" WHEN "'when'" WITH "'with'"
%token OWNER_FALLBACK "'fallback account_owner'"

%type <cond> cond pred
%type <val> value
%type <vals> values
%type <mem> member
%type <mems> members
%type <strs> tags days
%type <kv> kv
%type <kvs> kvs kvs_opt
%type <act> action
%type <op> cmp

%destructor { free($$); } <str>
%destructor { cond_free($$); } <cond>
%destructor { value_free(&$$); } <val>
%destructor { vlist_free($$); } <vals>
%destructor { free($$.who); free($$.scheduler); } <mem>
%destructor { mlist_free($$); } <mems>
%destructor { slist_free($$); } <strs>
%destructor { kv_free(&$$); } <kv>
%destructor { kvlist_free($$); } <kvs>
%destructor { action_free(&$$); } <act>

%left OR
%left AND
%precedence NOT

%%

file:
	  %empty
	| file stmt
	| file ';'
	| file error
	;

stmt:
	  field_decl
	| queue_decl
	| rule
	| expect
	| owner_fallback
	;

/* ---- field NAME: text | number | enum(a, b) ---- */

field_decl:
	  FIELD NAME ':' NAME {
		struct field *f = program_add_field(ctx->prog);
		f->name = $2;
		f->loc = @2;
		f->type = FT_TEXT;
		if (strcmp($4, "number") == 0) {
			f->type = FT_NUMBER;
		} else if (strcmp($4, "text") == 0) {
			f->type = FT_TEXT;
		} else {
			static const char *const types[] = { "text", "number", "enum" };
			const char *s = suggest_best($4, types, 3);
			if (s)
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-type",
				         "unknown field type '%s'; did you mean '%s'?", $4, s);
			else
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-type",
				         "unknown field type '%s'; use text, number or enum(...)", $4);
		}
		free($4);
	}
	| FIELD NAME ':' NAME '(' values ')' {
		struct field *f = program_add_field(ctx->prog);
		f->name = $2;
		f->loc = @2;
		f->type = FT_ENUM;
		if (strcmp($4, "enum") != 0)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-type",
			         "unknown field type '%s(...)'; did you mean 'enum(...)'?", $4);
		f->enum_values = xcalloc($6->n, sizeof(char *));
		for (size_t i = 0; i < $6->n; i++) {
			f->enum_values[i] = $6->v[i].text;
			$6->v[i].text = NULL;
		}
		f->n_enum = $6->n;
		vlist_free($6);
		free($4);
	}
	;

/* ---- queue NAME = distribution options ---- */

queue_decl:
	  queue_head queue_opts
	;

queue_head:
	  QUEUE NAME '=' member {
		struct queue *q = program_add_queue(ctx->prog);
		q->name = $2; q->loc = @2;
		q->dist = D_SINGLE;
		q->members = xcalloc(1, sizeof *q->members);
		q->members[0] = $4;
		q->n_members = 1;
	}
	| QUEUE NAME '=' NAME {
		struct queue *q = program_add_queue(ctx->prog);
		q->name = $2; q->loc = @2;
		q->dist = D_OWNER;
		if (strcmp($4, "owner") != 0) {
			static const char *const d[] = { "owner", "round_robin", "manual" };
			const char *s = suggest_best($4, d, 3);
			if (s)
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-distribution",
				         "unknown distribution '%s'; did you mean '%s'?", $4, s);
			else
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-distribution",
				         "unknown distribution '%s'; use a member \"...\", round_robin(...), "
				         "manual \"...\" or owner", $4);
		}
		free($4);
	}
	| QUEUE NAME '=' NAME STRING {
		struct queue *q = program_add_queue(ctx->prog);
		q->name = $2; q->loc = @2;
		q->dist = D_MANUAL;
		if (strcmp($4, "manual") != 0)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-distribution",
			         "unknown distribution '%s'; did you mean 'manual'?", $4);
		q->members = xcalloc(1, sizeof *q->members);
		q->members[0] = (struct member){ .who = $5, .weight = 1, .loc = @5 };
		q->n_members = 1;
		free($4);
	}
	| QUEUE NAME '=' NAME '(' members ')' {
		struct queue *q = program_add_queue(ctx->prog);
		q->name = $2; q->loc = @2;
		q->dist = D_ROUND_ROBIN;
		if (strcmp($4, "round_robin") != 0)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "unknown-distribution",
			         "unknown distribution '%s(...)'; did you mean 'round_robin(...)'?", $4);
		q->members = $6->v;
		q->n_members = $6->n;
		free($6);
		free($4);
	}
	;

members:
	  member {
		$$ = xcalloc(1, sizeof *$$);
		$$->v = xgrow($$->v, &$$->cap, 1, sizeof *$$->v);
		$$->v[$$->n++] = $1;
	}
	| members ',' member {
		$$ = $1;
		$$->v = xgrow($$->v, &$$->cap, $$->n + 1, sizeof *$$->v);
		$$->v[$$->n++] = $3;
	}
	;

member:
	  STRING { $$ = (struct member){ .who = $1, .weight = 1, .loc = @1 }; }
	| member WEIGHT NUMBER {
		$$ = $1;
		if ($3 < 1 || $3 > 1000 || $3 != (int)$3)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @3, "bad-weight",
			         "weight must be a whole number from 1 to 1000");
		else
			$$.weight = (int)$3;
	}
	| member SCHEDULER STRING {
		$$ = $1;
		if ($$.scheduler)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @2, "duplicate-option",
			         "scheduler given twice for one member");
		free($$.scheduler);
		$$.scheduler = $3;
		$$.scheduler_loc = @3;
	}
	;

queue_opts:
	  %empty
	| queue_opts queue_opt
	;

queue_opt:
	  HOURS days TIMERANGE STRING {
		struct queue *q = &ctx->prog->queues[ctx->prog->n_queues - 1];
		if (q->has_hours)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @1, "duplicate-option",
			         "hours given twice for queue '%s'", q->name);
		free(q->hours.tz);
		q->has_hours = true;
		q->hours.loc = @$;
		q->hours.tz = $4;
		q->hours.tz_loc = @4;
		q->hours.days = 0;
		static const char *const names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
		for (size_t i = 0; i < $2->n; i++) {
			char *spec = $2->v[i];
			char *dash = strchr(spec, '-');
			int from = -1, to = -1;
			if (dash)
				*dash = '\0';
			for (int d = 0; d < 7; d++) {
				if (strcasecmp(spec, names[d]) == 0) from = d;
				if (dash && strcasecmp(dash + 1, names[d]) == 0) to = d;
			}
			if (!dash)
				to = from;
			if (strcasecmp(spec, "daily") == 0 && !dash) {
				from = 0; to = 6;
			} else if (strcasecmp(spec, "weekdays") == 0 && !dash) {
				from = 0; to = 4;
			}
			if (from < 0 || to < 0 || to < from) {
				if (dash)
					*dash = '-';
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @2, "bad-hours",
				         "bad days '%s'; write mon-fri, sat,sun, daily or weekdays", spec);
				continue;
			}
			for (int d = from; d <= to; d++)
				q->hours.days |= (uint8_t)HOURS_DAY(d);
		}
		int h1, m1, h2, m2;
		if (sscanf($3, "%d:%d-%d:%d", &h1, &m1, &h2, &m2) != 4 || h1 > 24 || h2 > 24 ||
		    m1 > 59 || m2 > 59 || (h1 == 24 && m1) || (h2 == 24 && m2) ||
		    h1 * 60 + m1 >= h2 * 60 + m2)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @3, "bad-hours",
			         "bad time range '%s'; write HH:MM-HH:MM with the start before the end", $3);
		q->hours.start_min = h1 * 60 + m1;
		q->hours.end_min = h2 * 60 + m2;
		slist_free($2);
		free($3);
	}
	| CAP NUMBER PER NAME {
		struct queue *q = &ctx->prog->queues[ctx->prog->n_queues - 1];
		if (q->cap)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @1, "duplicate-option",
			         "cap given twice for queue '%s'", q->name);
		if ($2 < 1 || $2 > 100000 || $2 != (int)$2)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @2, "bad-cap",
			         "cap must be a whole number from 1 to 100000");
		q->cap = (int)$2 >= 1 ? (int)$2 : 1;
		q->cap_loc = @$;
		if (strcmp($4, "day") == 0) {
			q->cap_per = CAP_DAY;
		} else if (strcmp($4, "hour") == 0) {
			q->cap_per = CAP_HOUR;
		} else {
			q->cap_per = CAP_DAY;
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @4, "bad-cap",
			         "cap period must be 'day' or 'hour', not '%s'", $4);
		}
		free($4);
	}
	| FALLBACK NAME {
		struct queue *q = &ctx->prog->queues[ctx->prog->n_queues - 1];
		if (q->fallback)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @1, "duplicate-option",
			         "fallback given twice for queue '%s'", q->name);
		free(q->fallback);
		q->fallback = $2;
		q->fallback_loc = @2;
	}
	;

days:
	  NAME { $$ = xcalloc(1, sizeof *$$); $$->v = xgrow(NULL, &$$->cap, 1, sizeof(char *)); $$->v[$$->n++] = $1; }
	| days ',' NAME { $$ = $1; $$->v = xgrow($$->v, &$$->cap, $$->n + 1, sizeof(char *)); $$->v[$$->n++] = $3; }
	;

/* ---- fallback account_owner QUEUE ---- */

owner_fallback:
	  OWNER_FALLBACK NAME {
		if (ctx->prog->owner_fallback)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @1, "duplicate-option",
			         "'fallback account_owner' given twice");
		free(ctx->prog->owner_fallback);
		ctx->prog->owner_fallback = $2;
		ctx->prog->owner_fallback_loc = @2;
	}
	;

/* ---- rules ---- */

rule:
	  WHEN cond ARROW action {
		struct rule *r = program_add_rule(ctx->prog);
		r->loc = @1;
		r->cond = $2;
		r->act = $4;
		ctx->nesting = 0;
	}
	| OTHERWISE ARROW action {
		struct rule *r = program_add_rule(ctx->prog);
		r->loc = @1;
		r->otherwise = true;
		r->cond = cond_new(C_TRUE, @1);
		r->act = $3;
	}
	;

action:
	  NAME {
		$$ = (struct action){ .queue = $1, .queue_loc = @1, .queue_id = -1 };
	}
	| DROP {
		$$ = (struct action){ .drop = true, .queue_loc = @1, .queue_id = -1 };
	}
	| action THEN SCHEDULER {
		$$ = $1;
		if ($$.outcome_given)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @2, "duplicate-option",
			         "outcome given twice; a rule has one 'then'");
		$$.outcome = OUT_SCHEDULER; $$.outcome_given = true; $$.outcome_loc = @3;
	}
	| action THEN NAME {
		$$ = $1;
		if ($$.outcome_given)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @2, "duplicate-option",
			         "outcome given twice; a rule has one 'then'");
		$$.outcome_given = true;
		$$.outcome_loc = @3;
		if (strcmp($3, "confirm") == 0) {
			$$.outcome = OUT_CONFIRM;
		} else {
			static const char *const outs[] = { "confirm", "scheduler", "page" };
			const char *s = suggest_best($3, outs, 3);
			if (s)
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @3, "unknown-outcome",
				         "unknown outcome '%s'; did you mean '%s'?", $3, s);
			else
				diag_add(ctx->diags, DIAG_ERROR, ctx->src, @3, "unknown-outcome",
				         "unknown outcome '%s'; use scheduler, confirm or page \"NAME\"", $3);
		}
		free($3);
	}
	| action THEN NAME STRING {
		$$ = $1;
		if ($$.outcome_given)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @2, "duplicate-option",
			         "outcome given twice; a rule has one 'then'");
		$$.outcome_given = true;
		$$.outcome_loc = loc_join(@3, @4);
		$$.outcome = OUT_PAGE;
		free($$.page);
		$$.page = $4;
		if (strcmp($3, "page") != 0)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @3, "unknown-outcome",
			         "unknown outcome '%s \"...\"'; did you mean 'page \"...\"'?", $3);
		free($3);
	}
	| action TAG tags {
		$$ = $1;
		for (size_t i = 0; i < $3->n; i++) {
			$$.tags = xrealloc($$.tags, ($$.n_tags + 1) * sizeof(char *));
			$$.tags[$$.n_tags++] = $3->v[i];
		}
		free($3->v);
		free($3);
	}
	;

tags:
	  STRING { $$ = xcalloc(1, sizeof *$$); $$->v = xgrow(NULL, &$$->cap, 1, sizeof(char *)); $$->v[$$->n++] = $1; }
	| tags ',' STRING { $$ = $1; $$->v = xgrow($$->v, &$$->cap, $$->n + 1, sizeof(char *)); $$->v[$$->n++] = $3; }
	;

cond:
	  cond OR cond    { $$ = mk_bin(ctx, C_OR, $1, $3, @$); }
	| cond AND cond   { $$ = mk_bin(ctx, C_AND, $1, $3, @$); }
	| NOT cond        { $$ = mk_not(ctx, $2, @$); }
	| '(' cond ')'    { $$ = $2; }
	| pred            { $$ = $1; }
	;

pred:
	  NAME cmp value {
		$$ = mk_pred(C_CMP, $1, @1, @$);
		$$->op = (enum cmp_op)$2;
		$$->vals = xmalloc(sizeof *$$->vals);
		$$->vals[0] = $3;
		$$->n_vals = 1;
	}
	| NAME IN '(' values ')' {
		$$ = mk_pred(C_IN, $1, @1, @$);
		$$->vals = $4->v; $$->n_vals = $4->n; free($4);
	}
	| NAME NOT IN '(' values ')' {
		$$ = mk_pred(C_IN, $1, @1, @$);
		$$->negated = true;
		$$->vals = $5->v; $$->n_vals = $5->n; free($5);
	}
	| NAME IS PRESENT       { $$ = mk_pred(C_PRESENT, $1, @1, @$); }
	| NAME IS MISSING       { $$ = mk_pred(C_PRESENT, $1, @1, @$); $$->negated = true; }
	| NAME IS NOT PRESENT   { $$ = mk_pred(C_PRESENT, $1, @1, @$); $$->negated = true; }
	| NAME IS NOT MISSING   { $$ = mk_pred(C_PRESENT, $1, @1, @$); }
	| NAME ENDS WITH value {
		$$ = mk_pred(C_ENDS, $1, @1, @$);
		$$->vals = xmalloc(sizeof *$$->vals); $$->vals[0] = $4; $$->n_vals = 1;
	}
	| NAME STARTS WITH value {
		$$ = mk_pred(C_STARTS, $1, @1, @$);
		$$->vals = xmalloc(sizeof *$$->vals); $$->vals[0] = $4; $$->n_vals = 1;
	}
	| NAME CONTAINS value {
		$$ = mk_pred(C_CONTAINS, $1, @1, @$);
		$$->vals = xmalloc(sizeof *$$->vals); $$->vals[0] = $3; $$->n_vals = 1;
	}
	| NAME MATCHES value {
		$$ = mk_pred(C_MATCHES, $1, @1, @$);
		$$->vals = xmalloc(sizeof *$$->vals); $$->vals[0] = $3; $$->n_vals = 1;
	}
	| NAME OWNED {
		$$ = mk_pred(C_OWNED, $1, @1, @$);
		if (strcmp($1, "domain") != 0)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @$, "bad-predicate",
			         "'owned' applies to 'domain' only; write 'domain owned'");
	}
	| NAME PERSONAL {
		$$ = mk_pred(C_PERSONAL, $1, @1, @$);
		if (strcmp($1, "email") != 0)
			diag_add(ctx->diags, DIAG_ERROR, ctx->src, @$, "bad-predicate",
			         "'personal' applies to 'email' only; write 'email personal'");
	}
	;

cmp:
	  '='  { $$ = OP_EQ; }
	| NE   { $$ = OP_NE; }
	| '<'  { $$ = OP_LT; }
	| LE   { $$ = OP_LE; }
	| '>'  { $$ = OP_GT; }
	| GE   { $$ = OP_GE; }
	;

values:
	  value { $$ = xcalloc(1, sizeof *$$); vlist_push($$, $1); }
	| values ',' value { $$ = $1; vlist_push($$, $3); }
	;

value:
	  NAME    { $$ = word_value(V_WORD, $1, 0, @1); }
	| STRING  { $$ = word_value(V_STRING, $1, 0, @1); }
	| NUMBER  {
		char tmp[64];
		snprintf(tmp, sizeof tmp, "%.15g", $1);
		$$ = word_value(V_NUMBER, xstrdup(tmp), $1, @1);
	}
	;

/* ---- expect { field: value, ... } -> queue ---- */

expect:
	  EXPECT '{' kvs_opt '}' ARROW NAME {
		struct expect *e = program_add_expect(ctx->prog);
		e->loc = @1;
		e->kvs = $3->v; e->n_kvs = $3->n; free($3);
		e->queue = $6; e->queue_loc = @6;
	}
	| EXPECT '{' kvs_opt '}' ARROW DROP {
		struct expect *e = program_add_expect(ctx->prog);
		e->loc = @1;
		e->kvs = $3->v; e->n_kvs = $3->n; free($3);
		e->drop = true; e->queue_loc = @6;
	}
	;

kvs_opt:
	  %empty { $$ = xcalloc(1, sizeof *$$); }
	| kvs    { $$ = $1; }
	| kvs ',' { $$ = $1; }
	;

kvs:
	  kv { $$ = xcalloc(1, sizeof *$$); $$->v = xgrow(NULL, &$$->cap, 1, sizeof *$$->v); $$->v[$$->n++] = $1; }
	| kvs ',' kv { $$ = $1; $$->v = xgrow($$->v, &$$->cap, $$->n + 1, sizeof *$$->v); $$->v[$$->n++] = $3; }
	;

kv:
	  NAME ':' value { $$ = (struct kv){ .key = $1, .key_loc = @1, .val = $3 }; }
	| STRING ':' value { $$ = (struct kv){ .key = $1, .key_loc = @1, .val = $3 }; }
	;

%%

static struct value word_value(enum value_kind k, char *text, double num, struct loc loc)
{
	return (struct value){ .kind = k, .text = text, .num = num, .loc = loc };
}

static void vlist_push(struct vlist *l, struct value v)
{
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = v;
}

static void vlist_free(struct vlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		value_free(&l->v[i]);
	free(l->v);
	free(l);
}

static void mlist_free(struct mlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].who);
		free(l->v[i].scheduler);
	}
	free(l->v);
	free(l);
}

static void slist_free(struct slist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l);
}

static void kvlist_free(struct kvlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		kv_free(&l->v[i]);
	free(l->v);
	free(l);
}

/* Conditions deeper than AST_MAX_DEPTH are refused while building, so no
 * later recursive walk can overflow the stack.  AND, OR and NOT have no
 * values, so their depth is kept in n_vals. */
static int depth_of(const struct cond *c)
{
	if (c->kind == C_AND || c->kind == C_OR || c->kind == C_NOT)
		return (int)c->n_vals;
	return 1;
}

static struct cond *too_deep(struct parse_ctx *ctx, struct loc loc)
{
	if (ctx->nesting == 0)
		diag_add(ctx->diags, DIAG_ERROR, ctx->src, loc, "too-deep",
		         "condition too long or nested too deeply (more than %d operators "
		         "deep); split it into several rules",
		         AST_MAX_DEPTH);
	ctx->nesting = 1;
	return cond_new(C_TRUE, loc);
}

static struct cond *mk_bin(struct parse_ctx *ctx, enum cond_kind k, struct cond *a,
                           struct cond *b, struct loc loc)
{
	int d = depth_of(a) > depth_of(b) ? depth_of(a) : depth_of(b);
	if (d + 1 > AST_MAX_DEPTH) {
		cond_free(a);
		cond_free(b);
		return too_deep(ctx, loc);
	}
	struct cond *c = cond_new(k, loc);
	c->a = a;
	c->b = b;
	c->n_vals = (size_t)d + 1;
	return c;
}

static struct cond *mk_not(struct parse_ctx *ctx, struct cond *a, struct loc loc)
{
	if (depth_of(a) + 1 > AST_MAX_DEPTH) {
		cond_free(a);
		return too_deep(ctx, loc);
	}
	struct cond *c = cond_new(C_NOT, loc);
	c->a = a;
	c->n_vals = (size_t)depth_of(a) + 1;
	return c;
}

static struct cond *mk_pred(enum cond_kind k, char *field, struct loc floc, struct loc loc)
{
	struct cond *c = cond_new(k, loc);
	c->field = field;
	c->field_loc = floc;
	return c;
}

static void routes_yyerror(struct loc *loc, void *scanner, struct parse_ctx *ctx,
                           const char *msg)
{
	(void)scanner;
	if (strstr(msg, "exhausted"))
		diag_add(ctx->diags, DIAG_ERROR, ctx->src, *loc, "too-deep",
		         "statement nested too deeply to parse");
	else
		diag_add(ctx->diags, DIAG_ERROR, ctx->src, *loc, "syntax", "%s", msg);
}

/* "unexpected X; expected A, B or C", with a did-you-mean when the
 * unexpected token is a name close to an expected keyword, and the location
 * moved to the end of the previous line when the statement was left
 * unfinished there. */
static int yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner, struct parse_ctx *ctx)
{
	enum { MAX_EXPECTED = 24 };
	yysymbol_kind_t expected[MAX_EXPECTED];
	int n = yypcontext_expected_tokens(yyctx, expected, MAX_EXPECTED);
	yysymbol_kind_t got = yypcontext_token(yyctx);
	struct loc at = *yypcontext_location(yyctx);
	struct buf msg = {0};
	bool next_line = ctx->prev.line && at.line > ctx->prev.end_line && got != YYSYMBOL_YYEOF;

	if (got == YYSYMBOL_YYEOF)
		buf_adds(&msg, "unexpected end of file");
	else if (next_line)
		buf_printf(&msg, "statement ends too early (the next line starts with %s)",
		           yysymbol_name(got));
	else
		buf_printf(&msg, "unexpected %s", yysymbol_name(got));
	if (n > 0) {
		buf_adds(&msg, "; expected ");
		for (int i = 0; i < n; i++) {
			if (i)
				buf_adds(&msg, i + 1 == n ? " or " : ", ");
			buf_adds(&msg, yysymbol_name(expected[i]));
		}
	}
	if (got == YYSYMBOL_NAME && n > 0) {
		const char *cands[MAX_EXPECTED];
		size_t nc = 0;
		for (int i = 0; i < n; i++) {
			const char *t = yysymbol_name(expected[i]);
			if (t[0] == '\'' && strlen(t) > 3 && t[1] >= 'a' && t[1] <= 'z')
				cands[nc++] = t;
		}
		char word[AST_MAX_NAME + 3];
		const char *text = ctx->src->text;
		size_t off = ctx->src->line_start[at.line - 1] + (size_t)at.col - 1;
		size_t len = (size_t)(at.end_col - at.col);
		if (at.end_line == at.line && len <= AST_MAX_NAME && off + len <= ctx->src->len) {
			snprintf(word, sizeof word, "'%.*s'", (int)len, text + off);
			const char *s = suggest_best(word, cands, nc);
			if (s)
				buf_printf(&msg, "; did you mean %s?", s);
		}
	}
	if (next_line) {
		at.line = at.end_line = ctx->prev.end_line;
		at.col = ctx->prev.end_col;
		at.end_col = at.col + 1;
	}
	diag_add(ctx->diags, DIAG_ERROR, ctx->src, at, "syntax", "%s", buf_str(&msg));
	buf_free(&msg);
	return 0;
}
