"""Tenancy (ConsentSite, issue 12): two customers' name-based vhosts on one
Apache, one store, one master secret and the same form id. Everything a
site hands out (render token, withdrawal token, unsubscribe link,
confirmation link) is refused at the other site, proofs say whose they
are, and consentctl sees one site at a time. The same tests run against
nginx's server blocks (consent_site, else the first server_name), but
for the confirmation link and the sites file, which are Apache's."""
import email
import email.policy
import glob
import json
import os
import re
import urllib.parse

import pytest
import requests

import harness
import nginx_harness
import tokens
from conftest import parse, token_of

FROM = "Example SAS <noreply@example.org>"
VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    ConsentTemplateDir {templates}
{site}
    <Location /newsletter>
        SetHandler consent-form
        ConsentForm {form}
        ConsentConfirm email
    </Location>
    <Location /plain>
        SetHandler consent-form
        ConsentForm {form}
    </Location>
</VirtualHost>
"""
NGINX_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        server_name {name};
{site}
        location /plain {{
            consent_form {form};
        }}
    }}
"""
LINK = re.compile(r"(http://\S+/newsletter/confirm\?t=c1\.[A-Za-z0-9_-]+)")


class Site:
    """One vhost of the shared Apache, reached by its Host header."""

    def __init__(self, server, name):
        self.server, self.name = server, name

    def url(self, path):
        return self.server.url(path)

    def get(self, path, **kw):
        return requests.get(self.url(path), headers={"Host": self.name},
                            timeout=10, allow_redirects=False, **kw)

    def post(self, path, data):
        return requests.post(self.url(path), data=data, timeout=30,
                             headers={"Host": self.name},
                             allow_redirects=False)

    def token(self, path="/plain"):
        r = self.get(path)
        assert r.status_code == 200, r.text
        return token_of(r.text)


@pytest.fixture(scope="module")
def apache_hosting():
    d = harness.make_workdir()
    box = os.path.join(d, "outbox")
    os.mkdir(box)
    harness.give_to_run_user(box)
    server = harness.ApacheServer(workdir=d, forms=[])
    server.extra = (
        'ConsentMailFrom "%s"\n' % FROM
        + "ConsentMailCommand \"/bin/sh -c 'cat > $(mktemp %s/msg.XXXXXX)'"
          "\"\n" % box
        + VHOST.format(port=server.port, name="E.test", site="",
                       form=harness.EXAMPLE, templates=harness.TEMPLATES)
        + VHOST.format(port=server.port, name="f.test", site="",
                       form=harness.EXAMPLE, templates=harness.TEMPLATES)
        + VHOST.format(port=server.port, name="www.g.test",
                       site="    ConsentSite customer-g",
                       form=harness.EXAMPLE, templates=harness.TEMPLATES))
    server.outbox = box
    server.start()
    yield server
    server.stop()
    server.cleanup()


@pytest.fixture(scope="module")
def nginx_hosting():
    server = nginx_harness.NginxServer(forms=[])
    server.http_extra = "".join(
        NGINX_SERVER.format(port=server.port, name=name, site=site,
                            form=harness.EXAMPLE)
        for name, site in (("E.test", ""), ("f.test", ""),
                           ("www.g.test",
                            "        consent_site customer-g;")))
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(params=["apache", "nginx"])
def hosting(request):
    return request.getfixturevalue(request.param + "_hosting")


def export(server, *site):
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "export", *site)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def consent(site, address, path="/plain"):
    r = site.post(path, {"email": address, "consent": "newsletter",
                         "consent_token": site.token(path)})
    assert r.status_code == 200, r.text
    return r.headers["Consent-Receipt"]


def test_a_render_token_of_one_site_is_403_at_the_other(hosting):
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    token = e.token()
    r = f.post("/plain", {"email": "x@example.org", "consent": "newsletter",
                          "consent_token": token})
    assert r.status_code == 403
    # the same token at its own site is accepted: refused for its site only
    r = e.post("/plain", {"email": "x@example.org", "consent": "newsletter",
                          "consent_token": token})
    assert r.status_code == 200, r.text
    proof = [p for p in export(hosting)
             if p["receipt_id"] == r.headers["Consent-Receipt"]]
    assert proof[0]["site"] == "e.test"     # ServerName E.test, lower-cased


