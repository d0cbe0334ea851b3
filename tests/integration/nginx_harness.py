"""Real nginx for the integration tests, with ngx_http_consent_module.

NginxServer mirrors harness.ApacheServer (same constructor, same url(),
driver/params/key for harness.export and harness.verify), so a test
written for Apache runs against nginx through the `server` fixture: the
Apache directives a test passes in a form's `extra` (ConsentSuccessURL,
ConsentMaxBody...) are translated to their nginx names.

nginx runs as `nginx -p PREFIX -c CONF` with everything it writes under
PREFIX (pid, error_log, *_temp_path), workers as nobody:nogroup when the
tests run as root, and worker_processes 1 so that a test can tell what
one worker does while its thread pool waits on the store.
"""
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import time

import harness

NGINX = "/usr/sbin/nginx"
MODULE = os.environ.get(
    "CONSENT_NGINX_MODULE",
    os.path.join(harness.BUILD, "ngx_http_consent_module.so"))

RUN_USER = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
RUN_GROUP = "nogroup" if os.geteuid() == 0 else grp.getgrgid(os.getegid()).gr_name

BASE_CONF = """\
load_module {module};
{user}
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log {log_level};
daemon off;
master_process {master};
{main_extra}
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    consent_secret_file {key};
    consent_store {driver} "{params}";
    consent_template_dir {templates};
    server {{
        listen 127.0.0.1:{port};
        server_name 127.0.0.1;
        root {dir}/htdocs;
{locations}
{extra}
    }}
{http_extra}
}}
"""

FORM_LOCATION = """\
        location {location} {{
            consent_form {form};
{extra}
        }}
"""

# The Apache directives tests pass in a form's `extra`, by nginx name.
DIRECTIVES = {
    "consentsuccessurl": "consent_success_url",
    "consentmaxbody": "consent_max_body",
    "consenttokenlifetime": "consent_token_lifetime",
    "consentdefaultlanguage": "consent_default_language",
    "consenttemplatedir": "consent_template_dir",
    "consentstyle": "consent_style",
    "consentsecretfile": "consent_secret_file",
    "consentguardfix": "consent_guard_fix",
    "consentsite": "consent_site",
    "consentconfirm": "consent_confirm",
    "consentconfirmlifetime": "consent_confirm_lifetime",
}


def translate(apache_lines):
    """Apache directive lines -> nginx ones (`Name args` -> `name args;`).
    Only the consent directives have nginx names; anything else is a
    test that cannot run on nginx as written."""
    out = []
    for line in apache_lines.splitlines():
        words = line.split(None, 1)
        if not words:
            continue
        name = DIRECTIVES.get(words[0].lower())
        if not name:
            raise ValueError("no nginx name for %r" % line)
        arg = words[1] if len(words) > 1 else ""
        if name == "consent_guard_fix":
            arg = arg.lower()
        out.append("            %s %s;" % (name, arg))
    return "\n".join(out)


def give_to_worker(path, user=RUN_USER, group=RUN_GROUP):
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)


class NginxServer:
    """One nginx on 127.0.0.1 with the consent module and a store."""

    name = "nginx"

    def __init__(self, workdir=None, driver="sqlite3", params=None,
                 forms=None, extra="", main_extra="", key=None,
                 locations="", workers=1, log_level="info",
                 run_as=(RUN_USER, RUN_GROUP), http_extra=""):
        self.run_as = run_as
        # more server blocks (name-based, test_tenancy.py), in http {}
        self.http_extra = http_extra
        self.dir = workdir or harness.make_workdir()
        give_to_worker(self.dir, *run_as)
        self.port = harness.free_port()
        self.driver = driver
        self.params = params or os.path.join(self.dir, "consent.db")
        self.key = key or harness.write_key(
            os.path.join(self.dir, "consent.key"))
        self.forms = forms if forms is not None else [
            ("/newsletter", harness.EXAMPLE, "")]
        self.extra = extra
        self.main_extra = main_extra
        self.locations = locations
        self.workers = workers
        self.log_level = log_level
        self.proc = None
        self.single = False
        self.conf = os.path.join(self.dir, "nginx.conf")
        os.makedirs(os.path.join(self.dir, "htdocs"), exist_ok=True)

    def config_text(self):
        locs = "".join(FORM_LOCATION.format(
            location=loc, form=form, extra=translate(extra))
            for loc, form, extra in self.forms)
        user = ("user %s %s;" % self.run_as if os.geteuid() == 0 else "")
        return BASE_CONF.format(
            module=MODULE, user=user, dir=self.dir, key=self.key,
            driver=self.driver, params=self.params,
            templates=harness.TEMPLATES, port=self.port,
            locations=locs + self.locations, extra=self.extra,
            main_extra=self.main_extra, http_extra=self.http_extra,
            workers=self.workers,
            log_level=self.log_level,
            master="off" if self.single else "on")

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())

    def check_config(self):
        """`nginx -t`: (exit code, output)."""
        self.write_config()
        p = subprocess.run([NGINX, "-t", "-p", self.dir, "-c", self.conf],
                           capture_output=True, text=True, timeout=60,
                           env=harness.server_env())
        return p.returncode, p.stdout + p.stderr

    def command(self, *extra):
        return [NGINX, "-p", self.dir, "-c", self.conf] + list(extra)

    def start(self, env=None, wrapper=(), single=False):
        """single: no master (`master_process off`), the one process
        serving, as valgrind wants it."""
        self.single = single
        self.write_config()
        self.proc = subprocess.Popen(
            list(wrapper) + self.command(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=harness.server_env(env),   # ASan's runtime, in its gate
            start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError("nginx exited %s:\n%s\n%s" % (
                    self.proc.returncode, out, self.error_log()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not listen:\n" + self.error_log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def worker_pids(self):
        """The master's children, from /proc (no pgrep: it once came back
        empty while the worker was there)."""
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    stat = f.read()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                pids.append(int(name))
        return sorted(pids)

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
