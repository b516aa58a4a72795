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

struct listen_ctx;

/* listen_new: everything the listener needs that can fail at start: a
 * listening socket for each "listen" address of C, the STARTTLS
 * certificate (listen_tls_cert, listen_tls_key) and the users file
 * (listen_auth_users).  *LP is NULL (and 0 returned) when C has no
 * "listen".  -1 with ERR naming the address or file and the reason
 * (EX_UNAVAILABLE for "address in use" and the like, EX_CONFIG for a bad
 * certificate or users file). */
int	listen_new(struct listen_ctx **lp, const struct conf *c,
	    struct ob_err *err);
/* listen_close_fds: close the listening sockets (in a process that will
 * not serve them: a delivery worker). */
void	listen_close_fds(struct listen_ctx *l);
void	listen_free(struct listen_ctx *l);		/* NULL is fine */

/* listen_run: serve L's sockets with configuration C (the daemon's current
 * one: a listener started again after a reload takes its limits and
 * listen_allow; sockets, certificate and users stay those of the start)
 * until *STOP is set (then every session gets a 421; a message already
 * committed still gets its answer).  Opens the queue itself.  0, or -1
 * with ERR (the queue could not be opened). */
int	listen_run(struct listen_ctx *l, const struct conf *c,
	    volatile sig_atomic_t *stop, struct ob_err *err);

#endif
