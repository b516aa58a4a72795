/* stats.c - queue statistics for `outbox stats` and the metrics file.
 *
 * stats_collect reads three things from the queue, each in short read
 * transactions (queue_stats_*): a snapshot of the messages by state, the
 * totals since the queue was created, and the 5-minute bucket rows of the
 * last day, which it sums per destination domain into three windows.
 * The formatters only print a struct stats, so tests can feed them fixed
 * numbers.
 *
 * Invariants: every destination shown in any output is among the top
 * STATS_TOP by 24-hour volume (ties by name), the same in all three
 * formats; label and JSON strings are always escaped (a domain comes from
 * an address someone submitted).  The metrics file is replaced by
 * rename(2), so a reader (or a daemon killed mid-write) never leaves or
 * sees half a file.
 *
 * Left to others: what counts as an attempt (queue.c, statistics
 * section), when the file is written (run.c), the command line
 * (cmd_stats.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "queue.h"
#include "stats.h"
#include "util.h"

const char *const stats_win_name[STATS_NWIN] = { "5m", "1h", "24h" };
const uint32_t stats_win_buckets[STATS_NWIN] = { 1, 12, QUEUE_STATS_KEEP };
const char *const stats_res_name[QUEUE_STATS_NRES] = {
	"delivered", "deferred", "failed"
};

static const char *const state_name[] = { "due", "waiting", "held",
	"active" };

static struct stats_dest *dest_get(struct stats *, const char *);
static int	dest_cmp(const void *, const void *);
static void	fmt_age(char *, size_t, int64_t);
static const char *text_safe(char *, size_t, const char *);

void
stats_init(struct stats *st, int64_t now)
{
	memset(st, 0, sizeof *st);
	st->now = now;
}

void
stats_free(struct stats *st)
{
	size_t i;

	for (i = 0; i < st->ndest; i++)
		free(st->dest[i].name);
	free(st->dest);
	free(st->slot);
	memset(st, 0, sizeof *st);
}

/* ---- windows ----------------------------------------------------------- */

int
stats_in_window(uint32_t b, uint32_t cur, int w)
{
	uint32_t n = stats_win_buckets[w];

	return b >= cur || cur - b <= n;
}

uint32_t
stats_first_bucket(uint32_t cur)
{
	uint32_t n = stats_win_buckets[STATS_WIN_24H];

	return cur > n ? cur - n : 0;
}

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* dest_get: NAME's entry, made when new.  Open addressing over slot[],
 * kept at most half full. */
static struct stats_dest *
dest_get(struct stats *st, const char *name)
{
	size_t i, j, *ns, nn;

	if (st->nslot != 0) {
		i = (size_t)(str_hash(name) & (st->nslot - 1));
		for (; st->slot[i] != 0; i = (i + 1) & (st->nslot - 1))
			if (strcmp(st->dest[st->slot[i] - 1].name, name) == 0)
				return &st->dest[st->slot[i] - 1];
	}
	if (2 * (st->ndest + 1) > st->nslot) {
		nn = st->nslot ? 2 * st->nslot : 64;
		ns = xcalloc(nn, sizeof *ns);
		for (j = 0; j < st->ndest; j++) {
			i = (size_t)(str_hash(st->dest[j].name) & (nn - 1));
			while (ns[i] != 0)
				i = (i + 1) & (nn - 1);
			ns[i] = j + 1;
		}
		free(st->slot);
		st->slot = ns;
		st->nslot = nn;
	}
	if (st->ndest == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 32;
		st->dest = xreallocarray(st->dest, st->cap, sizeof *st->dest);
	}
	memset(&st->dest[st->ndest], 0, sizeof st->dest[st->ndest]);
	st->dest[st->ndest].name = xstrdup(name);
	i = (size_t)(str_hash(name) & (st->nslot - 1));
	while (st->slot[i] != 0)
		i = (i + 1) & (st->nslot - 1);
	st->slot[i] = ++st->ndest;
	return &st->dest[st->ndest - 1];
}

