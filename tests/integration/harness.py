"""Real Apache for the integration tests.

Each ApacheServer writes a complete httpd.conf of its own (no Debian
/etc/apache2 involved), starts `/usr/sbin/apache2 -X -f CONF` on 127.0.0.1
with User/Group set, and stops it. Paths to what the build produced come
from the environment (set by build/test) or default to an in-tree build.
"""
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CONSENT_BUILD_DIR", TOP)
MODULE = os.path.join(BUILD, ".libs", "mod_consent.so")
CONSENTCTL = os.path.join(BUILD, "mod_consent", "consentctl")
TEMPLATES = os.path.join(TOP, "templates")
FIXTURES = os.path.join(TOP, "tests", "fixtures")
EXAMPLE = os.path.join(TEMPLATES, "examples", "newsletter.xml")
APACHE = "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"

RUN_USER = "www-data" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
RUN_GROUP = "www-data" if os.geteuid() == 0 else grp.getgrgid(os.getegid()).gr_name


# What a server log says when a process died of a signal: Apache's parent
# about a child (AH00051/AH00052 "exit signal ..."), a crash handler or
# PostgreSQL ("terminated by signal 11: Segmentation fault").
CRASH_SIGNS = ("exit signal", "Segmentation fault", "AH00051", "AH00052")

_watched = {}       # log path -> offset already scanned
_crashes = []       # findings not yet reported to a test


def watch_log(path):
    """Have the crash scan read the log at `path` after every test.

    Every server a test starts registers its log here (ApacheServer and
    PostgresServer do it themselves); a server of your own (nginx,
    php-fpm...) calls `harness.watch_log(its_error_log)` before it starts.
    The autouse fixture in conftest.py then fails any test during which a
    line of CRASH_SIGNS was written, naming the line, whatever the scope of
    the server: only what was written since the last scan is read.
    Registering twice is harmless; a log that does not exist yet is fine.
    A server that deletes its log calls `collect_log(path)` first.
    """
    path = os.path.abspath(path)
    _watched.setdefault(path, _size(path))
    return path


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def crash_lines(text):
    """The lines of `text` that say a process died of a signal."""
    return [l for l in text.splitlines()
            if any(sign in l for sign in CRASH_SIGNS)]


def collect_log(path):
    """Scans the part of a watched log not scanned yet and keeps what it
    finds for the next report: call it before a log is deleted."""
    path = os.path.abspath(path)
    if path not in _watched:
        return
    start = _watched[path]
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            if end < start:          # truncated or replaced: read it all
                start = 0
            f.seek(start)
            text = f.read(end - start).decode(errors="replace")
    except OSError:
        return
    _watched[path] = end
    for line in crash_lines(text):
        _crashes.append("%s: %s" % (path, line))


def report_crash(what):
    """Records a crash seen otherwise than in a log (an exit status)."""
    _crashes.append(what)


