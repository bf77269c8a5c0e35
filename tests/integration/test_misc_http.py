"""Status endpoints, /v1/agent/self and the Prometheus metrics endpoints
(docs/consul-api.md §9, §12; metric conventions: docs/architecture.md, "Metric conventions")."""
import os
import re
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, kv_url  # noqa: E402

METRIC_TYPES = {
    "cairn_http_requests_total": "counter",
    "cairn_http_request_duration_seconds": "histogram",
    "cairn_kv_operations_total": "counter",
    "cairn_apply_duration_seconds": "histogram",
    "cairn_rocksdb_size_bytes": "gauge",
    "cairn_build_info": "gauge",
}

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_VALUE = r"(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|[-+]?Inf|NaN)"
SAMPLE_RE = re.compile(rf"^({_NAME})(\{{(?:{_LABEL}(?:,{_LABEL})*,?)?\}})? ({_VALUE})( -?\d+)?$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_exposition(text):
    """Parses Prometheus text format 0.0.4 strictly. Returns (types, samples) where samples is
    a list of (name, labels dict, float value)."""
    types, samples = {}, []
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                if parts[2] in types:
                    raise AssertionError(f"line {n}: duplicate TYPE for {parts[2]}")
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError(f"line {n} is not a valid sample: {line!r}")
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def total(samples, name, **labels):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == val for k, val in labels.items()))


