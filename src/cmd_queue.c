/* cmd_queue.c - queue listing (table and JSON), flush, config.
 *
 * The JSON form of `outbox queue --json` is a stable interface, documented
 * in outbox(8): change it only by adding keys.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "priv.h"
#include "queue.h"
#include "util.h"

static const char *const state_name[] = { "pending", "delivered", "failed" };

static const char *
rcpt_state(int s)
{
	if (s < 0 || s > QR_FAILED)
		return "unknown";
	return state_name[s];
}

static void
json_time(FILE *f, int64_t t)
{
	char ts[32];

	if (t <= 0) {
		fputs("null", f);
		return;
	}
	fmt_iso_time(ts, sizeof ts, t);
	fprintf(f, "\"%s\"", ts);
}

struct list_state {
	FILE	*f;
	int64_t	 now;
	size_t	 n;
	uint64_t bytes;
	int	 mine_only;	/* setgid mode: the user's own messages */
	size_t	 hidden;	/* ... and how many others there are */
};

/* list_hidden: the listing policy (outbox(8), SETGID SUBMISSION): a user
 * outside the queue's group sees the messages they submitted, and only
 * the number of the others. */
static int
list_hidden(struct list_state *ls, const struct queue_msg *m)
{
	if (!ls->mine_only || m->owner == (uint32_t)getuid())
		return 0;
	ls->hidden++;
	return 1;
}

static int
list_json(const struct queue_msg *m, void *arg)
{
	struct list_state *ls = arg;
	FILE *f = ls->f;
	size_t i;

	if (list_hidden(ls, m))
		return 0;
	fputs(ls->n++ ? ",\n" : "\n", f);
	fprintf(f, "{\"id\":\"%s\",\"sender\":", m->idstr);
	ob_json_str(f, m->sender);
	fputs(",\"arrival\":", f);
	json_time(f, m->arrival);
	fprintf(f, ",\"size\":%llu,\"held\":%s,\"owner\":",
	    (unsigned long long)m->size, m->flags & QM_HELD ? "true" : "false");
	if (m->owner == QUEUE_NO_OWNER)
		fputs("null", f);
	else
		fprintf(f, "%lu", (unsigned long)m->owner);
	fputs(",\"recipients\":[", f);
	for (i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *r = &m->rcpt[i];

		fputs(i ? ",{\"address\":" : "{\"address\":", f);
		ob_json_str(f, r->addr);
		fprintf(f, ",\"state\":\"%s\",\"attempts\":%lu,"
		    "\"next_attempt\":", rcpt_state(r->state),
		    (unsigned long)r->attempts);
		if (r->state == QR_PENDING)
			json_time(f, r->next_attempt > 0 ? r->next_attempt
			    : m->arrival);
		else
			fputs("null", f);
		fputs(",\"last_result\":", f);
		ob_json_str(f, r->last_result);
		putc('}', f);
	}
	fputs("]}", f);
	return 0;
}

static int
list_table(const struct queue_msg *m, void *arg)
{
	struct list_state *ls = arg;
	FILE *f = ls->f;
	char ts[32];
	size_t i;

	if (list_hidden(ls, m))
		return 0;
	if (ls->n++ == 0)
		fprintf(f, "%-13s  %-20s %9s  %s\n", "Queue ID",
		    "Arrival (UTC)", "Size", "Sender / Recipients");
	ls->bytes += m->size;
	fmt_iso_time(ts, sizeof ts, m->arrival);
	ts[10] = ' ';
	ts[19] = '\0';
	fprintf(f, "%-13s  %-20s %9llu  <%s>%s\n", m->idstr, ts,
	    (unsigned long long)m->size, m->sender,
	    m->flags & QM_HELD ? "  (held)" : "");
	for (i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *r = &m->rcpt[i];
		char next[48] = "";

		if (r->state == QR_PENDING) {
			if (r->next_attempt <= ls->now)
				snprintf(next, sizeof next, "next now");
			else {
				fmt_iso_time(ts, sizeof ts, r->next_attempt);
				ts[10] = ' ';
				ts[19] = '\0';
				snprintf(next, sizeof next, "next %s", ts);
			}
		}
		fprintf(f, "    %-9s attempts %-3lu %-24s <%s>\n",
		    rcpt_state(r->state), (unsigned long)r->attempts, next,
		    r->addr);
		if (r->last_result)
			fprintf(f, "        %s\n", r->last_result);
	}
	return 0;
}

