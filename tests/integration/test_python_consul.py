"""python-consul 0.7.1 (Debian python3-consul) against a real agent: every KV call it makes,
status and agent/self (docs/consul-api.md §12). The same tests run twice: against a `-dev`
server, and against a client agent (no -server) whose server is a one-server cluster
(docs/agent.md, "Client agents"). Run with /usr/bin/python3."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster  # noqa: E402
import harness  # noqa: E402
from harness import AgentTestCase, Timer  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None


@__import__("unittest").skipIf(consul is None, "python3-consul is not installed for "
                                                "this interpreter (use /usr/bin/python3)")
class PythonConsulTests(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.client()
        self.p = self._testMethodName + "/"

    def client(self, **kw):
        c = consul.Consul(host="127.0.0.1", port=self.agent.http_port, **kw)
        c.http.session.trust_env = False  # never route loopback through a proxy
        self.addCleanup(c.http.session.close)
        return c

    def test_put_get(self):
        key = self.p + "a"
        self.assertIs(self.c.kv.put(key, "hello"), True)
        index, data = self.c.kv.get(key)
        self.assertEqual(data["Key"], key)
        self.assertEqual(data["Value"], b"hello")
        self.assertEqual(data["Flags"], 0)
        self.assertEqual(data["LockIndex"], 0)
        self.assertNotIn("Session", data)
        self.assertEqual(int(index), data["ModifyIndex"])
        self.assertEqual(data["CreateIndex"], data["ModifyIndex"])

    def test_get_missing_returns_index_and_none(self):
        index, data = self.c.kv.get(self.p + "missing")
        self.assertIsNone(data)
        self.assertGreater(int(index), 0)

    def test_none_and_binary_values(self):
        self.assertIs(self.c.kv.put(self.p + "none", None), True)
        self.assertIsNone(self.c.kv.get(self.p + "none")[1]["Value"])
        blob = bytes(range(256))
        self.assertIs(self.c.kv.put(self.p + "bin", blob), True)
        self.assertEqual(self.c.kv.get(self.p + "bin")[1]["Value"], blob)

    def test_special_keys(self):
        for i, name in enumerate(("a b", "a:b", "50%", "a@b", "caf\u00e9", "x.json", "q?x=1",
                                  "scope%2Fname", "dir/")):
            key = f"{self.p}{i}/{name}"
            self.assertIs(self.c.kv.put(key, name.encode()), True, key)
            _, data = self.c.kv.get(key)
            self.assertIsNotNone(data, key)
            self.assertEqual(data["Key"], key)
            self.assertEqual(data["Value"], name.encode())

    def test_flags(self):
        key = self.p + "f"
        self.assertIs(self.c.kv.put(key, "v", flags=42), True)
        self.assertEqual(self.c.kv.get(key)[1]["Flags"], 42)
        self.assertIs(self.c.kv.put(key, "v2"), True)
        self.assertEqual(self.c.kv.get(key)[1]["Flags"], 0)

    def test_cas(self):
        key = self.p + "c"
        self.assertIs(self.c.kv.put(key, "1", cas=0), True)
        self.assertIs(self.c.kv.put(key, "2", cas=0), False)
        _, data = self.c.kv.get(key)
        self.assertIs(self.c.kv.put(key, "3", cas=data["ModifyIndex"] + 1000), False)
        self.assertIs(self.c.kv.put(key, "3", cas=data["ModifyIndex"]), True)
        self.assertEqual(self.c.kv.get(key)[1]["Value"], b"3")
        self.assertIs(self.c.kv.put(self.p + "nope", "x", cas=7), False)

    def test_recurse(self):
        for n in ("b", "a", "c/d"):
            self.c.kv.put(self.p + n, n)
        self.c.kv.put(self.p[:-1] + "x", "outside")
        index, data = self.c.kv.get(self.p, recurse=True)
        self.assertEqual([d["Key"] for d in data], [self.p + "a", self.p + "b", self.p + "c/d"])
        self.assertEqual([d["Value"] for d in data], [b"a", b"b", b"c/d"])
        self.assertEqual(int(index), max(d["ModifyIndex"] for d in data))
        self.assertIsNone(self.c.kv.get(self.p + "none/", recurse=True)[1])

    def test_keys_and_separator(self):
        for n in ("bar", "foo", "sub/a", "sub/b"):
            self.c.kv.put(self.p + n, "v")
        _, keys = self.c.kv.get(self.p, keys=True)
        self.assertEqual(keys, [self.p + n for n in ("bar", "foo", "sub/a", "sub/b")])
        _, keys = self.c.kv.get(self.p, keys=True, separator="/")
        self.assertEqual(keys, [self.p + "bar", self.p + "foo", self.p + "sub/"])

    def test_consistency_modes(self):
        key = self.p + "c"
        self.c.kv.put(key, "v")
        for mode in ("default", "consistent", "stale"):
            self.assertEqual(self.c.kv.get(key, consistency=mode)[1]["Value"], b"v", mode)
            self.assertEqual(self.client(consistency=mode).kv.get(key)[1]["Value"], b"v", mode)

    def test_token_and_dc(self):
        dc = self.c.agent.self()["Config"]["Datacenter"]
        c = self.client(token="some-token", dc=dc)
        self.assertIs(c.kv.put(self.p + "t", "v"), True)
        self.assertEqual(c.kv.get(self.p + "t")[1]["Value"], b"v")
        self.assertIs(c.kv.delete(self.p + "t"), True)

    def test_delete(self):
        key = self.p + "d"
        self.c.kv.put(key, "v")
        self.assertIs(self.c.kv.delete(key), True)
        self.assertIsNone(self.c.kv.get(key)[1])
        self.assertIs(self.c.kv.delete(key), True)

    def test_delete_recurse(self):
        for n in ("a", "b/c", "b/d"):
            self.c.kv.put(self.p + n, "v")
        self.c.kv.put(self.p[:-1] + "-keep", "v")
        self.assertIs(self.c.kv.delete(self.p, recurse=True), True)
        self.assertIsNone(self.c.kv.get(self.p, recurse=True)[1])
        self.assertIsNotNone(self.c.kv.get(self.p[:-1] + "-keep")[1])

    def test_delete_cas(self):
        key = self.p + "dc"
        self.c.kv.put(key, "v")
        _, data = self.c.kv.get(key)
        self.assertIs(self.c.kv.delete(key, cas=0), False)
        self.assertIs(self.c.kv.delete(key, cas=data["ModifyIndex"] + 1000), False)
        self.assertIsNotNone(self.c.kv.get(key)[1])
        self.assertIs(self.c.kv.delete(key, cas=data["ModifyIndex"]), True)
        self.assertIsNone(self.c.kv.get(key)[1])

    def test_blocking_get_times_out_with_same_index(self):
        key = self.p + "w"
        self.c.kv.put(key, "v")
        index, _ = self.c.kv.get(key)
        with Timer() as t:
            index2, data = self.c.kv.get(key, index=index, wait="2s")
        self.assertGreaterEqual(t.elapsed, 1.5)
        self.assertLess(t.elapsed, 10)
        self.assertEqual(index2, index)
        self.assertEqual(data["Value"], b"v")

    def test_blocking_get_woken_by_put(self):
        key = self.p + "w"
        self.c.kv.put(key, "v1")
        index, _ = self.c.kv.get(key)
        out = {}

        def watch():
            out["result"] = self.client().kv.get(key, index=index, wait="30s")
            out["at"] = time.monotonic()

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        self.assertIs(self.c.kv.put(key, "v2"), True)
        put_at = time.monotonic()
        t.join(20)
        self.assertFalse(t.is_alive(), "the blocking get was not woken by the put")
        new_index, data = out["result"]
        self.assertGreater(int(new_index), int(index))
        self.assertEqual(data["Value"], b"v2")
        self.assertLess(out["at"] - put_at, 10)

    def test_blocking_get_on_missing_key_woken_by_create(self):
        key = self.p + "later"
        index, data = self.c.kv.get(key)
        self.assertIsNone(data)
        out = {}
        t = threading.Thread(target=lambda: out.update(
            r=self.client().kv.get(key, index=index, wait="30s")), daemon=True)
        t.start()
        self.c.kv.put(key, "born")
        t.join(20)
        self.assertFalse(t.is_alive(), "the blocking get was not woken by the create")
        new_index, data = out["r"]
        self.assertGreater(int(new_index), int(index))
        self.assertEqual(data["Value"], b"born")

    def test_acquire_with_unknown_session_raises(self):
        key = self.p + "lock"
        self.c.kv.put(key, "v")
        with self.assertRaises((consul.ConsulException, ValueError)):
            self.c.kv.put(key, "mine", acquire="adf4238a-882b-9ddc-4a9d-5b6758e4159e")
        self.assertEqual(self.c.kv.get(key)[1]["Value"], b"v")

    def test_txn_if_available(self):
        if not hasattr(self.c, "txn"):
            self.skipTest("python-consul 0.7.1 has no txn API")
        import base64
        key = self.p + "t"
        result = self.c.txn.put([{"KV": {"Verb": "set", "Key": key,
                                         "Value": base64.b64encode(b"v").decode()}}])
        self.assertIsNone(result["Errors"])
        self.assertEqual(self.c.kv.get(key)[1]["Value"], b"v")

    def test_status_leader_and_peers(self):
        leader = self.c.status.leader()
        self.assertEqual(leader, f"127.0.0.1:{self.agent.server_port}")
        self.assertEqual(self.c.status.peers(), [leader])

    def test_agent_self(self):
        config = self.c.agent.self()["Config"]
        self.assertIsInstance(config["Datacenter"], str)
        self.assertNotEqual(config["Datacenter"], "")


class _ClientAgentShim:
    """What AgentTestCase needs of `agent`, for a client agent in front of a one-server cluster:
    the client's HTTP port, the server's RPC port, logs of both, and the client's process."""

    def __init__(self, name):
        self.cluster = cluster.Cluster(1, name=name)
        self.client = cluster.ClientAgent("c1", "127.0.0.1", self.cluster.root,
                                          join=[self.cluster.members[0].rpc_address])
        self.cluster.servers.append(self.client)

    def start(self):
        if self.client.proc is None:
            self.cluster.start()
        self.client.start()

    @property
    def http_port(self):
        return self.client.http_port

    @property
    def proc(self):
        return self.client.proc

    @property
    def expected_exit(self):
        return self.client.expected_exit

    def log_offsets(self):
        return self.cluster.log_offsets()

    def logs(self, since=None):
        return self.cluster.logs(since=since)

    def cleanup(self):
        self.cluster.cleanup()


class PythonConsulThroughClientTests(PythonConsulTests):
    """Every test above, against a client agent: its requests travel to the server over gRPC."""

    @classmethod
    def setUpClass(cls):
        super(AgentTestCase, cls).setUpClass()  # not its own: no -dev agent here
        cls.agent = _ClientAgentShim(cls.__name__)
        try:
            cls.agent.start()
        except BaseException:
            cls.agent.cleanup()
            raise

    def test_status_leader_and_peers(self):
        leader = self.c.status.leader()
        self.assertEqual(leader, self.agent.cluster.members[0].rpc_address)
        self.assertEqual(self.c.status.peers(), [leader])

    def test_agent_self(self):
        me = self.c.agent.self()
        self.assertFalse(me["Config"]["Server"])
        self.assertEqual(me["Member"]["Tags"]["role"], "node")


if __name__ == "__main__":
    harness.main()
