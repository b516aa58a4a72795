/* check_tlspol.c - unit tests of tlspol.c: the per-domain TLS policy file
 * of direct (MX) delivery.
 *
 * Valid files are a table of (file text, lookups): each lookup is made
 * with two different defaults, so a rule that matches and the default
 * are told apart.  Invalid files are a table of (file text, expected
 * error lines): the count returned, *pol NULL, and each "PATH:LINE:
 * problem" line exactly.  Lengths at their limits (line 1024 bytes,
 * label 63, name 253) are built at run time.
 *
 * Each test writes its file under a fresh mkdtemp directory (a checked
 * fixture, run inside the forked test) and reads the error stream back
 * with open_memstream.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlspol.h"
#include "util.h"

#define NELEM(a)	((int)(sizeof (a) / sizeof (a)[0]))
#define DEF		(-1)	/* a lookup that must give the default */

/* What *pol holds before tlspol_load, which must overwrite it. */
static int poison;
#define POISON		((struct tlspol *)(void *)&poison)

static char tdir[256];
static char tpath[512];		/* the policy file of the current test */

static void
setup(void)
{
	ck_assert_int_ne(ob_snprintf(tdir, sizeof tdir,
	    "%s/check_tlspol.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
	    "/tmp"), -1);
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_ne(ob_snprintf(tpath, sizeof tpath, "%s/tls_policy",
	    tdir), -1);
}

static void
teardown(void)
{
	(void)unlink(tpath);
	ck_assert_int_eq(rmdir(tdir), 0);
}

