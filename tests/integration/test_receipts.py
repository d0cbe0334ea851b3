"""export --format kantara | iso27560 (issue 16): each proof a real Apache
recorded (opt-in submissions, a withdrawal, a one-click unsubscribe, a b2b
and a soft opt-in submission) as a Kantara Consent Receipt v1.1, checked
against the specification's JSON schema (tests/fixtures), and as an
ISO/IEC TS 27560 record with the fields the README documents, on each kind
of store."""
import copy
import json
import os
import subprocess

import jsonschema
import pytest
import requests

import departures
import harness
from conftest import STORES, get_form, submit

SCHEMA = os.path.join(harness.FIXTURES,
                      "kantara-consent-receipt-v1.1.schema.json")
PERSON = "receipts@example.org"


def send(server, path, email, *ticked, lang="en"):
    _, token = get_form(server, path, lang)
    data = [("email", email), ("consent_token", token)]
    data += [("consent", p) for p in ticked]
    r = submit(server, data, path, lang)
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module", params=STORES)
def server(request):
    s = departures.start(request, request.param)
    send(s, "/newsletter", PERSON, "newsletter")
    send(s, "/newsletter", PERSON, "newsletter", "partners", lang="fr")
    _, token = get_form(s, "/newsletter/withdraw")
    r = requests.post(s.url("/newsletter/withdraw"), timeout=30, data=[
        ("email", PERSON), ("withdraw", "partners"),
        ("consent_token", token)])
    assert r.status_code in (200, 303), r.text
    url = departures.unsubscribe_url(s, PERSON, purposes=["newsletter"])[0]
    r = requests.post(url, data={"List-Unsubscribe": "One-Click"},
                      timeout=30)
    assert r.status_code in (200, 303), r.text
    send(s, "/pro", "buyer@example.com")
    send(s, "/customers", "customer@example.net", "offers")
    yield s
    s.cleanup()


def ctl(server, *args):
    return harness.consentctl("-d", server.driver, "-p", server.params,
                              *args)


def lines(server, *args):
    p = ctl(server, "export", *args)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def test_every_proof_is_a_valid_kantara_receipt(server, validator):
    proofs = lines(server)
    receipts = lines(server, "--format", "kantara")
    assert len(proofs) == 6
    assert len(receipts) == len(proofs)
    for proof, cr in zip(proofs, receipts):
        errors = [e.message for e in validator.iter_errors(cr)]
        assert errors == [], (cr, errors)
        assert cr["version"] == "KI-CR-v1.1.0"
        assert cr["consentReceiptID"] == proof["receipt_id"]
        assert cr["piiPrincipalId"] == proof["subject"]
        assert cr["language"] == proof["language"]
        assert isinstance(cr["consentTimestamp"], int)
        assert abs(cr["consentTimestamp"] - json_time(proof)) < 1
        [ctrl] = cr["piiControllers"]
        assert ctrl["piiController"] == "Example SAS"
        assert ctrl["email"] == ctrl["contact"] == "privacy@example.org"
        assert cr["policyUrl"] == "https://example.org/privacy"
        [service] = cr["services"]
        assert service["service"] == proof["site"] + "/" + proof["form_id"]
        assert {p["purposeId"]: p["state"] for p in service["purposes"]} \
            == proof["purposes"]
        explicit = {p["consentType"] for p in service["purposes"]}
        if proof["regime"] == "opt-in":
            assert cr["jurisdiction"] == "EU" and explicit == {"EXPLICIT"}
        else:
            assert explicit and "EXPLICIT" not in explicit
    b2b = [cr for cr, p in zip(receipts, proofs) if p["regime"] == "b2b"]
    assert [cr["jurisdiction"] for cr in b2b] == ["FR"]
    # the purposes read as the person saw them, in their language
    first = receipts[0]["services"][0]["purposes"][0]
    assert first["purpose"].startswith("Send me the monthly newsletter")
    assert receipts[1]["services"][0]["purposes"][0]["purpose"] \
        .startswith("Je souhaite recevoir")
    assert receipts[0]["services"][0]["purposes"][0]["piiCategory"] == \
        ["Email address"]


def json_time(proof):
    from datetime import datetime
    return datetime.strptime(proof["time"], "%Y-%m-%dT%H:%M:%S.%fZ") \
        .replace(tzinfo=__import__("datetime").timezone.utc).timestamp()


def test_the_schema_refuses_what_the_specification_refuses(server,
                                                           validator):
    good = lines(server, "--format", "kantara")[0]
    assert validator.is_valid(good)
    for broken in ({"version": "KI-CR-v1.0.0"},
                   {"consentTimestamp": "2026-01-01T00:00:00Z"},
                   {"sensitive": True}):           # no spiCat then
        cr = dict(good, **broken)
        assert not validator.is_valid(cr), broken
    for field in ("piiPrincipalId", "policyUrl", "piiControllers",
                  "jurisdiction"):
        cr = copy.deepcopy(good)
        del cr[field]
        assert not validator.is_valid(cr), field
    cr = copy.deepcopy(good)
    cr["services"][0]["purposes"][0]["thirdPartyDisclosure"] = True
    assert not validator.is_valid(cr)       # without thirdPartyName


