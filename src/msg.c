/* msg.c - stub, being written */
#include "config.h"
#include "msg.h"
