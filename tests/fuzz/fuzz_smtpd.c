/* fuzz_smtpd.c - libFuzzer target: the SMTP server engine (src/smtpd.h)
 * fed client bytes, driven as the listener drives it.
 *
 * Input: two configuration octets, then what the client sends.  Octet 0:
 *   bit 0   allowed
 *   bit 1   tls_available
 *   bit 2   tls_up (implicit TLS)
 *   bit 3-4 auth_mechs (PLAIN, LOGIN)
 *   bit 5   auth_allow_plaintext
 *   bit 6   max_message_size 300 (else none)
 *   bit 7   max_rcpt 2, max_errors 3 (else the defaults)
 * Octet 1 seeds the scripted caller: the sizes of the pieces the input is
 * cut into (1 .. 4096 octets), whether data_done/auth_done wait for the
 * next piece, and the answers: data_done ok or a failure with an odd
 * code, status and text; tls_done ok or not; auth_done ok when the
 * password is "secret" or a coin says so.  At the end: EOF or timeout.
 *
 * Oracles: no crash, leak or UB; every reply line is "DDD[ -]text" CRLF
 * with DDD in 200..599, printable, at most 512 octets; smtpd_mem stays
 * bounded; events come in a legal order (MAIL not inside DATA, DATA only
 * after a MAIL since the last message, with recipients; BODY only between
 * DATA and DOT/ABORT; nothing but one ABORT once closing); a client that
 * is neither allowed nor authenticated never gets EV_MAIL; smtpd_next
 * does not loop without end.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"
#include "util.h"

#define FD_MEM_MAX	(320 * 1024)
#define FD_STEPS_MAX	100000

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_smtpd", LOG_TO_STDERR, 0);
	return 0;
}

struct fd {
	struct smtpd	*s;
	uint32_t	 rnd;
	int		 allowed;
	int		 authed;	/* auth_done(1) given since TLS */
	int		 mail;		/* EV_MAIL since the last message */
	int		 data;		/* between DATA and DOT/ABORT */
	int		 dot_wait;	/* EV_DOT not yet answered */
	int		 auth_wait;	/* EV_AUTH not yet answered */
	int		 auth_ok;	/* ... and the answer */
	int		 closed;
};

static uint32_t
fd_rand(struct fd *f)
{
	/* xorshift32 */
	f->rnd ^= f->rnd << 13;
	f->rnd ^= f->rnd >> 17;
	f->rnd ^= f->rnd << 5;
	return f->rnd;
}

static void
fd_check_output(struct fd *f)
{
	struct buf *o = smtpd_output(f->s);
	size_t i = 0, j, k;

	while (i < o->len) {
		for (j = i; j < o->len && o->p[j] != '\n'; j++)
			;
		if (j == o->len || j == i || o->p[j - 1] != '\r')
			abort();		/* no CRLF at the end */
		if (j - i + 1 > 512 || j - i - 1 < 3)
			abort();
		if (o->p[i] < '2' || o->p[i] > '5' || o->p[i + 1] < '0' ||
		    o->p[i + 1] > '9' || o->p[i + 2] < '0' ||
		    o->p[i + 2] > '9')
			abort();
		if (j - i - 1 > 3 && o->p[i + 3] != ' ' && o->p[i + 3] != '-')
			abort();
		for (k = i; k < j - 1; k++)
			if ((unsigned char)o->p[k] < 0x20 ||
			    (unsigned char)o->p[k] >= 0x7f)
				abort();
		i = j + 1;
	}
	buf_clear(o);
}

static void
fd_answer_dot(struct fd *f)
{
	static const char *const st[] = { "4.3.0", "5.7.1", "x", NULL,
	    "4.3.1234" };
	uint32_t r = fd_rand(f);

	f->dot_wait = 0;
	if (r & 1)
		smtpd_data_done(f->s, 1, "Q0123", 0, NULL, NULL);
	else
		smtpd_data_done(f->s, 0, NULL, (int)(r >> 8) % 1000,
		    st[(r >> 4) % 5], (r & 2) ? "bad\r\ntext\x80" : NULL);
}

static void
fd_answer_auth(struct fd *f)
{
	f->auth_wait = 0;
	smtpd_auth_done(f->s, f->auth_ok);
	if (f->auth_ok && !f->closed)
		f->authed = 1;
}

