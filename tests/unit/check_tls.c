/* check_tls.c - tls.c without certificates: configuration checks
 * (fingerprint syntax, versions, unreadable or empty files) and the
 * handshake's failure paths on a loopback socket (data left in clear
 * after STARTTLS, a peer that never answers, a peer that sends junk).
 * The certificate cases run in tests/integration/tls_basic.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "tls.h"
#include "util.h"

static char g_dir[] = "/tmp/check_tls.XXXXXX";	/* made by main() */

#define FP_OK	"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"

/* ---- tls_client_new ------------------------------------------------------- */

/* File names are relative to g_dir; "@" in ERR stands for g_dir.  ERR NULL:
 * success expected. */
struct ccase {
	const char	*fp;
	int		 min;
	const char	*ca, *cert, *key;
	const char	*err;
};

static const struct ccase ccases[] = {
	/* fingerprints */
	{ FP_OK, 12, NULL, NULL, NULL, NULL },
	{ "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:"
	  "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef", 12, NULL, NULL,
	  NULL, NULL },
	{ "0123:456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef",
	  12, NULL, NULL, NULL, NULL },		/* a colon anywhere between */
	{ FP_OK "00", 12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ "0123456789abcdef", 12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ "", 12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ ":" FP_OK, 12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ FP_OK ":", 12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ "01::23456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef",
	  12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ "0g23456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef",
	  12, NULL, NULL, NULL, "tls_fingerprint: want" },
	{ "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcde",
	  12, NULL, NULL, NULL, "tls_fingerprint: want" },	/* odd */
	{ " " FP_OK, 12, NULL, NULL, NULL, "tls_fingerprint: want" },
	/* versions */
	{ NULL, 0, NULL, NULL, NULL, NULL },
	{ NULL, 13, NULL, NULL, NULL, NULL },
	{ NULL, 11, NULL, NULL, NULL, "tls_min_version 11: want 1.2 or 1.3" },
	{ NULL, 14, NULL, NULL, NULL, "tls_min_version 14: want 1.2 or 1.3" },
	{ NULL, -1, NULL, NULL, NULL, "tls_min_version -1: want 1.2 or 1.3" },
	/* files */
	{ NULL, 12, "missing.pem", NULL, NULL,
	  "tls_ca_file @/missing.pem: No such file or directory" },
	{ NULL, 12, "empty.pem", NULL, NULL,
	  "tls_ca_file @/empty.pem: no certificate in it" },
	{ NULL, 12, "junk.pem", NULL, NULL,
	  "tls_ca_file @/junk.pem: no certificate in it" },
	{ NULL, 12, "noperm.pem", NULL, NULL,
	  "tls_ca_file @/noperm.pem: " },	/* unless running as root */
	{ NULL, 12, NULL, "missing.pem", "junk.pem",
	  "tls_cert_file @/missing.pem: No such file or directory" },
	{ NULL, 12, NULL, "junk.pem", "missing.pem",
	  "tls_key_file @/missing.pem: No such file or directory" },
	{ NULL, 12, NULL, NULL, "junk.pem", "tls_key_file needs tls_cert_file" },
	{ NULL, 12, NULL, "junk.pem", "junk.pem",
	  "tls_cert_file @/junk.pem / tls_key_file @/junk.pem: " },
	{ NULL, 12, NULL, "junk.pem", NULL,
	  "tls_cert_file @/junk.pem / tls_key_file @/junk.pem: " },
};

/* subst: TEXT with "@" replaced by g_dir, into DST. */
static const char *
subst(char *dst, size_t n, const char *text)
{
	struct buf b;

	buf_init(&b, n - 1);
	for (; *text != '\0'; text++)
		ck_assert_int_eq(*text == '@' ? buf_addstr(&b, g_dir) :
		    buf_addc(&b, *text), 0);
	ck_assert_int_ne(ob_snprintf(dst, n, "%s", b.len ? b.p : ""), -1);
	buf_free(&b);
	return dst;
}

static const char *
path(char *dst, size_t n, const char *name)
{
	if (name == NULL)
		return NULL;
	ck_assert_int_ne(ob_snprintf(dst, n, "%s/%s", g_dir, name), -1);
	return dst;
}

START_TEST(test_client_new)
{
	const struct ccase *k = &ccases[_i];
	struct tls_conf conf;
	struct tls_client *tc = (void *)1;
	struct ob_err err;
	char ca[512], cert[512], key[512], want[512];
	int r;

	if (k->ca != NULL && strcmp(k->ca, "noperm.pem") == 0 &&
	    geteuid() == 0)
		return;		/* root reads anything */
	memset(&conf, 0, sizeof conf);
	memset(&err, 0, sizeof err);
	conf.verify = 0;	/* no system trust store needed */
	conf.min_version = k->min;
	conf.fingerprint = k->fp;
	conf.ca_file = path(ca, sizeof ca, k->ca);
	conf.cert_file = path(cert, sizeof cert, k->cert);
	conf.key_file = path(key, sizeof key, k->key);
	r = tls_client_new(&tc, &conf, &err);
	if (k->err == NULL) {
		ck_assert_msg(r == 0, "case %d: %s", _i, err.text);
		ck_assert_ptr_nonnull(tc);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_null(tc);
		ck_assert_int_eq(err.kind, OB_PERM);
		subst(want, sizeof want, k->err);
		ck_assert_msg(strncmp(err.text, want, strlen(want)) == 0,
		    "case %d: got \"%s\", want \"%s...\"", _i, err.text, want);
	}
	tls_client_free(tc);
}
END_TEST

