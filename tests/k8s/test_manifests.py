#!/usr/bin/env python3
"""deploy/manifests/: the chart's default install as plain YAML.

  fresh      scripts/render-manifests --check: the file is what the chart renders today
  applies    the real kubectl applies deploy/crds/ then deploy/manifests/ to the fake API server
             (dry run on the client first, then for real), and every object is there, the
             CairnCluster defaulted by its CRD
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402


def setUpModule():
    for tool in ("kubectl", "helm"):
        if not tool_path(tool):
            raise AssertionError(f"{tool} not found: run scripts/setup (or set CAIRN_{tool.upper()})")


class Manifests(unittest.TestCase):
    def test_manifests_are_fresh(self):
        env = dict(os.environ, CAIRN_HELM=tool_path("helm"))
        proc = subprocess.run([os.path.join(REPO, "scripts", "render-manifests"), "--check"],
                              capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_kubectl_apply(self):
        server = FakeApiServer().start()
        kubectl = Kubectl(server.url)
        try:
            kubectl.run("apply", "-f", os.path.join(REPO, "deploy", "crds"))
            manifests = os.path.join(REPO, "deploy", "manifests")
            _, out, _ = kubectl.run("apply", "--dry-run=client", "-f", manifests)
            self.assertIn("cairncluster.cairn.io/cairn-server created (dry run)", out)
            _, out, _ = kubectl.run("apply", "-f", manifests)
            for line in ("namespace/cairn created",
                         "deployment.apps/cairn-operator created",
                         "clusterrole.rbac.authorization.k8s.io/cairn-operator created",
                         "mutatingwebhookconfiguration.admissionregistration.k8s.io/"
                         "cairn-injector created",
                         "cairncluster.cairn.io/cairn-server created"):
                self.assertIn(line, out)
            cluster = kubectl.json("-n", "cairn", "get", "cairncluster", "cairn-server")
            self.assertEqual(cluster["spec"]["servers"], 3)
            self.assertEqual(cluster["spec"]["image"], "cairn:0.1.0")
            deployment = kubectl.json("-n", "cairn", "get", "deployment", "cairn-operator")
            self.assertEqual(deployment["spec"]["replicas"], 2)
            # A second apply creates nothing and changes nothing. (kubectl sends the PDB a
            # no-op patch, "configured": the fake serves no OpenAPI schema to diff with.)
            before = kubectl.json("-n", "cairn", "get", "pdb,deployment,cairncluster")
            _, out, _ = kubectl.run("apply", "-f", manifests)
            self.assertNotIn("created", out)
            after = kubectl.json("-n", "cairn", "get", "pdb,deployment,cairncluster")
            self.assertEqual([o["metadata"]["resourceVersion"] for o in before["items"]],
                             [o["metadata"]["resourceVersion"] for o in after["items"]])
        finally:
            kubectl.close()
            server.stop()


if __name__ == "__main__":
    unittest.main()
