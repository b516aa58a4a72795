/* queue.c - the durable queue: one LMDB environment in queue_dir.
 *
 * Layout, schema version 3 (QUEUE_SCHEMA_VERSION).  Update this comment,
 * and the version, before changing any of it.  A version 1 queue (records
 * of version 1, no "dest") or 2 (no "stat", message records without the
 * owner) is upgraded in place on open: old records are still read, and
 * rewritten as the current version when next changed.  All integers are
 * big-endian, so LMDB's byte order of keys is their numeric order; times
 * are ms since the epoch, stored as two's complement 64-bit.
 *
 *   meta  "version"           -> u32 schema version (3)
 *   msg   id:u64              -> message record
 *   rcpt  id:u64 n:u32        -> recipient record, n = 0..nrcpt-1
 *   body  id:u64 i:u32        -> chunk i of the canonical message (CRLF,
 *                                no dot-stuffing): QUEUE_CHUNK_SIZE octets,
 *                                the last one shorter, none for size 0
 *   due   t:u64 id:u64        -> empty: message id is due at t; exactly
 *                                one entry per message whose record has
 *                                due != 0, none for due == 0 (held)
 *   pend  id:u64              -> u8 1, pid:u32, started:i64.  A large
 *                                submission that wrote chunks and has not
 *                                published yet; queue_gc removes it with its
 *                                chunks once pid is gone.
 *   dest  name                -> u8 1, u32 failures, i64 since,
 *                                i64 next_try, u16 len + reason: a
 *                                destination backing off as a whole
 *   stat  (see the statistics section at the end of this file)
 *
 *   message record:   u8 3 (record version), u32 flags (QM_*), i64 arrival,
 *                     u64 size, u32 nchunks, u32 nrcpt, i64 due,
 *                     i64 last_attempt, i64 lease_until, u32 lease_pid,
 *                     u16 len + sender, u8 ret (QRET_*), u16 len + envid,
 *                     u32 owner (the submitting uid; QUEUE_NO_OWNER when
 *                     not a local user's: SMTP, bounces)
 *   recipient record: u8 2, u8 state (QR_*), u32 attempts,
 *                     i64 next_attempt, i64 last_attempt, u16 len + addr,
 *                     u8 has_result [, u16 len + last_result],
 *                     u8 notify (QN_*), u16 len + orcpt,
 *                     u16 len + remote (the server of last_result)
 *   (version 1 records end after sender / last_result, version 2
 *   message records after envid; recipient records are version 2 in
 *   schema 3; empty strings mean none)
 *
 * Records are decoded defensively: lengths must match exactly, strings
 * hold no NUL; anything else is reported as a corrupt record, never read
 * past.
 *
 * Ids: ms since the epoch in the high 44 bits, 20 random bits below, so
 * they sort by arrival; printed as 13 characters of Crockford base32.
 *
 * Invariants:
 * - A message is visible (msg record) only together with all its
 *   recipients, its whole body and its due entry: the publishing commit
 *   writes them in one synced transaction.
 * - Chunks written before publication are covered by a pend entry written
 *   in the same transaction as the first of them, so nothing is orphaned
 *   by a crash for longer than it takes queue_gc to notice.
 * - One writer transaction at a time, never across network I/O; read
 *   transactions are short.  An environment never crosses fork(): every
 *   entry point checks the pid.
 *
 * Left to others: backoff times (the scheduler sets next_attempt), what a
 * failed recipient turns into (bounces), mapping errors to exit codes
 * (cmd_*).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "log.h"
#include "queue.h"
#include "util.h"

#define Q_MAP_MIN	(16ULL * 1024 * 1024)	/* first map size */
#define Q_MAP_ROUND	(1024ULL * 1024)
#define Q_MAX_DEFAULT	(1024ULL * 1024 * 1024)	/* max_size 0 */
#define Q_RETRIES	50	/* MAP_RESIZED, READERS_FULL, collisions */
#define Q_PAUSE_NS	10000000L	/* 10 ms between READERS_FULL tries */
#define Q_STR_MAX	65535	/* u16 length fields */
#define Q_RESULT_MAX	2000	/* last_result is truncated to this */
#define Q_MSG_MAX	(1ULL << 40)	/* sanity limit on one message */
#define Q_DUE_AHEAD	256	/* filtered due scan: entries past now */
#define Q_REC_V1	1	/* schema 1 records, still read */
#define Q_REC_V2	2	/* schema 2 message records, still read */
#define Q_REC_VERSION	3	/* message records */
#define Q_RCPT_VERSION	2	/* recipient records */

/* Chunk transactions during a large submission sync the data pages but not
 * the meta page (MDB_NOMETASYNC).  MDB_NOSYNC would save one fdatasync per
 * chunk, but lmdb.h warns that a system crash can then corrupt the whole
 * database unless the filesystem keeps write order (ext4 does not: the
 * meta pages at the start of the file may reach the disk before the data
 * pages they point to), which would lose mail already accepted.
 * NOMETASYNC keeps integrity: a crash may only undo the last chunk
 * transaction, and those are invisible until published anyway. */
#define Q_CHUNK_SYNC	MDB_NOMETASYNC

/* Return values of transaction bodies, beside 0 and LMDB's codes (LMDB's
 * are errno values or in the -30800 range). */
#define Q_EFN		(-1)	/* error already in *err */
#define Q_COLLIDE	(-2)	/* id taken: pick another one */

/* Functions whose 1 means "found" return LMDB's failure codes as
 * "rc == 1 ? EIO : rc": LMDB's reads never fail with errno 1 (EPERM), but
 * should one ever do, it must not read as success. */

/* Sync modes for q_write */
#define Q_SYNC		0		/* LMDB default: data and meta */
#define Q_SYNC_DATA	MDB_NOMETASYNC
#define Q_NOSYNC	MDB_NOSYNC	/* the caller syncs (group commit) */

static const char *const q_db_names[] = {
	"meta", "msg", "rcpt", "body", "due", "pend", "dest", "stat"
};
#define Q_NDB	(sizeof q_db_names / sizeof q_db_names[0])

struct queue {
	MDB_env	*env;
	MDB_dbi	 dbi[Q_NDB];
	pid_t	 pid;
	uint64_t mapsize, max_size;
	long	 pagesize;
	char	*dir;
};
#define Q_META(q)	((q)->dbi[0])
#define Q_MSG(q)	((q)->dbi[1])
#define Q_RCPT(q)	((q)->dbi[2])
#define Q_BODY(q)	((q)->dbi[3])
#define Q_DUE(q)	((q)->dbi[4])
#define Q_PEND(q)	((q)->dbi[5])
#define Q_DEST(q)	((q)->dbi[6])
#define Q_STAT(q)	((q)->dbi[7])

struct queue_sub {
	struct queue *q;
	uint64_t id;
	char	 idstr[QUEUE_ID_LEN + 1];
	char	*buf;		/* unwritten bytes, at most QUEUE_SUB_BUFMAX */
	size_t	 len, cap;
	uint64_t size;		/* octets accepted so far */
	uint32_t nchunks;	/* chunks already in the body db */
	int64_t	 started;
	int	 reserved;	/* pend entry and chunks exist */
	int	 done, failed;
	int	 nosync;	/* queue_sub_nosync: the caller syncs */
	int	 ret;		/* queue_sub_dsn's, borrowed */
	const char *envid;
	uint32_t owner;		/* queue_sub_owner's */
	const unsigned *notify;
	const char *const *orcpt;
};

/* A decoded message record without its recipients. */
struct q_rec {
	unsigned flags;
	int64_t	 arrival, due, last_attempt, lease_until;
	uint64_t size;
	uint32_t nchunks, nrcpt, lease_pid;
	int	 ret;		/* QRET_* */
	char	*sender;	/* NULL unless asked for */
	char	*envid;		/* NULL unless asked for, or none */
	uint32_t owner;		/* submitting uid, or QUEUE_NO_OWNER */
};

typedef int (*q_txn_fn)(struct queue *, MDB_txn *, void *, struct ob_err *);

void (*queue_test_hook)(const char *what);

static void	q_check(const struct queue *);
static int	q_mdb_err(struct queue *, int, const char *, struct ob_err *);
static int	q_begin(struct queue *, unsigned, MDB_txn **,
		    struct ob_err *);
static int	q_grow(struct queue *, struct ob_err *);
static int	q_write(struct queue *, unsigned, const char *, q_txn_fn,
		    void *, struct ob_err *);
static uint64_t	q_new_id(void);
static int	q_pid_alive(uint32_t);
static int	q_stats_rcpt(struct queue *, MDB_txn *, uint64_t, uint32_t,
		    const struct q_rec *, const struct queue_rcpt *, int64_t);
static int	q_stats_prune(struct queue *, MDB_txn *, int64_t);

/* ---- encoding ---------------------------------------------------------- */

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* Keys: id (8), id+n (12), t+id (16). */
struct q_key {
	uint8_t	b[16];
	MDB_val	v;
};

static MDB_val *
key_id(struct q_key *k, uint64_t id)
{
	put_be64(k->b, id);
	k->v.mv_data = k->b;
	k->v.mv_size = 8;
	return &k->v;
}

static MDB_val *
key_idn(struct q_key *k, uint64_t id, uint32_t n)
{
	put_be64(k->b, id);
	put_be32(k->b + 8, n);
	k->v.mv_data = k->b;
	k->v.mv_size = 12;
	return &k->v;
}

static MDB_val *
key_due(struct q_key *k, int64_t t, uint64_t id)
{
	put_be64(k->b, (uint64_t)(t < 0 ? 0 : t));
	put_be64(k->b + 8, id);
	k->v.mv_data = k->b;
	k->v.mv_size = 16;
	return &k->v;
}

/* Writer: a struct buf without a cap (records are bounded by their u16
 * length fields, checked before encoding). */
static void
wr_u8(struct buf *b, unsigned v)
{
	(void)buf_addc(b, (int)(v & 0xff));
}

static void
wr_u16(struct buf *b, unsigned v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	(void)buf_add(b, p, 2);
}

static void
wr_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4];

	put_be32(p, v);
	(void)buf_add(b, p, 4);
}

static void
wr_u64(struct buf *b, uint64_t v)
{
	uint8_t p[8];

	put_be64(p, v);
	(void)buf_add(b, p, 8);
}

static void
wr_str(struct buf *b, const char *s, size_t n)
{
	wr_u16(b, (unsigned)n);
	(void)buf_add(b, s, n);
}

/* Reader: every get checks the remaining length and latches BAD. */
struct rd {
	const uint8_t *p;
	size_t	 len, off;
	int	 bad;
};

static void
rd_init(struct rd *r, const MDB_val *v)
{
	r->p = v->mv_data;
	r->len = v->mv_size;
	r->off = 0;
	r->bad = 0;
}

static int
rd_have(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

static unsigned
rd_u8(struct rd *r)
{
	if (!rd_have(r, 1))
		return 0;
	return r->p[r->off++];
}

static unsigned
rd_u16(struct rd *r)
{
	unsigned v;

	if (!rd_have(r, 2))
		return 0;
	v = (unsigned)r->p[r->off] << 8 | r->p[r->off + 1];
	r->off += 2;
	return v;
}

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v;

	if (!rd_have(r, 4))
		return 0;
	v = get_be32(r->p + r->off);
	r->off += 4;
	return v;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t v;

	if (!rd_have(r, 8))
		return 0;
	v = get_be64(r->p + r->off);
	r->off += 8;
	return v;
}

/* rd_str: a u16-length string, copied (KEEP) or skipped.  NULL if bad or
 * skipped. */
