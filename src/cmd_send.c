/* cmd_send.c - sendmail mode: flags, stdin, enqueue, exit code.
 *
 * Reads one message from stdin, normalises it (canonical CRLF, header
 * rules of msg.c), resolves the recipients and writes it into the queue.
 * Exit 0 means the queue transaction holding the whole message has been
 * committed and synced (DESIGN.md invariant 1); every other outcome is a
 * sysexits code with one clear line on stderr, and nothing is queued.
 * This is the one place that maps errors to the command's exit codes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "msg.h"
#include "priv.h"
#include "queue.h"
#include "recv.h"
#include "smtpd.h"
#include "util.h"
#include "wake.h"

#define SEND_MAXLINE	8192		/* pieces of longer lines are fine */
#define SEND_MAXHEAD	(1024 * 1024)	/* the whole header section */

struct send_opts {
	int		 extract;	/* -t */
	int		 ignore_dots;	/* -i, -oi */
	const char	*sender;	/* -f, -r */
	const char	*full_name;	/* -F */
	int		 mode;		/* 'm' send, 'p' list, 'q' flush, 'i', 's' SMTP */
	unsigned	 notify;	/* -N: QN_*, 0 = not given */
	int		 ret;		/* -R: QRET_* */
	const char	*envid;		/* -V */
	char	       **rcpt;		/* command-line recipients */
	int		 nrcpt;
};

void
cmd_usage_sendmail(FILE *f)
{
	fputs("usage: sendmail [-t] [-i] [-f sender] [-F name] [-C file] [-v]"
	    " [--] [recipient ...]\n"
	    "       sendmail -bp      list the queue (mailq)\n"
	    "       sendmail -q       deliver what is due\n"
	    "DSN (RFC 3461): -N never|success,failure,delay  -R full|hdrs"
	    "  -V envid\n"
	    "Accepted and ignored: -oX... -odi -odb -eX -B type -X file\n"
	    "  -L tag -h hops -O opt=val -Ax -U -G -n -m -s.  See outbox(8).\n",
	    f);
}

/* send_error: one line on stderr (and in syslog when logging there);
 * returns EX for "return send_error(...)". */
static int __attribute__((format(printf, 3, 4)))
send_error(const struct conf *c, int ex, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fprintf(stderr, "sendmail: %s\n", text);
	if (c != NULL && c->log_dest == LOG_TO_SYSLOG)
		log_err("sendmail: %s", text);
	return ex;
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_usage_sendmail(stderr);
	return EX_USAGE;
}

/* parse_flags: sendmail's option syntax.  Flags end at "--" or at the
 * first argument that is not one (as POSIX getopt does).  Returns 0 or an
 * exit code. */
/* parse_notify: sendmail's -N (RFC 3461 4.1 NOTIFY): "never", or a
 * comma-separated list of success, failure and delay. */
static int
parse_notify(const char *v, unsigned *out)
{
	char buf[64], *tok, *save = NULL;
	unsigned n = 0;

	if (ob_strcasecmp(v, "never") == 0) {
		*out = QN_NEVER;
		return 0;
	}
	if (ob_snprintf(buf, sizeof buf, "%s", v) == -1)
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (ob_strcasecmp(tok, "success") == 0)
			n |= QN_SUCCESS;
		else if (ob_strcasecmp(tok, "failure") == 0)
			n |= QN_FAILURE;
		else if (ob_strcasecmp(tok, "delay") == 0)
			n |= QN_DELAY;
		else
			return -1;
	}
	if (n == 0)
		return -1;
	*out = n;
	return 0;
}

/* envid_ok: an ENVID we can store and later print in a DSN (RFC 3461
 * 4.4: up to 100 characters of xtext; we take printable ASCII). */
static int
envid_ok(const char *v)
{
	size_t n = 0;

	for (; *v; v++, n++)
		if (*v <= ' ' || *v >= 0x7f || *v == '+' || *v == '=')
			return 0;
	return n >= 1 && n <= 100;
}

