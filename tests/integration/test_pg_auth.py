"""The PostgreSQL set-up the README shows ("PostgreSQL: who connects"):
no password, peer authentication with a pg_ident.conf map. Start-up
connects as root, Apache's children as its User, consentctl as the
operator: all three are mapped to one database role."""
import os
import shutil
import subprocess
import tempfile

import pytest

import harness
from conftest import get_form, submit

ROLE = "consent"


@pytest.fixture
def peer_postgres():
    if os.geteuid() != 0:
        pytest.fail("peer authentication of root and www-data needs root")
    pg = harness.PostgresServer().start()
    try:
        psql = [os.path.join(harness.PG_BIN, "psql"), "-h", pg.dir, "-p",
                str(pg.port), "-U", pg.user, "-d", "postgres", "-c"]
        pg.run(*(psql + ["CREATE ROLE %s LOGIN" % ROLE]))
        pg.run(*(psql + ["CREATE DATABASE consent OWNER %s" % ROLE]))
        # the README's two files, as they are there
        with open(os.path.join(pg.data, "pg_hba.conf"), "w") as f:
            f.write("local all %s trust\n" % pg.user
                    + "local consent %s peer map=consent\n" % ROLE)
        with open(os.path.join(pg.data, "pg_ident.conf"), "w") as f:
            f.write("consent root %s\n" % ROLE
                    + "consent www-data %s\n" % ROLE)
        pg.run(os.path.join(harness.PG_BIN, "pg_ctl"), "-D", pg.data,
               "reload")
        yield pg
    finally:
        pg.cleanup()


def test_peer_map_serves_root_user_and_operator(peer_postgres, fresh_apache):
    pg = peer_postgres
    params = "host=%s port=%d dbname=consent user=%s" % (pg.dir, pg.port,
                                                         ROLE)
    server = fresh_apache(driver="pgsql", params=params).start()
    assert harness.RUN_USER == "www-data"
    _, token = get_form(server)
    r = submit(server, {"email": "peer@example.org", "consent_token": token,
                        "consent": "newsletter"})
    assert r.status_code == 200, server.error_log()[-2000:]
    receipt = r.headers["Consent-Receipt"]
    # the operator (root here) reads with the same DBDParams
    p = harness.consentctl("-d", "pgsql", "-p", params, "-k", server.key,
                           "verify")
    assert p.returncode == 0, p.stderr
    assert receipt in harness.consentctl("-d", "pgsql", "-p", params,
                                         "export").stdout
    # an OS user the map does not name is refused; it runs a copy of
    # consentctl, as the clone may sit in a directory only root enters
    # (mktemp -d)
    where = tempfile.mkdtemp()
    os.chmod(where, 0o755)
    ctl = shutil.copy(harness.CONSENTCTL, where)
    try:
        p = subprocess.run(["runuser", "-u", "nobody", "--", ctl,
                            "-d", "pgsql", "-p", params, "export"],
                           capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(where)
    assert p.returncode == 4, p.stderr
    assert "Peer authentication failed" in p.stderr, p.stderr
