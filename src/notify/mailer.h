/* mailer - hand one mail to the local sendmail program and say what
 * became of it, as an event sink's verdict.
 *
 * Runs `SENDMAIL -t -oi` (recipients from the To header; a line holding
 * only "." does not end the message) with the message on its standard
 * input, in a process group of its own, and waits at most timeout_ms; a
 * program still running then is killed (SIGKILL, the whole group).  Exit
 * status 0 is DONE; 75 (EX_TEMPFAIL), a death by signal, a timeout and a
 * failure to start it are RETRY; any other status is DEAD, with what the
 * program wrote to its standard output and error (capped) in the message.
 * The program inherits the environment and no descriptor but 0, 1 and 2;
 * writing to it never raises SIGPIPE.
 *
 * The exit status is collected with waitpid, so the calling process must
 * not ignore SIGCHLD (leadroute never does); if it does, the verdict is
 * RETRY with a message saying so.  Never prints, and never leaves a child
 * behind.
 */
#ifndef LR_NOTIFY_MAILER_H
#define LR_NOTIFY_MAILER_H

#include <stddef.h>

#include "events/sink.h"

#define MAILER_MAX_OUTPUT 300     /* bytes of the program's output kept in a message */
#define MAILER_EX_TEMPFAIL 75     /* sysexits.h: try again later */

/* Send message (len bytes, LF line ends) through the program at path
 * (absolute).  Fills res->status and res->message (http_status 0,
 * retry_after_ms 0); returns res->status. */
enum sink_status mailer_send(const char *path, const char *message, size_t len, int timeout_ms,
                             struct sink_result *res);

#endif
