"""The measurements of bench/run that are not a wrk ratio: memory,
start-up, export/verify, the write profile of a POST, guard mode and
callgrind instruction counts of the request path."""
import http.client
import json
import os
import re
import subprocess
import time

import requests

import harness
import report
import servers
import wrkload


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def first_child(server):
    for _ in range(100):
        kids = server.children()
        if kids:
            return kids[0]
        time.sleep(0.05)
    raise RuntimeError("no httpd child")


# ---- 4. memory: one child, many requests -------------------------------

def memory_growth(server, total):
    """RSS of the only child after a warm-up and after `total` requests
    more (a tenth of them stored POSTs)."""
    child = first_child(server)
    wrkload.run(server.url("/newsletter"), 2, 16)
    rate = wrkload.post_run(server, "/newsletter", 2, 16).rate
    before = rss_kib(child)
    posts = total // 10
    done_posts = done_gets = 0
    for _ in range(1000):
        if done_posts >= posts and done_gets >= total - posts:
            break
        if done_posts < posts:
            res = wrkload.post_run(server, "/newsletter", 2, 16, rate)
            done_posts += res.successes
        else:
            res = wrkload.run(server.url("/newsletter"), 3, 16)
            done_gets += res.successes
        if res.errors:
            raise RuntimeError("memory run: errors %r" % res)
    after = rss_kib(child)
    return {"before": before, "after": after, "gets": done_gets,
            "posts": done_posts, "same_child": child in server.children()}


# ---- start-up with 1 and with many forms -------------------------------

def form_files(directory, n):
    with open(harness.EXAMPLE) as f:
        text = f.read()
    os.makedirs(directory, exist_ok=True)
    forms = []
    for i in range(n):
        path = os.path.join(directory, "f%d.xml" % i)
        with open(path, "w") as f:
            f.write(text.replace('id="newsletter" version',
                                 'id="f%d" version' % i))
        forms.append(("/f%d" % i, path, ""))
    return forms


def startup(art, n):
    server = servers.BenchServer(art.module, servers=1, threads=16)
    server.forms = form_files(os.path.join(server.dir, "forms"), n)
    try:
        t0 = time.time()
        rc, out = server.check_config()
        check = time.time() - t0
        if rc != 0:
            raise RuntimeError("apache2 -t with %d forms: %s" % (n, out))
        t0 = time.time()
        server.start()
        listen = time.time() - t0
        child = first_child(server)
        time.sleep(0.5)
        parent_rss, child_rss = rss_kib(server.proc.pid), rss_kib(child)
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        conn.request("GET", "/f%d" % (n - 1))
        status = conn.getresponse().status
        conn.close()
        return {"forms": n, "check_s": check, "listen_s": listen,
                "parent_kib": parent_rss, "child_kib": child_rss,
                "child_after_get_kib": rss_kib(child), "status": status}
    finally:
        server.cleanup()


# ---- 5. export and verify ----------------------------------------------

def timed(cmd, stdout=subprocess.DEVNULL):
    t0 = time.time()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE,
                       text=True)
    return time.time() - t0, p


def export_verify_once(gen, work, n):
    db = os.path.join(work, "proofs-%d.db" % n)
    key = harness.write_key(os.path.join(work, "k.key"))
    secs, p = timed([gen, "sqlite3", db, key, str(n), "256"])
    if p.returncode:
        raise RuntimeError(p.stderr)
    out = os.path.join(work, "export.jsonl")
    with open(out, "w") as f:
        exp, p = timed([harness.CONSENTCTL, "-d", "sqlite3", "-p", db,
                        "export"], stdout=f)
    with open(out) as f:
        lines = sum(1 for _ in f)
    ver, pv = timed([harness.CONSENTCTL, "-d", "sqlite3", "-p", db,
                     "-k", key, "verify"], stdout=subprocess.PIPE)
    return {"n": n, "gen_s": secs, "export_s": exp, "lines": lines,
            "export_rc": p.returncode, "verify_s": ver,
            "verify_rc": pv.returncode,
            "verify_out": (pv.stdout + pv.stderr).strip()[:200],
            "db_mib": os.path.getsize(db) / 2**20}


