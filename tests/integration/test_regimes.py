"""Regimes (LEGAL.md R8-R10): soft opt-in and b2b forms show their notice
and an objection box per purpose; status and suppression list after
mixed histories; on sqlite3 and PostgreSQL."""
import hashlib
import os
import re

import pytest
import requests

import departures
import harness
from conftest import get_form, parse, submit


@pytest.fixture(scope="module", params=["sqlite3", "pgsql"])
def server(request):
    s = departures.start(request, request.param)
    yield s
    s.cleanup()


def send(server, path, email, *ticked, lang="en"):
    _, token = get_form(server, path, lang)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in ticked]
    r = submit(server, data, path, lang)
    assert r.status_code == 200, r.text
    return [p for p in harness.export(server)
            if p["receipt_id"] == r.headers["Consent-Receipt"]][0]


@pytest.mark.parametrize("path,lang,words", [
    ("/customers", "en", ["customer", "similar"]),
    ("/customers", "fr", ["client", "analogues"]),
    ("/pro", "en", ["profession"]),
    ("/pro", "fr", ["profession"]),
])
def test_form_shows_notice_and_objection_boxes(server, path, lang, words):
    r, _ = get_form(server, path, lang)
    text = re.sub(r"\s+", " ", r.text)
    for w in words:
        assert w in text
    assert "checked" not in r.text
    boxes = [i for i in parse(r.text).inputs if i.get("type") == "checkbox"]
    assert len(boxes) == 1
    legend = "What you can object to" if lang == "en" else \
        "Ce à quoi vous pouvez vous opposer"
    assert legend in r.text


@pytest.mark.parametrize("path,regime", [("/customers", "soft-opt-in"),
                                         ("/pro", "b2b")])
def test_objection_is_recorded(server, path, regime):
    [purpose] = send(server, path, "r1-%s@example.org" % regime)["purposes"]
    proof = send(server, path, "r1-%s@example.org" % regime, purpose)
    assert proof["regime"] == regime
    assert proof["purposes"] == {purpose: "objected"}
    quiet = send(server, path, "r2-%s@example.org" % regime)
    assert quiet["purposes"] == {purpose: "not-objected"}


def test_opt_in_form_is_unchanged(server):
    proof = send(server, "/newsletter", "r3@example.org", "newsletter")
    assert proof["purposes"] == {"newsletter": "given",
                                 "partners": "refused"}


def test_unsubscribe_from_soft_opt_in_is_an_objection(server):
    send(server, "/customers", "r4@example.org")
    url = departures.unsubscribe_url(server, "r4@example.org",
                                     form="customer-offers",
                                     base="/customers")[0]
    r = requests.post(url, data="List-Unsubscribe=One-Click", timeout=30,
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert departures.status(server, "r4@example.org") == {
        "offers": "objected"}


def test_status_and_suppression_after_mixed_histories(server):
    # kept: consented to something
    send(server, "/newsletter", "keep@example.org", "newsletter")
    # gone: consented, then withdrew everything from the page
    send(server, "/newsletter", "gone@example.org", "newsletter")
    r = requests.get(server.url("/newsletter/withdraw"), timeout=10)
    token = [i["value"] for i in parse(r.text).inputs
             if i.get("name") == "consent_token"][0]
    assert requests.post(server.url("/newsletter/withdraw"), timeout=30,
                         data={"email": "Gone@example.org",
                               "withdraw_all": "1",
                               "consent_token": token}).status_code == 200
    # never: refused everything
    send(server, "/newsletter", "never@example.org")
    # back: withdrew, then consented again
    send(server, "/newsletter", "back@example.org", "partners")
    url = departures.unsubscribe_url(server, "back@example.org")[0]
    assert requests.post(url, data="List-Unsubscribe=One-Click", timeout=30,
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded"}
                         ).status_code == 200
    send(server, "/newsletter", "back@example.org", "partners")
    # customers: one objected, one did not
    send(server, "/customers", "objects@example.org", "offers")
    send(server, "/customers", "quiet@example.org")

    assert departures.status(server, "gone@example.org") == {
        "newsletter": "withdrawn", "partners": "withdrawn"}
    assert departures.status(server, "back@example.org") == {
        "newsletter": "refused", "partners": "given"}
    listed = set(departures.suppression(server))
    for who in ("gone", "never", "objects"):
        assert who + "@example.org" in listed
    for who in ("keep", "back", "quiet"):
        assert who + "@example.org" not in listed
    partners = set(departures.suppression(server, "--purpose", "partners"))
    assert {"keep@example.org", "gone@example.org",
            "never@example.org"} <= partners
    assert "back@example.org" not in partners
    hashed = departures.suppression(server, "--hashed")
    assert hashlib.sha256(b"gone@example.org").hexdigest() in hashed
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashed)
    assert len(hashed) == len(listed)
    departures.assert_intact(server)


@pytest.mark.parametrize("name", ["soft-opt-in.xml", "b2b.xml"])
def test_examples_lint(name):
    p = harness.consentctl("lint", "--schema", os.path.join(
        harness.TEMPLATES, "consent-form.rng"),
        os.path.join(harness.TEMPLATES, "examples", name))
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("name,rule", [
    ("bad-r9-no-notice.xml", "R9"),
    ("bad-r9-notice-missing-lang.xml", "R9"),
    ("bad-r10-no-notice.xml", "R10"),
])
def test_regime_lint_rules(name, rule):
    path = os.path.join(harness.FIXTURES, name)
    p = harness.consentctl("lint", "--schema", os.path.join(
        harness.TEMPLATES, "consent-form.rng"), path)
    assert p.returncode == 1
    assert re.search(re.escape(path) + r":\d+: \[" + rule + r"\]", p.stderr)
