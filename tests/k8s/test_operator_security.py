"""The CairnCluster security switches end to end (docs/security.md, "Kubernetes"): the fake API
server, the process kubelet (each server pod a real `cairn agent -server`, the TLS Secret mounted
as a directory) and the cairn-operator binary. One CairnCluster of one server with
spec.security.tls.enabled and spec.security.acls.manageSystemACLs:
  - the operator makes the Secret <cluster>-tls (CA and server certificate) before the server
    pod needs it;
  - the server's HTTPS port answers with a certificate that chains to the Secret's CA and names
    server.dc1.consul;
  - the operator bootstraps ACLs once there is a leader and keeps the management token in the
    Secret <cluster>-acl-management; with it the operator still reads the Raft state (the
    cluster becomes Available);
  - the anonymous token is denied (403), the management token from the Secret works.
CAIRN_OPERATOR and CAIRN_BIN come from ctest."""
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from k8s_tools import REPO, free_port, operator_binaries, operator_stack  # noqa: E402
from process_kubelet import pod_ready  # noqa: E402
from cluster import http_call  # noqa: E402
from harness import wait_until  # noqa: E402

CRD = os.path.join(REPO, "deploy", "crds", "cairn.io_cairnclusters.yaml")
NS = "default"
NAME = "sec"
CLUSTER = f"""apiVersion: cairn.io/v1alpha1
kind: CairnCluster
metadata:
  name: {NAME}
spec:
  servers: 1
  image: cairn:0.1.0
  security:
    tls:
      enabled: true
    acls:
      manageSystemACLs: true
"""
TIMEOUT = 90


class OperatorSecurity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.operator_bin, cls.cairn_bin = operator_binaries()
        cls.dir, cls.server, cls.kubectl, cls.harness = operator_stack(
            "cairn-operator-security-", CRD, cls.cairn_bin)
        cls.harness.start()
        cls.operator_log = open(os.path.join(cls.dir, "operator.log"), "wb")
        cls.operator = subprocess.Popen(
            [cls.operator_bin, "-kubeconfig", cls.kubectl.kubeconfig, "-namespace", NS,
             "-metrics-addr", f"127.0.0.1:{free_port()}", "-lease-namespace", NS,
             "-resync-ms", "500"],
            stdout=cls.operator_log, stderr=subprocess.STDOUT)
        manifest = os.path.join(cls.dir, "cluster.yaml")
        with open(manifest, "w") as f:
            f.write(CLUSTER)
        cls.kubectl.run("apply", "-f", manifest)

    @classmethod
    def tearDownClass(cls):
        cls.operator.terminate()
        cls.operator.wait(timeout=30)
        cls.harness.stop()
        cls.server.stop()
        cls.kubectl.close()
        cls.operator_log.close()

    def diagnostics(self):
        self.operator_log.flush()
        with open(os.path.join(self.dir, "operator.log"), errors="replace") as f:
            operator = f.read()[-4000:]
        return f"operator log:\n{operator}\n{self.harness.logs(3000)}"

    def wait(self, what, predicate):
        try:
            return wait_until(predicate, TIMEOUT, what, 0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.diagnostics()}") from None

    def secret(self, name):
        code, out, _ = self.kubectl.run("get", "secret", name, "-o", "json", check=False)
        if code != 0:
            return None
        return {k: base64.b64decode(v).decode() for k, v in json.loads(out)["data"].items()}

    def ready_pod_ip(self):
        pod = self.harness.pods.get(NS, f"{NAME}-0")
        return pod["status"]["podIP"] if pod and pod_ready(pod) else None

    def available(self):
        code, out, _ = self.kubectl.run("get", "cairncluster", NAME, "-o", "json", check=False)
        status = (json.loads(out).get("status") or {}) if code == 0 else {}
        return any(c.get("type") == "Available" and c.get("status") == "True"
                   for c in status.get("conditions") or [])

    def test_tls_and_managed_acls(self):
        t0 = time.monotonic()
        tls = self.wait("the TLS Secret", lambda: self.secret(f"{NAME}-tls"))
        self.assertEqual(sorted(tls), ["ca-key.pem", "ca.pem", "server-key.pem", "server.pem"])
        ip = self.wait("the server pod to be Ready", self.ready_pod_ip)
        management = self.wait("the management token's Secret",
                               lambda: self.secret(f"{NAME}-acl-management"))
        token = management["token"]
        self.wait("the cluster to be Available (the operator reads Raft with the token)",
                  self.available)
        print(f"[security] Available with TLS and ACLs in {time.monotonic() - t0:.1f} s",
              file=sys.stderr)

        # HTTPS on 8501: the certificate chains to the Secret's CA and names server.dc1.consul.
        context = ssl.create_default_context(cadata=tls["ca.pem"])
        with context.wrap_socket(socket.create_connection((ip, 8501), timeout=10),
                                 server_hostname="server.dc1.consul") as conn:
            conn.sendall(b"GET /v1/status/leader HTTP/1.1\r\nHost: server.dc1.consul\r\n"
                         b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        untrusted = ssl.create_default_context()  # the system CAs do not know ours
        with self.assertRaises(ssl.SSLError):
            untrusted.wrap_socket(socket.create_connection((ip, 8501), timeout=10),
                                  server_hostname="server.dc1.consul")

        # ACLs: default deny for the anonymous token, everything for the management token.
        denied = http_call(ip, 8500, "GET", "/v1/kv/anything", None, None, 10)
        self.assertEqual(denied.status, 403, denied.text())
        me = http_call(ip, 8500, "GET", "/v1/acl/token/self", None, {"X-Consul-Token": token}, 10)
        self.assertEqual(me.status, 200, me.text())
        self.assertEqual(me.json()["AccessorID"], management["accessor"])
        put = http_call(ip, 8500, "PUT", "/v1/kv/secured", "yes", {"X-Consul-Token": token}, 10)
        self.assertEqual(put.status, 200, put.text())
        # Bootstrapped once: a second bootstrap is refused.
        again = http_call(ip, 8500, "PUT", "/v1/acl/bootstrap", None, None, 10)
        self.assertEqual(again.status, 403, again.text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
