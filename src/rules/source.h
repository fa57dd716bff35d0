/* source - a rules file held in memory, with its line map.
 *
 * A struct source owns a copy of the file's bytes and the name it was read
 * under; diagnostics point into it by line and column.  It never changes the
 * bytes it holds (no normalization of line ends or encoding).
 */
#ifndef LR_SOURCE_H
#define LR_SOURCE_H

#include <stddef.h>

/* A span in a source: 1-based line and column (columns count bytes), the
 * end column exclusive.  line 0 means "no location". */
struct loc {
	int line, col;
	int end_line, end_col;
};

struct source {
	char *name;          /* as given on the command line; owned */
	char *text;          /* the bytes, NUL-terminated (may hold other NULs) */
	size_t len;          /* bytes in text, not counting the final NUL */
	size_t *line_start;  /* byte offset of each line's first byte; owned */
	size_t n_lines;
};

/* Largest rules file read, in bytes (doc/language.md, "Limits"). */
#define SOURCE_MAX_BYTES (16u * 1024u * 1024u)

/* Read a file (or standard input when path is "-"; the name stays "-").
 * Returns NULL and fills err (errlen bytes, always terminated; err may be
 * NULL) with a message naming the file on failure:
 *   cannot read 'x.routes': No such file or directory
 *   cannot read 'x.routes': larger than the limit of 16777216 bytes (16 MiB)
 *   cannot read standard input: ...
 * Caller frees with source_free. */
struct source *source_read(const char *path, char *err, size_t errlen);
/* Copy len bytes into a new source called name (text may be NULL when len
 * is 0).  Caller frees; source_free(NULL) does nothing. */
struct source *source_from_mem(const char *name, const char *text, size_t len);
void source_free(struct source *s);
/* The text of line n (1-based) without its line end; *len gets its length
 * (len may be NULL).  Lines end at '\n'; a '\r' just before it is part of
 * the line end, any other '\r' part of the text.  The last line needs no
 * '\n', and a final '\n' does not start another line (an empty text has no
 * lines).  Returns NULL (and *len 0) for a line that does not exist.
 * Borrowed from s. */
const char *source_line(const struct source *s, int n, size_t *len);

#endif
