"""python-consul 0.7.1 (Debian python3-consul), unmodified, against the real binary."""
import threading
import time
import unittest

import consul

from agent_process import Agent

agent = None


def setUpModule():
    global agent
    agent = Agent().start()


def tearDownModule():
    agent.cleanup()


class PythonConsulKv(unittest.TestCase):
    def setUp(self):
        self.c = consul.Consul(host="127.0.0.1", port=agent.port)

    def test_put_get_flags(self):
        self.assertTrue(self.c.kv.put("py/a", "hello", flags=9))
        index, data = self.c.kv.get("py/a")
        self.assertEqual(data["Value"], b"hello")
        self.assertEqual(data["Flags"], 9)
        self.assertGreater(int(index), 0)

    def test_missing_key_returns_none_with_index(self):
        index, data = self.c.kv.get("py/missing")
        self.assertIsNone(data)
        self.assertGreater(int(index), 0)

    def test_cas(self):
        self.assertTrue(self.c.kv.put("py/cas", "1", cas=0))
        self.assertFalse(self.c.kv.put("py/cas", "2", cas=0))
        _, data = self.c.kv.get("py/cas")
        self.assertTrue(self.c.kv.put("py/cas", "3", cas=data["ModifyIndex"]))

    def test_recurse_keys_separator(self):
        for k in ["py/t/a", "py/t/b/c", "py/t/b/d"]:
            self.c.kv.put(k, "v")
        _, data = self.c.kv.get("py/t/", recurse=True)
        self.assertEqual([d["Key"] for d in data], ["py/t/a", "py/t/b/c", "py/t/b/d"])
        _, keys = self.c.kv.get("py/t/", keys=True, separator="/")
        self.assertEqual(keys, ["py/t/a", "py/t/b/"])

    def test_consistency_modes(self):
        self.c.kv.put("py/cons", "v")
        for mode in ["default", "consistent", "stale"]:
            _, data = self.c.kv.get("py/cons", consistency=mode)
            self.assertEqual(data["Value"], b"v")

    def test_delete_recurse_and_cas(self):
        self.c.kv.put("py/d/a", "1")
        self.c.kv.put("py/d/b", "1")
        _, data = self.c.kv.get("py/d/a")
        self.assertFalse(self.c.kv.delete("py/d/a", cas=data["ModifyIndex"] + 1000))
        self.assertTrue(self.c.kv.delete("py/d/a", cas=data["ModifyIndex"]))
        self.assertTrue(self.c.kv.delete("py/d/", recurse=True))
        self.assertIsNone(self.c.kv.get("py/d/", recurse=True)[1])

    def test_blocking_get_woken_by_put(self):
        self.c.kv.put("py/watch", "1")
        index, _ = self.c.kv.get("py/watch")
        result = {}

        def watch():
            result["value"] = self.c.kv.get("py/watch", index=index, wait="30s")

        t = threading.Thread(target=watch)
        started = time.monotonic()
        t.start()
        time.sleep(0.2)
        self.c.kv.put("py/watch", "2")
        t.join(30)
        new_index, data = result["value"]
        self.assertGreater(int(new_index), int(index))
        self.assertEqual(data["Value"], b"2")
        self.assertLess(time.monotonic() - started, 30)

    def test_txn(self):
        if not hasattr(self.c, "txn"):
            self.skipTest("this python-consul has no txn API")
        import base64
        out = self.c.txn.put([{"KV": {"Verb": "set", "Key": "py/txn", "Value": base64.b64encode(b"t").decode()}}])
        self.assertIsNone(out["Errors"])

    def test_status_and_agent_self(self):
        self.assertTrue(self.c.status.leader())
        self.assertEqual(len(self.c.status.peers()), 1)
        self.assertEqual(self.c.agent.self()["Config"]["Datacenter"], "dc1")


if __name__ == "__main__":
    unittest.main()
