/* check_msg.c - message text at submission: input lines (LF/CRLF, lone
 * CRs, long lines in pieces, any chunking), the header section (fields,
 * folds, the header/body boundary, size bound, round trip), and the header
 * rules: -t recipients, Bcc removal, and the added Date/Message-ID/From.
 *
 * Lines are shown in expectations as "F:" (MSG_LINE_FULL), "P:" (a piece,
 * MSG_LINE_PART) or "L:" (MSG_LINE_LAST) and the text, one per "\n", with
 * CR written "<CR>" and NUL "<NUL>", so every byte is compared.
 */
#include "config.h"

#include <check.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "addr.h"
#include "msg.h"

/* ---- helpers ------------------------------------------------------------- */

static void
show_line(struct buf *out, int k, const char *line, size_t len)
{
	size_t i;

	switch (k) {
	case MSG_LINE_FULL:
		buf_addstr(out, "F:");
		break;
	case MSG_LINE_PART:
		buf_addstr(out, "P:");
		break;
	case MSG_LINE_LAST:
		buf_addstr(out, "L:");
		break;
	default:
		ck_abort_msg("unexpected msg_lines_get result %d", k);
	}
	for (i = 0; i < len; i++) {
		if (line[i] == '\r')
			buf_addstr(out, "<CR>");
		else if (line[i] == '\0')
			buf_addstr(out, "<NUL>");
		else
			buf_addc(out, line[i]);
	}
	buf_addc(out, '\n');
}

/* drain: every line ready in DATA/LEN, shown into OUT.  Checks the
 * documented contract of each piece on the way. */
static void
drain(struct msg_lines *ml, const char **data, size_t *len, int eof,
    struct buf *out, int *prev)
{
	const char *line;
	size_t linelen;
	int k;

	while ((k = msg_lines_get(ml, data, len, eof, &line, &linelen)) !=
	    MSG_LINE_NONE) {
		ck_assert_ptr_nonnull(line);
		if (k == MSG_LINE_PART)
			ck_assert_uint_eq(linelen, ml->maxline);
		else
			ck_assert_uint_le(linelen, ml->maxline);
		/* After a piece, more of the line follows: never empty. */
		if (*prev == MSG_LINE_PART)
			ck_assert_uint_gt(linelen, 0);
		/* Nothing goes out as CR CR LF. */
		if (k != MSG_LINE_PART && linelen > 0)
			ck_assert_int_ne(line[linelen - 1], '\r');
		ck_assert_msg(*prev != MSG_LINE_LAST, "a line after the last");
		show_line(out, k, line, linelen);
		*prev = k;
	}
	ck_assert_ptr_null(line);
	ck_assert_uint_eq(linelen, 0);
	ck_assert_uint_eq(*len, 0);
}

/* feed: IN split into chunks (CHUNK bytes each; 0 = all at once; or cut
 * once at SPLIT when CHUNK is SIZE_MAX), each chunk a fresh allocation
 * freed after use so that valgrind sees any pointer kept into old input.
 * EOF_WITH_LAST passes EOF together with the last bytes. */
static char *
feed(const char *in, size_t inlen, size_t maxline, size_t chunk, size_t split,
    int eof_with_last)
{
	struct msg_lines ml;
	struct buf out;
	size_t off = 0, n, len;
	const char *data;
	char *copy;
	int prev = MSG_LINE_NONE, eof;

	buf_init(&out, 0);
	buf_addstr(&out, "");
	msg_lines_init(&ml, maxline);
	while (off < inlen) {
		if (chunk == 0)
			n = inlen;
		else if (chunk == SIZE_MAX)
			n = off < split ? split - off : inlen - off;
		else
			n = inlen - off < chunk ? inlen - off : chunk;
		copy = xmalloc(n);	/* exact: a read past it shows */
		memcpy(copy, in + off, n);
		off += n;
		data = copy;
		len = n;
		eof = eof_with_last && off == inlen;
		drain(&ml, &data, &len, eof, &out, &prev);
		free(copy);
	}
	data = "";
	len = 0;
	drain(&ml, &data, &len, 1, &out, &prev);
	/* LAST comes once: asking again gives nothing. */
	drain(&ml, &data, &len, 1, &out, &prev);
	msg_lines_free(&ml);
	return out.p;
}

/* join: an address list as "a|b|c". */
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

/* parse: TEXT through msg_lines (MAXLINE) into a head bounded by MAX, as
 * cmd_send.c does.  *RES is the last msg_head_line result (MSG_HEAD_MORE
 * when the input ended in the header section); REST (if not NULL) gets the
 * lines after the section, each followed by "\n" (pieces joined). */
static struct msg_head *
parse(const char *text, size_t maxline, size_t max, int *res,
    struct buf *rest)
{
	struct msg_head *h = msg_head_new(max);
	struct msg_lines ml;
	const char *data = text, *line;
	size_t len = strlen(text), linelen;
	int k, in_head = 1;

	*res = MSG_HEAD_MORE;
	msg_lines_init(&ml, maxline);
	while ((k = msg_lines_get(&ml, &data, &len, 1, &line, &linelen)) !=
	    MSG_LINE_NONE) {
		if (in_head) {
			*res = msg_head_line(h, line, linelen,
			    k == MSG_LINE_PART);
			if (*res == MSG_HEAD_MORE)
				continue;
			in_head = 0;
			if (*res != MSG_HEAD_BODY)
				continue;
		}
		if (rest != NULL && *res != MSG_HEAD_TOOBIG) {
			buf_add(rest, line, linelen);
			if (k != MSG_LINE_PART)
				buf_addc(rest, '\n');
		}
	}
	msg_lines_free(&ml);
	return h;
}

/* written: the head as msg_head_write gives it; also checks that
 * msg_head_size agrees. */
static char *
written(const struct msg_head *h)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, "");
	ck_assert_int_eq(msg_head_write(h, &b), 0);
	ck_assert_uint_eq(b.len, msg_head_size(h));
	return b.p;
}

/* ---- msg_lines: table, every chunking ------------------------------------ */

struct lcase {
	const char	*in;
	size_t		 inlen;		/* 0: strlen(in) */
	size_t		 maxline;
	const char	*out;
};