static char *
rd_str(struct rd *r, int keep)
{
	size_t n = rd_u16(r);
	const char *s;

	if (!rd_have(r, n))
		return NULL;
	s = (const char *)r->p + r->off;
	r->off += n;
	if (memchr(s, '\0', n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	return keep ? xstrndup(s, n) : NULL;
}

/* rd_end: 0 if the record was read whole and nothing was wrong. */
static int
rd_end(struct rd *r)
{
	return r->bad || r->off != r->len ? -1 : 0;
}

static void
rec_encode(struct buf *b, const struct q_rec *m)
{
	size_t n = strlen(m->sender);

	buf_clear(b);
	wr_u8(b, Q_REC_VERSION);
	wr_u32(b, m->flags);
	wr_u64(b, (uint64_t)m->arrival);
	wr_u64(b, m->size);
	wr_u32(b, m->nchunks);
	wr_u32(b, m->nrcpt);
	wr_u64(b, (uint64_t)m->due);
	wr_u64(b, (uint64_t)m->last_attempt);
	wr_u64(b, (uint64_t)m->lease_until);
	wr_u32(b, m->lease_pid);
	wr_str(b, m->sender, n);
	wr_u8(b, (unsigned)m->ret);
	n = m->envid != NULL ? strlen(m->envid) : 0;
	wr_str(b, n ? m->envid : "", n);
	wr_u32(b, m->owner);
}

/* rec_decode: KEEP_SENDER copies the sender and envid into M.  0 or -1. */
static int
rec_decode(const MDB_val *v, struct q_rec *m, int keep_sender)
{
	struct rd r;
	unsigned ver;

	memset(m, 0, sizeof *m);
	rd_init(&r, v);
	ver = rd_u8(&r);
	if (ver != Q_REC_VERSION && ver != Q_REC_V2 && ver != Q_REC_V1)
		return -1;
	m->owner = QUEUE_NO_OWNER;
	m->flags = rd_u32(&r);
	m->arrival = (int64_t)rd_u64(&r);
	m->size = rd_u64(&r);
	m->nchunks = rd_u32(&r);
	m->nrcpt = rd_u32(&r);
	m->due = (int64_t)rd_u64(&r);
	m->last_attempt = (int64_t)rd_u64(&r);
	m->lease_until = (int64_t)rd_u64(&r);
	m->lease_pid = rd_u32(&r);
	m->sender = rd_str(&r, keep_sender);
	if (ver != Q_REC_V1) {
		m->ret = (int)rd_u8(&r);
		m->envid = rd_str(&r, keep_sender);
		if (m->envid != NULL && *m->envid == '\0') {
			free(m->envid);
			m->envid = NULL;
		}
	}
	if (ver == Q_REC_VERSION)
		m->owner = rd_u32(&r);
	if (rd_end(&r) == -1 || m->due < 0 || m->ret > QRET_HDRS) {
		free(m->sender);
		free(m->envid);
		m->sender = m->envid = NULL;
		return -1;
	}
	return 0;
}

static void
rec_free(struct q_rec *m)
{
	free(m->sender);
	free(m->envid);
	m->sender = m->envid = NULL;
}

static void
rcpt_encode(struct buf *b, const struct queue_rcpt *rc)
{
	size_t n;

	buf_clear(b);
	wr_u8(b, Q_RCPT_VERSION);
	wr_u8(b, (unsigned)rc->state);
	wr_u32(b, rc->attempts);
	wr_u64(b, (uint64_t)rc->next_attempt);
	wr_u64(b, (uint64_t)rc->last_attempt);
	wr_str(b, rc->addr, strlen(rc->addr));
	if (rc->last_result == NULL)
		wr_u8(b, 0);
	else {
		wr_u8(b, 1);
		n = strlen(rc->last_result);
		wr_str(b, rc->last_result, n > Q_RESULT_MAX ? Q_RESULT_MAX : n);
	}
	wr_u8(b, rc->notify & QN_MASK);
	n = rc->orcpt != NULL ? strlen(rc->orcpt) : 0;
	wr_str(b, n ? rc->orcpt : "", n > Q_STR_MAX ? Q_STR_MAX : n);
	n = rc->remote != NULL ? strlen(rc->remote) : 0;
	wr_str(b, n ? rc->remote : "", n > Q_STR_MAX ? Q_STR_MAX : n);
}

/* q_nonempty: an empty string read back is "none". */
static char *
q_nonempty(char *s)
{
	if (s != NULL && *s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

static void
rcpt_free(struct queue_rcpt *rc)
{
	free(rc->addr);
	free(rc->last_result);
	free(rc->orcpt);
	free(rc->remote);
}

static int
rcpt_decode(const MDB_val *v, struct queue_rcpt *rc)
{
	struct rd r;
	unsigned ver;

	memset(rc, 0, sizeof *rc);
	rd_init(&r, v);
	ver = rd_u8(&r);
	if (ver != Q_RCPT_VERSION && ver != Q_REC_V1)
		return -1;
	rc->state = (int)rd_u8(&r);
	rc->attempts = rd_u32(&r);
	rc->next_attempt = (int64_t)rd_u64(&r);
	rc->last_attempt = (int64_t)rd_u64(&r);
	rc->addr = rd_str(&r, 1);
	switch (rd_u8(&r)) {
	case 0:
		break;
	case 1:
		rc->last_result = rd_str(&r, 1);
		break;
	default:
		r.bad = 1;
	}
	if (ver == Q_RCPT_VERSION) {
		rc->notify = rd_u8(&r);
		rc->orcpt = q_nonempty(rd_str(&r, 1));
		rc->remote = q_nonempty(rd_str(&r, 1));
	}
	if (rd_end(&r) == -1 || rc->addr == NULL || rc->state < QR_PENDING ||
	    rc->state > QR_FAILED || (rc->notify & ~QN_MASK) != 0) {
		rcpt_free(rc);
		memset(rc, 0, sizeof *rc);
		return -1;
	}
	return 0;
}

/* ---- ids --------------------------------------------------------------- */

static const char q_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
queue_id_str(uint64_t id, char out[QUEUE_ID_LEN + 1])
{
	int i;

	/* 13 digits of 5 bits hold 65: the first carries the top 4 bits. */
	for (i = QUEUE_ID_LEN - 1; i >= 0; i--) {
		out[i] = q_b32[id & 31];
		id >>= 5;
	}
	out[QUEUE_ID_LEN] = '\0';
}

static int
q_b32_val(int c)
{
	if (c >= 'a' && c <= 'z')
		c -= 'a' - 'A';
	switch (c) {		/* Crockford's aliases, for people typing */
	case 'O':
		return 0;
	case 'I':
	case 'L':
		return 1;
	default:
		break;
	}
	for (int i = 0; i < 32; i++)
		if (q_b32[i] == c)
			return i;
	return -1;
}

int
queue_id_parse(const char *s, uint64_t *id)
{
	uint64_t v = 0;
	int i, d;

	for (i = 0; i < QUEUE_ID_LEN; i++) {
		if (s[i] == '\0' || (d = q_b32_val((unsigned char)s[i])) < 0)
			return -1;
		if (i == 0 && d > 15)
			return -1;	/* would overflow 64 bits */
		v = v << 5 | (uint64_t)d;
	}
	if (s[QUEUE_ID_LEN] != '\0')
		return -1;
	*id = v;
	return 0;
}

static uint64_t
q_new_id(void)
{
	static uint32_t counter;
	uint64_t ms = (uint64_t)ob_now_ms() & ((1ULL << 44) - 1);
	uint32_t r;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		/* No entropy yet (early boot): still unlikely to collide,
		 * and a collision only costs a retry. */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() * 2654435761u ^
		    ++counter * 40503u;
	}
	return ms << 20 | (r & 0xfffff);
}

/* ---- environment and transactions -------------------------------------- */

static void
q_check(const struct queue *q)
{
	if (q->pid != getpid())
		panic("queue used across fork (opened by pid %ld, used in "
		    "pid %ld)", (long)q->pid, (long)getpid());
}

/* q_fs_full: 1 when the filesystem holding DIR has less than a megabyte
 * left for us (statvfs f_bavail). */
static int
q_fs_full(const char *dir)
{
	struct statvfs v;

	if (statvfs(dir, &v) != 0)
		return 0;
	return (uint64_t)v.f_bavail * v.f_frsize < 1024 * 1024;
}

/* q_mdb_err: fill ERR for LMDB/errno code RC from operation WHAT.  All
 * runtime failures are temporary: the submitter keeps the message and
 * retries, the scheduler tries again later. */
static int
q_mdb_err(struct queue *q, int rc, const char *what, struct ob_err *err)
{
	char sz[32];

	if (rc == MDB_MAP_FULL) {
		fmt_size(sz, sizeof sz, q->max_size);
		return ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
		    "queue is full (queue_max_size %s reached)", sz);
	}
	if (rc == MDB_READERS_FULL)
		return ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
		    "queue %s is busy: LMDB reader table full", q->dir);
	/* LMDB reports a short write (ENOSPC underneath) as EIO: say what
	 * it most likely is when the filesystem has no room left. */
	if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && q_fs_full(q->dir)))
		return ob_err_set(err, OB_TEMP, EX_TEMPFAIL, "queue %s: %s: no "
		    "space left on the queue's filesystem", q->dir, what);
	return ob_err_set(err, OB_TEMP, EX_TEMPFAIL, "queue %s: %s: %s",
	    q->dir, what, mdb_strerror(rc));
}

