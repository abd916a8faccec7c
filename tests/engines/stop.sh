#!/usr/bin/env bash
# stop.sh ENGINE: stop the server whose PID start_ENGINE.sh wrote (SIGTERM, SIGKILL after 30 s), then any of
# ITS OWN descendants still alive (found by parent PID, never by name: other servers may share this machine).
set -uo pipefail
source "$(dirname "$0")/common.sh"
NAME=$1; PIDFILE="$ENGINES_HOME/$NAME.pid"
[ -f "$PIDFILE" ] || { echo "$NAME: not running (no pid file)"; exit 0; }
PID=$(cat "$PIDFILE")
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done; }
if kill -0 "$PID" 2>/dev/null; then
  KIDS=$(descendants "$PID")
  kill "$PID"
  for _ in $(seq 1 60); do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
  sleep 1
  for k in $KIDS; do kill -0 "$k" 2>/dev/null && { echo "$NAME: killing leftover child $k"; kill -9 "$k"; }; done
  echo "$NAME: stopped pid $PID"
else
  echo "$NAME: pid $PID was not running"
fi
rm -f "$PIDFILE"
