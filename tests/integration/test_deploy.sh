# Deployment files (deploy/) against the binary and the source:
#  - the alert rules: `promtool check rules`, `promtool test rules` (each
#    alert fires on a bad series, not on a good one); every alert has a
#    severity, a summary, a description and a runbook_url naming an existing
#    docs/runbooks/ page listed for it in docs/runbooks/README.md; the alerts
#    the runbooks need exist and each is unit-tested; every akosha_* series
#    a rule uses is one `akosha serve` really exports on /metrics;
#  - the systemd units: `systemd-analyze verify` on copies whose ExecStart is
#    $AKOSHA_BIN and whose EnvironmentFile is deploy/akosha.env, with no
#    warning at all (verify exits 0 on unknown keys and bad values, so its
#    output is checked too); `systemd-analyze security` exposure at most 2.0;
#    the hardening directives present; TimeoutStopSec above the drain period
#    the binary defaults to; LimitNOFILE above what the index may keep open;
#    the sysusers.d file creates the akosha user (in a scratch root).
#    User=akosha is not resolved by `systemd-analyze verify` (it is at exec
#    time), which is why the sysusers file is checked on its own; the units
#    are not started here (no systemd as PID 1 in the test environment);
#  - the environment file: every AKOSHA_*/AWS_* name the source reads is in
#    it and every name in it is read by the source (test hooks AKOSHA_TEST_*
#    excluded); its "Read by:" notes match the commands whose --help shows
#    the variable; its syntax suits both systemd and `set -a; . file`; its
#    AKOSHA_DATA_DIR is the unit's StateDirectory; and `akosha serve` starts
#    and stops cleanly with every documented default set explicitly.
source "$AKOSHA_SRC/tests/integration/lib.sh"

deploy=$AKOSHA_SRC/deploy
rules=$deploy/prometheus/akosha-rules.yml
rules_test=$deploy/prometheus/akosha-rules.test.yml
envfile=$deploy/akosha.env
unit=$deploy/systemd/akosha.service

for tool in promtool systemd-analyze systemd-sysusers python3 curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (scripts/deps.sh installs prometheus and systemd)"
    exit 0
  fi
done
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml is not installed"; exit 0; }

# ---- the alert rules ----------------------------------------------------
out=$(promtool check rules "$rules" 2>&1) || fail "promtool check rules: $out"
assert_contains "$out" "SUCCESS" "promtool check rules"
out=$(cd "$(dirname "$rules_test")" && promtool test rules "$(basename "$rules_test")" 2>&1) ||
  fail "promtool test rules: $out"
assert_contains "$out" "SUCCESS" "promtool test rules"

# A daemon's real /metrics, to hold the rules' series names against.
mkdir -p bucket data
start_serve --data "$PWD/data" --bucket "$PWD/bucket"
wait_ready
curl -fsS "http://127.0.0.1:$PORT/metrics" > metrics.txt
stop_serve
assert_eq "$serve_rc" 0 "serve's exit status after SIGTERM"

python3 - "$rules" "$rules_test" "$AKOSHA_SRC" metrics.txt <<'EOF' || fail "the alert rules (see above)"
import re, sys, os, yaml
rules_path, test_path, src, metrics_path = sys.argv[1:]
rules = yaml.safe_load(open(rules_path))
tests = yaml.safe_load(open(test_path))
readme = open(os.path.join(src, "docs/runbooks/README.md")).read()
exported = set()
for line in open(metrics_path):
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
    if m and not line.startswith("#"):
        exported.add(m.group(1))
