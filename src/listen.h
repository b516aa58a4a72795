/* listen.h - the SMTP listener of `outbox run` (the "listen" setting):
 * containers and hosts hand mail to outbox over SMTP.
 *
 * The daemon binds the sockets itself (so that a port in use stops it at
 * start, with a clear message) and runs the listener in a child process:
 * one poll() loop serving every session with smtpd.c's engine.  Messages
 * that end at about the same time share one sync (group commit): each is
 * committed without a sync as its final dot arrives, and after each round
 * of the loop one queue_sync makes them all durable before any of them is
 * answered 250 (DESIGN invariant 1).
 */
#ifndef OUTBOX_LISTEN_H
#define OUTBOX_LISTEN_H

#include <signal.h>
#include <stddef.h>

#include "conf.h"
#include "util.h"

/* listen_bind: a listening socket for each "listen" address of C, in
 * *FDS (*N of them; the caller frees the array and closes them).  0, or
 * -1 with ERR naming the address and the reason (OB_PERM, EX_UNAVAILABLE
 * for "address in use" and the like). */
int	listen_bind(const struct conf *c, int **fds, size_t *n,
	    struct ob_err *err);

/* listen_run: serve on FDS until *STOP is set (then every session gets a
 * 421, a message being committed still gets its answer, and it returns).
 * Opens the queue itself.  0, or -1 with ERR (the queue could not be
 * opened). */
int	listen_run(const struct conf *c, const int *fds, size_t n,
	    volatile sig_atomic_t *stop, struct ob_err *err);

#endif
