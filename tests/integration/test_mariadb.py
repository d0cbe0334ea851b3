"""MySQL/MariaDB: two Apache nodes on one MariaDB, loaded at once from
start-up, so that every child's writer creates its lane at the same time
as the others (under InnoDB's default isolation this deadlocked). Tokens
rendered by one node are kept by the other; a replay at either is 409."""
import threading

import harness
import load
from conftest import get_form, submit

MPM = """
StartServers 2
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 1
MaxSpareThreads 32
"""


def test_two_nodes_on_one_mariadb(request, mariadb):
    params = mariadb.create_db()
    a = harness.ApacheServer(driver="mysql", params=params, extra=MPM)
    request.addfinalizer(a.cleanup)
    b = harness.ApacheServer(driver="mysql", params=params, extra=MPM,
                             key=harness.write_key(a.dir + "/shared.key"))
    request.addfinalizer(b.cleanup)
    a.key = b.key
    a.start(single=False)
    b.start(single=False)
    outcomes = {}

    def hammer(name, server):
        outcomes[name] = load.run(server.url("/newsletter"), connections=16,
                                  per_connection=6)

    threads = [threading.Thread(target=hammer, args=(n, s))
               for n, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for name, o in outcomes.items():
        assert o.errors == [], (name, o.errors[:3])
        assert o.statuses == {200: 96}, (name, o.statuses,
                                         a.error_log()[-2000:],
                                         b.error_log()[-2000:])
    _, token = get_form(a)
    data = {"email": "node@example.org", "consent": "partners",
            "consent_token": token}
    assert submit(b, data).status_code == 200      # rendered by a
    assert submit(a, data).status_code == 409
    assert submit(b, data).status_code == 409
    receipts = {p["receipt_id"] for p in harness.export(a)}
    for o in outcomes.values():
        assert set(o.receipts) <= receipts
    assert len(receipts) == 2 * 96 + 1
    p = harness.verify(a)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "deadlock" not in (a.error_log() + b.error_log()).lower()