problems = []
alerts = {}
for g in rules["groups"]:
    for r in g["rules"]:
        if "alert" not in r:
            continue
        name = r["alert"]
        if name in alerts:
            problems.append(f"{name}: defined twice")
        alerts[name] = r
        sev = r.get("labels", {}).get("severity")
        if sev not in ("critical", "warning"):
            problems.append(f"{name}: severity label is {sev!r}, not critical or warning")
        ann = r.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not ann.get(key):
                problems.append(f"{name}: no {key} annotation")
        url = ann.get("runbook_url", "")
        m = re.fullmatch(r"docs/runbooks/([a-z0-9-]+\.md)", url)
        if not m:
            problems.append(f"{name}: runbook_url {url!r} is not docs/runbooks/<page>.md")
        elif not os.path.isfile(os.path.join(src, url)):
            problems.append(f"{name}: runbook_url {url} names no file")
        else:
            row = re.search(r"^\|\s*`" + re.escape(name) + r"`\s*\|[^|]*\|\s*\[([^\]]+)\]", readme, re.M)
            if not row:
                problems.append(f"{name}: not in the table of docs/runbooks/README.md")
            elif row.group(1) != m.group(1):
                problems.append(f"{name}: README.md lists {row.group(1)}, runbook_url says {m.group(1)}")
            page = open(os.path.join(src, url)).read()
            if name not in page:
                problems.append(f"{name}: its runbook {url} does not mention it")
        for series in set(re.findall(r"\bakosha_[a-z0-9_]+", r["expr"])):
            if series not in exported:
                problems.append(f"{name}: uses {series}, which akosha serve does not export")
required = """AkoshaDown AkoshaIngestionBacklog AkoshaUploadsRejected AkoshaNoIngestCycles
AkoshaHotStoreBroken AkoshaObjectStoreCircuitOpen AkoshaMahavishnuFallback
AkoshaSearchShardFailures AkoshaSearchLatencyHigh AkoshaColdExportFailing
AkoshaNotReady AkoshaReingestFailed""".split()
for name in required:
    if name not in alerts:
        problems.append(f"alert {name} is missing")
# Every alert is unit-tested: at least one evaluation where it fires and one
# where it does not.
fires, quiet = set(), set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
for name in alerts:
    if name not in fires:
        problems.append(f"{name}: no test in which it fires")
    if name not in quiet:
        problems.append(f"{name}: no test in which it stays quiet")
for p in problems:
    print("  " + p, file=sys.stderr)
