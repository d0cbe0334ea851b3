import os
import sys
from html.parser import HTMLParser

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


CRASH_OPT_OUT = "kills_children"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", CRASH_OPT_OUT + ": the test kills a server process with "
        "a signal itself and checks the log on its own (harness."
        "crash_lines); the crash scan leaves it out")


def _crash_report(item, found):
    return ("a server process died of a signal during %s:\n  %s"
            % (item.nodeid, "\n  ".join(found)))


@pytest.fixture(autouse=True)
def no_server_crashed(request):
    """After every test, every log of every server the harness knows
    (harness.watch_log) is read for what it wrote meanwhile: a child that
    died of a signal fails the test even when no client noticed."""
    yield
    found = harness.scan_logs()
    if found and not request.node.get_closest_marker(CRASH_OPT_OUT):
        pytest.fail(_crash_report(request.node, found), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Module and session servers stop after the fixture above has run:
    what their last moments logged is charged to the test before them."""
    yield
    found = harness.scan_logs()
    if found and not item.get_closest_marker(CRASH_OPT_OUT):
        raise AssertionError(_crash_report(item, found))
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


@pytest.fixture(scope="session")
def mariadb():
    server = harness.MariaDBServer().start()
    yield server
    server.cleanup()


# every kind of store the module supports, for the store fixtures
STORES = ["sqlite3", "pgsql", "mysql"]


def store_params(request, driver):
    """(driver, params) of a fresh store of the given kind."""
    if driver == "pgsql":
        return driver, request.getfixturevalue("postgres").create_db()
    if driver == "mysql":
        return driver, request.getfixturevalue("mariadb").create_db()
    return driver, None


@pytest.fixture(scope="module", params=STORES)
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
