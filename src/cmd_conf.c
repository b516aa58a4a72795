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

	if (path == NULL)
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
	/* OUTBOX_<KEY> over the file: a container needs no file at all */
	if (conf_load_env(c, stderr) != 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}