def test_a_withdrawal_token_of_one_site_is_403_at_the_other(hosting):
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    consent(f, "w@example.org")
    token = token_of(e.get("/plain/withdraw").text)
    r = f.post("/plain/withdraw", {"email": "w@example.org",
                                   "withdraw": "newsletter",
                                   "consent_token": token})
    assert r.status_code == 403
    token = token_of(f.get("/plain/withdraw").text)
    r = f.post("/plain/withdraw", {"email": "w@example.org",
                                   "withdraw": "newsletter",
                                   "consent_token": token})
    assert r.status_code in (200, 303), r.text


def unsubscribe_url(*args):
    p = harness.consentctl(*args)
    assert p.returncode == 0, p.stderr
    return urllib.parse.urlsplit(p.stdout.splitlines()[0])


def test_an_unsubscribe_link_of_one_site_is_403_at_the_other(hosting):
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    consent(e, "u@example.org")
    consent(f, "u@example.org")
    link = unsubscribe_url("-k", hosting.key, "unsubscribe-url", "--base",
                           "https://f.test/plain", "--form", "newsletter",
                           "--subject", "u@example.org")
    path = link.path + "?" + link.query
    assert e.post(path, {"List-Unsubscribe": "One-Click"}).status_code \
        == 403
    assert e.get(path).status_code == 403
    assert f.post(path, {"List-Unsubscribe": "One-Click"}).status_code \
        in (200, 303)
    events = [(p["site"], p["event"]) for p in export(hosting)
              if p["subject"] == "u@example.org"]
    assert ("f.test", "unsubscribe") in events
    assert ("e.test", "unsubscribe") not in events


def messages(server):
    out = []
    for path in sorted(glob.glob(os.path.join(server.outbox, "msg.*"))):
        with open(path, "rb") as fh:
            out.append(email.message_from_bytes(
                fh.read(), policy=email.policy.default))
    return out


def test_a_confirmation_link_of_one_site_is_403_at_the_other(
        apache_hosting):
    hosting = apache_hosting
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    before = len(messages(hosting))
    r = e.post("/newsletter", {"email": "c@example.org",
                               "consent": "newsletter",
                               "consent_token": e.token("/newsletter")})
    assert r.status_code == 200, r.text
    msgs = messages(hosting)
    assert len(msgs) == before + 1
    body = msgs[-1].get_body(("plain",)).get_content()
    link = urllib.parse.urlsplit(LINK.search(body).group(1))
    assert link.hostname == "e.test"
    path = link.path + "?" + link.query
    assert f.get(path).status_code == 403
    assert f.post(path, {"confirm": "1"}).status_code == 403
    assert e.post(path, {"confirm": "1"}).status_code == 200
    mine = [(p["site"], p["event"]) for p in export(hosting)
            if p["subject"] == "c@example.org"]
    assert mine == [("e.test", "submission"), ("e.test", "confirmation")]


def test_consent_site_names_the_site_whatever_the_server_name(hosting):
    g = Site(hosting, "www.g.test")
    receipt = consent(g, "g@example.org")
    proof = [p for p in export(hosting) if p["receipt_id"] == receipt]
    assert proof[0]["site"] == "customer-g"
    # its token is no good at e.test either
    r = Site(hosting, "e.test").post(
        "/plain", {"email": "g@example.org", "consent": "newsletter",
                   "consent_token": g.token()})
    assert r.status_code == 403


