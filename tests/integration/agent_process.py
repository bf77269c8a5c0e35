"""Starts the real `cairn agent -dev` on loopback for integration tests, and talks HTTP to it.

Only 127.0.0.1 is ever contacted. Waits poll a condition with a deadline; no blind sleeps.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary():
    return os.environ.get("CAIRN_BIN", os.path.join(REPO, "build", "debug", "agent", "cairn"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Agent:
    """One `cairn agent -dev` process with its own data dir and ports."""

    def __init__(self, data_dir=None, extra_args=()):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cairn-it-")
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.log_path = os.path.join(self.data_dir, "agent.log")
        self.proc = None

    def start(self):
        args = [binary(), "agent", "-dev", "-http-port", str(self.port), "-dns-port", str(free_port()),
                "-server-port", str(free_port()), "-grpc-port", str(free_port()),
                "-data-dir", self.data_dir, "-log-level", "warn"] + self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        wait_until(self._ready, what=f"agent on port {self.port}")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"agent exited with {self.proc.returncode}:\n{self.logs()}")
        try:
            status, _, body = self.request("GET", "/v1/status/leader", timeout=2)
            return status == 200 and json.loads(body) != ""
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is not None and self.proc.returncode != 0:
            print(f"agent on port {self.port} died with {self.proc.returncode}:\n{self.logs()}",
                  file=sys.stderr)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def kv_path(self, key, **params):
        query = "&".join(k if v is None else f"{k}={urllib.parse.quote(str(v))}" for k, v in params.items())
        return "/v1/kv/" + urllib.parse.quote(key, safe="/") + ("?" + query if query else "")
