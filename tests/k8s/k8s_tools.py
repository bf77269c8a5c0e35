"""What the Kubernetes tests share: where kubectl and helm are, and a fake API server to aim
them at.

  tool_path("kubectl")  $CAIRN_KUBECTL (or $CAIRN_HELM) if set, else the repo's .tools/bin copy
                        that scripts/setup unpacks; None when neither exists
  Kubectl(url)          runs the real kubectl against a server with a throwaway kubeconfig and a
                        fresh --cache-dir (discovery is cached on disk and would hide changes)
  free_port(), wait_for(what, predicate), http_get(url)
                        a free loopback port, a wait with a deadline, a GET as (status, text)
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tool_path(name):
    override = os.environ.get(f"CAIRN_{name.upper()}")
    if override:
        return override
    local = os.path.join(REPO, ".tools", "bin", name)
    return local if os.access(local, os.X_OK) else None


class Kubectl:
    def __init__(self, url, namespace="default"):
        self.binary = tool_path("kubectl")
        self.dir = tempfile.mkdtemp(prefix="cairn-kubectl-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                      "namespace": namespace}}],
        }
        with open(self.kubeconfig, "w") as f:
            json.dump(config, f)

    def command(self, *args):
        return [self.binary, f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={os.path.join(self.dir, 'cache')}", *args]

    def run(self, *args, stdin=None, check=True, timeout=60):
        """Runs kubectl; returns (exit code, stdout, stderr). check=True raises on failure."""
        proc = subprocess.run(self.command(*args), input=stdin, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}{proc.stderr}")
        return proc.returncode, proc.stdout, proc.stderr

    def json(self, *args):
        return json.loads(self.run(*args, "-o", "json")[1])

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def operator_binaries():
    """(cairn-operator, cairn) from ctest's environment, after checking kubectl is there: the
    end-to-end tests that run the operator against the process kubelet need all three."""
    if not tool_path("kubectl"):
        raise AssertionError("kubectl not found: run scripts/setup (or set CAIRN_KUBECTL)")
    operator_bin, cairn_bin = os.environ.get("CAIRN_OPERATOR"), os.environ.get("CAIRN_BIN")
    if not operator_bin or not cairn_bin:
        raise AssertionError("CAIRN_OPERATOR and CAIRN_BIN must be set (ctest sets them)")
    return operator_bin, cairn_bin


def operator_stack(prefix, crd, cairn_bin):
    """(dir, fake API server, kubectl, process-kubelet Harness) for an operator end-to-end test:
    a fresh temp dir, the fake API server with `crd` applied, and a Harness not started yet (the
    caller may hook it first)."""
    from fake_apiserver import FakeApiServer  # the stack's modules, only for these tests
    from process_kubelet import Harness
    directory = tempfile.mkdtemp(prefix=prefix)
    server = FakeApiServer().start()
    kubectl = Kubectl(server.url)
    kubectl.run("apply", "-f", crd)
    return directory, server, kubectl, Harness(server.url, cairn_bin,
                                               os.path.join(directory, "node"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)  # polling interval, not synchronisation: the deadline bounds the wait
    raise AssertionError(f"timed out waiting for {what}")


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""
