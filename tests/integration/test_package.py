"""The Debian packages on this machine's own Apache, as an admin uses
them: build/package builds them (lintian: no error), apt-get installs
them, a2enmod enables the module, a site from the README passes
apachectl -t and serves a form (on a free port, with a configuration of
our own that includes the system's enabled modules: the system apache2
service may be running on port 80), an upgrade keeps the store and the
secret, and apt-get remove --purge leaves no file of the packages behind.
The nginx package the same way on the system's nginx: apt-get installs
it (the module enabled as Debian's nginx modules are), nginx -t passes
on the system's configuration and on one of our own with a consent_form
location, which serves a form on a free port, and the purge leaves
nothing.

Installs into the real system (CI is a throwaway root machine); slow
(about 2 minutes for the build, shared by both tests), so tests in phases. Everything it adds outside the
packages is named PKGTEST and removed at the end."""
import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

import harness
import nginx_harness
from conftest import token_of

PACKAGES = ("libapache2-mod-consent", "consentctl", "mod-consent-common")
NGINX_PACKAGES = ("libnginx-mod-http-consent", "mod-consent-common")
NGINX_MODULE = "/usr/lib/nginx/modules/ngx_http_consent_module.so"
NGINX_LOAD = "/usr/share/nginx/modules-available/mod-http-consent.conf"
NGINX_ENABLED = "/etc/nginx/modules-enabled/50-mod-http-consent.conf"
SITE = "/etc/apache2/sites-available/consent-pkgtest.conf"
DEFS = "/etc/apache2/consent-pkgtest"
KEY = "/etc/apache2/consent-pkgtest.key"
STORE = "/var/lib/mod_consent/pkgtest.db"
EXAMPLES = "/usr/share/doc/libapache2-mod-consent/examples"

# The README's site, as an admin writes it.
SITE_TEXT = """\
DBDriver sqlite3
DBDParams %s
ConsentSecretFile %s

<Location /newsletter>
    SetHandler consent-form
    ConsentForm %s/newsletter.xml
</Location>
""" % (STORE, KEY, DEFS)

# Our own server: the system's enabled modules (what a2enmod changed) and
# the site, on a free port, with its own pid file and logs.
SERVER_CONF = """\
ServerRoot /etc/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile %(dir)s/httpd.pid
DefaultRuntimeDir %(dir)s
ErrorLog %(dir)s/error.log
User www-data
Group www-data
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Include %(site)s
"""


def run(*cmd, ok=True, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive",
                                **(env or {})))
    if ok:
        assert p.returncode == 0, "%s:\n%s\n%s" % (cmd, p.stdout[-3000:],
                                                    p.stderr[-3000:])
    return p


def installed(pkg):
    p = run("dpkg-query", "-W", "-f=${Status}", pkg, ok=False)
    return p.returncode == 0 and "installed" in p.stdout.split()


def purge_all():
    present = [p for p in set(PACKAGES + NGINX_PACKAGES)
               if run("dpkg-query", "-W", p, ok=False).returncode == 0]
    if present:
        run("apt-get", "remove", "--purge", "-y", *present)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def bumped(deb, version, outdir):
    """The same package as version (an upgrade without a second build)."""
    tree = tempfile.mkdtemp(dir=outdir)
    run("dpkg-deb", "-R", deb, tree)
    control = os.path.join(tree, "DEBIAN", "control")
    text = open(control).read()
    old = next(l.split(": ", 1)[1] for l in text.splitlines()
               if l.startswith("Version: "))
    with open(control, "w") as f:
        f.write(text.replace(old, version))
    out = os.path.join(outdir, "%s_%s.deb" % (
        os.path.basename(deb).split("_")[0], version))
    run("dpkg-deb", "-b", "--root-owner-group", tree, out)
    shutil.rmtree(tree)
    return out