static void
write_file(const char *data, size_t len)
{
	FILE *fp = fopen(tpath, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* load: write DATA (LEN octets) to tpath and load it.  The error count;
 * *ERRS gets the error text ("" when none; caller frees). */
static int
load(struct tlspol **pol, const char *data, size_t len, char **errs)
{
	size_t elen = 0;
	FILE *es;
	int n;

	*errs = NULL;
	ck_assert_ptr_nonnull(es = open_memstream(errs, &elen));
	write_file(data, len);
	*pol = POISON;
	n = tlspol_load(pol, tpath, es);
	ck_assert_int_eq(fclose(es), 0);
	ck_assert_uint_eq(strlen(*errs), elen);
	return n;
}

/* load_ok: load DATA, which must be valid. */
static struct tlspol *
load_ok(const char *data, size_t len)
{
	struct tlspol *pol;
	char *errs;
	int n = load(&pol, data, len, &errs);

	ck_assert_msg(n == 0, "%d errors: %s", n, errs);
	ck_assert_str_eq(errs, "");
	ck_assert_ptr_nonnull(pol);
	free(errs);
	return pol;
}

/* lookup_is: NAME gives WANT whatever the default (or the default, for
 * WANT DEF). */
static void
lookup_is(const struct tlspol *pol, const char *name, int want)
{
	static const enum tlspol_level defs[] = { TLSPOL_NONE, TLSPOL_VERIFY,
	    TLSPOL_MAY };
	enum tlspol_level got;
	size_t i;

	for (i = 0; i < sizeof defs / sizeof defs[0]; i++) {
		got = tlspol_lookup(pol, name, defs[i]);
		ck_assert_msg((int)got == (want == DEF ? (int)defs[i] : want),
		    "lookup \"%s\" (default %s): %s, want %s", name,
		    tlspol_name(defs[i]), tlspol_name(got), want == DEF ?
		    "the default" : tlspol_name((enum tlspol_level)want));
	}
}

/* ---- valid files ------------------------------------------------------ */

struct look {
	const char *name;	/* NULL ends */
	int	 want;		/* enum tlspol_level, or DEF */
};

static const struct {
	const char *what;
	const char *text;
	size_t	 len;		/* 0 = strlen(text) */
	struct look look[10];
} goods[] = {
	{ "comments and blank lines",
	  "# TLS policy\n\n   \n\t\nexample.org verify # trailing\n"
	  "\t# indented comment\n#example.net none\nexample.com may#close\n",
	  0, { { "example.org", TLSPOL_VERIFY }, { "example.com", TLSPOL_MAY },
	  { "example.net", DEF }, { "#example.net", DEF }, { NULL, 0 } } },
	{ "tabs and spaces",
	  "example.org\tencrypt\n\t example.net \t none\t \n"
	  "  example.com    verify\n",
	  0, { { "example.org", TLSPOL_ENCRYPT },
	  { "example.net", TLSPOL_NONE }, { "example.com", TLSPOL_VERIFY },
	  { NULL, 0 } } },
	{ "CRLF line ends",
	  "# comment\r\nexample.org verify\r\n\r\n.example.net may\r\n"
	  "example.com none # x\r\n",
	  0, { { "example.org", TLSPOL_VERIFY },
	  { "a.example.net", TLSPOL_MAY }, { "example.net", DEF },
	  { "example.com", TLSPOL_NONE }, { NULL, 0 } } },
	{ "case of domain and policy",
	  "Example.ORG VERIFY\n.Sub.Example.Org Encrypt\nexample.NET nOnE\n"
	  "EXAMPLE.COM May\n",
	  0, { { "example.org", TLSPOL_VERIFY },
	  { "EXAMPLE.org", TLSPOL_VERIFY }, { "x.SUB.example.ORG",
	  TLSPOL_ENCRYPT }, { "sub.example.org", DEF },
	  { "Example.Net", TLSPOL_NONE }, { "example.com", TLSPOL_MAY },
	  { NULL, 0 } } },
	{ "every level",
	  "a.example none\nb.example may\nc.example encrypt\n"
	  "d.example verify\n",
	  0, { { "a.example", TLSPOL_NONE }, { "b.example", TLSPOL_MAY },
	  { "c.example", TLSPOL_ENCRYPT }, { "d.example", TLSPOL_VERIFY },
	  { "e.example", DEF }, { "example", DEF }, { NULL, 0 } } },
	{ ".parent: subdomains only",
	  ".example.org encrypt\n",
	  0, { { "a.example.org", TLSPOL_ENCRYPT },
	  { "a.b.example.org", TLSPOL_ENCRYPT }, { "example.org", DEF },
	  { "badexample.org", DEF }, { "org", DEF },
	  { "example.org.evil", DEF }, { NULL, 0 } } },
	{ "exact beats parent",
	  ".example.org encrypt\nexample.org verify\na.example.org none\n",
	  0, { { "example.org", TLSPOL_VERIFY }, { "a.example.org",
	  TLSPOL_NONE }, { "b.example.org", TLSPOL_ENCRYPT },
	  { "b.a.example.org", TLSPOL_ENCRYPT }, { NULL, 0 } } },
	{ "exact beats parent, exact written last",
	  "a.example.org none\n.example.org encrypt\n.a.example.org may\n",
	  0, { { "a.example.org", TLSPOL_NONE },
	  { "b.a.example.org", TLSPOL_MAY }, { NULL, 0 } } },
	{ "nearer parent beats farther",
	  ".org none\n.example.org verify\n.a.example.org may\n",
	  0, { { "x.a.example.org", TLSPOL_MAY },
	  { "y.x.a.example.org", TLSPOL_MAY },
	  { "a.example.org", TLSPOL_VERIFY }, { "x.example.org",
	  TLSPOL_VERIFY }, { "example.org", TLSPOL_NONE },
	  { "example.net", DEF }, { "org", DEF }, { NULL, 0 } } },
	{ "nearer parent beats farther, in the other order",
	  ".a.example.org may\n.example.org verify\n.org none\n",
	  0, { { "x.a.example.org", TLSPOL_MAY },
	  { "a.example.org", TLSPOL_VERIFY }, { "example.org", TLSPOL_NONE },
	  { NULL, 0 } } },
	{ "trailing dot in the looked-up name",
	  "example.org verify\n.example.net encrypt\n",
	  0, { { "example.org.", TLSPOL_VERIFY }, { "EXAMPLE.ORG.",
	  TLSPOL_VERIFY }, { "a.example.net.", TLSPOL_ENCRYPT },
	  { "example.net.", DEF }, { ".", DEF }, { "", DEF },
	  { NULL, 0 } } },
	{ "no match: the default",
	  "example.org verify\n.example.net may\n",
	  0, { { "example.com", DEF }, { "org", DEF },
	  { "example.org.uk", DEF }, { "xexample.org", DEF },
	  { "example", DEF }, { "net", DEF }, { "", DEF }, { NULL, 0 } } },
	{ "empty file", "", 0, { { "example.org", DEF }, { "", DEF },
	  { NULL, 0 } } },
	{ "only comments and blanks", "# nothing\n\n  # here\r\n\n", 0,
	  { { "example.org", DEF }, { NULL, 0 } } },
	{ "no newline at the end", "example.org verify", 0,
	  { { "example.org", TLSPOL_VERIFY }, { NULL, 0 } } },
	{ "same domain twice, same level",
	  "example.org verify\n.example.net may\nEXAMPLE.org VERIFY\n"
	  ".example.NET may\n",
	  0, { { "example.org", TLSPOL_VERIFY },
	  { "a.example.net", TLSPOL_MAY }, { NULL, 0 } } },
	{ "digits, hyphens, underscores",
	  "_mta-sts.example-1.org none\n123.example may\n.xn--bcher-kva.ch "
	  "verify\n",
	  0, { { "_mta-sts.example-1.org", TLSPOL_NONE },
	  { "123.example", TLSPOL_MAY }, { "mx.xn--bcher-kva.ch",
	  TLSPOL_VERIFY }, { NULL, 0 } } },
	{ "a one-label domain", "localhost none\n.test may\n", 0,
	  { { "localhost", TLSPOL_NONE }, { "mx.test", TLSPOL_MAY },
	  { "test", DEF }, { NULL, 0 } } },
};

START_TEST(good_files)
{
	const struct look *l;
	struct tlspol *pol;
	size_t len = goods[_i].len ? goods[_i].len : strlen(goods[_i].text);

	pol = load_ok(goods[_i].text, len);
	for (l = goods[_i].look; l->name != NULL; l++)
		lookup_is(pol, l->name, l->want);
	tlspol_free(pol);
}
END_TEST

/* No policy at all (tls_policy not set): the default. */
START_TEST(null_policy)
{
	lookup_is(NULL, "example.org", DEF);
	lookup_is(NULL, "", DEF);
	tlspol_free(NULL);
}
END_TEST

static const struct {
	enum tlspol_level level;
	const char *name;
} names[] = {
	{ TLSPOL_NONE, "none" },
	{ TLSPOL_MAY, "may" },
	{ TLSPOL_ENCRYPT, "encrypt" },
	{ TLSPOL_VERIFY, "verify" },
	{ (enum tlspol_level)4, "?" },
	{ (enum tlspol_level)99, "?" },
};

/* tlspol_name, and its names read back from a file. */
START_TEST(level_names)
{
	struct tlspol *pol;
	char text[64];
	int n;

	ck_assert_str_eq(tlspol_name(names[_i].level), names[_i].name);
	if ((unsigned)names[_i].level > TLSPOL_VERIFY)
		return;
	n = ob_snprintf(text, sizeof text, "example.org %s\n",
	    names[_i].name);
	ck_assert_int_gt(n, 0);
	pol = load_ok(text, (size_t)n);
	lookup_is(pol, "example.org", (int)names[_i].level);
	tlspol_free(pol);
}
END_TEST

/* ---- lengths at their limits ------------------------------------------ */

/* fill: LEN copies of C at P, NUL-terminated. */
static char *
fill(char *p, int c, size_t len)
{
	memset(p, c, len);
	p[len] = '\0';
	return p;
}

/* name_of: a domain of exactly LEN octets (labels of 63 and a last
 * shorter one), in BUF of at least LEN + 1. */
static char *
name_of(char *buf, size_t len)
{
	size_t i, lab = 0;

	for (i = 0; i < len; i++) {
		if (lab == 63 && i + 1 < len) {
			buf[i] = '.';
			lab = 0;
		} else {
			buf[i] = (char)('a' + (i % 26));
			lab++;
		}
	}
	buf[len] = '\0';
	ck_assert_uint_eq(strlen(buf), len);
	ck_assert_int_ne(buf[len - 1], '.');
	return buf;
}

/* Lines of 1024 bytes are read (with or without a newline); the
 * longest label (63) and name (253, with a leading '.' for a parent). */
START_TEST(limits_ok)
{
	struct tlspol *pol;
	struct buf b;
	char name[300], lab[70], look[320];

	/* a line of exactly 1024 bytes, then one more rule */
	buf_init(&b, 0);
	ck_assert_int_eq(buf_addstr(&b, "example.org verify #"), 0);
	while (b.len < 1024)
		ck_assert_int_eq(buf_add(&b, "x", 1), 0);
	ck_assert_int_eq(buf_addstr(&b, "\nexample.net may\n"), 0);
	pol = load_ok(b.p, b.len);
	lookup_is(pol, "example.org", TLSPOL_VERIFY);
	lookup_is(pol, "example.net", TLSPOL_MAY);
	tlspol_free(pol);
	/* ... and as the last line, without a newline */
	buf_clear(&b);
	ck_assert_int_eq(buf_addstr(&b, "example.net may\nexample.org "
	    "verify"), 0);
	while (b.len < 16 + 1024)
		ck_assert_int_eq(buf_add(&b, " ", 1), 0);
	pol = load_ok(b.p, b.len);
	lookup_is(pol, "example.org", TLSPOL_VERIFY);
	tlspol_free(pol);

	/* a 63-octet label */
	buf_clear(&b);
	fill(lab, 'l', 63);
	ck_assert_int_ne(buf_printf(&b, "%s.example encrypt\n.%s.example "
	    "none\n", lab, lab), -1);
	pol = load_ok(b.p, b.len);
	ck_assert_int_ne(ob_snprintf(look, sizeof look, "%s.example", lab),
	    -1);
	lookup_is(pol, look, TLSPOL_ENCRYPT);
	ck_assert_int_ne(ob_snprintf(look, sizeof look, "mx.%s.example", lab),
	    -1);
	lookup_is(pol, look, TLSPOL_NONE);
	tlspol_free(pol);

	/* a 253-octet name, exact and (".") as a parent */
	buf_clear(&b);
	name_of(name, 253);
	ck_assert_int_ne(buf_printf(&b, "%s verify\n.%s may\n", name, name),
	    -1);
	pol = load_ok(b.p, b.len);
	lookup_is(pol, name, TLSPOL_VERIFY);
	ck_assert_int_ne(ob_snprintf(look, sizeof look, "%s.", name), -1);
	lookup_is(pol, look, TLSPOL_VERIFY);
	tlspol_free(pol);
	buf_clear(&b);
	name_of(name, 251);
	ck_assert_int_ne(buf_printf(&b, ".%s may\n", name), -1);
	pol = load_ok(b.p, b.len);
	ck_assert_int_ne(ob_snprintf(look, sizeof look, "a.%s", name), -1);
	lookup_is(pol, look, TLSPOL_MAY);
	ck_assert_int_ne(ob_snprintf(look, sizeof look, "a.%s.", name), -1);
	lookup_is(pol, look, TLSPOL_MAY);
	lookup_is(pol, name, DEF);
	tlspol_free(pol);
	buf_free(&b);
}
END_TEST

/* Names too long to be domains get the default, never a crash. */
START_TEST(lookup_long)
{
	struct tlspol *pol = load_ok(".org verify\n", 12);
	char name[2000];

	fill(name, 'a', sizeof name - 1);
	lookup_is(pol, name, DEF);
	memcpy(name + sizeof name - 5, ".org", 4);
	lookup_is(pol, name, DEF);
	lookup_is(pol, name + sizeof name - 1 - 250, TLSPOL_VERIFY);
	fill(name, '.', 300);
	lookup_is(pol, name, DEF);
	tlspol_free(pol);
}
END_TEST

/* ---- invalid files ---------------------------------------------------- */

static const struct {
	const char *what;
	const char *text;
	size_t	 len;		/* 0 = strlen(text) */
	const char *errs[4];	/* "LINE: problem" each, after "PATH:" */
} bads[] = {
	{ "unknown level", "example.org maybe\n", 0,
	  { "1: unknown policy \"maybe\" (none, may, encrypt or verify)" } },
	{ "unknown level, after good lines",
	  "# x\nexample.org verify\n\nexample.net dane\n", 0,
	  { "4: unknown policy \"dane\" (none, may, encrypt or verify)" } },
	{ "a long unknown level is cut",
	  "example.org verifyverifyverifyverifyverifyverify\n", 0,
	  { "1: unknown policy \"verifyverifyverifyverifyverifyve\" (none, "
	  "may, encrypt or verify)" } },
	{ "missing level", "example.org\n", 0,
	  { "1: want \"DOMAIN POLICY\"" } },
	{ "missing level, commented out", "example.org # verify\n", 0,
	  { "1: want \"DOMAIN POLICY\"" } },
	{ "missing level, CRLF", "example.org\r\n", 0,
	  { "1: want \"DOMAIN POLICY\"" } },
	{ "three fields", "\nexample.org verify now\n", 0,
	  { "2: want \"DOMAIN POLICY\"" } },
	{ "level first", "verify example.org\n", 0,
	  { "1: unknown policy \"example.org\" (none, may, encrypt or "
	  "verify)" } },
	{ "bad domain chars", "exa!mple.org verify\n", 0,
	  { "1: not a domain name: exa!mple.org" } },
	{ "a wildcard", "*.example.org verify\n", 0,
	  { "1: not a domain name: *.example.org" } },
	{ "an address", "joe@example.org verify\n", 0,
	  { "1: not a domain name: joe@example.org" } },
	{ "8-bit", "b\xc3\xbc" "cher.ch verify\n", 0,
	  { "1: not a domain name: b\xc3\xbc" "cher.ch" } },
	{ "empty label", "a..b verify\n", 0,
	  { "1: not a domain name: a..b" } },
	{ "leading dots", "..example.org verify\n", 0,
	  { "1: not a domain name: ..example.org" } },
	{ "a trailing dot", "example.org. verify\n", 0,
	  { "1: not a domain name: example.org." } },
	{ "only a dot", ". verify\n", 0,
	  { "1: not a domain name: ." } },
	{ "same domain twice, different levels",
	  "example.org verify\nexample.org may\n", 0,
	  { "2: example.org given twice, as verify and may" } },
	{ "same parent twice, different levels, case",
	  ".example.org encrypt\n# x\n.EXAMPLE.ORG none\n", 0,
	  { "3: .example.org given twice, as encrypt and none" } },
	{ "a NUL byte", "example.org\0 verify\n", 20,
	  { "1: NUL byte in line" } },
	{ "a NUL byte, later lines still read",
	  "x.org\0 none\nexample.org verify\nexample.net bogus\n", 49,
	  { "1: NUL byte in line",
	  "3: unknown policy \"bogus\" (none, may, encrypt or verify)" } },
	{ "a NUL byte at the end, no newline", "example.org verify\0", 19,
	  { "1: NUL byte in line" } },
	{ "every bad line is counted",
	  "a..b verify\nexample.org\nexample.net maybe\nok.example none\n",
	  0, { "1: not a domain name: a..b", "2: want \"DOMAIN POLICY\"",
	  "3: unknown policy \"maybe\" (none, may, encrypt or verify)" } },
};

/* check_errs: ERRS holds exactly the lines "PATH:" + WANT[i] + "\n". */
static void
check_errs(const char *errs, const char *const *want, size_t n)
{
	const char *expect;
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		ck_assert_int_ne(buf_printf(&b, "%s:%s\n", tpath, want[i]), -1);
	expect = b.p != NULL ? b.p : "";
	ck_assert_str_eq(errs, expect);
	buf_free(&b);
}

START_TEST(bad_files)
{
	struct tlspol *pol;
	size_t len = bads[_i].len ? bads[_i].len : strlen(bads[_i].text), n;
	char *errs;

	for (n = 0; n < 4 && bads[_i].errs[n] != NULL; n++)
		;
	ck_assert_int_eq(load(&pol, bads[_i].text, len, &errs), (int)n);
	ck_assert_ptr_null(pol);
	check_errs(errs, bads[_i].errs, n);
	free(errs);
	/* the same without an error stream: the same count */
	pol = POISON;
	ck_assert_int_eq(tlspol_load(&pol, tpath, NULL), (int)n);
	ck_assert_ptr_null(pol);
}
END_TEST

/* Lines over 1024 bytes, labels over 63, names over 253, built here. */
START_TEST(limits_bad)
{
	struct tlspol *pol;
	struct buf b;
	const char *want[2];
	char name[300], lab[70], *errs, *w1, *w2;

	/* 1025 bytes and a newline; then a long line with no newline: the
	 * line numbers of what follows stay right */
	buf_init(&b, 0);
	ck_assert_int_eq(buf_addstr(&b, "example.org verify #"), 0);
	while (b.len < 1025)
		ck_assert_int_eq(buf_add(&b, "x", 1), 0);
	ck_assert_int_eq(buf_addstr(&b, "\nexample.net bogus\n"
	    "example.com none "), 0);
	while (b.len < 1025 + 19 + 5000)
		ck_assert_int_eq(buf_add(&b, "#", 1), 0);
	ck_assert_int_eq(load(&pol, b.p, b.len, &errs), 3);
	ck_assert_ptr_null(pol);
	w1 = xasprintf("%s:1: line longer than 1024 bytes\n"
	    "%s:2: unknown policy \"bogus\" (none, may, encrypt or verify)\n"
	    "%s:3: line longer than 1024 bytes\n", tpath, tpath, tpath);
	ck_assert_str_eq(errs, w1);
	free(w1);
	free(errs);

	/* 1025 bytes at the end, no newline */
	buf_clear(&b);
	ck_assert_int_eq(buf_addstr(&b, "example.org verify"), 0);
	while (b.len < 1025)
		ck_assert_int_eq(buf_add(&b, " ", 1), 0);
	ck_assert_int_eq(load(&pol, b.p, b.len, &errs), 1);
	ck_assert_ptr_null(pol);
	want[0] = "1: line longer than 1024 bytes";
	check_errs(errs, want, 1);
	free(errs);

	/* a 64-octet label, exact and as a parent */
	buf_clear(&b);
	fill(lab, 'l', 64);
	ck_assert_int_ne(buf_printf(&b, "%s.example encrypt\n"
	    ".example.%s none\n", lab, lab), -1);
	ck_assert_int_eq(load(&pol, b.p, b.len, &errs), 2);
	ck_assert_ptr_null(pol);
	w1 = xasprintf("1: not a domain name: %.64s", lab);
	w2 = xasprintf("2: not a domain name: .example.%.55s", lab);
	want[0] = w1;
	want[1] = w2;
	check_errs(errs, want, 2);
	free(w1);
	free(w2);
	free(errs);

	/* a 254-octet name, exact and as a parent */
	buf_clear(&b);
	name_of(name, 254);
	ck_assert_int_ne(buf_printf(&b, "%s verify\n.%s may\n", name, name),
	    -1);
	ck_assert_int_eq(load(&pol, b.p, b.len, &errs), 2);
	ck_assert_ptr_null(pol);
	w1 = xasprintf("1: not a domain name: %.64s", name);
	w2 = xasprintf("2: not a domain name: .%.63s", name);
	want[0] = w1;
	want[1] = w2;
	check_errs(errs, want, 2);
	free(w1);
	free(w2);
	free(errs);
	buf_free(&b);
}
END_TEST

/* A file that cannot be read: one error naming it, no policy. */
START_TEST(unreadable)
{
	struct tlspol *pol;
	size_t elen = 0;
	char *errs = NULL, *errs2 = NULL, *want;
	FILE *es;

	ck_assert_ptr_nonnull(es = open_memstream(&errs, &elen));
	pol = POISON;
	ck_assert_int_eq(tlspol_load(&pol, tpath, es), 1);
	ck_assert_int_eq(fclose(es), 0);
	ck_assert_ptr_null(pol);
	want = xasprintf("%s: No such file or directory\n", tpath);
	ck_assert_str_eq(errs, want);
	free(want);
	free(errs);
	errs = NULL;
	pol = POISON;
	ck_assert_int_eq(tlspol_load(&pol, tpath, NULL), 1);
	ck_assert_ptr_null(pol);

	/* a directory opens, but does not read */
	ck_assert_int_eq(mkdir(tpath, 0700), 0);
	ck_assert_ptr_nonnull(es = open_memstream(&errs2, &elen));
	pol = POISON;
	ck_assert_int_eq(tlspol_load(&pol, tpath, es), 1);
	ck_assert_int_eq(fclose(es), 0);
	ck_assert_ptr_null(pol);
	want = xasprintf("%s: Is a directory\n", tpath);
	ck_assert_str_eq(errs2, want);
	free(want);
	free(errs2);
	ck_assert_int_eq(rmdir(tpath), 0);
}
END_TEST

/* ---- main ------------------------------------------------------------- */

static TCase *
tc_new(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

int
main(void)
{
	Suite *s = suite_create("tlspol");
	SRunner *r;
	TCase *tc;
	int failed;

	tc = tc_new(s, "good");
	tcase_add_loop_test(tc, good_files, 0, NELEM(goods));
	tcase_add_test(tc, null_policy);
	tcase_add_loop_test(tc, level_names, 0, NELEM(names));

	tc = tc_new(s, "limits");
	tcase_add_test(tc, limits_ok);
	tcase_add_test(tc, lookup_long);
	tcase_add_test(tc, limits_bad);

	tc = tc_new(s, "bad");
	tcase_add_loop_test(tc, bad_files, 0, NELEM(bads));
	tcase_add_test(tc, unreadable);

	r = srunner_create(s);
	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
