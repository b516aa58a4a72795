/* fuzz_reply.c - libFuzzer target: SMTP reply parsing (src/smtp_reply.h).
 *
 * The input is split at LF into lines (a CR before the LF stays in the
 * line: smtp_reply_line ignores it) and pushed through one parser, as the
 * client engine reads a session.  Every complete reply is formatted with
 * smtp_reply_fmt into buffers of several sizes; a reply is also made with
 * smtp_reply_local from the input's text.
 *
 * Oracles (smtp_reply.c's invariants): a complete reply has a code in
 * 200..599; r.text is NUL-terminated, shorter than SMTP_REPLY_TEXT_MAX and
 * printable ASCII; r.status is "" or "C.S.D" whose class is the code's
 * first digit; the borrowed per-line text lies inside the line;
 * smtp_reply_fmt always NUL-terminates within N and never writes past it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp_reply.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_reply", LOG_TO_STDERR, 0);
	return 0;
}

static void
fr_check_status(const char *s, int code)
{
	size_t i, n = strnlen(s, 16);
	int dots = 0, digits = 0;

	if (n == 16)
		abort();
	if (n == 0)
		return;
	if (s[0] != '0' + code / 100 || s[1] != '.')
		abort();
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || digits > 3)
				abort();
			dots++;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			digits++;
		} else {
			abort();
		}
	}
	if (dots != 2 || digits == 0 || digits > 3)
		abort();
}

static void
fr_check(const struct smtp_reply *r)
{
	static const size_t sizes[] = { 1, 2, 4, 5, 9, 10, 64, 2048 };
	char out[2048 + 16];
	size_t i, n;

	if (r->code < 200 || r->code > 599)
		abort();
	n = strnlen(r->text, SMTP_REPLY_TEXT_MAX);
	if (n >= SMTP_REPLY_TEXT_MAX)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)r->text[i] < 0x20 ||
		    (unsigned char)r->text[i] >= 0x7f)
			abort();
	fr_check_status(r->status, r->code);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		memset(out, 'Z', sizeof out);
		smtp_reply_fmt(r, out, sizes[i]);
		n = strnlen(out, sizes[i]);
		if (n >= sizes[i])
			abort();	/* not NUL-terminated within N */
		if (out[sizes[i]] != 'Z')
			abort();	/* wrote past N */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *p = in, *end = in + size, *nl;
	const char *text;
	struct smtp_reply_parser rp;
	struct smtp_reply lr;
	size_t len, textlen;
	char *s;
	int r;

	smtp_reply_start(&rp);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		text = NULL;
		textlen = 0;
		r = smtp_reply_line(&rp, p, len, &text, &textlen);
		if (r < -1 || r > 1)
			abort();
		if (r >= 0 && text != NULL &&
		    (text < p || text + textlen > p + len))
			abort();
		if (r == 1)
			fr_check(&rp.r);
		p = nl ? nl + 1 : end;
	}
	/* the parser without TEXT */
	smtp_reply_start(&rp);
	(void)smtp_reply_line(&rp, in, size, NULL, NULL);

	/* a local reply made from the input (as deliver.c does with reasons) */
	s = xstrndup(in, size);
	smtp_reply_local(&lr, 400 + (int)(size % 100), size % 3 ? "4.4.2" :
	    NULL, "%s", s);
	fr_check(&lr);
	smtp_reply_local(&lr, 554, s, "x");
	if (lr.code != 554)
		abort();
	free(s);
	return 0;
}
