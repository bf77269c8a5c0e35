#!/usr/bin/env python3
"""`cairn template` timings (issue 19): how long a render of the nginx upstream example takes for
many instances, and how long a change takes to reach the output file.

Starts `cairn agent -dev` on free loopback ports, registers N instances of `web` (one node each),
then:

  once       `cairn template -once` of the nginx upstream with N instances: process start to exit
             (start-up of the binary included), 5 runs
  change     a running `cairn template` (no -wait) on a KV key: PUT of a new value to the moment
             the file holds it, M changes

Prints the figures and a JSON line. Timing goals live here, never in tests.

  bench/template_latency.py [--cairn build/release/agent/cairn] [--instances 1000] [--changes 50]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = """upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.001)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", default=os.path.join(REPO, "build/release/agent/cairn"))
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=50)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cairn-bench-template-")
    http = free_port()
    agent = subprocess.Popen([args.cairn, "agent", "-dev", "-http-port", str(http),
                              "-dns-port", "-1", "-server-port", str(free_port())],
                             stdout=open(os.path.join(work, "agent.log"), "w"),
                             stderr=subprocess.STDOUT)
    procs = [agent]
    try:
        def leader():
            try:
                return request(http, "GET", "/v1/status/leader") not in (b'""', b"")
            except OSError:
                return False
        wait_for(leader, 60, "a leader")
        for i in range(args.instances):
            body = {"Node": f"bench-{i}", "Address": f"127.1.{i // 250}.{i % 250 + 1}",
                    "Service": {"ID": f"web-{i}", "Service": "web", "Port": 8000 + i % 1000}}
            request(http, "PUT", "/v1/catalog/register", json.dumps(body).encode())
        env = dict(os.environ, CAIRN_HTTP_ADDR=f"127.0.0.1:{http}")
        tpl = os.path.join(work, "web.ctmpl")
        with open(tpl, "w") as f:
            f.write(NGINX)
        once = []
        for run in range(5):
            out = os.path.join(work, f"web-{run}.conf")
            t0 = time.monotonic()
            subprocess.run([args.cairn, "template", "-once", "-template", f"{tpl}:{out}"],
                           env=env, check=True, capture_output=True)
            once.append(time.monotonic() - t0)
            assert read(out).count("server ") == args.instances

        key_tpl = os.path.join(work, "key.ctmpl")
        with open(key_tpl, "w") as f:
            f.write('{{ key "bench/value" }}')
        key_out = os.path.join(work, "key.out")
        request(http, "PUT", "/v1/kv/bench/value", b"v-start")
        runner = subprocess.Popen([args.cairn, "template", "-log-level", "err",
                                   "-template", f"{key_tpl}:{key_out}"], env=env)
        procs.append(runner)
        wait_for(lambda: read(key_out) == "v-start", 60, "the first render")
        latencies = []
        for i in range(args.changes):
            value = f"v-{i}"
            t0 = time.monotonic()
            request(http, "PUT", "/v1/kv/bench/value", value.encode())
            wait_for(lambda: read(key_out) == value, 30, f"value {value}")
            latencies.append(time.monotonic() - t0)
        ms = sorted(x * 1000 for x in latencies)
        result = {
            "instances": args.instances,
            "once_seconds_median": round(statistics.median(once), 3),
            "once_seconds_max": round(max(once), 3),
            "change_ms_p50": round(ms[len(ms) // 2], 1),
            "change_ms_p90": round(ms[int(len(ms) * 0.9)], 1),
            "change_ms_max": round(ms[-1], 1),
        }
        print(f"-once, {args.instances} instances: median {result['once_seconds_median']} s, "
              f"max {result['once_seconds_max']} s (process start included)")
        print(f"KV change -> file ({args.changes} changes, PUT included): "
              f"p50 {result['change_ms_p50']} ms, p90 {result['change_ms_p90']} ms, "
              f"max {result['change_ms_max']} ms")
        print(json.dumps(result))
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
