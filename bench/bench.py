"""bench/run: what mod_consent costs, as ratios against baselines measured
in the same run on the same machine (absolute figures drift on shared
machines; ratios much less). Writes bench/RESULTS.md and prints it.

Every figure comes from loopback HTTP (wrk) against real Apache instances
started here, or from consentctl on a store filled through the core.
Settings (environment): BENCH_SECONDS (per wrk run, 5), BENCH_ROUNDS
(alternating rounds of each ratio, 3), BENCH_CONNECTIONS (of the ratio
runs, 8), BENCH_POST_CONNECTIONS (of the POST ratio, 32), BENCH_MEMORY_REQUESTS (100000), BENCH_FORMS (1000), BENCH_PROOFS
(1000000), BENCH_CALLGRIND_REQUESTS (300), BENCH_GUARD_PAGE (bytes,
51200), BENCH_ONLY / BENCH_SKIP
(comma-separated section names: get post sweep memory startup export
guard callgrind).
"""
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402
import wrkload  # noqa: E402
import measures  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
# issue 15's targets for POST are at 32 connections
POST_CONNECTIONS = int(os.environ.get("BENCH_POST_CONNECTIONS", "32"))
MEMORY_REQUESTS = int(os.environ.get("BENCH_MEMORY_REQUESTS", "100000"))
FORMS = int(os.environ.get("BENCH_FORMS", "1000"))
PROOFS = int(os.environ.get("BENCH_PROOFS", "1000000"))
SWEEP = (1, 8, 64, 256)


def wanted(section):
    only = os.environ.get("BENCH_ONLY")
    skip = os.environ.get("BENCH_SKIP", "").split(",")
    return (not only or section in only.split(",")) and section not in skip


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def warm_post(server, path):
    return wrkload.post_run(server, path, 1, CONNECTIONS).rate


# ---- 1. GET form vs the same bytes as a static file -------------------

def bench_get(art):
    server = servers.BenchServer(art.module).start()
    try:
        size = len(server.save_static_copy())
        pairs = []
        for _ in range(ROUNDS):
            s = wrkload.run(server.url("/form.html"), SECONDS, CONNECTIONS)
            f = wrkload.run(server.url("/newsletter"), SECONDS, CONNECTIONS)
            log("GET static", s, "form", f)
            pairs.append((f, s))
        return report.get_section(pairs, size, CONNECTIONS)
    finally:
        server.cleanup()


# ---- 2. POST vs one INSERT through mod_dbd, and 3. the sweep ----------

def store_server(art, driver, postgres):
    """postgres: the database server of the driver (PostgreSQL, MariaDB),
    None for sqlite3."""
    params = postgres.create_db() if driver != "sqlite3" else None
    server = servers.BenchServer(art.module, driver=driver, params=params)
    servers.create_baseline_table(driver, server.params, postgres)
    return server.start()


# what each writer said at exit, by driver: (proofs, commits, largest)
BATCHES = {}


def writer_batches(server):
    """The group-commit writers' own summaries (consent:info at exit)."""
    server.stop()
    return [tuple(int(x) for x in m) for m in re.findall(
        r"writer stops after (\d+) proof\(s\) in (\d+) commit\(s\), "
        r"largest batch (\d+)", server.error_log())]


def bench_post(art, driver, postgres):
    server = store_server(art, driver, postgres)
    try:
        guess = max(warm_post(server, "/newsletter"),
                    warm_post(server, "/insert"))
        pairs = []
        for _ in range(ROUNDS):
            c = wrkload.post_run(server, "/newsletter", SECONDS,
                                 POST_CONNECTIONS, guess)
            b = wrkload.post_run(server, "/insert", SECONDS,
                                 POST_CONNECTIONS, guess)
            log("POST", driver, "consent", c, "insert", b)
            pairs.append((c, b))
        BATCHES[driver] = writer_batches(server)
        return pairs
    finally:
        server.cleanup()


