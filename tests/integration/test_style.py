"""The pages' stylesheet: served by the module at L/consent.css from
memory (strong ETag, 304, long cache for the versioned URL), linked by
every page it renders, allowed by their CSP; ConsentStyle appends a
site's custom properties and is checked at start-up; a layout directory's
own consent.css replaces the default. Every test runs against Apache and
nginx (consent_style is ConsentStyle's nginx name)."""
import os
import re
import shutil

import pytest
import requests

import departures
import harness
from conftest import SERVERS, get_form, submit

DEFAULT = open(os.path.join(harness.TEMPLATES, "consent.css"), "rb").read()
LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)">')


@pytest.fixture(scope="module", params=SERVERS)
def server_kind(request):
    return request.param


def href_of(html):
    m = LINK.search(html)
    assert m, html[:600]
    return m.group(1).replace("&amp;", "&")


def test_the_form_links_a_versioned_stylesheet_its_csp_allows(apache):
    r, _ = get_form(apache)
    href = href_of(r.text)
    assert re.fullmatch(r"/newsletter/consent\.css\?v=[0-9a-f]{12}", href)
    assert "style-src 'self'" in r.headers["Content-Security-Policy"]


def test_the_stylesheet_is_the_default_theme(apache):
    r, _ = get_form(apache)
    css = requests.get(apache.url(href_of(r.text)), timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.content == DEFAULT
    assert re.fullmatch(r'"[0-9a-f]{32}"', css.headers["ETag"])
    assert css.headers["Cache-Control"] == \
        "public, max-age=31536000, immutable"
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in css.headers


def test_unversioned_or_old_urls_are_cached_an_hour(apache):
    for q in ("", "?v=000000000000"):
        r = requests.get(apache.url("/newsletter/consent.css" + q),
                         timeout=10)
        assert r.status_code == 200 and r.content == DEFAULT
        assert r.headers["Cache-Control"] == "public, max-age=3600"


def test_if_none_match_gives_304(apache):
    url = apache.url("/newsletter/consent.css")
    etag = requests.get(url, timeout=10).headers["ETag"]
    for inm in (etag, "W/" + etag, '"x", ' + etag, "*"):
        r = requests.get(url, headers={"If-None-Match": inm}, timeout=10)
        assert r.status_code == 304, inm
        assert r.content == b"" and r.headers["ETag"] == etag
    r = requests.get(url, headers={"If-None-Match": '"other"'}, timeout=10)
    assert r.status_code == 200 and r.content == DEFAULT


def test_head_and_other_methods(apache):
    url = apache.url("/newsletter/consent.css")
    r = requests.head(url, timeout=10)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == str(len(DEFAULT))
    r = requests.post(url, data="x=1", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


def test_every_page_links_the_same_stylesheet(apache):
    r, token = get_form(apache)
    href = href_of(r.text)
    pages = {
        "400": submit(apache, {"email": "nope", "consent_token": token}),
        "403": submit(apache, {"email": "a@example.org",
                               "consent_token": "c1.forged"}),
        "withdraw": requests.get(apache.url("/newsletter/withdraw"),
                                 timeout=10),
        "405": requests.put(apache.url("/newsletter"), timeout=10),
    }
    _, token = get_form(apache)
    pages["confirmation"] = submit(apache, {"email": "style@example.org",
                                            "consent_token": token})
    link = departures.unsubscribe_url(apache, "style@example.org")[0]
    pages["unsubscribe"] = requests.get(link, timeout=10)
    pages["unsubscribe-done"] = requests.post(
        link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    for name, p in pages.items():
        assert href_of(p.text) == href, name


def test_a_second_location_links_its_own(fresh_apache):
    s = fresh_apache(forms=[("/a", harness.EXAMPLE, ""),
                            ("/b/c/", harness.EXAMPLE, "")]).start()
    for loc in ("/a", "/b/c/"):
        r = requests.get(s.url(loc), timeout=10)
        href = href_of(r.text)
        assert href.startswith(loc.rstrip("/") + "/consent.css?v=")
        assert requests.get(s.url(href), timeout=10).content == DEFAULT


def site_style(tmp_path, text):
    path = str(tmp_path / "site.css")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_consent_style_appends_a_sites_properties(fresh_apache, tmp_path):
    site = site_style(tmp_path, ":root { --consent-accent: #7a1f5c; "
                      "--consent-radius: 0; }\n")
    s = fresh_apache(forms=[
        ("/newsletter", harness.EXAMPLE, "    ConsentStyle " + site),
        ("/plain", harness.EXAMPLE, "")]).start()
    styled = href_of(requests.get(s.url("/newsletter"), timeout=10).text)
    plain = href_of(requests.get(s.url("/plain"), timeout=10).text)
    assert styled.split("?v=")[1] != plain.split("?v=")[1]
    css = requests.get(s.url(styled), timeout=10).content
    assert css.startswith(DEFAULT)
    assert css.endswith(b"--consent-accent: #7a1f5c; --consent-radius: 0; "
                        b"}\n")
    assert tmp_path.name.encode() not in css     # no server path shown
    assert requests.get(s.url(plain), timeout=10).content == DEFAULT


@pytest.mark.parametrize("text,line,says", [
    (":root {\n  --consent-acent: red;\n}\n", 2,
     "unknown property --consent-acent"),
    (":root { --consent-accent: red;\n", 1, "'{' is not closed"),
    ("}\n", 1, "closes no block"),
    ("/* x\n", 1, "comment is not closed"),
    (':root { --consent-font: "x;\n}\n', 1, "string is not closed"),
    ('@import url("/x.css");\n', 1, "@import is not allowed"),
    ("a { color: red; }\n\xff\n", 2, "invalid UTF-8"),
])
def test_a_bad_site_file_stops_start_up(fresh_apache, tmp_path, text, line,
                                        says):
    path = str(tmp_path / "site.css")
    with open(path, "wb") as f:
        f.write(text.encode("latin-1"))
    s = fresh_apache(forms=[("/newsletter", harness.EXAMPLE,
                             "    ConsentStyle " + path)])
    rc, out = s.check_config()
    assert rc != 0
    assert "%s:%d: [style]" % (path, line) in out and says in out, out


def test_a_missing_site_file_is_refused(fresh_apache, server_kind,
                                        tmp_path):
    line = "ConsentStyle %s/none.css" % tmp_path
    if server_kind == "apache":         # for the whole server there
        s = fresh_apache(extra=line + "\n")
        name = "ConsentStyle"
    else:
        s = fresh_apache(forms=[("/newsletter", harness.EXAMPLE,
                                 "    " + line)])
        name = "consent_style"
    rc, out = s.check_config()
    assert rc != 0 and name in out and "none.css" in out, out


def test_a_large_site_file_is_refused(fresh_apache, tmp_path):
    site = site_style(tmp_path, "/*" + "x" * 40000 + "*/\n")
    s = fresh_apache(forms=[("/newsletter", harness.EXAMPLE,
                             "    ConsentStyle " + site)])
    rc, out = s.check_config()
    assert rc != 0 and "larger than 32768 bytes" in out, out


def test_a_layout_directory_brings_its_own_stylesheet(fresh_apache,
                                                      tmp_path):
    layout = str(tmp_path / "layout")
    shutil.copytree(harness.TEMPLATES, layout)
    own = b":root { --consent-x: 1; }\nbody { color: #000; }\n"
    with open(layout + "/consent.css", "wb") as f:
        f.write(own)
    s = fresh_apache(forms=[("/newsletter", harness.EXAMPLE,
                             "    ConsentTemplateDir " + layout)]).start()
    href = href_of(requests.get(s.url("/newsletter"), timeout=10).text)
    assert requests.get(s.url(href), timeout=10).content == own


def test_a_layout_without_the_slot_links_nothing(fresh_apache, tmp_path):
    layout = str(tmp_path / "layout")
    shutil.copytree(harness.TEMPLATES, layout)
    os.remove(layout + "/consent.css")
    page = open(layout + "/page.html").read()
    with open(layout + "/page.html", "w") as f:
        f.write(page.replace("{{{stylesheet}}}\n", ""))
    s = fresh_apache(forms=[("/newsletter", harness.EXAMPLE,
                             "    ConsentTemplateDir " + layout)]).start()
    r = requests.get(s.url("/newsletter"), timeout=10)
    assert r.status_code == 200 and not LINK.search(r.text)


def readme_style():
    text = open(os.path.join(harness.TOP, "README.md")).read()
    block = text.split("/* /etc/apache2/consent/site.css */\n", 1)[1]
    return block.split("```", 1)[0]


@pytest.mark.parametrize("source", ["package example", "README"])
def test_the_documented_examples_are_accepted(fresh_apache, tmp_path,
                                              source):
    text = readme_style() if source == "README" else open(os.path.join(
        harness.TOP, "build", "debian-pkg", "examples", "site.css")).read()
    site = site_style(tmp_path, text)
    s = fresh_apache(forms=[("/newsletter", harness.EXAMPLE,
                             "    ConsentStyle " + site)]).start()
    href = href_of(requests.get(s.url("/newsletter"), timeout=10).text)
    css = requests.get(s.url(href), timeout=10).content.decode()
    assert "--consent-accent: #7a1f5c;" in css
