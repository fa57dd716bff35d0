/* parse_ctx - what the flex scanner and the bison parser share.
 *
 * Private to grammar/: the position tracking lives here rather than in
 * flex's yylineno/yycolumn (which need a buffer before scanning starts).
 * Never used outside the grammar.
 */
#ifndef LR_PARSE_CTX_H
#define LR_PARSE_CTX_H

#include "rules/ast.h"
#include "rules/diag.h"

struct parse_ctx {
	struct program *prog;
	struct diags *diags;
	const struct source *src;
	int line, col;           /* position of the next byte to scan */
	struct loc prev;         /* the last token returned */
	struct loc cur;          /* the token being returned */
	int nesting;             /* depth of the condition being built */
	void *scanner;           /* yyscan_t */
};

#endif
