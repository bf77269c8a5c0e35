"""The Kubernetes journey of issue 13, end to end on one machine (docs/kubernetes.md, "The
journey test"): what a user does, from the chart to an app reading KV.

  1. `helm template` deploy/helm/cairn with its default values (plus image.tag=dev and
     pullPolicy Never: the image is the binaries just built) and `kubectl apply` it, after the
     chart's CRD, to the fake API server (fake_apiserver.py).
  2. cairn-operator runs as a process with a kubeconfig and exactly the args of the chart's
     Deployment (its 0.0.0.0 becomes the operator's own loopback IP, the ConfigMap is written
     where the pod would mount it); the webhook Service's Endpoints point at it, as the
     endpoints controller would. It takes the Lease, serves the webhook, writes the caBundle and
     brings up the chart's 3 servers through the StatefulSet controller and process kubelet
     (process_kubelet.py: each server a real `cairn agent -server` on its own loopback IP).
  3. An app Deployment annotated cairn.io/inject: "true" is applied in namespace "shop"; the
     Deployment controller (workloads.py) creates its pods, the fake API server calls the
     operator's webhook over HTTPS on each creation, and the process kubelet runs both the app
     (journey_app.py) and the injected cairn-sidecar from the patched pod spec.
  4. The service is in /v1/health/service/web?passing with the pods' IPs and in DNS
     (web.service.consul A, asked of a server's DNS port); each app writes KV through its
     sidecar and reads what the other wrote.
  5. Scale 2 → 3 → 1: the instances follow. Delete the Deployment: they are deregistered.

Pods that share a network namespace in Kubernetes share one loopback IP here (workloads.py says
how). The rendered chart's object list and each step's time go to the log. Every wait is bounded
(JOURNEY_STEP_TIMEOUT, default 90 s) and says what it waited for; on failure the operator's and
the containers' logs are printed.

CAIRN_OPERATOR, CAIRN_BIN and CAIRN_SIDECAR come from ctest.
"""

import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import k8s_openapi  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402
from process_kubelet import ApiError, pod_ready  # noqa: E402
from workloads import WorkloadHarness  # noqa: E402

STEP_TIMEOUT = float(os.environ.get("JOURNEY_STEP_TIMEOUT", "90"))
CHART = os.path.join(REPO, "deploy", "helm", "cairn")
RELEASE = NS = "cairn"  # release "cairn" in namespace "cairn": objects are named cairn-...
APP_NS = "shop"
APP = os.path.join(HERE, "journey_app.py")
SERVICE = "web"
VALUES = ["--set", "image.tag=dev", "--set", "image.pullPolicy=Never"]


def log(line):
    print(time.strftime("%H:%M:%S"), "[journey]", line, file=sys.stderr, flush=True)


def wait_for(what, predicate, timeout=STEP_TIMEOUT, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)  # polling interval; the deadline bounds the wait
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def http(method, url, body=None, timeout=5):
    """(status, text); status None when nothing answered."""
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def dns_a(server, port, name, timeout=2.0):
    """The A records of `name` from a DNS server over UDP, or None when it does not answer."""
    qid = random.randrange(1 << 16)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (server, port))
            reply = s.recv(4096)
        except OSError:
            return None
    rid, _, _, answers, _, _ = struct.unpack(">HHHHHH", reply[:12])
    if rid != qid:
        return None
    at = 12 + len(question) + 4

    def skip_name(i):
        while reply[i] != 0:
            if reply[i] & 0xC0 == 0xC0:
                return i + 2
            i += reply[i] + 1
        return i + 1

    out = []
    for _ in range(answers):
        at = skip_name(at)
        rtype, _, _, length = struct.unpack(">HHIH", reply[at:at + 10])
        at += 10
        if rtype == 1 and length == 4:
            out.append(socket.inet_ntoa(reply[at:at + 4]))
        at += length
    return sorted(out)


def app_deployment(replicas):
    annotations = {"cairn.io/inject": "true", "cairn.io/service-port": "http",
                   "cairn.io/check-http": "/healthz", "cairn.io/check-interval": "1s"}
    container = {
        "name": "app", "image": "journey-app:1", "command": ["python3", APP],
        "env": [{"name": "LISTEN", "value": "0.0.0.0:8080"},
                {"name": "CONSUL_HTTP_ADDR", "value": "127.0.0.1:8500"}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1}}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": SERVICE, "namespace": APP_NS},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": SERVICE}},
                 "template": {"metadata": {"labels": {"app": SERVICE},
                                           "annotations": annotations},
                              "spec": {"containers": [container]}}}})


