"""The journey's harness additions (workloads.py) on their own, with small Python programs as the
containers instead of Cairn, so that what they promise is checked directly:

  * a Deployment becomes one ReplicaSet (owned, <deploy>-<hash>) and pods with generated names
    (owned by the ReplicaSet, Ready when every container is); scale up and down; deleting the
    Deployment takes the ReplicaSet and the pods with it;
  * a pod of two containers: each its own process, one shared loopback IP (a server listening on
    127.0.0.1 in one container is reached at localhost by the other, through the pod IP), the
    downward-API volume's annotations and labels files as the kubelet writes them, the pod's
    status listing both containers;
  * "-retry-join NAME" (two arguments) resolved like "-retry-join=NAME", and a command found
    through `commands`.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import wait_for  # noqa: E402
from process_kubelet import pod_ready  # noqa: E402
from workloads import WorkloadHarness  # noqa: E402

NS = "shop"

# Serves GET / on 127.0.0.1:8080 (the pod's loopback) with what it was started with.
SERVER = r"""
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"argv": sys.argv[1:], "env": dict(os.environ)}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer((os.environ["LISTEN"], 8080), H).serve_forever()
"""

# Fetches the server container's answer through localhost, and records it with the downward-API
# files in /out/seen.json (an emptyDir); Ready once it has.
CLIENT = r"""
import http.server, json, os, sys, time, urllib.request
for _ in range(200):
    try:
        with urllib.request.urlopen(os.environ["PEER"], timeout=2) as r:
            peer = json.loads(r.read())
        break
    except OSError:
        time.sleep(0.1)
info = {name: open(os.path.join("/podinfo", name)).read() for name in ("annotations", "labels")}
with open(os.path.join(os.environ["OUT"], "seen.json"), "w") as f:
    json.dump({"peer": peer, "podinfo": info, "argv": sys.argv[1:]}, f)
time.sleep(3600)
"""


def deployment(replicas):
    containers = [
        {"name": "server", "image": "py:1", "command": ["/usr/bin/python3", "-c", SERVER],
         "env": [{"name": "LISTEN", "value": "127.0.0.1"}],
         "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}},
        {"name": "client", "image": "py:1", "command": ["probe-client", "-c", CLIENT],
         "args": ["-retry-join", "web-peers.shop.svc"],
         "env": [{"name": "PEER", "value": "http://localhost:8080/"},
                 {"name": "OUT", "value": "/out"}],
         "volumeMounts": [{"name": "podinfo", "mountPath": "/podinfo"},
                          {"name": "out", "mountPath": "/out"}]},
    ]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {
                     "metadata": {"labels": {"app": "web"},
                                  "annotations": {"example.com/note": 'say "hi"'}},
                     "spec": {"containers": containers, "volumes": [
                         {"name": "podinfo", "downwardAPI": {"items": [
                             {"path": "annotations",
                              "fieldRef": {"fieldPath": "metadata.annotations"}},
                             {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                         {"name": "out", "emptyDir": {}}]}}}}


class Workloads(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-workloads-")
        cls.server = FakeApiServer().start()
        cls.harness = WorkloadHarness(cls.server.url, "/bin/false", cls.dir, namespaces=[NS],
                                      commands={"probe-client": "/usr/bin/python3"}).start()
        api = cls.harness.api
        api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": NS}})
        # A headless Service selecting the pods, for -retry-join.
        api.create(f"/api/v1/namespaces/{NS}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-peers"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"},
                     "publishNotReadyAddresses": True, "ports": [{"port": 8080}]}})

    @classmethod
    def tearDownClass(cls):
        cls.harness.stop()
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def pods(self, ready_only=False):
        pods = [p for p in self.harness.pods.items() if p["metadata"]["namespace"] == NS
                and not p["metadata"].get("deletionTimestamp")]
        return sorted((p for p in pods if pod_ready(p) or not ready_only),
                      key=lambda p: p["metadata"]["name"])

    def seen(self, pod):
        worker = self.harness.kubelet.worker(NS, pod["metadata"]["name"])
        path = os.path.join(worker.dir, "volumes", "out", "seen.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def test_deployment_pods_of_two_containers_scale_and_delete(self):
        api = self.harness.api
        api.create(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment(2))
        pods = wait_for("2 ready pods", lambda: len(self.pods(True)) == 2 and self.pods(True))
        rs = self.harness.replicasets.items()
        self.assertEqual(len(rs), 1)
        self.assertRegex(rs[0]["metadata"]["name"], r"^web-[0-9a-f]{10}$")
        ips = set()
        for pod in pods:
            self.assertTrue(pod["metadata"]["name"].startswith(rs[0]["metadata"]["name"] + "-"))
            self.assertEqual(pod["metadata"]["ownerReferences"][0]["uid"],
                             rs[0]["metadata"]["uid"])
            self.assertEqual([c["name"] for c in pod["status"]["containerStatuses"]],
                             ["server", "client"])
            ip = pod["status"]["podIP"]
            ips.add(ip)
            seen = wait_for("the client's record", lambda p=pod: self.seen(p))
            # localhost:8080 in one container reached the other container of the same pod.
            self.assertEqual(seen["peer"]["env"]["LISTEN"], ip)
            self.assertEqual(seen["peer"]["env"]["HOSTNAME"], pod["metadata"]["name"])
            self.assertIn('example.com/note="say \\"hi\\""\n', seen["podinfo"]["annotations"])
            self.assertIn('app="web"\n', seen["podinfo"]["labels"])
            self.assertEqual(seen["argv"][-1].split("=")[0], "-retry-join")
        self.assertEqual(len(ips), 2, "one IP per pod")
        for pod in pods:
            joined = [a.split("=", 1)[1] for a in self.seen(pod)["argv"] if a.startswith("-retry")]
            self.assertTrue(set(joined) <= ips and joined, joined)

        api.merge_patch(f"/apis/apps/v1/namespaces/{NS}/deployments/web", {"spec": {"replicas": 3}})
        wait_for("3 ready pods", lambda: len(self.pods(True)) == 3)
        api.merge_patch(f"/apis/apps/v1/namespaces/{NS}/deployments/web", {"spec": {"replicas": 1}})
        wait_for("1 pod left", lambda: len(self.pods()) == 1 and len(self.harness.pods.items()) == 1)
        wait_for("the Deployment's status", lambda: (api.get(
            f"/apis/apps/v1/namespaces/{NS}/deployments/web").get("status") or {}).get(
                "readyReplicas") == 1)

        api.delete(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
        wait_for("the ReplicaSet and pods gone", lambda: not self.harness.replicasets.items()
                 and not self.harness.pods.items())


if __name__ == "__main__":
    unittest.main()
