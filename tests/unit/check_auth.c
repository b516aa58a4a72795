/* check_auth.c - SASL client mechanisms: base64, mechanism names and
 * choice, SCRAM-SHA-256 against RFC 7677 3 and hostile servers, PLAIN,
 * LOGIN, XOAUTH2, OAUTHBEARER exact bytes, line limits, sequencing. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "auth.h"

static char out[AUTH_LINE_MAX];

/* b64: raw S (N octets) as base64 in a static buffer. */
static const char *
b64(const char *s, size_t n)
{
	static char b[AUTH_LINE_MAX * 2];

	ck_assert_int_ge(auth_b64_encode(s, n, b, sizeof b), 0);
	return b;
}

/* ---- base64 ---------------------------------------------------------- */

static const struct {
	const char *raw, *enc;
} b64_ok[] = {		/* RFC 4648 10 */
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

START_TEST(test_b64_ok)
{
	char e[32], d[32];
	int n;

	n = auth_b64_encode(b64_ok[_i].raw, strlen(b64_ok[_i].raw), e,
	    sizeof e);
	ck_assert_int_eq(n, (int)strlen(b64_ok[_i].enc));
	ck_assert_str_eq(e, b64_ok[_i].enc);
	n = auth_b64_decode(b64_ok[_i].enc, strlen(b64_ok[_i].enc), d,
	    sizeof d);
	ck_assert_int_eq(n, (int)strlen(b64_ok[_i].raw));
	ck_assert_mem_eq(d, b64_ok[_i].raw, (size_t)n);
}
END_TEST

static const char *const b64_bad[] = {
	"Zg=", "Zg", "Z", "Z===", "====", "=Zm9", "Zm=v", "Zm9v====",
	"Zh==",		/* nonzero pad bits */
	"Zm9=",		/* nonzero pad bits */
	"Zm 9v", "Zm9v\n", "Zm9\x80", "Zm9-", "Zm9_", "Zg==Zm9v",
};

START_TEST(test_b64_bad)
{
	char d[32];

	ck_assert_int_eq(auth_b64_decode(b64_bad[_i], strlen(b64_bad[_i]), d,
	    sizeof d), -1);
}
END_TEST

START_TEST(test_b64_bounds)
{
	char e[9], d[3];

	/* 6 octets need 8 characters and the NUL */
	ck_assert_int_eq(auth_b64_encode("foobar", 6, e, 9), 8);
	ck_assert_int_eq(auth_b64_encode("foobar", 6, e, 8), -1);
	ck_assert_int_eq(auth_b64_decode("Zm9vYg==", 8, d, 3), -1);
	ck_assert_int_eq(auth_b64_decode("Zm9v", 4, d, 3), 3);
	ck_assert_int_eq(auth_b64_decode("Zg==", 4, d, 1), 1);
	ck_assert_int_eq(d[0], 'f');
	/* binary, including NUL and 0xff */
	ck_assert_int_eq(auth_b64_encode("\0\xff\x01", 3, e, sizeof e), 4);
	ck_assert_str_eq(e, "AP8B");
}
END_TEST

/* ---- names and choice -------------------------------------------------- */

static const struct {
	const char *s;
	int m;
} parse_cases[] = {
	{ "PLAIN", AUTH_PLAIN }, { "plain", AUTH_PLAIN },
	{ "Login", AUTH_LOGIN }, { "SCRAM-SHA-256", AUTH_SCRAM_SHA_256 },
	{ "scram-sha-256", AUTH_SCRAM_SHA_256 }, { "XOAUTH2", AUTH_XOAUTH2 },
	{ "oauthbearer", AUTH_OAUTHBEARER }, { "SCRAM-SHA-1", -1 },
	{ "SCRAM-SHA-256-PLUS", -1 }, { "CRAM-MD5", -1 }, { "", -1 },
	{ "none", -1 }, { "PLAIN ", -1 }, { " PLAIN", -1 },
};

START_TEST(test_mech_parse)
{
	ck_assert_int_eq(auth_mech_parse(parse_cases[_i].s),
	    parse_cases[_i].m);
}
END_TEST

START_TEST(test_mech_name)
{
	ck_assert_str_eq(auth_mech_name(AUTH_NONE), "NONE");
	ck_assert_str_eq(auth_mech_name(AUTH_PLAIN), "PLAIN");
	ck_assert_str_eq(auth_mech_name(AUTH_LOGIN), "LOGIN");
	ck_assert_str_eq(auth_mech_name(AUTH_SCRAM_SHA_256), "SCRAM-SHA-256");
	ck_assert_str_eq(auth_mech_name(AUTH_XOAUTH2), "XOAUTH2");
	ck_assert_str_eq(auth_mech_name(AUTH_OAUTHBEARER), "OAUTHBEARER");
	ck_assert_int_eq(auth_mech_parse(auth_mech_name(AUTH_OAUTHBEARER)),
	    AUTH_OAUTHBEARER);
	ck_assert_int_eq(auth_mech_parse(NULL), -1);
}
END_TEST

static const struct {
	const char	*offered;
	int		 token;
	enum auth_mech	 forced, want;
} choose_cases[] = {
	{ "PLAIN LOGIN SCRAM-SHA-256", 0, AUTH_NONE, AUTH_SCRAM_SHA_256 },
	{ "login plain", 0, AUTH_NONE, AUTH_PLAIN },
	{ "LOGIN", 0, AUTH_NONE, AUTH_LOGIN },
	{ "CRAM-MD5 DIGEST-MD5", 0, AUTH_NONE, AUTH_NONE },
	{ "", 0, AUTH_NONE, AUTH_NONE },
	{ NULL, 0, AUTH_NONE, AUTH_NONE },
	{ "   ", 0, AUTH_NONE, AUTH_NONE },
	{ "  PLAIN\tscram-sha-256  ", 0, AUTH_NONE, AUTH_SCRAM_SHA_256 },
	{ "SCRAM-SHA-256-PLUS SCRAM-SHA-1 PLAIN", 0, AUTH_NONE, AUTH_PLAIN },
	{ "PLAINX LOGINPLAIN", 0, AUTH_NONE, AUTH_NONE },
	/* a password never picks an OAuth mechanism, nor the reverse */
	{ "XOAUTH2 OAUTHBEARER", 0, AUTH_NONE, AUTH_NONE },
	{ "PLAIN LOGIN SCRAM-SHA-256", 1, AUTH_NONE, AUTH_NONE },
	{ "PLAIN XOAUTH2 OAUTHBEARER", 1, AUTH_NONE, AUTH_OAUTHBEARER },
	{ "PLAIN xoauth2", 1, AUTH_NONE, AUTH_XOAUTH2 },
	{ "XOAUTH2 PLAIN", 0, AUTH_NONE, AUTH_PLAIN },
	/* forced: that one if offered */
	{ "PLAIN LOGIN SCRAM-SHA-256", 0, AUTH_LOGIN, AUTH_LOGIN },
	{ "PLAIN SCRAM-SHA-256", 0, AUTH_LOGIN, AUTH_NONE },
	{ "plain", 0, AUTH_PLAIN, AUTH_PLAIN },
	{ "XOAUTH2 OAUTHBEARER", 1, AUTH_XOAUTH2, AUTH_XOAUTH2 },
	{ "", 1, AUTH_XOAUTH2, AUTH_NONE },
	{ "XOAUTH2", 0, AUTH_XOAUTH2, AUTH_XOAUTH2 },
	{ "PLAIN", 0, (enum auth_mech)99, AUTH_NONE },
	/* an endless word is skipped, not copied */
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  " LOGIN", 0, AUTH_NONE, AUTH_LOGIN },
};

