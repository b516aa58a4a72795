/* authdb.h - the listener's users file: who may AUTH, and their password
 * hashes (listen_auth_users).
 *
 *   # user:hash, one a line; '#' comments
 *   app1:$y$j9T$...          # yescrypt:      mkpasswd -m yescrypt
 *   app2:$6$rounds=5000$...  # SHA-512-crypt: openssl passwd -6
 *
 * Hashes are crypt(3) strings of the "$id$" kinds libcrypt knows; a line
 * with anything else (a plain-text password, old DES) is refused, as is a
 * file others may read or write.
 */
#ifndef OUTBOX_AUTHDB_H
#define OUTBOX_AUTHDB_H

#include <stdio.h>

struct authdb;

/* authdb_load: read PATH; problems go to ERRS as "PATH:LINE: problem";
 * their number is returned and *DB is NULL unless it is 0. */
int	authdb_load(struct authdb **db, const char *path, FILE *errs);
void	authdb_free(struct authdb *db);			/* NULL is fine */

/* authdb_check: 1 when USER's password is PASS, else 0.  An unknown user
 * costs about as much time as a known one. */
int	authdb_check(const struct authdb *db, const char *user,
	    const char *pass);
size_t	authdb_count(const struct authdb *db);

#endif
