/* test_diag - unit tests for src/rules/diag.c: the exact text output (carets,
 * tabs, spans over lines, notes, no location, unsafe bytes, colours), JSON
 * and SARIF read back with json-c, max_errors and stable sorting.
 * Must never depend on the terminal or the locale: output goes to memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "rules/diag.h"
#include "rules/source.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* What diags_print writes, as a string; caller frees. */
static char *render(const struct diags *d, enum diag_format fmt, bool color)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	diags_print(d, fmt, f, color);
	assert_int_equal(fclose(f), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void expect_text(const struct diags *d, bool color, const char *want)
{
	char *got = render(d, DIAG_TEXT, color);
	assert_string_equal(got, want);
	free(got);
}

static struct source *src_of(const char *name, const char *text)
{
	return source_from_mem(name, text, strlen(text));
}

static struct loc L(int line, int col, int end_line, int end_col)
{
	struct loc l = { line, col, end_line, end_col };
	return l;
}

static const struct loc NOWHERE = { 0, 0, 0, 0 };

/* ---- text ---- */

static void test_caret_span(void **state)
{
	(void)state;
	struct source *s = src_of("rules/acme.routes",
		"a\nb\nc\nd\ne\nf\n"
		"when country = US and employes > 200 -> enterprise_us\n");
	struct diags d;

	diags_init(&d);
	diag_add(&d, DIAG_ERROR, s, L(7, 23, 7, 31), "unknown-field",
	         "unknown field '%s'; did you mean '%s'?", "employes",
	         "employees");
	expect_text(&d, false,
		"rules/acme.routes:7:23: error: unknown field 'employes'; "
		"did you mean 'employees'? [unknown-field]\n"
		"    7 | when country = US and employes > 200 -> enterprise_us\n"
		"      |                       ^~~~~~~~\n");
	assert_int_equal(d.n, 1);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.n_warnings, 0);
	diags_free(&d);
	source_free(s);
}

static void test_single_column_and_line_end(void **state)
{
	(void)state;
	struct source *s = src_of("p.routes", "when a =\n");
	struct diags d;

	diags_init(&d);
	diag_add(&d, DIAG_ERROR, s, L(1, 6, 1, 7), "syntax", "one");
	diag_add(&d, DIAG_ERROR, s, L(1, 6, 0, 0), "syntax", "point");
	diag_add(&d, DIAG_ERROR, s, L(1, 9, 1, 10), "syntax", "at the end");
	diag_add(&d, DIAG_ERROR, s, L(1, 20, 1, 25), "syntax", "past the end");
	diag_add(&d, DIAG_ERROR, s, L(1, 6, 1, 40), "syntax", "long span");
	expect_text(&d, false,
		"p.routes:1:6: error: one [syntax]\n"
		"    1 | when a =\n"
		"      |      ^\n"
		"p.routes:1:6: error: point [syntax]\n"
		"    1 | when a =\n"
		"      |      ^\n"
		"p.routes:1:9: error: at the end [syntax]\n"
		"    1 | when a =\n"
		"      |         ^\n"
		"p.routes:1:20: error: past the end [syntax]\n"
		"    1 | when a =\n"
		"      |         ^\n"
		"p.routes:1:6: error: long span [syntax]\n"
		"    1 | when a =\n"
		"      |      ^~~\n");
	diags_free(&d);
	source_free(s);
}