START_TEST(test_choose)
{
	ck_assert_int_eq(auth_choose(choose_cases[_i].offered,
	    choose_cases[_i].token, choose_cases[_i].forced),
	    choose_cases[_i].want);
}
END_TEST

/* ---- SCRAM-SHA-256: RFC 7677 3 ---------------------------------------- */

#define R7677_NONCE	"rOprNGfwEbeRWgbNEkqO"
#define R7677_SFIRST	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)" \
			"hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define R7677_CFINAL	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfu" \
			"xFIlj)hNlF$k0," \
			"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define R7677_SFINAL	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static struct auth *
scram_new(const char *user, const char *pass)
{
	struct auth *a = auth_new(AUTH_SCRAM_SHA_256, user, pass, "h", 25);

	auth_scram_set_nonce(a, R7677_NONCE);
	return a;
}

/* A SCRAM client that has sent its client-final for RFC 7677's
 * server-first. */
static struct auth *
scram_at_final(void)
{
	struct auth *a = scram_new("user", "pencil");
	struct ob_err err;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, b64(R7677_SFIRST,
	    strlen(R7677_SFIRST)), out, sizeof out, &err), 0);
	return a;
}

START_TEST(test_scram_rfc7677)
{
	struct auth *a = scram_new("user", "pencil");
	struct ob_err err;
	char raw[256];
	int n;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_str_eq(out, "SCRAM-SHA-256 "
	    "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=");
	/* = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO" */
	ck_assert_int_eq(auth_step(a, "cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllE"
	    "cFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFam"
	    "I2Z1E9PSxpPTQwOTY=", out, sizeof out, &err), 0);
	n = auth_b64_decode(out, strlen(out), raw, sizeof raw - 1);
	ck_assert_int_ge(n, 0);
	raw[n] = '\0';
	ck_assert_str_eq(raw, R7677_CFINAL);
	ck_assert_int_eq(auth_step(a, "dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVa"
	    "VW4vZEI1bkxUSlJzamw5NUc0PQ==", out, sizeof out, &err), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(auth_done(a, &err), 0);
	/* nothing more is expected */
	ck_assert_int_eq(auth_step(a, "", out, sizeof out, &err), -1);
	auth_free(a);
}
END_TEST

START_TEST(test_scram_tampered)
{
	static const char *const finals[] = {
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
		"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95A==",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4A",
		"v=", "v=!!!!",
		"x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	};
	struct auth *a = scram_at_final();
	struct ob_err err;
	const char *f = finals[_i];

	memset(&err, 0, sizeof err);
	ck_assert_int_eq(auth_step(a, b64(f, strlen(f)), out, sizeof out,
	    &err), -1);
	ck_assert_int_eq(err.kind, OB_TEMP);
	if (_i < 6)
		ck_assert_str_eq(err.text, "server signature does not verify");
	else
		ck_assert_str_eq(err.text,
		    "SCRAM-SHA-256: server-final-message without v=");
	ck_assert_int_eq(auth_done(a, &err), -1);
	auth_free(a);
}
END_TEST

START_TEST(test_scram_server_error)
{
	struct auth *a = scram_at_final();
	struct ob_err err;
	const char *e = "e=invalid-proof,x=\x01y";

	ck_assert_int_eq(auth_step(a, b64(e, strlen(e)), out, sizeof out,
	    &err), -1);
	ck_assert_str_eq(err.text,
	    "SCRAM-SHA-256: server error \"invalid-proof\"");
	ck_assert_int_eq(auth_done(a, &err), -1);
	auth_free(a);
}
END_TEST

START_TEST(test_scram_sequence)
{
	struct auth *a;
	struct ob_err err;

	/* 235 right after the client-first or the client-final: the
	 * server has not proved itself */
	a = scram_new("user", "pencil");
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_done(a, &err), -1);
	auth_free(a);
	a = scram_at_final();
	ck_assert_int_eq(auth_done(a, &err), -1);
	ck_assert_str_eq(err.text, "SCRAM-SHA-256: server accepted without "
	    "a server signature");
	auth_free(a);
	/* the extensions after i= and v= are ignored */
	a = scram_new("user", "pencil");
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, b64(R7677_SFIRST ",x=ext",
	    strlen(R7677_SFIRST ",x=ext")), out, sizeof out, &err), 0);
	auth_free(a);
	a = scram_at_final();
	ck_assert_int_eq(auth_step(a, b64(R7677_SFINAL ",y=1",
	    strlen(R7677_SFINAL ",y=1")), out, sizeof out, &err), 1);
	/* trailing CR and spaces after the base64 are tolerated */
	auth_free(a);
	a = scram_at_final();
	ck_assert_int_eq(auth_step(a, "dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVa"
	    "VW4vZEI1bkxUSlJzamw5NUc0PQ==  \r", out, sizeof out, &err), 1);
	ck_assert_int_eq(auth_done(a, &err), 0);
	auth_free(a);
	/* a random nonce: 24 octets -> 32 base64 characters */
	a = auth_new(AUTH_SCRAM_SHA_256, "user", "pencil", NULL, 0);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	{
		char raw[128];
		int n = auth_b64_decode(out + 14, strlen(out + 14), raw,
		    sizeof raw - 1);

		ck_assert_int_eq(n, (int)strlen("n,,n=user,r=") + 32);
		ck_assert_mem_eq(raw, "n,,n=user,r=", 12);
	}
	auth_free(a);
}
END_TEST

