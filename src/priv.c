/* priv.c - the setgid submission mode (see priv.h).
 *
 * Invariants: outside priv_raise..priv_lower the effective group is the
 * user's own; after priv_drop no call can regain the queue's group.  The
 * environment a setgid process inherits is the caller's to choose, so in
 * that mode none of it is used: OUTBOX_CONF, OUTBOX_<KEY>, OUTBOX_DELIVER,
 * PATH, LD_* (the loader already drops those) are all gone before any
 * code reads them.
 *
 * Left to others: which commands the mode allows (main.c), which
 * configuration file it reads (cmd_conf.c), what a listing shows
 * (cmd_queue.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "priv.h"

extern char **environ;

static int	g_mode;		/* setgid submission mode */
static int	g_env_ignored;	/* OUTBOX_* were set */
static int	g_dropped;	/* priv_drop done */
static gid_t	g_gid;		/* the queue's group (the file's) */
static char	g_name[64];

/* priv_std_fds: 0, 1 and 2 open, on /dev/null if they were closed.  0 or
 * -1. */
static int
priv_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* the lowest free descriptor: FD itself */
		if (open("/dev/null", O_RDWR) != fd)
			return -1;
	}
	return 0;
}

/* priv_member: 1 if the process has GID among its supplementary groups. */
static int
priv_member(gid_t gid)
{
	gid_t *v;
	int n, i, r = 0;

	if ((n = getgroups(0, NULL)) <= 0)
		return 0;
	v = xcalloc((size_t)n, sizeof *v);
	n = getgroups(n, v);
	for (i = 0; i < n; i++)
		if (v[i] == gid)
			r = 1;
	free(v);
	return r;
}

/* priv_tz_ok: TZ names a zone, not a file of the caller's choosing
 * ("/etc/shadow", ":../../x"): no absolute path, no "..", short. */
static int
priv_tz_ok(const char *tz)
{
	if (tz == NULL || *tz == '\0' || strlen(tz) > 64)
		return 0;
	if (*tz == ':')
		tz++;
	return *tz != '/' && strstr(tz, "..") == NULL;
}

static void
priv_clean_env(void)
{
	char tz[80] = "";
	char **e;

	for (e = environ; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "OUTBOX_", 7) == 0)
			g_env_ignored = 1;
	if (priv_tz_ok(getenv("TZ")))
		(void)snprintf(tz, sizeof tz, "%s", getenv("TZ"));
	(void)clearenv();
	(void)setenv("PATH", "/usr/bin:/bin", 1);
	if (*tz != '\0')
		(void)setenv("TZ", tz, 1);
}

int
priv_init(void)
{
	gid_t rgid = getgid(), egid = getegid();

	if (priv_std_fds() == -1)
		return -1;
	if (getuid() == 0 || egid == rgid)
		return 0;
	if (priv_member(egid)) {
		/* the user has the group's rights anyway: an ordinary
		 * program from here on */
		if (setresgid(rgid, rgid, rgid) == -1 || getegid() != rgid)
			return -1;
		return 0;
	}
	g_mode = 1;
	g_gid = egid;
	/* the saved set-group-ID keeps EGID for priv_raise */
	if (setresgid((gid_t)-1, rgid, (gid_t)-1) == -1 || getegid() != rgid)
		return -1;
	priv_clean_env();
	(void)signal(SIGXFSZ, SIG_IGN);
	return 1;
}

int
priv_mode(void)
{
	return g_mode;
}

int
priv_env_ignored(void)
{
	return g_env_ignored;
}

int
priv_raise(struct ob_err *err)
{
	if (!g_mode)
		return 0;
	if (g_dropped || setegid(g_gid) == -1)
		return ob_err_set(err, OB_TEMP, EX_NOPERM,
		    "cannot use the queue's group %s: %s", priv_group(),
		    g_dropped ? "already given up" : strerror(errno));
	return 0;
}

void
priv_lower(void)
{
	if (g_mode && setegid(getgid()) == -1)
		abort();	/* never keep a group we meant to give up */
}

void
priv_drop(void)
{
	gid_t rgid = getgid();

	if (!g_mode || g_dropped)
		return;
	if (setresgid(rgid, rgid, rgid) == -1 || getegid() != rgid)
		abort();
	g_dropped = 1;
}

const char *
priv_group(void)
{
	struct group *gr;

	if (!g_mode)
		return "";
	if (*g_name == '\0') {
		if ((gr = getgrgid(g_gid)) != NULL)
			(void)snprintf(g_name, sizeof g_name, "%s",
			    gr->gr_name);
		else
			(void)snprintf(g_name, sizeof g_name, "%lu",
			    (unsigned long)g_gid);
	}
	return g_name;
}