static const struct lcase lcases[] = {
	{ "", 0, 80, "" },
	{ "abc\ndef\n", 0, 80, "F:abc\nF:def\n" },
	{ "abc\r\ndef\r\n", 0, 80, "F:abc\nF:def\n" },
	{ "abc\r\ndef\n", 0, 80, "F:abc\nF:def\n" },
	{ "\n", 0, 80, "F:\n" },
	{ "\r\n", 0, 80, "F:\n" },
	{ "\n\n\r\n", 0, 80, "F:\nF:\nF:\n" },
	/* CRs before the LF go with it: never CR CR LF. */
	{ "abc\r\r\n", 0, 80, "F:abc\n" },
	{ "abc\r\r\r\r\n", 0, 80, "F:abc\n" },
	{ "\r\r\n", 0, 80, "F:\n" },
	/* A CR elsewhere is content. */
	{ "a\rb\n", 0, 80, "F:a<CR>b\n" },
	{ "\ra\n", 0, 80, "F:<CR>a\n" },
	{ "a\r\rb\r\n", 0, 80, "F:a<CR><CR>b\n" },
	{ "a\r \r\n", 0, 80, "F:a<CR> \n" },
	/* The last line without a newline; its CRs dropped as before LF. */
	{ "abc", 0, 80, "L:abc\n" },
	{ "abc\ndef", 0, 80, "F:abc\nL:def\n" },
	{ "abc\r", 0, 80, "L:abc\n" },
	{ "abc\r\r", 0, 80, "L:abc\n" },
	{ "a\rb", 0, 80, "L:a<CR>b\n" },
	{ "abc\n\r", 0, 80, "F:abc\nL:\n" },
	{ "\r", 0, 80, "L:\n" },
	{ "x\n\r\rb", 0, 80, "F:x\nL:<CR><CR>b\n" },
	/* NUL bytes pass through (cmd_send.c rejects them). */
	{ "a\0b\nc\n", 6, 80, "F:a<NUL>b\nF:c\n" },
	{ "\0\n", 2, 80, "F:<NUL>\n" },
	{ "ab\0", 3, 80, "L:ab<NUL>\n" },
	/* Dots are not special here (cmd_send.c applies the "." rule). */
	{ ".\n", 0, 80, "F:.\n" },
	{ ".\r\n", 0, 80, "F:.\n" },
	{ "..\n", 0, 80, "F:..\n" },
	{ "a\n.\nb\n", 0, 80, "F:a\nF:.\nF:b\n" },
	{ ".", 0, 80, "L:.\n" },
	{ "abcd.\n", 0, 4, "P:abcd\nF:.\n" },
	/* Long lines: pieces of exactly MAXLINE, only when more follows. */
	{ "abcd\n", 0, 4, "F:abcd\n" },
	{ "abcd\r\n", 0, 4, "F:abcd\n" },
	{ "abcd\r\r\n", 0, 4, "F:abcd\n" },
	{ "abcd", 0, 4, "L:abcd\n" },
	{ "abcd\r", 0, 4, "L:abcd\n" },
	{ "abcde\n", 0, 4, "P:abcd\nF:e\n" },
	{ "abcdefgh\n", 0, 4, "P:abcd\nF:efgh\n" },
	{ "abcdefgh\r\n", 0, 4, "P:abcd\nF:efgh\n" },
	{ "abcdefgh", 0, 4, "P:abcd\nL:efgh\n" },
	{ "abcdefghij\nk\n", 0, 4, "P:abcd\nP:efgh\nF:ij\nF:k\n" },
	{ "abcd\re\n", 0, 4, "P:abcd\nF:<CR>e\n" },
	{ "abc\re\n", 0, 4, "P:abc<CR>\nF:e\n" },
	{ "abc\r\r\rX\n", 0, 4, "P:abc<CR>\nF:<CR><CR>X\n" },
	{ "abcd\r\r\r\r\r\rX\r\n", 0, 4,
	  "P:abcd\nP:<CR><CR><CR><CR>\nF:<CR><CR>X\n" },
	{ "\r\r\r\r\rX\n", 0, 4, "P:<CR><CR><CR><CR>\nF:<CR>X\n" },
	{ "ab\n", 0, 1, "P:a\nF:b\n" },
	{ "a\rb\n", 0, 1, "P:a\nP:<CR>\nF:b\n" },
	{ "ab\n", 0, 0, "P:a\nF:b\n" },		/* 0 is taken as 1 */
	{ "a\0b\0c\n", 6, 2, "P:a<NUL>\nP:b<NUL>\nF:c\n" },
};

/* Every case must give the same lines whatever the chunking: all at once,
 * every fixed chunk size, every two-way cut (so every CR/LF boundary), with
 * EOF given apart or with the last bytes. */
START_TEST(lines_case)
{
	const struct lcase *c = &lcases[_i];
	size_t inlen = c->inlen ? c->inlen : strlen(c->in), sz;
	char *got;
	int el;

	for (el = 0; el <= 1; el++) {
		got = feed(c->in, inlen, c->maxline, 0, 0, el);
		ck_assert_str_eq(got, c->out);
		free(got);
		for (sz = 1; sz <= inlen; sz++) {
			got = feed(c->in, inlen, c->maxline, sz, 0, el);
			if (strcmp(got, c->out) != 0)
				ck_abort_msg("case %d chunk %zu: got \"%s\"",
				    _i, sz, got);
			free(got);
		}
		for (sz = 1; sz < inlen; sz++) {
			got = feed(c->in, inlen, c->maxline, SIZE_MAX, sz, el);
			if (strcmp(got, c->out) != 0)
				ck_abort_msg("case %d cut at %zu: got \"%s\"",
				    _i, sz, got);
			free(got);
		}
	}
}
END_TEST

/* A complete line that lies whole in the input comes back from it without
 * copying, and LEN/DATA advance past its end of line exactly. */
START_TEST(lines_advance)
{
	struct msg_lines ml;
	const char *in = "ab\r\ncd\nef", *data = in, *line;
	size_t len = strlen(in), linelen;

	msg_lines_init(&ml, 80);
	ck_assert_int_eq(msg_lines_get(&ml, &data, &len, 0, &line, &linelen),
	    MSG_LINE_FULL);
	ck_assert_ptr_eq(line, in);
	ck_assert_uint_eq(linelen, 2);
	ck_assert_ptr_eq(data, in + 4);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(msg_lines_get(&ml, &data, &len, 0, &line, &linelen),
	    MSG_LINE_FULL);
	ck_assert_ptr_eq(line, in + 4);
	ck_assert_uint_eq(linelen, 2);
	ck_assert_uint_eq(len, 2);
	/* "ef" may be the start of a longer line: not without EOF. */
	ck_assert_int_eq(msg_lines_get(&ml, &data, &len, 0, &line, &linelen),
	    MSG_LINE_NONE);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(msg_lines_get(&ml, &data, &len, 1, &line, &linelen),
	    MSG_LINE_LAST);
	ck_assert_uint_eq(linelen, 2);
	ck_assert_int_eq(memcmp(line, "ef", 2), 0);
	ck_assert_int_eq(msg_lines_get(&ml, &data, &len, 1, &line, &linelen),
	    MSG_LINE_NONE);
	msg_lines_free(&ml);
	/* Freed state can be freed again and reused after init. */
	msg_lines_free(&ml);
}
END_TEST

/* Pseudo-random input (a fixed LCG per seed) with long lines, lone CRs,
 * CR runs, CRLF and LF, fed in random chunk sizes: the pieces put back
 * together are exactly the reference lines (split at LF, CRs before it
 * dropped), none truncated. */
static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

