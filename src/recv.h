/* recv.h - a message received over SMTP (the listener, `sendmail -bs`)
 * into the queue: the trace header, the body as smtpd hands it out, the
 * 8-bit flags, the DSN parameters, and the commit.
 */
#ifndef OUTBOX_RECV_H
#define OUTBOX_RECV_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "smtpd.h"
#include "util.h"

/* Who sent it, for the Received: field (RFC 5321 4.4). */
struct recv_info {
	const char	*hostname;	/* ours */
	const char	*client_addr;	/* "192.0.2.1", or NULL (-bs) */
	const char	*user;		/* -bs: the submitting user, or NULL */
	int		 tls;		/* RFC 3848: ESMTPS */
	const char	*auth_user;	/* RFC 3848: ESMTPA; NULL: none */
	int		 has_owner;	/* -bs: OWNER is the submitting uid */
	uint32_t	 owner;
};

struct recv;

/* recv_begin: a submission into Q for the transaction E (SMTPD_EV_DATA),
 * starting with its Received: field.  NOSYNC: the commit will not sync
 * (queue_sub_nosync: the caller syncs once for a group).  0, or -1 with
 * ERR (the queue). */
int	recv_begin(struct recv **rp, struct queue *q, const struct smtpd_ev *e,
	    const struct recv_info *ri, int nosync, int64_t now,
	    struct ob_err *err);
/* recv_body: the next body bytes (SMTPD_EV_BODY).  After an error the
 * submission is failed: recv_commit fails too. */
int	recv_body(struct recv *r, const void *p, size_t n, struct ob_err *err);
/* recv_commit: publish the message (SMTPD_EV_DOT).  0, or -1 with ERR
 * (OB_TEMP: map or disk full, ...). */
int	recv_commit(struct recv *r, struct ob_err *err);
/* recv_id: the queue id (after recv_commit), borrowed. */
const char *recv_id(const struct recv *r);
uint64_t recv_size(const struct recv *r);
/* recv_free: abort it if not committed (its chunks removed), free. */
void	recv_free(struct recv *r);			/* NULL is fine */

#endif
