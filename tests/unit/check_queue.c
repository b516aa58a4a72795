/* check_queue.c - unit tests of queue.c: opening and the schema check,
 * ids, submission of small and multi-MiB bodies, claims and leases,
 * recording results, listing, deletion, garbage collection, a full map,
 * and crash consistency (a child killed inside each kind of write
 * transaction, through queue_test_hook).  Schema 2 (issue 3): the upgrade
 * of a version 1 queue and the decoding of both record versions, DSN
 * parameters and the remote server, bounces queued with a result
 * (queue_update_dsn), hold, retry, queue_due, and destination backoff.
 * Issue 5: connection slots (queue_slot_take/drop, a dead holder's slots
 * freed) and queue_record (results stored, the lease kept).
 *
 * Every test works in its own mkdtemp directory, removed when the test
 * ends; all of them lie in one mkdtemp directory under /tmp that main()
 * removes at the end, with whatever failed tests left.  Times derive from
 * one ob_now_ms() reading per test, so due times are compared exactly.  A
 * child process opens its own environment, never the parent's (LMDB's
 * never crosses fork()), does not use ck_assert, and leaves with _exit.
 * Ids made in the same millisecond are ordered by their random low bits,
 * so tests compare id order with the sorted ids, never submission order.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "queue.h"
#include "util.h"

#define KiB	1024
#define MiB	(1024 * 1024)
#define NCHUNKS(sz)	(((sz) + QUEUE_CHUNK_SIZE - 1) / QUEUE_CHUNK_SIZE)
#define LEASE	600000		/* ms: outlives any test */

/* ---- fixture: a fresh directory, the queue in it ------------------------ */

static char *g_base;		/* all tests' directories, made by main() */
static char *g_dir;		/* this test's directory */
static struct queue *g_q;	/* opened by q_open(), closed at teardown */
static int64_t T;		/* "now" at the start of the test */

static int
rm_fn(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 ? -1 : 0;
}

/* rm_tree: remove DIR and everything under it; 0 or -1. */
static int
rm_tree(const char *dir)
{
	return nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	char *tmpl = xasprintf("%s/t.XXXXXX", g_base);

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	g_dir = tmpl;
	g_q = NULL;
	queue_test_hook = NULL;
	T = ob_now_ms();
}

/* Not reached when an assertion fails in fork mode (Check's child leaves
 * with _exit): main() then removes what is left. */
static void
teardown(void)
{
	struct stat st;

	queue_close(g_q);
	g_q = NULL;
	ck_assert_int_eq(rm_tree(g_dir), 0);
	ck_assert_int_eq(stat(g_dir, &st), -1);
	free(g_dir);
	g_dir = NULL;
}

static struct queue *
q_open(uint64_t max)
{
	struct ob_err err;

	memset(&err, 0, sizeof err);
	if (queue_open(&g_q, g_dir, max, &err) == -1)
		ck_abort_msg("queue_open %s: %s", g_dir, err.text);
	return g_q;
}

static void
q_close(void)
{
	queue_close(g_q);
	g_q = NULL;
}

/* ---- messages ----------------------------------------------------------- */

static const char *const rcpts[] = {
	"a@example.org", "b@example.net", "c@example.com", "d@example.edu"
};
#define NRCPTS	(sizeof rcpts / sizeof rcpts[0])

/* The body of a message: octet OFF of the message with SEED. */
static void
pattern(unsigned char *p, uint64_t off, size_t n, unsigned seed)
{
	uint64_t x;
	size_t i;

	for (i = 0; i < n; i++) {
		x = off + i;
		p[i] = (unsigned char)((x * 2654435761u >> 11) ^ (x >> 9) ^
		    seed * 131u);
	}
}

struct put {
	unsigned seed;		/* body pattern; sender s<seed>@example.org */
	uint64_t size;
	size_t	 nrcpt;		/* first NRCPT of rcpts[]; 0 = 1 */
	unsigned flags;
	int64_t	 now;
	const size_t *pieces;	/* write sizes, cycled; NULL = 64 KiB */
	size_t	 npieces;
	uint32_t owner;		/* 0 = not set (QUEUE_NO_OWNER) */
};

/* put_msg: submit P.  0 with *ID, or -1 with ERR.  No ck_assert here:
 * crash children use it too. */
static int
put_msg(struct queue *q, const struct put *p, uint64_t *id,
    struct ob_err *err)
{
	static const size_t def = 64 * KiB;
	const size_t *pc = p->pieces != NULL ? p->pieces : &def;
	size_t np = p->pieces != NULL ? p->npieces : 1, i, n, max = 0;
	struct queue_sub *s;
	unsigned char *b;
	uint64_t off = 0;
	char sender[64];
	int rc = -1;

	if (queue_sub_begin(q, &s, err) == -1)
		return -1;
	for (i = 0; i < np; i++)
		if (pc[i] > max)
			max = pc[i];
	b = xmalloc(max);
	for (i = 0; off < p->size; i++) {
		n = pc[i % np];
		if (n > p->size - off)
			n = (size_t)(p->size - off);
		pattern(b, off, n, p->seed);
		if (queue_sub_write(s, b, n, err) == -1)
			goto done;
		off += n;
	}
	(void)ob_snprintf(sender, sizeof sender, "s%u@example.org", p->seed);
	if (p->owner != 0)
		queue_sub_owner(s, p->owner);
	if (queue_sub_commit(s, sender, rcpts, p->nrcpt ? p->nrcpt : 1,
	    p->flags, p->now, err) == -1)
		goto done;
	if (queue_id_parse(queue_sub_id(s), id) == -1) {
		ob_err_set(err, OB_PERM, 0, "bad id %s", queue_sub_id(s));
		goto done;
	}
	rc = 0;
done:
	free(b);
	queue_sub_free(s);
	return rc;
}

static uint64_t
put_ok(struct queue *q, unsigned seed, uint64_t size, size_t nrcpt,
    int64_t now)
{
	struct put p = { seed, size, nrcpt, 0, now, NULL, 0, 0 };
	struct ob_err err;
	uint64_t id = 0;

	if (put_msg(q, &p, &id, &err) == -1)
		ck_abort_msg("put_msg: %s", err.text);
	return id;
}

static void
check_body(struct queue *q, uint64_t id, uint64_t size, unsigned seed)
{
	unsigned char *want = xmalloc(QUEUE_CHUNK_SIZE);
	struct ob_err err;
	struct buf b;
	uint64_t off = 0;
	uint32_t i;
	size_t n;

	buf_init(&b, QUEUE_CHUNK_SIZE);
	for (i = 0; off < size; i++) {
		ck_assert_int_eq(queue_body_chunk(q, id, i, &b, &err), 1);
		n = size - off > QUEUE_CHUNK_SIZE ? QUEUE_CHUNK_SIZE :
		    (size_t)(size - off);
		ck_assert_uint_eq(b.len, n);
		pattern(want, off, n, seed);
		ck_assert_msg(memcmp(b.p, want, n) == 0,
		    "chunk %u of a %llu-octet body differs", i,
		    (unsigned long long)size);
		off += n;
	}
	ck_assert_uint_eq(i, NCHUNKS(size));
	/* one past the last: none, and OUT is cleared */
	ck_assert_int_eq(queue_body_chunk(q, id, i, &b, &err), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	free(want);
}

static struct queue_msg *
load_ok(struct queue *q, uint64_t id)
{
	struct queue_msg *m = NULL;
	struct ob_err err;
	int rc;

	rc = queue_load(q, id, &m, &err);
	if (rc != 1)
		ck_abort_msg("queue_load: %d %s", rc, rc == -1 ? err.text : "");
	ck_assert_uint_eq(m->id, id);
	return m;
}

static void
load_none(struct queue *q, uint64_t id)
{
	struct queue_msg *m = (struct queue_msg *)&m;
	struct ob_err err;

	ck_assert_int_eq(queue_load(q, id, &m, &err), 0);
	ck_assert_ptr_null(m);
}

static struct queue_stat
stat_ok(struct queue *q)
{
	struct queue_stat st;
	struct ob_err err;

	if (queue_stat(q, &st, &err) == -1)
		ck_abort_msg("queue_stat: %s", err.text);
	return st;
}

/* The counts of queue_stat, after an operation, all at once. */
static void
stat_is(struct queue *q, uint64_t msgs, uint64_t rc, uint64_t chunks,
    uint64_t due, uint64_t pend)
{
	struct queue_stat st = stat_ok(q);

	ck_assert_uint_eq(st.messages, msgs);
	ck_assert_uint_eq(st.rcpts, rc);
	ck_assert_uint_eq(st.chunks, chunks);
	ck_assert_uint_eq(st.due, due);
	ck_assert_uint_eq(st.pending, pend);
}

static size_t
claim(struct queue *q, int64_t now, int all, int64_t not_since,
    int64_t lease, uint64_t *ids, size_t max)
{
	struct ob_err err;
	size_t n = 12345;

	if (queue_claim(q, now, all, not_since, lease, ids, max, &n, &err) ==
	    -1)
		ck_abort_msg("queue_claim: %s", err.text);
	ck_assert_uint_le(n, max);
	return n;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Ids made in the same millisecond differ only in random bits: the
 * order of ids (and of equal due times) is that of their values. */
static void
sort_ids(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u64);
}

/* ---- listing: what queue_foreach shows ---------------------------------- */

struct seen {
	uint64_t id;
	uint64_t size;
	uint32_t nchunks;
	size_t	 nrcpt;
	unsigned seed;
	int64_t	 due, lease_until;
	pid_t	 lease_pid;
	int	 states[NRCPTS];
};

struct seen_list {
	struct seen v[64];
	size_t	 n;
	size_t	 stop_after;	/* 0 = never */
	int	 bad;		/* a record that put_msg did not write */
};

static int
seen_fn(const struct queue_msg *m, void *arg)
{
	struct seen_list *l = arg;
	struct seen *s;
	char *end;
	size_t i;

	if (l->n == sizeof l->v / sizeof l->v[0]) {
		l->bad = 1;
		return 1;
	}
	s = &l->v[l->n++];
	memset(s, 0, sizeof *s);
	s->id = m->id;
	s->size = m->size;
	s->nchunks = m->nchunks;
	s->nrcpt = m->nrcpt;
	s->due = m->due;
	s->lease_until = m->lease_until;
	s->lease_pid = m->lease_pid;
	if (strncmp(m->sender, "s", 1) != 0)
		l->bad = 1;
	s->seed = (unsigned)strtoul(m->sender + 1, &end, 10);
	if (strcmp(end, "@example.org") != 0 || m->nrcpt > NRCPTS ||
	    m->nrcpt == 0 || m->nchunks != NCHUNKS(m->size))
		l->bad = 1;
	for (i = 0; i < m->nrcpt && i < NRCPTS; i++) {
		if (strcmp(m->rcpt[i].addr, rcpts[i]) != 0)
			l->bad = 1;
		s->states[i] = m->rcpt[i].state;
	}
	return l->stop_after != 0 && l->n == l->stop_after;
}

static void
list_ok(struct queue *q, struct seen_list *l)
{
	struct ob_err err;

	memset(l, 0, sizeof *l);
	if (queue_foreach(q, seen_fn, l, &err) == -1)
		ck_abort_msg("queue_foreach: %s", err.text);
	ck_assert_int_eq(l->bad, 0);
}

/* Every message complete: the listing matches the stats, each body is
 * whole and in order.  Returns the number of messages. */
static size_t
check_all(struct queue *q, struct seen_list *l)
{
	struct queue_stat st;
	uint64_t rc = 0, chunks = 0, due = 0;
	size_t i;

	list_ok(q, l);
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			ck_assert_uint_lt(l->v[i - 1].id, l->v[i].id);
		rc += l->v[i].nrcpt;
		chunks += l->v[i].nchunks;
		due += l->v[i].due != 0;
		check_body(q, l->v[i].id, l->v[i].size, l->v[i].seed);
	}
	st = stat_ok(q);
	ck_assert_uint_eq(st.messages, l->n);
	ck_assert_uint_eq(st.rcpts, rc);
	ck_assert_uint_eq(st.due, due);
	/* unpublished chunks may be left, covered by pend entries */
	if (st.pending == 0)
		ck_assert_uint_eq(st.chunks, chunks);
	else
		ck_assert_uint_ge(st.chunks, chunks);
	return l->n;
}

/* ---- raw LMDB, for what queue.c would never write ----------------------- */

static MDB_env *
raw_open(MDB_txn **txn)
{
	MDB_env *env;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
	ck_assert_int_eq(mdb_env_set_mapsize(env, 16 * MiB), 0);
	ck_assert_int_eq(mdb_env_open(env, g_dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, txn), 0);
	return env;
}

static void
raw_put(MDB_txn *txn, const char *db, const void *k, size_t kn,
    const void *v, size_t vn)
{
	MDB_dbi dbi;
	MDB_val key = { kn, (void *)(uintptr_t)k };
	MDB_val val = { vn, (void *)(uintptr_t)v };

	ck_assert_int_eq(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &key, &val, 0), 0);
}

static void
raw_close(MDB_env *env, MDB_txn *txn)
{
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* ---- open --------------------------------------------------------------- */

START_TEST(open_fresh)
{
	struct queue_stat st;
	struct stat sb;
	char *p;

	q_open(0);
	st = stat_ok(g_q);
	ck_assert_uint_eq(st.map_size, 16 * MiB);	/* Q_MAP_MIN */
	ck_assert_uint_gt(st.map_used, 0);
	ck_assert_uint_le(st.map_used, st.map_size);
	stat_is(g_q, 0, 0, 0, 0, 0);
	q_close();

	/* group-shared files whatever our umask */
	umask(077);
	p = xasprintf("%s/data.mdb", g_dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0660);
	free(p);
	p = xasprintf("%s/lock.mdb", g_dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0660);
	free(p);

	/* again, now that it exists; and a small max caps the map */
	q_open(MiB);
	ck_assert_uint_eq(stat_ok(g_q).map_size, MiB);
	stat_is(g_q, 0, 0, 0, 0, 0);
	q_close();
	queue_close(NULL);
}
END_TEST

START_TEST(open_reopen_keeps)
{
	uint64_t a, b;
	struct queue_msg *m;

	q_open(0);
	a = put_ok(g_q, 1, 1000, 2, T);
	b = put_ok(g_q, 2, 3 * QUEUE_CHUNK_SIZE + 1, 1, T + 1);
	q_close();
	q_open(0);
	m = load_ok(g_q, a);
	ck_assert_str_eq(m->sender, "s1@example.org");
	ck_assert_uint_eq(m->nrcpt, 2);
	queue_msg_free(m);
	check_body(g_q, a, 1000, 1);
	check_body(g_q, b, 3 * QUEUE_CHUNK_SIZE + 1, 2);
	stat_is(g_q, 2, 3, 5, 2, 0);
}
END_TEST

START_TEST(open_missing)
{
	struct queue *q = (struct queue *)&q;
	struct ob_err err;
	char *p = xasprintf("%s/nonexistent", g_dir), want[300];

	ck_assert_int_eq(queue_open(&q, p, 0, &err), -1);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_CANTCREAT);
	(void)ob_snprintf(want, sizeof want,
	    "queue directory %s does not exist (create it, writable by "
	    "the daemon's user, or set queue_dir)", p);
	ck_assert_str_eq(err.text, want);
	free(p);
}
END_TEST

START_TEST(open_not_dir)
{
	struct queue *q = (struct queue *)&q;
	struct ob_err err;
	char *p = xasprintf("%s/file", g_dir), want[300];
	int fd;

	ck_assert_int_ge(fd = open(p, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	ck_assert_int_eq(queue_open(&q, p, 0, &err), -1);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_CANTCREAT);
	(void)ob_snprintf(want, sizeof want,
	    "queue directory %s is not a directory", p);
	ck_assert_str_eq(err.text, want);
	free(p);
}
END_TEST

/* A directory we may not write: temporary (someone may fix the mode).
 * Root writes anyway, so the open runs in a child that, when root, drops
 * to nobody first. */
START_TEST(open_not_writable)
{
	int status;
	pid_t pid;

	ck_assert_int_eq(chmod(g_base, 0711), 0);
	ck_assert_int_eq(chmod(g_dir, 0555), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct queue *q = (struct queue *)&q;
		struct ob_err err;

		if (geteuid() == 0 && (setgid(65534) == -1 ||
		    setuid(65534) == -1))
			_exit(2);
		if (queue_open(&q, g_dir, 0, &err) != -1 || q != NULL)
			_exit(3);
		if (err.kind != OB_TEMP || err.ex != EX_TEMPFAIL)
			_exit(4);
		if (strstr(err.text, "is not writable") == NULL)
			_exit(5);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(chmod(g_dir, 0700), 0);
	ck_assert_int_eq(chmod(g_base, 0700), 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* A stored schema version other than ours (2) or the one we upgrade (1):
 * refused, files left alone. */
static const struct {
	unsigned char v[8];
	size_t	 len;
	unsigned long ver;	/* in the message; 0 = "corrupt" */
} schemas[] = {
	{ { 0, 0, 0, 4 }, 4, 4 },
	{ { 0, 0, 0, 0 }, 4, 0 },
	{ { 0xff, 0xff, 0xff, 0xff }, 4, 4294967295UL },
	{ { 1, 0, 0, 0 }, 4, 16777216UL },	/* little-endian 1 */
	{ { 0, 0, 1 }, 3, 0 },
	{ { 0, 0, 0, 1, 0 }, 5, 0 },
	{ { 0 }, 0, 0 },
};

START_TEST(open_schema)
{
	struct queue *q = (struct queue *)&q;
	struct ob_err err;
	MDB_env *env;
	MDB_txn *txn;
	char want[300];
	int i;

	/* a real queue with a message, then its version altered */
	q_open(0);
	put_ok(g_q, 1, 10, 1, T);
	q_close();
	env = raw_open(&txn);
	raw_put(txn, "meta", "version", 7, schemas[_i].v, schemas[_i].len);
	raw_close(env, txn);

	for (i = 0; i < 2; i++) {	/* stays refused: nothing rewritten */
		memset(&err, 0, sizeof err);
		ck_assert_int_eq(queue_open(&q, g_dir, 0, &err), -1);
		ck_assert_ptr_null(q);
		ck_assert_int_eq(err.kind, OB_PERM);
		ck_assert_int_eq(err.ex, EX_CONFIG);
		if (schemas[_i].len == 4)
			(void)ob_snprintf(want, sizeof want, "queue %s has "
			    "schema version %lu, this outbox understands %d",
			    g_dir, schemas[_i].ver, QUEUE_SCHEMA_VERSION);
		else
			(void)ob_snprintf(want, sizeof want,
			    "queue %s has a corrupt schema version", g_dir);
		ck_assert_str_eq(err.text, want);
	}
}
END_TEST

START_TEST(open_foreign)
{
	struct queue *q = (struct queue *)&q;
	struct ob_err err;
	MDB_env *env;
	MDB_txn *txn;
	char want[300];

	env = raw_open(&txn);
	raw_put(txn, "other", "k", 1, "v", 1);
	raw_close(env, txn);
	ck_assert_int_eq(queue_open(&q, g_dir, 0, &err), -1);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_CONFIG);
	(void)ob_snprintf(want, sizeof want, "queue %s holds an LMDB database "
	    "that is not an outbox queue", g_dir);
	ck_assert_str_eq(err.text, want);
}
END_TEST

START_TEST(open_garbage)
{
	struct queue *q = (struct queue *)&q;
	struct ob_err err;
	char *p = xasprintf("%s/data.mdb", g_dir), junk[16384], want[300];
	FILE *f;

	memset(junk, 'x', sizeof junk);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
	ck_assert_int_eq(fclose(f), 0);
	free(p);
	ck_assert_int_eq(queue_open(&q, g_dir, 0, &err), -1);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_CONFIG);
	(void)ob_snprintf(want, sizeof want,
	    "queue %s is not a usable LMDB environment: ", g_dir);
	ck_assert_int_eq(strncmp(err.text, want, strlen(want)), 0);
}
END_TEST

/* The version record lost (but the databases there): written again. */
START_TEST(open_version_restored)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 7, "version" }, v;

	q_open(0);
	q_close();
	env = raw_open(&txn);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_del(txn, dbi, &k, NULL), 0);
	raw_close(env, txn);
	q_open(0);
	q_close();
	env = raw_open(&txn);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	ck_assert_uint_eq(v.mv_size, 4);
	ck_assert_mem_eq(v.mv_data, "\0\0\0\3", 4);
	raw_close(env, txn);
}
END_TEST

