/* check_addr.c - address lists (RFC 5322 3.4, 4.4 and the examples of
 * appendix A), command-line addresses, RFC 5321 syntax and limits, and the
 * aliases file. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"

/* join: the list as "a|b|c", for exact comparison. */
static char *
join(const struct addr_list *l)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_addstr(&b, "");
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_addc(&b, '|');
		buf_addstr(&b, l->v[i]);
	}
	return b.p;
}

/* ---- addr_parse_header ----------------------------------------------------- */

struct hcase {
	const char	*in;
	const char	*out;	/* "a|b" on success, NULL for an error */
	const char	*err;	/* the exact error text */
};

static const struct hcase hcases[] = {
	{ "a@b.example", "a@b.example", NULL },
	{ "John Doe <john@example.org>", "john@example.org", NULL },
	{ "\"Doe, John\" <john@example.org>", "john@example.org", NULL },
	{ "john@example.org (John Doe)", "john@example.org", NULL },
	{ "(a (nested \\) comment) x) a@b", "a@b", NULL },
	{ "a@b, c@d", "a@b|c@d", NULL },
	{ "undisclosed-recipients:;", "", NULL },
	{ "undisclosed-recipients:", "", NULL },
	{ "team: a@b, c@d;", "a@b|c@d", NULL },
	{ "team: a@b, c@d;, e@f", "a@b|c@d|e@f", NULL },
	{ "a@b,,c@d", "a@b|c@d", NULL },
	{ " , a@b , ", "a@b", NULL },
	{ "", "", NULL },
	{ "   ", "", NULL },
	{ "<@route.example,@other.example:a@b>", "a@b", NULL },
	{ "<@route.example:a@b>", "a@b", NULL },
	{ "a@[1.2.3.4]", "a@[1.2.3.4]", NULL },
	{ "a@[ 1.2.3.4 ]", "a@[1.2.3.4]", NULL },
	{ "a@[IPv6:::1]", "a@[IPv6:::1]", NULL },
	{ "\"john doe\"@example.org", "\"john doe\"@example.org", NULL },
	{ "\"john\"@example.org", "john@example.org", NULL },
	{ "\"a\\\"b\"@x", "\"a\\\"b\"@x", NULL },
	{ "\"a\\\\b\"@x", "\"a\\\\b\"@x", NULL },
	{ "\"a\\b\"@x", "ab@x", NULL },
	{ "\"a@b\"@x", "\"a@b\"@x", NULL },
	{ "\"\"@x", "\"\"@x", NULL },
	{ "john . doe @ example . org", "john.doe@example.org", NULL },
	{ "\"john\".doe@x", "john.doe@x", NULL },
	{ "\"john smith\".doe@x", "\"john smith.doe\"@x", NULL },
	{ "a..b@docomo.example", "\"a..b\"@docomo.example", NULL },
	{ "a@Example.ORG", "a@Example.ORG", NULL },
	{ "Joe Q. Public <john.q.public@example.com>",
	  "john.q.public@example.com", NULL },
	{ "John\r\n Doe <j@x>", "j@x", NULL },
	{ "a@b,\r\n\tc@d", "a@b|c@d", NULL },
	{ "a@b,\n c@d", "a@b|c@d", NULL },
	{ "\"folded\r\n quoted\"@x", "\"folded quoted\"@x", NULL },
	{ "a@b\r\n", "a@b", NULL },
	{ "root", "root", NULL },
	{ "root, a@b", "root|a@b", NULL },
	{ "<root>", "root", NULL },
	{ "a@b <a@b>", "a@b", NULL },
	{ "x@y <a@b>", "a@b", NULL },
	{ "[Bot] <bot@x>", "bot@x", NULL },
	{ "J\xc3\xb6hn <j\xc3\xb6hn@ex\xc3\xa4mple.org>",
	  "j\xc3\xb6hn@ex\xc3\xa4mple.org", NULL },
	{ "a+tag/x=y@b", "a+tag/x=y@b", NULL },
	/* RFC 5322 appendix A */
	{ "\"Joe Q. Public\" <john.q.public@example.com>",
	  "john.q.public@example.com", NULL },
	{ "Mary Smith <mary@x.test>, jdoe@example.org, "
	  "Who? <one@y.test>", "mary@x.test|jdoe@example.org|one@y.test",
	  NULL },
	{ "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
	  "<sysservices@example.net>", "boss@nil.test|sysservices@example.net",
	  NULL },
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	  "c@a.test|joe@where.test|jdoe@one.test", NULL },
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	  "pete@silly.test", NULL },
	{ "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)"
	  "public.example>,\r\n         joe@example.org,\r\n  John "
	  "<jdoe@one.test> (my dear friend); (the end of the group)",
	  "c@public.example|joe@example.org|jdoe@one.test", NULL },
	{ "Joe Q. Public <john.q.public@example.com>, Mary Smith@example.net, "
	  "jdoe@test  . example", NULL,
	  "bad local part 'Mary Smith'" },
	{ "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	  "mary@example.net|jdoe@test.example", NULL },
	/* errors */
	{ "\"abc@x", NULL, "unterminated quoted string" },
	{ "<a@b", NULL, "missing '>'" },
	{ "<a@b<c>", NULL, "bad character '<' in address" },
	{ "a@b (comment", NULL, "unterminated comment" },
	{ "a@b (x (y)", NULL, "unterminated comment" },
	{ "a@b)", NULL, "unbalanced ')'" },
	{ "a@", NULL, "missing domain after '@'" },
	{ "@b", NULL, "missing local part before '@'" },
	{ "a@b..c", NULL, "empty label in domain 'b.'" },
	{ "a@b.", NULL, "empty label in domain 'b.'" },
	{ "John Smith", NULL,
	  "'John Smith' is not an address (missing '@' or '<...>')" },
	{ "john smith@x", NULL, "bad local part 'john smith'" },
	{ "a@b c@d", NULL, "missing ',' before 'c'" },
	{ "a@b\x01", NULL, "bad control character 0x01" },
	{ "a\nb@c", NULL, "bad control character 0x0a" },
	{ "a@b\r\nc@d", NULL, "bad control character 0x0d" },
	{ "a@b\x7f", NULL, "bad control character 0x7f" },
	{ "\"a\x01\"@b", NULL, "bad control character 0x01 in quoted string" },
	{ "a@b (\x02)", NULL, "bad control character 0x02 in comment" },
	{ "a@[1.2.3.4", NULL, "unterminated domain literal" },
	{ "a@[x[y]", NULL, "bad character '[' in domain literal" },
	/* found by fuzz_addr: forms SMTP cannot carry */
	{ "e@[a\\]b]", NULL, "quoted pair in domain literal (not usable in "
	  "SMTP)" },
	{ "e@[\\\\]", NULL, "quoted pair in domain literal (not usable in "
	  "SMTP)" },
	{ "e@[\\\t]", NULL, "quoted pair in domain literal (not usable in "
	  "SMTP)" },
	{ "\"\t\"@x", NULL, "TAB in a quoted string (not usable in SMTP)" },
	{ "\"a\\\tb\"@x", NULL, "TAB in a quoted string (not usable in "
	  "SMTP)" },
	{ "g1: g2: a@b;;", NULL, "nested group" },
	{ ": a@b;", NULL, "group without a name" },
	{ "<>", NULL, "empty address '<>'" },
	{ "Name <>", NULL, "empty address '<>'" },
	{ "a@b;", NULL, "unexpected ';' (addresses are separated by ',')" },
	{ "a@b>", NULL, "unexpected '>'" },
	{ "a@\"b\"", NULL, "quoted string in domain" },
	{ "a\\b@c", NULL, "bad character '\\' in address" },
	{ "<@r.example a@b>", NULL, "bad route in address" },
	{ "[1.2.3.4]@x", NULL, "bad local part '[1.2.3.4]'" },
	{ ".", NULL, "bad character '.' in address" },
	{ "\"\"", NULL, "empty address" },
	{ "a@b@c", NULL, "bad character '@' in address" },
	{ "Name <a@b> junk", NULL, "missing ',' before 'junk'" },
	{ "\"abc\\", NULL, "unterminated quoted string" },
};