static int
parse_flags(int argc, char **argv, struct send_opts *so, struct cmd_opts *o)
{
	int i;

	so->mode = 'm';
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		char f;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		f = a[1];
		/* Options that take a value, attached or as the next word. */
		if (strchr("fFrCBNRVXLhO", f) != NULL) {
			if (a[2] != '\0')
				val = a + 2;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return usage_error("option -%s needs a value",
				    a + 1);
			switch (f) {
			case 'f':
			case 'r':
				so->sender = val;
				break;
			case 'F':
				so->full_name = val;
				break;
			case 'C':
				o->conf_path = val;
				break;
			case 'N':
				if (parse_notify(val, &so->notify) == -1)
					return usage_error("-N %s: use never, "
					    "or a list of success, failure, "
					    "delay", val);
				break;
			case 'R':
				if (ob_strcasecmp(val, "full") == 0)
					so->ret = QRET_FULL;
				else if (ob_strcasecmp(val, "hdrs") == 0)
					so->ret = QRET_HDRS;
				else
					return usage_error("-R %s: use full "
					    "or hdrs", val);
				break;
			case 'V':
				if (!envid_ok(val))
					return usage_error("-V: the envelope "
					    "id must be 1 to 100 printable "
					    "ASCII characters other than +, = "
					    "and space");
				so->envid = val;
				break;
			default:	/* B X L h O: accepted, ignored */
				break;
			}
			continue;
		}
		switch (f) {
		case 't':
			if (a[2] != '\0')
				return usage_error("unknown option %s", a);
			so->extract = 1;
			break;
		case 'i':
			if (a[2] != '\0')
				return usage_error("unknown option %s", a);
			so->ignore_dots = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'o':
			/* -oi is the only -o option with a meaning here;
			 * -oem, -odb, -odi, -oQ... are accepted as sendmail
			 * accepts them and ignored. */
			if (strcmp(a, "-oi") == 0)
				so->ignore_dots = 1;
			else if (a[2] == '\0')
				return usage_error("option %s needs a value", a);
			break;
		case 'e':	/* -em -ep -eq -ew -ee: error mode */
		case 'A':	/* -Ac -Am */
			if (a[2] == '\0')
				return usage_error("option %s needs a value", a);
			break;
		case 'U': case 'G': case 'n': case 'm': case 's':
			if (a[2] != '\0')
				return usage_error("unknown option %s", a);
			break;
		case 'b':
			if (strcmp(a, "-bm") == 0)
				so->mode = 'm';
			else if (strcmp(a, "-bp") == 0)
				so->mode = 'p';
			else if (strcmp(a, "-bi") == 0)
				so->mode = 'i';
			else if (strcmp(a, "-bs") == 0)
				so->mode = 's';
			else if (strcmp(a, "-bd") == 0 || strcmp(a, "-bD") == 0)
				return usage_error("%s: the daemon is 'outbox "
				    "run'", a);
			else
				return usage_error("unknown mode %s", a);
			break;
		case 'q':
			if (a[2] != '\0')
				return usage_error("%s: a queue run interval is "
				    "not supported; run 'outbox run' (the "
				    "daemon) or 'outbox flush' from cron", a);
			so->mode = 'q';
			break;
		default:
			return usage_error("unknown option %s", a);
		}
	}
	so->rcpt = argv + i;
	so->nrcpt = argc - i;
	return 0;
}

struct send_state {
	const struct conf	*c;
	struct queue_sub	*sub;
	uint64_t		 size;
	unsigned		 flags;
};

/* send_write: canonical bytes into the queue, counting and checking. */
static int
send_write(struct send_state *st, const char *p, size_t n, int eol,
    struct ob_err *err)
{
	size_t i;
	unsigned char or = 0;

	for (i = 0; i < n; i++)
		or |= (unsigned char)p[i];
	if (or & 0x80)
		st->flags |= QM_8BIT;
	st->size += n + (eol ? 2 : 0);
	if (st->c->max_message_size && st->size > st->c->max_message_size)
		return ob_err_set(err, OB_PERM, EX_DATAERR,
		    "message is larger than max_message_size (%llu bytes)",
		    (unsigned long long)st->c->max_message_size);
	if (n && queue_sub_write(st->sub, p, n, err) == -1)
		return -1;
	if (eol && queue_sub_write(st->sub, "\r\n", 2, err) == -1)
		return -1;
	return 0;
}

/* The submitting user: login name and full name from the password file. */
static void
send_user(char *name, size_t n, char *gecos, size_t gn)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name && *pw->pw_name) {
		snprintf(name, n, "%s", pw->pw_name);
		if (pw->pw_gecos && *pw->pw_gecos)
			snprintf(gecos, gn, "%.*s",
			    (int)strcspn(pw->pw_gecos, ","), pw->pw_gecos);
		else
			gecos[0] = '\0';
	} else {
		snprintf(name, n, "uid%lu", (unsigned long)getuid());
		gecos[0] = '\0';
	}
}

