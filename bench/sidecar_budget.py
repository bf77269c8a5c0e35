#!/usr/bin/env python3
"""cairn-sidecar's budgets (issue 11), measured on real binaries; nothing here asserts a number.

    bench/sidecar_budget.py [--cpu-seconds S] [--reads N] [--servers K]

CAIRN_BIN and CAIRN_SIDECAR_BIN name the binaries (bench/run-sidecar builds the release preset
and sets both). One sidecar, with fake downward-API files, registers 5 services of a small HTTP
app, each with an HTTP check every 10 s (the budget's load), against a K-server cluster on
loopback (default 1 server, so the direct read and the read through the sidecar reach the same
server and differ only by the sidecar's hop). It prints, as a Markdown table:

  registration  time from starting the sidecar process until all 5 services are in the servers'
                catalog (stricter than "after the servers are reachable": it includes start-up)
  RSS           VmRSS and VmHWM of the sidecar, idle with its 5 checks, after registration; with
                its thread count and /proc/<pid>/smaps_rollup's split into anonymous memory
                (heaps, arenas, stacks) and file-backed pages (the binary and its libraries)
  CPU           user+system time of the sidecar over S seconds of that idle state, in % of a core
  KV read       p50/p99 of N sequential GET /v1/kv/<key> on one keep-alive connection, through
                the sidecar and directly to the server; the difference is what the sidecar adds
"""
import argparse
import http.client
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from cluster import Cluster, wait_until  # noqa: E402
from test_sidecar import App, Sidecar, sidecar_binary  # noqa: E402

SERVICES = ["s1", "s2", "s3", "s4", "s5"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    raise KeyError(field)


def smaps_rollup(pid):
    """{field: kB} of /proc/<pid>/smaps_rollup (Rss, Anonymous, ...)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def thread_names(pid):
    """{thread name: count} of the process (/proc/<pid>/task/*/comm)."""
    names = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        names[name] = names.get(name, 0) + 1
    return names


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def catalog_has_all(server):
    r = server.request("GET", "/v1/catalog/services")
    return r.status == 200 and all(name in r.json() for name in SERVICES)


def read_latencies(ip, port, key, count):
    conn = http.client.HTTPConnection(ip, port, timeout=10)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", f"/v1/kv/{key}")
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - start) * 1000.0)
        if response.status != 200:
            raise RuntimeError(f"GET {key} via {ip}:{port}: {response.status}")
    conn.close()
    return samples


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(args):
    cluster = Cluster(args.servers, name="sidecar-bench", log_level="warn")
    app = None
    try:
        cluster.start()
        ip = cluster.prefix + "150"
        app = App(ip)
        annotations = {"cairn.io/service-names": ",".join(SERVICES),
                       "cairn.io/service-port": ",".join(["http"] * len(SERVICES)),
                       "cairn.io/check-http": "/healthz",
                       "cairn.io/check-interval": "10s"}
        car = Sidecar("bench-1", ip, cluster.root, [s.rpc_address for s in cluster.members],
                      annotations, ports=f"http={app.port}")
        car.log_level = "warn"
        cluster.servers.append(car)
        started = time.monotonic()
        car.start()
        server = cluster.members[0]
        wait_until(lambda: catalog_has_all(server), 30, "the 5 services in the catalog")
        registration_ms = (time.monotonic() - started) * 1000.0
        checks = server.request("GET", "/v1/health/node/bench-1-shop").json()
        http_checks = [c for c in checks if c.get("Type") == "http"]

        time.sleep(5)  # let start-up allocations settle before the idle measurements
        pid = car.proc.pid
        before = cpu_seconds(pid)
        time.sleep(args.cpu_seconds)
        cpu_pct = 100.0 * (cpu_seconds(pid) - before) / args.cpu_seconds
        rss_kb, hwm_kb = proc_status(pid, "VmRSS"), proc_status(pid, "VmHWM")
        threads = proc_status(pid, "Threads")
        rollup = smaps_rollup(pid)
        names = thread_names(pid)

        key = "bench/sidecar"
        assert server.request("PUT", f"/v1/kv/{key}", b"x" * 64).status == 200
        read_latencies(ip, car.http_port, key, 200)  # warm both paths
        read_latencies(server.ip, server.http_port, key, 200)
        via, direct = [], []
        for _ in range(5):  # interleave, so a burst of machine load hits both paths alike
            via += read_latencies(ip, car.http_port, key, args.reads // 5)
            direct += read_latencies(server.ip, server.http_port, key, args.reads // 5)
        return {"registration_ms": registration_ms, "http_checks": len(http_checks),
                "rss_mib": rss_kb / 1024.0, "hwm_mib": hwm_kb / 1024.0, "cpu_pct": cpu_pct,
                "threads": threads, "thread_names": names, "anon_mib": rollup.get("Anonymous", 0) / 1024.0,
                "file_mib": (rollup.get("Rss", 0) - rollup.get("Anonymous", 0)) / 1024.0,
                "via_p50": statistics.median(via), "via_p99": percentile(via, 0.99),
                "direct_p50": statistics.median(direct), "direct_p99": percentile(direct, 0.99)}
    finally:
        if app:
            app.close()
        cluster.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=1)
    args = parser.parse_args()
    if not os.path.exists(sidecar_binary()):
        sys.exit(f"cairn-sidecar not found at {sidecar_binary()}: set CAIRN_SIDECAR_BIN")
    r = measure(args)
    load = os.getloadavg()[0]
    print(f"sidecar budgets, {args.servers} server(s), {r['http_checks']} HTTP checks every 10 s,"
          f" load average {load:.1f}")
    print("| budget | goal | measured |\n|---|---|---|")
    print(f"| services registered after start | ≤ 1 s | {r['registration_ms']:.0f} ms |")
    print(f"| RSS, idle with 5 checks | ≤ 15 MiB | {r['rss_mib']:.1f} MiB"
          f" (peak {r['hwm_mib']:.1f} MiB; {r['threads']} threads, anonymous"
          f" {r['anon_mib']:.1f} MiB, file-backed {r['file_mib']:.1f} MiB) |")
    print(f"| CPU, 5 checks every 10 s | ≤ 1 % of a core | {r['cpu_pct']:.2f} %"
          f" over {args.cpu_seconds:.0f} s |")
    print(f"| KV read added at p50 | ≤ 0.3 ms | {r['via_p50'] - r['direct_p50']:.3f} ms"
          f" (sidecar {r['via_p50']:.3f} ms, direct {r['direct_p50']:.3f} ms;"
          f" p99 {r['via_p99']:.3f} / {r['direct_p99']:.3f} ms) |")
    names = ", ".join(f"{n} x{c}" for n, c in sorted(r["thread_names"].items(),
                                                    key=lambda item: (-item[1], item[0])))
    print(f"\nthreads of the sidecar by name: {names}")


if __name__ == "__main__":
    main()
