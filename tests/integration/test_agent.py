"""The local registry over HTTP (docs/consul-api.md §6, §11, §12; docs/agent.md): service and
check registration, HTTP/TCP/TTL checks against servers this test runs on 127.0.0.1, TTL
updates and expiry, maintenance, deregistration, persistence across a restart, the local health
endpoint, members, and python-consul 0.7.1's agent calls. Run with /usr/bin/python3."""
import http.server
import json
import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Agent, AgentTestCase, wait_until  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None

WAIT = 30.0


class Target:
    """An HTTP server (status settable) and a TCP listener on 127.0.0.1."""

    def __init__(self):
        self.status = 200
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = f"status {target.status}".encode()
                self.send_response(target.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer((harness.HOST, 0), Handler)
        self.http_port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.tcp = socket.socket()
        self.tcp.bind((harness.HOST, 0))
        self.tcp.listen(16)
        self.tcp_port = self.tcp.getsockname()[1]

    def close_tcp(self):
        self.tcp.close()

    def close(self):
        self.http.shutdown()
        self.http.server_close()
        self.tcp.close()


class AgentApi:
    """Helpers shared by the test classes (self.agent is an harness.Agent)."""

    def put_json(self, path, body):
        return self.agent.put(path, json.dumps(body))

    def register(self, body, query=""):
        r = self.put_json("/v1/agent/service/register" + query, body)
        self.assertEqual(r.status, 200, r)
        return r

    def checks(self):
        r = self.agent.get("/v1/agent/checks")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def check_status(self, check_id):
        return self.checks().get(check_id, {}).get("Status")

    def catalog_check(self, service, check_id):
        r = self.agent.get(f"/v1/health/service/{service}")
        if r.status != 200:
            return None
        for entry in r.json():
            for c in entry["Checks"]:
                if c["CheckID"] == check_id:
                    return c
        return None

    def wait_status(self, service, check_id, status):
        """Both the agent and the catalog (through anti-entropy) report `status`."""
        wait_until(lambda: self.check_status(check_id) == status, WAIT,
                   f"agent check {check_id} {status}")
        wait_until(lambda: (self.catalog_check(service, check_id) or {}).get("Status") == status,
                   WAIT, f"catalog check {check_id} {status}")


class AgentHttpTests(AgentApi, AgentTestCase):
    agent_args = ("-check-update-interval", "0s")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.target = Target()

    @classmethod
    def tearDownClass(cls):
        cls.target.close()
        super().tearDownClass()

    def test_node_and_serf_health_registered(self):
        node = self.agent.get("/v1/agent/self").json()["Config"]["NodeName"]
        def serf():
            r = self.agent.get(f"/v1/health/node/{node}")
            return [c for c in r.json() if c["CheckID"] == "serfHealth"]
        checks = wait_until(serf, WAIT, "serfHealth in the catalog")
        self.assertEqual(checks[0]["Status"], "passing")
        self.assertEqual(checks[0]["Name"], "Serf Health Status")
        self.assertEqual(checks[0]["Output"], "Agent alive and reachable")
        nodes = self.agent.get("/v1/catalog/nodes").json()
        me = [n for n in nodes if n["Node"] == node][0]
        self.assertEqual(set(me["TaggedAddresses"]), {"lan", "lan_ipv4", "wan", "wan_ipv4"})

    def test_http_and_tcp_checks(self):
        t = self.target
        self.register({"Name": "hweb", "ID": "hweb1", "Port": t.http_port,
                       "Checks": [{"HTTP": f"http://127.0.0.1:{t.http_port}/health",
                                   "Interval": "1s"},
                                  {"tcp": f"127.0.0.1:{t.tcp_port}", "interval": "1s"}]})
        services = self.agent.get("/v1/agent/services").json()
        self.assertEqual(services["hweb1"]["Service"], "hweb")
        self.assertEqual(services["hweb1"]["Port"], t.http_port)
        checks = self.checks()
        self.assertEqual(checks["service:hweb1:1"]["Type"], "http")
        self.assertEqual(checks["service:hweb1:2"]["Type"], "tcp")
        self.assertEqual(checks["service:hweb1:1"]["Name"], "Service 'hweb' check")
        self.wait_status("hweb", "service:hweb1:1", "passing")
        self.wait_status("hweb", "service:hweb1:2", "passing")
        self.assertIn("200", self.checks()["service:hweb1:1"]["Output"])
        t.status = 500
        self.wait_status("hweb", "service:hweb1:1", "critical")
        t.status = 429
        self.wait_status("hweb", "service:hweb1:1", "warning")
        t.status = 200
        self.wait_status("hweb", "service:hweb1:1", "passing")
        passing = self.agent.get("/v1/health/service/hweb?passing").json()
        self.assertEqual(len(passing), 1)

    def test_tcp_check_fails_when_listener_closes(self):
        s = socket.socket()
        s.bind((harness.HOST, 0))
        s.listen(4)
        port = s.getsockname()[1]
        self.register({"name": "tcpsvc", "check": {"tcp": f"127.0.0.1:{port}", "interval": "1s"}})
        self.wait_status("tcpsvc", "service:tcpsvc", "passing")
        s.close()
        self.wait_status("tcpsvc", "service:tcpsvc", "critical")

    def test_ttl_pass_warn_fail_update_and_expiry(self):
        self.register({"name": "ttlsvc", "check": {"ttl": "3s"}})
        cid = "service:ttlsvc"
        self.assertEqual(self.check_status(cid), "critical")
        self.assertEqual(self.agent.put(f"/v1/agent/check/pass/{cid}?note=fine").status, 200)
        self.wait_status("ttlsvc", cid, "passing")
        self.assertEqual(self.checks()[cid]["Output"], "fine")
        self.assertEqual(self.agent.get(f"/v1/agent/check/warn/{cid}").status, 200)  # GET alias
        self.wait_status("ttlsvc", cid, "warning")
        self.assertEqual(self.agent.put(f"/v1/agent/check/fail/{cid}").status, 200)
        self.wait_status("ttlsvc", cid, "critical")
        r = self.put_json(f"/v1/agent/check/update/{cid}", {"Status": "passing", "Output": "up"})
        self.assertEqual(r.status, 200, r)
        self.wait_status("ttlsvc", cid, "passing")
        wait_until(lambda: (self.catalog_check("ttlsvc", cid) or {}).get("Output") == "up", WAIT,
                   "output in the catalog")
        r = self.put_json(f"/v1/agent/check/update/{cid}", {"Status": "fine"})
        self.assertEqual((r.status, r.text()), (400, "Invalid check status: 'fine'"))
        r = self.agent.put("/v1/agent/check/pass/nope")
        self.assertEqual(r.status, 500)
        self.assertEqual(r.text(), 'CheckID "nope" does not have associated TTL')
        self.wait_status("ttlsvc", cid, "critical")  # expired after 3 s
        self.assertIn("TTL expired", self.checks()[cid]["Output"])

    def test_check_register_and_deregister(self):
        self.register({"name": "cr"})
        r = self.put_json("/v1/agent/check/register",
                          {"Name": "extra", "ServiceID": "cr", "TTL": "60s", "Status": "passing"})
        self.assertEqual(r.status, 200, r)
        self.wait_status("cr", "extra", "passing")
        r = self.put_json("/v1/agent/check/register",
                          {"Name": "x", "ServiceID": "nope", "TTL": "5s"})
        self.assertEqual((r.status, r.text()), (404, 'ServiceID "nope" does not exist'))
        r = self.put_json("/v1/agent/check/register", {"TTL": "5s"})
        self.assertEqual((r.status, r.text()), (400, "Missing check name"))
        self.assertEqual(self.agent.get("/v1/agent/check/deregister/extra").status, 200)
        self.assertNotIn("extra", self.checks())
        wait_until(lambda: self.catalog_check("cr", "extra") is None, WAIT, "check removed")
        self.assertEqual(self.agent.put("/v1/agent/check/deregister/extra").status, 404)

    def test_registration_errors(self):
        r = self.put_json("/v1/agent/service/register", {"Port": 1})
        self.assertEqual((r.status, r.text()), (400, "Missing service name"))
        r = self.put_json("/v1/agent/service/register", {"Name": "a", "Address": "0.0.0.0"})
        self.assertEqual(r.status, 400)
        r = self.put_json("/v1/agent/service/register", {"Name": "a", "Meta": {"consul-x": "1"}})
        self.assertEqual(r.status, 400)
        self.assertTrue(r.text().startswith("Invalid Service Meta"), r)
        r = self.put_json("/v1/agent/service/register",
                          {"Name": "a", "Check": {"Args": ["/bin/true"], "Interval": "5s"}})
        self.assertEqual(r.status, 400)
        self.assertTrue(r.text().startswith("Scripts are disabled on this agent"), r)
        r = self.put_json("/v1/agent/service/register", {"Name": "a", "Check": {"HTTP": "x"}})
        self.assertEqual(r.status, 400)
        self.assertNotIn("a", self.agent.get("/v1/agent/services").json())

    def test_deregister_service(self):
        self.register({"Name": "gone", "Check": {"TTL": "30s"}})
        wait_until(lambda: self.agent.get("/v1/catalog/service/gone").json(), WAIT, "in catalog")
        self.assertEqual(self.agent.put("/v1/agent/service/deregister/gone").status, 200)
        self.assertNotIn("gone", self.agent.get("/v1/agent/services").json())
        self.assertNotIn("service:gone", self.checks())
        wait_until(lambda: self.agent.get("/v1/catalog/service/gone").json() == [], WAIT,
                   "removed from the catalog")
        self.assertEqual(self.agent.get("/v1/agent/service/deregister/gone").status, 404)

    def test_service_read_and_filter(self):
        self.register({"Name": "rd", "ID": "rd1", "Tags": ["x"], "Meta": {"env": "prod"}})
        r = self.agent.get("/v1/agent/service/rd1")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.json()["ContentHash"]), 16)
        self.assertEqual(self.agent.get("/v1/agent/service/nope").status, 404)
        r = self.agent.get("/v1/agent/services?filter=" +
                           harness.urllib.parse.quote('Meta.env == "prod"'))
        self.assertEqual(list(r.json()), ["rd1"])

    def test_maintenance(self):
        self.register({"Name": "mnt", "Check": {"TTL": "60s", "Status": "passing"}})
        r = self.agent.put("/v1/agent/service/maintenance/mnt?enable=true&reason=fixing")
        self.assertEqual(r.status, 200, r)
        c = wait_until(lambda: self.catalog_check("mnt", "_service_maintenance:mnt"), WAIT,
                       "service maintenance in catalog")
        self.assertEqual((c["Status"], c["Notes"]), ("critical", "fixing"))
        self.assertEqual(self.agent.get("/v1/health/service/mnt?passing").json(), [])
        r = self.agent.get("/v1/agent/health/service/name/mnt?format=text")
        self.assertEqual((r.status, r.text()), (503, "maintenance"))
        self.assertEqual(self.agent.put("/v1/agent/service/maintenance/mnt?enable=false").status,
                         200)
        wait_until(lambda: self.catalog_check("mnt", "_service_maintenance:mnt") is None, WAIT,
                   "service maintenance off")
        self.assertEqual(self.agent.put("/v1/agent/service/maintenance/nope?enable=true").status,
                         404)
        self.assertEqual(self.agent.put("/v1/agent/maintenance").status, 400)
        self.assertEqual(self.agent.put("/v1/agent/maintenance?enable=true").status, 200)
        c = wait_until(lambda: self.catalog_check("mnt", "_node_maintenance"), WAIT,
                       "node maintenance in catalog")
        self.assertIn("no reason was provided", c["Notes"])
        self.assertEqual(self.agent.put("/v1/agent/maintenance?enable=false").status, 200)
        wait_until(lambda: self.catalog_check("mnt", "_node_maintenance") is None, WAIT,
                   "node maintenance off")

    def test_local_health_endpoint(self):
        self.register({"Name": "lh", "ID": "lh1", "Check": {"TTL": "60s"}})
        r = self.agent.get("/v1/agent/health/service/id/lh1")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["AggregatedStatus"], "critical")
        self.agent.put("/v1/agent/check/warn/service:lh1")
        self.assertEqual(self.agent.get("/v1/agent/health/service/id/lh1").status, 429)
        self.agent.put("/v1/agent/check/pass/service:lh1")
        r = self.agent.get("/v1/agent/health/service/name/lh")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()[0]["Service"]["ID"], "lh1")
        self.assertEqual(self.agent.get("/v1/agent/health/service/name/none").status, 404)
        self.assertEqual(self.agent.get("/v1/agent/health/service/id/none").status, 404)

    def test_members_join_reload(self):
        members = self.agent.get("/v1/agent/members").json()
        self.assertEqual(len(members), 1)
        self.assertEqual(members[0]["Status"], 1)
        self.assertEqual(members[0]["Tags"]["role"], "consul")
        self.assertEqual(self.agent.put("/v1/agent/reload").status, 200)
        # A server "joins" only its own cluster's servers (docs/agent.md, "Membership").
        self.assertEqual(self.agent.get("/v1/agent/join/127.0.0.1").status, 200)
        r = self.agent.put("/v1/agent/join/10.9.9.9")
        self.assertEqual(r.status, 500)
        self.assertIn("not a server of this cluster", r.text())
        r = self.agent.put("/v1/agent/force-leave/nobody")
        self.assertEqual(r.status, 500)
        self.assertIn("No node found with name 'nobody'", r.text())

    @unittest.skipUnless(os.environ.get("CAIRN_SLOW_TESTS"),
                         "DeregisterCriticalServiceAfter has a 1m minimum (and a 30s reaper): "
                         "set CAIRN_SLOW_TESTS=1 to run it (~100 s); the unit tests cover it")
    def test_deregister_critical_service_after(self):
        self.register({"Name": "reap",
                       "Check": {"TTL": "1s", "DeregisterCriticalServiceAfter": "1m"}})
        wait_until(lambda: "reap" not in self.agent.get("/v1/agent/services").json(), 150,
                   "service reaped", interval=1)
        wait_until(lambda: self.agent.get("/v1/catalog/service/reap").json() == [], WAIT,
                   "reaped in the catalog")


