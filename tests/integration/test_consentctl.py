"""consentctl against the store a real Apache wrote."""
import glob
import json
import os
import subprocess
import time

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
