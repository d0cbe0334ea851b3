"""Virtual hosts and their stores, as a hosting provider writes them: each
host keeps its proofs in the store mod_dbd gives that host, whatever the
order of the files, and hosts sharing the server-wide store prepare it
once (no AH02653 "conflicting SQL statements" at start, graceful or -t)."""
import os
import types

import pytest

import harness
from conftest import get_form, submit

VHOST = """
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
{store}
    <Location /{name}>
        SetHandler consent-form
        ConsentForm {form}
    </Location>
</VirtualHost>
"""


def vhost(port, name, store=""):
    return VHOST.format(port=port, name=name, store=store,
                        form=harness.EXAMPLE)


def host(port, driver="sqlite3", params=None):
    """What get_form, submit and export need of a host: its URL, its
    store."""
    return types.SimpleNamespace(
        port=port, driver=driver, params=params,
        url=lambda path: "http://127.0.0.1:%d%s" % (port, path))


def consent(site, path, email):
    _, token = get_form(site, path)
    r = submit(site, {"email": email, "consent": "newsletter",
                      "consent_token": token}, path=path)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    return r.headers["Consent-Receipt"]


def receipts(store):
    return {p["receipt_id"] for p in harness.export(store)}


def test_a_vhost_store_before_the_server_wide_one(fresh_apache):
    """A site's own DBDParams, then (a later sites file) the server-wide
    one: the site keeps its proofs in its own store, the main server in
    the server-wide one, each with its schema."""
    server = fresh_apache()
    port = harness.free_port()
    own = os.path.join(server.dir, "site.db")
    server.extra = (vhost(port, "site", 'DBDParams "%s"' % own)
                    + 'DBDParams "%s"\n' % server.params)
    server.start()
    site = host(port, params=own)

    in_site = consent(site, "/site", "site@example.org")
    # the main server's form serves in the site too, on the site's store
    main_in_site = consent(site, "/newsletter", "main-in-site@example.org")
    in_main = consent(server, "/newsletter", "main@example.org")

    assert receipts(site) == {in_site, main_in_site}
    assert receipts(server) == {in_main}
    for store in (site, server):
        p = harness.verify(types.SimpleNamespace(
            driver=store.driver, params=store.params, key=server.key))
        assert p.returncode == 0, p.stdout + p.stderr


def test_a_vhost_driver_of_its_own(fresh_apache, postgres):
    """DBDriver and DBDParams of a site's own, on another kind of store,
    before the server-wide pair."""
    server = fresh_apache()
    port = harness.free_port()
    pg = postgres.create_db()
    server.extra = (vhost(port, "site", 'DBDriver pgsql\n'
                          '    DBDParams "%s"' % pg)
                    + 'DBDriver sqlite3\nDBDParams "%s"\n' % server.params)
    server.start()
    site = host(port, driver="pgsql", params=pg)
    in_site = consent(site, "/site", "site@example.org")
    in_main = consent(server, "/newsletter", "main@example.org")
    assert receipts(site) == {in_site}
    assert receipts(server) == {in_main}


@pytest.fixture
def shared_store_sites(fresh_apache):
    """Three sites without a store of their own, and the main server."""
    server = fresh_apache()
    sites = [host(harness.free_port(), params=server.params)
             for _ in range(3)]
    server.extra = "".join(vhost(s.port, "site%d" % i)
                           for i, s in enumerate(sites))
    return server, sites


def no_conflicts(text):
    lines = [l for l in text.splitlines()
             if "AH02653" in l or "conflicting SQL" in l]
    assert lines == [], "\n".join(lines[:5])


def test_sites_sharing_the_store_prepare_it_once(shared_store_sites):
    server, sites = shared_store_sites
    code, out = server.check_config()
    assert code == 0, out
    no_conflicts(out)
    server.start(single=False)
    server.graceful()
    no_conflicts(server.error_log())
    kept = set()
    for i, site in enumerate(sites):
        kept.add(consent(site, "/site%d" % i, "s%d@example.org" % i))
        kept.add(consent(site, "/newsletter", "n%d@example.org" % i))
    kept.add(consent(server, "/newsletter", "main@example.org"))
    assert receipts(server) == kept
