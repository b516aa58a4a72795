/* smtpc.c - stub, being written */
#include "config.h"
#include "smtpc.h"
