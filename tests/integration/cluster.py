"""Multi-server harness: a Cairn server cluster on loopback, one process per server.

Built on harness.py (binary(), wait_until(), HttpResult). Contract:
  * every server has its own loopback IP inside a block 127.A.B.0/24 chosen per Cluster (A from
    the pid, B random), and its own HTTP and server ports, picked free by binding port 0 on that
    IP; only 127.0.0.0/8 is ever contacted;
  * a server keeps its IP and ports across restarts (its peers know it by ip:port);
  * each server has its own data dir and log files (one stdout/stderr pair per start, under the
    cluster's root dir); Cluster.logs() collects them for failure reports;
  * every process is started with PR_SET_PDEATHSIG (from one long-lived thread), so no server
    outlives the test process; Cluster.cleanup() kills every process and removes the root dir
    (kept when CAIRN_KEEP_TMP is set);
  * no blind sleeps: every wait polls a condition until a deadline;
  * fault injection (CAIRN_FAULT_INJECTION=1) is on for every server: partitions are made with
    PUT /v1/cairn/debug/blocked-peers.

Run with /usr/bin/python3 (standard library only).
"""
import base64
import ctypes
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import HttpResult, binary, kv_url, read_logs, wait_until  # noqa: E402

START_TIMEOUT = float(os.environ.get("CAIRN_START_TIMEOUT", "60"))
LEADER_TIMEOUT = float(os.environ.get("CAIRN_LEADER_TIMEOUT", "30"))
STOP_TIMEOUT = 20.0
LOG_LIMIT = 12000  # characters per log file in a failure report


# ---------------------------------------------------------------------------------------------
# Addresses

_block_lock = threading.Lock()
_blocks_used = set()


def allocate_block():
    """A fresh "127.A.B." prefix for one cluster: A derives from the pid (parallel test files get
    different A most of the time), B is random and never repeats within this process."""
    a = 64 + os.getpid() % 128
    with _block_lock:
        while True:
            b = random.randrange(1, 255)
            if (a, b) not in _blocks_used:
                _blocks_used.add((a, b))
                return f"127.{a}.{b}."


def free_port(ip):
    """A currently free TCP port on `ip` (bound to port 0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def http_call(ip, port, method, path, body=None, headers=None, timeout=10.0):
    """One HTTP/1.1 request to ip:port on a fresh connection; returns harness.HttpResult.

    Raises OSError / http.client.HTTPException when there is no answer (refused, reset, time-out).
    """
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return HttpResult(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Process spawning

class _Spawner:
    """Starts processes from one long-lived daemon thread, each with PR_SET_PDEATHSIG=SIGKILL.

    The death signal fires when the thread that forked the child exits, so forking from
    short-lived threads (a nemesis) would kill servers early; one thread that lives as long as
    the test process makes the signal mean "the test process died".
    """

    def __init__(self):
        self._requests = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def popen(self, *args, **kwargs):
        """subprocess.Popen(*args, **kwargs) run on the spawner thread; re-raises its error."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cairn-spawner",
                                                daemon=True)
                self._thread.start()
        done = queue.Queue(maxsize=1)
        self._requests.put((args, kwargs, done))
        ok, value = done.get()
        if not ok:
            raise value
        return value

    def _run(self):
        while True:
            args, kwargs, done = self._requests.get()
            try:
                done.put((True, subprocess.Popen(*args, preexec_fn=_die_with_parent, **kwargs)))
            except BaseException as e:  # handed to the caller
                done.put((False, e))


