/* queue.h - the durable queue on LMDB; the only module using mdb_*.
 *
 * One LMDB environment in queue_dir is the only state shared between
 * processes.  Every write is a transaction; a reader never sees half a
 * message.  Layout and invariants are documented at the top of queue.c.
 *
 * Open the queue after any fork(), once per process; an environment never
 * crosses fork().  Failures fill an ob_err: OB_TEMP (map full at
 * queue_max_size, disk full, read-only, busy) or OB_PERM, with a sysexits
 * hint for the command line.
 */
#ifndef OUTBOX_QUEUE_H
#define OUTBOX_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define QUEUE_ID_LEN	13	/* Crockford base32 of a 64-bit id */

/* The body is stored in chunks of QUEUE_CHUNK_SIZE octets (the last one
 * shorter); queue_body_chunk's OUT must accept that much. */
#define QUEUE_CHUNK_SIZE	(256 * 1024)
/* A submission keeps up to QUEUE_SUB_BUFMAX octets in memory; a message
 * no larger is written in the one publishing transaction. */
#define QUEUE_SUB_BUFMAX	(4 * QUEUE_CHUNK_SIZE)
/* The schema this code reads and writes (the "meta" database). */
#define QUEUE_SCHEMA_VERSION	3	/* 1 and 2 are upgraded on open */
/* queue_msg.owner of a message no local user submitted (SMTP, bounces) */
#define QUEUE_NO_OWNER		0xffffffffU

/* Recipient states */
#define QR_PENDING	0
#define QR_DELIVERED	1
#define QR_FAILED	2

/* Message flags */
#define QM_8BIT		0x01	/* some octet over 127 */
#define QM_8BITHDR	0x02	/* ... in the header section (can't convert) */
#define QM_HELD		0x04	/* never attempted until released */
#define QM_BOUNCE	0x08	/* a DSN we made (null sender) */
#define QM_WARNED	0x10	/* its delay warning (DSN) has been sent */
#define QM_DOUBLE	0x20	/* a report to double_bounce_to: never
				 * reported on itself (DESIGN invariant 4) */

/* RET (RFC 3461 4.3): what a bounce returns of the message */
#define QRET_DEFAULT	0	/* ours: the headers */
#define QRET_FULL	1
#define QRET_HDRS	2

/* NOTIFY (RFC 3461 4.1), per recipient; 0 = not given (FAILURE,DELAY) */
#define QN_NEVER	0x01
#define QN_SUCCESS	0x02
#define QN_FAILURE	0x04
#define QN_DELAY	0x08
#define QN_MASK		0x0f

struct queue;

struct queue_rcpt {
	char	*addr;
	int	 state;		/* QR_* */
	uint32_t attempts;
	int64_t	 next_attempt;	/* ms since epoch; 0 = now */
	int64_t	 last_attempt;	/* 0 = never */
	char	*last_result;	/* "451 4.3.0 text" or our reason; NULL = none */
	char	*remote;	/* the server that gave last_result, or NULL */
	unsigned notify;	/* QN_*, 0 = not given */
	char	*orcpt;		/* ORCPT as given ("rfc822;a@b"), or NULL */
};

struct queue_msg {
	uint64_t id;
	char	 idstr[QUEUE_ID_LEN + 1];
	char	*sender;	/* "" = null sender */
	int	 ret;		/* QRET_* */
	char	*envid;		/* ENVID (RFC 3461 4.4), or NULL */
	int64_t	 arrival;	/* ms since epoch */
	uint64_t size;		/* canonical octets */
	unsigned flags;		/* QM_* */
	uint32_t nchunks;	/* body chunks 0..nchunks-1 */
	int64_t	 due;		/* its key in the due index; 0 = not in it */
	int64_t	 last_attempt;	/* ms; 0 = never */
	int64_t	 lease_until;	/* ms; 0 = not leased */
	pid_t	 lease_pid;
	uint32_t owner;		/* submitting uid, or QUEUE_NO_OWNER */
	size_t	 nrcpt;
	struct queue_rcpt *rcpt;
};

/* queue_open: open (creating files if needed) the environment in DIR.
 * MAX_SIZE caps the map: it starts smaller and grows on MDB_MAP_FULL.
 * DIR missing: OB_PERM/EX_CANTCREAT.  Not writable: OB_TEMP/EX_TEMPFAIL.
 * Unknown schema version: OB_PERM/EX_CONFIG. */
