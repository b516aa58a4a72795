#include "config.h"
#include "cmd.h"