/* A queue used in a child of the process that opened it: panic. */
START_TEST(open_fork_panics)
{
	struct queue_msg *m;
	struct ob_err err;
	pid_t pid;
	int status, fd;

	q_open(0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		/* keep panic's log line out of the test output */
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, 2);
		(void)queue_load(g_q, 1, &m, &err);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGABRT);
	/* and the parent's handle still works */
	stat_is(g_q, 0, 0, 0, 0, 0);
}
END_TEST

/* ---- ids ---------------------------------------------------------------- */

static const struct {
	uint64_t id;
	const char *s;
} idc[] = {
	{ 0, "0000000000000" },
	{ 1, "0000000000001" },
	{ 31, "000000000000Z" },
	{ 32, "0000000000010" },
	{ 0x0123456789abcdefULL, "028T5CY4TQKFF" },
	{ 1ULL << 63, "8000000000000" },
	{ UINT64_MAX, "FZZZZZZZZZZZZ" },
	{ UINT64_MAX - 1, "FZZZZZZZZZZZY" },
};

START_TEST(id_roundtrip)
{
	char s[QUEUE_ID_LEN + 2];
	uint64_t v = 42;

	memset(s, '#', sizeof s);
	queue_id_str(idc[_i].id, s);
	ck_assert_uint_eq(strlen(s), QUEUE_ID_LEN);
	ck_assert_str_eq(s, idc[_i].s);
	ck_assert_int_eq(s[QUEUE_ID_LEN + 1], '#');	/* no overrun */
	ck_assert_int_eq(queue_id_parse(s, &v), 0);
	ck_assert_uint_eq(v, idc[_i].id);
}
END_TEST

static const struct {
	const char *s;
	int ok;
	uint64_t id;
} parses[] = {
	{ "fzzzzzzzzzzzz", 1, UINT64_MAX },	/* any case */
	{ "000000000000z", 1, 31 },
	{ "000000000000O", 1, 0 },		/* Crockford's aliases */
	{ "000000000000o", 1, 0 },
	{ "000000000000I", 1, 1 },
	{ "000000000000i", 1, 1 },
	{ "000000000000L", 1, 1 },
	{ "000000000000l", 1, 1 },
	{ "", 0, 0 },
	{ "000000000000", 0, 0 },		/* 12 */
	{ "00000000000000", 0, 0 },		/* 14 */
	{ "G000000000000", 0, 0 },		/* 65 bits */
	{ "Z000000000000", 0, 0 },
	{ "000000000000U", 0, 0 },		/* not in the alphabet */
	{ "00000000000-1", 0, 0 },
	{ " 000000000001", 0, 0 },
	{ "000000000001 ", 0, 0 },
	{ "000000000001\n", 0, 0 },
	{ "00000000000\xc3\x89", 0, 0 },
	{ "0000000000001\0000", 1, 1 },		/* a NUL ends it */
};

START_TEST(id_parse)
{
	uint64_t v = 4242;

	if (parses[_i].ok) {
		ck_assert_int_eq(queue_id_parse(parses[_i].s, &v), 0);
		ck_assert_uint_eq(v, parses[_i].id);
	} else {
		ck_assert_int_eq(queue_id_parse(parses[_i].s, &v), -1);
		ck_assert_uint_eq(v, 4242);
	}
}
END_TEST

/* Ids of submissions: 13 characters of the alphabet, the millisecond in
 * the high 44 bits, ordered as strings and as numbers. */
START_TEST(id_sortable)
{
	static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct timespec ts = { 0, 2000000 };
	struct queue_sub *s[6];
	char prev[QUEUE_ID_LEN + 1] = "";
	uint64_t id, previd = 0;
	int64_t before, after;
	struct ob_err err;
	const char *str;
	size_t i;

	q_open(0);
	for (i = 0; i < 6; i++) {
		before = ob_now_ms();
		ck_assert_int_eq(queue_sub_begin(g_q, &s[i], &err), 0);
		after = ob_now_ms();
		str = queue_sub_id(s[i]);
		ck_assert_uint_eq(strlen(str), QUEUE_ID_LEN);
		ck_assert_uint_eq(strspn(str, alpha), QUEUE_ID_LEN);
		ck_assert_int_eq(queue_id_parse(str, &id), 0);
		ck_assert_int_ge((int64_t)(id >> 20), before);
		ck_assert_int_le((int64_t)(id >> 20), after);
		if (i > 0) {
			ck_assert_int_lt(strcmp(prev, str), 0);
			ck_assert_uint_lt(previd, id);
		}
		memcpy(prev, str, sizeof prev);
		previd = id;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < 6; i++)
		queue_sub_free(s[i]);
	stat_is(g_q, 0, 0, 0, 0, 0);
}
END_TEST

/* ---- submission --------------------------------------------------------- */

static const size_t pc_mixed[] = { 1, 4 * KiB, MiB, 7, 300000 };
static const size_t pc_one[] = { 1 };
static const size_t pc_4k[] = { 4 * KiB };
static const size_t pc_mib[] = { MiB };
static const size_t pc_big[] = { 5 * MiB };

static const struct {
	uint64_t size;
	const size_t *pieces;
	size_t	 npieces;
} subs[] = {
	{ 0, pc_one, 1 },
	{ 1, pc_one, 1 },
	{ 4095, pc_one, 1 },
	{ 4097, pc_4k, 1 },
	{ QUEUE_CHUNK_SIZE - 1, pc_4k, 1 },
	{ QUEUE_CHUNK_SIZE, pc_mib, 1 },
	{ QUEUE_CHUNK_SIZE + 1, pc_mixed, 5 },
	{ QUEUE_SUB_BUFMAX - 1, pc_4k, 1 },
	{ QUEUE_SUB_BUFMAX, pc_mib, 1 },
	{ QUEUE_SUB_BUFMAX + 1, pc_mib, 1 },	/* flushes 4 chunks first */
	{ QUEUE_SUB_BUFMAX + 1, pc_one, 1 },	/* ... a byte at a time */
	{ 3 * MiB + 12345, pc_mixed, 5 },
	{ 5 * MiB + 1, pc_big, 1 },		/* one write, many chunks */
	{ 4 * QUEUE_SUB_BUFMAX, pc_mib, 1 },
};

START_TEST(sub_sizes)
{
	struct put p = { 0 };
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, sz = subs[_i].size;
	char sender[32];
	size_t i;

	q_open(0);
	p.seed = 7 + (unsigned)_i;
	p.size = sz;
	p.nrcpt = 3;
	p.flags = QM_8BIT;
	p.now = T;
	p.pieces = subs[_i].pieces;
	p.npieces = subs[_i].npieces;
	if (put_msg(g_q, &p, &id, &err) == -1)
		ck_abort_msg("put_msg: %s", err.text);

	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->size, sz);
	ck_assert_uint_eq(m->nchunks, NCHUNKS(sz));
	ck_assert_uint_eq(m->flags, QM_8BIT);
	ck_assert_int_eq(m->arrival, T);
	ck_assert_int_eq(m->due, T);
	ck_assert_int_eq(m->last_attempt, 0);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->lease_pid, 0);
	ck_assert_uint_eq(strlen(m->idstr), QUEUE_ID_LEN);
	(void)ob_snprintf(sender, sizeof sender, "s%u@example.org", p.seed);
	ck_assert_str_eq(m->sender, sender);
	ck_assert_uint_eq(m->nrcpt, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(m->rcpt[i].addr, rcpts[i]);
		ck_assert_int_eq(m->rcpt[i].state, QR_PENDING);
		ck_assert_uint_eq(m->rcpt[i].attempts, 0);
		ck_assert_int_eq(m->rcpt[i].next_attempt, 0);
		ck_assert_int_eq(m->rcpt[i].last_attempt, 0);
		ck_assert_ptr_null(m->rcpt[i].last_result);
	}
	queue_msg_free(m);
	check_body(g_q, id, sz, p.seed);
	stat_is(g_q, 1, 3, NCHUNKS(sz), 1, 0);
}
END_TEST

START_TEST(sub_fields)
{
	static const char *const one[] = { "" };	/* postmaster-ish */
	const char *rc2[2];
	struct queue_sub *s;
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id;
	char idstr[QUEUE_ID_LEN + 1];

	q_open(0);
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	ck_assert_int_eq(queue_sub_write(s, "Subject: x\r\n\r\nhi\r\n", 18,
	    &err), 0);
	rc2[0] = "x@example.org";
	rc2[1] = "y@example.org";
	ck_assert_int_eq(queue_sub_commit(s, "", rc2, 2,
	    QM_8BIT | QM_8BITHDR | QM_BOUNCE, 1, &err), 0);
	memcpy(idstr, queue_sub_id(s), sizeof idstr);
	queue_sub_free(s);
	ck_assert_int_eq(queue_id_parse(idstr, &id), 0);
	m = load_ok(g_q, id);
	ck_assert_str_eq(m->idstr, idstr);
	ck_assert_str_eq(m->sender, "");
	ck_assert_uint_eq(m->flags, QM_8BIT | QM_8BITHDR | QM_BOUNCE);
	ck_assert_int_eq(m->arrival, 1);
	ck_assert_int_eq(m->due, 1);
	ck_assert_uint_eq(m->size, 18);
	ck_assert_uint_eq(m->nrcpt, 2);
	ck_assert_str_eq(m->rcpt[0].addr, "x@example.org");
	ck_assert_str_eq(m->rcpt[1].addr, "y@example.org");
	queue_msg_free(m);

	/* arrival 0 is still due (due 0 would mean "not in the index") */
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	ck_assert_int_eq(queue_sub_commit(s, "a@b", one, 1, 0, 0, &err), 0);
	ck_assert_int_eq(queue_id_parse(queue_sub_id(s), &id), 0);
	queue_sub_free(s);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->arrival, 0);
	ck_assert_int_eq(m->due, 1);
	ck_assert_uint_eq(m->flags, 0);
	ck_assert_uint_eq(m->size, 0);
	ck_assert_uint_eq(m->nchunks, 0);
	ck_assert_str_eq(m->rcpt[0].addr, "");
	queue_msg_free(m);
	stat_is(g_q, 2, 3, 1, 2, 0);
}
END_TEST

/* Freed without commit: nothing left, whatever had been written. */
static const uint64_t frees[] = {
	0, 100, QUEUE_SUB_BUFMAX, QUEUE_SUB_BUFMAX + 1, 3 * MiB + 1
};

START_TEST(sub_free_uncommitted)
{
	struct seen_list l;
	struct queue_sub *s;
	struct ob_err err;
	unsigned char *b;
	uint64_t sz = frees[_i], flushed;

	q_open(0);
	put_ok(g_q, 1, 500, 1, T);
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	b = xmalloc(sz + 1);
	pattern(b, 0, sz, 3);
	ck_assert_int_eq(queue_sub_write(s, b, sz, &err), 0);
	free(b);
	/* chunks already written, under a pend entry */
	flushed = sz > QUEUE_SUB_BUFMAX ? (sz - 1) / QUEUE_SUB_BUFMAX *
	    (QUEUE_SUB_BUFMAX / QUEUE_CHUNK_SIZE) : 0;
	stat_is(g_q, 1, 1, 1 + flushed, 1, flushed ? 1 : 0);
	queue_sub_free(s);
	stat_is(g_q, 1, 1, 1, 1, 0);
	list_ok(g_q, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.v[0].seed, 1);
	queue_sub_free(NULL);
}
END_TEST

START_TEST(sub_errors)
{
	const char *const rc1[] = { "r@example.org" };
	const char *rcl[1];
	struct queue_sub *s;
	struct ob_err err;
	char *lng;

	q_open(0);
	lng = xmalloc(65537);
	memset(lng, 'a', 65536);
	lng[65536] = '\0';

	/* no recipients; then long addresses: refused, nothing written */
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	ck_assert_int_eq(queue_sub_write(s, "x", 1, &err), 0);
	ck_assert_int_eq(queue_sub_commit(s, "", rc1, 0, 0, T, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(queue_sub_commit(s, lng, rc1, 1, 0, T, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_DATAERR);
	ck_assert_str_eq(err.text, "queue: sender address too long");
	rcl[0] = lng;
	ck_assert_int_eq(queue_sub_commit(s, "", rcl, 1, 0, T, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_DATAERR);
	ck_assert_str_eq(err.text, "queue: recipient address too long");
	stat_is(g_q, 0, 0, 0, 0, 0);

	/* 65535 octets is the limit, inclusive */
	lng[65535] = '\0';
	ck_assert_int_eq(queue_sub_commit(s, lng, rcl, 1, 0, T, &err), 0);
	stat_is(g_q, 1, 1, 1, 1, 0);

	/* finished: no more writes or commits */
	ck_assert_int_eq(queue_sub_write(s, "y", 1, &err), -1);
	ck_assert_str_eq(err.text, "queue: write to a finished submission");
	ck_assert_int_eq(queue_sub_commit(s, "", rc1, 1, 0, T, &err), -1);
	ck_assert_str_eq(err.text, "queue: commit of a finished submission");
	queue_sub_free(s);	/* committed: stays */
	stat_is(g_q, 1, 1, 1, 1, 0);
	free(lng);
}
END_TEST

/* Many messages, interleaved submissions: each gets its own bytes. */
START_TEST(sub_interleaved)
{
	struct queue_sub *s[4];
	struct seen_list l;
	struct ob_err err;
	unsigned char b[7000];
	uint64_t off;
	size_t i, j;
	unsigned seen;
	char sender[32];

	q_open(0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(queue_sub_begin(g_q, &s[i], &err), 0);
	/* 1.2 MiB each, so every one writes chunks under its own id */
	for (off = 0; off < 1200 * KiB; off += sizeof b)
		for (i = 0; i < 4; i++) {
			pattern(b, off, sizeof b, 20 + (unsigned)i);
			ck_assert_int_eq(queue_sub_write(s[i], b, sizeof b,
			    &err), 0);
		}
	ck_assert_uint_eq(stat_ok(g_q).pending, 4);
	for (i = 4; i-- > 0;) {
		(void)ob_snprintf(sender, sizeof sender, "s%zu@example.org",
		    20 + i);
		ck_assert_int_eq(queue_sub_commit(s[i], sender, rcpts, i + 1,
		    0, T, &err), 0);
		queue_sub_free(s[i]);
	}
	ck_assert_uint_eq(check_all(g_q, &l), 4);
	seen = 0;
	for (j = 0; j < 4; j++) {
		i = l.v[j].seed - 20;
		ck_assert_uint_lt(i, 4);
		seen |= 1u << i;
		ck_assert_uint_eq(l.v[j].nrcpt, i + 1);
		ck_assert_uint_eq(l.v[j].size, off);
	}
	ck_assert_uint_eq(seen, 0xf);
	ck_assert_uint_eq(stat_ok(g_q).pending, 0);
}
END_TEST

/* ---- claim -------------------------------------------------------------- */

START_TEST(claim_due)
{
	struct queue_msg *m;
	uint64_t id[3], got[10];

	q_open(0);
	id[0] = put_ok(g_q, 1, 100, 1, T);
	id[1] = put_ok(g_q, 2, 100, 1, T + 1000);
	id[2] = put_ok(g_q, 3, 100, 1, T + 2000);

	ck_assert_uint_eq(claim(g_q, T - 1, 0, 0, LEASE, got, 10), 0);
	ck_assert_uint_eq(claim(g_q, T + 1000, 0, 0, LEASE, got, 10), 2);
	ck_assert_uint_eq(got[0], id[0]);
	ck_assert_uint_eq(got[1], id[1]);
	m = load_ok(g_q, id[0]);
	ck_assert_int_eq(m->lease_pid, getpid());
	ck_assert_int_eq(m->lease_until, T + 1000 + LEASE);
	ck_assert_int_eq(m->due, T + 1000 + LEASE);
	ck_assert_int_eq(m->last_attempt, 0);	/* claim is no attempt */
	queue_msg_free(m);
	stat_is(g_q, 3, 3, 3, 3, 0);

	/* leased: not again, not even with ALL; the third only with ALL */
	ck_assert_uint_eq(claim(g_q, T + 1000, 0, 0, LEASE, got, 10), 0);
	ck_assert_uint_eq(claim(g_q, T + 1000, 1, 0, LEASE, got, 10), 1);
	ck_assert_uint_eq(got[0], id[2]);
	ck_assert_uint_eq(claim(g_q, T + 1000, 1, 0, LEASE, got, 10), 0);
	/* max 0: nothing, no transaction */
	ck_assert_uint_eq(claim(g_q, T + 2 * LEASE, 1, 0, LEASE, got, 0), 0);
}
END_TEST

START_TEST(claim_batch)
{
	uint64_t id[5], got[3];
	size_t i;

	q_open(0);
	for (i = 0; i < 5; i++)
		id[i] = put_ok(g_q, (unsigned)i, 10, 1, T);
	sort_ids(id, 5);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);
	ck_assert_uint_eq(got[0], id[0]);
	ck_assert_uint_eq(got[1], id[1]);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);
	ck_assert_uint_eq(got[0], id[2]);
	ck_assert_uint_eq(got[1], id[3]);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 3), 1);
	ck_assert_uint_eq(got[0], id[4]);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 3), 0);
	ck_assert_uint_eq(stat_ok(g_q).due, 5);
}
END_TEST

START_TEST(claim_lease_expiry)
{
	struct queue_msg *m;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, 1000, got, 2), 1);
	ck_assert_uint_eq(claim(g_q, T + 999, 1, 0, 1000, got, 2), 0);
	/* at lease_until it has run out: due, and free to take */
	ck_assert_uint_eq(claim(g_q, T + 1000, 0, 0, 1000, got, 2), 1);
	ck_assert_uint_eq(got[0], id);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_until, T + 2000);
	ck_assert_int_eq(m->due, T + 2000);
	queue_msg_free(m);
	stat_is(g_q, 1, 1, 1, 1, 0);
}
END_TEST