static void
q_pause(void)
{
	struct timespec ts = { 0, Q_PAUSE_NS };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
q_read_mapsize(struct queue *q)
{
	MDB_envinfo info;

	if (mdb_env_info(q->env, &info) == 0)
		q->mapsize = info.me_mapsize;
}

/* q_begin: a transaction, adopting a map grown by another process
 * (MAP_RESIZED) and waiting out a full reader table (READERS_FULL). */
static int
q_begin(struct queue *q, unsigned flags, MDB_txn **txnp, struct ob_err *err)
{
	int rc = 0, tries, dead;

	for (tries = 0; tries < Q_RETRIES; tries++) {
		rc = mdb_txn_begin(q->env, NULL, flags, txnp);
		if (rc == 0)
			return 0;
		if (rc == MDB_MAP_RESIZED) {
			/* size 0 adopts the size another process set */
			if ((rc = mdb_env_set_mapsize(q->env, 0)) != 0)
				break;
			q_read_mapsize(q);
			continue;
		}
		if (rc == MDB_READERS_FULL) {
			/* slots of dead processes are freed by the check */
			dead = 0;
			(void)mdb_reader_check(q->env, &dead);
			if (dead == 0)
				q_pause();
			continue;
		}
		break;
	}
	*txnp = NULL;
	return q_mdb_err(q, rc, "begin transaction", err);
}

/* q_grow: after MDB_MAP_FULL, double the map up to max_size. */
static int
q_grow(struct queue *q, struct ob_err *err)
{
	uint64_t n;
	int rc;

	q_read_mapsize(q);
	if (q->mapsize >= q->max_size)
		return q_mdb_err(q, MDB_MAP_FULL, "grow", err);
	n = q->mapsize > q->max_size / 2 ? q->max_size : q->mapsize * 2;
	if ((rc = mdb_env_set_mapsize(q->env, (size_t)n)) != 0)
		return q_mdb_err(q, rc, "grow map", err);
	q_read_mapsize(q);
	log_debug("queue map grown to %llu", (unsigned long long)q->mapsize);
	return 0;
}

/* q_write: run FN in a write transaction and commit it with SYNC mode
 * (Q_SYNC or Q_SYNC_DATA).  On MDB_MAP_FULL, anywhere, the transaction is
 * aborted, the map grown, and FN run again from scratch in a fresh
 * transaction: FN must not change its caller's state before we return 0.
 * Returns 0, -1 (ERR set), or Q_COLLIDE when FN reported a taken id. */
static int
q_write(struct queue *q, unsigned sync, const char *what, q_txn_fn fn,
    void *arg, struct ob_err *err)
{
	MDB_txn *txn;
	int rc;

	for (;;) {
		if (q_begin(q, 0, &txn, err) == -1)
			return -1;
		rc = fn(q, txn, arg, err);
		if (rc != 0) {
			mdb_txn_abort(txn);
		} else {
			if (queue_test_hook != NULL)
				queue_test_hook(what);
			if (sync != Q_SYNC)
				(void)mdb_env_set_flags(q->env, sync, 1);
			/* commit frees txn, even when it fails */
			rc = mdb_txn_commit(txn);
			if (sync != Q_SYNC)
				(void)mdb_env_set_flags(q->env, sync, 0);
			if (rc == 0)
				return 0;
		}
		if (rc == Q_EFN)
			return -1;
		if (rc == Q_COLLIDE)
			return Q_COLLIDE;
		if (rc != MDB_MAP_FULL)
			return q_mdb_err(q, rc, what, err);
		if (q_grow(q, err) == -1)
			return -1;
	}
}

/* q_old_schema: V is a schema version this code upgrades (1 or 2). */
static int
q_old_schema(const MDB_val *v)
{
	uint32_t ver;

	if (v->mv_size != 4)
		return 0;
	ver = get_be32(v->mv_data);
	return ver == 1 || ver == 2;
}

static int
q_pid_alive(uint32_t pid)
{
	if (pid == 0 || pid > (uint32_t)INT32_MAX)
		return 0;
	if (kill((pid_t)pid, 0) == 0)
		return 1;
	return errno == EPERM;
}

/* q_get_rec: the message record of ID.  1, 0 (none), or an LMDB code /
 * Q_EFN (corrupt, ERR set). */
static int
q_get_rec(struct queue *q, MDB_txn *txn, uint64_t id, struct q_rec *m,
    int keep_sender, struct ob_err *err)
{
	struct q_key k;
	MDB_val v;
	char ids[QUEUE_ID_LEN + 1];
	int rc;

	rc = mdb_get(txn, Q_MSG(q), key_id(&k, id), &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc == 1 ? EIO : rc;
	if (rec_decode(&v, m, keep_sender) == -1) {
		queue_id_str(id, ids);
		ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue %s: message record %s is corrupt", q->dir, ids);
		return Q_EFN;
	}
	return 1;
}

static int
q_put_rec(struct queue *q, MDB_txn *txn, uint64_t id, const struct q_rec *m,
    unsigned flags)
{
	struct q_key k;
	struct buf b;
	MDB_val v;
	int rc;

	buf_init(&b, 0);
	rec_encode(&b, m);
	v.mv_data = b.p;
	v.mv_size = b.len;
	rc = mdb_put(txn, Q_MSG(q), key_id(&k, id), &v, flags);
	buf_free(&b);
	return rc;
}

static int
q_put_due(struct queue *q, MDB_txn *txn, int64_t t, uint64_t id)
{
	struct q_key k;
	MDB_val v = { 0, "" };

	return mdb_put(txn, Q_DUE(q), key_due(&k, t, id), &v, 0);
}

static int
q_del_due(struct queue *q, MDB_txn *txn, int64_t t, uint64_t id)
{
	struct q_key k;
	int rc;

	rc = mdb_del(txn, Q_DUE(q), key_due(&k, t, id), NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* q_drop: forget the map pages around an overflow value (DATA, LEN) that
 * we or LMDB just touched.  The map is read-only, file-backed and shared,
 * so MADV_DONTNEED only costs a later fault from the page cache, and it
 * keeps a process that streams or deletes a 20 MiB body at its buffers'
 * size: RSS counts every page of the map we touched, and Linux maps up to
 * Q_FAULT_AROUND around each read fault (fault-around), so touching only
 * an overflow page's header (as mdb_del does, to learn its length) maps
 * 64 KiB.  The window is clamped to the map, which the page header tells
 * us: an overflow value starts PAGEHDRSZ (16) octets into a page whose
 * first field is its page number (LMDB's file format). */
#define Q_FAULT_AROUND	(64 * 1024)
#define Q_PAGEHDRSZ	16

static void
q_drop(struct queue *q, const void *data, size_t len)
{
	uintptr_t pg = (uintptr_t)q->pagesize, hdr, base, end, a, b;
	MDB_envinfo ei;
	uint64_t pgno;

	if (len < pg || ((uintptr_t)data & (pg - 1)) != Q_PAGEHDRSZ)
		return;		/* not an overflow value */
	hdr = (uintptr_t)data - Q_PAGEHDRSZ;
	memcpy(&pgno, (const void *)hdr, sizeof pgno);
	if (mdb_env_info(q->env, &ei) != 0 || pgno == 0
	    || pgno > ei.me_mapsize / pg || hdr < pgno * pg)
		return;
	base = hdr - pgno * pg;
	end = base + ei.me_mapsize;
	a = hdr & ~(uintptr_t)(Q_FAULT_AROUND - 1);
	b = ((uintptr_t)data + len + Q_FAULT_AROUND - 1)
	    & ~(uintptr_t)(Q_FAULT_AROUND - 1);
	if (a < base)
		a = base;
	if (b > end)
		b = end;
	if (a < b)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/* q_del_prefix: delete every id:u64 n:u32 key of ID in DBI (Q may be
 * NULL: no page dropping). */
static int
q_del_prefix(struct queue *q, MDB_txn *txn, MDB_dbi dbi, uint64_t id)
{
	MDB_cursor *c;
	struct q_key k;
	MDB_val key, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	for (;;) {
		key = *key_idn(&k, id, 0);
		rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (key.mv_size != 12 || get_be64(key.mv_data) != id)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		if (q != NULL)
			q_drop(q, v.mv_data, v.mv_size);
	}
	mdb_cursor_close(c);
	return rc;
}

/* q_del_due_any: remove any due entry of ID (for a record too corrupt to
 * say where it is): a full scan, only on that rare path. */
static int
q_del_due_any(struct queue *q, MDB_txn *txn, uint64_t id)
{
	MDB_cursor *c;
	MDB_val key, v;
	int rc, op = MDB_FIRST;

	if ((rc = mdb_cursor_open(txn, Q_DUE(q), &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size == 16 &&
		    get_be64((const uint8_t *)key.mv_data + 8) == id &&
		    (rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* q_remove: the message ID with everything it owns.  DUE is its due key
 * time, 0 for none, -1 for unknown. */
static int
q_remove(struct queue *q, MDB_txn *txn, uint64_t id, int64_t due)
{
	struct q_key k;
	int rc;

	rc = mdb_del(txn, Q_MSG(q), key_id(&k, id), NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if ((rc = q_del_prefix(NULL, txn, Q_RCPT(q), id)) != 0 ||
	    (rc = q_del_prefix(q, txn, Q_BODY(q), id)) != 0)
		return rc;
	if (due > 0)
		rc = q_del_due(q, txn, due, id);
	else if (due < 0)
		rc = q_del_due_any(q, txn, id);
	return rc;
}

/* ---- open and close ---------------------------------------------------- */

/* q_init_fn: create the databases and the schema version (first open), or
 * check the version found (another process initialised it meanwhile). */
static int
q_init_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	MDB_dbi maindb;
	MDB_cursor *c;
	MDB_val key, v;
	uint8_t vb[4];
	size_t i;
	int rc, op = MDB_FIRST, known;

	(void)arg;
	/* Refuse to add our databases to someone else's environment. */
	if ((rc = mdb_dbi_open(txn, NULL, 0, &maindb)) != 0 ||
	    (rc = mdb_cursor_open(txn, maindb, &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		known = 0;
		for (i = 0; i < Q_NDB; i++)
			if (key.mv_size == strlen(q_db_names[i]) &&
			    memcmp(key.mv_data, q_db_names[i],
			    key.mv_size) == 0)
				known = 1;
		if (!known) {
			mdb_cursor_close(c);
			return ob_err_set(err, OB_PERM, EX_CONFIG,
			    "queue %s holds an LMDB database that is not an "
			    "outbox queue", q->dir);
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return rc;
	for (i = 0; i < Q_NDB; i++)
		if ((rc = mdb_dbi_open(txn, q_db_names[i], MDB_CREATE,
		    &q->dbi[i])) != 0)
			return rc;
	key.mv_data = "version";
	key.mv_size = 7;
	rc = mdb_get(txn, Q_META(q), &key, &v);
	/* q_dbis checks the version after commit; version 1 differs only
	 * in the "dest" database (created above) and in records that are
	 * still read, so it is upgraded here. */
	if (rc == 0 && !q_old_schema(&v))
		return 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	put_be32(vb, QUEUE_SCHEMA_VERSION);
	v.mv_data = vb;
	v.mv_size = 4;
	return mdb_put(txn, Q_META(q), &key, &v, 0);
}

/* q_dbis: open the database handles and check the schema version.  The
 * common case is a read transaction; the first open writes. */
static int
q_dbis(struct queue *q, struct ob_err *err)
{
	MDB_txn *txn;
	MDB_val key, v;
	uint32_t ver;
	size_t i;
	int rc, pass;

	for (pass = 0; pass < 2; pass++) {
		if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
			return -1;
		rc = 0;
		for (i = 0; i < Q_NDB && rc == 0; i++)
			rc = mdb_dbi_open(txn, q_db_names[i], 0, &q->dbi[i]);
		if (rc == 0) {
			key.mv_data = "version";
			key.mv_size = 7;
			rc = mdb_get(txn, Q_META(q), &key, &v);
		}
		if (rc == 0 && (pass == 1 || !q_old_schema(&v)))
			break;
		mdb_txn_abort(txn);
		if (rc == 0)		/* an older version: upgrade */
			rc = MDB_NOTFOUND;
		if (rc != MDB_NOTFOUND || pass == 1)
			return q_mdb_err(q, rc, "open databases", err);
		if (q_write(q, Q_SYNC, "init", q_init_fn, NULL, err) != 0)
			return -1;
	}
	if (v.mv_size != 4) {
		mdb_txn_abort(txn);
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "queue %s has a corrupt schema version", q->dir);
	}
	ver = get_be32(v.mv_data);
	/* a read-only commit keeps the handles for the environment */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return q_mdb_err(q, rc, "open databases", err);
	if (ver != QUEUE_SCHEMA_VERSION)
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "queue %s has schema version %lu, this outbox understands "
		    "%d", q->dir, (unsigned long)ver, QUEUE_SCHEMA_VERSION);
	return 0;
}

int
queue_open(struct queue **qp, const char *dir, uint64_t max_size,
    struct ob_err *err)
{
	struct queue *q;
	struct stat st;
	char *data;
	uint64_t start;
	mode_t um;
	int rc;

	*qp = NULL;
	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			return ob_err_set(err, OB_PERM, EX_CANTCREAT,
			    "queue directory %s does not exist (create it, "
			    "writable by the daemon's user, or set queue_dir)",
			    dir);
		return ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
		    "queue directory %s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return ob_err_set(err, OB_PERM, EX_CANTCREAT,
		    "queue directory %s is not a directory", dir);

	q = xcalloc(1, sizeof *q);
	q->pid = getpid();
	q->dir = xstrdup(dir);
	q->max_size = max_size ? max_size : Q_MAX_DEFAULT;
	q->pagesize = sysconf(_SC_PAGESIZE);
	if (q->pagesize <= 0)
		q->pagesize = 4096;

	/* Start the map at what the data needs, at least Q_MAP_MIN, and
	 * never above max_size (LMDB itself never maps less than the data
	 * already holds).  Cheap: one stat, no scan. */
	start = Q_MAP_MIN;
	data = xasprintf("%s/data.mdb", dir);
	if (stat(data, &st) == 0 && (uint64_t)st.st_size > start)
		start = ((uint64_t)st.st_size + Q_MAP_ROUND - 1) /
		    Q_MAP_ROUND * Q_MAP_ROUND;
	free(data);
	if (start > q->max_size)
		start = q->max_size;

	if ((rc = mdb_env_create(&q->env)) != 0) {
		q->env = NULL;
		q_mdb_err(q, rc, "create environment", err);
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(q->env, Q_NDB + 2)) != 0 ||
	    (rc = mdb_env_set_mapsize(q->env, (size_t)start)) != 0) {
		q_mdb_err(q, rc, "configure environment", err);
		goto fail;
	}
	/* Files are created 0660 whatever the caller's umask (which
	 * sendmail inherits from its user): the queue is shared by group.
	 * MDB_NOTLS: reader slots belong to transactions, not threads. */
	um = umask(007);
	rc = mdb_env_open(q->env, dir, MDB_NOTLS, 0660);
	umask(um);
	if (rc != 0) {
		switch (rc) {
		case ENOENT:
			ob_err_set(err, OB_PERM, EX_CANTCREAT,
			    "queue directory %s does not exist (create it, "
			    "writable by the daemon's user, or set queue_dir)",
			    dir);
			break;
		case EACCES:
		case EPERM:
			ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
			    "queue directory %s is not writable: %s (run as "
			    "its owner, or give it to the submitting group: "
			    "outbox(8), SETGID SUBMISSION)", dir,
			    strerror(rc));
			break;
		case EROFS:
			ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
			    "queue directory %s is not writable: %s", dir,
			    strerror(rc));
			break;
		case MDB_INVALID:
		case MDB_VERSION_MISMATCH:
			ob_err_set(err, OB_PERM, EX_CONFIG,
			    "queue %s is not a usable LMDB environment: %s",
			    dir, mdb_strerror(rc));
			break;
		default:
			q_mdb_err(q, rc, "open", err);
		}
		goto fail;
	}
	q_read_mapsize(q);
	if (q_dbis(q, err) == -1)
		goto fail;
	*qp = q;
	return 0;
fail:
	if (q->env != NULL)
		mdb_env_close(q->env);
	free(q->dir);
	free(q);
	return -1;
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	q_check(q);
	mdb_env_close(q->env);
	free(q->dir);
	free(q);
}

/* ---- submission -------------------------------------------------------- */

int
queue_sub_begin(struct queue *q, struct queue_sub **sp, struct ob_err *err)
{
	struct queue_sub *s;

	(void)err;
	q_check(q);
	s = xcalloc(1, sizeof *s);
	s->owner = QUEUE_NO_OWNER;
	s->q = q;
	s->id = q_new_id();
	queue_id_str(s->id, s->idstr);
	s->started = ob_now_ms();
	*sp = s;
	return 0;
}

const char *
queue_sub_id(const struct queue_sub *s)
{
	return s->idstr;
}

static void
q_sub_newid(struct queue_sub *s)
{
	s->id = q_new_id();
	queue_id_str(s->id, s->idstr);
}

/* q_id_free: Q_COLLIDE if ID is published or reserved, else 0. */
static int
q_id_free(struct queue *q, MDB_txn *txn, uint64_t id)
{
	struct q_key k;
	MDB_val v;
	int rc;

	rc = mdb_get(txn, Q_MSG(q), key_id(&k, id), &v);
	if (rc == 0)
		return Q_COLLIDE;
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_get(txn, Q_PEND(q), key_id(&k, id), &v);
	if (rc == 0)
		return Q_COLLIDE;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* q_put_chunks: body chunks FIRST, FIRST+1, ... from P (LEN octets), each
 * QUEUE_CHUNK_SIZE but the last. */
static int
q_put_chunks(struct queue *q, MDB_txn *txn, uint64_t id, uint32_t first,
    const char *p, size_t len)
{
	struct q_key k;
	MDB_val v;
	size_t n;
	int rc;

	while (len > 0) {
		n = len > QUEUE_CHUNK_SIZE ? QUEUE_CHUNK_SIZE : len;
		v.mv_data = (void *)(uintptr_t)p;
		v.mv_size = n;
		rc = mdb_put(txn, Q_BODY(q), key_idn(&k, id, first), &v,
		    MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST)
			return Q_COLLIDE;	/* stray chunk: use another id */
		if (rc != 0)
			return rc;
		first++;
		p += n;
		len -= n;
	}
	return 0;
}

struct q_chunk_arg {
	struct queue_sub *s;
	const char *p;
	size_t	 len;
};

/* One full chunk of a large submission; the first also reserves the id. */
static int
q_chunk_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_chunk_arg *a = arg;
	struct queue_sub *s = a->s;
	struct q_key k;
	uint8_t pb[13];
	MDB_val v;
	int rc;

	(void)err;
	if (!s->reserved) {
		if ((rc = q_id_free(q, txn, s->id)) != 0)
			return rc;
		pb[0] = 1;	/* pend entry version */
		put_be32(pb + 1, (uint32_t)q->pid);
		put_be64(pb + 5, (uint64_t)s->started);
		v.mv_data = pb;
		v.mv_size = sizeof pb;
		rc = mdb_put(txn, Q_PEND(q), key_id(&k, s->id), &v,
		    MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST)
			return Q_COLLIDE;
		if (rc != 0)
			return rc;
	}
	rc = q_put_chunks(q, txn, s->id, s->nchunks, a->p, a->len);
	if (rc == Q_COLLIDE && s->reserved)
		return MDB_CORRUPTED;	/* our own id: can't be */
	return rc;
}

/* q_sub_flush: write the full buffer as chunks, one transaction each, so
 * LMDB's dirty pages stay at one chunk beside our buffer. */
static int
q_sub_flush(struct queue_sub *s, struct ob_err *err)
{
	struct q_chunk_arg a;
	size_t off;
	int rc, tries = 0;

	for (off = 0; off < s->len; off += QUEUE_CHUNK_SIZE) {
		a.s = s;
		a.p = s->buf + off;
		a.len = QUEUE_CHUNK_SIZE;
		while ((rc = q_write(s->q, Q_CHUNK_SYNC, "chunk", q_chunk_fn,
		    &a, err)) == Q_COLLIDE && !s->reserved &&
		    ++tries < Q_RETRIES)
			q_sub_newid(s);
		if (rc == Q_COLLIDE)
			return ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
			    "queue %s: no free id found", s->q->dir);
		if (rc != 0)
			return -1;
		s->reserved = 1;
		s->nchunks++;
	}
	s->len = 0;
	return 0;
}

int
queue_sub_write(struct queue_sub *s, const void *p, size_t n,
    struct ob_err *err)
{
	const char *cp = p;
	size_t take;

	q_check(s->q);
	if (s->done || s->failed)
		return ob_err_set(err, OB_TEMP, EX_SOFTWARE,
		    "queue: write to a finished submission");
	if (n > Q_MSG_MAX - s->size) {
		s->failed = 1;
		return ob_err_set(err, OB_PERM, EX_DATAERR,
		    "queue: message too large");
	}
	while (n > 0) {
		/* The buffer is full and more is coming: the message is
		 * larger than QUEUE_SUB_BUFMAX, so start writing chunks. */
		if (s->len == QUEUE_SUB_BUFMAX &&
		    q_sub_flush(s, err) == -1) {
			s->failed = 1;
			return -1;
		}
		take = QUEUE_SUB_BUFMAX - s->len;
		if (take > n)
			take = n;
		if (s->len + take > s->cap) {
			size_t cap = s->cap ? s->cap : 16384;

			while (cap < s->len + take)
				cap *= 2;
			if (cap > QUEUE_SUB_BUFMAX)
				cap = QUEUE_SUB_BUFMAX;
			s->buf = xrealloc(s->buf, cap);
			s->cap = cap;
		}
		memcpy(s->buf + s->len, cp, take);
		s->len += take;
		s->size += take;
		cp += take;
		n -= take;
	}
	return 0;
}

struct q_commit_arg {
	struct queue_sub *s;
	const char *sender;
	const char *const *rcpt;
	size_t	 nrcpt;
	unsigned flags;
	int64_t	 now;
};

/* The publishing transaction: rest of the body, message record,
 * recipients, due entry, and the end of the reservation. */
static int
q_commit_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_commit_arg *a = arg;
	struct queue_sub *s = a->s;
	struct queue_rcpt rc0;
	struct q_rec m;
	struct q_key k;
	struct buf b;
	MDB_val v;
	size_t i;
	int rc;

	if (s->reserved) {
		/* queue_gc may have judged us dead (pid reuse, age) and
		 * taken our chunks: then they are gone, say so. */
		rc = mdb_get(txn, Q_PEND(q), key_id(&k, s->id), &v);
		if (rc == MDB_NOTFOUND || (rc == 0 && (v.mv_size != 13 ||
		    get_be32((const uint8_t *)v.mv_data + 1) !=
		    (uint32_t)q->pid)))
			return ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
			    "queue %s: submission %s was removed before "
			    "commit", q->dir, s->idstr);
		if (rc != 0)
			return rc;
		if ((rc = mdb_del(txn, Q_PEND(q), key_id(&k, s->id),
		    NULL)) != 0)
			return rc;
	} else if ((rc = q_id_free(q, txn, s->id)) != 0)
		return rc;

	rc = q_put_chunks(q, txn, s->id, s->nchunks, s->buf, s->len);
	if (rc != 0)
		return rc == Q_COLLIDE && s->reserved ? MDB_CORRUPTED : rc;

	memset(&m, 0, sizeof m);
	m.flags = a->flags;
	m.arrival = a->now;
	m.size = s->size;
	m.nchunks = s->nchunks + (uint32_t)((s->len + QUEUE_CHUNK_SIZE - 1) /
	    QUEUE_CHUNK_SIZE);
	m.nrcpt = (uint32_t)a->nrcpt;
	m.due = a->flags & QM_HELD ? 0 : a->now > 0 ? a->now : 1;
	m.sender = (char *)(uintptr_t)a->sender;
	m.ret = s->ret;
	m.envid = (char *)(uintptr_t)s->envid;
	m.owner = s->owner;
	rc = q_put_rec(q, txn, s->id, &m, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return s->reserved ? MDB_CORRUPTED : Q_COLLIDE;
	if (rc != 0)
		return rc;

	buf_init(&b, 0);
	memset(&rc0, 0, sizeof rc0);
	for (i = 0; i < a->nrcpt && rc == 0; i++) {
		rc0.addr = (char *)(uintptr_t)a->rcpt[i];
		rc0.notify = s->notify != NULL ? s->notify[i] & QN_MASK : 0;
		rc0.orcpt = s->orcpt != NULL ?
		    (char *)(uintptr_t)s->orcpt[i] : NULL;
		rcpt_encode(&b, &rc0);
		v.mv_data = b.p;
		v.mv_size = b.len;
		rc = mdb_put(txn, Q_RCPT(q), key_idn(&k, s->id, (uint32_t)i),
		    &v, 0);
	}
	buf_free(&b);
	if (rc != 0 || m.due == 0)
		return rc;
	return q_put_due(q, txn, m.due, s->id);
}

int
queue_sub_commit(struct queue_sub *s, const char *sender,
    const char *const *rcpt, size_t nrcpt, unsigned flags, int64_t now,
    struct ob_err *err)
{
	struct q_commit_arg a;
	size_t i;
	int rc, tries = 0;

	q_check(s->q);
	if (s->done || s->failed)
		return ob_err_set(err, OB_TEMP, EX_SOFTWARE,
		    "queue: commit of a finished submission");
	if (nrcpt == 0 || nrcpt > UINT32_MAX)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: a message needs 1 to 2^32-1 recipients");
	if (strlen(sender) > Q_STR_MAX)
		return ob_err_set(err, OB_PERM, EX_DATAERR,
		    "queue: sender address too long");
	for (i = 0; i < nrcpt; i++)
		if (strlen(rcpt[i]) > Q_STR_MAX || (s->orcpt != NULL &&
		    s->orcpt[i] != NULL && strlen(s->orcpt[i]) > Q_STR_MAX))
			return ob_err_set(err, OB_PERM, EX_DATAERR,
			    "queue: recipient address too long");
	if ((s->envid != NULL && strlen(s->envid) > Q_STR_MAX) ||
	    s->ret < QRET_DEFAULT || s->ret > QRET_HDRS)
		return ob_err_set(err, OB_PERM, EX_DATAERR,
		    "queue: bad RET or ENVID");
	a.s = s;
	a.sender = sender;
	a.rcpt = rcpt;
	a.nrcpt = nrcpt;
	a.flags = flags;
	a.now = now;
	/* The commit point: one synced transaction (LMDB's default sync,
	 * fdatasync of the data then the meta page) publishes the whole
	 * message.  sendmail's exit 0 depends on this returning 0. */
	while ((rc = q_write(s->q, s->nosync ? Q_NOSYNC : Q_SYNC, "commit",
	    q_commit_fn, &a, err)) == Q_COLLIDE && !s->reserved && ++tries < Q_RETRIES)
		q_sub_newid(s);
	if (rc == Q_COLLIDE)
		rc = ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
		    "queue %s: no free id found", s->q->dir);
	if (rc != 0) {
		s->failed = 1;
		return -1;
	}
	s->nchunks += (uint32_t)((s->len + QUEUE_CHUNK_SIZE - 1) /
	    QUEUE_CHUNK_SIZE);
	s->len = 0;
	s->done = 1;
	return 0;
}

void
queue_sub_nosync(struct queue_sub *s)
{
	s->nosync = 1;
}

void
queue_sub_owner(struct queue_sub *s, uint32_t uid)
{
	s->owner = uid;
}

void
queue_sub_dsn(struct queue_sub *s, int ret, const char *envid,
    const unsigned *notify, const char *const *orcpt)
{
	s->ret = ret;
	s->envid = envid != NULL && *envid != '\0' ? envid : NULL;
	s->notify = notify;
	s->orcpt = orcpt;
}

/* Remove the chunks and reservation of an unpublished submission. */
static int
q_abort_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct queue_sub *s = arg;
	struct q_key k;
	MDB_val v;
	int rc;

	(void)err;
	rc = mdb_get(txn, Q_PEND(q), key_id(&k, s->id), &v);
	if (rc == MDB_NOTFOUND)
		return 0;	/* queue_gc was here first */
	if (rc != 0)
		return rc;
	if ((rc = q_del_prefix(q, txn, Q_BODY(q), s->id)) != 0)
		return rc;
	return mdb_del(txn, Q_PEND(q), key_id(&k, s->id), NULL);
}

void
queue_sub_free(struct queue_sub *s)
{
	struct ob_err err;

	if (s == NULL)
		return;
	q_check(s->q);
	if (!s->done && s->reserved &&
	    q_write(s->q, Q_SYNC_DATA, "abort", q_abort_fn, s, &err) != 0)
		log_warn("%s abandoned submission not removed (queue_gc will "
		    "remove it): %s", s->idstr, err.text);
	free(s->buf);
	free(s);
}

/* ---- reading ----------------------------------------------------------- */

void
queue_msg_free(struct queue_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nrcpt; i++)
		rcpt_free(&m->rcpt[i]);
	free(m->rcpt);
	free(m->sender);
	free(m->envid);
	free(m);
}

/* q_load_txn: message ID in TXN, with recipients.  1, 0, or LMDB code /
 * Q_EFN. */
static int
q_load_txn(struct queue *q, MDB_txn *txn, uint64_t id, struct queue_msg **mp,
    struct ob_err *err)
{
	struct queue_msg *m;
	struct q_rec r;
	MDB_cursor *c = NULL;
	struct q_key k;
	MDB_val key, v;
	uint32_t i;
	int rc;

	*mp = NULL;
	if ((rc = q_get_rec(q, txn, id, &r, 1, err)) != 1)
		return rc;
	m = xcalloc(1, sizeof *m);
	m->id = id;
	queue_id_str(id, m->idstr);
	m->sender = r.sender;
	m->envid = r.envid;
	m->owner = r.owner;
	m->ret = r.ret;
	m->arrival = r.arrival;
	m->size = r.size;
	m->flags = r.flags;
	m->nchunks = r.nchunks;
	m->due = r.due;
	m->last_attempt = r.last_attempt;
	m->lease_until = r.lease_until;
	m->lease_pid = (pid_t)r.lease_pid;
	m->rcpt = xcalloc(r.nrcpt ? r.nrcpt : 1, sizeof *m->rcpt);
	if ((rc = mdb_cursor_open(txn, Q_RCPT(q), &c)) != 0)
		goto fail;
	key = *key_idn(&k, id, 0);
	rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
	for (i = 0; i < r.nrcpt; i++) {
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto fail;
		if (rc == MDB_NOTFOUND || key.mv_size != 12 ||
		    get_be64(key.mv_data) != id ||
		    get_be32((const uint8_t *)key.mv_data + 8) != i ||
		    rcpt_decode(&v, &m->rcpt[i]) == -1)
			goto corrupt;
		m->nrcpt++;
		rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	*mp = m;
	return 1;
corrupt:
	ob_err_set(err, OB_PERM, EX_SOFTWARE,
	    "queue %s: recipients of %s are corrupt", q->dir, m->idstr);
	rc = Q_EFN;
fail:
	if (c != NULL)
		mdb_cursor_close(c);
	queue_msg_free(m);
	return rc == 1 ? EIO : rc;
}

int
queue_load(struct queue *q, uint64_t id, struct queue_msg **mp,
    struct ob_err *err)
{
	MDB_txn *txn;
	int rc;

	q_check(q);
	*mp = NULL;
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	rc = q_load_txn(q, txn, id, mp, err);
	mdb_txn_abort(txn);
	if (rc == 0 || rc == 1)
		return rc;
	if (rc != Q_EFN)
		q_mdb_err(q, rc, "load", err);
	return -1;
}

int
queue_body_chunk(struct queue *q, uint64_t id, uint32_t i, struct buf *out,
    struct ob_err *err)
{
	MDB_txn *txn;
	struct q_key k;
	MDB_val v;
	int rc, r = -1;

	q_check(q);
	buf_clear(out);
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	rc = mdb_get(txn, Q_BODY(q), key_idn(&k, id, i), &v);
	if (rc == MDB_NOTFOUND) {
		r = 0;
		goto done;
	}
	if (rc != 0) {
		q_mdb_err(q, rc, "read body", err);
		goto done;
	}
	if (v.mv_size > QUEUE_CHUNK_SIZE) {
		ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue %s: body chunk %lu is corrupt", q->dir,
		    (unsigned long)i);
		goto done;
	}
	if (buf_add(out, v.mv_data, v.mv_size) == -1) {
		ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: body chunk larger than the buffer");
		goto done;
	}
	q_drop(q, v.mv_data, v.mv_size);	/* see q_drop */
	r = 1;
done:
	mdb_txn_abort(txn);
	return r;
}

int
queue_foreach(struct queue *q, int (*fn)(const struct queue_msg *, void *),
    void *arg, struct ob_err *err)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, v;
	struct queue_msg *m;
	struct ob_err e;
	size_t bad = 0;
	int rc, op = MDB_FIRST, stop = 0;

	q_check(q);
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(txn, Q_MSG(q), &c)) != 0) {
		mdb_txn_abort(txn);
		return q_mdb_err(q, rc, "list", err);
	}
	while (!stop && (rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size != 8) {
			bad++;
			continue;
		}
		rc = q_load_txn(q, txn, get_be64(key.mv_data), &m, &e);
		if (rc == Q_EFN) {
			/* list the rest; report it at the end */
			log_warn("%s", e.text);
			bad++;
			continue;
		}
		if (rc != 1)
			break;
		stop = fn(m, arg);
		queue_msg_free(m);
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (stop || rc == MDB_NOTFOUND || rc == 0) {
		if (bad)
			return ob_err_set(err, OB_PERM, EX_SOFTWARE,
			    "queue %s: %zu corrupt message records skipped",
			    q->dir, bad);
		return 0;
	}
	return q_mdb_err(q, rc, "list", err);
}

/* ---- delivery ---------------------------------------------------------- */

struct q_claim_arg {
	int64_t	 now, not_since, lease_ms;
	int	 all;
	uint64_t *ids;
	int64_t	*due;		/* due key of each candidate */
	size_t	 max, n;
	queue_filter_fn *want;	/* NULL: every message */
	void	*warg;
};

static int
q_claim_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_claim_arg *a = arg;
	MDB_cursor *c;
	MDB_val key, v;
	struct q_rec m;
	uint64_t id;
	int64_t t;
	size_t i;
	int rc, op = MDB_FIRST;

	a->n = 0;
	if ((rc = mdb_cursor_open(txn, Q_DUE(q), &c)) != 0)
		return rc;
	/* First pick, then change: the due index must not move under the
	 * cursor. */
	while (a->n < a->max && (rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size != 16)
			continue;
		t = (int64_t)get_be64(key.mv_data);
		id = get_be64((const uint8_t *)key.mv_data + 8);
		if (!a->all && t > a->now)
			break;
		rc = q_get_rec(q, txn, id, &m, a->want != NULL, err);
		if (rc == 0 || rc == Q_EFN) {
			log_warn("queue: due entry without a usable message "
			    "(%s), skipped", rc == 0 ? "none" : err->text);
			continue;
		}
		if (rc != 1)
			break;
		rc = 0;
		if (a->want != NULL && !a->want(m.sender, a->warg)) {
			rec_free(&m);
			continue;
		}
		rec_free(&m);
		if (m.flags & QM_HELD)
			continue;
		if (a->not_since > 0 && m.last_attempt != 0 &&
		    m.last_attempt >= a->not_since)
			continue;
		if (m.lease_until > a->now && q_pid_alive(m.lease_pid))
			continue;
		a->ids[a->n] = id;
		a->due[a->n] = t;
		a->n++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	for (i = 0; i < a->n; i++) {
		if ((rc = q_get_rec(q, txn, a->ids[i], &m, 1, err)) != 1)
			return rc == 0 ? MDB_CORRUPTED : rc;
		m.lease_pid = (uint32_t)q->pid;
		m.lease_until = a->now + a->lease_ms;
		m.due = m.lease_until > 0 ? m.lease_until : 1;
		if ((rc = q_del_due(q, txn, a->due[i], a->ids[i])) == 0 &&
		    (rc = q_put_due(q, txn, m.due, a->ids[i])) == 0)
			rc = q_put_rec(q, txn, a->ids[i], &m, 0);
		rec_free(&m);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
queue_claim(struct queue *q, int64_t now, int all, int64_t not_since,
    int64_t lease_ms, uint64_t *ids, size_t max, size_t *n,
    struct ob_err *err)
{
	return queue_claim_for(q, now, all, not_since, lease_ms, ids, max, n,
	    NULL, NULL, err);
}

int
queue_claim_for(struct queue *q, int64_t now, int all, int64_t not_since,
    int64_t lease_ms, uint64_t *ids, size_t max, size_t *n,
    queue_filter_fn *want, void *warg, struct ob_err *err)
{
	struct q_claim_arg a;
	int rc;

	q_check(q);
	*n = 0;
	if (max == 0)
		return 0;
	a.now = now;
	a.all = all;
	a.not_since = not_since;
	a.lease_ms = lease_ms;
	a.ids = ids;
	a.want = want;
	a.warg = warg;
	a.due = xcalloc(max, sizeof *a.due);
	a.max = max;
	a.n = 0;
	/* Losing a lease to a system crash is harmless: data sync only. */
	rc = q_write(q, Q_SYNC_DATA, "claim", q_claim_fn, &a, err);
	free(a.due);
	if (rc != 0)
		return -1;
	*n = a.n;
	return 0;
}

struct q_update_arg {
	struct queue_msg *const *m;
	struct queue_bounce *const *b;
	size_t	 n;
	int64_t	 now;
	int	 keep;		/* queue_record: recipients only */
};

/* A body being written chunk by chunk inside one transaction. */
struct q_bw {
	struct queue *q;
	MDB_txn	*txn;
	uint64_t id, size;
	uint32_t n;		/* chunks written */
	struct buf cur;		/* the chunk being filled */
	int	 eight;		/* an octet over 127 went by */
};

/* q_bw_put: write the chunk being filled, if any. */
static int
q_bw_put(struct q_bw *w)
{
	struct q_key k;
	MDB_val v;
	int rc;

	if (w->cur.len == 0)
		return 0;
	v.mv_data = w->cur.p;
	v.mv_size = w->cur.len;
	rc = mdb_put(w->txn, Q_BODY(w->q), key_idn(&k, w->id, w->n), &v,
	    MDB_NOOVERWRITE);
	if (rc != 0)
		return rc == MDB_KEYEXIST ? Q_COLLIDE : rc;
	w->n++;
	buf_clear(&w->cur);
	return 0;
}

static int
q_bw_add(struct q_bw *w, const char *p, size_t len)
{
	size_t i, take;
	int rc;

	for (i = 0; i < len && !w->eight; i++)
		if ((unsigned char)p[i] > 127)
			w->eight = 1;
	w->size += len;
	while (len > 0) {
		take = QUEUE_CHUNK_SIZE - w->cur.len;
		if (take > len)
			take = len;
		(void)buf_add(&w->cur, p, take);
		p += take;
		len -= take;
		if (w->cur.len == QUEUE_CHUNK_SIZE && (rc = q_bw_put(w)) != 0)
			return rc;
	}
	return 0;
}

/* q_put_bounce: queue B, a report on message ORIG (whose record is R),
 * at NOW in TXN.  Fills b->idstr. */
static int
q_put_bounce(struct queue *q, MDB_txn *txn, uint64_t orig,
    const struct q_rec *r, struct queue_bounce *b, int64_t now,
    struct ob_err *err)
{
	struct queue_rcpt rc0;
	struct q_rec m;
	struct q_bw w;
	struct q_key k;
	struct buf tmp;
	MDB_val v;
	uint32_t i;
	int rc, tries = 0;

	if (b->rcpt == NULL || *b->rcpt == '\0' ||
	    strlen(b->rcpt) > Q_STR_MAX || b->sender == NULL ||
	    strlen(b->sender) > Q_STR_MAX)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad bounce (no recipient or sender)");
	memset(&w, 0, sizeof w);
	w.q = q;
	w.txn = txn;
	do
		w.id = q_new_id();
	while ((rc = q_id_free(q, txn, w.id)) == Q_COLLIDE &&
	    ++tries < Q_RETRIES);
	if (rc != 0)
		return rc == Q_COLLIDE ? MDB_KEYEXIST : rc;
	buf_init(&w.cur, 0);
	buf_init(&tmp, 0);
	rc = q_bw_add(&w, b->head, b->headlen);
	if (rc == 0 && !b->copy_body)
		rc = q_bw_add(&w, b->mid, b->midlen);
	for (i = 0; rc == 0 && b->copy_body && i < r->nchunks; i++) {
		/* copied: a put may move the page a get points into */
		if ((rc = mdb_get(txn, Q_BODY(q), key_idn(&k, orig, i),
		    &v)) != 0)
			break;
		buf_clear(&tmp);
		(void)buf_add(&tmp, v.mv_data, v.mv_size);
		rc = q_bw_add(&w, tmp.p, tmp.len);
	}
	if (rc == 0)
		rc = q_bw_add(&w, b->tail, b->taillen);
	if (rc == 0)
		rc = q_bw_put(&w);
	buf_free(&w.cur);
	buf_free(&tmp);
	if (rc != 0)
		return rc == Q_COLLIDE ? MDB_CORRUPTED : rc;

	memset(&m, 0, sizeof m);
	m.flags = b->flags | (w.eight ? QM_8BIT : 0);
	m.arrival = now;
	m.size = w.size;
	m.nchunks = w.n;
	m.nrcpt = 1;
	m.owner = QUEUE_NO_OWNER;
	m.due = now > 0 ? now : 1;
	m.sender = (char *)(uintptr_t)b->sender;
	if ((rc = q_put_rec(q, txn, w.id, &m, MDB_NOOVERWRITE)) != 0)
		return rc == MDB_KEYEXIST ? MDB_CORRUPTED : rc;
	memset(&rc0, 0, sizeof rc0);
	rc0.addr = (char *)(uintptr_t)b->rcpt;
	buf_init(&tmp, 0);
	rcpt_encode(&tmp, &rc0);
	v.mv_data = tmp.p;
	v.mv_size = tmp.len;
	rc = mdb_put(txn, Q_RCPT(q), key_idn(&k, w.id, 0), &v, 0);
	buf_free(&tmp);
	if (rc == 0)
		rc = q_put_due(q, txn, m.due, w.id);
	if (rc == 0)
		queue_id_str(w.id, b->idstr);
	return rc;
}

static int
q_update_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_update_arg *a = arg;
	const struct queue_msg *m;
	struct q_rec r;
	struct q_key k;
	struct buf b;
	MDB_val v;
	size_t i, j;
	int rc = 0, pending, other;
	int64_t next;

	buf_init(&b, 0);
	for (i = 0; i < a->n && rc == 0; i++) {
		m = a->m[i];
		rc = q_get_rec(q, txn, m->id, &r, 1, err);
		if (rc == 0) {
			log_warn("%s deleted during delivery; result not "
			    "recorded", m->idstr);
			continue;
		}
		if (rc != 1)
			break;
		rc = 0;
		if (r.nrcpt != m->nrcpt) {
			rec_free(&r);
			rc = ob_err_set(err, OB_PERM, EX_SOFTWARE,
			    "queue: update of %s with %zu recipients, "
			    "stored %lu", m->idstr, m->nrcpt,
			    (unsigned long)r.nrcpt);
			break;
		}
		pending = 0;
		next = 0;
		for (j = 0; j < m->nrcpt && rc == 0; j++) {
			const struct queue_rcpt *rc1 = &m->rcpt[j];
			int64_t t;

			if (rc1->addr == NULL || strlen(rc1->addr) > Q_STR_MAX ||
			    rc1->state < QR_PENDING || rc1->state > QR_FAILED) {
				rc = ob_err_set(err, OB_PERM, EX_SOFTWARE,
				    "queue: update of %s: bad recipient %zu",
				    m->idstr, j);
				break;
			}
			if (rc1->state == QR_PENDING) {
				t = rc1->next_attempt > 0 ?
				    rc1->next_attempt : a->now;
				if (!pending++ || t < next)
					next = t;
			}
			/* statistics: an attempt counts once, when its
			 * result settles (see the statistics section) */
			if (!a->keep && (rc = q_stats_rcpt(q, txn, m->id,
			    (uint32_t)j, &r, rc1, a->now)) != 0)
				break;
			rcpt_encode(&b, rc1);
			v.mv_data = b.p;
			v.mv_size = b.len;
			rc = mdb_put(txn, Q_RCPT(q),
			    key_idn(&k, m->id, (uint32_t)j), &v, 0);
		}
		if (a->keep) {
			/* queue_record: lease, due entry and the message
			 * itself stay as they are */
			rec_free(&r);
			continue;
		}
		/* The bounce is written with the failure it reports. */
		if (rc == 0 && a->b != NULL && a->b[i] != NULL)
			rc = q_put_bounce(q, txn, m->id, &r, a->b[i], a->now,
			    err);
		if (rc != 0) {
			rec_free(&r);
			break;
		}
		if (!pending) {
			/* Invariant 2: it leaves only when every recipient
			 * is delivered or failed, and the failures are in a
			 * bounce committed with this (or not to be made). */
			rc = q_remove(q, txn, m->id, r.due);
			rec_free(&r);
			continue;
		}
		r.last_attempt = a->now;
		r.flags = (r.flags & (QM_HELD)) | (m->flags & ~(unsigned)QM_HELD);
		other = r.lease_until > a->now &&
		    r.lease_pid != (uint32_t)q->pid &&
		    q_pid_alive(r.lease_pid);
		if (!other) {
			r.lease_until = 0;
			r.lease_pid = 0;
			if (r.due > 0)
				rc = q_del_due(q, txn, r.due, m->id);
			/* held: out of the due index until released */
			r.due = r.flags & QM_HELD ? 0 : next > 0 ? next : 1;
			if (rc == 0 && r.due > 0)
				rc = q_put_due(q, txn, r.due, m->id);
		}
		if (rc == 0)
			rc = q_put_rec(q, txn, m->id, &r, 0);
		rec_free(&r);
	}
	buf_free(&b);
	if (rc == 0 && !a->keep)
		rc = q_stats_prune(q, txn, a->now);
	return rc;
}

int
queue_update_dsn(struct queue *q, struct queue_msg *const *m,
    struct queue_bounce *const *b, size_t n, int64_t now, struct ob_err *err)
{
	struct q_update_arg a;

	q_check(q);
	if (n == 0)
		return 0;
	a.m = m;
	a.b = b;
	a.n = n;
	a.now = now;
	a.keep = 0;
	/* Results sync the data pages but not the meta page: a system crash
	 * may undo the last result transaction (never more: the next commit's
	 * fdatasync carries this meta page), which can only send a message
	 * again, a duplicate (DESIGN invariant 2), never lose one: a bounce
	 * is undone only together with the failure it reports.  Delivery
	 * calls queue_sync() at the end of a run.  It saves one synchronous
	 * write per message (measured: ~2000 -> ~2400 messages/s). */
	return q_write(q, Q_SYNC_DATA, "update", q_update_fn, &a, err) == 0 ?
	    0 : -1;
}

int
queue_update(struct queue *q, struct queue_msg *const *m, size_t n,
    int64_t now, struct ob_err *err)
{
	return queue_update_dsn(q, m, NULL, n, now, err);
}

int
queue_record(struct queue *q, struct queue_msg *m, int64_t now,
    struct ob_err *err)
{
	struct q_update_arg a;

	q_check(q);
	a.m = &m;
	a.b = NULL;
	a.n = 1;
	a.now = now;
	a.keep = 1;
	/* as queue_update: the next commit's sync carries it */
	return q_write(q, Q_SYNC_DATA, "update", q_update_fn, &a, err) == 0 ?
	    0 : -1;
}

int
queue_sync(struct queue *q, struct ob_err *err)
{
	int rc;

	q_check(q);
	if ((rc = mdb_env_sync(q->env, 1)) != 0)
		return q_mdb_err(q, rc, "sync", err);
	return 0;
}

/* Our leases on a list of ids: released (UNTIL 0: due at NOW) or
 * renewed (until UNTIL); ids leased by others or not at all are left
 * alone.  DONE counts those changed. */
struct q_lease_arg {
	const uint64_t *ids;
	size_t	 n, done;
	int64_t	 now, until;
};

static int
q_lease_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_lease_arg *a = arg;
	struct q_rec r;
	size_t i;
	int rc = 0;

	a->done = 0;
	for (i = 0; i < a->n && rc == 0; i++) {
		rc = q_get_rec(q, txn, a->ids[i], &r, 1, err);
		if (rc == 0)
			continue;
		if (rc != 1)
			break;
		rc = 0;
		if (r.lease_until != 0 && r.lease_pid == (uint32_t)q->pid) {
			if (r.due > 0)
				rc = q_del_due(q, txn, r.due, a->ids[i]);
			r.lease_until = a->until;
			if (a->until == 0)
				r.lease_pid = 0;
			r.due = a->until != 0 ? a->until : a->now;
			if (r.due <= 0)
				r.due = 1;
			if (rc == 0)
				rc = q_put_due(q, txn, r.due, a->ids[i]);
			if (rc == 0)
				rc = q_put_rec(q, txn, a->ids[i], &r, 0);
			a->done++;
		}
		rec_free(&r);
	}
	return rc;
}

int
queue_release(struct queue *q, const uint64_t *ids, size_t n,
    struct ob_err *err)
{
	struct q_lease_arg a = { ids, n, 0, ob_now_ms(), 0 };

	q_check(q);
	if (n == 0)
		return 0;
	return q_write(q, Q_SYNC_DATA, "release", q_lease_fn, &a, err) ==
	    0 ? 0 : -1;
}

int
queue_renew(struct queue *q, const uint64_t *ids, size_t n, int64_t until,
    struct ob_err *err)
{
	struct q_lease_arg a = { ids, n, 0, ob_now_ms(), until };

	q_check(q);
	if (n == 0)
		return 0;
	if (until == 0)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: a lease cannot be renewed to 0");
	if (q_write(q, Q_SYNC_DATA, "renew", q_lease_fn, &a, err) != 0)
		return -1;
	return (int)a.done;
}

/* ---- scheduling -------------------------------------------------------- */

int
queue_due(struct queue *q, int64_t now, size_t max, size_t *ndue,
    int64_t *next, struct ob_err *err)
{
	return queue_due_for(q, now, max, ndue, next, NULL, NULL, err);
}

int
queue_due_for(struct queue *q, int64_t now, size_t max, size_t *ndue,
    int64_t *next, queue_filter_fn *want, void *warg, struct ob_err *err)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, v;
	size_t later = 0;
	int rc, op = MDB_FIRST;

	q_check(q);
	*ndue = 0;
	*next = 0;
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(txn, Q_DUE(q), &c)) != 0) {
		mdb_txn_abort(txn);
		return q_mdb_err(q, rc, "due", err);
	}
	while ((rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		int64_t t;

		op = MDB_NEXT;
		if (key.mv_size != 16)
			continue;
		t = (int64_t)get_be64(key.mv_data);
		if (want != NULL) {
			struct q_rec m;
			int k;

			/* Past NOW, other routes' entries could fill the
			 * index: after Q_DUE_AHEAD of them, say "look again
			 * then" rather than read them all (an early wake-up
			 * costs one more look, a full scan costs O(n)). */
			if (t > now && ++later > Q_DUE_AHEAD) {
				if (*next == 0)
					*next = t;
				break;
			}
			k = q_get_rec(q, txn,
			    get_be64((const uint8_t *)key.mv_data + 8), &m, 1,
			    err);
			if (k == 1 && !want(m.sender, warg)) {
				rec_free(&m);
				continue;
			}
			if (k == 1)
				rec_free(&m);
			else if (k != 0 && k != Q_EFN) {
				rc = k;
				break;
			}
		}
		if (*next == 0)
			*next = t;
		if (t > now || *ndue >= max)
			break;
		(*ndue)++;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return q_mdb_err(q, rc, "due", err);
	return 0;
}

static int
q_dest_decode(const MDB_val *v, struct queue_dest *d)
{
	struct rd r;
	char *why;

	memset(d, 0, sizeof *d);
	rd_init(&r, v);
	if (rd_u8(&r) != 1)
		return -1;
	d->failures = rd_u32(&r);
	d->since = (int64_t)rd_u64(&r);
	d->next_try = (int64_t)rd_u64(&r);
	why = rd_str(&r, 1);
	if (rd_end(&r) == -1 || why == NULL) {
		free(why);
		return -1;
	}
	(void)ob_snprintf(d->reason, sizeof d->reason, "%s", why);
	free(why);
	return 0;
}

static MDB_val *
q_dest_key(MDB_val *k, const char *name)
{
	k->mv_data = (void *)(uintptr_t)name;
	k->mv_size = strlen(name);
	return k;
}

int
queue_dest_get(struct queue *q, const char *name, struct queue_dest *d,
    struct ob_err *err)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	q_check(q);
	memset(d, 0, sizeof *d);
	if (*name == '\0' || strlen(name) > 511)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad destination name");
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	rc = mdb_get(txn, Q_DEST(q), q_dest_key(&k, name), &v);
	if (rc == 0 && q_dest_decode(&v, d) == -1) {
		log_warn("queue %s: backoff record of %s is corrupt, ignored",
		    q->dir, name);
		rc = MDB_NOTFOUND;
	}
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return q_mdb_err(q, rc, "destination", err);
	return 1;
}

