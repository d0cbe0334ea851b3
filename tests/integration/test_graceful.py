"""Graceful restarts under load, on both MPMs Debian ships: fifty
`apachectl -k graceful` while clients submit forms. No process may die of
a signal (the crash scan of conftest.py reads the error log), no request
may be dropped, and the server answers as before once they are over."""
import threading
import time

import pytest
import requests

import harness
from conftest import get_form, submit, token_of

RESTARTS = 50
CLIENTS = 4

MPMS = {
    "event": """
StartServers 2
ServerLimit 4
ThreadsPerChild 8
MaxRequestWorkers 32
MinSpareThreads 8
MaxSpareThreads 32
""",
    "prefork": """
StartServers 4
MinSpareServers 2
MaxSpareServers 8
MaxRequestWorkers 16
""",
}


class Clients:
    """CLIENTS threads, each submitting forms one after the other until
    told to stop: a bounded load."""

    def __init__(self, server):
        self.server = server
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses = {}
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i,))
                        for i in range(CLIENTS)]

    def note(self, status=None, error=None):
        with self.lock:
            if error:
                self.errors.append(error)
            else:
                self.statuses[status] = self.statuses.get(status, 0) + 1

    def run(self, n):
        url = self.server.url("/newsletter")
        s = requests.Session()
        s.headers["Connection"] = "close"
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                r = s.get(url, timeout=30)
                if r.status_code != 200:
                    self.note(("GET", r.status_code))
                    continue
                r = s.post(url, timeout=30, allow_redirects=False, data={
                    "email": "c%d-%d@example.org" % (n, i),
                    "consent": "newsletter",
                    "consent_token": token_of(r.text)})
                self.note(("POST", r.status_code))
            except requests.RequestException as e:
                self.note(error=repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


@pytest.mark.parametrize("mpm", sorted(MPMS))
def test_fifty_graceful_restarts_under_load(fresh_apache, mpm):
    server = fresh_apache(mpm=mpm, extra=MPMS[mpm]).start(single=False)
    with Clients(server) as clients:
        for _ in range(RESTARTS):
            server.graceful()
    assert server.proc.poll() is None, "the parent is gone"
    assert clients.errors == [], clients.errors[:5]
    assert clients.statuses.get(("POST", 200)), clients.statuses
    # An honest 503 while a new generation finds the sqlite3 file locked
    # is issue 10 item 8's (false alarms at graceful); a dropped request,
    # a 500 or a crash is this test's.
    assert set(clients.statuses) <= {("POST", 200), ("POST", 503),
                                     ("GET", 503)}, clients.statuses
    # the last generation serves as the first did (once a store found
    # locked at its start is back: item 8's 503, which passes by itself)
    deadline = time.time() + 30
    while requests.get(server.url("/newsletter"), timeout=30).status_code \
            == 503 and time.time() < deadline:
        time.sleep(0.5)
    _, token = get_form(server)
    r = submit(server, {"email": "after@example.org",
                        "consent": "newsletter", "consent_token": token})
    assert r.status_code == 200, r.text[:500]
    assert server.error_log().count(server.GENERATION_READY) \
        == RESTARTS + 1
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
