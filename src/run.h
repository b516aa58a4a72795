/* run.h - the daemon (`outbox run`), in outbox-deliver. */
#ifndef OUTBOX_RUN_H
#define OUTBOX_RUN_H

#include "cmd.h"
#include "conf.h"

/* run_daemon: run in the foreground until SIGTERM/SIGINT; takes C.
 * Returns the exit status: 0 after a clean stop, EX_UNAVAILABLE when
 * another daemon runs on the queue, EX_TEMPFAIL/EX_OSERR on set-up
 * failures. */
int	run_daemon(struct conf *c, const struct cmd_opts *o);

#endif
