/* conn.c - stub, being written */
#include "config.h"
#include "conn.h"
