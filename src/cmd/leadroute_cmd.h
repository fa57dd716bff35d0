/* leadroute_cmd - what the parts of the `leadroute` command share.
 * Only the leadroute program includes it. */
#ifndef LR_LEADROUTE_CMD_H
#define LR_LEADROUTE_CMD_H

#include "store/store.h"

/* The store named by LEADROUTE_DB with LEADROUTE_SYNC, or NULL after
 * printing why.  Caller closes. */
struct store *leadroute_open_store(void);

/* `leadroute outbox ARGS...` (leadroute_outbox.c); argv[0] is the
 * subcommand.  Returns the exit status. */
int cmd_outbox(int argc, char **argv);

/* `leadroute report [--since Nd|Nh] [--html FILE]` (leadroute_report.c);
 * argv holds the options.  Returns the exit status. */
int cmd_report(int argc, char **argv);

/* `leadroute replay ARGS...` (leadroute_replay.c); argv holds the words
 * after "replay".  Returns the exit status. */
int cmd_replay(int argc, char **argv);

#endif