struct q_dest_arg {
	const char *name, *reason;
	int64_t	 now, initial, max;
	struct queue_dest *d;
	int	 clear;
};

static int
q_dest_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_dest_arg *a = arg;
	struct queue_dest *d = a->d;
	MDB_val k, v;
	struct buf b;
	int64_t wait;
	uint32_t i;
	int rc;

	(void)err;
	rc = mdb_get(txn, Q_DEST(q), q_dest_key(&k, a->name), &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (a->clear)
		return rc == 0 ? mdb_del(txn, Q_DEST(q), &k, NULL) : 0;
	if (rc != 0 || q_dest_decode(&v, d) == -1) {
		memset(d, 0, sizeof *d);
		d->since = a->now;
	}
	if (d->failures < UINT32_MAX)
		d->failures++;
	wait = a->initial;
	for (i = 1; i < d->failures && wait < a->max; i++)
		wait *= 2;
	if (wait > a->max)
		wait = a->max;
	d->next_try = a->now + wait;
	(void)ob_snprintf(d->reason, sizeof d->reason, "%s", a->reason);
	buf_init(&b, 0);
	wr_u8(&b, 1);
	wr_u32(&b, d->failures);
	wr_u64(&b, (uint64_t)d->since);
	wr_u64(&b, (uint64_t)d->next_try);
	wr_str(&b, d->reason, strlen(d->reason));
	v.mv_data = b.p;
	v.mv_size = b.len;
	rc = mdb_put(txn, Q_DEST(q), &k, &v, 0);
	buf_free(&b);
	return rc;
}