/* Hostile server-first messages (raw, before base64). */
static const struct {
	const char *sfirst, *err;
} scram_bad[] = {
	{ "r=XOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "SCRAM-SHA-256: server nonce does not start with ours" },
	{ "r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "SCRAM-SHA-256: server nonce does not start with ours" },
	{ "r=,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "SCRAM-SHA-256: server nonce does not start with ours" },
	{ "r=rOprNGfwEbeRWgbNEkqO\x7f,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "SCRAM-SHA-256: bad character in server nonce" },
	{ "r=rOprNGfwEbeRWgbNEkqO x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "SCRAM-SHA-256: bad character in server nonce" },
	{ "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOx,i=4096",
	  "SCRAM-SHA-256: server-first-message does not start with r=" },
	{ "m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "SCRAM-SHA-256: unsupported mandatory extension" },
	{ "", "SCRAM-SHA-256: server-first-message does not start with r=" },
	{ "r=rOprNGfwEbeRWgbNEkqOx", "SCRAM-SHA-256: no salt after the nonce" },
	{ "r=rOprNGfwEbeRWgbNEkqOx,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
	  "SCRAM-SHA-256: no salt after the nonce" },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096",
	  "SCRAM-SHA-256: bad or empty salt" },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
	  "SCRAM-SHA-256: bad or empty salt" },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==",
	  "SCRAM-SHA-256: no iteration count after the salt" },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
	  "SCRAM-SHA-256: no iteration count after the salt" },
#define ITER_ERR "SCRAM-SHA-256: iteration count not a number in " \
		 "4096..1000000"
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",
	  ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001",
	  ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
	  "i=99999999999999999999999999", ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=18446744073709"
	  "555712", ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096",
	  ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
	  ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096",
	  ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
	  ITER_ERR },
	{ "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i= 4096",
	  ITER_ERR },
};

START_TEST(test_scram_hostile)
{
	struct auth *a = scram_new("user", "pencil");
	const char *s = scram_bad[_i].sfirst;
	struct ob_err err;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	memset(&err, 0, sizeof err);
	memcpy(out, "junk", 5);
	ck_assert_int_eq(auth_step(a, b64(s, strlen(s)), out, sizeof out,
	    &err), -1);
	ck_assert_str_eq(err.text, scram_bad[_i].err);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_str_eq(out, "");
	/* once failed, always failed */
	ck_assert_int_eq(auth_step(a, b64(R7677_SFIRST,
	    strlen(R7677_SFIRST)), out, sizeof out, &err), -1);
	ck_assert_int_eq(auth_done(a, &err), -1);
	auth_free(a);
}
END_TEST

START_TEST(test_scram_hostile_encoding)
{
	struct auth *a;
	struct ob_err err;
	char *huge;
	static const char nul[] = "r=rOprNGfwEbeRWgbNEkqOx\0,s=W22ZaJ0SNY7so"
	    "EsUEjb6gQ==,i=4096";

	/* not base64 */
	a = scram_new("user", "pencil");
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, "cj1y!!==", out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "AUTH challenge is not valid base64");
	auth_free(a);
	/* a NUL inside */
	a = scram_new("user", "pencil");
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, b64(nul, sizeof nul - 1), out,
	    sizeof out, &err), -1);
	ck_assert_str_eq(err.text,
	    "SCRAM-SHA-256: NUL in server-first-message");
	auth_free(a);
	/* huge: 1 MiB of base64 */
	huge = malloc((1 << 20) + 1);
	memset(huge, 'A', 1 << 20);
	huge[1 << 20] = '\0';
	a = scram_new("user", "pencil");
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, huge, out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "AUTH challenge too long");
	auth_free(a);
	/* just under the challenge limit but decoding to more than fits
	 * in the auth message with our own parts */
	{
		static char raw[9000];
		size_t n = strlen("r=" R7677_NONCE);

		memcpy(raw, "r=" R7677_NONCE, n);
		memset(raw + n, 'x', sizeof raw - n - 40);
		memcpy(raw + sizeof raw - 40,
		    ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 34);
		a = scram_new("user", "pencil");
		ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
		ck_assert_int_eq(auth_step(a, b64(raw, sizeof raw - 6), out,
		    sizeof out, &err), -1);
		ck_assert_str_eq(err.text,
		    "SCRAM-SHA-256: server-first-message too long");
		auth_free(a);
	}
	free(huge);
}
END_TEST

