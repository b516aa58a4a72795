/* auth.c - SMTP AUTH client mechanisms: PLAIN, LOGIN, SCRAM-SHA-256,
 * XOAUTH2, OAUTHBEARER.  Pure: no sockets, no clock, no logging.
 *
 * Invariants: every line written is shorter than AUTH_LINE_MAX - 6 so
 * that "AUTH " + line + CRLF fits RFC 4954's 12288 octets; every
 * challenge is decoded into a bounded buffer and parsed strictly; the
 * copies of user and secret, the SCRAM keys and every scratch buffer that
 * held them are wiped with explicit_bzero before they are freed or go out
 * of scope.
 *
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding (gs2 header
 * "n,,").  SASLprep (RFC 4013) is not implemented: printable ASCII is
 * its own SASLprep output, so user names and passwords of printable
 * ASCII go as they are and anything else is refused, rather than sent
 * in a form the server may normalise differently.
 *
 * Left to others: choosing whether to authenticate at all (TLS up, or
 * auth_allow_plaintext), the reply codes (smtpc.c), what a failure means
 * for the message (deliver.c), where the secret comes from (secret.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "auth.h"
#include "util.h"

/* The longest text auth_start/auth_step write: "AUTH " + text + CRLF is
 * at most AUTH_LINE_MAX octets (RFC 4954 4). */
#define AUTH_TEXT_MAX	(AUTH_LINE_MAX - 7)
#define RAW_MAX		AUTH_LINE_MAX	/* decoded challenge, response */
#define SCRAM_NONCE_OCTETS 24
#define SCRAM_NONCE_MAX	64
#define SCRAM_ITER_MIN	4096		/* RFC 7677 4: the minimum */
#define SCRAM_ITER_MAX	1000000		/* more: a server making us spin */
#define SHA256_LEN	32

enum auth_state {
	ST_NEW,		/* auth_start not called */
	ST_STARTED,	/* initial command written */
	ST_SCRAM_FINAL,	/* SCRAM: client-final sent, server-final due */
	ST_COMPLETE,	/* our side is done (LOGIN both, SCRAM verified) */
	ST_OAUTH_ERR,	/* XOAUTH2/OAUTHBEARER: error challenge answered */
	ST_FAILED	/* a step failed: nothing more is accepted */
};

struct auth {
	enum auth_mech	 mech;
	enum auth_state	 st;
	char		*user;
	char		*secret;
	char		*host;
	int		 port;
	int		 login_user_sent;
	int		 login_pass_sent;
	char		 nonce[SCRAM_NONCE_MAX + 1]; /* "" until chosen */
	char		*first_bare;	/* client-first-message-bare */
	unsigned char	 server_sig[SHA256_LEN];
};

/* A bounded scratch buffer for raw (not yet base64) messages. */
struct raw {
	unsigned char	d[RAW_MAX];
	size_t		len;
	int		over;
};


static const struct {
	enum auth_mech	 m;
	const char	*name;
} mech_names[] = {
	{ AUTH_PLAIN, "PLAIN" },
	{ AUTH_LOGIN, "LOGIN" },
	{ AUTH_SCRAM_SHA_256, "SCRAM-SHA-256" },
	{ AUTH_XOAUTH2, "XOAUTH2" },
	{ AUTH_OAUTHBEARER, "OAUTHBEARER" },
};

static void	raw_add(struct raw *r, const void *d, size_t n);
static void	raw_adds(struct raw *r, const char *s);
static void	raw_add_saslname(struct raw *r, const char *s);
static int	put_line(char *out, size_t outsz, const char *prefix,
		    const struct raw *r, struct ob_err *err);
static int	printable_ascii(const char *s);
static int	has_ctl(const char *s);
static int	decode_challenge(const char *text, struct raw *r,
		    struct ob_err *err);
static void	safe_copy(char *dst, size_t n, const unsigned char *s,
		    size_t len);
