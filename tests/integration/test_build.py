"""The build: configure refuses the libraries the code cannot work with
(issue 10, item 11), and `make check` replays the fuzz corpora."""
import os
import shutil
import subprocess

import pytest

import harness

# What configure reads before its library checks; a copy, since configure
# refuses to run out of tree while the tree is configured in place.
NEEDED = ["configure", "Makefile.in", "build/aux", "build/config.h.in",
          "mod_consent/core/consent_form.c"]


def configure_with(tmp_path, fake):
    """configure, seeing the given pkg-config module versions first."""
    src = tmp_path / "src"
    for rel in NEEDED:
        source = os.path.join(harness.TOP, rel)
        if os.path.isdir(source):
            shutil.copytree(source, str(src / rel))
        else:
            os.makedirs(str((src / rel).parent), exist_ok=True)
            shutil.copy2(source, str(src / rel))
    pcdir = tmp_path / "pc"
    pcdir.mkdir()
    for module, version in fake.items():
        real = subprocess.run(["pkg-config", "--variable=pcfiledir", module],
                              capture_output=True, text=True, check=True)
        with open(os.path.join(real.stdout.strip(), module + ".pc")) as f:
            text = f.read()
        text = "\n".join("Version: " + version if l.startswith("Version:")
                         else l for l in text.splitlines())
        (pcdir / (module + ".pc")).write_text(text + "\n")
    return subprocess.run(["./configure"], cwd=str(src), capture_output=True,
                          text=True, timeout=300,
                          env=dict(os.environ, PKG_CONFIG_PATH=str(pcdir)))


@pytest.mark.parametrize("module,old,needed", [
    ("libcrypto", "1.1.1w", "libcrypto >= 3.0"),
    ("apr-1", "1.6.5", "apr-1 >= 1.7"),
])
def test_configure_refuses_too_old(tmp_path, module, old, needed):
    p = configure_with(tmp_path, {module: old})
    assert p.returncode != 0, p.stdout[-2000:]
    assert needed in p.stdout + p.stderr, (p.stdout + p.stderr)[-2000:]


def test_configure_accepts_this_machine(tmp_path):
    p = configure_with(tmp_path, {})
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]


def test_make_check_replays_the_fuzz_corpora():
    p = subprocess.run(["make", "-s", "-C", harness.BUILD, "check",
                        "TESTS=tests/fuzz/replay_submit"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    log = os.path.join(harness.BUILD, "tests", "fuzz", "replay_submit.log")
    with open(log) as f:
        text = f.read()
    corpus = os.listdir(os.path.join(harness.TOP, "tests", "fuzz", "corpus",
                                     "submit"))
    assert "replayed %d input(s)" % len(corpus) in text, text


# What only a server's own process provides: httpd's API and nginx's.
SERVER_PREFIXES = ("ap_", "ngx_")


def test_core_library_is_server_neutral():
    """libconsent (the core) neither defines nor needs an httpd or nginx
    symbol: the adapters and consentctl link it as it is (issue 13)."""
    archive = os.path.join(harness.BUILD, ".libs", "libconsent.a")
    assert os.path.exists(archive), "build first: no " + archive
    p = subprocess.run(["nm", "-A", "-P", archive], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    members, bad = set(), []
    for line in p.stdout.splitlines():
        where, _, rest = line.rpartition("]: ")
        fields = rest.split()
        if not where or len(fields) < 2:
            continue
        members.add(where)
        if fields[0].startswith(SERVER_PREFIXES):
            bad.append("%s]: %s %s" % (where, fields[1], fields[0]))
    # every object was read: the store alone is eight of them
    assert len([m for m in members if "consent_store" in m]) >= 8, members
    assert not bad, "server symbols in the core:\n" + "\n".join(bad)