START_TEST(header_case)
{
	const struct hcase *c = &hcases[_i];
	struct addr_list l;
	struct ob_err err;
	char *got;
	int r;

	addr_list_init(&l);
	memset(&err, 0, sizeof err);
	r = addr_parse_header(c->in, &l, &err);
	if (c->out != NULL) {
		ck_assert_msg(r == 0, "case %d '%s': %s", _i, c->in, err.text);
		got = join(&l);
		ck_assert_str_eq(got, c->out);
		free(got);
	} else {
		ck_assert_msg(r == -1, "case %d '%s' parsed", _i, c->in);
		ck_assert_str_eq(err.text, c->err);
		ck_assert_int_eq(err.kind, OB_PERM);
		ck_assert_int_eq(err.ex, EX_DATAERR);
	}
	addr_list_free(&l);
}
END_TEST

START_TEST(header_appends)
{
	struct addr_list l;
	char *got;

	addr_list_init(&l);
	addr_list_add(&l, "first@x");
	ck_assert_int_eq(addr_parse_header("a@b, a@b", &l, NULL), 0);
	got = join(&l);
	ck_assert_str_eq(got, "first@x|a@b|a@b");
	free(got);
	addr_list_free(&l);
	ck_assert_int_eq(l.n, 0);
}
END_TEST

