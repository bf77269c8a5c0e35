"""Client agents (`cairn agent` without -server, docs/agent.md "Client agents") on a real
3-server cluster (cluster.py) with 2 clients: KV put/get/CAS/txn/blocking query and a session lock
through a client, catalog and health reads, a service registered on a client seen from every
server over HTTP and DNS, /v1/agent/self on a client, and failover: kill -9 of the server a client
uses while writes go through the client, after which the client carries on through another one,
its in-flight blocking query resumes there and every acknowledged write reads back (the failover
times are printed, not asserted). Run with /usr/bin/python3."""
import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClientAgent, Cluster, wait_until  # noqa: E402
from harness import BackgroundRequest, binary, main  # noqa: E402

DIG = shutil.which("dig")


def start_clients(cluster, count, extra_args=()):
    """Starts client agents c1..c<count> joined to `cluster`'s servers; extra_args[i] (when
    given) is added to the command line of client i."""
    join = [s.rpc_address for s in cluster.members]
    clients = []
    for i in range(count):
        extra = list(extra_args[i]) if i < len(extra_args) else []
        client = ClientAgent(f"c{i + 1}", cluster.prefix + str(100 + i), cluster.root, join=join,
                             extra_args=extra)
        cluster.servers.append(client)  # cleanup() and logs() cover it
        clients.append(client)
    for client in clients:
        client.start()
    return clients


