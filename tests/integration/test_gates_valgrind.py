"""Memory gate: Debian's apache2 with the module runs under valgrind
memcheck for several hundred requests of every kind the HTTP table lists,
then stops cleanly (pools destroyed, as at every graceful restart). The
gate fails on any memcheck error, on any "definitely lost" block and on a
process killed by a signal: valgrind.supp (next to this file) silences
only what is not mod_consent's, each entry with the reason.

It runs twice: prefork with -X (one process, every pool destroyed at
exit, so module cleanups run under memcheck), and event as a parent with
its child (the way event serves), stopped by graceful-stop. Not event
with -X: that exit is unsound in httpd 2.4.71 itself (issue 10, item 2).
Memcheck's "Invalid read of size 8" then SIGSEGV at apache2+0x714A0
(valgrind maps the PIE at 0x108000, so 0x1794A0) is fdqueue's
queue_info_cleanup popping its list of recycled transaction pools,
called from apr_pool_destroy x3 from apache2+0x868B9, ap_terminate: the
atexit() handler unixd.c registers only in one-process mode. Per the
disassembly of mod_mpm_event.so, that queue lives in a pool tagged
"mpm_runtime", a child of pconf created after pchild; clean_child_exit()
destroys pchild but never it. Each transaction pool is also a child of
pconf, with its own allocator (mmap'd blocks), created later, and the
list's nodes live inside those pools; so when ap_terminate destroys
pconf, the transaction pools go first and the cleanup then reads a node
in an unmapped block ("not stack'd, malloc'd or (recently) free'd").
A forked child never runs ap_terminate, and prefork has no such queue.
No frame of mod_consent's is on that path and it owns no pool, thread,
signal handler or atexit there. Yet under valgrind here it crashed 2
times in 244 stops of event -X with the module (both at a first stop,
before any 503) and 0 times in 502 stops of the same server without it
(static files, 413 by LimitRequestBody, `Redirect 503`, same stop): a
difference that chance explains only about 2% of the time. Without
valgrind, a loop of the same -X start, a few requests and SIGTERM
crashed 2 times in 400 without the module and 3 in 400 with it: httpd's
own, whatever the module (README, "Known issues").
"""
import glob
import os
import re
import signal
import time

import pytest
import requests

import gates  # noqa: F401  (same helpers as the other gates)
import harness
import tokens
from conftest import token_of

ROUNDS = int(os.environ.get("CONSENT_VALGRIND_ROUNDS", "25"))
SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "valgrind.supp")
# Pages other helpers add; exercised once they answer.
OPTIONAL_GETS = ["/newsletter/withdraw", "/newsletter/unsubscribe"]


def valgrind(log_dir):
    return ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
            "--num-callers=40", "--track-origins=yes", "--vgdb=no",
            "--suppressions=" + SUPP,
            "--log-file=%s/valgrind.%%p.log" % log_dir]


def form(s, server, path="/newsletter", lang="en"):
    r = s.get(server.url(path), headers={"Accept-Language": lang},
              timeout=60)
    assert r.status_code == 200, r.status_code
    return token_of(r.text)


def post(s, server, data, path="/newsletter", expect=200, **kw):
    r = s.post(server.url(path), data=data, allow_redirects=False,
               timeout=60, **kw)
    assert r.status_code == expect, (r.status_code, expect, data)
    return r


def forged(token):
    """The token with one character of its MAC changed: t[:-2] + "AA"
    was the token itself whenever it already ended in AA (1 round in
    ~256), and the gate then failed on a 409."""
    i = len(token) - 10
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


def one_round(s, server, optional):
    """One request of every kind; returns how many were sent."""
    key = tokens.key_bytes(server.key)
    for lang in ("en", "fr", "de"):
        form(s, server, lang=lang)
    assert s.head(server.url("/newsletter"), timeout=60).status_code == 200
    t = form(s, server)
    post(s, server, {"email": "a@example.org", "consent": "newsletter",
                     "consent_token": t})
    post(s, server, {"email": "a@example.org", "consent_token": t},
         expect=409)
    post(s, server, {"email": "b@example.org",
                     "consent_token": form(s, server, "/thanks-form")},
         "/thanks-form", expect=303)
    post(s, server, {"email": "not an address", "consent": "newsletter",
                     "consent_token": form(s, server, lang="fr")},
         expect=400)
    post(s, server, {"email": "a@example.org", "consent": "everything",
                     "consent_token": form(s, server)}, expect=400)
    post(s, server, {"email": "a@example.org"}, expect=403)
    post(s, server, {"email": "a@example.org",
                     "consent_token": forged(t)}, expect=403)
    post(s, server, {"email": "a@example.org", "consent_token":
                     tokens.reissue(form(s, server), key, issued=1)},
         expect=403)
    post(s, server, {"email": "a@example.org", "consent_token":
                     tokens.reissue(form(s, server), key, defaults="10")},
         expect=422)
    post(s, server, {"email": "x" * 4000,
                     "consent_token": form(s, server, "/small")},
         "/small", expect=413)
    post(s, server, '{"email": "a@example.org"}', expect=415,
         headers={"Content-Type": "application/json"})
    assert s.put(server.url("/newsletter"), timeout=60).status_code == 405
    assert s.get(server.url("/newsletter/nothing"),
                 timeout=60).status_code == 404
    for path in optional:
        s.get(server.url(path), timeout=60)
    return 19 + len(optional)