START_TEST(header_long)
{
	struct addr_list l;
	struct ob_err err;
	char big[1200];

	memset(big, 'a', sizeof big);
	memcpy(big + sizeof big - 4, "@bc", 4);
	addr_list_init(&l);
	ck_assert_int_eq(addr_parse_header(big, &l, &err), -1);
	ck_assert_str_eq(err.text, "address too long");
	addr_list_free(&l);
}
END_TEST

/* ---- addr_parse_arg ------------------------------------------------------------ */

struct acase {
	const char	*in;
	int		 allow_null;
	const char	*out;
	const char	*err;
};

static const struct acase acases[] = {
	{ "a@b", 0, "a@b", NULL },
	{ "<a@b>", 0, "a@b", NULL },
	{ "Name <a@b>", 0, "a@b", NULL },
	{ "a@b (comment)", 0, "a@b", NULL },
	{ "root", 0, "root", NULL },
	{ " a@b ", 0, "a@b", NULL },
	{ "\"x y\"@b", 0, "\"x y\"@b", NULL },
	{ "<>", 1, "", NULL },
	{ "", 1, "", NULL },
	{ " < > ", 1, "", NULL },
	{ "<>", 0, NULL, "empty address" },
	{ "", 0, NULL, "empty address" },
	{ "a@b, c@d", 0, NULL,
	  "more than one address (give one address per argument)" },
	{ "g: a@b;", 0, NULL, "a group is not an address" },
	{ ",", 0, NULL, "no address" },
	{ "<a@b", 1, NULL, "missing '>'" },
	{ "<> x", 1, NULL, "empty address '<>'" },
};

START_TEST(arg_case)
{
	const struct acase *c = &acases[_i];
	struct ob_err err;
	char *out = (char *)"unset";
	int r;

	memset(&err, 0, sizeof err);
	r = addr_parse_arg(c->in, c->allow_null, &out, &err);
	if (c->out != NULL) {
		ck_assert_msg(r == 0, "case %d '%s': %s", _i, c->in, err.text);
		ck_assert_str_eq(out, c->out);
		free(out);
	} else {
		ck_assert_msg(r == -1, "case %d '%s' parsed", _i, c->in);
		ck_assert_ptr_null(out);
		ck_assert_str_eq(err.text, c->err);
		ck_assert_int_eq(err.ex, EX_DATAERR);
	}
}
END_TEST

