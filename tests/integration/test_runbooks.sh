# The runbooks (docs/runbooks/*.md) run as written.
#
# Every command line of their ```sh blocks that starts with `akosha ` or
# `curl ` is extracted (continuation lines joined, a `$ ` prompt dropped) and
# run, page by page, in the page's order:
#  - against a fresh copy of a test store for each page: sample uploads from
#    `akosha generate`, ingested and aged, then broken the way the page's
#    `<!-- runbook-test: fixture=NAME -->` comment says: `healthy` (as is),
#    `corrupt` (bytes overwritten in the middle of a table page of one
#    system's database, as dd conv=notrunc would), `not-a-database` (its
#    header overwritten: it no longer opens), `newer-schema` (its schema
#    version set one above the binary's);
#  - with the settings of an env file pointing AKOSHA_DATA_DIR, AKOSHA_BUCKET
#    and AKOSHA_COLD_URL at that store, loaded by the page's own
#    `set -a; . /etc/akosha/akosha.env; set +a` line (path substituted), so
#    the commands work without --data/--bucket exactly as the pages claim;
#  - with SYSTEM_ID and CONVERSATION_ID replaced by the broken system and one
#    of its conversations (any other unreplaced placeholder fails);
#  - `akosha serve` and `akosha ingest` without --once in the background,
#    stopped with SIGTERM after they came up, expecting exit 0;
#  - `curl` lines for the daemon (127.0.0.1:8682) against an `akosha serve`
#    the test starts on a free port with API tokens (so the pages'
#    Authorization headers are exercised) and stops before the next akosha
#    command; curl gets --fail, so any HTTP error fails the line.  Other curl
#    lines (Mahavishnu's address) are listed as not run.
# A command passes when it exits 0 — or 1 where the line ends with
# `# expect: exit 1` (checked both ways: exiting 0 there fails too).  Exit 2,
# a usage or unknown-command message, or a timeout always fail.  After its
# last command every page must leave a store `akosha verify` accepts (the
# repair pages really repair), every page but README.md must have commands,
# and there must be commands at all.
source "$AKOSHA_SRC/tests/integration/lib.sh"

for tool in python3 sqlite3 curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done

# ---- the test store -----------------------------------------------------
akosha generate --out "$PWD/bucket" --systems 4 --uploads 2 --conversations 20 >/dev/null
mkdir -p base/cold
akosha ingest --once --bucket "$PWD/bucket" --data "$PWD/base/data" --quiet >/dev/null
akosha age --data "$PWD/base/data" --cold "file://$PWD/base/cold" --json > age.json
expect_exit 0 akosha verify --data "$PWD/base/data" --cold "file://$PWD/base/cold" --deep
# Every tier is populated, so the pages' commands meet hot, warm and cold rows.
python3 -c "import json; d=json.load(open('age.json')); assert d['hot_to_warm']['conversations'] and d['warm_to_cold']['conversations'], d"

python3 - "$AKOSHA_SRC/docs/runbooks" "$AKOSHA_BIN" "$PWD" <<'EOF'
import json, os, re, shlex, shutil, signal, socket, sqlite3, subprocess, sys, time
import urllib.request

RUNBOOKS, BIN, WORK = sys.argv[1:]
BUCKET = os.path.join(WORK, "bucket")
BASE = os.path.join(WORK, "base")
ENV_LINE = re.compile(r"^set -a; \. /etc/akosha/akosha\.env; set \+a$")
EXPECT = re.compile(r"\s#\s*expect:(.*)$")
FIXTURES = ("healthy", "corrupt", "not-a-database", "newer-schema")
TOKENS = ["runbook-test-token-0123456789abcdef", "a-second-token-fedcba9876543210"]
ADMIN_TOKEN = "runbook-admin-token-0123456789abcdef"
failures = []


def fail(page, msg):
    failures.append(f"{page}: {msg}")
    print(f"    FAIL: {msg}", flush=True)