int	queue_open(struct queue **qp, const char *dir, uint64_t max_size,
	    struct ob_err *err);
void	queue_close(struct queue *q);			/* NULL is fine */

/* queue_id_str / queue_id_parse: the printable form. */
void	queue_id_str(uint64_t id, char out[QUEUE_ID_LEN + 1]);
int	queue_id_parse(const char *s, uint64_t *id);

/* ---- submission ------------------------------------------------------ *
 * queue_sub_begin picks an id (no transaction needed).  queue_sub_write
 * buffers body bytes and, once the message passes QUEUE_SUB_BUFMAX,
 * writes full chunks in transactions that skip the meta-page sync, under
 * the id reserved in "pend", invisible until published.  queue_sub_commit
 * writes the rest, the message record, the recipients and the due entry
 * in one transaction, and returns only after it is synced to disk.  After
 * a failure, further writes and the commit fail; queue_sub_free then
 * removes the chunks already written; chunks of a crashed submitter are
 * removed by queue_gc. */
struct queue_sub;
int	queue_sub_begin(struct queue *q, struct queue_sub **sp,
	    struct ob_err *err);
/* queue_sub_id: the printable id, borrowed until queue_sub_free.  Ids are
 * random in their low 20 bits; in the (one in a million per submission in
 * the same millisecond) case of a collision, the id changes before the
 * first chunk is written or at commit: read it again after commit. */
const char *queue_sub_id(const struct queue_sub *s);
int	queue_sub_write(struct queue_sub *s, const void *p, size_t n,
	    struct ob_err *err);
/* queue_sub_commit: SENDER ("" = null sender), RCPT (NRCPT >= 1)
 * addresses, FLAGS QM_*, NOW the arrival time (the message is due at
 * once).  Returns 0 only after the transaction is on disk: exit 0 of
 * sendmail depends on it.  -1 with OB_TEMP (map/disk full, I/O error) or
 * OB_PERM (bad arguments). */
int	queue_sub_commit(struct queue_sub *s, const char *sender,
	    const char *const *rcpt, size_t nrcpt, unsigned flags,
	    int64_t now, struct ob_err *err);
/* queue_sub_dsn: the RFC 3461 parameters to store with the message, set
 * before queue_sub_commit: RET (QRET_*), ENVID (or NULL), and per
 * recipient NOTIFY (QN_* array of nrcpt, or NULL) and ORCPT (array of
 * nrcpt strings or NULLs, or NULL).  Borrowed until the commit. */
void	queue_sub_dsn(struct queue_sub *s, int ret, const char *envid,
	    const unsigned *notify, const char *const *orcpt);
/* queue_sub_owner: the uid of the local user submitting S (for mailq's
 * privacy rule); QUEUE_NO_OWNER (the default) for others. */
void	queue_sub_owner(struct queue_sub *s, uint32_t uid);
/* queue_sub_nosync: commit S without syncing: the message is published,
 * but durable only after the next queue_sync (or synced commit).  For a
 * group commit: many submissions committed so, then one queue_sync, and
 * only then is any of them answered.  Set before queue_sub_commit. */
void	queue_sub_nosync(struct queue_sub *s);
/* queue_sub_free: abort if not committed, and free. */
void	queue_sub_free(struct queue_sub *s);

/* ---- delivery -------------------------------------------------------- *
 * queue_claim: lease up to MAX messages that are due (due <= NOW, or any
 * with ALL), not held, not leased by a live process, and not attempted at
 * or after NOT_SINCE (so one run tries each message once; NOT_SINCE <= 0
 * disables that test; a message never attempted always passes).  A lease
 * that ran out is no obstacle, even if its process lives.  The lease
 * lasts LEASE_MS; their ids go to IDS.  One write transaction. */
int	queue_claim(struct queue *q, int64_t now, int all, int64_t not_since,
	    int64_t lease_ms, uint64_t *ids, size_t max, size_t *n,
	    struct ob_err *err);
/* A filter on messages by envelope sender ("" = null sender): non-zero
 * to take the message (routes: conf_route_for). */
typedef int queue_filter_fn(const char *sender, void *arg);
/* queue_claim_for: queue_claim, taking only messages WANT wants. */
int	queue_claim_for(struct queue *q, int64_t now, int all,
	    int64_t not_since, int64_t lease_ms, uint64_t *ids, size_t max,
	    size_t *n, queue_filter_fn *want, void *warg, struct ob_err *err);