int
queue_dest_fail(struct queue *q, const char *name, int64_t now,
    int64_t initial, int64_t max, const char *reason, struct queue_dest *d,
    struct ob_err *err)
{
	struct q_dest_arg a;

	q_check(q);
	/* bounded so that doubling and NOW + wait cannot overflow */
	if (*name == '\0' || strlen(name) > 511 || initial <= 0 ||
	    max < initial || max > 3650LL * 86400 * 1000)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad destination backoff");
	a.name = name;
	a.reason = reason != NULL ? reason : "";
	a.now = now;
	a.initial = initial;
	a.max = max;
	a.d = d;
	a.clear = 0;
	/* losing it to a system crash costs one early retry */
	return q_write(q, Q_SYNC_DATA, "dest", q_dest_fn, &a, err) == 0 ?
	    0 : -1;
}

int
queue_dest_ok(struct queue *q, const char *name, struct ob_err *err)
{
	struct queue_dest d;
	struct q_dest_arg a;
	int rc;

	if ((rc = queue_dest_get(q, name, &d, err)) != 1)
		return rc;
	memset(&a, 0, sizeof a);
	a.name = name;
	a.d = &d;
	a.clear = 1;
	return q_write(q, Q_SYNC_DATA, "dest", q_dest_fn, &a, err) == 0 ?
	    0 : -1;
}

