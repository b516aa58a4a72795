/* wake.c - daemon lock, doorbell socket and background-delivery slots.
 *
 * Why a datagram socket: sendto() on a socket nobody bound fails at once
 * (ECONNREFUSED), so one system call both wakes a daemon and tells a
 * submitter whether there is one; and a full socket buffer (EAGAIN) still
 * means "a daemon will wake", since one datagram is as good as a hundred.
 *
 * Slots, and why no submission is left behind: a background delivery
 * holds slot I while it runs, and after letting go looks at the queue once
 * more.  A submitter commits, then tries every slot; if all are taken, its
 * commit happened before its failed try, which happened before the holder
 * let go, which happened before the holder's last look: that look sees
 * the message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "wake.h"

static int
wake_addr(const char *dir, const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	return ob_snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s", dir,
	    name) == -1 ? -1 : 0;
}

int
wake_send(const char *dir)
{
	struct sockaddr_un sa;
	int fd, rc;

	if (wake_addr(dir, "daemon.sock", &sa) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	rc = (int)sendto(fd, "w", 1, 0, (struct sockaddr *)&sa, sizeof sa);
	if (rc == 1 || errno == EAGAIN || errno == EWOULDBLOCK)
		rc = 1;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		rc = 0;
	else {
		log_debug("wake %s: %s", sa.sun_path, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

int
wake_lock(const char *dir, int *fd, pid_t *other, struct ob_err *err)
{
	char path[4096], buf[32];
	ssize_t n;
	long pid;

	*fd = -1;
	*other = 0;
	if (ob_snprintf(path, sizeof path, "%s/daemon.lock", dir) == -1)
		return ob_err_set(err, OB_PERM, 0, "queue_dir too long");
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660)) == -1)
		return ob_err_set(err, OB_TEMP, 0, "%s: %s", path,
		    strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		n = pread(*fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		pid = strtol(buf, NULL, 10);
		*other = pid > 0 && pid < 0x7fffffff ? (pid_t)pid : 0;
		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			return ob_err_set(err, OB_TEMP, 0, "another outbox "
			    "daemon (pid %ld) is already running on queue %s",
			    (long)*other, dir);
		return ob_err_set(err, OB_TEMP, 0, "%s: %s", path,
		    strerror(e));
	}
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(*fd, 0) == -1 || pwrite(*fd, buf, (size_t)n, 0) != n)
		log_warn("%s: cannot record our pid: %s", path,
		    strerror(errno));
	return 0;
}

int
wake_listen(const char *dir, int *fd, struct ob_err *err)
{
	struct sockaddr_un sa;

	if (wake_addr(dir, "daemon.sock", &sa) == -1)
		return ob_err_set(err, OB_PERM, 0, "queue_dir too long for a "
		    "socket path (%zu octets at most)",
		    sizeof sa.sun_path - 13);
	*fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd == -1)
		return ob_err_set(err, OB_TEMP, 0, "socket: %s",
		    strerror(errno));
	(void)unlink(sa.sun_path);	/* a dead daemon's; we hold the lock */
	if (bind(*fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		ob_err_set(err, OB_TEMP, 0, "bind %s: %s", sa.sun_path,
		    strerror(errno));
		close(*fd);
		*fd = -1;
		return -1;
	}
	/* submitters of the queue's group ring it (issue 8: setgid) */
	(void)chmod(sa.sun_path, 0660);
	return 0;
}

int
wake_drain(int fd)
{
	char b[64];
	int n = 0;

	while (recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

int
wake_slot(const char *dir, int n)
{
	char path[4096];
	int i, fd;

	for (i = 0; i < n; i++) {
		if (ob_snprintf(path, sizeof path, "%s/flush.%d.lock", dir,
		    i) == -1)
			return -1;
		if ((fd = open(path, O_RDWR | O_CREAT, 0660)) == -1)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	return -1;
}
