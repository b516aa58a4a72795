/* authdb.c - the listener's users file (authdb.h).
 *
 * Checking a password is crypt_r() of it with the stored hash as setting,
 * compared in constant time; an unknown user is checked against the first
 * user's hash (or a fixed one), so that timing does not tell which users
 * exist.  The plaintext is never stored and the caller wipes its copy.
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authdb.h"
#include "util.h"

#define AUTHDB_LINE_MAX	1024

struct authdb_user {
	char	*name;
	char	*hash;
};

struct authdb {
	struct authdb_user *u;
	size_t	 n;
};

/* a valid SHA-512-crypt hash of nothing anybody knows */
static const char authdb_dummy[] = "$6$outbox.dummy$Aq0bW5Yh3ZQ9uO8s1Yv7cX"
    "r4mJmC3m8Q2Fh1uH0eL1kVtQ2pV7qU9a1Rk4sT3yD0o9lM3nB6vC8xZ2wQ5e";

static int
line_err(FILE *errs, const char *path, int line, const char *why)
{
	if (errs != NULL)
		fprintf(errs, "%s:%d: %s\n", path, line, why);
	return 1;
}

/* known_kind: libcrypt can check passwords against HASH (it knows its
 * "$id$"): a user whose hash it cannot use could never log in. */
static int
known_kind(const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *got = crypt_r("", hash, cd);
	int ok = got != NULL && got[0] == '$';

	free(cd);
	return ok;
}

int
authdb_load(struct authdb **dbp, const char *path, FILE *errs)
{
	struct authdb *db = xcalloc(1, sizeof *db);
	char line[AUTHDB_LINE_MAX + 2], *colon, *end;
	struct stat st;
	size_t len, i;
	int nerr = 0, lineno = 0;
	FILE *fp;

	*dbp = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		authdb_free(db);
		return 1;
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 0007) != 0) {
		if (errs != NULL)
			fprintf(errs, "%s: others may read or write it (chmod "
			    "640, or 600)\n", path);
		nerr++;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			int ch;

			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			nerr += line_err(errs, path, lineno, "line too long");
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		if ((colon = strchr(line, ':')) == NULL || colon == line) {
			nerr += line_err(errs, path, lineno, "want USER:HASH");
			continue;
		}
		*colon = '\0';
		end = colon + 1 + strcspn(colon + 1, " \t#");
		*end = '\0';
		if (colon[1] != '$' || strlen(colon + 1) < 4) {
			nerr += line_err(errs, path, lineno, "not a crypt(3) "
			    "hash (make one with: openssl passwd -6, or "
			    "mkpasswd -m yescrypt)");
			continue;
		}
		if (!known_kind(colon + 1)) {
			nerr += line_err(errs, path, lineno, "a hash of a kind "
			    "this system's crypt(3) does not know");
			continue;
		}
		for (i = 0; i < db->n; i++)
			if (strcmp(db->u[i].name, line) == 0)
				break;
		if (i < db->n) {
			nerr += line_err(errs, path, lineno, "user given twice");
			continue;
		}
		db->u = xreallocarray(db->u, db->n + 1, sizeof *db->u);
		db->u[db->n].name = xstrdup(line);
		db->u[db->n].hash = xstrdup(colon + 1);
		db->n++;
	}
	fclose(fp);
	if (nerr > 0) {
		authdb_free(db);
		return nerr;
	}
	*dbp = db;
	return 0;
}

void
authdb_free(struct authdb *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++) {
		free(db->u[i].name);
		explicit_bzero(db->u[i].hash, strlen(db->u[i].hash));
		free(db->u[i].hash);
	}
	free(db->u);
	free(db);
}

size_t
authdb_count(const struct authdb *db)
{
	return db != NULL ? db->n : 0;
}

/* equal: constant time in the length of A */
static int
equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ (i < lb ? b[i] : 0));
	return d == 0;
}

int
authdb_check(const struct authdb *db, const char *user, const char *pass)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *hash = NULL, *got;
	size_t i;
	int ok;

	for (i = 0; db != NULL && i < db->n; i++)
		if (strcmp(db->u[i].name, user) == 0)
			hash = db->u[i].hash;
	got = crypt_r(pass, hash != NULL ? hash : db != NULL && db->n > 0 ?
	    db->u[0].hash : authdb_dummy, cd);
	ok = hash != NULL && got != NULL && got[0] == '$' && equal(hash, got);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}
