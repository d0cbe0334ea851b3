"""Double opt-in by email (ConsentConfirm email, issue 17): a submission
is recorded "pending", a message goes to the subject's address through a
real MTA (exim4, local delivery), and only the POST of its link records
the "confirmation" that makes the choice a consent."""
import base64
import email
import email.policy
import glob
import hashlib
import hmac
import os
import re
import struct
import time

import pytest
import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import departures
import harness
import mta
import tokens
from conftest import SERVERS, get_form, parse, server_class, store_params, \
    submit

FROM = "Example SAS <noreply@example.org>"
CONFIRM = "    ConsentConfirm email"
TEXTS = {
    "en": {"sent": "Check your mailbox",
           "subject": "Please confirm your choices - Example SAS",
           "label": "Send me the monthly newsletter",
           "other": "Share my address with partners",
           "button": "Confirm",
           "done": "Thank you, your choices are confirmed"},
    "fr": {"sent": "Consultez votre messagerie",
           "subject": "Merci de confirmer vos choix - Example SAS",
           "label": "Je souhaite recevoir la lettre d'information mensuelle",
           "other": "partenaires",
           "button": "Confirmer",
           "done": "Merci, vos choix sont confirmés"},
}
LINK = re.compile(r"(http://\S+/newsletter/confirm\?t=c1\.[A-Za-z0-9_-]+)")


def start(command=None, forms=None, workdir=None, store=("sqlite3", None),
          kind="apache"):
    if kind == "nginx":
        # server-level lines are nginx's own (consent_mail_*: http/server)
        extra = '        consent_mail_from "%s";\n' % FROM
        if command:
            extra += "        consent_mail_command \"%s\";\n" % command
    else:
        extra = 'ConsentMailFrom "%s"\n' % FROM
        if command:
            extra += "ConsentMailCommand \"%s\"\n" % command
    return server_class(kind)(workdir=workdir, extra=extra, forms=forms or [
        ("/newsletter", harness.EXAMPLE, CONFIRM)], driver=store[0],
        params=store[1]).start()


def outbox_server(forms=None, store=("sqlite3", None), kind="apache"):
    """A "mailer" that keeps each message in a file of its own: for the
    tests that need a link but no delivery."""
    d = harness.make_workdir()
    box = os.path.join(d, "outbox")
    os.mkdir(box)
    if kind == "nginx":
        import nginx_harness
        nginx_harness.give_to_worker(box)
    else:
        harness.give_to_run_user(box)
    s = start("/bin/sh -c 'cat > $(mktemp %s/msg.XXXXXX)'" % box,
              forms=forms, workdir=d, store=store, kind=kind)
    s.outbox = box
    return s


def outbox(server):
    msgs = []
    for path in sorted(glob.glob(os.path.join(server.outbox, "msg.*"))):
        with open(path, "rb") as f:
            msgs.append(email.message_from_bytes(
                f.read(), policy=email.policy.default))
    return msgs


def body_of(msg):
    return msg.get_body(("plain",)).get_content()


def subscribe(server, address, lang="en", purposes=("newsletter",)):
    _, token = get_form(server, lang=lang)
    data = [("email", address), ("consent_token", token)]
    data += [("consent", p) for p in purposes]
    return submit(server, data, lang=lang)


def proofs(server, address):
    return [(p["event"], p["purposes"]) for p in harness.export(server)
            if p["subject"] == address]


def press(link, lang="en"):
    return requests.post(link, data={"confirm": "1"}, timeout=30,
                         headers={"Accept-Language": lang},
                         allow_redirects=False)


