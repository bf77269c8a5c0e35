#!/usr/bin/env python3
"""deploy/crds/cairn.io_cairnclusters.yaml checked with the sample resources in samples/.

The real kubectl installs the CRD into tests/k8s/fake_apiserver.py, which applies the CRD's
openAPIV3Schema as the API server does (defaults, pruning, validation). Each samples/valid-*.yaml
must be accepted; each samples/invalid-*.yaml must be refused with 422 and the message its
`# expect:` line names.
"""

import glob
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402

CRD = os.path.join(REPO, "deploy", "crds", "cairn.io_cairnclusters.yaml")
SAMPLES = sorted(glob.glob(os.path.join(HERE, "samples", "*.yaml")))


def expected_error(path):
    with open(path) as f:
        for line in f:
            if line.startswith("# expect:"):
                return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no '# expect:' line")



def setUpModule():
    # CI installs kubectl with scripts/setup: its absence is a failure, not a reason to skip.
    if not tool_path("kubectl"):
        raise AssertionError("kubectl not found: run scripts/setup (or set CAIRN_KUBECTL)")


class CrdSamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FakeApiServer().start()
        cls.kubectl = Kubectl(cls.server.url)
        cls.kubectl.run("apply", "-f", CRD)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.kubectl.close()

    def test_there_are_valid_and_invalid_samples(self):
        names = [os.path.basename(p) for p in SAMPLES]
        self.assertTrue(any(n.startswith("valid-") for n in names))
        self.assertGreaterEqual(len([n for n in names if n.startswith("invalid-")]), 5)

    def test_samples(self):
        for path in SAMPLES:
            name = os.path.basename(path)
            with self.subTest(sample=name):
                code, out, err = self.kubectl.run("apply", "-f", path, check=False)
                if name.startswith("valid-"):
                    self.assertEqual(code, 0, err)
                    self.assertRegex(out, r"created|unchanged")
                else:
                    self.assertNotEqual(code, 0, f"{name} was accepted")
                    self.assertIn("is invalid", err)
                    self.assertIn(expected_error(path), err)

    def test_defaults_fill_an_empty_spec(self):
        self.kubectl.run("apply", "-f", os.path.join(HERE, "samples", "valid-minimal.yaml"))
        spec = self.kubectl.json("get", "cairncluster", "minimal")["spec"]
        self.assertEqual(spec, {
            "servers": 3, "image": "cairn:0.1.0", "imagePullPolicy": "IfNotPresent",
            "storage": {"size": "10Gi", "whenScaledDown": "Delete", "whenDeleted": "Retain"},
            "updateStrategy": {"type": "RollingUpdate"},
        })

    def test_the_crd_declares_status_scale_and_columns(self):
        crd = self.kubectl.json("get", "crd", "cairnclusters.cairn.io")
        version = crd["spec"]["versions"][0]
        self.assertEqual(version["subresources"]["scale"]["specReplicasPath"], ".spec.servers")
        self.assertIn("status", version["subresources"])
        columns = [c["name"] for c in version["additionalPrinterColumns"]]
        for column in ("Servers", "Ready", "Voters", "Leader", "Available", "Age"):
            self.assertIn(column, columns)
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        for field in ("conditions", "readyServers", "voters", "leader", "members", "lastIndex",
                      "version"):
            self.assertIn(field, status)
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        for field in ("servers", "image", "storage", "resources", "config", "updateStrategy",
                      "affinity", "tolerations", "nodeSelector", "topologySpreadConstraints"):
            self.assertIn(field, spec)


if __name__ == "__main__":
    unittest.main(verbosity=2)
