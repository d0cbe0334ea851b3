"""Strict input on every page (issue 11, section 3): invalid UTF-8, a NUL
in a field name, invisible or formula-like subjects, and a token posted
to a page of another kind. Each is refused and nothing is stored."""
import os

import pytest
import requests

import departures
import harness
import tokens
from conftest import get_form, parse, submit, token_of

URLENCODED = {"Content-Type": "application/x-www-form-urlencoded",
              "Accept-Language": "en"}

BAD_UTF8 = {
    "overlong-dot": "%C0%AE",
    "overlong-nul": "%C0%80",
    "overlong-slash": "%E0%80%AF",
    "surrogate": "%ED%A0%80",
    "above-10ffff": "%F4%90%80%80",
    "truncated": "%E2%82",
    "lone-continuation": "%80",
}


@pytest.fixture(scope="module", params=["sqlite3", "pgsql"])
def server(request):
    driver, params = departures.store_params(request, request.param)
    s = harness.ApacheServer(driver=driver, params=params, forms=[
        ("/newsletter", harness.EXAMPLE, ""),
        ("/signup", os.path.join(harness.FIXTURES, "signup.xml"), "")]
    ).start()
    yield s
    s.cleanup()


def count(server):
    return len(harness.export(server))


def post_raw(server, path, body):
    return requests.post(server.url(path), data=body, headers=URLENCODED,
                         timeout=30, allow_redirects=False)


def form_token(server):
    return get_form(server)[1]


def withdraw_token(server):
    r = requests.get(server.url("/newsletter/withdraw"), timeout=10)
    assert r.status_code == 200
    return token_of(r.text)


def assert_form_again(r):
    """400 with the page shown again, signed afresh."""
    assert r.status_code == 400, r.text
    assert token_of(r.text)
    assert 'role="alert"' in r.text


@pytest.mark.parametrize("seq", list(BAD_UTF8.values()),
                         ids=list(BAD_UTF8))
def test_invalid_utf8_at_the_form(server, seq):
    before = count(server)
    for body in ("email=a" + seq + "%40example.org",
                 "email=a%40example.org&consent=newsletter" + seq):
        r = post_raw(server, "/newsletter",
                     body + "&consent_token=" + form_token(server))
        assert_form_again(r)
    assert count(server) == before


@pytest.mark.parametrize("seq", list(BAD_UTF8.values()),
                         ids=list(BAD_UTF8))
def test_invalid_utf8_in_a_free_text_field(server, seq):
    """The name field takes any text: only the UTF-8 reader stands here."""
    before = count(server)
    r = post_raw(server, "/signup", "name=Ada" + seq + "&email=ada%40"
                 "example.org&consent_token=" + get_form(server, "/signup")[1])
    assert_form_again(r)
    assert count(server) == before
    r = post_raw(server, "/signup", "name=Ad%C3%A9%F0%9F%98%80&email=ada%40"
                 "example.org&consent_token=" + get_form(server, "/signup")[1])
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("seq", list(BAD_UTF8.values()),
                         ids=list(BAD_UTF8))
def test_invalid_utf8_at_the_withdrawal_page(server, seq):
    before = count(server)
    for body in ("email=a" + seq + "%40example.org&withdraw_all=1",
                 "email=a%40example.org&withdraw=newsletter" + seq):
        r = post_raw(server, "/newsletter/withdraw",
                     body + "&consent_token=" + withdraw_token(server))
        assert_form_again(r)
    assert count(server) == before


def test_nul_in_a_field_name_is_not_a_consent(server):
    before = count(server)
    r = post_raw(server, "/newsletter",
                 "email=nul%40example.org&consent%00junk=newsletter"
                 "&consent_token=" + form_token(server))
    assert_form_again(r)
    r = post_raw(server, "/newsletter/withdraw",
                 "email=nul%40example.org&withdraw%00x=newsletter"
                 "&consent_token=" + withdraw_token(server))
    assert_form_again(r)
    # and a name in invalid UTF-8
    r = post_raw(server, "/newsletter",
                 "email=nul%40example.org&consent%C0%80=newsletter"
                 "&consent_token=" + form_token(server))
    assert_form_again(r)
    assert count(server) == before