def scan_logs():
    """Every crash line written to a watched log since the last scan, and
    every crash reported meanwhile; forgets them once returned."""
    for path in list(_watched):
        collect_log(path)
    found = list(_crashes)
    del _crashes[:]
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def give_to_run_user(path):
    """The store directory must be writable by the User httpd runs as."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam(RUN_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def make_workdir():
    d = tempfile.mkdtemp(prefix="consent-it-")
    os.chmod(d, 0o755)
    give_to_run_user(d)
    return d


def write_key(path, secret=b"k" * 48, mode=0o600):
    with open(path, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(path, mode)
    return path


BASE_CONF = """\
ServerRoot {dir}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {dir}/httpd.pid
DefaultRuntimeDir {dir}
ErrorLog {dir}/error.log
LogLevel info consent:debug
LogFormat "%h %r %>s %b" plain
CustomLog {dir}/access.log plain
User {user}
Group {group}
LoadModule mpm_{mpm}_module {moddir}/mod_mpm_{mpm}.so
LoadModule authz_core_module {moddir}/mod_authz_core.so
LoadModule dbd_module {moddir}/mod_dbd.so
LoadModule consent_module {module}
{extra_modules}
DBDriver {driver}
DBDParams "{params}"
ConsentSecretFile {key}
ConsentTemplateDir {templates}
"""

FORM_LOCATION = """\
<Location {location}>
    SetHandler consent-form
    ConsentForm {form}
{extra}
</Location>
"""


def server_env(env=None):
    """The sanitizer gate (test_gates_sanitizers.py) sets CONSENT_PRELOAD:
    Debian's apache2 is not built with ASan, so its runtime must be
    preloaded before an ASan-built mod_consent.so can load."""
    preload = os.environ.get("CONSENT_PRELOAD")
    if not preload:
        return env
    env = dict(env if env is not None else os.environ)
    env["LD_PRELOAD"] = preload
    return env


def keep_sanitizer_reports(log, name):
    """httpd sends a module's stderr, so ASan/UBSan reports, to its
    ErrorLog: the sanitizer gate collects them before the server's
    directory goes (CONSENT_SANITIZER_REPORTS names where)."""
    where = os.environ.get("CONSENT_SANITIZER_REPORTS")
    if where and ("Sanitizer" in log or "runtime error:" in log):
        with open(os.path.join(where, "httpd-" + os.path.basename(name)),
                  "w") as f:
            f.write(log)


def answers(port):
    """Whether an HTTP server on port answers a request (any status)."""
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5) as c:
            c.settimeout(5)
            c.sendall(b"HEAD / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return c.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


class ApacheServer:
    """One Apache on 127.0.0.1 with mod_consent and a store."""

    def __init__(self, workdir=None, driver="sqlite3", params=None,
                 forms=None, extra="", extra_modules="", key=None,
                 mpm="event"):
        self.dir = workdir or make_workdir()
        self.port = free_port()
        self.driver = driver
        self.params = params or os.path.join(self.dir, "consent.db")
        self.key = key or write_key(os.path.join(self.dir, "consent.key"))
        self.forms = forms if forms is not None else [("/newsletter", EXAMPLE, "")]
        self.extra = extra
        self.extra_modules = extra_modules
        self.mpm = mpm                  # event or prefork (Debian has both)
        self.proc = None
        self.conf = os.path.join(self.dir, "httpd.conf")
        watch_log(os.path.join(self.dir, "error.log"))

    def config_text(self):
        text = BASE_CONF.format(
            dir=self.dir, port=self.port, user=RUN_USER, group=RUN_GROUP,
            moddir=MODDIR, module=MODULE, driver=self.driver,
            params=self.params, key=self.key, templates=TEMPLATES,
            extra_modules=self.extra_modules, mpm=self.mpm)
        for location, form, extra in self.forms:
            text += FORM_LOCATION.format(location=location, form=form,
                                         extra=extra)
        return text + self.extra

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())

    def check_config(self):
        """`apache2 -t`: (exit code, output)."""
        self.write_config()
        p = subprocess.run([APACHE, "-t", "-f", self.conf],
                           capture_output=True, text=True, timeout=60,
                           env=server_env())
        return p.returncode, p.stdout + p.stderr

    # One serving process. Not -X on the event MPM: httpd 2.4.71's own
    # one-process exit (ap_terminate, then the worker queue's cleanup
    # walking transaction pools already destroyed) dies of SIGSEGV now
    # and then, whatever the module (README, "Known issues": 2 stops in
    # 400 without it); a forked child never takes that path.
    ONE_CHILD = """
