"""Catalog and health endpoints through the real binary (docs/consul-api.md §4, §5): register and
deregister, every read and its JSON shape, tag/node-meta/passing/filter parameters, blocking
queries that wake only on relevant changes, bad input, and python-consul 0.7.1's catalog and
health calls. Run with /usr/bin/python3."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, BackgroundRequest, wait_until  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None


class CatalogTests(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.n = self._testMethodName.replace("_", "-")

    def register(self, body, status=200):
        r = self.agent.put("/v1/catalog/register", json.dumps(body))
        self.assertEqual(r.status, status, r.text())
        return r

    def web(self, node, sid, tags=(), port=80, checks=(), meta=None, address="10.1.0.1"):
        body = {"Node": node, "Address": address, "NodeMeta": meta or {},
                "Service": {"ID": sid, "Service": self.n + "-web", "Tags": list(tags),
                            "Port": port}}
        if checks:
            body["Checks"] = list(checks)
        return self.register(body)

    def test_agent_node_is_registered_with_serf_health(self):
        name = self.agent.get("/v1/agent/self").json()["Config"]["NodeName"]
        wait_until(lambda: self.agent.get("/v1/catalog/node/" + name).json() is not None, 10,
                   "the agent registers itself")
        checks = self.agent.get("/v1/health/node/" + name).json()
        self.assertEqual([(c["CheckID"], c["Status"]) for c in checks],
                         [("serfHealth", "passing")])

    def test_register_and_read_shapes(self):
        self.web(self.n, "w1", tags=["a", "b"], port=8080,
                 checks=[{"CheckID": "w1-http", "Name": "http", "Status": "passing",
                          "ServiceID": "w1",
                          "Definition": {"HTTP": "http://10.1.0.1/health", "Interval": "10s"}}])
        r = self.agent.get("/v1/catalog/service/%s-web" % self.n)
        self.assertEqual(r.status, 200)
        self.assertGreater(r.index(), 0)
        [sn] = r.json()
        for key in ("ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta",
                    "ServiceKind", "ServiceID", "ServiceName", "ServiceTags", "ServiceAddress",
                    "ServiceWeights", "ServiceMeta", "ServicePort", "ServiceEnableTagOverride",
                    "CreateIndex", "ModifyIndex"):
            self.assertIn(key, sn)
        self.assertEqual(sn["ServiceTags"], ["a", "b"])
        self.assertEqual(sn["ServiceWeights"], {"Passing": 1, "Warning": 1})
        self.assertEqual(sn["Datacenter"], "dc1")
        services = self.agent.get("/v1/catalog/services").json()
        self.assertEqual(services[self.n + "-web"], ["a", "b"])
        node = self.agent.get("/v1/catalog/node/" + self.n).json()
        self.assertEqual(list(node["Services"]), ["w1"])
        self.assertEqual(node["Services"]["w1"]["Port"], 8080)
        listed = self.agent.get("/v1/catalog/node-services/" + self.n).json()
        self.assertEqual(listed["Services"][0]["ID"], "w1")
        [entry] = self.agent.get("/v1/health/service/%s-web" % self.n).json()
        self.assertEqual(set(entry), {"Node", "Service", "Checks"})
        self.assertEqual(entry["Checks"][0]["Definition"]["Interval"], "10s")
        self.assertEqual(entry["Checks"][0]["ServiceTags"], ["a", "b"])
        self.assertIn(self.n, [n["Node"] for n in self.agent.get("/v1/catalog/nodes").json()])
        self.assertEqual(self.agent.get("/v1/catalog/datacenters").json(), ["dc1"])
        self.assertIsNone(self.agent.get("/v1/catalog/node/nope-" + self.n).json())

    def test_tag_passing_node_meta_and_filter(self):
        self.web(self.n + "-1", "w", tags=["prod"], meta={"rack": "r1"},
                 checks=[{"CheckID": "c", "Name": "c", "Status": "passing", "ServiceID": "w"}])
        self.web(self.n + "-2", "w", tags=["dev"], meta={"rack": "r2"},
                 checks=[{"CheckID": "c", "Name": "c", "Status": "critical", "ServiceID": "w"}])
        svc = "/v1/health/service/%s-web" % self.n

        def nodes(query):
            return sorted(e["Node"]["Node"] for e in self.agent.get(svc + query).json())
        self.assertEqual(nodes(""), [self.n + "-1", self.n + "-2"])
        self.assertEqual(nodes("?passing"), [self.n + "-1"])
        self.assertEqual(nodes("?passing=false"), [self.n + "-1", self.n + "-2"])
        self.assertEqual(nodes("?tag=dev"), [self.n + "-2"])
        self.assertEqual(nodes("?tag=dev&tag=prod"), [])
        self.assertEqual(nodes("?node-meta=rack:r1"), [self.n + "-1"])
        self.assertEqual(nodes("?filter=" + harness.quote_key('Service.Tags contains "dev"')),
                         [self.n + "-2"])
        r = self.agent.get(svc + "?passing=maybe")
        self.assertEqual((r.status, r.text()), (400, "Invalid value for ?passing"))
        r = self.agent.get(svc + "?filter=" + harness.quote_key("Service.Tags ==="))
        self.assertEqual(r.status, 400)
        critical = self.agent.get("/v1/health/state/critical").json()
        self.assertIn((self.n + "-2", "c"), [(c["Node"], c["CheckID"]) for c in critical])
        self.assertEqual(len(self.agent.get("/v1/health/checks/%s-web" % self.n).json()), 2)

    def test_blocking_service_query_wakes_only_for_its_service(self):
        self.web(self.n, "w1")
        path = "/v1/health/service/%s-web" % self.n
        index = self.agent.get(path).index()
        req = BackgroundRequest(self.agent.http_port, "GET",
                                path + "?index=%d&wait=20s" % index).start()
        req.sent.wait(10)
        self.register({"Node": self.n + "-other", "Address": "10.9.9.9",
                       "Service": {"Service": self.n + "-unrelated"}})
        self.assertFalse(req.done.wait(0.5), "woke for another service")
        self.web(self.n, "w2")
        result = req.wait(10)
        self.assertEqual(result.status, 200)
        self.assertGreater(result.index(), index)
        self.assertEqual(len(result.json()), 2)

    def test_identical_reregistration_keeps_the_index(self):
        self.web(self.n, "w1")
        path = "/v1/catalog/service/%s-web" % self.n
        before = self.agent.get(path).index()
        self.web(self.n, "w1")
        self.assertEqual(self.agent.get(path).index(), before)

    def test_deregister_service_check_and_node(self):
        self.web(self.n, "w1", checks=[{"CheckID": "nc", "Name": "node check",
                                        "Status": "passing"}])
        r = self.agent.put("/v1/catalog/deregister",
                           json.dumps({"Node": self.n, "CheckID": "nc"}))
        self.assertEqual((r.status, r.text()), (200, "true"))
        self.assertEqual(self.agent.get("/v1/health/node/" + self.n).json(), [])
        self.agent.put("/v1/catalog/deregister", json.dumps({"Node": self.n, "ServiceID": "w1"}))
        self.assertEqual(self.agent.get("/v1/catalog/service/%s-web" % self.n).json(), [])
        self.agent.put("/v1/catalog/deregister", json.dumps({"Node": self.n}))
        self.assertIsNone(self.agent.get("/v1/catalog/node/" + self.n).json())

    def test_bad_input_is_rejected_and_changes_nothing(self):
        before = self.agent.get("/v1/catalog/nodes").json()
        cases = [
            ("not json", "Request decode failed"),
            (json.dumps({"Node": "x"}), "Must provide node and address"),
            (json.dumps({"Node": "x", "Address": "a", "Service": {"Port": 1}}),
             "Must provide service name"),
            (json.dumps({"Node": "x", "Address": "a", "Service": {"Service": "s", "Port": "80"}}),
             "Request decode failed"),
            (json.dumps({"Node": "x", "Address": "a",
                         "Check": {"Name": "c", "Status": "sleepy"}}), "Invalid check status"),
            (json.dumps({"Node": "x", "Address": "a",
                         "Check": {"Name": "c", "ServiceID": "missing"}}),
             "Missing service registration"),
        ]
        for body, text in cases:
            r = self.agent.put("/v1/catalog/register", body)
            self.assertEqual(r.status, 400, body)
            self.assertIn(text, r.text(), body)
        self.assertEqual(self.agent.get("/v1/catalog/nodes").json(), before)
        r = self.agent.get("/v1/catalog/service/")
        self.assertEqual((r.status, r.text()), (400, "Missing service name"))
        r = self.agent.get("/v1/catalog/services?dc=other")
        self.assertEqual((r.status, r.text()), (500, "No path to datacenter"))
        r = self.agent.get("/v1/catalog/nodes?index=abc")
        self.assertEqual(r.status, 400)
        r = self.agent.request("GET", "/v1/catalog/register")
        self.assertEqual(r.status, 405)


@unittest.skipIf(consul is None, "python3-consul is not installed for this interpreter")
class PythonConsulCatalogTests(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.c = consul.Consul(host="127.0.0.1", port=self.agent.http_port)
        self.c.http.session.trust_env = False
        self.addCleanup(self.c.http.session.close)
        self.n = self._testMethodName.replace("_", "-")

    def test_catalog_calls(self):
        self.assertTrue(self.c.catalog.register(
            self.n, "10.2.0.1", service={"service": "api", "port": 9000, "tags": ["v1"]},
            check={"name": "api alive", "status": "passing", "serviceid": "api"}))
        self.assertEqual(self.c.catalog.datacenters(), ["dc1"])
        index, nodes = self.c.catalog.nodes()
        self.assertGreater(int(index), 0)
        self.assertIn(self.n, [n["Node"] for n in nodes])
        index, services = self.c.catalog.services()
        self.assertEqual(services["api"], ["v1"])
        index, instances = self.c.catalog.service("api", tag="v1")
        self.assertEqual(instances[0]["ServicePort"], 9000)
        index, node = self.c.catalog.node(self.n)
        self.assertIn("api", node["Services"])
        index, again = self.c.catalog.service("api", index=index, wait="1s")
        self.assertEqual(len(again), 1)
        self.assertTrue(self.c.catalog.deregister(self.n, service_id="api"))
        self.assertEqual(self.c.catalog.service("api")[1], [])

    def test_health_calls(self):
        self.c.catalog.register(self.n, "10.2.0.2", service={"service": "db", "port": 5432},
                                check={"name": "db alive", "status": "warning",
                                       "serviceid": "db"})
        index, entries = self.c.health.service("db")
        self.assertEqual(entries[0]["Service"]["Port"], 5432)
        self.assertEqual(self.c.health.service("db", passing=True)[1], [])
        index, checks = self.c.health.checks("db")
        self.assertEqual(checks[0]["Status"], "warning")
        index, state = self.c.health.state("warning")
        self.assertIn("db alive", [c["Name"] for c in state])
        index, node_checks = self.c.health.node(self.n)
        self.assertEqual(len(node_checks), 1)


if __name__ == "__main__":
    harness.main()
