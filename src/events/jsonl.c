/* jsonl - the JSON-lines sink (jsonl.h).
 * Must never report a batch taken before fdatasync returned, never append
 * an event whose id the file's last line already reached, and never write
 * anywhere but the end of the file (only a torn last line is cut off).
 */
#include "events/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define TAIL_MAX (16 << 20)   /* a last line longer than this is not looked for */

struct jsonl {
	char *path;
};

int jsonl_last_id(int fd, int64_t *last_id, int64_t *end, char *err, size_t errlen)
{
	*last_id = 0;
	*end = 0;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "events file: cannot stat it: %s", strerror(errno));
		return -1;
	}
	int64_t size = st.st_size;
	if (size == 0)
		return 0;
	int64_t chunk = size < 65536 ? size : 65536;
	char *buf = NULL;
	for (;;) {
		buf = xrealloc(buf, (size_t)chunk);
		int64_t from = size - chunk;
		ssize_t got = pread(fd, buf, (size_t)chunk, from);
		if (got != chunk) {
			snprintf(err, errlen, "events file: cannot read its end: %s",
			         got < 0 ? strerror(errno) : "short read");
			free(buf);
			return -1;
		}
		/* the last newline ends the last complete line */
		int64_t nl = chunk - 1;
		while (nl >= 0 && buf[nl] != '\n')
			nl--;
		int64_t start = nl - 1;
		while (start >= 0 && buf[start] != '\n')
			start--;
		bool whole = (nl >= 0 && start >= 0) || from == 0;
		if (!whole && chunk < size && chunk < TAIL_MAX) {
			chunk = chunk * 2 < size ? chunk * 2 : size;
			continue;
		}
		if (!whole) {
			snprintf(err, errlen, "events file: its last line is longer than %d bytes",
			         TAIL_MAX);
			free(buf);
			return -1;
		}
		*end = nl >= 0 ? from + nl + 1 : 0;
		if (nl > 0) {
			buf[nl] = '\0';
			struct json_object *o = json_tokener_parse(buf + start + 1);
			struct json_object *id;
			if (o && json_object_object_get_ex(o, "id", &id) &&
			    json_object_is_type(id, json_type_int))
				*last_id = json_object_get_int64(id);
			json_object_put(o);
		}
		free(buf);
		return 0;
	}
}

char *jsonl_line(const struct sink_event *ev)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(ev->id));
	json_object_object_add(o, "type", json_object_new_string(ev->type));
	json_object_object_add(o, "lead_id", ev->lead_id ? json_object_new_string(ev->lead_id)
	                                                 : NULL);
	json_object_object_add(o, "at_ms", json_object_new_int64(ev->at_ms));
	char at[40];
	time_t t = (time_t)(ev->at_ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm)) {
		size_t n = strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(at + n, sizeof at - n, ".%03dZ", (int)(ev->at_ms % 1000));
	} else {
		snprintf(at, sizeof at, "1970-01-01T00:00:00.000Z");
	}
	json_object_object_add(o, "at", json_object_new_string(at));
	struct json_object *data = NULL;
	if (ev->data_json) {
		/* the store holds JSON objects; anything else is kept as text */
		data = json_tokener_parse(ev->data_json);
		if (data && !json_object_is_type(data, json_type_object)) {
			json_object_put(data);
			data = NULL;
		}
		if (!data)
			data = json_object_new_string(ev->data_json);
	}
	json_object_object_add(o, "data", data);
	char *line = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return line;
}

static bool wants_all(const struct sink *sk, const char *type)
{
	(void)sk;
	(void)type;
	return true;
}

/* Make a new file's name durable: fsync its folder. */
static int sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int retry(struct sink_result *res, const char *path, const char *what, int e)
{
	res->status = SINK_RETRY;
	snprintf(res->message, sizeof res->message, "events file '%s': %s: %s", path, what,
	         strerror(e));
	return -1;
}

static int jsonl_send(struct sink *sk, const struct sink_event *ev, size_t n,
                      struct sink_result *res)
{
	struct jsonl *j = sk->state;
	memset(res, 0, sizeof *res);
	int fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return retry(res, j->path, "cannot open it", errno);
	int64_t last = 0, end = 0;
	char err[300];
	if (jsonl_last_id(fd, &last, &end, err, sizeof err) != 0) {
		close(fd);
		res->status = SINK_RETRY;
		snprintf(res->message, sizeof res->message, "%s", err);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return retry(res, j->path, "cannot stat it", e);
	}
	/* a line cut short by a crash of the machine: written again below */
	if (end < st.st_size && ftruncate(fd, end) != 0) {
		int e = errno;
		close(fd);
		return retry(res, j->path, "cannot cut off its torn last line", e);
	}
	bool fresh = end == 0;
	struct buf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (ev[i].id <= last)
			continue;   /* written before the cursor moved */
		char *line = jsonl_line(&ev[i]);
		buf_adds(&b, line);
		buf_addc(&b, '\n');
		free(line);
	}
	size_t off = 0;
	while (off < b.len) {
		ssize_t w = write(fd, b.data + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			buf_free(&b);
			close(fd);
			return retry(res, j->path, "cannot append", e);
		}
		off += (size_t)w;
	}
	buf_free(&b);
	if (fdatasync(fd) != 0) {
		int e = errno;
		close(fd);
		return retry(res, j->path, "cannot flush it to the disk", e);
	}
	if (close(fd) != 0)
		return retry(res, j->path, "cannot close it", errno);
	if (fresh && sync_dir(j->path) != 0)
		return retry(res, j->path, "cannot flush its folder", errno);
	res->status = SINK_DONE;
	return 0;
}

static void jsonl_close(struct sink *sk)
{
	if (!sk)
		return;
	struct jsonl *j = sk->state;
	free(j->path);
	free(j);
	free(sk);
}

struct sink *jsonl_sink_open(const char *path, char *err, size_t errlen)
{
	if (!path || !*path) {
		snprintf(err, errlen, "LEADROUTE_EVENTS_FILE: empty path");
		return NULL;
	}
	struct jsonl *j = xcalloc(1, sizeof *j);
	j->path = xstrdup(path);
	struct sink *sk = xcalloc(1, sizeof *sk);
	*sk = (struct sink){ .name = JSONL_SINK_NAME, .max_batch = JSONL_MAX_BATCH,
	                     .wants = wants_all, .send = jsonl_send, .close = jsonl_close,
	                     .state = j };
	return sk;
}
