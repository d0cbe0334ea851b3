import os
import sys
from html.parser import HTMLParser

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


# The server a test runs against. Apache unless a test module overrides
# this fixture with both (SERVERS): the HTTP behaviour is the same, so the
# same test bodies run against nginx (nginx_harness.NginxServer mirrors
# harness.ApacheServer).
SERVERS = ["apache", "nginx"]


@pytest.fixture(scope="module")
def server_kind():
    return "apache"


def server_class(kind):
    if kind == "nginx":
        import nginx_harness
        return nginx_harness.NginxServer
    return harness.ApacheServer


@pytest.fixture(scope="module")
def apache(server_kind):
    """The example form at /newsletter over sqlite3."""
    server = server_class(server_kind)().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def postgres():
    server = harness.PostgresServer().start()
    yield server
    server.cleanup()


def store_params(request, driver):
    """(driver, params) of a fresh store of the given kind."""
    if driver == "pgsql":
        return driver, request.getfixturevalue("postgres").create_db()
    return driver, None


@pytest.fixture(scope="module", params=["sqlite3", "pgsql"])
def store_apache(request, server_kind):
    """The example and the signup forms, on each kind of store."""
    driver, params = store_params(request, request.param)
    server = server_class(server_kind)(driver=driver, params=params, forms=[
        ("/newsletter", harness.EXAMPLE, ""),
        ("/signup", os.path.join(harness.FIXTURES, "signup.xml"), ""),
        ("/thanks-form", harness.EXAMPLE,
         "    ConsentSuccessURL /thanks.html"),
        ("/small", harness.EXAMPLE, "    ConsentMaxBody 2048"),
    ]).start()
    yield server
    server.cleanup()


@pytest.fixture
def fresh_apache(server_kind):
    servers = []

    def make(**kw):
        s = server_class(server_kind)(**kw)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.cleanup()


class PageParser(HTMLParser):
    """Collects what the tests look at: inputs, labels, links, ids."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inputs, self.labels, self.links, self.ids = [], [], [], set()
        self.scripts = 0
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "label":
            self.labels.append(a)
        elif tag == "a":
            self.links.append(a)
        elif tag == "script":
            self.scripts += 1


def parse(html):
    p = PageParser()
    p.feed(html)
    return p


def token_of(html):
    for i in parse(html).inputs:
        if i.get("name") == "consent_token":
            return i["value"]
    raise AssertionError("no consent_token in page:\n" + html[:2000])


def get_form(server, path="/newsletter", lang="en"):
    r = requests.get(server.url(path), headers={"Accept-Language": lang},
                     timeout=10)
    assert r.status_code == 200, r.text
    return r, token_of(r.text)


def submit(server, data, path="/newsletter", lang="en", headers=None,
           **kw):
    h = {"Accept-Language": lang}
    h.update(headers or {})
    return requests.post(server.url(path), data=data, timeout=30,
                         headers=h, allow_redirects=False, **kw)
