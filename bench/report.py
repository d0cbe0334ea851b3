"""bench/RESULTS.md: markdown tables of bench/run's figures, each target
judged (met / MISSED) from the figures of this run, never by hand."""
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

import harness


def sh(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def mem_total():
    with open("/proc/meminfo") as f:
        kib = int(f.readline().split()[1])
    return "%.1f GiB" % (kib / 2**20)


def fsync_ms(n=200):
    """The disk's price of one durable commit: 4 KiB write + fdatasync."""
    fd, path = tempfile.mkstemp(prefix="consent-fsync-")
    try:
        t0 = time.time()
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            os.fdatasync(fd)
        return (time.time() - t0) * 1000 / n
    finally:
        os.close(fd)
        os.unlink(path)


def verdict(ok):
    return "met" if ok else "**MISSED**"


def header(seconds, rounds, connections):
    fs = fsync_ms()
    return "\n".join([
        "# mod_consent benchmark results",
        "",
        "Written by `bench/run` (do not edit by hand: run it again). Every "
        "figure is loopback HTTP from Debian's `wrk` against Apache "
        "instances this run started, measured against a baseline served "
        "by the same Apache in the same run; ratios are the figures to "
        "read, absolute numbers drift on a shared machine. wrk and Apache "
        "share the machine's CPUs.",
        "",
        "| | |", "|---|---|",
        "| date | %s |" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "| command | `%s` (BENCH_SECONDS=%d, BENCH_ROUNDS=%d, "
        "BENCH_CONNECTIONS=%d) |" % (os.environ.get("BENCH_COMMAND",
                                                    "bench/run"),
                                     seconds, rounds, connections),
        "| CPUs (`nproc`) | %s |" % sh(["nproc"]),
        "| CPU model | %s |" % cpu_model(),
        "| memory | %s |" % mem_total(),
        "| kernel | %s |" % platform.release(),
        "| Apache | %s |" % sh([harness.APACHE, "-v"]),
        "| wrk | %s |" % sh(["wrk", "-v"]).split(" Copyright")[0],
        "| sqlite3 | %s |" % sh(["sqlite3", "--version"]).split(" ")[0],
        "| PostgreSQL | %s |" % sh([os.path.join(harness.PG_BIN,
                                                   "postgres"),
                                      "--version"]),
        "| MariaDB | %s |" % sh(["mariadbd", "--version"]),
        "| disk: 4 KiB write + fdatasync | %.3f ms (at most %.0f durable "
        "commits/s per writer) |" % (fs, 1000 / fs),
        "",
    ])


def ms(x):
    return "%.2f" % x


def median_pair(pairs):
    """The round whose ratio is the median (the figures shown)."""
    ranked = sorted(pairs, key=lambda p: p[0].rate / p[1].rate)
    return ranked[len(ranked) // 2]


def ratio_rows(pairs, a_name, b_name):
    lines = ["| round | %s req/s | %s req/s | ratio | %s p50 / p99 ms "
             "| %s p50 / p99 ms | errors |" % (a_name, b_name, a_name,
                                               b_name),
             "|---|---|---|---|---|---|---|"]
    for i, (a, b) in enumerate(pairs, 1):
        lines.append("| %d | %.0f | %.0f | %.3f | %s / %s | %s / %s | %d |"
                     % (i, a.rate, b.rate, a.rate / b.rate, ms(a.p50_ms),
                        ms(a.p99_ms), ms(b.p50_ms), ms(b.p99_ms),
                        a.errors + b.errors))
    return lines


def get_section(pairs, size, connections):
    ratios = [f.rate / s.rate for f, s in pairs]
    med = statistics.median(ratios)
    return "\n".join([
        "## 1. GET: the form vs the very same bytes as a static file",
        "",
        "GET /newsletter (rendered, signed token, headers) against "
        "GET /form.html holding one rendered page (%d bytes), same Apache "
        "(event MPM, 4 x 256 threads, access log on), %d connections, "
        "rounds alternating." % (size, connections), ""]
        + ratio_rows(pairs, "form", "static") + [
        "",
        "Median ratio form/static: **%.3f** (target >= 0.90: %s)."
        % (med, verdict(med >= 0.90)), ""])


def batch_text(batches):
    """How the writers grouped the proofs (their summaries at exit)."""
    if not batches:
        return "-"
    proofs = sum(b[0] for b in batches)
    commits = sum(b[1] for b in batches)
    return "%.1f / %d (%d writers)" % (proofs / commits if commits else 0.0,
                                       max(b[2] for b in batches),
                                       len(batches))


def cpu_text(r):
    cpu = getattr(r, "cpu", None)
    return "-" if cpu is None else "%.2f / %.2f / %.2f" % cpu


def post_rows(driver, levels):
    lines = ["| connections | round | consent req/s | floor req/s | ratio "
             "| consent p50 / p99 ms | floor p50 / p99 ms "
             "| consent errors | floor errors | consent CPU ms/req "
             "Apache / db / wrk | floor CPU ms/req |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c, (pairs, _, _) in sorted(levels.items()):
        for i, (a, b) in enumerate(pairs, 1):
            lines.append("| %d | %d | %.0f | %.0f | %.3f | %s / %s | %s / %s "
                         "| %d | %d | %s | %s |"
                         % (c, i, a.rate, b.rate, a.rate / b.rate,
                            ms(a.p50_ms), ms(a.p99_ms), ms(b.p50_ms),
                            ms(b.p99_ms), a.errors, b.errors, cpu_text(a),
                            cpu_text(b)))
    return lines


def post_summary(by_driver, connections):
    """One line per store: the figures issue 15's targets are about."""
    out = ["| store | ratio at %d (median of rounds) | consent / floor p99 "
           "at 64, ms (median) | consent errors at 256 | mean / largest "
           "batch at %d | at 64 | at 256 |" % (connections, connections),
           "|---|---|---|---|---|---|---|"]
    for driver, levels in by_driver:
        def med(c, f):
            if c not in levels:
                return None
            return statistics.median(f(a, b) for a, b in levels[c][0])
        ratio = med(connections, lambda a, b: a.rate / b.rate)
        p99 = med(64, lambda a, b: a.p99_ms)
        fp99 = med(64, lambda a, b: b.p99_ms)
        err = (sum(a.errors for a, _ in levels[256][0])
               if 256 in levels else None)
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            driver, "-" if ratio is None else "**%.3f**" % ratio,
            "-" if p99 is None else "%s / %s" % (ms(p99), ms(fp99)),
            "-" if err is None else str(err),
            *(batch_text(levels[c][1]) if c in levels else "-"
              for c in (connections, 64, 256))))
    return out


def post_verdicts(by_driver, connections):
    out = []
    for driver, levels in by_driver:
        if connections in levels:
            r = statistics.median(a.rate / b.rate
                                  for a, b in levels[connections][0])
            out.append("- %s: POST >= 1.00x the floor at %d connections: "
                       "%.3f, %s%s." % (driver, connections, r,
                                        verdict(r >= 1.0),
                                        "" if driver != "mysql" else
                                        " (reported; the target names "
                                        "sqlite3 and PostgreSQL)"))
        if driver == "sqlite3" and 64 in levels:
            pairs = levels[64][0]
            p99 = statistics.median(a.p99_ms for a, _ in pairs)
            errs = sum(a.errors for a, _ in pairs)
            out.append("- sqlite3: p99 <= 100 ms at 64 connections with no "
                       "error: median %s ms (rounds: %s), %d errors, %s."
                       % (ms(p99), ", ".join(ms(a.p99_ms) for a, _ in pairs),
                          errs, verdict(p99 <= 100 and errs == 0)))
        if 256 in levels:
            errs = sum(a.errors for a, _ in levels[256][0])
            out.append("- %s: 0 errors at 256 connections: %d answers, %d "
                       "errors, %s." % (driver,
                                        sum(a.requests
                                            for a, _ in levels[256][0]),
                                        errs, verdict(errs == 0)))
    return out


def post_section(by_driver, connections):
    out = ["## 2. POST: a stored submission vs one INSERT through mod_dbd",
           "",
           "POST /newsletter (parse, token check, proof with chained MACs, "
           "stored by the process's writers in group commits, answered "
           "once durable, confirmation page) against POST "
           "/insert, the floor (`bench/mod_bench_insert.c`: the body read, "
           "one prepared INSERT of a 21-column row of the same size in a "
           "transaction, through the same mod_dbd pool, same database; "
           "sqlite3 in WAL mode with synchronous=FULL and "
           "`DBDInitSQL \"PRAGMA busy_timeout=10000\"`). Each store at "
           "each connection count on a fresh Apache (event, 4 children x "
           "256 threads), rounds alternating consent and floor; each POST "
           "with a token of its own. Batches: the writers' own summaries "
           "at exit (`LogLevel consent:info`), warm-up included.", ""]
    out += post_summary(by_driver, connections) + [""]
    out += ["Targets (issue 15), judged on this run's figures:", ""]
    out += post_verdicts(by_driver, connections) + [""]
    for driver, levels in by_driver:
        short = any(getattr(x, "tokens_short", False)
                    for pairs, _, _ in levels.values()
                    for p in pairs for x in p)
        out += ["### %s" % driver, ""] + post_rows(driver, levels) + [""]
        if short:
            out += ["**Tokens ran out in a run: its rate is capped, its "
                    "ratio understated.**", ""]
        why = sorted(set(r for _, _, reasons in levels.values()
                         for r in reasons))
        if why:
            out += ["Errors in Apache's log (each message once):", ""]
            out += ["- `%s`" % r.replace("`", "'") for r in why[:8]] + [""]
    return "\n".join(out)


def write_profile_section(rows, n):
    out = ["### Why: what one request writes",
           "",
           "%d sequential requests of each kind on one child; sqlite3: "
           "bytes written to the database files (`strace -e pwrite64`) "
           "and fsyncs per request; PostgreSQL: WAL bytes per request "
           "(`pg_current_wal_lsn()` before and after)." % n, "",
           "CPU per request: user + system time of Apache's processes "
           "and of PostgreSQL's over %d more sequential requests (wrk and "
           "Apache share 2 CPUs, so CPU per request bounds throughput)."
           % (4 * n), "",
           "| store | request | bytes written / request | fsyncs / request "
           "| Apache CPU ms / request | PostgreSQL CPU ms / request |",
           "|---|---|---|---|---|---|"]
    for driver, path, written, syncs, ap_ms, pg_ms in rows:
        out.append("| %s | POST %s | %.0f | %s | %.3f | %s |" % (
            driver, path, written, "-" if syncs is None else "%.2f" % syncs,
            ap_ms, "-" if driver == "sqlite3" else "%.3f" % pg_ms))
    out += ["",
            "A durable commit waits for the disk; how long depends on how "
            "much it writes. A proof is one row but touches more pages: "
            "the proof table, its four indexes (receipt id and token nonce, "
            "both unique and random, subject, time), the lane row, the "
            "AUTOINCREMENT counter and, for sqlite3, each page in full in "
            "the WAL. The baseline row has one index (its key). The "
            "statements in the transaction add to the time the "
            "single sqlite3 writer holds the lock: 4 for a warm proof "
            "(begin, insert, lane update, commit; plus 2 PRAGMAs each "
            "request), 1 for the baseline.", ""]
    return "\n".join(out)


def pragma_section(runs, n):
    """Per-request sqlite3 PRAGMAs: their price, and where they run."""
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return "\n".join([
        "### sqlite3 connection settings: per connection, not per request",
        "",
        "`bench/pragma_cost.c`: %d calls of `consent_store_connection_init` "
        "(`PRAGMA busy_timeout`, `PRAGMA synchronous=FULL`) on one open "
        "sqlite3 connection, then %d `SELECT 1` on it; medians of %d runs."
        % (n, n, len(runs)), "",
        "| per call | CPU us | wall us |", "|---|---|---|",
        "| both PRAGMAs | %.2f | %.2f |" % (med["pragmas_cpu_us"],
                                          med["pragmas_wall_us"]),
        "| SELECT 1 | %.2f | %.2f |" % (med["select_cpu_us"],
                                       med["select_wall_us"]),
        "",
        "Run on every request, they would add this CPU and two passes "
        "through apr-util's process-wide sqlite3 mutex (which every "
        "statement of the process takes, the writer's included) to each "
        "request; they set nothing that changes between requests. So they "
        "run once per connection: mod_dbd's `post_connect` hook for the "
        "pool's connections, the writer's own connect for its own; the "
        "busy timeout is also set inside `sqlite3_open` (an sqlite3 "
        "auto-extension) so that it covers mod_dbd's own prepares.", ""])


def sweep_section(by_driver, seconds):
    out = ["## 3. Concurrency sweep", "",
           "%d s per run. Errors = socket errors + answers outside 2xx/3xx "
           "(must be 0). `stored` counts proofs in the store after the run; "
           "`answered, not stored` must be 0 (every receipt handed out is "
           "in the store); `stored, not answered` are the requests wrk "
           "cut off at the end of its run (at most one per connection)."
           % seconds, "",
           "| store | connections | GET req/s | GET p99 ms | GET errors | "
           "POST req/s | POST p99 ms | POST errors | POST 2xx/3xx | "
           "stored | answered, not stored | stored, not answered |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    bad, reasons = [], []
    for driver, (rows, why) in by_driver:
        reasons += ["- %s: `%s`" % (driver, r.replace("`", "'"))
                    for r in why]
        for c, g, p in rows:
            gtxt = ("%.0f | %s | %d" % (g.rate, ms(g.p99_ms), g.errors)
                    if g else "- | - | -")
            out.append("| %s | %d | %s | %.0f | %s | %d | %d | %d | %d | %d |"
                       % (driver, c, gtxt, p.rate, ms(p.p99_ms), p.errors,
                          p.successes, p.stored, p.missing,
                          p.stored - p.successes))
            if (g and g.errors) or p.errors or p.missing \
                    or not 0 <= p.stored - p.successes <= c:
                bad.append("%s/%d" % (driver, c))
    out += ["", "Errors 0 and stored = answered (up to the cut-off): %s%s."
            % (verdict(not bad), (" (" + ", ".join(bad) + ")") if bad
               else ""), ""]
    if reasons:
        out += ["Errors in Apache's log during the sweep (each message "
                "once):", ""] + reasons[:12] + [""]
    return "\n".join(out)


def memory_section(m):
    growth = m["after"] - m["before"]
    return "\n".join([
        "## 4. Memory", "",
        "One child (1 process x 32 threads, 16 connections), warmed up "
        "(GET and POST), then %d GET and %d stored POST more; VmRSS from "
        "/proc." % (m["gets"], m["posts"]), "",
        "| RSS before | RSS after | growth | same child throughout |",
        "|---|---|---|---|",
        "| %d KiB | %d KiB | %+d KiB | %s |" % (m["before"], m["after"],
                                             growth, m["same_child"]),
        "", "Growth < 1 MiB: %s." % verdict(growth < 1024), ""])


def startup_section(rows):
    out = ["### Start-up with 1 and with many form definitions", "",
           "Each form a file of its own and a `<Location>`; `apache2 -t` "
           "(parse, validate against the schema, lint, compile) timed, "
           "then a real start (to the first accepted connection, 0.1 s "
           "resolution); RSS of the parent and of its one child.", "",
           "| forms | apache2 -t | start to listening | parent RSS | "
           "child RSS | child RSS after one GET | GET status |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| %d | %.2f s | %.2f s | %d KiB | %d KiB | %d KiB | %d |"
                   % (r["forms"], r["check_s"], r["listen_s"],
                      r["parent_kib"], r["child_kib"],
                      r["child_after_get_kib"], r["status"]))
    if len(rows) == 2:
        a, b = rows
        per = (b["child_kib"] - a["child_kib"]) / max(b["forms"] - 1, 1)
        out += ["", "About %.1f KiB and %.2f ms of start-up per form "
                "definition." % (per, (b["check_s"] - a["check_s"]) * 1000
                                 / max(b["forms"] - 1, 1))]
    return "\n".join(out + [""])


def export_section(runs):
    out = ["## 5. consentctl export and verify", "",
           "Proofs written through the core (`bench/gen_proofs.c`: "
           "consent_store_record, one transaction each, 256 lanes, real "
           "chains and MACs; sqlite3), then exported and verified; a store "
           "50 times smaller first, for comparison.", "",
           "| proofs | store | generate (synchronous=OFF) | "
           "`consentctl export` | `consentctl verify` | result |",
           "|---|---|---|---|---|---|"]
    for e in runs:
        n = e["n"]
        out.append("| %d | %.0f MiB | %.1f s, %.0f rows/s | %.1f s, **%.0f "
                   "rows/s** | %.1f s, **%.0f rows/s** | %d lines (exit %d);"
                   " verify exit %d: %s |"
                   % (n, e["db_mib"], e["gen_s"], n / e["gen_s"],
                      e["export_s"], n / e["export_s"], e["verify_s"],
                      n / e["verify_s"], e["lines"], e["export_rc"],
                      e["verify_rc"], e["verify_out"].replace("|", "/")))
    small, big = runs[0], runs[-1]
    slow = (big["n"] / big["export_s"]) / (small["n"] / small["export_s"])
    out += ["", "Export rows/s on the big store relative to the small one: "
            "%.2f." % slow, ""]
    if slow < 0.5:
        out += [
            "Reading: export and verify slow down as the store grows, so "
            "their cost is worse than linear. Profile (`perf record` of "
            "`consentctl export`, 200,000 proofs): 28% in `sqlite3AtoF`, "
            "13% in `sqlite3VdbeExec`: the keyset page query `WHERE "
            "time_us > ? OR (time_us = ? AND seq > ?) ORDER BY time_us, seq "
            "LIMIT 500`, with bound parameters, is planned by sqlite3 as "
            "`SCAN consent_proof USING INDEX consent_proof_time` (the OR "
            "prevents a range seek), so every page walks the index from "
            "its start, comparing each entry with a parameter apr_dbd "
            "bound as text. Fix (in `consent_store.c`, measured on the same "
            "store: 25 ms a page at row 190,000 down to 1.5 ms): `time_us "
            ">= CAST(? AS INTEGER) AND (time_us > CAST(? AS INTEGER) OR "
            "seq > CAST(? AS INTEGER))`, planned as `SEARCH ... "
            "(time_us>?)`; the same for the by-lane and by-subject pages.",
            ""]
    return "\n".join(out)


def guard_missing():
    return "\n".join([
        "## 6. Guard mode on a 50 KB page", "",
        "Not measured: this build has no `ConsentGuard` directive yet. "
        "`bench/measures.py` `guard_section()` measures it as soon as it "
        "exists (same 50 KB page as a file, with and without ConsentGuard "
        "on its location; target <= 10% overhead).", ""])


def guard_failed(err, log):
    return "\n".join([
        "## 6. Guard mode on a 50 KB page", "",
        "Not measured: the run failed (`%s`)." % err.replace("|", "/"),
        "", "```", log, "```", ""])


def guard_section(pairs, size, injected, perf):
    ratios = [g.rate / p.rate for g, p in pairs]
    ratio = statistics.median(ratios)
    out = ["## 6. Guard mode on a 50 KB page", "",
           "The same %d-byte page with a form, as a file, with and without "
           "`ConsentGuard` on its location (token injected in the guarded "
           "page: %s). The guard reads the page with its own HTML5 scanner "
           "(issue 11; before: libxml2's HTML parser, 0.13-0.16)."
           % (size, "yes" if injected else "**no**"), ""]
    out += ratio_rows(pairs, "guarded", "plain")
    out += ["", "Guarded / plain: **%.3f** (median; target >= 0.50, issue "
            "11: %s). Overhead %.1f%% (the first target, <= 10%%: %s)."
            % (ratio, verdict(ratio >= 0.50), (1 - ratio) * 100,
               verdict(1 - ratio <= 0.10)), ""]
    if perf:
        out += ["<details><summary>profile: guarded GET (perf, self time "
                "of the children)</summary>", "", "```", perf, "```",
                "</details>", ""]
    return "\n".join(out)


def top_functions(annotate, lines=12, ours=False):
    """The first functions of a callgrind_annotate listing; ours: only
    mod_consent's own, the frames of Apache's call path left out."""
    body = annotate.split("file:function", 1)[-1].splitlines()
    keep = [l.rstrip() for l in body[2:] if "%)" in l
            and (not ours or ("consent_" in l and "???:" in l))]
    return "\n".join(keep[:lines])


def share(annotate, function):
    """function's inclusive share (%) in a callgrind_annotate listing."""
    m = re.search(r"\(\s*([\d.]+)%\)\s+\?\?\?:" + function + r"\b",
                  annotate)
    return float(m.group(1)) if m else None


def callgrind_reading(ir, profiles):
    get_inc = profiles["GET form"][0]
    post_inc = profiles["POST consent (sqlite3)"][0]
    tok, mac = share(get_inc, "consent_token_issue"), \
        share(get_inc, "consent_hmac")
    rec, pmac = share(post_inc, "consent_store_record"), \
        share(post_inc, "consent_hmac")
    if None in (tok, mac, rec, pmac):
        return []
    return [
        "Reading: issuing the render token is %.0f%% of a form GET's "
        "instructions (%.0f of %.0f per request): its HMAC-SHA256 %.0f%% "
        "(a copy of a context keyed once per secret; OpenSSL 3's "
        "parameter handling, `OSSL_PARAM_locate`, is still visible in the "
        "self-cost list), `RAND_bytes` and base64 the rest. Rendering "
        "(template, escaping) "
        "is under 10%%. A static file costs fewer instructions in Apache "
        "but system calls to open, map and close it, which callgrind does "
        "not count: hence a wall-clock ratio near or above 1 in section 1."
        % (tok, tok / 100 * ir["GET form"], ir["GET form"], mac),
        "",
        "In a POST, storing the proof is %.0f%% of the instructions "
        "(SQL statements through apr_dbd, `apr_psprintf` of every "
        "parameter, the canonical form), HMACs %.0f%% (token check, proof "
        "seal, lane head)." % (rec, pmac), ""]


def callgrind_section(rows, profiles, n):
    ir = dict(rows)
    out = ["## 7. Instructions per request (callgrind)", "",
           "Wall time on a shared 2-CPU machine is noisy; instruction "
           "counts are not. `valgrind --tool=callgrind "
           "--toggle-collect=ap_read_request "
           "--toggle-collect=ap_process_async_request` on `apache2 -X`: "
           "reading the request, the handler, the filters and the access "
           "log; %d requests, the first ones included (one-off costs such as "
           "the first use of OpenSSL's random generator by a thread are "
           "spread over all)." % n, "",
           "| request | instructions / request |", "|---|---|"]
    for name, v in rows:
        out.append("| %s | %.0f |" % (name, v))
    g = ir["GET static copy"] / ir["GET form"]
    p = ir["POST one INSERT (sqlite3)"] / ir["POST consent (sqlite3)"]
    out += ["", "Instruction ratio static/form: %.3f; insert/consent: %.3f."
            % (g, p), ""] + callgrind_reading(ir, profiles)
    for name in ("GET form", "POST consent (sqlite3)"):
        inclusive, exclusive = profiles[name]
        out += ["<details><summary>profile: %s</summary>" % name, "",
                "mod_consent's functions, inclusive (all requests):", "",
                "```", top_functions(inclusive, 14, ours=True), "```", "",
                "Self cost, top functions:", "",
                "```", top_functions(exclusive, 12), "```",
                "</details>", ""]
    return "\n".join(out)


def footer(elapsed):
    return "Whole run: %.0f s.\n" % elapsed