START_TEST(lines_random)
{
	static const char alpha[] = "ab.: \r\r\r\n\n\t";
	uint32_t s = 12345u + (uint32_t)_i * 7919u;
	size_t maxline = 1 + lcg(&s) % 40, inlen = 2000 + lcg(&s) % 2000;
	size_t i, off, n, len, linelen, start;
	struct buf in, want, got;
	struct msg_lines ml;
	const char *data, *line;
	char *copy;
	int k, prev = MSG_LINE_NONE, eof;

	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_init(&got, 0);
	buf_addstr(&want, "");
	buf_addstr(&got, "");
	for (i = 0; i < inlen; i++) {
		/* Now and then a run of plain text longer than MAXLINE. */
		if (lcg(&s) % 50 == 0) {
			n = lcg(&s) % 200;
			while (n-- > 0)
				buf_addc(&in, 'x');
		}
		buf_addc(&in, alpha[lcg(&s) % (sizeof alpha - 1)]);
	}
	if (lcg(&s) % 2)
		buf_addstr(&in, "tail\r");
	/* The reference: split at LF, strip the CRs before it. */
	for (start = 0, i = 0; i <= in.len; i++) {
		if (i < in.len && in.p[i] != '\n')
			continue;
		n = i;
		while (n > start && in.p[n - 1] == '\r')
			n--;
		if (i < in.len || i > start) {
			buf_add(&want, in.p + start, n - start);
			buf_addstr(&want, i < in.len ? "|\n" : "$\n");
		}
		start = i + 1;
	}

	msg_lines_init(&ml, maxline);
	for (off = 0; ; off += n) {
		n = off < in.len ? 1 + lcg(&s) % (2 * maxline + 3) : 0;
		if (n > in.len - off)
			n = in.len - off;
		eof = off + n == in.len;
		copy = xmalloc(n > 0 ? n : 1);
		memcpy(copy, in.p + off, n);
		data = copy;
		len = n;
		while ((k = msg_lines_get(&ml, &data, &len, eof, &line,
		    &linelen)) != MSG_LINE_NONE) {
			ck_assert_uint_le(linelen, maxline);
			if (k == MSG_LINE_PART)
				ck_assert_uint_eq(linelen, maxline);
			if (prev == MSG_LINE_PART)
				ck_assert_uint_gt(linelen, 0);
			buf_add(&got, line, linelen);
			if (k == MSG_LINE_FULL)
				buf_addstr(&got, "|\n");
			else if (k == MSG_LINE_LAST)
				buf_addstr(&got, "$\n");
			prev = k;
		}
		ck_assert_uint_eq(len, 0);
		free(copy);
		if (eof)
			break;
	}
	msg_lines_free(&ml);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_int_eq(memcmp(got.p, want.p, got.len), 0);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}
END_TEST

/* ---- msg_head: parsing -------------------------------------------------- */

struct hcase {
	const char	*in;
	size_t		 maxline;
	int		 res;		/* last msg_head_line result */
	const char	*head;		/* msg_head_write output */
	const char	*rest;		/* lines after the section */
};

static const struct hcase hcases[] = {
	{ "Subject: hi\nTo: a@b\n\nbody\n", 998, MSG_HEAD_END,
	  "Subject: hi\r\nTo: a@b\r\n", "body\n" },
	{ "Subject: hi\r\nTo: a@b\r\n\r\nbody\r\n", 998, MSG_HEAD_END,
	  "Subject: hi\r\nTo: a@b\r\n", "body\n" },
	/* Folds kept byte for byte, as CRLF WSP. */
	{ "Subject: a\n b\n\tc\nX: y\n\n", 998, MSG_HEAD_END,
	  "Subject: a\r\n b\r\n\tc\r\nX: y\r\n", "" },
	{ "Subject: a\r\n  \r\n\r\nz", 998, MSG_HEAD_END,
	  "Subject: a\r\n  \r\n", "z\n" },
	/* Only a header section, no empty line and no body. */
	{ "Subject: a\n", 998, MSG_HEAD_MORE, "Subject: a\r\n", "" },
	{ "Subject: a", 998, MSG_HEAD_MORE, "Subject: a\r\n", "" },
	{ "Subject: a\n\n", 998, MSG_HEAD_END, "Subject: a\r\n", "" },
	{ "", 998, MSG_HEAD_MORE, "", "" },
	/* The body at once: nothing that is a field. */
	{ "\nbody\n", 998, MSG_HEAD_END, "", "body\n" },
	{ "hello world\nA: b\n", 998, MSG_HEAD_BODY, "", "hello world\nA: b\n" },
	{ " indented\n", 998, MSG_HEAD_BODY, "", " indented\n" },
	{ "From me@x Mon Jan 1\nA: b\n", 998, MSG_HEAD_BODY, "",
	  "From me@x Mon Jan 1\nA: b\n" },
	/* A line that is not a field ends the section. */
	{ "A: 1\nnot a header\nB: 2\n", 998, MSG_HEAD_BODY, "A: 1\r\n",
	  "not a header\nB: 2\n" },
	{ "A: 1\n:x\n", 998, MSG_HEAD_BODY, "A: 1\r\n", ":x\n" },
	{ "A: 1\nB x: y\n", 998, MSG_HEAD_BODY, "A: 1\r\n", "B x: y\n" },
	{ "A: 1\nX-\xc3\xa9: y\n", 998, MSG_HEAD_BODY, "A: 1\r\n",
	  "X-\xc3\xa9: y\n" },
	{ "A: 1\nB\n", 998, MSG_HEAD_BODY, "A: 1\r\n", "B\n" },
	{ "A: 1\nB \n", 998, MSG_HEAD_BODY, "A: 1\r\n", "B \n" },
	/* obs-optional WSP before the colon (RFC 5322 4.5). */
	{ "Subject : x\nA\t:y\n", 998, MSG_HEAD_MORE,
	  "Subject : x\r\nA\t:y\r\n", "" },
	{ "A:\nB:b\n", 998, MSG_HEAD_MORE, "A:\r\nB:b\r\n", "" },
	/* Long lines: pieces join the field, nothing truncated. */
	{ "Subject: 0123456789abcdef\n x 0123456789\n\nbody\n", 8,
	  MSG_HEAD_END, "Subject: 0123456789abcdef\r\n x 0123456789\r\n",
	  "body\n" },
	/* The name and colon must be in the first piece. */
	{ "X-Very-Long-Name: v\n", 8, MSG_HEAD_BODY, "",
	  "X-Very-Long-Name: v\n" },
	{ "A: 1\n\n\nB: 2\n", 998, MSG_HEAD_END, "A: 1\r\n", "\nB: 2\n" },
};