static void test_tab(void **state)
{
	(void)state;
	struct source *s = src_of("t.routes", "\twhen x = 1\na\tb = 1\nx\ty\n");
	struct diags d;

	diags_init(&d);
	/* A tab before the caret stays a tab. */
	diag_add(&d, DIAG_ERROR, s, L(1, 7, 1, 8), "c", "after a tab");
	/* A tab inside the span gets as many '~' as the cells it takes: the
	 * gutter is 8 cells, 'a' takes one, the tab runs to cell 16. */
	diag_add(&d, DIAG_ERROR, s, L(2, 1, 2, 4), "c", "over a tab");
	/* A caret on a tab alone is one '^'. */
	diag_add(&d, DIAG_ERROR, s, L(3, 2, 3, 3), "c", "on a tab");
	expect_text(&d, false,
		"t.routes:1:7: error: after a tab [c]\n"
		"    1 | \twhen x = 1\n"
		"      | \t     ^\n"
		"t.routes:2:1: error: over a tab [c]\n"
		"    2 | a\tb = 1\n"
		"      | ^~~~~~~~~\n"
		"t.routes:3:2: error: on a tab [c]\n"
		"    3 | x\ty\n"
		"      |  ^\n");
	diags_free(&d);
	source_free(s);
}

static void test_multi_line_span(void **state)
{
	(void)state;
	struct source *s = src_of("m.routes",
		"when a = 1\r\n  and b = 2 -> q\r\n");
	struct diags d;

	diags_init(&d);
	diag_add(&d, DIAG_ERROR, s, L(1, 6, 2, 12), "span", "spans lines");
	/* The '\r' of CRLF is not echoed, and the span stops at the line end. */
	expect_text(&d, false,
		"m.routes:1:6: error: spans lines [span]\n"
		"    1 | when a = 1\n"
		"      |      ^~~~~\n");
	diags_free(&d);
	source_free(s);
}

static void test_note(void **state)
{
	(void)state;
	struct source *s = src_of("n.routes",
		"when a = 1 -> x\nwhen a = 1 -> y\n");
	struct diags d;

	diags_init(&d);
	struct diag *g = diag_add(&d, DIAG_WARNING, s, L(2, 1, 2, 5),
	                          "shadowed-rule", "rule never matches");
	assert_non_null(g);
	diag_note(g, L(1, 1, 1, 5), "shadowed by rule %d", 1);
	diag_note(g, NOWHERE, "rules are tried in order");
	assert_int_equal(g->n_notes, 2);
	assert_string_equal(g->notes[0].message, "shadowed by rule 1");
	expect_text(&d, false,
		"n.routes:2:1: warning: rule never matches [shadowed-rule]\n"
		"    2 | when a = 1 -> y\n"
		"      | ^~~~\n"
		"n.routes:1:1: note: shadowed by rule 1\n"
		"    1 | when a = 1 -> x\n"
		"      | ^~~~\n"
		"n.routes: note: rules are tried in order\n");
	assert_int_equal(d.n_warnings, 1);
	assert_int_equal(d.n_errors, 0);
	diags_free(&d);
	source_free(s);
}

static void test_no_location(void **state)
{
	(void)state;
	struct source *s = src_of("f.routes", "when a = 1\n");
	struct diags d;

	diags_init(&d);
	struct diag *g = diag_add(&d, DIAG_ERROR, NULL, NOWHERE, "io-error",
		"cannot read '%s': %s", "x.routes", "No such file or directory");
	diag_note(g, NOWHERE, "give a file");
	diag_add(&d, DIAG_WARNING, s, NOWHERE, "empty-file", "no rules");
	/* A line that does not exist: the header only. */
	diag_add(&d, DIAG_ERROR, s, L(9, 1, 9, 2), "eof", "past the end");
	/* No column: the line, but no caret. */
	diag_add(&d, DIAG_ERROR, s, L(1, 0, 0, 0), "c", "somewhere");
	diag_add(&d, DIAG_NOTE, s, L(1, 1, 1, 5), NULL, "no code");
	expect_text(&d, false,
		"routec: error: cannot read 'x.routes': No such file or "
		"directory [io-error]\n"
		"routec: note: give a file\n"
		"f.routes: warning: no rules [empty-file]\n"
		"f.routes:9:1: error: past the end [eof]\n"
		"f.routes:1: error: somewhere [c]\n"
		"    1 | when a = 1\n"
		"f.routes:1:1: note: no code\n"
		"    1 | when a = 1\n"
		"      | ^~~~\n");
	assert_int_equal(d.n_errors, 3);
	assert_int_equal(d.n_warnings, 1);
	diags_free(&d);
	source_free(s);
}

