/* check_queue.c - unit tests of queue.c: opening and the schema check,
 * ids, submission of small and multi-MiB bodies, claims and leases,
 * recording results, listing, deletion, garbage collection, a full map,
 * and crash consistency (a child killed inside each kind of write
 * transaction, through queue_test_hook).
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
	struct put p = { seed, size, nrcpt, 0, now, NULL, 0 };
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
	    "queue directory %s does not exist", p);
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

/* A stored schema version other than ours: refused, files left alone. */
static const struct {
	unsigned char v[8];
	size_t	 len;
	unsigned long ver;	/* in the message; 0 = "corrupt" */
} schemas[] = {
	{ { 0, 0, 0, 2 }, 4, 2 },
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
			    "schema version %lu, this outbox understands 1",
			    g_dir, schemas[_i].ver);
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
	ck_assert_mem_eq(v.mv_data, "\0\0\0\1", 4);
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
	ck_assert_int_eq(queue_sub_commit(s, "a@b", one, 1, QM_HELD, 0, &err),
	    0);
	ck_assert_int_eq(queue_id_parse(queue_sub_id(s), &id), 0);
	queue_sub_free(s);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->arrival, 0);
	ck_assert_int_eq(m->due, 1);
	ck_assert_uint_eq(m->flags, QM_HELD);
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
	struct put p = { 1, 10, 1, QM_HELD, 0, NULL, 0 };
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
	ck_assert_uint_eq(stat_ok(g_q).due, 2);
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

/* No pending recipient but a failed one: kept for bounces, not due. */
START_TEST(update_failed_kept)
{
	struct seen_list l;
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id, got[2];

	q_open(0);
	id = put_ok(g_q, 1, 100, 3, T);
	ck_assert_uint_eq(claim(g_q, T, 0, 0, LEASE, got, 2), 1);
	m = load_ok(g_q, id);
	m->rcpt[0].state = QR_DELIVERED;
	m->rcpt[1].state = QR_FAILED;
	m->rcpt[1].last_result = xstrdup("550 5.1.1 no such user");
	m->rcpt[2].state = QR_FAILED;
	m->rcpt[2].next_attempt = T + 100;	/* ignored: not pending */
	ck_assert_int_eq(queue_update(g_q, &m, 1, T + 9, &err), 0);
	queue_msg_free(m);
	m = load_ok(g_q, id);
	ck_assert_int_eq(m->due, 0);
	ck_assert_int_eq(m->last_attempt, T + 9);
	ck_assert_int_eq(m->lease_until, 0);
	ck_assert_int_eq(m->rcpt[1].state, QR_FAILED);
	ck_assert_str_eq(m->rcpt[1].last_result, "550 5.1.1 no such user");
	queue_msg_free(m);
	stat_is(g_q, 1, 3, 1, 0, 0);
	ck_assert_uint_eq(claim(g_q, T + 100 * LEASE, 1, 0, LEASE, got, 2), 0);
	list_ok(g_q, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.v[0].due, 0);
	ck_assert_int_eq(l.v[0].states[0], QR_DELIVERED);
	ck_assert_int_eq(l.v[0].states[1], QR_FAILED);
	ck_assert_int_eq(l.v[0].states[2], QR_FAILED);
	/* a gc does not bring it back */
	ck_assert_int_eq(queue_gc(g_q, T + 10, &err), 0);
	ck_assert_uint_eq(stat_ok(g_q).due, 0);
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
	struct put p = { 0, 200 * KiB, 2, 0, 0, NULL, 0 };
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
		struct put p = { 0, 4 * MiB, 1, 0, 0, NULL, 0 };
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

/* ---- crash consistency -------------------------------------------------- *
 * A child opens the queue, does an operation, and stops in queue_test_hook
 * at the chosen write transaction, after telling us on a pipe; we kill -9
 * it there, then open the queue ourselves and check it: it opens, what was
 * committed is whole, the interrupted transaction left nothing, and gc
 * cleans what a dead submitter or lease holder left.
 */

enum crash_op {
	CR_INIT, CR_SMALL, CR_LARGE, CR_TWO, CR_CLAIM, CR_UPDATE,
	CR_RELEASE, CR_DELETE, CR_ABORT, CR_GC
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
	tcase_add_test(tc, update_failed_kept);
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