START_TEST(claim_release)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id[2], got[2], unknown = 12345;
	int64_t before, after;

	q_open(0);
	id[0] = put_ok(g_q, 1, 10, 1, T);
	id[1] = put_ok(g_q, 2, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);
	before = ob_now_ms();
	ck_assert_int_eq(queue_release(g_q, id, 1, &err), 0);
	after = ob_now_ms();
	m = load_ok(g_q, id[0]);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->lease_pid, 0);
	ck_assert_int_ge(m->due, before);
	ck_assert_int_le(m->due, after);
	ck_assert_int_eq(m->last_attempt, 0);
	queue_msg_free(m);
	stat_is(g_q, 2, 2, 2, 2, 0);

	/* released one is due again, the other still leased */
	ck_assert_uint_eq(claim(g_q, after, 1, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id[0]);

	/* releasing twice, an unknown id, n = 0: no harm */
	ck_assert_int_eq(queue_release(g_q, id, 2, &err), 0);
	ck_assert_int_eq(queue_release(g_q, id, 2, &err), 0);
	ck_assert_int_eq(queue_release(g_q, &unknown, 1, &err), 0);
	ck_assert_int_eq(queue_release(g_q, NULL, 0, &err), 0);
	stat_is(g_q, 2, 2, 2, 2, 0);
	ck_assert_uint_eq(claim(g_q, ob_now_ms(), 0, 0, LEASE, got, 2), 2);
}
END_TEST

START_TEST(claim_held)
{
	struct put p = { 1, 10, 1, QM_HELD, 0, NULL, 0, 0 };
	struct queue_msg *m;
	struct ob_err err;
	uint64_t held, id, got[4];

	q_open(0);
	p.now = T;
	ck_assert_int_eq(put_msg(g_q, &p, &held, &err), 0);
	id = put_ok(g_q, 2, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T + LEASE, 1, 0, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], id);
	ck_assert_uint_eq(claim(g_q, T + 10 * LEASE, 1, 0, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], id);
	/* held from the start: never in the due index (queue.h) */
	ck_assert_uint_eq(stat_ok(g_q).due, 1);
	m = load_ok(g_q, held);
	ck_assert_int_eq(m->due, 0);
	queue_msg_free(m);
}
END_TEST

/* NOT_SINCE: one run tries each message once. */
START_TEST(claim_not_since)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t a, b, got[4];
	int64_t u = T + 500;

	q_open(0);
	a = put_ok(g_q, 1, 10, 1, T);
	b = put_ok(g_q, 2, 10, 1, T);
	/* attempt b at U, still pending, due again at once */
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 4), 2);
	m = load_ok(g_q, b);
	m->rcpt[0].attempts = 1;
	m->rcpt[0].last_attempt = u;
	ck_assert_int_eq(queue_update(g_q, &m, 1, u, &err), 0);
	queue_msg_free(m);
	ck_assert_int_eq(queue_release(g_q, &a, 1, &err), 0);

	/* a never attempted: passes any NOT_SINCE */
	ck_assert_uint_eq(claim(g_q, u + 10, 0, u, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], a);
	ck_assert_uint_eq(claim(g_q, u + 10, 0, u, LEASE, got, 4), 0);
	ck_assert_uint_eq(claim(g_q, u + 10, 0, u - 1000, LEASE, got, 4), 0);
	ck_assert_uint_eq(claim(g_q, u + 10, 0, u + 1, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], b);
	ck_assert_int_eq(queue_release(g_q, &b, 1, &err), 0);
	/* <= 0 disables it */
	ck_assert_uint_eq(claim(g_q, ob_now_ms(), 0, 0, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], b);
}
END_TEST

/* A lease held by another live process is respected by claim, release
 * and gc; once that process is gone, the lease is no obstacle. */
START_TEST(claim_other_process)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];
	int up[2], down[2], status;
	char c;
	pid_t pid;

	q_open(0);
	id = put_ok(g_q, 1, 10, 1, T);
	q_close();
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct queue *q;
		size_t n = 0;

		close(up[0]);
		close(down[1]);
		if (queue_open(&q, g_dir, 0, &err) == -1 ||
		    queue_claim(q, T, 0, 0, LEASE, got, 2, &n, &err) == -1 ||
		    n != 1)
			_exit(2);
		queue_close(q);
		(void)!write(up[1], "C", 1);
		(void)!read(down[0], &c, 1);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	q_open(0);
	ck_assert_uint_eq(claim(g_q, T + 1, 1, 0, LEASE, got, 2), 0);
	ck_assert_int_eq(queue_release(g_q, &id, 1, &err), 0);
	ck_assert_int_eq(queue_gc(g_q, T + 1, &err), 0);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_pid, pid);
	ck_assert_int_eq(m->lease_until, T + LEASE);
	ck_assert_int_eq(m->due, T + LEASE);
	queue_msg_free(m);

	/* an update by us keeps the other's lease and due entry */
	m = load_ok(g_q, id);
	m->rcpt[0].attempts = 1;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 2, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_pid, pid);
	ck_assert_int_eq(m->due, T + LEASE);
	ck_assert_int_eq(m->last_attempt, T + 2);
	ck_assert_uint_eq(m->rcpt[0].attempts, 1);
	queue_msg_free(m);

	ck_assert_int_eq(write(down[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(up[0]);
	close(down[1]);

	/* its lease has not run out, but its process is gone */
	ck_assert_uint_eq(claim(g_q, T + 3, 1, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_pid, getpid());
	queue_msg_free(m);
}
END_TEST

/* ---- recording results -------------------------------------------------- */

START_TEST(update_partial)
{
	struct seen_list l;
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];
	int64_t u = T + 100;

	q_open(0);
	id = put_ok(g_q, 1, 600 * KiB, 3, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[0].attempts = 1;
	m->rcpt[0].last_attempt = u;
	m->rcpt[0].last_result = xstrdup("250 2.0.0 ok");
	m->rcpt[1].attempts = 1;
	m->rcpt[1].next_attempt = T + 5000;
	m->rcpt[1].last_attempt = u;
	m->rcpt[1].last_result = xstrdup("451 4.3.0 try later");
	m->rcpt[2].attempts = 2;
	m->rcpt[2].next_attempt = T + 3000;
	ck_assert_int_eq(queue_update(g_q, &m, 1, u, &err), 0);
	queue_msg_free(m);

	m = load_ok(g_q, id);
	ck_assert_int_eq(m->due, T + 3000);	/* earliest pending */
	ck_assert_int_eq(m->last_attempt, u);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->lease_pid, 0);
	ck_assert_int_eq(m->arrival, T);
	ck_assert_uint_eq(m->size, 600 * KiB);
	ck_assert_int_eq(m->rcpt[0].state, QR_DELIVERED);
	ck_assert_uint_eq(m->rcpt[0].attempts, 1);
	ck_assert_int_eq(m->rcpt[0].last_attempt, u);
	ck_assert_str_eq(m->rcpt[0].last_result, "250 2.0.0 ok");
	ck_assert_int_eq(m->rcpt[1].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[1].attempts, 1);
	ck_assert_int_eq(m->rcpt[1].next_attempt, T + 5000);
	ck_assert_str_eq(m->rcpt[1].last_result, "451 4.3.0 try later");
	ck_assert_int_eq(m->rcpt[2].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[2].attempts, 2);
	ck_assert_int_eq(m->rcpt[2].next_attempt, T + 3000);
	ck_assert_int_eq(m->rcpt[2].last_attempt, 0);
	ck_assert_ptr_null(m->rcpt[2].last_result);
	queue_msg_free(m);
	stat_is(g_q, 1, 3, 3, 1, 0);

	list_ok(g_q, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.v[0].due, T + 3000);
	ck_assert_int_eq(l.v[0].states[0], QR_DELIVERED);
	ck_assert_int_eq(l.v[0].states[1], QR_PENDING);

	ck_assert_uint_eq(claim(g_q, T + 2999, 0, 0, LEASE, got, 2), 0);
	ck_assert_uint_eq(claim(g_q, T + 3000, 0, 0, LEASE, got, 2), 1);
	check_body(g_q, id, 600 * KiB, 1);
}
END_TEST

/* next_attempt 0 means now: due at the update's NOW. */
START_TEST(update_next_now)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 2, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[1].next_attempt = T + 9000;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 7, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->due, T + 7);
	queue_msg_free(m);
	ck_assert_uint_eq(stat_ok(g_q).due, 1);
}
END_TEST

START_TEST(update_all_delivered)
{
	struct queue_msg *m;
	struct ob_err err;
	struct buf b;
	uint64_t id, keep, got[2];
	size_t i;

	q_open(0);
	id = put_ok(g_q, 1, 2 * MiB + 3, 3, T);
	keep = put_ok(g_q, 2, 10, 1, T + 1);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	for (i = 0; i < 3; i++) {
		m->rcpt[i].state = QR_DELIVERED;
		m->rcpt[i].attempts = 1;
	}
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 5, &err), 0);
	queue_msg_free(m);
	load_none(g_q, id);
	buf_init(&b, QUEUE_CHUNK_SIZE);
	ck_assert_int_eq(queue_body_chunk(g_q, id, 0, &b, &err), 0);
	buf_free(&b);
	stat_is(g_q, 1, 1, 1, 1, 0);
	check_body(g_q, keep, 10, 2);
}
END_TEST

/* No pending recipient but failed ones: removed with its recipients, body
 * and due entry (its failures are reported by a bounce written with the
 * update, queue_update_dsn, or only logged); the other message stays. */
START_TEST(update_failed_removed)
{
	struct seen_list l;
	struct queue_msg *m;
	struct ob_err err;
	struct buf b;
	uint64_t id, keep, got[2];
	uint32_t i;

	q_open(0);
	id = put_ok(g_q, 1, 600 * KiB, 3, T);
	keep = put_ok(g_q, 2, 10, 1, T + 1);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id);
	stat_is(g_q, 2, 4, 4, 2, 0);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[1].state = QR_FAILED;
	m->rcpt[1].last_result = xstrdup("550 5.1.1 no such user");
	m->rcpt[2].state = QR_FAILED;
	m->rcpt[2].next_attempt = T + 100;	/* ignored: not pending */
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 9, &err), 0);
	queue_msg_free(m);
	load_none(g_q, id);
	buf_init(&b, QUEUE_CHUNK_SIZE);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(queue_body_chunk(g_q, id, i, &b, &err), 0);
	buf_free(&b);
	stat_is(g_q, 1, 1, 1, 1, 0);
	ck_assert_uint_eq(claim(g_q, T + 100 * LEASE, 1, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], keep);
	list_ok(g_q, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.v[0].id, keep);
	/* a gc does not bring it back */
	ck_assert_int_eq(queue_gc(g_q, T + 10, &err), 0);
	stat_is(g_q, 1, 1, 1, 1, 0);
	check_body(g_q, keep, 10, 2);
}
END_TEST

/* Several messages in one update; one of them deleted meanwhile. */
START_TEST(update_batch)
{
	struct queue_msg *m[3];
	struct ob_err err;
	uint64_t id[3], got[3];

	q_open(0);
	id[0] = put_ok(g_q, 1, 10, 1, T);
	id[1] = put_ok(g_q, 2, 10, 2, T);
	id[2] = put_ok(g_q, 3, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 3), 3);
	m[0] = load_ok(g_q, id[0]);
	m[1] = load_ok(g_q, id[1]);
	m[2] = load_ok(g_q, id[2]);
	m[0]->rcpt[0].state = QR_DELIVERED;
	m[1]->rcpt[0].state = QR_DELIVERED;
	m[1]->rcpt[1].next_attempt = T + 60000;
	m[2]->rcpt[0].state = QR_FAILED;
	ck_assert_int_eq(queue_delete(g_q, id[2], &err), 1);
	ck_assert_int_eq(queue_update(g_q, m, 3, T + 50, &err), 0);
	queue_msg_free(m[0]);
	queue_msg_free(m[1]);
	queue_msg_free(m[2]);
	load_none(g_q, id[0]);
	load_none(g_q, id[2]);		/* not brought back */
	m[1] = load_ok(g_q, id[1]);
	ck_assert_int_eq(m[1]->due, T + 60000);
	ck_assert_int_eq(m[1]->rcpt[0].state, QR_DELIVERED);
	queue_msg_free(m[1]);
	stat_is(g_q, 1, 2, 1, 1, 0);
}
END_TEST

START_TEST(update_bad)
{
	struct queue_msg *m, *m2, *both[2];
	struct ob_err err;
	uint64_t id, id2, got[2];
	char *big;

	q_open(0);
	id = put_ok(g_q, 1, 10, 2, T);
	id2 = put_ok(g_q, 2, 10, 3, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);

	/* recipient count differs from the stored one */
	m = load_ok(g_q, id);
	m->nrcpt = 1;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 1, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	m->nrcpt = 2;
	/* a state that does not exist */
	m->rcpt[1].state = 7;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 1, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	/* a bad one spoils the whole batch: the good one unchanged too */
	m->rcpt[1].state = QR_DELIVERED;
	m->rcpt[0].state = QR_DELIVERED;
	m2 = load_ok(g_q, id2);
	m2->rcpt[0].state = -1;
	both[0] = m;
	both[1] = m2;
	ck_assert_int_eq(queue_update(g_q, both, 2, T + 1, &err), -1);
	queue_msg_free(m);
	queue_msg_free(m2);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_pid, getpid());
	ck_assert_int_eq(m->last_attempt, 0);
	ck_assert_int_eq(m->rcpt[0].state, QR_PENDING);

	/* n = 0: nothing */
	ck_assert_int_eq(queue_update(g_q, NULL, 0, T + 1, &err), 0);

	/* last_result is cut at 2000 octets */
	big = xmalloc(3001);
	memset(big, 'x', 3000);
	big[3000] = '\0';
	m->rcpt[0].last_result = big;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 2, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(strlen(m->rcpt[0].last_result), 2000);
	ck_assert_int_eq(m->rcpt[0].last_result[1999], 'x');
	queue_msg_free(m);
	stat_is(g_q, 2, 5, 2, 2, 0);
}
END_TEST

/* Many recipients: keys id:n sort numerically past n = 255; an update
 * of them all keeps each one's state. */
#define MANY	1000

START_TEST(sub_many_rcpts)
{
	struct queue_sub *s;
	struct queue_msg *m;
	struct ob_err err;
	char **addr;
	uint64_t id, got[1];
	size_t i;

	q_open(0);
	addr = xcalloc(MANY, sizeof *addr);
	for (i = 0; i < MANY; i++)
		addr[i] = xasprintf("r%zu@example.org", i);
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	ck_assert_int_eq(queue_sub_write(s, "x\r\n", 3, &err), 0);
	ck_assert_int_eq(queue_sub_commit(s, "s@example.org",
	    (const char *const *)addr, MANY, 0, T, &err), 0);
	ck_assert_int_eq(queue_id_parse(queue_sub_id(s), &id), 0);
	queue_sub_free(s);
	stat_is(g_q, 1, MANY, 1, 1, 0);

	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 1), 1);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->nrcpt, MANY);
	for (i = 0; i < MANY; i++) {
		ck_assert_str_eq(m->rcpt[i].addr, addr[i]);
		m->rcpt[i].state = i % 3 == 0 ? QR_PENDING :
		    i % 3 == 1 ? QR_DELIVERED : QR_FAILED;
		m->rcpt[i].attempts = (uint32_t)i;
		m->rcpt[i].next_attempt = T + 1000 + (int64_t)(MANY - i);
	}
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 1, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	/* the earliest pending: the last multiple of 3, 999 */
	ck_assert_int_eq(m->due, T + 1000 + 1);
	for (i = 0; i < MANY; i++) {
		ck_assert_str_eq(m->rcpt[i].addr, addr[i]);
		ck_assert_int_eq(m->rcpt[i].state, i % 3 == 0 ? QR_PENDING :
		    i % 3 == 1 ? QR_DELIVERED : QR_FAILED);
		ck_assert_uint_eq(m->rcpt[i].attempts, i);
		free(addr[i]);
	}
	queue_msg_free(m);
	free(addr);
	stat_is(g_q, 1, MANY, 1, 1, 0);
}
END_TEST

/* queue_body_chunk into a buffer whose max is below a chunk: an error,
 * not an overrun. */