class ClientsTestCase(unittest.TestCase):
    """One cluster of 3 servers (config CONFIG) and client agents (CLIENT_ARGS: one list of extra
    arguments per client) for the whole class, in cls.cluster and cls.clients; cluster_ready()
    runs once they serve. A test fails when a process of the cluster crashed; a failed test
    prints the cluster's logs."""
    NAME = "clients"
    CONFIG = None
    CLIENT_ARGS = ((), ())

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = Cluster(3, name=cls.NAME, config=cls.CONFIG)
        try:
            cls.cluster.start()
            cls.clients = start_clients(cls.cluster, len(cls.CLIENT_ARGS), cls.CLIENT_ARGS)
            cls.cluster_ready()
        except BaseException:
            sys.stderr.write(cls.cluster.logs())
            cls.cluster.cleanup()
            raise

    @classmethod
    def cluster_ready(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()
        super().tearDownClass()

    def tearDown(self):
        crashed = self.cluster.crashed()
        if crashed:
            self.fail(f"crashed: {crashed}\n{self.cluster.logs()}")
        if self._has_failed():
            sys.stderr.write(f"\n===== cluster output during {self.id()} =====\n"
                             f"{self.cluster.logs()}\n===== end of cluster output =====\n")

    def _has_failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        failed = list(getattr(result, "failures", [])) + list(getattr(result, "errors", []))
        return any(test is self for test, _ in failed)


class ClusterWithClients(ClientsTestCase):
    """3 servers, 2 clients."""

    @classmethod
    def cluster_ready(cls):
        cls.c1, cls.c2 = cls.clients

    def setUp(self):
        self.p = self._testMethodName + "/"

    # ---- KV ----
    def test_kv_put_get_cas_txn_through_clients(self):
        key = self.p + "k"
        self.assertEqual(self.c1.put(f"/v1/kv/{key}", b"one").body, b"true")
        self.assertEqual(self.c2.kv_get(key)[0], "one")
        self.assertEqual(self.cluster.members[0].get(f"/v1/kv/{key}?raw").body, b"one")
        index = self.c2.get(f"/v1/kv/{key}").json()[0]["ModifyIndex"]
        self.assertEqual(self.c1.put(f"/v1/kv/{key}?cas={index + 99}", b"x").body, b"false")
        self.assertEqual(self.c1.put(f"/v1/kv/{key}?cas={index}", b"two").body, b"true")
        self.assertEqual(self.c2.get(f"/v1/kv/{key}?raw&stale").body, b"two")
        ops = [{"KV": {"Verb": "set", "Key": self.p + "t1",
                       "Value": base64.b64encode(b"a").decode()}},
               {"KV": {"Verb": "get", "Key": key}}]
        r = self.c2.put("/v1/txn", json.dumps(ops).encode())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json()["Results"]), 2)
        self.assertEqual(self.c1.get(f"/v1/kv/{self.p}t1?raw").body, b"a")
        self.assertEqual(self.c1.delete(f"/v1/kv/{key}").body, b"true")
        self.assertEqual(self.c1.get(f"/v1/kv/{key}").status, 404)

    def test_blocking_query_through_a_client_wakes_on_a_write_elsewhere(self):
        key = self.p + "b"
        self.c1.put(f"/v1/kv/{key}", b"1")
        index = self.c1.get(f"/v1/kv/{key}").index()
        req = BackgroundRequest(self.c1.http_port, "GET", f"/v1/kv/{key}?index={index}&wait=30s",
                                host=self.c1.ip).start()
        req.sent.wait(5)
        time.sleep(0.3)  # not a synchronisation: only makes a wrong early answer visible
        self.assertFalse(req.done.is_set(), "the blocking query returned before any write")
        self.cluster.members[1].put(f"/v1/kv/{key}", b"2")
        result = req.wait(20)
        self.assertEqual(result.status, 200)
        self.assertGreater(result.index(), index)
        self.assertEqual(base64.b64decode(result.json()[0]["Value"]), b"2")

    def test_session_lock_through_clients(self):
        key = self.p + "lock"
        r = self.c1.put("/v1/session/create", json.dumps({"Name": "l", "TTL": "30s"}).encode())
        self.assertEqual(r.status, 200, r)
        sid = r.json()["ID"]
        info = self.c2.get(f"/v1/session/info/{sid}").json()[0]
        self.assertEqual(info["Node"], "c1")  # the client's node, not the server's
        self.assertEqual(self.c1.put(f"/v1/kv/{key}?acquire={sid}", b"me").body, b"true")
        r2 = self.c2.put("/v1/session/create", b"{}").json()["ID"]
        self.assertEqual(self.c2.put(f"/v1/kv/{key}?acquire={r2}", b"you").body, b"false")
        self.assertEqual(self.c2.get(f"/v1/kv/{key}").json()[0]["Session"], sid)
        self.assertEqual(self.c1.put(f"/v1/kv/{key}?release={sid}", b"").body, b"true")
        self.assertEqual(self.c2.put(f"/v1/kv/{key}?acquire={r2}", b"you").body, b"true")

    # ---- catalog, health, DNS ----
    def test_catalog_and_health_list_the_clients(self):
        def registered():
            names = {n["Node"] for n in self.c1.get("/v1/catalog/nodes").json()}
            return {"c1", "c2", "s1", "s2", "s3"} <= names
        wait_until(registered, 30, "both clients to register their nodes")
        checks = self.c2.get("/v1/health/node/c1").json()
        self.assertEqual([(c["CheckID"], c["Status"]) for c in checks],
                         [("serfHealth", "passing")])

    def test_service_on_a_client_is_seen_everywhere(self):
        body = {"Name": "webc", "ID": "webc-1", "Port": 8080, "Tags": ["v1"],
                "Check": {"TTL": "30s", "CheckID": "webc-ttl"}}
        r = self.c1.put("/v1/agent/service/register", json.dumps(body).encode())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.c1.put("/v1/agent/check/pass/webc-ttl").status, 200)
        self.assertIn("webc-1", self.c1.get("/v1/agent/services").json())
        self.assertNotIn("webc-1", self.c2.get("/v1/agent/services").json())  # c2's own registry

        def everywhere():
            for agent in list(self.cluster.members) + [self.c2]:
                entries = agent.get("/v1/health/service/webc?passing&stale").json()
                if [(e["Node"]["Node"], e["Service"]["Port"]) for e in entries] != [("c1", 8080)]:
                    return False
            return True
        wait_until(everywhere, 30, "the client's service to be passing on every agent")
        if DIG is None:
            return

        def dns(ip, port):
            out = subprocess.run([DIG, f"@{ip}", "-p", str(port), "+short", "+time=2",
                                  "webc.service.consul"], capture_output=True, text=True,
                                 timeout=20)
            return out.stdout.split()
        for server in self.cluster.members:
            wait_until(lambda: dns(server.ip, 8600) == [self.c1.ip], 20, f"DNS on {server.name}")
        self.assertEqual(dns(self.c2.ip, self.c2.dns_port), [self.c1.ip])

    def test_agent_self_members_and_unknown_agent_paths(self):
        me = self.c1.get("/v1/agent/self").json()
        self.assertFalse(me["Config"]["Server"])
        self.assertEqual(me["Member"]["Tags"]["role"], "node")
        self.assertEqual(me["Config"]["NodeName"], "c1")
        members = self.c1.get("/v1/agent/members").json()
        self.assertIn(("c1", "node"), [(m["Name"], m["Tags"]["role"]) for m in members])
        self.assertEqual(self.c1.get("/v1/agent/nonexistent").status, 404)
        self.assertEqual(self.c1.get("/v1/status/leader").json(), self.cluster.leader().rpc_address)

    def test_join_gives_a_client_without_servers_its_cluster(self):
        """A client started without -retry-join knows no server; `cairn join <server>` against
        it answers as Consul's does and the client then serves KV and is a member."""
        c3 = ClientAgent("c3", self.cluster.prefix + "110", self.cluster.root)
        self.cluster.servers.append(c3)
        c3.spawn()
        def serving():
            c3.check_alive()
            try:
                return c3.get("/v1/agent/self").status == 200
            except OSError:
                return False
        wait_until(serving, 30, "c3 to serve its local API", interval=0.05)
        http = ["-http-addr", f"{c3.ip}:{c3.http_port}"]

        def join(*addresses):
            return subprocess.run([binary(), "join"] + http + list(addresses),
                                  capture_output=True, text=True, timeout=60)
        # A dead address (nothing listens on port 1) and a name that does not resolve.
        out = join(f"{c3.ip}:1")
        self.assertEqual(out.returncode, 1, out)
        self.assertIn("Failed to join", out.stderr)
        self.assertIn("Failed to join any nodes.", out.stderr)
        r = c3.put("/v1/agent/join/no-such-host.invalid")
        self.assertEqual(r.status, 500)
        self.assertTrue(r.text().startswith("1 error occurred:\n\t* Failed to resolve "
                                            "no-such-host.invalid"), r.text())
        self.assertEqual(c3.put("/v1/agent/join/").status, 400)
        server = self.cluster.members[1]
        out = join(server.rpc_address)
        self.assertEqual(out.returncode, 0, out)
        self.assertEqual(out.stdout, "Successfully joined cluster by contacting 1 nodes.\n")
        self.assertEqual(c3.put(f"/v1/kv/{self.p}k", b"via-join").body, b"true")
        self.assertEqual(self.cluster.members[0].get(f"/v1/kv/{self.p}k?raw").body, b"via-join")
        wait_until(lambda: any(m["Name"] == "c3" and m["Status"] == 1
                               for m in server.get("/v1/agent/members").json()), 30,
                   "the servers to list c3 alive")
        # Joining a server the client already knows is a no-op that succeeds (Consul: the same).
        self.assertEqual(self.c1.put(f"/v1/agent/join/{server.rpc_address}").status, 200)
        c3.kill()


