"""Guard mode (issue 11, section 2): every method and every spelling is
checked, behind a real Apache proxying to backend.py (which records every
request it gets, whatever its method, with all its headers). A body under
another method than POST never reaches the application; a name the
application would read as a guarded box is refused or counted; no client
spelling of the Consent-Receipt header survives."""
import http.client
import os

import pytest

import harness
from backend import Backend
from test_guard import (DEFINITION, MODULES, get, post, posts_seen, proof,
                        signup_body, tokens_in)

CONF = """\
<Location /signup>
    ProxyPass http://127.0.0.1:{port}/signup
    ConsentGuard {definition}
</Location>
"""


@pytest.fixture(scope="module")
def site():
    workdir = harness.make_workdir()
    backend = Backend(os.path.join(workdir, "backend.log")).start()
    server = harness.ApacheServer(
        workdir=workdir, forms=[], extra_modules=MODULES,
        extra=CONF.format(port=backend.port, definition=DEFINITION)).start()
    server.backend = backend
    yield server
    server.cleanup()
    backend.stop()


def fresh_token(site):
    [token] = tokens_in(get(site, "/signup").text)
    return token


def raw_request(site, method, path, body, headers=None):
    """http.client keeps the method as written (requests upper-cases)."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    status, allow, text = r.status, r.getheader("Allow"), r.read()
    conn.close()
    return status, allow, text


def seen_since(site, n):
    return site.backend.requests()[n:]


@pytest.mark.parametrize("method", ["post", "Post", "PUT", "PATCH",
                                    "DELETE", "GET"])
def test_a_body_under_another_method_never_reaches_the_app(site, method):
    token = fresh_token(site)
    n = len(site.backend.requests())
    status, allow, _ = raw_request(site, method, "/signup", signup_body(
        token, "optin_newsletter=on"))
    assert status == 405
    assert allow == "GET, HEAD, POST"
    assert seen_since(site, n) == []
    # the token was not used: the real POST still goes through
    assert post(site, "/signup", signup_body(token, "optin_newsletter=on")
                ).status_code == 200


def test_methods_without_a_body_still_pass(site):
    n = len(site.backend.requests())
    status, _, _ = raw_request(site, "DELETE", "/signup", None,
                               {"Content-Length": "0"})
    assert status == 200          # the application's own answer
    assert [e["method"] for e in seen_since(site, n)] == ["DELETE"]


@pytest.mark.parametrize("name", [
    "optin.newsletter", "optin+newsletter", "optin_newsletter%5B%5D",
    "optin%5Bnewsletter", "optin_newsletter%5Bx%5D", "OPTIN_NEWSLETTER",
    "+optin_newsletter", "optin_partners%5B0%5D"])
def test_backend_spellings_of_a_box_are_refused(site, name):
    token = fresh_token(site)
    n = len(site.backend.requests())
    r = post(site, "/signup", signup_body(token, name + "=on"))
    assert r.status_code == 400
    assert seen_since(site, n) == []
    assert "spelled otherwise" in site.error_log()
    assert get(site, "/signup?%s=on" % name).status_code == 400
    assert seen_since(site, n) == []


@pytest.mark.parametrize("value", ["no", "", "0", "off", "false"])
def test_any_value_of_a_box_is_a_tick(site, value):
    """PHP's !empty("no") and isset() see a consent: so does the proof."""
    token = fresh_token(site)
    n = len(site.backend.requests())
    r = post(site, "/signup", signup_body(token, "optin_newsletter=" + value))
    assert r.status_code == 200
    [seen] = seen_since(site, n)
    assert proof(site, seen["receipt"])["purposes"] == {
        "newsletter": "given", "partners": "refused"}


def receipt_headers(entry):
    def norm(k):
        return "".join(c if c.isalnum() else "_" for c in k.lower())
    return [(k, v) for k, v in entry["headers"]
            if norm(k) == "consent_receipt"]


SPELLINGS = {"Consent_Receipt": "forged-1", "CONSENT-RECEIPT": "forged-2",
             "consent_receipt": "forged-3", "Consent.Receipt": "forged-4"}


def test_every_spelling_of_the_receipt_header_is_stripped(site):
    token = fresh_token(site)
    n = len(site.backend.requests())
    for k, v in SPELLINGS.items():
        # one at a time too: Apache folds same-named headers
        status, _, _ = raw_request(site, "GET", "/signup", None, {k: v})
        assert status == 200
    status, _, _ = raw_request(site, "POST", "/signup",
                               signup_body(token, "optin_newsletter=on"),
                               SPELLINGS)
    assert status == 200
    entries = seen_since(site, n)
    assert [e["method"] for e in entries] == ["GET"] * 4 + ["POST"]
    for e in entries[:4]:
        assert receipt_headers(e) == []
    [(k, v)] = receipt_headers(entries[-1])
    assert k == "Consent-Receipt" and v == entries[-1]["receipt"]
    assert not v.startswith("forged")
    assert proof(site, v)["purposes"]["newsletter"] == "given"