START_TEST(body_small_buf)
{
	struct ob_err err;
	struct buf b;
	uint64_t id;

	q_open(0);
	id = put_ok(g_q, 1, QUEUE_CHUNK_SIZE + 10, 1, T);
	buf_init(&b, 100);
	ck_assert_int_eq(queue_body_chunk(g_q, id, 1, &b, &err), 1);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_int_eq(queue_body_chunk(g_q, id, 0, &b, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_uint_le(b.len, 100);
	ck_assert_int_eq(queue_body_chunk(g_q, id + 1, 0, &b, &err), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

/* ---- listing, deletion, gc ---------------------------------------------- */

START_TEST(foreach_all)
{
	struct seen_list l;
	struct ob_err err;
	uint64_t id[5], sorted[5];
	size_t i, j;

	q_open(0);
	list_ok(g_q, &l);
	ck_assert_uint_eq(l.n, 0);
	for (i = 0; i < 5; i++)
		id[i] = put_ok(g_q, 30 + (unsigned)i, i * 100000,
		    i % NRCPTS + 1, T + (int64_t)(5 - i));
	ck_assert_uint_eq(check_all(g_q, &l), 5);
	memcpy(sorted, id, sizeof sorted);
	sort_ids(sorted, 5);
	for (j = 0; j < 5; j++) {	/* id order, not due order */
		ck_assert_uint_eq(l.v[j].id, sorted[j]);
		i = l.v[j].seed - 30;
		ck_assert_uint_lt(i, 5);
		ck_assert_uint_eq(l.v[j].id, id[i]);
		ck_assert_uint_eq(l.v[j].nrcpt, i % NRCPTS + 1);
		ck_assert_uint_eq(l.v[j].size, i * 100000);
		ck_assert_int_eq(l.v[j].due, T + (int64_t)(5 - i));
	}
	/* FN stops it */
	memset(&l, 0, sizeof l);
	l.stop_after = 2;
	ck_assert_int_eq(queue_foreach(g_q, seen_fn, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(l.v[1].id, sorted[1]);
}
END_TEST

START_TEST(delete_msg)
{
	struct seen_list l;
	struct ob_err err;
	struct buf b;
	uint64_t a, c, got[1];

	q_open(0);
	a = put_ok(g_q, 1, 3 * MiB, 2, T);
	c = put_ok(g_q, 2, 1000, 3, T);
	ck_assert_int_eq(queue_delete(g_q, a, &err), 1);
	ck_assert_int_eq(queue_delete(g_q, a, &err), 0);
	load_none(g_q, a);
	buf_init(&b, QUEUE_CHUNK_SIZE);
	ck_assert_int_eq(queue_body_chunk(g_q, a, 0, &b, &err), 0);
	buf_free(&b);
	stat_is(g_q, 1, 3, 1, 1, 0);
	ck_assert_uint_eq(check_all(g_q, &l), 1);
	ck_assert_uint_eq(l.v[0].id, c);
	/* a leased one, too; its due entry goes with it */
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 1), 1);
	ck_assert_int_eq(queue_delete(g_q, c, &err), 1);
	stat_is(g_q, 0, 0, 0, 0, 0);
	ck_assert_uint_eq(claim(g_q, T + 2 * LEASE, 1, 0, LEASE, got, 1), 0);
}
END_TEST

/* A corrupt message record: reported, skipped by the listing, deletable. */
START_TEST(corrupt_record)
{
	struct queue_msg *m = NULL;
	struct seen_list l;
	struct ob_err err;
	MDB_env *env;
	MDB_txn *txn;
	unsigned char k[8];
	uint64_t a, b;
	char want[300], ids[QUEUE_ID_LEN + 1];

	q_open(0);
	a = put_ok(g_q, 1, 10, 2, T);
	b = put_ok(g_q, 2, 10, 1, T);
	q_close();
	env = raw_open(&txn);
	be64(k, a);
	raw_put(txn, "msg", k, 8, "\1\0\0", 3);
	raw_close(env, txn);
	q_open(0);

	queue_id_str(a, ids);
	ck_assert_int_eq(queue_load(g_q, a, &m, &err), -1);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.kind, OB_PERM);
	(void)ob_snprintf(want, sizeof want,
	    "queue %s: message record %s is corrupt", g_dir, ids);
	ck_assert_str_eq(err.text, want);

	memset(&l, 0, sizeof l);
	ck_assert_int_eq(queue_foreach(g_q, seen_fn, &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	(void)ob_snprintf(want, sizeof want,
	    "queue %s: 1 corrupt message records skipped", g_dir);
	ck_assert_str_eq(err.text, want);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.v[0].id, b);

	ck_assert_int_eq(queue_delete(g_q, a, &err), 1);
	stat_is(g_q, 1, 1, 1, 1, 0);
	check_all(g_q, &l);
}
END_TEST

/* gc: unpublished chunks of a live submitter stay until they are older
 * than QUEUE_PEND_MAX_AGE_MS; its commit then fails cleanly. */
START_TEST(gc_pending_age)
{
	const char *const rc1[] = { "r@example.org" };
	struct queue_sub *s;
	struct ob_err err;
	unsigned char *b;
	int64_t now;
	char want[300];

	q_open(0);
	put_ok(g_q, 1, 10, 1, T);
	ck_assert_int_eq(queue_gc(g_q, ob_now_ms(), &err), 0);
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	b = xcalloc(1, QUEUE_SUB_BUFMAX + 1);
	ck_assert_int_eq(queue_sub_write(s, b, QUEUE_SUB_BUFMAX + 1, &err), 0);
	free(b);
	stat_is(g_q, 1, 1, 5, 1, 1);
	now = ob_now_ms();
	ck_assert_int_eq(queue_gc(g_q, now, &err), 0);
	stat_is(g_q, 1, 1, 5, 1, 1);
	ck_assert_int_eq(queue_gc(g_q, now + QUEUE_PEND_MAX_AGE_MS + 1000,
	    &err), 1);
	stat_is(g_q, 1, 1, 1, 1, 0);
	ck_assert_int_eq(queue_sub_commit(s, "", rc1, 1, 0, T, &err), -1);
	ck_assert_int_eq(err.kind, OB_TEMP);
	(void)ob_snprintf(want, sizeof want, "queue %s: submission %s was "
	    "removed before commit", g_dir, queue_sub_id(s));
	ck_assert_str_eq(err.text, want);
	queue_sub_free(s);
	stat_is(g_q, 1, 1, 1, 1, 0);
}
END_TEST

/* gc: a lease of a process that is gone is freed, the message due now. */
START_TEST(gc_dead_lease)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, other, got[2];
	int status;
	pid_t pid;

	q_open(0);
	id = put_ok(g_q, 1, 10, 1, T);
	other = put_ok(g_q, 2, 10, 1, T + 1);
	q_close();
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct queue *q;
		size_t n = 0;

		if (queue_open(&q, g_dir, 0, &err) == -1 ||
		    queue_claim(q, T, 0, 0, LEASE, got, 2, &n, &err) == -1 ||
		    n != 1)
			_exit(2);
		queue_close(q);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	q_open(0);
	/* and one of ours, alive */
	ck_assert_uint_eq(claim(g_q, T + 1, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], other);
	ck_assert_int_eq(queue_gc(g_q, T + 10, &err), 1);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->lease_pid, 0);
	ck_assert_int_eq(m->due, T + 10);
	queue_msg_free(m);
	m = load_ok(g_q, other);
	ck_assert_int_eq(m->lease_pid, getpid());
	queue_msg_free(m);
	stat_is(g_q, 2, 2, 2, 2, 0);
	ck_assert_int_eq(queue_gc(g_q, T + 10, &err), 0);
	ck_assert_uint_eq(claim(g_q, T + 10, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id);
}
END_TEST

/* ---- a full map --------------------------------------------------------- */

#define SMALL_MAX	(4ULL * MiB)

START_TEST(full_small)
{
	struct put p = { 0, 200 * KiB, 2, 0, 0, NULL, 0, 0 };
	struct seen_list l;
	struct ob_err err;
	uint64_t id[64];
	size_t n, i;
	int rc = 0;

	q_open(SMALL_MAX);
	ck_assert_uint_eq(stat_ok(g_q).map_size, SMALL_MAX);
	for (n = 0; n < 64; n++) {
		p.seed = 50 + (unsigned)n;
		p.now = T + (int64_t)n;
		if ((rc = put_msg(g_q, &p, &id[n], &err)) == -1)
			break;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_ge(n, 5);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_int_eq(err.ex, EX_TEMPFAIL);
	ck_assert_str_eq(err.text, "queue is full (queue_max_size 4M reached)");
	ck_assert_uint_eq(stat_ok(g_q).map_size, SMALL_MAX);
	ck_assert_uint_eq(check_all(g_q, &l), n);
	ck_assert_uint_eq(stat_ok(g_q).pending, 0);
	for (i = 0; i < n; i++) {
		ck_assert_uint_ge(l.v[i].seed, 50);
		ck_assert_uint_lt(l.v[i].seed, 50 + n);
		ck_assert_uint_eq(l.v[i].nrcpt, 2);
		ck_assert_uint_eq(l.v[i].size, 200 * KiB);
	}

	/* still full; room again once one is gone */
	ck_assert_int_eq(put_msg(g_q, &p, &id[n], &err), -1);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_int_eq(queue_delete(g_q, id[0], &err), 1);
	ck_assert_int_eq(queue_delete(g_q, id[1], &err), 1);
	ck_assert_int_eq(put_msg(g_q, &p, &id[n], &err), 0);
	ck_assert_uint_eq(check_all(g_q, &l), n - 1);
	q_close();
	/* and after reopening with the same cap */
	q_open(SMALL_MAX);
	ck_assert_uint_eq(check_all(g_q, &l), n - 1);
}
END_TEST

/* A large submission runs out of room half way: nothing of it stays. */
START_TEST(full_partial)
{
	struct seen_list l;
	struct queue_sub *s;
	struct ob_err err;
	unsigned char *b;
	size_t i;
	int rc = 0;
	const char *const rc1[] = { "r@example.org" };

	q_open(SMALL_MAX);
	put_ok(g_q, 1, 100 * KiB, 1, T);
	put_ok(g_q, 2, 100 * KiB, 2, T);
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	b = xmalloc(MiB);
	for (i = 0; i < 8; i++) {
		pattern(b, i * MiB, MiB, 3);
		if ((rc = queue_sub_write(s, b, MiB, &err)) == -1)
			break;
		if (i == 1)	/* the first MiB is in chunks by now */
			ck_assert_uint_eq(stat_ok(g_q).pending, 1);
	}
	free(b);
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_ge(i, 2);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_int_eq(err.ex, EX_TEMPFAIL);
	ck_assert_str_eq(err.text, "queue is full (queue_max_size 4M reached)");
	/* failed: no more writes, no commit */
	ck_assert_int_eq(queue_sub_write(s, "x", 1, &err), -1);
	ck_assert_int_eq(queue_sub_commit(s, "", rc1, 1, 0, T, &err), -1);
	queue_sub_free(s);
	stat_is(g_q, 2, 3, 2, 2, 0);
	ck_assert_uint_eq(check_all(g_q, &l), 2);
	/* the room is back, once one more transaction has passed (LMDB
	 * keeps the pages of the last one for a crash) */
	put_ok(g_q, 4, 10 * KiB, 1, T);
	put_ok(g_q, 5, 2 * MiB, 1, T);
	ck_assert_uint_eq(check_all(g_q, &l), 4);
}
END_TEST

/* Under max_size the map grows on demand, from 16 MiB. */
START_TEST(full_grows)
{
	struct queue_stat st;
	struct seen_list l;
	size_t i;

	q_open(64ULL * MiB);
	ck_assert_uint_eq(stat_ok(g_q).map_size, 16 * MiB);
	for (i = 0; i < 5; i++)
		put_ok(g_q, 60 + (unsigned)i, 4 * MiB, 1, T);
	st = stat_ok(g_q);
	ck_assert_uint_eq(st.map_size, 32 * MiB);
	ck_assert_uint_gt(st.map_used, 20 * MiB);
	ck_assert_uint_eq(check_all(g_q, &l), 5);
	q_close();
	q_open(64ULL * MiB);
	ck_assert_uint_ge(stat_ok(g_q).map_size, 20 * MiB);
	ck_assert_uint_eq(check_all(g_q, &l), 5);
}
END_TEST

/* Another process grows the map under our open environment: we adopt
 * its size (MDB_MAP_RESIZED) and go on reading and writing.  The child
 * is forked before we open (it inherits no environment) and waits. */
START_TEST(full_resized)
{
	struct seen_list l;
	struct ob_err err;
	int go[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct put p = { 0, 4 * MiB, 1, 0, 0, NULL, 0, 0 };
		struct queue *q;
		uint64_t id;
		unsigned i;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(4);
		if (queue_open(&q, g_dir, 64ULL * MiB, &err) == -1)
			_exit(2);
		for (i = 0; i < 5; i++) {
			p.seed = 70 + i;
			if (put_msg(q, &p, &id, &err) == -1)
				_exit(3);
		}
		queue_close(q);
		_exit(0);
	}
	close(go[0]);
	q_open(64ULL * MiB);
	put_ok(g_q, 1, 10, 1, T);
	ck_assert_uint_eq(stat_ok(g_q).map_size, 16 * MiB);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(check_all(g_q, &l), 6);
	ck_assert_uint_eq(stat_ok(g_q).map_size, 32 * MiB);
	put_ok(g_q, 2, 2 * MiB, 1, T);
	ck_assert_uint_eq(check_all(g_q, &l), 7);
}
END_TEST

/* ---- schema 2: upgrade, records ----------------------------------------- *
 * Records written by hand, in the layout of the comment at the top of
 * queue.c (version 1 as it was before issue 3), so the tests do not use
 * the encoder they check.
 */

static void
wb_u8(struct buf *b, unsigned v)
{
	ck_assert_int_eq(buf_addc(b, (int)(v & 0xff)), 0);
}

static void
wb_u16(struct buf *b, unsigned v)
{
	wb_u8(b, v >> 8);
	wb_u8(b, v);
}

static void
wb_u32(struct buf *b, uint32_t v)
{
	wb_u16(b, v >> 16);
	wb_u16(b, v & 0xffff);
}

static void
wb_u64(struct buf *b, uint64_t v)
{
	wb_u32(b, (uint32_t)(v >> 32));
	wb_u32(b, (uint32_t)v);
}

static void
wb_str(struct buf *b, const char *s)
{
	wb_u16(b, (unsigned)strlen(s));
	ck_assert_int_eq(buf_addstr(b, s), 0);
}

/* A message record up to the sender: what both versions share. */
static void
wb_msg(struct buf *b, unsigned ver, unsigned flags, int64_t arrival,
    uint64_t size, uint32_t nrcpt, int64_t due, int64_t last,
    const char *sender)
{
	buf_clear(b);
	wb_u8(b, ver);
	wb_u32(b, flags);
	wb_u64(b, (uint64_t)arrival);
	wb_u64(b, size);
	wb_u32(b, (uint32_t)NCHUNKS(size));
	wb_u32(b, nrcpt);
	wb_u64(b, (uint64_t)due);
	wb_u64(b, (uint64_t)last);
	wb_u64(b, 0);		/* lease_until */
	wb_u32(b, 0);		/* lease_pid */
	wb_str(b, sender);
}

/* A recipient record up to last_result (RESULT NULL: none). */
static void
wb_rcpt(struct buf *b, unsigned ver, int state, uint32_t attempts,
    int64_t next, int64_t last, const char *addr, const char *result)
{
	buf_clear(b);
	wb_u8(b, ver);
	wb_u8(b, (unsigned)state);
	wb_u32(b, attempts);
	wb_u64(b, (uint64_t)next);
	wb_u64(b, (uint64_t)last);
	wb_str(b, addr);
	wb_u8(b, result != NULL);
	if (result != NULL)
		wb_str(b, result);
}

static void
raw_key_idn(unsigned char k[12], uint64_t id, uint32_t n)
{
	be64(k, id);
	k[8] = (unsigned char)(n >> 24);
	k[9] = (unsigned char)(n >> 16);
	k[10] = (unsigned char)(n >> 8);
	k[11] = (unsigned char)n;
}

/* raw_first: the first octet of the value under K in DB, or -1 if none. */
static int
raw_first(MDB_txn *txn, const char *db, const void *k, size_t kn)
{
	MDB_dbi dbi;
	MDB_val key = { kn, (void *)(uintptr_t)k }, v;

	ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	if (mdb_get(txn, dbi, &key, &v) != 0 || v.mv_size == 0)
		return -1;
	return *(const unsigned char *)v.mv_data;
}

#define V1_SIZE	(300 * KiB)	/* two chunks */
#define V1_SEED	7

/* A version 1 queue (meta version 1, version 1 records, no "dest"): it
 * opens, is version 2 from then on, its message loads with the new fields
 * empty, is claimed, and its first update rewrites it as version 2. */
START_TEST(upgrade_v1)
{
	static const unsigned char v1[4] = { 0, 0, 0, 1 };
	struct queue_dest d;
	struct queue_msg *m;
	struct ob_err err;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 7, "version" }, v;
	struct buf b;
	unsigned char key[16], *body;
	uint64_t id = (uint64_t)T << 20 | 0x12345, got[2];
	uint32_t i;

	buf_init(&b, 0);
	body = xmalloc(V1_SIZE);
	pattern(body, 0, V1_SIZE, V1_SEED);
	env = raw_open(&txn);
	raw_put(txn, "meta", "version", 7, v1, 4);
	be64(key, id);
	wb_msg(&b, 1, QM_8BIT, T - 5000, V1_SIZE, 3, T, T - 1000,
	    "s7@example.org");
	raw_put(txn, "msg", key, 8, b.p, b.len);
	wb_rcpt(&b, 1, QR_PENDING, 1, T, T - 1000, rcpts[0],
	    "451 4.3.0 later");
	raw_key_idn(key, id, 0);
	raw_put(txn, "rcpt", key, 12, b.p, b.len);
	wb_rcpt(&b, 1, QR_DELIVERED, 1, 0, T - 1000, rcpts[1], "250 ok");
	raw_key_idn(key, id, 1);
	raw_put(txn, "rcpt", key, 12, b.p, b.len);
	wb_rcpt(&b, 1, QR_PENDING, 0, 0, 0, rcpts[2], NULL);
	raw_key_idn(key, id, 2);
	raw_put(txn, "rcpt", key, 12, b.p, b.len);
	for (i = 0; i < 2; i++) {
		raw_key_idn(key, id, i);
		raw_put(txn, "body", key, 12, body + i * QUEUE_CHUNK_SIZE,
		    i == 0 ? QUEUE_CHUNK_SIZE : V1_SIZE - QUEUE_CHUNK_SIZE);
	}
	be64(key, (uint64_t)T);
	be64(key + 8, id);
	raw_put(txn, "due", key, 16, "", 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "pend", MDB_CREATE, &dbi), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "dest", 0, &dbi), MDB_NOTFOUND);
	raw_close(env, txn);
	free(body);

	q_open(0);
	m = load_ok(g_q, id);
	ck_assert_str_eq(m->sender, "s7@example.org");
	ck_assert_uint_eq(m->flags, QM_8BIT);
	ck_assert_int_eq(m->arrival, T - 5000);
	ck_assert_uint_eq(m->size, V1_SIZE);
	ck_assert_uint_eq(m->nchunks, 2);
	ck_assert_int_eq(m->due, T);
	ck_assert_int_eq(m->last_attempt, T - 1000);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->ret, QRET_DEFAULT);
	ck_assert_ptr_null(m->envid);
	ck_assert_uint_eq(m->nrcpt, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(m->rcpt[i].addr, rcpts[i]);
		ck_assert_uint_eq(m->rcpt[i].notify, 0);
		ck_assert_ptr_null(m->rcpt[i].orcpt);
		ck_assert_ptr_null(m->rcpt[i].remote);
	}
	ck_assert_int_eq(m->rcpt[0].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[0].attempts, 1);
	ck_assert_int_eq(m->rcpt[0].next_attempt, T);
	ck_assert_int_eq(m->rcpt[0].last_attempt, T - 1000);
	ck_assert_str_eq(m->rcpt[0].last_result, "451 4.3.0 later");
	ck_assert_int_eq(m->rcpt[1].state, QR_DELIVERED);
	ck_assert_str_eq(m->rcpt[1].last_result, "250 ok");
	ck_assert_int_eq(m->rcpt[2].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[2].attempts, 0);
	ck_assert_ptr_null(m->rcpt[2].last_result);
	queue_msg_free(m);
	check_body(g_q, id, V1_SIZE, V1_SEED);
	stat_is(g_q, 1, 3, 2, 1, 0);
	ck_assert_uint_eq(stat_ok(g_q).dests, 0);
	q_close();

	/* version 3 now, "dest" there, the records still version 1 */
	env = raw_open(&txn);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	ck_assert_uint_eq(v.mv_size, 4);
	ck_assert_mem_eq(v.mv_data, "\0\0\0\3", 4);
	ck_assert_int_eq(mdb_dbi_open(txn, "dest", 0, &dbi), 0);
	be64(key, id);
	ck_assert_int_eq(raw_first(txn, "msg", key, 8), 1);
	raw_key_idn(key, id, 2);
	ck_assert_int_eq(raw_first(txn, "rcpt", key, 12), 1);
	raw_close(env, txn);

	/* a claim and an update: rewritten as version 2, fields kept */
	q_open(0);
	ck_assert_uint_eq(claim(g_q, T - 1, 0, 0, LEASE, got, 2), 0);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[0].attempts = 2;
	m->rcpt[0].remote = xstrdup("mx.example.org");
	m->rcpt[2].next_attempt = T + 5000;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 10, &err), 0);
	queue_msg_free(m);
	/* and the new database works */
	ck_assert_int_eq(queue_dest_fail(g_q, "relay", T, 1000, 5000, "x", &d,
	    &err), 0);
	q_close();

	env = raw_open(&txn);
	be64(key, id);
	ck_assert_int_eq(raw_first(txn, "msg", key, 8), 3);
	for (i = 0; i < 3; i++) {
		raw_key_idn(key, id, i);
		ck_assert_int_eq(raw_first(txn, "rcpt", key, 12), 2);
	}
	raw_close(env, txn);

	q_open(0);
	m = load_ok(g_q, id);
	ck_assert_str_eq(m->sender, "s7@example.org");
	ck_assert_uint_eq(m->flags, QM_8BIT);
	ck_assert_int_eq(m->arrival, T - 5000);
	ck_assert_int_eq(m->due, T + 5000);
	ck_assert_int_eq(m->last_attempt, T + 10);
	ck_assert_int_eq(m->ret, QRET_DEFAULT);
	ck_assert_ptr_null(m->envid);
	ck_assert_int_eq(m->rcpt[0].state, QR_DELIVERED);
	ck_assert_str_eq(m->rcpt[0].remote, "mx.example.org");
	ck_assert_str_eq(m->rcpt[0].last_result, "451 4.3.0 later");
	ck_assert_str_eq(m->rcpt[1].last_result, "250 ok");
	ck_assert_int_eq(m->rcpt[2].state, QR_PENDING);
	ck_assert_int_eq(m->rcpt[2].next_attempt, T + 5000);
	ck_assert_ptr_null(m->rcpt[2].remote);
	queue_msg_free(m);
	check_body(g_q, id, V1_SIZE, V1_SEED);
	stat_is(g_q, 1, 3, 2, 1, 0);
	ck_assert_uint_eq(stat_ok(g_q).dests, 1);
	buf_free(&b);
}
END_TEST