def end_to_end(lang, command, kind):
    mta.ensure()
    t = TEXTS[lang]
    server = start(command, kind=kind)
    try:
        assert departures.suppression(server) == []
        r = subscribe(server, mta.ADDRESS.upper(), lang)
        assert r.status_code == 200, r.text
        assert r.headers["Cache-Control"] == "no-store"
        assert parse(r.text).html_lang == lang
        assert t["sent"] in r.text
        receipt = r.headers["Consent-Receipt"]
        # recorded, not consented: pending, and not mailable
        assert departures.status(server, mta.ADDRESS) == {
            "newsletter": "pending", "partners": "refused"}
        assert proofs(server, mta.ADDRESS) == [
            ("submission", {"newsletter": "pending", "partners": "refused"})]
        assert departures.suppression(server) == [mta.ADDRESS]

        msg, raw = mta.find(receipt)
        assert msg["To"] == mta.ADDRESS
        assert msg["From"] == FROM
        assert msg["Subject"] == t["subject"]
        assert b"Subject: =?UTF-8?B?" in raw
        assert msg["Date"] and msg["Message-ID"].endswith("@example.org>")
        assert msg["MIME-Version"] == "1.0"
        assert msg["Content-Transfer-Encoding"] == "quoted-printable"
        assert msg.get_content_charset() == "utf-8"
        assert msg["Content-Language"] == lang
        unsub = msg["List-Unsubscribe"].strip()
        assert re.fullmatch(r"<http://127\.0\.0\.1:%d/newsletter/"
                            r"unsubscribe\?t=u1\.\S+>" % server.port, unsub)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = body_of(msg)
        assert "Example SAS" in body and t["label"] in body
        assert t["other"] not in body       # unticked: not to confirm
        assert receipt in body
        link = LINK.search(body).group(1)
        assert link.startswith(server.url("/newsletter/confirm?t="))

        # mail scanners follow links: GET shows a button, records nothing
        for _ in range(2):
            g = requests.get(link, timeout=10)
            assert g.status_code == 200
            assert g.headers["Cache-Control"] == "no-store"
            assert parse(g.text).html_lang == lang
            assert t["button"] in g.text
            assert {"type": "hidden", "name": "confirm", "value": "1"} \
                in parse(g.text).inputs
        assert len(proofs(server, mta.ADDRESS)) == 1

        c = press(link, lang)
        assert c.status_code == 200, c.text
        assert t["done"] in c.text
        confirmation = c.headers["Consent-Receipt"]
        assert confirmation != receipt
        assert departures.status(server, mta.ADDRESS) == {
            "newsletter": "given", "partners": "refused"}
        assert proofs(server, mta.ADDRESS)[1] == (
            "confirmation", {"newsletter": "given"})
        assert departures.suppression(server) == []

        again = press(link, lang)
        assert again.status_code == 200
        assert again.headers["Consent-Receipt"] == confirmation
        assert len(proofs(server, mta.ADDRESS)) == 2
        departures.assert_intact(server)
    finally:
        server.cleanup()


@pytest.mark.parametrize("kind", SERVERS)
def test_end_to_end_en_with_the_default_sendmail(kind):
    end_to_end("en", None, kind)


@pytest.mark.parametrize("kind", SERVERS)
def test_end_to_end_fr_with_exim_delivering_at_once(kind):
    end_to_end("fr", "/usr/sbin/exim4 -odi -t -i", kind)


@pytest.fixture(scope="module", params=SERVERS)
def server_kind(request):
    """The tests of the `server` fixture run against Apache and nginx."""
    return request.param


@pytest.fixture(scope="module", params=["sqlite3", "pgsql"])
def server(request, server_kind):
    s = outbox_server(kind=server_kind,
                      store=store_params(request, request.param), forms=[
        ("/newsletter", harness.EXAMPLE, CONFIRM),
        ("/signup", os.path.join(harness.FIXTURES, "signup.xml"), CONFIRM),
        ("/thanks-form", harness.EXAMPLE,
         CONFIRM + "\n    ConsentSuccessURL /thanks.html")])
    yield s
    s.cleanup()


def message_to(server, address):
    for msg in outbox(server):
        if msg["To"] == address:
            return msg
    raise AssertionError("no message to " + address)


def test_cr_lf_in_the_subject_field_is_400_and_sends_nothing(server):
    before = len(outbox(server))
    for value in ("evil@example.org\r\nBcc: victim@example.org",
                  "evil@example.org\nBcc: victim@example.org",
                  "evil@example.org\rBcc: victim@example.org"):
        r = subscribe(server, value)
        assert r.status_code == 400, value
    assert len(outbox(server)) == before
    assert not [p for p in harness.export(server)
                if "evil" in (p["subject"] or "")]


def test_nothing_ticked_needs_no_confirmation(server):
    before = len(outbox(server))
    r = subscribe(server, "none@example.org", purposes=())
    assert r.status_code == 200
    assert len(outbox(server)) == before
    assert departures.status(server, "none@example.org") == {
        "newsletter": "refused", "partners": "refused"}


