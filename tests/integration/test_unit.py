"""Runs the cmocka unit tests so that one runner reports everything."""
import glob
import os
import subprocess

import pytest

import harness

UNIT_DIR = os.path.join(harness.BUILD, "tests", "unit")
SOURCES = sorted(glob.glob(os.path.join(harness.TOP, "tests", "unit",
                                        "test_*.c")))


@pytest.mark.parametrize("source", SOURCES, ids=os.path.basename)
def test_unit_suite(source):
    binary = os.path.join(UNIT_DIR, os.path.basename(source)[:-2])
    assert os.access(binary, os.X_OK), "not built: %s (make check)" % binary
    p = subprocess.run([binary], capture_output=True, text=True, timeout=300,
                       cwd=harness.TOP)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[  PASSED  ]" in p.stdout + p.stderr


def test_store_unit_suite_on_postgresql(postgres):
    """The store's unit tests again, on the suite's PostgreSQL."""
    binary = os.path.join(UNIT_DIR, "test_store")
    env = dict(os.environ, CONSENT_TEST_PGSQL=postgres.create_db())
    p = subprocess.run([binary], capture_output=True, text=True, timeout=300,
                       cwd=harness.TOP, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[  PASSED  ]" in p.stdout + p.stderr
