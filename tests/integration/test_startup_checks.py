"""`apache2 -t` refuses what would make consent invalid or insecure."""
import glob
import os
import pwd
import re
import shutil

import pytest

import harness

BAD_FORMS = sorted(glob.glob(os.path.join(harness.FIXTURES, "bad-*.xml")))


def expected_rule(path):
    kind = os.path.basename(path).split("-")[1]
    return kind.upper() if re.fullmatch(r"r\d+", kind) else kind


def test_the_example_configuration_is_valid(fresh_apache):
    rc, out = fresh_apache().check_config()
    assert rc == 0, out
    assert "Syntax OK" in out


@pytest.mark.parametrize("form", BAD_FORMS, ids=os.path.basename)
def test_bad_definition_stops_startup(fresh_apache, form):
    rc, out = fresh_apache(forms=[("/f", form, "")]).check_config()
    assert rc != 0, out
    assert "ConsentForm" in out
    assert re.search(re.escape(form) + r":\d+: \[" + expected_rule(form)
                     + r"\]", out), out


def test_every_rule_has_a_failing_fixture():
    rules = {expected_rule(f) for f in BAD_FORMS}
    assert {"R1", "R3", "R4", "R5", "R7", "schema", "xml"} <= rules


@pytest.mark.parametrize("case", ["missing", "short", "group", "others",
                                  "owned-by-www-data"])
def test_bad_secret_file_stops_startup(fresh_apache, case):
    server = fresh_apache()
    path = os.path.join(server.dir, "bad.key")
    if case == "short":
        harness.write_key(path, b"x" * 31)
    elif case == "group":
        harness.write_key(path, mode=0o640)
    elif case == "others":
        harness.write_key(path, mode=0o604)
    elif case == "owned-by-www-data":
        # mode 600, but the web server's User could chmod or rewrite it
        assert os.geteuid() == 0, "apache2 -t is started as root here"
        harness.write_key(path)
        os.chown(path, pwd.getpwnam("www-data").pw_uid, 0)
    server.key = path
    rc, out = server.check_config()
    assert rc != 0, out
    assert "ConsentSecretFile" in out and path in out
    assert "k" * 20 not in out      # the secret never appears
    if case == "owned-by-www-data":
        assert "owned by www-data" in out


def test_secret_file_owned_by_root_starts(fresh_apache):
    server = fresh_apache()
    os.chown(server.key, 0, 0)
    rc, out = server.check_config()
    assert rc == 0, out


def test_form_without_secret_stops_startup(fresh_apache):
    server = fresh_apache()
    server.config_text_orig = server.config_text
    server.config_text = lambda: "\n".join(
        l for l in server.config_text_orig().splitlines()
        if not l.startswith("ConsentSecretFile"))
    rc, out = server.check_config()
    assert rc != 0
    assert "ConsentSecretFile" in out


def test_form_without_store_stops_startup(fresh_apache):
    server = fresh_apache()
    orig = server.config_text
    server.config_text = lambda: "\n".join(
        l for l in orig().splitlines() if not l.startswith("DBD"))
    rc, out = server.check_config()
    assert rc != 0
    assert "DBDriver" in out


def test_pre_ticking_layout_stops_startup(fresh_apache, tmp_path):
    layout = tmp_path / "layout"
    shutil.copytree(harness.TEMPLATES, layout)
    purpose = layout / "purpose.html"
    html = purpose.read_text()
    assert 'type="checkbox"' in html
    purpose.write_text(html.replace('type="checkbox"',
                                    'type="checkbox" checked', 1))
    server = fresh_apache(forms=[("/f", harness.EXAMPLE,
                                  "    ConsentTemplateDir %s" % layout)])
    rc, out = server.check_config()
    assert rc != 0, out
    assert re.search(re.escape(str(purpose)) + r":\d+: \[R1\]", out), out


def test_unknown_directive_value_is_refused(fresh_apache):
    server = fresh_apache(forms=[("/f", harness.EXAMPLE,
                                  "    ConsentTokenLifetime forever")])
    rc, out = server.check_config()
    assert rc != 0
    assert "ConsentTokenLifetime" in out