START_TEST(head_case)
{
	const struct hcase *c = &hcases[_i];
	struct msg_head *h;
	struct buf rest;
	char *got;
	int res;

	buf_init(&rest, 0);
	buf_addstr(&rest, "");
	h = parse(c->in, c->maxline, 65536, &res, &rest);
	ck_assert_int_eq(res, c->res);
	got = written(h);
	ck_assert_str_eq(got, c->head);
	ck_assert_str_eq(rest.p, c->rest);
	free(got);
	buf_free(&rest);
	msg_head_free(h);
}
END_TEST

START_TEST(head_fields)
{
	struct msg_head *h;
	int res;

	h = parse("sUbJeCt: a\n b\nTo:x@y\nX-A : 1\nto: z@w\n\n", 998, 65536,
	    &res, NULL);
	ck_assert_int_eq(res, MSG_HEAD_END);
	ck_assert_uint_eq(msg_head_count(h), 4);
	ck_assert_str_eq(msg_head_name(h, 0), "sUbJeCt");
	ck_assert_str_eq(msg_head_value(h, 0), " a\r\n b");
	ck_assert_str_eq(msg_head_name(h, 1), "To");
	ck_assert_str_eq(msg_head_value(h, 1), "x@y");
	ck_assert_str_eq(msg_head_name(h, 2), "X-A");
	ck_assert_str_eq(msg_head_value(h, 2), " 1");
	ck_assert_int_eq(msg_head_find(h, "subject", 0), 0);
	ck_assert_int_eq(msg_head_find(h, "SUBJECT", 1), -1);
	ck_assert_int_eq(msg_head_find(h, "TO", 0), 1);
	ck_assert_int_eq(msg_head_find(h, "to", 2), 3);
	ck_assert_int_eq(msg_head_find(h, "to", 4), -1);
	ck_assert_int_eq(msg_head_find(h, "to", 99), -1);
	ck_assert_int_eq(msg_head_find(h, "x-a", 0), 2);
	ck_assert_int_eq(msg_head_find(h, "X-A ", 0), -1);
	ck_assert_int_eq(msg_head_find(h, "T", 0), -1);
	ck_assert_int_eq(msg_head_find(h, "Tox", 0), -1);
	ck_assert_int_eq(msg_head_8bit(h), 0);
	msg_head_free(h);
	msg_head_free(NULL);
}
END_TEST

/* find, remove, append and write: byte-exact, size kept in step. */
START_TEST(head_edit)
{
	static const char in[] = "Received: by x\r\n\tfor y\r\nTo: a@b\r\n"
	    "Subject: s\r\nTO: c@d\r\n\r\n";
	struct msg_head *h;
	struct buf lim;
	char *got;
	int res;

	h = parse(in, 998, 65536, &res, NULL);
	ck_assert_int_eq(res, MSG_HEAD_END);
	got = written(h);
	ck_assert_str_eq(got, "Received: by x\r\n\tfor y\r\nTo: a@b\r\n"
	    "Subject: s\r\nTO: c@d\r\n");
	free(got);
	ck_assert_uint_eq(msg_head_remove(h, "to"), 2);
	ck_assert_uint_eq(msg_head_remove(h, "to"), 0);
	ck_assert_uint_eq(msg_head_count(h), 2);
	got = written(h);
	ck_assert_str_eq(got, "Received: by x\r\n\tfor y\r\nSubject: s\r\n");
	free(got);
	msg_head_append(h, "X-New", "v 1");
	msg_head_append(h, "Empty", "");
	ck_assert_uint_eq(msg_head_count(h), 4);
	ck_assert_str_eq(msg_head_name(h, 2), "X-New");
	ck_assert_str_eq(msg_head_value(h, 2), " v 1");
	ck_assert_int_eq(msg_head_find(h, "x-new", 0), 2);
	got = written(h);
	ck_assert_str_eq(got, "Received: by x\r\n\tfor y\r\nSubject: s\r\n"
	    "X-New: v 1\r\nEmpty: \r\n");
	free(got);
	ck_assert_uint_eq(msg_head_remove(h, "Received"), 1);
	ck_assert_uint_eq(msg_head_remove(h, "Subject"), 1);
	ck_assert_uint_eq(msg_head_remove(h, "x-NEW"), 1);
	ck_assert_uint_eq(msg_head_remove(h, "empty"), 1);
	ck_assert_uint_eq(msg_head_count(h), 0);
	ck_assert_uint_eq(msg_head_size(h), 0);
	got = written(h);
	ck_assert_str_eq(got, "");
	free(got);
	/* A bounded output that cannot hold the section refuses it. */
	msg_head_append(h, "Subject", "0123456789");
	buf_init(&lim, 10);
	ck_assert_int_eq(msg_head_write(h, &lim), -1);
	buf_free(&lim);
	buf_init(&lim, 21);
	ck_assert_int_eq(msg_head_write(h, &lim), 0);
	ck_assert_uint_eq(lim.len, 21);
	ck_assert_int_eq(memcmp(lim.p, "Subject: 0123456789\r\n", 21), 0);
	buf_free(&lim);
	msg_head_free(h);
}
END_TEST

/* msg_head_line with line pieces, directly. */
START_TEST(head_parts)
{
	struct msg_head *h = msg_head_new(1000);
	char *got;

	ck_assert_int_eq(msg_head_line(h, "Subject: ab", 11, 1), MSG_HEAD_MORE);
	/* What follows a piece joins it, even when it starts with WSP or
	 * looks like a field: it is neither a fold nor a new field. */
	ck_assert_int_eq(msg_head_line(h, " cd", 3, 1), MSG_HEAD_MORE);
	ck_assert_int_eq(msg_head_line(h, "X: y", 4, 0), MSG_HEAD_MORE);
	ck_assert_uint_eq(msg_head_count(h), 1);
	ck_assert_str_eq(msg_head_value(h, 0), " ab cdX: y");
	ck_assert_int_eq(msg_head_line(h, "\tfold", 5, 1), MSG_HEAD_MORE);
	ck_assert_int_eq(msg_head_line(h, "ed", 2, 0), MSG_HEAD_MORE);
	ck_assert_int_eq(msg_head_line(h, "B: 1", 4, 0), MSG_HEAD_MORE);
	ck_assert_uint_eq(msg_head_count(h), 2);
	got = written(h);
	ck_assert_str_eq(got, "Subject: ab cdX: y\r\n\tfolded\r\nB: 1\r\n");
	free(got);
	ck_assert_int_eq(msg_head_line(h, "", 0, 0), MSG_HEAD_END);
	msg_head_free(h);

	h = msg_head_new(1000);
	ck_assert_int_eq(msg_head_line(h, "Subj", 4, 1), MSG_HEAD_BODY);
	ck_assert_uint_eq(msg_head_count(h), 0);
	msg_head_free(h);
}
END_TEST

/* MAX bounds the written section: exactly MAX fits, one byte more does
 * not, whether the byte comes in a field, a fold or a piece. */
struct scase {
	const char	*lines[4];	/* pushed in order; "+" prefix: part */
	size_t		 max;
	int		 res[4];
};