def test_export_status_suppression_of_one_site(hosting):
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    consent(e, "s@example.org")
    consent(f, "s@example.org")
    link = unsubscribe_url("-k", hosting.key, "unsubscribe-url", "--site",
                           "f.test", "--base", hosting.url("/plain"),
                           "--form", "newsletter", "--subject",
                           "s@example.org")
    assert f.post(link.path + "?" + link.query,
                  {"List-Unsubscribe": "One-Click"}).status_code \
        in (200, 303)
    only_e = export(hosting, "--site", "e.test")
    assert only_e and {p["site"] for p in only_e} == {"e.test"}
    assert len(only_e) < len(export(hosting))
    store = ("-d", hosting.driver, "-p", hosting.params)

    def state(site):
        p = harness.consentctl(*store, "--site", site, "status",
                               "--subject", "s@example.org", "--json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)["purposes"]["newsletter"]["state"]
    assert state("e.test") == "given"
    assert state("f.test") == "withdrawn"

    def suppressed(site):
        p = harness.consentctl(*store, "suppression-list", "--site", site)
        assert p.returncode == 0, p.stderr
        return p.stdout.split()
    assert "s@example.org" in suppressed("f.test")
    assert "s@example.org" not in suppressed("e.test")


def test_site_key_makes_links_for_its_site_only(hosting):
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    consent(e, "k@example.org")
    consent(f, "k@example.org")
    p = harness.consentctl("-k", hosting.key, "site-key", "--site",
                           "f.test")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("mod_consent-site-key-v1 f.test ")
    master = tokens.master_bytes(hosting.key).decode()
    assert master not in p.stdout
    sk = harness.write_key(os.path.join(hosting.dir, "f.key"),
                           p.stdout.encode().rstrip(b"\n"))
    # a customer's key names its site: no other site can be asked for
    bad = harness.consentctl("-k", sk, "unsubscribe-url", "--site",
                             "e.test", "--base", "https://e.test/plain",
                             "--form", "newsletter", "--subject",
                             "k@example.org")
    assert bad.returncode == 2 and "site f.test" in bad.stderr
    link = unsubscribe_url("-k", sk, "unsubscribe-url", "--base",
                           hosting.url("/plain"), "--form", "newsletter",
                           "--subject", "k@example.org")
    path = link.path + "?" + link.query
    assert e.post(path, {"List-Unsubscribe": "One-Click"}).status_code \
        == 403
    assert f.post(path, {"List-Unsubscribe": "One-Click"}).status_code \
        in (200, 303)
    # the site key is the key the module derives: its tokens' key id
    fid = tokens.decode(f.token())["key_id"]
    assert fid == tokens.hashlib.sha256(
        tokens.site_key(tokens.master_bytes(hosting.key), "f.test")
    ).digest()[:8]
    # and it cannot pass for a master: proofs stay sealed by the master
    v = harness.consentctl("-d", hosting.driver, "-p", hosting.params,
                           "-k", sk, "verify")
    assert v.returncode == 3, v.stdout + v.stderr


def test_verify_of_one_site(hosting):
    consent(Site(hosting, "e.test"), "v@example.org")
    p = harness.consentctl("-d", hosting.driver, "-p", hosting.params,
                           "-k", hosting.key, "--site", "e.test", "verify")
    assert p.returncode == 0, p.stdout + p.stderr
    n = len(export(hosting, "--site", "e.test"))
    assert "site e.test: %d proofs, verified with the whole store" % n \
        in p.stdout


def test_site_key_refuses_bad_names_and_site_keys(hosting):
    p = harness.consentctl("-k", hosting.key, "site-key", "--site",
                           "E.test")
    assert p.returncode == 2 and "lower-case" in p.stderr
    p = harness.consentctl("-k", hosting.key, "site-key")
    assert p.returncode == 2


def test_the_notice_names_the_site(hosting):
    """The same definition at two sites: two notices, each naming its site
    (notice format 2); stored once per digest like any notice."""
    import sqlite3
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    re_, rf = consent(e, "n@example.org"), consent(f, "n@example.org")
    by = {p["receipt_id"]: p for p in export(hosting)}
    de, df = by[re_]["notice_sha256"], by[rf]["notice_sha256"]
    assert de != df
    assert tokens.decode(e.token())["notice"].hex() == de
    db = sqlite3.connect(hosting.params)
    try:
        text = {h: db.execute("SELECT text FROM consent_notice WHERE "
                              "sha256 = ?", (h,)).fetchone()[0]
                for h in (de, df)}
    finally:
        db.close()
    assert text[de].startswith("notice-format: 2\n")
    assert "\nsite: e.test\n" in text[de]
    assert "\nsite: f.test\n" in text[df]
    assert text[de].replace("e.test", "f.test") == text[df]


def test_consentctl_finds_a_site_in_the_sites_file(apache_hosting):
    """Apache writes which site uses which store and secrets (no secret
    in it): consentctl --site needs no -d, -p or -k."""
    hosting = apache_hosting
    sites = os.path.join(hosting.dir, "mod_consent-sites")
    with open(sites) as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("# mod_consent sites 1")
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[1:]}
    assert rows["e.test"] == ["sqlite3", hosting.params, hosting.key]
    assert "customer-g" in rows and "f.test" in rows
    assert tokens.master_bytes(hosting.key).decode() not in "\n".join(lines)
    f = Site(hosting, "f.test")
    consent(f, "file@example.org")
    p = harness.consentctl("--sites", sites, "--site", "f.test", "export")
    assert p.returncode == 0, p.stderr
    got = [json.loads(line) for line in p.stdout.splitlines()]
    assert got and {g["site"] for g in got} == {"f.test"}
    p = harness.consentctl("--sites", sites, "--site", "f.test", "verify")
    assert p.returncode == 0, p.stdout + p.stderr
    link = unsubscribe_url("--sites", sites, "--site", "f.test",
                           "unsubscribe-url", "--base",
                           hosting.url("/plain"), "--form", "newsletter",
                           "--subject", "file@example.org")
    path = link.path + "?" + link.query
    assert Site(hosting, "e.test").post(
        path, {"List-Unsubscribe": "One-Click"}).status_code == 403
    assert f.post(path, {"List-Unsubscribe": "One-Click"}).status_code \
        in (200, 303)
    p = harness.consentctl("--sites", sites, "--site", "nobody.test",
                           "export")
    assert p.returncode == 2 and "not in" in p.stderr


