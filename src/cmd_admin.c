/* cmd_admin.c - queue administration: show, retry, hold, release, delete.
 *
 * Each command opens the queue, acts on the ids given and prints one line
 * per id on stdout ("ID: held"); problems go to stderr as "outbox: ...".
 * Every id is checked for syntax before anything is changed, so a typo
 * never leaves a command half done (EX_USAGE).  Then the ids are handled
 * in order; an unknown one (EX_NOINPUT) or one that cannot be acted on
 * now does not stop the others, and the exit status is that of the first
 * id that did not work (0 when all did).  A queue error stops at once.
 *
 * Invariants:
 * - A message out on a live lease (a delivery running now) is never
 *   deleted or retried under that delivery's feet: its result would be
 *   written after ours.  Holding it is safe: queue_hold keeps the lease
 *   and queue_update keeps the flag.
 * - `delete --bounce` queues the DSN in the transaction that removes the
 *   message (queue_update_dsn), so a crash loses neither (DESIGN:
 *   bounces).
 * - Text that came from outside (header fields, addresses, replies) is
 *   printed with control octets escaped: `show` must not let a message
 *   drive the administrator's terminal.
 *
 * Left to others: what is due and when (sched.c, deliver.c), who is told
 * and how a DSN looks (bounce.c, dsn.c), the queue layout (queue.c).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/types.h>

#include "bounce.h"
#include "cmd.h"
#include "conf.h"
#include "dsn.h"
#include "log.h"
#include "queue.h"
#include "util.h"
#include "wake.h"

#define ADMIN_HDR_MAX	(64 * 1024)	/* header octets `show` prints */
#define ADMIN_DEL_STATUS "5.0.0"	/* RFC 3463 3.1: other or undefined */
#define ADMIN_DEL_REASON "deleted from the queue by the administrator"

struct admin {
	struct conf	*c;
	struct queue	*q;
	int64_t		 now;
	int		 rc;	/* exit status of the first id that failed */
};

static int	admin_open(struct admin *, const struct cmd_opts *);
static int	admin_close(struct admin *, int);
static int	admin_ids(int, char **, int, const char *, uint64_t **);
static void	admin_fail(struct admin *, int);
static int	admin_qerr(const struct ob_err *);
static pid_t	admin_leased(const struct queue_msg *, int64_t);
static void	admin_unknown(struct admin *, const char *);
static void	admin_log(const struct admin *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	put_safe(FILE *, const char *, size_t);
static void	put_safe_str(FILE *, const char *);
static void	fmt_span(char *, size_t, int64_t);
static void	show_time(FILE *, const char *, int64_t, int64_t, int);
static int	show_header(struct admin *, const struct queue_msg *,
		    struct ob_err *);
static void	show_rcpt(const struct queue_rcpt *, int64_t, int);
static int	admin_hold(int, char **, struct cmd_opts *, int);
static int	delete_one(struct admin *, uint64_t, const char *, int,
		    struct ob_err *);

/* ---- common ---------------------------------------------------------- */

/* admin_open: the configuration (cmd_conf exits on errors) and the queue.
 * 0, or the exit status after printing why. */
static int
admin_open(struct admin *a, const struct cmd_opts *o)
{
	memset(a, 0, sizeof *a);
	a->now = ob_now_ms();
	return cmd_open(o, "outbox", &a->c, &a->q);
}

/* admin_close: close what admin_open opened; RC, or EX_IOERR when stdout
 * could not be written (the administrator would miss a result). */
static int
admin_close(struct admin *a, int rc)
{
	queue_close(a->q);
	conf_free(a->c);
	a->q = NULL;
	a->c = NULL;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "outbox: writing to stdout: %s\n",
		    strerror(errno));
		return EX_IOERR;
	}
	return rc;
}

/* admin_ids: ARGV[FIRST..ARGC-1] as queue ids into a fresh *IDS.  The
 * count (>= 1), or -1 after printing what is wrong and USAGE. */
static int
admin_ids(int argc, char **argv, int first, const char *usage,
    uint64_t **ids)
{
	int i, n = 0;

	*ids = NULL;
	if (first >= argc) {
		fprintf(stderr, "usage: %s\n", usage);
		return -1;
	}
	*ids = xcalloc((size_t)(argc - first), sizeof **ids);
	for (i = first; i < argc; i++) {
		if (queue_id_parse(argv[i], &(*ids)[n]) == -1) {
			fputs("outbox: not a queue id: ", stderr);
			put_safe_str(stderr, argv[i]);
			fprintf(stderr, " (%d characters, digits and "
			    "letters)\nusage: %s\n", QUEUE_ID_LEN, usage);
			free(*ids);
			*ids = NULL;
			return -1;
		}
		n++;
	}
	return n;
}

