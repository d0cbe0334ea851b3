"""Static gate: build/static-check (cppcheck with build/cppcheck.cfg) is
clean over mod_consent/ and tests/fuzz/. The compiler's -Wall -Wextra
-Werror is the build itself (configure --enable-werror)."""
import os
import subprocess

import harness


def test_cppcheck_is_clean():
    p = subprocess.run([os.path.join(harness.TOP, "build", "static-check")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_build_treats_warnings_as_errors():
    with open(os.path.join(harness.BUILD, "Makefile")) as f:
        flags = [l for l in f if l.startswith("WARN_CFLAGS")]
    assert flags and "-Werror" in flags[0] and "-Wextra" in flags[0], flags