def test_a_mysql_store_of_version_1_gains_the_site_column(mariadb):
    """The schema migration on MySQL/MariaDB (sqlite3 and PostgreSQL: the
    store's unit tests): a store as the previous version left it (no site
    column, version 1) is migrated at start; its proofs keep site ''."""
    from conftest import get_form, submit
    params = mariadb.create_db()
    db = params.rsplit("dbname=", 1)[1].split()[0]
    server = harness.ApacheServer(driver="mysql", params=params)
    try:
        server.start()

        def one(address):
            _, token = get_form(server)
            r = submit(server, {"email": address, "consent": "newsletter",
                                "consent_token": token})
            assert r.status_code == 200, r.text
        one("old@example.org")
        server.stop()
        mariadb.sql("ALTER TABLE consent_proof DROP COLUMN site", db=db)
        # schema 3 added erasure: version 1 had none
        mariadb.sql("ALTER TABLE consent_proof DROP COLUMN erasure", db=db)
        mariadb.sql("DELETE FROM consent_schema_version", db=db)
        mariadb.sql("INSERT INTO consent_schema_version VALUES (1)", db=db)
        server.start()
        one("new@example.org")
        rows = mariadb.sql("SELECT subject, site FROM consent_proof "
                           "ORDER BY seq", db=db).stdout.splitlines()
        assert rows == ["old@example.org\t",
                        "new@example.org\t" + tokens.HARNESS_SITE]
        assert mariadb.sql("SELECT MAX(version) FROM consent_schema_version",
                           db=db).stdout.strip() == "3"
    finally:
        server.stop()
        server.cleanup()


def test_rotation_keeps_site_links_working():
    """New master first, old one listed after it: links and site keys made
    from the old master still open at their site, and only there; new
    tokens are signed with the new master's derivation."""
    d = harness.make_workdir()
    old = harness.write_key(os.path.join(d, "old.key"), b"o" * 48)
    server = harness.ApacheServer(workdir=d, forms=[])
    server.extra = (
        "ConsentSecretFile %s\n" % old
        + 'ConsentMailFrom "%s"\n' % FROM
        + VHOST.format(port=server.port, name="e.test", site="",
                       form=harness.EXAMPLE, templates=harness.TEMPLATES)
        + VHOST.format(port=server.port, name="f.test", site="",
                       form=harness.EXAMPLE, templates=harness.TEMPLATES))
    try:
        server.start()
        e, f = Site(server, "e.test"), Site(server, "f.test")
        consent(e, "rot@example.org")
        consent(f, "rot@example.org")
        p = harness.consentctl("-k", old, "site-key", "--site", "f.test")
        assert p.returncode == 0, p.stderr
        sk = harness.write_key(os.path.join(d, "f-old.key"),
                               p.stdout.encode().rstrip(b"\n"))
        for key in (old, sk):
            link = unsubscribe_url("-k", key, "unsubscribe-url", "--site",
                                   "f.test", "--base", server.url("/plain"),
                                   "--form", "newsletter", "--subject",
                                   "rot@example.org")
            path = link.path + "?" + link.query
            assert e.post(path, {"List-Unsubscribe": "One-Click"}) \
                .status_code == 403
            assert f.post(path, {"List-Unsubscribe": "One-Click"}) \
                .status_code in (200, 303)
        new_id = tokens.hashlib.sha256(tokens.key_bytes(
            server.key, "f.test")).digest()[:8]
        assert tokens.decode(f.token())["key_id"] == new_id
    finally:
        server.stop()
        server.cleanup()