class SystemApache:
    def __init__(self, workdir):
        self.dir = workdir
        self.port = harness.free_port()
        self.conf = os.path.join(workdir, "httpd.conf")
        with open(self.conf, "w") as f:
            f.write(SERVER_CONF % {"port": self.port, "dir": workdir,
                                   "site": SITE})
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["sh", "-c", ". /etc/apache2/envvars && exec /usr/sbin/apache2 "
             "-DFOREGROUND -f " + self.conf], start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2) \
                    .close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("apache2 did not listen:\n" + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def log(self):
        out = self.proc.stdout.read().decode(errors="replace") \
            if self.proc and self.proc.poll() is not None else ""
        try:
            return out + open(os.path.join(self.dir, "error.log")).read()
        except OSError:
            return out

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def serve_a_form(workdir):
    server = SystemApache(workdir).start()
    try:
        r = requests.get(server.url("/newsletter"), timeout=10,
                         headers={"Accept-Language": "fr"})
        assert r.status_code == 200 and 'lang="fr"' in r.text, r.text
        href = r.text.split('rel="stylesheet" href="')[1].split('"')[0]
        css = requests.get(server.url(href), timeout=10)
        assert css.content == open("/usr/share/mod_consent/consent.css",
                                   "rb").read()
        done = requests.post(server.url("/newsletter"), timeout=10, data={
            "email": "pkg@example.org", "consent": "newsletter",
            "consent_token": token_of(r.text)})
        assert done.status_code == 200, done.text
        return done.headers["Consent-Receipt"]
    finally:
        server.stop()


def consentctl(*args):
    return run("/usr/bin/consentctl", "-d", "sqlite3", "-p", STORE, *args)


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """build: dpkg-buildpackage, then lintian --fail-on error (the unit
    tests run elsewhere in the suite: nocheck); once for both tests."""
    out = str(tmp_path_factory.mktemp("debs"))
    p = run(os.path.join(harness.TOP, "build", "package"), out,
            env={"DEB_BUILD_OPTIONS": "nocheck"})
    found = {os.path.basename(d).split("_")[0]: d
             for d in glob.glob(out + "/*.deb")}
    assert set(found) == set(PACKAGES + NGINX_PACKAGES), found
    assert "E:" not in p.stdout, p.stdout
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="installs packages: root only")
def test_build_install_serve_upgrade_purge(debs, tmp_path):
    dbd_was_enabled = os.path.exists("/etc/apache2/mods-enabled/dbd.load")
    work = str(tmp_path)
    os.chmod(work, 0o755)
    purge_all()
    try:
        # 2. install as the README says, with apt
        run("apt-get", "install", "-y", *[debs[p] for p in PACKAGES])
        files = [l for pkg in PACKAGES
                 for l in run("dpkg", "-L", pkg).stdout.splitlines()
                 if os.path.isfile(l)]
        assert "/usr/lib/apache2/modules/mod_consent.so" in files
        assert "/usr/bin/consentctl" in files
        for man in ("/usr/share/man/man1/consentctl.1.gz",
                    "/usr/share/man/man5/mod_consent.5.gz"):
            assert man in files
        assert os.path.exists(EXAMPLES + "/newsletter.xml")
        assert "# Depends: dbd" in open(
            "/etc/apache2/mods-available/consent.load").read()
        st = os.stat("/var/lib/mod_consent")
        assert (st.st_mode & 0o777) == 0o750
        assert st.st_uid == pwd.getpwnam("www-data").pw_uid

        # 3. a2enmod consent: dbd comes with it
        run("a2enmod", "consent")
        for m in ("consent.load", "consent.conf", "dbd.load"):
            assert os.path.exists("/etc/apache2/mods-enabled/" + m), m

        # 4. a site from the README; apachectl -t on the system's config
        os.makedirs(DEFS, exist_ok=True)
        shutil.copy(EXAMPLES + "/newsletter.xml", DEFS)
        run("sh", "-c", "umask 077; openssl rand -base64 48 > " + KEY)
        with open(SITE, "w") as f:
            f.write(SITE_TEXT)
        run("/usr/bin/consentctl", "lint", DEFS + "/newsletter.xml")
        run("a2ensite", "consent-pkgtest")
        p = run("apachectl", "-t")
        assert "Syntax OK" in p.stdout + p.stderr

        # 5. it serves a form and keeps its proof
        receipt = serve_a_form(work)
        assert receipt in consentctl("export").stdout
        consentctl("-k", KEY, "verify")
        before = (sha(STORE), sha(KEY))

        # 6. an upgrade keeps the store, the secret, the module enabled
        up = os.path.join(work, "up")
        os.mkdir(up)
        run("apt-get", "install", "-y",
            *[bumped(debs[p], "0.1.0+pkgtest1", up) for p in PACKAGES])
        assert run("dpkg-query", "-W", "-f=${Version}",
                   "libapache2-mod-consent").stdout == "0.1.0+pkgtest1"
        assert (sha(STORE), sha(KEY)) == before
        assert os.path.exists("/etc/apache2/mods-enabled/consent.load")
        assert os.stat("/var/lib/mod_consent").st_uid == st.st_uid
        second = serve_a_form(work)
        out = consentctl("export").stdout
        assert receipt in out and second in out
        consentctl("-k", KEY, "verify")

        # 7. remove --purge: no file of the packages is left
        run("a2dissite", "consent-pkgtest")
        os.remove(SITE)
        for f in glob.glob(STORE + "*"):
            os.remove(f)
        run("apt-get", "remove", "--purge", "-y", *PACKAGES)
        for pkg in PACKAGES:
            assert not installed(pkg), pkg
            assert run("dpkg-query", "-W", pkg, ok=False).returncode != 0
        left = [f for f in files if os.path.lexists(f)]
        assert not left, left
        for f in ("/etc/apache2/mods-available/consent.load",
                  "/etc/apache2/mods-available/consent.conf",
                  "/etc/apache2/mods-enabled/consent.load",
                  "/etc/apache2/mods-enabled/consent.conf",
                  "/var/lib/mod_consent", "/usr/share/mod_consent"):
            assert not os.path.lexists(f), f
        run("apachectl", "-t")
    finally:
        if os.path.lexists("/etc/apache2/sites-enabled/consent-pkgtest.conf"):
            run("a2dissite", "consent-pkgtest", ok=False)
        for f in [SITE, KEY] + glob.glob(STORE + "*"):
            if os.path.lexists(f):
                os.remove(f)
        shutil.rmtree(DEFS, ignore_errors=True)
        purge_all()
        if not dbd_was_enabled and os.path.lexists(
                "/etc/apache2/mods-enabled/dbd.load"):
            run("a2dismod", "-q", "dbd", ok=False)