class AgentPersistenceTests(AgentApi, unittest.TestCase):
    def test_registry_survives_restart(self):
        self.agent = Agent(name="persist")
        self.addCleanup(self.agent.cleanup)
        self.agent.start()
        self.register({"Name": "keep", "ID": "keep1", "Tags": ["t"],
                       "Check": {"TTL": "10m"}})
        self.assertEqual(self.agent.put("/v1/agent/check/warn/service:keep1?note=half").status, 200)
        self.assertEqual(self.agent.put("/v1/agent/maintenance?enable=true&reason=r").status, 200)
        self.wait_status("keep", "service:keep1", "warning")
        self.agent.restart()
        self.assertIn("keep1", self.agent.get("/v1/agent/services").json())
        checks = self.checks()
        self.assertEqual(checks["service:keep1"]["Status"], "warning")
        self.assertEqual(checks["service:keep1"]["Output"], "half")
        self.assertEqual(checks["_node_maintenance"]["Notes"], "r")
        self.wait_status("keep", "service:keep1", "warning")
        self.agent.restart(hard=True)
        self.assertIn("keep1", self.agent.get("/v1/agent/services").json())


@unittest.skipIf(consul is None, "python3-consul is not installed for this interpreter")
class PythonConsulAgentTests(AgentApi, AgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.target = Target()

    @classmethod
    def tearDownClass(cls):
        cls.target.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.c = consul.Consul(host=harness.HOST, port=self.agent.http_port)
        self.c.http.session.trust_env = False
        self.addCleanup(self.c.http.session.close)

    def test_service_register_checks_and_deregister(self):
        t, a = self.target, self.c.agent
        self.assertTrue(a.service.register(
            "pyweb", service_id="pyweb1", port=t.http_port, tags=["v1"],
            check=consul.Check.http(f"http://127.0.0.1:{t.http_port}/", "1s", timeout="1s",
                                    deregister="90m")))
        self.assertTrue(a.service.register(
            "pytcp", check=consul.Check.tcp("127.0.0.1", t.tcp_port, "1s")))
        self.assertTrue(a.service.register("pyttl", check=consul.Check.ttl("30s")))
        services = a.services()
        self.assertEqual(services["pyweb1"]["Tags"], ["v1"])
        self.assertIn("pytcp", services)
        self.wait_status("pyweb", "service:pyweb1", "passing")
        self.wait_status("pytcp", "service:pytcp", "passing")
        self.assertTrue(a.check.ttl_pass("service:pyttl", "ok"))
        self.wait_status("pyttl", "service:pyttl", "passing")
        self.assertTrue(a.check.ttl_warn("service:pyttl"))
        self.wait_status("pyttl", "service:pyttl", "warning")
        self.assertTrue(a.check.ttl_fail("service:pyttl", "bad"))
        self.wait_status("pyttl", "service:pyttl", "critical")
        self.assertEqual(a.checks()["service:pyttl"]["Output"], "bad")
        self.assertTrue(a.check.register("pycheck", consul.Check.ttl("30s"), service_id="pyttl",
                                         notes="n"))
        self.assertEqual(a.checks()["pycheck"]["Notes"], "n")
        self.assertTrue(a.check.deregister("pycheck"))
        self.assertNotIn("pycheck", a.checks())
        with self.assertRaises(consul.base.BadRequest):
            a.service.register("pyscript", check=consul.Check.script("true", "10s"))
        self.assertTrue(a.service.maintenance("pyttl", True, "m"))
        self.assertIn("_service_maintenance:pyttl", a.checks())
        self.assertTrue(a.service.maintenance("pyttl", False))
        self.assertTrue(a.maintenance(True, "node"))
        self.assertTrue(a.maintenance(False))
        for sid in ("pyweb1", "pytcp", "pyttl"):
            self.assertTrue(a.service.deregister(sid))
        self.assertEqual(set(a.services()) & {"pyweb1", "pytcp", "pyttl"}, set())
        wait_until(lambda: self.c.catalog.service("pyweb")[1] == [], WAIT, "catalog cleaned")

    def test_members_and_self(self):
        members = self.c.agent.members()
        self.assertEqual(members[0]["Status"], 1)
        me = self.c.agent.self()
        self.assertEqual(me["Config"]["Datacenter"], "dc1")
        self.assertEqual(members[0]["Name"], me["Config"]["NodeName"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