def test_links_use_the_server_name_not_the_host_header(server):
    _, token = get_form(server)
    r = submit(server, [("email", "host@example.org"),
                        ("consent_token", token), ("consent", "newsletter")],
               headers={"Host": "evil.example"})
    assert r.status_code == 200
    msg = message_to(server, "host@example.org")
    assert "evil" not in msg.as_string()
    assert LINK.search(body_of(msg)).group(1).startswith(
        server.url("/newsletter/confirm?t="))


def test_success_url_after_the_message_is_sent(server):
    _, token = get_form(server, path="/thanks-form")
    r = submit(server, [("email", "thanks@example.org"),
                        ("consent_token", token), ("consent", "partners")],
               path="/thanks-form")
    assert r.status_code == 303
    assert r.headers["Location"] == "/thanks.html"
    receipt = r.headers["Consent-Receipt"]
    msg = message_to(server, "thanks@example.org")
    assert receipt in body_of(msg)
    assert server.url("/thanks-form/confirm?t=c1.") in body_of(msg)


def test_confirm_page_methods_and_types(server):
    r = subscribe(server, "methods@example.org")
    link = LINK.search(body_of(message_to(server, "methods@example.org"))
                       ).group(1)
    h = requests.head(link, timeout=10)
    assert h.status_code == 200 and not h.content
    p = requests.put(link, data="confirm=1", timeout=10)
    assert p.status_code == 405
    assert p.headers["Allow"] == "GET, HEAD, POST"
    j = requests.post(link, json={"confirm": "1"}, timeout=10)
    assert j.status_code == 415
    empty = requests.post(link, data={"confirm": "2"}, timeout=10)
    assert empty.status_code == 400
    assert departures.status(server, "methods@example.org")["newsletter"] \
        == "pending"
    assert len(proofs(server, "methods@example.org")) == 1
    assert r.status_code == 200


def test_tampered_foreign_or_missing_link_is_403(server):
    r = subscribe(server, "tamper@example.org")
    assert r.status_code == 200
    link = LINK.search(body_of(message_to(server, "tamper@example.org"))
                       ).group(1)
    i = len(link) - 10
    bad = link[:i] + ("A" if link[i] != "A" else "B") + link[i + 1:]
    foreign = link.replace("/newsletter/confirm", "/signup/confirm")
    missing = link.split("?")[0]
    for url in (bad, foreign, missing, link + "x"):
        assert requests.get(url, timeout=10).status_code == 403, url
        assert press(url).status_code == 403, url
    assert departures.status(server, "tamper@example.org")["newsletter"] \
        == "pending"
    assert "confirmation link refused: made for another site or form" \
        in server.error_log()
    assert press(link).status_code == 200


def craft(server, receipt, subject, issued):
    """A link made outside the server (the format of consent_confirm.h),
    to give it an age the server would never give."""
    secret = tokens.key_bytes(server.key)     # the site's key
    key_id = hashlib.sha256(secret).digest()[:8]
    key = hmac.new(secret, b"mod_consent confirm v1", hashlib.sha256).digest()
    plain = b""
    for s in (tokens.HARNESS_SITE, "newsletter", receipt):
        plain += bytes([len(s)]) + s.encode()
    plain += struct.pack(">H", len(subject)) + subject.encode()
    plain += b"\x02en" + struct.pack(">Q", issued)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plain, b"c1." + key_id)
    token = base64.urlsafe_b64encode(key_id + nonce + sealed).rstrip(b"=")
    return server.url("/newsletter/confirm?t=c1." + token.decode())


def test_expired_link_is_403(server):
    r = subscribe(server, "late@example.org")
    receipt = r.headers["Consent-Receipt"]
    now = int(time.time() * 1e6)
    week = 7 * 86400 * 10**6
    fresh = craft(server, receipt, "late@example.org", now - week + 60 * 10**6)
    stale = craft(server, receipt, "late@example.org", now - week - 60 * 10**6)
    assert requests.get(fresh, timeout=10).status_code == 200
    assert requests.get(stale, timeout=10).status_code == 403
    assert press(stale).status_code == 403
    assert "confirmation link refused: expired" in server.error_log()
    assert departures.status(server, "late@example.org")["newsletter"] \
        == "pending"
    # a link for a receipt of somebody else, however well sealed
    other = subscribe(server, "other@example.org").headers["Consent-Receipt"]
    assert press(craft(server, other, "late@example.org", now)
                 ).status_code == 403
    assert press(fresh).status_code == 200
    assert departures.status(server, "late@example.org")["newsletter"] \
        == "given"


