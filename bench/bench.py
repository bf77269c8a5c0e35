#!/usr/bin/env python3
"""Cairn vs etcd, side by side on one machine (issue 5). Run through bench/run, which installs
and builds first; this file does the measuring and writes the report.

    bench/bench.py [--duration S] [--smoke] [--only a,b,...] [--out FILE]

CAIRN_BIN (or --cairn) names the cairn binary (default build/release/agent/cairn). Starts a
3-server Cairn cluster (127.0.0.<ip-base+1..3>, default ports when free) and a 3-member etcd
cluster (127.0.0.1, free ports), data dirs under one temp dir on the disk of /tmp, and measures:

  a  put, 256-byte values over 1,000 keys, 64 connections        (wrk, 2 threads)
  b  the same, 1 connection (wrk needs threads <= connections: 1 thread)
  c  linearizable get, 64 connections (Cairn ?consistent, etcd default range)
  d  stale get, 64 connections (Cairn ?stale, etcd serializable range)
  e  blocking-query fan-out: N waiters on one key, time until all saw a change, RSS per waiter
  f  leader failover under write load (kill -9 the leader), several samples, median
  g  RSS of the leader with 1M small keys (fresh clusters, loaded in 64-op transactions)

Every load goes to the leader, except (f), which writes through every live member. Every
process listens on 127.0.0.0/8 only and is stopped at exit. Nothing here asserts a speed; with
--smoke (tiny sizes) it fails only when a case produced no number.
"""
import argparse
import base64
import ctypes
import datetime
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LUA = os.path.join(HERE, "lua", "kv.lua")
ANALYSIS_BEGIN = "<!-- analysis:begin (hand-written; bench/run keeps this section) -->"
ANALYSIS_END = "<!-- analysis:end -->"
CASES = "abcdefg"

