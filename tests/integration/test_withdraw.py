"""L/withdraw: the withdrawal page (LEGAL.md R6), on sqlite3 and
PostgreSQL: as easy as consenting, signed like the form, a proof each."""
import pytest
import requests

import departures
from conftest import SERVERS, get_form, parse, submit, token_of


@pytest.fixture(scope="module", params=SERVERS)
def server_kind(request):
    """Every test here runs against Apache and nginx."""
    return request.param


@pytest.fixture(scope="module", params=["sqlite3", "pgsql"])
def server(request, server_kind):
    s = departures.start(request, request.param)
    yield s
    s.cleanup()


def consent(server, email, *purposes, lang="en"):
    _, token = get_form(server, lang=lang)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in purposes]
    r = submit(server, data, lang=lang)
    assert r.status_code == 200, r.text
    return r


def withdraw_page(server, lang="en"):
    r = requests.get(server.url("/newsletter/withdraw"), timeout=10,
                     headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    return r


def withdraw(server, data, lang="en", token=None):
    if token is None:
        token = token_of(withdraw_page(server, lang).text)
    data = list(data) + [("consent_token", token)]
    return requests.post(server.url("/newsletter/withdraw"), data=data,
                         timeout=30, headers={"Accept-Language": lang})


def test_page_is_accessible_unticked_and_uncached(server):
    r = withdraw_page(server, "fr")
    page = parse(r.text)
    assert page.html_lang == "fr"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "checked" not in r.text
    boxes = [i for i in page.inputs if i.get("type") == "checkbox"]
    assert {b["value"] for b in boxes} == {"1", "newsletter", "partners"}
    labelled = {l.get("for") for l in page.labels}
    for i in page.inputs:
        if i.get("type") != "hidden":
            assert i["id"] in labelled
        if i.get("aria-describedby"):
            assert i["aria-describedby"] in page.ids
    assert page.scripts == 0


def test_withdraw_after_consent_changes_status(server):
    consent(server, "w1@example.org", "newsletter", "partners")
    assert departures.status(server, "w1@example.org") == {
        "newsletter": "given", "partners": "given"}
    r = withdraw(server, [("email", "W1@Example.org"),
                          ("withdraw", "partners")], lang="fr")
    assert r.status_code == 200, r.text
    receipt = r.headers["Consent-Receipt"]
    assert receipt in r.text
    assert parse(r.text).html_lang == "fr"
    assert departures.status(server, "w1@example.org") == {
        "newsletter": "given", "partners": "withdrawn"}
    [proof] = [p for p in departures.harness.export(server)
               if p["receipt_id"] == receipt]
    assert proof["event"] == "withdrawal"
    assert proof["purposes"] == {"partners": "withdrawn"}
    assert proof["language"] == "fr"
    assert proof["token"]["defaults"] == "00"
    departures.assert_intact(server)


def test_withdraw_all(server):
    consent(server, "w2@example.org", "newsletter")
    r = withdraw(server, [("email", "w2@example.org"),
                          ("withdraw_all", "1")])
    assert r.status_code == 200
    assert departures.status(server, "w2@example.org") == {
        "newsletter": "withdrawn", "partners": "withdrawn"}


def test_nothing_selected_is_400_with_the_page_again(server):
    before = len(departures.harness.export(server))
    r = withdraw(server, [("email", "w3@example.org")], lang="fr")
    assert r.status_code == 400
    assert 'role="alert"' in r.text
    email = [i for i in parse(r.text).inputs if i.get("name") == "email"]
    assert email[0]["value"] == "w3@example.org"
    assert len(departures.harness.export(server)) == before


@pytest.mark.parametrize("data", [
    [("email", ""), ("withdraw_all", "1")],
    [("email", "not-an-address"), ("withdraw_all", "1")],
    [("email", "a@example.org"), ("withdraw", "everything")],
    [("email", "a@example.org"), ("withdraw", "partners"),
     ("withdraw", "partners")],
], ids=["empty", "invalid", "unknown", "duplicate"])
def test_bad_input_is_400(server, data):
    assert withdraw(server, data).status_code == 400


def test_without_or_with_forged_token_is_403(server):
    before = len(departures.harness.export(server))
    data = [("email", "a@example.org"), ("withdraw_all", "1")]
    assert withdraw(server, data, token="").status_code == 403
    token = token_of(withdraw_page(server).text)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert withdraw(server, data, token=forged).status_code == 403
    assert len(departures.harness.export(server)) == before


def test_replay_is_409(server):
    token = token_of(withdraw_page(server).text)
    data = [("email", "w4@example.org"), ("withdraw_all", "1")]
    assert withdraw(server, data, token=token).status_code == 200
    assert withdraw(server, data, token=token).status_code == 409


def test_media_type_size_and_method(server):
    url = server.url("/newsletter/withdraw")
    r = requests.post(url, data=b"{}", timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    r = requests.post(url, data="x=" + "a" * 70000, timeout=10,
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    r = requests.delete(url, timeout=10)
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]
    assert requests.head(url, timeout=10).status_code == 200


def test_store_down_is_503(fresh_apache):
    s = fresh_apache(params="/nonexistent/dir/consent.db").start()
    token = token_of(requests.get(s.url("/newsletter/withdraw"),
                                  timeout=10).text)
    r = requests.post(s.url("/newsletter/withdraw"), timeout=10, data={
        "email": "a@example.org", "withdraw_all": "1",
        "consent_token": token})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
