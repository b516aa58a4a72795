/* smtp_reply.c - stub, being written */
#include "config.h"
#include "smtp_reply.h"
