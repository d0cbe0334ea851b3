"""bench/nginx.py: the nginx module's figures, as ratios measured in one
run on one machine, written to bench/RESULTS.md between the markers
<!-- nginx --> and <!-- /nginx --> (the rest of the file is bench/run's).

1. nginx GET form vs the same bytes as a static file from the same nginx
   (target >= 0.90): what rendering and signing cost on nginx.
2. nginx POST vs Apache POST (mod_consent.so) on the same kind of store,
   the same file or database, one after the other: what the thread pool
   hand-off costs, or saves, against mod_dbd.

Settings (environment): BENCH_SECONDS (per wrk run, 5), BENCH_ROUNDS
(alternating rounds, 3), BENCH_CONNECTIONS (8), BENCH_NGINX_DRIVERS
(sqlite3,pgsql), BENCH_NGINX_WORKERS (2).
"""
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import nginx_harness  # noqa: E402
import servers  # noqa: E402
import wrkload  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
DRIVERS = os.environ.get("BENCH_NGINX_DRIVERS", "sqlite3,pgsql").split(",")
WORKERS = int(os.environ.get("BENCH_NGINX_WORKERS", "2"))
RESULTS = os.path.join(HERE, "RESULTS.md")


def log(*args):
    print("bench/nginx:", *args, file=sys.stderr, flush=True)


def nginx(**kw):
    # 8 threads a worker, so 8 store connections at most: with Apache's
    # 4 x DBDMax 64 next to it, PostgreSQL's max_connections (300) holds
    return nginx_harness.NginxServer(
        workers=WORKERS, log_level="warn",
        main_extra="thread_pool default threads=8;", **kw).start()


def tokens(server, n):
    # the same signed-again tokens bench/run uses (any server with url()
    # and key will do)
    return servers.BenchServer.tokens(server, n)


def post(server, guess):
    n = int(max(2000, guess * SECONDS * 3))
    res = wrkload.run(server.url("/newsletter"), SECONDS, CONNECTIONS,
                      token_list=tokens(server, n))
    res.tokens_short = res.requests >= n
    return res


def bench_get():
    server = nginx()
    try:
        body = servers.BenchServer.save_static_copy(server)
        rounds = []
        for _ in range(ROUNDS):
            s = wrkload.run(server.url("/form.html"), SECONDS, CONNECTIONS)
            f = wrkload.run(server.url("/newsletter"), SECONDS, CONNECTIONS)
            log("GET static", s, "form", f)
            assert not f.errors and not s.errors, (f, s)
            rounds.append((f, s))
        return len(body), rounds
    finally:
        server.cleanup()


def bench_post(art, driver, postgres):
    params = postgres.create_db() if driver == "pgsql" else None
    apache = servers.BenchServer(art.insert_module(), driver=driver,
                                 params=params)
    # mod_dbd prepares the baseline module's INSERT on every connection
    servers.create_baseline_table(driver, apache.params, postgres)
    apache.start()
    # one store for both: nginx's workers run as Apache's User, so that
    # either can write the sqlite3 file and its -wal/-shm
    try:
        ngx = nginx(driver=driver, params=apache.params, key=apache.key,
                    workdir=apache.dir,
                    run_as=(harness.RUN_USER, harness.RUN_GROUP))
    except Exception:
        apache.cleanup()
        raise
    try:
        guess = max(post(apache, 500).rate, post(ngx, 500).rate)
        rounds = []
        for _ in range(ROUNDS):
            n = post(ngx, guess)
            a = post(apache, guess)
            log("POST", driver, "nginx", n, "apache", a)
            assert not n.errors and not a.errors, (n, a)
            rounds.append((n, a))
        return rounds
    finally:
        ngx.stop()
        apache.cleanup()


def median_ratio(rounds):
    return statistics.median(a.rate / b.rate for a, b in rounds)


def section(get, posts):
    size, rounds = get
    ratio = median_ratio(rounds)
    lines = [
        "<!-- nginx -->",
        "## nginx (bench/nginx.py)",
        "",
        "Run %s UTC, %d s per wrk run, %d alternating rounds, %d "
        "connections, nginx with %d workers (`worker_processes`), "
        "loopback. Ratios are medians of the rounds." % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()), SECONDS,
            ROUNDS, CONNECTIONS, WORKERS),
        "",
        "| measure | req/s (median) | baseline req/s | ratio | target |",
        "|---|---|---|---|---|",
        "| GET form (%d bytes) vs the same bytes as a static file, same "
        "nginx | %.0f | %.0f | %.2f | >= 0.90%s |" % (
            size, statistics.median(f.rate for f, _ in rounds),
            statistics.median(s.rate for _, s in rounds), ratio,
            "" if ratio >= 0.90 else " **MISSED**"),
    ]
    for driver, pr in posts:
        lines.append(
            "| POST, nginx vs Apache, %s (same store) | %.0f | %.0f | %.2f "
            "| - |" % (driver, statistics.median(n.rate for n, _ in pr),
                       statistics.median(a.rate for _, a in pr),
                       median_ratio(pr)))
    lines += ["", "p99 latency (ms, median of rounds): GET form %.2f, "
              "static %.2f%s." % (
                  statistics.median(f.p99_ms for f, _ in rounds),
                  statistics.median(s.p99_ms for _, s in rounds),
                  "".join("; POST %s nginx %.2f, Apache %.2f" % (
                      d, statistics.median(n.p99_ms for n, _ in pr),
                      statistics.median(a.p99_ms for _, a in pr))
                      for d, pr in posts)),
              "<!-- /nginx -->"]
    return "\n".join(lines) + "\n"


def write(text):
    old = open(RESULTS).read() if os.path.exists(RESULTS) else ""
    if "<!-- nginx -->" in old:
        old = re.sub(r"<!-- nginx -->.*?<!-- /nginx -->\n?", text, old,
                     flags=re.S)
    else:
        old = old.rstrip("\n") + "\n\n" + text
    with open(RESULTS, "w") as f:
        f.write(old)


def main():
    art = servers.Artefacts()
    postgres = None
    try:
        if "pgsql" in DRIVERS:
            postgres = harness.PostgresServer().start()
        get = bench_get()
        posts = [(d, bench_post(art, d, postgres)) for d in DRIVERS if d]
        text = section(get, posts)
        write(text)
        print(text)
    finally:
        if postgres:
            postgres.cleanup()
        art.cleanup()


if __name__ == "__main__":
    main()
