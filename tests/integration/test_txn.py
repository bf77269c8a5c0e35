"""PUT /v1/txn on the real binary: every KV verb, atomic rollback, limits, bad bodies."""
import base64
import json
import unittest

from agent_process import Agent

agent = None


def setUpModule():
    global agent
    agent = Agent().start()


def tearDownModule():
    agent.cleanup()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def txn(ops, raw=None):
    body = raw if raw is not None else json.dumps([{"KV": op} for op in ops]).encode()
    status, headers, data = agent.request("PUT", "/v1/txn", body=body)
    return status, headers, data


def value(key):
    status, _, body = agent.request("GET", f"/v1/kv/{key}?raw")
    return body if status == 200 else None


class Txn(unittest.TestCase):
    def test_every_write_and_read_verb(self):
        status, _, body = txn([
            {"Verb": "set", "Key": "t/a", "Value": b64("A"), "Flags": 5},
            {"Verb": "cas", "Key": "t/b", "Value": b64("B"), "Index": 0},
            {"Verb": "get", "Key": "t/a"},
            {"Verb": "get-or-empty", "Key": "t/none"},
            {"Verb": "get-tree", "Key": "t/"},
            {"Verb": "check-not-exists", "Key": "t/none"},
            {"Verb": "delete", "Key": "t/none"},
        ])
        self.assertEqual(status, 200, body)
        out = json.loads(body)
        self.assertIsNone(out["Errors"])
        kvs = [r["KV"] for r in out["Results"]]
        self.assertEqual([k["Key"] for k in kvs], ["t/a", "t/b", "t/a", "t/none", "t/a", "t/b"])
        self.assertIsNone(kvs[0]["Value"], "set results carry no value")
        self.assertEqual(kvs[0]["Flags"], 5)
        self.assertEqual(base64.b64decode(kvs[2]["Value"]), b"A")
        self.assertEqual(base64.b64decode(kvs[5]["Value"]), b"B")
        idx = kvs[0]["ModifyIndex"]
        status, _, body = txn([
            {"Verb": "check-index", "Key": "t/a", "Index": idx},
            {"Verb": "delete-cas", "Key": "t/a", "Index": idx},
            {"Verb": "delete-tree", "Key": "t/"},
        ])
        self.assertEqual(status, 200, body)
        self.assertIsNone(value("t/a"))
        self.assertIsNone(value("t/b"))

    def test_failure_rolls_back_everything_and_lists_errors(self):
        agent.request("PUT", "/v1/kv/r/keep", body=b"old")
        status, _, body = txn([
            {"Verb": "set", "Key": "r/keep", "Value": b64("new")},
            {"Verb": "set", "Key": "r/other", "Value": b64("x")},
            {"Verb": "get", "Key": "r/missing"},
            {"Verb": "cas", "Key": "r/keep", "Value": b64("y"), "Index": 999999},
        ])
        self.assertEqual(status, 409, body)
        out = json.loads(body)
        self.assertIsNone(out["Results"])
        self.assertEqual([e["OpIndex"] for e in out["Errors"]], [2, 3])
        self.assertIn("doesn't exist", out["Errors"][0]["What"])
        self.assertIn("index is stale", out["Errors"][1]["What"])
        self.assertEqual(value("r/keep"), b"old")
        self.assertIsNone(value("r/other"))

    def test_session_verbs_fail_without_sessions(self):
        agent.request("PUT", "/v1/kv/s/k", body=b"v")
        for verb in ["lock", "unlock", "check-session"]:
            status, _, body = txn([{"Verb": verb, "Key": "s/k", "Session": "abc"}])
            self.assertEqual(status, 409, (verb, body))

    def test_read_only_txn_has_read_headers(self):
        agent.request("PUT", "/v1/kv/ro/k", body=b"v")
        status, headers, body = txn([{"Verb": "get", "Key": "ro/k"}])
        self.assertEqual(status, 200, body)
        self.assertIn("x-consul-knownleader", headers)
        self.assertGreater(int(headers["x-consul-index"]), 0)

    def test_bad_bodies(self):
        agent.request("PUT", "/v1/kv/bad/k", body=b"v")
        before = agent.request("GET", "/v1/kv/?recurse")[2]
        cases = [
            (b"not json", 400), (b'{"KV":{}}', 400), (b"[1]", 400),
            (json.dumps([{"KV": {"Verb": "explode", "Key": "x"}}]).encode(), 400),
            (json.dumps([{"KV": {"Verb": "set", "Key": "x", "Value": "***"}}]).encode(), 400),
            (json.dumps([{"KV": {"Verb": "set", "Key": 5}}]).encode(), 400),
            (json.dumps([{"KV": {"Verb": "set", "Key": "../x", "Value": b64("v")}}]).encode(), 400),
            (json.dumps([{"KV": {"Verb": "get", "Key": f"k{i}"}} for i in range(129)]).encode(), 413),
            (json.dumps([{"KV": {"Verb": "set", "Key": "huge",
                                 "Value": base64.b64encode(b"a" * (512 * 1024 + 1)).decode()}}]).encode(), 413),
        ]
        for body, expected in cases:
            status, _, out = txn(None, raw=body)
            self.assertEqual(status, expected, (body[:80], out))
        self.assertEqual(agent.request("GET", "/v1/kv/?recurse")[2], before)

    def test_wrong_method(self):
        status, _, _ = agent.request("GET", "/v1/txn")
        self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main()
