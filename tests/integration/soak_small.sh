#!/bin/sh
# soak_small: tests/soak.sh at CI size (200 messages, 10 kills or more);
# `make soak` runs the full one (2,000 messages, 40 kills).
SOAK_N=${SOAK_N:-200} SOAK_KILLS=${SOAK_KILLS:-10} SOAK_TIME=${SOAK_TIME:-120}
export SOAK_N SOAK_KILLS SOAK_TIME
exec ${SHELL:-/bin/sh} "$(dirname "$TESTLIB")/../soak.sh"
