"""consentctl report (issue 16): on each kind of store, proofs made through
a real Apache (two sites, two versions of a form, a withdrawal, a
one-click unsubscribe), and the report's figures checked against what
`export` says, recomputed here independently, and against the facts of
the scenario (who is stale, what each version's rate is). The HTML page
is checked self-contained and escaped, and looked at in Debian's
Chromium (tests/browser/report.mjs) in English and French."""
import collections
import csv
import datetime
import io
import json
import os
import shutil
import subprocess
import time
import urllib.parse
from html.parser import HTMLParser

import pytest
import requests

import harness
from conftest import STORES, store_params, token_of
from test_consentctl import build_generator, max_rss_kib
from test_gates_browser import ARTIFACTS, BROWSER, npm_ci

VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    ConsentTemplateDir {templates}
    <Location /v1>
        SetHandler consent-form
        ConsentForm {v1}
    </Location>
    <Location /v2>
        SetHandler consent-form
        ConsentForm {v2}
    </Location>
</VirtualHost>
"""


def second_version(where):
    """The example form, version 2, with a changed notice."""
    with open(harness.EXAMPLE) as f:
        text = f.read()
    assert 'version="1"' in text
    text = text.replace('version="1"', 'version="2"', 1).replace(
        "One email a month.", "Two emails a month.")
    path = os.path.join(where, "newsletter-v2.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Site:
    def __init__(self, server, name):
        self.server, self.name = server, name

    def get(self, path):
        r = requests.get(self.server.url(path), timeout=10,
                         headers={"Host": self.name})
        assert r.status_code == 200, r.text
        return r

    def post(self, path, data, **kw):
        r = requests.post(self.server.url(path), data=data, timeout=30,
                          headers=dict({"Host": self.name}, **kw),
                          allow_redirects=False)
        assert r.status_code in (200, 303), (r.status_code, r.text)
        return r

    def consent(self, path, email, *purposes):
        token = token_of(self.get(path).text)
        self.post(path, [("email", email), ("consent_token", token)]
                  + [("consent", p) for p in purposes])

    def withdraw(self, path, email, purpose):
        token = token_of(self.get(path + "/withdraw").text)
        self.post(path + "/withdraw", [("email", email),
                                       ("withdraw", purpose),
                                       ("consent_token", token)])

    def unsubscribe(self, key, path, email):
        p = harness.consentctl("-k", key, "unsubscribe-url", "--base",
                               "http://%s%s" % (self.name, path), "--form",
                               "newsletter", "--subject", email)
        assert p.returncode == 0, p.stderr
        link = urllib.parse.urlsplit(p.stdout.splitlines()[0])
        self.post(link.path + "?" + link.query, "List-Unsubscribe=One-Click",
                  **{"Content-Type": "application/x-www-form-urlencoded"})


@pytest.fixture(scope="module", params=STORES)
def store(request):
    """A store a real Apache filled: at a.test alice, bob and carol on
    version 1, then alice withdraws the newsletter, dave consents on
    version 2 and bob unsubscribes; at b.test erin on version 1."""
    driver, params = store_params(request, request.param)
    d = harness.make_workdir()
    server = harness.ApacheServer(workdir=d, driver=driver, params=params,
                                  forms=[])
    v2 = second_version(d)
    server.extra = "".join(VHOST.format(
        port=server.port, name=name, templates=harness.TEMPLATES,
        v1=harness.EXAMPLE, v2=v2) for name in ("a.test", "b.test"))
    server.start()
    a, b = Site(server, "a.test"), Site(server, "b.test")
    a.consent("/v1", "alice@example.org", "newsletter", "partners")
    a.consent("/v1", "bob@example.org", "newsletter")
    a.consent("/v1", "carol@example.org")
    time.sleep(1.1)
    server.mid = int(time.time())
    time.sleep(1.1)
    a.withdraw("/v1", "alice@example.org", "newsletter")
    a.consent("/v2", "dave@example.org", "newsletter")
    a.unsubscribe(server.key, "/v1", "bob@example.org")
    b.consent("/v1", "erin@example.org", "newsletter")
    server.proofs = harness.export(server)
    assert len(server.proofs) == 7
    yield server
    server.cleanup()


def ctl(server, *args):
    return harness.consentctl("-d", server.driver, "-p", server.params,
                              "report", *args)


def report(server, *args):
    p = ctl(server, *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


# ---- what export says, recomputed here ---------------------------------

def when(proof):
    return datetime.datetime.strptime(
        proof["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


def chosen(proofs, site=None, since=None, until=None):
    return [p for p in proofs
            if (site is None or p["site"] == site)
            and (since is None or when(p) >= since)
            and (until is None or when(p) < until)]


def tally(proofs):
    out = collections.defaultdict(collections.Counter)
    for p in proofs:
        for purpose, state in p["purposes"].items():
            out[purpose][state] += 1
    return {k: dict(v) for k, v in out.items()}


def day(proof):
    return proof["time"][:10]


def series(proofs):
    days = collections.defaultdict(list)
    for p in proofs:
        days[day(p)].append(p)
    return {d: (tally(ps), dict(collections.Counter(p["event"] for p in ps)))
            for d, ps in days.items()}


def population(proofs):
    latest = {}
    for p in sorted(proofs, key=when):
        for purpose, state in p["purposes"].items():
            latest[(p["subject"], purpose)] = state
    out = collections.defaultdict(collections.Counter)
    for (_, purpose), state in latest.items():
        out[purpose][state] += 1
    return {k: dict(v) for k, v in out.items()}


def check_series(got, proofs):
    want = series(proofs)
    nonempty = {s["period"]: (s["totals"], s["events"])
                for s in got if s["totals"] or s["events"]}
    assert nonempty == want
    days = [s["period"] for s in got]
    assert days == sorted(days) and len(set(days)) == len(days)


# ---- the figures -------------------------------------------------------

def test_totals_series_and_population_of_the_whole_store(store):
    r = report(store)
    assert r["totals"] == tally(store.proofs)
    # the scenario: a withdrawal and an unsubscribe are decisions too
    assert r["totals"]["newsletter"]["withdrawn"] >= 2
    assert r["proofs"] == 7 and r["by"] == "day"
    assert r["since"] is None and r["until"] is None and r["site"] is None
    check_series(r["series"], store.proofs)
    assert r["people"] == 5
    assert r["population"] == population(store.proofs)
    # alice's partners consent and erin's newsletter one were given on
    # version 1, and the store has seen version 2 of the form since
    assert r["stale"] == {"newsletter": 1, "partners": 1}


def test_rates_and_notices(store):
    r = report(store, "--site", "a.test")
    forms = {(f["form_id"], f["version"]): f for f in r["forms"]}
    assert set(forms) == {("newsletter", 1), ("newsletter", 2)}
    v1, v2 = forms[("newsletter", 1)], forms[("newsletter", 2)]
    assert v1["submissions"] == 3 and v2["submissions"] == 1
    assert v1["regime"] == "opt-in"
    assert v1["purposes"]["newsletter"] == {
        "submitted": {"given": 2, "refused": 1}, "given": 2,
        "rate": 0.6667}
    assert v1["purposes"]["partners"]["rate"] == 0.3333
    assert v2["purposes"]["newsletter"]["rate"] == 1.0
    digests = {(p["form_version"], p["language"]): p["notice_sha256"]
               for p in chosen(store.proofs, site="a.test")
               if p["event"] == "submission"}
    notices = {n["sha256"]: n for n in r["notices"]}
    assert notices[digests[(2, "en")]]["in_force"] is True
    assert notices[digests[(2, "en")]]["proofs"] == 1
    assert notices[digests[(1, "en")]]["in_force"] is False
    assert digests[(1, "en")] != digests[(2, "en")]


def test_site_keeps_to_its_proofs(store):
    for site in ("a.test", "b.test"):
        mine = chosen(store.proofs, site=site)
        r = report(store, "--site", site)
        assert r["site"] == site
        assert r["totals"] == tally(mine)
        assert r["population"] == population(mine)
        check_series(r["series"], mine)
    a = report(store, "--site", "a.test")
    assert a["people"] == 4 and a["stale"] == {"partners": 1}
    # b.test never showed version 2: erin's consent is current there
    b = report(store, "--site=b.test")
    assert b["people"] == 1 and b["stale"] == {}
    assert report(store, "--site", "c.test")["totals"] == {}


def test_since_and_until(store):
    mid = store.mid
    before = report(store, "--until", str(mid))
    after = report(store, "--since", str(mid))
    assert before["totals"] == tally(chosen(store.proofs, until=mid))
    assert after["totals"] == tally(chosen(store.proofs, since=mid))
    assert before["proofs"] == 3 and after["proofs"] == 4
    check_series(after["series"], chosen(store.proofs, since=mid))
    # the population is as of --until: before the withdrawal, nobody
    # stale yet (version 2 not seen)
    assert before["population"] == population(
        chosen(store.proofs, until=mid))
    assert before["stale"] == {}
    iso = datetime.datetime.fromtimestamp(mid, datetime.timezone.utc)
    window = report(store, "--since", iso.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "--until", str(mid + 3600))
    assert window["totals"] == after["totals"]
    assert window["since"] == iso.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def test_csv_rows_are_the_series(store, tmp_path):
    out = str(tmp_path / "r.csv")
    p = ctl(store, "--format", "csv", "-o", out)
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f:
        text = f.read().decode()
    assert text.startswith("period,purpose,state,count\r\n")    # RFC 4180
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    got = collections.Counter()
    for period, purpose, state, count in rows:
        got[(period, purpose, state)] += int(count)
    want = collections.Counter()
    for d, (totals, _) in series(store.proofs).items():
        for purpose, states in totals.items():
            for state, n in states.items():
                want[(d, purpose, state)] += n
    assert got == want and len(rows) == len(want)


def test_output_file(store, tmp_path):
    out = str(tmp_path / "r.json")
    p = ctl(store, "-o", out)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    with open(out) as f:
        assert json.load(f)["totals"] == tally(store.proofs)
    assert os.listdir(tmp_path) == ["r.json"]
    p = ctl(store, "-o", str(tmp_path / "no" / "such" / "dir.json"))
    assert p.returncode == 1 and "consentctl report" in p.stderr


# ---- bad arguments, no store -------------------------------------------

BAD = [("--format", "xml"), ("--by", "month"), ("--since", "yesterday"),
       ("--until", "2026-13-01"), ("--since", "2026-02-02", "--until",
                                   "2026-02-01"),
       ("extra",), ("--lang",), ("--format", "html", "--lang", "xx"),
       ("--site", "Not A Site")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    where = str(tmp_path_factory.mktemp("report-tiny"))
    key = harness.write_key(os.path.join(where, "k.key"))
    db = os.path.join(where, "s.db")
    subprocess.run([build_generator(where), "sqlite3", db, key, "3", "1"],
                   check=True, capture_output=True, timeout=300)
    return db


@pytest.mark.parametrize("args", BAD, ids=lambda a: " ".join(a))
def test_bad_arguments_are_usage_errors(args, tiny):
    assert harness.consentctl("-d", "sqlite3", "-p", tiny,
                              "report").returncode == 0
    p = harness.consentctl("-d", "sqlite3", "-p", tiny, "report", *args)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == "" and p.stderr.strip()


def test_a_missing_store_is_exit_4(tmp_path, postgres):
    typo = str(tmp_path / "typo.db")
    p = harness.consentctl("-d", "sqlite3", "-p", typo, "report")
    assert p.returncode == 4 and "no store at " + typo in p.stderr
    assert not os.path.exists(typo) and p.stdout == ""
    p = harness.consentctl("-d", "pgsql", "-p", postgres.create_db(),
                           "report", "--format", "html")
    assert p.returncode == 4 and "is not a mod_consent store" in p.stderr


# ---- the HTML page -----------------------------------------------------

class Page(HTMLParser):
    """What a self-contained page must not have, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.refs, self.text, self.lang = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action",
                        "poster", "data"):
                self.refs.append((tag, name, value))
            if name == "style" and "url(" in (value or ""):
                self.refs.append((tag, name, value))
        if tag == "html":
            self.lang = dict(attrs).get("lang")

    def handle_data(self, data):
        self.text.append(data)


