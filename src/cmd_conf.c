/* cmd_conf.c - finding and loading the configuration, for every command.
 *
 * Precedence: built-in defaults, then the file (-C, else $OUTBOX_CONF,
 * else the default path), then OUTBOX_<KEY> variables.
 * Shared by both executables, so `outbox flush` and the outbox-deliver it
 * starts always agree on which file is in force.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "priv.h"
#include "queue.h"

struct conf *
cmd_conf(const struct cmd_opts *o, const char *ident)
{
	struct conf *c = cmd_conf_try(o);

	if (c == NULL)
		exit(EX_CONFIG);
	log_init(ident, c->log_dest, o->verbose);
	return c;
}

struct conf *
cmd_conf_try(const struct cmd_opts *o)
{
	struct conf *c = conf_defaults();
	const char *path = o->conf_path;
	int explicit = 1;

	if (priv_mode()) {
		/* Setgid: the caller's choices would be ours to trust.
		 * Only the system's file, nothing from the environment
		 * (priv_init cleared it). */
		static int warned;

		if (!warned && (path != NULL || priv_env_ignored()))
			fprintf(stderr, "outbox: running setgid %s: %s is "
			    "ignored; only %s is read (outbox(8), SETGID "
			    "SUBMISSION)\n", priv_group(), path != NULL ?
			    "-C" : "the OUTBOX_* environment",
			    conf_default_path());
		warned = 1;
		path = NULL;
	}
	if (path == NULL && !priv_mode())
		path = getenv("OUTBOX_CONF");
	if (path == NULL || *path == '\0') {
		path = conf_default_path();
		explicit = 0;
	}
	/* A missing default file means "all defaults", as for msmtp's
	 * system file; a file the user named must exist. */
	if (explicit || access(path, F_OK) == 0 || errno != ENOENT) {
		if (conf_load_file(c, path, 0, stderr) != 0) {
			conf_free(c);
			return NULL;
		}
	}
	/* OUTBOX_<KEY> over the file: a container needs no file at all
	 * (in setgid mode priv_init has emptied the environment) */
	if (conf_load_env(c, stderr) != 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

int
cmd_queue_open(const struct conf *c, struct queue **qp, struct ob_err *err)
{
	int r;

	if (priv_raise(err) == -1)
		return -1;
	r = queue_open(qp, c->queue_dir, c->queue_max_size, err);
	priv_lower();
	return r;
}

int
cmd_open(const struct cmd_opts *o, const char *ident, struct conf **cp,
    struct queue **qp)
{
	struct ob_err err;

	*cp = cmd_conf(o, ident);	/* exits EX_CONFIG on errors */
	if (cmd_queue_open(*cp, qp, &err) == 0)
		return 0;
	fprintf(stderr, "outbox: %s\n", err.text);
	conf_free(*cp);
	*cp = NULL;
	return err.ex ? err.ex : EX_TEMPFAIL;
}