static void
admin_fail(struct admin *a, int ex)
{
	if (a->rc == 0)
		a->rc = ex;
}

static int
admin_qerr(const struct ob_err *err)
{
	return err->ex ? err->ex : EX_TEMPFAIL;
}

static void
admin_unknown(struct admin *a, const char *arg)
{
	fputs("outbox: no message ", stderr);
	put_safe_str(stderr, arg);
	fputs(" in the queue\n", stderr);
	admin_fail(a, EX_NOINPUT);
}

/* admin_log: what the administrator changed, for the record: logged when
 * the log goes to syslog, shown with -v when it goes to stderr (where
 * the line printed on stdout already says it). */
static void
admin_log(const struct admin *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (a->c->log_dest == LOG_TO_SYSLOG)
		log_info("%s", line);
	else
		log_debug("%s", line);
}

/* admin_leased: the pid of the live process delivering M now, or 0.  A
 * lease that ran out, or whose process is gone, is no lease (queue.h). */
static pid_t
admin_leased(const struct queue_msg *m, int64_t now)
{
	if (m->lease_until <= now || m->lease_pid <= 0)
		return 0;
	if (kill(m->lease_pid, 0) == 0 || errno == EPERM)
		return m->lease_pid;
	return 0;
}

/* put_safe: N octets of S for a terminal.  Valid UTF-8 (but for the C1
 * controls) and TAB pass; every other control octet and every octet of
 * broken UTF-8 is written as \xNN, and a backslash as \\, so what is
 * printed can be read back unambiguously. */
static void
put_safe(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n;

	while (p < end) {
		size_t k = 0, j;

		if (*p >= 0xc2 && *p <= 0xdf)
			k = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			k = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			k = 3;
		for (j = 1; j <= k && p + j < end; j++)
			if ((p[j] & 0xc0) != 0x80)
				break;
		if (k && j > k && !(*p == 0xc2 && p[1] < 0xa0)) {
			fwrite(p, 1, k + 1, f);
			p += k + 1;
			continue;
		}
		if (*p == '\\')
			fputs("\\\\", f);
		else if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			putc(*p, f);
		p++;
	}
}

static void
put_safe_str(FILE *f, const char *s)
{
	put_safe(f, s, strlen(s));
}

/* fmt_span: a duration for people, its two largest units: "3d 4h",
 * "2h 5m", "4m 30s", "12s". */
