/* fuzz_msg.c - libFuzzer target: a message as `sendmail -t` reads it.
 *
 * The input is the message on stdin.  It goes through msg_lines in chunks
 * (as read(2) would deliver them) into msg_head_line, and at the end of the
 * header section through the header rules in cmd_send.c's order:
 * msg_rcpts_from_head (-t), msg_strip_bcc, msg_complete, msg_head_write.
 *
 * Oracles beyond "no crash, no leak, no UB":
 *  - msg_lines splits the same way whatever the chunking (compared against
 *    a second pass fed one odd-sized chunk at a time, with a small MAXLINE
 *    so that pieces happen);
 *  - no line ever ends in CR (msg.h: runs of CR before LF are dropped);
 *  - after msg_strip_bcc no Bcc or Resent-Bcc is left;
 *  - after msg_complete, Date, Message-ID and From are present;
 *  - msg_head_write writes exactly msg_head_size bytes, ending in CRLF;
 *  - every -t recipient is a non-empty string.
 * A broken oracle calls abort(), which libFuzzer reports as a crash.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "msg.h"
#include "util.h"

#define FM_MAXLINE	8192		/* cmd_send.c SEND_MAXLINE */
#define FM_MAXHEAD	(16 * 1024)	/* small, so MSG_HEAD_TOOBIG is reached */
#define FM_SMALLLINE	37		/* for the chunking comparison */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_msg", LOG_TO_STDERR, 0);
	return 0;
}

/* Lines of the whole input as one chunk, recorded as "kind len bytes". */
static void
fm_lines(const char *in, size_t size, size_t chunk, struct buf *rec)
{
	struct msg_lines ml;
	const char *data = in, *line;
	size_t avail = 0, off = 0, len;
	int k, eof = 0;

	msg_lines_init(&ml, FM_SMALLLINE);
	for (;;) {
		if (avail == 0 && !eof) {
			if (off == size) {
				eof = 1;
			} else {
				data = in + off;
				avail = size - off < chunk ? size - off : chunk;
				off += avail;
			}
		}
		k = msg_lines_get(&ml, &data, &avail, eof, &line, &len);
		if (k == MSG_LINE_NONE) {
			if (eof)
				break;
			continue;
		}
		if (k != MSG_LINE_PART && len > 0 && line[len - 1] == '\r')
			abort();	/* a CR left before the line end */
		if (len > FM_SMALLLINE)
			abort();
		buf_printf(rec, "%d %zu ", k, len);
		buf_add(rec, line, len);
	}
	msg_lines_free(&ml);
}

static const char *const fm_names[] = {
	NULL, "Joe Q. Public", "Doe, \"J\" \\ (x)", "  "
};

int
LLVMFuzzerTestOneInput(const uint8_t *udata, size_t size)
{
	const char *in = (const char *)udata, *data = in, *line;
	struct msg_lines ml;
	struct msg_head *h = msg_head_new(FM_MAXHEAD);
	struct addr_list rcpt;
	struct msg_origin o;
	struct ob_err err;
	struct buf head, r1, r2;
	size_t avail = size, len, i;
	int k, part, cont = 0, ignore_dots = size % 2;

	/* chunking must not matter */
	buf_init(&r1, 0);
	buf_init(&r2, 0);
	fm_lines(in, size, size > 0 ? size : 1, &r1);
	fm_lines(in, size, 1 + size % 7, &r2);
	if (r1.len != r2.len || (r1.len > 0 && memcmp(r1.p, r2.p, r1.len) != 0))
		abort();
	buf_free(&r1);
	buf_free(&r2);

	msg_lines_init(&ml, FM_MAXLINE);
	addr_list_init(&rcpt);
	buf_init(&head, 0);
	memset(&o, 0, sizeof o);
	o.sender = (size / 2) % 2 ? "" : "joe@client.example";
	o.full_name = fm_names[(size / 4) % 4];
	o.user = "joe";
	o.helo_name = "client.example";
	o.queue_id = "Q0123ABCD4567";
	o.now_ms = 1795000000000;

	for (;;) {
		int end_head = 0;

		k = msg_lines_get(&ml, &data, &avail, 1, &line, &len);
		if (k == MSG_LINE_NONE)
			break;
		part = (k == MSG_LINE_PART);
		if (memchr(line, '\0', len) != NULL)
			goto out;	/* cmd_send refuses NUL */
		if (!ignore_dots && !cont && !part && len == 1 &&
		    line[0] == '.')
			break;
		cont = part;
		switch (msg_head_line(h, line, len, part)) {
		case MSG_HEAD_MORE:
			continue;
		case MSG_HEAD_END:
		case MSG_HEAD_BODY:
			end_head = 1;
			break;
		case MSG_HEAD_TOOBIG:
			goto out;
		default:
			abort();
		}
		if (end_head)
			break;		/* the body is not parsed */
	}

	if (msg_rcpts_from_head(h, &rcpt, &err) == 0) {
		for (i = 0; i < rcpt.n; i++)
			if (rcpt.v[i] == NULL || rcpt.v[i][0] == '\0')
				abort();
	} else if (err.text[0] == '\0') {
		abort();	/* an error must say why */
	}
	msg_strip_bcc(h);
	if (msg_head_find(h, "Bcc", 0) >= 0 ||
	    msg_head_find(h, "Resent-Bcc", 0) >= 0)
		abort();
	msg_complete(h, &o);
	if (msg_head_find(h, "Date", 0) < 0 ||
	    msg_head_find(h, "Message-ID", 0) < 0 ||
	    msg_head_find(h, "From", 0) < 0)
		abort();
	for (i = 0; i < msg_head_count(h); i++)
		if (msg_head_name(h, i) == NULL || msg_head_value(h, i) == NULL)
			abort();
	(void)msg_head_8bit(h);
	if (msg_head_write(h, &head) == -1)
		abort();
	if (head.len != msg_head_size(h))
		abort();
	if (head.len > 0 && (head.len < 2 || head.p[head.len - 2] != '\r' ||
	    head.p[head.len - 1] != '\n'))
		abort();
out:
	msg_lines_free(&ml);
	msg_head_free(h);
	addr_list_free(&rcpt);
	buf_free(&head);
	return 0;
}
