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


def batch_line(driver, batches):
    """How the writers grouped the proofs (their summaries at exit)."""
    if not batches or not batches.get(driver):
        return []
    proofs = sum(b[0] for b in batches[driver])
    commits = sum(b[1] for b in batches[driver])
    return ["Group commit on %s: %d proofs in %d commits by %d writers "
            "(mean batch %.1f, largest %d)." % (
                driver, proofs, commits, len(batches[driver]),
                proofs / commits if commits else 0.0,
                max(b[2] for b in batches[driver])), ""]


def post_section(by_driver, connections, batches=None):
    out = ["## 2. POST: a stored submission vs one INSERT through mod_dbd",
           "",
           "POST /newsletter (parse, token check, proof with chained MACs, "
           "stored by the process's writer in a group commit, answered "
           "once durable, confirmation page) against POST "
           "/insert (`bench/mod_bench_insert.c`: the body read, one "
           "prepared INSERT of a 21-column row of the same size in a "
           "transaction, through the same mod_dbd pool, same database, "
           "sqlite3 WAL with synchronous=FULL and busy_timeout). "
           "%d connections, each POST with a token of its own."
           % connections, ""]
    for driver, pairs in by_driver:
        ratios = [c.rate / b.rate for c, b in pairs]
        med = statistics.median(ratios)
        short = any(getattr(x, "tokens_short", False)
                    for p in pairs for x in p)
        out += ["### %s" % driver, ""]
        out += ratio_rows(pairs, "consent", "insert")
        out += ["", "Median ratio consent/insert on %s: **%.3f** (target "
                ">= 1.00: %s).%s" % (driver, med, verdict(med >= 1.00),
                                    " Tokens ran out in a run: its rate is "
                                    "understated." if short else ""), ""]
        out += batch_line(driver, batches)
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
