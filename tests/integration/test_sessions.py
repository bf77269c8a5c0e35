"""Sessions, KV locks and lock delays against a real agent (docs/consul-api.md §7, §12): the
/v1/session/* shapes and error texts, TTL expiry (2 × TTL), Behavior release/delete, lock-delay,
lock contention between clients, python-consul's session calls and a Patroni-like sequence.
Run with /usr/bin/python3."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, BackgroundRequest, wait_until  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None

SESSION_KEYS = ["ID", "Name", "Node", "LockDelay", "Behavior", "TTL", "NodeChecks",
                "ServiceChecks", "CreateIndex", "ModifyIndex"]


class SessionTestCase(AgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The agent registers itself (node + passing serfHealth) shortly after start.
        wait_until(lambda: cls.agent.put("/v1/session/create", b'{"Checks":[]}').status == 200,
                   30, "the agent's node registration")
        cls.node = cls.agent.get("/v1/agent/self").json()["Config"]["NodeName"]

    def create(self, body=None, status=200):
        data = None if body is None else json.dumps(body).encode()
        r = self.agent.put("/v1/session/create", data)
        self.assertStatus(r, status)
        if status != 200:
            return r.text()
        self.assertEqual(list(r.json().keys()), ["ID"])
        sid = r.json()["ID"]
        self.addCleanup(lambda: self.agent.put("/v1/session/destroy/" + sid))
        return sid

    def info(self, sid):
        r = self.agent.get("/v1/session/info/" + sid)
        self.assertStatus(r, 200)
        self.assertConsulReadHeaders(r)
        return r.json()

    def acquire(self, key, sid, value=b"v", query=""):
        r = self.agent.put(harness.kv_url(key, f"acquire={sid}" + query), value)
        return r

    def kv(self, key):
        r = self.agent.get(harness.kv_url(key))
        return r.json()[0] if r.status == 200 else None


class Shapes(SessionTestCase):
    def test_create_defaults_and_read_shape(self):
        sid = self.create()
        self.assertRegex(sid, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        [s] = self.info(sid)
        self.assertEqual(list(s.keys()), SESSION_KEYS)
        self.assertEqual(s["ID"], sid)
        self.assertEqual(s["Name"], "")
        self.assertEqual(s["Node"], self.node)
        self.assertEqual(s["LockDelay"], 15_000_000_000)
        self.assertEqual(s["Behavior"], "release")
        self.assertEqual(s["TTL"], "")
        self.assertEqual(s["NodeChecks"], ["serfHealth"])
        self.assertIsNone(s["ServiceChecks"])
        self.assertEqual(s["CreateIndex"], s["ModifyIndex"])

    def test_create_lowercase_keys_and_lock_delay_forms(self):
        sid = self.create({"name": "n", "lockdelay": "0.001s", "behavior": "delete",
                           "ttl": "15.0s", "checks": []})
        [s] = self.info(sid)
        self.assertEqual((s["Name"], s["LockDelay"], s["Behavior"], s["TTL"], s["NodeChecks"]),
                         ("n", 1_000_000, "delete", "15.0s", []))
        self.assertEqual(self.info(self.create({"LockDelay": 5}))[0]["LockDelay"], 5_000_000_000)
        self.assertEqual(self.info(self.create({"LockDelay": "15000ms"}))[0]["LockDelay"],
                         15_000_000_000)

    def test_list_node_and_unknown(self):
        a, b = self.create({"Name": "a"}), self.create({"Name": "b"})
        r = self.agent.get("/v1/session/list")
        self.assertStatus(r, 200)
        self.assertConsulReadHeaders(r)
        ids = {s["ID"] for s in r.json()}
        self.assertTrue({a, b} <= ids)
        r = self.agent.get("/v1/session/node/" + self.node)
        self.assertTrue({a, b} <= {s["ID"] for s in r.json()})
        self.assertEqual(self.agent.get("/v1/session/node/no-such-node").json(), [])
        self.assertEqual(self.info("00000000-0000-4000-8000-000000000000"), [])
        self.assertEqual(self.agent.get("/v1/session/list?stale").headers.get(
            "X-Consul-Effective-Consistency"), "stale")

    def test_renew_and_destroy(self):
        sid = self.create({"TTL": "30s"})
        r = self.agent.put("/v1/session/renew/" + sid)
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), self.info(sid))
        r = self.agent.put("/v1/session/destroy/" + sid)
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), True)
        self.assertEqual(self.info(sid), [])
        r = self.agent.put("/v1/session/renew/" + sid)
        self.assertStatus(r, 404)
        self.assertEqual(r.text(), f"Session id '{sid}' not found")
        self.assertEqual(self.agent.put("/v1/session/destroy/" + sid).json(), True)
        r = self.agent.put("/v1/session/destroy/")
        self.assertStatus(r, 400)
        self.assertEqual(r.text(), "Missing session")

    def test_errors(self):
        self.assertEqual(self.create({"Behavior": "keep"}, 500), "Invalid Behavior setting 'keep'")
        self.assertEqual(self.create({"TTL": "5s"}, 500),
                         "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]")
        self.assertEqual(self.create({"TTL": "86401s"}, 500),
                         "Invalid Session TTL '86401000000000', must be between [10s=24h0m0s]")
        self.assertEqual(self.create({"Checks": ["nope"]}, 500), "Missing check 'nope' registration")
        self.assertEqual(self.create({"Node": "ghost"}, 500), "Missing node registration")
        self.assertTrue(self.create({"TTL": "{"}, 500).startswith("Session TTL"))
        r = self.agent.put("/v1/session/create", b"{")
        self.assertStatus(r, 400)
        self.assertTrue(r.text().startswith("Request decode failed"), r.text())
        self.assertStatus(self.agent.get("/v1/session/create"), 405)

    def test_blocking_list_wakes_on_create(self):
        index = self.agent.get("/v1/session/list").index()
        waiter = BackgroundRequest(self.agent.http_port, "GET",
                                   f"/v1/session/list?index={index}&wait=30s").start()
        waiter.sent.wait(5)
        time.sleep(0.2)  # let the query register before the change (a wake-up is checked below)
        sid = self.create({"Name": "wake"})
        r = waiter.wait(20)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), index)
        self.assertIn(sid, {s["ID"] for s in r.json()})
        self.assertLess(waiter.elapsed, 25)


class Locks(SessionTestCase):
    def test_acquire_release_and_errors(self):
        a, b = self.create(), self.create()
        key = "locks/basic"
        self.assertEqual(self.acquire(key, a, b"mine", "&flags=7").json(), True)
        e = self.kv(key)
        self.assertEqual((e["Session"], e["LockIndex"], e["Flags"]), (a, 1, 7))
        self.assertEqual(self.acquire(key, b).json(), False)
        self.assertEqual(self.acquire(key, a, b"again").json(), True)  # re-acquire: same lock
        self.assertEqual(self.kv(key)["LockIndex"], 1)
        r = self.acquire(key, "00000000-0000-4000-8000-000000000000")
        self.assertStatus(r, 500)
        self.assertEqual(r.text(), 'invalid session "00000000-0000-4000-8000-000000000000"')
        self.assertEqual(self.agent.put(harness.kv_url(key, "release=" + b)).json(), False)
        self.assertEqual(self.agent.put(harness.kv_url(key, "release=" + a)).json(), True)
        self.assertNotIn("Session", self.kv(key))
        self.assertEqual(self.acquire(key, b).json(), True)  # a voluntary release: no delay
        self.assertEqual(self.kv(key)["LockIndex"], 2)
        r = self.agent.put(harness.kv_url(key, f"acquire={a}&cas=1"))
        self.assertStatus(r, 400)

    def test_behavior_release_and_delete_on_destroy(self):
        rel, dele = self.create({"LockDelay": "0s"}), self.create({"Behavior": "delete",
                                                                  "LockDelay": "0s"})
        self.assertEqual(self.acquire("locks/rel", rel, b"kept").json(), True)
        self.assertEqual(self.acquire("locks/del", dele, b"gone").json(), True)
        before = self.kv("locks/rel")["ModifyIndex"]
        self.agent.put("/v1/session/destroy/" + rel)
        self.agent.put("/v1/session/destroy/" + dele)
        e = self.kv("locks/rel")
        self.assertNotIn("Session", e)
        self.assertEqual(harness.base64.b64decode(e["Value"]), b"kept")
        self.assertGreater(e["ModifyIndex"], before)
        self.assertIsNone(self.kv("locks/del"))

    def test_lock_delay_blocks_acquire_after_invalidation(self):
        a = self.create({"LockDelay": "3s"})
        b = self.create()
        self.assertEqual(self.acquire("locks/delay", a).json(), True)
        destroyed = time.monotonic()
        self.agent.put("/v1/session/destroy/" + a)
        self.assertEqual(self.acquire("locks/delay", b).json(), False)
        txn = self.agent.put("/v1/txn", json.dumps(
            [{"KV": {"Verb": "lock", "Key": "locks/delay", "Session": b}}]))
        self.assertStatus(txn, 409)
        self.assertIn('due to lock delay', txn.text())
        wait_until(lambda: self.acquire("locks/delay", b).json(), 30, "the lock delay to end",
                   interval=0.2)
        self.assertGreaterEqual(time.monotonic() - destroyed, 2.9)

    def test_txn_lock_and_unlock(self):
        a = self.create()
        ops = [{"KV": {"Verb": "lock", "Key": "locks/txn", "Value": harness.b64("t"),
                       "Session": a}}]
        r = self.agent.put("/v1/txn", json.dumps(ops))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["Results"][0]["KV"]["Session"], a)
        ops[0]["KV"]["Verb"] = "unlock"
        self.assertStatus(self.agent.put("/v1/txn", json.dumps(ops)), 200)
        self.assertNotIn("Session", self.kv("locks/txn"))
        ops[0]["KV"].update(Verb="lock", Session="nope")
        r = self.agent.put("/v1/txn", json.dumps(ops))
        self.assertStatus(r, 409)
        self.assertIn('invalid session', r.text())

    def test_contention_between_clients_has_one_winner(self):
        sessions = [self.create() for _ in range(6)]
        results = {}
        start = threading.Barrier(len(sessions))

        def contend(sid):
            start.wait()
            results[sid] = self.acquire("locks/contended", sid).json()

        threads = [threading.Thread(target=contend, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(results.values()), [False] * 5 + [True])
        winner = [s for s, won in results.items() if won][0]
        self.assertEqual(self.kv("locks/contended")["Session"], winner)


class TtlExpiry(SessionTestCase):
    def test_ttl_session_is_invalidated_after_twice_its_ttl(self):
        sid = self.create({"TTL": "10s", "LockDelay": "0s", "Behavior": "delete"})
        created = time.monotonic()
        self.assertEqual(self.acquire("ttl/held", sid).json(), True)
        renewed = self.create({"TTL": "10s"})
        # Never invalidated before 2 × TTL; renewing keeps the other alive.
        wait_until(lambda: time.monotonic() - created > 15, 20, "15 s", interval=0.5)
        self.assertEqual(len(self.info(sid)), 1)
        self.assertStatus(self.agent.put("/v1/session/renew/" + renewed), 200)
        wait_until(lambda: self.info(sid) == [], 40, "the TTL expiry", interval=0.25)
        self.assertGreaterEqual(time.monotonic() - created, 19.5)
        self.assertIsNone(self.kv("ttl/held"))  # Behavior delete
        self.assertEqual(len(self.info(renewed)), 1)
        r = self.agent.put("/v1/session/renew/" + sid)
        self.assertStatus(r, 404)


from cluster import ClusterTestCase  # noqa: E402


class ClusterTtl(ClusterTestCase):
    """TTL clocks on a 3-server cluster: renewals through followers, and a leader change that
    restarts every clock (the session outlives the old leader's deadline, then expires)."""

    def test_ttl_expiry_survives_and_restarts_on_leader_change(self):
        leader = self.cluster.leader()
        follower = self.cluster.followers(leader)[0]
        body = json.dumps({"TTL": "10s", "Checks": [], "LockDelay": "0s"}).encode()
        r = wait_until(lambda: (lambda x: x if x.status == 200 else None)(
            follower.put("/v1/session/create", body)), 30, "a session through a follower")
        sid = r.json()["ID"]
        self.assertEqual(follower.put(harness.kv_url("c/lock", "acquire=" + sid), b"x").json(),
                         True)
        self.assertStatus(follower.put("/v1/session/renew/" + sid), 200)
        renewed = time.monotonic()
        # Kill the leader 8 s into the clock: without the reset the session would expire about
        # 12 s after the kill; with it, not before 20 s after the new leader took over.
        wait_until(lambda: time.monotonic() - renewed >= 8, 20, "8 s", interval=0.2)
        killed = time.monotonic()
        leader.kill()
        survivors = [s for s in self.cluster.members if s is not leader]
        self.cluster.wait_for_leader(servers=survivors)

        def gone():
            r = follower.get("/v1/session/info/" + sid)
            return r.status == 200 and r.json() == []
        wait_until(gone, 90, "the session to expire under the new leader", interval=0.25)
        # The new leader restarted the clock when it took over, after the kill.
        self.assertGreaterEqual(time.monotonic() - killed, 19.5)
        entry = follower.get(harness.kv_url("c/lock")).json()[0]
        self.assertNotIn("Session", entry)

    def assertStatus(self, result, status):
        self.assertEqual(result.status, status, repr(result))


@__import__("unittest").skipIf(consul is None, "python3-consul is not installed for "
                                                "this interpreter (use /usr/bin/python3)")
class PythonConsulSessions(SessionTestCase):
    def client(self):
        c = consul.Consul(host="127.0.0.1", port=self.agent.http_port)
        c.http.session.trust_env = False
        self.addCleanup(c.http.session.close)
        return c

    def test_session_calls(self):
        c = self.client()
        sid = c.session.create(name="py", lock_delay=1, behavior="delete", ttl=20)
        self.addCleanup(lambda: c.session.destroy(sid))
        index, s = c.session.info(sid)
        self.assertGreater(int(index), 0)
        self.assertEqual((s["Name"], s["LockDelay"], s["Behavior"], s["TTL"]),
                         ("py", 1_000_000_000, "delete", "20s"))
        self.assertIn(sid, [x["ID"] for x in c.session.list()[1]])
        self.assertIn(sid, [x["ID"] for x in c.session.node(self.node)[1]])
        self.assertEqual(c.session.renew(sid)["ID"], sid)
        self.assertIs(c.kv.put("py/lock", "v", acquire=sid), True)
        self.assertIs(c.kv.put("py/lock", "v", release=sid), True)
        self.assertIs(c.session.destroy(sid), True)
        self.assertIsNone(c.session.info(sid)[1])
        with self.assertRaises(consul.NotFound):
            c.session.renew(sid)
        with self.assertRaises(consul.ConsulException):
            c.session.create(checks=["nope"])
        default = c.session.create()
        self.addCleanup(lambda: c.session.destroy(default))
        self.assertEqual(c.session.info(default)[1]["NodeChecks"], ["serfHealth"])

    def test_patroni_like_sequence(self):
        h = {"X-Consul-Token": "ignored"}
        body = {"name": "pg-m1", "checks": [], "lockdelay": "0.001s", "behavior": "delete",
                "ttl": "15.0s"}
        r = self.agent.put("/v1/session/create", json.dumps(body).encode(), headers=h)
        self.assertStatus(r, 200)
        sid = r.json()["ID"]
        self.addCleanup(lambda: self.agent.put("/v1/session/destroy/" + sid))
        self.assertStatus(self.agent.put("/v1/session/renew/" + sid, headers=h), 200)
        self.assertStatus(self.agent.get("/v1/kv/service/pg/?recurse=1&consistent=1"), 404)
        leader = "service/pg/leader"
        self.assertEqual(self.agent.put(harness.kv_url(leader, "acquire=" + sid), b"m1").json(),
                         True)
        self.assertEqual(self.agent.put(harness.kv_url("service/pg/members/m1", "acquire=" + sid),
                                        b'{"role":"primary"}').json(), True)
        r = self.agent.get("/v1/kv/service/pg/?recurse=1&consistent=1")
        self.assertEqual({e["Key"] for e in r.json()}, {leader, "service/pg/members/m1"})
        self.assertStatus(self.agent.put("/v1/session/renew/" + sid), 200)
        self.assertEqual(self.agent.put(harness.kv_url(leader, "acquire=" + sid), b"m1").json(),
                         True)  # keep leadership
        idx = self.kv(leader)["ModifyIndex"]
        watch = BackgroundRequest(self.agent.http_port, "GET",
                                  f"/v1/kv/{leader}?index={idx}&wait=10.0s").start()
        watch.sent.wait(5)
        self.assertEqual(self.agent.put(harness.kv_url(leader, "release=" + sid)).json(), True)
        self.assertNotIn("Session", watch.wait(20).json()[0])
        r = self.agent.put(harness.kv_url(leader, "acquire=deadbeef"))
        self.assertStatus(r, 500)
        self.assertTrue(r.text().startswith("invalid session"))


if __name__ == "__main__":
    harness.main()