/* queue_load: the message and all its recipients (fresh, caller frees with
 * queue_msg_free).  1 = loaded, 0 = no such message, -1 = error. */
int	queue_load(struct queue *q, uint64_t id, struct queue_msg **mp,
	    struct ob_err *err);
void	queue_msg_free(struct queue_msg *m);		/* NULL is fine */
/* queue_body_chunk: copy chunk I of message ID into OUT (cleared first).
 * A short read transaction each call: none stays open across network
 * I/O, and the pages read are released from our RSS.  1 = chunk, 0 = no
 * such chunk, -1 = error. */
int	queue_body_chunk(struct queue *q, uint64_t id, uint32_t i,
	    struct buf *out, struct ob_err *err);
/* queue_update: store the recipients' states of the N messages (their
 * attempts, next_attempt, last_attempt, last_result as the caller set
 * them), release their leases, and put each back in the due index at its
 * earliest pending next_attempt (0 = NOW; a held one stays out of it).
 * A message with no pending recipient left (all delivered or failed) is
 * removed with its body: its failures are reported by the bounce that
 * queue_update_dsn writes with it (or only logged).  Sets last_attempt =
 * NOW, and the message's flags from M[i] (all but QM_HELD).  A message leased by another live
 * process keeps that lease and due entry; one deleted meanwhile is
 * skipped.  One synced transaction for all N; M[i]->nrcpt must match the
 * stored message. */
int	queue_update(struct queue *q, struct queue_msg *const *m, size_t n,
	    int64_t now, struct ob_err *err);

/* A new message queued in the same transaction as a result (a DSN, RFC
 * 3464), so that a crash loses neither (DESIGN: bounces).  Its body is
 * HEAD, then either MID or (COPY_BODY) the whole stored body of the
 * message it reports on, then TAIL.  It is due at once. */
struct queue_bounce {
	const char *rcpt;		/* its one recipient */
	const char *sender;		/* "" for a DSN (RFC 3464 / 5321 4.5.5) */
	unsigned flags;			/* QM_*; QM_8BIT added when its body
					 * has 8-bit octets */
	const char *head, *mid, *tail;
	size_t	 headlen, midlen, taillen;
	int	 copy_body;
	char	 idstr[QUEUE_ID_LEN + 1];	/* out: its queue id; left
					 * empty when the message it reports
					 * on was deleted meanwhile */
};
/* queue_update_dsn: queue_update, and for each i with B[i] != NULL queue
 * that bounce in the same transaction.  A message with no pending
 * recipient left is then removed: its failed recipients were reported by
 * the bounce written with it (or, for a null sender or NOTIFY=NEVER, only
 * logged by the caller). */
int	queue_update_dsn(struct queue *q, struct queue_msg *const *m,
	    struct queue_bounce *const *b, size_t n, int64_t now,
	    struct ob_err *err);
/* queue_record: store M's recipients' states as queue_update does, but
 * keep our lease, the due entry and the message, whatever the states:
 * results of one destination while the message's others are still being
 * tried (direct delivery: a message to several domains).  The final
 * queue_update_dsn then settles it. */
int	queue_record(struct queue *q, struct queue_msg *m, int64_t now,
	    struct ob_err *err);
/* queue_renew: extend our leases on IDS to UNTIL (a long run keeps the
 * messages it has yet to send); ids leased by others or not at all are
 * left alone.  How many were extended, or -1. */
int	queue_renew(struct queue *q, const uint64_t *ids, size_t n,
	    int64_t until, struct ob_err *err);
/* queue_release: drop our leases on IDS without an attempt (shutdown);
 * they become due at once.  Ids leased by others are left alone. */
int	queue_release(struct queue *q, const uint64_t *ids, size_t n,
	    struct ob_err *err);

/* queue_due: what the scheduler needs to know, in one short read: how
 * many messages are due at NOW (counted up to MAX; held and leased ones
 * are not in the due index) in *NDUE, and in *NEXT the earliest due time
 * of any message (0 = the due index is empty).  O(log n + MAX). */
int	queue_due(struct queue *q, int64_t now, size_t max, size_t *ndue,
	    int64_t *next, struct ob_err *err);