static void test_unsafe_bytes(void **state)
{
	(void)state;
	/* ESC, a byte that is not UTF-8, 'é' (2 bytes), DEL, then 'y';
	 * a wide character; a right-to-left override (U+202E). */
	struct source *s = src_of("u\x1b.routes",
		"x\x1b\xff\xc3\xa9\x7fy\n"
		"\xe4\xb8\xadx\n"
		"a\xe2\x80\xae" "b\n");
	struct diags d;

	diags_init(&d);
	diag_add(&d, DIAG_ERROR, s, L(1, 7, 1, 8), "c\x07",
	         "bad \x1b[2J%s", "name\n\xfe");
	diag_add(&d, DIAG_ERROR, s, L(1, 2, 1, 7), "c", "span");
	diag_add(&d, DIAG_ERROR, s, L(2, 4, 2, 5), "c", "wide");
	diag_add(&d, DIAG_ERROR, s, L(2, 1, 2, 5), "c", "wide span");
	diag_add(&d, DIAG_ERROR, s, L(3, 5, 3, 6), "c", "bidi");
	expect_text(&d, false,
		"u .routes:1:7: error: bad  [2Jname ? [c ]\n"
		"    1 | x ?\xc3\xa9 y\n"
		"      |      ^\n"
		"u .routes:1:2: error: span [c]\n"
		"    1 | x ?\xc3\xa9 y\n"
		"      |  ^~~~\n"
		"u .routes:2:4: error: wide [c]\n"
		"    2 | \xe4\xb8\xadx\n"
		"      |   ^\n"
		"u .routes:2:1: error: wide span [c]\n"
		"    2 | \xe4\xb8\xadx\n"
		"      | ^~~\n"
		"u .routes:3:5: error: bidi [c]\n"
		"    3 | a?b\n"
		"      |   ^\n");
	diags_free(&d);
	source_free(s);
}

static void test_gutter_width(void **state)
{
	(void)state;
	struct buf text = {0};

	for (int i = 1; i < 12345; i++)
		buf_addc(&text, '\n');
	buf_adds(&text, "xy\n");
	struct source *s = source_from_mem("g.routes", text.data, text.len);
	buf_free(&text);
	struct diags d;

	diags_init(&d);
	diag_add(&d, DIAG_ERROR, s, L(12345, 1, 12345, 3), "c", "wide gutter");
	expect_text(&d, false,
		"g.routes:12345:1: error: wide gutter [c]\n"
		" 12345 | xy\n"
		"       | ^~\n");
	diags_free(&d);
	source_free(s);
}

static void test_color(void **state)
{
	(void)state;
	struct source *s = src_of("c.routes", "when a = 1\n");
	struct diags d;

	diags_init(&d);
	struct diag *g = diag_add(&d, DIAG_ERROR, s, L(1, 6, 1, 7), "code",
	                          "msg");
	diag_note(g, NOWHERE, "see");
	diag_add(&d, DIAG_WARNING, s, L(1, 1, 1, 5), "w", "warn");
	expect_text(&d, true,
		"\33[01m\33[Kc.routes:1:6:\33[m\33[K \33[01;31m\33[Kerror: "
		"\33[m\33[Kmsg [\33[01;31m\33[Kcode\33[m\33[K]\n"
		"    1 | when a = 1\n"
		"      |      \33[01;32m\33[K^\33[m\33[K\n"
		"\33[01m\33[Kc.routes:\33[m\33[K \33[01;36m\33[Knote: "
		"\33[m\33[Ksee\n"
		"\33[01m\33[Kc.routes:1:1:\33[m\33[K \33[01;35m\33[Kwarning: "
		"\33[m\33[Kwarn [\33[01;35m\33[Kw\33[m\33[K]\n"
		"    1 | when a = 1\n"
		"      | \33[01;32m\33[K^~~~\33[m\33[K\n");
	diags_free(&d);
	source_free(s);
}

