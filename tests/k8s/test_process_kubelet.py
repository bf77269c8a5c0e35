"""The test harness itself (process_kubelet.py): the StatefulSet controller and the process
kubelet against the fake API server, with a small Python program as the container instead of
Cairn, so that what the harness promises is checked directly:

  * OrderedReady: pods created one at a time in ordinal order, each only after the one before is
    Ready; scale-down from the highest ordinal, one pod at a time;
  * the container started from the pod spec: $(VAR) expansion, env from fieldRefs (POD_NAME,
    POD_IP, namespace) and a ConfigMap key, the ConfigMap volume's file, mountPath rewriting,
    0.0.0.0 as the pod IP, -retry-join=<headless service> resolved to the pods' IPs;
  * the PVC as a directory that survives the pod's deletion and recreation, and goes with the
    PVC; a recreated PVC of the same name is empty;
  * readiness from the pod's own httpGet probe, in both directions; restarts with restartCount;
    a container held down (hold/release) stays down, not Ready, until released.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from fake_apiserver import FakeApiServer  # noqa: E402
from harness import wait_until  # noqa: E402
from process_kubelet import Api, Harness, Informer, pod_ready  # noqa: E402

NS = "default"

# The container: records how it was started in its data dir, then serves /ready (200 while the
# file "ready" exists in the data dir) on the address it was told to listen on.
APP = r"""
import http.server, json, os, sys
opts = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
data = opts["data"]
n = len([f for f in os.listdir(data) if f.startswith("start-")])
with open(opts["config"]) as f:
    config = f.read()
