"""Browser and accessibility gate: Debian's Chromium, driven by
playwright-core (tests/browser/run.mjs), completes the form with the mouse
and with the keyboard alone in en and fr, and visits every page of
tests/browser/pages.mjs (form, confirmation, error pages, withdrawal,
unsubscribe) with axe-core, in the light and the dark colour scheme: no
WCAG 2.1 A/AA violation. Screenshots go to tests/browser/artifacts/; the
README's (desktop and phone, light and dark, en and fr) to
tests/browser/artifacts/look/, or to docs/screenshots/ with
CONSENT_UPDATE_SCREENSHOTS=1 (then commit them)."""
import json
import os
import subprocess

import pytest
import requests

import harness
import tokens
from conftest import token_of

BROWSER = os.path.join(harness.TOP, "tests", "browser")
ARTIFACTS = os.path.join(BROWSER, "artifacts")
CHROMIUM = "/usr/bin/chromium"     # tests/browser/run.mjs launches it
LOOK = (os.path.join(harness.TOP, "docs", "screenshots")
        if os.environ.get("CONSENT_UPDATE_SCREENSHOTS")
        else os.path.join(ARTIFACTS, "look"))
MODULES = ("axe-core", "playwright-core", "vnu-jar")


def npm_ci():
    if all(os.path.isdir(os.path.join(BROWSER, "node_modules", m))
           for m in MODULES):
        return
    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER,
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ,
                                PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))
    assert p.returncode == 0, p.stdout + p.stderr


def preticked(server, lang):
    """A token of this form that says a box was rendered ticked (R1)."""
    r = requests.get(server.url("/newsletter"),
                     headers={"Accept-Language": lang}, timeout=10)
    return tokens.reissue(token_of(r.text), tokens.key_bytes(server.key),
                          defaults="10")


def unsubscribe_link(server):
    p = harness.consentctl("-k", server.key, "unsubscribe-url", "--base",
                           server.url("/newsletter"), "--form",
                           "newsletter", "--subject", "axe@example.org")
    assert p.returncode == 0, p.stderr
    link = next((w for w in p.stdout.replace("<", " ").replace(">", " ")
                 .split() if w.startswith("http")), None)
    assert link, p.stdout
    return link


@pytest.fixture(scope="module")
def report():
    # a gate that cannot run fails: it never passes for want of a browser
    assert os.access(CHROMIUM, os.X_OK), \
        CHROMIUM + " is missing: build/install-deps installs chromium"
    npm_ci()
    server = harness.ApacheServer().start()
    try:
        assert requests.get(server.url("/newsletter/withdraw"),
                            timeout=10).status_code == 200
        ctx = {"base": server.url(""), "artifacts": ARTIFACTS, "look": LOOK,
               "preticked": {l: preticked(server, l) for l in ("en", "fr")},
               "withdraw": True,
               "unsubscribe": unsubscribe_link(server)}
        p = subprocess.run(["node", os.path.join(BROWSER, "run.mjs"),
                            json.dumps(ctx)], capture_output=True,
                           text=True, timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
        out = json.loads(p.stdout)
        out["proofs"] = {x["receipt_id"]: x for x in harness.export(server)}
        yield out
    finally:
        server.cleanup()


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("way,ticked", [("mouse", "newsletter"),
                                        ("keyboard", "partners")])
def test_a_person_completes_the_form(report, way, ticked, lang):
    [s] = [s for s in report["scenarios"]
           if s["name"] == way and s["lang"] == lang]
    assert "error" not in s, s["error"]
    assert s["status"] == 200 and s["shown"], s
    proof = report["proofs"][s["header"]]          # found in the store
    assert proof["language"] == lang
    assert proof["subject"] == "%s-%s@example.org" % (way, lang)
    assert proof["purposes"][ticked] == "given"
    assert sorted(v for k, v in proof["purposes"].items()
                  if k != ticked) == ["refused"]


def test_every_page_was_visited(report):
    names = {p["name"] for p in report["pages"]}
    assert {"form", "confirmation", "error-400", "error-403", "error-409",
            "error-422", "withdraw", "withdraw-done", "unsubscribe",
            "unsubscribe-done"} <= names, names


def test_every_page_answers_as_expected(report):
    wrong = [p for p in report["pages"]
             if p.get("error") or p["status"] != p["expected"]
             or p["htmlLang"] != p["lang"]]
    assert not wrong, json.dumps(wrong, indent=1)


def test_no_wcag21_aa_violation(report):
    bad = [p for p in report["pages"] if p.get("violations")]
    assert not bad, json.dumps(bad, indent=1)


def test_withdrawal_in_the_browser_is_stored(report):
    done = [p for p in report["pages"] if p["name"] == "withdraw-done"]
    assert done, "the withdrawal page was not visited"
    events = {p["event"] for p in report["proofs"].values()
              if p["subject"] == "axe@example.org"}
    assert "withdrawal" in events, events


def test_every_page_was_checked_in_both_schemes(report):
    seen = {(p["name"], p["lang"], p["scheme"]) for p in report["pages"]}
    for name, lang, _ in seen:
        assert (name, lang, "dark") in seen and (name, lang, "light") in seen


def test_the_theme_applies_under_the_pages_csp(report):
    """The look screenshots are taken without bypassing the CSP: the
    stylesheet at L/consent.css must load under style-src 'self'."""
    looks = report["looks"]
    assert {(l["view"], l["scheme"], l["lang"]) for l in looks
            if l["name"] == "form"} >= {
        (v, s, l) for v in ("desktop", "phone") for s in ("light", "dark")
        for l in ("en", "fr")}
    bad = [l for l in looks if l.get("error") or not l["styled"]]
    assert not bad, json.dumps(bad, indent=1)
    for l in looks:
        if "file" in l:
            assert os.path.getsize(os.path.join(LOOK, l["file"])) > 0


def test_tap_targets_and_narrow_screens(report):
    """Every control is at least 44 px high (a checkbox's row: its label
    is clickable), and no page scrolls sideways at 375 or 320 px, nor at
    1280 px zoomed to 200 % (640 CSS px)."""
    bad = [l for l in report["looks"] if l["small"] or l["overflow"]]
    assert not bad, json.dumps(bad, indent=1)
    views = {l["view"] for l in report["looks"]}
    assert {"narrow", "zoomed"} <= views, views


def test_dark_scheme_changes_the_background(report):
    bg = {(l["name"], l["view"], l["scheme"]): l["background"]
          for l in report["looks"] if l["name"] == "form"}
    assert bg[("form", "desktop", "light")] != bg[("form", "desktop",
                                                     "dark")]