/* send_rcpts: the final recipient list: command line, plus the header
 * fields with -t, local names expanded through the aliases file. */
static int
send_rcpts(const struct conf *c, const struct send_opts *so,
    const struct msg_head *h, struct addr_list *out, struct ob_err *err)
{
	struct addr_list given;
	struct aliases *al = NULL;
	size_t i;
	int r = -1, ai;

	addr_list_init(&given);
	for (ai = 0; ai < so->nrcpt; ai++) {
		if (addr_parse_header(so->rcpt[ai], &given, err) == -1) {
			char why[sizeof err->text];

			memcpy(why, err->text, sizeof why);
			ob_err_set(err, OB_PERM, EX_DATAERR,
			    "recipient '%.60s': %.180s", so->rcpt[ai], why);
			goto fail;
		}
	}
	if (so->extract && msg_rcpts_from_head(h, &given, err) == -1)
		goto fail;
	for (i = 0; i < given.n; i++) {
		if (!addr_is_local(given.v[i])) {
			addr_list_add_unique(out, given.v[i]);
			continue;
		}
		if (al == NULL && aliases_load(&al, c->aliases, err) == -1)
			goto fail;
		if (aliases_resolve(al, given.v[i], out, err) == -1)
			goto fail;
	}
	for (i = 0; i < out->n; i++)
		if (!addr_valid_smtp(out->v[i])) {
			ob_err_set(err, OB_PERM, EX_DATAERR,
			    "invalid recipient address '%.200s'", out->v[i]);
			goto fail;
		}
	r = 0;
fail:
	aliases_free(al);
	addr_list_free(&given);
	return r;
}

/* send_sender: the envelope sender: -f as given ("<>" the null sender; a
 * bare name gets @helo_name), else user@helo_name. */
