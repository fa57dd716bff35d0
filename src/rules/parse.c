/* parse - run the flex scanner and bison parser over one source.
 *
 * Checks the bytes first (UTF-8, no NUL), because the scanner works on
 * bytes and a location in a mangled file would point at the wrong place.
 * Never returns NULL and never leaves the scanner allocated.
 */
#include "rules/parse.h"

#include <stdint.h>
#include <string.h>

#include "parse_ctx.h"
#include "routes_parse.h"

/* The few flex functions used here (automake cannot make flex's header). */
typedef void *yyscan_t;
int routes_flex_lex_init_extra(struct parse_ctx *extra, yyscan_t *scanner);
int routes_flex_lex_destroy(yyscan_t scanner);
void *routes_flex__scan_bytes(const char *bytes, int len, yyscan_t scanner);

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	else if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; }
	else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; }
	else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; }
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Report each bad byte (at most 10); returns the number found. */
static size_t check_bytes(const struct source *src, struct diags *d)
{
	size_t bad = 0;
	int line = 1, col = 1;
	const unsigned char *p = (const unsigned char *)src->text;
	for (size_t i = 0; i < src->len;) {
		size_t n = p[i] ? utf8_seq(p + i, src->len - i) : 0;
		if (n == 0) {
			if (bad < 10) {
				struct loc at = { line, col, line, col + 1 };
				if (p[i] == 0)
					diag_add(d, DIAG_ERROR, src, at, "invalid-byte",
					         "NUL byte in rules file");
				else
					diag_add(d, DIAG_ERROR, src, at, "invalid-utf8",
					         "byte 0x%02x is not valid UTF-8; save the file as UTF-8", p[i]);
			}
			bad++;
			i++;
			col++;
			continue;
		}
		if (p[i] == '\n') {
			line++;
			col = 1;
		} else {
			col += (int)n;
		}
		i += n;
	}
	return bad;
}

struct program *routes_parse(const struct source *src, struct diags *d)
{
	struct program *prog = program_new();
	if (check_bytes(src, d) > 0)
		return prog;
	if (src->len > SOURCE_MAX_BYTES) {
		diag_add(d, DIAG_ERROR, src, (struct loc){0}, "too-large",
		         "rules file larger than %u bytes", SOURCE_MAX_BYTES);
		return prog;
	}
	struct parse_ctx ctx = { .prog = prog, .diags = d, .src = src, .line = 1, .col = 1 };
	yyscan_t scanner;
	if (routes_flex_lex_init_extra(&ctx, &scanner) != 0) {
		diag_add(d, DIAG_ERROR, src, (struct loc){0}, "internal",
		         "cannot start the scanner");
		return prog;
	}
	ctx.scanner = scanner;
	routes_flex__scan_bytes(src->text, (int)src->len, scanner);
	routes_yyparse(scanner, &ctx);
	routes_flex_lex_destroy(scanner);
	return prog;
}