# ---- extraction ----------------------------------------------------------
def extract(path):
    """(fixture, [(lineno, kind, text)]) of one page; kind: env|akosha|curl|other."""
    text = open(path).read()
    fx = re.findall(r"<!--\s*runbook-test:\s*fixture=([a-z-]+)\s*-->", text)
    lines, items, fence, i = text.split("\n"), [], None, 0
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if stripped.startswith("```"):
            if fence is None:
                fence = stripped[3:].strip()
                if fence in ("bash", "shell", "console", "shell-session"):
                    items.append((i + 1, "bad-fence", fence))
            else:
                fence = None
            i += 1
            continue
        if fence != "sh" or not stripped:
            i += 1
            continue
        start = i
        cmd = stripped
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        i += 1
        if cmd.startswith("$ "):
            cmd = cmd[2:]
        if ENV_LINE.match(cmd):
            kind = "env"
        elif cmd.startswith("akosha "):
            kind = "akosha"
        elif cmd.startswith("curl "):
            kind = "curl"
        else:
            kind = "other"
        items.append((start + 1, kind, cmd))
    return fx, items


# ---- fixtures ------------------------------------------------------------
def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def db_path(data, sid):
    out = run([BIN, "shard", sid]).stdout.split()
    return os.path.join(data, out[1])


def pick_ids(data):
    dbs = sorted(p for p in (os.path.join(r, f) for r, _, fs in os.walk(data) for f in fs)
                 if p.endswith(".db"))
    sid = os.path.basename(dbs[0])[:-3]
    con = sqlite3.connect(dbs[0])
    cid = con.execute("SELECT conversation_id FROM warm UNION ALL SELECT conversation_id FROM hot "
                      "ORDER BY 1 LIMIT 1").fetchone()[0]
    schema = con.execute("PRAGMA user_version").fetchone()[0]
    con.close()
    return sid, cid, schema