/* ---- escaping and credential checks ------------------------------------ */

START_TEST(test_scram_escape)
{
	struct auth *a = scram_new("a=b,c", "pencil");
	struct ob_err err;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	/* "n,,n=a=3Db=2Cc,r=rOprNGfwEbeRWgbNEkqO" */
	ck_assert_str_eq(out, "SCRAM-SHA-256 "
	    "biwsbj1hPTNEYj0yQ2Mscj1yT3ByTkdmd0ViZVJXZ2JORWtxTw==");
	auth_free(a);
}
END_TEST

static const struct {
	const char *user, *pass;
} scram_refused[] = {
	{ "user", "p\xc3\xa4ss" }, { "us\xc3\xa9r", "pencil" },
	{ "user", "pen\tcil" }, { "user", "" }, { "", "pencil" },
	{ "us\ner", "pencil" },
};

START_TEST(test_scram_refused)
{
	struct auth *a = scram_new(scram_refused[_i].user,
	    scram_refused[_i].pass);
	struct ob_err err;

	memset(&err, 0, sizeof err);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), -1);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_int_eq(err.ex, EX_CONFIG);
	ck_assert_str_eq(err.text, "SCRAM-SHA-256: user name and password "
	    "must be non-empty printable ASCII (SASLprep is not implemented)");
	ck_assert_int_eq(auth_done(a, &err), -1);
	auth_free(a);
}
END_TEST