static int
send_sender(const struct conf *c, const struct send_opts *so,
    const char *user, char **out, struct ob_err *err)
{
	char *a;

	if (so->sender == NULL) {
		*out = xasprintf("%s@%s", user, c->helo_name);
		return 0;
	}
	if (addr_parse_arg(so->sender, 1, &a, err) == -1)
		return -1;
	if (*a != '\0' && addr_is_local(a)) {
		*out = xasprintf("%s@%s", a, c->helo_name);
		free(a);
	} else
		*out = a;
	if (**out != '\0' && !addr_valid_smtp(*out)) {
		ob_err_set(err, OB_PERM, EX_DATAERR,
		    "invalid sender address '%.200s'", *out);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* send_rewrite_from: with rewrite_from, the route's from_address becomes
 * the From: field (providers refuse a From their account does not own);
 * the original goes to Reply-To when there is none, so replies still
 * reach the author. */
static void
send_rewrite_from(const struct conf_route *r, struct msg_head *h)
{
	char *orig;
	long i;

	if (!r->rewrite_from || r->from_address == NULL)
		return;
	i = msg_head_find(h, "From", 0);
	if (i >= 0 && msg_head_find(h, "Reply-To", 0) < 0) {
		orig = xstrdup(msg_head_value(h, (size_t)i));
		msg_head_append(h, "Reply-To", orig + (*orig == ' '));
		free(orig);
	}
	msg_head_remove(h, "From");
	msg_head_append(h, "From", r->from_address);
}

/* send_head: the header section is complete: decide the recipients, apply
 * the header rules, and write the section and the empty line. */
static int
send_head(const struct conf *c, const struct send_opts *so,
    struct msg_head *h, struct send_state *st, const char *user,
    const char *gecos, const char *sender, int64_t now,
    struct addr_list *rcpt, struct buf *head, struct ob_err *err)
{
	struct msg_origin o;

	if (send_rcpts(c, so, h, rcpt, err) == -1)
		return -1;
	if (rcpt->n == 0)
		return ob_err_set(err, OB_PERM, EX_USAGE, "no recipients: "
		    "give addresses on the command line, or use -t");
	/* Bcc is removed whether or not -t was given, as Postfix does: it
	 * must never reach the other recipients. */
	msg_strip_bcc(h);
	o.sender = sender;
	o.full_name = so->full_name ? so->full_name : (*gecos ? gecos : NULL);
	o.user = user;
	o.helo_name = c->helo_name;
	o.queue_id = queue_sub_id(st->sub);
	o.now_ms = now;
	msg_complete(h, &o);
	send_rewrite_from(conf_route_for(c, sender), h);
	if (msg_head_8bit(h))
		st->flags |= QM_8BIT | QM_8BITHDR;
	buf_clear(head);
	if (msg_head_write(h, head) == -1)
		panic("msg_head_write: unbounded buffer refused");
	if (send_write(st, head->p, head->len, 0, err) == -1)
		return -1;
	return send_write(st, "", 0, 1, err);
}

static int
send_message(const struct conf *c, const struct send_opts *so,
    struct ob_err *err)
{
	struct send_state st = { c, NULL, 0, 0 };
	struct queue *q = NULL;
	struct msg_lines ml;
	struct msg_head *h = msg_head_new(SEND_MAXHEAD);
	struct addr_list rcpt;
	struct buf head;
	char user[256], gecos[256], *sender = NULL;
	static char rbuf[65536];
	const char *data = rbuf, *line;
	unsigned *notify = NULL;
	size_t avail = 0, len, i;
	int eof = 0, in_head = 1, cont = 0, r = -1;
	unsigned long lineno = 0;
	int64_t now = ob_now_ms();

	msg_lines_init(&ml, SEND_MAXLINE);
	addr_list_init(&rcpt);
	buf_init(&head, 0);
	send_user(user, sizeof user, gecos, sizeof gecos);
	if (send_sender(c, so, user, &sender, err) == -1)
		goto fail;
	if (cmd_queue_open(c, &q, err) == -1)
		goto fail;
	if (queue_sub_begin(q, &st.sub, err) == -1)
		goto fail;
	queue_sub_owner(st.sub, (uint32_t)getuid());

	for (;;) {
		int k, part, end_head = 0;

		if (avail == 0 && !eof) {
			ssize_t n = read(STDIN_FILENO, rbuf, sizeof rbuf);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ob_err_set(err, OB_TEMP, EX_IOERR,
				    "reading the message: %s", strerror(errno));
				goto fail;
			}
			eof = (n == 0);
			data = rbuf;
			avail = (size_t)n;
		}
		k = msg_lines_get(&ml, &data, &avail, eof, &line, &len);
		if (k == MSG_LINE_NONE) {
			if (eof)
				break;
			continue;
		}
		part = (k == MSG_LINE_PART);
		if (!cont)
			lineno++;
		if (memchr(line, '\0', len) != NULL) {
			ob_err_set(err, OB_PERM, EX_DATAERR,
			    "the message contains a NUL byte (line %lu)",
			    lineno);
			goto fail;
		}
		/* sendmail without -i: a line holding one "." ends it. */
		if (!so->ignore_dots && !cont && !part && len == 1
		    && line[0] == '.')
			break;
		cont = part;
		if (in_head) {
			switch (msg_head_line(h, line, len, part)) {
			case MSG_HEAD_MORE:
				continue;
			case MSG_HEAD_END:
				end_head = 1;
				break;
			case MSG_HEAD_BODY:
				end_head = 2;
				break;
			case MSG_HEAD_TOOBIG:
				ob_err_set(err, OB_PERM, EX_DATAERR,
				    "the header section is larger than %d "
				    "bytes", SEND_MAXHEAD);
				goto fail;
			default:
				panic("msg_head_line: unexpected result");
			}
		}
		if (end_head) {
			in_head = 0;
			if (send_head(c, so, h, &st, user, gecos, sender, now,
			    &rcpt, &head, err) == -1)
				goto fail;
			if (end_head == 1)
				continue;
		}
		if (send_write(&st, line, len, !part, err) == -1)
			goto fail;
	}
	if (in_head && send_head(c, so, h, &st, user, gecos, sender, now,
	    &rcpt, &head, err) == -1)
		goto fail;

	/* The commit point: exit 0 depends on this synced transaction. */
	if (so->notify != 0) {
		notify = xcalloc(rcpt.n, sizeof *notify);
		for (i = 0; i < rcpt.n; i++)
			notify[i] = so->notify;
	}
	queue_sub_dsn(st.sub, so->ret, so->envid, notify, NULL);
	if (queue_sub_commit(st.sub, sender, (const char *const *)rcpt.v,
	    rcpt.n, st.flags, now, err) == -1)
		goto fail;
	if (log_verbose() || c->log_dest == LOG_TO_SYSLOG) {
		char qs[600];

		log_info("%s queued from=<%s> size=%llu nrcpt=%zu user=%s",
		    queue_sub_id(st.sub), log_quote(qs, sizeof qs, sender),
		    (unsigned long long)st.size, rcpt.n, user);
	}
	r = 0;
fail:
	queue_sub_free(st.sub);
	queue_close(q);
	msg_lines_free(&ml);
	msg_head_free(h);
	addr_list_free(&rcpt);
	buf_free(&head);
	free(sender);
	free(notify);
	return r;
}

/* send_kick: after the commit, get the message moving: ring the daemon,
 * or, when none runs and deliver_on_submit says so, start a detached
 * background delivery holding a slot (wake.h).  Nothing here changes our
 * exit status: the message is queued whatever happens. */
static void
send_kick(const struct conf *c, const struct cmd_opts *o)
{
	char fdarg[16];
	char *bgargs[2] = { NULL, NULL };
	pid_t pid;
	int fd, status, null, rung;

	if (priv_mode()) {
		/* Setgid: ring the daemon with the group, then give it up.
		 * Never deliver from here: that needs the relay's
		 * credentials, which this user must not read. */
		rung = priv_raise(NULL) == 0 && wake_send(c->queue_dir) == 1;
		priv_drop();
		if (!rung)
			log_debug("no daemon is running: the message waits "
			    "for the next `outbox flush` (cron or timer)");
		return;
	}
	if (wake_send(c->queue_dir) == 1 || !c->deliver_on_submit)
		return;
	if ((fd = wake_slot(c->queue_dir, c->max_connections)) == -1)
		return;		/* a running delivery will see it */
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		close(fd);
		return;
	}
	if (pid == 0) {
		/* detached: a new session, and not our child, so that
		 * nobody waits for it and no terminal signal reaches it */
		if (setsid() == -1 || fork() != 0)
			_exit(0);
		if ((null = open("/dev/null", O_RDWR)) != -1) {
			(void)dup2(null, 0);
			(void)dup2(null, 1);
			(void)dup2(null, 2);
			if (null > 2)
				close(null);
		}
		(void)snprintf(fdarg, sizeof fdarg, "%d", fd);
		bgargs[0] = fdarg;
		_exit(cmd_exec_deliver(o, "background", bgargs));
	}
	close(fd);
	(void)waitpid(pid, &status, 0);
}