static void
fmt_span(char *dst, size_t n, int64_t ms)
{
	static const struct { int64_t s; char u; } unit[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	int64_t s = ms < 0 ? 0 : ms / 1000;
	size_t i;

	for (i = 0; i + 1 < sizeof unit / sizeof unit[0]; i++)
		if (s >= unit[i].s)
			break;
	if (i + 1 < sizeof unit / sizeof unit[0] &&
	    s % unit[i].s / unit[i + 1].s > 0)
		(void)ob_snprintf(dst, n, "%lld%c %lld%c",
		    (long long)(s / unit[i].s), unit[i].u,
		    (long long)(s % unit[i].s / unit[i + 1].s), unit[i + 1].u);
	else
		(void)ob_snprintf(dst, n, "%lld%c",
		    (long long)(s / unit[i].s), unit[i].u);
}

/* show_time: "LABEL T (AGO ago)" or, FUTURE, "LABEL T (in SPAN)"; a time
 * that has come is "now" when FUTURE. */
static void
show_time(FILE *f, const char *label, int64_t t, int64_t now, int future)
{
	char ts[32], span[48];

	if (future && t <= now) {
		fprintf(f, "%s now\n", label);
		return;
	}
	fmt_iso_time(ts, sizeof ts, t);
	fmt_span(span, sizeof span, future ? t - now : now - t);
	fprintf(f, future ? "%s %s (in %s)\n" : "%s %s (%s ago)\n", label, ts,
	    span);
}

/* ---- show ------------------------------------------------------------ */

static const char *const admin_state[] = { "pending", "delivered", "failed" };

/* show_header: M's header section (its first chunk up to the empty line,
 * at most ADMIN_HDR_MAX octets, cut at a line end), CRLF -> LF, each line
 * indented. */
static int
show_header(struct admin *a, const struct queue_msg *m, struct ob_err *err)
{
	struct buf b;
	size_t i, len, end;
	int r, cut = 0;

	puts("Header:");
	if (m->nchunks == 0) {
		puts("    (the message is empty)");
		return 0;
	}
	buf_init(&b, 0);
	if ((r = queue_body_chunk(a->q, m->id, 0, &b, err)) != 1) {
		buf_free(&b);
		if (r == 0)
			return ob_err_set(err, OB_TEMP, EX_DATAERR,
			    "queue: body of %s missing", m->idstr);
		return -1;
	}
	for (i = 0; i < b.len; i = end) {
		/* one line: [i, end) with its CRLF (or the chunk's end) */
		char *nl = memchr(b.p + i, '\n', b.len - i);

		end = nl ? (size_t)(nl - b.p) + 1 : b.len;
		if (end - i <= 2 && (b.p[i] == '\r' || b.p[i] == '\n'))
			break;		/* the empty line: RFC 5322 2.1 */
		if (end > ADMIN_HDR_MAX) {
			cut = 1;
			break;
		}
		len = end - i;		/* without its CRLF (or LF) */
		if (len >= 2 && b.p[end - 2] == '\r' && b.p[end - 1] == '\n')
			len -= 2;
		else if (b.p[end - 1] == '\n')
			len -= 1;
		fputs("    ", stdout);
		put_safe(stdout, b.p + i, len);
		putc('\n', stdout);
	}
	if (i == 0 && !cut)
		puts("    (no header fields)");
	if (cut)
		printf("    [header section cut at %d KiB]\n",
		    ADMIN_HDR_MAX / 1024);
	buf_free(&b);
	return 0;
}

static void
show_rcpt(const struct queue_rcpt *r, int64_t now, int held)
{
	static const struct { unsigned bit; const char *name; } nt[] = {
		{ QN_NEVER, "NEVER" }, { QN_SUCCESS, "SUCCESS" },
		{ QN_FAILURE, "FAILURE" }, { QN_DELAY, "DELAY" },
	};
	size_t i;
	int first = 1;

	fputs("  <", stdout);
	put_safe_str(stdout, r->addr);
	fputs(">\n", stdout);
	printf("    State:        %s\n", r->state >= QR_PENDING &&
	    r->state <= QR_FAILED ? admin_state[r->state] : "unknown");
	printf("    Attempts:     %lu\n", (unsigned long)r->attempts);
	if (r->last_attempt > 0)
		show_time(stdout, "    Last attempt:", r->last_attempt, now, 0);
	if (r->state == QR_PENDING) {
		if (held)
			puts("    Next attempt: none while held");
		else
			show_time(stdout, "    Next attempt:", r->next_attempt,
			    now, 1);
	}
	if (r->last_result != NULL) {
		fputs("    Last result:  ", stdout);
		put_safe_str(stdout, r->last_result);
		putc('\n', stdout);
	}
	if (r->remote != NULL) {
		fputs("    Server:       ", stdout);
		put_safe_str(stdout, r->remote);
		putc('\n', stdout);
	}
	if (r->notify != 0) {
		fputs("    NOTIFY:       ", stdout);
		for (i = 0; i < sizeof nt / sizeof nt[0]; i++)
			if (r->notify & nt[i].bit) {
				printf("%s%s", first ? "" : ",", nt[i].name);
				first = 0;
			}
		putc('\n', stdout);
	}
	if (r->orcpt != NULL) {
		fputs("    ORCPT:        ", stdout);
		put_safe_str(stdout, r->orcpt);
		putc('\n', stdout);
	}
}

int
cmd_show(int argc, char **argv, struct cmd_opts *o)
{
	static const struct { unsigned bit; const char *name; } fl[] = {
		{ QM_HELD, "held" }, { QM_BOUNCE, "bounce" },
		{ QM_WARNED, "warned" }, { QM_DOUBLE, "double-bounce" },
		{ QM_8BIT, "8bit" }, { QM_8BITHDR, "8bit-header" },
	};
	const char *usage = "outbox show ID";
	struct queue_msg *m = NULL;
	struct ob_err err;
	struct admin a;
	uint64_t *ids;
	char ts[32];
	size_t i;
	pid_t pid;
	int r, first = 1;

	if (argc != 2 || admin_ids(argc, argv, 1, usage, &ids) != 1) {
		if (argc != 2)
			fprintf(stderr, "usage: %s\n", usage);
		return EX_USAGE;
	}
	if ((r = admin_open(&a, o)) != 0) {
		free(ids);
		return r;
	}
	if ((r = queue_load(a.q, ids[0], &m, &err)) == -1) {
		fprintf(stderr, "outbox: %s\n", err.text);
		a.rc = admin_qerr(&err);
		goto done;
	}
	if (r == 0) {
		admin_unknown(&a, argv[1]);
		goto done;
	}

	printf("Queue ID:     %s\n", m->idstr);
	fputs("Sender:       <", stdout);
	put_safe_str(stdout, m->sender);
	puts(m->sender[0] == '\0' ? "> (null sender)" : ">");
	show_time(stdout, "Arrival:     ", m->arrival, a.now, 0);
	printf("Size:         %llu octets\n", (unsigned long long)m->size);
	fputs("Flags:        ", stdout);
	for (i = 0; i < sizeof fl / sizeof fl[0]; i++)
		if (m->flags & fl[i].bit) {
			printf("%s%s", first ? "" : ", ", fl[i].name);
			first = 0;
		}
	puts(first ? "none" : "");
	if (m->ret != QRET_DEFAULT)
		printf("RET:          %s\n", m->ret == QRET_FULL ? "FULL" :
		    "HDRS");
	if (m->envid != NULL) {
		fputs("ENVID:        ", stdout);
		put_safe_str(stdout, m->envid);
		putc('\n', stdout);
	}
	if ((pid = admin_leased(m, a.now)) != 0) {
		fmt_iso_time(ts, sizeof ts, m->lease_until);
		printf("Delivery:     being delivered by pid %ld until %s\n",
		    (long)pid, ts);
	}
	putc('\n', stdout);
	if (show_header(&a, m, &err) == -1) {
		fflush(stdout);
		fprintf(stderr, "outbox: %s\n", err.text);
		a.rc = admin_qerr(&err);
		goto done;
	}
	printf("\nRecipients:   %zu\n", m->nrcpt);
	for (i = 0; i < m->nrcpt; i++)
		show_rcpt(&m->rcpt[i], a.now, (m->flags & QM_HELD) != 0);
done:
	queue_msg_free(m);
	free(ids);
	return admin_close(&a, a.rc);
}

/* ---- retry ----------------------------------------------------------- */

static int
count_held(const struct queue_msg *m, void *arg)
{
	size_t *n = arg, i;

	if (m->flags & QM_HELD)
		for (i = 0; i < m->nrcpt; i++)
			if (m->rcpt[i].state == QR_PENDING) {
				(*n)++;
				break;
			}
	return 0;
}

int
cmd_retry(int argc, char **argv, struct cmd_opts *o)
{
	const char *usage = "outbox retry ID... | outbox retry --all";
	struct queue_msg *m;
	struct ob_err err;
	struct admin a;
	uint64_t *ids = NULL;
	size_t held = 0, k;
	int n, i, r, woke = 0;
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "--all") == 0)
		n = 0;
	else if ((n = admin_ids(argc, argv, 1, usage, &ids)) == -1)
		return EX_USAGE;
	if ((r = admin_open(&a, o)) != 0) {
		free(ids);
		return r;
	}
	if (n == 0) {
		if ((r = queue_retry(a.q, 0, a.now, &err)) == -1 ||
		    queue_foreach(a.q, count_held, &held, &err) == -1) {
			fprintf(stderr, "outbox: %s\n", err.text);
			a.rc = admin_qerr(&err);
			goto done;
		}
		printf("%d message%s due now", r, r == 1 ? "" : "s");
		if (held > 0)
			printf("; %zu held message%s left alone", held,
			    held == 1 ? "" : "s");
		putc('\n', stdout);
		if (r > 0)
			admin_log(&a, "%d messages made due by the "
			    "administrator", r);
		woke = r > 0;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if ((r = queue_load(a.q, ids[i], &m, &err)) == -1)
			break;
		if (r == 0) {
			admin_unknown(&a, argv[1 + i]);
			continue;
		}
		for (k = 0; k < m->nrcpt; k++)
			if (m->rcpt[k].state == QR_PENDING)
				break;
		pid = admin_leased(m, a.now);
		if (m->flags & QM_HELD) {
			fprintf(stderr, "outbox: %s is held; release it "
			    "first\n", m->idstr);
			admin_fail(&a, EX_UNAVAILABLE);
		} else if (pid != 0) {
			fprintf(stderr, "outbox: %s is being delivered (pid "
			    "%ld); try again\n", m->idstr, (long)pid);
			admin_fail(&a, EX_TEMPFAIL);
		} else if (k == m->nrcpt) {
			fprintf(stderr, "outbox: %s has no pending "
			    "recipient\n", m->idstr);
			admin_fail(&a, EX_UNAVAILABLE);
		} else if ((r = queue_retry(a.q, ids[i], a.now, &err)) == 1) {
			printf("%s: due now\n", m->idstr);
			admin_log(&a, "%s made due by the administrator",
			    m->idstr);
			woke = 1;
		} else if (r == 0) {
			/* held, leased or deleted since we looked */
			fprintf(stderr, "outbox: %s changed meanwhile; try "
			    "again\n", m->idstr);
			admin_fail(&a, EX_TEMPFAIL);
		}
		queue_msg_free(m);
		if (r == -1)
			break;
	}
	if (i < n) {
		fprintf(stderr, "outbox: %s\n", err.text);
		a.rc = admin_qerr(&err);
	}
