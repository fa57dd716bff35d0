/* source - read a rules file (or standard input) into memory, whole, and
 * index where each line starts.
 * Must never read more than SOURCE_MAX_BYTES (plus the one byte that proves
 * a file too large), never change the bytes it read, and never print: errors
 * go back to the caller as text naming the file.
 */
#include "rules/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

/* Bytes asked for per read() when the size is not known in advance. */
#define READ_CHUNK (64u * 1024u)

/* Fill s->line_start and s->n_lines from s->text.  A line ends at '\n'; the
 * last line needs no '\n'; an empty text has no lines. */
static void build_line_map(struct source *s)
{
	size_t n = 0;
	const char *p = s->text, *end = s->text + s->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	s->n_lines = n;
	s->line_start = xcalloc(n ? n : 1, sizeof *s->line_start);

	size_t i = 0;
	p = s->text;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		s->line_start[i++] = (size_t)(p - s->text);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* Take ownership of text (len bytes, NUL-terminated) and build the source. */
static struct source *source_new(const char *name, char *text, size_t len)
{
	struct source *s = xcalloc(1, sizeof *s);

	s->name = xstrdup(name);
	s->text = text;
	s->len = len;
	build_line_map(s);
	return s;
}

struct source *source_from_mem(const char *name, const char *text, size_t len)
{
	char *copy = xmalloc(len + 1);

	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	return source_new(name, copy, len);
}

static void set_err(char *err, size_t errlen, const char *what,
                    const char *path, const char *why)
{
	if (!err || !errlen)
		return;
	if (what)
		snprintf(err, errlen, "cannot read %s: %s", what, why);
	else
		snprintf(err, errlen, "cannot read '%s': %s", path, why);
}

static void set_too_large(char *err, size_t errlen, const char *what,
                          const char *path)
{
	char why[96];

	snprintf(why, sizeof why, "larger than the limit of %u bytes (%u MiB)",
	         (unsigned)SOURCE_MAX_BYTES,
	         (unsigned)(SOURCE_MAX_BYTES / (1024u * 1024u)));
	set_err(err, errlen, what, path, why);
}

/* Read all of fd, at most SOURCE_MAX_BYTES.  hint is the expected size (0
 * when unknown).  Returns the NUL-terminated bytes, or NULL with *errnum set
 * (EFBIG when the limit is passed). */
static char *read_all(int fd, size_t hint, size_t *lenp, int *errnum)
{
	const size_t most = (size_t)SOURCE_MAX_BYTES + 2; /* limit + 1, NUL */
	size_t cap = hint ? hint + 2 : READ_CHUNK, len = 0;

	if (cap > most)
		cap = most;
	char *data = xmalloc(cap);

	for (;;) {
		if (len + 1 >= cap) {
			cap = cap > most / 2 ? most : cap * 2;
			data = xrealloc(data, cap);
		}
		/* Leave room for the NUL, and never ask for more than one
		 * byte past the limit. */
		size_t room = cap - len - 1;
		size_t left = (size_t)SOURCE_MAX_BYTES + 1 - len;
		if (room > left)
			room = left;

		ssize_t r = read(fd, data + len, room);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*errnum = errno;
			free(data);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SOURCE_MAX_BYTES) {
			*errnum = EFBIG;
			free(data);
			return NULL;
		}
	}
	data[len] = '\0';
	*lenp = len;
	return data;
}

struct source *source_read(const char *path, char *err, size_t errlen)
{
	int is_stdin = strcmp(path, "-") == 0;
	const char *what = is_stdin ? "standard input" : NULL;
	int fd = is_stdin ? STDIN_FILENO
	                  : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		set_err(err, errlen, what, path, strerror(errno));
		return NULL;
	}

	struct stat st;
	size_t hint = 0;
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			set_err(err, errlen, what, path, strerror(EISDIR));
			goto fail;
		}
		if (S_ISREG(st.st_mode)) {
			if (st.st_size > (off_t)SOURCE_MAX_BYTES) {
				set_too_large(err, errlen, what, path);
				goto fail;
			}
			hint = (size_t)st.st_size;
		}
	}

	size_t len = 0;
	int errnum = 0;
	char *text = read_all(fd, hint, &len, &errnum);
	if (!text) {
		if (errnum == EFBIG)
			set_too_large(err, errlen, what, path);
		else
			set_err(err, errlen, what, path, strerror(errnum));
		goto fail;
	}
	if (!is_stdin)
		close(fd);
	return source_new(path, text, len);

fail:
	if (!is_stdin)
		close(fd);
	return NULL;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->text);
	free(s->line_start);
	free(s);
}

const char *source_line(const struct source *s, int n, size_t *len)
{
	if (!s || n < 1 || (size_t)n > s->n_lines) {
		if (len)
			*len = 0;
		return NULL;
	}
	size_t start = s->line_start[n - 1];
	size_t end = (size_t)n < s->n_lines ? s->line_start[n] : s->len;

	/* Every line but possibly the last ends with '\n'; a '\r' just before
	 * it belongs to the line end, a '\r' anywhere else to the text. */
	if (end > start && s->text[end - 1] == '\n') {
		end--;
		if (end > start && s->text[end - 1] == '\r')
			end--;
	}
	if (len)
		*len = end - start;
	return s->text + start;
}