PROCS = []  # every child we started, for the exit handler
PAUSE = 1.0  # scales the fixed settle pauses; --smoke shortens them


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def spawn(argv, logfile, env=None):
    f = open(logfile, "ab")
    p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=_die_with_parent, env=env)
    f.close()
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 10
    for p in PROCS:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def free_port(ip):
    s = socket.socket()
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_free(ip, port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def rss_kib(pid):
    """(VmRSS, VmHWM) in KiB."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                vals[k] = int(v.split()[0])
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def request(host, port, method, path, body=None, headers=None, timeout=5.0):
    """One HTTP request on a fresh connection: (status, body bytes, headers dict)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, data, {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()


def wait_until(pred, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            pass
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


# ---------------------------------------------------------------------------------------------
# the two clusters


class Member:
    def __init__(self, name, host, port, argv, logfile, env=None):
        self.name, self.host, self.port = name, host, port
        self.argv, self.logfile, self.env = argv, logfile, env
        self.proc = None

    def start(self):
        self.proc = spawn(self.argv, self.logfile, self.env)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid


class CairnCluster:
    label = "Cairn"

    def __init__(self, binary, root, ip_base, prefer_default_ports):
        self.binary = binary
        ips = [f"127.0.0.{ip_base + i}" for i in (1, 2, 3)]
        use_default = prefer_default_ports and all(
            port_free(ip, 8500) and port_free(ip, 8300) for ip in ips)
        self.members = []
        ports = []
        for ip in ips:
            http_port = 8500 if use_default else free_port(ip)
            srv_port = 8300 if use_default else free_port(ip)
            ports.append((ip, http_port, srv_port))
        self.ports_note = ("default ports (HTTP 8500, server 8300)" if use_default
                           else "free ports chosen at start")
        env = dict(os.environ)
        for i, (ip, http_port, srv_port) in enumerate(ports, 1):
            d = os.path.join(root, f"cairn-s{i}")
            os.makedirs(d, exist_ok=True)
            argv = [binary, "agent", "-server", "-node", f"s{i}", "-bind", ip, "-client", ip,
                    "-http-port", str(http_port), "-server-port", str(srv_port),
                    "-dns-port", "-1", "-data-dir", d, "-log-level", "warn",
                    "-bootstrap-expect", "3"]
            for oip, _, osp in ports:
                argv += ["-retry-join", f"{oip}:{osp}"]
            m = Member(f"s{i}", ip, http_port, argv, os.path.join(root, f"cairn-s{i}.log"), env)
            m.raft_addr = f"{ip}:{srv_port}"
            self.members.append(m)

    def start(self):
        for m in self.members:
            m.start()
        return self.wait_healthy()

    def _view(self, m):
        st, body, _ = request(m.host, m.port, "GET", "/v1/status/leader", timeout=2)
        return json.loads(body) if st == 200 else None

    def leader(self, timeout=30):
        def agreed():
            views = {self._view(m) for m in self.members if m.alive()}
            if len(views) == 1:
                v = views.pop()
                for m in self.members:
                    if m.alive() and m.raft_addr == v:
                        return m
            return None
        return wait_until(agreed, timeout, "a Cairn leader", 0.05)

    def wait_healthy(self, timeout=60):
        ld = self.leader(timeout)
        wait_until(lambda: self.put(ld, "bench/ready", b"1"), timeout, "a Cairn write")

        def all_voters_ok():
            st, body, _ = request(ld.host, ld.port, "GET", "/v1/operator/autopilot/health",
                                  timeout=2)
            return st == 200
        wait_until(all_voters_ok, timeout, "Cairn autopilot health", 0.1)
        return ld

    def put(self, m, key, value, timeout=5):
        st, body, _ = request(m.host, m.port, "PUT", "/v1/kv/" + key, value, timeout=timeout)
        return st == 200 and body.strip() == b"true"

    def index_of(self, m, key):
        st, _, h = request(m.host, m.port, "GET", "/v1/kv/" + key)
        return int(h["x-consul-index"])

    def txn_put(self, m, pairs, conn):
        ops = [{"KV": {"Verb": "set", "Key": k, "Value": b64(v)}} for k, v in pairs]
        conn.request("PUT", "/v1/txn", body=json.dumps(ops))
        r = conn.getresponse()
        r.read()
        return r.status == 200

    # wrk modes
    put_mode, get_lin_mode, get_stale_mode = "cairn_put", "cairn_get_consistent", "cairn_get_stale"
    write_path = "/v1/kv/"


class EtcdCluster:
    label = "etcd"

    def __init__(self, binary, root):
        names = ["e1", "e2", "e3"]
        cports = [free_port("127.0.0.1") for _ in names]
        pports = [free_port("127.0.0.1") for _ in names]
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(names, pports))
        self.members = []
        os.makedirs(root, exist_ok=True)
        env = dict(os.environ)
        for n, cp, pp in zip(names, cports, pports):
            d = os.path.join(root, f"etcd-{n}")
            argv = [binary, "--name", n, "--data-dir", d,
                    "--listen-client-urls", f"http://127.0.0.1:{cp}",
                    "--advertise-client-urls", f"http://127.0.0.1:{cp}",
                    "--listen-peer-urls", f"http://127.0.0.1:{pp}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{pp}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "cairn-bench", "--logger", "zap",
                    "--log-level", "warn"]
            self.members.append(Member(n, "127.0.0.1", cp, argv,
                                       os.path.join(root, f"etcd-{n}.log"), env))
        self.ports_note = "127.0.0.1, free ports chosen at start"

    def start(self):
        for m in self.members:
            m.start()
        return self.wait_healthy()

    def _status(self, m):
        st, body, _ = request(m.host, m.port, "POST", "/v3/maintenance/status", "{}", timeout=2)
        if st != 200:
            return None
        j = json.loads(body)
        return j["header"]["member_id"], j.get("leader")

    def leader(self, timeout=30):
        def agreed():
            views = {}
            for m in self.members:
                if m.alive():
                    s = self._status(m)
                    if s is None:
                        return None
                    views[m] = s
            leaders = {s[1] for s in views.values()}
            if len(leaders) != 1 or not leaders.pop():
                return None
            for m, (mid, ld) in views.items():
                if mid == ld:
                    return m
            return None
        return wait_until(agreed, timeout, "an etcd leader", 0.05)

    def wait_healthy(self, timeout=60):
        ld = self.leader(timeout)
        wait_until(lambda: self.put(ld, "bench/ready", b"1"), timeout, "an etcd write")
        for m in self.members:
            wait_until(lambda: request(m.host, m.port, "GET", "/health", timeout=2)[0] == 200,
                       timeout, f"etcd {m.name} /health")
        return ld

    def put(self, m, key, value, timeout=5):
        st, _, _ = request(m.host, m.port, "POST", "/v3/kv/put",
                           json.dumps({"key": b64(key), "value": b64(value)}), timeout=timeout)
        return st == 200

    def txn_put(self, m, pairs, conn):
        body = {"success": [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in pairs]}
        conn.request("POST", "/v3/kv/txn", body=json.dumps(body))
        r = conn.getresponse()
        r.read()
        return r.status == 200

    put_mode, get_lin_mode, get_stale_mode = "etcd_put", "etcd_get_linear", "etcd_get_serializable"


# ---------------------------------------------------------------------------------------------
# load


def run_wrk(target, mode, conns, duration, keys=1000, vsize=256):
    threads = 2 if conns >= 2 else 1
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "10s",
            "-s", LUA, f"http://{target.host}:{target.port}", "--", mode, str(keys), str(vsize)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    m = re.search(r"^BENCHJSON (.*)$", out.stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no result: {out.stdout} {out.stderr}")
    r = json.loads(m.group(1))
    errors = r["err_connect"] + r["err_read"] + r["err_write"] + r["err_status"] + r["err_timeout"]
    ok = r["requests"] - r["err_status"]
    r["rate"] = ok / (r["duration_us"] / 1e6)
    r["errors"] = errors
    r["threads"], r["conns"] = threads, conns
    return r


def bulk_load(cluster, target, keys, make_key, make_value, batch=64, workers=4):
    """Loads `keys` keys through `workers` threads, `batch` puts per transaction; keys/s."""
    lock = threading.Lock()
    nxt = [0]
    failures = []

    def worker():
        conn = http.client.HTTPConnection(target.host, target.port, timeout=30)
        while not failures:
            with lock:
                start = nxt[0]
                if start >= keys:
                    break
                nxt[0] = min(keys, start + batch)
                end = nxt[0]
            pairs = [(make_key(i), make_value(i)) for i in range(start, end)]
            for attempt in range(3):
                try:
                    if cluster.txn_put(target, pairs, conn):
                        break
                except (OSError, http.client.HTTPException):
                    pass
                conn.close()
                conn = http.client.HTTPConnection(target.host, target.port, timeout=30)
                time.sleep(0.2)
            else:
                failures.append(start)
        conn.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if failures:
        raise RuntimeError(f"{cluster.label}: bulk load failed at key {failures[0]}")
    return keys / (time.monotonic() - t0)


def prefill_bench_keys(cluster, target):
    bulk_load(cluster, target, 1000, lambda i: f"bench/k{i:04d}",
              lambda i: (f"v{i:05d}-" * 40)[:256].encode(), batch=50, workers=2)


# ---------------------------------------------------------------------------------------------
# (e) fan-out


def fanout(cluster, target, waiters, settle_max):
    """Opens `waiters` connections that each wait for a change of one key, then changes it.
    Returns dict with the time until all saw the change, and the RSS delta per waiter."""
    key = "fan/key"
    assert cluster.put(target, key, b"before")
    if isinstance(cluster, CairnCluster):
        idx = cluster.index_of(target, key)
        req = (f"GET /v1/kv/{key}?index={idx}&wait=120s HTTP/1.1\r\n"
               f"Host: {target.host}:{target.port}\r\n\r\n").encode()
        created_marker = None
    else:
        body = json.dumps({"create_request": {"key": b64(key)}})
        req = (f"POST /v3/watch HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               f"{body}").encode()
        created_marker = b'"created":true'
    time.sleep(0.5 * PAUSE)
    rss0, _ = rss_kib(target.pid)
    ep = select.epoll()
    socks = {}
    try:
        # connect and send in batches so the listen backlog never overflows
        i = 0
        while i < waiters:
            chunk = []
            for _ in range(min(500, waiters - i)):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect((target.host, target.port))
                except BlockingIOError:
                    pass
                chunk.append(s)
                i += 1
            for s in chunk:
                _wait_writable(s, 10)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, f"connect waiter: {os.strerror(err)}")
                _send_all(s, req)
                socks[s.fileno()] = s
                ep.register(s.fileno(), select.EPOLLIN)
        # etcd: wait for every "created" answer; Cairn: nothing may answer before the change
        early = 0
        if created_marker:
            need = set(socks)
            bufs = {fd: b"" for fd in socks}
            deadline = time.monotonic() + 60
            while need and time.monotonic() < deadline:
                for fd, _ in ep.poll(1.0):
                    data = socks[fd].recv(65536)
                    bufs[fd] += data
                    if fd in need and created_marker in bufs[fd]:
                        need.discard(fd)
            if need:
                raise RuntimeError(f"etcd: {len(need)} watches never created")
        # settle: until RSS stops growing (bounded)
        last = -1
        deadline = time.monotonic() + settle_max
        while time.monotonic() < deadline:
            time.sleep(0.5)
            rss, _ = rss_kib(target.pid)
            if last > 0 and abs(rss - last) <= max(64, last // 200):
                break
            last = rss
        if not created_marker:
            for fd, _ in ep.poll(0):
                early += 1
        rss1, _ = rss_kib(target.pid)
        # the change: sent on a connection opened beforehand and watched by the same epoll
        # loop, so stamping starts the moment the write leaves
        if created_marker:
            wbody = json.dumps({"key": b64(key), "value": b64("after")})
            wreq = (f"POST /v3/kv/put HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(wbody)}\r\n"
                    f"Connection: close\r\n\r\n{wbody}").encode()
        else:
            wreq = (f"PUT /v1/kv/{key} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
                    f"Content-Length: 5\r\nConnection: close\r\n\r\nafter").encode()
        w = socket.create_connection((target.host, target.port), timeout=10)
        ep.register(w.fileno(), select.EPOLLIN)
        seen = {}
        t_ack = None
        wresp = b""
        t0 = time.monotonic()
        w.sendall(wreq)
        deadline = t0 + 60
        while (len(seen) < len(socks) or t_ack is None) and time.monotonic() < deadline:
            events = ep.poll(0.5)
            now = time.monotonic()
            for fd, _ in events:
                if fd == w.fileno():
                    data = w.recv(65536)
                    wresp += data
                    if t_ack is None:
                        t_ack = now
                    if not data:
                        ep.unregister(fd)
                elif fd not in seen:
                    seen[fd] = now
                    ep.unregister(fd)
        w.close()
        m = re.match(rb"HTTP/1\.1 (\d+)", wresp)
        st = int(m.group(1)) if m else None
        lat = sorted(t - t0 for t in seen.values())
        return {
            "waiters": len(socks), "woken": len(seen), "early": early, "write_status": st,
            "all_ms": lat[-1] * 1000 if len(seen) == len(socks) else None,
            "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
            "ack_ms": (t_ack - t0) * 1000 if t_ack else None,
            "rss0_kib": rss0, "rss1_kib": rss1,
            "per_waiter_b": (rss1 - rss0) * 1024 / max(1, len(socks)),
        }
    finally:
        for s in socks.values():
            s.close()
        ep.close()


def _send_all(s, data):
    view = memoryview(data)
    while view:
        try:
            n = s.send(view)
            view = view[n:]
        except BlockingIOError:
            _wait_writable(s, 5)


def _wait_writable(s, timeout):
    p = select.poll()  # not select(): descriptors go far above 1024 here
    p.register(s.fileno(), select.POLLOUT)
    p.poll(timeout * 1000)


# ---------------------------------------------------------------------------------------------
# (f) failover


class Stream:
    """Starts a write every `period` seconds through the live members, round robin, each on its
    own thread and connection; records (sent, acked, member) of every acknowledged write."""

    def __init__(self, cluster, period=0.01):
        self.cluster, self.period = cluster, period
        self.acks = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.inflight = threading.BoundedSemaphore(400)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(15)

    def _one(self, m, n):
        sent = time.monotonic()
        try:
            ok = self.cluster.put(m, f"failover/w{n % 16}", f"{n}".encode(), timeout=10)
        except (OSError, http.client.HTTPException):
            ok = False
        if ok:
            with self.lock:
                self.acks.append((sent, time.monotonic(), m))
        self.inflight.release()

    def _run(self):
        n = 0
        nxt = time.monotonic()
        while not self.stop.is_set():
            live = [m for m in self.cluster.members if m.alive()]
            m = live[n % len(live)]
            n += 1
            if self.inflight.acquire(timeout=1):
                threading.Thread(target=self._one, args=(m, n), daemon=True).start()
            nxt += self.period
            self.stop.wait(max(0, nxt - time.monotonic()))

    def first_ack_after(self, t, exclude):
        with self.lock:
            ts = [a for s, a, m in self.acks if s >= t and m is not exclude]
        return min(ts) if ts else None


def failover(cluster, samples):
    out = []
    for k in range(samples):
        cluster.wait_healthy()
        time.sleep(1.0 * PAUSE)
        leader = cluster.leader()
        with Stream(cluster) as st:
            time.sleep(1.0 * PAUSE)
            t_kill = time.monotonic()
            leader.kill9()
            first = wait_until(lambda: st.first_ack_after(t_kill, leader), 30,
                               f"{cluster.label}: a write after the leader kill", 0.01)
        out.append((first - t_kill) * 1000)
        log(f"  {cluster.label} failover sample {k + 1}: {out[-1]:.0f} ms")
        leader.start()
    cluster.wait_healthy()
    return {"samples_ms": out, "median_ms": statistics.median(out), "max_ms": max(out)}


# ---------------------------------------------------------------------------------------------
# (g) 1M keys


def million(cluster, keys):
    leader = cluster.start()
    time.sleep(2 * PAUSE)
    base, _ = rss_kib(leader.pid)
    vals = [("%064x" % (i * 2654435761))[:64].encode() for i in range(256)]
    rate = bulk_load(cluster, leader, keys, lambda i: f"m/{i:07d}", lambda i: vals[i % 256])
    time.sleep(5 * PAUSE)
    rss, hwm = rss_kib(leader.pid)
    others = [rss_kib(m.pid)[0] for m in cluster.members if m is not leader]
    return {"keys": keys, "load_rate": rate, "rss0_kib": base, "rss_kib": rss, "hwm_kib": hwm,
            "follower_rss_kib": others}


# ---------------------------------------------------------------------------------------------
# report


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info(data_root, cairn_bin):
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    df = sh(f"df -T {data_root} | tail -1").split()
    dev = df[0] if df else "?"
    fs = df[1] if len(df) > 1 else "?"
    base = os.path.basename(dev)
    rota = sh(f"cat /sys/block/{base}/queue/rotational 2>/dev/null")
    wcache = sh(f"cat /sys/block/{base}/queue/write_cache 2>/dev/null")
    disk = f"{dev} ({fs}"
    if rota:
        disk += ", reports rotational" if rota == "1" else ", non-rotational"
    if wcache:
        disk += f", cache: {wcache}"
    disk += ")"
    rev = sh(f"git -C {ROOT} rev-parse --short HEAD")
    if sh(f"git -C {ROOT} status --porcelain -- core agent proto"):
        rev += " (core/agent/proto modified)"
    return {
        "nproc": sh("nproc"), "cpu": cpu, "mem": mem, "kernel": sh("uname -r"), "disk": disk,
        "cairn": f"{rev}, binary {os.path.relpath(cairn_bin, ROOT) if cairn_bin.startswith(ROOT) else cairn_bin}",
        "etcd": sh("etcd --version | head -1").replace("etcd Version: ", ""),
        "go": sh("etcd --version | grep 'Go Version'").replace("Go Version: ", ""),
        "wrk": sh("wrk -v 2>&1 | head -1").split(" Copyright")[0],
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fmt(v, unit="", digits=0):
    if v is None:
        return "—"
    if isinstance(v, float) and digits == 0 and abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    return f"{v:,.{digits}f}{unit}"


def ratio(c, e):
    if c is None or e is None or e == 0:
        return "—"
    return f"{c / e:.2f}×"


def render(results, info, args, old_analysis):
    R = results
    rows = []

    def row(case, metric, better, c, e, unit="", digits=0):
        rows.append(f"| {case} | {metric} | {fmt(c, unit, digits)} | {fmt(e, unit, digits)} | "
                    f"{ratio(c, e)} | {better} |")

    def g(case, sysname, key):
        return (R.get(case) or {}).get(sysname, {}).get(key)

    for case, title in (("a", "put, 64 conns"), ("b", "put, 1 conn"),
                        ("c", "linearizable get, 64 conns"), ("d", "stale get, 64 conns")):
        if case not in R:
            continue
        row(f"({case}) {title}", "throughput (req/s)", "higher", g(case, "cairn", "rate"),
            g(case, "etcd", "rate"))
        for p in ("p50", "p99"):
            c, e = g(case, "cairn", p + "_us"), g(case, "etcd", p + "_us")
            row(f"({case}) {title}", f"latency {p} (ms)", "lower",
                c / 1000 if c is not None else None, e / 1000 if e is not None else None,
                digits=3 if case == "b" else 2)
        errs = (g(case, "cairn", "errors"), g(case, "etcd", "errors"))
        if any(errs):
            row(f"({case}) {title}", "errors (connect/read/write/status/timeout)", "lower",
                errs[0], errs[1])
    if "e" in R:
        t = "(e) fan-out"
        row(t, "all waiters saw the change (ms after the write was sent)", "lower",
            g("e", "cairn", "all_ms"), g("e", "etcd", "all_ms"), digits=1)
        row(t, "median waiter (ms)", "lower", g("e", "cairn", "p50_ms"), g("e", "etcd", "p50_ms"),
            digits=1)
        row(t, "the write itself acknowledged (ms)", "lower", g("e", "cairn", "ack_ms"),
            g("e", "etcd", "ack_ms"), digits=1)
        row(t, "RSS per waiter (bytes)", "lower", g("e", "cairn", "per_waiter_b"),
            g("e", "etcd", "per_waiter_b"))
        row(t, "waiters woken / opened", "—", g("e", "cairn", "woken"), g("e", "etcd", "woken"))
    if "f" in R:
        row("(f) failover", "median (ms)", "lower", g("f", "cairn", "median_ms"),
            g("f", "etcd", "median_ms"))
        row("(f) failover", "max (ms)", "lower", g("f", "cairn", "max_ms"), g("f", "etcd", "max_ms"))
    if "g" in R:
        kc = g("g", "cairn", "keys")
        mib = lambda v: v / 1024 if v is not None else None  # noqa: E731
        row(f"(g) {kc:,} keys", "leader RSS after load (MiB)", "lower",
            mib(g("g", "cairn", "rss_kib")), mib(g("g", "etcd", "rss_kib")), digits=1)
        row(f"(g) {kc:,} keys", "leader peak RSS (VmHWM, MiB)", "lower",
            mib(g("g", "cairn", "hwm_kib")), mib(g("g", "etcd", "hwm_kib")), digits=1)
        row(f"(g) {kc:,} keys", "leader RSS of the empty cluster (MiB)", "lower",
            mib(g("g", "cairn", "rss0_kib")), mib(g("g", "etcd", "rss0_kib")), digits=1)
        row(f"(g) {kc:,} keys", "bulk load rate (keys/s, 64-op txns, 4 clients)", "higher",
            g("g", "cairn", "load_rate"), g("g", "etcd", "load_rate"))

    # targets
    tg = []

    def target(name, value, ok):
        tg.append(f"| {name} | {value} | {'met' if ok else ('not met' if ok is not None else '—')} |")

    def both(case, key):
        return g(case, "cairn", key), g(case, "etcd", key)

    if "a" in R:
        (c, e), (cp, ep_) = both("a", "rate"), both("a", "p99_us")
        ok = None if None in (c, e, cp, ep_) else (c >= 3 * e and cp <= ep_)
        target("put throughput ≥ 3× etcd with p99 ≤ etcd's", f"{ratio(c, e)} throughput, p99 "
               f"{fmt(cp and cp / 1000, ' ms', 2)} vs {fmt(ep_ and ep_ / 1000, ' ms', 2)}", ok)
    if "b" in R:
        c = g("b", "cairn", "p50_us")
        target("1-connection put p50 ≤ 0.5 ms", fmt(c and c / 1000, " ms", 3),
               None if c is None else c <= 500)
    if "c" in R:
        c, e = both("c", "rate")
        target("linearizable get ≥ 3× etcd", ratio(c, e), None if None in (c, e) else c >= 3 * e)
    if "e" in R:
        c, w = g("e", "cairn", "all_ms"), g("e", "cairn", "per_waiter_b")
        n = g("e", "cairn", "waiters")
        target(f"{fmt(n)} waiters all woken within 100 ms, < 2 KiB each",
               f"{fmt(c, ' ms', 1)}, {fmt(w, ' B')} each",
               None if None in (c, w) else (c <= 100 and w < 2048 and n >= 10000))
    if "f" in R:
        c = g("f", "cairn", "median_ms")
        target("failover median ≤ 1 s", fmt(c, " ms"), None if c is None else c <= 1000)
    if "g" in R:
        c, e = both("g", "rss_kib")
        target(f"RSS with {fmt(g('g', 'cairn', 'keys'))} keys ≤ etcd's", ratio(c, e),
               None if None in (c, e) else c <= e)

    d = R.get("_params", {})
    fo_samples = len(g("f", "cairn", "samples_ms") or [])
    lines = [
        "# Benchmarks: Cairn vs etcd",
        "",
        "Generated by `bench/run` (issue 5); do not edit by hand except the analysis section, which",
        "regeneration keeps. Numbers from one run on one shared machine: compare the two systems",
        "within this run only (the reference notes ±40% run-to-run spread for etcd on this box).",
        "",
        "## Machine and versions",
        "",
        f"- date: {info['date']}; load average at start {info['load']}, at end {R.get('_load_end', '?')}",
        f"- CPU: {info['nproc']} × {info['cpu']}; memory {info['mem']}; kernel {info['kernel']}",
        f"- data dirs: one temp dir on {info['disk']}",
        f"- cairn {info['cairn']}",
        f"- etcd {info['etcd']} ({info['go']}), Debian package `etcd-server`",
        f"- load generator: {info['wrk']} (Lua script `bench/lua/kv.lua`)",
        f"- command: `{d.get('command', 'bench/run')}`; duration per wrk case {d.get('duration')} s",
        "",
        "## Method",
        "",
        f"- **Clusters.** Both run at the same time on loopback. Cairn: 3 servers on "
        f"127.0.0.{d.get('ip_base', 0) + 1}–{d.get('ip_base', 0) + 3}, {d.get('cairn_ports', '')}, "
        "`-bootstrap-expect 3`, DNS off (`-dns-port -1`), default Raft timing (50 ms tick, "
        "election 0.5–1 s). etcd: 3 members on "
        f"{d.get('etcd_ports', '')}, default settings (100 ms heartbeat, 1 s election timeout, "
        "snapshot-count 100,000, no auto-compaction), JSON gateway on the client port.",
        "- **Target.** All load goes to the current leader (Cairn's and etcd's own leader), except (f).",
        "- **(a)–(d)** `wrk --timeout 10s -s bench/lua/kv.lua`, 2 threads (case (b): 1 thread, wrk needs "
        "threads ≤ connections). Keys `bench/k0000`–`bench/k0999`, one picked at random per request; "
        "values 256 bytes. Cairn: `PUT /v1/kv/<key>`, `GET /v1/kv/<key>?consistent` / `?stale`. "
        "etcd: `POST /v3/kv/put`, `POST /v3/kv/range` (default = linearizable; "
        "`\"serializable\":true` for (d)), keys and values base64. The 1,000 keys are loaded before "
        "(c)/(d). Throughput counts 2xx answers only; latency percentiles are wrk's.",
        f"- **(e) fan-out.** {fmt(g('e', 'cairn', 'waiters'))} waiters, each on its own TCP connection to "
        "the leader, opened by one Python epoll client (`bench/bench.py`; wrk cannot time a wake-up). "
        "Cairn: `GET /v1/kv/fan/key?index=<current>&wait=120s`. etcd: one `POST /v3/watch` stream "
        "per connection (gRPC-gateway; body `{\"create_request\":{\"key\":...}}`) and we wait for every "
        "`created` answer before going on. Then RSS settles (bounded), one write changes the key, and "
        "the client stamps the first readable byte on each connection (stamped per epoll batch). "
        "Times are from sending the write. Memory per waiter = (leader RSS with the waiters − before) "
        "/ waiters; for etcd it includes the gateway's HTTP connection and its internal gRPC stream, "
        "for Cairn the HTTP connection and the blocking-query record.",
        f"- **(f) failover.** {fo_samples} samples per system. A write starts every 10 ms (each on its "
        "own connection, round robin over the live members, 10 s timeout). After 1 s the leader gets "
        "`kill -9`; the sample is the time from the kill to the acknowledgement of the first write "
        "*sent after the kill* through another member. The killed member is restarted on its data dir "
        "and the cluster is healthy again before the next sample. Median and max.",
        f"- **(g) memory.** Fresh clusters (one system at a time, the other stopped). "
        f"{fmt(g('g', 'cairn', 'keys'))} keys `m/0000000`… with 64-byte values, loaded by 4 "
        "client threads in 64-op transactions (`PUT /v1/txn`, `POST /v3/kv/txn`) at the leader; "
        "RSS (VmRSS) of the leader 5 s after the load, and its peak (VmHWM).",
        "",
    ]
    if d.get("g_extrapolated"):
        lines += [f"> (g) was run with {fmt(g('g', 'cairn', 'keys'))} keys, not 1M: "
                  f"{d['g_extrapolated']}", ""]
    lines += [
        "## Results",
        "",
        "Ratio = Cairn / etcd. For throughput higher is better; for latency, time and memory lower "
        "is better (a ratio below 1 favours Cairn).",
        "",
        "| case | metric | Cairn | etcd | Cairn/etcd | better |",
        "|---|---|---:|---:|---:|---|",
        *rows,
        "",
    ]
    if "f" in R:
        lines += ["Failover samples (ms): Cairn "
                  + ", ".join(f"{v:.0f}" for v in g("f", "cairn", "samples_ms") or [])
                  + "; etcd " + ", ".join(f"{v:.0f}" for v in g("f", "etcd", "samples_ms") or []),
                  ""]
    lines += [
        "## Issue 5 targets (ratios from this run)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *tg,
        "",
        "## Analysis",
        "",
        ANALYSIS_BEGIN,
        old_analysis.strip() if old_analysis else "(not written yet)",
        ANALYSIS_END,
        "",
    ]
    return "\n".join(lines)


def old_analysis_of(path):
    try:
        text = open(path).read()
    except OSError:
        return None
    i, j = text.find(ANALYSIS_BEGIN), text.find(ANALYSIS_END)
    if i < 0 or j < 0:
        return None
    return text[i + len(ANALYSIS_BEGIN):j]


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=20, help="seconds per wrk case (default 20)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes; asserts only that it ran")
    ap.add_argument("--only", default=CASES, help="cases to run, e.g. a,b,e (default all)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--cairn", default=os.environ.get("CAIRN_BIN") or
                    os.path.join(ROOT, "build", "release", "agent", "cairn"))
    ap.add_argument("--waiters", type=int, default=10000)
    ap.add_argument("--keys", type=int, default=1000000, help="keys for case (g)")
    ap.add_argument("--failover-samples", type=int, default=5)
    ap.add_argument("--ip-base", type=int, default=60,
                    help="Cairn servers on 127.0.0.<base+1..base+3> (default 60)")
    ap.add_argument("--keep-data", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args()
    only = [c for c in args.only.replace(",", "") if c in CASES]
    global PAUSE
    if args.smoke:
        PAUSE = 0.2
        args.duration = min(args.duration, 1)
        args.waiters = min(args.waiters, 200)
        args.keys = min(args.keys, 2000)
        args.failover_samples = 1
    dur = max(1, int(round(args.duration)))
    for tool in ("wrk", "etcd"):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` not found; run scripts/setup")
    if not os.access(args.cairn, os.X_OK):
        sys.exit(f"bench: no cairn binary at {args.cairn} (CAIRN_BIN, --cairn)")
    args.cairn = os.path.abspath(args.cairn)
    # 10,000 waiters need ~10k descriptors here and in the server
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.waiters + 4096))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.waiters + 1000:
        args.waiters = max(100, want - 1000)
        log(f"descriptor limit {want}: waiters reduced to {args.waiters}")

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    root = tempfile.mkdtemp(prefix="cairn-bench-", dir="/var/tmp")
    info = machine_info(root, args.cairn)
    results = {"_params": {"duration": dur, "ip_base": args.ip_base,
                           "command": " ".join(["bench/run"] + sys.argv[1:])}}
    ok = False
    try:
        log(f"data under {root}; load average {info['load']}")
        cairn = CairnCluster(args.cairn, os.path.join(root, "run1"), args.ip_base,
                             prefer_default_ports=not args.smoke)
        etcd = EtcdCluster("etcd", os.path.join(root, "run1"))
        results["_params"]["cairn_ports"] = cairn.ports_note
        results["_params"]["etcd_ports"] = etcd.ports_note
        systems = (("cairn", cairn), ("etcd", etcd))
        if any(c in only for c in "abcdef"):
            for _, s in systems:
                log(f"starting {s.label}")
                s.start()
            for case in "abcdef":
                if case not in only:
                    continue
                results[case] = {}
                for name, s in systems:
                    ld = s.leader()
                    log(f"({case}) {s.label}, leader {ld.name} {ld.host}:{ld.port}")
                    if case == "a":
                        r = run_wrk(ld, s.put_mode, 64, dur)
                    elif case == "b":
                        r = run_wrk(ld, s.put_mode, 1, dur)
                    elif case in "cd":
                        prefill_bench_keys(s, ld)
                        r = run_wrk(ld, s.get_lin_mode if case == "c" else s.get_stale_mode,
                                    64, dur)
                    elif case == "e":
                        r = fanout(s, ld, args.waiters, 2 if args.smoke else 15)
                    else:
                        r = failover(s, args.failover_samples)
                    results[case][name] = r
                    log(f"   {json.dumps(r)}")
            for _, s in systems:
                for m in s.members:
                    if m.alive():
                        m.proc.terminate()
                        m.proc.wait(15)
        if "g" in only:
            results["g"] = {}
            for name, cls in (("cairn", lambda r: CairnCluster(args.cairn, r, args.ip_base,
                                                                not args.smoke)),
                              ("etcd", lambda r: EtcdCluster("etcd", r))):
                s = cls(os.path.join(root, "run2-" + name))
                log(f"(g) {s.label}: {args.keys:,} keys into a fresh cluster")
                r = million(s, args.keys)
                results["g"][name] = r
                log(f"   {json.dumps(r)}")
                for m in s.members:
                    m.proc.terminate()
                    m.proc.wait(30)
        results["_load_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
        ok = True
    finally:
        stop_all()
        if ok and not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"logs and data kept in {root}")

    text = render(results, info, args, old_analysis_of(args.out))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    log(f"wrote {args.out}")
    print(text)

    # the only assertion: every requested case produced a number for both systems
    missing = []
    keyfor = {"a": "rate", "b": "p50_us", "c": "rate", "d": "rate", "e": "all_ms",
              "f": "median_ms", "g": "rss_kib"}
    for case in only:
        for name in ("cairn", "etcd"):
            v = results.get(case, {}).get(name, {}).get(keyfor[case])
            if v is None or (case in "acd" and v <= 0):
                missing.append(f"({case}) {name}")
    if missing:
        sys.exit("bench: no figure for " + ", ".join(missing))


if __name__ == "__main__":
    main()
