"""`make install` and Debian's stock Apache: the module, its templates and
its consent.load/consent.conf pair go where apxs and a2enmod expect them,
and the module serves a form next to the stock default site."""
import os
import shutil
import subprocess
import time

import requests

import harness
from conftest import get_form, submit


def make_install(destdir):
    p = subprocess.run(["make", "-C", harness.BUILD, "install",
                        "DESTDIR=" + destdir], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return destdir


def apxs(var):
    return subprocess.run(["apxs", "-q", var], capture_output=True,
                          text=True).stdout.strip()


def test_make_install_puts_everything_in_place(tmp_path):
    root = make_install(str(tmp_path / "root"))
    moddir = root + apxs("LIBEXECDIR")
    confdir = root + apxs("SYSCONFDIR") + "/mods-available"
    assert os.path.exists(moddir + "/mod_consent.so")
    assert not os.path.exists(moddir + "/mod_consent.la")
    load = open(confdir + "/consent.load").read()
    assert "# Depends: dbd" in load
    assert ("LoadModule consent_module %s/mod_consent.so"
            % apxs("LIBEXECDIR")) in load
    assert os.path.exists(confdir + "/consent.conf")
    shares = [d for d, _, files in os.walk(root) if "consent-form.rng"
              in files]
    assert shares, "schema not installed"
    for f in ("page.html", "form.html", "i18n/en.xml", "i18n/fr.xml",
              "examples/newsletter.xml"):
        assert os.path.exists(os.path.join(shares[0], f)), f
    assert os.access(root + "/usr/local/bin/consentctl", os.X_OK) or any(
        "consentctl" in files for _, _, files in os.walk(root))


def stock_copy(tmp_path, root):
    """A copy of Debian's /etc/apache2, enabled as a2enmod would."""
    etc = str(tmp_path / "apache2")
    shutil.copytree("/etc/apache2", etc, symlinks=True)
    confdir = root + apxs("SYSCONFDIR") + "/mods-available"
    load = open(confdir + "/consent.load").read().replace(
        apxs("LIBEXECDIR"), root + apxs("LIBEXECDIR"))
    with open(etc + "/mods-available/consent.load", "w") as f:
        f.write(load)
    shutil.copy(confdir + "/consent.conf", etc + "/mods-available/")
    for m in ("dbd.load", "consent.load", "consent.conf"):
        dst = etc + "/mods-enabled/" + m
        if not os.path.lexists(dst):
            os.symlink("../mods-available/" + m, dst)
    return etc


def test_debian_stock_apache_serves_a_form_next_to_its_default_site(
        tmp_path):
    root = make_install(str(tmp_path / "root"))
    etc = stock_copy(tmp_path, root)
    share = [d for d, _, files in os.walk(root)
             if "consent-form.rng" in files][0]
    run = harness.make_workdir()
    port = harness.free_port()
    key = harness.write_key(os.path.join(run, "consent.key"))
    with open(etc + "/ports.conf", "w") as f:
        f.write("Listen 127.0.0.1:%d\n" % port)
    with open(etc + "/sites-enabled/050-consent.conf", "w") as f:
        f.write("""
DBDriver sqlite3
DBDParams %(run)s/consent.db
ConsentSecretFile %(key)s
<VirtualHost *:%(port)d>
    ServerName consent.test
    # installed under DESTDIR, not where the module looks by default
    ConsentTemplateDir %(share)s
    <Location /newsletter>
        SetHandler consent-form
        ConsentForm %(share)s/examples/newsletter.xml
    </Location>
</VirtualHost>
""" % {"run": run, "key": key, "share": share, "port": port})
    env = dict(os.environ, APACHE_CONFDIR=etc, APACHE_RUN_DIR=run,
               APACHE_PID_FILE=run + "/apache2.pid",
               APACHE_LOCK_DIR=run, APACHE_LOG_DIR=run,
               APACHE_RUN_USER=harness.RUN_USER,
               APACHE_RUN_GROUP=harness.RUN_GROUP, LANG="C")
    cmd = [harness.APACHE, "-d", etc, "-f", etc + "/apache2.conf"]
    check = subprocess.run(cmd + ["-t"], env=env, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr
    harness.watch_log(run + "/error.log")     # the crash scan reads it
    proc = subprocess.Popen(cmd + ["-X"], env=env, start_new_session=True)
    try:
        server = harness.ApacheServer(workdir=run)
        server.port, server.proc = port, proc
        server.driver, server.params, server.key = "sqlite3", \
            run + "/consent.db", key
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                default = requests.get(server.url("/"), timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert default.status_code == 200      # the stock default site
        assert "Apache2 Debian Default Page" in default.text
        r = requests.get(server.url("/newsletter"),
                         headers={"Host": "consent.test"}, timeout=10)
        assert r.status_code == 200
        _, token = get_form(server)
        r = submit(server, {"email": "stock@example.org",
                            "consent_token": token})
        assert r.status_code == 200, r.text
    finally:
        proc.terminate()
        proc.wait(20)
        harness.collect_log(run + "/error.log")
        shutil.rmtree(run, ignore_errors=True)


def make_uninstall(destdir):
    p = subprocess.run(["make", "-C", harness.BUILD, "uninstall",
                        "DESTDIR=" + destdir], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def system_dirs(root):
    """The folders a system has anyway (bin, apxs' folders, share...) and
    their parents: install may create them under DESTDIR, and uninstall
    must not remove them from a real system."""
    keep = set()
    for var in ("LIBEXECDIR", "SYSCONFDIR"):
        keep.add(root + apxs(var))
    keep.add(root + apxs("SYSCONFDIR") + "/mods-available")
    for d, _, files in os.walk(root):
        if "consentctl" in files:
            keep.add(d)
        if "consent-form.rng" in files:
            keep.add(os.path.dirname(d))        # .../share
        # nginx's module folders and the man sections: a system that has
        # nginx or man has them anyway
        if {"ngx_http_consent_module.so", "mod-http-consent.conf",
                "consentctl.1", "mod_consent.5"} & set(files):
            keep.add(d)
    out = set()
    for d in keep:
        while d.startswith(root):
            out.add(d)
            d = os.path.dirname(d)
    return out


def test_make_uninstall_removes_everything_install_put(tmp_path):
    root = make_install(str(tmp_path / "root"))
    installed = [os.path.join(d, f) for d, _, files in os.walk(root)
                 for f in files]
    assert any(f.endswith("/mod_consent.so") for f in installed)
    keep = system_dirs(root)
    make_uninstall(root)
    left = [os.path.join(d, f) for d, _, files in os.walk(root)
            for f in files]
    assert left == [], left
    dirs = {d for d, _, _ in os.walk(root)}
    assert dirs <= keep, sorted(dirs - keep)


def site_snippet():
    """The site configuration the README tells admins to write."""
    text = open(os.path.join(harness.TOP, "README.md")).read()
    section = text.split("## Installing into an existing Apache", 1)[1]
    return section.split("```apache\n", 1)[1].split("```", 1)[0]


def test_readme_site_survives_a2dismod_consent(tmp_path):
    root = make_install(str(tmp_path / "root"))
    etc = stock_copy(tmp_path, root)
    share = [d for d, _, files in os.walk(root)
             if "consent-form.rng" in files][0]
    run = harness.make_workdir()
    key = harness.write_key(os.path.join(run, "consent.key"))
    site = site_snippet()
    assert site.lstrip().startswith("<IfModule consent_module>"), site
    site = (site.replace("/var/lib/mod_consent/consent.db",
                         run + "/consent.db")
            .replace("/etc/apache2/consent.key", key)
            .replace("/etc/apache2/consent/newsletter.xml",
                     share + "/examples/newsletter.xml")
            .replace("<IfModule consent_module>\n",
                     "<IfModule consent_module>\nConsentTemplateDir %s\n"
                     % share, 1))
    with open(etc + "/sites-enabled/050-consent.conf", "w") as f:
        f.write(site)
    env = dict(os.environ, APACHE_CONFDIR=etc, APACHE_RUN_DIR=run,
               APACHE_PID_FILE=run + "/apache2.pid",
               APACHE_LOCK_DIR=run, APACHE_LOG_DIR=run,
               APACHE_RUN_USER=harness.RUN_USER,
               APACHE_RUN_GROUP=harness.RUN_GROUP, LANG="C")
    cmd = [harness.APACHE, "-d", etc, "-f", etc + "/apache2.conf", "-t"]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        # a2dismod consent: the module's links go, the site stays
        for m in ("consent.load", "consent.conf"):
            os.unlink(etc + "/mods-enabled/" + m)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    finally:
        shutil.rmtree(run, ignore_errors=True)