def test_malformed_escape_is_400(server):
    before = count(server)
    r = post_raw(server, "/newsletter",
                 "email=a%40example.org&consent=news%zzletter"
                 "&consent_token=" + form_token(server))
    assert r.status_code == 400
    assert count(server) == before


@pytest.mark.parametrize("subject", [
    "ada\u200b@example.org", "ada@example.org\u2028", "ada\u2029@ex.org",
    "ada\ufeff@example.org", "ada\u200e@example.org", "ada\u00ad@ex.org",
    "ada\u0085@example.org", "=cmd@example.org", "+sum@example.org",
    "-1@example.org",
], ids=["zwsp", "line-sep", "para-sep", "bom", "lrm", "soft-hyphen",
        "nel", "equals", "plus", "minus"])
def test_subject_rules_at_both_pages(server, subject):
    before = count(server)
    r = submit(server, {"email": subject, "consent": "newsletter",
                        "consent_token": form_token(server)})
    assert_form_again(r)
    r = requests.post(server.url("/newsletter/withdraw"), timeout=30,
                      data={"email": subject, "withdraw_all": "1",
                            "consent_token": withdraw_token(server)})
    assert_form_again(r)
    assert count(server) == before


def test_a_plain_non_ascii_subject_is_kept(server):
    r = submit(server, {"email": "zoé@exemple.fr",
                        "consent_token": form_token(server)})
    assert r.status_code == 200, r.text


def test_withdrawal_token_posted_to_the_form_is_403(server):
    before = count(server)
    r = submit(server, {"email": "cross@example.org",
                        "consent": "newsletter",
                        "consent_token": withdraw_token(server)})
    assert r.status_code == 403
    assert count(server) == before


def test_form_token_posted_to_the_withdrawal_page_is_403(server):
    before = count(server)
    r = requests.post(server.url("/newsletter/withdraw"), timeout=30,
                      data={"email": "cross@example.org",
                            "withdraw_all": "1",
                            "consent_token": form_token(server)})
    assert r.status_code == 403
    assert count(server) == before


def test_token_of_before_the_page_kind_gets_a_fresh_page(server):
    key = tokens.key_bytes(server.key)
    old = tokens.reissue(form_token(server), key, page=None)
    before = count(server)
    r = submit(server, {"email": "old@example.org",
                        "consent_token": old})
    assert r.status_code == 403
    assert token_of(r.text)             # a fresh form to submit again
    assert count(server) == before
    # and it is the signature that stops a page kind made up
    assert tokens.decode(old)["page"] is None
    forged = tokens.reissue(withdraw_token(server), b"z" * 48, page="form")
    r = submit(server, {"email": "old@example.org",
                        "consent_token": forged})
    assert r.status_code == 403
    assert count(server) == before


@pytest.mark.parametrize("text", ["Ada\u2028Lovelace", "Ada\x85",
                                  "Ada\u2029"])
def test_line_breaks_in_a_free_text_field(server, text):
    before = count(server)
    r = submit(server, {"name": text, "email": "ada@example.org",
                        "consent_token": get_form(server, "/signup")[1]},
               "/signup")
    assert_form_again(r)
    assert count(server) == before


def test_one_click_name_with_nul_is_not_one_click(server):
    [url, _, _] = departures.unsubscribe_url(server, "nul1@example.org")
    before = count(server)
    for body in ("List-Unsubscribe%00x=One-Click",
                 "List-Unsubscribe=One-Click%C0%80"):
        r = requests.post(url, data=body, headers=URLENCODED, timeout=30)
        assert r.status_code == 400
    assert count(server) == before
    r = requests.post(url, data="List-Unsubscribe=One-Click",
                      headers=URLENCODED, timeout=30)
    assert r.status_code == 200
