#!/usr/bin/env bash
# stop-swift.sh - stop the Swift servers start-swift.sh started in STATE_DIR,
# by the PIDs it recorded (never by name: other Swifts may be running).
# Objects and configuration stay, so start-swift.sh STATE_DIR brings the same
# store back on the same port.
#
#   tests/integration/s3/stop-swift.sh STATE_DIR
state=${1:?usage: stop-swift.sh STATE_DIR}

# A zombie (dead, not yet reaped by its new parent) counts as gone.
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }

for f in "$state"/run/*.pid; do
  [ -e "$f" ] || continue
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -f "$f"
done
exit 0
