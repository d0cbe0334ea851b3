"""Sanitizer gate: the module, consentctl, the unit tests and the fuzz
replays built a second time with ASan + UBSan (gates.sanitizer_build), then
the integration tests that exercise every page and every answer run against
that build inside Debian's apache2 (the ASan runtime preloaded). Any ASan
or UBSan report, in any process, fails the gate.

Leak detection is off here: LeakSanitizer cannot see into APR's mmapped
pool blocks and would report what pools still hold; the valgrind gate
(test_gates_valgrind.py) is the leak check.
"""
import os
import subprocess
import sys

import pytest

import gates
import harness

# Everything that drives the module or consentctl; not the gates
# themselves, nor the load/fault tests (their timings mean nothing under
# ASan) nor the packaging test (it installs the normal build).
# A suite named here and missing is a failure, never a silent drop.
SUITES = ["test_unit.py", "test_form_page.py", "test_submit.py",
          "test_startup_checks.py", "test_consentctl.py",
          "test_cluster.py", "test_withdraw.py", "test_unsubscribe.py",
          "test_guard.py", "test_double_opt_in.py", "test_guard_methods.py",
          "test_guard_php.py", "test_strict_input.py",
          "test_consentctl_inputs.py", "test_verify_audit.py"]


@pytest.fixture(scope="session")
def asan_build():
    return gates.sanitizer_build()


def test_fuzz_corpora_replay_under_sanitizers(asan_build, tmp_path):
    env = gates.sanitizer_env(str(tmp_path))
    for target in gates.FUZZ_TARGETS:
        binary = os.path.join(asan_build, "tests", "fuzz",
                              "replay_" + target)
        p = subprocess.run([binary, os.path.join(gates.FUZZ_DIR, "corpus",
                                                 target)],
                           capture_output=True, text=True, env=env,
                           timeout=600)
        assert p.returncode == 0, target + "\n" + p.stdout + p.stderr
    assert not gates.sanitizer_reports(str(tmp_path)), \
        "\n".join(gates.sanitizer_reports(str(tmp_path)))


def test_integration_suite_under_sanitizers(asan_build, tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    missing = [s for s in SUITES if not os.path.exists(os.path.join(here, s))]
    assert not missing, "suites named for the sanitizer gate are missing: " \
        + ", ".join(missing)
    suites = SUITES
    logs = tmp_path / "reports"
    logs.mkdir()
    os.chmod(str(tmp_path), 0o755)
    os.chmod(str(logs), 0o777)      # apache2 writes as its User
    env = gates.sanitizer_env(str(logs))
    env["CONSENT_BUILD_DIR"] = asan_build
    env["CONSENT_PRELOAD"] = gates.asan_runtime()
    env["CONSENT_SANITIZER_REPORTS"] = str(logs)
    p = subprocess.run([sys.executable, "-m", "pytest", "-p",
                        "no:cacheprovider", "-q", "-x"] + suites,
                       cwd=here, env=env, capture_output=True, text=True,
                       timeout=3000)
    reports = gates.sanitizer_reports(str(logs))
    assert not reports, "\n".join(reports)
    assert p.returncode == 0, p.stdout[-8000:] + p.stderr[-2000:]
    print(p.stdout.strip().splitlines()[-1])    # what ran under ASan