struct q_rate_arg {
	const char *name;
	int64_t	 now, interval, slot;
};

static int
q_rate_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_rate_arg *a = arg;
	MDB_val k, v;
	uint8_t b[9];
	int64_t last = 0;
	int rc;

	(void)err;
	rc = mdb_get(txn, Q_DEST(q), q_dest_key(&k, a->name), &v);
	if (rc == 0 && v.mv_size == 9 && ((const uint8_t *)v.mv_data)[0] == 2)
		last = (int64_t)get_be64((const uint8_t *)v.mv_data + 1);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	a->slot = last + a->interval > a->now ? last + a->interval : a->now;
	b[0] = 2;
	put_be64(b + 1, (uint64_t)a->slot);
	v.mv_data = b;
	v.mv_size = sizeof b;
	return mdb_put(txn, Q_DEST(q), &k, &v, 0);
}

int
queue_rate_take(struct queue *q, const char *name, int64_t now,
    int64_t interval, int64_t *slot, struct ob_err *err)
{
	struct q_rate_arg a = { name, now, interval, now };

	q_check(q);
	if (*name == '\0' || strlen(name) > 511 || interval <= 0)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad rate");
	/* a lost reservation costs one early message after a crash of the
	 * whole system: data sync only */
	if (q_write(q, Q_SYNC_DATA, "rate", q_rate_fn, &a, err) != 0)
		return -1;
	*slot = a.slot;
	return 0;
}

/* Connection slots: "conn NAME" holds the pids of the processes that
 * have a connection to NAME open (type 3, then u32 pids).  A dead
 * holder's entry is dropped when it is in the way. */
struct q_slot_arg {
	const char *name;
	int	 limit;		/* take: at most this many; 0 = drop */
	uint32_t pid;
	int	 taken;
};

static int
q_slot_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_slot_arg *a = arg;
	uint32_t pids[256];
	const uint8_t *p;
	uint8_t b[1 + 4 * 256];
	size_t n = 0, i, j;
	MDB_val k, v;
	int rc, found = 0;

	(void)err;
	a->taken = 0;
	rc = mdb_get(txn, Q_DEST(q), q_dest_key(&k, a->name), &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0 && v.mv_size >= 1 && (v.mv_size - 1) % 4 == 0 &&
	    (v.mv_size - 1) / 4 <= 256 &&
	    ((const uint8_t *)v.mv_data)[0] == 3) {
		p = (const uint8_t *)v.mv_data + 1;
		for (n = 0; n < (v.mv_size - 1) / 4; n++)
			pids[n] = get_be32(p + 4 * n);
	}
	if (a->limit == 0) {		/* drop one of ours */
		for (i = 0; i < n && !found; i++)
			if (pids[i] == a->pid) {
				pids[i] = pids[--n];
				found = 1;
			}
		if (!found)
			return 0;
	} else {
		if (n >= (size_t)a->limit || n == 256) {
			for (i = j = 0; i < n; i++)
				if (q_pid_alive(pids[i]))
					pids[j++] = pids[i];
			if (j == n)
				return 0;	/* full: nothing to write */
			n = j;
		}
		if (n < (size_t)a->limit && n < 256) {
			pids[n++] = a->pid;
			a->taken = 1;
		}
	}
	if (n == 0)
		return rc == 0 ? mdb_del(txn, Q_DEST(q), &k, NULL) : 0;
	b[0] = 3;
	for (i = 0; i < n; i++)
		put_be32(b + 1 + 4 * i, pids[i]);
	v.mv_data = b;
	v.mv_size = 1 + 4 * n;
	return mdb_put(txn, Q_DEST(q), &k, &v, 0);
}

