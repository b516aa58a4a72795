/* tlspol.c - the per-domain TLS policy file (tlspol.h).
 *
 * The whole file is read into one sorted array; a lookup is a binary
 * search per label of the domain, so a policy of thousands of domains
 * costs microseconds per delivery.  A file with any bad line is refused
 * whole: a mistyped "verify" must never quietly become "may".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlspol.h"
#include "util.h"

#define TLSPOL_LINE_MAX	1024
#define TLSPOL_FILE_MAX	(16 * 1024 * 1024)

struct tlspol_rule {
	char	*domain;	/* lower case; ".x" = subdomains of x */
	enum tlspol_level level;
	int	 line;		/* where the file gives it */
};

struct tlspol {
	struct tlspol_rule *r;
	size_t	 n;
};

static const char *const tlspol_names[] = { "none", "may", "encrypt",
    "verify" };

const char *
tlspol_name(enum tlspol_level level)
{
	return (unsigned)level < 4 ? tlspol_names[level] : "?";
}

static int
rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tlspol_rule *)a)->domain,
	    ((const struct tlspol_rule *)b)->domain);
}

/* rule_cmp_line: by domain, then by line (qsort is not stable). */
static int
rule_cmp_line(const void *a, const void *b)
{
	const struct tlspol_rule *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* read_line: the next line of FP into LINE (CAP octets, NUL-terminated,
 * newline dropped).  0 at the end of the file, else 1 with *LONG set when
 * the line did not fit (the rest is skipped) and *NUL when it holds a NUL
 * octet.  A bounded getc loop: fgets cannot tell a NUL from the end. */
static int
read_line(FILE *fp, char *line, size_t cap, int *lng, int *nul)
{
	size_t len = 0;
	int ch, any = 0;

	*lng = *nul = 0;
	while ((ch = getc(fp)) != EOF) {
		any = 1;
		if (ch == '\n')
			break;
		if (ch == '\0')
			*nul = 1;
		if (len + 1 < cap)
			line[len++] = (char)ch;
		else
			*lng = 1;
	}
	line[len] = '\0';
	return any;
}

/* domain_ok: LDH labels (and '_'), no empty label, at most 253 octets;
 * one leading '.' for a subdomain rule. */
static int
domain_ok(const char *d)
{
	size_t len = 0, lab = 0;

	if (*d == '.')
		d++;
	if (*d == '\0')
		return 0;
	for (; *d; d++, len++) {
		if (*d == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			continue;
		}
		if (!((*d >= 'a' && *d <= 'z') || (*d >= '0' && *d <= '9') ||
		    *d == '-' || *d == '_'))
			return 0;
		if (++lab > 63)
			return 0;
	}
	return lab > 0 && len <= 253;
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* parse_line: one line (NUL-terminated, no newline) into P; 0 = a rule
 * or nothing, -1 with WHY. */
static int
parse_line(struct tlspol *p, char *s, int lineno, char *why, size_t n)
{
	char *save = NULL, *dom, *lev, *extra, *hash;
	size_t i;

	if ((hash = strchr(s, '#')) != NULL)
		*hash = '\0';
	dom = strtok_r(s, " \t\r", &save);
	if (dom == NULL)
		return 0;
	lev = strtok_r(NULL, " \t\r", &save);
	extra = strtok_r(NULL, " \t\r", &save);
	if (lev == NULL || extra != NULL) {
		(void)ob_snprintf(why, n, "want \"DOMAIN POLICY\"");
		return -1;
	}
	lower(dom);
	if (strlen(dom) > 254 || !domain_ok(dom)) {
		(void)ob_snprintf(why, n, "not a domain name: %.64s", dom);
		return -1;
	}
	for (i = 0; i < 4; i++)
		if (ob_strcasecmp(lev, tlspol_names[i]) == 0)
			break;
	if (i == 4) {
		(void)ob_snprintf(why, n, "unknown policy \"%.32s\" (none, "
		    "may, encrypt or verify)", lev);
		return -1;
	}
	p->r = xreallocarray(p->r, p->n + 1, sizeof *p->r);
	p->r[p->n].domain = xstrdup(dom);
	p->r[p->n].level = (enum tlspol_level)i;
	p->r[p->n].line = lineno;
	p->n++;
	return 0;
}

int
tlspol_load(struct tlspol **pol, const char *path, FILE *errs)
{
	struct tlspol *p = xcalloc(1, sizeof *p);
	char line[TLSPOL_LINE_MAX + 1], why[256];
	size_t i;
	int nerr = 0, lineno = 0, lng, nul;
	struct stat sb;
	FILE *fp;

	*pol = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		tlspol_free(p);
		return 1;
	}
	if (fstat(fileno(fp), &sb) == 0 && sb.st_size > TLSPOL_FILE_MAX) {
		if (errs != NULL)
			fprintf(errs, "%s: larger than %d bytes\n", path,
			    TLSPOL_FILE_MAX);
		fclose(fp);
		tlspol_free(p);
		return 1;
	}
	while (read_line(fp, line, sizeof line, &lng, &nul)) {
		lineno++;
		if (lng) {
			if (errs != NULL)
				fprintf(errs, "%s:%d: line longer than %d "
				    "bytes\n", path, lineno, TLSPOL_LINE_MAX);
			nerr++;
			continue;
		}
		if (nul) {
			if (errs != NULL)
				fprintf(errs, "%s:%d: NUL byte in line\n", path,
				    lineno);
			nerr++;
			continue;
		}
		if (parse_line(p, line, lineno, why, sizeof why) == -1) {
			if (errs != NULL)
				fprintf(errs, "%s:%d: %s\n", path, lineno, why);
			nerr++;
		}
	}
	if (ferror(fp)) {
		if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		nerr++;
	}
	fclose(fp);
	if (p->n > 1)
		qsort(p->r, p->n, sizeof *p->r, rule_cmp_line);
	/* the same domain twice with different levels is a mistake */
	for (i = 1; i < p->n; i++)
		if (strcmp(p->r[i - 1].domain, p->r[i].domain) == 0 &&
		    p->r[i - 1].level != p->r[i].level) {
			if (errs != NULL)
				fprintf(errs, "%s:%d: %s given twice, as %s "
				    "and %s\n", path, p->r[i].line,
				    p->r[i].domain,
				    tlspol_name(p->r[i - 1].level),
				    tlspol_name(p->r[i].level));
			nerr++;
		}
	if (nerr > 0) {
		tlspol_free(p);
		return nerr;
	}
	*pol = p;
	return 0;
}

void
tlspol_free(struct tlspol *pol)
{
	size_t i;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->n; i++)
		free(pol->r[i].domain);
	free(pol->r);
	free(pol);
}

static const struct tlspol_rule *
find(const struct tlspol *pol, const char *key)
{
	struct tlspol_rule k;

	memset(&k, 0, sizeof k);
	k.domain = (char *)(uintptr_t)key;
	return bsearch(&k, pol->r, pol->n, sizeof *pol->r, rule_cmp);
}

enum tlspol_level
tlspol_lookup(const struct tlspol *pol, const char *domain,
    enum tlspol_level def)
{
	const struct tlspol_rule *r;
	char key[256];
	const char *p;
	size_t len;

	if (pol == NULL || pol->n == 0)
		return def;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;			/* "example.org." */
	if (len == 0 || len >= sizeof key)
		return def;
	memcpy(key, domain, len);
	key[len] = '\0';
	lower(key);
	if ((r = find(pol, key)) != NULL)
		return r->level;
	/* ".parent" rules, nearest first: "a.b.c" -> ".b.c", ".c" */
	for (p = strchr(key, '.'); p != NULL; p = strchr(p + 1, '.'))
		if ((r = find(pol, p)) != NULL)
			return r->level;
	return def;
}