def check_logs(log_dir, processes):
    """`processes`: how many valgrind logs the runs must have left (one
    per process), so a child that never ran under memcheck fails too."""
    logs = glob.glob(os.path.join(log_dir, "valgrind.*.log"))
    assert len(logs) >= processes, (processes, logs)
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        summary = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
        assert summary, "valgrind did not finish:\n" + text[-3000:]
        # a crash at exit (issue 10: SIGSEGV in apr_pool_destroy from the
        # exit handlers) counts even where memcheck saw no error before it
        assert "Process terminating with default action" not in text, \
            text[-20000:]
        assert summary[-1] == "0", text[-20000:]
        lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
        assert not lost or lost.group(1) == "0", text[-20000:]


# one child with every thread, so one valgrind does the child's work
EVENT_ONE_CHILD = """\
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 1
MaxSpareThreads 50
"""
# (MPM, -X, extra configuration): see the module docstring for why
# event runs with its parent
MODES = {"prefork-X": ("prefork", True, ""),
         "event-child": ("event", False, EVENT_ONE_CHILD)}


@pytest.fixture(params=sorted(MODES))
def server(request, tmp_path):
    mpm, single, extra = MODES[request.param]
    s = harness.ApacheServer(mpm=mpm, extra=extra, forms=[
        ("/newsletter", harness.EXAMPLE, ""),
        ("/thanks-form", harness.EXAMPLE, "    ConsentSuccessURL /thanks"),
        ("/small", harness.EXAMPLE, "    ConsentMaxBody 2048"),
    ])
    s.single = single
    yield s
    s.cleanup()


def start(server, logs):
    server.start(wrapper=valgrind(logs), single=server.single)


# How long a process may take to exit under memcheck: pools destroyed,
# then the leak check of the whole heap (a few seconds here).
EXIT_SECONDS = 300


def stop(server):
    """-X: SIGTERM (apachectl stop). Parent and child: graceful-stop
    (SIGWINCH), for which the parent waits as long as its child takes.
    Either way the process gets EXIT_SECONDS to write its report (the
    harness's own stop would SIGKILL it at 30 s and the report would be
    cut), a process still there then fails the test as hung, and an exit
    by a signal fails it too (harness.ApacheServer.stop)."""
    proc = server.proc
    if proc and proc.poll() is None:
        began = time.monotonic()
        if server.single:
            proc.send_signal(signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGWINCH)
        if not server.wait_exit(EXIT_SECONDS):
            server.stop()
            pytest.fail("apache2 under valgrind did not exit within %d s "
                        "of its stop signal" % EXIT_SECONDS)
        print("apache2 under valgrind exited %.1f s after its stop signal"
              % (time.monotonic() - began))
    server.stop()


def test_every_kind_of_request_under_valgrind(server, tmp_path):
    logs = str(tmp_path)
    os.chmod(logs, 0o777)
    start(server, logs)
    sent = 0
    try:
        with requests.Session() as s:
            optional = [p for p in OPTIONAL_GETS
                        if s.get(server.url(p), timeout=60).status_code
                        != 404]
            for _ in range(ROUNDS):
                sent += one_round(s, server, optional)
            # forms shown while the store worked, submitted once it is gone
            spare = [token_of(s.get(server.url("/newsletter"),
                                    timeout=60).text)
                     for _ in range(ROUNDS)]
    finally:
        stop(server)
    # the store going away: 503, nothing half-written
    os.chmod(server.params, 0)
    start(server, logs)
    try:
        with requests.Session() as s:
            for token in spare:
                post(s, server, {"email": "a@example.org",
                                 "consent_token": token}, expect=503)
                # and no form is offered that could not be kept
                r = s.get(server.url("/newsletter"), timeout=60)
                assert r.status_code == 503, r.status_code
                sent += 2
    finally:
        stop(server)
        os.chmod(server.params, 0o644)
    assert sent >= 300 or ROUNDS < 15
    # two starts, each one process (-X) or a parent and its child
    check_logs(logs, 2 if server.single else 4)