static const struct scase scases[] = {
	{ { "A: 1", "B: 22" }, 13, { MSG_HEAD_MORE, MSG_HEAD_MORE } },
	{ { "A: 1", "B: 22" }, 12, { MSG_HEAD_MORE, MSG_HEAD_TOOBIG } },
	{ { "A: 1" }, 6, { MSG_HEAD_MORE } },
	{ { "A: 1" }, 5, { MSG_HEAD_TOOBIG } },
	{ { "A: 1" }, 0, { MSG_HEAD_TOOBIG } },
	{ { "A: 1", " 2" }, 10, { MSG_HEAD_MORE, MSG_HEAD_MORE } },
	{ { "A: 1", " 2" }, 9, { MSG_HEAD_MORE, MSG_HEAD_TOOBIG } },
	{ { "+A: 1", "23" }, 8, { MSG_HEAD_MORE, MSG_HEAD_MORE } },
	{ { "+A: 1", "23" }, 7, { MSG_HEAD_MORE, MSG_HEAD_TOOBIG } },
	{ { "+A: 1", "+2", "3" }, 7,
	  { MSG_HEAD_MORE, MSG_HEAD_MORE, MSG_HEAD_TOOBIG } },
	/* The empty line and the body's first line cost nothing. */
	{ { "A: 1", "" }, 6, { MSG_HEAD_MORE, MSG_HEAD_END } },
	{ { "A: 1", "body line" }, 6, { MSG_HEAD_MORE, MSG_HEAD_BODY } },
};

START_TEST(head_size)
{
	const struct scase *c = &scases[_i];
	struct msg_head *h = msg_head_new(c->max);
	const char *l;
	size_t i;
	int part, r;

	for (i = 0; i < 4 && c->lines[i] != NULL; i++) {
		l = c->lines[i];
		part = *l == '+';
		l += part;
		r = msg_head_line(h, l, strlen(l), part);
		ck_assert_int_eq(r, c->res[i]);
		if (r == MSG_HEAD_TOOBIG)
			break;
		ck_assert_uint_le(msg_head_size(h), c->max);
	}
	msg_head_free(h);
}
END_TEST

/* A big section through msg_lines, as cmd_send.c pushes it. */
START_TEST(head_size_lines)
{
	struct buf in, want;
	struct msg_head *h;
	int res, i;
	char *got;

	buf_init(&in, 0);
	buf_init(&want, 0);
	for (i = 0; i < 100; i++) {
		/* 98 bytes and CRLF: 100 each as written. */
		buf_printf(&in, "X-%03d: %091d\n", i, i);
		buf_printf(&want, "X-%03d: %091d\r\n", i, i);
	}
	buf_addstr(&in, "\nbody\n");
	h = parse(in.p, 64, 100 * 100, &res, NULL);
	ck_assert_int_eq(res, MSG_HEAD_END);
	ck_assert_uint_eq(msg_head_count(h), 100);
	ck_assert_uint_eq(msg_head_size(h), 100 * 100);
	got = written(h);
	ck_assert_uint_eq(want.len, 100 * 100);
	ck_assert_str_eq(got, want.p);
	free(got);
	buf_free(&want);
	msg_head_free(h);
	h = parse(in.p, 64, 100 * 100 - 1, &res, NULL);
	ck_assert_int_eq(res, MSG_HEAD_TOOBIG);
	msg_head_free(h);
	buf_free(&in);
}
END_TEST

struct bcase {
	const char	*in;
	int		 eight;
};

static const struct bcase bcases[] = {
	{ "Subject: plain\n", 0 },
	{ "Subject: caf\xc3\xa9\n", 1 },
	{ "Subject: a\n \xff\n", 1 },
	{ "Subject: \x7f\x01\n", 0 },
	{ "A: 1\n\nbody \xc3\xa9\n", 0 },	/* the body does not count */
};

START_TEST(head_8bit)
{
	struct msg_head *h;
	int res;

	h = parse(bcases[_i].in, 998, 65536, &res, NULL);
	ck_assert_int_eq(msg_head_8bit(h), bcases[_i].eight);
	msg_head_free(h);
}
END_TEST

START_TEST(head_8bit_append)
{
	struct msg_head *h = msg_head_new(100);

	ck_assert_int_eq(msg_head_8bit(h), 0);
	msg_head_append(h, "From", "\"Jos\xc3\xa9\" <j@x>");
	ck_assert_int_eq(msg_head_8bit(h), 1);
	msg_head_free(h);
}
END_TEST

START_TEST(head_name_range)
{
	struct msg_head *h = msg_head_new(100);

	msg_head_append(h, "A", "b");
	(void)msg_head_name(h, 1);
	msg_head_free(h);
}
END_TEST

/* ---- -t: msg_rcpts_from_head ------------------------------------------- */

struct rcase {
	const char	*in;
	const char	*out;	/* "a|b", or NULL for an error */
	const char	*err;	/* exact error text */
};

static const struct rcase rcases[] = {
	{ "To: a@x\nCc: b@x\nBcc: c@x\n\n", "a@x|b@x|c@x", NULL },
	{ "TO: a@x\ncc: b@x\nbCC: c@x\n\n", "a@x|b@x|c@x", NULL },
	{ "To: \"Doe, John\" <john@x.example>, Jane Roe <jane@y.example>\n",
	  "john@x.example|jane@y.example", NULL },
	{ "To: \"john doe\"@x.example\n", "\"john doe\"@x.example", NULL },
	{ "To: a@x (Alice (the first))\n", "a@x", NULL },
	{ "To: (c) <a@x> (d)\n", "a@x", NULL },
	{ "To: team: a@x, b@x;\n", "a@x|b@x", NULL },
	{ "To: undisclosed-recipients:;\n", "", NULL },
	{ "To: empty:;, a@x\nCc: none: ;\n", "a@x", NULL },
	{ "To: a@x,\n b@x,\r\n\tJ\n Doe <c@x>\n", "a@x|b@x|c@x", NULL },
	{ "To: a@x\nSubject: s\nTo: b@x\nTo: c@x\n", "a@x|b@x|c@x", NULL },
	/* Duplicates go: the domain compares case-folded, the local part
	 * exactly. */
	{ "To: a@x, a@x\nCc: a@X\nBcc: <a@x>\n", "a@x", NULL },
	{ "To: a@x, A@x\n", "a@x|A@x", NULL },
	{ "To: root, a@x\n", "root|a@x", NULL },
	/* Other fields never give recipients. */
	{ "From: f@x\nReply-To: r@x\nSender: s@x\nX-To: t@x\n", "", NULL },
	{ "Subject: s\n\nTo: body@x\n", "", NULL },
	{ "Bcc:\nCc: \n", "", NULL },
	/* Resent-*: when any is there, only they count. */
	{ "To: a@x\nResent-To: r@x\n", "r@x", NULL },
	{ "To: a@x\nResent-Cc: r@x\nResent-Bcc: s@x\nBcc: b@x\n",
	  "r@x|s@x", NULL },
	{ "resent-bcc: s@x\nTo: a@x\n", "s@x", NULL },
	{ "Resent-From: z@x\nResent-Date: d\nTo: a@x\n", "a@x", NULL },
	{ "Resent-To: r@x\nResent-To: q@x, r@x\n", "r@x|q@x", NULL },
	/* Errors name the field. */
	{ "To: a@x\nCc: <a@\n", NULL, "Cc: missing domain after '@'" },
	{ "To: a@x, @@@\n", NULL, "To: missing local part before '@'" },
	{ "To: \"unclosed@x\n", NULL, "To: unterminated quoted string" },
	{ "Resent-Cc: (open\n", NULL,
	  "Resent-Cc: unterminated comment" },
	{ "To: <a@x\n", NULL, "To: missing '>'" },
	/* A Bcc is parsed like the others, even when not used for the
	 * envelope: a bad one is an error too. */
	{ "To: a@x\nBcc: a@@x\n", NULL,
	  "Bcc: bad character '@' in address" },
};

