/* deliver.c - stub, being written */
#include "config.h"
#include "deliver.h"
