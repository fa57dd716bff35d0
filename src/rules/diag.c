/* diag - collect diagnostics about rules files and print them as GCC-style
 * text, as a JSON array, or as a SARIF 2.1.0 log.
 * Must never write anywhere but the stream diags_print is given, never pass
 * a control byte or invalid UTF-8 taken from input on to that stream, and
 * never keep a pointer to a string the caller owns.
 */
#include "rules/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define TAB_STOP 8

/* GCC's default colours (GCC_COLORS). */
#define SGR_END     "\33[m\33[K"
#define SGR_LOCUS   "\33[01m\33[K"
#define SGR_ERROR   "\33[01;31m\33[K"
#define SGR_WARNING "\33[01;35m\33[K"
#define SGR_NOTE    "\33[01;36m\33[K"
#define SGR_CARET   "\33[01;32m\33[K"

/* ---- collecting -------------------------------------------------------- */

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof *d);
}

static void diag_clear(struct diag *g)
{
	free(g->code);
	free(g->message);
	for (size_t i = 0; i < g->n_notes; i++)
		free(g->notes[i].message);
	free(g->notes);
	memset(g, 0, sizeof *g);
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		diag_clear(&d->v[i]);
	diag_clear(&d->dropped);
	free(d->v);
	diags_init(d);
}

struct diag *diag_add(struct diags *d, enum diag_severity sev,
                      const struct source *src, struct loc loc,
                      const char *code, const char *fmt, ...)
{
	struct diag *g;
	bool drop = false;

	if (sev == DIAG_ERROR) {
		d->n_errors++;
		drop = d->max_errors && d->n_errors > d->max_errors;
		if (drop)
			d->n_dropped++;
	} else if (sev == DIAG_WARNING) {
		d->n_warnings++;
	}
	if (drop) {
		g = &d->dropped;
		diag_clear(g);
	} else {
		d->v = xgrow(d->v, &d->cap, d->n + 1, sizeof *d->v);
		g = &d->v[d->n++];
		memset(g, 0, sizeof *g);
	}

	struct buf msg = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);

	g->severity = sev;
	g->src = src;
	g->loc = loc;
	g->code = code ? xstrdup(code) : NULL;
	g->message = buf_take(&msg);
	return g;
}

void diag_note(struct diag *g, struct loc loc, const char *fmt, ...)
{
	struct buf msg = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);

	g->notes = xrealloc(g->notes, (g->n_notes + 1) * sizeof *g->notes);
	g->notes[g->n_notes].loc = loc;
	g->notes[g->n_notes].message = buf_take(&msg);
	g->n_notes++;
}

/* ---- sorting ----------------------------------------------------------- */

static int diag_cmp(const struct diag *a, const struct diag *b)
{
	if (!a->src != !b->src)
		return a->src ? 1 : -1;
	if (a->src && a->src != b->src) {
		int c = strcmp(a->src->name, b->src->name);
		if (c)
			return c;
	}
	int la = a->loc.line > 0 ? a->loc.line : 0;
	int lb = b->loc.line > 0 ? b->loc.line : 0;
	if (la != lb)
		return la < lb ? -1 : 1;
	if (a->loc.col != b->loc.col)
		return a->loc.col < b->loc.col ? -1 : 1;
	return 0;
}

/* Bottom-up merge sort: stable, because a run's left element wins ties. */
void diags_sort(struct diags *d)
{
	size_t n = d->n;

	if (n < 2)
		return;
	struct diag *v = d->v, *tmp = xcalloc(n, sizeof *tmp);
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = diag_cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
			while (i < mid)
				tmp[k++] = v[i++];
			while (j < hi)
				tmp[k++] = v[j++];
		}
		memcpy(v, tmp, n * sizeof *v);
	}
	free(tmp);
}

/* ---- safe characters --------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes available) and its code
 * point in *cp; 0 when p does not start one (overlong forms, surrogates and
 * values past U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
	unsigned c = p[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters that reorder or hide text (Trojan Source) or have no width. */
static bool is_invisible(unsigned cp)
{
	return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* Terminal cells taken by a printable code point: 2 for the common East
 * Asian wide ranges and emoji, 0 for combining marks, else 1. */
static int cp_width(unsigned cp)
{
	if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x20d0 && cp <= 0x20ff) ||
	    (cp >= 0xfe20 && cp <= 0xfe2f))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf &&
	    cp != 0x303f) || (cp >= 0xac00 && cp <= 0xd7a3) ||
	    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
	    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/* One printed character taken from input. */
struct safe_ch {
	size_t nbytes;       /* input bytes it stands for (>= 1) */
	int width;           /* terminal cells; a tab is handled by the caller */
	bool tab;
};

/* Append the safe form of the character at p (n > 0 bytes left) to b:
 * control bytes (and C1 controls, line separators) become a space, bytes
 * that are not UTF-8 and invisible characters '?', a tab stays a tab only
 * when keep_tab.  Returns what was consumed. */
