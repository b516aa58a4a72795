/* secret.c - load the AUTH secret from auth_password_file or from the
 * first output line of auth_password_command.
 *
 * Invariants: the secret is never logged or put in an error text (errors
 * quote the path or the command's exit status, never file content or
 * output); every buffer that held secret bytes is wiped (explicit_bzero)
 * before it is freed; reading is bounded by SECRET_MAX; the command is
 * bounded in time and its whole process group is killed past the
 * deadline, so a hung helper cannot hang a delivery.
 *
 * Left to others: when to load (deliver.c, once per attempt, so a
 * command can hand out fresh OAuth tokens) and what a failure does to the
 * message (deferral, never a bounce).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"

#define SECRET_TIMEOUT_MS	30000
#define CHILD_CLOSE_MAX		65536	/* the child closes 3.. */

static int	timeout_ms = SECRET_TIMEOUT_MS;

static int	load_file(const char *path, char **out, struct ob_err *err);
static int	load_cmd(const char *cmd, char **out, struct ob_err *err);
static int	first_line(const char *b, size_t len, char **out);
static void	child_exec(const char *cmd, int wfd);
static int	wait_child(pid_t pid, int64_t deadline, int *status);

void
secret_load_timeout(int ms)
{
	timeout_ms = ms > 0 ? ms : SECRET_TIMEOUT_MS;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int
secret_load(const char *path, const char *cmd, char **out,
    struct ob_err *err)
{
	*out = NULL;
	if ((path == NULL) == (cmd == NULL))
		return ob_err_set(err, OB_PERM, EX_CONFIG, "set exactly one "
		    "of auth_password_file and auth_password_command");
	return path != NULL ? load_file(path, out, err) :
	    load_cmd(cmd, out, err);
}

/* first_line: the bytes of B before the first "\n" (a "\r" just before
 * it, or at the very end, dropped) as a fresh string.  0, or -1 when that
 * line is empty or holds a NUL (which would silently cut the secret). */
static int
first_line(const char *b, size_t len, char **out)
{
	const char *nl = memchr(b, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - b) : len;

	if (n > 0 && b[n - 1] == '\r')
		n--;
	if (n == 0 || memchr(b, '\0', n) != NULL)
		return -1;
	*out = xstrndup(b, n);
	return 0;
}

static int
load_file(const char *path, char **out, struct ob_err *err)
{
	struct stat st;
	char *b = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rv = -1;

	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return ob_err_set(err, OB_TEMP, EX_CONFIG, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		ob_err_set(err, OB_TEMP, EX_CONFIG, "%s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ob_err_set(err, OB_PERM, EX_CONFIG, "%s is not a regular file",
		    path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%s is readable by others (chmod 600 %s)", path, path);
		goto fail;
	}
	if (st.st_size > SECRET_MAX) {
		ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%s is larger than %d octets", path, SECRET_MAX);
		goto fail;
	}
	/* Read to EOF, one octet past the limit to see a file that grew. */
	b = xmalloc(SECRET_MAX + 1);
	while (len < SECRET_MAX + 1) {
		r = read(fd, b + len, SECRET_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			ob_err_set(err, OB_TEMP, EX_CONFIG, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > SECRET_MAX) {
		ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%s is larger than %d octets", path, SECRET_MAX);
		goto fail;
	}
	if (first_line(b, len, out) < 0) {
		ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%s: the first line is empty or holds a NUL", path);
		goto fail;
	}
	rv = 0;
fail:
	if (b != NULL) {
		explicit_bzero(b, SECRET_MAX + 1);
		free(b);
	}
	close(fd);
	return rv;
}

/* child_exec: in the forked child; only async-signal-safe calls. */
static void
child_exec(const char *cmd, int wfd)
{
	struct sigaction sa;
	sigset_t none;
	long max;
	int fd;

	(void)setpgid(0, 0);	/* own group: the timeout kills it whole */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);	/* we may ignore it */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd == -1 || dup2(fd, 0) == -1 || dup2(wfd, 1) == -1)
		_exit(126);
	/* Queue, sockets, TLS: nothing of ours reaches the helper. */
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > CHILD_CLOSE_MAX)
		max = CHILD_CLOSE_MAX;
	for (fd = 3; fd < max; fd++)
		(void)close(fd);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* wait_child: reap PID by DEADLINE (ob_mono_ms); 0 with *STATUS, or -1
 * when it is still running then. */
static int
wait_child(pid_t pid, int64_t deadline, int *status)
{
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;	/* ECHILD: someone else reaped it */
		if (ob_mono_ms() >= deadline)
			return -1;
		(void)poll(NULL, 0, 10);
	}
}

static int
load_cmd(const char *cmd, char **out, struct ob_err *err)
{
	char *b = NULL, drain[4096];
	size_t len = 0;
	int64_t deadline, left;
	struct pollfd pfd;
	int fds[2] = { -1, -1 }, status = 0, timedout = 0, rv = -1;
	int full = 0;
	pid_t pid;
	ssize_t r;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return ob_err_set(err, OB_TEMP, 0,
		    "auth_password_command: pipe: %s", strerror(errno));
	deadline = ob_mono_ms() + timeout_ms;
	if ((pid = fork()) == -1) {
		ob_err_set(err, OB_TEMP, 0, "auth_password_command: fork: %s",
		    strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(cmd, fds[1]);
	(void)setpgid(pid, pid);	/* also here: no race with kill() */
	close(fds[1]);
	b = xmalloc(SECRET_MAX);

	/* Read until EOF, keeping at most SECRET_MAX octets or up to the
	 * first newline; the rest is drained so the helper is not blocked
	 * writing. */
	for (;;) {
		left = deadline - ob_mono_ms();
		if (left <= 0) {
			timedout = 1;
			break;
		}
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			ob_err_set(err, OB_TEMP, 0,
			    "auth_password_command: poll: %s",
			    strerror(errno));
			goto kill;
		}
		if (pfd.revents == 0)
			continue;
		if (!full && len < SECRET_MAX)
			r = read(fds[0], b + len, SECRET_MAX - len);
		else
			r = read(fds[0], drain, sizeof drain);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == -1) {
			ob_err_set(err, OB_TEMP, 0,
			    "auth_password_command: read: %s",
			    strerror(errno));
			goto kill;
		}
		if (r == 0)
			break;		/* EOF */
		if (!full && len < SECRET_MAX) {
			if (memchr(b + len, '\n', (size_t)r) != NULL)
				full = 1;	/* the first line is in */
			len += (size_t)r;
		}
	}
	if (timedout || wait_child(pid, deadline, &status) < 0) {
		ob_err_set(err, OB_TEMP, 0, "auth_password_command timed out "
		    "after %d s (killed)", (timeout_ms + 999) / 1000);
		goto kill;
	}
	if (WIFSIGNALED(status)) {
		ob_err_set(err, OB_TEMP, 0, "auth_password_command killed by "
		    "signal %d", WTERMSIG(status));
		goto fail;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ob_err_set(err, OB_TEMP, 0, "auth_password_command exited "
		    "with status %d", WIFEXITED(status) ?
		    WEXITSTATUS(status) : -1);
		goto fail;
	}
	if (!full && len >= SECRET_MAX) {
		ob_err_set(err, OB_TEMP, 0, "auth_password_command: first "
		    "output line longer than %d octets", SECRET_MAX);
		goto fail;
	}
	if (first_line(b, len, out) < 0) {
		ob_err_set(err, OB_TEMP, 0, "auth_password_command exited 0 "
		    "but its first output line is empty or holds a NUL");
		goto fail;
	}
	rv = 0;
	goto fail;
kill:
	/* The group, and the child itself in case setpgid lost a race
	 * with exec. */
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
fail:
	explicit_bzero(b, SECRET_MAX);
	explicit_bzero(drain, sizeof drain);
	free(b);
	close(fds[0]);
	return rv;
}