done:
	/* A running daemon sleeps until its next due time: ring it so the
	 * messages go now (without one, `outbox flush` sends them). */
	if (woke)
		(void)wake_send(a.c->queue_dir);
	free(ids);
	return admin_close(&a, a.rc);
}

/* ---- hold / release -------------------------------------------------- */

static int
admin_hold(int argc, char **argv, struct cmd_opts *o, int on)
{
	const char *usage = on ? "outbox hold ID..." : "outbox release ID...";
	struct queue_msg *m = NULL;
	struct ob_err err;
	struct admin a;
	uint64_t *ids;
	int n, i, r, was = 0, woke = 0;
	pid_t pid = 0;

	if ((n = admin_ids(argc, argv, 1, usage, &ids)) == -1)
		return EX_USAGE;
	if ((r = admin_open(&a, o)) != 0) {
		free(ids);
		return r;
	}
	for (i = 0; i < n; i++) {
		if ((r = queue_load(a.q, ids[i], &m, &err)) == -1)
			break;
		if (r == 1) {
			was = (m->flags & QM_HELD) != 0;
			pid = admin_leased(m, a.now);
			r = queue_hold(a.q, ids[i], on, a.now, &err);
		}
		if (r == 1 && was == on)
			printf("%s: %s\n", m->idstr, on ? "already held" :
			    "not held");
		else if (r == 1 && pid != 0)
			/* queue_hold left the lease; the delivery's own
			 * update keeps the flag (queue.c) */
			printf("%s: %s (the delivery running now, pid %ld, "
			    "ends its attempt first)\n", m->idstr,
			    on ? "held" : "released", (long)pid);
		else if (r == 1)
			printf("%s: %s\n", m->idstr, on ? "held" :
			    "released");
		else if (r == 0)
			admin_unknown(&a, argv[1 + i]);
		if (r == 1 && was != on)
			admin_log(&a, "%s %s by the administrator",
			    m->idstr, on ? "held" : "released");
		woke |= r == 1 && !on && was;
		queue_msg_free(m);
		m = NULL;
		if (r == -1)
			break;
	}
	if (i < n) {
		fprintf(stderr, "outbox: %s\n", err.text);
		a.rc = admin_qerr(&err);
	}
	if (woke)
		(void)wake_send(a.c->queue_dir);
	free(ids);
	return admin_close(&a, a.rc);
}

