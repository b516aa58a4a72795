/* sched.c - stub, being written */
#include "config.h"
#include "sched.h"
