"""What is nginx's own: `nginx -t` refuses what `apachectl -t` refuses,
one store format with Apache (consentctl verifies what nginx wrote; a
mixed Apache + nginx fleet on one PostgreSQL), the event loop never waits
on the store, a store that comes back is used without a reload, and
valgrind finds no leak or invalid access. The HTTP tables themselves run
against both servers in test_submit.py, test_withdraw.py, ..."""
import os
import re
import subprocess
import threading

import pytest
import requests

import departures
import harness
import nginx_harness
import tokens
from conftest import get_form, submit, token_of
from test_gates_valgrind import check_logs, one_round, valgrind
from test_startup_checks import BAD_FORMS, expected_rule


@pytest.fixture
def fresh_nginx():
    servers = []

    def make(**kw):
        s = nginx_harness.NginxServer(**kw)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.cleanup()


def consent(server, email, token=None):
    if token is None:
        _, token = get_form(server)
    return submit(server, {"email": email, "consent": "newsletter",
                           "consent_token": token})


# --- nginx -t --------------------------------------------------------------

def test_the_example_configuration_is_valid(fresh_nginx):
    rc, out = fresh_nginx().check_config()
    assert rc == 0, out
    assert "test is successful" in out


@pytest.mark.parametrize("form", BAD_FORMS, ids=os.path.basename)
def test_bad_definition_fails_nginx_t(fresh_nginx, form):
    server = fresh_nginx(forms=[("/f", form, "")])
    rc, out = server.check_config()
    assert rc != 0, out
    assert re.search(re.escape(form) + r":\d+: \[" + expected_rule(form)
                     + r"\]", out), out
    assert server.conf in out           # and the directive's own place


@pytest.mark.parametrize("case", ["missing", "short", "group", "others"])
def test_bad_secret_file_fails_nginx_t(fresh_nginx, case):
    server = fresh_nginx()
    path = os.path.join(server.dir, "bad.key")
    if case == "short":
        harness.write_key(path, b"x" * 31)
    elif case == "group":
        harness.write_key(path, mode=0o640)
    elif case == "others":
        harness.write_key(path, mode=0o604)
    server.key = path
    rc, out = server.check_config()
    assert rc != 0, out
    assert "consent_secret_file" in out and path in out
    assert "k" * 20 not in out


def test_form_without_secret_or_store_fails_nginx_t(fresh_nginx):
    server = fresh_nginx()
    text = server.config_text()
    for line in ("consent_secret_file", "consent_store"):
        server.config_text = (lambda t=text, l=line: "\n".join(
            x for x in t.splitlines() if l not in x))
        rc, out = server.check_config()
        assert rc != 0, out
        assert line in out, out


# --- one store format -------------------------------------------------------

def test_consentctl_verifies_what_nginx_wrote(fresh_nginx):
    server = fresh_nginx().start()
    receipts = [consent(server, "n%d@example.org" % i).headers[
        "Consent-Receipt"] for i in range(5)]
    proofs = harness.export(server)
    assert sorted(p["receipt_id"] for p in proofs) == sorted(receipts)
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "5 proofs" in p.stdout


def test_mixed_fleet_on_one_postgresql(postgres, fresh_nginx, fresh_apache):
    params = postgres.create_db()
    ngx = fresh_nginx(driver="pgsql", params=params).start()
    apache = fresh_apache(driver="pgsql", params=params,
                          key=ngx.key).start()
    # a form rendered by one node is accepted by the other...
    _, from_apache = get_form(apache)
    _, from_nginx = get_form(ngx)
    assert consent(ngx, "a@example.org", from_apache).status_code == 200
    assert consent(apache, "b@example.org", from_nginx).status_code == 200
    # ...and single use holds across them, whichever node sees the replay
    assert consent(apache, "a@example.org", from_apache).status_code == 409
    assert consent(ngx, "b@example.org", from_nginx).status_code == 409
    p = harness.verify(ngx)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 proofs" in p.stdout
    # one site: the same site in each proof, the same notice (naming it)
    proofs = harness.export(ngx)
    assert {p["site"] for p in proofs} == {tokens.HARNESS_SITE}
    assert len({p["notice_sha256"] for p in proofs}) == 1


# --- tenancy (the server blocks of test_tenancy.py too) --------------------