static int
q_slot(struct queue *q, const char *name, int limit, int *taken,
    struct ob_err *err)
{
	struct q_slot_arg a;
	char key[600];

	q_check(q);
	if (*name == '\0' || strlen(name) > 500 || limit < 0)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad slot");
	(void)ob_snprintf(key, sizeof key, "conn %s", name);
	a.name = key;
	a.limit = limit;
	a.pid = (uint32_t)q->pid;
	a.taken = 0;
	/* slots die with their holders: a system crash may lose them */
	if (q_write(q, Q_SYNC_DATA, "slot", q_slot_fn, &a, err) != 0)
		return -1;
	*taken = a.taken;
	return 0;
}

int
queue_slot_take(struct queue *q, const char *name, int limit,
    struct ob_err *err)
{
	int taken = 0;

	if (limit < 1)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad slot limit");
	return q_slot(q, name, limit, &taken, err) == -1 ? -1 : taken;
}

int
queue_slot_drop(struct queue *q, const char *name, struct ob_err *err)
{
	int taken = 0;

	return q_slot(q, name, 0, &taken, err);
}

/* ---- administration ---------------------------------------------------- */

struct q_gc_arg {
	int64_t	 now;
	int	 count;
};

/* ids: a growable list of ids, for changing a database after a scan */
struct q_ids {
	uint64_t *v;
	int64_t	*t;
	size_t	 n, cap;
};

static void
q_ids_add(struct q_ids *l, uint64_t id, int64_t t)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
		l->t = xreallocarray(l->t, l->cap, sizeof *l->t);
	}
	l->v[l->n] = id;
	l->t[l->n++] = t;
}

static int
q_gc_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_gc_arg *a = arg;
	struct q_ids pend = { 0 }, lease = { 0 };
	MDB_cursor *c = NULL;
	struct q_key k;
	MDB_val key, v;
	struct q_rec r;
	struct rd rd;
	uint32_t pid;
	int64_t started, t;
	uint64_t id;
	size_t i;
	int rc, op;

	a->count = 0;
	/* Unpublished submissions whose process is gone. */
	if ((rc = mdb_cursor_open(txn, Q_PEND(q), &c)) != 0)
		goto done;
	op = MDB_FIRST;
	while ((rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size != 8)
			continue;
		rd_init(&rd, &v);
		(void)rd_u8(&rd);
		pid = rd_u32(&rd);
		started = (int64_t)rd_u64(&rd);
		if (rd_end(&rd) == -1 || !q_pid_alive(pid) ||
		    a->now - started > QUEUE_PEND_MAX_AGE_MS)
			q_ids_add(&pend, get_be64(key.mv_data), 0);
	}
	mdb_cursor_close(c);
	c = NULL;
	if (rc != MDB_NOTFOUND)
		goto done;
	for (i = 0; i < pend.n; i++) {
		if ((rc = q_del_prefix(q, txn, Q_BODY(q), pend.v[i])) != 0 ||
		    (rc = mdb_del(txn, Q_PEND(q), key_id(&k, pend.v[i]),
		    NULL)) != 0)
			goto done;
		a->count++;
	}

	/* Leases of dead processes: their due entries lie in the future. */
	if ((rc = mdb_cursor_open(txn, Q_DUE(q), &c)) != 0)
		goto done;
	key = *key_due(&k, a->now + 1, 0);
	op = MDB_SET_RANGE;
	while ((rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size != 16)
			continue;
		t = (int64_t)get_be64(key.mv_data);
		id = get_be64((const uint8_t *)key.mv_data + 8);
		rc = q_get_rec(q, txn, id, &r, 0, err);
		if (rc == 0 || rc == Q_EFN)
			continue;
		if (rc != 1)
			goto done;
		if (r.lease_until > a->now && !q_pid_alive(r.lease_pid))
			q_ids_add(&lease, id, t);
	}
	mdb_cursor_close(c);
	c = NULL;
	if (rc != MDB_NOTFOUND)
		goto done;
	rc = 0;
	for (i = 0; i < lease.n; i++) {
		if ((rc = q_get_rec(q, txn, lease.v[i], &r, 1, err)) != 1) {
			rc = rc == 0 ? MDB_CORRUPTED : rc;
			goto done;
		}
		r.lease_until = 0;
		r.lease_pid = 0;
		r.due = a->now > 0 ? a->now : 1;
		if ((rc = q_del_due(q, txn, lease.t[i], lease.v[i])) == 0 &&
		    (rc = q_put_due(q, txn, r.due, lease.v[i])) == 0)
			rc = q_put_rec(q, txn, lease.v[i], &r, 0);
		rec_free(&r);
		if (rc != 0)
			goto done;
		a->count++;
	}
done:
	if (c != NULL)
		mdb_cursor_close(c);
	free(pend.v);
	free(pend.t);
	free(lease.v);
	free(lease.t);
	return rc;
}

int
queue_gc(struct queue *q, int64_t now, struct ob_err *err)
{
	struct q_gc_arg a;

	q_check(q);
	a.now = now;
	a.count = 0;
	if (q_write(q, Q_SYNC_DATA, "gc", q_gc_fn, &a, err) != 0)
		return -1;
	return a.count;
}

struct q_delete_arg {
	uint64_t id;
	int	 found;
};

static int
q_delete_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_delete_arg *a = arg;
	struct q_rec r;
	struct q_key k;
	int rc;

	a->found = 0;
	rc = q_get_rec(q, txn, a->id, &r, 0, err);
	if (rc == 0)
		return 0;
	if (rc != 1 && rc != Q_EFN)
		return rc;
	a->found = 1;
	/* a corrupt record is deleted too, its due entry found by a scan */
	if ((rc = q_remove(q, txn, a->id, rc == 1 ? r.due : -1)) != 0)
		return rc;
	rc = mdb_del(txn, Q_PEND(q), key_id(&k, a->id), NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
queue_delete(struct queue *q, uint64_t id, struct ob_err *err)
{
	struct q_delete_arg a;

	q_check(q);
	a.id = id;
	a.found = 0;
	if (q_write(q, Q_SYNC, "delete", q_delete_fn, &a, err) != 0)
		return -1;
	return a.found;
}

/* q_pending_next: the earliest next attempt of M's pending recipients
 * (NOW when one is due or unset), or 0 when none is pending. */
static int64_t
q_pending_next(const struct queue_msg *m, int64_t now)
{
	int64_t next = 0, t;
	size_t i;

	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != QR_PENDING)
			continue;
		t = m->rcpt[i].next_attempt > now ? m->rcpt[i].next_attempt
		    : now;
		if (next == 0 || t < next)
			next = t;
	}
	return next > 0 ? next : 0;
}

struct q_admin_arg {
	uint64_t id;
	int	 on;
	int64_t	 now;
	int	 count;
};

static int
q_hold_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_admin_arg *a = arg;
	struct queue_msg *m;
	struct q_rec r;
	int rc;

	a->count = 0;
	if ((rc = q_load_txn(q, txn, a->id, &m, err)) != 1)
		return rc;
	if ((rc = q_get_rec(q, txn, a->id, &r, 1, err)) != 1) {
		queue_msg_free(m);
		return rc == 0 ? MDB_CORRUPTED : rc;
	}
	a->count = 1;
	if (a->on)
		r.flags |= QM_HELD;
	else
		r.flags &= ~(unsigned)QM_HELD;
	/* A message out on a lease keeps its due entry: the holder's
	 * queue_update applies the flag. */
	if (!(r.lease_until > a->now && q_pid_alive(r.lease_pid))) {
		rc = r.due > 0 ? q_del_due(q, txn, r.due, a->id) : 0;
		r.lease_until = 0;
		r.lease_pid = 0;
		r.due = a->on ? 0 : q_pending_next(m, a->now);
		if (rc == 0 && r.due > 0)
			rc = q_put_due(q, txn, r.due, a->id);
	} else
		rc = 0;
	if (rc == 0)
		rc = q_put_rec(q, txn, a->id, &r, 0);
	rec_free(&r);
	queue_msg_free(m);
	return rc;
}

int
queue_hold(struct queue *q, uint64_t id, int on, int64_t now,
    struct ob_err *err)
{
	struct q_admin_arg a = { id, on, now, 0 };

	q_check(q);
	if (q_write(q, Q_SYNC, "hold", q_hold_fn, &a, err) != 0)
		return -1;
	return a.count;
}

/* q_retry_one: ID's pending recipients due now.  1 if changed. */
static int
q_retry_one(struct queue *q, MDB_txn *txn, uint64_t id, int64_t now,
    struct ob_err *err)
{
	struct queue_msg *m;
	struct q_rec r;
	struct q_key k;
	struct buf b;
	MDB_val v;
	size_t i;
	int rc, n = 0;

	if ((rc = q_load_txn(q, txn, id, &m, err)) != 1)
		return rc;
	if ((rc = q_get_rec(q, txn, id, &r, 1, err)) != 1) {
		queue_msg_free(m);
		return rc == 0 ? MDB_CORRUPTED : rc;
	}
	rc = 0;
	buf_init(&b, 0);
	if (!(r.flags & QM_HELD) &&
	    !(r.lease_until > now && q_pid_alive(r.lease_pid))) {
		for (i = 0; i < m->nrcpt && rc == 0; i++) {
			if (m->rcpt[i].state != QR_PENDING)
				continue;
			n = 1;
			m->rcpt[i].next_attempt = now;
			rcpt_encode(&b, &m->rcpt[i]);
			v.mv_data = b.p;
			v.mv_size = b.len;
			rc = mdb_put(txn, Q_RCPT(q),
			    key_idn(&k, id, (uint32_t)i), &v, 0);
		}
		if (rc == 0 && n) {
			if (r.due > 0)
				rc = q_del_due(q, txn, r.due, id);
			r.due = now > 0 ? now : 1;
			r.lease_until = 0;
			r.lease_pid = 0;
			if (rc == 0)
				rc = q_put_due(q, txn, r.due, id);
			if (rc == 0)
				rc = q_put_rec(q, txn, id, &r, 0);
		}
	}
	buf_free(&b);
	rec_free(&r);
	queue_msg_free(m);
	return rc == 0 ? n : rc;
}