static int	start_plain(struct auth *a, char *out, size_t outsz,
		    struct ob_err *err);
static int	start_scram(struct auth *a, char *out, size_t outsz,
		    struct ob_err *err);
static int	start_oauth(struct auth *a, char *out, size_t outsz,
		    struct ob_err *err);
static int	step_login(struct auth *a, const struct raw *ch, char *out,
		    size_t outsz, struct ob_err *err);
static int	step_scram_first(struct auth *a, const struct raw *ch,
		    char *out, size_t outsz, struct ob_err *err);
static int	step_scram_final(struct auth *a, const struct raw *ch,
		    char *out, size_t outsz, struct ob_err *err);
static int	scram_keys(struct auth *a, const unsigned char *salt,
		    size_t saltlen, unsigned iter, const struct raw *authmsg,
		    unsigned char proof[SHA256_LEN], struct ob_err *err);
static int	ct_equal(const unsigned char *x, const unsigned char *y,
		    size_t n);

int
auth_mech_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof mech_names / sizeof mech_names[0]; i++)
		if (ob_strcasecmp(s, mech_names[i].name) == 0)
			return (int)mech_names[i].m;
	return -1;
}

const char *
auth_mech_name(enum auth_mech m)
{
	size_t i;

	for (i = 0; i < sizeof mech_names / sizeof mech_names[0]; i++)
		if (mech_names[i].m == m)
			return mech_names[i].name;
	return "NONE";
}

enum auth_mech
auth_choose(const char *offered, int token, enum auth_mech forced)
{
	static const enum auth_mech by_password[] = {
		AUTH_SCRAM_SHA_256, AUTH_PLAIN, AUTH_LOGIN
	};
	static const enum auth_mech by_token[] = {
		AUTH_OAUTHBEARER, AUTH_XOAUTH2
	};
	const enum auth_mech *pref;
	unsigned seen = 0;
	size_t i, n, len;
	const char *p;
	char word[32];

	for (p = offered; p != NULL && *p != '\0'; p += len) {
		while (*p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, " \t");
		if (len == 0)
			break;
		/* A word longer than any name we know is no name we know. */
		if (len >= sizeof word)
			continue;
		memcpy(word, p, len);
		word[len] = '\0';
		if (auth_mech_parse(word) >= 0)
			seen |= 1u << auth_mech_parse(word);
	}
	if (forced != AUTH_NONE)
		return forced < 0 || forced > AUTH_OAUTHBEARER ? AUTH_NONE :
		    seen & (1u << forced) ? forced : AUTH_NONE;
	if (token) {
		pref = by_token;
		n = sizeof by_token / sizeof by_token[0];
	} else {
		pref = by_password;
		n = sizeof by_password / sizeof by_password[0];
	}
	for (i = 0; i < n; i++)
		if (seen & (1u << pref[i]))
			return pref[i];
	return AUTH_NONE;
}

struct auth *
auth_new(enum auth_mech m, const char *user, const char *secret,
    const char *host, int port)
{
	struct auth *a = xcalloc(1, sizeof *a);

	a->mech = m;
	a->st = ST_NEW;
	a->user = xstrdup(user != NULL ? user : "");
	a->secret = xstrdup(secret != NULL ? secret : "");
	a->host = host != NULL ? xstrdup(host) : NULL;
	a->port = port;
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	explicit_bzero(a->user, strlen(a->user));
	explicit_bzero(a->secret, strlen(a->secret));
	free(a->user);
	free(a->secret);
	free(a->host);
	if (a->first_bare != NULL) {
		explicit_bzero(a->first_bare, strlen(a->first_bare));
		free(a->first_bare);
	}
	explicit_bzero(a, sizeof *a);
	free(a);
}

void
auth_scram_set_nonce(struct auth *a, const char *nonce)
{
	if (ob_snprintf(a->nonce, sizeof a->nonce, "%s", nonce) < 0)
		a->nonce[0] = '\0';
}

