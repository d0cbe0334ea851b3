"""A real MTA for the double opt-in tests: Debian's exim4 (installed by
build/install-deps --test) set up for local delivery only, delivering to
the mbox of a local test user that the tests read."""
import email
import email.policy
import mailbox
import os
import pwd
import re
import subprocess
import time

import pytest

EXIM = "/usr/sbin/exim4"
EXIM_CONF = "/etc/exim4/update-exim4.conf.conf"
USER = "consentmail"
DOMAIN = "consent-mail.test"
ADDRESS = USER + "@" + DOMAIN
MBOX = "/var/mail/" + USER
HOME = "/var/lib/" + USER


def _set(text, name, value):
    line = "%s='%s'" % (name, value)
    if re.search(r"^%s=" % name, text, re.M):
        return re.sub(r"^%s=.*$" % name, line, text, flags=re.M)
    return text + line + "\n"


def _get(text, name):
    m = re.search(r"^%s='?([^'\n]*)'?$" % name, text, re.M)
    return m.group(1) if m else ""


def ensure():
    """Local delivery only, our domain local, our user existing. Needs
    root, like the other tests that run Apache as www-data."""
    if os.geteuid() != 0:
        pytest.skip("configuring exim4 needs root")
    assert os.path.exists(EXIM), \
        "exim4 missing: run build/install-deps --test"
    with open(EXIM_CONF) as f:
        text = f.read()
    new = _set(text, "dc_eximconfig_configtype", "local")
    hosts = [h for h in _get(new, "dc_other_hostnames").split(";") if h]
    if DOMAIN not in hosts:
        new = _set(new, "dc_other_hostnames", ";".join(hosts + [DOMAIN]))
    if new != text:
        with open(EXIM_CONF, "w") as f:
            f.write(new)
        subprocess.run(["update-exim4.conf"], check=True)
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", HOME,
                        "--shell", "/usr/sbin/nologin", USER], check=True)
        pw = pwd.getpwnam(USER)
    # exim's local delivery starts in the user's home directory
    if not os.path.isdir(pw.pw_dir):
        os.makedirs(pw.pw_dir, mode=0o750)
        os.chown(pw.pw_dir, pw.pw_uid, pw.pw_gid)


def find(needle, timeout=60):
    """The delivered message whose text holds needle (e.g. a receipt
    id). The default `sendmail -t -i` delivers in the background: wait
    for it, within a bound."""
    deadline = time.time() + timeout
    while True:
        if os.path.exists(MBOX):
            for msg in mailbox.mbox(MBOX, create=False):
                parsed = email.message_from_bytes(
                    msg.as_bytes(), policy=email.policy.default)
                body = parsed.get_body(("plain",)).get_content()
                if needle in body:
                    return parsed, msg.as_bytes()
        if time.time() > deadline:
            raise AssertionError("no message holding %s in %s" % (needle,
                                                                  MBOX))
        time.sleep(0.2)