START_TEST(rcpts_case)
{
	const struct rcase *c = &rcases[_i];
	struct addr_list l;
	struct ob_err err;
	struct msg_head *h;
	char *got;
	int res, r;

	memset(&err, 0, sizeof err);
	addr_list_init(&l);
	h = parse(c->in, 998, 65536, &res, NULL);
	r = msg_rcpts_from_head(h, &l, &err);
	if (c->out == NULL) {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err.kind, OB_PERM);
		ck_assert_int_eq(err.ex, EX_DATAERR);
		ck_assert_str_eq(err.text, c->err);
	} else {
		ck_assert_int_eq(r, 0);
		got = join(&l);
		ck_assert_str_eq(got, c->out);
		free(got);
	}
	addr_list_free(&l);
	msg_head_free(h);
}
END_TEST

/* The exact error text, for one case: the field and addr.c's reason. */
START_TEST(rcpts_error_text)
{
	struct addr_list l, l2;
	struct ob_err err, e2;
	struct msg_head *h;
	char want[300];
	int res;

	addr_list_init(&l);
	addr_list_init(&l2);
	h = parse("To: ok@x\nCc: a@x, b@@x\n", 998, 65536, &res, NULL);
	ck_assert_int_eq(msg_rcpts_from_head(h, &l, &err), -1);
	ck_assert_int_eq(addr_parse_header(" a@x, b@@x", &l2, &e2), -1);
	ck_assert_int_ge(ob_snprintf(want, sizeof want, "Cc: %s", e2.text), 0);
	ck_assert_str_eq(err.text, want);
	addr_list_free(&l);
	addr_list_free(&l2);
	msg_head_free(h);
}
END_TEST

/* Addresses are appended to what OUT holds (the command line's), and
 * duplicates of those are dropped too. */
START_TEST(rcpts_appends)
{
	struct addr_list l;
	struct ob_err err;
	struct msg_head *h;
	char *got;
	int res;

	addr_list_init(&l);
	addr_list_add(&l, "cmd@x");
	addr_list_add(&l, "a@x");
	h = parse("To: a@X, cmd@x\nCc: new@x\n\n", 998, 65536, &res, NULL);
	ck_assert_int_eq(msg_rcpts_from_head(h, &l, &err), 0);
	got = join(&l);
	ck_assert_str_eq(got, "cmd@x|a@x|new@x");
	free(got);
	/* The head is left as it was. */
	got = written(h);
	ck_assert_str_eq(got, "To: a@X, cmd@x\r\nCc: new@x\r\n");
	free(got);
	addr_list_free(&l);
	msg_head_free(h);
}
END_TEST

/* ---- msg_strip_bcc ------------------------------------------------------- */

struct stcase {
	const char	*in;
	size_t		 n;
	const char	*out;
};

static const struct stcase stcases[] = {
	{ "To: a@x\nBcc: b@x\nSubject: s\n\n", 1,
	  "To: a@x\r\nSubject: s\r\n" },
	{ "Bcc: a@x\nBCC: b@x\nbcc: c@x\n", 3, "" },
	{ "X: 1\nBcc: a@x,\n b@x,\n\tc@x\nY: 2\n", 1, "X: 1\r\nY: 2\r\n" },
	{ "Resent-Bcc: a@x\nResent-To: b@x\nRESENT-BCC: c\n", 2,
	  "Resent-To: b@x\r\n" },
	{ "Bcc : a@x\nBcc\t:b@x\nTo: c@x\n", 2, "To: c@x\r\n" },
	{ "Bcc:\nTo: c@x\n", 1, "To: c@x\r\n" },
	{ "To: a@x\nCc: b@x\n", 0, "To: a@x\r\nCc: b@x\r\n" },
	{ "X-Bcc: a\nBccx: b\nResent-Bccc: c\nSubject: Bcc: d\n", 0,
	  "X-Bcc: a\r\nBccx: b\r\nResent-Bccc: c\r\nSubject: Bcc: d\r\n" },
	{ "A: 1\n Bcc: folded text\nBcc: x\n", 1, "A: 1\r\n Bcc: folded text\r\n" },
	{ "Bcc: a\n\nBcc: body\n", 1, "" },
	{ "", 0, "" },
};

START_TEST(strip_case)
{
	const struct stcase *c = &stcases[_i];
	struct msg_head *h;
	char *got;
	int res;

	h = parse(c->in, 998, 65536, &res, NULL);
	ck_assert_uint_eq(msg_strip_bcc(h), c->n);
	got = written(h);
	ck_assert_str_eq(got, c->out);
	free(got);
	ck_assert_int_eq(msg_head_find(h, "bcc", 0), -1);
	ck_assert_int_eq(msg_head_find(h, "resent-bcc", 0), -1);
	ck_assert_uint_eq(msg_strip_bcc(h), 0);
	msg_head_free(h);
}
END_TEST

/* -t then Bcc removal, as cmd_send.c does: the Bcc recipients are in the
 * envelope, the field is gone. */
START_TEST(strip_after_rcpts)
{
	struct addr_list l;
	struct ob_err err;
	struct msg_head *h;
	char *got;
	int res;

	addr_list_init(&l);
	h = parse("To: a@x\nBcc: hidden@x,\n other@x\nSubject: s\n\nb\n",
	    998, 65536, &res, NULL);
	ck_assert_int_eq(msg_rcpts_from_head(h, &l, &err), 0);
	ck_assert_uint_eq(msg_strip_bcc(h), 1);
	got = join(&l);
	ck_assert_str_eq(got, "a@x|hidden@x|other@x");
	free(got);
	got = written(h);
	ck_assert_str_eq(got, "To: a@x\r\nSubject: s\r\n");
	free(got);
	addr_list_free(&l);
	msg_head_free(h);
}
END_TEST

/* ---- msg_complete -------------------------------------------------------- */

#define NOW_MS	INT64_C(1795361400123)	/* Sun, 22 Nov 2026 15:30:00.123 UTC */