int
auth_start(struct auth *a, char *out, size_t outsz, struct ob_err *err)
{
	int rv;

	if (outsz > 0)
		out[0] = '\0';
	if (a->st != ST_NEW)
		return ob_err_set(err, OB_TEMP, 0, "AUTH already started");
	switch (a->mech) {
	case AUTH_PLAIN:
		rv = start_plain(a, out, outsz, err);
		break;
	case AUTH_LOGIN:
		rv = ob_snprintf(out, outsz, "LOGIN") < 0 ?
		    ob_err_set(err, OB_TEMP, 0, "AUTH output buffer too small")
		    : 0;
		break;
	case AUTH_SCRAM_SHA_256:
		rv = start_scram(a, out, outsz, err);
		break;
	case AUTH_XOAUTH2:
	case AUTH_OAUTHBEARER:
		rv = start_oauth(a, out, outsz, err);
		break;
	case AUTH_NONE:
	default:
		rv = ob_err_set(err, OB_TEMP, EX_CONFIG,
		    "no AUTH mechanism selected");
		break;
	}
	a->st = rv == 0 ? ST_STARTED : ST_FAILED;
	return rv;
}

int
auth_step(struct auth *a, const char *text, char *out, size_t outsz,
    struct ob_err *err)
{
	struct raw *ch = xmalloc(sizeof *ch);
	int rv = -1;

	if (outsz > 0)
		out[0] = '\0';
	ch->len = 0;
	ch->over = 0;
	if (a->st == ST_NEW || a->st == ST_FAILED) {
		ob_err_set(err, OB_TEMP, 0, "unexpected AUTH challenge");
		goto fail;
	}
	if (a->mech == AUTH_XOAUTH2 || a->mech == AUTH_OAUTHBEARER) {
		/* RFC 7628 3.2.2: after a failed initial response the server
		 * sends its JSON error as a challenge; the client must answer
		 * (3.2.3: a single 0x01; Google's XOAUTH2: an empty line) to
		 * get the final failure reply.  The content does not change
		 * our answer, so a malformed one is answered the same. */
		if (a->st != ST_STARTED) {
			ob_err_set(err, OB_TEMP, 0,
			    "unexpected second %s challenge",
			    auth_mech_name(a->mech));
			goto fail;
		}
		if (ob_snprintf(out, outsz, "%s",
		    a->mech == AUTH_XOAUTH2 ? "" : "AQ==") < 0) {
			ob_err_set(err, OB_TEMP, 0,
			    "AUTH output buffer too small");
			goto fail;
		}
		a->st = ST_OAUTH_ERR;
		rv = 0;
		goto out;
	}
	if (decode_challenge(text, ch, err) < 0)
		goto fail;
	switch (a->mech) {
	case AUTH_LOGIN:
		rv = step_login(a, ch, out, outsz, err);
		break;
	case AUTH_SCRAM_SHA_256:
		if (a->st == ST_STARTED)
			rv = step_scram_first(a, ch, out, outsz, err);
		else if (a->st == ST_SCRAM_FINAL)
			rv = step_scram_final(a, ch, out, outsz, err);
		else
			rv = ob_err_set(err, OB_TEMP, 0,
			    "unexpected SCRAM-SHA-256 challenge");
		break;
	case AUTH_PLAIN:
		/* We always send the initial response (RFC 4954 4). */
		rv = ob_err_set(err, OB_TEMP, 0,
		    "unexpected PLAIN challenge");
		break;
	default:
		rv = ob_err_set(err, OB_TEMP, 0, "unexpected AUTH challenge");
		break;
	}
	if (rv < 0)
		goto fail;
	goto out;
fail:
	rv = -1;
	a->st = ST_FAILED;
	if (outsz > 0)
		explicit_bzero(out, outsz);
out:
	explicit_bzero(ch, sizeof *ch);
	free(ch);
	return rv;
}

