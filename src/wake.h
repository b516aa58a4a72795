/* wake.h - the daemon's presence on a queue: one lock, one doorbell.
 *
 * A running `outbox run` holds an exclusive flock(2) on QUEUE_DIR/daemon.lock
 * (so a second daemon refuses to start) and listens on a Unix datagram
 * socket, QUEUE_DIR/daemon.sock.  A submission rings it after its commit;
 * the datagram carries nothing: it only ends the daemon's sleep.  When no
 * daemon listens, the send fails (ECONNREFUSED or ENOENT) and the
 * submitter knows to deliver by itself (deliver_on_submit).
 */
#ifndef OUTBOX_WAKE_H
#define OUTBOX_WAKE_H

#include <sys/types.h>

#include "util.h"

/* wake_send: ring the daemon of DIR.  1 = a daemon is there (or its
 * socket buffer is full, which means the same), 0 = none, -1 = could not
 * tell (logged at debug level, treated as none by callers). */
int	wake_send(const char *dir);

/* wake_lock: take DIR's daemon lock and write our pid in it.  0 with *FD
 * (keep it open for the daemon's life), or -1 with ERR; when another
 * daemon holds it, *OTHER gets its pid (0 if unknown) and ERR says so. */
int	wake_lock(const char *dir, int *fd, pid_t *other, struct ob_err *err);

/* wake_listen: bind DIR's doorbell (replacing a stale socket file: call
 * only while holding the lock).  0 with a non-blocking *FD, or -1. */
int	wake_listen(const char *dir, int *fd, struct ob_err *err);

/* wake_drain: read every pending datagram from FD; how many there were. */
int	wake_drain(int fd);

/* wake_slot: for background deliveries without a daemon: take one of
 * N slot locks (QUEUE_DIR/flush.I.lock) without waiting.  The fd (kept
 * across exec) holds it, or -1 when all N are taken: a delivery already
 * running will see our message (it checks again after letting go). */
int	wake_slot(const char *dir, int n);

#endif
