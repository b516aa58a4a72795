/* check_secret.c - auth_password_file (modes, type, size, first line)
 * and auth_password_command (status, output, timeout, process group). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"

static char dir[64];
static char path[256];

static void
setup(void)
{
	/* a fresh template each time: with CK_FORK=no setup runs again in
	 * the same process */
	ck_assert_int_ge(ob_snprintf(dir, sizeof dir,
	    "/tmp/check_secret.XXXXXX"), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_ge(ob_snprintf(path, sizeof path, "%s/pw", dir), 0);
}

static void
teardown(void)
{
	char cmd[512];

	ck_assert_int_ge(ob_snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir), 0);
	ck_assert_int_eq(system(cmd), 0);
}

static void
write_file(const char *p, const void *d, size_t n, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, d, n), (ssize_t)n);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

/* ---- files ------------------------------------------------------- */

static const struct {
	const char	*content;
	size_t		 len;		/* 0: strlen */
	mode_t		 mode;
	const char	*want;		/* NULL: an error */
	int		 kind;
	const char	*err;		/* after "PATH" */
} files[] = {
	{ "s3cret\n", 0, 0600, "s3cret", 0, NULL },
	{ "s3cret", 0, 0600, "s3cret", 0, NULL },
	{ "s3cret\nsecond line\n", 0, 0600, "s3cret", 0, NULL },
	{ "s3cret\r\nsecond\r\n", 0, 0600, "s3cret", 0, NULL },
	{ "s3cret\r", 0, 0600, "s3cret", 0, NULL },
	{ "s3c\rret\n", 0, 0600, "s3c\rret", 0, NULL },
	{ " spaced pass \n", 0, 0600, " spaced pass ", 0, NULL },
	{ "p\xc3\xa4ss\n", 0, 0400, "p\xc3\xa4ss", 0, NULL },
	{ "s3cret\n", 0, 0700, "s3cret", 0, NULL },
	{ "s3cret\n", 0, 0640, NULL, OB_PERM, " is readable by others" },
	{ "s3cret\n", 0, 0604, NULL, OB_PERM, " is readable by others" },
	{ "s3cret\n", 0, 0644, NULL, OB_PERM, " is readable by others" },
	{ "s3cret\n", 0, 0620, NULL, OB_PERM, " is readable by others" },
	{ "s3cret\n", 0, 0601, NULL, OB_PERM, " is readable by others" },
	{ "", 0, 0600, NULL, OB_PERM,
	  ": the first line is empty or holds a NUL" },
	{ "\nsecond\n", 0, 0600, NULL, OB_PERM,
	  ": the first line is empty or holds a NUL" },
	{ "\r\n", 0, 0600, NULL, OB_PERM,
	  ": the first line is empty or holds a NUL" },
	{ "s3\0cret\n", 8, 0600, NULL, OB_PERM,
	  ": the first line is empty or holds a NUL" },
	{ "s3cret\n\0", 8, 0600, "s3cret", 0, NULL },
};

