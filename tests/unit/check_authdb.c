/* check_authdb.c - the listener's users file (src/authdb.c). */
#include "config.h"

#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authdb.h"
#include "util.h"

static char tpath[256];

static void
setup(void)
{
	int fd;

	(void)ob_snprintf(tpath, sizeof tpath, "%s/check_authdb.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(tpath);
	ck_assert_int_ne(fd, -1);
	close(fd);
}

static void
teardown(void)
{
	(void)unlink(tpath);
}

static void
put(const char *text, mode_t mode)
{
	FILE *fp = fopen(tpath, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(tpath, mode), 0);
}

/* hash: SHA-512-crypt of PASS with a fixed salt */
static char *
hash(const char *pass)
{
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof cd);
	h = crypt_r(pass, "$6$saltsaltsalt$", &cd);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h[0], '$');
	return xstrdup(h);
}

START_TEST(check_passwords)
{
	struct authdb *db;
	char *h1 = hash("secret one"), *h2 = hash("two"), *text;

	text = xasprintf("# users\n\napp:%s\nother:%s   # comment\r\n", h1, h2);
	put(text, 0600);
	ck_assert_int_eq(authdb_load(&db, tpath, NULL), 0);
	ck_assert_uint_eq(authdb_count(db), 2);
	ck_assert_int_eq(authdb_check(db, "app", "secret one"), 1);
	ck_assert_int_eq(authdb_check(db, "other", "two"), 1);
	ck_assert_int_eq(authdb_check(db, "app", "two"), 0);
	ck_assert_int_eq(authdb_check(db, "app", "secret one "), 0);
	ck_assert_int_eq(authdb_check(db, "app", ""), 0);
	ck_assert_int_eq(authdb_check(db, "nobody", "secret one"), 0);
	ck_assert_int_eq(authdb_check(db, "", ""), 0);
	authdb_free(db);
	free(text);
	free(h1);
	free(h2);
}
END_TEST

static const struct {
	const char *text;
	mode_t mode;
	const char *err;	/* after "PATH" */
} bads[] = {
	{ "app:$6$x$y\n", 0644, ": others may read or write it (chmod 640, "
	    "or 600)\n" },
	{ "app:plaintext\n", 0600, ":1: not a crypt(3) hash (make one with: "
	    "openssl passwd -6, or mkpasswd -m yescrypt)\n" },
	{ "# c\napp\n", 0600, ":2: want USER:HASH\n" },
	{ ":$6$x$y\n", 0600, ":1: want USER:HASH\n" },
	{ "a:$6$x$y\na:$6$x$z\n", 0600, ":2: user given twice\n" },
	{ "a:$1\n", 0600, ":1: not a crypt(3) hash (make one with: openssl "
	    "passwd -6, or mkpasswd -m yescrypt)\n" },
	{ "a:$zz$abc$def\n", 0600, ":1: a hash of a kind this system's "
	    "crypt(3) does not know\n" },
};

START_TEST(bad_files)
{
	struct authdb *db = (struct authdb *)1;
	char *errs = NULL, *want;
	size_t len;
	FILE *es = open_memstream(&errs, &len);

	ck_assert_ptr_nonnull(es);
	put(bads[_i].text, bads[_i].mode);
	ck_assert_int_eq(authdb_load(&db, tpath, es), 1);
	ck_assert_int_eq(fclose(es), 0);
	ck_assert_ptr_null(db);
	want = xasprintf("%s%s", tpath, bads[_i].err);
	ck_assert_str_eq(errs, want);
	free(want);
	free(errs);
}
END_TEST

START_TEST(missing_file)
{
	struct authdb *db = (struct authdb *)1;

	ck_assert_int_eq(unlink(tpath), 0);
	ck_assert_int_eq(authdb_load(&db, tpath, NULL), 1);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(authdb_check(NULL, "a", "b"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("authdb");
	TCase *tc = tcase_create("authdb");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, check_passwords);
	tcase_add_loop_test(tc, bad_files, 0, sizeof bads / sizeof bads[0]);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
