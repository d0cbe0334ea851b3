"""consentctl against the store a real Apache wrote."""
import glob
import json
import os
import subprocess
import sys
import time

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


def ctl(server, *args):
    return harness.consentctl("-d", server.driver, "-p", server.params,
                              "-k", server.key, *args)


def test_lint_exit_codes():
    good = harness.consentctl("lint", harness.EXAMPLE)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == harness.EXAMPLE + ": ok"
    bad = sorted(glob.glob(os.path.join(harness.FIXTURES, "bad-r*.xml")))
    p = harness.consentctl("lint", harness.EXAMPLE, *bad)
    assert p.returncode == 1
    for f in bad:
        assert f + ":" in p.stderr, f
    assert harness.consentctl("lint").returncode == 2
    assert harness.consentctl("frobnicate").returncode == 2


def test_export_filters_and_status(apache):
    t0 = time.time()
    a = consent(apache, "ctl-a@example.org", "newsletter")
    time.sleep(1.1)
    t1 = int(time.time())
    b = consent(apache, "ctl-b@example.org", "partners")
    every = [json.loads(l) for l in ctl(apache, "export").stdout.splitlines()]
    assert {a, b} <= {p["receipt_id"] for p in every}
    p = ctl(apache, "export", "--subject", "ctl-a@example.org")
    only_a = [json.loads(l) for l in p.stdout.splitlines()]
    assert [x["receipt_id"] for x in only_a] == [a]
    since = [json.loads(l)["receipt_id"]
             for l in ctl(apache, "export", "--since", str(t1)).stdout
             .splitlines()]
    assert b in since and a not in since
    assert t0 > 0
    st = ctl(apache, "status", "--subject", "ctl-b@example.org")
    assert st.returncode == 0, st.stderr
    states = dict(l.split("\t")[:2] for l in st.stdout.splitlines())
    assert states == {"newsletter": "refused", "partners": "given"}


def test_verify_finds_an_edited_record(fresh_apache):
    server = fresh_apache().start()
    receipt = consent(server, "victim@example.org")
    assert ctl(server, "verify").returncode == 0
    # an insider turns the refusal into consent, straight in the database
    subprocess.run(["sqlite3", server.params,
                    "UPDATE consent_proof SET choices = replace(choices, "
                    "'refused', 'given') WHERE receipt_id = '%s'" % receipt],
                   check=True)
    p = ctl(server, "verify")
    assert p.returncode == 1
    assert receipt in p.stderr
    # and without the key nothing can be verified
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "verify")
    assert p.returncode == 2


# ---- reading commands never create a store (issue 10, item 6) ----------

READERS = [("export",), ("status", "--subject", "a@example.org"),
           ("suppression-list",), ("verify",)]


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
def test_reader_on_a_typod_sqlite_path(tmp_path, command):
    key = harness.write_key(str(tmp_path / "k.key"))
    typo = str(tmp_path / "typo.db")
    p = harness.consentctl("-d", "sqlite3", "-p", typo, "-k", key, *command)
    assert p.returncode == 4, (p.returncode, p.stdout, p.stderr)
    assert "no store at " + typo in p.stderr
    assert p.stdout == ""
    assert sorted(os.listdir(tmp_path)) == ["k.key"]


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
def test_reader_on_a_database_that_is_not_a_store(tmp_path, command):
    key = harness.write_key(str(tmp_path / "k.key"))
    other = str(tmp_path / "other.db")
    subprocess.run(["sqlite3", other, "CREATE TABLE t (x)"], check=True)
    p = harness.consentctl("-d", "sqlite3", "-p", other, "-k", key,
                           *command)
    assert p.returncode == 4, (p.returncode, p.stdout, p.stderr)
    assert "is not a mod_consent store" in p.stderr
    tables = subprocess.run(["sqlite3", other, ".tables"], check=True,
                            capture_output=True, text=True).stdout.split()
    assert tables == ["t"]


def test_readers_on_a_pgsql_database_without_schema(tmp_path, postgres):
    key = harness.write_key(str(tmp_path / "k.key"))
    params = postgres.create_db()
    for command in READERS:
        p = harness.consentctl("-d", "pgsql", "-p", params, "-k", key,
                               *command)
        assert p.returncode == 4, (command, p.stdout, p.stderr)
        assert "is not a mod_consent store" in p.stderr, p.stderr
    db = params.split("dbname=")[1].split()[0]
    tables = postgres.run(
        os.path.join(harness.PG_BIN, "psql"), "-h", postgres.dir, "-p",
        str(postgres.port), "-U", postgres.user, "-d", db, "-Atc",
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    assert tables.stdout.strip() == "0"


def test_reader_leaves_an_apache_store_unchanged(fresh_apache):
    server = fresh_apache().start()
    consent(server, "same@example.org", "newsletter")
    before = ctl(server, "export").stdout
    assert ctl(server, "verify").returncode == 0
    assert ctl(server, "export").stdout == before


def test_reader_waits_for_a_locked_sqlite3_store(fresh_apache):
    """A writer holding the file's lock for a moment (a server's commit,
    a checkpoint) makes a reader wait, not fail "database is locked":
    consentctl's first statement already has the busy timeout."""
    server = fresh_apache(driver="sqlite3").start()
    consent(server, "locked@example.org", "newsletter")
    server.stop()                   # its connections would share the file
    with harness.SqliteLock(server.params):
        p = ctl(server, "status", "--subject", "locked@example.org")
    assert p.returncode == 0, p.stderr
    assert "newsletter\tgiven" in p.stdout, p.stdout


# ---- verify without the signing key (issue 10, item 7) -----------------

def test_verify_without_the_signing_key_is_not_tamper(fresh_apache,
                                                      tmp_path):
    server = fresh_apache().start()
    receipts = [consent(server, "k%d@example.org" % i) for i in range(3)]
    key_id = {p["mac_key_id"] for p in harness.export(server)}
    assert len(key_id) == 1
    other = harness.write_key(str(tmp_path / "other.key"), b"o" * 48)
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "-k", other, "verify")
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "[tamper]" not in p.stderr
    assert "key %s is not in the keyring: 3 records" % key_id.pop() \
        in p.stderr
    assert "not fully checked" in p.stdout
    for r in receipts:
        assert r not in p.stderr    # one line per key, not per record
    # with the key as well as another one: intact
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "-k", other, "-k", server.key, "verify")
    assert p.returncode == 0, p.stderr