def page_of(html):
    p = Page()
    p.feed(html)
    p.close()
    p.text = " ".join(" ".join(p.text).split())
    return p


def html_report(store, where, lang):
    path = os.path.join(where, "report-%s.html" % lang)
    p = ctl(store, "--format", "html", "--lang", lang, "-o", path)
    assert p.returncode == 0, p.stderr
    with open(path, encoding="utf-8") as f:
        return path, f.read()


def assert_self_contained(html):
    page = page_of(html)
    assert "script" not in page.tags and "link" not in page.tags
    assert "img" not in page.tags and "iframe" not in page.tags
    assert page.refs == []
    assert "@import" not in html and "url(" not in html
    assert "@font-face" not in html
    return page


def test_html_is_self_contained_and_translated(store, tmp_path):
    _, en = html_report(store, str(tmp_path), "en")
    _, fr = html_report(store, str(tmp_path), "fr")
    pe, pf = assert_self_contained(en), assert_self_contained(fr)
    assert pe.lang == "en" and pf.lang == "fr"
    assert "Consent report" in pe.text and "Notices in force" in pe.text
    assert "Rapport sur les consentements" in pf.text
    assert "État actuel de la population" in pf.text
    assert "Consent report" not in pf.text
    assert "@media print" in en and "size:A4" in en
    assert pe.tags.count("svg") >= 3
    for n in report(store)["notices"]:
        assert (n["sha256"] in pe.text) == n["in_force"]


