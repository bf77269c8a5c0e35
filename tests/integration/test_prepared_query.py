"""Prepared queries through the real binary (docs/prepared-queries.md): python-consul's
c.query.* calls, raw HTTP for what it does not send (tags with "!", templates with
interpolation, explain, near, limit, bad bodies), a query deleted with its session, a query
surviving a restart, and DNS (<name>.query.consul A and SRV with the query's TTL) with dig.
Run with /usr/bin/python3."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None

DIG = shutil.which("dig")


class PreparedQueryTests(AgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for node, address, status, tags in (("pq-a", "10.4.0.1", "passing", ["primary", "v2"]),
                                            ("pq-b", "10.4.0.2", "warning", ["replica"]),
                                            ("pq-c", "10.4.0.3", "critical", ["replica"]),
                                            ("pq-d", "10.4.0.4", "passing", ["replica", "canary"])):
            body = {"Node": node, "Address": address, "NodeMeta": {"rack": node[-1]},
                    "Service": {"Service": "pgq", "Port": 5432, "Tags": tags},
                    "Check": {"Name": "pg", "Status": status, "ServiceID": "pgq"}}
            r = cls.agent.put("/v1/catalog/register", json.dumps(body))
            assert r.status == 200, r.text()

    def call(self, method, path, body=None):
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        return self.agent.request(method, path, body=body)

    def create(self, body):
        r = self.call("POST", "/v1/query", body)
        self.assertEqual(r.status, 200, r.text())
        return r.json()["ID"]

    def nodes(self, name, query=""):
        r = self.call("GET", f"/v1/query/{name}/execute{query}")
        self.assertEqual(r.status, 200, r.text())
        return sorted(n["Node"]["Node"] for n in r.json()["Nodes"])

    def test_crud_execute_and_bad_bodies_over_http(self):
        qid = self.create({"Name": "pg-replicas", "Service": {
            "Service": "pgq", "Tags": ["replica", "!canary"]}, "DNS": {"TTL": "10s"}})
        got = self.call("GET", "/v1/query/" + qid)
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json()[0]["Service"]["Tags"], ["replica", "!canary"])
        self.assertIn(qid, [q["ID"] for q in self.call("GET", "/v1/query").json()])
        run = self.call("GET", "/v1/query/pg-replicas/execute").json()
        self.assertEqual((run["Service"], run["Datacenter"], run["Failovers"]), ("pgq", "dc1", 0))
        self.assertEqual(run["DNS"], {"TTL": "10s"})
        self.assertEqual(sorted(n["Node"]["Node"] for n in run["Nodes"]), ["pq-b"])
        self.assertEqual(run["Nodes"][0]["Service"]["Port"], 5432)
        self.assertEqual(self.nodes(qid), ["pq-b"])  # by ID too
        r = self.call("PUT", "/v1/query/" + qid,
                      {"Name": "pg-replicas", "Service": {"Service": "pgq", "OnlyPassing": True,
                                                          "Tags": ["replica"]}})
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(self.nodes("pg-replicas"), ["pq-d"])
        self.assertEqual(self.call("DELETE", "/v1/query/" + qid).status, 200)
        gone = self.call("GET", "/v1/query/pg-replicas/execute")
        self.assertEqual((gone.status, gone.text()), (404, "Query not found"))
        for body, text in (({"Name": "x"}, "Must provide a Service name to query"),
                           ({"Service": {"Service": "pgq"}}, "Must be bound to a session"),
                           ("{", None),
                           ({"Name": "x", "Service": {"Service": "pgq"}, "DNS": {"TTL": "soon"}},
                            None)):
            r = self.call("POST", "/v1/query", body)
            self.assertEqual(r.status, 400, r.text())
            if text:
                self.assertEqual(r.text(), text)
        self.assertTrue(self.agent.alive())

    def test_near_and_limit(self):
        self.create({"Name": "pg-all", "Service": {"Service": "pgq"}})
        self.assertEqual(self.nodes("pg-all"), ["pq-a", "pq-b", "pq-d"])
        for _ in range(5):
            first = self.call("GET", "/v1/query/pg-all/execute?near=pq-d").json()["Nodes"][0]
            self.assertEqual(first["Node"]["Node"], "pq-d")
        self.assertEqual(len(self.nodes("pg-all", "?limit=2")), 2)
        self.assertEqual(self.call("GET", "/v1/query/pg-all/execute?near=_agent").status, 200)

    def test_template_with_interpolation_and_explain(self):
        self.create({"Name": "tpl-", "Template": {"Type": "name_prefix_match",
                                                  "Regexp": "^tpl-([^-]+)-(.+)$"},
                     "Service": {"Service": "${match(1)}", "Tags": ["${match(2)}"]}})
        self.assertEqual(self.nodes("tpl-pgq-primary"), ["pq-a"])
        self.assertEqual(self.nodes("tpl-pgq-replica"), ["pq-b", "pq-d"])
        explained = self.call("GET", "/v1/query/tpl-pgq-primary/explain").json()["Query"]
        self.assertEqual(explained["Service"]["Service"], "pgq")
        self.assertEqual(explained["Service"]["Tags"], ["primary"])
        r = self.call("POST", "/v1/query", {"Name": "bad-", "Template": {
            "Type": "name_prefix_match"}, "Service": {"Service": "${nope}"}})
        self.assertEqual(r.status, 400)
        self.assertIn("unknown variable accessed: nope", r.text())

    def test_query_goes_with_its_session(self):
        node = self.call("GET", "/v1/agent/self").json()["Config"]["NodeName"]
        s = self.call("PUT", "/v1/session/create", {"Node": node, "Checks": []})
        self.assertEqual(s.status, 200, s.text())
        session = s.json()["ID"]
        qid = self.create({"Session": session, "Service": {"Service": "pgq"}})
        self.assertEqual(self.call("GET", "/v1/query/" + qid).status, 200)
        self.assertEqual(self.call("PUT", "/v1/session/destroy/" + session).status, 200)
        self.assertEqual(self.call("GET", "/v1/query/" + qid).status, 404)

    @unittest.skipIf(consul is None, "python3-consul is not installed for this interpreter")
    def test_python_consul(self):
        c = consul.Consul(host="127.0.0.1", port=self.agent.http_port)
        c.http.session.trust_env = False
        self.addCleanup(c.http.session.close)
        # python-consul always sends a name_prefix_match template.
        created = c.query.create("pgq", name="py-pg", tags=["primary"], ttl="7s")
        qid = created["ID"]
        listed = c.query.list()
        self.assertIn("py-pg", [q["Name"] for q in listed])
        self.assertEqual(c.query.get(qid)[0]["DNS"]["TTL"], "7s")
        run = c.query.execute("py-pg")
        self.assertEqual([n["Node"]["Node"] for n in run["Nodes"]], ["pq-a"])
        self.assertEqual(len(c.query.execute(qid, limit=1)["Nodes"]), 1)
        self.assertEqual(c.query.explain("py-pg")["Query"]["Name"], "py-pg")
        self.assertIs(c.query.update(qid, "pgq", name="py-pg", tags=["replica"]), True)
        self.assertEqual(sorted(n["Node"]["Node"] for n in c.query.execute("py-pg")["Nodes"]),
                         ["pq-b", "pq-d"])
        self.assertIs(c.query.delete(qid), True)
        self.assertNotIn("py-pg", [q["Name"] for q in c.query.list()])

    @unittest.skipIf(DIG is None, "dig (dnsutils) is not installed")
    def test_dns(self):
        self.create({"Name": "dns-pg", "Service": {"Service": "pgq", "Tags": ["replica"]},
                     "DNS": {"TTL": "9s"}})

        def dig(name, rtype, *flags):
            out = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.agent.dns_port), "+time=5",
                                  "+tries=2", name, rtype, *flags],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            return out.stdout

        short = sorted(dig("dns-pg.query.consul", "A", "+short").split())
        self.assertEqual(short, ["10.4.0.2", "10.4.0.4"])
        self.assertEqual(sorted(dig("DNS-PG.query.dc1.consul", "A", "+short").split()),
                         ["10.4.0.2", "10.4.0.4"])
        answer = dig("dns-pg.query.consul", "A", "+noall", "+answer")
        ttls = {line.split()[1] for line in answer.splitlines() if line.strip()}
        self.assertEqual(ttls, {"9"})
        srv = dig("dns-pg.query.consul", "SRV")
        self.assertIn("ANSWER: 2", srv)
        self.assertIn("5432 pq-b.node.dc1.consul.", srv)
        self.assertIn("10.4.0.4", srv.split("ADDITIONAL SECTION")[1])
        self.assertIn("status: NXDOMAIN", dig("no-such-query.query.consul", "A"))

    def test_queries_survive_a_restart(self):
        qid = self.create({"Name": "durable-q", "Service": {"Service": "pgq"}})
        self.agent.restart()
        self.assertEqual(self.call("GET", "/v1/query/" + qid).json()[0]["Name"], "durable-q")
        self.assertEqual(self.nodes("durable-q"), ["pq-a", "pq-b", "pq-d"])


if __name__ == "__main__":
    unittest.main()