def test_unsubscribe_from_the_message_cancels_the_pending_choice(server):
    subscribe(server, "leave@example.org", purposes=("newsletter",
                                                     "partners"))
    msg = message_to(server, "leave@example.org")
    unsub = msg["List-Unsubscribe"].strip().strip("<>")
    r = requests.post(unsub, data="List-Unsubscribe=One-Click",
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"},
                      timeout=30)
    assert r.status_code == 200
    assert departures.status(server, "leave@example.org") == {
        "newsletter": "withdrawn", "partners": "withdrawn"}
    c = press(LINK.search(body_of(msg)).group(1))
    assert c.status_code == 200
    assert "Nothing left to confirm" in c.text
    assert departures.status(server, "leave@example.org") == {
        "newsletter": "withdrawn", "partners": "withdrawn"}
    assert [e for e, _ in proofs(server, "leave@example.org")] == [
        "submission", "unsubscribe"]


@pytest.mark.parametrize("kind", SERVERS)
def test_a_failing_command_keeps_the_pending_proof(kind):
    server = start("/bin/false", kind=kind)
    try:
        r = subscribe(server, "fail@example.org", "fr")
        assert r.status_code == 502
        assert "pas pu être envoyé" in r.text
        receipt = r.headers["Consent-Receipt"]
        assert departures.status(server, "fail@example.org")["newsletter"] \
            == "pending"
        log = server.error_log()
        assert ("confirmation message for receipt %s not sent: /bin/false: "
                "exit status 1" % receipt) in log
        assert "fail@example.org" not in log
    finally:
        server.cleanup()


@pytest.mark.parametrize("extra, forms, message", [
    ("", [("/newsletter", harness.EXAMPLE, CONFIRM)],
     "needs ConsentMailFrom"),
    ("ConsentMailFrom noreply\n", [("/newsletter", harness.EXAMPLE, "")],
     "ConsentMailFrom: noreply: not an address"),
    ("ConsentMailFrom n@example.org\nConsentMailCommand \"sendmail -t\"\n",
     [("/newsletter", harness.EXAMPLE, "")],
     "ConsentMailCommand: sendmail is not an absolute path"),
    ("ConsentMailFrom n@example.org\n",
     [("/customers", departures.SOFT, CONFIRM)],
     "the form's regime must be opt-in"),
    ("ConsentMailFrom n@example.org\n",
     [("/newsletter", harness.EXAMPLE, "    ConsentConfirm sms")],
     "ConsentConfirm: email or off"),
])
def test_start_up_refuses(extra, forms, message):
    s = harness.ApacheServer(extra=extra, forms=forms)
    try:
        rc, out = s.check_config()
        assert rc != 0
        assert message in out, out
    finally:
        s.cleanup()


NGINX_FROM = "        consent_mail_from n@example.org;\n"


@pytest.mark.parametrize("extra, forms, message", [
    ("", [("/newsletter", harness.EXAMPLE, CONFIRM)],
     "needs consent_mail_from"),
    ("        consent_mail_from noreply;\n",
     [("/newsletter", harness.EXAMPLE, "")],
     "consent_mail_from: noreply: not an address"),
    (NGINX_FROM + '        consent_mail_command "sendmail -t";\n',
     [("/newsletter", harness.EXAMPLE, "")],
     "consent_mail_command: sendmail is not an absolute path"),
    (NGINX_FROM, [("/customers", departures.SOFT, CONFIRM)],
     "the form's regime must be opt-in"),
    (NGINX_FROM, [("/newsletter", harness.EXAMPLE, "ConsentConfirm sms")],
     "takes email or off"),
    (NGINX_FROM, [("/newsletter", harness.EXAMPLE,
                   CONFIRM + "\nConsentConfirmLifetime 30s")],
     "needs a duration between 60s and 90 days"),
])
def test_nginx_t_refuses(extra, forms, message):
    """`nginx -t` makes the checks `apachectl -t` makes."""
    s = server_class("nginx")(extra=extra, forms=forms)
    try:
        rc, out = s.check_config()
        assert rc != 0
        assert message in out, out
    finally:
        s.cleanup()