class StatusTests(AgentTestCase):
    def test_leader_is_json_string_with_server_address(self):
        r = self.agent.get("/v1/status/leader")
        self.assertStatus(r, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        leader = r.json()
        self.assertIsInstance(leader, str)
        self.assertEqual(leader, f"127.0.0.1:{self.agent.server_port}",
                         "the leader is reported by its server RPC address")

    def test_peers_is_json_array_containing_leader(self):
        r = self.agent.get("/v1/status/peers")
        self.assertStatus(r, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        peers = r.json()
        self.assertIsInstance(peers, list)
        self.assertEqual(peers, [self.agent.get("/v1/status/leader").json()])

    def test_status_accepts_query_options(self):
        for q in ("stale", "consistent", "dc=" + self.datacenter(), "token=x", "pretty"):
            r = self.agent.get("/v1/status/leader?" + q)
            self.assertStatus(r, 200, q)
            self.assertIsInstance(r.json(), str)

    def datacenter(self):
        return self.agent.get("/v1/agent/self").json()["Config"]["Datacenter"]


class MalformedRequestTests(AgentTestCase):
    def test_raw_special_characters_in_the_uri_get_an_answer(self):
        """Characters clients should have escaped ([ ] ^ { } | and spaces) must never take the
        agent down: each request gets an HTTP answer, and the agent keeps serving."""
        for target in ("/v1/kv/a?x=[", "/v1/kv/a?x=^", "/v1/kv/a?x=]{}|", "/v1/kv/a[b",
                       "/v1/catalog/service/web?filter=Service.Tags[0]", "/v1/kv/%zz",
                       "/v1/health/service/a?tag=^x$"):
            for method in ("GET", "PUT"):
                r = self.agent.request(method, target)
                self.assertLess(r.status, 500, f"{method} {target}: {r!r}")
        self.assertEqual(self.agent.get("/v1/status/leader").status, 200)


class AgentSelfTests(AgentTestCase):
    def test_agent_self_config(self):
        r = self.agent.get("/v1/agent/self")
        self.assertStatus(r, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        body = r.json()
        config = body["Config"]
        self.assertIsInstance(config["Datacenter"], str)
        self.assertNotEqual(config["Datacenter"], "")
        self.assertIsInstance(config["NodeName"], str)
        self.assertNotEqual(config["NodeName"], "")
        # Patroni divides SessionTTLMin (nanoseconds) by 1e9.
        self.assertIn("SessionTTLMin", config)
        self.assertIsInstance(config["SessionTTLMin"], int)
        self.assertGreaterEqual(config["SessionTTLMin"], 0)
        self.assertIsNone(r.headers.get("X-Consul-Index"),
                          "agent-local /v1/agent/* reads set no index headers")

    def test_agent_self_datacenter_is_accepted_as_dc(self):
        dc = self.agent.get("/v1/agent/self").json()["Config"]["Datacenter"]
        self.agent.kv_put("k", b"v", f"dc={dc}")
        self.assertStatus(self.agent.get(kv_url("k", f"dc={dc}")), 200)


class MetricsTests(AgentTestCase):
    PATHS = ("/metrics", "/v1/agent/metrics?format=prometheus")

    def scrape(self, path):
        r = self.agent.get(path)
        self.assertStatus(r, 200, path)
        ctype = r.headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith("text/plain"), f"{path}: Content-Type {ctype!r}")
        self.assertIn("version=0.0.4", ctype, f"{path}: Content-Type {ctype!r}")
        return parse_exposition(r.text())

    def exercise(self):
        self.agent.kv_put("m/a", b"1")
        self.agent.kv_get("m/a")
        self.agent.get(kv_url("m/", "recurse"))
        self.agent.delete(kv_url("m/a"))
        self.agent.get(kv_url("m/missing"))

    def test_exposition_contains_the_cairn_metrics(self):
        self.exercise()
        for path in self.PATHS:
            types, samples = self.scrape(path)
            names = {n for n, _, _ in samples}
            for metric, kind in METRIC_TYPES.items():
                self.assertEqual(types.get(metric), kind, f"{path}: # TYPE of {metric}")
                if kind == "histogram":
                    for suffix in ("_bucket", "_sum", "_count"):
                        self.assertIn(metric + suffix, names, f"{path}: {metric}{suffix}")
                    infs = [l for n, l, _ in samples
                            if n == metric + "_bucket" and l.get("le") == "+Inf"]
                    self.assertTrue(infs, f"{path}: {metric} has no le=\"+Inf\" bucket")
                else:
                    self.assertIn(metric, names, f"{path}: no sample of {metric}")
            info = [(l, v) for n, l, v in samples if n == "cairn_build_info"]
            self.assertEqual(len(info), 1)
            self.assertEqual(info[0][1], 1.0)
            self.assertIn("version", info[0][0])
            self.assertGreater(total(samples, "cairn_rocksdb_size_bytes"), 0)
            self.assertGreater(total(samples, "cairn_apply_duration_seconds_count"), 0)

    def test_counters_increase(self):
        self.exercise()
        _, before = self.scrape("/metrics")
        self.exercise()
        _, after = self.scrape("/metrics")
        for metric in ("cairn_http_requests_total", "cairn_kv_operations_total",
                       "cairn_http_request_duration_seconds_count",
                       "cairn_apply_duration_seconds_count"):
            self.assertGreater(total(after, metric), total(before, metric), metric)

    def test_http_metrics_labels_are_bounded(self):
        # Never a key name as a label (docs/architecture.md, "Metric conventions").
        for i in range(5):
            self.agent.kv_put(f"unique-key-{i}-xyzzy", b"v")
        _, samples = self.scrape("/metrics")
        for n, labels, _ in samples:
            for value in labels.values():
                self.assertNotIn("xyzzy", value, f"{n} carries a key in a label: {labels}")


class StartupTests(unittest.TestCase):
    """An agent that cannot bind one of its ports must fail fast with a non-zero exit status
    (Consul refuses to start: `Error starting agent: ... bind: address already in use`) instead
    of running without its DNS, gRPC or Raft listener."""

    def listening_roles(self):
        """The ports a normal dev agent listens on (TCP); listeners not implemented yet are
        skipped rather than reported."""
        agent = harness.Agent(name="reference").start()
        try:
            roles = []
            for role in ("http_port", "server_port", "grpc_port", "dns_port"):
                try:
                    socket.create_connection((harness.HOST, getattr(agent, role)), 5).close()
                    roles.append(role)
                except OSError:
                    pass
            return roles
        finally:
            agent.cleanup()

    def test_taken_port_fails_start(self):
        listening = self.listening_roles()
        for role in ("http_port", "server_port", "grpc_port", "dns_port"):
            with self.subTest(port=role):
                if role not in listening:
                    self.skipTest(f"the agent does not listen on its {role} yet")
                blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                blocker.bind((harness.HOST, 0))
                blocker.listen()
                agent = harness.Agent(name=f"taken-{role}")
                try:
                    setattr(agent, role, blocker.getsockname()[1])
                    with open(agent.stderr_path, "wb") as err:
                        proc = subprocess.Popen(agent.command(), stdin=subprocess.DEVNULL,
                                                stdout=err, stderr=err, cwd=agent.work_dir)
                    try:
                        rc = proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                        self.fail(f"the agent kept running although its {role} was taken")
                    self.assertNotEqual(rc, 0, f"{role} taken: exit status 0")
                    self.assertIn("address already in use", agent.logs().lower())
                finally:
                    blocker.close()
                    agent.cleanup()


if __name__ == "__main__":
    harness.main()
