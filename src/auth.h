/* auth.h - SMTP AUTH client mechanisms (RFC 4954): a pure state machine.
 *
 * No I/O and no logging of credentials: the caller (smtpc.c) sends what
 * auth_start/auth_step write and feeds back each 334 challenge.
 *
 *   struct auth *a = auth_new(mech, user, secret, host, port);
 *   auth_start(a, line, sizeof line, &err)  -> send "AUTH " line CRLF
 *   on 334 TEXT: auth_step(a, TEXT, line, sizeof line, &err)
 *                -> send line CRLF ("" is an empty line, "*" cancels);
 *                -1: send "*" and fail the session (see auth_step)
 *   on 235:      auth_done(a, &err) must be 0 before sending mail
 *   on 5xx/4xx:  the exchange failed; deferral is the caller's policy
 *   auth_free(a)   (wipes the copies of user and secret)
 *
 * Output buffers: LINE must hold AUTH_LINE_MAX octets for every call.
 * Lines written there contain credentials: the caller wipes them
 * (explicit_bzero) once sent.
 *
 * Every error is OB_TEMP: an AUTH problem defers mail, it never bounces
 * it (issue 4: a wrong password must not bounce mail).  Credential
 * problems the configuration must fix also set ex = EX_CONFIG.
 */
#ifndef OUTBOX_AUTH_H
#define OUTBOX_AUTH_H

#include <stddef.h>

#include "util.h"

/* RFC 4954 4: an AUTH command line, or a response line, is at most 12288
 * octets including "AUTH " and CRLF.  Every line auth_start/auth_step
 * write is shorter than AUTH_LINE_MAX (with its NUL); a credential that
 * would make it longer is refused with an error. */
#define AUTH_LINE_MAX	12288

enum auth_mech {
	AUTH_NONE,
	AUTH_PLAIN,
	AUTH_LOGIN,
	AUTH_SCRAM_SHA_256,
	AUTH_XOAUTH2,
	AUTH_OAUTHBEARER
};

/* auth_mech_parse: "PLAIN", "login", "SCRAM-SHA-256", "xoauth2",
 * "OAUTHBEARER" (any case) -> enum; -1 for anything else (including
 * "none": choosing no mechanism is the caller's business). */
int	auth_mech_parse(const char *s);

/* auth_mech_name: the canonical (upper-case) name; "NONE" for AUTH_NONE.
 * A static string. */
const char *auth_mech_name(enum auth_mech m);

/* auth_choose: the strongest mechanism in OFFERED (the text after the
 * EHLO keyword "AUTH ", space-separated, case-insensitive; NULL is an
 * empty list) that fits the credential we hold: a password (TOKEN 0):
 * SCRAM-SHA-256 > PLAIN > LOGIN; an OAuth access token (TOKEN 1):
 * OAUTHBEARER > XOAUTH2.  With FORCED != AUTH_NONE: FORCED if it is
 * offered (whatever TOKEN says), else AUTH_NONE.  AUTH_NONE when nothing
 * fits. */
enum auth_mech auth_choose(const char *offered, int token,
	    enum auth_mech forced);

struct auth;	/* opaque */

/* auth_new: a client for one exchange.  USER and SECRET (password or
 * access token) are copied and wiped on auth_free.  HOST and PORT are the
 * relay, used only by OAUTHBEARER's "host=" and "port=" (RFC 7628 3.1;
 * HOST NULL or PORT <= 0 leaves that key out).  Never fails; bad
 * credentials (e.g. non-ASCII for SCRAM) are reported by auth_start. */
struct auth *auth_new(enum auth_mech m, const char *user,
	    const char *secret, const char *host, int port);

/* auth_start: into OUT (OUTSZ octets, AUTH_LINE_MAX is always enough)
 * the text after "AUTH " for the first command, with the initial response
 * when the mechanism has one (RFC 4954 4):
 *   "PLAIN <b64>", "LOGIN", "SCRAM-SHA-256 <b64 client-first>",
 *   "XOAUTH2 <b64>", "OAUTHBEARER <b64>".
 * 0, or -1 with ERR (the credential cannot be sent with this mechanism,
 * e.g. non-ASCII for SCRAM, or the line would be too long: ex EX_CONFIG).
 * Call once. */
int	auth_start(struct auth *a, char *out, size_t outsz,
	    struct ob_err *err);

/* auth_step: TEXT is a 334 challenge as received after "334 " (base64;
 * a trailing CR or spaces are ignored).  Writes the next line to send
 * into OUT: base64, "" for an empty line, never "*" (on -1 the caller
 * sends "*" itself).  Returns
 *    0  sent a response, more challenges may follow;
 *    1  the exchange is complete from our side (LOGIN: both prompts
 *       answered; SCRAM: server-final verified, OUT is ""): expect 235;
 *   -1  with ERR: a malformed or unexpected challenge, or (SCRAM) "server
 *       signature does not verify" / a server "e=" error.  The caller
 *       must cancel with "*" and treat it as a failure of the server's
 *       authenticity (like a TLS failure): no mail on this session.
 * XOAUTH2/OAUTHBEARER: the one 334 after the initial response carries a
 * JSON error (RFC 7628 3.2.2): OUT is "" (XOAUTH2) or "AQ==" (base64 of
 * 0x01, RFC 7628 3.2.3) and the result is 0; the 5xx that follows is the
 * caller's. */
int	auth_step(struct auth *a, const char *text, char *out, size_t outsz,
	    struct ob_err *err);

/* auth_done: the server said 235.  0 when we agree the exchange is
 * complete; -1 with ERR when it is not (SCRAM without a verified
 * server-final: the server never proved it knows the password; LOGIN
 * before both prompts were answered; auth_start never called). */
int	auth_done(struct auth *a, struct ob_err *err);

/* auth_free: wipes (explicit_bzero) the credentials and SCRAM keys, then
 * frees.  NULL is fine. */
void	auth_free(struct auth *a);

/* For tests only: use NONCE (printable ASCII without ',', at most 64
 * octets) as the SCRAM client nonce instead of 24 random octets.  Call
 * before auth_start. */
void	auth_scram_set_nonce(struct auth *a, const char *nonce);

/* Strict base64 (RFC 4648 4, with padding, no whitespace, zero pad bits),
 * exported for the tests.
 * auth_b64_encode: into OUT (OUTSZ); the length written, or -1 when it
 * does not fit.  auth_b64_decode: into OUT (OUTSZ); the length, or -1 on
 * any malformed input or when it does not fit. */
int	auth_b64_encode(const void *in, size_t n, char *out, size_t outsz);
int	auth_b64_decode(const char *in, size_t n, void *out, size_t outsz);

#endif
