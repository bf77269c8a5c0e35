"""The cairn-operator binary against tests/k8s/fake_apiserver.py (no pods run: no kubelet yet).

kubectl applies the CRD and a CairnCluster; the operator, started with a kubeconfig, must take
the Lease, apply the cluster's objects (owned by the CairnCluster), write a status through the
status subresource, and serve /healthz, /readyz and /metrics. The binary's path comes from CAIRN_OPERATOR (set by ctest).
"""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, free_port, http_get, tool_path, wait_for  # noqa: E402

CRD = os.path.join(REPO, "deploy", "crds", "cairn.io_cairnclusters.yaml")
CLUSTER = """apiVersion: cairn.io/v1alpha1
kind: CairnCluster
metadata:
  name: demo
spec:
  servers: 3
"""


class OperatorBinary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not tool_path("kubectl"):
            raise AssertionError("kubectl not found: run scripts/setup (or set CAIRN_KUBECTL)")
        cls.binary = os.environ.get("CAIRN_OPERATOR")
        if not cls.binary:
            raise AssertionError("CAIRN_OPERATOR is not set (ctest sets it)")
        cls.server = FakeApiServer().start()
        cls.kubectl = Kubectl(cls.server.url)
        cls.kubectl.run("apply", "-f", CRD)
        cls.port = free_port()
        cls.started = time.monotonic()
        cls.proc = subprocess.Popen(
            [cls.binary, "-kubeconfig", cls.kubectl.kubeconfig, "-namespace", "default",
             "-metrics-addr", f"127.0.0.1:{cls.port}", "-lease-namespace", "default",
             "-resync-ms", "200"])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=30)
        cls.server.stop()
        cls.kubectl.close()

    def get(self, *args):
        code, out, _ = self.kubectl.run("get", *args, "-o", "json", check=False)
        return json.loads(out) if code == 0 else None

    def test_reconciles_a_cluster_and_serves_metrics(self):
        self.kubectl.run("apply", "-f", "-", stdin=CLUSTER)
        t0 = time.monotonic()
        sts = wait_for("the StatefulSet", lambda: self.get("statefulset", "demo"))
        print(f"StatefulSet applied {time.monotonic() - t0:.2f}s after the CairnCluster",
              file=sys.stderr)
        self.assertEqual(sts["spec"]["replicas"], 3)
        owner = sts["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["name"]), ("CairnCluster", "demo"))
        self.assertIn("server.json", self.get("configmap", "demo-config")["data"])
        cluster = wait_for("a status", lambda: (self.get("cairncluster", "demo") or {})
                           .get("status", {}).get("conditions") and self.get("cairncluster", "demo"))
        self.assertTrue(cluster["status"]["conditions"])
        lease = self.get("lease", "cairn-operator")
        self.assertTrue(lease and lease["spec"]["holderIdentity"])

        base = f"http://127.0.0.1:{self.port}"
        self.assertEqual(http_get(base + "/healthz")[0], 200)
        wait_for("/readyz", lambda: http_get(base + "/readyz")[0] == 200)
        code, text = http_get(base + "/metrics")
        self.assertEqual(code, 200)
        for name in ("cairn_operator_reconciles_total", "cairn_operator_leader 1",
                     'cairn_operator_cluster_servers{cluster="default/demo"} 3'):
            self.assertIn(name, text)

    def test_a_second_cluster_is_reconciled_too(self):
        self.kubectl.run("apply", "-f", "-", stdin=CLUSTER.replace("demo", "other")
                         .replace("servers: 3", "servers: 5"))
        sts = wait_for("the second StatefulSet", lambda: self.get("statefulset", "other"))
        self.assertEqual(sts["spec"]["replicas"], 5)
        self.assertIsNone(self.proc.poll())

if __name__ == "__main__":
    unittest.main()