/* ---- PLAIN, XOAUTH2, OAUTHBEARER: exact initial responses ------------- */

static const struct {
	enum auth_mech	 m;
	const char	*user, *secret, *host;
	int		 port;
	const char	*want;
} initial[] = {
	/* "\0user\0pencil" */
	{ AUTH_PLAIN, "user", "pencil", NULL, 0, "PLAIN AHVzZXIAcGVuY2ls" },
	/* PLAIN sends UTF-8 as it is (RFC 4616): "\0u\0pä" */
	{ AUTH_PLAIN, "u", "p\xc3\xa4", NULL, 0, "PLAIN AHUAcMOk" },
	{ AUTH_PLAIN, "", "", NULL, 0, "PLAIN AAA=" },
	{ AUTH_LOGIN, "user", "pencil", NULL, 0, "LOGIN" },
	/* Google's example */
	{ AUTH_XOAUTH2, "someuser@example.com",
	  "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", NULL, 0,
	  "XOAUTH2 dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5Ln"
	  "ZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==" },
	/* RFC 7628 4.1 */
	{ AUTH_OAUTHBEARER, "user@example.com",
	  "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==", "server.example.com",
	  143, "OAUTHBEARER bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW"
	  "1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGN"
	  "rQmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB" },
	/* "n,a=a=3Db=2Cc,\1host=h\1port=25\1auth=Bearer t\1\1" */
	{ AUTH_OAUTHBEARER, "a=b,c", "t", "h", 25,
	  "OAUTHBEARER bixhPWE9M0RiPTJDYywBaG9zdD1oAXBvcnQ9MjUBYXV0aD1CZWFyZXI"
	  "gdAEB" },
	/* "n,,\1auth=Bearer t\1\1" */
	{ AUTH_OAUTHBEARER, "", "t", NULL, 0,
	  "OAUTHBEARER biwsAWF1dGg9QmVhcmVyIHQBAQ==" },
};