/* ---- addr_valid_smtp, addr_is_local, unique ------------------------------------- */

struct vcase {
	const char	*a;
	int		 ok;
};

#define L64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D63 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define D61 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static const struct vcase vcases[] = {
	{ "a@b.example", 1 },
	{ "a@localhost", 1 },
	{ "first.last+tag@sub-domain.example", 1 },
	{ "", 0 },
	{ "root", 0 },
	{ "a@", 0 },
	{ "@b", 0 },
	{ "a..b@x", 0 },
	{ ".a@x", 0 },
	{ "a.@x", 0 },
	{ "a b@x", 0 },
	{ "\"a b\"@x", 1 },
	{ "\"a\\\"b\"@x", 1 },
	{ "\"a\"b\"@x", 0 },
	{ "\"\"@x", 1 },
	{ "\"a\x01\"@x", 0 },
	{ L64 "@x", 1 },
	{ L64 "a@x", 0 },
	{ "a@" D63 ".example", 1 },
	{ "a@" D63 "d.example", 0 },
	/* path: "<" 64 "@" 189 ">" = 256 octets */
	{ L64 "@" D63 "." D63 "." D61, 1 },
	{ L64 "@" D63 "." D63 "." D61 "d", 0 },
	{ "a@[1.2.3.4]", 1 },
	{ "a@[1.2.3.256]", 0 },
	{ "a@[1.2.3]", 0 },
	{ "a@[01.2.3.4]", 1 },
	{ "a@[IPv6:::1]", 1 },
	{ "a@[IPv6:2001:db8::1]", 1 },
	{ "a@[IPv6:zz]", 0 },
	{ "a@[tag:stuff]", 1 },
	{ "a@[tag:]", 0 },
	{ "a@[]", 0 },
	{ "a@-b.example", 0 },
	{ "a@b-.example", 0 },
	{ "a@b_c.example", 0 },
	{ "a@b..c", 0 },
	{ "a@b.", 0 },
	{ "j\xc3\xb6hn@ex\xc3\xa4mple.org", 1 },
	{ "a@b@c", 0 },
	{ "\"a@b\"@c", 1 },
};

START_TEST(valid_case)
{
	ck_assert_msg(addr_valid_smtp(vcases[_i].a) == vcases[_i].ok,
	    "case %d '%s' want %d", _i, vcases[_i].a, vcases[_i].ok);
}
END_TEST

START_TEST(is_local)
{
	ck_assert(addr_is_local("root"));
	ck_assert(addr_is_local("\"a@b\""));
	ck_assert(!addr_is_local("a@b"));
	ck_assert(!addr_is_local("\"a@b\"@c"));
}
END_TEST

START_TEST(unique)
{
	struct addr_list l;
	char *got;

	addr_list_init(&l);
	addr_list_add_unique(&l, "a@Example.org");
	addr_list_add_unique(&l, "a@example.ORG");
	addr_list_add_unique(&l, "A@example.org");
	addr_list_add_unique(&l, "root");
	addr_list_add_unique(&l, "root");
	addr_list_add_unique(&l, "Root");
	addr_list_add_unique(&l, "\"x@y\"@example.org");
	addr_list_add_unique(&l, "\"x@y\"@EXAMPLE.org");
	got = join(&l);
	ck_assert_str_eq(got,
	    "a@Example.org|A@example.org|root|Root|\"x@y\"@example.org");
	free(got);
	addr_list_free(&l);
}
END_TEST

/* ---- aliases ---------------------------------------------------------------------- */

static char tmpl[64];

static const char *
write_file(const char *text)
{
	int fd;

	ob_snprintf(tmpl, sizeof tmpl, "/tmp/check_addr.XXXXXX");
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmpl;
}

/* resolve: load TEXT, resolve NAME; "a|b" or "ERR:text" (FILE in the
 * text replaced by "F"). */
