#!/usr/bin/env python3
"""Admission latency of cairn-operator's sidecar-injection webhook over HTTPS (issue 13).

Starts the fake API server (tests/k8s/fake_apiserver.py) and a cairn-operator with the webhook
on loopback, waits for the caBundle, then sends N AdmissionReviews of a pod that opts in (each
answered with the sidecar patch) the way kube-apiserver does: HTTPS, the server verified against
the caBundle for <service>.<namespace>.svc, POST /mutate-pods?timeout=10s. Two series:

  keep-alive      one connection reused for every review (kube-apiserver keeps connections)
  new connection  a TLS handshake per review (the worst case: a fresh API server connection)

Prints p50/p90/p99/max per series and a JSON line. Timing goals live here, never in tests.

  bench/webhook_latency.py [--operator build/release/operator/cairn-operator] [--reviews 1000]
"""

import argparse
import base64
import http.client
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "k8s"))
from fake_apiserver import FakeApiServer  # noqa: E402

HOST = "cairn-webhook.cairn.svc"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(server, method, path, body):
    req = urllib.request.Request(server.url + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def setup(server, port):
    for ns in ("cairn", "shop"):
        api(server, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    api(server, "POST", "/api/v1/namespaces/cairn/endpoints", {
        "metadata": {"name": "cairn-webhook"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": port}]}]})
    api(server, "POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", {
        "metadata": {"name": "cairn-injector"},
        "webhooks": [{"name": "inject.cairn.io", "admissionReviewVersions": ["v1"],
                      "sideEffects": "None", "failurePolicy": "Fail",
                      "clientConfig": {"service": {"name": "cairn-webhook", "namespace": "cairn",
                                                   "path": "/mutate-pods"}},
                      "rules": [{"operations": ["CREATE"], "apiGroups": [""],
                                 "apiVersions": ["v1"], "resources": ["pods"]}]}]})


def ca_bundle(server):
    with urllib.request.urlopen(server.url + "/apis/admissionregistration.k8s.io/v1/"
                                "mutatingwebhookconfigurations/cairn-injector") as r:
        config = json.loads(r.read())
    return config["webhooks"][0].get("clientConfig", {}).get("caBundle")


def review(i):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"generateName": "web-", "namespace": "shop",
                        "labels": {"app": "web"},
                        "annotations": {"cairn.io/inject": "true",
                                        "cairn.io/service-port": "http",
                                        "cairn.io/check-http": "/healthz"}},
           "spec": {"containers": [{"name": "app", "image": "app:1",
                                    "ports": [{"name": "http", "containerPort": 8080}]}]}}
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": f"uid-{i}", "kind": {"group": "", "version": "v1",
                                                               "kind": "Pod"},
                                   "resource": {"group": "", "version": "v1",
                                                "resource": "pods"},
                                   "namespace": "shop", "operation": "CREATE",
                                   "object": pod}}).encode()


class Conn(http.client.HTTPSConnection):
    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        # As Go's net/http: no Nagle, so a body sent after its headers is not held back.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=HOST)


def series(port, context, n, reuse):
    times = []
    conn = None
    for i in range(n):
        body = review(i)
        start = time.perf_counter()
        if conn is None:
            conn = Conn("127.0.0.1", port, context=context, timeout=10)
        conn.request("POST", "/mutate-pods?timeout=10s", body=body,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        times.append((time.perf_counter() - start) * 1000)
        answer = json.loads(data)["response"]
        if resp.status != 200 or answer["uid"] != f"uid-{i}" or "patch" not in answer:
            raise SystemExit(f"review {i}: unexpected answer {resp.status} {data[:300]!r}")
        if not reuse:
            conn.close()
            conn = None
    if conn:
        conn.close()
    return times


def summary(times):
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"n": len(times), "p50_ms": round(q[49], 3), "p90_ms": round(q[89], 3),
            "p99_ms": round(q[98], 3), "max_ms": round(max(times), 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operator", default=os.path.join(REPO, "build", "release", "operator",
                                                           "cairn-operator"))
    parser.add_argument("--reviews", type=int, default=1000)
    args = parser.parse_args()
    server = FakeApiServer().start()
    port, metrics_port = free_port(), free_port()
    kubeconfig = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"webhook-bench-{os.getpid()}")
    with open(kubeconfig, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                   "clusters": [{"name": "fake", "cluster": {"server": server.url}}],
                   "users": [{"name": "fake", "user": {"token": "t"}}],
                   "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                             "namespace": "cairn"}}]}, f)
    setup(server, port)
    proc = subprocess.Popen([args.operator, "-kubeconfig", kubeconfig, "-namespace", "cairn",
                             "-metrics-addr", f"127.0.0.1:{metrics_port}", "-lease-namespace",
                             "cairn", "-webhook-service", "cairn-webhook", "-webhook-bind",
                             "127.0.0.1", "-webhook-port", str(port)],
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ca_bundle(server):
            if time.monotonic() > deadline:
                raise SystemExit("the operator never wrote the caBundle")
            time.sleep(0.1)
        context = ssl.create_default_context(cadata=base64.b64decode(ca_bundle(server)).decode())
        series(port, context, 50, True)  # warm-up
        results = {"keep_alive": summary(series(port, context, args.reviews, True)),
                   "new_connection": summary(series(port, context, args.reviews, False)),
                   "operator": args.operator, "load_average": os.getloadavg()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.stop()
        os.unlink(kubeconfig)
    for name in ("keep_alive", "new_connection"):
        r = results[name]
        print(f"{name:15} n={r['n']} p50 {r['p50_ms']:.2f} ms  p90 {r['p90_ms']:.2f} ms  "
              f"p99 {r['p99_ms']:.2f} ms  max {r['max_ms']:.2f} ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
