/* cmd_stats.c - `outbox stats [--json]`: the queue's counts and recent
 * results per destination (stats.h), for a person or (--json, a stable
 * interface documented in outbox(8): change it only by adding keys) for a
 * program.
 *
 * Reads only, in short read transactions: it never holds up delivery.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "conf.h"
#include "queue.h"
#include "stats.h"
#include "util.h"

int
cmd_stats(int argc, char **argv, struct cmd_opts *o)
{
	struct stats st;
	struct ob_err err;
	struct queue *q = NULL;
	struct conf *c;
	int json = 0, i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "usage: outbox stats [--json]\n");
			return EX_USAGE;
		}
	}
	if ((r = cmd_open(o, "outbox", &c, &q)) != 0)
		return r;
	r = stats_collect(q, ob_now_ms(), &st, &err);
	queue_close(q);
	conf_free(c);
	if (r == -1) {
		fprintf(stderr, "outbox: %s\n", err.text);
		return err.ex ? err.ex : EX_TEMPFAIL;
	}
	if (json)
		stats_json(&st, stdout);
	else
		stats_text(&st, stdout);
	stats_free(&st);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "outbox: writing the statistics: %s\n",
		    strerror(errno));
		return EX_IOERR;
	}
	return 0;
}
