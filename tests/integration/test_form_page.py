"""GET at a form's location: what a person (and a screen reader) gets."""
import os

import pytest
import requests

import harness
from conftest import SERVERS, get_form, parse


@pytest.fixture(scope="module", params=SERVERS)
def server_kind(request):
    """Every test here runs against Apache and nginx."""
    return request.param


def test_english_form_has_everything_a_person_needs(apache):
    r, token = get_form(apache, lang="en-GB,en;q=0.9")
    page = parse(r.text)
    assert page.html_lang == "en"
    assert "Send me the monthly newsletter" in r.text
    assert "One email a month" in r.text
    assert "Example SAS" in r.text
    assert "privacy@example.org" in r.text
    assert any(a.get("href") == "https://example.org/privacy"
               for a in page.links)
    assert any(a.get("href") == "/newsletter/withdraw" for a in page.links)
    assert token.startswith("c1.")


def test_french_form(apache):
    r, _ = get_form(apache, lang="fr-FR,fr;q=0.9,en;q=0.5")
    assert parse(r.text).html_lang == "fr"
    assert r.headers["Content-Language"] == "fr"
    assert "lettre d'information mensuelle" in r.text \
        or "lettre d&#39;information mensuelle" in r.text \
        or "lettre d&apos;information mensuelle" in r.text
    assert "Désinscription à tout moment" in r.text


def test_unknown_language_falls_back_to_default(apache):
    r, _ = get_form(apache, lang="de-DE")
    assert r.headers["Content-Language"] == "en"


def test_headers_forbid_caching_and_framing(apache):
    r, _ = get_form(apache)
    assert r.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "Accept-Language" in r.headers["Vary"]
    assert r.headers["Content-Type"].startswith("text/html")
    assert "charset=utf-8" in r.headers["Content-Type"].lower()


def test_every_input_is_labelled_and_described(apache):
    r, _ = get_form(apache)
    page = parse(r.text)
    label_for = {l.get("for") for l in page.labels}
    visible = [i for i in page.inputs if i.get("type") != "hidden"]
    assert len(visible) >= 3
    for i in visible:
        assert i.get("id") in label_for, i
    boxes = [i for i in page.inputs if i.get("type") == "checkbox"]
    assert {b["value"] for b in boxes} == {"newsletter", "partners"}
    for b in boxes:
        assert b["name"] == "consent"
        assert "checked" not in b
        for ref in b["aria-describedby"].split():
            assert ref in page.ids


def test_no_box_is_ticked_and_no_script(apache):
    r, _ = get_form(apache)
    assert "checked" not in r.text
    assert parse(r.text).scripts == 0


def test_each_get_has_a_fresh_token(apache):
    _, t1 = get_form(apache)
    _, t2 = get_form(apache)
    assert t1 != t2


def test_head_has_headers_and_no_body(apache):
    r = requests.head(apache.url("/newsletter"), timeout=10)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.text == ""


def test_other_methods_get_405_with_allow(apache):
    for method in ("PUT", "DELETE", "PATCH"):
        r = requests.request(method, apache.url("/newsletter"), timeout=10)
        assert r.status_code == 405, method
        allow = {m.strip() for m in r.headers["Allow"].split(",")}
        assert {"GET", "POST"} <= allow


def test_unknown_sub_page_is_404(apache):
    r = requests.get(apache.url("/newsletter/nothing-here"), timeout=10)
    assert r.status_code == 404


def test_hostile_labels_come_out_inert(fresh_apache):
    form = os.path.join(harness.FIXTURES, "xss-labels.xml")
    server = fresh_apache(forms=[("/x", form, "")]).start()
    r, _ = get_form(server, "/x")
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text
    page = parse(r.text)
    assert page.scripts == 0
    # the quote in the purpose id cannot break out of the attribute
    for i in page.inputs:
        assert not any(k.startswith("onmouseover") for k in i)