print(f"{len(alerts)} alerts checked", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

# ---- the systemd units --------------------------------------------------
mkdir units
for f in akosha.service akosha-verify.service akosha-verify.timer; do
  sed -e "s|^ExecStart=/usr/local/bin/akosha |ExecStart=$AKOSHA_BIN |" \
      -e "s|^EnvironmentFile=/etc/akosha/akosha.env$|EnvironmentFile=$envfile|" \
      "$deploy/systemd/$f" > "units/$f"
done
grep -q "^ExecStart=$AKOSHA_BIN serve$" units/akosha.service || fail "akosha.service: ExecStart is not /usr/local/bin/akosha serve"
grep -q "^ExecStart=$AKOSHA_BIN verify$" units/akosha-verify.service || fail "akosha-verify.service: ExecStart is not /usr/local/bin/akosha verify"
grep -q "^EnvironmentFile=$envfile$" units/akosha.service || fail "akosha.service: EnvironmentFile is not /etc/akosha/akosha.env"
for f in akosha.service akosha-verify.service akosha-verify.timer; do
  set +e
  out=$(cd units && systemd-analyze verify "./$f" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || fail "systemd-analyze verify $f exited $rc: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $f warns: $out"
done
for f in akosha.service akosha-verify.service; do
  out=$(cd units && systemd-analyze security --offline=true --threshold=20 "./$f" 2>&1) ||
    fail "systemd-analyze security $f: exposure above 2.0: $(echo "$out" | tail -n 1)"
done

# Directives the unit must have, with the value it must have.
unit_value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
for kv in Type=simple User=akosha Group=akosha StateDirectory=akosha Restart=on-failure \
          KillSignal=SIGTERM NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
          PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes \
          ProtectKernelLogs=yes ProtectControlGroups=yes RestrictNamespaces=yes LockPersonality=yes \
          MemoryDenyWriteExecute=yes RestrictRealtime=yes RestrictSUIDSGID=yes \
          SystemCallArchitectures=native UMask=0027 CapabilityBoundingSet= \
          "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" ReadWritePaths=/var/lib/akosha \
          EnvironmentFile=/etc/akosha/akosha.env; do
  assert_eq "$(unit_value "${kv%%=*}")" "${kv#*=}" "akosha.service: ${kv%%=*}"
done
grep -q '^SystemCallFilter=@system-service$' "$unit" || fail "akosha.service: no SystemCallFilter=@system-service"
grep -q '^ExecStart=/usr/local/bin/akosha serve$' "$unit" || fail "akosha.service: ExecStart"

# TimeoutStopSec comfortably above the drain period serve defaults to.
drain=$("$AKOSHA_BIN" serve --help | sed -n 's/.*--drain-seconds S .*(default \([0-9]*\)).*/\1/p')
[ -n "$drain" ] || fail "could not read the default drain period from akosha serve --help"
stop=$(unit_value TimeoutStopSec)
[[ "$stop" =~ ^([0-9]+)s?$ ]] || fail "TimeoutStopSec=$stop: expected seconds"
[ "${BASH_REMATCH[1]}" -ge $((drain + 30)) ] ||
  fail "TimeoutStopSec=$stop is not comfortably above the ${drain} s drain period"
# LimitNOFILE above what the index may keep open (src/query/index.c).
idx=$AKOSHA_SRC/src/query/index.c
max_db=$(sed -n 's/^#define IDLE_DB_MAX \([0-9]*\).*/\1/p' "$idx")
per_db=$(sed -n 's/^#define FDS_PER_DB \([0-9]*\).*/\1/p' "$idx")
spare=$(sed -n 's/^#define FDS_SPARE \([0-9]*\).*/\1/p' "$idx")
[ -n "$max_db" ] && [ -n "$per_db" ] && [ -n "$spare" ] || fail "could not read the index's descriptor constants from $idx"
nofile=$(unit_value LimitNOFILE)
[ "$nofile" -ge $((max_db * per_db + spare)) ] ||
  fail "LimitNOFILE=$nofile is below the $((max_db * per_db + spare)) descriptors the index may use"

# The sysusers.d file creates the user and group the units run as.
mkdir -p sysroot/etc
out=$(systemd-sysusers --root="$PWD/sysroot" "$deploy/systemd/akosha.sysusers.conf" 2>&1) ||
  fail "systemd-sysusers: $out"
grep -q '^akosha:x:[0-9]*:[0-9]*:[^:]*:/var/lib/akosha:/usr/sbin/nologin$' sysroot/etc/passwd ||
  fail "the sysusers file made no akosha user with home /var/lib/akosha: $(cat sysroot/etc/passwd)"
grep -q '^akosha:x:' sysroot/etc/group || fail "the sysusers file made no akosha group"

# ---- the environment file -----------------------------------------------
# Syntax both systemd and POSIX sh read the same way.
bad=$(grep -vnE '^(#.*)?$|^[A-Z_][A-Z0-9_]*=[^ "'"'"'$`\\]*$' "$envfile" || true)
[ -z "$bad" ] || fail "akosha.env: lines neither comment nor plain NAME=value: $bad"
state=$(unit_value StateDirectory)
assert_eq "$(sed -n 's/^AKOSHA_DATA_DIR=//p' "$envfile")" "/var/lib/$state" "akosha.env's AKOSHA_DATA_DIR against the unit's StateDirectory"

# Names the source reads (option tables and getenv calls), without test hooks.
grep -rhoE '"(AKOSHA|AWS)_[A-Z0-9_]+"' "$AKOSHA_SRC/src" | tr -d '"' | grep -v '^AKOSHA_TEST_' | sort -u > read.txt
[ "$(wc -l < read.txt)" -ge 30 ] || fail "found only $(wc -l < read.txt) variable names in the source"
sed -nE 's/^#?([A-Z_][A-Z0-9_]*)=.*/\1/p' "$envfile" | sort -u > documented.txt
missing=$(comm -23 read.txt documented.txt)
[ -z "$missing" ] || fail "read by the source but not in deploy/akosha.env: $missing"
invented=$(comm -13 read.txt documented.txt)
[ -z "$invented" ] || fail "in deploy/akosha.env but read nowhere in src/: $invented"
grep -q 'AKOSHA_TEST_' "$envfile" && fail "deploy/akosha.env documents a test hook (AKOSHA_TEST_*)"

# "Read by:" notes against each command's --help.
commands=$("$AKOSHA_BIN" --help | sed -n 's/^  \([a-z-]*\)  .*/\1/p')
[ "$(echo "$commands" | wc -w)" -ge 10 ] || fail "could not list the commands from akosha --help"
for c in $commands; do
  "$AKOSHA_BIN" "$c" --help > help.txt || fail "akosha $c --help exited $?"
  { grep -oE '\[env [A-Z0-9_]+\]' help.txt || true; } | sed "s/\[env \(.*\)\]/\1 $c/"
done | sort > help_env.txt
[ "$(wc -l < help_env.txt)" -ge 20 ] || fail "found only $(wc -l < help_env.txt) [env ...] notes in the commands' --help"

python3 - "$envfile" help_env.txt <<'EOF' || fail "akosha.env's Read by: notes (see above)"
import sys, re, collections
envfile, help_env = sys.argv[1:]
by_help = collections.defaultdict(set)
for line in open(help_env):
    var, cmd = line.split()
    by_help[var].add(cmd)
read_by, block = {}, None
for line in open(envfile):
    line = line.rstrip("\n")
    if not line.strip():
        block = None
        continue
    m = re.match(r"#\s*Read by:\s*(.*)", line)
    if m:
        block = m.group(1)
        continue
    m = re.match(r"#?([A-Z_][A-Z0-9_]*)=", line)
    if m:
        read_by[m.group(1)] = block
problems = []
for var, cmds in sorted(by_help.items()):
    note = read_by.get(var)
    if note is None:
        problems.append(f"{var}: no 'Read by:' note (--help of {' '.join(sorted(cmds))} shows it)")
    elif set(note.split()) != cmds:
        problems.append(f"{var}: 'Read by: {note}', but --help shows it for: {' '.join(sorted(cmds))}")
for p in problems:
    print("  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

# Every documented default, set explicitly, is accepted: serve starts, is
# ready and stops cleanly.  Values that point at things (URLs, files,
# credentials) stay unset.
grep -E '^#(AKOSHA|AWS)_[A-Z0-9_]+=.+$' "$envfile" | sed 's/^#//' |
  grep -vE '^(AKOSHA_BUCKET|AKOSHA_COLD_URL|AKOSHA_TOKEN_FILE|AKOSHA_MAHAVISHNU_URL|AKOSHA_S3_ENDPOINT|AKOSHA_LISTEN|AKOSHA_DATA_DIR|AKOSHA_TLS_CERT|AKOSHA_TLS_KEY|AKOSHA_EMBED_URL)=' \
  > defaults.env
[ "$(wc -l < defaults.env)" -ge 20 ] || fail "only $(wc -l < defaults.env) documented defaults found"
(
  set -a; . ./defaults.env; set +a
  mkdir -p data2
  start_serve --data "$PWD/data2" --bucket "$PWD/bucket"
  wait_ready
  stop_serve
  assert_eq "$serve_rc" 0 "serve with every documented default: exit status"
  # The commands that read variables serve does not accept them too.
  expect_exit 0 akosha ingest --once --bucket "$PWD/bucket" --data "$PWD/data2"
  expect_exit 0 akosha search --data "$PWD/data2" --text anything
  expect_exit 0 akosha shard some-system
) || fail "a documented default is refused (see above)"
grep -qE '"level":"error"|: error:' serve.log && fail "serve logged an error with the documented defaults: $(cat serve.log)"

echo "deploy: rules, units and environment file check out"