def test_tamper_wins_over_a_missing_key(fresh_apache, tmp_path):
    server = fresh_apache().start()
    receipts = [consent(server, "t%d@example.org" % i) for i in range(3)]
    # a record deleted from the middle of its lane shows without any key
    subprocess.run(["sqlite3", server.params,
                    "DELETE FROM consent_proof WHERE receipt_id = '%s'"
                    % receipts[1]], check=True)
    other = harness.write_key(str(tmp_path / "other.key"), b"o" * 48)
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "-k", other, "verify")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "[tamper]" in p.stderr and "[key]" in p.stderr


# ---- memory that does not grow with the store (issue 10, item 9) -------

def build_flags(var):
    """A make variable of the build (the sanitizer gate's has
    -fsanitize=... in LDFLAGS, which its libconsent.a needs)."""
    with open(os.path.join(harness.BUILD, "Makefile")) as f:
        for line in f:
            if line.startswith(var + " = "):
                return line.split("=", 1)[1].split()
    return []


def build_generator(where):
    """bench/gen_proofs.c: proofs written through the core, fast."""
    pc = ["pkg-config", "apr-1", "apr-util-1", "libxml-2.0", "libcrypto"]
    flags = [subprocess.run(pc + [opt], check=True, capture_output=True,
                            text=True).stdout.split()
             for opt in ("--cflags", "--libs")]
    out = os.path.join(where, "gen_proofs")
    subprocess.run(["gcc", "-O2"] + build_flags("LDFLAGS") + flags[0]
                   + ["-I" + os.path.join(harness.TOP, "mod_consent", "core"),
                      os.path.join(harness.TOP, "bench", "gen_proofs.c"),
                      os.path.join(harness.BUILD, ".libs", "libconsent.a")]
                   + flags[1] + ["-o", out], check=True)
    return out


def max_rss_kib(*args):
    """consentctl's peak resident memory, from a fresh parent of its own
    (RUSAGE_CHILDREN of this process would mix in every other child)."""
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
            " stderr=subprocess.PIPE)\n"
            "assert p.returncode == 0, p.stderr\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    env = dict(os.environ, CONSENT_TEMPLATE_DIR=harness.TEMPLATES)
    if "ASAN_OPTIONS" in env:
        # ASan's quarantine keeps up to 256 MiB of freed memory resident:
        # it would measure ASan, not consentctl
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    p = subprocess.run([sys.executable, "-c", code, harness.CONSENTCTL]
                       + list(args), capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


def test_reading_memory_does_not_grow_with_the_store(tmp_path):
    gen = build_generator(str(tmp_path))
    key = harness.write_key(str(tmp_path / "k.key"))
    small, large = 4000, 40000
    rss = {}
    for n in (small, large):
        db = str(tmp_path / ("%d.db" % n))
        subprocess.run([gen, "sqlite3", db, key, str(n), "64"], check=True,
                       capture_output=True, timeout=300)
        for cmd in (["export"], ["verify"], ["suppression-list"],
                    ["suppression-list", "--hashed"],
                    ["status", "--subject", "person1@example.org"]):
            rss[(n, cmd[-1])] = max_rss_kib("-d", "sqlite3", "-p", db,
                                            "-k", key, *cmd)
    for (n, cmd), kib in rss.items():
        if n == large:
            ratio = kib / rss[(small, cmd)]
            # before: export grew ~1.2 KiB a proof (34 MiB at 20k)
            assert ratio < 1.3, (cmd, rss)


def test_help_lists_every_command_and_exit_code():
    p = harness.consentctl("--help")
    assert p.returncode == 0
    for word in ("lint", "export", "verify", "status", "unsubscribe-url",
                 "suppression-list", "--since", "--subject", "--json",
                 "--hashed", "--purpose", "--base", "--form", "--schema"):
        assert word in p.stdout, word
    codes = [l.split()[0] for l in p.stdout.split("exit status:")[1]
             .splitlines() if l[:3].strip().isdigit()]
    assert codes == ["0", "1", "2", "3", "4"]
