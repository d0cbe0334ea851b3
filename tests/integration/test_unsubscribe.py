"""L/unsubscribe?t=: one-click unsubscribe links (RFC 8058, LEGAL.md R6)
made by consentctl, on sqlite3 and PostgreSQL."""
import base64
import os

import pytest
import requests

import departures
import harness
from conftest import SERVERS, get_form, parse, submit


@pytest.fixture(scope="module", params=SERVERS)
def server_kind(request):
    """Every test here runs against Apache and nginx."""
    return request.param

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module", params=["sqlite3", "pgsql"])
def server(request, server_kind):
    s = departures.start(request, request.param)
    yield s
    s.cleanup()


def consent(server, email, *purposes):
    _, token = get_form(server)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in purposes]
    assert submit(server, data).status_code == 200


def one_click(url):
    """Exactly what a mail provider sends: no cookie, no Accept-Language,
    the RFC 8058 body."""
    s = requests.Session()
    s.headers.pop("Accept-Language", None)
    return s.post(url, data="List-Unsubscribe=One-Click", timeout=30,
                  headers=ONE_CLICK, allow_redirects=False)


def test_consentctl_prints_the_url_and_the_two_headers(server):
    url, h1, h2 = departures.unsubscribe_url(server, "Ada@Example.org")
    assert url.startswith(server.url("/newsletter/unsubscribe?t=u1."))
    assert h1 == "List-Unsubscribe: <%s>" % url
    assert h2 == "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    # the address travels sealed: neither in the link nor in its decoded
    # bytes (a check for "ada" in the text failed on random base64 alone)
    token = url.split("?t=u1.")[1]
    sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert "ada@example.org" not in url.lower()
    assert b"ada@example.org" not in sealed.lower()
    assert b"example" not in sealed.lower()


def test_get_never_unsubscribes(server):
    consent(server, "u1@example.org", "newsletter")
    url = departures.unsubscribe_url(server, "u1@example.org")[0]
    for _ in range(3):
        r = requests.get(url, timeout=10)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Referrer-Policy"] == "no-referrer"
    form = parse(r.text).inputs
    assert {"name": "List-Unsubscribe", "value": "One-Click",
            "type": "hidden"} in form
    assert departures.status(server, "u1@example.org")["newsletter"] \
        == "given"


def test_one_click_unsubscribes_once(server):
    consent(server, "u2@example.org", "newsletter", "partners")
    url = departures.unsubscribe_url(server, "U2@example.org",
                                     purposes=["newsletter"])[0]
    r = one_click(url)
    assert r.status_code == 200, r.text
    receipt = r.headers["Consent-Receipt"]
    assert departures.status(server, "u2@example.org") == {
        "newsletter": "withdrawn", "partners": "given"}
    again = one_click(url)
    assert again.status_code == 200
    assert again.headers["Consent-Receipt"] == receipt
    events = departures.events_of(server, "u2@example.org")
    assert events.count(("unsubscribe", {"newsletter": "withdrawn"})) == 1
    departures.assert_intact(server)


def test_one_click_as_multipart_form_data(server):
    """RFC 8058 3.2: providers SHOULD post multipart/form-data."""
    consent(server, "mp1@example.org", "newsletter")
    url = departures.unsubscribe_url(server, "mp1@example.org")[0]
    s = requests.Session()
    s.headers.pop("Accept-Language", None)
    r = s.post(url, files={"List-Unsubscribe": (None, "One-Click")},
               timeout=30)
    assert r.status_code == 200, r.text
    assert departures.status(server, "mp1@example.org")["newsletter"] \
        == "withdrawn"
    consent(server, "mp2@example.org", "newsletter")
    url = departures.unsubscribe_url(server, "mp2@example.org")[0]
    r = s.post(url, files={"List-Unsubscribe": (None, "Two-Clicks")},
               timeout=30)
    assert r.status_code == 400
    assert departures.status(server, "mp2@example.org")["newsletter"] \
        == "given"


