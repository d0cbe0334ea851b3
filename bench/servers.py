"""The Apache instances of bench/run, and what they need built.

One BenchServer serves, from the same process and the same store, the
thing measured and its baseline: the example form at /newsletter and
the very bytes of one rendered page as a static file (/form.html); the
baseline POST handler (bench/mod_bench_insert.c) at /insert. It is the
integration tests' harness with logging turned down to what a production
server does (errors and an access log) and a fixed set of processes.
"""
import os
import re
import shutil
import subprocess
import tempfile

import requests

import harness
import tokens

HERE = os.path.dirname(os.path.abspath(__file__))

# Four children of 256 threads, always there: 256 concurrent connections
# without processes being started or stopped during a measurement. Each
# child can hold them all (the kernel does not spread connections evenly),
# or the event MPM closes keep-alive connections of a child whose workers
# are all busy and wrk counts read errors. DBDMax 64 per child keeps
# PostgreSQL under its max_connections (300).
MPM = """
StartServers {servers}
ServerLimit {servers}
ThreadLimit {threads}
ThreadsPerChild {threads}
MaxRequestWorkers {workers}
MinSpareThreads 1
MaxSpareThreads {workers}
MaxConnectionsPerChild 0
MaxKeepAliveRequests 0
DBDMax {dbdmax}
"""

SQLITE_INIT = """
DBDInitSQL "PRAGMA busy_timeout=10000"
DBDInitSQL "PRAGMA synchronous=FULL"
"""

STATIC = """
DocumentRoot {dir}/htdocs
TypesConfig /etc/mime.types
<Location /insert>
    SetHandler bench-insert
</Location>
"""

BASELINE_COLS = ", ".join("c%d TEXT" % i for i in range(1, 22))


class BenchServer(harness.ApacheServer):
    """mod_consent and its baselines in one Apache."""

    def __init__(self, insert_module, servers=4, threads=256,
                 extra="", **kw):
        super().__init__(**kw)
        mpm = MPM.format(servers=servers, threads=threads,
                         workers=servers * threads,
                         dbdmax=min(threads, 64))
        self.extra = mpm + STATIC.format(dir=self.dir) + extra
        if self.driver == "sqlite3":
            self.extra += SQLITE_INIT
        self.extra_modules = (
            "LoadModule mime_module %s/mod_mime.so\n"
            "LoadModule bench_insert_module %s\n" % (harness.MODDIR,
                                                    insert_module))
        os.makedirs(os.path.join(self.dir, "htdocs"), exist_ok=True)

    def config_text(self):
        # a production log level: consent:debug logs every decision
        # consent:info: each writer says at exit how it batched
        return re.sub(r"^LogLevel .*$", "LogLevel warn consent:info",
                      super().config_text(), flags=re.M)

    def start(self, **kw):
        # mod_dbd prepares the baseline's INSERT on every connection
        if self.driver == "sqlite3":
            create_baseline_table(self.driver, self.params)
        kw.setdefault("single", False)
        return super().start(**kw)

    def save_static_copy(self, path="/newsletter"):
        """The bytes of one rendered page, as a file the same Apache
        serves: the GET baseline."""
        r = requests.get(self.url(path), headers={"Accept-Language": "en"},
                         timeout=10)
        r.raise_for_status()
        with open(os.path.join(self.dir, "htdocs", "form.html"), "wb") as f:
            f.write(r.content)
        return r.content

    def tokens(self, n, path="/newsletter"):
        """n valid render tokens, each with a nonce of its own: the facts
        of one real token signed again, as the server would sign them."""
        r = requests.get(self.url(path), headers={"Accept-Language": "en"},
                         timeout=10)
        real = re.search(r'name="consent_token" value="([^"]+)"', r.text)
        if real is None:
            real = re.search(r'value="(c1\.[^"]+)"', r.text)
        f = tokens.decode(real.group(1))
        key = tokens.key_bytes(self.key)
        return [tokens.make(key, f["form_id"], f["form_version"],
                            f["notice"], f["lang"], f["defaults"])
                for _ in range(n)]


def create_baseline_table(driver, params, postgres=None):
    """bench_row: 21 TEXT columns, the size of a proof row."""
    if driver == "sqlite3":
        sql = ("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS "
               "bench_row (id INTEGER PRIMARY KEY AUTOINCREMENT, %s);"
               % BASELINE_COLS)
        subprocess.run(["sqlite3", params, sql], check=True,
                       capture_output=True)
    elif driver == "mysql":         # postgres: the MariaDBServer then
        sql = ("CREATE TABLE IF NOT EXISTS bench_row (id BIGINT NOT NULL "
               "AUTO_INCREMENT PRIMARY KEY, %s) ENGINE=InnoDB "
               "DEFAULT CHARSET=utf8mb4" % BASELINE_COLS)
        postgres.sql(sql, db=re.search(r"dbname=(\S+)", params).group(1))
    else:
        sql = ("CREATE TABLE IF NOT EXISTS bench_row "
               "(id BIGSERIAL PRIMARY KEY, %s)" % BASELINE_COLS)
        psql(postgres, params, sql)


def psql(postgres, params, sql):
    db = re.search(r"dbname=(\S+)", params).group(1)
    p = postgres.run(os.path.join(harness.PG_BIN, "psql"), "-h",
                     postgres.dir, "-p", str(postgres.port), "-U",
                     postgres.user, "-d", db, "-tAqc", sql)
    return p.stdout.strip()


def sql_query(server, sql, postgres=None):
    """Lines of a query's answer on the server's store."""
    if server.driver == "sqlite3":
        p = subprocess.run(["sqlite3", server.params, sql], check=True,
                           capture_output=True, text=True)
        out = p.stdout.strip()
    elif server.driver == "mysql":
        out = postgres.sql(sql, db=re.search(
            r"dbname=(\S+)", server.params).group(1)).stdout.strip()
    else:
        out = psql(postgres, server.params, sql)
    return out.splitlines() if out else []


class Artefacts:
    """What the bench builds outside the tree: the baseline module (apxs)
    and the proof generator (linked against the build's libconsent)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="consent-bench-")
        os.chmod(self.dir, 0o755)

    def insert_module(self):
        src = os.path.join(self.dir, "mod_bench_insert.c")
        shutil.copy(os.path.join(HERE, "mod_bench_insert.c"), src)
        subprocess.run(["apxs", "-c", "-Wc,-Wall", "-Wc,-Werror", src],
                       cwd=self.dir, check=True, capture_output=True)
        return os.path.join(self.dir, ".libs", "mod_bench_insert.so")

    def program(self, name):
        """bench/NAME.c linked against the build's libconsent."""
        out = os.path.join(self.dir, name)
        pc = ["pkg-config", "apr-1", "apr-util-1", "libxml-2.0",
              "libcrypto"]
        cflags = subprocess.run(pc + ["--cflags"], check=True,
                                capture_output=True, text=True).stdout
        libs = subprocess.run(pc + ["--libs"], check=True,
                              capture_output=True, text=True).stdout
        subprocess.run(
            ["gcc", "-O2", "-Wall", "-Werror"] + cflags.split()
            + ["-I" + os.path.join(harness.TOP, "mod_consent"),
               "-I" + os.path.join(harness.TOP, "mod_consent", "core"),
               os.path.join(HERE, name + ".c"),
               os.path.join(harness.BUILD, ".libs", "libconsent.a")]
            + libs.split() + ["-o", out], check=True)
        return out

    def proof_generator(self):
        return self.program("gen_proofs")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
