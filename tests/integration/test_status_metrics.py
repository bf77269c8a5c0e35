"""Status, agent/self and Prometheus metrics endpoints of the real binary."""
import json
import unittest

from agent_process import Agent

agent = None


def setUpModule():
    global agent
    agent = Agent(extra_args=["-node", "it-node"]).start()


def tearDownModule():
    agent.cleanup()


class StatusAndMetrics(unittest.TestCase):
    def test_leader_and_peers(self):
        status, _, body = agent.request("GET", "/v1/status/leader")
        leader = json.loads(body)
        self.assertRegex(leader, r"^127\.0\.0\.1:\d+$")
        status, _, body = agent.request("GET", "/v1/status/peers")
        self.assertEqual(json.loads(body), [leader])

    def test_agent_self(self):
        status, _, body = agent.request("GET", "/v1/agent/self")
        config = json.loads(body)["Config"]
        self.assertEqual(config["Datacenter"], "dc1")
        self.assertEqual(config["NodeName"], "it-node")
        self.assertEqual(config["SessionTTLMin"], 10_000_000_000)
        self.assertRegex(config["NodeID"], r"^[0-9a-f-]{36}$")

    def test_metrics_in_both_places(self):
        agent.request("PUT", "/v1/kv/m/k", body=b"v")
        agent.request("GET", "/v1/kv/m/k")
        for path in ["/metrics", "/v1/agent/metrics?format=prometheus"]:
            status, headers, body = agent.request("GET", path)
            text = body.decode()
            self.assertEqual(status, 200)
            self.assertTrue(headers["content-type"].startswith("text/plain"))
            for name in ["cairn_http_requests_total", "cairn_http_request_duration_seconds_bucket",
                         "cairn_kv_operations_total", "cairn_apply_duration_seconds_count",
                         "cairn_rocksdb_size_bytes", "cairn_build_info"]:
                self.assertIn(name, text, path)
            self.assertIn('route="/v1/kv/"', text)
            self.assertNotIn("m/k", text, "keys must never become label values")


if __name__ == "__main__":
    unittest.main()
