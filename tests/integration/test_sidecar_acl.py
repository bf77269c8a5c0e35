"""ACLs on the sidecar's registration path (docs/security.md, "Client agents and sidecars"): one
server with ACLs on (default deny) and cairn-sidecar processes registering over gRPC. A sidecar
whose token may write only its own service registers it; the same token in a pod annotated with
another service is refused (PERMISSION_DENIED, logged as blocked by ACLs, the secret never in the
log); a sidecar without a token registers no service. Run with /usr/bin/python3."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_sidecar as sc  # noqa: E402  (a module: its tests are not collected here)
from cluster import Cluster, wait_until  # noqa: E402
from harness import main  # noqa: E402

MANAGEMENT = "5d0a1f3e-0b5c-4c44-9e2b-6a3f2f0c0001"
SIDECAR_SECRET = "5d0a1f3e-0b5c-4c44-9e2b-6a3f2f0c0002"
# What cairn-operator gives the sidecars of one service (operator/security.h, sidecarPolicy).
WEB_RULES = 'service "web" { policy = "write" }\nnode_prefix "" { policy = "write" }\n'


class SidecarAclTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.path.exists(sc.sidecar_binary()):
            raise unittest.SkipTest(f"cairn-sidecar not found at {sc.sidecar_binary()}")
        cls.cluster = Cluster(1, name="sidecar-acl", config={
            "acl": {"enabled": True, "default_policy": "deny",
                    "tokens": {"initial_management": MANAGEMENT}}})
        cls.next_ip = 150
        try:
            cls.cluster.start()
            cls.server = cls.cluster.members[0]
            cls.put("/v1/acl/policy", {"Name": "sidecar-web", "Rules": WEB_RULES})
            cls.put("/v1/acl/token", {"SecretID": SIDECAR_SECRET,
                                      "Policies": [{"Name": "sidecar-web"}]})
        except BaseException:
            sys.stderr.write(cls.cluster.logs())
            cls.cluster.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()
        super().tearDownClass()

    @classmethod
    def put(cls, path, body):
        r = cls.server.request("PUT", path, json.dumps(body), {"X-Consul-Token": MANAGEMENT})
        assert r.status == 200, f"PUT {path}: {r.status} {r.text()}"
        return r.json()

    def instances(self, service):
        r = self.server.request("GET", f"/v1/catalog/service/{service}", None,
                                {"X-Consul-Token": MANAGEMENT})
        self.assertEqual(r.status, 200, r.text())
        return r.json()

    def start_sidecar(self, pod, service, token):
        ip = self.cluster.prefix + str(SidecarAclTest.next_ip)
        SidecarAclTest.next_ip += 1
        car = sc.Sidecar(pod, ip, self.cluster.root, [self.server.rpc_address],
                         {"cairn.io/service-name": service, "cairn.io/service-port": "8080"})
        if token:
            car.extra_env["CONSUL_HTTP_TOKEN"] = token
        self.cluster.servers.append(car)  # cleanup() and logs() cover it
        car.start()
        self.addCleanup(lambda: car.kill() if car.alive() else None)
        return car

    def wait_blocked(self, car):
        wait_until(lambda: "blocked by ACLs" in car.logs(limit=10 ** 6), 30,
                   f"{car.name} to log a refusal")
        log = car.logs(limit=10 ** 6)
        self.assertIn("Permission denied", log)
        self.assertNotIn(SIDECAR_SECRET, log)
        self.assertNotIn(MANAGEMENT, log)
        return log

    def test_a_service_token_registers_its_own_service(self):
        car = self.start_sidecar("web-1", "web", SIDECAR_SECRET)
        wait_until(lambda: [e["ServiceID"] for e in self.instances("web")] == ["web-1-web"], 30,
                   "web-1's instance in the catalog")
        self.assertEqual(self.instances("web")[0]["Node"], car.node)

    def test_the_same_token_cannot_register_another_service(self):
        car = self.start_sidecar("db-1", "db", SIDECAR_SECRET)
        log = self.wait_blocked(car)
        self.assertIn("lacks permission 'service:write' on \"db\"", log)
        self.assertEqual(self.instances("db"), [])

    def test_without_a_token_nothing_is_registered(self):
        car = self.start_sidecar("api-1", "web", None)
        log = self.wait_blocked(car)
        self.assertIn("anonymous token", log)
        self.assertEqual([e for e in self.instances("web") if e["Node"] == car.node], [])
        # The node itself may be listed: membership (the heartbeats) registers every member, as
        # Consul's leader does for Serf members. Its services are anti-entropy's, and none came.
        r = self.server.request("GET", f"/v1/catalog/node-services/{car.node}", None,
                                {"X-Consul-Token": MANAGEMENT})
        if r.status == 200 and r.json():
            self.assertEqual(r.json().get("Services") or [], [])

if __name__ == "__main__":
    main()
