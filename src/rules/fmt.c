/* fmt - print a parsed program in the canonical layout (routec --fmt).
 *
 * The layout comes from the AST; where comments and blank lines sit, and the
 * spelling of atoms the AST does not keep (numbers, day lists, time ranges,
 * enum values, an explicit `weight 1`), come from the source, re-scanned
 * here with the token rules of grammar/routes_scan.l.  Must never print
 * anything that parses to a different program, never drop a comment, and
 * never read outside the source's bytes.  The rules of the layout are in
 * fmt.h.
 */
#include "rules/fmt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define ALIGN_MAX 60      /* widest `when CONDITION` whose arrow is aligned */
#define INDENT_OPTION 4   /* queue options */
#define INDENT_MEMBER 8   /* round_robin members, one per line */

/* ---- tokens, as routes_scan.l cuts them ---- */

enum tok_kind { T_NAME, T_STRING, T_NUMBER, T_TIME, T_OWNER_FB, T_PUNCT };

struct tok {
	enum tok_kind kind;
	int line, col;        /* first byte */
	int end_line;         /* line of the last byte */
	size_t off, len;      /* bytes in the source text */
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* [A-Za-z_][A-Za-z0-9_]*([.-][A-Za-z0-9_]+)* at s[i]; 0 when none. */
static size_t name_len(const char *s, size_t n, size_t i)
{
	size_t j = i;
	if (j >= n || !is_alpha((unsigned char)s[j]))
		return 0;
	while (j < n && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j])))
		j++;
	while (j + 1 < n && (s[j] == '.' || s[j] == '-') &&
	       (is_alpha((unsigned char)s[j + 1]) || is_digit((unsigned char)s[j + 1]))) {
		j++;
		while (j < n && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j])))
			j++;
	}
	return j - i;
}

/* -?[0-9][0-9_]*(\.[0-9]+)? at s[i]; 0 when none. */
static size_t number_len(const char *s, size_t n, size_t i)
{
	size_t j = i;
	if (j < n && s[j] == '-')
		j++;
	if (j >= n || !is_digit((unsigned char)s[j]))
		return 0;
	while (j < n && (is_digit((unsigned char)s[j]) || s[j] == '_'))
		j++;
	if (j + 1 < n && s[j] == '.' && is_digit((unsigned char)s[j + 1])) {
		j++;
		while (j < n && is_digit((unsigned char)s[j]))
			j++;
	}
	return j - i;
}

/* [0-9]{1,2}:[0-9]{2} at s[i]; 0 when none. */
static size_t clock_len(const char *s, size_t n, size_t i)
{
	static const size_t hour_digits[] = { 2, 1 };
	for (size_t k = 0; k < 2; k++) {
		size_t h = hour_digits[k];
		if (i + h + 3 > n)
			continue;
		bool ok = s[i + h] == ':' && is_digit((unsigned char)s[i + h + 1]) &&
		          is_digit((unsigned char)s[i + h + 2]);
		for (size_t j = 0; j < h; j++)
			ok = ok && is_digit((unsigned char)s[i + j]);
		if (ok)
			return h + 3;
	}
	return 0;
}

/* A time range (TIME-TIME) at s[i]; 0 when none. */
static size_t time_range_len(const char *s, size_t n, size_t i)
{
	size_t a = clock_len(s, n, i);
	if (!a || i + a >= n || s[i + a] != '-')
		return 0;
	size_t b = clock_len(s, n, i + a + 1);
	return b ? a + 1 + b : 0;
}

static const char *const keywords[] = {
	"and", "cap", "contains", "drop", "ends", "expect", "fallback", "field",
	"hours", "in", "is", "matches", "missing", "not", "or", "otherwise", "owned",
	"per", "personal", "present", "queue", "scheduler", "starts", "tag", "then",
	"weight", "when", "with",
};

static bool is_keyword(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
		if (strlen(keywords[i]) == len && memcmp(keywords[i], s, len) == 0)
			return true;
	return false;
}