static struct safe_ch add_safe_ch(struct buf *b, const char *p, size_t n,
                                  bool keep_tab)
{
	const unsigned char *u = (const unsigned char *)p;
	struct safe_ch ch = { 1, 1, false };
	unsigned cp;
	size_t len = utf8_seq(u, n, &cp);

	if (len == 0) {
		buf_addc(b, '?');
		return ch;
	}
	ch.nbytes = len;
	if (cp == '\t' && keep_tab) {
		ch.tab = true;
		buf_addc(b, '\t');
	} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	           cp == 0x2028 || cp == 0x2029) {
		buf_addc(b, ' ');
	} else if (is_invisible(cp)) {
		buf_addc(b, '?');
	} else {
		buf_add(b, p, len);
		ch.width = cp_width(cp);
	}
	return ch;
}

/* Append s with every character made safe; tabs become spaces. */
static void add_safe(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; )
		i += add_safe_ch(b, s + i, n - i, false).nbytes;
}

/* s with bytes that are not UTF-8 replaced by '?'; caller frees. */
static char *utf8_fix(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	struct buf b = {0};
	unsigned cp;

	for (size_t i = 0; i < n; ) {
		size_t len = utf8_seq(u + i, n - i, &cp);
		if (len) {
			buf_add(&b, s + i, len);
			i += len;
		} else {
			buf_addc(&b, '?');
			i++;
		}
	}
	return buf_take(&b);
}

/* ---- text -------------------------------------------------------------- */

static const char *sev_name(enum diag_severity sev)
{
	switch (sev) {
	case DIAG_ERROR: return "error";
	case DIAG_WARNING: return "warning";
	case DIAG_NOTE: break;
	}
	return "note";
}

static const char *sev_color(enum diag_severity sev)
{
	switch (sev) {
	case DIAG_ERROR: return SGR_ERROR;
	case DIAG_WARNING: return SGR_WARNING;
	case DIAG_NOTE: break;
	}
	return SGR_NOTE;
}

/* "FILE:LINE:COL: error: MESSAGE [CODE]\n" */
static void text_header(struct buf *b, const struct source *src,
                        struct loc loc, enum diag_severity sev,
                        const char *message, const char *code, bool color)
{
	if (color)
		buf_adds(b, SGR_LOCUS);
	add_safe(b, src ? src->name : "routec");
	if (src && loc.line > 0) {
		buf_printf(b, ":%d", loc.line);
		if (loc.col > 0)
			buf_printf(b, ":%d", loc.col);
	}
	buf_addc(b, ':');
	if (color)
		buf_adds(b, SGR_END);
	buf_addc(b, ' ');
	if (color)
		buf_adds(b, sev_color(sev));
	buf_printf(b, "%s: ", sev_name(sev));
	if (color)
		buf_adds(b, SGR_END);
	add_safe(b, message);
	if (code) {
		buf_adds(b, " [");
		if (color)
			buf_adds(b, sev_color(sev));
		add_safe(b, code);
		if (color)
			buf_adds(b, SGR_END);
		buf_addc(b, ']');
	}
	buf_addc(b, '\n');
}

static void add_repeat(struct buf *b, char c, int n)
{
	for (int i = 0; i < n; i++)
		buf_addc(b, c);
}

/* The source line of loc, then a caret line under its span:
 *    7 | when country = US and employes > 200
 *      |                       ^~~~~~~~
 * Nothing when the line does not exist. */
static void text_snippet(struct buf *b, const struct source *src,
                         struct loc loc, bool color)
{
	size_t len;
	const char *line = src ? source_line(src, loc.line, &len) : NULL;

	if (!line)
		return;

	int w = snprintf(NULL, 0, "%d", loc.line);
	if (w < 4)
		w = 4;
	buf_printf(b, " %*d | ", w, loc.line);
	for (size_t i = 0; i < len; )
		i += add_safe_ch(b, line + i, len - i, true).nbytes;
	buf_addc(b, '\n');
	if (loc.col < 1)
		return;

	/* The span in bytes: [first, last), at least one byte, and the caret
	 * one past the end of the line when the column is. */
	size_t first = (size_t)loc.col - 1;
	if (first > len)
		first = len;
	size_t last = first + 1;
	if (loc.end_line > loc.line)
		last = len;
	else if (loc.end_line == loc.line && loc.end_col > loc.col)
		last = (size_t)loc.end_col - 1 < len ? (size_t)loc.end_col - 1 : len;
	if (last <= first)
		last = first + 1;

