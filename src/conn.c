/* conn.c - sockets, deadlines and a buffered line reader.
 *
 * Every wait is a poll() bounded by the smaller of the call's timeout and
 * the connection's overall deadline, both on the monotonic clock.  Reads
 * go through a 16 KiB buffer; writes are whole (the caller batches: the
 * SMTP engine hands over pipelined commands, or 64 KiB of body, at once).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "util.h"

#define CONN_RBUF	16384

struct conn {
	int		 fd;
	int64_t		 deadline;
	struct conn_io	 io;
	char		 peer[64];
	char		 rbuf[CONN_RBUF];
	size_t		 rpos, rlen;
};

static ssize_t
raw_read(void *ctx, void *p, size_t n)
{
	return read(*(int *)ctx, p, n);
}

static ssize_t
raw_write(void *ctx, const void *p, size_t n)
{
	return send(*(int *)ctx, p, n, MSG_NOSIGNAL);
}

static size_t
raw_pending(void *ctx)
{
	(void)ctx;
	return 0;
}

static int
raw_want(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
fmt_peer(const struct sockaddr *sa, char *dst, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		port = ntohs(s4->sin_port);
		snprintf(dst, n, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		port = ntohs(s6->sin6_port);
		snprintf(dst, n, "[%s]:%d", host, port);
	} else
		snprintf(dst, n, "?");
}

/* wait_ms: the time left before the call's END and the deadline. */
static int
wait_ms(const struct conn *c, int64_t end)
{
	int64_t now = ob_mono_ms(), lim = end;

	if (c->deadline && c->deadline < lim)
		lim = c->deadline;
	if (lim <= now)
		return 0;
	return lim - now > 86400000 ? 86400000 : (int)(lim - now);
}

/* conn_poll: wait for EVENTS; 1 ready, 0 timeout, -1 error. */
static int
conn_poll(struct conn *c, short events, int64_t end)
{
	struct pollfd pfd;
	int r, ms;

	for (;;) {
		ms = wait_ms(c, end);
		if (ms == 0)
			return 0;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;	/* re-check the clock */
		return 1;
	}
}

static int
connect_one(struct conn *c, const struct addrinfo *ai, int64_t timeout_ms,
    struct ob_err *err)
{
	int64_t end = ob_mono_ms() + timeout_ms;
	int fd, one = 1, soerr = 0, r;
	socklen_t len = sizeof soerr;

	fmt_peer(ai->ai_addr, c->peer, sizeof c->peer);
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
	    | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return ob_err_set(err, OB_TEMP, 0, "socket: %s",
		    strerror(errno));
	c->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto ok;
	if (errno != EINPROGRESS) {
		soerr = errno;
		goto fail;
	}
	r = conn_poll(c, POLLOUT, end);
	if (r == 0) {
		ob_err_set(err, OB_TEMP, 0, "connect to %s: timed out after "
		    "%lld s", c->peer, (long long)(timeout_ms / 1000));
		goto close;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0)
		goto fail;
ok:
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
fail:
	ob_err_set(err, OB_TEMP, 0, "connect to %s: %s", c->peer,
	    strerror(soerr));
close:
	close(fd);
	c->fd = -1;
	return -1;
}

int
conn_connect(struct conn **cp, const char *host, int port,
    int64_t timeout_ms, struct ob_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct conn *c;
	char ps[16];
	int r;

	*cp = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(ps, sizeof ps, "%d", port);
	r = getaddrinfo(host, ps, &hints, &res);
	if (r != 0)
		return ob_err_set(err, OB_TEMP, 0, "cannot resolve %s: %s",
		    host, r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	c = xcalloc(1, sizeof *c);
	c->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (connect_one(c, ai, timeout_ms, err) == 0)
			break;
	freeaddrinfo(res);
	if (c->fd == -1) {
		free(c);
		return -1;
	}
	c->io.read = raw_read;
	c->io.write = raw_write;
	c->io.pending = raw_pending;
	c->io.want = raw_want;
	c->io.ctx = &c->fd;
	*cp = c;
	return 0;
}

void
conn_set_deadline(struct conn *c, int64_t deadline)
{
	c->deadline = deadline;
}

void
conn_set_io(struct conn *c, const struct conn_io *io)
{
	c->io = *io;
}

size_t
conn_buffered(const struct conn *c)
{
	return c->rlen - c->rpos;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

/* io_wait: after EAGAIN, wait for what the transport needs. */
static int
io_wait(struct conn *c, short dflt, int64_t end, const char *what,
    int64_t timeout_ms, struct ob_err *err)
{
	int want = c->io.want(c->io.ctx);
	int r = conn_poll(c, want ? (short)want : dflt, end);

	if (r == 1)
		return 0;
	if (r == 0)
		return ob_err_set(err, OB_TEMP, 0, "timeout %s %s after %lld s",
		    what, c->peer, (long long)(timeout_ms / 1000));
	return ob_err_set(err, OB_TEMP, 0, "poll: %s", strerror(errno));
}

int
conn_write(struct conn *c, const void *p, size_t n, int64_t timeout_ms,
    struct ob_err *err)
{
	const char *s = p;
	int64_t end = ob_mono_ms() + timeout_ms;
	ssize_t w;

	while (n > 0) {
		w = c->io.write(c->io.ctx, s, n);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (io_wait(c, POLLOUT, end, "sending to", timeout_ms,
			    err) == -1)
				return -1;
			continue;
		}
		return ob_err_set(err, OB_TEMP, 0, "sending to %s: %s",
		    c->peer, w == 0 ? "connection closed" : strerror(errno));
	}
	return 0;
}

int
conn_read_line(struct conn *c, struct buf *line, size_t max,
    int64_t timeout_ms, struct ob_err *err)
{
	int64_t end = ob_mono_ms() + timeout_ms;
	int got = 0;
	ssize_t r;

	buf_clear(line);
	for (;;) {
		if (c->rpos < c->rlen) {
			char *s = c->rbuf + c->rpos;
			size_t avail = c->rlen - c->rpos;
			char *lf = memchr(s, '\n', avail);
			size_t take = lf ? (size_t)(lf - s) : avail;
			size_t room = line->len < max ? max - line->len : 0;

			got = 1;
			if (buf_add(line, s, take < room ? take : room) == -1)
				panic("conn_read_line: buffer limit below max");
			c->rpos += take + (lf ? 1 : 0);
			if (lf) {
				if (line->len && line->p[line->len - 1] == '\r')
					line->p[--line->len] = '\0';
				return 1;
			}
			continue;
		}
		c->rpos = c->rlen = 0;
		r = c->io.read(c->io.ctx, c->rbuf, sizeof c->rbuf);
		if (r > 0) {
			c->rlen = (size_t)r;
			continue;
		}
		if (r == 0) {
			if (!got)
				return 0;
			return ob_err_set(err, OB_TEMP, 0, "connection to %s "
			    "closed in the middle of a line", c->peer);
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (c->io.pending(c->io.ctx))
				continue;
			if (io_wait(c, POLLIN, end, "waiting for", timeout_ms,
			    err) == -1)
				return -1;
			continue;
		}
		return ob_err_set(err, OB_TEMP, 0, "reading from %s: %s",
		    c->peer, strerror(errno));
	}
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c);
}