/* queue_due_for: the same over the messages WANT wants.  Each entry
 * looked at costs a record decode; past NOW at most 256 are looked at,
 * and *NEXT may then be earlier than the first wanted one (a wake-up too
 * early, never too late). */
int	queue_due_for(struct queue *q, int64_t now, size_t max,
	    size_t *ndue, int64_t *next, queue_filter_fn *want, void *warg,
	    struct ob_err *err);

/* Destinations (a relay list, or later an MX host) that failed to
 * connect back off as a whole: FAILURES consecutive failures, no attempt
 * before NEXT_TRY. */
struct queue_dest {
	uint32_t failures;
	int64_t	 since;		/* first failure, ms */
	int64_t	 next_try;	/* ms */
	char	 reason[256];
};
/* queue_dest_get: 1 with *D filled, 0 = not backed off, -1 error. */
int	queue_dest_get(struct queue *q, const char *name, struct queue_dest *d,
	    struct ob_err *err);
/* queue_dest_fail: one more failure of NAME at NOW; the next try is
 * NOW + INITIAL * 2^(failures-1), capped at MAX.  *D gets the result. */
int	queue_dest_fail(struct queue *q, const char *name, int64_t now,
	    int64_t initial, int64_t max, const char *reason,
	    struct queue_dest *d, struct ob_err *err);
/* queue_rate_take: reserve the next send slot of rate NAME ("rate " +
 * a relay list): at NOW or INTERVAL ms after the last one reserved by any
 * process, whichever is later; *SLOT gets it.  Spacing the sends so keeps
 * every burst within the rate (relay_rate).  0 or -1. */
int	queue_rate_take(struct queue *q, const char *name, int64_t now,
	    int64_t interval, int64_t *slot, struct ob_err *err);
/* queue_slot_take: take one of LIMIT connection slots of NAME (a mail
 * domain), shared by every process on the queue; a slot of a process
 * that died is free.  1 = taken, 0 = all LIMIT are in use, -1 error.
 * queue_slot_drop: give one back (0 or -1). */
int	queue_slot_take(struct queue *q, const char *name, int limit,
	    struct ob_err *err);
int	queue_slot_drop(struct queue *q, const char *name, struct ob_err *err);
/* queue_dest_ok: NAME works again (a write only if it was backed off). */
int	queue_dest_ok(struct queue *q, const char *name, struct ob_err *err);

/* ---- administration -------------------------------------------------- */
/* queue_hold: set (ON) or clear the held flag of ID.  A held message
 * leaves the due index; released, it is due at its earliest pending
 * recipient's next attempt.  1 = done, 0 = no such message, -1 error. */
int	queue_hold(struct queue *q, uint64_t id, int on, int64_t now,
	    struct ob_err *err);
/* queue_retry: make ID's pending recipients (every message's, with ID 0)
 * due at NOW.  Held messages are left alone.  The number of messages
 * changed (0 = no such message, or none pending), or -1. */
int	queue_retry(struct queue *q, uint64_t id, int64_t now,
	    struct ob_err *err);
/* queue_foreach: call FN for each message in id order, within one read
 * transaction (FN must not call back into the queue).  FN returns
 * non-zero to stop. */
int	queue_foreach(struct queue *q,
	    int (*fn)(const struct queue_msg *m, void *arg), void *arg,
	    struct ob_err *err);
/* queue_gc: remove body chunks of submissions that never published and
 * whose process is gone (or that started over QUEUE_PEND_MAX_AGE_MS ago),
 * and free leases of dead processes (due now).  Returns how many items
 * were cleaned, or -1. */
#define QUEUE_PEND_MAX_AGE_MS	(24 * 3600 * 1000LL)
int	queue_gc(struct queue *q, int64_t now, struct ob_err *err);

/* queue_delete: remove message ID, its recipients, body and due entry in
 * one synced transaction.  1 = deleted, 0 = no such message, -1 = error. */
int	queue_delete(struct queue *q, uint64_t id, struct ob_err *err);
/* queue_sync: make every committed transaction durable (queue_update
 * leaves the last one's meta page to the next commit or to this). */
int	queue_sync(struct queue *q, struct ob_err *err);