int
cmd_queue(int argc, char **argv, struct cmd_opts *o)
{
	struct list_state ls = { stdout, 0, 0, 0, 0, 0 };
	struct ob_err err;
	struct queue *q = NULL;
	struct conf *c;
	int json = 0, i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "usage: outbox queue [--json]\n");
			return EX_USAGE;
		}
	}
	ls.now = ob_now_ms();
	ls.mine_only = priv_mode();
	/* setgid: the group opens the queue, and is given up for good */
	r = cmd_open(o, "outbox", &c, &q);
	priv_drop();
	if (r != 0)
		return r;
	if (json)
		putc('[', stdout);
	r = queue_foreach(q, json ? list_json : list_table, &ls, &err);
	if (json)
		fputs(ls.n ? "\n]\n" : "]\n", stdout);
	else if (r == 0 && ls.n == 0 && ls.hidden == 0)
		puts("Mail queue is empty");
	else if (r == 0 && ls.n > 0)
		printf("-- %zu message%s, %llu bytes\n", ls.n,
		    ls.n == 1 ? "" : "s", (unsigned long long)ls.bytes);
	if (r == 0 && !json && ls.hidden > 0)
		printf("-- %zu message%s of other users not shown\n",
		    ls.hidden, ls.hidden == 1 ? "" : "s");
	queue_close(q);
	conf_free(c);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "outbox: writing the listing: %s\n",
		    strerror(errno));
		return EX_IOERR;
	}
	if (r == -1) {
		fprintf(stderr, "outbox: %s\n", err.text);
		return err.ex ? err.ex : EX_TEMPFAIL;
	}
	return 0;
}

/* deliver_path: outbox-deliver as CLI.md says: $OUTBOX_DELIVER, else next
 * to this executable (a build tree), else the installed one. */
static const char *
deliver_path(char *buf, size_t n)
{
	const char *e = getenv("OUTBOX_DELIVER");
	char self[PATH_MAX];
	ssize_t k;
	char *slash;

	if (e != NULL && *e != '\0')
		return e;
	k = readlink("/proc/self/exe", self, sizeof self - 1);
	if (k > 0) {
		self[k] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (ob_snprintf(buf, n, "%s/outbox-deliver", self) > 0
			    && access(buf, X_OK) == 0)
				return buf;
		}
	}
	return LIBEXECDIR "/outbox-deliver";
}

int
cmd_exec_deliver(const struct cmd_opts *o, const char *mode,
    char *const *argv)
{
	char path[PATH_MAX];
	const char *exe, *args[CMD_DELIVER_MAXARGS + 6];
	int n = 0, i;

	exe = deliver_path(path, sizeof path);
	args[n++] = "outbox-deliver";
	if (o->conf_path) {
		args[n++] = "-C";
		args[n++] = o->conf_path;
	}
	if (o->verbose)
		args[n++] = "-v";
	args[n++] = mode;
	for (i = 0; argv != NULL && argv[i] != NULL; i++) {
		if (i == CMD_DELIVER_MAXARGS) {
			fprintf(stderr, "outbox: too many arguments\n");
			return EX_USAGE;
		}
		args[n++] = argv[i];
	}
	args[n] = NULL;
	execv(exe, (char *const *)args);
	fprintf(stderr, "outbox: cannot run %s: %s\n", exe, strerror(errno));
	return EX_UNAVAILABLE;
}

int
cmd_flush(int argc, char **argv, struct cmd_opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") != 0) {
			fprintf(stderr, "usage: outbox flush [--all]\n");
			return EX_USAGE;
		}
	}
	return cmd_exec_deliver(o, "flush", argv + 1);
}

int
cmd_run(int argc, char **argv, struct cmd_opts *o)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: outbox run\n");
		return EX_USAGE;
	}
	return cmd_exec_deliver(o, "run", NULL);
}

int
cmd_test(int argc, char **argv, struct cmd_opts *o)
{
	/* outbox-deliver parses them: it has the network code */
	if (argc < 2) {
		fprintf(stderr, "usage: outbox test [--from SENDER] ADDRESS\n");
		return EX_USAGE;
	}
	return cmd_exec_deliver(o, "test", argv + 1);
}

int
cmd_config(int argc, char **argv, struct cmd_opts *o)
{
	struct conf *c;
	int check = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check = 1;
		else {
			fprintf(stderr, "usage: outbox config [--check]\n");
			return EX_USAGE;
		}
	}
	c = cmd_conf(o, "outbox");	/* exits EX_CONFIG on errors */
	if (!check)
		conf_print(c, stdout);
	conf_free(c);
	return 0;
}