static void test_copies_strings(void **state)
{
	(void)state;
	char code[] = "my-code", arg[] = "value";
	struct diags d;

	diags_init(&d);
	struct diag *g = diag_add(&d, DIAG_ERROR, NULL, NOWHERE, code,
	                          "got %s", arg);
	code[0] = 'X';
	arg[0] = 'X';
	assert_string_equal(g->code, "my-code");
	assert_string_equal(g->message, "got value");
	assert_int_equal(g->severity, DIAG_ERROR);
	assert_null(g->src);
	diags_free(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.v);
	assert_int_equal(d.n_errors, 0);

	/* Reusable after diags_free. */
	diag_add(&d, DIAG_WARNING, NULL, NOWHERE, NULL, "again");
	expect_text(&d, false, "routec: warning: again\n");
	diags_free(&d);
}

/* ---- JSON ---- */

/* Parse strictly, as valid UTF-8, and require the whole output to be one
 * value followed by a newline. */
static json_object *parse(const char *s)
{
	struct json_tokener *tok = json_tokener_new();
	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                       JSON_TOKENER_VALIDATE_UTF8);
	size_t len = strlen(s);
	json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	assert_true(len >= 2 && s[len - 1] == '\n');
	assert_true(json_tokener_get_parse_end(tok) >= len - 1);
	json_tokener_free(tok);
	return o;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	assert_true(json_object_is_type(o, json_type_object));
	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static json_object *at(json_object *a, size_t i)
{
	assert_true(json_object_is_type(a, json_type_array));
	assert_true(i < json_object_array_length(a));
	return json_object_array_get_idx(a, i);
}

static size_t count(json_object *a)
{
	assert_true(json_object_is_type(a, json_type_array));
	return json_object_array_length(a);
}