int
cmd_hold(int argc, char **argv, struct cmd_opts *o)
{
	return admin_hold(argc, argv, o, 1);
}

int
cmd_release(int argc, char **argv, struct cmd_opts *o)
{
	return admin_hold(argc, argv, o, 0);
}

/* ---- delete ---------------------------------------------------------- */

/* delete_one: delete ID (ARG as typed), first bouncing its pending
 * recipients when BOUNCE.  0 done or reported in A, -1 queue error. */
static int
delete_one(struct admin *a, uint64_t id, const char *arg, int bounce,
    struct ob_err *err)
{
	struct bounce_note *note = NULL;
	struct queue_bounce *qb;
	struct queue_msg *m = NULL;
	struct bounce b;
	size_t i, npending = 0;
	pid_t pid;
	int r, rc = -1;

	if ((r = queue_load(a->q, id, &m, err)) != 1) {
		if (r == 0)
			admin_unknown(a, arg);
		return r;
	}
	if ((pid = admin_leased(m, a->now)) != 0) {
		fprintf(stderr, "outbox: %s is being delivered (pid %ld); "
		    "try again\n", m->idstr, (long)pid);
		admin_fail(a, EX_TEMPFAIL);
		rc = 0;
		goto done;
	}
	if (!bounce) {
		if ((r = queue_delete(a->q, id, err)) == 1) {
			printf("%s: deleted\n", m->idstr);
			admin_log(a, "%s deleted by the administrator",
			    m->idstr);
		} else if (r == 0)
			admin_unknown(a, arg);
		rc = r == -1 ? -1 : 0;
		goto done;
	}