static void
utc(void)
{
	setenv("TZ", "UTC0", 1);
	tzset();
}

static const struct msg_origin base_origin = {
	"me@x.example", NULL, "joe", "mail.example", "0CZQ1", NOW_MS
};

/* On an empty section: all three, in this order, exact bytes. */
START_TEST(complete_empty)
{
	struct msg_head *h = msg_head_new(1000);
	char *got;

	ck_assert_int_eq(msg_complete(h, &base_origin),
	    MSG_ADDED_DATE | MSG_ADDED_MSGID | MSG_ADDED_FROM);
	got = written(h);
	ck_assert_str_eq(got,
	    "Date: Sun, 22 Nov 2026 15:30:00 +0000\r\n"
	    "Message-ID: <20261122153000.0CZQ1@mail.example>\r\n"
	    "From: me@x.example\r\n");
	free(got);
	/* A second call adds nothing. */
	ck_assert_int_eq(msg_complete(h, &base_origin), 0);
	ck_assert_uint_eq(msg_head_count(h), 3);
	msg_head_free(h);
}
END_TEST

/* Present fields (any case) are kept as they are and not duplicated; the
 * missing ones are appended after them; nothing else is added. */
struct ccase {
	const char	*in;
	int		 added;
	const char	*out;
};

#define C_DATE	"Date: Sun, 22 Nov 2026 15:30:00 +0000\r\n"
#define C_MSGID	"Message-ID: <20261122153000.0CZQ1@mail.example>\r\n"
#define C_FROM	"From: me@x.example\r\n"

static const struct ccase ccases[] = {
	{ "Subject: s\n", 7, "Subject: s\r\n" C_DATE C_MSGID C_FROM },
	{ "date: yesterday\n", MSG_ADDED_MSGID | MSG_ADDED_FROM,
	  "date: yesterday\r\n" C_MSGID C_FROM },
	{ "MESSAGE-ID: <x@y>\n", MSG_ADDED_DATE | MSG_ADDED_FROM,
	  "MESSAGE-ID: <x@y>\r\n" C_DATE C_FROM },
	{ "Message-Id: <x@y>\n", MSG_ADDED_DATE | MSG_ADDED_FROM,
	  "Message-Id: <x@y>\r\n" C_DATE C_FROM },
	{ "from: Someone <s@y>\n", MSG_ADDED_DATE | MSG_ADDED_MSGID,
	  "from: Someone <s@y>\r\n" C_DATE C_MSGID },
	{ "From: a@b\nDate: d\nMessage-ID: <m@n>\n", 0,
	  "From: a@b\r\nDate: d\r\nMessage-ID: <m@n>\r\n" },
	{ "From:\n  a@b\nDate : d\n", MSG_ADDED_MSGID,
	  "From:\r\n  a@b\r\nDate : d\r\n" C_MSGID },
	/* Only the exact names count. */
	{ "Resent-From: r@x\nResent-Date: d\nResent-Message-ID: <r@x>\n"
	  "X-Date: d\nSender: s@x\n", 7,
	  "Resent-From: r@x\r\nResent-Date: d\r\nResent-Message-ID: <r@x>\r\n"
	  "X-Date: d\r\nSender: s@x\r\n" C_DATE C_MSGID C_FROM },
	/* Two Date fields: kept, both. */
	{ "Date: a\nDate: b\n", MSG_ADDED_MSGID | MSG_ADDED_FROM,
	  "Date: a\r\nDate: b\r\n" C_MSGID C_FROM },
};

START_TEST(complete_case)
{
	const struct ccase *c = &ccases[_i];
	struct msg_head *h;
	size_t before;
	char *got;
	int res, added;

	utc();
	h = parse(c->in, 998, 65536, &res, NULL);
	before = msg_head_count(h);
	added = msg_complete(h, &base_origin);
	ck_assert_int_eq(added, c->added);
	ck_assert_uint_eq(msg_head_count(h), before +
	    !!(added & MSG_ADDED_DATE) + !!(added & MSG_ADDED_MSGID) +
	    !!(added & MSG_ADDED_FROM));
	got = written(h);
	ck_assert_str_eq(got, c->out);
	free(got);
	msg_head_free(h);
}
END_TEST

/* From: -f (sender), -F or gecos (full_name), user; names quoted when not
 * only atext and spaces, control characters made spaces. */
struct fcase {
	const char	*sender;
	const char	*full_name;
	const char	*user;
	const char	*helo;
	const char	*from;
};

static const struct fcase fcases[] = {
	{ "me@x.example", NULL, "joe", "h.example", "me@x.example" },
	{ "me@x.example", "Joe User", "joe", "h.example",
	  "Joe User <me@x.example>" },
	{ "me@x.example", "O'Brien", "joe", "h.example",
	  "O'Brien <me@x.example>" },
	{ "me@x.example", "Joe Q. Public", "joe", "h.example",
	  "\"Joe Q. Public\" <me@x.example>" },
	{ "me@x.example", "Doe, John", "joe", "h.example",
	  "\"Doe, John\" <me@x.example>" },
	{ "me@x.example", "a <b> c", "joe", "h.example",
	  "\"a <b> c\" <me@x.example>" },
	{ "me@x.example", "(not a comment)", "joe", "h.example",
	  "\"(not a comment)\" <me@x.example>" },
	{ "me@x.example", "say \"hi\"", "joe", "h.example",
	  "\"say \\\"hi\\\"\" <me@x.example>" },
	{ "me@x.example", "back\\slash", "joe", "h.example",
	  "\"back\\\\slash\" <me@x.example>" },
	{ "me@x.example", "  Joe  ", "joe", "h.example",
	  "Joe <me@x.example>" },
	{ "me@x.example", "\tJoe\r\n", "joe", "h.example",
	  "Joe <me@x.example>" },
	{ "me@x.example", "   ", "joe", "h.example", "me@x.example" },
	{ "me@x.example", "", "joe", "h.example", "me@x.example" },
	{ "me@x.example", "x\nBcc: y@z", "joe", "h.example",
	  "\"x Bcc: y@z\" <me@x.example>" },
	{ "me@x.example", "a\tb", "joe", "h.example",
	  "\"a b\" <me@x.example>" },
	{ "me@x.example", "Jos\xc3\xa9", "joe", "h.example",
	  "\"Jos\xc3\xa9\" <me@x.example>" },
	{ "\"john doe\"@x.example", "John", "joe", "h.example",
	  "John <\"john doe\"@x.example>" },
	/* Null, missing or local sender: the user at this host. */
	{ "", NULL, "joe", "h.example", "joe@h.example" },
	{ "", "Joe", "joe", "h.example", "Joe <joe@h.example>" },
	{ NULL, NULL, "joe", "h.example", "joe@h.example" },
	{ "root", NULL, "joe", "h.example", "joe@h.example" },
	{ "", NULL, NULL, "h.example", "unknown@h.example" },
	{ "", NULL, "joe", NULL, "joe@localhost" },
};