class Journey(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.timings = []
        for missing, what in ((not tool_path("kubectl"), "kubectl: run scripts/setup"),
                              (not tool_path("helm"), "helm: run scripts/setup")):
            if missing:
                raise AssertionError(f"missing {what}")
        cls.bins = {k: os.environ.get(k) for k in ("CAIRN_OPERATOR", "CAIRN_BIN", "CAIRN_SIDECAR")}
        if not all(cls.bins.values()):
            raise AssertionError(f"{cls.bins} must all be set (ctest sets them)")
        cls.dir = tempfile.mkdtemp(prefix="cairn-journey-")
        cls.server = FakeApiServer().start()
        cls.kubectl = Kubectl(cls.server.url, namespace=NS)
        cls.harness = None
        cls.operator = None
        cls.operator_log = open(os.path.join(cls.dir, "operator.log"), "wb")
        cls.ok = False

    @classmethod
    def tearDownClass(cls):
        if cls.operator is not None and cls.operator.poll() is None:
            cls.operator.terminate()
            try:
                cls.operator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cls.operator.kill()
                cls.operator.wait()
        if cls.harness is not None:
            cls.harness.stop()
        cls.operator_log.close()
        cls.server.stop()
        cls.kubectl.close()
        if cls.ok:
            shutil.rmtree(cls.dir, ignore_errors=True)
        else:
            log(f"kept {cls.dir} for inspection")

    # -- helpers --
    def step(self, name, fn):
        start = time.monotonic()
        log(f"step: {name}")
        try:
            result = fn()
        except BaseException:
            log(f"step {name!r} failed after {time.monotonic() - start:.1f} s\n"
                + self.diagnostics())
            raise
        took = time.monotonic() - start
        self.timings.append((name, took))
        log(f"step: {name}: {took:.1f} s")
        return result

    def diagnostics(self):
        with open(os.path.join(self.dir, "operator.log"), errors="replace") as f:
            operator = f.read()[-6000:]
        pods = self.harness.logs(3000) if self.harness else ""
        return f"==== operator log\n{operator}\n{pods}"

    def api(self, path):
        try:
            return self.harness.api.get(path)
        except ApiError:
            return None

    def server_ips(self):
        return [ip for _, ip in self.harness.dns.ready_endpoints(NS, f"{RELEASE}-server")]

    def on_servers(self, path):
        """The first answer of a ready server to GET path, as JSON (None if none answers)."""
        for ip in self.server_ips():
            code, text = http("GET", f"http://{ip}:8500{path}")
            if code == 200:
                return json.loads(text)
        return None

    def app_pods(self, ready=True):
        pods = [p for p in self.harness.pods.items()
                if p["metadata"]["namespace"] == APP_NS
                and (p["metadata"].get("labels") or {}).get("app") == SERVICE
                and not p["metadata"].get("deletionTimestamp")]
        return [p for p in pods if pod_ready(p)] if ready else pods

    def passing(self):
        """{address: ServiceID} of the instances in /v1/health/service/web?passing."""
        entries = self.on_servers(f"/v1/health/service/{SERVICE}?passing")
        if entries is None:
            return None
        return {e["Service"]["Address"]: e["Service"]["ID"] for e in entries}

    def registered(self):
        entries = self.on_servers(f"/v1/catalog/service/{SERVICE}")
        return None if entries is None else sorted(e["ServiceAddress"] for e in entries)

    # -- the journey --
    def render(self):
        proc = subprocess.run([tool_path("helm"), "template", RELEASE, CHART, "--namespace", NS,
                               *VALUES], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        objects = k8s_openapi.parse_yaml(proc.stdout)
        log("the rendered chart (helm template cairn deploy/helm/cairn -n cairn "
            f"{' '.join(VALUES)}): {len(objects)} objects\n" + "\n".join(
                f"    {o['kind']}/{o['metadata']['name']}" for o in objects))
        return proc.stdout, objects

    def install(self, text):
        self.kubectl.run("create", "namespace", NS)
        self.kubectl.run("create", "namespace", APP_NS)
        self.kubectl.run("apply", "-f", os.path.join(CHART, "crds"))
        self.kubectl.run("apply", "-f", "-", stdin=text)

    def find(self, objects, kind, suffix=""):
        return next(o for o in objects if o["kind"] == kind
                    and o["metadata"]["name"].endswith(suffix))

    def start_operator(self, objects):
        """cairn-operator with the chart Deployment's args, as its pod would run it."""
        deployment = self.find(objects, "Deployment", "-operator")
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        self.assertEqual(container["command"], ["cairn-operator"])
        ip = self.harness.kubelet.ip_for(NS, "cairn-operator-process")
        # The ConfigMap volume, written where the pod would have it mounted.
        mounts = {}
        for m in container.get("volumeMounts") or []:
            volume = next(v for v in pod["volumes"] if v["name"] == m["name"])
            host = os.path.join(self.dir, "operator", m["name"])
            os.makedirs(host, exist_ok=True)
            if "configMap" in volume:
                cm = self.find(objects, "ConfigMap", volume["configMap"]["name"])
                for key, value in cm["data"].items():
                    with open(os.path.join(host, key), "w") as f:
                        f.write(value)
            mounts[m["mountPath"]] = host
        args = []
        for a in container["args"]:
            for path, host in mounts.items():
                a = a.replace(path + "/", host + "/")
            args.append(a.replace("0.0.0.0", ip))  # "every interface" of its pod: its IP
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        # The endpoints controller's part: the webhook Service routes to the operator.
        service = self.find(objects, "Service", "-webhook")
        target = service["spec"]["ports"][0]["targetPort"]
        self.kubectl.run("apply", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": service["metadata"]["name"], "namespace": NS},
            "subsets": [{"addresses": [{"ip": ip}],
                         "ports": [{"name": "https", "port": ports[target]}]}]}))
        command = [self.bins["CAIRN_OPERATOR"], "-kubeconfig", self.kubectl.kubeconfig, *args]
        log(f"operator on {ip}: {' '.join(command[1:])}")
        type(self).operator = subprocess.Popen(command, stdout=self.operator_log,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        metrics = f"http://{ip}:{ports['metrics']}"
        wait_for("the operator's /readyz (the webhook has its certificate)",
                 lambda: self.operator.poll() is None and http("GET", metrics + "/readyz")[0]
                 == 200 or self.operator.poll() is not None)
        self.assertIsNone(self.operator.poll(), "the operator exited: see its log")
        hook = self.find(objects, "MutatingWebhookConfiguration")["metadata"]["name"]
        wait_for("the caBundle in the webhook configuration", lambda: (self.api(
            f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{hook}")
            or {"webhooks": [{}]})["webhooks"][0].get("clientConfig", {}).get("caBundle"))
        return metrics

    def servers_available(self, cluster):
        path = f"/apis/cairn.io/v1alpha1/namespaces/{NS}/cairnclusters/{cluster}"

        def available():
            status = (self.api(path) or {}).get("status") or {}
            up = any(c.get("type") == "Available" and c.get("status") == "True"
                     for c in status.get("conditions") or [])
            return up and status.get("readyServers") == 3 and status.get("voters") == 3 and status
        status = wait_for("3 ready servers (the CairnCluster Available)", available, timeout=180)
        leader = wait_for("a Raft leader", lambda: self.on_servers("/v1/status/leader"))
        log(f"servers {self.server_ips()}, leader {leader}, status {json.dumps(status)[:300]}")

    def check_injected(self, pods):
        for p in pods:
            names = [c["name"] for c in p["spec"]["containers"]]
            self.assertEqual(names, ["app", "cairn-sidecar"], p["metadata"]["name"])
            self.assertEqual(p["metadata"]["annotations"].get("cairn.io/injected"), "true")
            sidecar = p["spec"]["containers"][1]
            self.assertEqual(sidecar["image"], "cairn:dev")
            self.assertIn(f"{RELEASE}-server-peers.{NS}.svc", sidecar["args"])

    def instances_follow(self, replicas):
        def converged():
            ips = sorted(p["status"]["podIP"] for p in self.app_pods())
            passing = self.passing()
            registered = self.registered()
            return (len(ips) == replicas and passing is not None and sorted(passing) == ips
                    and registered == ips and ips)
        ips = wait_for(f"{replicas} ready pods, each passing in the catalog and nothing else",
                       converged)
        self.check_injected(self.app_pods())
        return ips

    def dns(self, ips):
        server = self.server_ips()[0]
        found = wait_for(f"{SERVICE}.service.consul A {ips} from {server}:8600",
                         lambda: (dns_a(server, 8600, f"{SERVICE}.service.consul") == ips
                                  and ips))
        log(f"DNS {SERVICE}.service.consul A from {server}:8600: {found}")

    def kv_through_sidecars(self, ips):
        for ip in ips:
            code, text = http("PUT", f"http://{ip}:8080/kv/journey/{ip}", body=f"from {ip}".encode())
            self.assertEqual((code, text), (200, "true"), f"PUT through the app at {ip}")
        for reader in ips:
            for writer in ips:
                code, text = http("GET", f"http://{reader}:8080/kv/journey/{writer}")
                self.assertEqual((code, text), (200, f"from {writer}"),
                                 f"the app at {reader} reading what {writer} wrote")
        # What went through the sidecars is on the servers.
        entries = self.on_servers("/v1/kv/journey/?recurse")
        self.assertEqual(sorted(e["Key"] for e in entries),
                         sorted(f"journey/{ip}" for ip in ips))

    def scale(self, replicas):
        self.kubectl.run("scale", "-n", APP_NS, "deployment", SERVICE, f"--replicas={replicas}")
        return self.instances_follow(replicas)

    def delete(self):
        self.kubectl.run("delete", "-n", APP_NS, "deployment", SERVICE, "--wait=false")
        wait_for("the app's pods to be gone", lambda: not self.app_pods(ready=False))
        wait_for("web deregistered from the catalog", lambda: self.registered() == [])
        wait_for("web gone from DNS",
                 lambda: dns_a(self.server_ips()[0], 8600, f"{SERVICE}.service.consul") == [])

    def test_the_kubernetes_journey(self):
        start = time.monotonic()
        text, objects = self.step("render the chart", self.render)
        self.step("kubectl apply the CRD and the chart", lambda: self.install(text))
        type(self).harness = WorkloadHarness(
            self.server.url, self.bins["CAIRN_BIN"], os.path.join(self.dir, "node"),
            namespaces=[APP_NS], commands={"cairn-sidecar": self.bins["CAIRN_SIDECAR"]},
            binaries={"cairn": self.bins["CAIRN_BIN"]}).start()
        metrics = self.step("start the operator with the chart's args",
                            lambda: self.start_operator(objects))
        cluster = self.find(objects, "CairnCluster")["metadata"]["name"]
        self.step("the operator brings up 3 servers", lambda: self.servers_available(cluster))
        self.step("apply the app Deployment (2 replicas): injected, registered, passing",
                  lambda: (self.kubectl.run("apply", "-f", "-", stdin=app_deployment(2)),
                           self.instances_follow(2)))
        ips = sorted(p["status"]["podIP"] for p in self.app_pods())
        self.step("the service in DNS", lambda: self.dns(ips))
        self.step("each app writes and reads KV through its sidecar",
                  lambda: self.kv_through_sidecars(ips))
        self.step("scale 2 -> 3", lambda: self.scale(3))
        self.step("scale 3 -> 1", lambda: self.scale(1))
        self.step("delete the Deployment: deregistered", self.delete)
        self.assertIsNone(self.operator.poll(), "the operator exited")
        # Every app pod went through the operator's webhook (2 + 1 created; a creation the
        # controller had to retry would be reviewed again, hence at least).
        text = http("GET", metrics + "/metrics")[1]
        injected = re.search(r'^cairn_operator_webhook_admissions_total\{result="injected"\} '
                             r"(\d+)", text, re.M)
        self.assertGreaterEqual(int(injected.group(1)) if injected else 0, 3, text[-2000:])
        log(f"webhook: {injected.group(0)}")
        lease = self.api(f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{RELEASE}-operator")
        self.assertTrue((lease or {}).get("spec", {}).get("holderIdentity"), lease)
        log("timings: " + ", ".join(f"{n}: {t:.1f} s" for n, t in self.timings)
            + f"; total {time.monotonic() - start:.1f} s")
        type(self).ok = True


if __name__ == "__main__":
    unittest.main()