	buf_printf(b, " %*s | ", w, "");
	/* Screen column, to know how wide a tab is inside the span. */
	size_t vcol = (size_t)w + 4;
	bool started = false;
	struct buf scratch = {0};
	for (size_t i = 0; i < len && i < last; ) {
		buf_reset(&scratch);
		struct safe_ch ch = add_safe_ch(&scratch, line + i, len - i, true);
		int cells = ch.tab ? (int)(TAB_STOP - vcol % TAB_STOP) : ch.width;
		if (i + ch.nbytes <= first) {
			if (ch.tab)
				buf_addc(b, '\t');
			else
				add_repeat(b, ' ', cells);
		} else if (!started) {
			started = true;
			if (color)
				buf_adds(b, SGR_CARET);
			buf_addc(b, '^');
			if (!ch.tab || i + ch.nbytes < last)
				add_repeat(b, '~', cells - 1);
		} else {
			add_repeat(b, '~', cells);
		}
		vcol += (size_t)cells;
		i += ch.nbytes;
	}
	buf_free(&scratch);
	if (!started) {
		if (color)
			buf_adds(b, SGR_CARET);
		buf_addc(b, '^');
	}
	if (color)
		buf_adds(b, SGR_END);
	buf_addc(b, '\n');
}

static void print_text(const struct diags *d, FILE *out, bool color)
{
	struct buf b = {0};

	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		buf_reset(&b);
		text_header(&b, g->src, g->loc, g->severity, g->message,
		            g->code, color);
		if (g->loc.line > 0)
			text_snippet(&b, g->src, g->loc, color);
		for (size_t j = 0; j < g->n_notes; j++) {
			const struct diag_note *nt = &g->notes[j];
			text_header(&b, g->src, nt->loc, DIAG_NOTE,
			            nt->message, NULL, color);
			if (nt->loc.line > 0)
				text_snippet(&b, g->src, nt->loc, color);
		}
		fwrite(b.data, 1, b.len, out);
	}
	if (d->n_dropped)
		fprintf(out, "routec: %zu more error%s not shown\n",
		        d->n_dropped, d->n_dropped == 1 ? "" : "s");
	buf_free(&b);
}

/* ---- JSON -------------------------------------------------------------- */

static json_object *jstr(const char *s)
{
	if (!s)
		return NULL;
	char *fixed = utf8_fix(s);
	json_object *j = json_object_new_string(fixed);
	free(fixed);
	return j;
}

/* A 1-based position, or null for "no location". */
static json_object *jpos(int line, int v)
{
	return line > 0 && v > 0 ? json_object_new_int(v) : NULL;
}

static void put_json(json_object *root, FILE *out)
{
	const char *s = json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		abort();        /* out of memory, as xalloc would */
	fputs(s, out);
	fputc('\n', out);
}

static void print_json(const struct diags *d, FILE *out)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		const struct loc *l = &g->loc;
		json_object *o = json_object_new_object();
		const char *file = g->src ? g->src->name : NULL;

		json_object_object_add(o, "file", jstr(file));
		json_object_object_add(o, "line", jpos(l->line, l->line));
		json_object_object_add(o, "column", jpos(l->line, l->col));
		json_object_object_add(o, "end_line",
		                       jpos(l->line, l->end_line));
		json_object_object_add(o, "end_column",
		                       jpos(l->line, l->end_col));
		json_object_object_add(o, "severity",
		                       json_object_new_string(sev_name(g->severity)));
		json_object_object_add(o, "code", jstr(g->code));
		json_object_object_add(o, "message", jstr(g->message));

		json_object *notes = json_object_new_array();
		for (size_t j = 0; j < g->n_notes; j++) {
			const struct diag_note *nt = &g->notes[j];
			json_object *n = json_object_new_object();
			json_object_object_add(n, "file", jstr(file));
			json_object_object_add(n, "line",
			                       jpos(nt->loc.line, nt->loc.line));
			json_object_object_add(n, "column",
			                       jpos(nt->loc.line, nt->loc.col));
			json_object_object_add(n, "message", jstr(nt->message));
			json_object_array_add(notes, n);
		}
		json_object_object_add(o, "notes", notes);
		json_object_array_add(arr, o);
	}
	put_json(arr, out);
	json_object_put(arr);
}

/* ---- SARIF ------------------------------------------------------------- */

/* A byte column on a line as a column in code points (SARIF columnKind
 * "unicodeCodePoints"); a byte that is not UTF-8 counts as one.  For an end
 * column (exclusive) a character the column falls inside counts as before
 * it; for a start column, as after it. */
static int cp_column(const struct source *src, int line, int col, bool end)
{
	size_t len;
	const char *p = source_line(src, line, &len);

	if (!p || col < 1)
		return col;
	size_t stop = (size_t)col - 1, i = 0;
	int n = 1;
	while (i < len && i < stop) {
		unsigned cp;
		size_t k = utf8_seq((const unsigned char *)p + i, len - i, &cp);
		if (!k)
			k = 1;
		if (i + k > stop && !end)
			break;
		i += k;
		n++;
	}
	/* Bytes past the end of the line (the newline) count one each. */
	if (stop > len)
		n += (int)(stop - len);
	return n;
}

