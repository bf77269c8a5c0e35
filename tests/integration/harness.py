"""Integration-test harness: runs the real `cairn agent -dev` on loopback and talks HTTP to it.

Contract (the project's rules for integration tests: real binaries on loopback, no sleeps):
  * only 127.0.0.1 is ever contacted; every port is chosen by binding port 0 and releasing it;
  * no blind sleeps: every wait polls a condition until a deadline;
  * the agent's stderr/stdout go to files that are printed when a test fails;
  * each test class owns its agent (and data dir), so test files can run in parallel.

Run test files with /usr/bin/python3 (Debian's python3-consul lives there).
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_BIN = os.path.join(REPO_ROOT, "build", "debug", "agent", "cairn")
HOST = "127.0.0.1"

START_TIMEOUT = float(os.environ.get("CAIRN_START_TIMEOUT", "60"))
STOP_TIMEOUT = 20.0
KV_MAX_VALUE = 512 * 1024


def binary():
    """The cairn binary, as an absolute path (servers start in their own directories)."""
    return os.path.abspath(os.environ.get("CAIRN_BIN") or DEFAULT_BIN)


def free_port():
    """A currently free TCP port on 127.0.0.1 (bound to port 0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until(condition, timeout, what, interval=0.02):
    """Polls condition() until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def quote_key(key):
    """Percent-encodes a KV key for the URL path, keeping '/' as the hierarchy separator."""
    return urllib.parse.quote(key, safe="/")


def read_logs(paths, since=None, limit=20000, label=""):
    """The text appended to each log file in `paths` since the byte offsets in `since` (path ->
    offset), each cut to its last `limit` characters, under a header naming the file (prefixed
    by `label`). Empty string when nothing was written."""
    out = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                f.seek((since or {}).get(path, 0))
                data = f.read()
        except OSError:
            continue
        if not data:
            continue
        text = data.decode(errors="replace")
        if len(text) > limit:
            text = "...[truncated]...\n" + text[-limit:]
        out.append(f"----- {label}{os.path.basename(path)} -----\n{text}")
    return "\n".join(out)


class HttpResult(tuple):
    """(status, headers, body) with convenience accessors; headers is case-insensitive."""

    def __new__(cls, status, headers, body):
        return super().__new__(cls, (status, headers, body))

    status = property(lambda self: self[0])
    headers = property(lambda self: self[1])
    body = property(lambda self: self[2])

    def json(self):
        return json.loads(self[2])

    def text(self):
        return self[2].decode("utf-8", errors="replace")

    def index(self):
        value = self[1].get("X-Consul-Index")
        return int(value) if value is not None else None

    def __repr__(self):
        body = self[2][:300]
        return f"HttpResult(status={self[0]}, headers={dict(self[1].items())}, body={body!r})"


def http_request(port, method, path, body=None, headers=None, timeout=60.0):
    """One HTTP/1.1 request to 127.0.0.1:port on a fresh connection.

    `path` is sent verbatim (it may contain percent-encodings and dot segments).
    Returns HttpResult(status, headers, body bytes). If the server answers and closes before
    the whole body was sent (early 413), the response is still read.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None and isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may reply (e.g. 413) without reading the whole body
        resp = conn.getresponse()
        data = resp.read()
        return HttpResult(resp.status, resp.headers, data)
    finally:
        conn.close()


class Agent:
    """One `cairn agent -dev` process on loopback, with its own data dir and ports."""

    def __init__(self, data_dir=None, extra_args=(), name="agent"):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cairn-it-")
        self.work_dir = tempfile.mkdtemp(prefix="cairn-it-logs-")
        self.name = name
        self.extra_args = list(extra_args)
        self.proc = None
        self.starts = 0
        self.expected_exit = False
        self._pick_ports()

    def _pick_ports(self):
        ports = set()
        while len(ports) < 4:
            ports.add(free_port())
        self.http_port, self.dns_port, self.server_port, self.grpc_port = sorted(ports)

    @property
    def stderr_path(self):
        return os.path.join(self.work_dir, f"{self.name}.{self.starts}.stderr.log")

    @property
    def stdout_path(self):
        return os.path.join(self.work_dir, f"{self.name}.{self.starts}.stdout.log")

    def command(self):
        return [binary(), "agent", "-dev",
                "-http-port", str(self.http_port), "-dns-port", str(self.dns_port),
                "-server-port", str(self.server_port), "-grpc-port", str(self.grpc_port),
                "-data-dir", self.data_dir, "-log-level", "warn"] + self.extra_args

    def start(self, timeout=START_TIMEOUT, new_ports_on_failure=True):
        """Starts the agent and waits until it reports a leader. Retries once with fresh ports
        if the process dies during start-up (a port may have been taken in the meantime)."""
        attempts = 3 if new_ports_on_failure else 1
        last_error = None
        for _ in range(attempts):
            try:
                self._start_once(timeout)
                return self
            except AgentDied as e:
                last_error = e
                if new_ports_on_failure:
                    self._pick_ports()
        raise AssertionError(str(last_error))

    def _start_once(self, timeout):
        if not os.path.exists(binary()):
            raise unittest.SkipTest(f"cairn binary not found at {binary()} (set CAIRN_BIN)")
        self._close_logs()
        self.starts += 1
        self.expected_exit = False
        self._stdout = open(self.stdout_path, "wb")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._stdout, stderr=self._stderr, cwd=self.work_dir)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self._close_logs()
                raise AgentDied(f"agent exited with {self.proc.returncode} during start-up\n"
                                f"command: {' '.join(self.command())}\n{self.logs()}")
            if self._leader_known():
                return
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError(f"agent did not report a leader within {timeout}s\n"
                                     f"command: {' '.join(self.command())}\n{self.logs()}")
            time.sleep(0.05)

    def _leader_known(self):
        try:
            r = http_request(self.http_port, "GET", "/v1/status/leader", timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        if r.status != 200:
            return False
        try:
            leader = r.json()
        except ValueError:
            return False
        # The leader must be this agent (dev mode: one server). Another agent answering on our
        # HTTP port (a port picked by two harnesses at once) must not pass for ours.
        return isinstance(leader, str) and leader == f"{HOST}:{self.server_port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after `timeout`. Returns (returncode, needed_sigkill)."""
        if self.proc is None:
            return None, False
        self.expected_exit = True
        needed_kill = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                needed_kill = True
                self.proc.kill()
                self.proc.wait()
        self._close_logs()
        return self.proc.returncode, needed_kill

    def kill(self):
        """kill -9: no chance to flush or shut down cleanly."""
        if self.proc is None:
            return None
        self.expected_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close_logs()
        return self.proc.returncode

    def restart(self, hard=False, timeout=START_TIMEOUT):
        """Stops (SIGTERM, or SIGKILL when hard) and starts again on the same data dir and ports."""
        if hard:
            self.kill()
        else:
            self.stop()
        # Same ports: the listening sockets of a dead process are free again at once
        # (SO_REUSEADDR); fall back to new ports only if the old ones were taken meanwhile.
        return self.start(timeout=timeout, new_ports_on_failure=True)

    def cleanup(self):
        self.stop()
        if os.environ.get("CAIRN_KEEP_TMP"):
            sys.stderr.write(f"[harness] kept data dir {self.data_dir}, logs {self.work_dir}\n")
            return
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _close_logs(self):
        for f in (getattr(self, "_stdout", None), getattr(self, "_stderr", None)):
            if f is not None and not f.closed:
                f.close()

    def log_offsets(self):
        return {p: _size(p) for p in self._log_files()}

    def _log_files(self):
        try:
            names = sorted(os.listdir(self.work_dir))
        except OSError:
            return []
        return [os.path.join(self.work_dir, n) for n in names if n.endswith(".log")]

    def logs(self, since=None, limit=20000):
        return (read_logs(self._log_files(), since, limit)
                or "(agent wrote nothing to stdout/stderr)")

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=60.0):
        return http_request(self.http_port, method, path, body=body, headers=headers,
                            timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=b"" if body is None else body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def kv_put(self, key, value=b"", query=""):
        r = self.put(kv_url(key, query), value)
        if r.status != 200:
            raise AssertionError(f"PUT {key!r} failed: {r!r}")
        return r.json()

    def kv_get(self, key, query=""):
        """The single entry dict, or None when the key is missing (404)."""
        r = self.get(kv_url(key, query))
        if r.status == 404:
            return None
        if r.status != 200:
            raise AssertionError(f"GET {key!r} failed: {r!r}")
        entries = r.json()
        if len(entries) != 1:
            raise AssertionError(f"GET {key!r} returned {len(entries)} entries: {entries!r}")
        return entries[0]

    def kv_value(self, key):
        entry = self.kv_get(key)
        if entry is None:
            return None
        return base64.b64decode(entry["Value"]) if entry["Value"] is not None else b""

    def kv_dump(self):
        """Every entry in the store, as returned by GET /v1/kv/?recurse ([] when empty)."""
        r = self.get("/v1/kv/?recurse")
        if r.status == 404:
            return []
        if r.status != 200:
            raise AssertionError(f"dump failed: {r!r}")
        return r.json()

    def kv_clear(self):
        r = self.delete("/v1/kv/?recurse")
        if r.status != 200:
            raise AssertionError(f"clear failed: {r!r}")


class AgentDied(Exception):
    pass


def kv_url(key, query=""):
    url = "/v1/kv/" + quote_key(key)
    return url + ("?" + query if query else "")


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class AgentTestCase(unittest.TestCase):
    """Base class: one agent per test class (started in setUpClass).

    On failure or error the agent's output written during the test is printed to stderr.
    A test also fails if the agent died while it ran (a crash is always a bug).
    """

    agent_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = Agent(extra_args=cls.agent_args, name=cls.__name__)
        try:
            cls.agent.start()
        except BaseException:
            cls.agent.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self._log_offsets = self.agent.log_offsets()
        self.addCleanup(self._check_agent_and_dump_logs)

    def _check_agent_and_dump_logs(self):
        died = self.agent.proc is not None and self.agent.proc.poll() is not None \
            and not self.agent.expected_exit
        failed = self._has_failed()
        if died or failed:
            sys.stderr.write(f"\n===== agent output during {self.id()} =====\n"
                             f"{self.agent.logs(since=self._log_offsets)}\n"
                             f"===== end of agent output =====\n")
        if died:
            rc = self.agent.proc.returncode
            # Restart so the remaining tests of the class can still run.
            try:
                self.agent.start()
            except BaseException:
                pass
            self.fail(f"the agent died (exit status {rc}) during {self.id()}")

    def _has_failed(self):
        # The result object records failures as soon as they happen (unittest internals,
        # stable since 3.4): look for this test (or one of its subtests) in it.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        for test, _ in list(getattr(result, "failures", [])) + list(getattr(result, "errors", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    # ---- assertion helpers ----
    def assertStatus(self, result, status, msg=None):
        if result.status != status:
            self.fail(f"expected HTTP {status}, got {result!r}" + (f" ({msg})" if msg else ""))

    def assertConsulReadHeaders(self, result, consistency="leader"):
        """Headers every KV/txn read carries (docs/consul-api.md §1.4)."""
        h = result.headers
        self.assertIsNotNone(h.get("X-Consul-Index"), f"missing X-Consul-Index: {result!r}")
        self.assertGreater(int(h["X-Consul-Index"]), 0, "X-Consul-Index must never be 0")
        self.assertEqual(h.get("X-Consul-KnownLeader"), "true", repr(result))
        self.assertEqual(h.get("X-Consul-LastContact"), "0", repr(result))
        if consistency is not None:
            self.assertEqual(h.get("X-Consul-Effective-Consistency"), consistency, repr(result))


class Timer:
    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.monotonic() - self.start
        return False


class BackgroundRequest:
    """Runs one HTTP request in a thread (e.g. a blocking query) and records when it finished.

    `sent` is set once the request bytes were handed to the socket.
    """

    def __init__(self, port, method, path, body=None, timeout=120.0, host=HOST):
        self.host, self.port, self.method, self.path, self.body = host, port, method, path, body
        self.timeout = timeout
        self.sent = threading.Event()
        self.done = threading.Event()
        self.result = None
        self.error = None
        self.started_at = None
        self.finished_at = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.started_at = time.monotonic()
        self.thread.start()
        return self

    def _run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(self.method, self.path, body=self.body)
            self.sent.set()
            resp = conn.getresponse()
            self.result = HttpResult(resp.status, resp.headers, resp.read())
        except BaseException as e:  # recorded and re-raised by wait()
            self.error = e
        finally:
            self.finished_at = time.monotonic()
            self.sent.set()
            self.done.set()
            conn.close()

    def wait(self, timeout):
        if not self.done.wait(timeout):
            raise AssertionError(f"{self.method} {self.path} did not return within {timeout}s")
        if self.error is not None:
            raise AssertionError(f"{self.method} {self.path} failed: {self.error!r}")
        return self.result

    @property
    def elapsed(self):
        return None if self.finished_at is None else self.finished_at - self.started_at


def main():
    """Runs the calling module's tests with unittest's standard runner and summary."""
    unittest.main(module="__main__", verbosity=2)
