"""The net under every integration test (conftest.no_server_crashed): a
server process that dies of a signal fails the test that was running,
whether a child of a master (its death logged by the parent), a single
-X process (its exit status), or a server of wider scope (only what was
written during the test counts)."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))

# The suite's own conftest, under another name so that the inner run's
# conftest can be the one pytest finds.
INNER_CONFTEST = """\
import importlib.util, sys
sys.path.insert(0, %(here)r)
spec = importlib.util.spec_from_file_location(
    "suite_conftest", %(conftest)r)
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)
globals().update({k: v for k, v in vars(suite).items()
                  if not k.startswith("__")})
"""

# Helpers of the inner tests, in the inner conftest.
INNER_HELPERS = """
import os, signal, time


def wait_for(server, text):
    deadline = time.time() + 20
    while text not in server.error_log() and time.time() < deadline:
        time.sleep(0.1)


def a_child(server):
    deadline = time.time() + 20
    while not server.children() and time.time() < deadline:
        time.sleep(0.1)
    return server.children()[0]
"""

INNER_TESTS = """\
import os, signal
import pytest
import harness
from conftest import a_child, wait_for


def test_a_child_dies_unnoticed():
    s = harness.ApacheServer()
    try:
        s.start(single=False)
        os.kill(a_child(s), signal.SIGSEGV)
        wait_for(s, "exit signal")
    finally:
        s.cleanup()


def test_a_single_process_dies():
    s = harness.ApacheServer()
    try:
        s.start()
        os.kill(s.proc.pid, signal.SIGSEGV)
        s.proc.wait(20)
    finally:
        s.cleanup()


@pytest.fixture(scope="module")
def shared():
    s = harness.ApacheServer().start(single=False)
    yield s
    s.cleanup()


def test_a_wider_server_is_fine(shared):
    pass


def test_a_wider_server_child_dies(shared):
    os.kill(a_child(shared), signal.SIGBUS)
    wait_for(shared, "exit signal")


def test_after_it_the_same_server_is_fine_again(shared):
    pass


@pytest.mark.kills_children
def test_opted_out(shared):
    os.kill(a_child(shared), signal.SIGSEGV)
    wait_for(shared, "Segmentation fault")
"""

# A crash while a module's server stops, after the last test's fixtures.
INNER_LAST = """\
import os, signal
import pytest
import harness
from conftest import a_child, wait_for


@pytest.fixture(scope="module")
def dies_at_the_end():
    s = harness.ApacheServer().start(single=False)
    yield s
    os.kill(a_child(s), signal.SIGSEGV)
    wait_for(s, "exit signal")
    s.cleanup()


def test_its_last_user(dies_at_the_end):
    pass
"""


@pytest.fixture(scope="module")
def inner_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("inner")
    (d / "conftest.py").write_text(INNER_CONFTEST % {
        "here": HERE, "conftest": os.path.join(HERE, "conftest.py")}
        + INNER_HELPERS)
    (d / "test_inner.py").write_text(INNER_TESTS)
    (d / "test_inner_last.py").write_text(INNER_LAST)
    p = subprocess.run([sys.executable, "-m", "pytest", "-p",
                        "no:cacheprovider", "-rA", str(d)],
                       capture_output=True, text=True, timeout=300, cwd=d)
    return p.stdout + p.stderr


def outcome(text, name):
    """PASSED, or ERROR when the crash scan failed it at teardown (the
    summary then lists it twice)."""
    said = set(re.findall(r"^(PASSED|FAILED|ERROR) \S+\.py::%s(?: - |$)"
                          % name, text, re.M))
    assert said, "%s not run:\n%s" % (name, text)
    return "ERROR" if "ERROR" in said else "/".join(sorted(said))


def test_a_child_killed_by_a_signal_fails_the_test(inner_run):
    assert outcome(inner_run, "test_a_child_dies_unnoticed") == "ERROR", \
        inner_run
    assert "exit signal Segmentation fault" in inner_run


def test_a_single_process_killed_by_a_signal_fails_the_test(inner_run):
    assert outcome(inner_run, "test_a_single_process_dies") == "ERROR", \
        inner_run
    assert "exit signal SIGSEGV" in inner_run


def test_only_the_part_written_during_a_test_counts(inner_run):
    assert outcome(inner_run, "test_a_wider_server_is_fine") == "PASSED"
    assert outcome(inner_run, "test_a_wider_server_child_dies") == "ERROR"
    assert "exit signal Bus error" in inner_run
    assert outcome(inner_run,
                   "test_after_it_the_same_server_is_fine_again") == "PASSED"


def test_a_crash_as_a_module_server_stops_fails_its_last_test(
        inner_run):
    assert outcome(inner_run, "test_its_last_user") == "ERROR", inner_run


def test_the_marker_opts_a_test_out(inner_run):
    assert outcome(inner_run, "test_opted_out") == "PASSED", inner_run


def test_a_log_is_read_from_where_it_was_when_watched(tmp_path):
    log = str(tmp_path / "error.log")
    with open(log, "w") as f:
        f.write("[core:notice] AH00052: child pid 1 exit signal "
                "Segmentation fault (11)\n")
    harness.watch_log(log)          # an old crash is not this test's
    assert harness.scan_logs() == []
    with open(log, "a") as f:
        f.write("[core:notice] AH00051: child pid 2 exit signal Aborted "
                "(6), possible coredump in /tmp\n")
    found = harness.scan_logs()
    assert len(found) == 1 and "AH00051: child pid 2" in found[0], found
    assert harness.scan_logs() == []