class ClientFailover(unittest.TestCase):
    """kill -9 of the server a client uses (own cluster: this kills a server)."""

    def setUp(self):
        self.cluster = Cluster(3, name="clientfail")
        self.addCleanup(self.cluster.cleanup)
        self.cluster.start()
        (self.client,) = start_clients(self.cluster, 1)

    def test_kill_of_the_clients_server(self):
        client = self.client
        key = "failover/k"
        self.assertEqual(client.put(f"/v1/kv/{key}", b"before").body, b"true")
        index = client.get(f"/v1/kv/{key}").index()
        used = client.used_servers()[-1]
        victim = next(s for s in self.cluster.members if s.rpc_address == used)
        blocking = BackgroundRequest(client.http_port, "GET",
                                     f"/v1/kv/{key}?index={index}&wait=60s", host=client.ip,
                                     timeout=90).start()
        writer = Writer(client, "failover/w/").start()
        blocking.sent.wait(5)
        # The query must be waiting on the victim before it dies.
        wait_until(lambda: blocking.sent.is_set(), 5, "the blocking query to be sent")
        wait_until(lambda: writer.acknowledged(), 20, "a write through the client before the kill")
        time.sleep(0.2)  # not a synchronisation: lets the forwarded query reach the server
        killed_at = time.monotonic()
        victim.kill()
        self.cluster.members.remove(victim)

        wait_until(lambda: writer.acknowledged(sent_after=killed_at) >= 3, 60,
                   "writes through the client after the kill", interval=0.05)
        failover = writer.first_acknowledged(sent_after=killed_at) - killed_at
        print(f"\n[client failover] first write sent after kill -9 of {victim.name} ({used}) "
              f"was acknowledged {failover:.2f}s after the kill; client moved to "
              f"{client.used_servers()[-1]}", file=sys.stderr)
        self.assertNotEqual(client.used_servers()[-1], used)
        self.assertFalse(blocking.done.is_set(), f"blocking query ended early: {blocking.result}")
        survivor = self.cluster.members[0]
        self.assertEqual(survivor.put(f"/v1/kv/{key}", b"after").body, b"true")
        result = blocking.wait(30)
        woke = time.monotonic() - killed_at
        print(f"[client failover] the in-flight blocking query resumed on the new server and "
              f"answered {woke:.2f}s after the kill", file=sys.stderr)
        self.assertEqual(result.status, 200, result)
        self.assertEqual(base64.b64decode(result.json()[0]["Value"]), b"after")
        writer.stop()
        # Nothing acknowledged is lost: every acknowledged key reads back on the survivors.
        for k, value in writer.acked.items():
            self.assertEqual(survivor.get(f"/v1/kv/{k}?raw&consistent").body, value, k)
        print(f"[client failover] {len(writer.acked)} writes acknowledged through the client, "
              f"all read back; {len(writer.unknown)} answered that they may or may not have been "
              f"applied, {len(writer.refused)} No cluster leader, {len(writer.failed)} failed "
              f"otherwise", file=sys.stderr)
        for k, why in writer.failed.items():
            self.fail(f"write {k} through the client failed: {why}")