static int
q_retry_fn(struct queue *q, MDB_txn *txn, void *arg, struct ob_err *err)
{
	struct q_admin_arg *a = arg;
	struct q_ids ids = { 0 };
	MDB_cursor *c;
	MDB_val key, v;
	size_t i;
	int rc, op = MDB_FIRST;

	a->count = 0;
	if (a->id != 0) {
		rc = q_retry_one(q, txn, a->id, a->now, err);
		if (rc == 0 || rc == 1) {
			a->count = rc;
			rc = 0;
		}
		return rc;
	}
	if ((rc = mdb_cursor_open(txn, Q_MSG(q), &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size == 8)
			q_ids_add(&ids, get_be64(key.mv_data), 0);
	}
	mdb_cursor_close(c);
	rc = rc == MDB_NOTFOUND ? 0 : rc;
	for (i = 0; i < ids.n && rc == 0; i++) {
		rc = q_retry_one(q, txn, ids.v[i], a->now, err);
		if (rc == Q_EFN) {	/* a corrupt one is no reason to stop */
			log_warn("%s", err->text);
			rc = 0;
		} else if (rc == 1) {
			a->count++;
			rc = 0;
		}
	}
	free(ids.v);
	free(ids.t);
	return rc;
}

int
queue_retry(struct queue *q, uint64_t id, int64_t now, struct ob_err *err)
{
	struct q_admin_arg a = { id, 0, now, 0 };

	q_check(q);
	if (q_write(q, Q_SYNC, "retry", q_retry_fn, &a, err) != 0)
		return -1;
	return a.count;
}

int
queue_stat(struct queue *q, struct queue_stat *st, struct ob_err *err)
{
	MDB_txn *txn;
	MDB_envinfo info;
	MDB_stat ms;
	uint64_t *dst[] = { NULL, &st->messages, &st->rcpts, &st->chunks,
	    &st->due, &st->pending, &st->dests, &st->stat_entries };
	size_t i;
	int rc;

	q_check(q);
	memset(st, 0, sizeof *st);
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	_Static_assert(sizeof dst / sizeof dst[0] == Q_NDB,
	    "queue_stat: one field per database");
	for (i = 1; i < Q_NDB; i++) {
		if ((rc = mdb_stat(txn, q->dbi[i], &ms)) != 0) {
			mdb_txn_abort(txn);
			return q_mdb_err(q, rc, "stat", err);
		}
		*dst[i] = ms.ms_entries;
	}
	mdb_txn_abort(txn);
	if ((rc = mdb_env_info(q->env, &info)) != 0 ||
	    (rc = mdb_env_stat(q->env, &ms)) != 0)
		return q_mdb_err(q, rc, "stat", err);
	st->map_size = info.me_mapsize;
	st->map_used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	q->mapsize = info.me_mapsize;
	return 0;
}

/* ---- statistics ---------------------------------------------------------
 *
 * The "stat" database counts recipient attempts by result, for `outbox
 * stats` and the metrics file (stats.c):
 *
 *   stat  bucket:u32 domain    -> u32 delivered, u32 deferred, u32 failed:
 *                                 attempts whose result was settled in
 *                                 that 5-minute bucket (unix seconds /
 *                                 QUEUE_STATS_BUCKET_S) for recipients at
 *                                 DOMAIN (the address's domain, ASCII
 *                                 lower-cased, 1..QUEUE_STATS_DOMAIN_MAX
 *                                 octets, no NUL); counts saturate
 *         0:u32 (no domain)    -> u64 delivered, u64 deferred, u64 failed:
 *                                 the totals since the queue was created
 *                                 (Prometheus counters; never pruned)
 *
 * Counting rule: a recipient's attempt is counted exactly once, by the
 * write that settles it: queue_update(_dsn) (never queue_record, whose
 * results are settled by a later queue_update_dsn of the same message),
 * in the same transaction, when its attempts grew over the stored record
 * or its last_attempt is later than the message's stored last_attempt
 * (which every settling write sets to its NOW).  The second test catches
 * direct delivery: queue_record already stored the new attempt count, and
 * writes a failure as pending until its bounce is written.  The result is
 * the recipient's new state: delivered, failed (bounced or expired,
 * RFC 3463 4.4.7), or deferred (still pending).  A recipient failed by
 * the administrator (delete --bounce) was not attempted: not counted.  A
 * wall clock stepped back can count one message's results twice.
 *
 * Retention: every settling write deletes buckets more than
 * QUEUE_STATS_KEEP buckets older than its own (24 h), at most
 * QUEUE_STATS_PRUNE of them per transaction.  Readers take short read
 * transactions of Q_STATS_BATCH entries each, so `outbox stats` never
 * pins old pages for long on a large queue.
 */
#define Q_STATS_BATCH	512	/* entries per read transaction */
#define Q_STATS_ROW	12	/* value size of a bucket row */
#define Q_STATS_TOT	24	/* value size of the totals */

uint32_t
queue_stats_bucket(int64_t ms)
{
	int64_t b;

	if (ms <= 0)
		return 0;
	b = ms / 1000 / QUEUE_STATS_BUCKET_S;
	return b > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

size_t
queue_stats_domain(const char *addr, char out[QUEUE_STATS_DOMAIN_MAX + 1])
{
	const char *at = strrchr(addr, '@'), *d;
	size_t n;

	d = at != NULL && at[1] != '\0' ? at + 1 : QUEUE_STATS_NODOMAIN;
	for (n = 0; n < QUEUE_STATS_DOMAIN_MAX && d[n] != '\0'; n++)
		out[n] = d[n] >= 'A' && d[n] <= 'Z' ? (char)(d[n] - 'A' + 'a')
		    : d[n];
	out[n] = '\0';
	return n;
}

/* q_stats_add: one attempt to ADDR with RESULT (QUEUE_STATS_*) at NOW. */
static int
q_stats_add(struct queue *q, MDB_txn *txn, int64_t now, const char *addr,
    int result)
{
	uint8_t kb[4 + QUEUE_STATS_DOMAIN_MAX + 1], vb[Q_STATS_TOT];
	MDB_val k, v;
	uint32_t c;
	int rc;

	put_be32(kb, queue_stats_bucket(now));
	k.mv_data = kb;
	k.mv_size = 4 + queue_stats_domain(addr, (char *)kb + 4);
	memset(vb, 0, sizeof vb);
	rc = mdb_get(txn, Q_STAT(q), &k, &v);
	if (rc == 0 && v.mv_size == Q_STATS_ROW)
		memcpy(vb, v.mv_data, Q_STATS_ROW);	/* else start over */
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	c = get_be32(vb + 4 * result);
	put_be32(vb + 4 * result, c < UINT32_MAX ? c + 1 : c);
	v.mv_data = vb;
	v.mv_size = Q_STATS_ROW;
	if ((rc = mdb_put(txn, Q_STAT(q), &k, &v, 0)) != 0)
		return rc;

	put_be32(kb, 0);
	k.mv_size = 4;
	memset(vb, 0, sizeof vb);
	rc = mdb_get(txn, Q_STAT(q), &k, &v);
	if (rc == 0 && v.mv_size == Q_STATS_TOT)
		memcpy(vb, v.mv_data, Q_STATS_TOT);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	put_be64(vb + 8 * result, get_be64(vb + 8 * result) + 1);
	v.mv_data = vb;
	v.mv_size = Q_STATS_TOT;
	return mdb_put(txn, Q_STAT(q), &k, &v, 0);
}

/* q_stats_rcpt: the counting rule above, for recipient N of message ID
 * (stored record R, before this write) about to be stored as RC1. */
static int
q_stats_rcpt(struct queue *q, MDB_txn *txn, uint64_t id, uint32_t n,
    const struct q_rec *r, const struct queue_rcpt *rc1, int64_t now)
{
	struct q_key k;
	MDB_val v;
	uint32_t before = 0;
	const uint8_t *p;
	int rc, result;

	/* both recipient record versions start u8 version, u8 state,
	 * u32 attempts */
	rc = mdb_get(txn, Q_RCPT(q), key_idn(&k, id, n), &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	p = rc == 0 ? v.mv_data : NULL;
	if (p != NULL && v.mv_size >= 6 && (p[0] == Q_REC_V1 ||
	    p[0] == Q_RCPT_VERSION))
		before = get_be32(p + 2);
	if (rc1->attempts <= before && (rc1->attempts == 0 ||
	    rc1->last_attempt <= r->last_attempt))
		return 0;
	switch (rc1->state) {
	case QR_DELIVERED:
		result = QUEUE_STATS_DELIVERED;
		break;
	case QR_PENDING:
		result = QUEUE_STATS_DEFERRED;
		break;
	case QR_FAILED:
		result = QUEUE_STATS_FAILED;
		break;
	default:
		panic("q_stats_rcpt: state %d", rc1->state);
	}
	return q_stats_add(q, txn, now, rc1->addr, result);
}

/* q_stats_prune: delete up to QUEUE_STATS_PRUNE buckets that fell out of
 * the kept day (and any malformed key met on the way). */
static int
q_stats_prune(struct queue *q, MDB_txn *txn, int64_t now)
{
	uint32_t cur = queue_stats_bucket(now);
	MDB_cursor *c;
	MDB_val k, v;
	int rc, op = MDB_FIRST, n = 0;

	if (cur <= QUEUE_STATS_KEEP)
		return 0;
	if ((rc = mdb_cursor_open(txn, Q_STAT(q), &c)) != 0)
		return rc;
	while (n < QUEUE_STATS_PRUNE &&
	    (rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;	/* after a delete: the entry that followed */
		if (k.mv_size == 4)
			continue;	/* the totals */
		if (k.mv_size > 4 &&
		    get_be32(k.mv_data) >= cur - QUEUE_STATS_KEEP)
			break;	/* keys sort by bucket: the rest is kept */
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct q_stats_arg {
	int64_t	 now;
	const char *addr;
	int	 result;
};

static int
q_stats_count_fn(struct queue *q, MDB_txn *txn, void *arg,
    struct ob_err *err)
{
	struct q_stats_arg *a = arg;
	int rc;

	(void)err;
	if ((rc = q_stats_add(q, txn, a->now, a->addr, a->result)) != 0)
		return rc;
	return q_stats_prune(q, txn, a->now);
}

int
queue_stats_count(struct queue *q, int64_t now, const char *addr,
    int result, struct ob_err *err)
{
	struct q_stats_arg a;

	q_check(q);
	if (addr == NULL || result < 0 || result >= QUEUE_STATS_NRES)
		return ob_err_set(err, OB_PERM, EX_SOFTWARE,
		    "queue: bad statistics count");
	a.now = now;
	a.addr = addr;
	a.result = result;
	return q_write(q, Q_SYNC_DATA, "stat", q_stats_count_fn, &a, err) == 0
	    ? 0 : -1;
}

int
queue_stats_totals(struct queue *q, uint64_t tot[QUEUE_STATS_NRES],
    struct ob_err *err)
{
	MDB_txn *txn;
	MDB_val k, v;
	uint8_t kb[4] = { 0, 0, 0, 0 };
	int rc, i;

	q_check(q);
	for (i = 0; i < QUEUE_STATS_NRES; i++)
		tot[i] = 0;
	if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
		return -1;
	k.mv_data = kb;
	k.mv_size = 4;
	rc = mdb_get(txn, Q_STAT(q), &k, &v);
	if (rc == 0 && v.mv_size == Q_STATS_TOT)
		for (i = 0; i < QUEUE_STATS_NRES; i++)
			tot[i] = get_be64((const uint8_t *)v.mv_data + 8 * i);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return q_mdb_err(q, rc, "statistics", err);
	return 0;
}

int
queue_stats_rows(struct queue *q, uint32_t first, queue_stats_fn *fn,
    void *arg, struct ob_err *err)
{
	uint8_t kb[4 + QUEUE_STATS_DOMAIN_MAX + 1];
	struct queue_stats_row row;
	const uint8_t *p;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	size_t klen = 4, n, d;
	int rc, i, resume = 0, stop = 0;

	q_check(q);
	put_be32(kb, first);
	for (;;) {
		/* one short read transaction per Q_STATS_BATCH entries,
		 * resuming after the last key seen */
		if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
			return -1;
		if ((rc = mdb_cursor_open(txn, Q_STAT(q), &c)) != 0) {
			mdb_txn_abort(txn);
			return q_mdb_err(q, rc, "statistics", err);
		}
		k.mv_data = kb;
		k.mv_size = klen;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && resume && k.mv_size == klen &&
		    memcmp(k.mv_data, kb, klen) == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		for (n = 0; rc == 0 && !stop && n < Q_STATS_BATCH; n++) {
			p = k.mv_data;
			d = k.mv_size - 4;
			if (k.mv_size > 4 && d <= QUEUE_STATS_DOMAIN_MAX &&
			    v.mv_size == Q_STATS_ROW &&
			    memchr(p + 4, '\0', d) == NULL) {
				row.bucket = get_be32(p);
				memcpy(row.domain, p + 4, d);
				row.domain[d] = '\0';
				for (i = 0; i < QUEUE_STATS_NRES; i++)
					row.n[i] = get_be32((const uint8_t *)
					    v.mv_data + 4 * i);
				stop = fn(&row, arg);
			}
			klen = k.mv_size < sizeof kb ? k.mv_size : sizeof kb;
			memcpy(kb, k.mv_data, klen);
			resume = 1;
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(c);
		mdb_txn_abort(txn);
		if (stop || rc == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return q_mdb_err(q, rc, "statistics", err);
	}
}

/* q_stats_msg: count message ID (record R) into S. */
static int
q_stats_msg(struct queue *q, MDB_txn *txn, uint64_t id, const struct q_rec *r,
    int64_t now, struct queue_stats_snap *s)
{
	MDB_cursor *c;
	struct q_key k;
	MDB_val key, v;
	const uint8_t *p;
	uint32_t i;
	int rc;

	s->messages++;
	s->bytes += r->size;
	if (r->flags & QM_BOUNCE)
		s->bounces++;
	if (s->oldest == 0 || r->arrival < s->oldest)
		s->oldest = r->arrival;
	if (r->lease_until > now && q_pid_alive(r->lease_pid))
		s->active++;
	else if (r->flags & QM_HELD)
		s->held++;
	else if (r->due != 0 && r->due <= now)
		s->due++;
	else
		s->waiting++;
	if ((rc = mdb_cursor_open(txn, Q_RCPT(q), &c)) != 0)
		return rc;
	key = *key_idn(&k, id, 0);
	rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
	for (i = 0; rc == 0 && i < r->nrcpt; i++) {
		if (key.mv_size != 12 || get_be64(key.mv_data) != id)
			break;
		p = v.mv_data;
		if (v.mv_size >= 2 && p[1] == QR_PENDING)
			s->rcpt_pending++;
		rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
queue_stats_scan(struct queue *q, int64_t now, struct queue_stats_snap *s,
    struct ob_err *err)
{
	struct q_rec r;
	struct q_key k;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, v;
	uint64_t next = 0, id;
	size_t n;
	int rc, more = 1;

	q_check(q);
	memset(s, 0, sizeof *s);
	while (more) {
		if (q_begin(q, MDB_RDONLY, &txn, err) == -1)
			return -1;
		if ((rc = mdb_cursor_open(txn, Q_MSG(q), &c)) != 0) {
			mdb_txn_abort(txn);
			return q_mdb_err(q, rc, "statistics", err);
		}
		key = *key_id(&k, next);
		rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
		for (n = 0; rc == 0 && n < Q_STATS_BATCH; n++) {
			id = key.mv_size >= 8 ? get_be64(key.mv_data) : 0;
			if (key.mv_size != 8 || rec_decode(&v, &r, 0) == -1)
				s->corrupt++;
			else if ((rc = q_stats_msg(q, txn, id, &r, now,
			    s)) != 0)
				break;
			if (id == UINT64_MAX) {
				rc = MDB_NOTFOUND;
				break;
			}
			if (key.mv_size >= 8)
				next = id + 1;	/* the next batch's start */
			rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
		}
		more = rc == 0;
		mdb_cursor_close(c);
		mdb_txn_abort(txn);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return q_mdb_err(q, rc, "statistics", err);
	}
	return 0;
}
