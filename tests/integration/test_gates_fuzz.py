"""Fuzzing gate: every target of tests/fuzz/ replays its committed seed
corpus with the normal build, then searches with libFuzzer (clang, ASan,
UBSan) for CONSENT_FUZZ_SECONDS (build/test: 60; 10 when unset)."""
import os
import subprocess

import pytest

import gates
import harness


@pytest.mark.parametrize("target", gates.FUZZ_TARGETS)
def test_fuzz_corpus_replays(target):
    binary = os.path.join(harness.BUILD, "tests", "fuzz", "replay_" + target)
    corpus = os.path.join(gates.FUZZ_DIR, "corpus", target)
    assert os.access(binary, os.X_OK), "not built: %s (make check)" % binary
    assert os.listdir(corpus), "no seed in " + corpus
    p = subprocess.run([binary, corpus], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "replayed %d input(s)" % len(os.listdir(corpus)) in p.stdout


@pytest.fixture(scope="session")
def fuzz_out():
    out = os.path.join(gates.WORK, "fuzz")
    gates.run([os.path.join(harness.TOP, "build", "fuzz"), "-b", "-o", out])
    return out


@pytest.mark.parametrize("target", gates.FUZZ_TARGETS)
def test_fuzz_finds_nothing(target, fuzz_out):
    p = subprocess.run(
        [os.path.join(harness.TOP, "build", "fuzz"), "-o", fuzz_out,
         "-s", str(gates.FUZZ_SECONDS), target],
        capture_output=True, text=True, timeout=gates.FUZZ_SECONDS + 600)
    assert p.returncode == 0, (
        "fuzz_%s found a crash (input in %s/crashes/): fix it and keep the "
        "input in tests/fuzz/corpus/%s/\n%s%s"
        % (target, fuzz_out, target, p.stdout[-6000:], p.stderr[-2000:]))
    assert "number_of_executed_units" in p.stdout
