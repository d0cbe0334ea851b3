"""consentctl purge (issue 16, R11 and art. 17): a person's personal data
erased from their proofs by tombstones that keep verify passing, on each
store; a purge event on the record; --dry-run writing nothing;
--inactive-before judged by the latest event; a second run changing
nothing; an objector still suppressed (by hash); and verify still finding
a row blanked by hand, a changed tombstone, a deleted row or purge event."""
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import time

import pytest
import requests

import departures
import harness
from conftest import STORES, get_form, submit, token_of

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}
PERSONAL = ("subject", "ip", "user_agent")
KEPT = ("event", "time", "form_id", "form_version", "language", "regime",
        "notice_sha256", "purposes", "token", "lane", "lane_seq",
        "prev_mac", "mac", "mac_key_id", "site")


@pytest.fixture(scope="module")
def server_kind():
    return "apache"


@pytest.fixture(scope="module", params=STORES)
def server(request, server_kind):
    s = departures.start(request, request.param)
    s.pg = request.getfixturevalue("postgres") \
        if request.param == "pgsql" else None
    s.maria = request.getfixturevalue("mariadb") \
        if request.param == "mysql" else None
    yield s
    s.cleanup()


def raw(server, statement):
    """SQL straight to the store, as an insider with a shell."""
    db = dict(kv.split("=", 1) for kv in server.params.split()) \
        if server.driver != "sqlite3" else None
    if server.driver == "sqlite3":
        p = subprocess.run(["sqlite3", server.params, statement],
                           capture_output=True, text=True, timeout=60)
    elif server.driver == "pgsql":
        p = server.pg.run(os.path.join(harness.PG_BIN, "psql"), "-h",
                          server.pg.dir, "-p", str(server.pg.port), "-U",
                          server.pg.user, "-d", db["dbname"], "-At",
                          "-F", "|", "-c", statement, check=False)
    else:
        p = server.maria.sql(statement, db=db["dbname"], check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def dump(server):
    return "\n".join(raw(server, "SELECT * FROM %s ORDER BY %s" % t)
                     for t in [("consent_proof", "seq"),
                               ("consent_lane", "lane"),
                               ("consent_notice", "sha256"),
                               ("consent_schema_version", "version")])


def consent(server, email, *purposes, ua="purge-test/1"):
    _, token = get_form(server)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in purposes]
    r = submit(server, data, headers={"User-Agent": ua})
    assert r.status_code == 200, r.text
    return r.headers["Consent-Receipt"]


def withdraw(server, email, purpose):
    page = requests.get(server.url("/newsletter/withdraw"), timeout=10)
    r = requests.post(server.url("/newsletter/withdraw"), timeout=30, data=[
        ("email", email), ("withdraw", purpose),
        ("consent_token", token_of(page.text))])
    assert r.status_code == 200, r.text
    return r.headers["Consent-Receipt"]


def unsubscribe(server, email, purpose):
    url = departures.unsubscribe_url(server, email, purposes=[purpose])[0]
    r = requests.post(url, data="List-Unsubscribe=One-Click", timeout=30,
                      headers=ONE_CLICK, allow_redirects=False)
    assert r.status_code == 200, r.text
    return r.headers["Consent-Receipt"]


def ctl(server, *args, key=None):
    return harness.consentctl("-d", server.driver, "-p", server.params,
                              "-k", key or server.key, *args)


