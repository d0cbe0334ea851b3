"""consentctl refuses what would reach a mail header or a proof unchecked
(issue 11, section 3): --base, --purpose, --form, --subject of
unsubscribe-url; suppression-list output opened by a spreadsheet."""
import csv
import io
import subprocess

import pytest

import harness
from conftest import get_form, submit


def url(key, *args):
    return harness.consentctl("-k", key, "unsubscribe-url", *args)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return harness.write_key(str(tmp_path_factory.mktemp("k") / "k.key"))


GOOD = ["--base", "https://example.org/newsletter", "--form", "newsletter",
        "--subject", "ada@example.org"]


def with_arg(name, value):
    args = list(GOOD)
    if name in args:
        args[args.index(name) + 1] = value
    else:
        args += [name, value]
    return args


def test_a_good_link(key):
    p = url(key, *GOOD, "--purpose", "partners")
    assert p.returncode == 0, p.stderr
    link, header, post = p.stdout.splitlines()
    assert link.startswith("https://example.org/newsletter/unsubscribe?t=")
    assert header == "List-Unsubscribe: <%s>" % link


@pytest.mark.parametrize("base", [
    "https://example.org/n\r\nBcc: evil@example.net",
    "https://example.org/n\nBcc: evil@example.net",
    "https://example.org/n\rX", "https://example.org/\tn",
    "https://example.org/n\x7f", "https://exa mple.org/",
    "https://example.org/<n>", "https://example.org/\"n",
    "https://example.org/\u00e9", "ftp://example.org/n", "javascript:x",
    "https://", "https:///path", "example.org/newsletter", "",
], ids=["crlf-bcc", "lf-bcc", "cr", "tab", "del", "space", "angle",
        "quote", "non-ascii", "ftp", "javascript", "no-host", "empty-host",
        "relative", "empty"])
def test_bad_base_exits_2_and_prints_no_header(key, base):
    p = url(key, *with_arg("--base", base))
    assert p.returncode == 2, p.stdout
    assert p.stdout == ""
    assert "--base" in p.stderr
    assert "Bcc" not in p.stderr            # not echoed back


@pytest.mark.parametrize("purpose", ["a b", "1newsletter", "", "news;x",
                                     "news\nx", "n" * 256, "caf\u00e9"])
def test_purpose_of_no_form_exits_2(key, purpose):
    p = url(key, *GOOD, "--purpose", purpose)
    assert p.returncode == 2, p.stdout
    assert p.stdout == ""
    assert "--purpose" in p.stderr


def test_form_id_syntax_exits_2(key):
    p = url(key, *with_arg("--form", "news letter"))
    assert p.returncode == 2 and p.stdout == ""


@pytest.mark.parametrize("subject", ["ada\u200b@example.org",
                                     "ada@example.org\u2028",
                                     "=HYPERLINK(\"x\")@example.org"])
def test_subject_rules_apply(key, subject):
    p = url(key, *with_arg("--subject", subject))
    assert p.returncode == 2 and p.stdout == ""
    assert "--subject" in p.stderr


def test_form_file_checks_purposes_and_form(key):
    p = url(key, *GOOD, "--purpose", "partners", "--form-file",
            harness.EXAMPLE)
    assert p.returncode == 0, p.stderr
    p = url(key, *GOOD, "--purpose", "nosuchpurpose", "--form-file",
            harness.EXAMPLE)
    assert p.returncode == 2 and p.stdout == ""
    assert "not a purpose of the form" in p.stderr
    p = url(key, *with_arg("--form", "other"), "--form-file",
            harness.EXAMPLE)
    assert p.returncode == 2 and p.stdout == ""
    p = url(key, *GOOD, "--form-file", "/nonexistent.xml")
    assert p.returncode == 1 and p.stdout == ""


def test_suppression_list_is_safe_in_a_spreadsheet(fresh_apache):
    server = fresh_apache().start()
    _, token = get_form(server)
    r = submit(server, {"email": "gone@example.org",
                        "consent_token": token})
    assert r.status_code == 200
    # a subject stored before the input rules (by an older version)
    subprocess.run(["sqlite3", server.params,
                    "INSERT INTO consent_proof (receipt_id, event, time_us,"
                    " subject, choices, lane, lane_seq, prev_mac,"
                    " mac_key_id, mac) SELECT 'old-1', event, time_us + 1,"
                    " '=HYPERLINK(\"http://x\")@example.org', choices, lane,"
                    " lane_seq + 1000, prev_mac, mac_key_id, mac"
                    " FROM consent_proof LIMIT 1"], check=True)
    base = ("-d", server.driver, "-p", server.params, "suppression-list")
    plain = harness.consentctl(*base)
    assert plain.returncode == 0, plain.stderr
    # exact for a mailer, with a warning for people
    assert '=HYPERLINK("http://x")@example.org' in plain.stdout.splitlines()
    assert "1 subject starts with = + - or @" in plain.stderr
    p = harness.consentctl(*base, "--csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0] == ["subject"]
    cells = [r[0] for r in rows[1:]]
    assert "gone@example.org" in cells
    assert "'=HYPERLINK(\"http://x\")@example.org" in cells
    assert not any(c[:1] in "=+-@" for c in cells)


def test_every_command_spells_a_subject_as_the_store_does(fresh_apache):
    server = fresh_apache().start()
    _, token = get_form(server)
    r = submit(server, {"email": " Ada@Example.ORG ", "consent": "newsletter",
                        "consent_token": token})
    assert r.status_code == 200, r.text
    base = ("-d", server.driver, "-p", server.params)
    p = harness.consentctl(*base, "export", "--subject", "ADA@example.org ")
    assert p.returncode == 0, p.stderr
    assert '"subject":"ada@example.org"' in p.stdout
    p = harness.consentctl(*base, "status", "--subject", " ada@EXAMPLE.org")
    assert p.returncode == 0, p.stderr
    assert "given" in p.stdout
