"""The sidecar-injection webhook end to end (docs/injection.md): the cairn-operator binary serving
HTTPS, and the fake API server calling it as Kubernetes does (tests/k8s/k8s_admission.py) when
the real kubectl creates pods.

  Injection       an annotated pod is stored with the sidecar; a pod in a namespace labelled
                  cairn.io/inject=true too (with generateName, as a Deployment's pods); an
                  opted-out pod and a pod without opt-in are untouched; a pod whose annotations
                  cannot work is refused with the webhook's message; two webhooks on the same
                  service (the API server calling twice) still give one sidecar; failurePolicy
                  Fail and Ignore for a webhook that cannot be reached; the certificates are in
                  the Secret and the caBundle.
  Rotation        a second operator whose certificates live 20 seconds rotates them over and over
                  while pods are created in a loop: not one creation fails.

The binary's path comes from CAIRN_OPERATOR (set by ctest).
"""

import base64
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import Kubectl, free_port, http_get, tool_path, wait_for  # noqa: E402

NAMESPACES = """apiVersion: v1
kind: Namespace
metadata: {name: cairn}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata:
  name: injected
  labels: {cairn.io/inject: "true"}
"""

# The webhook's Service and, since no kube-proxy runs here, its Endpoints on loopback.
SERVICE = """apiVersion: v1
kind: Service
metadata: {name: cairn-webhook, namespace: cairn}
spec:
  ports: [{port: 443, targetPort: 9443}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: cairn-webhook, namespace: cairn}
subsets:
- addresses: [{ip: 127.0.0.1}]
  ports: [{port: PORT}]
"""


def webhook(name, service="cairn-webhook", policy="Fail", selector=None):
    hook = {"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": policy, "timeoutSeconds": 5,
            "clientConfig": {"service": {"name": service, "namespace": "cairn",
                                         "path": "/mutate-pods", "port": 443}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["pods"]}]}
    if selector:
        hook["objectSelector"] = {"matchLabels": selector}
    return hook


def config(name, hooks):
    return json.dumps({"apiVersion": "admissionregistration.k8s.io/v1",
                       "kind": "MutatingWebhookConfiguration", "metadata": {"name": name},
                       "webhooks": hooks})


def pod(name, annotations=None, labels=None, generate=False):
    meta = {"generateName" if generate else "name": name}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                       "spec": {"containers": [{"name": "app", "image": "app:1",
                                                "ports": [{"name": "http",
                                                           "containerPort": 8080}]}]}})


class Cluster:
    """A fake API server with the namespaces, the webhook's Service and one operator."""

    def __init__(self, extra_flags=()):
        self.server = FakeApiServer().start()
        self.kubectl = Kubectl(self.server.url)
        self.kubectl.run("apply", "-f", "-", stdin=NAMESPACES)
        self.port, self.metrics_port = free_port(), free_port()
        self.kubectl.run("apply", "-f", "-", stdin=SERVICE.replace("PORT", str(self.port)))
        # What the chart mounts from its ConfigMap (only some keys; flags give the rest).
        self.injector_json = os.path.join(self.kubectl.dir, "injector.json")
        with open(self.injector_json, "w") as f:
            json.dump({"imagePullPolicy": "Never", "skipNamespaces": ["cairn"]}, f)
        self.proc = subprocess.Popen(
            [os.environ["CAIRN_OPERATOR"], "-kubeconfig", self.kubectl.kubeconfig,
             "-namespace", "cairn", "-metrics-addr", f"127.0.0.1:{self.metrics_port}",
             "-lease-namespace", "cairn", "-resync-ms", "200",
             "-webhook-service", "cairn-webhook", "-webhook-namespace", "cairn",
             "-webhook-bind", "127.0.0.1", "-webhook-port", str(self.port),
             "-webhook-config", "cairn-injector", "-sidecar-image", "cairn:test",
             "-sidecar-retry-join", "cairn-peers.cairn.svc",
             "-injector-config", self.injector_json, *extra_flags])

    def get(self, *args):
        code, out, _ = self.kubectl.run("get", *args, "-o", "json", check=False)
        return json.loads(out) if code == 0 else None

    def ca_bundle(self, name="cairn-injector"):
        hooks = (self.get("mutatingwebhookconfiguration", name) or {}).get("webhooks") or [{}]
        return hooks[0].get("clientConfig", {}).get("caBundle")

    def metric(self, text, name):
        found = re.search("^" + re.escape(name) + r" (\d+)", text, re.M)
        return int(found.group(1)) if found else 0

    def metrics(self):
        return http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")[1]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.server.stop()
        self.kubectl.close()


