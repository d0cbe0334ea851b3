"""Group commit (issue 15): proofs that arrive together are written by the
process's one writer in one transaction; each request gets its own
outcome (a token replayed at the same moment fails alone, 409), the chain
verifies, and the writer drains and stops with its child. An nginx
worker has the same writer, fed by its thread pool."""
import re
import threading

import pytest
import requests

import harness
import nginx_harness
from conftest import STORES, get_form, store_params

MPM = """
StartServers 1
ServerLimit 1
ThreadsPerChild 48
MaxRequestWorkers 48
MinSpareThreads 1
MaxSpareThreads 48
"""


def post_together(server, tokens):
    """Posts every (token, email) at once; returns the statuses in order."""
    barrier = threading.Barrier(len(tokens))
    out = [None] * len(tokens)

    def one(i, token):
        s = requests.Session()
        s.headers["Connection"] = "close"
        barrier.wait()
        try:
            r = s.post(server.url("/newsletter"), timeout=60,
                       allow_redirects=False,
                       data={"email": "gc%d@example.org" % i,
                             "consent": "newsletter", "consent_token": token})
            out[i] = (r.status_code, r.headers.get("Consent-Receipt"))
        except requests.RequestException as e:
            out[i] = (repr(e), None)

    threads = [threading.Thread(target=one, args=(i, t))
               for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def replay_rounds(server, rounds=3):
    """Rounds of 16 forms each posted twice at once: one 200 and one 409
    per form; the chain verifies, in one lane (one writer for the one
    serving process). Returns how many posts reached the writer."""
    stored = 0
    for _ in range(rounds):
        tokens = [get_form(server)[1] for _ in range(16)]
        out = post_together(server, tokens + tokens)     # each one twice
        for i in range(16):
            pair = sorted([out[i][0], out[16 + i][0]], key=str)
            assert pair == [200, 409], (i, out[i], out[16 + i])
        stored += 16
    assert len(harness.export(server)) == stored
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 lanes" in p.stdout or "1 lane" in p.stdout, p.stdout
    return rounds * 32


@pytest.mark.parametrize("driver", STORES)
def test_replays_at_the_same_moment_fail_alone(request, driver):
    driver, params = store_params(request, driver)
    server = harness.ApacheServer(driver=driver, params=params, extra=MPM)
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    posts = replay_rounds(server)
    sizes = [int(n) for n in re.findall(r"batch of (\d+) proof",
                                        server.error_log())]
    assert sum(sizes) == posts, sizes
    print("batch sizes:", sorted(sizes, reverse=True)[:10])
    server.stop()
    log = server.error_log()
    assert "writer stops after %d proof(s)" % posts in log, log[-2000:]
    for sign in ("exit signal", "Segmentation fault", "AH00051", "AH00052"):
        assert sign not in log, log[-3000:]


@pytest.mark.parametrize("driver", STORES)
def test_nginx_workers_commit_together_too(request, driver):
    """nginx's pool threads hand their proofs to the worker's writer: the
    same outcomes, and posts that arrive together share commits."""
    driver, params = store_params(request, driver)
    server = nginx_harness.NginxServer(driver=driver, params=params)
    request.addfinalizer(server.cleanup)
    server.start()
    posts = replay_rounds(server)
    server.stop()
    log = server.error_log()
    m = re.search(r"writer stops after (\d+) proof\(s\) in (\d+) "
                  r"commit\(s\), largest batch (\d+)", log)
    assert m, log[-2000:]
    print("commits:", m.group(2), "largest batch:", m.group(3))
    assert int(m.group(1)) == posts
    assert int(m.group(2)) < posts and int(m.group(3)) >= 2, m.group(0)

LOCKUP_MPM = """
StartServers 2
ServerLimit 2
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
KeepAliveTimeout 60
DBDInitSQL "PRAGMA busy_timeout=5000"
"""


def test_admin_busy_timeout_does_not_lock_up_sqlite3(request):
    """What admins set for sqlite3 under mod_dbd once made a threaded
    child stall (threads of one process in write transactions waited on
    each other inside sqlite's busy handler) and ignore SIGTERM."""
    import load
    server = harness.ApacheServer(extra=LOCKUP_MPM)
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    outcome = load.run(server.url("/newsletter"), connections=32,
                       per_connection=12)
    assert outcome.errors == [], outcome.errors[:3]
    assert outcome.statuses == {200: 32 * 12}, outcome.statuses
    # it still answers, and stops when told to
    get_form(server)
    server.proc.send_signal(__import__("signal").SIGTERM)
    server.proc.wait(120)
    log = server.error_log()
    for sign in ("AH00045", "SIGKILL", "still did not exit",
                 "exit signal", "Segmentation fault"):
        assert sign not in log, (sign, log[-3000:])
    assert log.count("writer stops after") == 2, log[-3000:]
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
