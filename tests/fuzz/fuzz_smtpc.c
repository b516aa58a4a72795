/* fuzz_smtpc.c - libFuzzer target: the SMTP client engine fed server
 * replies (src/smtpc.h), driven as deliver.c drives it.
 *
 * Input: one configuration octet, then server lines separated by LF (a CR
 * before the LF stays: the engine must cope).  The octet picks:
 *   bit 0   no_pipelining
 *   bit 1-2 tls: 0 off, 1 may, 2/3 require
 *   bit 3   tls_up (implicit TLS)
 *   bit 4   AUTH with a fixed user and secret
 *   bit 5   auth_allow_plaintext
 *   bit 6   an 8-bit body (and, with bit 0 too, an 8-bit header)
 *   bit 7   a huge message size (the SIZE check) and a failed handshake
 * The driver answers every smtpc_want(): a line when it wants READ (input
 * exhausted: smtpc_lost), one of three fixed transactions when it wants TXN
 * (then QUIT), a small body (with a dot line) when it wants BODY,
 * smtpc_tls_done when it wants TLS.  With PIPELINING a transaction is also
 * started behind a final dot when smtpc_can_start says so.  The output is
 * "sent" (cleared) after every step.
 *
 * Oracles: the engine never panics (panic aborts) and never loops without
 * consuming input; once it is DONE or FAILED every started transaction is
 * done and every recipient has a result with a code in 200..599; a reply
 * result's text is NUL-terminated.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "smtp_reply.h"
#include "smtpc.h"
#include "util.h"

#define FS_NTXN		3
#define FS_NRCPT	3
#define FS_MAXSTEPS	100000

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_smtpc", LOG_TO_STDERR, 0);
	return 0;
}

struct fs_txn {
	struct smtpc_txn	 t;
	struct smtp_reply	 res[FS_NRCPT];
	int			 started;
};

static const char *const fs_rcpt[FS_NTXN][FS_NRCPT] = {
	{ "a@x.example", "b@x.example", "\"john doe\"@x.example" },
	{ "c@y.example", "d\xc3\xa9@y.example", "e@[192.0.2.1]" },
	{ "f@z.example", "g@z.example", "h@z.example" },
};
static const char *const fs_sender[FS_NTXN] = {
	"s@client.example", "", "s\xc3\xa9@client.example"
};

static void
fs_check_reply(const struct smtp_reply *r)
{
	if (r->code < 200 || r->code > 599)
		abort();
	if (memchr(r->text, '\0', sizeof r->text) == NULL ||
	    memchr(r->status, '\0', sizeof r->status) == NULL)
		abort();
}

static void
fs_start(struct smtpc *c, struct fs_txn *x, int i, unsigned cf)
{
	size_t k;

	memset(x, 0, sizeof *x);
	x->t.sender = fs_sender[i];
	x->t.rcpt = fs_rcpt[i];
	x->t.nrcpt = (size_t)FS_NRCPT - (size_t)i % 2;
	x->t.size = (cf & 0x80) && i == 0 ? UINT64_C(1) << 40 : 200;
	x->t.eightbit = (cf & 0x40) != 0;
	x->t.eightbit_header = (cf & 0x41) == 0x41;
	x->t.convert = i == 2;
	x->t.rcpt_result = x->res;
	for (k = 0; k < FS_NRCPT; k++)
		x->res[k].code = 999;
	x->started = 1;
	smtpc_start(c, &x->t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char body7[] = "Subject: t\r\n\r\nline\r\n.dot\r\n..\r\n";
	static const char body8[] = "Subject: t\r\n\r\ncaf\xc3\xa9\r\n.\r\n";
	struct smtpc_conf conf;
	struct fs_txn tx[FS_NTXN];
	struct smtpc *c;
	const char *p, *end, *nl;
	unsigned cf;
	int ntx = 0, steps = 0, quit = 0, i;
	size_t k;

	if (size == 0)
		return 0;
	cf = data[0];
	p = (const char *)data + 1;
	end = (const char *)data + size;

	memset(&conf, 0, sizeof conf);
	memset(tx, 0, sizeof tx);
	conf.helo_name = "client.example";
	conf.greeting_timeout = 300000;
	conf.command_timeout = 300000;
	conf.data_timeout = 600000;
	conf.no_pipelining = cf & 0x01;
	conf.tls = (cf >> 1) & 3;
	if (conf.tls == 3)
		conf.tls = SMTPC_TLS_REQUIRE;
	conf.tls_up = (cf & 0x08) != 0;
	if (cf & 0x10) {
		conf.auth_user = "user";
		conf.auth_secret = "pencil";
		conf.auth_mech = AUTH_NONE;
		conf.auth_host = "mx.example";
		conf.auth_port = 587;
	}
	conf.auth_allow_plaintext = (cf & 0x20) != 0;

	c = smtpc_new(&conf);
	for (;;) {
		enum smtpc_want w = smtpc_want(c);

		if (++steps > FS_MAXSTEPS)
			abort();	/* the engine loops */
		buf_clear(smtpc_output(c));
		(void)smtpc_timeout_ms(c);
		(void)smtpc_reply_open(c);
		(void)smtpc_state_name(c);
		if (w == SMTPC_DONE || w == SMTPC_FAILED)
			break;
		switch (w) {
		case SMTPC_WANT_READ:
			if (p >= end) {
				smtpc_lost(c, "connection closed by fuzzer");
				break;
			}
			nl = memchr(p, '\n', (size_t)(end - p));
			k = nl ? (size_t)(nl - p) : (size_t)(end - p);
			(void)smtpc_input(c, p, k);
			p = nl ? nl + 1 : end;
			/* pipelining: the next transaction behind the dot */
			if (ntx < FS_NTXN && smtpc_want(c) == SMTPC_WANT_READ &&
			    smtpc_can_start(c)) {
				fs_start(c, &tx[ntx], ntx, cf);
				ntx++;
			}
			break;
		case SMTPC_WANT_TXN:
			if (ntx < FS_NTXN && smtpc_can_start(c)) {
				fs_start(c, &tx[ntx], ntx, cf);
				ntx++;
			} else {
				if (quit++)
					abort();	/* QUIT twice */
				smtpc_quit(c);
			}
			break;
		case SMTPC_WANT_BODY:
			if (cf & 0x40)
				i = smtpc_body(c, body8, sizeof body8 - 1);
			else
				i = smtpc_body(c, body7, sizeof body7 - 1);
			if (i == 0)
				(void)smtpc_body_end(c);
			break;
		case SMTPC_WANT_TLS:
			if (cf & 0x80)
				smtpc_tls_done(c, 0, "handshake failed (fuzzer)");
			else
				smtpc_tls_done(c, 1, NULL);
			break;
		default:
			abort();
		}
	}
	(void)smtpc_extensions(c);
	(void)smtpc_size_limit(c);
	(void)smtpc_tls_up(c);
	(void)smtpc_auth_mech(c);
	if (smtpc_want(c) == SMTPC_FAILED)
		fs_check_reply(smtpc_error(c));
	for (i = 0; i < ntx; i++) {
		if (!tx[i].t.done)
			abort();
		for (k = 0; k < tx[i].t.nrcpt; k++)
			fs_check_reply(&tx[i].res[k]);
	}
	smtpc_free(c);
	return 0;
}
