"""Helpers shared by the departure tests (withdrawal page, one-click
unsubscribe, regimes): servers on both stores, links, status."""
import json
import os

import harness
from conftest import server_class, store_params

SOFT = os.path.join(harness.TEMPLATES, "examples", "soft-opt-in.xml")
B2B = os.path.join(harness.TEMPLATES, "examples", "b2b.xml")
FORMS = [
    ("/newsletter", harness.EXAMPLE, ""),
    ("/customers", SOFT, ""),
    ("/pro", B2B, ""),
]


def start(request, driver):
    driver, params = store_params(request, driver)
    kind = request.getfixturevalue("server_kind")
    return server_class(kind)(driver=driver, params=params,
                              forms=FORMS).start()


def unsubscribe_url(server, subject, form="newsletter", base="/newsletter",
                    purposes=(), key=None):
    args = ["-k", key or server.key, "unsubscribe-url", "--base",
            server.url(base), "--form", form, "--subject", subject]
    for p in purposes:
        args += ["--purpose", p]
    p = harness.consentctl(*args)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def status(server, subject):
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "status", "--subject", subject, "--json")
    assert p.returncode == 0, p.stderr
    return {k: v["state"]
            for k, v in json.loads(p.stdout)["purposes"].items()}


def suppression(server, *args):
    p = harness.consentctl("-d", server.driver, "-p", server.params,
                           "suppression-list", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def events_of(server, subject):
    return [(p["event"], p["purposes"]) for p in harness.export(server)
            if p["subject"] == subject]


def assert_intact(server):
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
