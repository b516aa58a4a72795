/* fuzz_auth.c - libFuzzer target: the SASL client (src/auth.h) fed
 * arbitrary 334 challenges, and the strict base64 decoder.
 *
 * Input: one octet picks the mechanism (PLAIN, LOGIN, SCRAM-SHA-256,
 * XOAUTH2, OAUTHBEARER) and whether challenges are sent as they are or
 * base64-encoded first (so that the fuzzer reaches the mechanism's own
 * parser, e.g. SCRAM's server-first, without having to find valid base64);
 * the rest is split at LF into challenges.  auth_start, then auth_step per
 * challenge until it returns 1 or -1, then auth_done.  The SCRAM client
 * nonce is fixed (RFC 7677's) so a server-first can echo it.
 *
 * A SCRAM iteration count is bounded by auth.c at 1000000; each of those
 * costs about a second here, so challenges asking for more than 8192
 * rounds are not fed to SCRAM (the bound itself is checked in
 * check_auth).
 *
 * Oracles: every line written is NUL-terminated within AUTH_LINE_MAX;
 * errors come with a message and are OB_TEMP (auth.h: an AUTH problem
 * never bounces mail); auth_b64_decode of the input succeeds only on
 * canonical base64 (decode then encode gives the input back); auth_choose
 * returns a mechanism that appears in the offered list.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "util.h"

#define FA_MAXITER	8192

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_auth", LOG_TO_STDERR, 0);
	return 0;
}

static char	fa_line[AUTH_LINE_MAX + 1];
static char	fa_b64[AUTH_LINE_MAX * 2];
static char	fa_raw[AUTH_LINE_MAX * 2];

static void
fa_check_line(void)
{
	if (memchr(fa_line, '\0', AUTH_LINE_MAX) == NULL)
		abort();
	if (strcmp(fa_line, "*") == 0)
		abort();	/* auth.h: never "*" */
}

static void
fa_check_err(const struct ob_err *err)
{
	if (err->text[0] == '\0' || err->kind != OB_TEMP)
		abort();
}

/* fa_slow: S (N octets) asks SCRAM for more than FA_MAXITER rounds. */
static int
fa_slow(const char *s, size_t n)
{
	size_t i, j;
	unsigned long v;

	for (i = 0; i + 2 < n; i++) {
		if (s[i] != 'i' || s[i + 1] != '=')
			continue;
		v = 0;
		for (j = i + 2; j < n && s[j] >= '0' && s[j] <= '9'; j++) {
			v = v * 10 + (unsigned long)(s[j] - '0');
			if (v > FA_MAXITER)
				return 1;
		}
	}
	return 0;
}

static void
fa_b64_roundtrip(const char *in, size_t n)
{
	int k, e;

	if (n > AUTH_LINE_MAX)
		n = AUTH_LINE_MAX;
	k = auth_b64_decode(in, n, fa_raw, sizeof fa_raw);
	if (k < 0)
		return;
	if ((size_t)k > n)
		abort();
	e = auth_b64_encode(fa_raw, (size_t)k, fa_b64, sizeof fa_b64);
	if (e < 0 || (size_t)e != n || memcmp(fa_b64, in, n) != 0)
		abort();	/* accepted something not canonical */
	/* too small an output buffer must fail, not overflow */
	if (k > 0 && auth_b64_decode(in, n, fa_raw, (size_t)k - 1) != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum auth_mech mechs[] = {
		AUTH_PLAIN, AUTH_LOGIN, AUTH_SCRAM_SHA_256, AUTH_XOAUTH2,
		AUTH_OAUTHBEARER
	};
	const char *in = (const char *)data, *p, *end = in + size, *nl;
	struct auth *a;
	struct ob_err err;
	enum auth_mech m;
	char *s, *ch;
	size_t len;
	int encode, r = 0, e;

	/* the decoder and the chooser on the raw input */
	fa_b64_roundtrip(in, size);
	s = xstrndup(in, size);
	(void)auth_mech_parse(s);
	for (e = 0; e <= 1; e++) {
		m = auth_choose(s, e, AUTH_NONE);
		if (m != AUTH_NONE && strcasestr(s, auth_mech_name(m)) ==
		    NULL)
			abort();	/* chose a mechanism not offered */
		if (auth_mech_name(m) == NULL)
			abort();
	}
	free(s);

	if (size == 0)
		return 0;
	m = mechs[data[0] % 5];
	encode = (data[0] / 5) % 2;
	p = in + 1;

	a = auth_new(m, "user", "pencil", "mx.example", 587);
	auth_scram_set_nonce(a, "rOprNGfwEbeRWgbNEkqO");
	memset(fa_line, 'Z', sizeof fa_line);
	if (auth_start(a, fa_line, AUTH_LINE_MAX, &err) == -1)
		abort();	/* fixed ASCII credentials always start */
	fa_check_line();
	while (p < end && r == 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (m == AUTH_SCRAM_SHA_256 && fa_slow(p, len))
			break;
		if (m == AUTH_SCRAM_SHA_256 && !encode) {
			/* the same check on what auth.c will decode */
			size_t tl = len;
			int k;

			while (tl > 0 && (p[tl - 1] == '\r' || p[tl - 1] == ' '))
				tl--;
			k = auth_b64_decode(p, tl < AUTH_LINE_MAX ? tl :
			    AUTH_LINE_MAX, fa_raw, sizeof fa_raw);

			if (k > 0 && fa_slow(fa_raw, (size_t)k))
				break;
		}
		if (encode) {
			if (auth_b64_encode(p, len, fa_b64, sizeof fa_b64) < 0)
				break;
			ch = xstrdup(fa_b64);
		} else {
			ch = xstrndup(p, len);
		}
		memset(fa_line, 'Z', sizeof fa_line);
		err.text[0] = '\0';
		err.kind = 0;
		r = auth_step(a, ch, fa_line, AUTH_LINE_MAX, &err);
		free(ch);
		if (r == -1)
			fa_check_err(&err);
		else if (r == 0 || r == 1)
			fa_check_line();
		else
			abort();
		p = nl ? nl + 1 : end;
	}
	err.text[0] = '\0';
	err.kind = 0;
	if (auth_done(a, &err) == -1)
		fa_check_err(&err);
	auth_free(a);
	return 0;
}