def test_a_person_state_is_per_site(hosting):
    """Withdrawn at e.test, still given at f.test: an unsubscribe link of
    f.test must withdraw at f.test, not find 'nothing left to withdraw'
    in e.test's proofs."""
    e, f = Site(hosting, "e.test"), Site(hosting, "f.test")
    consent(f, "both@example.org")
    consent(e, "both@example.org")
    for site in (e, f):
        link = unsubscribe_url("-k", hosting.key, "unsubscribe-url",
                               "--site", site.name, "--base",
                               hosting.url("/plain"), "--form",
                               "newsletter", "--subject",
                               "both@example.org")
        assert site.post(link.path + "?" + link.query,
                         {"List-Unsubscribe": "One-Click"}).status_code \
            in (200, 303)
    events = [(p["site"], p["event"]) for p in export(hosting)
              if p["subject"] == "both@example.org"]
    assert ("f.test", "unsubscribe") in events
    p = harness.consentctl("-d", hosting.driver, "-p", hosting.params,
                           "--site", "f.test", "status", "--subject",
                           "both@example.org", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["purposes"]["newsletter"]["state"] \
        == "withdrawn"


def test_the_sites_file_holds_no_password(postgres):
    """A store's password stays in Apache's configuration: the sites file
    names the store without it."""
    params = postgres.create_db() + " password=s3cr3t-pw"
    server = harness.ApacheServer(driver="pgsql", params=params)
    try:
        server.start()
        with open(os.path.join(server.dir, "mod_consent-sites")) as fh:
            text = fh.read()
        assert "s3cr3t" not in text and "password" not in text
        row = [line.split("\t") for line in text.splitlines()
               if line.startswith(tokens.HARNESS_SITE + "\t")][0]
        assert row[1:] == ["pgsql", params.replace(" password=s3cr3t-pw",
                                                   ""), server.key]
        # and consentctl finds the store by it (trust authentication here)
        p = harness.consentctl("--sites", os.path.join(server.dir,
                                                       "mod_consent-sites"),
                               "--site", tokens.HARNESS_SITE, "verify")
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        server.stop()
        server.cleanup()


def test_a_site_key_is_not_a_master_for_apache():
    """A customer's key given to ConsentSecretFile by mistake would be
    derived again and sign nothing any link opens with: refused."""
    d = harness.make_workdir()
    master = harness.write_key(os.path.join(d, "m.key"))
    p = harness.consentctl("-k", master, "site-key", "--site", "127.0.0.1")
    assert p.returncode == 0, p.stderr
    sk = harness.write_key(os.path.join(d, "site.key"),
                           p.stdout.encode().rstrip(b"\n"))
    server = harness.ApacheServer(workdir=d, key=sk)
    try:
        rc, out = server.check_config()
        assert rc != 0
        assert "is a site's key (consentctl site-key)" in out
    finally:
        server.cleanup()


def test_a_server_name_that_makes_no_site_stops_apache():
    """As nginx's server_name (test_nginx.py): a vhost whose ServerName
    makes no site name (httpd refuses a wildcard itself; a name that ends
    with a dot) has no site until ConsentSite names one."""
    server = harness.ApacheServer(forms=[])
    vhost = VHOST.format(port=server.port, name="e.test.", site="{site}",
                         form=harness.EXAMPLE, templates=harness.TEMPLATES)
    try:
        server.extra = vhost.format(site="")
        rc, out = server.check_config()
        assert rc != 0, out
        assert ('the ServerName "e.test." does not make a site name (site '
                'e.test. ends with a dot): set ConsentSite') in out, out
        server.extra = ('ConsentMailFrom "%s"\n' % FROM
                        + vhost.format(site="    ConsentSite e-test"))
        rc, out = server.check_config()
        assert rc == 0, out
    finally:
        server.cleanup()