/* name as a URI reference: a relative path with everything but unreserved
 * characters, sub-delims, '/' and '@' percent-encoded. */
static json_object *sarif_uri(const char *name)
{
	static const char keep[] = "-._~!$&'()*+,;=/@";
	struct buf b = {0};

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(keep, *p))
			buf_addc(&b, (char)*p);
		else
			buf_printf(&b, "%%%02X", *p);
	}
	json_object *j = json_object_new_string(buf_str(&b));
	buf_free(&b);
	return j;
}

static json_object *sarif_location(const struct source *src, struct loc l)
{
	json_object *phys = json_object_new_object();
	json_object *art = json_object_new_object();

	json_object_object_add(art, "uri", sarif_uri(src->name));
	json_object_object_add(phys, "artifactLocation", art);
	if (l.line > 0) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "startLine", json_object_new_int(l.line));
		if (l.col > 0)
			json_object_object_add(r, "startColumn", json_object_new_int(
				cp_column(src, l.line, l.col, false)));
		if (l.end_line > l.line ||
		    (l.end_line == l.line && l.end_col >= l.col)) {
			json_object_object_add(r, "endLine",
			                       json_object_new_int(l.end_line));
			if (l.end_col > 0)
				json_object_object_add(r, "endColumn",
					json_object_new_int(cp_column(src,
						l.end_line, l.end_col, true)));
		}
		json_object_object_add(phys, "region", r);
	}
	json_object *loc = json_object_new_object();
	json_object_object_add(loc, "physicalLocation", phys);
	return loc;
}

static json_object *sarif_message(const char *text)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "text", jstr(text));
	return m;
}

static void print_sarif(const struct diags *d, FILE *out)
{
	json_object *rules = json_object_new_array();
	json_object *results = json_object_new_array();
	/* Rule codes in order of first use; borrowed from d. */
	const char **codes = xcalloc(d->n ? d->n : 1, sizeof *codes);
	size_t n_codes = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		json_object *res = json_object_new_object();

		if (g->code) {
			size_t k = 0;
			while (k < n_codes && strcmp(codes[k], g->code))
				k++;
			if (k == n_codes) {
				codes[n_codes++] = g->code;
				json_object *rule = json_object_new_object();
				json_object_object_add(rule, "id", jstr(g->code));
				json_object_array_add(rules, rule);
			}
			json_object_object_add(res, "ruleId", jstr(g->code));
			json_object_object_add(res, "ruleIndex",
			                       json_object_new_int((int)k));
		}
		json_object_object_add(res, "level",
		                       json_object_new_string(sev_name(g->severity)));
		json_object_object_add(res, "message", sarif_message(g->message));
		if (g->src) {
			json_object *locs = json_object_new_array();
			json_object_array_add(locs, sarif_location(g->src, g->loc));
			json_object_object_add(res, "locations", locs);
		}
		if (g->n_notes) {
			json_object *rel = json_object_new_array();
			for (size_t j = 0; j < g->n_notes; j++) {
				const struct diag_note *nt = &g->notes[j];
				json_object *l = g->src && nt->loc.line > 0
					? sarif_location(g->src, nt->loc)
					: json_object_new_object();
				json_object_object_add(l, "id",
				                       json_object_new_int((int)j));
				json_object_object_add(l, "message",
				                       sarif_message(nt->message));
				json_object_array_add(rel, l);
			}
			json_object_object_add(res, "relatedLocations", rel);
		}
		json_object_array_add(results, res);
	}
	free(codes);

	json_object *driver = json_object_new_object();
	json_object_object_add(driver, "name", json_object_new_string("routec"));
	json_object_object_add(driver, "rules", rules);
	json_object *tool = json_object_new_object();
	json_object_object_add(tool, "driver", driver);
	json_object *run = json_object_new_object();
	json_object_object_add(run, "tool", tool);
	json_object_object_add(run, "columnKind",
	                       json_object_new_string("unicodeCodePoints"));
	json_object_object_add(run, "results", results);
	json_object *runs = json_object_new_array();
	json_object_array_add(runs, run);

	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_string("2.1.0"));
	json_object_object_add(root, "$schema", json_object_new_string(
		"https://json.schemastore.org/sarif-2.1.0.json"));
	json_object_object_add(root, "runs", runs);
	put_json(root, out);
	json_object_put(root);
}

void diags_print(const struct diags *d, enum diag_format fmt, FILE *out,
                 bool color)
{
	switch (fmt) {
	case DIAG_TEXT:
		print_text(d, out, color);
		break;
	case DIAG_JSON:
		print_json(d, out);
		break;
	case DIAG_SARIF:
		print_sarif(d, out);
		break;
	}
}