void
stats_add_row(struct stats *st, const struct queue_stats_row *row)
{
	uint32_t cur = queue_stats_bucket(st->now);
	struct stats_dest *d;
	int w, r;

	if (!stats_in_window(row->bucket, cur, STATS_WIN_24H))
		return;
	d = dest_get(st, row->domain);
	for (w = 0; w < STATS_NWIN; w++)
		if (stats_in_window(row->bucket, cur, w))
			for (r = 0; r < QUEUE_STATS_NRES; r++)
				d->n[w][r] += row->n[r];
}

uint64_t
stats_volume(const struct stats_dest *d)
{
	return d->n[STATS_WIN_24H][QUEUE_STATS_DELIVERED] +
	    d->n[STATS_WIN_24H][QUEUE_STATS_DEFERRED] +
	    d->n[STATS_WIN_24H][QUEUE_STATS_FAILED];
}

static int
dest_cmp(const void *a, const void *b)
{
	const struct stats_dest *x = a, *y = b;
	uint64_t vx = stats_volume(x), vy = stats_volume(y);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
stats_sort(struct stats *st)
{
	/* the hash indexes are stale after this: no more rows */
	free(st->slot);
	st->slot = NULL;
	st->nslot = 0;
	if (st->ndest > 1)
		qsort(st->dest, st->ndest, sizeof *st->dest, dest_cmp);
}

static int
collect_row(const struct queue_stats_row *row, void *arg)
{
	stats_add_row(arg, row);
	return 0;
}

int
stats_collect(struct queue *q, int64_t now, struct stats *st,
    struct ob_err *err)
{
	stats_init(st, now);
	if (queue_stats_scan(q, now, &st->q, err) == -1 ||
	    queue_stats_totals(q, st->total, err) == -1 ||
	    queue_stats_rows(q, stats_first_bucket(queue_stats_bucket(now)),
	    collect_row, st, err) == -1) {
		stats_free(st);
		return -1;
	}
	stats_sort(st);
	return 0;
}

/* ---- text -------------------------------------------------------------- */

/* fmt_age: MS as "2d 3h", "3h 12m", "12m 5s" or "5s". */
static void
fmt_age(char *dst, size_t n, int64_t ms)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s >= 86400)
		(void)ob_snprintf(dst, n, "%lldd %lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		(void)ob_snprintf(dst, n, "%lldh %lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		(void)ob_snprintf(dst, n, "%lldm %llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		(void)ob_snprintf(dst, n, "%llds", (long long)s);
}

/* text_safe: S for a terminal: control octets as \xNN (a domain comes
 * from a submitted address). */
static const char *
text_safe(char *dst, size_t n, const char *s)
{
	size_t o = 0;

	for (; *s && o + 5 < n; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			o += (size_t)snprintf(dst + o, n - o, "\\x%02x",
			    (unsigned char)*s);
		else
			dst[o++] = *s;
	}
	dst[o] = '\0';
	return dst;
}

static uint64_t
oldest_age_s(const struct stats *st)
{
	if (st->q.oldest == 0 || st->q.oldest >= st->now)
		return 0;
	return (uint64_t)(st->now - st->q.oldest) / 1000;
}

void
stats_text(const struct stats *st, FILE *f)
{
	const struct queue_stats_snap *s = &st->q;
	char age[64], ts[32], cell[STATS_NWIN][72];
	char name[4 * QUEUE_STATS_DOMAIN_MAX + 8];
	size_t i, top = st->ndest < STATS_TOP ? st->ndest : STATS_TOP;
	int w;

	fprintf(f, "Messages:           %llu (due now %llu, waiting for retry "
	    "%llu, held %llu, being delivered %llu)\n",
	    (unsigned long long)s->messages, (unsigned long long)s->due,
	    (unsigned long long)s->waiting, (unsigned long long)s->held,
	    (unsigned long long)s->active);
	fprintf(f, "Bounces queued:     %llu\n",
	    (unsigned long long)s->bounces);
	fprintf(f, "Recipients pending: %llu\n",
	    (unsigned long long)s->rcpt_pending);
	if (s->oldest == 0)
		fprintf(f, "Oldest message:     none\n");
	else {
		fmt_age(age, sizeof age, st->now - s->oldest);
		fmt_iso_time(ts, sizeof ts, s->oldest);
		fprintf(f, "Oldest message:     %s old (arrived %s)\n", age,
		    ts);
	}
	fprintf(f, "Queue size:         %llu bytes\n",
	    (unsigned long long)s->bytes);
	if (s->corrupt)
		fprintf(f, "Unreadable records: %llu (see the log)\n",
		    (unsigned long long)s->corrupt);
	fprintf(f, "\nRecipients since the queue was created: %llu delivered, "
	    "%llu deferred, %llu failed\n",
	    (unsigned long long)st->total[QUEUE_STATS_DELIVERED],
	    (unsigned long long)st->total[QUEUE_STATS_DEFERRED],
	    (unsigned long long)st->total[QUEUE_STATS_FAILED]);
	if (st->ndest == 0) {
		fprintf(f, "No delivery attempts in the last 24 hours\n");
		return;
	}
	fprintf(f, "\nDelivered/deferred/failed per destination:\n");
	fprintf(f, "%-32s %16s %16s %16s\n", "Destination", "last 5m",
	    "last 1h", "last 24h");
	for (i = 0; i < top; i++) {
		const struct stats_dest *d = &st->dest[i];

		for (w = 0; w < STATS_NWIN; w++)
			(void)ob_snprintf(cell[w], sizeof cell[w],
			    "%llu/%llu/%llu",
			    (unsigned long long)d->n[w][QUEUE_STATS_DELIVERED],
			    (unsigned long long)d->n[w][QUEUE_STATS_DEFERRED],
			    (unsigned long long)d->n[w][QUEUE_STATS_FAILED]);
		fprintf(f, "%-32s %16s %16s %16s\n",
		    text_safe(name, sizeof name, d->name), cell[0],
		    cell[1], cell[2]);
	}
	if (st->ndest > top)
		fprintf(f, "... %zu more destination%s\n", st->ndest - top,
		    st->ndest - top == 1 ? "" : "s");
}

/* ---- JSON -------------------------------------------------------------- */

static void
json_counts(FILE *f, const uint64_t *n)
{
	int r;

	for (r = 0; r < QUEUE_STATS_NRES; r++)
		fprintf(f, "%s\"%s\":%llu", r ? "," : "{", stats_res_name[r],
		    (unsigned long long)n[r]);
	putc('}', f);
}

void
stats_json(const struct stats *st, FILE *f)
{
	const struct queue_stats_snap *s = &st->q;
	size_t i, top = st->ndest < STATS_TOP ? st->ndest : STATS_TOP;
	char ts[32];
	int w;

	fmt_iso_time(ts, sizeof ts, st->now);
	fprintf(f, "{\"generated\":\"%s\",\"messages\":{\"total\":%llu,"
	    "\"due\":%llu,\"waiting\":%llu,\"held\":%llu,\"active\":%llu},"
	    "\"bounces\":%llu,\"recipients_pending\":%llu,", ts,
	    (unsigned long long)s->messages, (unsigned long long)s->due,
	    (unsigned long long)s->waiting, (unsigned long long)s->held,
	    (unsigned long long)s->active, (unsigned long long)s->bounces,
	    (unsigned long long)s->rcpt_pending);
	if (s->oldest == 0)
		fputs("\"oldest_arrival\":null,\"oldest_age\":null,", f);
	else {
		fmt_iso_time(ts, sizeof ts, s->oldest);
		fprintf(f, "\"oldest_arrival\":\"%s\",\"oldest_age\":%llu,", ts,
		    (unsigned long long)oldest_age_s(st));
	}
	fprintf(f, "\"bytes\":%llu,\"unreadable\":%llu,\"totals\":",
	    (unsigned long long)s->bytes, (unsigned long long)s->corrupt);
	json_counts(f, st->total);
	fputs(",\"destinations\":[", f);
	for (i = 0; i < top; i++) {
		fputs(i ? ",\n{\"destination\":" : "\n{\"destination\":", f);
		ob_json_str(f, st->dest[i].name);
		for (w = 0; w < STATS_NWIN; w++) {
			fprintf(f, ",\"%s\":", stats_win_name[w]);
			json_counts(f, st->dest[i].n[w]);
		}
		putc('}', f);
	}
	fprintf(f, "%s],\"destinations_more\":%zu}\n", top ? "\n" : "",
	    st->ndest - top);
}

/* ---- Prometheus text format 0.0.4 -------------------------------------- */

void
stats_prom_label(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			putc(*s, f);
	}
	putc('"', f);
}