static const char *gstr(json_object *o, const char *key)
{
	json_object *v = get(o, key);
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static int gint(json_object *o, const char *key)
{
	json_object *v = get(o, key);
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int(v);
}

static void gnull(json_object *o, const char *key)
{
	assert_null(get(o, key));
}

static void test_json(void **state)
{
	(void)state;
	struct source *s = src_of("j/\"q\".routes", "when a = 1\n");
	struct diags d;

	diags_init(&d);
	struct diag *g = diag_add(&d, DIAG_ERROR, s, L(1, 6, 1, 7),
	                          "unknown-field", "unknown field 'a'");
	diag_note(g, L(1, 1, 1, 5), "in this rule");
	diag_note(g, NOWHERE, "fields are listed in doc/language.md");
	diag_add(&d, DIAG_WARNING, NULL, NOWHERE, NULL,
	         "bad \xff byte and \x1b");

	char *out = render(&d, DIAG_JSON, false);
	json_object *root = parse(out);
	assert_int_equal(count(root), 2);

	json_object *e = at(root, 0);
	assert_string_equal(gstr(e, "file"), "j/\"q\".routes");
	assert_int_equal(gint(e, "line"), 1);
	assert_int_equal(gint(e, "column"), 6);
	assert_int_equal(gint(e, "end_line"), 1);
	assert_int_equal(gint(e, "end_column"), 7);
	assert_string_equal(gstr(e, "severity"), "error");
	assert_string_equal(gstr(e, "code"), "unknown-field");
	assert_string_equal(gstr(e, "message"), "unknown field 'a'");
	json_object *notes = get(e, "notes");
	assert_int_equal(count(notes), 2);
	assert_string_equal(gstr(at(notes, 0), "file"), "j/\"q\".routes");
	assert_int_equal(gint(at(notes, 0), "line"), 1);
	assert_int_equal(gint(at(notes, 0), "column"), 1);
	assert_string_equal(gstr(at(notes, 0), "message"), "in this rule");
	gnull(at(notes, 1), "line");
	gnull(at(notes, 1), "column");
	assert_string_equal(gstr(at(notes, 1), "message"),
	                    "fields are listed in doc/language.md");

	json_object *w = at(root, 1);
	gnull(w, "file");
	gnull(w, "line");
	gnull(w, "column");
	gnull(w, "end_line");
	gnull(w, "end_column");
	gnull(w, "code");
	assert_string_equal(gstr(w, "severity"), "warning");
	/* Not UTF-8: replaced; a control character: escaped by JSON. */
	assert_string_equal(gstr(w, "message"), "bad ? byte and \x1b");
	assert_int_equal(count(get(w, "notes")), 0);

	json_object_put(root);
	free(out);

	/* No diagnostics: an empty array. */
	struct diags none;
	diags_init(&none);
	out = render(&none, DIAG_JSON, false);
	root = parse(out);
	assert_int_equal(count(root), 0);
	json_object_put(root);
	free(out);

	diags_free(&d);
	source_free(s);
}

/* ---- SARIF ---- */

static json_object *region_of(json_object *location)
{
	return get(get(location, "physicalLocation"), "region");
}

static void test_sarif(void **state)
{
	(void)state;
	/* 'é' is two bytes: byte column 8 is code point column 7. */
	struct source *s = src_of("dir/my rules.routes",
		"when a = 1 -> q\n\xc3\xa9 = 1 x\n");
	struct diags d;

	diags_init(&d);
	struct diag *g = diag_add(&d, DIAG_ERROR, s, L(2, 8, 2, 9),
	                          "unknown-field", "unknown field 'x'");
	diag_note(g, L(1, 6, 1, 7), "compare with this");
	diag_note(g, NOWHERE, "no place");
	diag_add(&d, DIAG_WARNING, s, L(1, 1, 2, 4), "shadowed-rule", "shadow");
	diag_add(&d, DIAG_NOTE, s, L(1, 1, 1, 5), "unknown-field", "again");
	diag_add(&d, DIAG_ERROR, NULL, NOWHERE, "io-error", "no file");

	char *out = render(&d, DIAG_SARIF, false);
	json_object *root = parse(out);
	assert_string_equal(gstr(root, "version"), "2.1.0");
	assert_string_equal(gstr(root, "$schema"),
	                    "https://json.schemastore.org/sarif-2.1.0.json");
	assert_int_equal(count(get(root, "runs")), 1);
	json_object *run = at(get(root, "runs"), 0);
	assert_string_equal(gstr(run, "columnKind"), "unicodeCodePoints");
	json_object *driver = get(get(run, "tool"), "driver");
	assert_string_equal(gstr(driver, "name"), "routec");
	json_object *rules = get(driver, "rules");
	assert_int_equal(count(rules), 3);
	assert_string_equal(gstr(at(rules, 0), "id"), "unknown-field");
	assert_string_equal(gstr(at(rules, 1), "id"), "shadowed-rule");
	assert_string_equal(gstr(at(rules, 2), "id"), "io-error");

	json_object *results = get(run, "results");
	assert_int_equal(count(results), 4);

	json_object *r = at(results, 0);
	assert_string_equal(gstr(r, "ruleId"), "unknown-field");
	assert_int_equal(gint(r, "ruleIndex"), 0);
	assert_string_equal(gstr(r, "level"), "error");
	assert_string_equal(gstr(get(r, "message"), "text"),
	                    "unknown field 'x'");
	assert_int_equal(count(get(r, "locations")), 1);
	json_object *loc = at(get(r, "locations"), 0);
	assert_string_equal(gstr(get(get(loc, "physicalLocation"),
	                             "artifactLocation"), "uri"),
	                    "dir/my%20rules.routes");
	json_object *reg = region_of(loc);
	assert_int_equal(gint(reg, "startLine"), 2);
	assert_int_equal(gint(reg, "startColumn"), 7);
	assert_int_equal(gint(reg, "endLine"), 2);
	assert_int_equal(gint(reg, "endColumn"), 8);
	json_object *rel = get(r, "relatedLocations");
	assert_int_equal(count(rel), 2);
	assert_int_equal(gint(at(rel, 0), "id"), 0);
	assert_string_equal(gstr(get(at(rel, 0), "message"), "text"),
	                    "compare with this");
	reg = region_of(at(rel, 0));
	assert_int_equal(gint(reg, "startLine"), 1);
	assert_int_equal(gint(reg, "startColumn"), 6);
	assert_int_equal(gint(reg, "endColumn"), 7);
	assert_int_equal(gint(at(rel, 1), "id"), 1);
	assert_false(has(at(rel, 1), "physicalLocation"));
	assert_string_equal(gstr(get(at(rel, 1), "message"), "text"),
	                    "no place");

	r = at(results, 1);
	assert_string_equal(gstr(r, "ruleId"), "shadowed-rule");
	assert_int_equal(gint(r, "ruleIndex"), 1);
	assert_string_equal(gstr(r, "level"), "warning");
	reg = region_of(at(get(r, "locations"), 0));
	assert_int_equal(gint(reg, "startLine"), 1);
	assert_int_equal(gint(reg, "startColumn"), 1);
	assert_int_equal(gint(reg, "endLine"), 2);
	assert_int_equal(gint(reg, "endColumn"), 3);
	assert_false(has(r, "relatedLocations"));

	r = at(results, 2);
	assert_string_equal(gstr(r, "ruleId"), "unknown-field");
	assert_int_equal(gint(r, "ruleIndex"), 0);
	assert_string_equal(gstr(r, "level"), "note");

	r = at(results, 3);
	assert_string_equal(gstr(r, "ruleId"), "io-error");
	assert_string_equal(gstr(r, "level"), "error");
	assert_false(has(r, "locations"));

	json_object_put(root);
	free(out);
	diags_free(&d);
	source_free(s);
}

/* ---- max_errors ---- */

static void test_max_errors(void **state)
{
	(void)state;
	struct source *s = src_of("x.routes", "a\n");
	struct diags d;

	diags_init(&d);
	d.max_errors = 2;
	diag_add(&d, DIAG_ERROR, s, L(1, 1, 1, 2), "e", "e1");
	diag_add(&d, DIAG_WARNING, s, L(1, 1, 1, 2), "w", "w1");
	diag_add(&d, DIAG_ERROR, s, L(1, 1, 1, 2), "e", "e2");
	struct diag *g = diag_add(&d, DIAG_ERROR, s, L(1, 1, 1, 2), "e", "e3");
	/* Dropped, but still usable for notes. */
	assert_non_null(g);
	assert_string_equal(g->message, "e3");
	diag_note(g, L(1, 1, 1, 2), "note on a dropped error");
	diag_add(&d, DIAG_ERROR, s, L(1, 1, 1, 2), "e", "e4");
	diag_add(&d, DIAG_WARNING, s, L(1, 1, 1, 2), "w", "w2");

	assert_int_equal(d.n, 4);
	assert_int_equal(d.n_errors, 4);
	assert_int_equal(d.n_warnings, 2);
	assert_int_equal(d.n_dropped, 2);
	assert_string_equal(d.v[0].message, "e1");
	assert_string_equal(d.v[1].message, "w1");
	assert_string_equal(d.v[2].message, "e2");
	assert_string_equal(d.v[3].message, "w2");

	expect_text(&d, false,
		"x.routes:1:1: error: e1 [e]\n    1 | a\n      | ^\n"
		"x.routes:1:1: warning: w1 [w]\n    1 | a\n      | ^\n"
		"x.routes:1:1: error: e2 [e]\n    1 | a\n      | ^\n"
		"x.routes:1:1: warning: w2 [w]\n    1 | a\n      | ^\n"
		"routec: 2 more errors not shown\n");

	/* Only text mode mentions them. */
	char *out = render(&d, DIAG_JSON, false);
	json_object *root = parse(out);
	assert_int_equal(count(root), 4);
	assert_null(strstr(out, "not shown"));
	json_object_put(root);
	free(out);
	out = render(&d, DIAG_SARIF, false);
	root = parse(out);
	assert_int_equal(count(get(at(get(root, "runs"), 0), "results")), 4);
	json_object_put(root);
	free(out);
	diags_free(&d);

	diags_init(&d);
	d.max_errors = 1;
	diag_add(&d, DIAG_ERROR, NULL, NOWHERE, "e", "first");
	diag_add(&d, DIAG_ERROR, NULL, NOWHERE, "e", "second");
	expect_text(&d, false,
		"routec: error: first [e]\n"
		"routec: 1 more error not shown\n");
	diags_free(&d);

	/* 0 means no limit. */
	diags_init(&d);
	for (int i = 0; i < 50; i++)
		diag_add(&d, DIAG_ERROR, NULL, NOWHERE, "e", "n%d", i);
	assert_int_equal(d.n, 50);
	assert_int_equal(d.n_dropped, 0);
	diags_free(&d);
	source_free(s);
}

/* ---- sorting ---- */

static void test_sort_stable(void **state)
{
	(void)state;
	struct source *a = src_of("a.routes", "x\n");
	struct source *a2 = src_of("a.routes", "y\n");  /* same name */
	struct source *b = src_of("b.routes", "x\n");
	struct diags d;

	diags_init(&d);
	diag_add(&d, DIAG_ERROR, b, L(3, 1, 3, 2), "c", "b3");
	diag_add(&d, DIAG_ERROR, a, L(5, 2, 5, 3), "c", "a5-first");
	diag_add(&d, DIAG_WARNING, NULL, NOWHERE, "c", "nofile");
	diag_add(&d, DIAG_ERROR, a2, L(5, 2, 5, 3), "c", "a5-second");
	diag_add(&d, DIAG_ERROR, a, L(1, 9, 1, 10), "c", "a1");
	diag_add(&d, DIAG_ERROR, b, L(3, 1, 3, 2), "c", "b3-second");
	diag_add(&d, DIAG_ERROR, a, NOWHERE, "c", "a-file");
	diag_add(&d, DIAG_ERROR, a, L(5, 1, 5, 2), "c", "a5c1");
	diag_add(&d, DIAG_ERROR, a, L(5, 2, 5, 9), "c", "a5-third");
	diag_add(&d, DIAG_ERROR, NULL, NOWHERE, "c", "nofile-second");
	diags_sort(&d);

	static const char *const want[] = {
		"nofile", "nofile-second", "a-file", "a1", "a5c1",
		"a5-first", "a5-second", "a5-third", "b3", "b3-second",
	};
	assert_int_equal(d.n, sizeof want / sizeof *want);
	for (size_t i = 0; i < d.n; i++)
		assert_string_equal(d.v[i].message, want[i]);
	diags_free(&d);

	/* Many equal keys: order within a key is the order of adding. */
	diags_init(&d);
	for (int i = 0; i < 1000; i++)
		diag_add(&d, DIAG_ERROR, a, L(7 - (i * 7919) % 7, 1, 0, 0),
		         "c", "%d", i);
	diags_sort(&d);
	for (size_t i = 1; i < d.n; i++) {
		int l0 = d.v[i - 1].loc.line, l1 = d.v[i].loc.line;
		assert_true(l0 <= l1);
		if (l0 == l1)
			assert_true(atoi(d.v[i - 1].message) <
			            atoi(d.v[i].message));
	}
	diags_free(&d);

	/* Empty and single lists. */
	diags_init(&d);
	diags_sort(&d);
	diag_add(&d, DIAG_ERROR, a, L(1, 1, 0, 0), "c", "only");
	diags_sort(&d);
	assert_string_equal(d.v[0].message, "only");
	diags_free(&d);

	source_free(a);
	source_free(a2);
	source_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caret_span),
		cmocka_unit_test(test_single_column_and_line_end),
		cmocka_unit_test(test_tab),
		cmocka_unit_test(test_multi_line_span),
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_no_location),
		cmocka_unit_test(test_unsafe_bytes),
		cmocka_unit_test(test_gutter_width),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_copies_strings),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_sarif),
		cmocka_unit_test(test_max_errors),
		cmocka_unit_test(test_sort_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
