/* secret.h - where the AUTH secret comes from: auth_password_file or
 * auth_password_command.  The secret is never logged, never put in an
 * error text, and wiped when freed.
 */
#ifndef OUTBOX_SECRET_H
#define OUTBOX_SECRET_H

#include "util.h"

/* The largest file, and the most command output, secret_load reads. */
#define SECRET_MAX	(64 * 1024)

/* secret_load: exactly one of PATH and CMD is non-NULL.
 * PATH: the first line of the file, without "\n" or "\r\n".  The file
 *   must be a regular file (symlinks are followed), not group- or
 *   world-readable or -writable (mode & 077 == 0; otherwise OB_PERM
 *   "PATH is readable by others (chmod 600 PATH)"), at most SECRET_MAX
 *   octets, with a non-empty first line holding no NUL.  A file that
 *   cannot be opened or read: OB_TEMP.  Bad type, size or content:
 *   OB_PERM.  ex is EX_CONFIG for all of these.
 * CMD: run with /bin/sh -c, stdin /dev/null, stderr inherited, in its
 *   own process group; the first line of its standard output.  Exit
 *   status != 0, death by a signal, empty first line, a NUL in it, or more
 *   than SECRET_MAX octets before the first newline: OB_TEMP quoting the
 *   status, never the output.  Still running (or its stdout still open,
 *   e.g. by a background child) after 30 s: the whole process group is
 *   killed, OB_TEMP.  The caller must not reap children with a SIGCHLD
 *   handler calling waitpid(-1) meanwhile, nor ignore SIGCHLD.
 * Fills a fresh NUL-terminated *OUT on 0 (free it with secret_free);
 * *OUT is NULL on -1. */
int	secret_load(const char *path, const char *cmd, char **out,
	    struct ob_err *err);

/* secret_free: explicit_bzero then free; NULL is fine. */
void	secret_free(char *s);

/* For tests only: the command timeout in milliseconds (0: back to the
 * default 30 s). */
void	secret_load_timeout(int ms);

#endif