/* verify 1 without a CA file loads the system store (may be empty). */
START_TEST(test_client_system_trust)
{
	struct tls_conf conf;
	struct tls_client *tc = NULL;
	struct ob_err err;

	memset(&conf, 0, sizeof conf);
	conf.verify = 1;
	conf.min_version = 12;
	ck_assert_msg(tls_client_new(&tc, &conf, &err) == 0, "%s", err.text);
	tls_client_free(tc);
	tls_client_free(NULL);
	tls_session_free(NULL);
}
END_TEST

/* ---- tls_start's failure paths ------------------------------------------------ */

/* listen_lo: a listening socket on 127.0.0.1; its port in *PORT. */
static int
listen_lo(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Scenarios: what the peer sends after accepting (NULL: accept nothing,
 * say nothing), whether the client reads a line first, the error. */
struct scase {
	const char	*peer;
	size_t		 peer_len;
	int		 read_line;
	int64_t		 timeout_ms;
	const char	*err;		/* exact, or a prefix ending in ": " */
};

static const char junk[] = "\x15\x03\x03\x00\x02\x02\x28garbage\r\n";

static const struct scase scases[] = {
	/* RFC 3207 5: bytes in clear after the 220 must not be kept */
	{ "220 2.0.0 go ahead\r\n250 injected\r\n", 35, 1, 2000,
	  "127.0.0.1 sent data in clear after its STARTTLS reply: refusing "
	  "TLS" },
	{ NULL, 0, 0, 300, "timeout during TLS handshake with 127.0.0.1" },
	{ junk, sizeof junk - 1, 0, 2000,
	  "TLS handshake with 127.0.0.1 failed: " },
	{ "", 0, 0, 2000, "TLS handshake with 127.0.0.1 failed: " }, /* close */
};

START_TEST(test_start_fail)
{
	const struct scase *k = &scases[_i];
	struct tls_conf conf;
	struct tls_client *tc = NULL;
	struct tls_session *ts = (void *)1;
	struct conn *c = NULL;
	struct ob_err err;
	struct buf line;
	int lfd, sfd = -1, port, r;
	int64_t t0;

	memset(&conf, 0, sizeof conf);
	memset(&err, 0, sizeof err);
	buf_init(&line, 1000);
	ck_assert_int_eq(tls_client_new(&tc, &conf, &err), 0);
	lfd = listen_lo(&port);
	ck_assert_msg(conn_connect(&c, "127.0.0.1", port, 2000, &err) == 0,
	    "%s", err.text);
	if (k->peer != NULL) {
		sfd = accept(lfd, NULL, NULL);
		ck_assert_int_ge(sfd, 0);
		if (k->peer_len > 0)
			ck_assert_int_eq(write(sfd, k->peer, k->peer_len),
			    (ssize_t)k->peer_len);
		else
			shutdown(sfd, SHUT_WR);
	}
	if (k->read_line) {
		/* both lines arrive in one segment: the second is buffered */
		usleep(50000);
		ck_assert_int_eq(conn_read_line(c, &line, 1000, 2000, &err), 1);
		ck_assert_str_eq(line.p, "220 2.0.0 go ahead");
		ck_assert_uint_gt(conn_buffered(c), 0);
	}
	t0 = ob_mono_ms();
	r = tls_start(tc, c, "127.0.0.1", k->timeout_ms, &ts, &err);
	ck_assert_int_eq(r, -1);
	ck_assert_ptr_null(ts);
	ck_assert_int_eq(err.kind, OB_TEMP);
	if (k->err[strlen(k->err) - 1] == ' ') {
		ck_assert_msg(strncmp(err.text, k->err, strlen(k->err)) == 0 &&
		    strlen(err.text) > strlen(k->err), "got \"%s\"", err.text);
	} else
		ck_assert_str_eq(err.text, k->err);
	/* the handshake ends within its own timeout */
	ck_assert_int_le(ob_mono_ms() - t0, k->timeout_ms + 500);
	conn_close(c);
	if (sfd != -1)
		close(sfd);
	close(lfd);
	tls_client_free(tc);
	buf_free(&line);
}
END_TEST

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", g_dir, name);
	f = fopen(p, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    chmod(p, mode) != 0) {
		perror(p);
		exit(1);
	}
}

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;
	SRunner *r;
	int failed;
	char cmd[600];

	log_init("check_tls", LOG_TO_STDERR, 0);
	if (mkdtemp(g_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	write_file("empty.pem", "", 0644);
	write_file("junk.pem", "this is not PEM\n", 0644);
	write_file("noperm.pem", "-----BEGIN CERTIFICATE-----\n", 0);

	tc = tcase_create("client_new");
	tcase_add_loop_test(tc, test_client_new, 0,
	    (int)(sizeof ccases / sizeof ccases[0]));
	tcase_add_test(tc, test_client_system_trust);
	suite_add_tcase(s, tc);

	tc = tcase_create("start_fail");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_start_fail, 0,
	    (int)(sizeof scases / sizeof scases[0]));
	suite_add_tcase(s, tc);

	r = srunner_create(s);
	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", g_dir);
	return failed == 0 ? 0 : 1;
}