def nginx_t(*args):
    p = run("/usr/sbin/nginx", "-t", *args, ok=False)
    assert p.returncode == 0 and "test is successful" in p.stderr, p.stderr
    return p.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="installs packages: root only")
def test_nginx_install_serve_purge(debs, monkeypatch):
    purge_all()
    server = None
    try:
        # 1. install as the README says, with apt: the module enabled the
        # way Debian's own libnginx-mod-* are
        run("apt-get", "install", "-y", *[debs[p] for p in NGINX_PACKAGES])
        dep = run("dpkg-query", "-W", "-f=${Depends}",
                  "libnginx-mod-http-consent").stdout
        assert "nginx-abi-" in dep and "mod-consent-common" in dep, dep
        files = [l for pkg in NGINX_PACKAGES
                 for l in run("dpkg", "-L", pkg).stdout.splitlines()
                 if os.path.isfile(l)]
        assert NGINX_MODULE in files and NGINX_LOAD in files
        with open(NGINX_LOAD) as f:
            assert f.read() == \
                "load_module modules/ngx_http_consent_module.so;\n"
        assert os.readlink(NGINX_ENABLED) == NGINX_LOAD

        # 2. the system's nginx, now loading the module, still passes:
        # a reload of a running nginx (the package's trigger) would work
        nginx_t()

        # 3. a configuration of our own (as nginx_harness writes them)
        # with the packaged module and templates: nginx -t, then a form
        monkeypatch.setattr(nginx_harness, "MODULE", NGINX_MODULE)
        monkeypatch.setattr(harness, "TEMPLATES", "/usr/share/mod_consent")
        server = nginx_harness.NginxServer()
        server.write_config()
        assert "load_module %s;" % NGINX_MODULE in server.config_text()
        assert "consent_form " in server.config_text()
        nginx_t("-p", server.dir, "-c", server.conf)
        server.start()
        r = requests.get(server.url("/newsletter"), timeout=10,
                         headers={"Accept-Language": "fr"})
        assert r.status_code == 200 and 'lang="fr"' in r.text, r.text
        done = requests.post(server.url("/newsletter"), timeout=10, data={
            "email": "pkg@example.org", "consent": "newsletter",
            "consent_token": token_of(r.text)})
        assert done.status_code == 200, done.text
        assert len(harness.export(server)) == 1
        server.stop()

        # 4. remove --purge: no file of the packages, no link is left, and
        # the system's nginx passes without the module
        run("apt-get", "remove", "--purge", "-y", *NGINX_PACKAGES)
        for pkg in NGINX_PACKAGES:
            assert run("dpkg-query", "-W", pkg, ok=False).returncode != 0
        left = [f for f in files if os.path.lexists(f)]
        assert not left, left
        for f in (NGINX_ENABLED, NGINX_ENABLED + ".removed",
                  "/usr/share/mod_consent"):
            assert not os.path.lexists(f), f
        nginx_t()
    finally:
        if server:
            server.cleanup()
        purge_all()