int
auth_done(struct auth *a, struct ob_err *err)
{
	switch (a->st) {
	case ST_STARTED:
		if (a->mech == AUTH_SCRAM_SHA_256)
			return ob_err_set(err, OB_TEMP, 0, "SCRAM-SHA-256: "
			    "server accepted before proving it knows the "
			    "password");
		if (a->mech == AUTH_LOGIN)
			return ob_err_set(err, OB_TEMP, 0,
			    "LOGIN: server accepted before both prompts");
		return 0;
	case ST_SCRAM_FINAL:
		/* RFC 5802 5: the client must verify server-final; a 235
		 * without it means the server never proved itself. */
		return ob_err_set(err, OB_TEMP, 0, "SCRAM-SHA-256: server "
		    "accepted without a server signature");
	case ST_COMPLETE:
	case ST_OAUTH_ERR:
		return 0;
	default:
		return ob_err_set(err, OB_TEMP, 0,
		    "AUTH complete reply out of sequence");
	}
}

/* ---- PLAIN, OAuth ------------------------------------------------ */

/* RFC 4616 2: [authzid] NUL authcid NUL passwd; authzid left empty. */
static int
start_plain(struct auth *a, char *out, size_t outsz, struct ob_err *err)
{
	struct raw *r = xcalloc(1, sizeof *r);
	int rv;

	raw_add(r, "", 1);
	raw_adds(r, a->user);
	raw_add(r, "", 1);
	raw_adds(r, a->secret);
	rv = put_line(out, outsz, "PLAIN ", r, err);
	explicit_bzero(r, sizeof *r);
	free(r);
	return rv;
}

/* XOAUTH2 (Google, Microsoft): "user=" U ^A "auth=Bearer " T ^A ^A.
 * OAUTHBEARER (RFC 7628 3.1): gs2 header "n,a=" saslname "," then
 * ^A-separated key=value pairs, ^A ^A at the end. */
static int
start_oauth(struct auth *a, char *out, size_t outsz, struct ob_err *err)
{
	struct raw *r;
	char port[16];
	int rv;

	/* ^A separates the fields: a user or token holding a control
	 * character would let it inject fields. */
	if (has_ctl(a->user) || has_ctl(a->secret) ||
	    (a->host != NULL && has_ctl(a->host)))
		return ob_err_set(err, OB_TEMP, EX_CONFIG, "%s: user name, "
		    "token or host contains a control character",
		    auth_mech_name(a->mech));
	/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
	 * "~" / "+" / "/" ) *"="; anything printable is let through, but
	 * not an empty or non-ASCII one. */
	if (a->secret[0] == '\0' || !printable_ascii(a->secret))
		return ob_err_set(err, OB_TEMP, EX_CONFIG,
		    "%s: the access token is empty or not printable ASCII",
		    auth_mech_name(a->mech));
	r = xcalloc(1, sizeof *r);
	if (a->mech == AUTH_XOAUTH2) {
		raw_adds(r, "user=");
		raw_adds(r, a->user);
		raw_adds(r, "\001auth=Bearer ");
		raw_adds(r, a->secret);
		raw_adds(r, "\001\001");
		rv = put_line(out, outsz, "XOAUTH2 ", r, err);
	} else {
		raw_adds(r, "n,");
		if (a->user[0] != '\0') {
			raw_adds(r, "a=");
			raw_add_saslname(r, a->user);
		}
		raw_adds(r, ",\001");
		if (a->host != NULL && a->host[0] != '\0') {
			raw_adds(r, "host=");
			raw_adds(r, a->host);
			raw_adds(r, "\001");
		}
		if (a->port > 0 && a->port <= 65535) {
			(void)ob_snprintf(port, sizeof port, "port=%d\001",
			    a->port);
			raw_adds(r, port);
		}
		raw_adds(r, "auth=Bearer ");
		raw_adds(r, a->secret);
		raw_adds(r, "\001\001");
		rv = put_line(out, outsz, "OAUTHBEARER ", r, err);
	}
	explicit_bzero(r, sizeof *r);
	free(r);
	return rv;
}