/* bs_write: all of B to stdout.  0, or -1 (the client is gone). */
static int
bs_write(struct buf *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(STDOUT_FILENO, b->p + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	buf_clear(b);
	return 0;
}

/* send_smtp: `sendmail -bs`: the SMTP server engine (the listener's own)
 * over stdin and stdout, for programs that submit by speaking SMTP to a
 * pipe (as Postfix and Sendmail allow).  The local user may submit (no
 * AUTH, no TLS on a pipe); each message is committed, synced, before its
 * 250.  Exit 0 when the session ended normally (QUIT or EOF), whatever
 * became of single messages: they got their replies. */
static int
send_smtp(const struct conf *c, const struct cmd_opts *o)
{
	struct smtpd_conf sc;
	struct recv_info ri;
	struct smtpd *s;
	struct smtpd_ev e;
	struct recv *r = NULL;
	struct queue *q = NULL;
	struct ob_err err;
	struct pollfd pfd;
	char user[256], gecos[256], buf[65536];
	int ex = 0, failed = 0, queued = 0;
	ssize_t n;

	send_user(user, sizeof user, gecos, sizeof gecos);
	memset(&sc, 0, sizeof sc);
	sc.hostname = c->helo_name;
	sc.allowed = 1;
	sc.max_message_size = c->max_message_size;
	sc.command_timeout = c->command_timeout;
	memset(&ri, 0, sizeof ri);
	ri.hostname = c->helo_name;
	ri.user = user;
	ri.has_owner = 1;
	ri.owner = (uint32_t)getuid();
	if (cmd_queue_open(c, &q, &err) == -1) {
		/* RFC 5321 3.1: the server may refuse at the greeting */
		printf("421 4.3.0 %s %s\r\n", c->helo_name, err.text);
		fflush(stdout);
		return send_error(c, err.ex ? err.ex : EX_TEMPFAIL, "%s",
		    err.text);
	}
	s = smtpd_new(&sc);
	for (;;) {
		switch (smtpd_next(s, &e)) {
		case SMTPD_EV_NONE:
			if (bs_write(smtpd_output(s)) == -1 ||
			    smtpd_closing(s))
				goto done;
			pfd.fd = STDIN_FILENO;
			pfd.events = POLLIN;
			n = poll(&pfd, 1, (int)smtpd_timeout_ms(s));
			if (n == 0) {
				smtpd_timeout(s);
				break;
			}
			if (n < 0 && errno == EINTR)
				break;
			n = n < 0 ? -1 : read(STDIN_FILENO, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				break;
			if (n <= 0)
				smtpd_eof(s);
			else
				smtpd_input(s, buf, (size_t)n);
			break;
		case SMTPD_EV_MAIL:
			break;
		case SMTPD_EV_DATA:
			failed = recv_begin(&r, q, &e, &ri, 0, ob_now_ms(),
			    &err) == -1;
			break;
		case SMTPD_EV_BODY:
			if (!failed && recv_body(r, e.data, e.len, &err) == -1)
				failed = 1;
			break;
		case SMTPD_EV_DOT:
			if (!failed && recv_commit(r, &err) == 0) {
				if (log_verbose() || c->log_dest ==
				    LOG_TO_SYSLOG)
					log_info("%s queued size=%llu user=%s "
					    "via sendmail -bs", recv_id(r),
					    (unsigned long long)recv_size(r),
					    user);
				smtpd_data_done(s, 1, recv_id(r), 250, NULL,
				    NULL);
				queued++;
			} else {
				log_err("sendmail -bs: message not queued: %s",
				    err.text);
				smtpd_data_done(s, 0, NULL, err.kind == OB_TEMP ?
				    452 : 554, err.kind == OB_TEMP ? "4.3.1" :
				    "5.3.0", err.text);
			}
			recv_free(r);
			r = NULL;
			failed = 0;
			break;
		case SMTPD_EV_ABORT:
			recv_free(r);
			r = NULL;
			failed = 0;
			break;
		case SMTPD_EV_STARTTLS:
			smtpd_tls_done(s, 0);	/* never offered here */
			break;
		case SMTPD_EV_AUTH:
			smtpd_auth_done(s, 0);	/* never offered here */
			break;
		}
	}
done:
	recv_free(r);
	smtpd_free(s);
	queue_close(q);
	if (queued > 0)
		send_kick(c, o);
	return ex;
}

/* send_ring: `sendmail -q` by a user outside the queue's group: ask the
 * daemon to look at the queue now (a flush of our own would need the
 * relay's credentials). */
static int
send_ring(const struct cmd_opts *o)
{
	struct ob_err err;
	struct conf *c = cmd_conf(o, "sendmail");
	int r = -1;

	if (priv_raise(&err) == 0)
		r = wake_send(c->queue_dir);
	priv_drop();
	if (r == 1) {
		conf_free(c);
		return 0;
	}
	send_error(c, EX_UNAVAILABLE, "no outbox daemon is running to "
	    "deliver the queue; as root or the outbox user, run `outbox "
	    "flush` (or start outbox.service or outbox-flush.timer)");
	conf_free(c);
	return EX_UNAVAILABLE;
}

int
cmd_sendmail(int argc, char **argv, struct cmd_opts *o)
{
	struct send_opts so;
	struct ob_err err;
	struct conf *c;
	char *sub_argv[2] = { NULL, NULL };
	int ex;

	memset(&so, 0, sizeof so);
	memset(&err, 0, sizeof err);
	if ((ex = parse_flags(argc, argv, &so, o)) != 0)
		return ex;
	switch (so.mode) {
	case 'p':
		sub_argv[0] = "queue";
		return cmd_queue(1, sub_argv, o);
	case 'q':
		if (priv_mode())
			return send_ring(o);
		sub_argv[0] = "flush";
		return cmd_flush(1, sub_argv, o);
	case 'i':
		fputs("sendmail: outbox reads its aliases file directly; "
		    "there is nothing to rebuild\n", stderr);
		return 0;
	case 'm':
	case 's':
		break;
	default:
		panic("cmd_sendmail: mode %c", so.mode);
	}
	if (so.mode == 's') {
		if (so.nrcpt > 0 || so.extract)
			return usage_error("-bs takes its recipients from the "
			    "SMTP dialogue, not from the command line or -t");
		c = cmd_conf(o, "sendmail");
		ex = send_smtp(c, o);
		conf_free(c);
		return ex;
	}
	c = cmd_conf(o, "sendmail");
	if (send_message(c, &so, &err) == -1) {
		ex = err.ex ? err.ex
		    : err.kind == OB_TEMP ? EX_TEMPFAIL : EX_SOFTWARE;
		send_error(c, ex, "%s", err.text);
		conf_free(c);
		return ex;
	}
	send_kick(c, o);
	conf_free(c);
	return 0;
}
