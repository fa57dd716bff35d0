/* jsonl - the event log as a JSON-lines file (LEADROUTE_EVENTS_FILE).
 *
 * Each event becomes one line, in id order:
 *   {"id":12,"type":"owner_assigned","lead_id":"…"|null,"at_ms":1793817970000,
 *    "at":"2026-11-03T12:46:10.000Z","data":{…}|null}
 * appended with O_APPEND in one write per batch and flushed with
 * fdatasync before the batch counts as taken.  Before each append the sink
 * reads the id on the file's last complete line and leaves out the events
 * up to it, so a batch sent again (a crash between the append and the
 * cursor's move) doubles nothing; a torn last line (a crash of the machine
 * mid-write) is cut off and written again whole.  The file is opened for
 * each batch, so a rotated file (moved away by logrotate) is simply
 * started anew.
 *
 * Never writes an event twice in a row of the file, and never reports a
 * batch taken before it is on the disk.
 */
#ifndef LR_JSONL_H
#define LR_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "events/sink.h"

#define JSONL_SINK_NAME "jsonl"
#define JSONL_MAX_BATCH 500

/* The sink writing to path (copied).  Returns NULL with err filled when
 * path is empty. */
struct sink *jsonl_sink_open(const char *path, char *err, size_t errlen);

/* The id on the last complete line of the file open at fd (0 when the file
 * is empty or its last line holds no id) into *last_id, and where that line
 * ends into *end (less than the file's size when a torn line follows).
 * Returns 0, or -1 with err filled. */
int jsonl_last_id(int fd, int64_t *last_id, int64_t *end, char *err, size_t errlen);

/* One event as its line (without the newline); caller frees. */
char *jsonl_line(const struct sink_event *ev);

#endif
