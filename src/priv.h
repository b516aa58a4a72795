/* priv.h - the setgid submission mode.
 *
 * Installed setgid to the queue's group (configure --with-submit-group),
 * outbox lets any local user submit and list their own mail without
 * giving them the group: the group is used only to open the queue (LMDB
 * keeps its descriptors; nothing else needs the group afterwards) and to
 * ring the daemon's doorbell.  See outbox(8), SETGID SUBMISSION.
 *
 * The mode applies when the real user is not root and the effective
 * group (the file's) is one the user is not a member of.  A member, or
 * root, has the group's rights anyway: the set-group-ID is dropped for
 * good and outbox runs as an ordinary program.
 */
#ifndef OUTBOX_PRIV_H
#define OUTBOX_PRIV_H

#include "util.h"

/* priv_init: call first in main(), before anything reads the environment
 * or opens a file.  Makes sure descriptors 0, 1 and 2 are open (a file
 * the program opens must never become someone's stderr).  In setgid mode:
 * switches the effective group back to the real one (the saved set-group-ID
 * keeps it for priv_raise), replaces the environment with PATH (and a
 * plain TZ, if any), ignores SIGXFSZ (a small file-size limit fails the
 * write instead of killing the process).  Returns 1 in setgid mode, else
 * 0.  Returns -1 only when the group could not be dropped (the caller must
 * exit). */
int	priv_init(void);

/* priv_mode: 1 in setgid mode (after priv_init). */
int	priv_mode(void);

/* priv_env_ignored: 1 if OUTBOX_* variables were set when priv_init
 * cleared the environment (for a warning). */
int	priv_env_ignored(void);

/* priv_raise / priv_lower: the queue's group as effective group, and back
 * to the real one.  No-ops outside setgid mode.  priv_raise: 0, or -1
 * with ERR (OB_TEMP, EX_NOPERM). */
int	priv_raise(struct ob_err *err);
void	priv_lower(void);

/* priv_drop: lose the queue's group for good (real, effective and saved);
 * after this, priv_raise fails.  No-op outside setgid mode. */
void	priv_drop(void);

/* priv_group: the queue group's name (or number) in setgid mode, for
 * messages; "" outside it. */
const char *priv_group(void);

#endif
