#!/usr/bin/env python3
"""The cost of TLS and ACLs together (issue 15, "Done when"): put and linearizable-get
throughput with 64 connections on a 3-server Cairn cluster in four configurations, in one run:

    TLS off / ACL off   plain HTTP and gRPC, no ACLs (the baseline)
    TLS off / ACL on    acl.enabled, default_policy deny; the load carries a token whose one
                        policy is key_prefix "bench/" write
    TLS on  / ACL off   HTTPS for the load, mutual TLS between servers (as bench/tls_bench.py)
    TLS on  / ACL on    both

    bench/secure_bench.py [--duration S] [--rounds N] [--cairn BIN]

Each round runs the four configurations one after the other (a fresh cluster each), in an order
rotated per round so that no configuration always runs first or last; the median over the rounds
is reported. Every case is wrk -t2 -c64 with bench/lua/kv.lua against the leader, the token in an
X-Consul-Token header (wrk -H). The servers and wrk run under `nice -n 10` (a shared machine).
Loopback only (127.0.0.95-97, free ports). Prints a Markdown table; asserts nothing.
"""
import json
import os
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402  (process helpers, Member, wait_until)
import tls_bench  # noqa: E402  (make_pki, Cluster, wrk)

CONFIGS = [("off", "off"), ("off", "on"), ("on", "off"), ("on", "on")]  # (TLS, ACL)
MANAGEMENT = str(uuid.uuid4())
TOKEN = str(uuid.uuid4())
IPS = [f"127.0.0.{n}" for n in (95, 96, 97)]


class Cluster(tls_bench.Cluster):
    """tls_bench's cluster, niced, with ACLs (default deny) when `acl` is set."""

    def __init__(self, binary, root, ips, tls, acl):
        super().__init__(binary, root, ips, tls,
                         headers={"X-Consul-Token": MANAGEMENT} if acl else None)
        self.acl = acl
        for m in self.members:
            m.argv = ["nice", "-n", "10"] + m.argv
            if acl:
                path = os.path.join(root, f"acl-{m.name}.json")
                with open(path, "w") as f:
                    json.dump({"acl": {"enabled": True, "default_policy": "deny",
                                       "tokens": {"initial_management": MANAGEMENT}}}, f)
                m.argv += ["-config-file", path]

    def start(self):
        leader = super().start()
        if self.acl:
            self.make_token(leader)
        return leader

    def make_token(self, leader):
        policy = {"Name": "bench-kv", "Rules": 'key_prefix "bench/" { policy = "write" }'}
        token = {"SecretID": TOKEN, "Policies": [{"Name": "bench-kv"}]}
        for path, body in (("/v1/acl/policy", policy), ("/v1/acl/token", token)):
            status, text, _ = bench.request(leader.host, leader.port, "PUT", path,
                                            json.dumps(body).encode(), self.headers)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {text!r}")
        for m in self.members:  # every member must know the token before the load starts
            bench.wait_until(lambda: bench.request(m.host, m.port, "GET", "/v1/acl/token/self",
                                                   headers={"X-Consul-Token": TOKEN})[0] == 200,
                             30, f"{m.name} to know the token")


def main():
    args = tls_bench.parse_args(rounds=3)
    root = tempfile.mkdtemp(prefix="cairn-secure-bench-")
    pki = tls_bench.make_pki(args.cairn, root, IPS)
    results = {config: [] for config in CONFIGS}
    loads = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        for rnd in range(args.rounds):
            order = CONFIGS[rnd % len(CONFIGS):] + CONFIGS[:rnd % len(CONFIGS)]
            for tls, acl in order:
                d = os.path.join(root, f"tls-{tls}-acl-{acl}-{rnd}")
                c = Cluster(args.cairn, d, IPS, pki if tls == "on" else None, acl == "on")
                ld = c.start()
                url = (f"https://{ld.host}:{ld.https_port}" if tls == "on"
                       else f"http://{ld.host}:{ld.port}")
                headers = {"X-Consul-Token": TOKEN} if acl == "on" else None
                loads.append(os.getloadavg()[0])
                put = tls_bench.wrk(url, "cairn_put", args.duration, headers, nice=True)
                get = tls_bench.wrk(url, "cairn_get_consistent", args.duration, headers, nice=True)
                bench.log(f"round {rnd} TLS {tls} ACL {acl}: put {put} get {get}")
                results[(tls, acl)].append({"put": put, "get": get})
                c.stop()
    finally:
        bench.stop_all()
    report(args, results, started, loads)


def report(args, results, started, loads):
    def med(config, case, key):
        return statistics.median(r[case][key] for r in results[config])
    print(f"{started}; cairn {args.cairn}; {args.rounds} rounds × {args.duration} s per case; "
          f"load average (1 min) before the cases: min {min(loads):.1f}, "
          f"median {statistics.median(loads):.1f}, max {max(loads):.1f}\n")
    base = ("off", "off")
    print("| case (64 connections, leader) | TLS off, ACL off | TLS off, ACL on | "
          "TLS on, ACL off | TLS on, ACL on |")
    print("|---|---:|---:|---:|---:|")
    for case, label in (("put", "put"), ("get", "linearizable get")):
        cells = []
        for config in CONFIGS:
            rate = med(config, case, "rate")
            ratio = "" if config == base else f" ({rate / med(base, case, 'rate'):.2f}×)"
            cells.append(f"{rate:,.0f}{ratio}")
        print(f"| {label} (req/s) | " + " | ".join(cells) + " |")
        for key in ("p50", "p99"):
            cells = [f"{med(config, case, key):.2f}" for config in CONFIGS]
            print(f"| {label} latency {key} (ms) | " + " | ".join(cells) + " |")
    errors = sum(r[c]["errors"] for cfg in results for r in results[cfg] for c in ("put", "get"))
    print(f"\nwrk errors (all cases): {errors}")
    print("samples (req/s put/get): " + "; ".join(
        f"TLS {t} ACL {a}: " + ", ".join(f"{r['put']['rate']:.0f}/{r['get']['rate']:.0f}"
                                         for r in results[(t, a)]) for t, a in CONFIGS))


if __name__ == "__main__":
    main()
