/* deliver_main.c - outbox-deliver: the executable that talks to the
 * network (GnuTLS and libresolv are linked here, never into `outbox`).
 *
 *   outbox-deliver [-C FILE] [-v] flush [--all]
 *
 * Started by `outbox flush` (and `sendmail -q`); not meant to be run by
 * hand, though it is harmless to.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "queue.h"

static int
usage(void)
{
	fputs("usage: outbox-deliver [-C FILE] [-v] flush [--all]\n", stderr);
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	struct cmd_opts o = { NULL, 0 };
	struct deliver_stats st;
	struct ob_err err;
	struct queue *q = NULL;
	struct conf *c;
	int i, all = 0, ex = 0;

	signal(SIGPIPE, SIG_IGN);
	log_init("outbox", LOG_TO_STDERR, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			o.conf_path = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			o.verbose = 1;
		else
			break;
	}
	if (i >= argc || strcmp(argv[i], "flush") != 0)
		return usage();
	for (i++; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else
			return usage();
	}
	c = cmd_conf(&o, "outbox");
	if (c->nrelays == 0) {
		log_err("no relay configured: add 'relay HOST[:PORT]' to %s "
		    "(delivery to MX hosts comes in a later version)",
		    c->path ? c->path : conf_default_path());
		conf_free(c);
		return EX_CONFIG;
	}
	if (queue_open(&q, c->queue_dir, c->queue_max_size, &err) == -1) {
		log_err("%s", err.text);
		conf_free(c);
		return err.ex ? err.ex : EX_TEMPFAIL;
	}
	if (deliver_flush(c, q, all, &st, &err) == -1) {
		log_err("flush: %s", err.text);
		ex = err.ex ? err.ex : EX_TEMPFAIL;
	} else if (st.unreachable) {
		log_err("flush: no relay could be reached; %zu message%s "
		    "stay queued", st.messages, st.messages == 1 ? "" : "s");
		ex = EX_TEMPFAIL;
	}
	log_debug("flush done messages=%zu delivered=%zu deferred=%zu "
	    "failed=%zu", st.messages, st.delivered, st.deferred, st.failed);
	queue_close(q);
	conf_free(c);
	return ex;
}