def purge(server, *args):
    p = ctl(server, "purge", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def by_receipt(server):
    return {r["receipt_id"]: r for r in harness.export(server)}


def suppressed(server, *args):
    p = ctl(server, "suppression-list", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.split(), p.stderr


def sha(addr):
    return hashlib.sha256(addr.encode()).hexdigest()


def test_purge_subject(server):
    who, other = "erase-me@example.org", "stays@example.org"
    mine = [consent(server, who, "newsletter", "partners"),
            consent(server, who, "newsletter"),
            withdraw(server, who, "partners")]
    kept = consent(server, other, "newsletter", ua="other-agent/2")
    mine.append(unsubscribe(server, who, "newsletter"))
    before = by_receipt(server)
    assert sha(who) in suppressed(server, "--hashed")[0]
    assert who in suppressed(server)[0]

    # --dry-run: said, not done
    snapshot = dump(server)
    out = purge(server, "--dry-run", "--subject", "Erase-Me@Example.org")
    assert out.count("would erase ") == 4, out
    assert "dry run, nothing written" in out
    assert dump(server) == snapshot

    out = purge(server, "--subject", "Erase-Me@Example.org")
    for r in mine:
        assert "erased %s " % r in out, out
    assert "4 proofs erased (2 objections kept as a hash)" in out, out
    after = by_receipt(server)
    assert len(after) == len(before) + 1       # the purge event
    event = [r for r in after.values() if r["event"] == "purge"
             and r["receipt_id"] not in before]
    assert len(event) == 1
    assert event[0]["purposes"] == {r: "erased" for r in mine}
    assert event[0]["subject"] is None and event[0]["ip"] is None
    assert "GDPR art. 17" in event[0]["user_agent"]
    for r in mine:
        # what the controller must still show, unchanged
        assert {k: after[r][k] for k in KEPT} == \
            {k: before[r][k] for k in KEPT}
        assert after[r]["ip"] is None and after[r]["user_agent"] is None
        assert after[r]["erased_by"] == event[0]["receipt_id"]
        assert after[r]["subject"] in (None, "sha256:" + sha(who))
    # the objections keep the hash, the rest nothing at all
    assert [after[r]["subject"] is None for r in mine] == \
        [True, True, False, False]
    assert after[kept] == before[kept]
    # and in the database itself, no trace of the address or the agent
    text = dump(server)
    assert who not in text.lower() and "purge-test/1" not in text
    assert other in text and "other-agent/2" in text
    departures.assert_intact(server)
    assert ctl(server, "status", "--subject", who).stdout == ""

    # the objector is still suppressed, by the hash of the address
    hashed, _ = suppressed(server, "--hashed")
    assert sha(who) in hashed
    plain, err = suppressed(server)
    assert who not in plain and "listed by --hashed" in err

    # a second run finds nothing left to erase, records nothing
    snapshot = dump(server)
    out = purge(server, "--subject", who)
    assert "0 proofs erased" in out and "0 purge events" in out, out
    assert dump(server) == snapshot
    departures.assert_intact(server)


def test_blanked_row_without_purge_event_is_tamper(server):
    r = consent(server, "blank@example.org", "newsletter")
    was = by_receipt(server)[r]
    raw(server, "UPDATE consent_proof SET subject = NULL, ip = NULL,"
        " user_agent = NULL WHERE receipt_id = '%s'" % r)
    p = harness.verify(server)
    assert p.returncode == 1, p.stdout + p.stderr
    assert r in p.stderr and "MAC does not match" in p.stderr
    raw(server, "UPDATE consent_proof SET subject = '%s', ip = '%s',"
        " user_agent = '%s' WHERE receipt_id = '%s'" % (
            was["subject"], was["ip"], was["user_agent"], r))
    departures.assert_intact(server)


def test_purge_does_not_launder_an_altered_record(server):
    r = consent(server, "launder@example.org", "newsletter")
    raw(server, "UPDATE consent_proof SET lang = 'xx' WHERE receipt_id"
        " = '%s'" % r)
    snapshot = dump(server)
    p = ctl(server, "purge", "--subject", "launder@example.org")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "refused %s " % r in p.stdout and "MAC does not match" in p.stdout
    assert "0 proofs erased" in p.stdout
    assert dump(server) == snapshot
    raw(server, "UPDATE consent_proof SET lang = 'en' WHERE receipt_id"
        " = '%s'" % r)
    departures.assert_intact(server)


def test_inactive_before_goes_by_the_latest_event(server):
    old = consent(server, "old@example.org", "newsletter")
    back = consent(server, "back@example.org", "newsletter")
    time.sleep(1.2)
    cutoff = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(1.2)
    again = consent(server, "back@example.org", "partners")
    fresh = consent(server, "new@example.org", "newsletter")

    out = purge(server, "--inactive-before", cutoff, "--dry-run")
    assert "would erase %s " % old in out and back not in out, out
    out = purge(server, "--inactive-before", cutoff)
    assert "erased %s " % old in out, out
    for r in (back, again, fresh):
        assert r not in out
    after = by_receipt(server)
    assert after[old]["subject"] is None and after[old]["erased_by"]
    assert after[back]["subject"] == "back@example.org"
    assert "(retention)" in after[after[old]["erased_by"]]["user_agent"]
    departures.assert_intact(server)
    snapshot = dump(server)
    out = purge(server, "--inactive-before", cutoff)
    assert "0 proofs erased" in out, out
    assert dump(server) == snapshot


def test_usage_and_key(server):
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "purge", "--subject", "x@example.org")
    assert p.returncode == 2 and "-k" in p.stderr
    for bad in [(), ("--subject", "a@b.c", "--inactive-before", "2020-01-01"),
                ("--inactive-before", "last year")]:
        p = ctl(server, "purge", *bad)
        assert p.returncode == 2, (bad, p.stdout, p.stderr)
    assert "purge" in harness.consentctl("--help").stdout


# ---- what verify still catches (sqlite3: edited with its own CLI) -----

@pytest.fixture
def purged(tmp_path):
    s = harness.ApacheServer().start()
    try:
        gone = [consent(s, "t@example.org", "newsletter"),
                consent(s, "t@example.org", "partners")]
        live = consent(s, "u@example.org", "newsletter")
        p = harness.consentctl("-p", s.params, "-k", s.key, "purge",
                               "--subject", "t@example.org")
        assert p.returncode == 0, p.stderr
    finally:
        s.stop()
    event = [r for r in harness.export(s) if r["event"] == "purge"][0]
    yield s, gone, live, event["receipt_id"]
    s.cleanup()


def edit(s, statement):
    p = subprocess.run(["sqlite3", s.params, statement], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def assert_tamper(s, *words):
    p = harness.verify(s)
    assert p.returncode == 1, p.stdout + p.stderr
    for w in words:
        assert w in p.stderr, p.stderr


def test_verify_intact_after_purge(purged):
    s = purged[0]
    p = harness.verify(s)
    assert p.returncode == 0 and "intact" in p.stdout, p.stdout + p.stderr


def test_a_changed_tombstone_is_tamper(purged):
    s, gone, _, _ = purged
    edit(s, "UPDATE consent_proof SET form_version = 7 WHERE receipt_id"
         " = '%s'" % gone[0])
    assert_tamper(s, gone[0], "MAC does not match")


def test_a_tombstone_copied_onto_a_blanked_row_is_tamper(purged):
    s, gone, live, _ = purged
    edit(s, "UPDATE consent_proof SET subject = NULL, ip = NULL, user_agent"
         " = NULL, erasure = (SELECT erasure FROM consent_proof WHERE"
         " receipt_id = '%s') WHERE receipt_id = '%s'" % (gone[0], live))
    assert_tamper(s, live, "MAC does not match", "does not name it")


def test_a_deleted_tombstone_is_tamper(purged):
    s, gone, _, _ = purged
    edit(s, "DELETE FROM consent_proof WHERE receipt_id = '%s'" % gone[1])
    assert_tamper(s, "missing")


def test_a_deleted_or_forged_purge_event_is_tamper(purged):
    s, gone, _, event = purged
    edit(s, "UPDATE consent_proof SET choices = choices || ';x=erased'"
         " WHERE receipt_id = '%s'" % event)
    assert_tamper(s, event, "MAC does not match")
    edit(s, "DELETE FROM consent_proof WHERE receipt_id = '%s'" % event)
    assert_tamper(s, gone[0], "no purge event of the store")


def test_an_old_store_migrates_and_keeps_verifying(tmp_path):
    """A store of schema 2 (before purge) is migrated by purge, its
    records unchanged and verifying."""
    s = harness.ApacheServer().start()
    try:
        r = consent(s, "m@example.org", "newsletter")
    finally:
        s.stop()
    edit(s, "ALTER TABLE consent_proof DROP COLUMN erasure")
    edit(s, "DELETE FROM consent_schema_version")
    edit(s, "INSERT INTO consent_schema_version VALUES (2)")
    p = harness.consentctl("-p", s.params, "export")
    assert p.returncode == 4 and "schema version 2" in p.stderr
    p = harness.consentctl("-p", s.params, "-k", s.key, "purge",
                           "--subject", "nobody@example.org")
    assert p.returncode == 0, p.stderr
    assert r in [x["receipt_id"] for x in harness.export(s)]
    assert harness.verify(s).returncode == 0
    s.cleanup()