/* Records that do not decode: each reported as corrupt, never read past.
 * Each row replaces the message record or recipient 0 of a message. */
enum rec_field { RF_END, RF_U8, RF_U16, RF_U32, RF_STR };

static const struct {
	const char *what;
	int	 rcpt;		/* replaces recipient 0, else the message */
	unsigned ver;
	struct {
		enum rec_field f;
		unsigned v;
		const char *s;
	} tail[4];		/* after the shared part */
	int	 ok;		/* decodes after all */
} recs[] = {
	{ "msg v1", 0, 1, { { RF_END, 0, NULL } }, 1 },
	{ "msg v2", 0, 2, { { RF_U8, QRET_HDRS, NULL },
	    { RF_STR, 0, "e1" }, { RF_END, 0, NULL } }, 1 },
	{ "msg v1 with v2 fields", 0, 1, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_END, 0, NULL } }, 0 },
	{ "msg v2 without envid", 0, 2, { { RF_U8, 0, NULL },
	    { RF_END, 0, NULL } }, 0 },
	{ "msg v2 without ret", 0, 2, { { RF_END, 0, NULL } }, 0 },
	{ "msg v2 ret 3", 0, 2, { { RF_U8, 3, NULL }, { RF_STR, 0, "" },
	    { RF_END, 0, NULL } }, 0 },
	{ "msg v2 trailing octet", 0, 2, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_U8, 0, NULL }, { RF_END, 0, NULL } }, 0 },
	{ "msg v2 envid past the end", 0, 2, { { RF_U8, 0, NULL },
	    { RF_U16, 5, NULL }, { RF_END, 0, NULL } }, 0 },
	{ "msg v3", 0, 3, { { RF_U8, QRET_FULL, NULL }, { RF_STR, 0, "e3" },
	    { RF_U32, 1234, NULL }, { RF_END, 0, NULL } }, 1 },
	{ "msg v3 without owner", 0, 3, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_END, 0, NULL } }, 0 },
	{ "msg v3 short owner", 0, 3, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_U16, 0, NULL }, { RF_END, 0, NULL } }, 0 },
	{ "msg v4", 0, 4, { { RF_U8, 0, NULL }, { RF_STR, 0, "" },
	    { RF_U32, 0, NULL }, { RF_END, 0, NULL } }, 0 },
	{ "rcpt v1", 1, 1, { { RF_END, 0, NULL } }, 1 },
	{ "rcpt v2", 1, 2, { { RF_U8, QN_DELAY, NULL },
	    { RF_STR, 0, "rfc822;x@y" }, { RF_STR, 0, "mx" },
	    { RF_END, 0, NULL } }, 1 },
	{ "rcpt v2 notify 0x10", 1, 2, { { RF_U8, 0x10, NULL },
	    { RF_STR, 0, "" }, { RF_STR, 0, "" }, { RF_END, 0, NULL } }, 0 },
	{ "rcpt v2 without remote", 1, 2, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_END, 0, NULL } }, 0 },
	{ "rcpt v1 with v2 fields", 1, 1, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_STR, 0, "" }, { RF_END, 0, NULL } }, 0 },
	{ "rcpt v0", 1, 0, { { RF_END, 0, NULL } }, 0 },
	{ "rcpt v3", 1, 3, { { RF_U8, 0, NULL },
	    { RF_STR, 0, "" }, { RF_STR, 0, "" }, { RF_END, 0, NULL } }, 0 },
};

/* The submitting uid is kept, through updates too; none means none. */
START_TEST(owner_kept)
{
	struct put p = { 3, 100, 2, 0, T, NULL, 0, 1001 };
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, id2, got[2];

	q_open(0);
	ck_assert_int_eq(put_msg(g_q, &p, &id, &err), 0);
	id2 = put_ok(g_q, 4, 100, 1, T);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->owner, 1001);
	queue_msg_free(m);
	m = load_ok(g_q, id2);
	ck_assert_uint_eq(m->owner, QUEUE_NO_OWNER);
	queue_msg_free(m);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 10, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->owner, 1001);
	queue_msg_free(m);
}
END_TEST

START_TEST(record_versions)
{
	struct queue_msg *m = NULL;
	struct ob_err err;
	MDB_env *env;
	MDB_txn *txn;
	struct buf b;
	unsigned char key[12];
	uint64_t id;
	char want[300], ids[QUEUE_ID_LEN + 1];
	int i, rc;

	q_open(0);
	id = put_ok(g_q, 1, 10, 1, T);
	q_close();
	buf_init(&b, 0);
	if (recs[_i].rcpt)
		wb_rcpt(&b, recs[_i].ver, QR_PENDING, 0, 0, 0, rcpts[0],
		    NULL);
	else
		wb_msg(&b, recs[_i].ver, 0, T, 10, 1, T, 0, "s1@example.org");
	for (i = 0; recs[_i].tail[i].f != RF_END; i++)
		switch (recs[_i].tail[i].f) {
		case RF_U8:
			wb_u8(&b, recs[_i].tail[i].v);
			break;
		case RF_U16:
			wb_u16(&b, recs[_i].tail[i].v);
			break;
		case RF_U32:
			wb_u32(&b, recs[_i].tail[i].v);
			break;
		case RF_STR:
			wb_str(&b, recs[_i].tail[i].s);
			break;
		default:
			ck_abort_msg("bad row");
		}
	env = raw_open(&txn);
	if (recs[_i].rcpt) {
		raw_key_idn(key, id, 0);
		raw_put(txn, "rcpt", key, 12, b.p, b.len);
	} else {
		be64(key, id);
		raw_put(txn, "msg", key, 8, b.p, b.len);
	}
	raw_close(env, txn);
	buf_free(&b);

	q_open(0);
	rc = queue_load(g_q, id, &m, &err);
	if (recs[_i].ok) {
		ck_assert_msg(rc == 1, "%s: %d %s", recs[_i].what, rc,
		    rc == -1 ? err.text : "");
		ck_assert_str_eq(m->sender, "s1@example.org");
		ck_assert_str_eq(m->rcpt[0].addr, rcpts[0]);
		if (recs[_i].ver == 2 && !recs[_i].rcpt) {
			ck_assert_int_eq(m->ret, QRET_HDRS);
			ck_assert_str_eq(m->envid, "e1");
		}
		/* the owner: only version 3 message records have one */
		ck_assert_uint_eq(m->owner, recs[_i].ver == 3 ? 1234 :
		    QUEUE_NO_OWNER);
		if (recs[_i].ver == 3) {
			ck_assert_int_eq(m->ret, QRET_FULL);
			ck_assert_str_eq(m->envid, "e3");
		}
		if (recs[_i].ver == 2 && recs[_i].rcpt) {
			ck_assert_uint_eq(m->rcpt[0].notify, QN_DELAY);
			ck_assert_str_eq(m->rcpt[0].orcpt, "rfc822;x@y");
			ck_assert_str_eq(m->rcpt[0].remote, "mx");
		}
		queue_msg_free(m);
		return;
	}
	ck_assert_msg(rc == -1, "%s: %d", recs[_i].what, rc);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.kind, OB_PERM);
	queue_id_str(id, ids);
	(void)ob_snprintf(want, sizeof want, recs[_i].rcpt ?
	    "queue %s: recipients of %s are corrupt" :
	    "queue %s: message record %s is corrupt", g_dir, ids);
	ck_assert_str_eq(err.text, want);
}
END_TEST

/* ---- DSN parameters and the remote server -------------------------------- */

/* put_dsn: a 10-octet message (seed 1) to the first NRCPT of rcpts[] with
 * queue_sub_dsn(RET, ENVID, NOTIFY, ORCPT).  0 with *ID, or -1 with ERR. */
static int
put_dsn(size_t nrcpt, int ret, const char *envid, const unsigned *notify,
    const char *const *orcpt, uint64_t *id, struct ob_err *err)
{
	struct queue_sub *s;
	int rc;

	ck_assert_int_eq(queue_sub_begin(g_q, &s, err), 0);
	ck_assert_int_eq(queue_sub_write(s, "0123456789", 10, err), 0);
	queue_sub_dsn(s, ret, envid, notify, orcpt);
	rc = queue_sub_commit(s, "s1@example.org", rcpts, nrcpt, 0, T, err);
	if (rc == 0)
		ck_assert_int_eq(queue_id_parse(queue_sub_id(s), id), 0);
	queue_sub_free(s);
	return rc;
}

START_TEST(dsn_params)
{
	static const unsigned notify[3] = {
		QN_SUCCESS | QN_FAILURE, QN_NEVER, 0xf0 | QN_DELAY
	};
	static const char *const orcpt[3] = {
		"rfc822;A@example.org", NULL, "utf-8;c\\x{E9}@example.com"
	};
	static const unsigned want_n[3] = {
		QN_SUCCESS | QN_FAILURE, QN_NEVER, QN_DELAY
	};
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, id2, id3, got[4];
	size_t i;

	q_open(0);
	ck_assert_int_eq(put_dsn(3, QRET_FULL, "Q123+2Bx", notify, orcpt, &id,
	    &err), 0);
	/* none of them, an empty ENVID */
	ck_assert_int_eq(put_dsn(2, QRET_HDRS, "", NULL, NULL, &id2, &err), 0);
	id3 = put_ok(g_q, 3, 10, 1, T);		/* queue_sub_dsn not called */

	m = load_ok(g_q, id);
	ck_assert_int_eq(m->ret, QRET_FULL);
	ck_assert_str_eq(m->envid, "Q123+2Bx");
	ck_assert_uint_eq(m->nrcpt, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(m->rcpt[i].notify, want_n[i]);
		ck_assert_ptr_null(m->rcpt[i].remote);
	}
	ck_assert_str_eq(m->rcpt[0].orcpt, "rfc822;A@example.org");
	ck_assert_ptr_null(m->rcpt[1].orcpt);
	ck_assert_str_eq(m->rcpt[2].orcpt, "utf-8;c\\x{E9}@example.com");
	queue_msg_free(m);
	m = load_ok(g_q, id2);
	ck_assert_int_eq(m->ret, QRET_HDRS);
	ck_assert_ptr_null(m->envid);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(m->rcpt[i].notify, 0);
		ck_assert_ptr_null(m->rcpt[i].orcpt);
	}
	queue_msg_free(m);
	m = load_ok(g_q, id3);
	ck_assert_int_eq(m->ret, QRET_DEFAULT);
	ck_assert_ptr_null(m->envid);
	ck_assert_uint_eq(m->rcpt[0].notify, 0);
	ck_assert_ptr_null(m->rcpt[0].orcpt);
	queue_msg_free(m);

	/* a claim and an update keep them */
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 4), 3);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[1].next_attempt = T + 100;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 1, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->ret, QRET_FULL);
	ck_assert_str_eq(m->envid, "Q123+2Bx");
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(m->rcpt[i].notify, want_n[i]);
	ck_assert_str_eq(m->rcpt[0].orcpt, "rfc822;A@example.org");
	ck_assert_ptr_null(m->rcpt[1].orcpt);
	ck_assert_str_eq(m->rcpt[2].orcpt, "utf-8;c\\x{E9}@example.com");
	queue_msg_free(m);
	stat_is(g_q, 3, 6, 3, 3, 0);
}
END_TEST

/* Bad RET, ENVID or ORCPT: the commit fails OB_PERM, nothing written;
 * corrected, the same submission commits. */
static const struct {
	int	 ret;
	size_t	 envid_len;	/* an ENVID of 'e' this long; 0 = none */
	size_t	 orcpt_len;	/* ORCPT of recipient 1; 0 = none */
	const char *text;	/* NULL = accepted */
} dsn_bads[] = {
	{ -1, 0, 0, "queue: bad RET or ENVID" },
	{ QRET_HDRS + 1, 0, 0, "queue: bad RET or ENVID" },
	{ 1000, 5, 0, "queue: bad RET or ENVID" },
	{ QRET_FULL, 65536, 0, "queue: bad RET or ENVID" },
	{ QRET_FULL, 0, 65536, "queue: recipient address too long" },
	{ QRET_HDRS, 65535, 65535, NULL },	/* the limits, inclusive */
};

START_TEST(dsn_bad)
{
	const char *orcpt[2] = { NULL, NULL };
	struct queue_sub *s;
	struct queue_msg *m;
	struct ob_err err;
	char *envid = NULL, *oc = NULL;
	uint64_t id;
	int rc;

	q_open(0);
	if (dsn_bads[_i].envid_len) {
		envid = xmalloc(dsn_bads[_i].envid_len + 1);
		memset(envid, 'e', dsn_bads[_i].envid_len);
		envid[dsn_bads[_i].envid_len] = '\0';
	}
	if (dsn_bads[_i].orcpt_len) {
		oc = xmalloc(dsn_bads[_i].orcpt_len + 1);
		memset(oc, 'o', dsn_bads[_i].orcpt_len);
		oc[dsn_bads[_i].orcpt_len] = '\0';
		orcpt[1] = oc;
	}
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	ck_assert_int_eq(queue_sub_write(s, "x", 1, &err), 0);
	queue_sub_dsn(s, dsn_bads[_i].ret, envid, NULL, orcpt);
	memset(&err, 0, sizeof err);
	rc = queue_sub_commit(s, "", rcpts, 2, 0, T, &err);
	if (dsn_bads[_i].text == NULL) {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(queue_id_parse(queue_sub_id(s), &id), 0);
		m = load_ok(g_q, id);
		ck_assert_int_eq(m->ret, dsn_bads[_i].ret);
		ck_assert_uint_eq(strlen(m->envid), dsn_bads[_i].envid_len);
		ck_assert_ptr_null(m->rcpt[0].orcpt);
		ck_assert_uint_eq(strlen(m->rcpt[1].orcpt),
		    dsn_bads[_i].orcpt_len);
		queue_msg_free(m);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(err.kind, OB_PERM);
		ck_assert_int_eq(err.ex, EX_DATAERR);
		ck_assert_str_eq(err.text, dsn_bads[_i].text);
		stat_is(g_q, 0, 0, 0, 0, 0);
		queue_sub_dsn(s, QRET_DEFAULT, NULL, NULL, NULL);
		ck_assert_int_eq(queue_sub_commit(s, "", rcpts, 2, 0, T, &err),
		    0);
	}
	queue_sub_free(s);
	stat_is(g_q, 1, 2, 1, 1, 0);
	free(envid);
	free(oc);
}
END_TEST

/* remote: the server of last_result, stored by an update; "" is none. */
START_TEST(update_remote)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];
	char *lng;

	q_open(0);
	id = put_ok(g_q, 1, 10, 3, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].remote = xstrdup("mx1.example.org[192.0.2.1]:25");
	m->rcpt[0].last_result = xstrdup("451 4.7.1 greylisted");
	m->rcpt[1].remote = xstrdup("");
	lng = xmalloc(70001);
	memset(lng, 'r', 70000);
	lng[70000] = '\0';
	m->rcpt[2].remote = lng;	/* cut at the u16 length */
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 1, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_str_eq(m->rcpt[0].remote, "mx1.example.org[192.0.2.1]:25");
	ck_assert_str_eq(m->rcpt[0].last_result, "451 4.7.1 greylisted");
	ck_assert_ptr_null(m->rcpt[1].remote);
	ck_assert_uint_eq(strlen(m->rcpt[2].remote), 65535);
	/* replaced, then dropped */
	free(m->rcpt[0].remote);
	m->rcpt[0].remote = xstrdup("mx2.example.org");
	free(m->rcpt[2].remote);
	m->rcpt[2].remote = NULL;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 2, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_str_eq(m->rcpt[0].remote, "mx2.example.org");
	ck_assert_ptr_null(m->rcpt[1].remote);
	ck_assert_ptr_null(m->rcpt[2].remote);
	queue_msg_free(m);
}
END_TEST

/* ---- bounces: queue_update_dsn ------------------------------------------ */

/* body_all: the whole body of ID into OUT, the chunk sizes into LENS (at
 * most MAXN).  The number of chunks. */
static uint32_t
body_all(struct queue *q, uint64_t id, struct buf *out, size_t *lens,
    uint32_t maxn)
{
	struct ob_err err;
	struct buf b;
	uint32_t i;
	int rc;

	buf_init(&b, QUEUE_CHUNK_SIZE);
	buf_clear(out);
	for (i = 0; (rc = queue_body_chunk(q, id, i, &b, &err)) == 1; i++) {
		ck_assert_uint_lt(i, maxn);
		lens[i] = b.len;
		ck_assert_int_eq(buf_add(out, b.p, b.len), 0);
	}
	ck_assert_int_eq(rc, 0);
	buf_free(&b);
	return i;
}

/* bounce_id: the id queue_update_dsn gave bounce B. */
static uint64_t
bounce_id(const struct queue_bounce *b)
{
	uint64_t id = 0;

	ck_assert_uint_eq(strlen(b->idstr), QUEUE_ID_LEN);
	ck_assert_int_eq(queue_id_parse(b->idstr, &id), 0);
	return id;
}

/* check_bounce: ID is a fresh message from SENDER to RCPT, due at NOW,
 * with FLAGS, and body WANT (LEN octets) in full chunks but the last. */
static void
check_bounce(uint64_t id, const char *sender, const char *rcpt,
    unsigned flags, int64_t now, const void *want, size_t len)
{
	struct queue_msg *m;
	struct buf all;
	size_t lens[16];
	uint32_t n, i;

	m = load_ok(g_q, id);
	ck_assert_str_eq(m->sender, sender);
	ck_assert_uint_eq(m->flags, flags);
	ck_assert_int_eq(m->arrival, now);
	ck_assert_int_eq(m->due, now);
	ck_assert_int_eq(m->last_attempt, 0);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->ret, QRET_DEFAULT);
	ck_assert_ptr_null(m->envid);
	ck_assert_uint_eq(m->size, len);
	ck_assert_uint_eq(m->nchunks, NCHUNKS(len));
	ck_assert_uint_eq(m->nrcpt, 1);
	ck_assert_str_eq(m->rcpt[0].addr, rcpt);
	ck_assert_int_eq(m->rcpt[0].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[0].attempts, 0);
	ck_assert_int_eq(m->rcpt[0].next_attempt, 0);
	ck_assert_ptr_null(m->rcpt[0].last_result);
	ck_assert_ptr_null(m->rcpt[0].orcpt);
	/* the null sender stops reports on reports (bounce.c), not NOTIFY */
	ck_assert_uint_eq(m->rcpt[0].notify, 0);
	queue_msg_free(m);

	buf_init(&all, 0);
	n = body_all(g_q, id, &all, lens, 16);
	ck_assert_uint_eq(n, NCHUNKS(len));
	for (i = 0; i + 1 < n; i++)
		ck_assert_uint_eq(lens[i], QUEUE_CHUNK_SIZE);
	ck_assert_uint_eq(all.len, len);
	ck_assert_msg(len == 0 || memcmp(all.p, want, len) == 0,
	    "bounce body differs");
	buf_free(&all);
}

