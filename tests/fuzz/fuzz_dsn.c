/* fuzz_dsn.c - libFuzzer target: DSN composition from arbitrary replies
 * (src/dsn.h).
 *
 * The input is split at NUL into fields; a field that is absent gets a
 * sane fixed value:
 *   0 reply (the server's text, lines joined by LF)   1 reason
 *   2 status      3 remote MTA     4 address     5 ORCPT     6 ENVID
 *   7 envelope sender (To:)        8 boundary token
 *   9 the original's header section: the rest of the input, NULs and all
 * Two recipients are reported: the first with the fields above, the second
 * with reply and reason swapped.  The input's length picks the action,
 * ret_full and orig_8bit.
 *
 * Oracles (dsn.h's promise: "canonical form, CRLF line ends, no line over
 * 998 octets, no NUL, bare CR or bare LF"): checked on HEAD and on TAIL
 * whenever dsn_compose returns 0; HEAD ends with the blank line and TAIL
 * starts with CRLF "--".  An error must come with a message.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsn.h"
#include "log.h"
#include "util.h"

#define FD_NFIELDS	10

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_dsn", LOG_TO_STDERR, 0);
	return 0;
}

/* fd_canonical: CRLF-ended lines only, none over 998 octets, no NUL.
 * With FUZZ_DSN_DUMP set in the environment, B is written to stderr
 * first (to see a finding). */
static void
fd_canonical(const struct buf *b)
{
	size_t i, col = 0;

	if (getenv("FUZZ_DSN_DUMP") != NULL)
		(void)!write(2, b->p, b->len);

	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\0')
			abort();
		if (b->p[i] == '\r') {
			if (i + 1 >= b->len || b->p[i + 1] != '\n')
				abort();	/* bare CR */
			i++;
			col = 0;
			continue;
		}
		if (b->p[i] == '\n')
			abort();		/* bare LF */
		if (++col > 998)
			abort();
	}
	if (col != 0)
		abort();			/* unterminated last line */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const defaults[FD_NFIELDS - 1] = {
		("550-5.1.1 The email account that you tried to reach does "
		"not exist.\n550 5.1.1 Please try again."),
		"the relay refused the recipient",
		"5.1.1", "mx.example", "rcpt@x.example", "rfc822;rcpt@x.example",
		"ENV123", "sender@client.example", "Q4A5B6C7D8E9F0.x7Kq2"
	};
	const char *in = (const char *)data, *p = in, *end = in + size;
	char *f[FD_NFIELDS - 1];
	const char *orig = NULL;
	size_t origlen = 0, n;
	struct dsn_rcpt r[2];
	struct dsn d;
	struct buf head, tail;
	struct ob_err err;
	int i;

	for (i = 0; i < FD_NFIELDS - 1; i++) {
		const char *nul;

		if (p == NULL) {
			f[i] = xstrdup(defaults[i]);
			continue;
		}
		nul = memchr(p, '\0', (size_t)(end - p));
		n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		f[i] = xstrndup(p, n);
		p = nul ? nul + 1 : NULL;	/* NULL: no more fields */
	}
	if (p != NULL && p < end) {
		orig = p;
		origlen = (size_t)(end - p);
	}

	/* FUZZ_SKIP_KNOWN: keep CR and LF out of the remote MTA, to fuzz
	 * past crashes/dsn-1 (a line break in it gives a bare LF) until
	 * dsn.c is fixed. */
	if (getenv("FUZZ_SKIP_KNOWN") != NULL)
		for (n = 0; f[3][n] != '\0'; n++)
			if (f[3][n] == '\r' || f[3][n] == '\n')
				f[3][n] = ' ';
	memset(r, 0, sizeof r);
	r[0].addr = f[4];
	r[0].orcpt = f[5];
	r[0].action = size % 2 ? DSN_DELAYED : DSN_FAILED;
	r[0].status = f[2];
	r[0].remote_mta = f[3];
	r[0].reply = f[0];
	r[0].reason = f[1];
	r[0].last_attempt = 1795000000000;
	r[0].will_retry_until = 1795400000000;
	r[1] = r[0];
	r[1].addr = "second@x.example";
	r[1].action = DSN_FAILED;
	r[1].reply = f[1];
	r[1].reason = f[0];
	r[1].remote_mta = NULL;

	memset(&d, 0, sizeof d);
	d.reporting_mta = "relay.client.example";
	d.from = "MAILER-DAEMON@relay.client.example";
	d.to = f[7];
	d.queue_id = "Q4A5B6C7D8E9F0";
	d.envid = f[6];
	d.arrival = 1794990000000;
	d.now = 1795000000000;
	d.rcpt = r;
	d.nrcpt = 2;
	d.ret_full = (size / 2) % 2;
	d.boundary = f[8];
	d.message_id = "<Q4A5B6C7D8E9F0.dsn@relay.client.example>";
	d.orig_8bit = (size / 4) % 2;

	buf_init(&head, 1 << 22);
	buf_init(&tail, 1 << 16);
	err.text[0] = '\0';
	if (dsn_compose(&d, orig, origlen, &head, &tail, &err) == 0) {
		fd_canonical(&head);
		fd_canonical(&tail);
		if (head.len < 4 || memcmp(head.p + head.len - 4, "\r\n\r\n",
		    4) != 0)
			abort();
		if (tail.len < 4 || memcmp(tail.p, "\r\n--", 4) != 0)
			abort();
	} else if (err.text[0] == '\0') {
		abort();
	}
	buf_free(&head);
	buf_free(&tail);
	for (i = 0; i < FD_NFIELDS - 1; i++)
		free(f[i]);
	return 0;
}
