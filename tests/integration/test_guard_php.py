"""Guard mode in front of a real PHP application (issue 11, section 2):
php-fpm8.2 with a pool on a unix socket, Apache's mod_proxy_fcgi, and a
PHP script that logs what PHP itself makes of each request ($_POST,
!empty($_POST['optin_newsletter']), $_SERVER['HTTP_CONSENT_RECEIPT']).
The same script also runs at an unguarded URL: there PHP shows what each
spelling means to it, so every refusal below is of a real threat."""
import http.client
import json
import os
import shutil
import subprocess
import time

import pytest

import harness
from test_guard import DEFINITION, post, proof, signup_body, tokens_in

FPM = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"

SCRIPT = r"""<?php
$m = $_SERVER['REQUEST_METHOD'];
if ($m !== 'GET' && $m !== 'HEAD') {
    $seen = array();
    foreach ($_SERVER as $k => $v) {
        if (stripos($k, 'RECEIPT') !== false) { $seen[$k] = $v; }
    }
    file_put_contents(%(log)s, json_encode(array(
        'uri' => $_SERVER['REQUEST_URI'], 'method' => $m, 'post' => $_POST,
        'newsletter' => !empty($_POST['optin_newsletter']),
        'partners' => isset($_POST['optin_partners']),
        'receipt' => isset($_SERVER['HTTP_CONSENT_RECEIPT'])
                     ? $_SERVER['HTTP_CONSENT_RECEIPT'] : null,
        'receipt_vars' => $seen)) . "\n", FILE_APPEND | LOCK_EX);
    echo "<p>Welcome!</p>\n";
    exit;
}
header('Content-Type: text/html; charset=utf-8');
?><!DOCTYPE html><html><body><form method="post">
<input type="email" name="email">
<label><input type="checkbox" name="optin_newsletter"> News</label>
<label><input type="checkbox" name="optin_partners"> Partners</label>
<button>Go</button></form></body></html>
"""

FPM_CONF = """\
[global]
pid = {dir}/fpm.pid
error_log = {dir}/fpm.log
daemonize = no

[guard]
user = nobody
group = nogroup
listen = {dir}/fpm.sock
listen.mode = 0666
pm = static
pm.max_children = 2
clear_env = yes
"""

APACHE_CONF = """\
Alias /php {dir}/php
Alias /raw {dir}/php
<Directory {dir}/php>
    Require all granted
</Directory>
<FilesMatch "\\.php$">
    SetHandler "proxy:unix:{dir}/fpm.sock|fcgi://localhost"
</FilesMatch>
<Location /php>
    ConsentGuard {definition}
</Location>
"""

MODULES = "\n".join(
    "LoadModule %s_module %s/mod_%s.so" % (m, harness.MODDIR, m)
    for m in ("proxy", "proxy_fcgi", "alias"))


