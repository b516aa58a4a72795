/* conf.c - stub, being written */
#include "config.h"
#include "conf.h"