StartServers 1
ServerLimit 1
ThreadsPerChild 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
GracefulShutdownTimeout 10
"""

    def start(self, env=None, wrapper=(), single=True):
        """One serving process by default (-X on prefork, a parent with
        one child on event); single=False runs the usual master and
        children, for tests that kill a child."""
        one_child = single and self.mpm == "event"
        self.one_child = one_child
        self.write_config()
        if one_child:
            with open(self.conf, "a") as f:
                f.write(self.ONE_CHILD)
        mode = ["-X"] if single and not one_child else ["-DFOREGROUND"]
        self.proc = subprocess.Popen(
            list(wrapper) + [APACHE] + mode + ["-f", self.conf],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=server_env(env), start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError("apache2 exited %s:\n%s\n%s" % (
                    self.proc.returncode, out, self.error_log()))
            # httpd listens before post_config has run (where the schema
            # is created): started means an answer, not a connection
            if answers(self.port):
                return self
            time.sleep(0.1)
        raise RuntimeError("apache2 did not listen:\n" + self.error_log())

    def stop(self):
        """SIGTERM, as apachectl stop, except graceful-stop (SIGWINCH)
        for the one child of single=True on event; an exit by any signal
        is a crash (in -X mode nobody else would log it).

        Why not SIGTERM for the one child: httpd 2.4.71's ungraceful
        child exit has a race of its own. The child's main thread closes
        each worker's socket (close_worker_sockets) while a worker that
        just finished its connection destroys the pool that socket lives
        in: SIGSEGV in apr_os_sock_get. It does not need mod_consent: a
        child stopped right after its last requests crashed 4 times in
        1200 without the module loaded, 2 in 400 without it after GET +
        POST pairs, 15 in 1600 with it after form submissions (GET +
        POST); every core the same, no frame of ours (README, "Known
        issues"). Graceful-stop never runs that code. SIGTERM stops stay
        tested: multi-child servers here (single=False) and
        test_shutdown.py, ten under load."""
        if self.proc and self.proc.poll() is None:
            self.send_stop()
            if not self.wait_exit(30):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                self.proc.returncode = 0    # our kill, not a crash
        if self.proc and self.proc.returncode < 0:
            report_crash("%s: apache2 (pid %d) exit signal %s" % (
                self.conf, self.proc.pid,
                signal.Signals(-self.proc.returncode).name))
        self.proc = None

    def send_stop(self):
        self.proc.send_signal(signal.SIGWINCH
                              if getattr(self, "one_child", False)
                              else signal.SIGTERM)

    def wait_exit(self, seconds):
        """Whether the process exits within seconds of its stop signal.

        A connection every few seconds wakes it: prefork with -X and one
        Listen blocks in accept(), and a SIGTERM that lands after its
        loop checked for shutdown and before accept() only takes effect
        once accept() returns (httpd's own race, wider under valgrind:
        CI once saw a -X server still there 30 s later)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.proc.wait(max(0.1, min(3, deadline - time.monotonic())))
                return True
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    return False
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
            except OSError:
                pass

    GENERATION_READY = "resuming normal operations"

    def graceful(self):
        """`apachectl -k graceful` (SIGUSR1 to the parent, single=False);
        returns once the new generation said it is ready."""
        deadline = time.time() + 60
        # the parent listens before it handles signals: a SIGUSR1 before
        # its first "resuming" would kill it
        while not self.error_log().count(self.GENERATION_READY):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("apache2 never became ready:\n"
                                   + self.error_log()[-3000:])
            time.sleep(0.05)
        before = self.error_log().count(self.GENERATION_READY)
        self.proc.send_signal(signal.SIGUSR1)
        while self.error_log().count(self.GENERATION_READY) <= before:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("graceful restart did not complete:\n"
                                   + self.error_log()[-3000:])
            time.sleep(0.05)
        return self

    def children(self):
        p = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                           capture_output=True, text=True)
        return [int(x) for x in p.stdout.split()]

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
        collect_log(os.path.join(self.dir, "error.log"))
        keep_sanitizer_reports(self.error_log(), self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def consentctl(*args, input=None):
    """The build's consentctl, finding the schema in the source tree."""
    env = dict(os.environ, CONSENT_TEMPLATE_DIR=TEMPLATES)
    return subprocess.run([CONSENTCTL] + list(args), capture_output=True,
                          text=True, input=input, timeout=120, env=env)


PG_BIN = sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin"))[-1:] \
    or ["/usr/lib/postgresql/15/bin"]
PG_BIN = PG_BIN[0]


def _as_postgres(cmd):
    """PostgreSQL refuses to run as root: use its own account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


class PostgresServer:
    """A real PostgreSQL server of the suite's own: initdb in a temporary
    directory, listening only on a unix socket there."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="consent-pg-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else RUN_USER
        self.dbs = 0
        watch_log(os.path.join(self.dir, "pg.log"))

    def run(self, *cmd, check=True):
        return subprocess.run(_as_postgres(list(cmd)), capture_output=True,
                              text=True, timeout=120, check=check)

    def start(self):
        if not os.path.exists(self.data):
            self.run(os.path.join(PG_BIN, "initdb"), "-D", self.data,
                     "-U", self.user, "--auth=trust", "-E", "UTF8")
        self.run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w",
                 "-l", os.path.join(self.dir, "pg.log"), "-o",
                 "-k %s -p %d -c listen_addresses='' -c fsync=on "
                 "-c max_connections=300" % (self.dir, self.port), "start")
        return self

    def stop(self, mode="fast"):
        self.run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w",
                 "-m", mode, "stop", check=False)

    def create_db(self):
        self.dbs += 1
        name = "consent%d" % self.dbs
        self.run(os.path.join(PG_BIN, "createdb"), "-h", self.dir, "-p",
                 str(self.port), "-U", self.user, name)
        return self.params(name)

    def params(self, db):
        return "host=%s port=%d dbname=%s user=%s" % (
            self.dir, self.port, db, self.user)

    def cleanup(self):
        self.stop("immediate")
        collect_log(os.path.join(self.dir, "pg.log"))
        shutil.rmtree(self.dir, ignore_errors=True)