/* All recipients done, some failed: the message goes, its bounce (HEAD,
 * MID, TAIL) is queued in the same update, due at once. */
static const struct {
	const char *sender, *head, *mid, *tail;
	unsigned flags, want_flags;
} bounces[] = {
	{ "", "HEAD\r\n", "MID\r\n", "TAIL\r\n", QM_BOUNCE, QM_BOUNCE },
	{ "", "H\xe9\r\n", "M\r\n", "T\r\n", QM_BOUNCE, QM_BOUNCE | QM_8BIT },
	{ "", "H\r\n", "M\x80\r\n", "T\r\n", QM_BOUNCE, QM_BOUNCE | QM_8BIT },
	{ "", "H\r\n", "M\r\n", "T\xff", QM_BOUNCE, QM_BOUNCE | QM_8BIT },
	{ "", "H\r\n", "M\x7f\r\n", "T\r\n", QM_BOUNCE, QM_BOUNCE },
	{ "", "", "", "", QM_BOUNCE, QM_BOUNCE },	/* empty body */
	{ "MAILER-DAEMON@relay.example", "H\r\n", "", "T\r\n",
	    QM_BOUNCE | QM_DOUBLE, QM_BOUNCE | QM_DOUBLE },
};

START_TEST(bounce_basic)
{
	struct queue_bounce bo, *bp = &bo;
	struct queue_msg *m;
	struct ob_err err;
	struct buf want;
	uint64_t id, bid, got[2];
	int64_t u = T + 9;

	q_open(0);
	id = put_ok(g_q, 1, 1000, 3, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[1].state = QR_FAILED;
	m->rcpt[1].last_result = xstrdup("550 5.1.1 no such user");
	m->rcpt[2].state = QR_FAILED;
	memset(&bo, 0, sizeof bo);
	bo.rcpt = "s1@example.org";
	bo.sender = bounces[_i].sender;
	bo.flags = bounces[_i].flags;
	bo.head = bounces[_i].head;
	bo.headlen = strlen(bo.head);
	bo.mid = bounces[_i].mid;
	bo.midlen = strlen(bo.mid);
	bo.tail = bounces[_i].tail;
	bo.taillen = strlen(bo.tail);
	ck_assert_int_eq(queue_update_dsn(g_q, &m, &bp, 1, u, &err), 0);
	queue_msg_free(m);

	load_none(g_q, id);
	bid = bounce_id(&bo);
	ck_assert_uint_ne(bid, id);
	buf_init(&want, 0);
	(void)buf_addstr(&want, bo.head);
	(void)buf_addstr(&want, bo.mid);
	(void)buf_addstr(&want, bo.tail);
	check_bounce(bid, bo.sender, "s1@example.org",
	    bounces[_i].want_flags, u, want.p, want.len);
	stat_is(g_q, 1, 1, want.len ? 1 : 0, 1, 0);
	buf_free(&want);
	ck_assert_uint_eq(claim(g_q, u - 1, 0, 0, LEASE, got, 2), 0);
	ck_assert_uint_eq(claim(g_q, u, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], bid);
}
END_TEST

/* A recipient still pending: the message stays, due at its next attempt,
 * and the bounce on the failed one is queued beside it.  In the same
 * batch a message without a bounce (B[i] NULL) is only updated. */
START_TEST(bounce_pending)
{
	static const char bb[] = "report\r\n";
	struct queue_bounce bo, *bp[2];
	struct queue_msg *m[2];
	struct ob_err err;
	uint64_t a, c, bid, got[3];
	int64_t u = T + 9;

	q_open(0);
	a = put_ok(g_q, 1, 1000, 2, T);
	c = put_ok(g_q, 2, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 3), 2);
	m[0] = load_ok(g_q, a);
	m[0]->rcpt[0].state = QR_FAILED;
	m[0]->rcpt[0].last_result = xstrdup("550 5.7.1 refused");
	m[0]->rcpt[1].next_attempt = T + 5000;
	m[1] = load_ok(g_q, c);
	m[1]->rcpt[0].next_attempt = T + 7000;
	memset(&bo, 0, sizeof bo);
	bo.rcpt = "s1@example.org";
	bo.sender = "";
	bo.flags = QM_BOUNCE;
	bo.head = bb;
	bo.headlen = sizeof bb - 1;
	bp[0] = &bo;
	bp[1] = NULL;
	ck_assert_int_eq(queue_update_dsn(g_q, m, bp, 2, u, &err), 0);
	queue_msg_free(m[0]);
	queue_msg_free(m[1]);

	m[0] = load_ok(g_q, a);
	ck_assert_int_eq(m[0]->due, T + 5000);
	ck_assert_int_eq(m[0]->last_attempt, u);
	ck_assert_int_eq(m[0]->lease_until, 0);
	ck_assert_int_eq(m[0]->rcpt[0].state, QR_FAILED);
	ck_assert_str_eq(m[0]->rcpt[0].last_result, "550 5.7.1 refused");
	ck_assert_int_eq(m[0]->rcpt[1].state, QR_PENDING);
	queue_msg_free(m[0]);
	m[1] = load_ok(g_q, c);
	ck_assert_int_eq(m[1]->due, T + 7000);
	queue_msg_free(m[1]);
	bid = bounce_id(&bo);
	check_bounce(bid, "", "s1@example.org", QM_BOUNCE, u, bb,
	    sizeof bb - 1);
	check_body(g_q, a, 1000, 1);
	stat_is(g_q, 3, 4, 3, 3, 0);
	ck_assert_uint_eq(claim(g_q, u, 0, 0, LEASE, got, 3), 1);
	ck_assert_uint_eq(got[0], bid);
}
END_TEST

/* COPY_BODY: HEAD, the original's whole stored body, TAIL (MID unused),
 * re-chunked at QUEUE_CHUNK_SIZE. */
static const struct {
	uint64_t size;		/* of the original */
	size_t	 headlen, taillen;
} copies[] = {
	{ 600 * KiB, 100, 50 },
	{ 2 * QUEUE_CHUNK_SIZE - 150, 100, 50 },	/* exactly 2 chunks */
	{ 2 * QUEUE_CHUNK_SIZE, 0, 0 },
	{ 3 * MiB + 7, 1000, 3 },	/* from a chunked submission */
	{ 0, 10, 10 },
	{ 1, 0, 0 },
};

START_TEST(bounce_copy)
{
	struct queue_bounce bo, *bp = &bo;
	struct queue_msg *m;
	struct ob_err err;
	unsigned char *want;
	uint64_t id, bid, got[2], size = copies[_i].size;
	size_t hl = copies[_i].headlen, tl = copies[_i].taillen, len, i;
	unsigned flags = QM_BOUNCE;

	len = hl + (size_t)size + tl;
	want = xmalloc(len + 1);
	memset(want, 'H', hl);
	pattern(want + hl, 0, (size_t)size, 5);
	memset(want + hl + size, 'T', tl);
	for (i = 0; i < len; i++)
		if (want[i] > 127)
			flags |= QM_8BIT;

	q_open(0);
	id = put_ok(g_q, 5, size, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_FAILED;
	memset(&bo, 0, sizeof bo);
	bo.rcpt = "s5@example.org";
	bo.sender = "";
	bo.flags = QM_BOUNCE;
	bo.head = (const char *)want;
	bo.headlen = hl;
	bo.mid = "ignored";
	bo.midlen = 7;
	bo.tail = (const char *)want + hl + size;
	bo.taillen = tl;
	bo.copy_body = 1;
	ck_assert_int_eq(queue_update_dsn(g_q, &m, &bp, 1, T + 1, &err), 0);
	queue_msg_free(m);
	load_none(g_q, id);
	bid = bounce_id(&bo);
	check_bounce(bid, "", "s5@example.org", flags, T + 1, want, len);
	stat_is(g_q, 1, 1, NCHUNKS(len), 1, 0);
	free(want);
}
END_TEST

/* A bounce queue_update_dsn cannot write spoils the whole update. */
static const struct {
	const char *rcpt, *sender;
} bounce_bads[] = {
	{ NULL, "" },
	{ "", "" },
	{ "x@example.org", NULL },
};

START_TEST(bounce_bad)
{
	struct queue_bounce bo, *bp = &bo;
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_FAILED;
	memset(&bo, 0, sizeof bo);
	bo.rcpt = bounce_bads[_i].rcpt;
	bo.sender = bounce_bads[_i].sender;
	bo.head = "x";
	bo.headlen = 1;
	ck_assert_int_eq(queue_update_dsn(g_q, &m, &bp, 1, T + 1, &err), -1);
	queue_msg_free(m);
	ck_assert_str_eq(bo.idstr, "");
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->rcpt[0].state, QR_PENDING);
	ck_assert_int_eq(m->lease_pid, getpid());
	ck_assert_int_eq(m->last_attempt, 0);
	queue_msg_free(m);
	stat_is(g_q, 1, 1, 1, 1, 0);
}
END_TEST

/* ---- hold, retry, due ---------------------------------------------------- */

/* queue_due, asserted: *NDUE and *NEXT. */
static void
due_is(int64_t now, size_t max, size_t ndue, int64_t next)
{
	struct ob_err err;
	size_t n = 12345;
	int64_t t = 12345;

	if (queue_due(g_q, now, max, &n, &t, &err) == -1)
		ck_abort_msg("queue_due: %s", err.text);
	ck_assert_uint_eq(n, ndue);
	ck_assert_int_eq(t, next);
}

static int
hold(uint64_t id, int on, int64_t now)
{
	struct ob_err err;
	int rc;

	if ((rc = queue_hold(g_q, id, on, now, &err)) == -1)
		ck_abort_msg("queue_hold: %s", err.text);
	return rc;
}

static int
retry(uint64_t id, int64_t now)
{
	struct ob_err err;
	int rc;

	if ((rc = queue_retry(g_q, id, now, &err)) == -1)
		ck_abort_msg("queue_retry: %s", err.text);
	return rc;
}

/* update_next: claim-less update of ID's N recipients to next attempts
 * NEXT[] (0 = delivered) at NOW. */
static void
update_next(uint64_t id, const int64_t *next, size_t n, int64_t now)
{
	struct queue_msg *m;
	struct ob_err err;
	size_t i;

	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->nrcpt, n);
	for (i = 0; i < n; i++) {
		m->rcpt[i].attempts = 1;
		if (next[i] == 0)
			m->rcpt[i].state = QR_DELIVERED;
		else
			m->rcpt[i].next_attempt = next[i];
	}
	if (queue_update(g_q, &m, 1, now, &err) == -1)
		ck_abort_msg("queue_update: %s", err.text);
	queue_msg_free(m);
}

START_TEST(hold_release)
{
	const int64_t next[2] = { T + 5000, T + 3000 };
	struct queue_msg *m;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 2, T);
	update_next(id, next, 2, T + 1);
	due_is(T + 3000, 10, 1, T + 3000);

	ck_assert_int_eq(hold(id, 1, T + 10), 1);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->flags, QM_HELD);
	ck_assert_int_eq(m->due, 0);
	ck_assert_int_eq(m->rcpt[1].next_attempt, T + 3000);
	queue_msg_free(m);
	stat_is(g_q, 1, 2, 1, 0, 0);
	due_is(T + 100 * LEASE, 10, 0, 0);
	ck_assert_uint_eq(claim(g_q, T + 100 * LEASE, 1, 0, LEASE, got, 2), 0);
	/* again: no change; retry leaves it alone */
	ck_assert_int_eq(hold(id, 1, T + 11), 1);
	ck_assert_int_eq(retry(id, T + 12), 0);
	ck_assert_int_eq(retry(0, T + 12), 0);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->flags, QM_HELD);
	ck_assert_int_eq(m->due, 0);
	ck_assert_int_eq(m->rcpt[1].next_attempt, T + 3000);
	queue_msg_free(m);
	stat_is(g_q, 1, 2, 1, 0, 0);

	/* released before its next attempt: due then */
	ck_assert_int_eq(hold(id, 0, T + 20), 1);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->flags, 0);
	ck_assert_int_eq(m->due, T + 3000);
	queue_msg_free(m);
	stat_is(g_q, 1, 2, 1, 1, 0);
	due_is(T + 2999, 10, 0, T + 3000);
	/* released after it: due at once */
	ck_assert_int_eq(hold(id, 1, T + 21), 1);
	ck_assert_int_eq(hold(id, 0, T + 4000), 1);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->due, T + 4000);
	queue_msg_free(m);
	ck_assert_int_eq(hold(id, 0, T + 4001), 1);	/* not held: stays */
	stat_is(g_q, 1, 2, 1, 1, 0);
	ck_assert_uint_eq(claim(g_q, T + 4001, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id);

	/* unknown ids */
	ck_assert_int_eq(hold(1, 1, T), 0);
	ck_assert_int_eq(hold(1, 0, T), 0);
	stat_is(g_q, 1, 2, 1, 1, 0);
}
END_TEST

/* Held while we hold its lease: the lease and its due entry stay; our
 * update then applies the flag (out of the due index, still held). */
static int
want_s1(const char *sender, void *arg)
{
	(void)arg;
	return strcmp(sender, "s1@example.org") == 0;
}

/* queue_due_for: a filter's look past now is bounded: behind 300 other
 * entries, the wanted one is not searched for; NEXT is then an earlier
 * time (a wake-up too early, never too late), and without them exact. */
START_TEST(due_for_bounded)
{
	struct ob_err err;
	size_t ndue, i;
	int64_t next;

	q_open(0);
	(void)put_ok(g_q, 1, 10, 1, T + 100000);	/* wanted, later */
	ck_assert_int_eq(queue_due_for(g_q, T, 10, &ndue, &next, want_s1,
	    NULL, &err), 0);
	ck_assert_uint_eq(ndue, 0);
	ck_assert_int_eq(next, T + 100000);		/* exact */
	for (i = 0; i < 300; i++)
		(void)put_ok(g_q, 2, 10, 1, T + 1000 + (int64_t)i);
	ck_assert_int_eq(queue_due_for(g_q, T, 10, &ndue, &next, want_s1,
	    NULL, &err), 0);
	ck_assert_uint_eq(ndue, 0);
	ck_assert_int_eq(next, T + 1000 + 256);	/* early: look again */
	/* without a filter, nothing changes */
	ck_assert_int_eq(queue_due(g_q, T, 10, &ndue, &next, &err), 0);
	ck_assert_int_eq(next, T + 1000);
	(void)put_ok(g_q, 1, 10, 1, T - 5);		/* due now */
	ck_assert_int_eq(queue_due_for(g_q, T, 10, &ndue, &next, want_s1,
	    NULL, &err), 0);
	ck_assert_uint_eq(ndue, 1);
	ck_assert_int_eq(next, T - 5);
}
END_TEST

/* queue_renew: our leases are extended and their due entries move; a
 * message not leased, or gone, is left alone. */
START_TEST(renew_leases)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t a, b, c, got[4], ids[4];
	size_t ndue;
	int64_t next;

	q_open(0);
	a = put_ok(g_q, 1, 10, 1, T);
	b = put_ok(g_q, 2, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);
	c = put_ok(g_q, 3, 10, 1, T);		/* not leased */
	ids[0] = a;
	ids[1] = b;
	ids[2] = c;
	ids[3] = 12345;				/* no such message */
	ck_assert_int_eq(queue_renew(g_q, ids, 4, T + 5 * LEASE, &err), 2);
	m = load_ok(g_q, a);
	ck_assert_int_eq(m->lease_until, T + 5 * LEASE);
	ck_assert_int_eq(m->due, T + 5 * LEASE);
	ck_assert_int_eq(m->lease_pid, getpid());
	queue_msg_free(m);
	m = load_ok(g_q, c);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->due, T);
	queue_msg_free(m);
	/* past the old lease, only the unleased one is due */
	ck_assert_int_eq(queue_due(g_q, T + 2 * LEASE, 10, &ndue, &next,
	    &err), 0);
	ck_assert_uint_eq(ndue, 1);
	ck_assert_int_eq(next, T);
	ck_assert_uint_eq(claim(g_q, T + 2 * LEASE, 0, 0, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], c);
	stat_is(g_q, 3, 3, 3, 3, 0);
	ck_assert_int_eq(queue_renew(g_q, NULL, 0, T, &err), 0);
}
END_TEST

START_TEST(hold_leased)
{
	struct queue_msg *m, *h;
	struct ob_err err;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);		/* loaded before the hold */
	ck_assert_int_eq(hold(id, 1, T + 1), 1);
	h = load_ok(g_q, id);
	ck_assert_uint_eq(h->flags, QM_HELD);
	ck_assert_int_eq(h->lease_pid, getpid());
	ck_assert_int_eq(h->lease_until, T + LEASE);
	ck_assert_int_eq(h->due, T + LEASE);
	queue_msg_free(h);
	stat_is(g_q, 1, 1, 1, 1, 0);
	/* its lease run out: still not claimed, held */
	ck_assert_uint_eq(claim(g_q, T + 2 * LEASE, 1, 0, LEASE, got, 2), 0);

	m->rcpt[0].attempts = 1;
	m->rcpt[0].next_attempt = T + 5000;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 2, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->flags, QM_HELD);
	ck_assert_int_eq(m->due, 0);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->lease_pid, 0);
	ck_assert_int_eq(m->last_attempt, T + 2);
	ck_assert_uint_eq(m->rcpt[0].attempts, 1);
	queue_msg_free(m);
	stat_is(g_q, 1, 1, 1, 0, 0);
	due_is(T + 100 * LEASE, 10, 0, 0);

	ck_assert_int_eq(hold(id, 0, T + 3), 1);
	m = load_ok(g_q, id);
	ck_assert_uint_eq(m->flags, 0);
	ck_assert_int_eq(m->due, T + 5000);
	queue_msg_free(m);
	due_is(T + 5000, 10, 1, T + 5000);
}
END_TEST

