#!/usr/bin/env python3
"""The cost of TLS (issue 15): put and linearizable-get throughput with 64 connections, on a
3-server Cairn cluster without TLS and on one with TLS everywhere, in the same run.

    bench/tls_bench.py [--duration S] [--rounds N] [--cairn BIN]

TLS on means: the load goes over HTTPS (ports.https, wrk keeps its 64 connections open, so the
cost is mostly the record layer, not handshakes) and the servers replicate over mutual TLS with
verify_incoming and verify_server_hostname (certificates from `cairn tls`). Off: plain HTTP and
plain gRPC. The clusters run one after the other, alternating off/on for --rounds rounds (the
median per mode is reported); each case is wrk -t2 -c64 with bench/lua/kv.lua against the leader,
as case (a)/(c) of bench.py. Loopback only (127.0.0.91-93 and .95-97, free ports). Prints a
Markdown table; asserts nothing.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402  (its process helpers, Member and wait_until)


def cairn_tls(binary, cwd, *args):
    out = subprocess.run([binary, "tls", *args], cwd=cwd, capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"==> Saved (\S+)\.pem", out).group(1)


def make_pki(binary, root, ips):
    pki = os.path.join(root, "pki")
    os.makedirs(pki)
    cairn_tls(binary, pki, "ca", "create")
    flags = [a for ip in ips for a in ("-additional-ipaddress", ip)]
    base = cairn_tls(binary, pki, "cert", "create", "-server", *flags)
    return {"ca_file": os.path.join(pki, "consul-agent-ca.pem"),
            "cert_file": os.path.join(pki, base + ".pem"),
            "key_file": os.path.join(pki, base + "-key.pem")}


class Cluster:
    """`headers` go with the requests start() makes (bench/secure_bench.py: an ACL token)."""

    def __init__(self, binary, root, ips, tls, headers=None):
        self.members = []
        self.headers = dict(headers or {})
        ports = [(ip, bench.free_port(ip), bench.free_port(ip), bench.free_port(ip)) for ip in ips]
        for i, (ip, http_port, srv_port, https_port) in enumerate(ports, 1):
            d = os.path.join(root, f"s{i}")
            os.makedirs(d)
            argv = [binary, "agent", "-server", "-node", f"s{i}", "-bind", ip, "-client", ip,
                    "-http-port", str(http_port), "-server-port", str(srv_port),
                    "-dns-port", "-1", "-data-dir", d, "-log-level", "warn",
                    "-bootstrap-expect", "3"]
            for oip, _, osp, _ in ports:
                argv += ["-retry-join", f"{oip}:{osp}"]
            if tls:
                cfg = {"tls": {"defaults": dict(tls, verify_outgoing=True),
                               "internal_rpc": {"verify_incoming": True,
                                                "verify_server_hostname": True}},
                       "ports": {"https": https_port}}
                path = os.path.join(d, "tls.json")
                with open(path, "w") as f:
                    json.dump(cfg, f)
                argv += ["-config-file", path]
            m = bench.Member(f"s{i}", ip, http_port, argv, os.path.join(root, f"s{i}.log"))
            m.raft_addr, m.https_port = f"{ip}:{srv_port}", https_port
            self.members.append(m)

    def start(self):
        for m in self.members:
            m.start()

        def leader():
            views = set()
            for m in self.members:
                st, body, _ = bench.request(m.host, m.port, "GET", "/v1/status/leader", timeout=2)
                views.add(json.loads(body) if st == 200 else None)
            if len(views) != 1:
                return None
            addr = views.pop()
            return next((m for m in self.members if m.raft_addr == addr), None)
        ld = bench.wait_until(leader, 90, "a leader", 0.1)
        bench.wait_until(lambda: bench.request(ld.host, ld.port, "PUT", "/v1/kv/bench/ready",
                                               b"1", self.headers)[0] == 200, 60, "a write")
        for i in range(1000):  # the keys the get case reads
            bench.request(ld.host, ld.port, "PUT", f"/v1/kv/bench/k{i:04d}", b"x" * 256,
                          self.headers)
        return ld

    def stop(self):
        for m in self.members:
            if m.alive():
                m.proc.terminate()
                m.proc.wait(20)


def wrk(url, mode, duration, headers=None, nice=False):
    """wrk -t2 -c64 with kv.lua; `headers` are added to every request (wrk -H)."""
    argv = ["nice", "-n", "10"] if nice else []
    argv += ["wrk", "-t2", "-c64", f"-d{duration}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv += ["-s", bench.LUA, url, "--", mode, "1000", "256"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    r = json.loads(re.search(r"^BENCHJSON (.*)$", out.stdout, re.M).group(1))
    ok = r["requests"] - r["err_status"]
    errors = r["err_connect"] + r["err_read"] + r["err_write"] + r["err_status"] + \
        r["err_timeout"]
    return {"rate": ok / (r["duration_us"] / 1e6), "p50": r["p50_us"] / 1000.0,
            "p99": r["p99_us"] / 1000.0, "errors": errors}


def parse_args(rounds):
    """--duration, --rounds (default `rounds`) and --cairn, as bench/secure_bench.py takes them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--cairn", default=os.environ.get("CAIRN_BIN") or
                    os.path.join(bench.ROOT, "build/release/agent/cairn"))
    args = ap.parse_args()
    args.cairn = os.path.abspath(args.cairn)
    return args


def main():
    args = parse_args(rounds=2)
    root = tempfile.mkdtemp(prefix="cairn-tls-bench-")
    plain_ips = [f"127.0.0.{n}" for n in (91, 92, 93)]
    tls_ips = [f"127.0.0.{n}" for n in (95, 96, 97)]
    pki = make_pki(args.cairn, root, tls_ips)
    results = {"off": [], "on": []}
    try:
        for rnd in range(args.rounds):
            for mode in ("off", "on"):
                d = os.path.join(root, f"{mode}-{rnd}")
                c = Cluster(args.cairn, d, tls_ips if mode == "on" else plain_ips,
                            pki if mode == "on" else None)
                ld = c.start()
                url = (f"https://{ld.host}:{ld.https_port}" if mode == "on"
                       else f"http://{ld.host}:{ld.port}")
                put = wrk(url, "cairn_put", args.duration)
                get = wrk(url, "cairn_get_consistent", args.duration)
                bench.log(f"round {rnd} TLS {mode}: put {put} get {get}")
                results[mode].append({"put": put, "get": get})
                c.stop()
    finally:
        bench.stop_all()

    def med(mode, case, key):
        return statistics.median(r[case][key] for r in results[mode])
    print(f"cairn {args.cairn}; {args.rounds} rounds × {args.duration} s per case; "
          f"load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| case (64 connections, leader) | TLS off | TLS on | on/off |")
    print("|---|---:|---:|---:|")
    for case, label in (("put", "put"), ("get", "linearizable get")):
        off, on = med("off", case, "rate"), med("on", case, "rate")
        print(f"| {label} throughput (req/s) | {off:,.0f} | {on:,.0f} | {on / off:.2f}× |")
        for key in ("p50", "p99"):
            off, on = med("off", case, key), med("on", case, key)
            print(f"| {label} latency {key} (ms) | {off:.2f} | {on:.2f} | {on / off:.2f}× |")
    errors = sum(r[c]["errors"] for m in results for r in results[m] for c in ("put", "get"))
    print(f"\nwrk errors (all cases): {errors}")
    print("samples (req/s put/get): " + "; ".join(
        f"{m} " + ", ".join(f"{r['put']['rate']:.0f}/{r['get']['rate']:.0f}"
                            for r in results[m]) for m in results))


if __name__ == "__main__":
    main()
