"""HTML gate: the Nu Html Checker (npm's vnu-jar, run by Debian's Java)
finds no error in any page the module renders: the form, 400, 403, 409,
422, 405, the confirmation, the withdrawal page and its confirmation, the
unsubscribe confirm page and its confirmation, and the unsubscribe error
page. Each page is fetched from a real Apache as a browser would get it."""
import json
import os
import subprocess

import pytest
import requests

import departures
import harness
import tokens
from conftest import get_form, submit, token_of
from test_gates_browser import BROWSER, npm_ci

VNU = os.path.join(BROWSER, "node_modules", "vnu-jar", "build", "dist",
                   "vnu.jar")


def fetch_pages(server):
    """name -> (status, html) of every page kind."""
    pages = {}
    r, token = get_form(server)
    pages["form"] = r
    pages["error-400"] = submit(server, {"email": "nobody",
                                         "consent_token": token})
    pages["error-403"] = submit(server, {"email": "a@example.org",
                                         "consent_token": "c1.forged"})
    pages["error-422"] = submit(server, {
        "email": "a@example.org",
        "consent_token": tokens.reissue(token, tokens.key_bytes(server.key),
                                        defaults="10")})
    _, token = get_form(server)
    pages["confirmation"] = submit(server, {"email": "vnu@example.org",
                                            "consent": "newsletter",
                                            "consent_token": token})
    pages["error-409"] = submit(server, {"email": "vnu@example.org",
                                         "consent_token": token})
    pages["error-405"] = requests.put(server.url("/newsletter"), timeout=10)
    w = requests.get(server.url("/newsletter/withdraw"), timeout=10)
    pages["withdraw"] = w
    pages["withdraw-400"] = submit(server, {
        "email": "vnu@example.org", "consent_token": token_of(w.text)},
        path="/newsletter/withdraw")
    w = requests.get(server.url("/newsletter/withdraw"), timeout=10)
    pages["withdraw-done"] = submit(server, {
        "email": "vnu@example.org", "withdraw_all": "1",
        "consent_token": token_of(w.text)}, path="/newsletter/withdraw")
    link = departures.unsubscribe_url(server, "vnu@example.org")[0]
    pages["unsubscribe"] = requests.get(link, timeout=10)
    pages["unsubscribe-done"] = requests.post(
        link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    pages["unsubscribe-403"] = requests.get(link[:-4], timeout=10)
    return pages


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    npm_ci()
    out = tmp_path_factory.mktemp("vnu")
    server = harness.ApacheServer().start()
    try:
        pages = fetch_pages(server)
    finally:
        server.cleanup()
    files = {}
    for name, r in pages.items():
        assert r.headers["Content-Type"].startswith("text/html"), name
        path = str(out / (name + ".html"))
        with open(path, "wb") as f:
            f.write(r.content)
        files[name] = (r.status_code, path)
    p = subprocess.run(["java", "-jar", VNU, "--format", "json",
                        "--exit-zero-always"]
                       + [f for _, f in files.values()],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return files, json.loads(p.stderr)["messages"]


def test_every_page_kind_was_fetched(report):
    files, _ = report
    want = {"form": 200, "error-400": 400, "error-403": 403,
            "error-409": 409, "error-422": 422, "error-405": 405,
            "confirmation": 200, "withdraw": 200, "withdraw-400": 400,
            "withdraw-done": 200, "unsubscribe": 200,
            "unsubscribe-done": 200, "unsubscribe-403": 403}
    assert {n: s for n, (s, _) in files.items()} == want


def test_the_nu_html_checker_finds_no_error(report):
    files, messages = report
    errors = [m for m in messages if m.get("type") == "error"
              or m.get("subType") == "fatal"]
    assert not errors, json.dumps(errors, indent=1)


def test_the_checker_does_find_errors(tmp_path):
    """The gate can fail: a page with a stray end tag is an error."""
    npm_ci()
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html lang=en><head><title>x</title>"
                   "</head><body><p>x</div></body></html>")
    p = subprocess.run(["java", "-jar", VNU, "--format", "json",
                        "--exit-zero-always", str(bad)],
                       capture_output=True, text=True, timeout=300)
    assert any(m["type"] == "error"
               for m in json.loads(p.stderr)["messages"]), p.stderr
