/* deliver_test.h - `outbox test ADDRESS`: one message sent now, each step shown. */
#ifndef OUTBOX_DELIVER_TEST_H
#define OUTBOX_DELIVER_TEST_H

#include "conf.h"

/* deliver_test: ARGV[0..ARGC-1] are the arguments after "test".  Returns
 * the exit status (sysexits.h). */
int	deliver_test(struct conf *c, int argc, char **argv);

#endif
