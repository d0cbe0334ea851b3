"""status --json "stale" (issue 16, ISO/IEC 29184: ask again when the
notice changes): a consent given on a form of which the store has since
seen a newer version, with another text, is stale; a consent on the
newest version, and any state that is no consent, is not."""
import json
import os

import pytest

import harness
from conftest import STORES, get_form, server_class, store_params, submit


@pytest.fixture(scope="module")
def v2_form(tmp_path_factory):
    """The example form, version 2, its newsletter text changed."""
    with open(harness.EXAMPLE) as f:
        text = f.read()
    text = text.replace('version="1"', 'version="2"').replace(
        "One email a month.", "One email a week.")
    path = str(tmp_path_factory.mktemp("forms") / "newsletter-v2.xml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(os.path.dirname(path), 0o755)
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="module", params=STORES)
def server(request, v2_form):
    driver, params = store_params(request, request.param)
    s = server_class("apache")(driver=driver, params=params, forms=[
        ("/newsletter", harness.EXAMPLE, ""),
        ("/v2", v2_form, ""),
    ]).start()
    yield s
    s.cleanup()


def consent(server, path, email, *purposes):
    _, token = get_form(server, path)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in purposes]
    r = submit(server, data, path=path)
    assert r.status_code == 200, r.text


def stale(server, subject):
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "status", "--subject", subject, "--json")
    assert p.returncode == 0, p.stderr
    return {k: (v["state"], v["stale"])
            for k, v in json.loads(p.stdout)["purposes"].items()}


def test_stale_after_a_newer_version_is_seen(server):
    consent(server, "/newsletter", "a@example.org", "newsletter")
    consent(server, "/newsletter", "b@example.org")
    assert stale(server, "a@example.org") == {
        "newsletter": ("given", False), "partners": ("refused", False)}

    consent(server, "/v2", "c@example.org", "newsletter", "partners")
    assert stale(server, "a@example.org") == {
        "newsletter": ("given", True), "partners": ("refused", False)}
    assert stale(server, "b@example.org") == {
        "newsletter": ("refused", False), "partners": ("refused", False)}
    assert stale(server, "c@example.org") == {
        "newsletter": ("given", False), "partners": ("given", False)}

    # asked again on the new version: current
    consent(server, "/v2", "a@example.org", "newsletter")
    assert stale(server, "a@example.org") == {
        "newsletter": ("given", False), "partners": ("refused", False)}