static char *
resolve(const char *text, const char *name)
{
	struct aliases *a = NULL;
	struct addr_list l;
	struct ob_err err;
	const char *path = text ? write_file(text) : NULL;
	char *got, *p;
	struct buf b;

	addr_list_init(&l);
	memset(&err, 0, sizeof err);
	if (aliases_load(&a, path, &err) == 0 &&
	    aliases_resolve(a, name, &l, &err) == 0) {
		got = join(&l);
	} else {
		buf_init(&b, 0);
		buf_addstr(&b, "ERR:");
		for (p = err.text; *p != '\0'; ) {
			if (path != NULL && strncmp(p, path, strlen(path)) == 0) {
				buf_addc(&b, 'F');
				p += strlen(path);
			} else
				buf_addc(&b, *p++);
		}
		got = b.p;
	}
	if (path != NULL)
		unlink(path);
	aliases_free(a);
	addr_list_free(&l);
	return got;
}

struct rcase {
	const char	*file;
	const char	*name;
	const char	*want;
};

static const struct rcase rcases[] = {
	{ "root: admin@example.org\n", "root", "admin@example.org" },
	{ "root: admin@example.org\n", "ROOT", "admin@example.org" },
	{ "Root: admin@example.org\n", "root", "admin@example.org" },
	{ "# comment\n\n   # indented comment\nroot: a@x\n", "root", "a@x" },
	{ "staff: a@x,\n  b@x\n\t, c@x\nother: d@x\n", "staff",
	  "a@x|b@x|c@x" },
	{ "staff: a@x,\n# comment inside\n  b@x\n", "staff", "a@x|b@x" },
	{ "root: admin\nadmin: ops, a@x\nops: a@x, b@y\n", "root", "a@x|b@y" },
	{ "x: a@X.org, a@x.ORG, A@x.org\n", "x", "a@X.org|A@x.org" },
	{ "root: Admin <a@x> (the admin), \"Ops Team\" <o@x>\n", "root",
	  "a@x|o@x" },
	{ "default: catch@x\nroot: r@x\n", "bob", "catch@x" },
	{ "default: catch@x\nroot: r@x\n", "root", "r@x" },
	{ "default: postmaster\npostmaster: pm@x\n", "bob", "pm@x" },
	{ "root: a@x\r\n", "root", "a@x" },
	{ "team: g: a@x, b@x;\n", "team", "a@x|b@x" },
	{ "a0: a1\na1: a2\na2: a3\na3: a4\na4: a5\na5: a6\na6: a7\na7: a8\n"
	  "a8: a9\na9: z@x\n", "a0", "z@x" },
	{ "a0: a1\na1: a2\na2: a3\na3: a4\na4: a5\na5: a6\na6: a7\na7: a8\n"
	  "a8: a9\na9: a10\na10: z@x\n", "a0",
	  "ERR:aliases for 'a0' nest deeper than 10 levels in F" },
	{ "a: b\nb: a\n", "a", "ERR:alias loop in F: a -> b -> a" },
	{ "a: a\n", "A", "ERR:alias loop in F: A -> a" },
	{ "default: nobody\n", "bob",
	  "ERR:alias loop in F: bob -> nobody (via 'default')" },
	{ "root: a@x\n", "bob", "ERR:no alias for local recipient 'bob' in F "
	  "(add 'bob: address' or 'default: address')" },
	{ "root: carol\n", "root", "ERR:no alias for local recipient 'carol' "
	  "in F (add 'carol: address' or 'default: address')" },
	{ "", "bob", "ERR:no alias for local recipient 'bob' in F "
	  "(add 'bob: address' or 'default: address')" },
	{ NULL, "bob", "ERR:no alias for local recipient 'bob': the 'aliases' "
	  "configuration key is not set (point it to a file with 'bob: "
	  "address' or 'default: address')" },
	/* load errors */
	{ "root a@x\n", "root", "ERR:F:1: missing ':' after the alias name" },
	{ " a@x\n", "root",
	  "ERR:F:1: continuation line without an alias before it" },
	{ "x: y@z\nroot: \"a@x\n", "root",
	  "ERR:F:2: alias 'root': unterminated quoted string" },
	{ "root: a@x,\n  <b@x\n", "root", "ERR:F:1: alias 'root': missing '>'" },
	{ "root:\n", "root", "ERR:F:1: alias 'root' has no address" },
	{ "root: a@x\nx: y@z\nROOT: b@x\n", "root",
	  "ERR:F:3: duplicate alias 'ROOT' (first at line 1)" },
	{ "root: |/usr/bin/procmail\n", "root", "ERR:F:1: alias 'root': "
	  "pipes, files and :include: are not supported (only addresses)" },
	{ "root: /var/mail/root\n", "root", "ERR:F:1: alias 'root': "
	  "pipes, files and :include: are not supported (only addresses)" },
	{ "root: :include:/etc/list\n", "root", "ERR:F:1: alias 'root': "
	  "pipes, files and :include: are not supported (only addresses)" },
	{ ": a@x\n", "root", "ERR:F:1: missing alias name before ':'" },
	{ "a b: a@x\n", "root", "ERR:F:1: bad alias name 'a b' (a local "
	  "name without spaces, quotes or '@')" },
	{ "a@b: a@x\n", "root", "ERR:F:1: bad alias name 'a@b' (a local "
	  "name without spaces, quotes or '@')" },
};