	/* Every pending recipient fails now and is reported; delivered and
	 * already failed ones were dealt with by their own attempts. */
	note = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof *note);
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != QR_PENDING)
			continue;
		npending++;
		note[i].action = DSN_FAILED;
		(void)ob_snprintf(note[i].status, sizeof note[i].status, "%s",
		    ADMIN_DEL_STATUS);
		(void)ob_snprintf(note[i].reason, sizeof note[i].reason, "%s",
		    ADMIN_DEL_REASON);
		m->rcpt[i].state = QR_FAILED;
	}
	if ((r = bounce_prepare(a->c, a->q, m, note, a->now, &b, err)) == -1) {
		/* e.g. a sender no DSN can be addressed to: this message
		 * stays, the others go on */
		fprintf(stderr, "outbox: %s: bounce not made (%s); not "
		    "deleted (delete it without --bounce to drop it)\n",
		    m->idstr, err->text);
		admin_fail(a, admin_qerr(err));
		rc = 0;
		goto done;
	}
	if (r == 0) {
		/* nobody to tell: null sender, NOTIFY=NEVER, nothing pending */
		if ((r = queue_delete(a->q, id, err)) == 1) {
			printf("%s: deleted, no bounce (%s)\n", m->idstr,
			    npending == 0 ? "no pending recipient" :
			    m->sender[0] == '\0' ? "null sender" :
			    "NOTIFY=NEVER");
			admin_log(a, "%s deleted by the administrator; "
			    "no bounce", m->idstr);
		} else if (r == 0)
			admin_unknown(a, arg);
		rc = r == -1 ? -1 : 0;
		goto done;
	}
	qb = &b.qb;
	/* No pending recipient is left, so this removes the message in the
	 * transaction that queues its DSN (queue.h). */
	if (queue_update_dsn(a->q, &m, &qb, 1, a->now, err) == -1 ||
	    queue_sync(a->q, err) == -1) {
		bounce_free(&b);
		goto done;
	}
	if (b.qb.idstr[0] == '\0')	/* deleted by someone meanwhile */
		admin_unknown(a, arg);
	else {
		printf("%s: deleted, bounce %s queued for <", m->idstr,
		    b.qb.idstr);
		put_safe_str(stdout, b.rcpt);
		puts(">");
		admin_log(a, "%s deleted by the administrator; bounce=%s",
		    m->idstr, b.qb.idstr);
	}
	bounce_free(&b);
	rc = 0;
done:
	free(note);
	queue_msg_free(m);
	return rc;
}

int
cmd_delete(int argc, char **argv, struct cmd_opts *o)
{
	const char *usage = "outbox delete [--bounce] ID...";
	struct ob_err err;
	struct admin a;
	uint64_t *ids;
	int n, i, r, first = 1, bounce = 0;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "--bounce") == 0)
			bounce = 1;
		else if (strcmp(argv[first], "--") == 0) {
			first++;
			break;
		} else {
			fprintf(stderr, "usage: %s\n", usage);
			return EX_USAGE;
		}
	}
	if ((n = admin_ids(argc, argv, first, usage, &ids)) == -1)
		return EX_USAGE;
	if ((r = admin_open(&a, o)) != 0) {
		free(ids);
		return r;
	}
	for (i = 0; i < n; i++)
		if (delete_one(&a, ids[i], argv[first + i], bounce,
		    &err) == -1) {
			fprintf(stderr, "outbox: %s\n", err.text);
			a.rc = admin_qerr(&err);
			break;
		}
	free(ids);
	return admin_close(&a, a.rc);
}
