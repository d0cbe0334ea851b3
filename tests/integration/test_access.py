"""consentctl access (issue 16, GDPR art. 15 and 20): everything the store
holds about one person, on each kind of store. The history is made by a
real Apache serving two sites (two name-based vhosts, sites a.test and
b.test): submissions in two languages, a withdrawal on the withdrawal
page and a one-click unsubscribe, plus another person."""
import hashlib
import html
import json
import urllib.parse

import pytest
import requests

import harness
from conftest import STORES, parse, store_params, token_of

VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    ConsentTemplateDir {templates}
    <Location /newsletter>
        SetHandler consent-form
        ConsentForm {form}
    </Location>
</VirtualHost>
"""
PERSON = "Access.Person@Example.org"    # stored lower-cased
STORED = PERSON.lower()
OTHER = "someone.else@example.org"
EVIL_UA = "Mozilla/5.0 <script>alert('ua')</script> & co"


class Site:
    def __init__(self, server, name):
        self.server, self.name = server, name

    def headers(self, lang="en", ua=None):
        h = {"Host": self.name, "Accept-Language": lang}
        if ua:
            h["User-Agent"] = ua
        return h

    def token(self, path, lang="en"):
        r = requests.get(self.server.url(path), headers=self.headers(lang),
                         timeout=10)
        assert r.status_code == 200, r.text
        return token_of(r.text)

    def post(self, path, data, lang="en", ua=None):
        return requests.post(self.server.url(path), data=data, timeout=30,
                             headers=self.headers(lang, ua),
                             allow_redirects=False)

    def consent(self, email, purposes, lang="en", ua=None):
        data = [("email", email),
                ("consent_token", self.token("/newsletter", lang))]
        data += [("consent", p) for p in purposes]
        r = self.post("/newsletter", data, lang, ua)
        assert r.status_code == 200, r.text
        return r.headers["Consent-Receipt"]

    def withdraw(self, email, purpose):
        data = [("email", email), ("withdraw", purpose),
                ("consent_token", self.token("/newsletter/withdraw"))]
        r = self.post("/newsletter/withdraw", data)
        assert r.status_code in (200, 303), r.text

    def unsubscribe(self, key, email, purpose):
        p = harness.consentctl("-k", key, "unsubscribe-url", "--base",
                               "http://%s/newsletter" % self.name,
                               "--form", "newsletter", "--subject", email,
                               "--purpose", purpose)
        assert p.returncode == 0, p.stderr
        link = urllib.parse.urlsplit(p.stdout.splitlines()[0])
        r = self.post(link.path + "?" + link.query,
                      {"List-Unsubscribe": "One-Click"})
        assert r.status_code in (200, 303), r.text


@pytest.fixture(scope="module", params=STORES)
def history(request):
    """A two-site Apache on one store of each kind, and what happened."""
    driver, params = store_params(request, request.param)
    server = harness.ApacheServer(driver=driver, params=params, forms=[])
    server.extra = "".join(VHOST.format(port=server.port, name=n,
                                        form=harness.EXAMPLE,
                                        templates=harness.TEMPLATES)
                           for n in ("a.test", "b.test"))
    server.start()
    a, b = Site(server, "a.test"), Site(server, "b.test")
    a.consent(PERSON, ["newsletter"], ua=EVIL_UA)
    a.consent(PERSON, ["newsletter", "partners"], lang="fr")
    a.withdraw(PERSON, "newsletter")
    a.unsubscribe(server.key, PERSON, "partners")
    b.consent(PERSON, ["partners"])
    a.consent(OTHER, ["newsletter"])
    yield server
    server.cleanup()


def ctl(server, *args):
    return harness.consentctl("-d", server.driver, "-p", server.params,
                              *args)


def access(server, *args):
    p = ctl(server, "access", *args)
    assert p.returncode == 0, (p.returncode, p.stderr)
    return json.loads(p.stdout)


def export(server, *args):
    p = ctl(server, "export", *args)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def status_purposes(server, *site):
    p = ctl(server, *site, "status", "--subject", PERSON, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["purposes"]


def test_access_has_every_proof_notice_and_state(history):
    doc = access(history, "--subject", PERSON)
    mine = [p for p in export(history) if p["subject"] == STORED]
    assert len(mine) == 5
    assert doc["subject"] == STORED and doc["site"] is None
    # every proof, whole, in time order, and nobody else's
    assert doc["proofs"] == mine
    assert [p["event"] for p in doc["proofs"]] == [
        "submission", "submission", "withdrawal", "unsubscribe",
        "submission"]
    assert OTHER not in json.dumps(doc)
    # the state is status's, to the byte
    assert doc["purposes"] == status_purposes(history)
    # b.test's submission came last: its refusal is the latest word
    assert {k: v["state"] for k, v in doc["purposes"].items()} == {
        "newsletter": "refused", "partners": "given"}
    # each notice seen once, its exact text (its digest is the proof's)
    digests = [n["notice_sha256"] for n in doc["notices"]]
    assert len(digests) == len(set(digests))
    assert set(digests) == {p["notice_sha256"] for p in mine
                            if p["notice_sha256"]}
    assert len(digests) == 3        # a.test en, a.test fr, b.test en
    for n in doc["notices"]:
        text = n["text"]
        assert hashlib.sha256(text.encode()).hexdigest() == \
            n["notice_sha256"]
        assert "controller: Example SAS <privacy@example.org>\n" in text
        assert "language: %s\n" % n["language"] in text
    fr = [n for n in doc["notices"] if n["language"] == "fr"]
    assert len(fr) == 1 and "Je souhaite recevoir" in fr[0]["text"]


def test_access_of_one_site(history):
    doc = access(history, "--site", "b.test", "--subject", PERSON)
    assert [p["site"] for p in doc["proofs"]] == ["b.test"]
    assert doc["site"] == "b.test"
    assert doc["purposes"] == status_purposes(history, "--site", "b.test")
    assert {k: v["state"] for k, v in doc["purposes"].items()} == {
        "newsletter": "refused", "partners": "given"}
    assert len(doc["notices"]) == 1
    assert "site: b.test\n" in doc["notices"][0]["text"]
    a = access(history, "--subject", PERSON, "--site", "a.test")
    assert len(a["proofs"]) == 4
    assert {p["site"] for p in a["proofs"]} == {"a.test"}
    assert a["purposes"] == status_purposes(history, "--site", "a.test")
    assert {k: v["state"] for k, v in a["purposes"].items()} == {
        "newsletter": "withdrawn", "partners": "withdrawn"}


def test_access_of_an_unknown_person_is_empty(history):
    doc = access(history, "--subject", "nobody@example.org")
    assert (doc["proofs"], doc["notices"], doc["purposes"]) == ([], [], {})


def test_access_html_is_escaped_and_readable(history):
    p = ctl(history, "access", "--subject", PERSON, "--format", "html",
            "--lang", "en")
    assert p.returncode == 0, p.stderr
    page = p.stdout
    assert "<script" not in page
    assert html.escape(EVIL_UA, quote=True).replace("&#x27;", "&#39;") \
        in page
    assert parse(page).scripts == 0 and parse(page).html_lang == "en"
    assert "Your choices today" in page
    assert "Send me the monthly newsletter" in page     # labels, not ids
    assert page.count("<details>") == 3                 # one per notice
    assert STORED in page and OTHER not in page
    fr = ctl(history, "access", "--subject", PERSON, "--format", "html",
             "--lang", "fr")
    assert fr.returncode == 0, fr.stderr
    assert parse(fr.stdout).html_lang == "fr"
    assert "Vos choix aujourd'hui" in html.unescape(fr.stdout)
    assert html.unescape(fr.stdout).count("retiré") >= 1


def test_access_html_escapes_the_subject_asked(history):
    p = ctl(history, "access", "--subject", "<script>x</script>",
            "--format", "html")
    assert p.returncode == 0, p.stderr
    assert "<script" not in p.stdout
    assert "&lt;script&gt;x&lt;/script&gt;" in p.stdout
    assert "We hold no record about you." in p.stdout


@pytest.mark.parametrize("args", [
    ("access",),
    ("access", "--subject", PERSON, "--format", "pdf"),
    ("access", "--subject", PERSON, "--lang", "fr"),     # json has none
    ("access", "--subject", PERSON, "--format", "html", "--lang", "xx"),
    ("access", "--subject", PERSON, "extra"),
], ids=["no-subject", "bad-format", "lang-without-html", "unknown-lang",
        "extra-argument"])
def test_access_usage_errors(history, args):
    p = ctl(history, *args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.strip()


def test_access_without_a_store(tmp_path):
    p = harness.consentctl("-p", str(tmp_path / "none.db"), "access",
                           "--subject", PERSON)
    assert p.returncode == 4, p.stderr
    assert "no store at" in p.stderr