/* queue_stat: sizes in octets, the rest are entry counts. */
struct queue_stat {
	uint64_t map_size, map_used, messages;
	uint64_t rcpts;		/* recipient records */
	uint64_t chunks;	/* body chunks, published or not */
	uint64_t due;		/* due index entries */
	uint64_t pending;	/* unpublished large submissions (pend) */
	uint64_t dests;		/* destinations backing off */
	uint64_t stat_entries;	/* statistics records ("stat") */
};
int	queue_stat(struct queue *q, struct queue_stat *st, struct ob_err *err);

/* Test seam: when set, called inside every write transaction just before
 * its commit, with the name of the operation ("chunk", "commit", "claim",
 * "update", "release", "gc", "delete", "abort", "init", "hold", "retry",
 * "dest", "renew", "rate", "slot", "stat").  Tests use it to
 * die inside a transaction.  NULL in production. */
extern void (*queue_test_hook)(const char *what);

/* ---- statistics (the "stat" database; layout in queue.c) ------------- *
 * queue_update(_dsn) counts each recipient attempt once, by result, per
 * 5-minute bucket and recipient domain, in its own transaction; buckets
 * are kept for a day.  Totals since the queue was created are kept too. */
#define QUEUE_STATS_BUCKET_S	300	/* seconds per bucket */
#define QUEUE_STATS_KEEP	288	/* older buckets kept: 24 h */
#define QUEUE_STATS_PRUNE	32	/* old buckets deleted per write */
#define QUEUE_STATS_DOMAIN_MAX	255	/* longer domains are cut */
#define QUEUE_STATS_NODOMAIN	"(none)"	/* an address without one */
/* results, and the index of their counts */
#define QUEUE_STATS_DELIVERED	0
#define QUEUE_STATS_DEFERRED	1
#define QUEUE_STATS_FAILED	2
#define QUEUE_STATS_NRES	3

/* queue_stats_bucket: the bucket of time MS (ms since the epoch). */
uint32_t queue_stats_bucket(int64_t ms);
/* queue_stats_domain: ADDR's domain as counted (lower-cased, cut at
 * QUEUE_STATS_DOMAIN_MAX, QUEUE_STATS_NODOMAIN when none) into OUT; its
 * length. */
size_t	queue_stats_domain(const char *addr,
	    char out[QUEUE_STATS_DOMAIN_MAX + 1]);
/* queue_stats_count: count one attempt to ADDR with RESULT
 * (QUEUE_STATS_*) at NOW in a transaction of its own, pruning as
 * queue_update does (for tests, and results recorded outside
 * queue_update).  0 or -1. */
int	queue_stats_count(struct queue *q, int64_t now, const char *addr,
	    int result, struct ob_err *err);
/* queue_stats_totals: the counts since the queue was created. */
int	queue_stats_totals(struct queue *q, uint64_t tot[QUEUE_STATS_NRES],
	    struct ob_err *err);
struct queue_stats_row {
	uint32_t bucket;
	char	 domain[QUEUE_STATS_DOMAIN_MAX + 1];
	uint32_t n[QUEUE_STATS_NRES];
};
/* FN returns non-zero to stop; it must not call into the queue. */
typedef int queue_stats_fn(const struct queue_stats_row *row, void *arg);
/* queue_stats_rows: FN for every bucket row from bucket FIRST on, in key
 * order (bucket, then domain), in short read transactions.  0 or -1. */
int	queue_stats_rows(struct queue *q, uint32_t first, queue_stats_fn *fn,
	    void *arg, struct ob_err *err);
/* The queue at one time: every message in exactly one of due, waiting,
 * held, active (tested in that order: active, held, due, waiting). */
struct queue_stats_snap {
	uint64_t messages;
	uint64_t active;	/* leased by a live process */
	uint64_t held;
	uint64_t due;		/* due at NOW */
	uint64_t waiting;	/* for a later retry */
	uint64_t bounces;	/* QM_BOUNCE: DSNs we made (any state) */
	uint64_t rcpt_pending;	/* recipients still pending */
	uint64_t bytes;		/* sum of the messages' sizes */
	int64_t	 oldest;	/* earliest arrival, ms; 0 = empty queue */
	uint64_t corrupt;	/* message records that could not be read */
};
/* queue_stats_scan: fill S at NOW, in short read transactions (a
 * message added or removed meanwhile may or may not be counted). */
int	queue_stats_scan(struct queue *q, int64_t now,
	    struct queue_stats_snap *s, struct ob_err *err);

#endif
