"""Guard mode (ConsentGuard): the forms an application already has, behind
a real Apache on 127.0.0.1: a proxied backend (mod_proxy_http to
backend.py) and a CGI script (mod_cgid). What the person's browser gets,
what the application receives (and never receives), what is stored."""
import gzip
import json
import os
import time

import pytest
import requests

import harness
import tokens
from backend import CGI_SCRIPT, Backend
from conftest import parse

DEFINITION = os.path.join(harness.TEMPLATES, "examples", "signup-guard.xml")
TOKEN_PREFIX = b'<input type="hidden" name="consent_token" value="'

GUARD_CONF = """\
<Location /signup>
    ProxyPass http://127.0.0.1:{port}/signup
    ConsentGuard {definition}
</Location>
<Location /fixed>
    ProxyPass http://127.0.0.1:{port}/signup
    ConsentGuard {definition}
    ConsentGuardFix On
</Location>
ScriptAlias /cgi-signup {dir}/signup.cgi
<Location /cgi-signup>
    ConsentGuard {definition}
</Location>
"""

MODULES = "\n".join(
    "LoadModule %s_module %s/mod_%s.so" % (m, harness.MODDIR, m)
    for m in ("proxy", "proxy_http", "alias", "cgid"))


@pytest.fixture(scope="module")
def site():
    workdir = harness.make_workdir()
    backend = Backend(os.path.join(workdir, "backend.log")).start()
    cgi = os.path.join(workdir, "signup.cgi")
    with open(cgi, "w") as f:
        f.write(CGI_SCRIPT % {"log": os.path.join(workdir, "cgi.log")})
    os.chmod(cgi, 0o755)
    server = harness.ApacheServer(
        workdir=workdir, forms=[], extra_modules=MODULES,
        extra=GUARD_CONF.format(port=backend.port, definition=DEFINITION,
                                dir=workdir)).start()
    server.backend = backend
    yield server
    server.cleanup()
    backend.stop()


def get(site, path, **kw):
    r = requests.get(site.url(path), timeout=30, **kw)
    return r


def tokens_in(body):
    return [i["value"] for i in parse(body).inputs
            if i.get("name") == "consent_token"]


def without_tokens(body):
    """The page minus the inputs the guard added: what the app sent."""
    out, rest = b"", body
    while TOKEN_PREFIX in rest:
        before, _, after = rest.partition(TOKEN_PREFIX)
        out += before
        rest = after[after.index(b'">') + 2:]
    return out + rest