START_TEST(retry_msgs)
{
	const int64_t na[2] = { 0, T + 60000 }, nb[1] = { T + 90000 };
	struct queue_msg *m;
	uint64_t a, b, h, got[4];

	q_open(0);
	a = put_ok(g_q, 1, 10, 2, T);
	b = put_ok(g_q, 2, 10, 1, T);
	h = put_ok(g_q, 3, 10, 1, T);
	update_next(a, na, 2, T + 1);
	update_next(b, nb, 1, T + 1);
	update_next(h, nb, 1, T + 1);
	ck_assert_int_eq(hold(h, 1, T + 2), 1);
	due_is(T + 100, 10, 0, T + 60000);

	ck_assert_int_eq(retry(a, T + 100), 1);
	m = load_ok(g_q, a);
	ck_assert_int_eq(m->due, T + 100);
	ck_assert_int_eq(m->rcpt[0].state, QR_DELIVERED);
	ck_assert_int_eq(m->rcpt[0].next_attempt, 0);
	ck_assert_int_eq(m->rcpt[1].next_attempt, T + 100);
	ck_assert_uint_eq(m->rcpt[1].attempts, 1);
	ck_assert_int_eq(m->last_attempt, T + 1);
	queue_msg_free(m);
	due_is(T + 100, 10, 1, T + 100);
	stat_is(g_q, 3, 4, 3, 2, 0);

	/* all: a and b, not the held one */
	ck_assert_int_eq(retry(0, T + 200), 2);
	m = load_ok(g_q, b);
	ck_assert_int_eq(m->due, T + 200);
	ck_assert_int_eq(m->rcpt[0].next_attempt, T + 200);
	queue_msg_free(m);
	m = load_ok(g_q, h);
	ck_assert_int_eq(m->due, 0);
	ck_assert_int_eq(m->rcpt[0].next_attempt, T + 90000);
	queue_msg_free(m);
	due_is(T + 200, 10, 2, T + 200);
	ck_assert_uint_eq(claim(g_q, T + 199, 0, 0, LEASE, got, 4), 0);
	ck_assert_uint_eq(claim(g_q, T + 200, 0, 0, LEASE, got, 4), 2);
	sort_ids(got, 2);
	ck_assert_uint_eq(got[0], a < b ? a : b);
	ck_assert_uint_eq(got[1], a < b ? b : a);

	/* unknown; and leased ones are the lease holder's business */
	ck_assert_int_eq(retry(1, T + 300), 0);	/* no id is that small */
	ck_assert_int_eq(retry(a, T + 300), 0);
	ck_assert_int_eq(retry(0, T + 300), 0);
	m = load_ok(g_q, a);
	ck_assert_int_eq(m->due, T + 200 + LEASE);
	ck_assert_int_eq(m->lease_pid, getpid());
	queue_msg_free(m);
}
END_TEST

START_TEST(due_counts)
{
	uint64_t id[5], got[5];
	size_t i;

	q_open(0);
	due_is(T, 10, 0, 0);			/* empty */
	for (i = 0; i < 3; i++)
		id[i] = put_ok(g_q, (unsigned)i, 10, 1, T);
	id[3] = put_ok(g_q, 3, 10, 1, T + 5000);
	id[4] = put_ok(g_q, 4, 10, 1, T + 7000);
	due_is(T - 1, 10, 0, T);
	due_is(T, 10, 3, T);
	due_is(T, 3, 3, T);
	due_is(T, 2, 2, T);
	due_is(T, 0, 0, T);
	due_is(T + 4999, 10, 3, T);
	due_is(T + 5000, 10, 4, T);
	due_is(T + 7000, 10, 5, T);
	due_is(T + 7000, 4, 4, T);
	/* leased: not due until the lease runs out */
	sort_ids(id, 3);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 2);
	ck_assert_uint_eq(got[0], id[0]);
	ck_assert_uint_eq(got[1], id[1]);
	due_is(T, 10, 1, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 5), 1);
	ck_assert_uint_eq(got[0], id[2]);
	due_is(T, 10, 0, T + 5000);
	due_is(T + 7000, 10, 2, T + 5000);
	due_is(T + LEASE, 10, 5, T + 5000);
}
END_TEST

/* ---- destinations ------------------------------------------------------ */

static const struct {
	int64_t	 initial, max;
	int64_t	 wait[8];	/* after failure 1, 2, ...; 0 ends */
} backoffs[] = {
	{ 1000, 5000, { 1000, 2000, 4000, 5000, 5000, 5000, 0 } },
	{ 1000, 1000, { 1000, 1000, 1000, 0 } },
	{ 3000, 10000, { 3000, 6000, 10000, 10000, 0 } },
	{ 300000, 3600000, { 300000, 600000, 1200000, 2400000, 3600000,
	    3600000, 0 } },
};

START_TEST(dest_backoff)
{
	struct queue_dest d;
	struct ob_err err;
	int64_t now = T;
	uint32_t i;
	char why[32];

	q_open(0);
	for (i = 0; backoffs[_i].wait[i] != 0; i++) {
		(void)ob_snprintf(why, sizeof why, "refused %u", i);
		memset(&d, 0xff, sizeof d);
		ck_assert_int_eq(queue_dest_fail(g_q, "relay.example.net:25",
		    now, backoffs[_i].initial, backoffs[_i].max, why, &d,
		    &err), 0);
		ck_assert_uint_eq(d.failures, i + 1);
		ck_assert_int_eq(d.since, T);
		ck_assert_int_eq(d.next_try, now + backoffs[_i].wait[i]);
		ck_assert_str_eq(d.reason, why);
		memset(&d, 0xff, sizeof d);
		ck_assert_int_eq(queue_dest_get(g_q, "relay.example.net:25",
		    &d, &err), 1);
		ck_assert_uint_eq(d.failures, i + 1);
		ck_assert_int_eq(d.since, T);
		ck_assert_int_eq(d.next_try, now + backoffs[_i].wait[i]);
		ck_assert_str_eq(d.reason, why);
		now = d.next_try;
	}
	ck_assert_uint_eq(stat_ok(g_q).dests, 1);
}
END_TEST

START_TEST(dest_ok)
{
	struct queue_dest d;
	struct ob_err err;
	char lng[512], why[300];

	q_open(0);
	memset(&d, 0xff, sizeof d);
	ck_assert_int_eq(queue_dest_get(g_q, "a.example", &d, &err), 0);
	ck_assert_uint_eq(d.failures, 0);
	ck_assert_int_eq(d.next_try, 0);
	ck_assert_str_eq(d.reason, "");
	ck_assert_int_eq(queue_dest_ok(g_q, "a.example", &err), 0);
	ck_assert_uint_eq(stat_ok(g_q).dests, 0);

	/* a reason is cut to fit */
	memset(why, 'w', sizeof why - 1);
	why[sizeof why - 1] = '\0';
	ck_assert_int_eq(queue_dest_fail(g_q, "a.example", T, 1000, 5000, why,
	    &d, &err), 0);
	ck_assert_uint_eq(strlen(d.reason), 255);
	ck_assert_int_eq(queue_dest_fail(g_q, "b.example", T, 1000, 5000, "",
	    &d, &err), 0);
	ck_assert_str_eq(d.reason, "");
	/* the longest name LMDB takes as a key */
	memset(lng, 'n', 511);
	lng[511] = '\0';
	ck_assert_int_eq(queue_dest_fail(g_q, lng, T, 1000, 5000, "x", &d,
	    &err), 0);
	ck_assert_uint_eq(stat_ok(g_q).dests, 3);
	q_close();

	/* kept across opens */
	q_open(0);
	ck_assert_int_eq(queue_dest_get(g_q, "a.example", &d, &err), 1);
	ck_assert_uint_eq(d.failures, 1);
	ck_assert_int_eq(d.next_try, T + 1000);
	ck_assert_uint_eq(strlen(d.reason), 255);
	ck_assert_int_eq(d.reason[254], 'w');
	ck_assert_int_eq(queue_dest_get(g_q, lng, &d, &err), 1);
	ck_assert_str_eq(d.reason, "x");

	ck_assert_int_eq(queue_dest_ok(g_q, "a.example", &err), 0);
	ck_assert_int_eq(queue_dest_get(g_q, "a.example", &d, &err), 0);
	ck_assert_int_eq(queue_dest_get(g_q, "b.example", &d, &err), 1);
	ck_assert_uint_eq(stat_ok(g_q).dests, 2);
	ck_assert_int_eq(queue_dest_ok(g_q, "a.example", &err), 0);
	ck_assert_uint_eq(stat_ok(g_q).dests, 2);
	/* it starts over */
	ck_assert_int_eq(queue_dest_fail(g_q, "a.example", T + 9000, 1000,
	    5000, "again", &d, &err), 0);
	ck_assert_uint_eq(d.failures, 1);
	ck_assert_int_eq(d.since, T + 9000);
	ck_assert_int_eq(d.next_try, T + 10000);
}
END_TEST

/* Bad names and backoff parameters: OB_PERM, nothing written. */
static const struct {
	size_t	 namelen;	/* of 'n's */
	int64_t	 initial, max;
} dest_bads[] = {
	{ 0, 1000, 5000 },
	{ 512, 1000, 5000 },
	{ 5, 0, 5000 },
	{ 5, -1000, 5000 },
	{ 5, 1000, 999 },
};

START_TEST(dest_bad)
{
	struct queue_dest d;
	struct ob_err err;
	char name[600];

	q_open(0);
	memset(name, 'n', dest_bads[_i].namelen);
	name[dest_bads[_i].namelen] = '\0';
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(queue_dest_fail(g_q, name, T, dest_bads[_i].initial,
	    dest_bads[_i].max, "x", &d, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_str_eq(err.text, "queue: bad destination backoff");
	ck_assert_uint_eq(stat_ok(g_q).dests, 0);
	if (dest_bads[_i].namelen == 0 || dest_bads[_i].namelen > 511) {
		ck_assert_int_eq(queue_dest_get(g_q, name, &d, &err), -1);
		ck_assert_int_eq(err.kind, OB_PERM);
		ck_assert_str_eq(err.text, "queue: bad destination name");
		ck_assert_int_eq(queue_dest_ok(g_q, name, &err), -1);
		ck_assert_int_eq(err.kind, OB_PERM);
	}
}
END_TEST

/* ---- connection slots (issue 5) ---------------------------------------- */

static int
slot_take(const char *name, int limit)
{
	struct ob_err err;
	int rc;

	if ((rc = queue_slot_take(g_q, name, limit, &err)) == -1)
		ck_abort_msg("queue_slot_take %s: %s", name, err.text);
	return rc;
}

static void
slot_drop(const char *name)
{
	struct ob_err err;

	if (queue_slot_drop(g_q, name, &err) != 0)
		ck_abort_msg("queue_slot_drop %s: %s", name, err.text);
}

static const char *sl_seen;	/* the last queue_test_hook name */

static void
sl_hook(const char *what)
{
	sl_seen = what;
}

START_TEST(slot_take_drop)
{
	q_open(0);
	queue_test_hook = sl_hook;
	ck_assert_int_eq(slot_take("example.org", 2), 1);
	ck_assert_str_eq(sl_seen, "slot");
	queue_test_hook = NULL;
	ck_assert_int_eq(slot_take("example.org", 2), 1);
	ck_assert_int_eq(slot_take("example.org", 2), 0);
	ck_assert_int_eq(slot_take("example.org", 2), 0);
	ck_assert_int_eq(slot_take("example.org", 1), 0);
	/* drop one: one can be taken again */
	slot_drop("example.org");
	ck_assert_int_eq(slot_take("example.org", 2), 1);
	ck_assert_int_eq(slot_take("example.org", 2), 0);
	/* a higher limit lets one more in */
	ck_assert_int_eq(slot_take("example.org", 3), 1);
	ck_assert_int_eq(slot_take("example.org", 3), 0);

	/* names are independent, and compared exactly */
	ck_assert_int_eq(slot_take("example.net", 1), 1);
	ck_assert_int_eq(slot_take("example.net", 1), 0);
	ck_assert_int_eq(slot_take("example.org", 3), 0);
	ck_assert_int_eq(slot_take("mx.example.org", 1), 1);
	ck_assert_int_eq(slot_take("example.or", 1), 1);

	/* dropping what is not held: a no-op */
	slot_drop("never.example");
	slot_drop("example.net");
	slot_drop("example.net");
	ck_assert_int_eq(slot_take("example.net", 1), 1);
	ck_assert_int_eq(slot_take("example.org", 3), 0);

	/* the slots outlive the handle (same process) */
	q_close();
	q_open(0);
	ck_assert_int_eq(slot_take("example.org", 3), 0);
	ck_assert_int_eq(slot_take("example.net", 1), 0);
	ck_assert_int_eq(slot_take("mx.example.org", 1), 0);

	/* give everything back: no records left */
	slot_drop("example.org");
	slot_drop("example.org");
	slot_drop("example.org");
	slot_drop("example.org");
	slot_drop("example.net");
	slot_drop("mx.example.org");
	slot_drop("example.or");
	ck_assert_uint_eq(stat_ok(g_q).dests, 0);
	ck_assert_int_eq(slot_take("example.org", 1), 1);
	/* no messages were touched */
	stat_is(g_q, 0, 0, 0, 0, 0);
}
END_TEST

/* A child takes LIMIT slots and dies holding them: while it lives they
 * are in use, once it is gone they are free. */
static const int sl_limits[] = { 1, 2, 5 };

START_TEST(slot_dead_holder)
{
	int limit = sl_limits[_i], up[2], down[2], status, i;
	char c;
	pid_t pid;

	q_open(0);
	ck_assert_int_eq(slot_take("other.example", 1), 1);
	q_close();
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct ob_err err;
		struct queue *q;

		close(up[0]);
		close(down[1]);
		if (queue_open(&q, g_dir, 0, &err) == -1)
			_exit(2);
		for (i = 0; i < limit; i++)
			if (queue_slot_take(q, "example.org", limit, &err) != 1)
				_exit(3);
		if (queue_slot_take(q, "example.org", limit, &err) != 0)
			_exit(4);
		queue_close(q);
		(void)!write(up[1], "T", 1);
		(void)!read(down[0], &c, 1);
		_exit(0);		/* without dropping them */
	}
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	q_open(0);
	ck_assert_int_eq(slot_take("example.org", limit), 0);
	ck_assert_int_eq(slot_take("example.org", limit + 1), 1);
	slot_drop("example.org");
	/* dropping ours does not drop the child's */
	slot_drop("example.org");
	ck_assert_int_eq(slot_take("example.org", limit), 0);

	ck_assert_int_eq(write(down[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(up[0]);
	close(down[1]);

	/* the dead child's slots are free; ours elsewhere are kept */
	for (i = 0; i < limit; i++)
		ck_assert_int_eq(slot_take("example.org", limit), 1);
	ck_assert_int_eq(slot_take("example.org", limit), 0);
	ck_assert_int_eq(slot_take("other.example", 1), 0);
}
END_TEST

/* No more than 256 holders of one name, whatever the limit. */
START_TEST(slot_many)
{
	int i;

	q_open(0);
	for (i = 0; i < 256; i++)
		ck_assert_int_eq(slot_take("example.org", 1000), 1);
	ck_assert_int_eq(slot_take("example.org", 1000), 0);
	slot_drop("example.org");
	ck_assert_int_eq(slot_take("example.org", 1000), 1);
	ck_assert_int_eq(slot_take("example.org", 256), 0);
	ck_assert_int_eq(slot_take("example.org", 1), 0);
}
END_TEST

/* Bad names and limits: -1, OB_PERM, nothing written. */
static const struct {
	size_t	 namelen;	/* of 'n's */
	int	 limit;		/* 0 and below for take; DROP: a drop */
	const char *text;	/* NULL: fine */
} slot_bads[] = {
#define SL_DROP	(-1000)
	{ 5, 0, "queue: bad slot limit" },
	{ 5, -1, "queue: bad slot limit" },
	{ 5, -2147483647 - 1, "queue: bad slot limit" },
	{ 0, 1, "queue: bad slot" },
	{ 600, 1, "queue: bad slot" },
	{ 501, 1, "queue: bad slot" },
	{ 500, 1, NULL },
	{ 0, SL_DROP, "queue: bad slot" },
	{ 600, SL_DROP, "queue: bad slot" },
	{ 501, SL_DROP, "queue: bad slot" },
	{ 500, SL_DROP, NULL },
};

START_TEST(slot_bad)
{
	struct ob_err err;
	char name[700];
	int rc;

	q_open(0);
	memset(name, 'n', slot_bads[_i].namelen);
	name[slot_bads[_i].namelen] = '\0';
	memset(&err, 0, sizeof err);
	if (slot_bads[_i].limit == SL_DROP)
		rc = queue_slot_drop(g_q, name, &err);
	else
		rc = queue_slot_take(g_q, name, slot_bads[_i].limit, &err);
	if (slot_bads[_i].text == NULL) {
		ck_assert_int_eq(rc, slot_bads[_i].limit == SL_DROP ? 0 : 1);
		ck_assert_uint_eq(stat_ok(g_q).dests,
		    slot_bads[_i].limit == SL_DROP ? 0 : 1);
		return;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_str_eq(err.text, slot_bads[_i].text);
	ck_assert_uint_eq(stat_ok(g_q).dests, 0);
}
END_TEST

/* ---- queue_record (issue 5) -------------------------------------------- */

static void
record_ok(struct queue_msg *m, int64_t now)
{
	struct ob_err err;

	if (queue_record(g_q, m, now, &err) == -1)
		ck_abort_msg("queue_record: %s", err.text);
}

/* Results of one destination: stored, the message stays ours. */
START_TEST(record_keeps_lease)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, other, got[4];

	q_open(0);
	id = put_ok(g_q, 1, 300 * KiB, 3, T);
	other = put_ok(g_q, 2, 10, 1, T + 1000);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], id);

	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[0].attempts = 1;
	m->rcpt[0].last_attempt = T + 10;
	m->rcpt[0].last_result = xstrdup("250 2.0.0 ok");
	m->rcpt[0].remote = xstrdup("mx.example.org[192.0.2.1]:25");
	m->rcpt[1].attempts = 1;
	m->rcpt[1].last_attempt = T + 10;
	m->rcpt[1].next_attempt = T + 5000;
	m->rcpt[1].last_result = xstrdup("451 4.7.1 greylisted");
	record_ok(m, T + 10);
	queue_msg_free(m);

	m = load_ok(g_q, id);
	ck_assert_int_eq(m->rcpt[0].state, QR_DELIVERED);
	ck_assert_uint_eq(m->rcpt[0].attempts, 1);
	ck_assert_int_eq(m->rcpt[0].last_attempt, T + 10);
	ck_assert_str_eq(m->rcpt[0].last_result, "250 2.0.0 ok");
	ck_assert_str_eq(m->rcpt[0].remote, "mx.example.org[192.0.2.1]:25");
	ck_assert_int_eq(m->rcpt[1].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[1].attempts, 1);
	ck_assert_int_eq(m->rcpt[1].next_attempt, T + 5000);
	ck_assert_str_eq(m->rcpt[1].last_result, "451 4.7.1 greylisted");
	ck_assert_int_eq(m->rcpt[2].state, QR_PENDING);
	ck_assert_uint_eq(m->rcpt[2].attempts, 0);
	ck_assert_ptr_null(m->rcpt[2].last_result);
	/* still leased by us, due when the lease runs out */
	ck_assert_int_eq(m->lease_pid, getpid());
	ck_assert_int_eq(m->lease_until, T + LEASE);
	ck_assert_int_eq(m->due, T + LEASE);
	ck_assert_int_eq(m->arrival, T);
	ck_assert_uint_eq(m->size, 300 * KiB);
	queue_msg_free(m);
	ck_assert_uint_eq(claim(g_q, T + 20, 0, 0, LEASE, got, 4), 0);
	due_is(T + 20, 10, 0, T + 1000);
	due_is(T + 1000, 10, 1, T + 1000);
	stat_is(g_q, 2, 4, 3, 2, 0);

	/* every recipient done: still not removed */
	m = load_ok(g_q, id);
	m->rcpt[1].state = QR_DELIVERED;
	m->rcpt[1].attempts = 2;
	free(m->rcpt[1].last_result);
	m->rcpt[1].last_result = xstrdup("250 ok again");
	m->rcpt[2].state = QR_FAILED;
	m->rcpt[2].attempts = 1;
	m->rcpt[2].last_result = xstrdup("550 5.1.1 no such user");
	record_ok(m, T + 30);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->rcpt[0].state, QR_DELIVERED);
	ck_assert_int_eq(m->rcpt[1].state, QR_DELIVERED);
	ck_assert_str_eq(m->rcpt[1].last_result, "250 ok again");
	ck_assert_int_eq(m->rcpt[2].state, QR_FAILED);
	ck_assert_str_eq(m->rcpt[2].last_result, "550 5.1.1 no such user");
	ck_assert_int_eq(m->lease_pid, getpid());
	ck_assert_int_eq(m->due, T + LEASE);
	queue_msg_free(m);
	stat_is(g_q, 2, 4, 3, 2, 0);
	check_body(g_q, id, 300 * KiB, 1);
	ck_assert_uint_eq(claim(g_q, T + 40, 1, 0, LEASE, got, 4), 1);
	ck_assert_uint_eq(got[0], other);	/* the other one only */

	/* the final update settles it: removed with its body */
	m = load_ok(g_q, id);
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 50, &err), 0);
	queue_msg_free(m);
	load_none(g_q, id);
	stat_is(g_q, 1, 1, 1, 1, 0);
}
END_TEST

