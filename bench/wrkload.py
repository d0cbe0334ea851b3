"""Runs wrk (Debian's) against a URL and reads back bench/wrk.lua's JSON:
requests/s, p50/p99, errors by kind, statuses, receipts of the successes."""
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "wrk.lua")


class Result:
    def __init__(self, data, receipts):
        self.requests = data["requests"]
        self.seconds = data["duration_us"] / 1e6
        self.rate = self.requests / self.seconds if self.seconds else 0.0
        self.p50_ms = data["p50_us"] / 1000.0
        self.p99_ms = data["p99_us"] / 1000.0
        self.statuses = {int(k): v for k, v in data["statuses"].items()}
        self.socket_errors = sum(data[k] for k in
                                 ("connect", "read", "write", "timeout"))
        self.bad_status = sum(v for k, v in self.statuses.items()
                              if not 200 <= k < 400)
        self.errors = self.socket_errors + self.bad_status
        self.successes = sum(v for k, v in self.statuses.items()
                             if 200 <= k < 400)
        self.receipts = receipts
        self.kinds = {k: data[k] for k in ("connect", "read", "write",
                                          "timeout")}

    def __repr__(self):
        return ("%.0f req/s p50 %.2f ms p99 %.2f ms errors %d %s %s"
                % (self.rate, self.p50_ms, self.p99_ms, self.errors,
                   self.statuses, self.kinds))


def run(url, seconds, connections, threads=1, token_list=None,
        headers=(("Accept-Language", "en"),)):
    """One wrk run; with token_list, POSTs each carrying its own token."""
    env = dict(os.environ, BENCH_WRK_THREADS=str(threads))
    tmp = tempfile.mkdtemp(prefix="consent-wrk-")
    receipts = None
    if token_list is not None:
        env["BENCH_TOKENS"] = os.path.join(tmp, "tokens")
        env["BENCH_RECEIPTS"] = os.path.join(tmp, "receipts")
        with open(env["BENCH_TOKENS"], "w") as f:
            f.write("\n".join(token_list) + "\n")
    cmd = ["wrk", "-t", str(threads), "-c", str(max(connections, threads)),
           "-d", "%ds" % seconds, "--timeout", "30s", "-s", SCRIPT]
    for name, value in headers:
        cmd += ["-H", "%s: %s" % (name, value)]
    p = subprocess.run(cmd + [url], env=env, capture_output=True, text=True,
                       timeout=seconds + 120)
    line = [l for l in p.stdout.splitlines() if l.startswith('{"bench"')]
    if p.returncode != 0 or not line:
        raise RuntimeError("wrk failed:\n" + p.stdout + p.stderr)
    if token_list is not None:
        with open(env["BENCH_RECEIPTS"]) as f:
            receipts = [l.strip() for l in f if l.strip()]
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    return Result(json.loads(line[0]), receipts)


def tokens_needed(guess, seconds):
    """3x as many tokens as the guessed rate needs, and enough for 12,000
    requests/s: the guess (a short warm-up at few connections, on a
    shared machine) can be far below what more connections reach, and
    the rate of a run that ran out of tokens is capped."""
    return int(max(12000 * seconds, guess * seconds * 3))


def post_run(server, path, seconds, connections, guess=3000.0,
             token_list=None):
    """A timed run of consent POSTs, each with a token of its own (made
    here unless given); tokens_short says when they ran out anyway (the
    rate is then understated)."""
    if token_list is None:
        token_list = server.tokens(tokens_needed(guess, seconds))
    res = run(server.url(path), seconds, connections, token_list=token_list)
    # a wrk thread stops at its last token; in-flight requests end it
    res.tokens_short = res.requests >= len(token_list) - connections
    return res