def corrupt(db):
    """Overwrite bytes in the middle of a table page (not a free page, which
    no check would notice) of the hot or warm table, leaving page 1 alone."""
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    try:
        pages = [r[0] for r in con.execute(
            "SELECT pageno FROM dbstat WHERE name IN ('hot','warm') AND pagetype='leaf'")]
    except sqlite3.OperationalError:  # no dbstat: the middle of the file
        pages = [os.path.getsize(db) // page_size // 2 + 1]
    con.close()
    n_pages = os.path.getsize(db) // page_size
    page = min((p for p in pages if p > 1), key=lambda p: abs(p - n_pages / 2))
    with open(db, "r+b") as f:
        f.seek((page - 1) * page_size + 64)
        f.write(os.urandom(page_size // 2))


def not_a_database(db):
    """Overwrite the 100-byte SQLite header: the file no longer opens."""
    with open(db, "r+b") as f:
        f.write(os.urandom(100))


def newer_schema(db, schema):
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {schema + 1}")
    con.commit()
    con.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- running -------------------------------------------------------------
class Page:
    def __init__(self, name, fixture):
        self.name, self.fixture = name, fixture
        self.dir = os.path.join(WORK, "pages", name[:-3])
        self.data = os.path.join(self.dir, "data")
        shutil.copytree(os.path.join(BASE, "data"), self.data)
        shutil.copytree(os.path.join(BASE, "cold"), os.path.join(self.dir, "cold"))
        self.sid, self.cid, self.schema = pick_ids(self.data)
        self.port = free_port()
        self.env = os.path.join(self.dir, "akosha.env")
        with open(self.env, "w") as f:
            f.write(f"AKOSHA_DATA_DIR={self.data}\nAKOSHA_BUCKET={BUCKET}\n"
                    f"AKOSHA_COLD_URL=file://{self.dir}/cold\n"
                    f"AKOSHA_LISTEN=127.0.0.1:{self.port}\n"
                    f"AKOSHA_API_TOKENS={','.join(TOKENS)}\n"
                    f"AKOSHA_ADMIN_TOKENS={ADMIN_TOKEN}\n")
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        os.symlink(BIN, os.path.join(self.bin, "akosha"))
        self.daemon, self.reingests, self.preamble = None, set(), None
        db = db_path(self.data, self.sid)
        if fixture == "corrupt":
            corrupt(db)
        elif fixture == "not-a-database":
            not_a_database(db)
        elif fixture == "newer-schema":
            newer_schema(db, self.schema)
        if fixture != "healthy":  # the fixture really breaks the store
            r = self.shell("akosha verify --system " + self.sid, preamble=self.default_preamble())
            want = {"corrupt": "integrity", "not-a-database": "not a database",
                    "newer-schema": "newer than this akosha"}[fixture]
            if r.returncode != 1 or want not in r.stdout + r.stderr:
                raise SystemExit(f"{name}: fixture {fixture} did not break {db}: "
                                 f"{r.returncode} {r.stdout}{r.stderr}")

    def default_preamble(self):
        return f"set -a; . {shlex.quote(self.env)}; set +a"

    def shell(self, cmd, preamble=None, background=False):
        script = ("set -o pipefail\n" + (preamble or self.preamble) + "\n"
                  'curl() { command curl --fail --silent --show-error --max-time 20 "$@"; }\n'
                  + cmd + "\n")
        env = {"PATH": self.bin + ":" + os.environ["PATH"], "HOME": self.dir,
               "LANG": "C.UTF-8", "TMPDIR": self.dir}
        if background:
            log = open(os.path.join(self.dir, "background.log"), "w")
            return subprocess.Popen(["bash", "-c", script], cwd=self.dir, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return subprocess.run(["bash", "-c", script], cwd=self.dir, env=env, text=True,
                              capture_output=True, timeout=60)

    def http(self, method, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     headers={"Authorization": "Bearer " + TOKENS[0]})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    def wait_ready(self, proc, what):
        for _ in range(300):
            if proc.poll() is not None:
                return False
            if self.http("GET", "/ready")[0] == 200:
                return True
            time.sleep(0.1)
        fail(self.name, f"{what} never became ready")
        return False

    def start_daemon(self):
        if self.daemon and self.daemon.poll() is not None:
            fail(self.name, f"the test's akosha serve died (exit {self.daemon.returncode}): "
                 + self.background_log())
            self.daemon = None
            self.reingests.clear()
        if self.daemon:
            return True
        self.daemon = self.shell("exec akosha serve", preamble=self.default_preamble(),
                                 background=True)
        if not self.wait_ready(self.daemon, "the test's akosha serve"):
            fail(self.name, "the test's akosha serve did not start: " + self.background_log())
            if self.daemon.poll() is None:
                self.daemon.kill()
                self.daemon.wait()
            self.daemon = None
            return False
        return True

    def background_log(self):
        return open(os.path.join(self.dir, "background.log")).read()[-2000:]

    def stop(self, proc, what):
        if proc.poll() is not None:
            fail(self.name, f"{what} died (exit {proc.returncode}) before it was stopped: "
                 + self.background_log())
            return
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            fail(self.name, f"{what} did not stop within 40 s of SIGTERM")
            return
        if rc != 0:
            fail(self.name, f"{what} exited {rc} after SIGTERM: " + self.background_log())

    def stop_daemon(self):
        if not self.daemon:
            return
        if self.daemon.poll() is not None:
            self.stop(self.daemon, "the test's akosha serve")
            self.daemon = None
            self.reingests.clear()
            return
        # Rebuilds asked of the daemon finish before it is stopped, as an
        # operator polling GET .../reingest would wait for them.
        for sid in sorted(self.reingests):
            state, body = None, ""
            for _ in range(300):
                status, body = self.http("GET", f"/v1/systems/{sid}/reingest")
                state = json.loads(body).get("state") if status == 200 else None
                if state in ("done", "failed"):
                    break
                time.sleep(0.1)
            if state != "done":
                fail(self.name, f"the daemon's rebuild of {sid} ended {state}: {body}")
        self.reingests.clear()
        self.stop(self.daemon, "the test's akosha serve")
        self.daemon = None

    def substitute(self, cmd):
        cmd = EXPECT.sub("", cmd).rstrip()
        cmd = cmd.replace("SYSTEM_ID", self.sid).replace("CONVERSATION_ID", self.cid)
        cmd = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{self.port}", cmd)
        return cmd

    def run_line(self, lineno, kind, raw):
        where = f"line {lineno}: {raw}"
        m = EXPECT.search(raw)
        want = 0
        if m:
            em = re.match(r"\s*exit\s+([01])\b", m.group(1))
            if not em or kind != "akosha":
                fail(self.name, f"{where}: a '# expect:' comment must say 'exit 0' or 'exit 1', on an akosha line")
                return
            want = int(em.group(1))
        cmd = self.substitute(raw)
        try:
            words = shlex.split(cmd, comments=True)
        except ValueError as e:
            fail(self.name, f"{where}: not a shell command line: {e}")
            return
        for prev, w in zip([""] + words, words):
            if re.fullmatch(r"[A-Z][A-Z0-9_]+", w) and prev not in ("-X", "--request"):
                fail(self.name, f"{where}: unreplaced placeholder {w}")
                return
        if kind == "curl":
            if "127.0.0.1:8682" not in raw:
                print(f"  not run (not the daemon's API): {raw}", flush=True)
                return
            if not self.start_daemon():
                return
            post = re.search(r"-X\s+POST\b.*?/v1/systems/([^/\s]+)/reingest", cmd)
            if post:
                self.reingests.add(post.group(1))
        else:
            self.stop_daemon()
        long_running = kind == "akosha" and (words[1] == "serve" or
                                             (words[1] == "ingest" and "--once" not in words))
        print(f"  run: {cmd}", flush=True)
        if long_running:
            if re.search(r"[|;&<>]", cmd):
                fail(self.name, f"{where}: a long-running command must be a simple command")
                return
            proc = self.shell("exec " + cmd, background=True)
            if words[1] == "serve":
                if not self.wait_ready(proc, cmd):
                    fail(self.name, f"{where}: did not come up: " + self.background_log())
                    if proc.poll() is None:
                        proc.kill()
                    return
            else:
                time.sleep(2)
                if proc.poll() is not None:
                    fail(self.name, f"{where}: exited {proc.returncode} at once: " + self.background_log())
                    return
            self.stop(proc, cmd)
            return
        try:
            r = self.shell(cmd)
        except subprocess.TimeoutExpired:
            fail(self.name, f"{where}: still running after 60 s")
            return
        out = (r.stdout + r.stderr)
        shown = out.strip().replace("\n", "\n      ")[-1500:]
        if r.returncode == 2 or (re.search(r"usage: akosha|unknown (command|option)", out, re.I)
                                 and "--help" not in words):
            fail(self.name, f"{where}: a usage error (exit {r.returncode}): {shown}")
        elif r.returncode != want:
            fail(self.name, f"{where}: exited {r.returncode}, expected {want}: {shown}")
        else:
            print(f"    exit {r.returncode} as expected", flush=True)


pages = sorted(f for f in os.listdir(RUNBOOKS) if f.endswith(".md"))
total = 0
for name in pages:
    fx, items = extract(os.path.join(RUNBOOKS, name))
    for lineno, kind, text in items:
        if kind == "bad-fence":
            fail(name, f"line {lineno}: a ```{text} block: runbook commands go in ```sh blocks")
    if len(fx) > 1 or (fx and fx[0] not in FIXTURES):
        fail(name, f"fixture comment {fx}: expected one of {', '.join(FIXTURES)}")
        continue
    if not fx and name != "README.md":
        fail(name, "no <!-- runbook-test: fixture=... --> comment")
        continue
    runnable = [i for i in items if i[1] == "akosha" or
                (i[1] == "curl" and "127.0.0.1:8682" in i[2])]
    envs = [i for i in items if i[1] == "env"]
    print(f"{name} (fixture {fx[0] if fx else 'healthy'}): {len(runnable)} commands", flush=True)
    if not runnable:
        if name != "README.md":
            fail(name, "no akosha or curl command in its sh blocks")
        continue
    if any(i[1] == "akosha" for i in runnable) and not envs:
        fail(name, "runs akosha commands but never loads the env file (set -a; . /etc/akosha/akosha.env; set +a)")
        continue
    total += len(runnable)
    page = Page(name, fx[0] if fx else "healthy")
    for lineno, kind, text in items:
        if kind == "env":
            page.preamble = text.replace("/etc/akosha/akosha.env", shlex.quote(page.env))
        elif kind in ("akosha", "curl"):
            if page.preamble is None and kind == "akosha":
                fail(name, f"line {lineno}: {text}: comes before the env file is loaded")
                continue
            if page.preamble is None:  # a curl line in a shell without the settings
                page.preamble = ":"
            page.run_line(lineno, kind, text)
    page.stop_daemon()
    r = page.shell("akosha verify", preamble=page.default_preamble())
    if r.returncode != 0:
        fail(name, f"after its commands the store does not verify: {r.stdout}{r.stderr}")

if total == 0:
    failures.append("no runnable commands found in docs/runbooks/*.md")
print(f"{total} commands from {len(pages)} pages", flush=True)
if failures:
    print("\n".join(["FAILURES:"] + failures), file=sys.stderr)
    sys.exit(1)
EOF
echo "runbooks: every command ran as the pages say"