def test_confirm_button_posts_the_same(server):
    consent(server, "u3@example.org", "partners")
    url = departures.unsubscribe_url(server, "u3@example.org")[0]
    r = requests.post(url, data={"List-Unsubscribe": "One-Click"},
                      headers={"Accept-Language": "fr"}, timeout=30)
    assert r.status_code == 200
    assert parse(r.text).html_lang == "fr"
    # a link naming no purpose stops all of the form's; a purpose already
    # refused stays refused (nothing to stop)
    assert departures.status(server, "u3@example.org") == {
        "newsletter": "refused", "partners": "withdrawn"}


def test_unsubscribe_after_consenting_again(server):
    consent(server, "u4@example.org", "newsletter")
    url = departures.unsubscribe_url(server, "u4@example.org",
                                     purposes=["newsletter"])[0]
    assert one_click(url).status_code == 200
    consent(server, "u4@example.org", "newsletter")
    assert one_click(url).status_code == 200
    assert departures.status(server, "u4@example.org")["newsletter"] \
        == "withdrawn"


def tampered(url):
    base, t = url.split("?t=")
    raw = bytearray(base64.urlsafe_b64decode(t[3:] + "=" * (-len(t) % 4)))
    raw[30] ^= 1
    return base + "?t=u1." + base64.urlsafe_b64encode(
        bytes(raw)).rstrip(b"=").decode()


def refused(server, url, subject):
    before = len(harness.export(server))
    assert requests.get(url, timeout=10).status_code == 403
    assert one_click(url).status_code == 403
    assert len(harness.export(server)) == before
    assert departures.status(server, subject).get("newsletter") == "given"


def test_forged_truncated_and_other_tokens_are_refused(server, tmp_path):
    consent(server, "u5@example.org", "newsletter")
    ada = departures.unsubscribe_url(server, "u5@example.org")[0]
    bob = departures.unsubscribe_url(server, "bob@example.org")[0]
    refused(server, tampered(ada), "u5@example.org")
    refused(server, ada[:-5], "u5@example.org")
    refused(server, ada.split("?")[0], "u5@example.org")
    refused(server, ada.split("?")[0] + "?t=", "u5@example.org")
    # another person's ciphertext under this link's nonce: forged
    a, b = (base64.urlsafe_b64decode(u.split("?t=u1.")[1] + "==")
            for u in (ada, bob))
    spliced = a[:20] + b[20:]
    refused(server, ada.split("?")[0] + "?t=u1." + base64.urlsafe_b64encode(
        spliced).rstrip(b"=").decode(), "u5@example.org")
    # signed by a key the server does not have
    other = harness.write_key(str(tmp_path / "other.key"), b"o" * 48)
    refused(server, departures.unsubscribe_url(
        server, "u5@example.org", key=other)[0], "u5@example.org")
    # a valid link for another form, sent to this one
    link = departures.unsubscribe_url(server, "u5@example.org",
                                      form="customer-offers")[0]
    refused(server, link, "u5@example.org")


def test_wrong_body_or_method(server):
    url = departures.unsubscribe_url(server, "u6@example.org")[0]
    assert requests.post(url, data="x=1", headers=ONE_CLICK,
                         timeout=10).status_code == 400
    assert requests.post(url, data=b"{}", timeout=10, headers={
        "Content-Type": "application/json"}).status_code == 415
    r = requests.put(url, timeout=10)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
    assert departures.events_of(server, "u6@example.org") == []


def test_consentctl_usage():
    p = harness.consentctl("unsubscribe-url", "--base", "https://x/n")
    assert p.returncode == 2
    key = os.path.join(harness.TOP, "nonexistent.key")
    p = harness.consentctl("-k", key, "unsubscribe-url", "--base",
                           "ftp://x/n", "--form", "f", "--subject", "a")
    assert p.returncode == 2
