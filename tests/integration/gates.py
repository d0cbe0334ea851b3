"""What the quality gates (test_gates_*.py) share: the lists of what they
cover, and the second build of the module with ASan and UBSan.

Adding a fuzz target is adding tests/fuzz/fuzz_X.c and corpus/X/ (and its
replay_X in Makefile.am); adding a page to the browser and accessibility
gates is adding a line to tests/browser/pages.mjs.
"""
import glob
import os
import shutil
import subprocess
import tempfile

import harness

FUZZ_DIR = os.path.join(harness.TOP, "tests", "fuzz")
FUZZ_TARGETS = sorted(os.path.basename(p)[5:-2] for p in
                      glob.glob(os.path.join(FUZZ_DIR, "fuzz_*.c")))
FUZZ_SECONDS = int(os.environ.get("CONSENT_FUZZ_SECONDS", "10"))
WORK = os.path.join(tempfile.gettempdir(), "consent-gates-%d" % os.getuid())

SANITIZE = "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
SAN_CFLAGS = "-g -O1 -fno-omit-frame-pointer " + SANITIZE


def run(cmd, cwd=None, env=None, timeout=1800):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert p.returncode == 0, "%s failed (%d):\n%s\n%s" % (
        " ".join(cmd), p.returncode, p.stdout[-4000:], p.stderr[-4000:])
    return p


def source_files():
    """Tracked and new files, not what a build made (the .gitignore)."""
    p = run(["git", "-C", harness.TOP, "ls-files", "-co",
             "--exclude-standard"])
    return [f for f in p.stdout.splitlines()
            if os.path.isfile(os.path.join(harness.TOP, f))]


def mirror_sources(dest):
    """A copy of the sources to configure with other flags: configure
    refuses to build out of tree from a tree already configured in place,
    which is what build/compile does. Unchanged files keep their time, so
    the next build is incremental."""
    changed = False
    for f in source_files():
        src, dst = os.path.join(harness.TOP, f), os.path.join(dest, f)
        if os.path.exists(dst) and \
                os.path.getmtime(dst) >= os.path.getmtime(src):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
        changed = True
    return changed


def sanitizer_build():
    """mod_consent.so, consentctl, the unit tests and the fuzz replays
    built with ASan + UBSan; returns the build directory."""
    top = os.path.join(WORK, "asan")
    mirror_sources(top)
    if not os.path.exists(os.path.join(top, "configure")):
        run(["autoreconf", "-fi"], cwd=top)
    if not os.path.exists(os.path.join(top, "Makefile")):
        run(["./configure", "--enable-werror", "CFLAGS=" + SAN_CFLAGS,
             "LDFLAGS=" + SANITIZE], cwd=top)
    jobs = "-j%d" % (os.cpu_count() or 2)
    run(["make", jobs, "all"], cwd=top)
    run(["make", jobs, "check", "TESTS="], cwd=top)
    return top


def asan_runtime():
    """The sanitizer runtimes Debian's (uninstrumented) apache2 and nginx
    must preload: ASan first, as it insists; UBSan too, as nginx's own
    build links the module without it."""
    return " ".join(run(["gcc", "-print-file-name=%s" % lib]).stdout.strip()
                    for lib in ("libasan.so", "libubsan.so"))


def sanitizer_env(log_dir, base=None):
    """Reports go to files in log_dir, so a test can fail on any."""
    env = dict(base if base is not None else os.environ)
    # use_sigaltstack=0: gcc 12's runtime reports its own sigaltstack
    # call at thread exit as an overflow (a false positive, seen here)
    env["ASAN_OPTIONS"] = ("log_path=%s/asan:detect_leaks=0:"
                           "use_sigaltstack=0" % log_dir)
    env["UBSAN_OPTIONS"] = ("log_path=%s/ubsan:print_stacktrace=1"
                            % log_dir)
    return env


def sanitizer_reports(log_dir):
    reports = []
    for path in sorted(glob.glob(os.path.join(log_dir, "*"))):
        with open(path, errors="replace") as f:
            reports.append("== %s\n%s" % (path, f.read()[:6000]))
    return reports
