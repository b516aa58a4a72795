/* log.c - key=value event lines to stderr or syslog; die and panic.
 *
 * Stderr lines carry the program name as prefix, like syslog's ident, so the
 * same text appears in both.  No buffering beyond one line: each call is a
 * single write(2) so lines from concurrent processes do not interleave.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "outbox";
static int log_dest = LOG_TO_STDERR;
static int log_verb;
static int log_quiet_info;
static char log_status_line[256];	/* shown on stderr; "" = none */

void
log_init(const char *ident, int dest, int verbose)
{
	if (log_dest == LOG_TO_SYSLOG && dest != LOG_TO_SYSLOG)
		closelog();
	log_ident = ident;
	log_dest = dest;
	log_verb = verbose;
	if (dest == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_verb;
}

void
log_quiet(int quiet)
{
	log_quiet_info = quiet;
}

/* log_status_write: "\r", the status line, and erase to the end of the
 * line (ECMA-48 EL); or only the erasing when there is none. */
static void
log_status_write(void)
{
	char out[sizeof log_status_line + 8];
	int n;

	n = snprintf(out, sizeof out, "\r%s\033[K", log_status_line);
	if (n > 0)
		(void)!write(STDERR_FILENO, out, (size_t)n < sizeof out ?
		    (size_t)n : sizeof out - 1);
}

void
log_status(const char *text)
{
	int had = *log_status_line != '\0';

	(void)snprintf(log_status_line, sizeof log_status_line, "%s",
	    text != NULL ? text : "");
	if (text != NULL || had)
		log_status_write();
}

static void	log_emit(int prio, const char *fmt, va_list ap, int errnum)
		    __attribute__((format(printf, 2, 0)));

static void
log_emit(int prio, const char *fmt, va_list ap, int errnum)
{
	char line[2048];
	size_t n = 0;
	int r;

	if (log_dest == LOG_TO_STDERR) {
		r = snprintf(line, sizeof line, "%s: ", log_ident);
		n = r > 0 ? (size_t)r : 0;
	}
	r = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (r > 0)
		n += (size_t)r;
	if (n >= sizeof line)
		n = sizeof line - 1;
	if (errnum) {
		r = snprintf(line + n, sizeof line - n, ": %s", strerror(errnum));
		if (r > 0)
			n += (size_t)r;
		if (n >= sizeof line)
			n = sizeof line - 1;
	}
	if (log_dest == LOG_TO_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	if (prio == LOG_INFO && log_quiet_info)
		return;
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (*log_status_line != '\0')
		(void)!write(STDERR_FILENO, "\r\033[K", 4);
	(void)!write(STDERR_FILENO, line, n);
	if (*log_status_line != '\0')
		log_status_write();
}

#define LOG_FN(name, prio, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	log_emit(prio, fmt, ap, (with_errno) ? saved : 0);	\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_warn, LOG_WARNING, 0)
LOG_FN(log_err, LOG_ERR, 0)
LOG_FN(log_warn_errno, LOG_WARNING, 1)
LOG_FN(log_err_errno, LOG_ERR, 1)

void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!log_verb)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
	errno = saved;
}

void
die(int ex, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 0);
	va_end(ap);
	exit(ex);
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	abort();
}

char *
log_quote(char *dst, size_t n, const char *v)
{
	size_t o = 0;
	int need = (*v == '\0');
	const char *s;

	for (s = v; *s && !need; s++)
		if (*s == ' ' || *s == '"' || *s == '\\' || *s == '='
		    || (unsigned char)*s < 0x20 || *s == 0x7f)
			need = 1;
	if (!need) {
		snprintf(dst, n, "%s", v);
		return dst;
	}
	if (n < 8) {
		if (n)
			dst[0] = '\0';
		return dst;
	}
	dst[o++] = '"';
	for (s = v; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[5];
		size_t k;

		if (c == '"' || c == '\\')
			k = (size_t)snprintf(esc, sizeof esc, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
		else {
			esc[0] = (char)c;
			k = 1;
		}
		if (o + k + 5 > n) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(dst + o, esc, k);
		o += k;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}