/* Recorded, then released by queue_update: due at the earliest pending
 * next attempt, the recorded results kept. */
START_TEST(record_then_update)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 3, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[0].attempts = 1;
	m->rcpt[2].attempts = 1;
	m->rcpt[2].next_attempt = T + 9000;
	record_ok(m, T + 5);
	/* the same queue_msg, more results, then the final update */
	m->rcpt[1].attempts = 1;
	m->rcpt[1].next_attempt = T + 4000;
	m->rcpt[1].last_result = xstrdup("421 4.4.2 timeout");
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 10, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->lease_pid, 0);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->due, T + 4000);
	ck_assert_int_eq(m->last_attempt, T + 10);
	ck_assert_int_eq(m->rcpt[0].state, QR_DELIVERED);
	ck_assert_str_eq(m->rcpt[1].last_result, "421 4.4.2 timeout");
	ck_assert_int_eq(m->rcpt[2].next_attempt, T + 9000);
	queue_msg_free(m);
	due_is(T + 3999, 10, 0, T + 4000);
	due_is(T + 4000, 10, 1, T + 4000);
	ck_assert_uint_eq(claim(g_q, T + 4000, 0, 0, LEASE, got, 2), 1);
	ck_assert_uint_eq(got[0], id);
}
END_TEST

/* Bad input changes nothing; a message deleted meanwhile is skipped. */
START_TEST(record_bad)
{
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 10, 2, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->nrcpt = 1;
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(queue_record(g_q, m, T + 1, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	m->nrcpt = 2;
	m->rcpt[1].state = 9;
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(queue_record(g_q, m, T + 1, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->rcpt[0].state, QR_PENDING);
	ck_assert_int_eq(m->rcpt[1].state, QR_PENDING);
	ck_assert_int_eq(m->lease_pid, getpid());

	/* deleted while we deliver: nothing to record, no error */
	ck_assert_int_eq(queue_delete(g_q, id, &err), 1);
	m->rcpt[0].state = QR_DELIVERED;
	record_ok(m, T + 2);
	queue_msg_free(m);
	load_none(g_q, id);
	stat_is(g_q, 0, 0, 0, 0, 0);
}
END_TEST

/* ---- crash consistency -------------------------------------------------- *
 * A child opens the queue, does an operation, and stops in queue_test_hook
 * at the chosen write transaction, after telling us on a pipe; we kill -9
 * it there, then open the queue ourselves and check it: it opens, what was
 * committed is whole, the interrupted transaction left nothing, and gc
 * cleans what a dead submitter or lease holder left.
 */

enum crash_op {
	CR_INIT, CR_SMALL, CR_LARGE, CR_TWO, CR_CLAIM, CR_UPDATE,
	CR_RELEASE, CR_DELETE, CR_ABORT, CR_GC, CR_BOUNCE
};

#define CR_LARGE_SIZE	(3 * MiB + 5)	/* 12 chunk transactions */

static const struct {
	const char *hook;
	int	 nth;		/* stop at its NTH call */
	enum crash_op op;
	size_t	 nmsg;		/* messages after the crash */
	uint64_t pending;	/* unpublished submissions after it */
	size_t	 leased;	/* messages leased by the dead child */
	int	 gc;		/* what queue_gc then cleans */
} crashes[] = {
	{ "init", 1, CR_INIT, 0, 0, 0, 0 },
	{ "commit", 1, CR_SMALL, 2, 0, 0, 0 },
	{ "commit", 1, CR_LARGE, 2, 1, 0, 1 },
	{ "chunk", 1, CR_LARGE, 2, 0, 0, 0 },
	{ "chunk", 3, CR_LARGE, 2, 1, 0, 1 },
	{ "chunk", 6, CR_LARGE, 2, 1, 0, 1 },
	{ "commit", 2, CR_TWO, 3, 0, 0, 0 },
	{ "claim", 1, CR_CLAIM, 2, 0, 0, 0 },
	{ "claim", 2, CR_CLAIM, 2, 0, 1, 1 },
	{ "update", 1, CR_UPDATE, 2, 0, 2, 2 },
	{ "update", 1, CR_BOUNCE, 2, 0, 2, 2 },	/* neither result nor DSN */
	{ "release", 1, CR_RELEASE, 2, 0, 2, 2 },
	{ "delete", 1, CR_DELETE, 2, 0, 0, 0 },
	{ "abort", 1, CR_ABORT, 2, 1, 0, 1 },
	{ "gc", 1, CR_GC, 2, 1, 0, 1 },
};

static const char *cr_hook;
static int cr_nth, cr_seen, cr_fd = -1;

static void
crash_hook(const char *what)
{
	if (strcmp(what, cr_hook) != 0 || ++cr_seen != cr_nth)
		return;
	(void)!write(cr_fd, "K", 1);
	for (;;)
		pause();
}

/* The child: never returns. */
static void
crash_child(int op)
{
	struct put p = { 0 };
	struct queue_bounce bo, *bp = &bo;
	struct queue_msg *m;
	struct queue_sub *s;
	struct queue *q;
	struct ob_err err;
	unsigned char *b;
	uint64_t ids[4], id;
	size_t n, i;

	queue_test_hook = crash_hook;
	if (queue_open(&q, g_dir, 0, &err) == -1)
		_exit(10);
	p.now = ob_now_ms();
	p.nrcpt = 3;
	switch (op) {
	case CR_INIT:
		break;
	case CR_SMALL:
		p.seed = 3;
		p.size = 5000;
		(void)put_msg(q, &p, &id, &err);
		break;
	case CR_LARGE:
		p.seed = 3;
		p.size = CR_LARGE_SIZE;
		p.pieces = pc_mixed;
		p.npieces = 5;
		(void)put_msg(q, &p, &id, &err);
		break;
	case CR_TWO:
		p.seed = 3;
		p.size = 700 * KiB;
		if (put_msg(q, &p, &id, &err) == -1)
			_exit(11);
		p.seed = 4;
		(void)put_msg(q, &p, &id, &err);
		break;
	case CR_CLAIM:		/* the second claims one at a time */
		(void)queue_claim(q, p.now, 1, 0, LEASE, ids, 1, &n, &err);
		(void)queue_claim(q, p.now, 1, 0, LEASE, ids, 1, &n, &err);
		break;
	case CR_UPDATE:
	case CR_RELEASE:
		if (queue_claim(q, p.now, 1, 0, LEASE, ids, 4, &n, &err) ==
		    -1 || n != 2)
			_exit(12);
		if (op == CR_RELEASE) {
			(void)queue_release(q, ids, n, &err);
			break;
		}
		if (queue_load(q, ids[0], &m, &err) != 1)
			_exit(13);
		for (i = 0; i < m->nrcpt; i++)
			m->rcpt[i].state = QR_DELIVERED;
		(void)queue_update(q, &m, 1, p.now, &err);
		break;
	case CR_BOUNCE:		/* all failed: removed, with a bounce */
		if (queue_claim(q, p.now, 1, 0, LEASE, ids, 4, &n, &err) ==
		    -1 || n != 2)
			_exit(12);
		if (queue_load(q, ids[0], &m, &err) != 1)
			_exit(13);
		for (i = 0; i < m->nrcpt; i++)
			m->rcpt[i].state = QR_FAILED;
		memset(&bo, 0, sizeof bo);
		bo.rcpt = m->sender;
		bo.sender = "";
		bo.flags = QM_BOUNCE;
		bo.head = "report\r\n";
		bo.headlen = 8;
		bo.copy_body = 1;
		(void)queue_update_dsn(q, &m, &bp, 1, p.now, &err);
		break;
	case CR_DELETE:
		if (queue_claim(q, p.now, 1, 0, LEASE, ids, 1, &n, &err) ==
		    -1 || n != 1 || queue_release(q, ids, 1, &err) == -1)
			_exit(14);
		(void)queue_delete(q, ids[0], &err);
		break;
	case CR_ABORT:
	case CR_GC:
		if (queue_sub_begin(q, &s, &err) == -1)
			_exit(15);
		b = xcalloc(1, QUEUE_SUB_BUFMAX + 1);
		if (queue_sub_write(s, b, QUEUE_SUB_BUFMAX + 1, &err) == -1)
			_exit(16);
		if (op == CR_GC)
			(void)queue_gc(q, p.now + QUEUE_PEND_MAX_AGE_MS +
			    60000, &err);
		else
			queue_sub_free(s);
		break;
	default:
		_exit(17);
	}
	_exit(20);		/* the hook never stopped us */
}

START_TEST(crash)
{
	struct put p = { 0 };
	struct seen_list l;
	struct ob_err err;
	struct pollfd pfd;
	uint64_t a = 0, b = 0, id;
	size_t i, leased;
	int fd[2], status, gc;
	unsigned seeds;
	char c = 0;
	pid_t pid;

	if (crashes[_i].op != CR_INIT) {
		q_open(0);
		a = put_ok(g_q, 1, 1000, 2, T);
		p.seed = 2;
		p.size = 1536 * KiB;
		p.nrcpt = 1;
		p.now = T;
		ck_assert_int_eq(put_msg(g_q, &p, &b, &err), 0);
		q_close();
	}
	ck_assert_int_eq(pipe(fd), 0);
	fflush(NULL);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		close(fd[0]);
		cr_fd = fd[1];
		cr_hook = crashes[_i].hook;
		cr_nth = crashes[_i].nth;
		cr_seen = 0;
		crash_child(crashes[_i].op);
	}
	close(fd[1]);
	pfd.fd = fd[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 15000), 1);
	if (read(fd[0], &c, 1) != 1 || c != 'K') {
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_abort_msg("child did not stop in hook %s #%d: status %d",
		    crashes[_i].hook, crashes[_i].nth,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	close(fd[0]);

	/* it opens, and everything published is whole */
	q_open(0);
	ck_assert_uint_eq(check_all(g_q, &l), crashes[_i].nmsg);
	ck_assert_uint_eq(stat_ok(g_q).pending, crashes[_i].pending);
	/* A, B, and the child's first (CR_TWO), each once */
	for (i = 0, seeds = 0; i < l.n; i++) {
		ck_assert_uint_ge(l.v[i].seed, 1);
		ck_assert_uint_le(l.v[i].seed, 3);
		ck_assert_uint_eq(seeds & 1u << l.v[i].seed, 0);
		seeds |= 1u << l.v[i].seed;
		switch (l.v[i].seed) {
		case 1:
			ck_assert_uint_eq(l.v[i].id, a);
			ck_assert_uint_eq(l.v[i].nrcpt, 2);
			ck_assert_uint_eq(l.v[i].size, 1000);
			break;
		case 2:
			ck_assert_uint_eq(l.v[i].id, b);
			ck_assert_uint_eq(l.v[i].nrcpt, 1);
			ck_assert_uint_eq(l.v[i].size, 1536 * KiB);
			break;
		default:
			ck_assert_uint_eq(l.v[i].nrcpt, 3);
			ck_assert_uint_eq(l.v[i].size, 700 * KiB);
		}
	}
	for (i = leased = 0; i < l.n; i++) {
		ck_assert_int_ne(l.v[i].due, 0);
		if (l.v[i].lease_until != 0) {
			ck_assert_int_eq(l.v[i].lease_pid, pid);
			leased++;
		} else
			ck_assert_int_eq(l.v[i].lease_pid, 0);
		ck_assert_int_eq(l.v[i].states[0], QR_PENDING);
	}
	ck_assert_uint_eq(leased, crashes[_i].leased);

	/* gc takes what the dead child left: then it is as before */
	gc = queue_gc(g_q, ob_now_ms(), &err);
	ck_assert_int_eq(gc, crashes[_i].gc);
	ck_assert_uint_eq(check_all(g_q, &l), crashes[_i].nmsg);
	/* A: 2 rcpts, 1 chunk; B: 1, 6; the child's first: 3, 3 */
	stat_is(g_q, crashes[_i].nmsg,
	    crashes[_i].nmsg > 2 ? 6 : crashes[_i].nmsg ? 3 : 0,
	    crashes[_i].nmsg > 2 ? 10 : crashes[_i].nmsg ? 7 : 0,
	    crashes[_i].nmsg, 0);
	for (i = 0; i < l.n; i++)
		ck_assert_int_eq(l.v[i].lease_until, 0);
	ck_assert_int_eq(queue_gc(g_q, ob_now_ms(), &err), 0);

	/* and takes writes: the dead writer's lock was recovered */
	id = put_ok(g_q, 9, 300 * KiB, 1, ob_now_ms());
	check_body(g_q, id, 300 * KiB, 9);
	ck_assert_uint_eq(check_all(g_q, &l), crashes[_i].nmsg + 1);
}
END_TEST

/* ---- main --------------------------------------------------------------- */

#define NELEM(a)	((int)(sizeof (a) / sizeof (a)[0]))

static TCase *
tc_new(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int
main(void)
{
	Suite *s = suite_create("queue");
	SRunner *r;
	TCase *tc;
	int failed;

	tc = tc_new(s, "open", 10);
	tcase_add_test(tc, open_fresh);
	tcase_add_test(tc, open_reopen_keeps);
	tcase_add_test(tc, open_missing);
	tcase_add_test(tc, open_not_dir);
	tcase_add_test(tc, open_not_writable);
	tcase_add_loop_test(tc, open_schema, 0, NELEM(schemas));
	tcase_add_test(tc, open_foreign);
	tcase_add_test(tc, open_garbage);
	tcase_add_test(tc, open_version_restored);
	tcase_add_test(tc, open_fork_panics);

	tc = tc_new(s, "id", 10);
	tcase_add_loop_test(tc, id_roundtrip, 0, NELEM(idc));
	tcase_add_loop_test(tc, id_parse, 0, NELEM(parses));
	tcase_add_test(tc, id_sortable);

	tc = tc_new(s, "submit", 20);
	tcase_add_loop_test(tc, sub_sizes, 0, NELEM(subs));
	tcase_add_test(tc, sub_fields);
	tcase_add_loop_test(tc, sub_free_uncommitted, 0, NELEM(frees));
	tcase_add_test(tc, sub_errors);
	tcase_add_test(tc, sub_interleaved);
	tcase_add_test(tc, sub_many_rcpts);
	tcase_add_test(tc, body_small_buf);

	tc = tc_new(s, "claim", 10);
	tcase_add_test(tc, claim_due);
	tcase_add_test(tc, claim_batch);
	tcase_add_test(tc, claim_lease_expiry);
	tcase_add_test(tc, claim_release);
	tcase_add_test(tc, claim_held);
	tcase_add_test(tc, claim_not_since);
	tcase_add_test(tc, claim_other_process);

	tc = tc_new(s, "update", 10);
	tcase_add_test(tc, update_partial);
	tcase_add_test(tc, update_next_now);
	tcase_add_test(tc, update_all_delivered);
	tcase_add_test(tc, update_failed_removed);
	tcase_add_test(tc, update_batch);
	tcase_add_test(tc, update_bad);

	tc = tc_new(s, "admin", 10);
	tcase_add_test(tc, foreach_all);
	tcase_add_test(tc, delete_msg);
	tcase_add_test(tc, corrupt_record);
	tcase_add_test(tc, gc_pending_age);
	tcase_add_test(tc, gc_dead_lease);

	tc = tc_new(s, "full", 20);
	tcase_add_test(tc, full_small);
	tcase_add_test(tc, full_partial);
	tcase_add_test(tc, full_grows);
	tcase_add_test(tc, full_resized);

	tc = tc_new(s, "schema2", 10);
	tcase_add_test(tc, upgrade_v1);
	tcase_add_test(tc, owner_kept);
	tcase_add_loop_test(tc, record_versions, 0, NELEM(recs));

	tc = tc_new(s, "dsn", 10);
	tcase_add_test(tc, dsn_params);
	tcase_add_loop_test(tc, dsn_bad, 0, NELEM(dsn_bads));
	tcase_add_test(tc, update_remote);

	tc = tc_new(s, "bounce", 20);
	tcase_add_loop_test(tc, bounce_basic, 0, NELEM(bounces));
	tcase_add_test(tc, bounce_pending);
	tcase_add_loop_test(tc, bounce_copy, 0, NELEM(copies));
	tcase_add_loop_test(tc, bounce_bad, 0, NELEM(bounce_bads));

	tc = tc_new(s, "hold", 10);
	tcase_add_test(tc, hold_release);
	tcase_add_test(tc, hold_leased);
	tcase_add_test(tc, renew_leases);
	tcase_add_test(tc, due_for_bounded);

	tc = tc_new(s, "retry", 10);
	tcase_add_test(tc, retry_msgs);

	tc = tc_new(s, "due", 10);
	tcase_add_test(tc, due_counts);

	tc = tc_new(s, "dest", 10);
	tcase_add_loop_test(tc, dest_backoff, 0, NELEM(backoffs));
	tcase_add_test(tc, dest_ok);
	tcase_add_loop_test(tc, dest_bad, 0, NELEM(dest_bads));

	tc = tc_new(s, "slot", 10);
	tcase_add_test(tc, slot_take_drop);
	tcase_add_loop_test(tc, slot_dead_holder, 0, NELEM(sl_limits));
	tcase_add_test(tc, slot_many);
	tcase_add_loop_test(tc, slot_bad, 0, NELEM(slot_bads));

	tc = tc_new(s, "record", 10);
	tcase_add_test(tc, record_keeps_lease);
	tcase_add_test(tc, record_then_update);
	tcase_add_test(tc, record_bad);

	tc = tc_new(s, "crash", 20);
	tcase_add_loop_test(tc, crash, 0, NELEM(crashes));

	g_base = xstrdup("/tmp/check_queue.XXXXXX");
	if (mkdtemp(g_base) == NULL) {
		perror(g_base);
		return EXIT_FAILURE;
	}
	r = srunner_create(s);
	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	if (rm_tree(g_base) == -1) {
		perror(g_base);
		failed++;
	}
	free(g_base);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