def stored_since(server, seq, postgres):
    rows = servers.sql_query(
        server, "SELECT receipt_id FROM consent_proof WHERE seq > %d"
        % seq, postgres)
    return set(rows)


def max_seq(server, postgres):
    v = servers.sql_query(server, "SELECT COALESCE(MAX(seq), 0) FROM "
                          "consent_proof", postgres)
    return int(v[0])


def sweep_post(server, c, guess, postgres):
    before = max_seq(server, postgres)
    res = wrkload.post_run(server, "/newsletter", SECONDS, c, guess)
    time.sleep(1.0)         # requests cut off by wrk's end still finish
    stored = stored_since(server, before, postgres)
    res.stored = len(stored)
    res.missing = len(set(res.receipts) - stored)
    return res


def bench_sweep(art, driver, postgres):
    server = store_server(art, driver, postgres)
    rows = []
    try:
        guess = warm_post(server, "/newsletter")
        wrkload.run(server.url("/newsletter"), 1, 8)
        for c in SWEEP:
            g = wrkload.run(server.url("/newsletter"), SECONDS, c) \
                if driver == "sqlite3" else None
            p = sweep_post(server, c, guess, postgres)
            log("sweep", driver, c, "GET", g, "POST", p,
                "stored", p.stored)
            rows.append((c, g, p))
        return rows, error_reasons(server)
    finally:
        server.cleanup()


def error_reasons(server):
    """Why requests failed, from the error log: each distinct message
    once, ids and hex values masked."""
    reasons = set()
    for line in server.error_log().splitlines():
        if "[consent:error]" in line or "[dbd:error]" in line:
            msg = re.sub(r"^(\[[^]]*\] )+", "", line)
            reasons.add(re.sub(r"[0-9a-f]{16,}", "...", msg)[:300])
    return sorted(reasons)


# ---- 4. memory and start-up -------------------------------------------

def bench_memory(art):
    server = servers.BenchServer(art.module, servers=1, threads=32)
    server.start()
    try:
        return measures.memory_growth(server, MEMORY_REQUESTS)
    finally:
        server.cleanup()


def bench_startup(art):
    return [measures.startup(art, n) for n in (1, FORMS)]


# ---- 5. export and verify over many proofs ----------------------------

def bench_export(art):
    return measures.export_verify(art, PROOFS)


def main():
    # a TERM (timeout, ^C from a wrapper) still stops every Apache started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.time()
    art = servers.Artefacts()
    art.module = art.insert_module()
    postgres = mariadb = None
    drivers = ("sqlite3", "pgsql", "mysql")
    out = [report.header(SECONDS, ROUNDS, CONNECTIONS)]
    try:
        if wanted("get"):
            out.append(bench_get(art))
        if wanted("post") or wanted("sweep"):
            postgres = harness.PostgresServer().start()
            mariadb = harness.MariaDBServer().start()
        db_of = {"pgsql": postgres, "mysql": mariadb}
        if wanted("post"):
            out.append(report.post_section(
                [(d, bench_post(art, d, db_of.get(d)))
                 for d in drivers], POST_CONNECTIONS,
                BATCHES))
            out.append(measures.post_write_profile(art, postgres))
        if wanted("sweep"):
            out.append(report.sweep_section(
                [(d, bench_sweep(art, d, db_of.get(d)))
                 for d in drivers], SECONDS))
        if wanted("memory"):
            out.append(report.memory_section(bench_memory(art)))
        if wanted("startup"):
            out.append(report.startup_section(bench_startup(art)))
        if wanted("export"):
            out.append(report.export_section(bench_export(art)))
        if wanted("guard"):
            out.append(measures.guard_section(art, SECONDS, CONNECTIONS))
        if wanted("callgrind"):
            out.append(measures.callgrind_section(art))
    finally:
        if postgres:
            postgres.cleanup()
        if mariadb:
            mariadb.cleanup()
        art.cleanup()
    out.append(report.footer(time.time() - started))
    text = "\n".join(out)
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
