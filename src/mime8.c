/* mime8.c - stub, being written */
#include "config.h"
#include "mime8.h"
