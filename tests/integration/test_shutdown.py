"""`apachectl stop` under load: SIGTERM to the parent of a multi-child
event server while clients submit forms, ten times over. No process may
die of a signal (the error log and the parent's exit status say so), each
child's group-commit writer drains and stops (its "writer stops" line),
no child has to be killed, and every receipt a client was given is in the
store, which verifies.

Graceful restarts under load are test_graceful.py's (fifty per MPM).

One crash is not ours and is told apart by its core, not by its log:
httpd 2.4.71's ungraceful child exit races with itself (README, "Known
issues"): the child's main thread closes a worker's socket while that
worker destroys the socket's pool, SIGSEGV in apr_os_sock_get. It came
once in 200 such stops with the module (none in 200 without it: too
rare to compare) and 4 times in 1200 one-child stops without the module
loaded. A child that dies of a signal is accepted only when gdb
finds exactly that in its core (main thread, apr_os_sock_get called by
mod_mpm_event.so, no frame of mod_consent's on it); any other crash, or
one without a core to read, fails. So the test marks itself
kills_children and reads the log on its own.
"""
import glob
import os
import re
import signal
import subprocess
import time

import pytest

import harness
import load

STOPS = 10
CHILDREN = 3
# httpd's race is rare: more than this in ten stops is something else
MOST_HTTPD_RACES = 2

# A fixed number of children: each one's writer must say it stopped.
MPM = """
StartServers {n}
ServerLimit {n}
ThreadsPerChild 8
MaxRequestWorkers {workers}
MinSpareThreads 1
MaxSpareThreads {workers}
""".format(n=CHILDREN, workers=8 * CHILDREN)

# what a child that did not exit in time makes the parent log
NOT_EXITED = ("AH00045", "AH00046", "still did not exit", "SIGKILL")
SEGV = re.compile(r"AH00051: child pid (\d+) exit signal Segmentation fault")


def stop_once_stored(server):
    """`during` for load.run: SIGTERM as soon as proofs are being stored,
    so that requests are in flight when the children stop."""
    def during(outcome):
        deadline = time.time() + 60
        while not outcome.receipts and time.time() < deadline:
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(60)
    return during


def core_of(server, pid, crashed):
    """The core a crashed child left (kernel.core_pattern "core" or
    core.PID, as Debian has it), or None."""
    cores = os.path.join(server.dir, "cores")
    for name in ("core.%d" % pid, "core"):
        path = os.path.join(cores, name)
        if os.path.exists(path) and (name != "core" or crashed == 1):
            return path
    return None


def httpd_race(core, pid):
    """Whether child `pid` died of httpd's own exit race: its main thread
    (LWP = pid) faulted in apr_os_sock_get called by mod_mpm_event.so,
    with no frame of mod_consent's on that thread."""
    out = subprocess.run(["gdb", "-batch", "-ex", "thread apply all bt",
                          harness.APACHE, core], capture_output=True,
                         text=True, timeout=300).stdout
    if "terminated with signal SIGSEGV" not in out:
        return False
    for thread in out.split("\nThread ")[1:]:
        lines = thread.splitlines()
        if "(LWP %d)" % pid not in lines[0]:
            continue
        frames = [l for l in lines if l.startswith("#")]
        for at, below in zip(frames, frames[1:]):
            if "in apr_os_sock_get ()" in at:
                return ("mod_mpm_event.so" in below
                        and "consent" not in thread)
    return False


def crashes_not_httpds(server, log):
    """The crash lines of `log` that are not httpd's known race, and how
    many children died of that race."""
    lines = harness.crash_lines(log)
    pids = [int(m.group(1)) for m in map(SEGV.search, lines) if m]
    unexplained = [l for l in lines if not SEGV.search(l)]
    races = 0
    for pid in pids:
        core = core_of(server, pid, len(pids))
        if core and httpd_race(core, pid):
            races += 1
        else:
            unexplained.append("child %d: SIGSEGV, %s" % (
                pid, "not httpd's known race" if core else
                "no core to tell whose (kernel.core_pattern?)"))
        if core:
            os.unlink(core)
    return unexplained, races


@pytest.mark.kills_children
def test_ten_sigterm_stops_under_load(request):
    server = harness.ApacheServer(extra=MPM)
    cores = os.path.join(server.dir, "cores")
    os.mkdir(cores)
    os.chmod(cores, 0o777)
    server.extra += "CoreDumpDirectory %s\n" % cores
    request.addfinalizer(server.cleanup)
    receipts, races = [], 0
    for stop in range(STOPS):
        before = len(server.error_log())
        server.start(single=False, wrapper=["prlimit", "--core=unlimited"])
        outcome = load.run(server.url("/newsletter"), connections=3,
                           per_connection=40, pause=0.01,
                           during=stop_once_stored(server))
        log = server.error_log()[before:]
        unexplained, raced = crashes_not_httpds(server, log)
        assert unexplained == [], (stop, unexplained, log[-3000:])
        races += raced
        assert server.proc.returncode == 0, (stop, server.proc.returncode)
        for sign in NOT_EXITED:
            assert sign not in log, (stop, sign, log[-3000:])
        # a child that died of httpd's race never reached its cleanups
        assert log.count("writer stops after") == CHILDREN - raced, (
            stop, log[-3000:])
        assert outcome.receipts, (stop, outcome.statuses, outcome.errors[:3])
        # an answer cut by the stop is a transport error, never a 500
        assert set(outcome.statuses) <= {200}, (stop, outcome.statuses)
        assert outcome.claims_without_receipt == 0
        receipts += outcome.receipts
        server.proc = None
    assert races <= MOST_HTTPD_RACES, races
    assert glob.glob(os.path.join(cores, "*")) == []
    stored = {p["receipt_id"] for p in harness.export(server)}
    missing = set(receipts) - stored
    assert not missing, "receipts handed out but not stored: %s" % missing
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
