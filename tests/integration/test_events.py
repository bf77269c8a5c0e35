"""User events against a real agent (docs/consul-api.md §8): fire/list shapes, filters and their
errors, the 512-byte limit, blocking lists (index = XOR of the last UUID's halves, "differs"
rule) and python-consul's event calls. Run with /usr/bin/python3."""
import base64
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, BackgroundRequest, wait_until  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None

EVENT_KEYS = ["ID", "Name", "Payload", "NodeFilter", "ServiceFilter", "TagFilter", "Version",
              "LTime"]


def uuid_index(uuid):
    return int(uuid[0:8] + uuid[9:13] + uuid[14:18], 16) ^ int(uuid[19:23] + uuid[24:36], 16)


class Events(AgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node = cls.agent.get("/v1/agent/self").json()["Config"]["NodeName"]

    def fire(self, name, payload=None, query="", status=200):
        # Clients percent-encode regexps; the HTTP edge refuses raw '[', '^', ... in a query.
        query = urllib.parse.quote(query, safe="=&%")
        path = "/v1/event/fire/" + name + (("?" + query) if query else "")
        r = self.agent.put(path, payload)
        self.assertStatus(r, status)
        return r.json() if status == 200 else r.text()

    def names(self, query=""):
        r = self.agent.get("/v1/event/list" + (("?" + query) if query else ""))
        self.assertStatus(r, 200)
        return [e["Name"] for e in r.json()]

    def test_fire_shape(self):
        e = self.fire("deploy", b"v1.2")
        self.assertEqual(list(e.keys()), EVENT_KEYS)
        self.assertRegex(e["ID"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-")
        self.assertEqual((e["Name"], base64.b64decode(e["Payload"]), e["Version"], e["LTime"]),
                         ("deploy", b"v1.2", 1, 0))
        self.assertIsNone(self.fire("empty")["Payload"])
        e = self.fire("filtered", query="node=.*&service=web&tag=v%5B0-9%5D")
        self.assertEqual((e["NodeFilter"], e["ServiceFilter"], e["TagFilter"]),
                         (".*", "web", "v[0-9]"))

    def test_list_oldest_first_with_ltime_and_index(self):
        a, b = self.fire("order-a"), self.fire("order-b")
        r = self.agent.get("/v1/event/list")
        self.assertConsulReadHeaders(r)
        events = r.json()
        ids = [e["ID"] for e in events]
        self.assertLess(ids.index(a["ID"]), ids.index(b["ID"]))
        ltimes = [e["LTime"] for e in events]
        self.assertEqual(ltimes, sorted(ltimes))
        self.assertGreater(ltimes[-1], 0)
        self.assertEqual(r.index(), uuid_index(events[-1]["ID"]))
        named = self.agent.get("/v1/event/list?name=order-a")
        self.assertEqual([e["ID"] for e in named.json()], [a["ID"]])
        self.assertEqual(named.index(), uuid_index(a["ID"]))
        none = self.agent.get("/v1/event/list?name=never-fired")
        self.assertEqual((none.json(), none.index()), ([], 1))

    def test_filters_decide_which_agents_list_the_event(self):
        self.fire("for-me", query=f"node=^{self.node}$")
        self.fire("not-me", query="node=^someone-else$")
        self.fire("no-service", query="service=^no-such-service$")
        names = self.names()
        self.assertIn("for-me", names)
        self.assertNotIn("not-me", names)
        self.assertNotIn("no-service", names)

    def test_errors(self):
        self.assertEqual(self.fire("x", query="tag=a", status=500),
                         "Cannot provide tag filter without service filter")
        self.assertTrue(self.fire("x", query="node=(", status=500)
                        .startswith("Invalid node filter: "))
        # Percent-encoded, as clients send it (a raw '[' in the query is refused by the edge).
        self.assertTrue(self.fire("x", query="service=%5B", status=500)
                        .startswith("Invalid service filter: "))
        self.assertEqual(self.fire("", status=400), "Missing name")
        self.assertStatus(self.agent.put("/v1/event/fire/big", b"x" * 513), 413)
        self.assertEqual(len(base64.b64decode(self.fire("max", b"y" * 512)["Payload"])), 512)
        self.assertStatus(self.agent.get("/v1/event/fire/x"), 405)

    def test_blocking_list_returns_when_the_index_differs(self):
        self.fire("blk-0")
        r = self.agent.get("/v1/event/list?name=blk")
        index = r.index()  # 1: no "blk" event yet
        waiter = BackgroundRequest(self.agent.http_port, "GET",
                                   f"/v1/event/list?name=blk&index={index}&wait=30s").start()
        waiter.sent.wait(5)
        time.sleep(0.3)
        self.fire("unrelated")  # wakes the waiter, but its index stays 1
        time.sleep(0.3)
        self.assertFalse(waiter.done.is_set())
        e = self.fire("blk")
        r = waiter.wait(20)
        self.assertEqual([x["ID"] for x in r.json()], [e["ID"]])
        self.assertEqual(r.index(), uuid_index(e["ID"]))
        # An index that is lower than the current one but different returns at once.
        r2 = self.agent.get(f"/v1/event/list?name=blk&index={r.index() - 1}&wait=30s")
        self.assertEqual(r2.index(), r.index())
        # Same index: waits for the wait time.
        t0 = time.monotonic()
        r3 = self.agent.get(f"/v1/event/list?name=blk&index={r.index()}&wait=1s")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(r3.index(), r.index())

    @__import__("unittest").skipIf(consul is None, "python3-consul is not installed")
    def test_python_consul_event_calls(self):
        c = consul.Consul(host="127.0.0.1", port=self.agent.http_port)
        c.http.session.trust_env = False
        self.addCleanup(c.http.session.close)
        self.assertEqual(c.event.fire("py-event", "hello")["Name"], "py-event")
        self.assertEqual(c.event.fire("py-node", node=self.node)["NodeFilter"], self.node)
        index, events = c.event.list(name="py-event")
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["Payload"], b"hello")
        self.assertEqual(int(index), uuid_index(events[0]["ID"]))
        index2, events2 = c.event.list(name="py-event", index=index, wait="1s")
        self.assertEqual(index2, index)


if __name__ == "__main__":
    harness.main()