def post(site, path, body, headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return requests.post(site.url(path), data=body, headers=h, timeout=30,
                         allow_redirects=False)


def posts_seen(site, since):
    return site.backend.requests("POST")[since:]


def proof(site, receipt):
    found = [p for p in harness.export(site) if p["receipt_id"] == receipt]
    assert len(found) == 1, found
    return found[0]


def signup_body(token, *extra):
    return "&".join(("email=Ann%40Example.org", "password=p%26ss+w%C3%B6rd%25",
                     "consent_token=" + token) + extra)


# --- the page ------------------------------------------------------------

def test_page_gets_a_token_and_is_otherwise_unchanged(site):
    r = get(site, "/signup")
    assert r.status_code == 200
    [token] = tokens_in(r.text)
    assert token.startswith("c1.")
    assert without_tokens(r.content) == site.backend.page("/signup")
    # right after the first guarded box, inside the form
    assert r.content.index(TOKEN_PREFIX) == \
        r.content.index(b'name="optin_newsletter">') + \
        len(b'name="optin_newsletter">')
    assert r.headers["Cache-Control"] == "no-store"
    assert "Accept-Language" in r.headers["Vary"]


def test_backend_is_asked_for_identity(site):
    n = len(site.backend.requests("GET"))
    r = get(site, "/signup/negotiated", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert len(tokens_in(r.text)) == 1
    [seen] = site.backend.requests("GET")[n:]
    assert seen["accept_encoding"] is None


def test_several_forms_each_get_their_own_token(site):
    r = get(site, "/signup/several")
    toks = tokens_in(r.text)
    assert len(toks) == 2 and toks[0] != toks[1]
    assert without_tokens(r.content) == site.backend.page("/signup/several")
    n = len(site.backend.requests("POST"))
    assert post(site, "/signup", signup_body(toks[1])).status_code == 200
    assert len(posts_seen(site, n)) == 1


def test_malformed_html_is_kept_as_it_was(site):
    r = get(site, "/signup/malformed")
    [token] = tokens_in(r.text)
    assert without_tokens(r.content) == site.backend.page("/signup/malformed")
    assert post(site, "/signup", signup_body(token, "optin_newsletter=on")
                ).status_code == 200


def test_five_megabyte_page(site):
    started = time.time()
    r = get(site, "/signup/big")
    assert r.status_code == 200
    original = site.backend.page("/signup/big")
    assert len(original) > 5 * 1024 * 1024
    [token] = tokens_in(r.text[-3000:])
    assert without_tokens(r.content) == original
    assert time.time() - started < 10


def test_gzip_from_the_backend_passes_untouched(site):
    r = requests.get(site.url("/signup/gzip"), stream=True, timeout=30,
                     headers={"Accept-Encoding": "gzip"})
    raw = r.raw.read(decode_content=False)
    assert r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == site.backend.negotiated_page()
    assert "came gzip-encoded" in site.error_log()


def test_iso_8859_1_page_keeps_its_bytes(site):
    r = get(site, "/signup/latin1")
    assert r.headers["Content-Type"].lower().endswith("iso-8859-1")
    [token] = tokens_in(r.content.decode("latin-1"))
    assert without_tokens(r.content) == site.backend.page("/signup/latin1")
    assert b"D\xe9j\xe0 inscrit" in r.content
    # the browser posts in the page's charset: the body goes on as it is
    body = signup_body(token, "name=Andr%E9")
    n = len(site.backend.requests("POST"))
    assert post(site, "/signup", body).status_code == 200
    [seen] = posts_seen(site, n)
    assert bytes.fromhex(seen["body"]) == body.encode()


@pytest.mark.parametrize("path", ["/signup/data.json", "/signup/pixel.png"])
def test_not_html_passes_untouched(site, path):
    r = get(site, path)
    assert r.content == site.backend.page(path)
    assert r.headers["Content-Length"] == str(len(r.content))


def test_error_status_and_head_pass_untouched(site):
    r = get(site, "/signup/error")
    assert r.status_code == 500
    assert r.content == site.backend.page("/signup/error")
    h = requests.head(site.url("/signup"), timeout=10)
    assert h.status_code == 200 and h.content == b""
    # a form shown again with an error gets a token
    r = get(site, "/signup/rejected")
    assert r.status_code == 422 and len(tokens_in(r.text)) == 1


# --- the submission --------------------------------------------------------

def test_unticked_box_passes_with_exact_body_and_receipt(site):
    [token] = tokens_in(get(site, "/signup").text)
    body = signup_body(token, "optin_newsletter=on", "note=a%00b%2B")
    n = len(site.backend.requests("POST"))
    r = post(site, "/signup", body,
             headers={"Consent-Receipt": "forged", "User-Agent": "guard/1"})
    assert r.status_code == 200 and "Welcome" in r.text
    [seen] = posts_seen(site, n)
    assert bytes.fromhex(seen["body"]) == body.encode()
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    receipt = seen["receipt"]
    assert receipt and receipt != "forged"
    p = proof(site, receipt)
    assert p["event"] == "submission" and p["form_id"] == "signup"
    assert p["purposes"] == {"newsletter": "given", "partners": "refused"}
    assert p["subject"] == "ann@example.org"
    assert p["user_agent"] == "guard/1"


def test_preticked_box_gives_422_and_the_app_sees_nothing(site):
    r = get(site, "/signup/preticked")
    [token] = tokens_in(r.text)
    stored = len(harness.export(site))
    n = len(site.backend.requests("POST"))
    # even with the box unticked again by the person: the page pre-ticked it
    for extra in (("optin_newsletter=on",), ()):
        r = post(site, "/signup", signup_body(token, *extra))
        assert r.status_code == 422
        assert "pre-ticked" in r.text
    assert posts_seen(site, n) == []
    assert len(harness.export(site)) == stored
    assert "ticked by default" in site.error_log()


def test_token_missing_forged_replayed(site):
    n = len(site.backend.requests("POST"))
    r = post(site, "/signup", "email=a%40b.org&optin_newsletter=on")
    assert r.status_code == 403
    [token] = tokens_in(get(site, "/signup").text)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert post(site, "/signup", signup_body(forged)).status_code == 403
    assert post(site, "/signup", signup_body(token)).status_code == 200
    assert post(site, "/signup", signup_body(token)).status_code == 409
    assert len(posts_seen(site, n)) == 1


def test_expired_token_asks_to_reload(site):
    [token] = tokens_in(get(site, "/signup").text)
    old = tokens.reissue(token, tokens.key_bytes(site.key),
                         issued=int((time.time() - 3 * 3600) * 1e6))
    n = len(site.backend.requests("POST"))
    r = post(site, "/signup", signup_body(old, "optin_newsletter=on"))
    assert r.status_code == 403
    assert "reload the page" in r.text
    assert posts_seen(site, n) == []


def test_other_refusals_before_the_app(site):
    n = len(site.backend.requests("POST"))
    # a box the page did not show cannot have been ticked by the person
    [token] = tokens_in(get(site, "/signup/short").text)
    assert post(site, "/signup", signup_body(token, "optin_partners=on")
                ).status_code == 400
    [token] = tokens_in(get(site, "/signup").text)
    assert post(site, "/signup", "email=x&consent_token=" + token
                ).status_code == 400
    assert post(site, "/signup", signup_body(token),
                headers={"Content-Type": "text/plain"}).status_code == 415
    assert post(site, "/signup", "x=" + "a" * 70000).status_code == 413
    # a form sent with method="get" would reach the application unchecked
    assert get(site, "/signup?optin_newsletter=on").status_code == 400
    assert posts_seen(site, n) == []
    assert len(site.backend.requests("GET")) == len(
        [e for e in site.backend.requests("GET")
         if "optin_newsletter=on" not in e["path"]])


def test_fix_mode_unticks_and_submissions_pass(site):
    r = get(site, "/fixed/preticked")
    original = site.backend.page("/signup/preticked")
    assert b'name="optin_newsletter" checked>' in original
    assert b'name="optin_newsletter">' + TOKEN_PREFIX in r.content
    # only the guarded box: the application's own "remember me" stays
    assert without_tokens(r.content) == original.replace(
        b'name="optin_newsletter" checked>', b'name="optin_newsletter">')
    assert "un-ticked 1 pre-ticked box(es) in /fixed/preticked" \
        in site.error_log()
    [token] = tokens_in(r.text)
    n = len(site.backend.requests("POST"))
    r = post(site, "/fixed", signup_body(token))
    assert r.status_code == 200
    [seen] = posts_seen(site, n)
    assert proof(site, seen["receipt"])["purposes"] == {
        "newsletter": "refused", "partners": "refused"}


# --- a CGI application -----------------------------------------------------

def cgi_posts(site):
    try:
        with open(os.path.join(site.dir, "cgi.log")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_cgi_application(site):
    r = get(site, "/cgi-signup")
    assert r.status_code == 200, site.error_log()
    [token] = tokens_in(r.text)
    body = "email=cgi%40example.org&optin_partners=on&consent_token=" + token
    assert post(site, "/cgi-signup", body).status_code == 200
    [seen] = cgi_posts(site)
    assert bytes.fromhex(seen["body"]) == body.encode()
    assert proof(site, seen["receipt"])["purposes"] == {
        "newsletter": "refused", "partners": "given"}
    [token] = tokens_in(get(site, "/cgi-signup?pre=1").text)
    r = post(site, "/cgi-signup?pre=1",
             "email=cgi%40example.org&consent_token=" + token)
    assert r.status_code == 422
    assert len(cgi_posts(site)) == 1


# --- start-up --------------------------------------------------------------

def test_definition_without_inputs_is_refused(fresh_apache):
    s = fresh_apache(forms=[], extra="<Location /g>\n    ConsentGuard %s\n"
                     "</Location>\n" % harness.EXAMPLE)
    rc, out = s.check_config()
    assert rc != 0
    assert "[guard]" in out and "newsletter.xml" in out
    s = fresh_apache(forms=[("/g", harness.EXAMPLE,
                             "    ConsentGuard %s" % DEFINITION)])
    rc, out = s.check_config()
    assert rc != 0 and "cannot share a location" in out
