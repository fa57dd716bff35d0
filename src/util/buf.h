/* buf - a growable byte string, always NUL-terminated.
 *
 * A struct buf owns its bytes; buf_free releases them, buf_take hands them to
 * the caller.  A zeroed struct buf is an empty, valid buffer.
 * Never holds a pointer into another buffer.
 */
#ifndef LR_BUF_H
#define LR_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* NUL-terminated; NULL while empty and never grown */
	size_t len;   /* bytes used, not counting the NUL */
	size_t cap;   /* bytes allocated */
};

void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. */
void buf_add_json_str(struct buf *b, const char *s);
/* Append s escaped for HTML text and attribute values. */
void buf_add_html(struct buf *b, const char *s);
void buf_reset(struct buf *b);                 /* len = 0, keeps memory */
const char *buf_str(const struct buf *b);      /* "" when empty; borrowed */
char *buf_take(struct buf *b);                 /* caller frees; b is emptied */
void buf_free(struct buf *b);

#endif