def export_verify(art, n):
    """n proofs, and a store 50 times smaller: rows/s should not depend
    on the size of the store."""
    gen = art.proof_generator()
    work = harness.make_workdir()
    try:
        return [export_verify_once(gen, work, m)
                for m in (max(n // 50, 1000), n)]
    finally:
        subprocess.run(["rm", "-rf", work])


# ---- the write profile of one POST (why the POST ratio is what it is) ---

def sequential(server, path, n, token_list=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for i in range(n):
        if token_list is None:
            conn.request("GET", path, headers={"Accept-Language": "en"})
        else:
            body = ("email=bench%%40example.org&consent=newsletter"
                    "&consent_token=%s" % token_list[i])
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        if r.status >= 400:
            raise RuntimeError("%s %s: %d" % (path, r.status, r.read()))
    conn.close()


def strace_writes(server, path, n):
    """pwrite64 bytes and fsync/fdatasync calls per request (sqlite)."""
    child = first_child(server)
    out = os.path.join(server.dir, "strace.out")
    tr = subprocess.Popen(["strace", "-f", "-qq", "-e",
                           "trace=pwrite64,fsync,fdatasync", "-o", out,
                           "-p", str(child)])
    time.sleep(1.0)
    sequential(server, path, n, server.tokens(n))
    tr.terminate()
    tr.wait(10)
    with open(out) as f:
        text = f.read()
    written = sum(int(m) for m in re.findall(r"pwrite64\(.*\) = (\d+)",
                                             text))
    syncs = len(re.findall(r"f(?:data)?sync\(\d+\)\s+= 0", text))
    return written / n, syncs / n


def pg_wal_bytes(server, postgres, path, n):
    lsn = "SELECT pg_current_wal_lsn()"
    a = servers.sql_query(server, lsn, postgres)[0]
    sequential(server, path, n, server.tokens(n))
    b = servers.sql_query(server, lsn, postgres)[0]
    d = servers.sql_query(server, "SELECT pg_wal_lsn_diff('%s', '%s')"
                          % (b, a), postgres)[0]
    return float(d) / n


def cpu_seconds(pids):
    """user + system CPU time of processes and their threads."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def tree(pid):
    p = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                       text=True)
    return [pid] + [int(x) for x in p.stdout.split()]


def postgres_pids(postgres):
    if postgres is None:
        return []
    with open(os.path.join(postgres.data, "postmaster.pid")) as f:
        return tree(int(f.readline()))


def cpu_per_request(server, postgres, path, n):
    """CPU ms per request of Apache and of the database server, for n
    sequential requests (the client is not counted)."""
    ap0 = cpu_seconds(tree(server.proc.pid))
    pg0 = cpu_seconds(postgres_pids(postgres))
    sequential(server, path, n, server.tokens(n))
    ap = cpu_seconds(tree(server.proc.pid)) - ap0
    pg = cpu_seconds(postgres_pids(postgres)) - pg0
    return ap * 1000 / n, pg * 1000 / n


def post_write_profile(art, postgres, n=300):
    rows = []
    for driver in ("sqlite3", "pgsql"):
        params = postgres.create_db() if driver == "pgsql" else None
        server = servers.BenchServer(art.module, servers=1, threads=4,
                                     driver=driver, params=params)
        servers.create_baseline_table(driver, server.params, postgres)
        server.start()
        try:
            sequential(server, "/insert", 10, server.tokens(10))
            db = postgres if driver == "pgsql" else None
            for path in ("/newsletter", "/insert"):
                if driver == "sqlite3":
                    io = strace_writes(server, path, n)
                else:
                    io = (pg_wal_bytes(server, postgres, path, n), None)
                cpu = cpu_per_request(server, db, path, 4 * n)
                rows.append((driver, path) + io + cpu)
        finally:
            server.cleanup()
    return report.write_profile_section(rows, n)


def pragma_cost(art, n=20000, runs=3):
    """bench/pragma_cost.c on a fresh sqlite3 file, runs times: what the
    sqlite3 connection settings would cost per request."""
    prog = art.program("pragma_cost")
    db = os.path.join(art.dir, "pragma.db")
    subprocess.run(["sqlite3", db, "PRAGMA journal_mode=WAL; CREATE TABLE "
                    "IF NOT EXISTS t (x)"], check=True, capture_output=True)
    out = []
    for _ in range(runs):
        p = subprocess.run([prog, db, str(n)], check=True,
                           capture_output=True, text=True)
        out.append(json.loads(p.stdout))
    return report.pragma_section(out, n)


# ---- 6. guard mode -------------------------------------------------------

def guard_available():
    src = os.path.join(harness.TOP, "mod_consent", "httpd")
    for name in os.listdir(src):
        with open(os.path.join(src, name), errors="replace") as f:
            if '"ConsentGuard"' in f.read():
                return True
    return False


GUARD_DEF = """\
<consent-form xmlns="urn:mod-consent:form:1" id="signup" version="1">
  <controller name="Example SAS" contact="privacy@example.org"
              policy="https://example.org/privacy"/>
  <field name="email" type="email" required="true">
    <label xml:lang="en">Email address</label>
  </field>
  <purpose id="newsletter" input="optin_newsletter">
    <label xml:lang="en">Send me the monthly newsletter</label>
    <description xml:lang="en">One email a month.</description>
  </purpose>
</consent-form>
"""

GUARD_PAGE_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up</title></head>
<body><h1>Sign up</h1>
<form method="post" action="/guarded/page.html">
<label>Email <input type="email" name="email"></label>
<label><input type="checkbox" name="optin_newsletter">
Send me the monthly newsletter</label>
<button>Sign up</button></form>
"""


def guard_section(art, seconds, connections):
    """A 50 KB page served as a file, with and without ConsentGuard on
    its location (guard mode is the output filter of DESIGN.md)."""
    if not guard_available():
        return report.guard_missing()
    server = servers.BenchServer(art.module, extra="""
<Location /guarded>
    ConsentGuard {dir}/signup.xml
</Location>
""".format(dir="{dir}"))
    server.extra = server.extra.replace("{dir}", server.dir)
    with open(os.path.join(server.dir, "signup.xml"), "w") as f:
        f.write(GUARD_DEF)
    page = GUARD_PAGE_HEAD
    filler = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing.</p>\n"
    while len(page) < int(os.environ.get("BENCH_GUARD_PAGE", 50 * 1024)):
        page += filler
    page += "</body></html>\n"
    for sub in ("plain", "guarded"):
        os.makedirs(os.path.join(server.dir, "htdocs", sub), exist_ok=True)
        with open(os.path.join(server.dir, "htdocs", sub, "page.html"),
                  "w") as f:
            f.write(page)
    try:
        server.start()
        pairs = []
        for _ in range(int(os.environ.get("BENCH_ROUNDS", "3"))):
            plain = wrkload.run(server.url("/plain/page.html"), seconds,
                                connections)
            guarded = wrkload.run(server.url("/guarded/page.html"),
                                  seconds, connections)
            pairs.append((guarded, plain))
        body = requests.get(server.url("/guarded/page.html"),
                            timeout=10).text
        return report.guard_section(pairs, len(page),
                                    "consent_token" in body,
                                    perf_top(server, "/guarded/page.html"))
    except Exception as e:      # guard mode still in the making
        return report.guard_failed(repr(e), server.error_log()[-800:])
    finally:
        server.cleanup()


def perf_top(server, path, seconds=4, lines=15):
    """`perf record` of the children while wrk loads path: where the time
    goes (self time, top symbols); None without perf."""
    out = os.path.join(server.dir, "perf.data")
    pids = ",".join(str(p) for p in server.children())
    try:
        rec = subprocess.Popen(["perf", "record", "-q", "-o", out, "-p",
                                pids, "--", "sleep", str(seconds)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    except OSError:
        return None
    wrkload.run(server.url(path), seconds, 8)
    rec.wait(60)
    rep = subprocess.run(["perf", "report", "-i", out, "--no-children",
                          "--stdio", "--sort", "dso,symbol"],
                         capture_output=True, text=True)
    top = [l.rstrip() for l in rep.stdout.splitlines()
           if l.strip() and not l.startswith("#") and "%" in l]
    return "\n".join(top[:lines]) or None


# ---- callgrind: instructions of the request path ------------------------

CASES = (("GET form", "/newsletter", False),
         ("GET static copy", "/form.html", False),
         ("POST consent (sqlite3)", "/newsletter", True),
         ("POST one INSERT (sqlite3)", "/insert", True))


def callgrind_totals(where):
    """(instructions collected, file) of each callgrind.out.PID."""
    found = []
    for name in os.listdir(where):
        if name.startswith("callgrind.out."):
            path = os.path.join(where, name)
            with open(path) as f:
                m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
            found.append((int(m.group(1)) if m else 0, path))
    return found or [(0, "")]


def callgrind_case(art, path, post, n, page, token_list):
    server = servers.BenchServer(art.module, servers=1, threads=4)
    servers.create_baseline_table("sqlite3", server.params)
    with open(os.path.join(server.dir, "htdocs", "form.html"), "wb") as f:
        f.write(page)
    # one file per process (%p): the serving child's, not its parent's
    # (which serves nothing and exits last), is the one with requests
    pattern = os.path.join(server.dir, "callgrind.out.%p")
    os.chmod(server.dir, 0o777)     # the child writes as httpd's User
    try:
        server.start(single=True, wrapper=[
            "valgrind", "--tool=callgrind",
            "--callgrind-out-file=" + pattern,
            "--toggle-collect=ap_read_request",
            "--toggle-collect=ap_process_async_request",
            # the group-commit writer thread's share of a POST
            "--toggle-collect=consent_store_record_batch"])
        sequential(server, path, n, token_list if post else None)
        server.stop()
        total, out = max(callgrind_totals(server.dir))
        top = [subprocess.run(["callgrind_annotate", flag, out],
                              capture_output=True, text=True).stdout
               for flag in ("--inclusive=yes", "--inclusive=no")]
        return total / n, top
    finally:
        server.cleanup()


def callgrind_section(art, n=None):
    n = n or int(os.environ.get("BENCH_CALLGRIND_REQUESTS", "300"))
    probe = servers.BenchServer(art.module).start()
    try:
        page = probe.save_static_copy()
        token_list = probe.tokens(n)
    finally:
        probe.cleanup()
    rows, profiles = [], {}
    for name, path, post in CASES:
        ir, top = callgrind_case(art, path, post, n, page, token_list)
        rows.append((name, ir))
        profiles[name] = top
    return report.callgrind_section(rows, profiles, n)