/* ---- LOGIN --------------------------------------------------------- */

/* LOGIN (draft-murchison-sasl-login): the server prompts "Username:"
 * and "Password:" (base64).  The prompt text, not its position, says
 * which is asked; each is answered once. */
static int
step_login(struct auth *a, const struct raw *ch, char *out, size_t outsz,
    struct ob_err *err)
{
	char prompt[64];
	const char *answer;
	struct raw *r;
	int is_user, rv;

	safe_copy(prompt, sizeof prompt, ch->d, ch->len);
	if (ch->len >= 8 && ob_strncasecmp((const char *)ch->d, "username",
	    8) == 0)
		is_user = 1;
	else if (ch->len >= 8 && ob_strncasecmp((const char *)ch->d,
	    "password", 8) == 0)
		is_user = 0;
	else
		return ob_err_set(err, OB_TEMP, 0,
		    "LOGIN: unknown prompt \"%s\"", prompt);
	if (is_user ? a->login_user_sent : a->login_pass_sent)
		return ob_err_set(err, OB_TEMP, 0,
		    "LOGIN: prompt \"%s\" repeated", prompt);
	answer = is_user ? a->user : a->secret;
	r = xcalloc(1, sizeof *r);
	raw_adds(r, answer);
	rv = put_line(out, outsz, "", r, err);
	explicit_bzero(r, sizeof *r);
	free(r);
	if (rv < 0)
		return -1;
	if (is_user)
		a->login_user_sent = 1;
	else
		a->login_pass_sent = 1;
	if (a->login_user_sent && a->login_pass_sent) {
		a->st = ST_COMPLETE;
		return 1;
	}
	return 0;
}

/* ---- SCRAM-SHA-256 -------------------------------------------------- */

/* client-first-message = gs2-header client-first-message-bare
 * gs2-header = "n,," (no channel binding, no authzid: RFC 5802 7)
 * client-first-message-bare = "n=" saslname ",r=" c-nonce */
static int
start_scram(struct auth *a, char *out, size_t outsz, struct ob_err *err)
{
	unsigned char rnd[SCRAM_NONCE_OCTETS];
	struct raw *r;
	int rv;

	if (!printable_ascii(a->user) || !printable_ascii(a->secret) ||
	    a->user[0] == '\0' || a->secret[0] == '\0')
		return ob_err_set(err, OB_TEMP, EX_CONFIG, "SCRAM-SHA-256: "
		    "user name and password must be non-empty printable "
		    "ASCII (SASLprep is not implemented)");
	if (a->nonce[0] == '\0') {
		if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) < 0)
			return ob_err_set(err, OB_TEMP, 0,
			    "SCRAM-SHA-256: no random nonce");
		if (auth_b64_encode(rnd, sizeof rnd, a->nonce,
		    sizeof a->nonce) < 0)
			return ob_err_set(err, OB_TEMP, 0,
			    "SCRAM-SHA-256: nonce too long");
	}
	r = xcalloc(1, sizeof *r);
	raw_adds(r, "n=");
	raw_add_saslname(r, a->user);
	raw_adds(r, ",r=");
	raw_adds(r, a->nonce);
	if (!r->over) {
		free(a->first_bare);
		a->first_bare = xstrndup((const char *)r->d, r->len);
	}
	/* Prefix the gs2 header by encoding "n,," + bare in one piece. */
	memmove(r->d + 3, r->d, r->len <= RAW_MAX - 3 ? r->len : RAW_MAX - 3);
	memcpy(r->d, "n,,", 3);
	if (r->len > RAW_MAX - 3)
		r->over = 1;
	else
		r->len += 3;
	rv = put_line(out, outsz, "SCRAM-SHA-256 ", r, err);
	explicit_bzero(r, sizeof *r);
	free(r);
	return rv;
}