@pytest.fixture(scope="module")
def site():
    workdir = harness.make_workdir()
    php = os.path.join(workdir, "php")
    logdir = os.path.join(workdir, "php-log")
    os.makedirs(php)
    os.makedirs(logdir)
    os.chmod(php, 0o755)
    os.chmod(logdir, 0o777)     # the pool runs as nobody
    log = os.path.join(logdir, "posts.log")
    with open(os.path.join(php, "signup.php"), "w") as f:
        f.write(SCRIPT % {"log": "'%s'" % log})
    conf = os.path.join(workdir, "fpm.conf")
    with open(conf, "w") as f:
        f.write(FPM_CONF.format(dir=workdir))
    fpm = subprocess.Popen([FPM, "-y", conf, "-F"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    sock = os.path.join(workdir, "fpm.sock")
    for _ in range(100):
        if os.path.exists(sock) or fpm.poll() is not None:
            break
        time.sleep(0.1)
    assert os.path.exists(sock), open(os.path.join(workdir, "fpm.log")).read()
    server = harness.ApacheServer(
        workdir=workdir, forms=[], extra_modules=MODULES,
        extra=APACHE_CONF.format(dir=workdir, definition=DEFINITION)).start()
    server.php_log = log
    try:
        yield server
    finally:
        server.cleanup()
        fpm.terminate()
        fpm.wait(timeout=30)


def php_posts(site):
    try:
        with open(site.php_log) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def fresh_token(site):
    import requests
    r = requests.get(site.url("/php/signup.php"), timeout=30)
    assert r.status_code == 200, site.error_log()[-2000:]
    [token] = tokens_in(r.text)
    return token


def raw_request(site, method, path, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    status = r.status
    r.read()
    conn.close()
    return status


def test_php_and_the_proof_agree_on_a_no(site):
    """PHP's !empty("no") is true: the proof says given."""
    token = fresh_token(site)
    n = len(php_posts(site))
    r = post(site, "/php/signup.php",
             signup_body(token, "optin_newsletter=no"))
    assert r.status_code == 200
    [seen] = php_posts(site)[n:]
    assert seen["newsletter"] is True
    assert proof(site, seen["receipt"])["purposes"] == {
        "newsletter": "given", "partners": "refused"}


@pytest.mark.parametrize("name", [
    "optin.newsletter", "optin+newsletter", "optin_newsletter%5B%5D",
    "optin%5Bnewsletter"])
def test_names_php_reads_as_the_box_are_refused(site, name):
    # what PHP makes of it, where nothing guards it
    n = len(php_posts(site))
    assert post(site, "/raw/signup.php", "email=a%40b.org&" + name + "=on"
                ).status_code == 200
    [seen] = php_posts(site)[n:]
    assert "optin_newsletter" in seen["post"], seen
    # guarded: refused before PHP
    token = fresh_token(site)
    r = post(site, "/php/signup.php", signup_body(token, name + "=on"))
    assert r.status_code == 400
    assert len(php_posts(site)) == n + 1


def test_a_nul_in_the_name_is_refused_or_counted(site):
    """PHP stops a name at a NUL. The body parser hands the guard the name
    cut there too: refused (400) or counted as the box, never a proof
    that says refused while PHP sees a consent."""
    token = fresh_token(site)
    n = len(php_posts(site))
    r = post(site, "/php/signup.php",
             signup_body(token, "optin_newsletter%00x=on"))
    assert r.status_code in (200, 400)
    if r.status_code == 200:
        [seen] = php_posts(site)[n:]
        assert seen["newsletter"] is True
        assert proof(site, seen["receipt"])["purposes"]["newsletter"] \
            == "given"
    else:
        assert php_posts(site)[n:] == []


def test_no_client_spelling_of_the_receipt_reaches_php(site):
    token = fresh_token(site)
    n = len(php_posts(site))
    status = raw_request(site, "POST", "/php/signup.php",
                         signup_body(token, "optin_partners=on"),
                         {"Consent_Receipt": "forged-1",
                          "consent-receipt": "forged-2",
                          "Consent.Receipt": "forged-3"})
    assert status == 200
    [seen] = php_posts(site)[n:]
    assert list(seen["receipt_vars"]) == ["HTTP_CONSENT_RECEIPT"]
    assert not seen["receipt"].startswith("forged")
    assert proof(site, seen["receipt"])["purposes"]["partners"] == "given"


@pytest.mark.parametrize("method", ["post", "PUT", "PATCH"])
def test_other_methods_with_a_body_never_reach_php(site, method):
    token = fresh_token(site)
    n = len(php_posts(site))
    # unguarded, PHP runs for them (and reads the body as it likes)
    assert raw_request(site, method, "/raw/signup.php",
                       "optin_newsletter=on") == 200
    assert [p["method"] for p in php_posts(site)[n:]] == [method]
    assert raw_request(site, method, "/php/signup.php", signup_body(
        token, "optin_newsletter=on")) == 405
    assert len(php_posts(site)) == n + 1
