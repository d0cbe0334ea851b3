"""A bounded concurrent client: each worker gets a form and submits it,
keeping every answer, so a test can compare answers with stored proofs."""
import threading
import time

import requests

from conftest import token_of


class Outcome:
    def __init__(self):
        self.lock = threading.Lock()
        self.receipts = []          # receipt ids the clients were given
        self.statuses = {}          # status -> count
        self.claims_without_receipt = 0
        self.errors = []            # transport errors (connection reset...)

    def add(self, status, receipt):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if receipt:
                self.receipts.append(receipt)
            elif status in (200, 303):
                self.claims_without_receipt += 1


def _worker(url, n, outcome, stop, pause):
    # A connection per request: a server may close an idle keep-alive
    # connection just as a client reuses it, and a POST lost that way
    # says nothing about the module (clients do not retry POSTs).
    s = requests.Session()
    s.headers["Connection"] = "close"
    for i in range(n):
        if stop.is_set():
            return
        try:
            r = s.get(url, timeout=30)
            if r.status_code != 200:
                outcome.add(r.status_code, None)
                continue
            r = s.post(url, timeout=30, allow_redirects=False, data={
                "email": "load%d@example.org" % i, "consent": "newsletter",
                "consent_token": token_of(r.text)})
            outcome.add(r.status_code, r.headers.get("Consent-Receipt"))
        except requests.RequestException as e:
            with outcome.lock:
                outcome.errors.append(repr(e))
            time.sleep(0.05)
        if pause:
            time.sleep(pause)


def run(url, connections=64, per_connection=10, during=None, pause=0.0,
        deadline=120):
    """Runs the load; `during(outcome)` runs meanwhile (a fault)."""
    outcome = Outcome()
    stop = threading.Event()
    threads = [threading.Thread(target=_worker,
                                args=(url, per_connection, outcome, stop,
                                      pause))
               for _ in range(connections)]
    for t in threads:
        t.start()
    if during:
        during(outcome)
    end = time.time() + deadline
    for t in threads:
        t.join(max(0.1, end - time.time()))
    stop.set()
    return outcome