def setUpModule():
    if not tool_path("kubectl"):
        raise AssertionError("kubectl not found: run scripts/setup (or set CAIRN_KUBECTL)")
    if not os.environ.get("CAIRN_OPERATOR"):
        raise AssertionError("CAIRN_OPERATOR is not set (ctest sets it)")


class Injection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        # Two webhooks on our service: the second sees the first's result, as when the API
        # server calls a webhook again. Then two that cannot be reached, chosen by label.
        cls.c.kubectl.run("apply", "-f", "-", stdin=config("cairn-injector", [
            webhook("inject.cairn.io"), webhook("again.cairn.io")]))
        cls.c.kubectl.run("apply", "-f", "-", stdin=config("unreachable", [
            webhook("fail.example.com", "nowhere", "Fail", {"test": "fail"}),
            webhook("ignore.example.com", "nowhere", "Ignore", {"test": "ignore"})]))
        wait_for("the caBundle", lambda: cls.c.ca_bundle())
        wait_for("/readyz", lambda: http_get(
            f"http://127.0.0.1:{cls.c.metrics_port}/readyz")[0] == 200)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def create(self, ns, body, check=True):
        return self.c.kubectl.run("create", "-n", ns, "-o", "json", "-f", "-", stdin=body,
                                  check=check)

    def sidecars(self, stored):
        return [c for c in stored["spec"]["containers"] if c["name"] == "cairn-sidecar"]

    def test_annotated_pod_gets_the_sidecar(self):
        self.create("shop", pod("web-1", {"cairn.io/inject": "true",
                                          "cairn.io/service-port": "http"}))
        stored = self.c.get("pod", "web-1", "-n", "shop")
        self.assertEqual(len(self.sidecars(stored)), 1)
        sidecar = self.sidecars(stored)[0]
        self.assertEqual(sidecar["image"], "cairn:test")
        self.assertEqual(sidecar["imagePullPolicy"], "Never")
        self.assertEqual(sidecar["args"][:2], ["-retry-join", "cairn-peers.cairn.svc"])
        env = {e["name"]: e for e in sidecar["env"]}
        self.assertEqual(env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP")
        self.assertEqual(env["CAIRN_CONTAINER_PORTS"]["value"], "http=8080")
        annotations = stored["metadata"]["annotations"]
        self.assertEqual(annotations["cairn.io/injected"], "true")
        self.assertEqual(annotations["prometheus.io/port"], "9500")
        self.assertEqual([v["name"] for v in stored["spec"]["volumes"]],
                         ["cairn-podinfo", "cairn-data"])
        self.assertEqual(stored["spec"]["containers"][0]["name"], "app")

    def test_namespace_label_injects_a_pod_without_a_name(self):
        _, out, _ = self.create("injected", pod("worker-", labels={"app": "worker"},
                                                generate=True))
        name = json.loads(out)["metadata"]["name"]
        stored = self.c.get("pod", name, "-n", "injected")
        self.assertEqual(len(self.sidecars(stored)), 1)
        # A pod with no annotations gets the whole map.
        self.assertEqual(stored["metadata"]["annotations"]["cairn.io/injected"], "true")

    def test_opted_out_and_plain_pods_are_untouched(self):
        for ns, name, annotations in (("injected", "opted-out", {"cairn.io/inject": "false"}),
                                      ("shop", "plain", None)):
            self.create(ns, pod(name, annotations))
            stored = self.c.get("pod", name, "-n", ns)
            self.assertEqual([c["name"] for c in stored["spec"]["containers"]], ["app"])
            self.assertNotIn("cairn.io/injected", stored["metadata"].get("annotations") or {})
            self.assertNotIn("volumes", stored["spec"])

    def test_bad_annotations_are_denied_with_the_reason(self):
        code, out, err = self.create("shop", pod("bad", {"cairn.io/inject": "true",
                                                         "cairn.io/service-port": "http",
                                                         "cairn.io/check-http": "healthz"}),
                                     check=False)
        self.assertNotEqual(code, 0)
        self.assertIn('admission webhook "inject.cairn.io" denied the request', err)
        self.assertIn("check-http", err)
        self.assertIsNone(self.c.get("pod", "bad", "-n", "shop"))

    def test_called_twice_still_one_sidecar(self):
        self.create("shop", pod("twice", {"cairn.io/inject": "true"}))
        self.assertEqual(len(self.sidecars(self.c.get("pod", "twice", "-n", "shop"))), 1)
        calls = [r for r in self.c.server.requests if r.get("method") == "ADMIT"
                 and r.get("webhook") in ("inject.cairn.io", "again.cairn.io")]
        self.assertTrue(any(r["webhook"] == "again.cairn.io" and r.get("allowed")
                            and not r.get("patched") for r in calls))

    def test_failure_policy(self):
        code, _, err = self.create("shop", pod("fails", labels={"test": "fail"}), check=False)
        self.assertNotEqual(code, 0)
        self.assertIn('failed calling webhook "fail.example.com"', err)
        self.create("shop", pod("ignored", labels={"test": "ignore"}))
        self.assertIsNotNone(self.c.get("pod", "ignored", "-n", "shop"))

    def test_certificates_in_the_secret_and_the_bundle(self):
        secret = self.c.get("secret", "cairn-webhook-certs", "-n", "cairn")
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        bundle = base64.b64decode(self.c.ca_bundle()).decode()
        self.assertEqual(bundle, data["ca.crt"])
        self.assertIn("BEGIN CERTIFICATE", data["tls.crt"])
        text = self.c.metrics()
        self.assertGreaterEqual(
            self.c.metric(text, 'cairn_operator_webhook_admissions_total{result="injected"}'), 1)


class Rotation(unittest.TestCase):
    def test_pods_are_admitted_while_certificates_rotate(self):
        c = Cluster(["-webhook-cert-validity", "20s", "-webhook-renew-before", "16s",
                     "-webhook-switch-after", "1s", "-webhook-drop-after", "1s"])
        try:
            c.kubectl.run("apply", "-f", "-", stdin=config("cairn-injector",
                                                           [webhook("inject.cairn.io")]))
            wait_for("the caBundle", lambda: c.ca_bundle())
            failures, created, bundles = [], 0, set()
            deadline = time.monotonic() + 60
            # Go on until three rotations completed (or the deadline: then the assert says so).
            while time.monotonic() < deadline:
                rotations = c.metric(c.metrics(), "cairn_operator_webhook_rotations_total")
                if rotations >= 3:
                    break
                # Straight to the API (kubectl would add a second per pod): the fake calls the
                # webhook with the caBundle of the moment.
                req = urllib.request.Request(
                    f"{c.server.url}/api/v1/namespaces/shop/pods", method="POST",
                    data=pod(f"p{created}", {"cairn.io/inject": "true"}).encode(),
                    headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        stored = json.loads(r.read())
                    if len(stored["spec"]["containers"]) != 2:
                        failures.append(f"p{created}: not injected")
                except urllib.error.HTTPError as e:
                    failures.append(f"p{created}: {e.code} {e.read().decode()[:300]}")
                created += 1
                bundles.add(c.ca_bundle())
            print(f"{created} pods created across {rotations} rotations, {len(bundles)} "
                  f"distinct caBundles, {len(failures)} failures", file=sys.stderr)
            self.assertGreaterEqual(rotations, 3)
            self.assertEqual(failures, [])
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