with open(os.path.join(data, f"start-{n}.json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ), "config": config}, f)
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if os.path.exists(os.path.join(data, "ready")) else 503)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer((opts["listen"], 8080), Ready).serve_forever()
"""


def statefulset(replicas, policy="OrderedReady"):
    labels = {"app": "web"}
    container = {
        "name": "app", "image": "probe-app:1",
        "command": ["/usr/bin/python3", "-c", APP],
        "args": ["--data=/data", "--config=/etc/app/app.conf", "--listen=0.0.0.0",
                 "--name=$(POD_NAME)", "--greeting=$(GREETING) from $(POD_NAME)",
                 "--literal=$$(POD_NAME)", "--retry-join=web-peers.default.svc"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "POD_NAMESPACE",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "web-config",
                                                                       "key": "greeting"}}},
                {"name": "DATA_FILE", "value": "/data/x"}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "config", "mountPath": "/etc/app"}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 1,
                           "failureThreshold": 1},
    }
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": replicas, "serviceName": "web-peers", "podManagementPolicy": policy,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [container], "terminationGracePeriodSeconds": 5,
                                  "volumes": [{"name": "config",
                                               "configMap": {"name": "web-config"}}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }


class PodLog:
    """Records, in the order of the API server's watch events, each pod's creation, first
    Ready, deletion (terminating) and disappearance."""

    def __init__(self, api, stop):
        self.events = []
        self.seen = set()
        self.informer = Informer(api, "/api/v1/pods", self.on_change, stop).start()

    def note(self, what, name):
        if (what, name) not in self.seen:
            self.seen.add((what, name))
            self.events.append((what, name))

    def on_change(self, kind, pod):
        name = pod["metadata"]["name"]
        self.note("created", name)
        if pod_ready(pod):
            self.note("ready", name)
        if pod["metadata"].get("deletionTimestamp"):
            self.note("deleting", name)
        if kind == "DELETED":
            self.note("gone", name)


class ProcessKubeletTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-kubelet-test-")
        self.server = FakeApiServer().start()
        self.api = Api(self.server.url)
        self.harness = Harness(self.server.url, "/bin/false", self.dir).start()
        self.api.create(f"/api/v1/namespaces/{NS}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web-config", "namespace": NS},
            "data": {"app.conf": "mode=test\n", "greeting": "hello"}})
        self.api.create(f"/api/v1/namespaces/{NS}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-peers",
                                                                "namespace": NS},
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                     "selector": {"app": "web"}, "ports": [{"port": 8080}]}})
        self.stop = threading.Event()

    def tearDown(self):
        self.stop.set()
        self.harness.stop()
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def data_dir(self, ordinal):
        pvc = self.harness.pvcs.get(NS, f"data-web-{ordinal}")
        return self.harness.kubelet.volume_path(pvc) if pvc else None

    def started(self, ordinal, count):
        """Whether the container of web-<ordinal> has started count + 1 times on its PVC."""
        path = self.data_dir(ordinal)
        return path and os.path.exists(os.path.join(path, f"start-{count}.json"))

    def set_ready(self, ordinal, ready=True):
        path = os.path.join(self.data_dir(ordinal), "ready")
        if ready:
            open(path, "w").close()
        elif os.path.exists(path):
            os.remove(path)

    def pod(self, ordinal):
        return self.harness.pods.get(NS, f"web-{ordinal}")

    def wait(self, what, predicate, timeout=30):
        return wait_until(predicate, timeout, what, 0.05)

    def test_ordered_ready_creates_and_removes_one_pod_at_a_time(self):
        log = PodLog(self.api, self.stop)
        self.api.create(f"/apis/apps/v1/namespaces/{NS}/statefulsets", statefulset(3))
        for n in range(3):
            self.wait(f"web-{n}", lambda n=n: self.pod(n) and self.data_dir(n))
            self.wait(f"web-{n} started", lambda n=n: self.started(n, 0))
            self.assertIsNone(self.pod(n + 1), "the next pod waits until this one is Ready")
            self.assertFalse(pod_ready(self.pod(n)))
            self.set_ready(n)
            self.wait(f"web-{n} Ready", lambda n=n: pod_ready(self.pod(n)))
        self.wait("3 ready replicas", lambda: (self.harness.statefulsets.get(NS, "web").get(
            "status") or {}).get("readyReplicas") == 3)
        self.api.merge_patch(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web",
                             {"spec": {"replicas": 1}})
        self.wait("scaled down to web-0", lambda: ("gone", "web-1") in log.events)
        self.assertEqual(log.events, [("created", "web-0"), ("ready", "web-0"),
                                      ("created", "web-1"), ("ready", "web-1"),
                                      ("created", "web-2"), ("ready", "web-2"),
                                      ("deleting", "web-2"), ("gone", "web-2"),
                                      ("deleting", "web-1"), ("gone", "web-1")])
        # PVCs stay on scale-down (whenScaled defaults to Retain).
        self.assertTrue(self.harness.pvcs.get(NS, "data-web-2"))

    def test_container_from_the_pod_spec_and_its_volumes(self):
        self.api.create(f"/apis/apps/v1/namespaces/{NS}/statefulsets",
                        statefulset(2, "Parallel"))
        for n in (0, 1):
            self.wait(f"web-{n} started", lambda n=n: self.started(n, 0))
        with open(os.path.join(self.data_dir(1), "start-0.json")) as f:
            started = json.load(f)
        ip = self.pod(1)["status"]["podIP"]
        other = self.pod(0)["status"]["podIP"]
        self.assertTrue(ip.startswith("127.") and ip != other)
        opts = dict(a.lstrip("-").split("=", 1) for a in started["argv"] if "=" in a)
        self.assertEqual(opts["data"], self.data_dir(1))
        self.assertEqual(started["config"], "mode=test\n")
        self.assertEqual(opts["listen"], ip, "0.0.0.0 in a pod is the pod's own address")
        self.assertEqual(opts["name"], "web-1")
        self.assertEqual(opts["greeting"], "hello from web-1")
        self.assertEqual(opts["literal"], "$(POD_NAME)", "$$ escapes a reference")
        joins = sorted(a.split("=", 1)[1] for a in started["argv"]
                       if a.startswith("--retry-join="))
        self.assertEqual(joins, sorted([ip, other]), "the headless Service's addresses")
        env = started["env"]
        self.assertEqual((env["POD_NAME"], env["POD_IP"], env["POD_NAMESPACE"]),
                         ("web-1", ip, NS))
        self.assertEqual(env["DATA_FILE"], os.path.join(self.data_dir(1), "x"))

        # Readiness follows the probe both ways; a killed process restarts on the same PVC.
        self.set_ready(1)
        self.wait("web-1 Ready", lambda: pod_ready(self.pod(1)))
        self.set_ready(1, False)
        self.wait("web-1 not Ready", lambda: not pod_ready(self.pod(1)))
        self.harness.pod_process(NS, "web-1").send_signal(signal.SIGKILL)
        self.wait("a restart", lambda: self.pod(1)["status"]["containerStatuses"][0][
            "restartCount"] == 1 and self.started(1, 1))

        # Held down: the process is killed and not restarted (the pod stays, not Ready) until
        # released; then it starts again on the same PVC.
        self.set_ready(1)
        self.wait("web-1 Ready", lambda: pod_ready(self.pod(1)))
        proc = self.harness.pod_process(NS, "web-1")
        self.harness.hold(NS, "web-1")
        self.assertIsNotNone(proc.poll(), "hold() kills the container")
        self.wait("web-1 held", lambda: self.pod(1)["status"]["containerStatuses"][0].get(
            "state", {}).get("waiting", {}).get("reason") == "ContainerHeld")
        self.assertFalse(pod_ready(self.pod(1)))
        self.assertFalse(self.started(1, 2), "a held container does not restart")
        self.harness.release(NS, "web-1")
        self.wait("web-1 started again", lambda: self.started(1, 2))
        self.wait("web-1 Ready again", lambda: pod_ready(self.pod(1)))

        # Deleting the pod keeps its PVC's data; deleting the PVC (then the pod) empties it.
        uid = self.pod(1)["metadata"]["uid"]
        self.api.delete(f"/api/v1/namespaces/{NS}/pods/web-1")
        self.wait("web-1 recreated", lambda: self.pod(1) and self.pod(1)["metadata"]["uid"] != uid
                  and self.started(1, 3))
        old_dir = self.data_dir(1)
        self.api.delete(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data-web-1")
        pvc = self.api.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data-web-1")
        self.assertTrue(pvc["metadata"].get("deletionTimestamp") and os.path.isdir(old_dir),
                        "pvc-protection: the PVC waits for the pod that mounts it")
        self.api.delete(f"/api/v1/namespaces/{NS}/pods/web-1")
        self.wait("web-1 on a new, empty PVC", lambda: self.data_dir(1) not in (None, old_dir)
                  and self.started(1, 0) and not self.started(1, 1))
        self.assertFalse(os.path.exists(old_dir), "the deleted PVC's directory is gone")


if __name__ == "__main__":
    unittest.main()
