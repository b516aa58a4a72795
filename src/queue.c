/* queue.c - stub, being written */
#include "config.h"
#include "queue.h"