static void
prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
stats_prom(const struct stats *st, FILE *f)
{
	const struct queue_stats_snap *s = &st->q;
	const uint64_t by_state[] = { s->due, s->waiting, s->held, s->active };
	size_t i, top = st->ndest < STATS_TOP ? st->ndest : STATS_TOP;
	int w, r;

	prom_head(f, "outbox_queue_messages", "gauge",
	    "Messages in the queue by state: due now, waiting for a retry, "
	    "held, being delivered.");
	for (i = 0; i < sizeof by_state / sizeof by_state[0]; i++)
		fprintf(f, "outbox_queue_messages{state=\"%s\"} %llu\n",
		    state_name[i], (unsigned long long)by_state[i]);
	prom_head(f, "outbox_queue_bounces", "gauge",
	    "Bounces (DSNs made by outbox) in the queue.");
	fprintf(f, "outbox_queue_bounces %llu\n",
	    (unsigned long long)s->bounces);
	prom_head(f, "outbox_queue_recipients_pending", "gauge",
	    "Recipients not yet delivered or failed.");
	fprintf(f, "outbox_queue_recipients_pending %llu\n",
	    (unsigned long long)s->rcpt_pending);
	prom_head(f, "outbox_queue_oldest_message_age_seconds", "gauge",
	    "Age of the oldest message in the queue (0 when it is empty).");
	fprintf(f, "outbox_queue_oldest_message_age_seconds %llu\n",
	    (unsigned long long)oldest_age_s(st));
	prom_head(f, "outbox_queue_bytes", "gauge",
	    "Total size of the queued messages.");
	fprintf(f, "outbox_queue_bytes %llu\n", (unsigned long long)s->bytes);
	prom_head(f, "outbox_recipients_total", "counter",
	    "Recipient delivery attempts by result since the queue was "
	    "created.");
	for (r = 0; r < QUEUE_STATS_NRES; r++)
		fprintf(f, "outbox_recipients_total{result=\"%s\"} %llu\n",
		    stats_res_name[r], (unsigned long long)st->total[r]);
	prom_head(f, "outbox_destination_recipients", "gauge",
	    "Recipient delivery attempts by destination domain and result "
	    "in the recent window (the 20 busiest destinations of the last "
	    "24h).");
	for (i = 0; i < top; i++)
		for (w = 0; w < STATS_NWIN; w++)
			for (r = 0; r < QUEUE_STATS_NRES; r++) {
				fputs("outbox_destination_recipients"
				    "{destination=", f);
				stats_prom_label(f, st->dest[i].name);
				fprintf(f, ",result=\"%s\",window=\"%s\"} "
				    "%llu\n", stats_res_name[r],
				    stats_win_name[w], (unsigned long long)
				    st->dest[i].n[w][r]);
			}
	prom_head(f, "outbox_metrics_generated_timestamp_seconds", "gauge",
	    "When these metrics were collected (unix time).");
	fprintf(f, "outbox_metrics_generated_timestamp_seconds %lld.%03d\n",
	    (long long)(st->now / 1000), (int)(st->now % 1000));
}

/* ---- the metrics file -------------------------------------------------- */

int
stats_write_file(const char *path, const struct stats *st,
    struct ob_err *err)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = NULL;
	int fd, e;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		e = errno;
		ob_err_set(err, OB_TEMP, EX_CANTCREAT, "metrics file %s: %s",
		    tmp, strerror(e));
		free(tmp);
		return -1;
	}
	/* 0644 whatever the daemon's umask: a collector reads it */
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		e = errno;
		close(fd);
		goto fail;
	}
	stats_prom(st, f);
	if (fflush(f) == EOF || ferror(f)) {
		e = errno ? errno : EIO;
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF) {
		e = errno;
		goto fail;
	}
	/* the only step readers see: the old file or the new one, whole */
	if (rename(tmp, path) == -1) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	(void)unlink(tmp);
	ob_err_set(err, OB_TEMP, EX_IOERR, "metrics file %s: %s", path,
	    strerror(e));
	free(tmp);
	return -1;
}
