"""Tenancy at scale (issue 12): N name-based virtual hosts on one Apache,
each with a form definition of its own, all on the server-wide store.

For N in BENCH_VHOSTS (default 1,100,1000): `apache2 -t` wall time, then a
real start with one child (event MPM, 1 x 16 threads); after one GET to
the first and the last vhost: the child's VmRSS and open file descriptors,
the parent's VmRSS, and the warnings the error log holds. Prints a
Markdown table and the per-vhost cost between the smallest and largest N.

    /usr/bin/python3 bench/vhosts.py            # from the top of the tree

Run by hand (not part of bench/run: it takes a minute and measures memory,
not speed); figures go to bench/RESULTS.md, "Tenancy".
"""
import os
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import harness  # noqa: E402

MPM = """
StartServers 1
ServerLimit 1
ThreadsPerChild 16
ThreadLimit 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
LogLevel warn
"""

VHOST = """<VirtualHost 127.0.0.1:{port}>
    ServerName s{i}.test
    ConsentTemplateDir {templates}
    <Location /newsletter>
        SetHandler consent-form
        ConsentForm {form}
    </Location>
</VirtualHost>
"""


BARE = """<VirtualHost 127.0.0.1:{port}>
    ServerName s{i}.test
</VirtualHost>
"""


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def definitions(directory, n):
    """n files, each its own definition; BENCH_SHARED=1: one, shared by
    every vhost (what the definitions themselves cost)."""
    with open(harness.EXAMPLE) as f:
        text = f.read()
    os.makedirs(directory, exist_ok=True)
    paths = []
    if os.environ.get("BENCH_SHARED") == "1":
        return [harness.EXAMPLE] * n
    for i in range(n):
        path = os.path.join(directory, "s%d.xml" % i)
        with open(path, "w") as f:
            # a definition of its own: another id, another controller
            f.write(text.replace('id="newsletter" version',
                                 'id="s%d" version' % i)
                        .replace("Example SAS", "Customer %d SAS" % i))
        paths.append(path)
    return paths


def measure(n):
    server = harness.ApacheServer(forms=[])
    forms = definitions(os.path.join(server.dir, "forms"), n)
    if os.environ.get("BENCH_NO_FORM") == "1":     # Apache's own cost
        forms = [None] * n
    server.extra = MPM + "".join(
        (VHOST if form else BARE).format(port=server.port, i=i, form=form,
                                         templates=harness.TEMPLATES)
        for i, form in enumerate(forms))
    try:
        t0 = time.time()
        rc, out = server.check_config()
        check = time.time() - t0
        if rc != 0:
            raise RuntimeError("apache2 -t with %d vhosts: %s" % (n, out))
        server.start(single=False)
        child = None
        for _ in range(100):
            kids = server.children()
            if kids:
                child = kids[0]
                break
            time.sleep(0.05)
        statuses = set()
        for i in (0, n - 1):
            r = requests.get(server.url("/newsletter"), timeout=30,
                             headers={"Host": "s%d.test" % i})
            statuses.add(r.status_code)
        time.sleep(0.3)
        log = server.error_log()
        return {"vhosts": n, "check_s": check,
                "parent_kib": rss_kib(server.proc.pid),
                "child_kib": rss_kib(child), "child_fds": fds(child),
                "statuses": sorted(statuses),
                "warnings": sum(1 for line in log.splitlines()
                                if ":warn]" in line or ":error]" in line
                                or ":emerg]" in line)}
    finally:
        server.stop()
        server.cleanup()


def main():
    counts = [int(x) for x in
              os.environ.get("BENCH_VHOSTS", "1,100,1000").split(",")]
    rows = [measure(n) for n in counts]
    print("| vhosts | apache2 -t | parent RSS | child RSS | child fds | "
          "GET status | warnings in the log |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.2f s | %d KiB | %d KiB | %d | %s | %d |" % (
            r["vhosts"], r["check_s"], r["parent_kib"], r["child_kib"],
            r["child_fds"], ",".join(map(str, r["statuses"])),
            r["warnings"]))
    lo, hi = rows[0], rows[-1]
    if hi["vhosts"] > lo["vhosts"]:
        per = (hi["child_kib"] - lo["child_kib"]) / (hi["vhosts"]
                                                     - lo["vhosts"])
        print("\nChild RSS per vhost with its own definition, %d -> %d "
              "vhosts: %.1f KiB." % (lo["vhosts"], hi["vhosts"], per))


if __name__ == "__main__":
    main()