START_TEST(test_initial)
{
	struct auth *a = auth_new(initial[_i].m, initial[_i].user,
	    initial[_i].secret, initial[_i].host, initial[_i].port);
	struct ob_err err;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_str_eq(out, initial[_i].want);
	/* started once only */
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "AUTH already started");
	auth_free(a);
}
END_TEST

START_TEST(test_plain_flow)
{
	struct auth *a = auth_new(AUTH_PLAIN, "user", "pencil", NULL, 0);
	struct ob_err err;

	ck_assert_int_eq(auth_done(a, &err), -1);	/* not started */
	ck_assert_int_eq(auth_step(a, "", out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "unexpected AUTH challenge");
	auth_free(a);
	a = auth_new(AUTH_PLAIN, "user", "pencil", NULL, 0);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_done(a, &err), 0);
	ck_assert_int_eq(auth_step(a, "", out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "unexpected PLAIN challenge");
	auth_free(a);
	a = auth_new(AUTH_NONE, "user", "pencil", NULL, 0);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "no AUTH mechanism selected");
	auth_free(a);
}
END_TEST

static const struct {
	enum auth_mech	 m;
	const char	*user, *secret, *host;
	const char	*err;
} oauth_refused[] = {
	{ AUTH_XOAUTH2, "u\001auth=x", "t", NULL,
	  "XOAUTH2: user name, token or host contains a control character" },
	{ AUTH_XOAUTH2, "u", "t\001", NULL,
	  "XOAUTH2: user name, token or host contains a control character" },
	{ AUTH_OAUTHBEARER, "u", "t", "h\001port=1",
	  "OAUTHBEARER: user name, token or host contains a control "
	  "character" },
	{ AUTH_OAUTHBEARER, "u", "", "h",
	  "OAUTHBEARER: the access token is empty or not printable ASCII" },
	{ AUTH_XOAUTH2, "u", "t\xc3\xa4", NULL,
	  "XOAUTH2: the access token is empty or not printable ASCII" },
};

START_TEST(test_oauth_refused)
{
	struct auth *a = auth_new(oauth_refused[_i].m, oauth_refused[_i].user,
	    oauth_refused[_i].secret, oauth_refused[_i].host, 25);
	struct ob_err err;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, oauth_refused[_i].err);
	ck_assert_int_eq(err.ex, EX_CONFIG);
	auth_free(a);
}
END_TEST

START_TEST(test_oauth_error_challenge)
{
	static const char json[] = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=";
	struct auth *a;
	struct ob_err err;

	a = auth_new(AUTH_XOAUTH2, "u", "t", NULL, 0);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, json, out, sizeof out, &err), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(auth_step(a, json, out, sizeof out, &err), -1);
	ck_assert_str_eq(err.text, "unexpected second XOAUTH2 challenge");
	auth_free(a);
	a = auth_new(AUTH_OAUTHBEARER, "u", "t", "h", 587);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	/* even a malformed error challenge gets the 0x01 answer */
	ck_assert_int_eq(auth_step(a, "not base64!", out, sizeof out, &err),
	    0);
	ck_assert_str_eq(out, "AQ==");
	auth_free(a);
	a = auth_new(AUTH_OAUTHBEARER, "u", "t", "h", 587);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_done(a, &err), 0);
	auth_free(a);
}
END_TEST

/* ---- LOGIN ------------------------------------------------------------ */

