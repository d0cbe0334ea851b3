"""Two Apache nodes sharing one PostgreSQL and the same secret: tokens are
stateless, single use is the database's."""
import harness
from conftest import get_form, submit


def test_two_nodes_share_forms_and_single_use(request, postgres):
    params = postgres.create_db()
    a = harness.ApacheServer(driver="pgsql", params=params)
    request.addfinalizer(a.cleanup)
    b = harness.ApacheServer(driver="pgsql", params=params,
                             key=harness.write_key(
                                 a.dir + "/shared.key"))
    request.addfinalizer(b.cleanup)
    a.key = b.key
    a.start()
    b.start()

    _, token = get_form(a)
    data = {"email": "node@example.org", "consent": "partners",
            "consent_token": token}
    r = submit(b, data)                       # rendered by a, kept by b
    assert r.status_code == 200, r.text
    assert submit(a, data).status_code == 409
    assert submit(b, data).status_code == 409

    _, token = get_form(b)
    r = submit(a, {"email": "node2@example.org", "consent_token": token})
    assert r.status_code == 200
    proofs = harness.export(a)
    assert len(proofs) == 2
    p = harness.verify(a)
    assert p.returncode == 0, p.stdout + p.stderr