START_TEST(alias_case)
{
	const struct rcase *c = &rcases[_i];
	char *got = resolve(c->file, c->name);

	ck_assert_str_eq(got, c->want);
	free(got);
}
END_TEST

START_TEST(alias_errors_kind)
{
	struct aliases *a = NULL;
	struct addr_list l;
	struct ob_err err;

	addr_list_init(&l);
	ck_assert_int_eq(aliases_load(&a, "/nonexistent/aliases", &err), -1);
	ck_assert_ptr_null(a);
	ck_assert_str_eq(err.text,
	    "/nonexistent/aliases: No such file or directory");
	ck_assert_int_eq(err.ex, EX_CONFIG);
	ck_assert_int_eq(aliases_load(&a, write_file("root: x\n"), &err), 0);
	unlink(tmpl);
	ck_assert_int_eq(aliases_resolve(a, "root", &l, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(err.ex, EX_NOUSER);
	aliases_free(a);
	ck_assert_int_eq(aliases_load(&a, write_file("x\n"), &err), -1);
	unlink(tmpl);
	ck_assert_int_eq(err.ex, EX_CONFIG);
	aliases_free(NULL);
	addr_list_free(&l);
}
END_TEST

START_TEST(alias_appends)
{
	struct aliases *a = NULL;
	struct addr_list l;
	char *got;

	addr_list_init(&l);
	addr_list_add(&l, "a@x");
	ck_assert_int_eq(aliases_load(&a, write_file("r: a@x, b@x\n"), NULL),
	    0);
	unlink(tmpl);
	ck_assert_int_eq(aliases_resolve(a, "r", &l, NULL), 0);
	got = join(&l);
	ck_assert_str_eq(got, "a@x|b@x");
	free(got);
	aliases_free(a);
	addr_list_free(&l);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("header");
	tcase_add_loop_test(tc, header_case, 0,
	    (int)(sizeof hcases / sizeof hcases[0]));
	tcase_add_test(tc, header_appends);
	tcase_add_test(tc, header_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("arg");
	tcase_add_loop_test(tc, arg_case, 0,
	    (int)(sizeof acases / sizeof acases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("smtp");
	tcase_add_loop_test(tc, valid_case, 0,
	    (int)(sizeof vcases / sizeof vcases[0]));
	tcase_add_test(tc, is_local);
	tcase_add_test(tc, unique);
	suite_add_tcase(s, tc);

	tc = tcase_create("aliases");
	tcase_add_loop_test(tc, alias_case, 0,
	    (int)(sizeof rcases / sizeof rcases[0]));
	tcase_add_test(tc, alias_errors_kind);
	tcase_add_test(tc, alias_appends);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
