/* fuzz_tlspol.c - libFuzzer target: the per-domain TLS policy file
 * (src/tlspol.h).
 *
 * The input is written to a file (in a directory made once per process
 * with mkdtemp, rewritten every run) and read by tlspol_load;
 * then tlspol_lookup is asked about fixed names and about the words of
 * the input.
 *
 * Oracles beyond "no crash, no leak, no UB" (a broken one calls abort()):
 * - tlspol_load returns the number of problems, each one line of ERRS
 *   starting "PATH:"; *pol is set exactly when there are none.
 * - A file with a NUL octet or a line over 1024 bytes is refused.
 * - A file that loads: every line, without its comment, is empty or
 *   "DOMAIN POLICY", and looking DOMAIN up (any case, with a trailing
 *   dot) gives POLICY; for ".PARENT", a name under it ("*.parent": no
 *   rule can hold '*') gives POLICY.
 * - A lookup gives a level with a name, and either its default or the
 *   same level whatever the default.
 * Its first finding (a NUL in a last line without newline was not seen:
 * fgets) is fixed; the input is kept in corpus/tlspol/.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tlspol.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

#define FT_LINE_MAX	1024	/* tlspol.c's TLSPOL_LINE_MAX */
#define FT_WORDS	32	/* input words looked up per run */

static char	ft_dir[64], ft_path[96];
static int	ft_fd = -1;