/* Challenges in order; the expected answers and return values. */
static const struct {
	const char *ch[3];
	const char *ans[3];
	int rv[3];
	const char *err;
} login_cases[] = {
	{ { "VXNlcm5hbWU6", "UGFzc3dvcmQ6" }, { "dXNlcg==", "cGVuY2ls" },
	  { 0, 1 }, NULL },
	/* password asked first */
	{ { "UGFzc3dvcmQ6", "VXNlcm5hbWU6" }, { "cGVuY2ls", "dXNlcg==" },
	  { 0, 1 }, NULL },
	/* "username:" and "PASSWORD", case-insensitive */
	{ { "dXNlcm5hbWU6", "UEFTU1dPUkQ=" }, { "dXNlcg==", "cGVuY2ls" },
	  { 0, 1 }, NULL },
	/* "Login:": unknown */
	{ { "TG9naW46" }, { "" }, { -1 }, "LOGIN: unknown prompt \"Login:\"" },
	/* repeated */
	{ { "VXNlcm5hbWU6", "VXNlcm5hbWU6" }, { "dXNlcg==", "" }, { 0, -1 },
	  "LOGIN: prompt \"Username:\" repeated" },
	/* empty, bad base64 */
	{ { "" }, { "" }, { -1 }, "LOGIN: unknown prompt \"\"" },
	{ { "VXNlcm5hbWU" }, { "" }, { -1 },
	  "AUTH challenge is not valid base64" },
	/* "User" is not "username" */
	{ { "VXNlcg==" }, { "" }, { -1 }, "LOGIN: unknown prompt \"User\"" },
	/* a control character in the prompt is not echoed: "Pass\x01" */
	{ { "UGFzcwE=" }, { "" }, { -1 }, "LOGIN: unknown prompt \"Pass?\"" },
	/* a third challenge after both */
	{ { "VXNlcm5hbWU6", "UGFzc3dvcmQ6", "UGFzc3dvcmQ6" },
	  { "dXNlcg==", "cGVuY2ls", "" }, { 0, 1, -1 },
	  "LOGIN: prompt \"Password:\" repeated" },
};

START_TEST(test_login)
{
	struct auth *a = auth_new(AUTH_LOGIN, "user", "pencil", NULL, 0);
	struct ob_err err;
	int i, rv = 0;

	memset(&err, 0, sizeof err);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_str_eq(out, "LOGIN");
	for (i = 0; i < 3 && login_cases[_i].ch[i] != NULL; i++) {
		rv = auth_step(a, login_cases[_i].ch[i], out, sizeof out, &err);
		ck_assert_int_eq(rv, login_cases[_i].rv[i]);
		ck_assert_str_eq(out, login_cases[_i].ans[i]);
	}
	if (login_cases[_i].err != NULL) {
		ck_assert_str_eq(err.text, login_cases[_i].err);
		ck_assert_int_eq(auth_done(a, &err), -1);
	} else
		ck_assert_int_eq(auth_done(a, &err), 0);
	auth_free(a);
}
END_TEST

START_TEST(test_login_partial)
{
	struct auth *a = auth_new(AUTH_LOGIN, "user", "pencil", NULL, 0);
	struct ob_err err;

	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_done(a, &err), -1);
	ck_assert_int_eq(auth_step(a, "VXNlcm5hbWU6", out, sizeof out, &err),
	    0);
	ck_assert_int_eq(auth_done(a, &err), -1);
	ck_assert_str_eq(err.text,
	    "LOGIN: server accepted before both prompts");
	auth_free(a);
}
END_TEST

/* ---- line limits --------------------------------------------------------- */

/* "AUTH PLAIN " + base64("\0u\0" + pass) + CRLF <= 12288 (RFC 4954 4):
 * a 9201-octet password is the longest that fits. */
