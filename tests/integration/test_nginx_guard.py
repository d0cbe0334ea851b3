"""Guard mode on nginx: test_guard.py's tests, unchanged, against nginx in
front of the same backend (proxy_pass), plus a PHP-FPM application
(fastcgi_pass) where Apache has its CGI one."""
import json
import os
import signal
import subprocess
import time

import pytest

import harness
import nginx_harness
import test_guard
from backend import Backend
from test_guard import *  # noqa: F401,F403 (the tests, run here on nginx)
from test_guard import DEFINITION, get, post, proof, tokens_in

# Apache's own: a CGI application, and ConsentGuard in httpd.conf; their
# nginx counterparts are below.
del test_cgi_application  # noqa: F821
del test_definition_without_inputs_is_refused  # noqa: F821

GUARD_LOCATIONS = r"""
        location /signup {{
            proxy_pass http://127.0.0.1:{port}/signup;
            consent_guard {definition};
        }}
        location /fixed {{
            proxy_pass http://127.0.0.1:{port}/signup;
            consent_guard {definition};
            consent_guard_fix on;
        }}
        location /php-signup {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {dir}/signup.php;
            fastcgi_pass unix:{dir}/fpm.sock;
            consent_guard {definition};
        }}
        location ~ ^/app/.*\.php$ {{
            root {dir};
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {dir}/signup.php;
            fastcgi_pass unix:{dir}/fpm.sock;
            consent_guard {definition};
        }}
"""

PHP_APP = r"""<?php
// An application in PHP: a signup page, and a POST it logs.
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $body = file_get_contents('php://input');
    file_put_contents(%(log)s, json_encode([
        'body' => bin2hex($body),
        'receipt' => $_SERVER['HTTP_CONSENT_RECEIPT'] ?? null,
    ]) . "\n", FILE_APPEND);
    echo "<p>Welcome!</p>\n";
    return;
}
$ticked = isset($_GET['pre']) ? ' checked' : '';
header('Content-Type: text/html; charset=utf-8');
echo "<html><body><form method=post><input type=email name=email>"
   . "<input type=checkbox name=optin_newsletter$ticked>"
   . "<input type=checkbox name=optin_partners>"
   . "<button>Go</button></form></body></html>\n";
"""

FPM_CONF = """\
[global]
pid = {dir}/fpm.pid
error_log = {dir}/fpm.log
daemonize = yes
[app]
listen = {dir}/fpm.sock
listen.mode = 0666
user = nobody
group = nogroup
pm = static
pm.max_children = 2
clear_env = no
"""


class PhpFpm:
    def __init__(self, workdir):
        self.dir = workdir
        self.conf = os.path.join(workdir, "fpm.conf")
        with open(self.conf, "w") as f:
            f.write(FPM_CONF.format(dir=workdir))
        self.log = os.path.join(workdir, "php.log")
        with open(os.path.join(workdir, "signup.php"), "w") as f:
            f.write(PHP_APP % {"log": json.dumps(self.log)})
        open(self.log, "w").close()
        os.chmod(self.log, 0o666)

    def start(self):
        subprocess.run(["php-fpm8.2", "-y", self.conf], check=True,
                       capture_output=True, timeout=30)
        sock = os.path.join(self.dir, "fpm.sock")
        pidfile = os.path.join(self.dir, "fpm.pid")
        for _ in range(100):
            if os.path.exists(sock) and os.path.exists(pidfile):
                # daemonized: its pid, kept before the directory goes
                with open(pidfile) as f:
                    self.pid = int(f.read())
                return self
            time.sleep(0.1)
        raise RuntimeError("php-fpm did not start")

    def stop(self):
        pid = getattr(self, "pid", None)
        if not pid:
            return
        self.pid = None
        os.kill(pid, signal.SIGQUIT)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.1)

    def posts(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]


