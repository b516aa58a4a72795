/* addr.h - mail addresses: RFC 5322 header address lists, RFC 5321 paths,
 * and the aliases file for local (domain-less) recipients.
 *
 * Addresses produced here are in RFC 5321 "Mailbox" form without angle
 * brackets: local-part "@" domain, where a local part that is not a
 * dot-atom is kept as a quoted-string ("john doe"@example.org).  A local
 * address (cron's "root") has no "@" at all.
 */
#ifndef OUTBOX_ADDR_H
#define OUTBOX_ADDR_H

#include <stddef.h>

#include "util.h"

/* A list of owned address strings. */
struct addr_list {
	char	**v;
	size_t	 n, cap;
};
void	addr_list_init(struct addr_list *l);
void	addr_list_add(struct addr_list *l, const char *a);	/* copies */
/* addr_list_add_unique: like add, but skips an address already present
 * (compared with the local part case-sensitive, the domain case-folded). */
void	addr_list_add_unique(struct addr_list *l, const char *a);
void	addr_list_free(struct addr_list *l);

/* addr_parse_header: parse the value of a To/Cc/Bcc field (RFC 5322 3.4
 * address-list, plus the obsolete forms of 4.4: empty list elements,
 * routes).  Display names, comments (nested), quoted strings, groups
 * ("undisclosed-recipients:;"), folding (CRLF followed by WSP inside VALUE)
 * are handled.  Each mailbox found is appended to OUT.  A mailbox without
 * a domain is accepted as a local address.  0, or -1 with ERR (OB_PERM,
 * EX_DATAERR) naming the problem; on -1 OUT may hold some addresses. */
int	addr_parse_header(const char *value, struct addr_list *out,
	    struct ob_err *err);

/* addr_parse_arg: one address as given on a command line or to -f:
 * "a@b", "<a@b>", "Name <a@b>", "a@b (comment)", or a local "root".
 * "<>" and "" give the empty string (the null sender) when ALLOW_NULL,
 * else an error.  *OUT is a fresh string. 0, or -1 with ERR. */
int	addr_parse_arg(const char *s, int allow_null, char **out,
	    struct ob_err *err);

/* addr_is_local: no "@" (so the aliases file decides). */
int	addr_is_local(const char *a);

/* addr_valid_smtp: A is usable in MAIL FROM / RCPT TO (RFC 5321 4.1.2:
 * Local-part "@" ( Domain / address-literal ), each part within the
 * 4.5.3.1 limits: local part 64, domain 255, path 256). */
int	addr_valid_smtp(const char *a);

/* The aliases file: "name: address, address" lines, '#' comments,
 * continuation lines starting with whitespace, and "default: address" as
 * the catch-all.  Names compare case-insensitively.  A target may itself
 * be local and is expanded again (bounded depth, loops are an error). */
struct aliases;
/* aliases_load: NULL PATH gives an empty table.  0, or -1 with ERR
 * ("FILE:LINE: problem", EX_CONFIG). */
int	aliases_load(struct aliases **ap, const char *path, struct ob_err *err);
/* aliases_resolve: expand local NAME into OUT (appending, deduplicated).
 * -1 with ERR (OB_PERM, EX_NOUSER) when there is no mapping and no
 * default, or on a loop. */
int	aliases_resolve(const struct aliases *a, const char *name,
	    struct addr_list *out, struct ob_err *err);
void	aliases_free(struct aliases *a);			/* NULL is fine */

#endif
