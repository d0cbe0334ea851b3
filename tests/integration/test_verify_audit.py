"""verify reads every row of every table, every column with its type, and
checks checkpoints kept off the machine (issue 11, section 4). The store is
edited with the sqlite3 CLI, as an insider with a shell would."""
import hashlib
import hmac
import os
import shutil
import subprocess

import pytest

import harness
from conftest import get_form, submit


def consent(server, email, *purposes):
    _, token = get_form(server)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in purposes]
    r = submit(server, data)
    assert r.status_code == 200, r.text
    return r.headers["Consent-Receipt"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A store a real Apache wrote, one form, one notice, and a lane of at
    least three records (each Apache thread writes its own lane)."""
    server = harness.ApacheServer().start()
    for i in range(200):
        consent(server, "a%d@example.org" % i, "newsletter")
        lane = sql(server.params, "SELECT lane FROM consent_proof GROUP BY"
                   " lane HAVING COUNT(*) >= 3 LIMIT 1")
        if lane:
            break
    assert lane, "no Apache thread wrote three records"
    receipts = sql(server.params, "SELECT receipt_id FROM consent_proof"
                   " WHERE lane = '%s' ORDER BY lane_seq" % lane).split()
    server.stop()
    yield server, receipts[:3], int(sql(server.params, "SELECT COUNT(*)"
                                        " FROM consent_proof"))
    server.cleanup()


@pytest.fixture
def store(written, tmp_path):
    """A copy of the written store to tamper with, and the first three
    receipts of one lane (records #1, #2, #3)."""
    server, receipts, _ = written
    path = str(tmp_path / "copy.db")
    sql(server.params, ".backup '%s'" % path)
    return path, server.key, receipts


@pytest.fixture
def total(written):
    return written[2]


def sql(db, statement):
    p = subprocess.run(["sqlite3", db, statement], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def ctl(db, key, *args):
    return harness.consentctl("-d", "sqlite3", "-p", db, "-k", key, *args)


def assert_intact(db, key):
    p = ctl(db, key, "verify")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "intact" in p.stdout


def assert_tamper(db, key, *words, args=()):
    p = ctl(db, key, "verify", *args)
    assert p.returncode == 1, p.stdout + p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)
    return p.stderr


# --- every row --------------------------------------------------------------

def test_a_row_outside_every_lane_is_reported(store, total):
    db, key, receipts = store
    assert_intact(db, key)
    sql(db, "INSERT INTO consent_proof (receipt_id, event, time_us,"
            " subject, choices, lane, lane_seq, prev_mac, mac_key_id, mac)"
            " VALUES ('forged-1', 'submission', 1796095070949596,"
            " 'victim@example.org', 'newsletter=given', '', -1, '', '', '')")
    # the forged consent is what status reads ...
    p = harness.consentctl("-d", "sqlite3", "-p", db, "status", "--subject",
                           "victim@example.org")
    assert "given" in p.stdout
    # ... and verify names it
    err = assert_tamper(db, key, "forged-1", "outside every lane",
                        "consent_proof holds %d rows, verify read %d"
                        % (total + 1, total))
    assert "lane '' #-1" in err


def test_a_notice_out_of_reach_is_counted(store):
    db, key, _ = store
    sql(db, "INSERT INTO consent_notice (sha256, text, first_seen)"
            " VALUES ('', 'forged', 0)")
    assert_tamper(db, key, "consent_notice holds 2 rows, verify read 1")


# --- every column, with its type ---------------------------------------------

@pytest.mark.parametrize("column", ["time_us", "form_version",
                                    "token_issued", "lane_seq"])
def test_an_integer_retyped_as_text_is_tamper(store, column):
    db, key, receipts = store
    sql(db, "UPDATE consent_proof SET %s = %s || 'x' WHERE receipt_id = '%s'"
        % (column, column, receipts[1]))
    assert sql(db, "SELECT typeof(%s) FROM consent_proof WHERE receipt_id"
               " = '%s'" % (column, receipts[1])) == "text"
    assert_tamper(db, key, receipts[1], column, "not an integer")


def test_the_time_of_the_issue_is_tamper(store):
    db, key, receipts = store
    sql(db, "UPDATE consent_proof SET time_us = '%sx' WHERE receipt_id = "
        "'%s'" % (sql(db, "SELECT time_us FROM consent_proof WHERE "
                      "receipt_id = '%s'" % receipts[0]), receipts[0]))
    assert_tamper(db, key, receipts[0], "time_us")


def test_seq_moved_is_tamper(store):
    db, key, receipts = store
    # the last record moved before the others: export order changes
    sql(db, "UPDATE consent_proof SET seq = 0 WHERE receipt_id = '%s'"
        % receipts[2])
    assert_tamper(db, key, receipts[2], "seq 0 is not after")


@pytest.mark.parametrize("change", [
    "lang = 'fr'", "form_id = 'other'", "form_version = 2",
    "first_seen = first_seen + 1", "first_seen = first_seen || 'x'",
], ids=["lang", "form_id", "form_version", "first_seen", "first_seen-text"])
def test_notice_metadata_edited_is_tamper(store, change):
    db, key, _ = store
    sha = sql(db, "SELECT sha256 FROM consent_notice")
    sql(db, "UPDATE consent_notice SET " + change)
    assert_tamper(db, key, "notice " + sha)


@pytest.mark.parametrize("column", ["created_us", "head_seq"])
def test_lane_integer_retyped_is_tamper(store, column):
    db, key, _ = store
    sql(db, "UPDATE consent_lane SET %s = %s || 'x'" % (column, column))
    assert_tamper(db, key, column, "not an integer")


# --- checkpoints ------------------------------------------------------------

def checkpoint(db, key, tmp_path, name="cp1"):
    p = ctl(db, key, "checkpoint")
    assert p.returncode == 0, p.stderr
    path = str(tmp_path / name)
    with open(path, "w") as f:
        f.write(p.stdout)
    return path, p.stdout


def test_checkpoint_is_signed_and_verifies(store, tmp_path, total):
    db, key, _ = store
    path, text = checkpoint(db, key, tmp_path)
    lines = text.splitlines()
    assert lines[0] == "consent-checkpoint-1"
    assert "count consent_proof %d" % total in lines
    assert sum(l.startswith("lane ") for l in lines) >= 1
    assert lines[-1].startswith("mac ")
    p = ctl(db, key, "verify", "--checkpoint", path, path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith(": intact, nothing covered by 2 checkpoints "
                             "missing or changed\n")
    # an edited checkpoint is refused
    with open(path, "w") as f:
        f.write(text.replace("count consent_proof %d" % total,
                             "count consent_proof %d" % (total - 1)))
    p = ctl(db, key, "verify", "--checkpoint", path)
    assert p.returncode == 1
    assert "MAC does not match" in p.stderr


def test_an_emptied_store_is_caught_by_a_checkpoint(store, tmp_path, total):
    db, key, _ = store
    path, text = checkpoint(db, key, tmp_path)
    sql(db, "DELETE FROM consent_proof; DELETE FROM consent_lane;"
            " DELETE FROM consent_notice")
    assert_intact(db, key)          # nothing left to contradict itself ...
    lane = [l.split()[1] for l in text.splitlines()
            if l.startswith("lane ")][0]
    assert_tamper(db, key, "lane %s is missing" % lane,
                  "consent_proof had %d rows, it holds 0" % total,
                  args=("--checkpoint", path))


def test_deleted_last_records_are_caught_by_a_checkpoint(store, tmp_path):
    db, key, receipts = store
    path, _ = checkpoint(db, key, tmp_path)
    lane = sql(db, "SELECT lane FROM consent_proof WHERE receipt_id = '%s'"
               % receipts[2])
    n = sql(db, "SELECT MAX(lane_seq) FROM consent_proof WHERE lane = '%s'"
            % lane)
    sql(db, "DELETE FROM consent_proof WHERE lane = '%s' AND lane_seq >= 3"
        % lane)
    assert_tamper(db, key, "lane %s record #%s is missing" % (lane, n),
                  args=("--checkpoint", path))


def field(name, value):
    if value is None:
        return "%s:-\n" % name
    value = str(value)
    return "%s:%d:%s\n" % (name, len(value.encode()), value)


def remac_record(db, key_path, receipt, choices):
    """What the key holder can do: rewrite the last record and re-seal it
    and the lane head, so that the store verifies on its own."""
    key = harness_key(key_path)
    cols = ("receipt_id, event, time_us, ip, user_agent, subject, form_id,"
            " form_version, lang, regime, notice_sha256, choices,"
            " token_nonce, token_issued, token_key_id, token_defaults, lane,"
            " lane_seq, prev_mac, mac_key_id")
    row = sql(db, "SELECT %s FROM consent_proof WHERE receipt_id = '%s'"
              % (cols.replace(",", " || char(31) ||"), receipt))
    v = row.split("\x1f")
    names = ["receipt_id", "event", "time", "ip", "user_agent", "subject",
             "form_id", "form_version", "lang", "regime", "notice_sha256",
             "choices", "token_nonce", "token_issued", "token_key_id",
             "token_defaults", "lane", "lane_seq", "prev_mac", "mac_key_id"]
    v[11] = choices
    fields = list(zip(names, v))
    site = sql(db, "SELECT site FROM consent_proof WHERE receipt_id = '%s'"
               % receipt)
    if site:        # sealed after the event when set (tenancy)
        fields.insert(2, ("site", site))
    data = field("v", "consent-proof-1") + "".join(
        field(n, x) for n, x in fields)
    mac = hmac.new(key, data.encode(), hashlib.sha256).hexdigest()
    sql(db, "UPDATE consent_proof SET choices = '%s', mac = '%s' WHERE"
            " receipt_id = '%s'" % (choices, mac, v[0]))
    lane = sql(db, "SELECT lane || char(31) || created_us || char(31) ||"
                   " prev_lane || char(31) || creation_key_id || char(31) ||"
                   " creation_mac || char(31) || head_seq || char(31) ||"
                   " head_key_id FROM consent_lane WHERE lane = '%s'" % v[16]
               ).split("\x1f")
    data = (field("v", "consent-lane-row-1") + field("lane", lane[0])
            + field("created_us", lane[1]) + field("prev_lane", lane[2])
            + field("creation_key_id", lane[3])
            + field("creation_mac", lane[4]) + field("head_seq", lane[5])
            + field("head_mac", mac) + field("head_key_id", lane[6]))
    row_mac = hmac.new(key, data.encode(), hashlib.sha256).hexdigest()
    sql(db, "UPDATE consent_lane SET head_mac = '%s', row_mac = '%s' WHERE"
            " lane = '%s'" % (mac, row_mac, lane[0]))
    return v[0]


def harness_key(path):
    with open(path, "rb") as f:
        return f.read().rstrip(b"\r\n")


def test_history_rewritten_with_the_key_is_caught_by_a_checkpoint(
        store, tmp_path):
    db, key, receipts = store
    path, _ = checkpoint(db, key, tmp_path)
    lane = sql(db, "SELECT lane FROM consent_proof WHERE receipt_id = '%s'"
               % receipts[2])
    last = sql(db, "SELECT receipt_id FROM consent_proof WHERE lane = '%s'"
               " ORDER BY lane_seq DESC LIMIT 1" % lane)
    n = sql(db, "SELECT MAX(lane_seq) FROM consent_proof WHERE lane = '%s'"
            % lane)
    remac_record(db, key, last, "newsletter=refused;partners=refused")
    assert_intact(db, key)          # the key holder's rewrite holds ...
    assert_tamper(db, key, "record #%s changed since" % n,  # ... until now
                  args=("--checkpoint", path))


def test_checkpoint_refuses_a_store_that_does_not_verify(store, tmp_path):
    db, key, receipts = store
    sql(db, "UPDATE consent_proof SET subject = 'x@example.org'"
            " WHERE receipt_id = '%s'" % receipts[0])
    p = ctl(db, key, "checkpoint")
    assert p.returncode == 1
    assert p.stdout == ""
    assert "no checkpoint made" in p.stderr


def test_checkpoint_usage(store):
    db, key, _ = store
    assert harness.consentctl("-d", "sqlite3", "-p", db,
                              "checkpoint").returncode == 2
    assert ctl(db, key, "verify", "stray-argument").returncode == 2
    p = ctl(db, key, "verify", "--checkpoint", "/nonexistent/cp")
    assert p.returncode == 1
    assert "/nonexistent/cp" in p.stderr


# --- the same reads on PostgreSQL ----------------------------------------

def test_checkpoint_and_stray_rows_on_postgresql(postgres, tmp_path):
    server = harness.ApacheServer(driver="pgsql",
                                  params=postgres.create_db()).start()
    try:
        consent(server, "pg@example.org", "newsletter")
        args = ("-d", "pgsql", "-p", server.params, "-k", server.key)
        p = harness.consentctl(*args, "checkpoint")
        assert p.returncode == 0, p.stderr
        path = str(tmp_path / "cp")
        with open(path, "w") as f:
            f.write(p.stdout)
        p = harness.consentctl(*args, "verify", "--checkpoint", path)
        assert p.returncode == 0, p.stderr
        db = server.params.split("dbname=")[1].split()[0]
        postgres.run(os.path.join(harness.PG_BIN, "psql"), "-h", postgres.dir,
                     "-p", str(postgres.port), "-U", postgres.user, "-d", db,
                     # the insider first drops what would refuse the row
                     "-c", "ALTER TABLE consent_proof DROP CONSTRAINT IF EXISTS"
                     " consent_proof_lane_fkey;"
                     " INSERT INTO consent_proof (receipt_id, event,"
                     " time_us, choices, lane, lane_seq, prev_mac,"
                     " mac_key_id, mac) VALUES ('forged-pg', 'submission', 1,"
                     " 'newsletter=given', '', -1, '', '', '')")
        p = harness.consentctl(*args, "verify", "--checkpoint", path)
        assert p.returncode == 1
        assert "forged-pg" in p.stderr and "outside every lane" in p.stderr
        postgres.run(os.path.join(harness.PG_BIN, "psql"), "-h", postgres.dir,
                     "-p", str(postgres.port), "-U", postgres.user, "-d", db,
                     "-c", "DELETE FROM consent_proof; DELETE FROM"
                     " consent_notice; DELETE FROM consent_lane")
        p = harness.consentctl(*args, "verify", "--checkpoint", path)
        assert p.returncode == 1
        assert "is missing (deleted since)" in p.stderr
    finally:
        server.cleanup()
