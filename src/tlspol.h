/* tlspol.h - the per-domain TLS policy file of direct (MX) delivery.
 *
 * One rule per line, "DOMAIN POLICY", '#' starts a comment:
 *
 *   example.org      verify     # that domain only
 *   .example.org     encrypt    # its subdomains, not itself
 *
 * POLICY is one of (as Postfix's smtp_tls_policy_maps levels):
 *   none     never STARTTLS
 *   may      STARTTLS when offered, certificate not checked; a failed
 *            handshake is retried once in clear (RFC 7435 opportunistic)
 *   encrypt  STARTTLS required, certificate not checked
 *   verify   STARTTLS required, the certificate must chain to tls_ca_file
 *            (or the system store) and name the MX host
 * An exact domain wins over a ".parent" rule, and a nearer parent over a
 * farther one.  Domains are compared without case.
 */
#ifndef OUTBOX_TLSPOL_H
#define OUTBOX_TLSPOL_H

#include <stdio.h>

enum tlspol_level {
	TLSPOL_NONE = 0,
	TLSPOL_MAY,
	TLSPOL_ENCRYPT,
	TLSPOL_VERIFY
};

struct tlspol;		/* opaque */

/* tlspol_load: read PATH.  Problems go to ERRS (NULL: not printed) as
 * "PATH:LINE: problem"; their number is returned, and *POL is NULL
 * unless it is 0.  An empty file is a valid, empty policy. */
int	tlspol_load(struct tlspol **pol, const char *path, FILE *errs);
void	tlspol_free(struct tlspol *pol);	/* NULL is fine */

/* tlspol_lookup: the level for DOMAIN, or DEF when no rule matches (or
 * POL is NULL). */
enum tlspol_level tlspol_lookup(const struct tlspol *pol, const char *domain,
	    enum tlspol_level def);

const char *tlspol_name(enum tlspol_level level);	/* "may" ... */

#endif