START_TEST(test_file)
{
	struct ob_err err;
	char *s = (char *)"unset", want[512];

	memset(&err, 0, sizeof err);
	write_file(path, files[_i].content, files[_i].len ? files[_i].len :
	    strlen(files[_i].content), files[_i].mode);
	if (files[_i].want != NULL) {
		ck_assert_int_eq(secret_load(path, NULL, &s, &err), 0);
		ck_assert_str_eq(s, files[_i].want);
		secret_free(s);
		return;
	}
	ck_assert_int_eq(secret_load(path, NULL, &s, &err), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(err.kind, files[_i].kind);
	ck_assert_int_eq(err.ex, EX_CONFIG);
	if (strcmp(files[_i].err, " is readable by others") == 0)
		ck_assert_int_ge(ob_snprintf(want, sizeof want,
		    "%s is readable by others (chmod 600 %s)", path, path), 0);
	else
		ck_assert_int_ge(ob_snprintf(want, sizeof want, "%s%s", path,
		    files[_i].err), 0);
	ck_assert_str_eq(err.text, want);
	/* the secret is never in the error */
	ck_assert_ptr_null(strstr(err.text, "s3cret"));
}
END_TEST

START_TEST(test_file_special)
{
	struct ob_err err;
	char *s, want[512], *big;

	/* missing */
	ck_assert_int_eq(secret_load(path, NULL, &s, &err), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ob_snprintf(want, sizeof want, "%s: No such file or directory", path);
	ck_assert_str_eq(err.text, want);
	/* a directory */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(secret_load(path, NULL, &s, &err), -1);
	ob_snprintf(want, sizeof want, "%s is not a regular file", path);
	ck_assert_str_eq(err.text, want);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_int_eq(rmdir(path), 0);
	/* a FIFO with no writer: refused, without hanging */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(secret_load(path, NULL, &s, &err), -1);
	ck_assert_str_eq(err.text, want);
	ck_assert_int_eq(unlink(path), 0);
	/* a symlink to a good file is followed */
	write_file(path, "tok\n", 4, 0600);
	ob_snprintf(want, sizeof want, "%s/link", dir);
	ck_assert_int_eq(symlink(path, want), 0);
	ck_assert_int_eq(secret_load(want, NULL, &s, &err), 0);
	ck_assert_str_eq(s, "tok");
	secret_free(s);
	/* size: exactly SECRET_MAX is fine, one more is not */
	big = malloc(SECRET_MAX + 1);
	memset(big, 'x', SECRET_MAX + 1);
	big[SECRET_MAX - 1] = '\n';
	write_file(path, big, SECRET_MAX, 0600);
	ck_assert_int_eq(secret_load(path, NULL, &s, &err), 0);
	ck_assert_uint_eq(strlen(s), SECRET_MAX - 1);
	secret_free(s);
	write_file(path, big, SECRET_MAX + 1, 0600);
	ck_assert_int_eq(secret_load(path, NULL, &s, &err), -1);
	ob_snprintf(want, sizeof want, "%s is larger than 65536 octets", path);
	ck_assert_str_eq(err.text, want);
	free(big);
	/* neither or both */
	ck_assert_int_eq(secret_load(NULL, NULL, &s, &err), -1);
	ck_assert_str_eq(err.text, "set exactly one of auth_password_file "
	    "and auth_password_command");
	ck_assert_int_eq(secret_load(path, "echo x", &s, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	secret_free(NULL);
}
END_TEST

/* ---- commands ------------------------------------------------------------ */

static const struct {
	const char	*cmd;
	const char	*want;		/* NULL: an error */
	const char	*err;
} cmds[] = {
	{ "echo tok", "tok", NULL },
	{ "printf 'tok'", "tok", NULL },
	{ "printf 'tok\\r\\nsecond\\r\\n'", "tok", NULL },
	{ "printf 'first\\nsecond\\nthird\\n'", "first", NULL },
	{ "yes hunter2 | head -n 100000", "hunter2", NULL },
	/* stdin is /dev/null: cat ends at once and prints nothing */
	{ "cat; echo after", "after", NULL },
	{ "echo hunter2; exit 3",
	  NULL, "auth_password_command exited with status 3" },
	{ "exit 1", NULL, "auth_password_command exited with status 1" },
	{ "/nonexistent/helper 2>/dev/null",
	  NULL, "auth_password_command exited with status 127" },
	{ "kill -9 $$", NULL, "auth_password_command killed by signal 9" },
	{ "true", NULL, "auth_password_command exited 0 but its first output "
	  "line is empty or holds a NUL" },
	{ "cat", NULL, "auth_password_command exited 0 but its first output "
	  "line is empty or holds a NUL" },
	{ "echo; echo hunter2", NULL, "auth_password_command exited 0 but its "
	  "first output line is empty or holds a NUL" },
	{ "printf 'hun\\000ter2\\n'", NULL, "auth_password_command exited 0 "
	  "but its first output line is empty or holds a NUL" },
	{ "head -c 200000 /dev/zero | tr '\\000' x", NULL,
	  "auth_password_command: first output line longer than 65536 "
	  "octets" },
};

START_TEST(test_cmd)
{
	struct ob_err err;
	char *s = (char *)"unset";

	memset(&err, 0, sizeof err);
	secret_load_timeout(10000);
	if (cmds[_i].want != NULL) {
		ck_assert_int_eq(secret_load(NULL, cmds[_i].cmd, &s, &err), 0);
		ck_assert_str_eq(s, cmds[_i].want);
		secret_free(s);
		return;
	}
	ck_assert_int_eq(secret_load(NULL, cmds[_i].cmd, &s, &err), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_str_eq(err.text, cmds[_i].err);
	ck_assert_ptr_null(strstr(err.text, "hunter2"));
}
END_TEST

/* gone: PID no longer exists, or is a zombie waiting for init. */
static int
gone(long pid)
{
	char p[64], st[512];
	FILE *f;
	int zombie = 0;

	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return 1;
	ob_snprintf(p, sizeof p, "/proc/%ld/stat", pid);
	if ((f = fopen(p, "r")) == NULL)
		return 1;
	if (fgets(st, sizeof st, f) != NULL && strstr(st, ") Z ") != NULL)
		zombie = 1;
	fclose(f);
	return zombie;
}

static const char *const slow_cmds[] = {
	"sleep 20",
	"echo tok; sleep 20",
	/* the shell exits but a background child keeps stdout open */
	"echo tok; sleep 20 &",
	"exec >/dev/null; sleep 20",
};

START_TEST(test_cmd_slow)
{
	struct ob_err err;
	char *s;
	int64_t t0;

	secret_load_timeout(1000);
	t0 = ob_mono_ms();
	ck_assert_int_eq(secret_load(NULL, slow_cmds[_i], &s, &err), -1);
	ck_assert_int_lt(ob_mono_ms() - t0, 3000);
	ck_assert_int_ge(ob_mono_ms() - t0, 1000);
	ck_assert_int_eq(err.kind, OB_TEMP);
	ck_assert_str_eq(err.text,
	    "auth_password_command timed out after 1 s (killed)");
	ck_assert_ptr_null(s);
}
END_TEST

/* The whole process group dies at the timeout, grandchildren too. */
START_TEST(test_cmd_group)
{
	struct ob_err err;
	char cmd[512], pidf[300], buf[32];
	char *s;
	long pid;
	int i;
	FILE *f;

	secret_load_timeout(1000);
	ob_snprintf(pidf, sizeof pidf, "%s/pid", dir);
	ob_snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > '%s'; wait", pidf);
	ck_assert_int_eq(secret_load(NULL, cmd, &s, &err), -1);
	f = fopen(pidf, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	pid = strtol(buf, NULL, 10);
	ck_assert_int_gt(pid, 1);
	for (i = 0; i < 100 && !gone(pid); i++)
		usleep(10000);
	ck_assert_int_eq(gone(pid), 1);
	/* the default is back after 0 */
	secret_load_timeout(0);
	ck_assert_int_eq(secret_load(NULL, "echo ok", &s, &err), 0);
	ck_assert_str_eq(s, "ok");
	secret_free(s);
}
END_TEST

/* SIGPIPE ignored by us is not inherited as ignored by the helper; a
 * helper writing far more than we keep is drained, not blocked. */
START_TEST(test_cmd_env)
{
	struct ob_err err;
	char *s, cmd[256];
	int fd;

	secret_load_timeout(10000);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(secret_load(NULL, "trap - PIPE; echo tok; "
	    "head -c 1000000 /dev/zero", &s, &err), 0);
	ck_assert_str_eq(s, "tok");
	secret_free(s);
	/* no descriptor of ours beyond 0-2 reaches the helper */
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 3);
	ob_snprintf(cmd, sizeof cmd, "if [ -e /proc/self/fd/%d ]; then "
	    "echo leaked; else echo clean; fi", fd);
	ck_assert_int_eq(secret_load(NULL, cmd, &s, &err), 0);
	ck_assert_str_eq(s, "clean");
	secret_free(s);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("secret");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_file, 0,
	    (int)(sizeof files / sizeof files[0]));
	tcase_add_test(tc, test_file_special);
	suite_add_tcase(s, tc);

	tc = tcase_create("command");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_loop_test(tc, test_cmd, 0,
	    (int)(sizeof cmds / sizeof cmds[0]));
	tcase_add_loop_test(tc, test_cmd_slow, 0,
	    (int)(sizeof slow_cmds / sizeof slow_cmds[0]));
	tcase_add_test(tc, test_cmd_group);
	tcase_add_test(tc, test_cmd_env);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
