/* addr.c - stub, being written */
#include "config.h"
#include "addr.h"