static void
fd_drain(struct fd *f)
{
	struct smtpd_ev e;
	enum smtpd_event ev;
	size_t i;
	int steps = 0;

	for (;;) {
		if (++steps > FD_STEPS_MAX)
			abort();
		ev = smtpd_next(f->s, &e);
		fd_check_output(f);
		if (smtpd_mem(f->s) > FD_MEM_MAX)
			abort();
		if (f->closed && ev != SMTPD_EV_NONE &&
		    !(ev == SMTPD_EV_ABORT && f->data))
			abort();
		switch (ev) {
		case SMTPD_EV_NONE:
			if (smtpd_closing(f->s))
				f->closed = 1;
			return;
		case SMTPD_EV_MAIL:
			if (f->data || e.sender == NULL)
				abort();
			if (!f->allowed && !f->authed)
				abort();	/* an open relay */
			f->mail = 1;
			break;
		case SMTPD_EV_DATA:
			if (!f->mail || f->data || e.nrcpt == 0 ||
			    e.sender == NULL)
				abort();
			for (i = 0; i < e.nrcpt; i++)
				if (e.rcpt[i] == NULL || e.rcpt[i][0] == '\0')
					abort();
			f->data = 1;
			break;
		case SMTPD_EV_BODY:
			if (!f->data || e.len == 0 || e.len > 64 * 1024)
				abort();
			break;
		case SMTPD_EV_DOT:
			if (!f->data)
				abort();
			f->data = f->mail = 0;
			if (fd_rand(f) & 4)
				f->dot_wait = 1;
			else
				fd_answer_dot(f);
			break;
		case SMTPD_EV_ABORT:
			if (!f->data || e.why == NULL)
				abort();
			f->data = f->mail = 0;
			break;
		case SMTPD_EV_STARTTLS:
			if (f->data)
				abort();
			/* after the handshake: no AUTH, no transaction */
			f->authed = f->mail = 0;
			smtpd_tls_done(f->s, (fd_rand(f) & 7) != 0);
			break;
		case SMTPD_EV_AUTH:
			if (f->data || e.user == NULL || e.pass == NULL ||
			    e.mech == NULL)
				abort();
			f->auth_ok = strcmp(e.pass, "secret") == 0 ||
			    (fd_rand(f) & 8) != 0;
			if (fd_rand(f) & 16)
				f->auth_wait = 1;
			else
				fd_answer_auth(f);
			break;
		default:
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_conf cf;
	struct fd f;
	size_t off, n;
	uint8_t c0;

	if (size < 2)
		return 0;
	c0 = data[0];
	memset(&cf, 0, sizeof cf);
	cf.hostname = "mx.fuzz";
	cf.client_addr = "192.0.2.9";
	cf.allowed = c0 & 1;
	cf.tls_available = (c0 >> 1) & 1;
	cf.tls_up = (c0 >> 2) & 1;
	cf.auth_mechs = (c0 >> 3) & 3;
	cf.auth_allow_plaintext = (c0 >> 5) & 1;
	cf.max_message_size = (c0 & 0x40) ? 300 : 0;
	if (c0 & 0x80) {
		cf.max_rcpt = 2;
		cf.max_errors = 3;
	}
	memset(&f, 0, sizeof f);
	f.rnd = 0x9e3779b9u ^ ((uint32_t)data[1] * 0x01000193u);
	f.allowed = cf.allowed;
	f.s = smtpd_new(&cf);
	fd_check_output(&f);
	data += 2;
	size -= 2;
	for (off = 0; off < size; off += n) {
		n = 1 + fd_rand(&f) % (1u << (fd_rand(&f) % 13));
		if (n > size - off)
			n = size - off;
		smtpd_input(f.s, data + off, n);
		if (f.dot_wait && (fd_rand(&f) & 1))
			fd_answer_dot(&f);
		if (f.auth_wait && (fd_rand(&f) & 1))
			fd_answer_auth(&f);
		fd_drain(&f);
	}
	if (f.dot_wait)
		fd_answer_dot(&f);
	if (f.auth_wait)
		fd_answer_auth(&f);
	fd_drain(&f);
	if (fd_rand(&f) & 1)
		smtpd_eof(f.s);
	else
		smtpd_timeout(f.s);
	fd_drain(&f);
	if (!smtpd_closing(f.s))
		abort();
	smtpd_free(f.s);
	return 0;
}
