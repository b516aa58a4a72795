/* main.c - argv[0] and subcommand dispatch; nothing else.
 *
 * The same executable runs as `outbox COMMAND`, as `sendmail` and as
 * `mailq` (links made at install).  It links libc and LMDB only: the
 * network side lives in outbox-deliver (see DESIGN.md, process model).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "log.h"
#include "priv.h"

static void
usage(FILE *f)
{
	fputs("usage: outbox [-C FILE] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  sendmail [FLAGS] [--] [RCPT ...]  queue a message read from stdin\n"
	    "                                    (also run as 'sendmail')\n"
	    "  queue [--json]                    list the queue (also 'mailq',\n"
	    "                                    'sendmail -bp')\n"
	    "  run                               the daemon: deliver as mail falls\n"
	    "                                    due, in the foreground\n"
	    "  flush [--all]                     deliver what is due (all with --all)\n"
	    "                                    and exit (also 'sendmail -q')\n"
	    "  stats [--json]                    queue counts, oldest message,\n"
	    "                                    results per destination\n"
	    "  test [--from SENDER] ADDRESS      send a test message now through\n"
	    "                                    the configured route, showing\n"
	    "                                    each step (not queued)\n"
	    "  show ID                           one message: envelope, headers,\n"
	    "                                    each recipient's attempts\n"
	    "  retry ID...|--all                 make messages due now\n"
	    "  hold ID... / release ID...        keep messages from delivery / let go\n"
	    "  delete [--bounce] ID...           remove messages (telling the sender)\n"
	    "  config [--check]                  print the effective configuration,\n"
	    "                                    or only validate it\n"
	    "  help, --help                      this text\n"
	    "  --version                         the version\n"
	    "\n"
	    "options:\n"
	    "  -C FILE   configuration file (default $OUTBOX_CONF, else "
	    SYSCONFDIR "/outbox.conf)\n"
	    "  -v        verbose: log every step to stderr\n"
	    "\n"
	    "See outbox(8) and outbox.conf(5).\n", f);
}

/* user_command: what a user outside the queue's group may run when
 * outbox is installed setgid: submit, list their own mail, read the
 * configuration, ask for help (outbox(8), SETGID SUBMISSION). */
static int
user_command(const char *cmd)
{
	static const char *const ok[] = { "sendmail", "queue", "mailq",
	    "config", "help", "--help", "-h", "--version", "version" };
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(cmd, ok[i]) == 0)
			return 1;
	return 0;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int
main(int argc, char **argv)
{
	struct cmd_opts o = { NULL, 0 };
	const char *prog = argc > 0 ? base_name(argv[0]) : "outbox";
	const char *cmd;
	int i;

	/* first: nothing may read the environment or open a file before */
	if (priv_init() == -1) {
		fputs("outbox: cannot give up the set-group-ID\n", stderr);
		return EX_OSERR;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("outbox", LOG_TO_STDERR, 0);

	if (strcmp(prog, "sendmail") == 0)
		return cmd_sendmail(argc, argv, &o);
	if (strcmp(prog, "mailq") == 0)
		return cmd_queue(argc, argv, &o);
	if (strcmp(prog, "newaliases") == 0) {
		fputs("newaliases: outbox reads its aliases file directly; "
		    "there is nothing to rebuild\n", stderr);
		return 0;
	}

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			o.conf_path = argv[++i];
		else if (strncmp(argv[i], "-C", 2) == 0 && argv[i][2])
			o.conf_path = argv[i] + 2;
		else if (strcmp(argv[i], "-v") == 0)
			o.verbose = 1;
		else
			break;
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (priv_mode() && !user_command(cmd)) {
		fprintf(stderr, "outbox: '%s' needs the queue's rights: run it "
		    "as root, as the daemon's user, or as a member of the "
		    "group %s\n", cmd, priv_group());
		return EX_NOPERM;
	}
	if (strcmp(cmd, "sendmail") == 0)
		return cmd_sendmail(argc, argv, &o);
	if (strcmp(cmd, "queue") == 0 || strcmp(cmd, "mailq") == 0)
		return cmd_queue(argc, argv, &o);
	if (strcmp(cmd, "flush") == 0)
		return cmd_flush(argc, argv, &o);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc, argv, &o);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc, argv, &o);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(argc, argv, &o);
	if (strcmp(cmd, "test") == 0)
		return cmd_test(argc, argv, &o);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(argc, argv, &o);
	if (strcmp(cmd, "retry") == 0)
		return cmd_retry(argc, argv, &o);
	if (strcmp(cmd, "hold") == 0)
		return cmd_hold(argc, argv, &o);
	if (strcmp(cmd, "release") == 0)
		return cmd_release(argc, argv, &o);
	if (strcmp(cmd, "delete") == 0)
		return cmd_delete(argc, argv, &o);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0
	    || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("outbox %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "outbox: unknown command '%s'\n", cmd);
	usage(stderr);
	return EX_USAGE;
}
