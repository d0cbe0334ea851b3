"""`LogLevel consent:debug` (README "Directives"): one line per decision,
stored or refused, and never a token, a link or a secret in the log."""
import re

import requests

import departures
import harness
import tokens
from conftest import get_form, parse, submit

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def test_every_decision_is_one_debug_line(fresh_apache):
    server = fresh_apache().start()
    seen = []               # every token and link handed out
    # a consent
    _, token = get_form(server)
    seen.append(token)
    ok = submit(server, {"email": "log-a@example.org", "consent_token": token,
                         "consent": "newsletter"})
    assert ok.status_code == 200
    # a refusal (bad address) and a pre-ticked render
    _, token = get_form(server)
    seen.append(token)
    assert submit(server, {"email": "nope", "consent_token": token}
                  ).status_code == 400
    _, token = get_form(server)
    ticked = tokens.reissue(token, tokens.key_bytes(server.key),
                            defaults="10")
    seen.append(ticked)
    assert submit(server, {"email": "log-b@example.org",
                           "consent_token": ticked}).status_code == 422
    # a withdrawal
    r = requests.get(server.url("/newsletter/withdraw"), timeout=10)
    token = [i["value"] for i in parse(r.text).inputs
             if i.get("name") == "consent_token"][0]
    seen.append(token)
    wd = requests.post(server.url("/newsletter/withdraw"), timeout=30,
                       data={"email": "log-a@example.org",
                             "withdraw_all": "1", "consent_token": token})
    assert wd.status_code == 200
    # an unsubscribe, then the same link again (nothing left to withdraw)
    url = departures.unsubscribe_url(server, "log-c@example.org")[0]
    seen.append(url.split("t=", 1)[1])
    for _ in range(2):
        assert requests.post(url, data="List-Unsubscribe=One-Click",
                             headers=ONE_CLICK, timeout=30
                             ).status_code == 200

    log = server.error_log()
    stored = re.findall(r"CONSENT0034: (\w+) stored: receipt ([0-9a-f-]+)",
                        log)
    receipts = {p["receipt_id"]: p["event"] for p in harness.export(server)}
    assert sorted(stored) == sorted((e, r) for r, e in receipts.items())
    assert len(stored) == 3         # submission, withdrawal, unsubscribe
    assert "newsletter=given" in log
    assert len(re.findall(r"CONSENT0033: submission refused", log)) == 2
    assert "CONSENT0044: unsubscribe: nothing left" in log
    for secret in seen + [open(server.key).read().strip()]:
        assert secret not in log
