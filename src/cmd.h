/* cmd.h - the commands of the outbox executables.
 *
 * Only cmd_* and main() may exit the program (STYLE.md 4).  Each command
 * returns its exit status (sysexits.h) or calls die().
 */
#ifndef OUTBOX_CMD_H
#define OUTBOX_CMD_H

#include "conf.h"
#include "util.h"

/* Options common to every command. */
struct cmd_opts {
	const char	*conf_path;	/* -C FILE, or NULL */
	int		 verbose;	/* -v */
};

/* cmd_conf: load the configuration as CLI.md says: -C FILE, else
 * $OUTBOX_CONF, else the default path (a missing default file means all
 * defaults).  Errors are printed and the program exits EX_CONFIG.  Sets up
 * logging for IDENT from the configuration.  The caller owns the result. */
struct conf *cmd_conf(const struct cmd_opts *o, const char *ident);
/* cmd_conf_try: the same file, loaded without exiting or touching the
 * logging: NULL after printing the errors (SIGHUP reload). */
struct conf *cmd_conf_try(const struct cmd_opts *o);

/* cmd_queue_open: open C's queue; in setgid mode with the queue's group
 * for just that (priv.h: LMDB keeps its descriptors).  0, or -1 with
 * ERR. */
struct queue;
int	cmd_queue_open(const struct conf *c, struct queue **qp,
	    struct ob_err *err);
/* cmd_open: cmd_conf (IDENT) and cmd_queue_open for a command: 0 with
 * *CP and *QP, or the exit status after printing why (nothing left
 * open). */
int	cmd_open(const struct cmd_opts *o, const char *ident, struct conf **cp,
	    struct queue **qp);

int	cmd_sendmail(int argc, char **argv, struct cmd_opts *o);
int	cmd_queue(int argc, char **argv, struct cmd_opts *o);
int	cmd_flush(int argc, char **argv, struct cmd_opts *o);
int	cmd_config(int argc, char **argv, struct cmd_opts *o);
int	cmd_run(int argc, char **argv, struct cmd_opts *o);
/* Queue administration (cmd_admin.c): show ID; retry ID|--all;
 * hold ID... / release ID...; delete [--bounce] ID... */
int	cmd_show(int argc, char **argv, struct cmd_opts *o);
int	cmd_retry(int argc, char **argv, struct cmd_opts *o);
int	cmd_hold(int argc, char **argv, struct cmd_opts *o);
int	cmd_release(int argc, char **argv, struct cmd_opts *o);
int	cmd_delete(int argc, char **argv, struct cmd_opts *o);

/* cmd_exec_deliver: replace this process with outbox-deliver MODE ARGV...
 * (with our -C and -v; ARGV NULL-terminated, at most CMD_DELIVER_MAXARGS,
 * or NULL); returns EX_UNAVAILABLE only if that failed. */
#define CMD_DELIVER_MAXARGS	16
int	cmd_exec_deliver(const struct cmd_opts *o, const char *mode,
	    char *const *argv);
/* cmd_stats: outbox stats [--json] (cmd_stats.c). */
int	cmd_stats(int argc, char **argv, struct cmd_opts *o);
/* cmd_test: outbox test [--from SENDER] ADDRESS (run by outbox-deliver). */
int	cmd_test(int argc, char **argv, struct cmd_opts *o);

/* cmd_usage_sendmail: the sendmail-mode usage text to F. */
void	cmd_usage_sendmail(FILE *f);

#endif
