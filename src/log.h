/* log.h - one key=value line per event, to stderr or syslog.
 *
 * Lines start with the queue id when there is one:
 *   Q0123ABCD4567 delivery to=<a@b.example> relay=mx:25 status=sent ...
 * Never pass AUTH data or passwords to these functions.
 */
#ifndef OUTBOX_LOG_H
#define OUTBOX_LOG_H

#define LOG_TO_STDERR	0
#define LOG_TO_SYSLOG	1

/* log_init: IDENT is the program name; DEST LOG_TO_*; VERBOSE enables
 * log_debug.  May be called again (e.g. after the config is read). */
void	log_init(const char *ident, int dest, int verbose);
int	log_verbose(void);
/* log_quiet: when set, log_info lines to stderr are dropped (warnings and
 * errors still show): `outbox flush` under cron, or behind its progress
 * line.  Syslog gets every line whatever this says. */
void	log_quiet(int quiet);
/* log_status: TEXT as a status line on stderr (a terminal), rewritten in
 * place; other lines are printed above it.  NULL clears it. */
void	log_status(const char *text);

void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* _errno variants append ": strerror(errno)" and leave errno unchanged. */
void	log_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_err_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* die: log and exit with EX (a sysexits code).  Only cmd_* and main call it
 * (and xmalloc). */
_Noreturn void die(int ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* panic: a broken invariant; log and abort(). */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_quote: write V into DST as a log value: bare if it has no space,
 * quote or control character, else "..." with \" \\ and \xNN escapes.
 * Always NUL-terminates; truncates with "..." if needed.  Returns DST. */
char	*log_quote(char *dst, size_t n, const char *v);

#endif