def test_jurisdiction_and_filters(server):
    receipts = lines(server, "--format", "kantara", "--jurisdiction",
                     "FR", "--subject", PERSON)
    assert len(receipts) == 4
    assert {cr["jurisdiction"] for cr in receipts} == {"FR"}
    assert {cr["piiPrincipalId"] for cr in receipts} == {PERSON}
    site = lines(server)[0]["site"]
    assert len(lines(server, "--format", "kantara", "--site", site)) == 6
    assert lines(server, "--format", "iso27560", "--site",
                 "elsewhere.test") == []


ISO_TOP = {"schema_version", "record_id", "pii_principal_id", "processing",
           "parties", "events"}
ISO_PROCESSING = {"privacy_notice", "language", "purposes",
                  "pii_information", "pii_controllers", "collection_method",
                  "service", "jurisdiction", "withdrawal_method"}
ISO_EVENT = {"event_time", "event_type", "event_state", "purpose",
             "entity_id", "validity_duration", "event"}
ISO_UNFILLED = {"storage_locations", "retention_period",
                "recipient_third_parties", "processing_location",
                "party_address", "party_type"}


def test_iso27560_records_have_the_documented_fields(server):
    proofs = lines(server)
    records = lines(server, "--format", "iso27560")
    assert len(records) == len(proofs)
    for proof, rec in zip(proofs, records):
        assert set(rec) == ISO_TOP
        assert set(rec["processing"]) == ISO_PROCESSING
        assert rec["record_id"] == proof["receipt_id"]
        assert rec["pii_principal_id"] == proof["subject"]
        pr = rec["processing"]
        assert pr["privacy_notice"]["notice_sha256"] == \
            proof["notice_sha256"]
        assert pr["privacy_notice"]["policy_url"] == \
            "https://example.org/privacy"
        assert pr["language"] == proof["language"]
        assert pr["service"] == proof["site"] + "/" + proof["form_id"]
        assert pr["pii_controllers"] == ["Example SAS"]
        [pii] = pr["pii_information"]
        assert pii["pii_attribute_id"] == "email" and pii["pii_type"]
        if proof["form_id"] == "newsletter":
            assert pii["pii_type"] == ("Email address"
                                       if proof["language"] == "en"
                                       else "Adresse e-mail")
        assert [p["purpose"] for p in pr["purposes"]] == \
            list(proof["purposes"])
        assert {e["purpose"]: e["event_state"] for e in rec["events"]} == \
            proof["purposes"]
        for e in rec["events"]:
            assert set(e) == ISO_EVENT
            assert e["event_time"] == proof["time"]
            assert e["event"] == proof["event"]
            assert e["entity_id"] == proof["subject"]
        [party] = rec["parties"]
        assert party["party_name"] == "Example SAS"
        assert party["party_role"] == "controller"
        flat = json.dumps(rec)
        for name in ISO_UNFILLED:
            assert '"%s"' % name not in flat, name


@pytest.mark.parametrize("args", [
    ("--format", "xml"),
    ("--format", ""),
    ("--jurisdiction", "FR"),       # only for receipts
    ("--format", "kantara", "extra"),
], ids=["xml", "empty", "jurisdiction-alone", "extra-argument"])
def test_export_usage_errors(server, args):
    p = ctl(server, "export", *args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == "" and p.stderr.strip()


def test_receipts_without_a_store(tmp_path):
    p = harness.consentctl("-p", str(tmp_path / "none.db"), "export",
                           "--format", "kantara")
    assert p.returncode == 4 and "no store at" in p.stderr


def test_receipts_memory_does_not_grow_with_the_store(tmp_path):
    from test_consentctl import build_generator, max_rss_kib
    gen = build_generator(str(tmp_path))
    key = harness.write_key(str(tmp_path / "k.key"))
    rss = {}
    for n in (4000, 40000):
        db = str(tmp_path / ("%d.db" % n))
        subprocess.run([gen, "sqlite3", db, key, str(n), "64"], check=True,
                       capture_output=True, timeout=300)
        for cmd in (["export", "--format", "kantara"],
                    ["export", "--format", "iso27560"],
                    ["access", "--subject", "person1@example.org"]):
            rss[(n, cmd[-1])] = max_rss_kib("-d", "sqlite3", "-p", db, *cmd)
    for cmd in ("kantara", "iso27560", "person1@example.org"):
        assert rss[(40000, cmd)] / rss[(4000, cmd)] < 1.3, rss