START_TEST(test_limits)
{
	static const struct {
		enum auth_mech m;
		size_t len;
		int rv;
		size_t outlen;
	} rows[] = {
		{ AUTH_PLAIN, 9201, 0, 6 + 12272 },
		{ AUTH_PLAIN, 9202, -1, 0 },
		{ AUTH_PLAIN, 1000000, -1, 0 },
		/* 19 + 9000 + 2 octets */
		{ AUTH_XOAUTH2, 9000, 0, 8 + 12028 },
		{ AUTH_XOAUTH2, 1000000, -1, 0 },
		{ AUTH_OAUTHBEARER, 1000000, -1, 0 },
		{ AUTH_SCRAM_SHA_256, 1000000, 0, 0 },
	};
	struct auth *a;
	struct ob_err err;
	char *s;
	int rv;

	s = malloc(rows[_i].len + 1);
	memset(s, 'p', rows[_i].len);
	s[rows[_i].len] = '\0';
	a = auth_new(rows[_i].m, "u", s, "h", 25);
	memset(&err, 0, sizeof err);
	rv = auth_start(a, out, sizeof out, &err);
	ck_assert_int_eq(rv, rows[_i].rv);
	if (rv == 0 && rows[_i].outlen > 0)
		ck_assert_uint_eq(strlen(out), rows[_i].outlen);
	if (rv < 0) {
		ck_assert_str_eq(err.text,
		    "AUTH line too long (over 12288 octets)");
		ck_assert_str_eq(out, "");
	}
	auth_free(a);
	free(s);
}
END_TEST

START_TEST(test_small_out)
{
	struct auth *a = auth_new(AUTH_PLAIN, "user", "pencil", NULL, 0);
	struct ob_err err;
	char small[10];

	ck_assert_int_eq(auth_start(a, small, sizeof small, &err), -1);
	auth_free(a);
	a = auth_new(AUTH_LOGIN, "user", "pencil", NULL, 0);
	ck_assert_int_eq(auth_start(a, small, 5, &err), -1);
	ck_assert_str_eq(err.text, "AUTH output buffer too small");
	auth_free(a);
	/* a long user name in a LOGIN answer */
	a = auth_new(AUTH_LOGIN, "user", "pencil", NULL, 0);
	ck_assert_int_eq(auth_start(a, out, sizeof out, &err), 0);
	ck_assert_int_eq(auth_step(a, "VXNlcm5hbWU6", small, sizeof small,
	    &err), 0);
	ck_assert_str_eq(small, "dXNlcg==");
	ck_assert_int_eq(auth_step(a, "UGFzc3dvcmQ6", small, 8, &err), -1);
	auth_free(a);
	auth_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;
	SRunner *sr;
	int nf;

#define N(t) ((int)(sizeof(t) / sizeof((t)[0])))
	tc = tcase_create("base64");
	tcase_add_loop_test(tc, test_b64_ok, 0, N(b64_ok));
	tcase_add_loop_test(tc, test_b64_bad, 0, N(b64_bad));
	tcase_add_test(tc, test_b64_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_mech_parse, 0, N(parse_cases));
	tcase_add_test(tc, test_mech_name);
	tcase_add_loop_test(tc, test_choose, 0, N(choose_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("scram");
	tcase_add_test(tc, test_scram_rfc7677);
	tcase_add_loop_test(tc, test_scram_tampered, 0, 7);
	tcase_add_test(tc, test_scram_server_error);
	tcase_add_test(tc, test_scram_sequence);
	tcase_add_loop_test(tc, test_scram_hostile, 0, N(scram_bad));
	tcase_add_test(tc, test_scram_hostile_encoding);
	tcase_add_test(tc, test_scram_escape);
	tcase_add_loop_test(tc, test_scram_refused, 0, N(scram_refused));
	suite_add_tcase(s, tc);

	tc = tcase_create("initial");
	tcase_add_loop_test(tc, test_initial, 0, N(initial));
	tcase_add_test(tc, test_plain_flow);
	tcase_add_loop_test(tc, test_oauth_refused, 0, N(oauth_refused));
	tcase_add_test(tc, test_oauth_error_challenge);
	suite_add_tcase(s, tc);

	tc = tcase_create("login");
	tcase_add_loop_test(tc, test_login, 0, N(login_cases));
	tcase_add_test(tc, test_login_partial);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, test_limits, 0, 7);
	tcase_add_test(tc, test_small_out);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
