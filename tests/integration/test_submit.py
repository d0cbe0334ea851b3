"""POST at a form's location: every row of DESIGN.md's HTTP table, on
sqlite3 and on PostgreSQL, and the proof each success leaves."""
import re
import time
import uuid

import pytest
import requests

import harness
import tokens
from conftest import SERVERS, get_form, parse, submit


@pytest.fixture(scope="module", params=SERVERS)
def server_kind(request):
    """Every test here runs against Apache and nginx."""
    return request.param


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")


def proofs_of(server, receipt):
    return [p for p in harness.export(server) if p["receipt_id"] == receipt]


def count(server):
    return len(harness.export(server))


def assert_store_intact(server):
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr


def signup(server, lang="en", **fields):
    _, token = get_form(server, "/signup", lang)
    data = {"name": "Ada Lovelace", "email": "ada@example.org",
            "consent_token": token}
    data.update(fields)
    return submit(server, data, "/signup", lang)


# --- success -------------------------------------------------------------

def test_success_confirms_and_stores_the_proof(store_apache):
    _, token = get_form(store_apache, lang="en")
    r = submit(store_apache, [("email", "Ada@Example.org"),
                              ("consent", "newsletter"),
                              ("consent_token", token)],
               headers={"User-Agent": "pytest-agent/1.0",
                        "Accept-Language": "en"})
    assert r.status_code == 200, r.text
    receipt = r.headers["Consent-Receipt"]
    assert UUID_RE.match(receipt)
    assert receipt in r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert any(a.get("href") == "/newsletter/withdraw"
               for a in parse(r.text).links)
    [proof] = proofs_of(store_apache, receipt)
    assert proof["event"] == "submission"
    assert proof["purposes"] == {"newsletter": "given",
                                 "partners": "refused"}
    assert proof["subject"] == "ada@example.org"
    assert proof["ip"] == "127.0.0.1"
    assert proof["user_agent"] == "pytest-agent/1.0"
    assert proof["form_id"] == "newsletter"
    assert proof["form_version"] == 1
    assert proof["language"] == "en"
    assert proof["regime"] == "opt-in"
    assert re.match(r"^[0-9a-f]{64}$", proof["notice_sha256"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$",
                    proof["time"])
    assert proof["token"]["defaults"] == "00"
    assert proof["token"]["nonce"] == tokens.decode(token)["nonce"].hex()
    assert_store_intact(store_apache)


def test_silence_is_refusal(store_apache):
    _, token = get_form(store_apache, lang="fr")
    r = submit(store_apache, {"email": "bob@example.org",
                              "consent_token": token}, lang="fr")
    assert r.status_code == 200
    [proof] = proofs_of(store_apache, r.headers["Consent-Receipt"])
    assert proof["purposes"] == {"newsletter": "refused",
                                 "partners": "refused"}
    assert proof["language"] == "fr"


def test_success_url_gets_a_303(store_apache):
    _, token = get_form(store_apache, "/thanks-form")
    r = submit(store_apache, {"email": "c@example.org",
                              "consent_token": token}, "/thanks-form")
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/thanks.html")
    assert proofs_of(store_apache, r.headers["Consent-Receipt"])


# --- 400 -----------------------------------------------------------------

def test_invalid_field_shows_the_form_again_in_its_language(store_apache):
    before = count(store_apache)
    r = signup(store_apache, lang="fr", email="not-an-address",
               name="Zoé <b>", consent="newsletter")
    assert r.status_code == 400
    page = parse(r.text)
    assert page.html_lang == "fr"
    assert 'role="alert"' in r.text
    name = [i for i in page.inputs if i.get("name") == "name"][0]
    assert name["value"] == "Zoé <b>"           # kept, and escaped
    body = r.text.split("<body", 1)[1]
    assert "<b>" not in body                    # never raw in the page
    assert 'value="Zoé &lt;b&gt;"' in body       # but there, escaped
    assert "checked" not in r.text              # never re-ticked
    assert count(store_apache) == before


def test_missing_required_field(store_apache):
    assert signup(store_apache, email="").status_code == 400


def test_unknown_purpose(store_apache):
    assert signup(store_apache, consent="everything").status_code == 400


def test_nul_byte(store_apache):
    _, token = get_form(store_apache, "/signup")
    body = ("name=Ada%00Evil&email=ada%40example.org&consent_token="
            + token)
    r = requests.post(store_apache.url("/signup"), data=body, timeout=10,
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
    assert r.status_code == 400


def test_duplicate_single_valued_field(store_apache):
    _, token = get_form(store_apache, "/signup")
    r = submit(store_apache, [("name", "A"), ("email", "a@example.org"),
                              ("email", "b@example.org"),
                              ("consent_token", token)], "/signup")
    assert r.status_code == 400


def test_duplicate_box_and_duplicate_token(store_apache):
    _, token = get_form(store_apache)
    r = submit(store_apache, [("email", "a@example.org"),
                              ("consent", "newsletter"),
                              ("consent", "newsletter"),
                              ("consent_token", token)])
    assert r.status_code == 400
    r = submit(store_apache, [("email", "a@example.org"),
                              ("consent_token", token),
                              ("consent_token", token)])
    assert r.status_code == 400


def test_invalid_utf8(store_apache):
    _, token = get_form(store_apache, "/signup")
    body = ("name=%C3%28&email=ada%40example.org&consent_token=" + token)
    r = requests.post(store_apache.url("/signup"), data=body, timeout=10,
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
    assert r.status_code == 400


# --- 403 -----------------------------------------------------------------

def test_missing_token(store_apache):
    r = submit(store_apache, {"email": "a@example.org"})
    assert r.status_code == 403
    assert r.headers["Cache-Control"] == "no-store"


def test_forged_token(store_apache):
    _, token = get_form(store_apache)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    r = submit(store_apache, {"email": "a@example.org",
                              "consent_token": forged})
    assert r.status_code == 403


def test_truncated_token(store_apache):
    _, token = get_form(store_apache)
    for cut in (3, len(token) // 2, len(token) - 1):
        r = submit(store_apache, {"email": "a@example.org",
                                  "consent_token": token[:cut]})
        assert r.status_code == 403, cut


def test_token_signed_with_an_unknown_key(store_apache):
    _, token = get_form(store_apache)
    other = tokens.reissue(token, b"z" * 48)
    r = submit(store_apache, {"email": "a@example.org",
                              "consent_token": other})
    assert r.status_code == 403


def test_token_of_another_form(store_apache):
    _, token = get_form(store_apache, "/signup")
    r = submit(store_apache, {"email": "a@example.org",
                              "consent_token": token})
    assert r.status_code == 403
    assert "consent_token" not in r.text    # not the fresh-form answer


def test_expired_token_gets_a_fresh_form(store_apache):
    key = tokens.key_bytes(store_apache.key)
    _, token = get_form(store_apache)
    old = tokens.reissue(token, key,
                         issued=int((time.time() - 3 * 3600) * 1e6))
    r = submit(store_apache, {"email": "a@example.org",
                              "consent_token": old})
    assert r.status_code == 403
    fresh = [i for i in parse(r.text).inputs
             if i.get("name") == "consent_token"][0]["value"]
    assert fresh != old
    r = submit(store_apache, {"email": "a@example.org",
                              "consent_token": fresh})
    assert r.status_code == 200


# --- 409, 422 --------------------------------------------------------------

def test_replayed_token_is_409_and_stored_once(store_apache):
    _, token = get_form(store_apache)
    data = {"email": "replay@example.org", "consent_token": token}
    first = submit(store_apache, data)
    assert first.status_code == 200
    before = count(store_apache)
    second = submit(store_apache, data)
    assert second.status_code == 409
    assert count(store_apache) == before


def test_box_rendered_ticked_is_422_and_nothing_recorded(store_apache):
    key = tokens.key_bytes(store_apache.key)
    _, token = get_form(store_apache)
    preticked = tokens.reissue(token, key, defaults="10")
    before = count(store_apache)
    r = submit(store_apache, {"email": "a@example.org",
                              "consent": "newsletter",
                              "consent_token": preticked})
    assert r.status_code == 422
    assert count(store_apache) == before


# --- 413, 415 --------------------------------------------------------------

def test_body_over_the_limit(store_apache):
    _, token = get_form(store_apache, "/small")
    r = submit(store_apache, {"email": "a@example.org", "pad": "x" * 4096,
                              "consent_token": token}, "/small")
    assert r.status_code == 413


def test_one_megabyte_body(store_apache):
    r = requests.post(store_apache.url("/newsletter"),
                      data=b"email=" + b"a" * (1 << 20), timeout=30,
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_chunked_body_over_the_limit(store_apache):
    def chunks():
        for _ in range(64):
            yield b"x" * 1024
    r = requests.post(store_apache.url("/small"), data=chunks(), timeout=30,
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_wrong_content_type(store_apache):
    for ct in ("application/json", "multipart/form-data; boundary=x",
               "text/plain"):
        r = requests.post(store_apache.url("/newsletter"), data="{}",
                          headers={"Content-Type": ct}, timeout=10)
        assert r.status_code == 415, ct


# --- hostile values --------------------------------------------------------

HOSTILE = ["'; DROP TABLE consent_proof; --", "\" OR 1=1 --",
           "<script>alert(1)</script>", "Robert'); DELETE FROM x;--",
           "%00%27", "\u202e", "😀 ünïcödé"]


def test_hostile_values_in_every_field(store_apache):
    for value in HOSTILE:
        _, token = get_form(store_apache, "/signup")
        r = submit(store_apache, {"name": value,
                                  "email": "o'brien+x@example.org",
                                  "phone": "+33 1 23 45 67 89",
                                  "consent": "sms", "consent_token": token},
                   "/signup", headers={"User-Agent": value.encode()})
        assert r.status_code == 200, (value, r.text)
        assert "<script>" not in r.text
        [proof] = proofs_of(store_apache, r.headers["Consent-Receipt"])
        assert proof["user_agent"] == value
        assert proof["subject"] == "o'brien+x@example.org"
        # each hostile value is also refused where it is not valid
        r = signup(store_apache, email=value)
        assert r.status_code == 400
        assert "<script>" not in r.text
    assert_store_intact(store_apache)


def test_receipts_are_unique(store_apache):
    seen = set()
    for _ in range(5):
        _, token = get_form(store_apache)
        r = submit(store_apache, {"email": "u@example.org",
                                  "consent_token": token})
        seen.add(uuid.UUID(r.headers["Consent-Receipt"]))
    assert len(seen) == 5