/* server-first-message = [reserved-mext ","] nonce "," salt ","
 *                        iteration-count ["," extensions]
 * RFC 5802 5.1: "m=" is a mandatory extension we do not know: fail.
 * Answer with client-final-message = "c=biws,r=" nonce ",p=" proof. */
static int
step_scram_first(struct auth *a, const struct raw *ch, char *out,
    size_t outsz, struct ob_err *err)
{
	const char *s = (const char *)ch->d, *end = s + ch->len;
	const char *nonce, *salt64, *p;
	size_t noncelen, salt64len, nlen;
	unsigned char *salt = NULL, proof[SHA256_LEN];
	char proof64[64];
	struct raw *r = NULL, *am = NULL;
	unsigned long iter = 0;
	int saltlen, rv = -1;

	if (memchr(s, '\0', ch->len) != NULL) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: NUL in server-first-message");
		goto fail;
	}
	if (ch->len < 2 || memcmp(s, "r=", 2) != 0) {
		ob_err_set(err, OB_TEMP, 0, "SCRAM-SHA-256: %s",
		    ch->len >= 2 && memcmp(s, "m=", 2) == 0 ?
		    "unsupported mandatory extension" :
		    "server-first-message does not start with r=");
		goto fail;
	}
	nonce = s + 2;
	p = memchr(nonce, ',', (size_t)(end - nonce));
	noncelen = (size_t)((p != NULL ? p : end) - nonce);
	nlen = strlen(a->nonce);
	/* RFC 5802 5.1: the server's nonce starts with ours; both are
	 * printable except ','. */
	if (noncelen < nlen || memcmp(nonce, a->nonce, nlen) != 0) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: server nonce does not start with ours");
		goto fail;
	}
	for (p = nonce; p < nonce + noncelen; p++)
		if (*p < 0x21 || *p > 0x7e) {
			ob_err_set(err, OB_TEMP, 0,
			    "SCRAM-SHA-256: bad character in server nonce");
			goto fail;
		}
	p = nonce + noncelen;
	if (end - p < 3 || memcmp(p, ",s=", 3) != 0) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: no salt after the nonce");
		goto fail;
	}
	salt64 = p + 3;
	p = memchr(salt64, ',', (size_t)(end - salt64));
	salt64len = (size_t)((p != NULL ? p : end) - salt64);
	salt = xmalloc(salt64len + 1);
	saltlen = auth_b64_decode(salt64, salt64len, salt, salt64len + 1);
	if (saltlen <= 0) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: bad or empty salt");
		goto fail;
	}
	p = salt64 + salt64len;
	if (end - p < 4 || memcmp(p, ",i=", 3) != 0) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: no iteration count after the salt");
		goto fail;
	}
	/* Digits only, no sign, no leading zero; stop counting at the
	 * limit so no input can overflow. */
	for (p += 3; p < end && *p >= '0' && *p <= '9'; p++) {
		if (iter == 0 && *p == '0')
			break;
		iter = iter * 10 + (unsigned long)(*p - '0');
		if (iter > SCRAM_ITER_MAX)
			break;
	}
	if ((p < end && *p != ',') || iter < SCRAM_ITER_MIN ||
	    iter > SCRAM_ITER_MAX) {
		ob_err_set(err, OB_TEMP, 0, "SCRAM-SHA-256: iteration count "
		    "not a number in %d..%d", SCRAM_ITER_MIN, SCRAM_ITER_MAX);
		goto fail;
	}
	/* Anything after ',' is an extension (RFC 5802 7): ignored. */

	r = xcalloc(1, sizeof *r);
	raw_adds(r, "c=biws,r=");	/* biws = base64("n,,") */
	raw_add(r, nonce, noncelen);
	am = xcalloc(1, sizeof *am);
	raw_adds(am, a->first_bare);
	raw_adds(am, ",");
	raw_add(am, s, ch->len);
	raw_adds(am, ",");
	raw_add(am, r->d, r->len);
	if (r->over || am->over) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: server-first-message too long");
		goto fail;
	}
	if (scram_keys(a, salt, (size_t)saltlen, (unsigned)iter, am, proof,
	    err) < 0)
		goto fail;
	if (auth_b64_encode(proof, sizeof proof, proof64,
	    sizeof proof64) < 0)
		goto fail;	/* cannot happen: 44 < 64 */
	raw_adds(r, ",p=");
	raw_adds(r, proof64);
	if (put_line(out, outsz, "", r, err) < 0)
		goto fail;
	a->st = ST_SCRAM_FINAL;
	rv = 0;
