"""Graceful restarts with sqlite3 under a little load raise no false
alarm: no "store unavailable" (CONSENT0021), no mod_dbd "child init
failed" (AH00636), every submission answered 200 (issue 10, item 8)."""
import signal
import threading
import time

import pytest

import harness
import load

MPM = """
StartServers 2
ServerLimit 4
ThreadsPerChild 8
MaxRequestWorkers 16
MinSpareThreads 8
MaxSpareThreads 16
"""


def wait_generations(server, n):
    """Until the error log shows n generations resuming (or 60 s)."""
    end = time.time() + 60
    while time.time() < end:
        if server.error_log().count("resuming normal operations") >= n:
            return
        time.sleep(0.1)
    raise AssertionError("no new generation:\n" + server.error_log()[-2000:])


PREFORK = """
StartServers 3
MinSpareServers 2
MaxSpareServers 4
MaxRequestWorkers 8
"""


class Prefork(harness.ApacheServer):
    def config_text(self):
        return super().config_text().replace(
            "mpm_event_module", "mpm_prefork_module").replace(
            "mod_mpm_event.so", "mod_mpm_prefork.so")


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_ten_gracefuls_with_sqlite3_raise_no_false_alarm(request, mpm):
    server = (harness.ApacheServer(extra=MPM) if mpm == "event"
              else Prefork(extra=PREFORK))
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    outcomes, stop = [], threading.Event()

    def some_load():
        while not stop.is_set():
            outcomes.append(load.run(server.url("/newsletter"),
                                     connections=4, per_connection=5))

    loader = threading.Thread(target=some_load)
    loader.start()
    try:
        for n in range(10):
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGUSR1)     # graceful
            wait_generations(server, n + 2)
    finally:
        stop.set()
        loader.join(120)
    log = server.error_log()
    for alarm in ("CONSENT0021", "AH00636", "exit signal",
                  "Segmentation fault", "database is locked"):
        assert alarm not in log, (alarm, "\n".join(
            l for l in log.splitlines()
            if ":error]" in l or ":crit]" in l or "AH00493" in l)[-3000:])
    statuses = {}
    for o in outcomes:
        for k, v in o.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    assert set(statuses) == {200}, (statuses, "\n".join(
        l for l in log.splitlines() if ":error]" in l)[-3000:])
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