def test_tokens_are_signed_with_the_site_key_of_the_server_name(
        fresh_nginx):
    server = fresh_nginx().start()
    _, token = get_form(server)
    master = tokens.master_bytes(server.key)
    assert tokens.decode(token)["key_id"] == tokens.hashlib.sha256(
        tokens.site_key(master, tokens.HARNESS_SITE)).digest()[:8]
    receipt = consent(server, "k@example.org", token).headers[
        "Consent-Receipt"]
    proof = [p for p in harness.export(server)
             if p["receipt_id"] == receipt]
    assert proof[0]["site"] == tokens.HARNESS_SITE
    # sealed by the master: verify with the master key succeeds
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("where,line,words", [
    ("server", "consent_site E.test;", "only lower-case letters"),
    ("server", "consent_site a..b;", "empty label"),
    ("location", "consent_site a.test;", "not allowed here"),
])
def test_bad_consent_site_fails_nginx_t(fresh_nginx, where, line, words):
    server = fresh_nginx()
    if where == "server":
        server.extra = "        " + line
    else:
        server.locations = ("        location /x {\n            %s\n"
                            "        }\n" % line)
    rc, out = server.check_config()
    assert rc != 0, out
    assert words in out and "consent_site" in out, out
    assert re.search(re.escape(server.conf) + r":\d+", out), out


def test_a_server_name_that_makes_no_site_fails_nginx_t(fresh_nginx):
    server = fresh_nginx()
    text = server.config_text()
    server.config_text = lambda: text.replace(
        "server_name 127.0.0.1;", "server_name *.example.org;")
    rc, out = server.check_config()
    assert rc != 0, out
    assert "set consent_site" in out and server.conf in out, out
    # consent_site names it
    server.config_text = lambda: text.replace(
        "server_name 127.0.0.1;",
        "server_name *.example.org;\n        consent_site example.org;")
    rc, out = server.check_config()
    assert rc == 0, out


def test_a_site_key_is_not_a_master_for_nginx(fresh_nginx):
    server = fresh_nginx()
    p = harness.consentctl("-k", server.key, "site-key", "--site",
                           tokens.HARNESS_SITE)
    assert p.returncode == 0, p.stderr
    server.key = harness.write_key(os.path.join(server.dir, "site.key"),
                                   p.stdout.encode().rstrip(b"\n"))
    rc, out = server.check_config()
    assert rc != 0, out
    assert "is a site's key (consentctl site-key)" in out, out


# --- the event loop never waits on the store --------------------------------

TABLES = "consent_proof, consent_lane, consent_notice"


