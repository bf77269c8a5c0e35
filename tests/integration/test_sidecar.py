"""cairn-sidecar (docs/sidecar.md) on a real 3-server cluster (cluster.py): two sidecars with fake
downward-API files (env and a podinfo dir), each "pod" on its own loopback IP with a small HTTP app.
Covers: registration from annotations visible from every server over HTTP (and DNS when dig is
installed), the HTTP check passing against the app, KV through the sidecar's local API, a bad
annotation reported as a critical check, an annotation change applied, /live /ready /metrics,
SIGTERM (critical first, then deregistered), and a kill -9 + restart that registers the same
instance again without duplicates; and, without a cluster, the TLS flags refused at start (a
certificate without its key, an unreadable file). Run with /usr/bin/python3."""
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClientAgent, Cluster, free_port, wait_until  # noqa: E402
from harness import binary, main  # noqa: E402

DIG = shutil.which("dig")


def sidecar_binary():
    return os.path.abspath(os.environ.get("CAIRN_SIDECAR_BIN") or os.path.join(
        os.path.dirname(os.path.dirname(binary())), "sidecar", "cairn-sidecar"))


def quote(value):
    """Go's strconv.Quote for the ASCII test values, as the kubelet writes them."""
    return json.dumps(value)


class App:
    """The pod's application: an HTTP server on the pod IP answering /healthz with `status`."""

    def __init__(self, ip):
        self.status = 200
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(app.status)
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((ip, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Sidecar(ClientAgent):
    """A cairn-sidecar process for pod `pod` on `ip`, reading `podinfo` (annotations, labels)."""

    def __init__(self, pod, ip, root, join, annotations, labels=None, ports=""):
        super().__init__(pod, ip, root, join=join)
        self.pod = pod
        self.probe_port = free_port(ip)
        self.podinfo = os.path.join(self.dir, "podinfo")
        os.makedirs(self.podinfo, exist_ok=True)
        self.write_podinfo(annotations, labels or {"app": "web"})
        self.extra_env = {"POD_NAME": pod, "POD_NAMESPACE": "shop", "POD_IP": ip,
                          "NODE_NAME": "k8s-node-1", "POD_UID": f"uid-{pod}",
                          "CAIRN_CONTAINER_PORTS": ports}

    def write_podinfo(self, annotations, labels=None):
        for name, values in (("annotations", annotations), ("labels", labels)):
            if values is None:
                continue
            tmp = os.path.join(self.podinfo, f".{name}.tmp")
            with open(tmp, "w") as f:
                for key in sorted(values):
                    f.write(f"{key}={quote(values[key])}\n")
            os.replace(tmp, os.path.join(self.podinfo, name))  # atomic, as the kubelet does

    def command(self):
        args = [sidecar_binary(), "-bind", self.ip, "-client", self.ip, "-advertise", self.ip,
                "-http-port", str(self.http_port), "-dns-port", str(self.dns_port),
                "-data-dir", self.data_dir, "-log-level", self.log_level,
                "-podinfo-dir", self.podinfo, "-probe-addr", self.ip,
                "-probe-port", str(self.probe_port), "-drain-time", "2s"]
        for address in self.join:
            args += ["-retry-join", address]
        return args

    def probe(self, path):
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{self.probe_port}{path}",
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    @property
    def node(self):
        return f"{self.pod}-shop"


def health(server, service, query=""):
    r = server.request("GET", f"/v1/health/service/{service}{query}")
    assert r.status == 200, r
    return r.json()


class SidecarTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.path.exists(sidecar_binary()):
            raise unittest.SkipTest(f"cairn-sidecar not found at {sidecar_binary()}")
        cls.cluster = Cluster(3, name="sidecar")
        cls.apps = []
        try:
            cls.cluster.start()
        except BaseException:
            sys.stderr.write(cls.cluster.logs())
            cls.cluster.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        for app in cls.apps:
            app.close()
        cls.cluster.cleanup()
        super().tearDownClass()

    def start_sidecar(self, pod, annotations, labels=None, with_app=True):
        ip = self.cluster.prefix + str(150 + len(self.apps))
        app = App(ip) if with_app else None
        if app:
            self.apps.append(app)
        join = [s.rpc_address for s in self.cluster.members]
        car = Sidecar(pod, ip, self.cluster.root, join,
                      {k: v.replace("$PORT", str(app.port) if app else "0")
                       for k, v in annotations.items()},
                      labels, ports=f"http={app.port}" if app else "")
        self.cluster.servers.append(car)  # cleanup() and logs() cover it
        car.start()
        self.addCleanup(lambda: car.kill() if car.alive() else None)
        return car, app

    def wait_instances(self, service, count, query="", timeout=30):
        def seen():
            return all(len(health(s, service, query)) == count for s in self.cluster.members)
        wait_until(seen, timeout, f"{count} instance(s) of {service}{query} on every server")

    def test_registers_from_annotations_and_checks_the_app(self):
        car, app = self.start_sidecar("web-1", {
            "cairn.io/service-name": "web",
            "cairn.io/service-port": "http",
            "cairn.io/service-tags": "v1,canary",
            "cairn.io/service-meta-team": "shop",
            "cairn.io/check-http": "/healthz",
            "cairn.io/check-interval": "1s"})
        self.wait_instances("web", 1, "?passing")
        entry = health(self.cluster.members[0], "web", "?passing")[0]
        svc = entry["Service"]
        self.assertEqual(svc["ID"], "web-1-web")
        self.assertEqual(svc["Address"], car.ip)
        self.assertEqual(svc["Port"], app.port)
        self.assertEqual(svc["Tags"], ["v1", "canary"])
        self.assertEqual(svc["Meta"]["team"], "shop")
        self.assertEqual(svc["Meta"]["pod-name"], "web-1")
        self.assertEqual(svc["Meta"]["managed-by"], "cairn-sidecar")
        self.assertEqual(entry["Node"]["Node"], "web-1-shop")
        self.assertEqual(entry["Node"]["Meta"].get("k8s-namespace"), "shop")
        check_ids = [c["CheckID"] for c in entry["Checks"]]
        self.assertIn("service:web-1-web:http", check_ids)
        # The app fails: the instance leaves ?passing.
        app.status = 503
        wait_until(lambda: not health(self.cluster.members[1], "web", "?passing"), 20,
                   "the failing app to leave ?passing")
        app.status = 200
        self.wait_instances("web", 1, "?passing")
        if DIG:
            server = self.cluster.members[2]
            out = subprocess.run([DIG, "+short", "-p", "8600", "@" + server.ip,
                                  "web.service.consul"], capture_output=True, text=True,
                                 timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                self.assertIn(car.ip, out.stdout)
        # Probes and metrics.
        self.assertEqual(car.probe("/live")[0], 200)
        wait_until(lambda: car.probe("/ready")[0] == 200, 20, "the sidecar to be ready")
        status, text = car.probe("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("cairn_http_requests_total", text)

    def test_kv_and_sessions_through_the_local_api(self):
        car, _ = self.start_sidecar("kv-1", {"cairn.io/service-name": "kv"}, with_app=False)
        r = car.request("PUT", "/v1/kv/sidecar/key", body=b"through the sidecar")
        self.assertEqual(r.status, 200, r)
        r = self.cluster.members[0].request("GET", "/v1/kv/sidecar/key?raw")
        self.assertEqual(r.body, b"through the sidecar")
        r = car.request("GET", "/v1/kv/sidecar/key?raw")
        self.assertEqual(r.body, b"through the sidecar")
        session = car.request("PUT", "/v1/session/create", body=b"{}").json()["ID"]
        r = car.request("PUT", f"/v1/kv/sidecar/lock?acquire={session}", body=b"me")
        self.assertEqual(r.body.strip(), b"true")

    def test_a_bad_annotation_is_a_critical_check_and_the_rest_still_works(self):
        car, _ = self.start_sidecar("bad-1", {
            "cairn.io/service-names": "good,bad",
            "cairn.io/bad.check-http": "no-leading-slash",
            "cairn.io/good.check-ttl": "30s"}, with_app=False)
        self.wait_instances("bad", 1)
        self.wait_instances("good", 1)
        checks = health(self.cluster.members[0], "bad")[0]["Checks"]
        bad = [c for c in checks if c["CheckID"] == "service:bad-1-bad:annotations"]
        self.assertEqual(len(bad), 1, checks)
        self.assertEqual(bad[0]["Status"], "critical")
        self.assertIn("not a path starting with /", bad[0]["Output"])
        self.assertIn("not a path starting with /", car.logs())
        # The TTL check of the good service is heartbeated through the local API.
        r = car.request("PUT", "/v1/agent/check/pass/service:bad-1-good:ttl")
        self.assertEqual(r.status, 200, r)
        self.wait_instances("good", 1, "?passing")

    def test_annotation_changes_are_applied(self):
        car, _ = self.start_sidecar("chg-1", {"cairn.io/service-name": "chg",
                                              "cairn.io/service-tags": "old"}, with_app=False)
        self.wait_instances("chg", 1)
        car.write_podinfo({"cairn.io/service-name": "chg", "cairn.io/service-tags": "new"})
        wait_until(lambda: health(self.cluster.members[1], "chg")[0]["Service"]["Tags"] == ["new"],
                   30, "the new tag to reach the catalog")

    def test_sigterm_goes_critical_then_deregisters(self):
        car, _ = self.start_sidecar("drain-1", {"cairn.io/service-name": "drain",
                                                "cairn.io/check-ttl": "1m"}, with_app=False)
        car.request("PUT", "/v1/agent/check/pass/service:drain-1-drain:ttl")
        self.wait_instances("drain", 1, "?passing")
        car.proc.send_signal(signal.SIGTERM)
        saw_critical = []

        def critical_then_gone():
            entries = health(self.cluster.members[0], "drain")
            if entries and any(c["Status"] == "critical" for c in entries[0]["Checks"]):
                saw_critical.append(True)
            return not entries
        wait_until(critical_then_gone, 30, "the instance to go critical, then away",
                   interval=0.05)
        self.assertTrue(saw_critical, "the instance was never critical before it went away")
        car.proc.wait(timeout=30)
        self.assertEqual(car.proc.returncode, 0)

    def test_a_restart_after_kill_registers_the_same_instance(self):
        car, _ = self.start_sidecar("rst-1", {"cairn.io/service-name": "rst"}, with_app=False)
        self.wait_instances("rst", 1)
        car.kill()
        car.start()
        wait_until(lambda: car.probe("/ready")[0] == 200, 30, "the restarted sidecar to be ready")
        for server in self.cluster.members:
            entries = health(server, "rst")
            self.assertEqual([e["Service"]["ID"] for e in entries], ["rst-1-rst"])


class SidecarTlsFlagsTest(unittest.TestCase):
    """The TLS flags are the CLI's (core/client/client_flags.h): resolved, with the environment
    defaults, before anything starts, so a mistake stops the sidecar at once with why."""

    def run_sidecar(self, *args, env=None):
        if not os.path.exists(sidecar_binary()):
            self.skipTest(f"cairn-sidecar not found at {sidecar_binary()}")
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("CAIRN_", "CONSUL_")) or k == "CAIRN_SIDECAR_BIN"}
        base.update({"POD_NAME": "tls-1", "POD_NAMESPACE": "shop", "POD_IP": "127.0.0.1"})
        base.update(env or {})
        with tempfile.TemporaryDirectory() as data_dir:
            return subprocess.run([sidecar_binary(), "-data-dir", data_dir,
                                   "-retry-join", "127.0.0.1:1", "-probe-port", "-1"]
                                  + list(args), capture_output=True, text=True, timeout=60,
                                  env=base)

    def test_a_certificate_without_its_key_is_refused(self):
        with tempfile.NamedTemporaryFile() as cert:
            out = self.run_sidecar("-client-cert", cert.name)
            self.assertEqual(out.returncode, 1, out)
            self.assertIn("a client certificate needs its key", out.stderr)
            # The same through the environment, as the CLI reads it.
            out = self.run_sidecar(env={"CONSUL_CLIENT_CERT": cert.name})
            self.assertEqual(out.returncode, 1, out)
            self.assertIn("a client certificate needs its key", out.stderr)

    def test_an_unreadable_ca_file_is_refused(self):
        out = self.run_sidecar("-ca-file", "/nonexistent/ca.pem")
        self.assertEqual(out.returncode, 1, out)
        self.assertIn("cannot read /nonexistent/ca.pem", out.stderr)


if __name__ == "__main__":
    main()
