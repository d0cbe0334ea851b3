"""Under concurrent load and faults, no answer claims a proof the store
does not have, and the store stays consistent and verifiable."""
import os
import signal
import subprocess
import threading
import time

import pytest
import requests

import harness
import load
from conftest import STORES, get_form, store_params, submit

# Twice as many threads as connections, all started at once: event MPM
# closes idle keep-alive connections when no worker is free, and a POST
# sent on such a connection is lost (clients do not retry POSTs).
MPM = """
StartServers 4
ServerLimit 4
ThreadsPerChild 32
MaxRequestWorkers 128
MinSpareThreads 96
MaxSpareThreads 128
KeepAliveTimeout 60
DBDMax 16
"""


def notable(server):
    """What the error log says beyond the module's own debug lines."""
    return "\n".join(l for l in server.error_log().splitlines()
                     if ":debug]" not in l)[-3000:]


def stored_receipts(server):
    return {p["receipt_id"] for p in harness.export(server)}


def assert_consistent(server, outcome):
    stored = stored_receipts(server)
    missing = set(outcome.receipts) - stored
    assert not missing, "receipts handed out but not stored: %s" % missing
    assert outcome.claims_without_receipt == 0
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
    return stored


@pytest.mark.parametrize("driver", STORES)
def test_concurrent_load_stores_exactly_what_it_answers(request, driver):
    driver, params = store_params(request, driver)
    server = harness.ApacheServer(driver=driver, params=params, extra=MPM)
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    outcome = load.run(server.url("/newsletter"), connections=64,
                       per_connection=8)
    assert outcome.errors == [], (outcome.errors[:3], notable(server))
    assert outcome.statuses == {200: 64 * 8}, outcome.statuses
    stored = assert_consistent(server, outcome)
    assert len(stored) == 64 * 8


def test_kill_9_a_child_under_load_loses_no_receipt(request):
    server = harness.ApacheServer(extra=MPM)
    request.addfinalizer(server.cleanup)
    server.start(single=False)

    def kill_a_child(outcome):
        time.sleep(1.0)
        kids = server.children()
        assert kids, "no child to kill"
        os.kill(kids[0], signal.SIGKILL)

    outcome = load.run(server.url("/newsletter"), connections=32,
                       per_connection=15, during=kill_a_child)
    assert outcome.receipts, outcome.statuses
    server.stop()
    server.start(single=False)          # the store must open cleanly again
    check = subprocess.run(["sqlite3", server.params,
                            "PRAGMA integrity_check"],
                           capture_output=True, text=True)
    assert check.stdout.strip() == "ok", check.stdout + check.stderr
    assert_consistent(server, outcome)


def test_postgresql_stopping_under_load_turns_503_then_recovers(
        request, postgres):
    server = harness.ApacheServer(driver="pgsql",
                                  params=postgres.create_db(), extra=MPM)
    request.addfinalizer(server.cleanup)
    server.start(single=False)

    def stop_database(outcome):
        time.sleep(0.5)
        postgres.stop("immediate")
        time.sleep(2.0)

    try:
        outcome = load.run(server.url("/newsletter"), connections=16,
                           per_connection=20, during=stop_database,
                           pause=0.05)
        assert 503 in outcome.statuses, outcome.statuses
        assert set(outcome.statuses) <= {200, 503}, outcome.statuses
    finally:
        postgres.start()
    # the same Apache, not restarted, serves again once the store is back
    deadline = time.time() + 30
    while True:
        after = load.run(server.url("/newsletter"), connections=2,
                         per_connection=2)
        if after.statuses == {200: 4} or time.time() > deadline:
            break
        time.sleep(1)
    assert after.statuses == {200: 4}, after.statuses
    outcome.receipts += after.receipts
    assert_consistent(server, outcome)


def test_store_down_at_start_up_does_not_stop_apache(request, postgres):
    params = postgres.create_db()
    postgres.stop("fast")
    server = harness.ApacheServer(driver="pgsql", params=params)
    request.addfinalizer(server.cleanup)
    try:
        server.start()                   # starts although the store is down
        out = load.run(server.url("/newsletter"), connections=1,
                       per_connection=1)
        assert out.statuses == {503: 1}, out.statuses
    finally:
        postgres.start()
    time.sleep(6)                        # the retry interval of migration
    deadline = time.time() + 30
    while True:
        out = load.run(server.url("/newsletter"), connections=1,
                       per_connection=1)
        if out.statuses == {200: 1} or time.time() > deadline:
            break
        time.sleep(1)
    assert out.statuses == {200: 1}, (out.statuses, server.error_log()[-2000:])


def test_unreadable_sqlite_store_is_503_then_recovers(fresh_apache):
    server = fresh_apache().start()
    _, token = get_form(server)             # a form shown while all is well
    server.stop()
    os.chmod(server.params, 0)              # as if the disk went away
    server.start()
    try:
        r = submit(server, {"email": "a@example.org",
                            "consent_token": token})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "30"
        assert "Consent-Receipt" not in r.headers
        # once the store has failed, no form is offered that cannot be kept
        r = requests.get(server.url("/newsletter"), timeout=10)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "30"
    finally:
        os.chmod(server.params, 0o644)
    r = submit(server, {"email": "a@example.org", "consent_token": token})
    assert r.status_code == 200             # the same token, kept this time
    out = load.run(server.url("/newsletter"), connections=1,
                   per_connection=2)
    assert out.statuses == {200: 2}, out.statuses
    out.receipts.append(r.headers["Consent-Receipt"])
    assert_consistent(server, out)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to User")
def test_store_directory_not_writable_by_user_is_named_at_start(
        fresh_apache):
    server = fresh_apache()
    locked = os.path.join(server.dir, "root-only")
    os.mkdir(locked, 0o755)                 # root's, not the User's
    server.params = os.path.join(locked, "consent.db")
    server.start()
    assert "not writable by the httpd User" in server.error_log()
    _, token = get_form(server)
    r = submit(server, {"email": "a@example.org", "consent_token": token})
    assert r.status_code == 503             # never a receipt without a row
    assert "Consent-Receipt" not in r.headers