def test_static_file_while_the_store_is_locked(postgres, fresh_nginx):
    params = postgres.create_db()
    server = fresh_nginx(driver="pgsql", params=params).start()
    with open(os.path.join(server.dir, "htdocs", "static.txt"), "w") as f:
        f.write("static answer\n")
    _, token = get_form(server)
    db = params.split("dbname=")[1].split()[0]
    # psql holds every table locked until it reads "ROLLBACK" on stdin
    locker = subprocess.Popen(
        harness._as_postgres(["psql", "-h", postgres.dir, "-p",
                              str(postgres.port), "-U", postgres.user,
                              "-d", db, "-qAt", "-v", "ON_ERROR_STOP=1"]),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    locker.stdin.write("BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n"
                       "SELECT 'locked';\n" % TABLES)
    locker.stdin.flush()
    assert "locked" in locker.stdout.readline()
    order = []
    post = {}

    def submit_it():
        post["r"] = consent(server, "slow@example.org", token)
        order.append("post")
    t = threading.Thread(target=submit_it)
    t.start()
    try:
        # the POST is inside the store, waiting for the lock
        waiting = ("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                   "'%s' AND wait_event_type = 'Lock'" % db)
        for _ in range(600):
            p = postgres.run("psql", "-h", postgres.dir, "-p",
                             str(postgres.port), "-U", postgres.user, "-d",
                             db, "-Atc", waiting)
            if p.stdout.strip() != "0":
                break
        else:
            pytest.fail("the POST never reached the store")
        r = requests.get(server.url("/static.txt"), timeout=30)
        order.append("static")
        assert r.status_code == 200 and r.text == "static answer\n"
    finally:
        locker.stdin.write("ROLLBACK;\n")
        locker.stdin.close()
        locker.wait(30)
        t.join(60)
    assert order == ["static", "post"]
    assert post["r"].status_code == 200, post["r"].text


# --- store down, then back ----------------------------------------------------

@pytest.mark.parametrize("first", ["thread", "writer"])
def test_a_worker_waits_for_a_locked_sqlite3_store(fresh_nginx, first):
    """A worker's first connection meets the file locked for a moment (a
    commit, a checkpoint, consentctl): its first statement waits for the
    lock, as Apache's do, instead of failing "database is locked" (503).
    A pool thread's own connection (a one-click unsubscribe reads the
    person's state there) or the writer's (a submission). Each on a
    fresh nginx: an open connection would keep the lock from being
    taken."""
    server = fresh_nginx().start()
    _, token = get_form(server)        # no store connection yet
    link = departures.unsubscribe_url(server, "locked@example.org")[0]
    with harness.SqliteLock(server.params):
        if first == "thread":
            r = requests.post(link, data="List-Unsubscribe=One-Click",
                              timeout=30, allow_redirects=False, headers={
                                  "Content-Type":
                                  "application/x-www-form-urlencoded"})
        else:
            r = consent(server, "locked@example.org", token)
    assert r.status_code == 200, (r.status_code, server.error_log()[-2000:])


def test_store_down_is_503_then_recovers_without_reload(fresh_nginx):
    server = fresh_nginx()
    store_dir = os.path.join(server.dir, "later")
    server.params = os.path.join(store_dir, "consent.db")
    server.start()
    _, token = get_form(server)         # not known down yet
    r = consent(server, "d@example.org", token)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    # known down: no form that could not be kept
    r = requests.get(server.url("/newsletter"), timeout=10)
    assert r.status_code == 503
    assert server.proc.poll() is None and server.worker_pids()
    os.mkdir(store_dir)
    nginx_harness.give_to_worker(store_dir)
    r, token = get_form(server)
    assert consent(server, "d@example.org", token).status_code == 200
    assert "unavailable" in server.error_log()


# --- memory ----------------------------------------------------------------

def test_requests_under_valgrind(fresh_nginx, tmp_path):
    server = fresh_nginx(forms=[
        ("/newsletter", harness.EXAMPLE, ""),
        ("/thanks-form", harness.EXAMPLE, "    ConsentSuccessURL /thanks"),
        ("/small", harness.EXAMPLE, "    ConsentMaxBody 2048"),
    ])
    logs = str(tmp_path)
    os.chmod(logs, 0o777)
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "valgrind-nginx.supp")
    server.start(wrapper=valgrind(logs) + ["--suppressions=" + supp],
                 single=True)
    with requests.Session() as s:
        sent = sum(one_round(s, server, ["/newsletter/withdraw"])
                   for _ in range(3))
    assert sent == 60
    server.stop()
    check_logs(logs, 1)   # master_process off: one process


# --- nginx's own body parsing -------------------------------------------------

def test_malformed_urlencoded_body_is_400(fresh_nginx):
    server = fresh_nginx().start()
    _, token = get_form(server)
    before = len(harness.export(server))
    for body in ("email=a%zz%40example.org&consent_token=" + token,
                 "email&consent_token=" + token, "=x&consent_token=" + token):
        r = requests.post(server.url("/newsletter"), data=body, timeout=10,
                          headers={"Content-Type":
                                   "application/x-www-form-urlencoded"})
        assert r.status_code == 400, body
        assert "malformed urlencoded body" in server.error_log()
    assert len(harness.export(server)) == before



# --- make install ---------------------------------------------------------------

def test_make_install_puts_the_module_where_debian_looks(tmp_path,
                                                        fresh_nginx):
    from test_debian_install import make_install
    root = make_install(str(tmp_path / "root"))
    module = root + "/usr/lib/nginx/modules/ngx_http_consent_module.so"
    snippet = root + "/usr/share/nginx/modules-available/mod-http-consent.conf"
    assert os.path.exists(module)
    # Debian's nginx: prefix /usr/share/nginx, modules -> /usr/lib/nginx/...
    with open(snippet) as f:
        assert f.read().strip() == \
            "load_module modules/ngx_http_consent_module.so;"
    assert os.path.realpath("/usr/share/nginx/modules") == \
        "/usr/lib/nginx/modules"
    # the installed file loads and serves
    server = fresh_nginx()
    built = server.config_text

    def installed():
        return built().replace(nginx_harness.MODULE, module)
    server.config_text = installed
    server.start()
    r, _ = get_form(server)
    assert r.status_code == 200


def test_postgresql_restarted_under_nginx(fresh_nginx):
    """apr-util's pgsql driver crashes when a transaction starts on a
    connection whose server went away: the module's threads must notice
    first. 503 while it is down, service back when it is, no worker
    lost and no reload."""
    pg = harness.PostgresServer().start()
    try:
        server = fresh_nginx(driver="pgsql", params=pg.create_db()).start()
        assert consent(server, "a@example.org").status_code == 200
        workers = server.worker_pids()      # the one that answered
        assert len(workers) == 1
        _, token = get_form(server)
        pg.stop()
        r = consent(server, "b@example.org", token)
        assert r.status_code == 503 and r.headers["Retry-After"] == "30"
        pg.start()
        # every pool thread that held a connection meets a dead one once
        for i in range(40):
            r = consent(server, "c%d@example.org" % i)
            assert r.status_code == 200, server.error_log()[-3000:]
        assert "exited on signal" not in server.error_log(), \
            server.error_log()[-3000:]
        assert server.worker_pids() == workers
    finally:
        pg.cleanup()


def test_reload_keeps_serving(fresh_nginx):
    """nginx -s reload: a new cycle compiles the forms again (the old
    cycle's APR pool goes with it), new workers take over, and a form
    rendered before the reload is still accepted after it."""
    import signal
    import time
    server = fresh_nginx().start()
    _, token = get_form(server)
    before = server.worker_pids()
    server.proc.send_signal(signal.SIGHUP)
    for _ in range(300):
        now = server.worker_pids()
        if now and not set(now) & set(before):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no new worker after SIGHUP:\n" + server.error_log())
    assert consent(server, "r@example.org", token).status_code == 200
    assert consent(server, "s@example.org").status_code == 200
    assert "exited on signal" not in server.error_log()


# --- directives ----------------------------------------------------------------

@pytest.mark.parametrize("line,words", [
    ("consent_token_lifetime 5s;", "between 10s and 30d"),
    ("consent_token_lifetime 31d;", "between 10s and 30d"),
    ("consent_max_body 512;", "between 1024"),
    ("consent_success_url thanks.html;", "absolute URL or a path"),
    ("consent_default_language 'e n';", "language tag"),
    ("consent_template_dir /nonexistent;", "not a directory"),
    ("consent_store oracle x;", "not supported"),
    ("consent_guard_fix maybe;", "consent_guard_fix"),
])
def test_bad_directive_fails_nginx_t(fresh_nginx, line, words):
    server = fresh_nginx()
    server.forms = [("/newsletter", harness.EXAMPLE,
                     "")]
    server.locations = "        location /x {\n            %s\n        }\n" \
        % line
    rc, out = server.check_config()
    assert rc != 0, out
    assert words in out and "nginx.conf:" in out, out


def test_default_language_and_lifetime(fresh_nginx):
    server = fresh_nginx(forms=[(
        "/newsletter", harness.EXAMPLE,
        "    ConsentDefaultLanguage fr\n    ConsentTokenLifetime 1h")])
    server.start()
    r = requests.get(server.url("/newsletter"), timeout=10,
                     headers={"Accept-Language": "de"})
    assert r.status_code == 200 and r.headers["Content-Language"] == "fr"
    # 90 minutes old: within the default 2h, past this location's 1h
    import time
    import tokens
    old = tokens.reissue(token_of(r.text), tokens.key_bytes(server.key),
                         issued=int((time.time() - 90 * 60) * 1e6))
    r = consent(server, "late@example.org", old)
    assert r.status_code == 403 and token_of(r.text)    # a fresh form


# --- load -----------------------------------------------------------------------

@pytest.mark.parametrize("driver", ["sqlite3", "pgsql"])
def test_concurrent_submissions_all_stored(request, fresh_nginx, driver):
    """32 clients at once on 2 workers: every receipt handed out is in
    the store, the chains verify, nothing else was answered."""
    from concurrent.futures import ThreadPoolExecutor
    from conftest import store_params
    driver, params = store_params(request, driver)
    server = fresh_nginx(driver=driver, params=params, workers=2).start()

    def one(i):
        with requests.Session() as s:
            r = s.get(server.url("/newsletter"), timeout=60)
            return s.post(server.url("/newsletter"), timeout=60, data={
                "email": "load%d@example.org" % i, "consent": "newsletter",
                "consent_token": token_of(r.text)})
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(one, range(200)))
    assert {r.status_code for r in answers} == {200}
    receipts = {r.headers["Consent-Receipt"] for r in answers}
    assert len(receipts) == 200
    assert receipts <= {p["receipt_id"] for p in harness.export(server)}
    p = harness.verify(server)
    assert p.returncode == 0, p.stdout + p.stderr


def test_bad_layout_fails_nginx_t(fresh_nginx, tmp_path):
    """A layout that pre-ticks a box (R1) is refused as on Apache,
    naming the template's file and line."""
    import shutil
    layout = str(tmp_path / "layout")
    shutil.copytree(harness.TEMPLATES, layout)
    shutil.copy(os.path.join(harness.FIXTURES, "templates-preticked",
                             "purpose.html"), layout)
    server = fresh_nginx(forms=[("/newsletter", harness.EXAMPLE,
                                 "    ConsentTemplateDir " + layout)])
    rc, out = server.check_config()
    assert rc != 0, out
    assert re.search(re.escape(layout) + r"/purpose.html:3: \[R1\]", out), out