@pytest.fixture(scope="module")
def site():
    workdir = harness.make_workdir()
    nginx_harness.give_to_worker(workdir)
    backend = Backend(os.path.join(workdir, "backend.log")).start()
    fpm = PhpFpm(workdir).start()
    server = nginx_harness.NginxServer(
        workdir=workdir, forms=[],
        locations=GUARD_LOCATIONS.format(port=backend.port,
                                         definition=DEFINITION,
                                         dir=workdir)).start()
    server.backend = backend
    server.fpm = fpm
    yield server
    fpm.stop()
    server.cleanup()
    backend.stop()


def test_php_fpm_application(site):
    r = get(site, "/php-signup")
    assert r.status_code == 200, site.error_log()
    [token] = tokens_in(r.text)
    body = "email=php%40example.org&optin_partners=on&consent_token=" + token
    assert post(site, "/php-signup", body).status_code == 200
    [seen] = site.fpm.posts()
    assert bytes.fromhex(seen["body"]) == body.encode()
    assert proof(site, seen["receipt"])["purposes"] == {
        "newsletter": "refused", "partners": "given"}
    [token] = tokens_in(get(site, "/php-signup?pre=1").text)
    r = post(site, "/php-signup?pre=1",
             "email=php%40example.org&consent_token=" + token)
    assert r.status_code == 422
    assert len(site.fpm.posts()) == 1


def test_guard_in_a_regex_location(site):
    """The usual PHP stack: `location ~ \\.php$` with fastcgi_pass."""
    [token] = tokens_in(get(site, "/app/signup.php?pre=1").text)
    n = len(site.fpm.posts())
    r = post(site, "/app/signup.php",
             "email=re%40example.org&consent_token=" + token)
    assert r.status_code == 422
    assert len(site.fpm.posts()) == n


def test_nginx_t_checks_guard_definitions(tmp_path):
    s = nginx_harness.NginxServer(forms=[])
    try:
        s.locations = ("        location /g { consent_guard %s; }\n"
                       % harness.EXAMPLE)
        rc, out = s.check_config()
        assert rc != 0
        assert "[guard]" in out and "newsletter.xml" in out
        s.locations = ("        location /g { consent_form %s; "
                       "consent_guard %s; }\n" % (harness.EXAMPLE,
                                                  DEFINITION))
        rc, out = s.check_config()
        assert rc != 0 and "duplicate" in out
    finally:
        s.cleanup()


def test_refusals_are_ours_not_filtered_as_the_page(site):
    # 400 is a status an application shows its form again with
    r = get(site, "/signup?optin_newsletter=on")
    assert r.status_code == 400
    # the page filter left our own answer alone (its length, one
    # Cache-Control)
    assert r.headers["Content-Length"] == str(len(r.content))
    assert r.headers["Cache-Control"] == "no-store"


def test_no_worker_died(site):
    """Runs last: every request above left the worker alive."""
    assert "exited on signal" not in site.error_log()
    assert site.proc.poll() is None


def test_guard_under_valgrind(site, tmp_path):
    """The filters and the precontent check, in one process under
    valgrind: no invalid access, no definite leak."""
    from test_gates_valgrind import check_logs, valgrind
    logs = str(tmp_path)
    os.chmod(logs, 0o777)
    server = nginx_harness.NginxServer(
        forms=[], locations=GUARD_LOCATIONS.format(
            port=site.backend.port, definition=DEFINITION, dir=site.dir))
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "valgrind-nginx.supp")
    server.start(wrapper=valgrind(logs) + ["--suppressions=" + supp],
                 single=True)
    try:
        for _ in range(3):
            [token] = tokens_in(get(server, "/signup").text)
            assert post(server, "/signup", test_guard.signup_body(
                token, "optin_newsletter=on")).status_code == 200
            assert post(server, "/signup", test_guard.signup_body(
                token)).status_code == 409
            [token] = tokens_in(get(server, "/fixed/preticked").text)
            assert len(tokens_in(get(server, "/signup/big").text[-3000:])) \
                == 1
            assert post(server, "/signup", "x=1").status_code == 403
            assert get(server, "/signup/data.json").status_code == 200
    finally:
        server.stop()
    check_logs(logs, 1)   # master_process off: one process
    server.cleanup()
