/* fuzz_conf.c - libFuzzer target: the configuration file (src/conf.h).
 *
 * The input is written to a temporary file (made once per process with
 * mkstemp, rewritten every run) and read by conf_load into conf_defaults();
 * the effective configuration is printed with conf_print and the routes
 * are looked up with conf_route_for.
 *
 * Oracles beyond "no crash, no leak, no UB": conf.h promises that
 * conf_print writes "every key, in the file's own syntax (so it can be
 * read back by conf_load)".  So when the input loads without errors, its
 * printout must load without errors too, and print the same text again
 * (but for the first line, a comment naming the file).
 * The problems conf_load reports are checked to be one line each.
 * A broken oracle calls abort().
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

static char	fc_dir[64], fc_path[96], fc_path2[96];
static int	fc_fd = -1, fc_fd2 = -1;

static void
fc_cleanup(void)
{
	if (fc_fd != -1) {
		close(fc_fd);
		unlink(fc_path);
	}
	if (fc_fd2 != -1) {
		close(fc_fd2);
		unlink(fc_path2);
	}
	if (fc_dir[0] != '\0')
		rmdir(fc_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	log_init("fuzz_conf", LOG_TO_STDERR, 0);
	/* a directory of our own: relative paths in the file resolve in it */
	if (ob_snprintf(fc_dir, sizeof fc_dir, "%s/fuzz_conf.XXXXXX",
	    tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp") == -1 ||
	    mkdtemp(fc_dir) == NULL)
		abort();
	if (ob_snprintf(fc_path, sizeof fc_path, "%s/outbox.conf",
	    fc_dir) == -1 || ob_snprintf(fc_path2, sizeof fc_path2,
	    "%s/printed.conf", fc_dir) == -1)
		abort();
	if ((fc_fd = open(fc_path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (fc_fd2 = open(fc_path2, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	atexit(fc_cleanup);
	return 0;
}

static void
fc_write(int fd, const void *d, size_t n)
{
	if (ftruncate(fd, 0) == -1 || (n > 0 && pwrite(fd, d, n, 0) !=
	    (ssize_t)n))
		abort();
}

/* fc_load: load PATH into fresh defaults; the error count; the errors'
 * text checked to be whole lines. */
static int
fc_load(const char *path, struct conf **cp)
{
	char *etext = NULL;
	size_t elen = 0;
	FILE *errs = open_memstream(&etext, &elen);
	int n;

	if (errs == NULL)
		abort();
	*cp = conf_defaults();
	n = conf_load(*cp, path, errs);
	fclose(errs);
	if (n < 0 || (n == 0) != (elen == 0))
		abort();	/* errors counted but not said, or vice versa */
	if (elen > 0 && etext[elen - 1] != '\n')
		abort();
	free(etext);
	return n;
}

static char *
fc_print(const struct conf *c, size_t *len)
{
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	if (fp == NULL)
		abort();
	conf_print(c, fp);
	fclose(fp);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const senders[] = {
		"", "joe@client.example", "JOE@Client.Example", "x@y", "@",
		"a@b@c"
	};
	struct conf *c, *c2;
	char *p1, *p2, *s1, *s2;
	size_t l1, l2, i;

	fc_write(fc_fd, data, size);
	if (fc_load(fc_path, &c) != 0) {
		conf_free(c);
		return 0;
	}
	for (i = 0; i < sizeof senders / sizeof senders[0]; i++)
		if (conf_route_for(c, senders[i]) == NULL)
			abort();
	p1 = fc_print(c, &l1);

	/* what conf_print wrote reads back, to the same configuration */
	fc_write(fc_fd2, p1, l1);
	if (fc_load(fc_path2, &c2) != 0)
		abort();
	p2 = fc_print(c2, &l2);
	/* the first line is a comment naming the file read */
	s1 = memchr(p1, '\n', l1);
	s2 = memchr(p2, '\n', l2);
	if (s1 == NULL || s2 == NULL || l1 - (size_t)(s1 - p1) !=
	    l2 - (size_t)(s2 - p2) || memcmp(s1, s2, l1 - (size_t)(s1 - p1)) != 0)
		abort();
	free(p1);
	free(p2);
	conf_free(c);
	conf_free(c2);
	return 0;
}
