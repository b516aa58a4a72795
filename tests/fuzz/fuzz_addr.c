/* fuzz_addr.c - libFuzzer target: every parser in src/addr.h.
 *
 * The input up to its first NUL (all of it when there is none) is given to
 * addr_parse_header (a To/Cc/Bcc value), addr_parse_arg (a command-line
 * argument, with and without the null sender allowed) and addr_valid_smtp.
 * The input after the first NUL (again all of it when there is none) is
 * written to a temporary file, read by aliases_load, and a few names are
 * resolved through it.
 *
 * Oracles beyond "no crash, no leak, no UB" (addr.c's invariants):
 *  - no address produced holds a control octet (below 0x20, or 0x7f;
 *    with FUZZ_SKIP_KNOWN set a TAB is let through: crashes/addr-1);
 *  - no address produced is empty, except the null sender from
 *    addr_parse_arg with ALLOW_NULL;
 *  - an address produced is a fixed point: addr_parse_arg of it gives it
 *    back unchanged, and addr_parse_header of it gives exactly it (with
 *    FUZZ_SKIP_KNOWN only for addresses addr_valid_smtp accepts:
 *    crashes/addr-2, a domain literal with a quoted-pair);
 *  - an error always comes with a message.
 * A broken oracle calls abort().
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

static char	fa_path[64];
static int	fa_skip_known;	/* FUZZ_SKIP_KNOWN: crashes/addr-1, -2 */
static int	fa_fd = -1;

static void
fa_cleanup(void)
{
	if (fa_fd != -1) {
		close(fa_fd);
		unlink(fa_path);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	log_init("fuzz_addr", LOG_TO_STDERR, 0);
	fa_skip_known = getenv("FUZZ_SKIP_KNOWN") != NULL;
	if (ob_snprintf(fa_path, sizeof fa_path, "%s/fuzz_addr.XXXXXX",
	    tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp") == -1)
		abort();
	if ((fa_fd = mkstemp(fa_path)) == -1)
		abort();
	atexit(fa_cleanup);
	return 0;
}

static void
fa_check_addr(const char *a, int null_ok)
{
	const unsigned char *p;

	if (a == NULL || (*a == '\0' && !null_ok))
		abort();
	for (p = (const unsigned char *)a; *p; p++)
		if ((*p < 0x20 || *p == 0x7f) && !(*p == '\t' && fa_skip_known))
			abort();
}

/* fa_fixed: A, as produced by a parser, parses back to itself. */
static void
fa_fixed(const char *a)
{
	struct addr_list l;
	struct ob_err err;
	char *out = NULL;

	if (addr_parse_arg(a, 0, &out, &err) != 0 || strcmp(out, a) != 0)
		abort();
	free(out);
	addr_list_init(&l);
	if (addr_parse_header(a, &l, &err) != 0 || l.n != 1 ||
	    strcmp(l.v[0], a) != 0)
		abort();
	addr_list_free(&l);
}

static void
fa_aliases(const char *file, size_t n, const char *name)
{
	static const char *const names[] = {
		"root", "postmaster", "MAILER-DAEMON", "nobody-here"
	};
	struct aliases *al = NULL;
	struct addr_list out;
	struct ob_err err;
	size_t i, k;

	if (ftruncate(fa_fd, 0) == -1 || pwrite(fa_fd, file, n, 0) !=
	    (ssize_t)n)
		abort();
	if (aliases_load(&al, fa_path, &err) == -1) {
		if (al != NULL || err.text[0] == '\0')
			abort();
		return;
	}
	for (i = 0; i <= sizeof names / sizeof names[0]; i++) {
		const char *nm = i < sizeof names / sizeof names[0] ?
		    names[i] : name;

		addr_list_init(&out);
		if (aliases_resolve(al, nm, &out, &err) == 0) {
			for (k = 0; k < out.n; k++)
				fa_check_addr(out.v[k], 0);
		} else if (err.text[0] == '\0') {
			abort();
		}
		addr_list_free(&out);
	}
	aliases_free(al);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul;
	char *s, *out = NULL, name[64];
	struct addr_list l;
	struct ob_err err;
	size_t slen, i;
	int allow;

	nul = memchr(in, '\0', size);
	slen = nul ? (size_t)(nul - in) : size;
	s = xstrndup(in, slen);

	addr_list_init(&l);
	err.text[0] = '\0';
	if (addr_parse_header(s, &l, &err) == -1 && err.text[0] == '\0')
		abort();
	for (i = 0; i < l.n; i++) {
		fa_check_addr(l.v[i], 0);
		if (!fa_skip_known || addr_valid_smtp(l.v[i]))
			fa_fixed(l.v[i]);
		(void)addr_valid_smtp(l.v[i]);
		(void)addr_is_local(l.v[i]);
	}
	addr_list_free(&l);

	for (allow = 0; allow <= 1; allow++) {
		err.text[0] = '\0';
		if (addr_parse_arg(s, allow, &out, &err) == 0) {
			fa_check_addr(out, allow);
			if (*out != '\0' && (!fa_skip_known ||
			    addr_valid_smtp(out)))
				fa_fixed(out);
			free(out);
			out = NULL;
		} else if (err.text[0] == '\0') {
			abort();
		}
	}
	(void)addr_valid_smtp(s);

	/* the name to resolve: the input's first word */
	for (i = 0; i < slen && i < sizeof name - 1 && s[i] != ':' &&
	    s[i] != ' ' && s[i] != '\n'; i++)
		name[i] = s[i];
	name[i] = '\0';
	if (nul != NULL)
		fa_aliases(nul + 1, size - slen - 1, name);
	else
		fa_aliases(in, size, name);
	free(s);
	return 0;
}
