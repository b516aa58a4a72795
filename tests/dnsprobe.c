/* dnsprobe.c - run one dns.c lookup and print the result, for the
 * integration tests (tests/integration/dns_lookup.sh).
 *
 *   dnsprobe [--server ADDR[:PORT]] [--ip 0|4|6] [--timeout MS] mx DOMAIN
 *   dnsprobe [...] addrs HOST
 *
 * Output: the status name on the first line (OK, NULLMX, NXDOMAIN,
 * NODATA, BADNAME, TEMP).  Then, on OK, one line per result:
 *   mx:    PREF NAME TTL
 *   addrs: 4|6 ADDRESS TTL
 * otherwise one line "temp|perm DSN TEXT".  Exit 0 on OK, 1 on a lookup
 * failure, 2 on a usage error.
 */
#include "config.h"

#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "util.h"

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: dnsprobe [--server ADDR[:PORT]] [--ip 0|4|6] "
	    "[--timeout MS] mx DOMAIN | addrs HOST\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *server = NULL;
	struct dns *d = NULL;
	struct dns_mx *mx = NULL;
	struct dns_addr *a = NULL;
	struct ob_err err;
	enum dns_status st;
	uint64_t v;
	size_t n = 0, i;
	int ip = 0, timeout = 3000, k = 1;

	log_init("dnsprobe", LOG_TO_STDERR, getenv("DNSPROBE_DEBUG") != NULL);
	for (; k + 1 < argc && strncmp(argv[k], "--", 2) == 0; k += 2) {
		if (strcmp(argv[k], "--server") == 0)
			server = argv[k + 1];
		else if (strcmp(argv[k], "--ip") == 0 &&
		    parse_u64(argv[k + 1], &v) == 0 && v <= 6)
			ip = (int)v;
		else if (strcmp(argv[k], "--timeout") == 0 &&
		    parse_u64(argv[k + 1], &v) == 0 && v <= 600000)
			timeout = (int)v;
		else
			usage();
	}
	if (argc - k != 2)
		usage();
	memset(&err, 0, sizeof err);
	if (dns_new(&d, server, ip, timeout, &err) < 0) {
		fprintf(stderr, "dnsprobe: %s\n", err.text);
		return 2;
	}
	if (strcmp(argv[k], "mx") == 0)
		st = dns_mx(d, argv[k + 1], &mx, &n, &err);
	else if (strcmp(argv[k], "addrs") == 0)
		st = dns_addrs(d, argv[k + 1], &a, &n, &err);
	else
		usage();
	printf("%s\n", dns_status_name(st));
	if (st != DNS_OK)
		printf("%s %s %s\n", err.kind == OB_TEMP ? "temp" : "perm",
		    dns_status_dsn(st), err.text);
	for (i = 0; mx != NULL && i < n; i++)
		printf("%d %s %lu\n", mx[i].pref, mx[i].name,
		    (unsigned long)mx[i].ttl);
	for (i = 0; a != NULL && i < n; i++)
		printf("%d %s %lu\n", a[i].family == AF_INET6 ? 6 : 4,
		    a[i].text, (unsigned long)a[i].ttl);
	free(mx);
	free(a);
	dns_free(d);
	return st == DNS_OK ? 0 : 1;
}