static void scan(const struct source *src, struct toks *t)
{
	const char *s = src->text;
	size_t n = src->len;
	size_t i = 0;
	int line = 1, col = 1;
	static const char owner_kw[] = "account_owner";

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = 0;
		enum tok_kind kind = T_PUNCT;

		if (is_ws(c)) {
			if (c == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
			i++;
			continue;
		}
		if (c == '#') {
			while (i < n && s[i] != '\n') {
				i++;
				col++;
			}
			continue;
		}
		if (c == '"') {
			size_t j = i + 1;
			while (j < n && s[j] != '"' && s[j] != '\n') {
				if (s[j] == '\\' && j + 1 < n && s[j + 1] != '\n')
					j++;
				j++;
			}
			if (j < n && s[j] == '"')
				j++;
			kind = T_STRING;
			len = j - i;
		} else if (is_digit(c) || (c == '-' && i + 1 < n && is_digit((unsigned char)s[i + 1]))) {
			size_t num = number_len(s, n, i);
			size_t tr = is_digit(c) ? time_range_len(s, n, i) : 0;
			if (num && i + num < n && is_alpha((unsigned char)s[i + num]))
				num += name_len(s, n, i + num);
			kind = tr > num ? T_TIME : T_NUMBER;
			len = tr > num ? tr : num;
		} else if (is_alpha(c)) {
			len = name_len(s, n, i);
			kind = T_NAME;
			if (len == 8 && memcmp(s + i, "fallback", 8) == 0) {
				size_t j = i + 8;
				while (j < n && is_ws((unsigned char)s[j]))
					j++;
				if (j > i + 8 && n - j >= sizeof owner_kw - 1 &&
				    memcmp(s + j, owner_kw, sizeof owner_kw - 1) == 0) {
					kind = T_OWNER_FB;
					len = j + sizeof owner_kw - 1 - i;
				}
			}
		} else if (i + 1 < n && ((c == '-' && s[i + 1] == '>') ||
		                         ((c == '!' || c == '<' || c == '>' || c == '=') &&
		                          s[i + 1] == '='))) {
			len = 2;
		} else {
			len = 1;
		}

		struct tok tk = { kind, line, col, line, i, len };
		for (size_t k = i; k < i + len; k++) {
			if (s[k] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		tk.end_line = line;
		t->v = xgrow(t->v, &t->cap, t->n + 1, sizeof *t->v);
		t->v[t->n++] = tk;
		i += len;
	}
}

/* ---- the formatter's state ---- */

enum stmt_kind { S_FIELD, S_QUEUE, S_RULE, S_EXPECT, S_OWNER_FB };

/* One output line of a statement, with the comments printed with it. */
struct seg {
	int line, col;          /* where its source begins: tokens from here on are its */
	int indent;
	size_t *cmts;           /* comment indices, in source order */
	size_t n_cmts, cap_cmts;
	bool trail;             /* the last of cmts goes at the end of the line */
	struct buf text;        /* the line (for a rule: up to the arrow) */
	struct buf action;      /* a rule: after the arrow */
};

struct stmt {
	enum stmt_kind kind;
	size_t idx;             /* in the program's array of its kind */
	int line, col;          /* its place in the source, from the AST */
	size_t first, last;     /* its tokens */
	struct seg *segs;       /* in output order; segs[0] holds the start */
	size_t n_segs, cap_segs;
	size_t *lead;           /* comments on their own lines before it */
	size_t n_lead, cap_lead;
	size_t arrow_col;       /* a rule: width the head is padded to */
};

enum item_kind { I_COMMENT, I_STMT };

/* A top-level entry of the output: a statement or a comment line. */
struct item {
	enum item_kind kind;
	size_t idx;
	int first_line, last_line;
	bool blank_before;
};

struct fmt {
	const struct program *p;
	const struct source *src;
	struct toks toks;
	struct stmt *stmts;
	size_t n_stmts, cap_stmts;
	size_t *final;          /* comments after the last statement */
	size_t n_final, cap_final;
};

static int pos_cmp(int l1, int c1, int l2, int c2)
{
	if (l1 != l2)
		return l1 < l2 ? -1 : 1;
	return c1 < c2 ? -1 : c1 > c2;
}

/* Index of the first token at or after (line, col); toks.n when none. */
static size_t tok_at(const struct fmt *f, int line, int col)
{
	size_t lo = 0, hi = f->toks.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tok *t = &f->toks.v[mid];
		if (pos_cmp(t->line, t->col, line, col) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool tok_is(const struct fmt *f, size_t i, enum tok_kind k, const char *text)
{
	if (i >= f->toks.n || f->toks.v[i].kind != k)
		return false;
	const struct tok *t = &f->toks.v[i];
	return strlen(text) == t->len && memcmp(f->src->text + t->off, text, t->len) == 0;
}

static bool is_semi(const struct fmt *f, size_t i)
{
	return tok_is(f, i, T_PUNCT, ";");
}

static bool is_starter(const struct fmt *f, size_t i)
{
	static const char *const words[] = { "field", "queue", "when", "otherwise", "expect" };
	if (i < f->toks.n && f->toks.v[i].kind == T_OWNER_FB)
		return true;
	for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
		if (tok_is(f, i, T_NAME, words[k]))
			return true;
	return false;
}

static void add_index(size_t **v, size_t *n, size_t *cap, size_t x)
{
	*v = xgrow(*v, cap, *n + 1, sizeof **v);
	(*v)[(*n)++] = x;
}

/* ---- atoms ---- */

static void put_quoted(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		switch (*s) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\t': buf_adds(b, "\\t"); break;
		default: buf_addc(b, *s);
		}
	}
	buf_addc(b, '"');
}

/* Would s scan back as one NAME token, without a diagnostic? */
static bool is_bare_word(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && name_len(s, n, 0) == n && !is_keyword(s, n) &&
	       (n <= AST_MAX_NAME || strchr(s, '.'));
}

static void put_word(struct buf *b, const char *s)
{
	if (is_bare_word(s))
		buf_adds(b, s);
	else
		put_quoted(b, s);
}

static void put_number_text(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (n > 0 && number_len(s, n, 0) == n)
		buf_adds(b, s);
	else
		put_quoted(b, s);
}

/* A string token's value: its escapes undone, as the scanner does. */
static char *unquote(const char *s, size_t len)
{
	struct buf b = {0};
	size_t end = len >= 2 && s[len - 1] == '"' ? len - 1 : len;
	for (size_t i = 1; i < end; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < end) {
			c = s[++i];
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
		}
		buf_addc(&b, c);
	}
	return buf_take(&b);
}

/* A NAME, NUMBER or STRING token as written (strings re-escaped). */
static void put_token(struct buf *b, const struct fmt *f, size_t i)
{
	const struct tok *t = &f->toks.v[i];
	if (t->kind == T_STRING) {
		char *s = unquote(f->src->text + t->off, t->len);
		put_quoted(b, s);
		free(s);
	} else {
		buf_add(b, f->src->text + t->off, t->len);
	}
}

/* A value as written: a string stays quoted, a bare word bare, a number
 * keeps its spelling (1_000 stays 1_000).  The kind comes from the source
 * because check.c turns numeric words into V_NUMBER in place. */
static void put_value(struct buf *b, const struct fmt *f, const struct value *v)
{
	size_t i = tok_at(f, v->loc.line, v->loc.col);
	if (v->loc.line > 0 && i < f->toks.n && f->toks.v[i].line == v->loc.line &&
	    f->toks.v[i].col == v->loc.col) {
		switch (f->toks.v[i].kind) {
		case T_STRING:
			put_quoted(b, v->text);
			return;
		case T_NUMBER:
			put_token(b, f, i);
			return;
		case T_NAME:
			put_word(b, v->text);
			return;
		default:
			break;
		}
	}
	if (v->kind == V_STRING)
		put_quoted(b, v->text);
	else if (v->kind == V_NUMBER)
		put_number_text(b, v->text);
	else
		put_word(b, v->text);
}

/* ---- conditions ---- */

enum { P_OR = 1, P_AND, P_NOT, P_PRED };

static int prec_of(const struct cond *c)
{
	switch (c->kind) {
	case C_OR: return P_OR;
	case C_AND: return P_AND;
	case C_NOT: return P_NOT;
	default: return P_PRED;
	}
}

/* c with the fewest parentheses that parse back to the same tree: `and`
 * binds tighter than `or`, both are left-associative, `not` binds tightest. */
static void put_cond(struct buf *b, const struct fmt *f, const struct cond *c, int min_prec)
{
	bool paren = prec_of(c) < min_prec;
	if (paren)
		buf_addc(b, '(');
	switch (c->kind) {
	case C_OR:
		put_cond(b, f, c->a, P_OR);
		buf_adds(b, " or ");
		put_cond(b, f, c->b, P_AND);
		break;
	case C_AND:
		put_cond(b, f, c->a, P_AND);
		buf_adds(b, " and ");
		put_cond(b, f, c->b, P_NOT);
		break;
	case C_NOT:
		buf_adds(b, "not ");
		put_cond(b, f, c->a, P_NOT);
		break;
	case C_CMP:
		buf_printf(b, "%s %s ", c->field, cmp_op_name(c->op));
		put_value(b, f, &c->vals[0]);
		break;
	case C_IN:
		buf_printf(b, "%s %sin (", c->field, c->negated ? "not " : "");
		for (size_t i = 0; i < c->n_vals; i++) {
			if (i)
				buf_adds(b, ", ");
			put_value(b, f, &c->vals[i]);
		}
		buf_addc(b, ')');
		break;
	case C_PRESENT:
		buf_printf(b, "%s is %s", c->field, c->negated ? "missing" : "present");
		break;
	case C_ENDS:
	case C_STARTS:
	case C_CONTAINS:
	case C_MATCHES:
		buf_printf(b, "%s %s ", c->field,
		           c->kind == C_ENDS ? "ends with" : c->kind == C_STARTS ? "starts with" :
		           c->kind == C_CONTAINS ? "contains" : "matches");
		put_value(b, f, &c->vals[0]);
		break;
	case C_OWNED:
		buf_printf(b, "%s owned", c->field);
		break;
	case C_PERSONAL:
		buf_printf(b, "%s personal", c->field);
		break;
	case C_TRUE:
		break;
	}
	if (paren)
		buf_addc(b, ')');
}

/* ---- statements ---- */

static struct seg *add_seg(struct stmt *s, int line, int col, int indent)
{
	s->segs = xgrow(s->segs, &s->cap_segs, s->n_segs + 1, sizeof *s->segs);
	struct seg *g = &s->segs[s->n_segs++];
	*g = (struct seg){ .line = line, .col = col, .indent = indent };
	return g;
}

static void render_field(const struct fmt *f, struct stmt *s)
{
	const struct field *fd = &f->p->fields[s->idx];
	struct seg *g = add_seg(s, f->toks.v[s->first].line, f->toks.v[s->first].col, 0);
	buf_printf(&g->text, "field %s: ", fd->name);
	if (fd->type == FT_NUMBER) {
		buf_adds(&g->text, "number");
		return;
	}
	if (fd->type != FT_ENUM) {
		buf_adds(&g->text, field_type_name(fd->type));
		return;
	}
	/* enum values as written: check.c keeps only their normalized form */
	buf_adds(&g->text, "enum(");
	size_t i = s->first;
	while (i <= s->last && !tok_is(f, i, T_PUNCT, "("))
		i++;
	size_t n = 0;
	for (i++; i <= s->last && !tok_is(f, i, T_PUNCT, ")"); i++) {
		enum tok_kind k = f->toks.v[i].kind;
		if (k != T_NAME && k != T_STRING && k != T_NUMBER)
			continue;
		if (n++)
			buf_adds(&g->text, ", ");
		put_token(&g->text, f, i);
	}
	if (n != fd->n_enum) {
		/* the source does not look as expected: print what the AST has */
		buf_reset(&g->text);
		buf_printf(&g->text, "field %s: enum(", fd->name);
		for (size_t k = 0; k < fd->n_enum; k++) {
			if (k)
				buf_adds(&g->text, ", ");
			put_word(&g->text, fd->enum_values[k]);
		}
	}
	buf_addc(&g->text, ')');
}

/* Was `weight` written for member m (even `weight 1`)? */
static bool weight_written(const struct fmt *f, const struct stmt *s, const struct member *m)
{
	if (m->weight != 1)
		return true;
	for (size_t i = tok_at(f, m->loc.line, m->loc.col) + 1; i <= s->last; i++) {
		if (tok_is(f, i, T_PUNCT, ",") || tok_is(f, i, T_PUNCT, ")"))
			break;
		if (tok_is(f, i, T_NAME, "weight"))
			return true;
	}
	return false;
}

static void put_member(struct buf *b, const struct fmt *f, const struct stmt *s,
                       const struct member *m)
{
	put_quoted(b, m->who);
	if (weight_written(f, s, m))
		buf_printf(b, " weight %d", m->weight);
	if (m->scheduler) {
		buf_adds(b, " scheduler ");
		put_quoted(b, m->scheduler);
	}
}

/* The days and time range of `hours` as written; from the AST when the
 * source does not look as expected. */
static void put_hours(struct buf *b, const struct fmt *f, const struct hours *h)
{
	size_t i = tok_at(f, h->loc.line, h->loc.col);
	size_t n_days = 0;
	struct buf days = {0};
	if (tok_is(f, i, T_NAME, "hours")) {
		for (i++; i < f->toks.n && f->toks.v[i].kind != T_TIME; i++) {
			if (f->toks.v[i].kind == T_NAME) {
				if (n_days++)
					buf_addc(&days, ',');
				put_token(&days, f, i);
			} else if (!tok_is(f, i, T_PUNCT, ",")) {
				break;
			}
		}
	}
	if (n_days && i < f->toks.n && f->toks.v[i].kind == T_TIME) {
		buf_printf(b, "hours %s ", buf_str(&days));
		put_token(b, f, i);
	} else {
		static const char *const names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
		buf_adds(b, "hours ");
		bool first = true;
		for (int d = 0; d < 7; d++) {
			if (!(h->days & HOURS_DAY(d)))
				continue;
			int e = d;
			while (e < 6 && (h->days & HOURS_DAY(e + 1)))
				e++;
			buf_printf(b, "%s%s", first ? "" : ",", names[d]);
			if (e > d)
				buf_printf(b, "-%s", names[e]);
			first = false;
			d = e;
		}
		buf_printf(b, " %02d:%02d-%02d:%02d", h->start_min / 60, h->start_min % 60,
		           h->end_min / 60, h->end_min % 60);
	}
	buf_addc(b, ' ');
	put_quoted(b, h->tz);
	buf_free(&days);
}

static void render_queue(const struct fmt *f, struct stmt *s)
{
	const struct queue *q = &f->p->queues[s->idx];
	struct seg *g = add_seg(s, f->toks.v[s->first].line, f->toks.v[s->first].col, 0);
	buf_printf(&g->text, "queue %s = ", q->name);
	switch (q->dist) {
	case D_OWNER:
		buf_adds(&g->text, "owner");
		break;
	case D_SINGLE:
		put_quoted(&g->text, q->n_members ? q->members[0].who : "");
		break;
	case D_MANUAL:
		buf_adds(&g->text, "manual ");
		put_quoted(&g->text, q->n_members ? q->members[0].who : "");
		break;
	case D_ROUND_ROBIN: {
		bool lines = q->n_members > 1;
		for (size_t i = 0; i < q->n_members; i++)
			if (q->members[i].scheduler || weight_written(f, s, &q->members[i]))
				lines = true;
		buf_adds(&g->text, "round_robin(");
		if (!lines) {
			for (size_t i = 0; i < q->n_members; i++)
				put_member(&g->text, f, s, &q->members[i]);
			buf_addc(&g->text, ')');
			break;
		}
		for (size_t i = 0; i < q->n_members; i++) {
			const struct member *m = &q->members[i];
			struct seg *mg = add_seg(s, m->loc.line, m->loc.col, INDENT_MEMBER);
			put_member(&mg->text, f, s, m);
			buf_addc(&mg->text, i + 1 < q->n_members ? ',' : ')');
		}
		break;
	}
	}
	if (q->has_hours) {
		struct seg *og = add_seg(s, q->hours.loc.line, q->hours.loc.col, INDENT_OPTION);
		put_hours(&og->text, f, &q->hours);
	}
	if (q->cap) {
		struct seg *og = add_seg(s, q->cap_loc.line, q->cap_loc.col, INDENT_OPTION);
		buf_printf(&og->text, "cap %d per %s", q->cap, q->cap_per == CAP_HOUR ? "hour" : "day");
	}
	if (q->fallback) {
		/* fallback_loc is the queue name; the segment starts at `fallback` */
		int line = q->fallback_loc.line, col = q->fallback_loc.col;
		size_t i = tok_at(f, line, col);
		if (i > 0 && tok_is(f, i - 1, T_NAME, "fallback")) {
			line = f->toks.v[i - 1].line;
			col = f->toks.v[i - 1].col;
		}
		struct seg *og = add_seg(s, line, col, INDENT_OPTION);
		buf_printf(&og->text, "fallback %s", q->fallback);
	}
}

static void render_rule(const struct fmt *f, struct stmt *s)
{
	const struct rule *r = &f->p->rules[s->idx];
	const struct action *a = &r->act;
	struct seg *g = add_seg(s, f->toks.v[s->first].line, f->toks.v[s->first].col, 0);
	if (r->otherwise) {
		buf_adds(&g->text, "otherwise");
	} else {
		buf_adds(&g->text, "when ");
		put_cond(&g->text, f, r->cond, P_OR);
	}
	buf_adds(&g->action, a->drop ? "drop" : a->queue);
	if (a->outcome_given) {
		buf_adds(&g->action, " then ");
		if (a->outcome == OUT_SCHEDULER) {
			buf_adds(&g->action, "scheduler");
		} else if (a->outcome == OUT_PAGE) {
			buf_adds(&g->action, "page ");
			put_quoted(&g->action, a->page ? a->page : "");
		} else {
			buf_adds(&g->action, "confirm");
		}
	}
	for (size_t i = 0; i < a->n_tags; i++) {
		buf_adds(&g->action, i ? ", " : " tag ");
		put_quoted(&g->action, a->tags[i]);
	}
}

static void render_expect(const struct fmt *f, struct stmt *s)
{
	const struct expect *e = &f->p->expects[s->idx];
	struct seg *g = add_seg(s, f->toks.v[s->first].line, f->toks.v[s->first].col, 0);
	buf_adds(&g->text, "expect {");
	for (size_t i = 0; i < e->n_kvs; i++) {
		buf_adds(&g->text, i ? ", " : " ");
		put_word(&g->text, e->kvs[i].key);
		buf_adds(&g->text, ": ");
		put_value(&g->text, f, &e->kvs[i].val);
	}
	buf_adds(&g->text, e->n_kvs ? " } -> " : "} -> ");
	buf_adds(&g->text, e->drop ? "drop" : e->queue);
}

static void render(const struct fmt *f, struct stmt *s)
{
	switch (s->kind) {
	case S_FIELD: render_field(f, s); break;
	case S_QUEUE: render_queue(f, s); break;
	case S_RULE: render_rule(f, s); break;
	case S_EXPECT: render_expect(f, s); break;
	case S_OWNER_FB: {
		struct seg *g = add_seg(s, f->toks.v[s->first].line, f->toks.v[s->first].col, 0);
		buf_printf(&g->text, "fallback account_owner %s", f->p->owner_fallback);
		break;
	}
	}
}

/* ---- placing statements and comments ---- */

static void add_stmt(struct fmt *f, enum stmt_kind kind, size_t idx, struct loc at)
{
	f->stmts = xgrow(f->stmts, &f->cap_stmts, f->n_stmts + 1, sizeof *f->stmts);
	f->stmts[f->n_stmts++] = (struct stmt){ .kind = kind, .idx = idx, .line = at.line,
	                                        .col = at.col };
}

static int stmt_cmp(const void *x, const void *y)
{
	const struct stmt *a = x, *b = y;
	return pos_cmp(a->line, a->col, b->line, b->col);
}

/* The statements in source order, each with the span of its tokens. */
static void collect(struct fmt *f)
{
	const struct program *p = f->p;
	for (size_t i = 0; i < p->n_fields; i++)
		if (!p->fields[i].builtin)
			add_stmt(f, S_FIELD, i, p->fields[i].loc);
	for (size_t i = 0; i < p->n_queues; i++)
		if (!p->queues[i].builtin)
			add_stmt(f, S_QUEUE, i, p->queues[i].loc);
	for (size_t i = 0; i < p->n_rules; i++)
		add_stmt(f, S_RULE, i, p->rules[i].loc);
	for (size_t i = 0; i < p->n_expects; i++)
		add_stmt(f, S_EXPECT, i, p->expects[i].loc);
	if (p->owner_fallback)
		add_stmt(f, S_OWNER_FB, 0, p->owner_fallback_loc);
	if (f->n_stmts > 1)
		qsort(f->stmts, f->n_stmts, sizeof *f->stmts, stmt_cmp);

	/* a statement starts at its keyword: the last one at or before the
	 * place the AST gives (a field's or queue's name) */
	for (size_t k = 0; k < f->n_stmts; k++) {
		struct stmt *s = &f->stmts[k];
		size_t i = tok_at(f, s->line, s->col);
		size_t lo = k ? f->stmts[k - 1].first + 1 : 0;
		if (i >= f->toks.n)
			i = f->toks.n ? f->toks.n - 1 : 0;
		size_t j = i;
		while (j > lo && !is_starter(f, j))
			j--;
		s->first = is_starter(f, j) ? j : i;
		if (k && s->first < f->stmts[k - 1].first)
			s->first = f->stmts[k - 1].first;
	}
	for (size_t k = 0; k < f->n_stmts; k++) {
		struct stmt *s = &f->stmts[k];
		size_t end = k + 1 < f->n_stmts ? f->stmts[k + 1].first : f->toks.n;
		s->last = end > s->first ? end - 1 : s->first;
		while (s->last > s->first && is_semi(f, s->last))
			s->last--;
	}
}

/* The statement holding token i (the last one starting at or before it). */
static size_t stmt_of(const struct fmt *f, size_t i)
{
	size_t lo = 0, hi = f->n_stmts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->stmts[mid].first <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* The segment of s whose source holds token i. */
static size_t seg_of(const struct fmt *f, const struct stmt *s, size_t i)
{
	const struct tok *t = &f->toks.v[i];
	size_t best = 0;
	for (size_t k = 1; k < s->n_segs; k++) {
		const struct seg *g = &s->segs[k];
		const struct seg *b = &s->segs[best];
		if (pos_cmp(g->line, g->col, t->line, t->col) <= 0 &&
		    pos_cmp(g->line, g->col, b->line, b->col) > 0)
			best = k;
	}
	return best;
}

/* Give each comment its place: at the end of the line of the segment whose
 * last token it follows on the same line; above the segment (or statement)
 * whose token comes next; or after everything. */
static void place_comments(struct fmt *f)
{
	const struct program *p = f->p;
	for (size_t c = 0; c < p->n_comments; c++) {
		const struct loc *at = &p->comments[c].loc;
		size_t i = tok_at(f, at->line, at->col);
		size_t next = i;
		while (next < f->toks.n && is_semi(f, next))
			next++;
		size_t prev = i;
		while (prev > 0 && is_semi(f, prev - 1))
			prev--;
		bool has_prev = prev > 0 && f->n_stmts > 0;
		bool has_next = next < f->toks.n && f->n_stmts > 0;
		if (has_prev && f->toks.v[prev - 1].end_line == at->line) {
			struct stmt *s = &f->stmts[stmt_of(f, prev - 1)];
			struct seg *g = &s->segs[seg_of(f, s, prev - 1)];
			bool trail = !has_next || &f->stmts[stmt_of(f, next)] != s ||
			             &s->segs[seg_of(f, s, next)] != g;
			add_index(&g->cmts, &g->n_cmts, &g->cap_cmts, c);
			g->trail = trail;
		} else if (has_next) {
			struct stmt *s = &f->stmts[stmt_of(f, next)];
			if (next <= s->first) {
				add_index(&s->lead, &s->n_lead, &s->cap_lead, c);
			} else {
				struct seg *g = &s->segs[seg_of(f, s, next)];
				add_index(&g->cmts, &g->n_cmts, &g->cap_cmts, c);
				g->trail = false;
			}
		} else {
			add_index(&f->final, &f->n_final, &f->cap_final, c);
		}
	}
}

/* Is some line strictly between a and b empty or white space only? */
static bool blank_between(const struct source *src, int a, int b)
{
	for (int l = a + 1; l < b; l++) {
		size_t len;
		const char *s = source_line(src, l, &len);
		if (!s)
			continue;
		size_t k = 0;
		while (k < len && is_ws((unsigned char)s[k]))
			k++;
		if (k == len)
			return true;
	}
	return false;
}

static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Pad the heads of a block of rules to a common width. */
static void align_block(struct fmt *f, const struct item *items, size_t from, size_t to)
{
	size_t w = 0;
	for (size_t i = from; i < to; i++) {
		if (items[i].kind != I_STMT)
			continue;
		size_t hw = display_width(buf_str(&f->stmts[items[i].idx].segs[0].text));
		if (hw <= ALIGN_MAX && hw > w)
			w = hw;
	}
	for (size_t i = from; i < to; i++)
		if (items[i].kind == I_STMT)
			f->stmts[items[i].idx].arrow_col = w;
}

static void put_comment(struct buf *out, const char *text, int indent)
{
	size_t n = strlen(text);
	while (n > 0 && is_ws((unsigned char)text[n - 1]))
		n--;
	buf_printf(out, "%*s", indent, "");
	buf_add(out, text, n);
}

static void print_stmt(struct buf *out, const struct fmt *f, const struct stmt *s)
{
	const struct comment *cm = f->p->comments;
	for (size_t k = 0; k < s->n_segs; k++) {
		const struct seg *g = &s->segs[k];
		size_t n_above = g->trail ? g->n_cmts - 1 : g->n_cmts;
		for (size_t c = 0; c < n_above; c++) {
			put_comment(out, cm[g->cmts[c]].text, g->indent);
			buf_addc(out, '\n');
		}
		buf_printf(out, "%*s%s", g->indent, "", buf_str(&g->text));
		if (s->kind == S_RULE) {
			size_t hw = display_width(buf_str(&g->text));
			buf_printf(out, "%*s -> %s", (int)(hw < s->arrow_col ? s->arrow_col - hw : 0),
			           "", buf_str(&g->action));
		}
		if (g->trail) {
			buf_adds(out, "  ");
			put_comment(out, cm[g->cmts[g->n_cmts - 1]].text, 0);
		}
		buf_addc(out, '\n');
	}
}

static void fmt_free(struct fmt *f)
{
	for (size_t k = 0; k < f->n_stmts; k++) {
		struct stmt *s = &f->stmts[k];
		for (size_t i = 0; i < s->n_segs; i++) {
			free(s->segs[i].cmts);
			buf_free(&s->segs[i].text);
			buf_free(&s->segs[i].action);
		}
		free(s->segs);
		free(s->lead);
	}
	free(f->stmts);
	free(f->final);
	free(f->toks.v);
}

void fmt_program(const struct program *p, const struct source *src, FILE *out)
{
	struct fmt f = { .p = p, .src = src };
	scan(src, &f.toks);
	collect(&f);
	if (f.toks.n == 0)
		f.n_stmts = 0;   /* nothing to hang statements on; cannot happen */
	for (size_t k = 0; k < f.n_stmts; k++)
		render(&f, &f.stmts[k]);
	place_comments(&f);

	/* the top-level lines: leading comments, statements, final comments */
	struct item *items = NULL;
	size_t n_items = 0, cap_items = 0;
	for (size_t k = 0; k <= f.n_stmts; k++) {
		const size_t *cs = k < f.n_stmts ? f.stmts[k].lead : f.final;
		size_t nc = k < f.n_stmts ? f.stmts[k].n_lead : f.n_final;
		items = xgrow(items, &cap_items, n_items + nc + 1, sizeof *items);
		for (size_t c = 0; c < nc; c++) {
			int l = p->comments[cs[c]].loc.line;
			items[n_items++] = (struct item){ I_COMMENT, cs[c], l, l, false };
		}
		if (k < f.n_stmts)
			items[n_items++] = (struct item){ I_STMT, k, f.toks.v[f.stmts[k].first].line,
			                                  f.toks.v[f.stmts[k].last].end_line, false };
	}
	for (size_t i = 1; i < n_items; i++)
		items[i].blank_before = blank_between(src, items[i - 1].last_line,
		                                      items[i].first_line);

	/* blocks of rules: broken by a blank line or another statement */
	size_t from = 0;
	for (size_t i = 0; i <= n_items; i++) {
		bool rule = i < n_items && items[i].kind == I_STMT &&
		            f.stmts[items[i].idx].kind == S_RULE;
		bool other = i < n_items && items[i].kind == I_STMT && !rule;
		if (i == n_items || items[i].blank_before || other) {
			align_block(&f, items, from, i);
			from = other ? i + 1 : i;
		}
	}

	struct buf b = {0};
	for (size_t i = 0; i < n_items; i++) {
		if (items[i].blank_before)
			buf_addc(&b, '\n');
		if (items[i].kind == I_COMMENT) {
			put_comment(&b, p->comments[items[i].idx].text, 0);
			buf_addc(&b, '\n');
		} else {
			print_stmt(&b, &f, &f.stmts[items[i].idx]);
		}
	}
	if (b.len)
		fwrite(b.data, 1, b.len, out);
	buf_free(&b);
	free(items);
	fmt_free(&f);
}