fail:
	explicit_bzero(proof, sizeof proof);
	explicit_bzero(proof64, sizeof proof64);
	free(salt);
	if (r != NULL) {
		explicit_bzero(r, sizeof *r);
		free(r);
	}
	if (am != NULL) {
		explicit_bzero(am, sizeof *am);
		free(am);
	}
	return rv;
}

/* SaltedPassword = Hi(password, salt, i)   (PBKDF2-HMAC-SHA-256)
 * ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey)
 * ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 * ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
 * (RFC 5802 3).  The server signature is kept for server-final. */
static int
scram_keys(struct auth *a, const unsigned char *salt, size_t saltlen,
    unsigned iter, const struct raw *authmsg,
    unsigned char proof[SHA256_LEN], struct ob_err *err)
{
	unsigned char salted[SHA256_LEN], ckey[SHA256_LEN];
	unsigned char skey[SHA256_LEN], stored[SHA256_LEN];
	unsigned char csig[SHA256_LEN];
	gnutls_datum_t key, sd;
	int rv = -1;
	size_t i;

	key.data = (unsigned char *)a->secret;
	key.size = (unsigned)strlen(a->secret);
	sd.data = (unsigned char *)(uintptr_t)salt;
	sd.size = (unsigned)saltlen;
	if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &sd, iter, salted,
	    sizeof salted) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, salted, sizeof salted,
	    "Client Key", 10, ckey) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, ckey, sizeof ckey,
	    stored) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, stored, sizeof stored,
	    authmsg->d, authmsg->len, csig) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, salted, sizeof salted,
	    "Server Key", 10, skey) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, skey, sizeof skey,
	    authmsg->d, authmsg->len, a->server_sig) < 0) {
		ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: GnuTLS crypto failed");
		goto fail;
	}
	for (i = 0; i < SHA256_LEN; i++)
		proof[i] = ckey[i] ^ csig[i];
	rv = 0;
fail:
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ckey, sizeof ckey);
	explicit_bzero(skey, sizeof skey);
	explicit_bzero(stored, sizeof stored);
	explicit_bzero(csig, sizeof csig);
	return rv;
}

/* server-final-message = (server-error / verifier) ["," extensions]
 * verifier = "v=" base64(ServerSignature); server-error = "e=" value.
 * Our answer to this last 334 is an empty line (RFC 4954 4). */
static int
step_scram_final(struct auth *a, const struct raw *ch, char *out,
    size_t outsz, struct ob_err *err)
{
	const char *s = (const char *)ch->d, *p;
	unsigned char sig[SHA256_LEN + 3];
	char why[64];
	size_t n;

	if (ch->len >= 2 && memcmp(s, "e=", 2) == 0) {
		p = memchr(s, ',', ch->len);
		n = (size_t)((p != NULL ? p : s + ch->len) - s) - 2;
		safe_copy(why, sizeof why, ch->d + 2, n);
		return ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: server error \"%s\"", why);
	}
	if (ch->len < 2 || memcmp(s, "v=", 2) != 0)
		return ob_err_set(err, OB_TEMP, 0,
		    "SCRAM-SHA-256: server-final-message without v=");
	p = memchr(s, ',', ch->len);
	n = (size_t)((p != NULL ? p : s + ch->len) - s) - 2;
	if (auth_b64_decode(s + 2, n, sig, sizeof sig) != SHA256_LEN ||
	    !ct_equal(sig, a->server_sig, SHA256_LEN))
		return ob_err_set(err, OB_TEMP, 0,
		    "server signature does not verify");
	if (ob_snprintf(out, outsz, "%s", "") < 0)
		return ob_err_set(err, OB_TEMP, 0,
		    "AUTH output buffer too small");
	a->st = ST_COMPLETE;
	return 1;
}