def _resolve_prctl():
    """libc's prctl, looked up once in the parent (no dlopen between fork and exec)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _resolve_prctl()
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the spawner thread (the test process) dies."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))


_spawner = _Spawner()


class ServerDied(AssertionError):
    pass


# ---------------------------------------------------------------------------------------------
# One server

class Server:
    """One `cairn agent -server` process with a fixed IP, ports, data dir and log dir.

    State flags: `proc` is the current process (None before the first start); `paused` is True
    between pause() and resume(); `expected_exit` is True once the harness killed or stopped it
    (an exit without it is a crash). `blocked` is the set of RPC addresses this server is meant
    to drop traffic to/from; it is re-applied when the server comes back.
    """

    def __init__(self, name, ip, root, join=(), bootstrap_expect=0, config=None, extra_args=(),
                 log_level="info", wrapper=(), ports=None, port_flags=True):
        """`ports` is (http_port, server_port), default: free ports on `ip`; with `port_flags`
        False no port flags are passed (the agent's defaults must then equal `ports`);
        `wrapper` is prepended to the command line (it must exec the agent)."""
        self.name, self.ip = name, ip
        self.http_port, self.server_port = ports or (free_port(ip), free_port(ip))
        while self.server_port == self.http_port:
            self.server_port = free_port(ip)
        self.port_flags = port_flags
        self.dir = os.path.join(root, name)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.join = list(join)
        self.bootstrap_expect = bootstrap_expect
        self.config = dict(config or {})
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.wrapper = list(wrapper)
        self.proc = None
        self.starts = 0
        self.paused = False
        self.expected_exit = False
        self.blocked = set()
        self.extra_env = {}  # added to the process's environment
        self._applied_blocked = set()  # what the current process was last told
        self._logs = []

    def __repr__(self):
        return f"Server({self.name} {self.rpc_address})"

    @property
    def rpc_address(self):
        """The address peers and /v1/status/leader use for this server: "ip:server_port"."""
        return f"{self.ip}:{self.server_port}"

    # ---- process control ----
    def command(self):
        """The command line of the next start."""
        args = [binary(), "agent", "-server", "-node", self.name, "-bind", self.ip,
                "-client", self.ip]
        if self.port_flags:
            args += ["-http-port", str(self.http_port), "-server-port", str(self.server_port)]
        args += ["-data-dir", self.data_dir, "-log-level", self.log_level]
        if self.bootstrap_expect:
            args += ["-bootstrap-expect", str(self.bootstrap_expect)]
        for address in self.join:
            args += ["-retry-join", address]
        if self.config:
            path = os.path.join(self.dir, "config.json")
            with open(path, "w") as f:
                json.dump(self.config, f)
            args += ["-config-file", path]
        return self.wrapper + args + self.extra_args

    def spawn(self):
        """Starts the process without waiting for it to serve (a server forming a cluster only
        opens its HTTP port once the cluster exists)."""
        if self.alive():
            raise AssertionError(f"{self.name} is already running")
        if not os.path.exists(binary()):
            raise unittest.SkipTest(f"cairn binary not found at {binary()} (set CAIRN_BIN)")
        self._close_logs()
        self.starts += 1
        self.paused = False
        self.expected_exit = False
        self._applied_blocked = set()
        stdout = open(os.path.join(self.dir, f"{self.name}.{self.starts}.stdout.log"), "wb")
        stderr = open(os.path.join(self.dir, f"{self.name}.{self.starts}.stderr.log"), "wb")
        self._logs = [stdout, stderr]
        env = dict(os.environ, CAIRN_FAULT_INJECTION="1", **self.extra_env)
        self.proc = _spawner.popen(self.command(), stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=stderr, cwd=self.dir, env=env)
        return self

    def wait_serving(self, timeout=START_TIMEOUT):
        """Waits until the HTTP API answers, then re-applies `blocked`. Raises ServerDied (with
        the logs) if the process exits meanwhile."""
        def serving():
            self.check_alive()
            return self.leader() is not None
        wait_until(serving, timeout, f"{self.name} to serve HTTP", interval=0.05)
        self._sync_blocked()
        return self

    def start(self, timeout=START_TIMEOUT):
        """spawn() + wait_serving()."""
        return self.spawn().wait_serving(timeout)

    def check_alive(self):
        """Raises ServerDied (with the logs) if the process has exited."""
        if self.proc is None or self.proc.poll() is None:
            return
        raise ServerDied(f"{self.name} exited with status {self.proc.returncode}\n"
                         f"command: {' '.join(self.command())}\n{self.logs()}")

    def alive(self):
        """Whether the process exists (running or paused)."""
        return self.proc is not None and self.proc.poll() is None

    def running(self):
        """Whether the process exists and is not paused (it can answer)."""
        return self.alive() and not self.paused

    def kill(self):
        """kill -9 (also a paused process); returns the exit status or None if never started."""
        if self.proc is None:
            return None
        self.expected_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.paused = False
        self._close_logs()
        return self.proc.returncode

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM (after SIGCONT if paused), SIGKILL after `timeout`.
        Returns (exit status, needed_sigkill)."""
        if self.proc is None:
            return None, False
        self.expected_exit = True
        needed_kill = False
        if self.proc.poll() is None:
            if self.paused:
                self.resume()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                needed_kill = True
                self.proc.kill()
                self.proc.wait()
        self.paused = False
        self._close_logs()
        return self.proc.returncode, needed_kill

    def pause(self):
        """SIGSTOP."""
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        """SIGCONT; then applies a `blocked` set changed while paused."""
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False
        if self.alive():
            self._sync_blocked()

    def wipe(self):
        """Removes the data dir (the server must not be running): the next start is a new
        server (new node ID) at the same address."""
        if self.alive():
            raise AssertionError(f"wipe() of running {self.name}")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        os.makedirs(self.data_dir, exist_ok=True)

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """One request to this server's HTTP API (see http_call)."""
        return http_call(self.ip, self.http_port, method, path, body, headers, timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body=b"", **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def leader(self, timeout=2.0):
        """This server's view of the leader ("" when none), or None when it does not answer."""
        try:
            r = self.get("/v1/status/leader", timeout=timeout)
            return r.json() if r.status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            return None

    def configuration(self, query="", timeout=5.0):
        """GET /v1/operator/raft/configuration as a dict, or None on any error."""
        try:
            r = self.get("/v1/operator/raft/configuration" + query, timeout=timeout)
            return r.json() if r.status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            return None

    def kv_put(self, key, value, query="", timeout=10.0):
        """PUT /v1/kv/<key>: returns the JSON answer (True/False); raises on a non-200."""
        r = self.put(kv_url(key, query), value, timeout=timeout)
        if r.status != 200:
            raise AssertionError(f"{self.name}: PUT {key!r} failed: {r!r}")
        return r.json()

    def kv_get(self, key, query="", timeout=10.0):
        """(value str or None when absent, ModifyIndex or None); raises on other statuses."""
        r = self.get(kv_url(key, query), timeout=timeout)
        if r.status == 404:
            return None, None
        if r.status != 200:
            raise AssertionError(f"{self.name}: GET {key!r} failed: {r!r}")
        entry = r.json()[0]
        return decode_value(entry), entry["ModifyIndex"]

    def set_blocked(self, addresses):
        """Drops all cluster traffic to/from `addresses` on this server (empty: heal). Applied at
        once when the server runs, otherwise when it next serves or resumes."""
        self.blocked = set(addresses)
        if self.running():
            self._sync_blocked()

    def _sync_blocked(self):
        """Sends `blocked` to the process unless it already has it."""
        if self.blocked == self._applied_blocked:
            return
        body = json.dumps(sorted(self.blocked))
        try:
            r = self.put("/v1/cairn/debug/blocked-peers", body, timeout=10.0)
        except (OSError, http.client.HTTPException):
            if self.proc is not None and self.proc.poll() is not None:
                self.proc.wait()
                self.check_alive()  # raises ServerDied with the logs
            raise
        if r.status != 200:
            raise AssertionError(f"{self.name}: blocked-peers failed (is CAIRN_FAULT_INJECTION "
                                 f"honoured?): {r!r}")
        self._applied_blocked = set(self.blocked)

    # ---- logs ----
    def log_files(self):
        try:
            names = sorted(os.listdir(self.dir))
        except OSError:
            return []
        return [os.path.join(self.dir, n) for n in names if n.endswith(".log")]

    def logs(self, since=None, limit=LOG_LIMIT):
        """The text of this server's log files (from the offsets in `since`), each truncated to
        its last `limit` characters."""
        return read_logs(self.log_files(), since, limit, label=f"{self.name}: ")

    def _close_logs(self):
        for f in self._logs:
            if not f.closed:
                f.close()
        self._logs = []


class ClientAgent(Server):
    """One `cairn agent` client process (no -server): HTTP and DNS on its own loopback IP, the
    servers given as -retry-join. `server_port` is unused (clients do not listen on one)."""

    def __init__(self, name, ip, root, join=(), **kw):
        super().__init__(name, ip, root, join=join, **kw)
        self.dns_port = free_port(ip)
        while self.dns_port == self.http_port:
            self.dns_port = free_port(ip)

    def __repr__(self):
        return f"ClientAgent({self.name} {self.ip}:{self.http_port})"

    def command(self):
        args = [binary(), "agent", "-node", self.name, "-bind", self.ip, "-client", self.ip,
                "-advertise", self.ip, "-http-port", str(self.http_port),
                "-dns-port", str(self.dns_port), "-data-dir", self.data_dir,
                "-log-level", self.log_level]
        for address in self.join:
            args += ["-retry-join", address]
        return self.wrapper + args + self.extra_args

    def used_servers(self):
        """The servers this client moved to, in order, from its log ("using server ...")."""
        return re.findall(r"client: using server (\S+)", self.logs(limit=10 ** 7))


def decode_value(entry):
    """The KV entry's Value as str (None stays None)."""
    value = entry.get("Value")
    return None if value is None else base64.b64decode(value).decode()


# ---------------------------------------------------------------------------------------------
# The cluster

class Cluster:
    """N servers (3 or 5) on one loopback block, bootstrapped with -bootstrap-expect N.

    `servers` lists every Server ever created (for cleanup and logs); `members` the ones meant
    to be in the Raft configuration now (add_server appends, forget() removes). Methods that wait
    raise AssertionError (with context) when their deadline passes.
    """

    server_class = Server  # test_secure_faults.py uses servers reached over HTTPS with a token

    def __init__(self, size=3, name="cluster", config=None, extra_args=(), log_level="info"):
        self.name = name
        self.prefix = allocate_block()
        self.root = tempfile.mkdtemp(prefix=f"cairn-{name}-")
        self.config = dict(config or {})
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.servers = []
        self.members = []
        self.keep = False  # set to keep the root dir (evidence) after cleanup()
        self._lock = threading.RLock()
        self._next_slot = 1
        for _ in range(size):
            self.members.append(self.new_server(bootstrap_expect=size))
        join = [s.rpc_address for s in self.members]
        for server in self.members:
            server.join = list(join)

    def new_server(self, join=None, bootstrap_expect=0, config=None, ip=None, **kw):
        """Creates (does not start) a server on `ip` (default: the next free IP of the block).
        `join` defaults to the current members' RPC addresses; `config` is merged over the
        cluster's config; other keywords go to Server."""
        with self._lock:
            slot = self._next_slot
            self._next_slot += 1
            merged = dict(self.config, **(config or {}))
            if join is None:
                join = [s.rpc_address for s in self.members]
            server = self.server_class(f"s{slot}", ip or self.prefix + str(slot), self.root,
                                       join=join,
                            bootstrap_expect=bootstrap_expect, config=merged,
                            extra_args=self.extra_args, log_level=self.log_level, **kw)
            self.servers.append(server)
            return server

    # ---- life cycle ----
    def start(self, timeout=START_TIMEOUT):
        """Starts every member, waits until all serve and agree on a leader; returns it."""
        for server in self.members:
            server.spawn()
        for server in self.members:
            server.wait_serving(timeout)
        return self.wait_for_leader(timeout)

    def cleanup(self):
        """Kills every process and removes the root dir (kept with CAIRN_KEEP_TMP or `keep`)."""
        for server in self.servers:
            server.kill()
        if self.keep or os.environ.get("CAIRN_KEEP_TMP"):
            sys.stderr.write(f"[cluster] kept {self.root}\n")
            return
        shutil.rmtree(self.root, ignore_errors=True)

    def kill_all(self):
        """kill -9 of every member."""
        for server in self.members:
            server.kill()

    def restart(self, server, timeout=START_TIMEOUT):
        """Starts a stopped/killed server again on its data dir and waits until it serves."""
        if server.alive():
            server.kill()
        return server.start(timeout)

    def start_all_stopped(self, timeout=START_TIMEOUT):
        """Resumes paused members and starts members that are not running; waits until all
        serve."""
        for server in self.members:
            if server.paused:
                server.resume()
        stopped = [s for s in self.members if not s.alive()]
        for server in stopped:
            server.spawn()
        for server in stopped:
            server.wait_serving(timeout)

    # ---- leadership ----
    def current_leader(self, servers=None):
        """The server every running member of `servers` (default: members) names as leader, if
        they all agree and it is one of them; else None."""
        servers = [s for s in (servers or self.members) if s.running()]
        if not servers:
            return None
        views = {s.leader() for s in servers}
        if len(views) != 1:
            return None
        view = views.pop()
        return next((s for s in servers if view and s.rpc_address == view), None)

    def wait_for_leader(self, timeout=LEADER_TIMEOUT, servers=None):
        """Waits until every running server of `servers` (default: members) names the same
        leader, one of them; returns it. Crashed members fail the wait at once."""
        def agreed():
            for s in servers or self.members:
                if not s.expected_exit:
                    s.check_alive()
            return self.current_leader(servers)
        try:
            return wait_until(agreed, timeout, "a leader known by all running servers", 0.05)
        except AssertionError as e:
            views = {s.name: s.leader() for s in (servers or self.members) if s.running()}
            raise AssertionError(f"{e}; views: {views}") from None

    def leader(self):
        """The agreed leader (waits for one)."""
        return self.wait_for_leader()

    def followers(self, leader=None):
        """The members other than `leader` (default: the agreed leader)."""
        leader = leader or self.leader()
        return [s for s in self.members if s is not leader]

    # ---- partitions ----
    def partition(self, *groups):
        """Cuts all cluster traffic between the groups (lists of servers); members in no group
        are left as they are. A server in a group keeps what it already blocked."""
        for group in groups:
            others = {s.rpc_address for g in groups if g is not group for s in g}
            for server in group:
                server.set_blocked(server.blocked | others)

    def isolate(self, server):
        """Partitions `server` from every other member."""
        self.partition([server], [s for s in self.members if s is not server])

    def split(self, minority_size=None, include=None):
        """Partitions the members into a majority and a minority (default: the largest minority);
        `include` (a server) is put in the minority. Returns (majority, minority)."""
        members = list(self.members)
        size = minority_size or (len(members) - 1) // 2
        random.shuffle(members)
        if include is not None:
            members.remove(include)
            members.insert(0, include)
        minority, majority = members[:size], members[size:]
        self.partition(majority, minority)
        return majority, minority

    def heal(self):
        """Unblocks every server (paused ones when they resume, stopped ones when they serve)."""
        for server in self.servers:
            server.set_blocked(())

    # ---- membership ----
    def configuration(self, timeout=LEADER_TIMEOUT):
        """The Raft configuration as the agreed leader reports it."""
        def answer():
            leader = self.current_leader()
            return leader.configuration() if leader else None
        return wait_until(answer, timeout, "the raft configuration from the leader", 0.05)

    def wait_configuration(self, servers, timeout=LEADER_TIMEOUT, voters=True):
        """Waits until the leader's configuration lists exactly `servers` (all voters when
        `voters`); returns it."""
        wanted = {s.rpc_address for s in servers}

        def matches():
            leader = self.current_leader()
            config = leader.configuration() if leader else None
            if not config:
                return None
            listed = {e["Address"]: e for e in config["Servers"]}
            if set(listed) != wanted:
                return None
            if voters and not all(e["Voter"] for e in listed.values()):
                return None
            return config
        try:
            return wait_until(matches, timeout, f"configuration {sorted(wanted)}", 0.1)
        except AssertionError as e:
            raise AssertionError(f"{e}; last: {self.current_leader() and self.configuration()}") \
                from None

    def add_server(self, config=None, timeout=START_TIMEOUT):
        """Starts a new server with an empty data dir and -retry-join to the members, waits until
        it is a voter; returns it (appended to members)."""
        server = self.new_server(config=config)
        server.start(timeout)
        with self._lock:
            self.members.append(server)
        self.wait_configuration(self.members, timeout)
        return server

    def remove_server(self, server, via=None):
        """DELETE /v1/operator/raft/peer?address=... on `via` (default: the leader); forgets the
        server. Returns the HttpResult."""
        via = via or self.leader()
        r = via.delete(f"/v1/operator/raft/peer?address={server.rpc_address}")
        if r.status == 200:
            self.forget(server)
        return r

    def forget(self, server):
        """Drops `server` from `members` (it stays in `servers` for cleanup and logs)."""
        with self._lock:
            if server in self.members:
                self.members.remove(server)

    def replace(self, old, timeout=START_TIMEOUT):
        """Reuses `old`'s address for a brand-new server: kill, wipe the data dir, start with
        -retry-join to the other members, wait until it is a voter. `old` must already be out of
        the configuration."""
        old.kill()
        old.wipe()
        old.bootstrap_expect = 0
        old.join = [s.rpc_address for s in self.members if s is not old]
        old.start(timeout)
        with self._lock:
            if old not in self.members:
                self.members.append(old)
        self.wait_configuration(self.members, timeout)
        return old

    # ---- logs ----
    def log_offsets(self):
        return {path: _size(path) for s in self.servers for path in s.log_files()}

    def logs(self, since=None, limit=LOG_LIMIT):
        """Every server's log text (see Server.logs)."""
        return "\n".join(filter(None, (s.logs(since, limit) for s in self.servers)))

    def crashed(self):
        """Servers whose process exited although the harness did not stop it."""
        return [s for s in self.servers
                if s.proc is not None and s.proc.poll() is not None and not s.expected_exit]


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class ClusterTestCase(unittest.TestCase):
    """Base class: a fresh cluster per test (self.cluster), started in setUp.

    On failure the servers' output is printed; a server that crashed fails the test. Every
    process is killed and the dirs removed in cleanup, whatever happened.
    """

    cluster_size = 3
    cluster_config = None
    start_cluster = True

    def setUp(self):
        super().setUp()
        self.cluster = Cluster(self.cluster_size, name=type(self).__name__,
                               config=self.cluster_config)
        self.addCleanup(self._finish_cluster, self.cluster)
        if self.start_cluster:
            self.cluster.start()

    def _finish_cluster(self, cluster):
        crashed = cluster.crashed()
        try:
            if crashed or self._has_failed():
                sys.stderr.write(f"\n===== cluster output during {self.id()} =====\n"
                                 f"{cluster.logs()}\n===== end of cluster output =====\n")
        finally:
            cluster.cleanup()
        if crashed:
            self.fail(f"servers crashed during {self.id()}: "
                      f"{[(s.name, s.proc.returncode) for s in crashed]}")

    def _has_failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        for test, _ in list(getattr(result, "failures", [])) + list(getattr(result, "errors", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False