class Writer:
    """Writes keys <prefix>00000, 00001, ... through `agent` one after another in a thread,
    recording which were acknowledged (200 true); which answered a 500 saying they may or may
    not have been applied (the client's "outcome unknown", or a follower whose leader died under
    the forwarded write) or that there is no leader (during the election): allowed while a server
    dies; and which failed otherwise."""

    def __init__(self, agent, prefix):
        self.agent, self.prefix = agent, prefix
        self.acked = {}     # key -> value
        self.sent_at = {}   # acknowledged key -> (sent, acknowledged) monotonic times
        self.unknown = []   # applied or not
        self.refused = []   # not applied: no leader yet
        self.failed = {}    # key -> what came back
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(60)

    def acknowledged(self, sent_after=0.0):
        return sum(1 for sent, _ in list(self.sent_at.values()) if sent > sent_after)

    def first_acknowledged(self, sent_after):
        return min(done for sent, done in list(self.sent_at.values()) if sent > sent_after)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            key, value = f"{self.prefix}{i:05d}", f"v{i}".encode()
            i += 1
            sent = time.monotonic()
            try:
                r = self.agent.put(f"/v1/kv/{key}", value, timeout=30)
            except (OSError, http.client.HTTPException) as e:
                self.failed[key] = repr(e)
                continue
            if r.status == 200 and r.body == b"true":
                self.acked[key] = value
                self.sent_at[key] = (sent, time.monotonic())
            elif r.status == 500 and b"may or may not have been applied" in r.body:
                self.unknown.append(key)
            elif r.status == 500 and b"No cluster leader" in r.body:
                self.refused.append(key)
            else:
                self.failed[key] = repr(r)


if __name__ == "__main__":
    main()