static void
ft_cleanup(void)
{
	if (ft_fd != -1) {
		close(ft_fd);
		unlink(ft_path);
	}
	if (ft_dir[0] != '\0')
		rmdir(ft_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	log_init("fuzz_tlspol", LOG_TO_STDERR, 0);
	if (ob_snprintf(ft_dir, sizeof ft_dir, "%s/fuzz_tlspol.XXXXXX",
	    tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp") == -1 ||
	    mkdtemp(ft_dir) == NULL)
		abort();
	if (ob_snprintf(ft_path, sizeof ft_path, "%s/tls_policy",
	    ft_dir) == -1)
		abort();
	if ((ft_fd = open(ft_path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	atexit(ft_cleanup);
	return 0;
}

static void
ft_write(const void *d, size_t n)
{
	if (ftruncate(ft_fd, 0) == -1 || (n > 0 && pwrite(ft_fd, d, n, 0) !=
	    (ssize_t)n))
		abort();
}

/* ft_errs_ok: ERRS (LEN octets) is N lines, each starting "PATH:". */
static void
ft_errs_ok(const char *errs, size_t len, int n)
{
	size_t plen = strlen(ft_path), i, start = 0;
	int lines = 0;

	for (i = 0; i < len; i++) {
		if (errs[i] != '\n')
			continue;
		if (i - start < plen + 1 ||
		    memcmp(errs + start, ft_path, plen) != 0 ||
		    errs[start + plen] != ':')
			abort();
		lines++;
		start = i + 1;
	}
	if (start != len || lines != n)
		abort();
}

/* ft_lookup: tlspol_lookup of NAME, checked against two defaults; -1
 * when no rule matched, else the level. */
static int
ft_lookup(const struct tlspol *pol, const char *name)
{
	enum tlspol_level a = tlspol_lookup(pol, name, TLSPOL_NONE);
	enum tlspol_level b = tlspol_lookup(pol, name, TLSPOL_VERIFY);

	if ((unsigned)a > TLSPOL_VERIFY || (unsigned)b > TLSPOL_VERIFY ||
	    strcmp(tlspol_name(a), "?") == 0)
		abort();
	if (a == b)
		return (int)a;
	if (a != TLSPOL_NONE || b != TLSPOL_VERIFY)
		abort();
	return -1;
}

/* ft_variants: NAME looked up as given, in upper and lower case, and with
 * a trailing dot, all alike.  The level, or -1. */
static int
ft_variants(const struct tlspol *pol, const char *name)
{
	char v[300];
	size_t n = strlen(name), i;
	int want = ft_lookup(pol, name);

	if (n + 2 > sizeof v)
		return want;
	for (i = 0; i <= n; i++)
		v[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ?
		    name[i] - 'a' + 'A' : name[i]);
	if (ft_lookup(pol, v) != want)
		abort();
	for (i = 0; i <= n; i++)
		v[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i]);
	if (ft_lookup(pol, v) != want)
		abort();
	if (n > 0 && name[n - 1] != '.') {
		v[n] = '.';
		v[n + 1] = '\0';
		if (ft_lookup(pol, v) != want)
			abort();
	}
	return want;
}

static int
ft_level(const char *w)
{
	int i;

	for (i = TLSPOL_NONE; i <= TLSPOL_VERIFY; i++)
		if (ob_strcasecmp(w, tlspol_name((enum tlspol_level)i)) == 0)
			return i;
	return -1;
}

/* ft_rules: POL was loaded from DATA: every line's rule is found. */
static void
ft_rules(const struct tlspol *pol, const uint8_t *data, size_t size)
{
	char line[FT_LINE_MAX + 1], look[300], *w[3], *save, *hash;
	size_t off = 0, len, nw;
	const uint8_t *nl;
	int level;

	while (off < size) {
		nl = memchr(data + off, '\n', size - off);
		len = (nl != NULL ? (size_t)(nl - data) : size) - off;
		if (len > FT_LINE_MAX || memchr(data + off, '\0', len) != NULL)
			abort();	/* should have been refused */
		memcpy(line, data + off, len);
		line[len] = '\0';
		off += len + 1;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		save = NULL;
		for (nw = 0; nw < 3; nw++)
			if ((w[nw] = strtok_r(nw == 0 ? line : NULL, " \t\r",
			    &save)) == NULL)
				break;
		if (nw == 0)
			continue;
		if (nw != 2 || (level = ft_level(w[1])) == -1 ||
		    strlen(w[0]) > 254)
			abort();
		if (w[0][0] == '.') {
			if (ob_snprintf(look, sizeof look, "*%s", w[0]) == -1)
				abort();
		} else if (ob_snprintf(look, sizeof look, "%s", w[0]) == -1)
			abort();
		if (ft_variants(pol, look) != level)
			abort();
	}
}

/* ft_words: look up the first FT_WORDS words of DATA (and their parent
 * forms): only the promises every lookup keeps. */
static void
ft_words(const struct tlspol *pol, const uint8_t *data, size_t size)
{
	char w[300];
	size_t i = 0, n, k = 0;

	while (i < size && k < FT_WORDS) {
		while (i < size && (data[i] == ' ' || data[i] == '\t' ||
		    data[i] == '\r' || data[i] == '\n' || data[i] == '\0'))
			i++;
		for (n = 0; i < size && n < sizeof w - 1 && data[i] != ' ' &&
		    data[i] != '\t' && data[i] != '\r' && data[i] != '\n' &&
		    data[i] != '\0'; i++)
			w[n++] = (char)data[i];
		if (n == 0)
			break;
		w[n] = '\0';
		(void)ft_variants(pol, w);
		(void)ft_lookup(pol, w + n / 2);
		k++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"", ".", "..", "example.org", "EXAMPLE.ORG.", "a.example.org",
		"org", "localhost", "a..b", "*.example.net", "mx.example.com",
	};
	struct tlspol *pol = (struct tlspol *)&ft_fd;
	char *etext = NULL;
	size_t elen = 0, i, start;
	FILE *errs = open_memstream(&etext, &elen);
	int n, bad_line = 0, has_nul;

	if (errs == NULL)
		abort();
	ft_write(data, size);
	n = tlspol_load(&pol, ft_path, errs);
	if (fclose(errs) != 0)
		abort();
	if (n < 0 || (n == 0) != (pol != NULL) || (n == 0) != (elen == 0))
		abort();
	ft_errs_ok(etext, elen, n);
	free(etext);

	/* what must be refused */
	has_nul = memchr(data, '\0', size) != NULL;
	for (start = i = 0; i <= size; i++)
		if (i == size || data[i] == '\n') {
			if (i - start > FT_LINE_MAX)
				bad_line = 1;
			start = i + 1;
		}
	if (n == 0 && bad_line)
		abort();
	if (n == 0 && has_nul)
		abort();
	else if (n == 0)
		ft_rules(pol, data, size);

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		(void)ft_variants(pol, names[i]);
	ft_words(pol, data, size);
	tlspol_free(pol);
	return 0;
}