def test_html_in_chromium(store, tmp_path):
    npm_ci()
    files = [{"lang": lang, "path": html_report(store, str(tmp_path),
                                                lang)[0]}
             for lang in ("en", "fr")]
    art = os.path.join(ARTIFACTS, "report-" + store.driver)
    p = subprocess.run(["node", os.path.join(BROWSER, "report.mjs"),
                        json.dumps({"files": files, "artifacts": art})],
                       capture_output=True, text=True, timeout=300,
                       cwd=BROWSER)
    assert p.returncode == 0, p.stderr
    seen = {f["lang"]: f for f in json.loads(p.stdout)["files"]}
    for lang, f in seen.items():
        assert "error" not in f, f
        assert f["htmlLang"] == lang and f["scripts"] == 0
        assert f["fetched"] == [] and f["errors"] == []
        assert not f["overflow"] and not f["printOverflow"]
        assert f["violations"] == [], f["violations"]
        assert 1 <= f["pdfPages"] <= 4
        # one chart per purpose, and withdrawals and unsubscribes: each
        # drawn, with a bar per period and state at least
        assert len(f["charts"]) == 3, f["charts"]
        for c in f["charts"]:
            assert c["width"] > 300 and c["height"] > 50, c
            assert c["marks"] >= 1 and c["inked"] > 0.02, c
        assert os.path.getsize(f["screenshot"]) > 20000
    assert seen["fr"]["title"] == "Rapport sur les consentements"
    assert "Retraits et désinscriptions dans le temps" in \
        seen["fr"]["headings"]
    assert "Withdrawals and unsubscribes over time" in \
        seen["en"]["headings"]