START_TEST(complete_from)
{
	const struct fcase *c = &fcases[_i];
	struct msg_origin o = base_origin;
	struct msg_head *h = msg_head_new(1000);
	long i;

	o.sender = c->sender;
	o.full_name = c->full_name;
	o.user = c->user;
	o.helo_name = c->helo;
	ck_assert_int_eq(msg_complete(h, &o), 7);
	i = msg_head_find(h, "From", 0);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(msg_head_value(h, (size_t)i)[0], ' ');
	ck_assert_str_eq(msg_head_value(h, (size_t)i) + 1, c->from);
	msg_head_free(h);
}
END_TEST

/* Message-ID: <stamp.queue_id@helo_name>, the stamp in UTC whatever TZ. */
struct mcase {
	const char	*queue_id;
	const char	*helo;
	int64_t		 now_ms;
	const char	*tz;
	const char	*msgid;
};

static const struct mcase mcases[] = {
	{ "0CZQ1", "mail.example", NOW_MS, "UTC0",
	  "<20261122153000.0CZQ1@mail.example>" },
	{ "0CZQ1", "mail.example", NOW_MS, "XST-5:30",
	  "<20261122153000.0CZQ1@mail.example>" },
	{ NULL, "mail.example", INT64_C(1769936707000), "EST5",
	  "<20260201090507.0@mail.example>" },
	{ "Q", NULL, 0, "UTC0", "<19700101000000.Q@localhost>" },
};

START_TEST(complete_msgid)
{
	const struct mcase *c = &mcases[_i];
	struct msg_origin o = base_origin;
	struct msg_head *h = msg_head_new(1000);
	struct addr_list l;
	struct ob_err err;
	const char *v;
	long i;

	setenv("TZ", c->tz, 1);
	tzset();
	o.queue_id = c->queue_id;
	o.helo_name = c->helo;
	o.now_ms = c->now_ms;
	ck_assert_int_eq(msg_complete(h, &o), 7);
	i = msg_head_find(h, "message-id", 0);
	ck_assert_int_eq(i, 1);
	v = msg_head_value(h, (size_t)i);
	ck_assert_int_eq(v[0], ' ');
	ck_assert_str_eq(v + 1, c->msgid);
	/* msg-id = "<" id-left "@" id-right ">": it parses as an address. */
	addr_list_init(&l);
	ck_assert_int_eq(addr_parse_header(v, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	addr_list_free(&l);
	msg_head_free(h);
}
END_TEST

/* Date: an RFC 5322 3.3 date-time in local time, English names, that
 * parses back to NOW (to the second) in any zone. */
struct dcase {
	const char	*tz;
	int64_t		 now_ms;
	const char	*date;
};

static const struct dcase dcases[] = {
	{ "UTC0", NOW_MS, "Sun, 22 Nov 2026 15:30:00 +0000" },
	{ "EST5", NOW_MS, "Sun, 22 Nov 2026 10:30:00 -0500" },
	{ "XST-5:30", NOW_MS, "Sun, 22 Nov 2026 21:00:00 +0530" },
	{ "XST-14", NOW_MS, "Mon, 23 Nov 2026 05:30:00 +1400" },
	{ "UTC0", INT64_C(1769936707999), "Sun, 1 Feb 2026 09:05:07 +0000" },
	{ "UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000" },
};

START_TEST(complete_date)
{
	const struct dcase *c = &dcases[_i];
	struct msg_origin o = base_origin;
	struct msg_head *h = msg_head_new(1000);
	const char *v, *end;
	struct tm tm;
	long i, off;

	setenv("TZ", c->tz, 1);
	tzset();
	/* Names stay English whatever the locale (if this one exists). */
	(void)setlocale(LC_ALL, "de_DE.UTF-8");
	o.now_ms = c->now_ms;
	ck_assert_int_eq(msg_complete(h, &o), 7);
	i = msg_head_find(h, "date", 0);
	ck_assert_int_eq(i, 0);
	v = msg_head_value(h, (size_t)i);
	ck_assert_int_eq(v[0], ' ');
	ck_assert_str_eq(v + 1, c->date);
	(void)setlocale(LC_ALL, "C");
	memset(&tm, 0, sizeof tm);
	setenv("TZ", "UTC0", 1);
	tzset();
	end = strptime(v + 1, "%a, %d %b %Y %H:%M:%S %z", &tm);
	ck_assert_ptr_nonnull(end);
	ck_assert_str_eq(end, "");
	off = tm.tm_gmtoff;		/* timegm resets it */
	ck_assert_int_eq((long long)(timegm(&tm) - off),
	    (long long)(c->now_ms / 1000));
	msg_head_free(h);
}
END_TEST

/* ---- main ---------------------------------------------------------------- */

#define N(a)	((int)(sizeof (a) / sizeof (a)[0]))

int
main(void)
{
	Suite *s = suite_create("msg");
	TCase *tc;
	SRunner *sr;
	const char *fork_mode;
	int failed;

	tc = tcase_create("lines");
	tcase_add_loop_test(tc, lines_case, 0, N(lcases));
	tcase_add_test(tc, lines_advance);
	tcase_add_loop_test(tc, lines_random, 0, 40);
	suite_add_tcase(s, tc);

	tc = tcase_create("head");
	tcase_add_loop_test(tc, head_case, 0, N(hcases));
	tcase_add_test(tc, head_fields);
	tcase_add_test(tc, head_edit);
	tcase_add_test(tc, head_parts);
	tcase_add_loop_test(tc, head_8bit, 0, N(bcases));
	tcase_add_test(tc, head_8bit_append);
	/* panic() aborts: only testable in fork mode. */
	if ((fork_mode = getenv("CK_FORK")) == NULL ||
	    strcmp(fork_mode, "no") != 0)
		tcase_add_test_raise_signal(tc, head_name_range, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("head_size");
	tcase_add_loop_test(tc, head_size, 0, N(scases));
	tcase_add_test(tc, head_size_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("rcpts");
	tcase_add_loop_test(tc, rcpts_case, 0, N(rcases));
	tcase_add_test(tc, rcpts_error_text);
	tcase_add_test(tc, rcpts_appends);
	suite_add_tcase(s, tc);

	tc = tcase_create("strip_bcc");
	tcase_add_loop_test(tc, strip_case, 0, N(stcases));
	tcase_add_test(tc, strip_after_rcpts);
	suite_add_tcase(s, tc);

	tc = tcase_create("complete");
	tcase_add_checked_fixture(tc, utc, NULL);
	tcase_add_test(tc, complete_empty);
	tcase_add_loop_test(tc, complete_case, 0, N(ccases));
	tcase_add_loop_test(tc, complete_from, 0, N(fcases));
	tcase_add_loop_test(tc, complete_msgid, 0, N(mcases));
	tcase_add_loop_test(tc, complete_date, 0, N(dcases));
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
