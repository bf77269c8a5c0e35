"""The catalog, health and DNS on a real 3-server cluster (cluster.py): every server registers
itself with serfHealth, registrations through any server are read on every other, blocking
health queries on a follower wake on a write through another server, DNS on a follower answers
from its replicated catalog, the leader marks a lost server's serfHealth critical (and passing
once it is back), the catalog survives the loss of the leader, and python-consul (agent, TTL
check, health, session, lock, event calls) works through a follower. Run with
/usr/bin/python3."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClusterTestCase, wait_until  # noqa: E402
from harness import BackgroundRequest, main  # noqa: E402

DIG = shutil.which("dig")

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None


class ClusterCatalog(ClusterTestCase):
    def register(self, server, node, service, address="10.4.0.1", status="passing"):
        body = {"Node": node, "Address": address,
                "Service": {"Service": service, "Port": 7000},
                "Check": {"Name": service, "Status": status, "ServiceID": service}}
        r = server.put("/v1/catalog/register", json.dumps(body))
        self.assertEqual(r.status, 200, repr(r))

    def entries(self, server, service, query="?consistent"):
        r = server.get(f"/v1/health/service/{service}{query}")
        self.assertEqual(r.status, 200, repr(r))
        return r

    def test_every_server_registers_itself(self):
        names = sorted(s.name for s in self.cluster.members)

        def all_listed():
            nodes = self.cluster.members[0].get("/v1/catalog/nodes?consistent").json()
            return sorted(n["Node"] for n in nodes) == names
        wait_until(all_listed, 30, "every server in /v1/catalog/nodes")
        for s in self.cluster.members:
            checks = s.get(f"/v1/health/node/{s.name}?consistent").json()
            self.assertEqual([(c["CheckID"], c["Status"]) for c in checks],
                             [("serfHealth", "passing")], s.name)

    def test_registration_through_a_follower_is_read_everywhere(self):
        leader = self.cluster.leader()
        writer, reader = self.cluster.followers(leader)
        self.register(writer, "app-1", "billing")
        for s in (leader, writer, reader):
            [entry] = self.entries(s, "billing").json()
            self.assertEqual(entry["Node"]["Node"], "app-1")

    def test_blocking_query_on_a_follower_wakes_on_a_write_elsewhere(self):
        leader = self.cluster.leader()
        watcher, writer = self.cluster.followers(leader)
        self.register(writer, "app-1", "search")
        index = self.entries(watcher, "search").index()
        req = BackgroundRequest(watcher.http_port, "GET",
                                f"/v1/health/service/search?index={index}&wait=30s",
                                host=watcher.ip).start()
        req.sent.wait(10)
        self.register(leader, "app-2", "search")
        result = req.wait(20)
        self.assertGreater(result.index(), index)
        self.assertEqual(len(result.json()), 2)

    @unittest.skipIf(DIG is None, "dig (dnsutils) is not installed")
    def test_dns_on_a_follower(self):
        leader = self.cluster.leader()
        follower = self.cluster.followers(leader)[0]
        self.register(leader, "app-1", "cache", address="10.4.0.7")
        self.register(leader, "app-2", "cache", address="10.4.0.8", status="critical")

        def answered():
            out = subprocess.run([DIG, f"@{follower.ip}", "-p", "8600", "+short", "+time=2",
                                  "cache.service.consul"], capture_output=True, text=True,
                                 timeout=20)
            return out.stdout.split() == ["10.4.0.7"]
        wait_until(answered, 20, "the follower's DNS to answer from its replicated catalog")

    def test_servers_register_the_consul_service(self):
        """Every server registers service `consul` on its own node (port = its server port),
        visible through the catalog, health (passing) and DNS on every server."""
        want = sorted((m.name, m.server_port) for m in self.cluster.members)

        def catalog(server):
            return sorted((e["Node"], e["ServicePort"])
                          for e in server.get("/v1/catalog/service/consul?consistent").json())

        def passing(server):
            entries = server.get("/v1/health/service/consul?passing&consistent").json()
            return sorted((e["Node"]["Node"], e["Service"]["Port"]) for e in entries)
        for s in self.cluster.members:
            wait_until(lambda s=s: catalog(s) == want, 30,
                       f"the consul service of every server on {s.name}")
            wait_until(lambda s=s: passing(s) == want, 30,
                       f"every consul instance passing on {s.name}")
        [entry] = [e for e in self.cluster.members[0].get("/v1/catalog/service/consul").json()
                   if e["Node"] == self.cluster.members[0].name]
        self.assertEqual(entry["ServiceID"], "consul")
        self.assertEqual(entry["ServiceTags"], [])
        self.assertEqual(entry["ServiceMeta"]["raft_version"], "3")
        if DIG is None:
            return
        ips = sorted(m.ip for m in self.cluster.members)
        for s in self.cluster.members:
            def answered(s=s):
                out = subprocess.run([DIG, f"@{s.ip}", "-p", "8600", "+short", "+time=2",
                                      "consul.service.consul"], capture_output=True, text=True,
                                     timeout=20)
                return sorted(out.stdout.split()) == ips
            wait_until(answered, 20, f"consul.service.consul on {s.name}")

    def test_members_join_and_force_leave_on_a_cluster(self):
        """members lists the three servers alike on every server; join accepts this cluster's
        servers only; force-leave of a server points at remove-peer."""
        for s in self.cluster.members:
            members = s.get("/v1/agent/members").json()
            self.assertEqual(sorted(m["Name"] for m in members),
                             sorted(m.name for m in self.cluster.members))
            self.assertTrue(all(m["Tags"]["role"] == "consul" for m in members))
        a, b = self.cluster.members[0], self.cluster.members[1]
        self.assertEqual(a.put(f"/v1/agent/join/{b.rpc_address}").status, 200)
        r = a.put("/v1/agent/join/127.0.0.1:1")
        self.assertEqual(r.status, 500)
        self.assertIn("not a server of this cluster", r.text())
        r = a.put(f"/v1/agent/force-leave/{b.name}")
        self.assertEqual(r.status, 500)
        self.assertIn("remove-peer", r.text())

    @unittest.skipIf(consul is None, "python3-consul is not installed for this interpreter")
    def test_python_consul_through_a_follower(self):
        leader = self.cluster.leader()
        follower = self.cluster.followers(leader)[0]
        c = consul.Consul(host=follower.ip, port=follower.http_port)
        c.http.session.trust_env = False
        self.addCleanup(c.http.session.close)
        wait_until(lambda: self.serf_health(leader, follower.name) == "passing", 30,
                   "the follower to register itself")
        self.assertTrue(c.agent.service.register("api", port=9000, ttl="30s"))
        c.agent.check.ttl_pass("service:api")
        wait_until(lambda: len(c.health.service("api", passing=True)[1]) == 1, 20,
                   "the passing instance in the replicated catalog")
        sid = c.session.create(name="leader-election", ttl=10)
        self.assertTrue(c.kv.put("service/api/leader", follower.name, acquire=sid))
        index, entry = c.kv.get("service/api/leader", consistency="consistent")
        self.assertEqual(entry["Session"], sid)
        self.assertEqual(c.session.info(sid)[1]["Node"], follower.name)
        self.assertTrue(c.session.destroy(sid))
        self.assertIsNone(c.kv.get("service/api/leader")[1].get("Session"))
        c.event.fire("deploy", "v2")
        wait_until(lambda: [e["Name"] for e in c.event.list()[1]] == ["deploy"], 10,
                   "the event in the follower's list")

    def serf_health(self, server, node):
        checks = server.get(f"/v1/health/node/{node}?consistent").json()
        return next((c["Status"] for c in checks if c["CheckID"] == "serfHealth"), None)

    def test_a_lost_server_turns_critical_and_recovers(self):
        leader = self.cluster.leader()
        follower = self.cluster.followers(leader)[0]
        wait_until(lambda: self.serf_health(leader, follower.name) == "passing", 30,
                   "the follower to register itself")
        follower.kill()
        wait_until(lambda: self.serf_health(leader, follower.name) == "critical", 60,
                   "the leader to mark the lost server critical")
        follower.start()
        wait_until(lambda: self.serf_health(leader, follower.name) == "passing", 60,
                   "the restarted server to be passing again")

    def test_catalog_survives_losing_the_leader(self):
        leader = self.cluster.leader()
        self.register(leader, "app-1", "queue")
        leader.kill()
        rest = [s for s in self.cluster.members if s is not leader]
        self.cluster.wait_for_leader(servers=rest)
        for s in rest:
            self.assertEqual(len(self.entries(s, "queue").json()), 1, s.name)
        self.register(rest[0], "app-2", "queue")
        self.assertEqual(len(self.entries(rest[1], "queue").json()), 2)


if __name__ == "__main__":
    main()
