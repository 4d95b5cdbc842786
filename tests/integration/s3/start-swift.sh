#!/usr/bin/env bash
# start-swift.sh - start a throw-away single-node OpenStack Swift (Debian 12's
# 2.30) with the s3api and tempauth middlewares on 127.0.0.1: a real S3
# server for the tests (signature checks, ListObjectsV2 with delimiters and
# continuation tokens, multipart uploads).
#
#   tests/integration/s3/start-swift.sh STATE_DIR
#
# Everything lives in STATE_DIR: configuration, rings, objects, logs, PIDs.
# The S3 port is $S3_PORT, else the one in STATE_DIR/port (a restart keeps
# its port and its data), else a free one; the object, container and account
# servers take the next three.  When Swift answers, STATE_DIR/endpoint holds
# http://127.0.0.1:PORT.  Credentials: access key test:tester, secret
# testing, region us-east-1, path-style.
#
# Stop it with stop-swift.sh STATE_DIR.  The servers call setsid, so they
# outlive the shell that started them: a test stops them from an EXIT trap.
#
# Needs Debian's swift packages (scripts/deps.sh test) and /usr/bin/python3,
# the python that has the swift modules.  Traps this script handles: the
# servers read /etc/swift/swift.conf unless started through swift_server.py;
# the object server needs user xattrs (ext4, tmpfs) and mount_check off;
# tempauth needs the memcache middleware in the pipeline even without a
# memcached (it points at a closed port, silenced).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: start-swift.sh STATE_DIR}
py=/usr/bin/python3
mkdir -p "$state"/etc "$state"/srv/d1 "$state"/log "$state"/run
state=$(cd "$state" && pwd)
etc=$state/etc

if ls "$state"/run/*.pid >/dev/null 2>&1; then
  echo "start-swift: $state has PID files; run stop-swift.sh first" >&2
  exit 1
fi
if ! $py -c 'import swift' 2>/dev/null; then
  echo "start-swift: $py has no swift modules; install them with scripts/deps.sh test" >&2
  exit 1
fi

# Four consecutive free ports, tried by binding them.
free_ports() {
  $py - <<'PY'
import random, socket
for _ in range(500):
    base, socks = random.randrange(20000, 60000, 4), []
    try:
        for p in range(base, base + 4):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
}

port=${S3_PORT:-$(cat "$state/port" 2>/dev/null || free_ports)}
[ -n "$port" ] || { echo "start-swift: no free ports found" >&2; exit 1; }
echo "$port" >"$state/port"
obj_port=$((port + 1)) cont_port=$((port + 2)) acct_port=$((port + 3))

probe=$state/srv/d1/.xattr-probe
: >"$probe"
if ! $py -c 'import os, sys; os.setxattr(sys.argv[1], "user.t", b"1")' "$probe" 2>/dev/null; then
  rm -f "$probe"
  echo "start-swift: the file system of $state lacks user xattrs; use another directory" >&2
  exit 1
fi
rm -f "$probe"

cat >"$etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = akosha-test-suffix
swift_hash_path_prefix = akosha-test-prefix

[storage-policy:0]
name = akosha-test
default = yes
CONF

defaults() { # [DEFAULT] of every server; logs go to stderr (our log files), not syslog
  cat <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
bind_timeout = 5
workers = 0
user = $(id -un)
swift_dir = $etc
devices = $state/srv
mount_check = false
disable_fallocate = true
log_level = INFO
log_udp_host = 127.0.0.1
log_udp_port = 9
CONF
}

{ defaults "$port"; cat <<CONF

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:1
set log_level = CRITICAL

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:dlo]
use = egg:swift#dlo
CONF
} >"$etc/proxy-server.conf"

for kind in object container account; do
  case $kind in object) p=$obj_port ;; container) p=$cont_port ;; account) p=$acct_port ;; esac
  { defaults "$p"; printf '\n[pipeline:main]\npipeline = %s-server\n\n[app:%s-server]\nuse = egg:swift#%s\n' \
      "$kind" "$kind" "$kind"; } >"$etc/$kind-server.conf"
done

# One-replica rings of 2^8 partitions on the one device d1.
$py - "$etc" "object:$obj_port" "container:$cont_port" "account:$acct_port" <<'PY'
import sys
from swift.common.ring import RingBuilder
for spec in sys.argv[2:]:
    kind, port = spec.split(":")
    b = RingBuilder(8, 1, 0)
    b.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
               "replication_ip": "127.0.0.1", "replication_port": int(port),
               "device": "d1", "weight": 1})
    b.rebalance()
    b.get_ring().save("%s/%s.ring.gz" % (sys.argv[1], kind))
PY

for kind in account container object proxy; do
  $py "$here/swift_server.py" "$etc" "$kind-server" "$etc/$kind-server.conf" \
    >>"$state/log/$kind.log" 2>&1 </dev/null &
  echo $! >"$state/run/$kind.pid"
done

# First line of the reply to "GET path" on a port, or nothing.
http_status() { # port path
  local line=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  read -r -t 2 line <&3 || true
  exec 3<&-
  echo "$line"
}

deadline=$((SECONDS + 60))
until [[ $(http_status "$port" /healthcheck) == *" 200 "* ]] &&
  [ -n "$(http_status "$obj_port" /)" ] && [ -n "$(http_status "$cont_port" /)" ] &&
  [ -n "$(http_status "$acct_port" /)" ]; do
  for kind in account container object proxy; do
    if ! kill -0 "$(cat "$state/run/$kind.pid")" 2>/dev/null; then
      echo "start-swift: the $kind server exited while starting:" >&2
      tail -n 20 "$state/log/$kind.log" >&2
      "$here/stop-swift.sh" "$state"
      exit 1
    fi
  done
  if [ $SECONDS -ge $deadline ]; then
    echo "start-swift: Swift did not answer within 60 s; logs in $state/log" >&2
    "$here/stop-swift.sh" "$state"
    exit 1
  fi
  sleep 0.1
done
echo "http://127.0.0.1:$port" >"$state/endpoint"
echo "start-swift: S3 on http://127.0.0.1:$port (access key test:tester, secret testing)"