static int
ct_equal(const unsigned char *x, const unsigned char *y, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* ---- helpers ---------------------------------------------------------- */

static void
raw_add(struct raw *r, const void *d, size_t n)
{
	if (r->over || n > sizeof r->d - r->len) {
		r->over = 1;
		return;
	}
	memcpy(r->d + r->len, d, n);
	r->len += n;
}

static void
raw_adds(struct raw *r, const char *s)
{
	raw_add(r, s, strlen(s));
}

/* RFC 5802 5.1 saslname (also RFC 7628's gs2 "a="): "=" -> "=3D",
 * "," -> "=2C". */
static void
raw_add_saslname(struct raw *r, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '=')
			raw_adds(r, "=3D");
		else if (*s == ',')
			raw_adds(r, "=2C");
		else
			raw_add(r, s, 1);
	}
}

/* put_line: PREFIX then base64 of R into OUT, bounded by AUTH_TEXT_MAX.
 * An empty R gives PREFIX alone ("" for an empty response line). */
static int
put_line(char *out, size_t outsz, const char *prefix, const struct raw *r,
    struct ob_err *err)
{
	size_t plen = strlen(prefix), cap;
	int n;

	if (r->over)
		return ob_err_set(err, OB_TEMP, EX_CONFIG,
		    "AUTH line too long (over %d octets)", AUTH_LINE_MAX);
	cap = outsz < AUTH_TEXT_MAX + 1 ? outsz : AUTH_TEXT_MAX + 1;
	if (plen >= cap)
		return ob_err_set(err, OB_TEMP, 0,
		    "AUTH output buffer too small");
	memcpy(out, prefix, plen);
	n = auth_b64_encode(r->d, r->len, out + plen, cap - plen);
	if (n < 0) {
		explicit_bzero(out, cap);
		return ob_err_set(err, OB_TEMP, EX_CONFIG,
		    "AUTH line too long (over %d octets)", AUTH_LINE_MAX);
	}
	return 0;
}

static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* decode_challenge: TEXT (trailing CR/spaces dropped) must be strict
 * base64 of at most RAW_MAX - 1 octets. */
static int
decode_challenge(const char *text, struct raw *r, struct ob_err *err)
{
	size_t n;
	int len;

	if (text == NULL)
		text = "";
	n = strnlen(text, AUTH_LINE_MAX + 1);
	if (n > AUTH_LINE_MAX)
		return ob_err_set(err, OB_TEMP, 0, "AUTH challenge too long");
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\r'))
		n--;
	len = auth_b64_decode(text, n, r->d, sizeof r->d - 1);
	if (len < 0)
		return ob_err_set(err, OB_TEMP, 0,
		    "AUTH challenge is not valid base64");
	r->len = (size_t)len;
	r->d[r->len] = '\0';
	r->over = 0;
	return 0;
}

/* safe_copy: S (LEN octets) into DST for an error message: printable
 * ASCII kept, the rest as '?', cut to fit. */
static void
safe_copy(char *dst, size_t n, const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < n; i++)
		dst[i] = s[i] >= 0x20 && s[i] <= 0x7e && s[i] != '"' ?
		    (char)s[i] : '?';
	dst[i] = '\0';
}

int
auth_b64_encode(const void *in, size_t n, char *out, size_t outsz)
{
	return ob_b64_encode(in, n, out, outsz);
}

int
auth_b64_decode(const char *in, size_t n, void *out, size_t outsz)
{
	return ob_b64_decode(in, n, out, outsz);
}