class MariaDBServer:
    """A real MariaDB server of the suite's own: mariadb-install-db into a
    temporary directory, mariadbd on a private port (127.0.0.1) and
    socket; root without a password, as DBDParams
    `host=127.0.0.1 port=P user=root dbname=NAME` (apr-util's mysql
    driver) reaches it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="consent-my-")
        os.chmod(self.dir, 0o755)
        self.user = "mysql" if os.geteuid() == 0 else RUN_USER
        if os.geteuid() == 0:
            pw = pwd.getpwnam("mysql")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.port = free_port()
        self.proc = None
        self.dbs = 0

    def start(self):
        if not os.path.exists(self.data):
            subprocess.run(
                ["mariadb-install-db", "--user=" + self.user,
                 "--datadir=" + self.data,
                 "--auth-root-authentication-method=normal",
                 "--skip-test-db"], capture_output=True, text=True,
                timeout=180, check=True)
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=" + self.user,
             "--datadir=" + self.data, "--socket=" + self.socket,
             "--port=%d" % self.port, "--bind-address=127.0.0.1",
             "--pid-file=" + os.path.join(self.dir, "mariadb.pid"),
             "--log-error=" + os.path.join(self.dir, "error.log"),
             "--innodb-buffer-pool-size=32M", "--max-connections=400",
             "--skip-name-resolve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited:\n" + self.log())
            if self.sql("SELECT 1", check=False).returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError("mariadbd did not start:\n" + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def sql(self, statement, db=None, check=True):
        cmd = ["mariadb", "--no-defaults", "-uroot",
               "--socket=" + self.socket, "-N", "-B", "-e", statement]
        return subprocess.run(cmd + ([db] if db else []),
                              capture_output=True, text=True, timeout=60,
                              check=check)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def create_db(self):
        self.dbs += 1
        name = "consent%d" % self.dbs
        self.sql("CREATE DATABASE %s" % name)
        return self.params(name)

    def params(self, db):
        return "host=127.0.0.1 port=%d user=root dbname=%s" % (self.port, db)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def export(server):
    """Every proof of a server's store, parsed."""
    import json
    p = consentctl("-d", server.driver, "-p", server.params, "export")
    assert p.returncode == 0, p.stderr
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def verify(server, *extra_keys):
    args = ["-d", server.driver, "-p", server.params, "-k", server.key]
    for k in extra_keys:
        args += ["-k", k]
    return consentctl(*(args + ["verify"]))


class SqliteLock:
    """`with SqliteLock(path):` another connection holds the sqlite3
    file's exclusive lock for `seconds` (a commit, a checkpoint,
    consentctl) while the block runs: what comes in must wait for it,
    not fail "database is locked"."""

    def __init__(self, path, seconds=1.5):
        self.path, self.seconds = path, seconds
        self.held = threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        import sqlite3
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("UPDATE consent_schema_version SET version = version")
            db.execute("COMMIT")        # the lock stays: exclusive mode
        except sqlite3.Error as e:
            self.error = e
            self.held.set()
            return
        self.held.set()
        time.sleep(self.seconds)
        db.close()

    def __enter__(self):
        self.error = None
        self.thread.start()
        assert self.held.wait(10) and self.error is None, self.error
        return self

    def __exit__(self, *exc):
        self.thread.join()
