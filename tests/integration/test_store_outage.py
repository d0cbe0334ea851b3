"""PostgreSQL restarted or stopped under a running Apache: no child dies,
submissions answer 503 with Retry-After while the store is away, and the
same Apache serves again by itself once it is back (issue 10, item 1).

apr-util 1.6's pgsql driver dereferences a NULL pointer when BEGIN fails
on a dead connection (apr_dbd_transaction_start): a crash the client may
never see, so the error log is read too."""
import pytest
import requests

import harness
from conftest import get_form, submit, token_of

EVENT = """
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
"""
PREFORK = """
StartServers 2
MinSpareServers 2
MaxSpareServers 3
MaxRequestWorkers 3
"""
CRASH_SIGNS = ("exit signal", "Segmentation fault", "AH00051", "AH00052")


class Server(harness.ApacheServer):
    """ApacheServer on the MPM asked for."""

    def __init__(self, mpm, **kw):
        super().__init__(extra=EVENT if mpm == "event" else PREFORK, **kw)
        self.mpm = mpm

    def config_text(self):
        text = super().config_text()
        if self.mpm == "prefork":
            text = text.replace("mpm_event_module", "mpm_prefork_module")
            text = text.replace("mod_mpm_event.so", "mod_mpm_prefork.so")
        return text


@pytest.fixture(scope="module")
def own_postgres():
    """A server of this module's own: it is restarted and stopped here."""
    pg = harness.PostgresServer().start()
    yield pg
    pg.cleanup()


def post(server, token, i):
    return submit(server, {"email": "outage%d@example.org" % i,
                           "consent": "newsletter", "consent_token": token})


def assert_no_crash(server):
    log = server.error_log()
    for sign in CRASH_SIGNS:
        assert sign not in log, "a child crashed:\n" + log[-3000:]


def assert_down_answer(r):
    """While the store is away: refused honestly, never a lost reply."""
    assert r.status_code in (200, 503), (r.status_code, r.text[:300])
    if r.status_code == 503:
        assert r.headers.get("Retry-After"), r.headers
    else:
        assert r.headers.get("Consent-Receipt"), r.headers


def tokens(server, n):
    return [get_form(server)[1] for _ in range(n)]


def recovers(server, start):
    """Submits until 4 answers in a row store a proof: at most 40 tries.
    Returns the statuses seen."""
    seen, in_a_row = [], 0
    for i in range(40):
        page = requests.get(server.url("/newsletter"), timeout=30)
        if page.status_code == 503:     # the form page knows it too
            assert page.headers.get("Retry-After"), page.headers
            r = page
        else:
            assert page.status_code == 200, page.status_code
            r = post(server, token_of(page.text), start + i)
            assert_down_answer(r)
        seen.append(r.status_code)
        in_a_row = in_a_row + 1 if r.status_code == 200 else 0
        if in_a_row == 4:
            return seen
    raise AssertionError("the store did not come back: %s\n%s"
                         % (seen, server.error_log()[-3000:]))


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_postgresql_restart_answers_503_then_recovers(request, mpm,
                                                      own_postgres):
    server = Server(mpm, driver="pgsql", params=own_postgres.create_db())
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    # every child gets a pooled connection first
    for i in range(6):
        assert post(server, get_form(server)[1], i).status_code == 200
    waiting = tokens(server, 8)
    own_postgres.stop("fast")
    own_postgres.start()            # pg_ctl restart -m fast
    for i, token in enumerate(waiting):
        try:
            r = post(server, token, 100 + i)
        except requests.RequestException as e:
            raise AssertionError("no answer (a child died?): %r\n%s"
                                 % (e, server.error_log()[-3000:]))
        assert_down_answer(r)
    recovers(server, 200)
    assert_no_crash(server)
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_postgresql_stopped_answers_503_and_started_recovers(request, mpm,
                                                             own_postgres):
    server = Server(mpm, driver="pgsql", params=own_postgres.create_db())
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    for i in range(6):
        assert post(server, get_form(server)[1], i).status_code == 200
    waiting = tokens(server, 8)
    own_postgres.stop("fast")
    try:
        for i, token in enumerate(waiting):
            try:
                r = post(server, token, 100 + i)
            except requests.RequestException as e:
                raise AssertionError("no answer (a child died?): %r\n%s"
                                     % (e, server.error_log()[-3000:]))
            assert r.status_code == 503, (r.status_code, r.text[:300])
            assert r.headers.get("Retry-After"), r.headers
    finally:
        own_postgres.start()
    recovers(server, 200)
    assert_no_crash(server)
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="module")
def own_mariadb():
    """A server of this module's own: it is stopped and started here."""
    db = harness.MariaDBServer().start()
    yield db
    db.cleanup()


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_mariadb_stopped_answers_503_and_started_recovers(request, mpm,
                                                          own_mariadb):
    server = Server(mpm, driver="mysql", params=own_mariadb.create_db())
    request.addfinalizer(server.cleanup)
    server.start(single=False)
    for i in range(6):
        assert post(server, get_form(server)[1], i).status_code == 200
    waiting = tokens(server, 8)
    own_mariadb.stop()
    try:
        for i, token in enumerate(waiting):
            try:
                r = post(server, token, 100 + i)
            except requests.RequestException as e:
                raise AssertionError("no answer (a child died?): %r\n%s"
                                     % (e, server.error_log()[-3000:]))
            assert r.status_code == 503, (r.status_code, r.text[:300])
            assert r.headers.get("Retry-After"), r.headers
    finally:
        own_mariadb.start()
    recovers(server, 200)
    assert_no_crash(server)
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