# ---- longer histories, hostile contents, memory (sqlite3) --------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """600 proofs from bench/gen_proofs.c, spread over 120 days (time_us
    edited: report reads, it does not verify)."""
    where = str(tmp_path_factory.mktemp("report-gen"))
    key = harness.write_key(os.path.join(where, "k.key"))
    db = os.path.join(where, "s.db")
    subprocess.run([build_generator(where), "sqlite3", db, key, "600", "4"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run(["sqlite3", db,
                    "UPDATE consent_proof SET time_us = time_us"
                    " - (seq % 120) * 86400000000"], check=True)
    return db


def gen_report(db, *args):
    p = harness.consentctl("-d", "sqlite3", "-p", db, "report", *args)
    assert p.returncode == 0, p.stderr
    return p


def gen_export(db):
    return [json.loads(line) for line in harness.consentctl(
        "-d", "sqlite3", "-p", db, "export").stdout.splitlines()]


def test_long_ranges_go_by_week(generated):
    proofs = gen_export(generated)
    r = json.loads(gen_report(generated).stdout)
    assert r["by"] == "week"
    weeks = [datetime.date.fromisoformat(s["period"]) for s in r["series"]]
    assert all(w.weekday() == 0 for w in weeks)
    assert [(b - a).days for a, b in zip(weeks, weeks[1:])] == \
        [7] * (len(weeks) - 1)
    by_week = collections.defaultdict(collections.Counter)
    for p in proofs:
        d = datetime.date.fromisoformat(day(p))
        monday = d - datetime.timedelta(days=d.weekday())
        for purpose, state in p["purposes"].items():
            by_week[monday.isoformat()][(purpose, state)] += 1
    got = {s["period"]: collections.Counter(
        {(pu, st): n for pu, states in s["totals"].items()
         for st, n in states.items()}) for s in r["series"]}
    assert {k: v for k, v in got.items() if v} == dict(by_week)
    daily = json.loads(gen_report(generated, "--by", "day").stdout)
    assert daily["by"] == "day" and len(daily["series"]) == 120
    check_series(daily["series"], proofs)
    recent = json.loads(gen_report(generated, "--since", str(
        int(time.time()) - 30 * 86400)).stdout)
    assert recent["by"] == "day"


def test_store_strings_are_escaped(generated, tmp_path):
    db = str(tmp_path / "hostile.db")
    shutil.copy(generated, db)
    subprocess.run(["sqlite3", db,
                    "UPDATE consent_proof SET choices = '<b>x</b>=given;"
                    "news\"letter=<i>s</i>', form_id = '\"><script>x()"
                    "</script>', lang = '<img src=//e.test/t>' WHERE seq"
                    " % 2 = 0"], check=True)
    for lang in ("en", "fr"):
        html = gen_report(db, "--format", "html", "--lang", lang).stdout
        page = assert_self_contained(html)
        assert "b" not in page.tags and "i" not in page.tags
        assert "<b>x</b>" in page.text and '"><script>x()</script>' \
            in page.text
    got = json.loads(gen_report(db).stdout)
    assert got["totals"]["<b>x</b>"]["given"] == 300
    rows = list(csv.reader(io.StringIO(gen_report(db, "--format",
                                                   "csv").stdout)))
    assert ["<b>x</b>", "given"] in [r[1:3] for r in rows]


def test_memory_does_not_grow_with_the_store(tmp_path):
    gen = build_generator(str(tmp_path))
    key = harness.write_key(str(tmp_path / "k.key"))
    rss = {}
    for n in (4000, 40000):
        db = str(tmp_path / ("%d.db" % n))
        subprocess.run([gen, "sqlite3", db, key, str(n), "64"], check=True,
                       capture_output=True, timeout=300)
        for fmt in ("json", "html"):
            rss[(n, fmt)] = max_rss_kib("-d", "sqlite3", "-p", db, "report",
                                        "--format", fmt)
    print("report max RSS (KiB):", rss)
    for fmt in ("json", "html"):
        assert rss[(40000, fmt)] / rss[(4000, fmt)] < 1.3, rss
