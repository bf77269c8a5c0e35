"""PUT /v1/txn with KV operations (docs/consul-api.md §3; Consul agent/txn_endpoint.go and
agent/consul/state/txn.go for result shapes and error texts)."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, KV_MAX_VALUE, b64, kv_url  # noqa: E402

SID = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"
RESULT_FIELDS = {"LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"}


def kv(verb, key, value=None, **fields):
    op = {"Verb": verb, "Key": key}
    if value is not None:
        op["Value"] = b64(value)
    op.update(fields)
    return {"KV": op}


class TxnTests(AgentTestCase):
    def k(self, name=""):
        return f"{self._testMethodName}/{name}" if name else self._testMethodName

    def txn(self, ops, query="", raw=None):
        body = raw if raw is not None else json.dumps(ops).encode()
        return self.agent.put("/v1/txn" + ("?" + query if query else ""), body)

    def ok(self, ops, query=""):
        r = self.txn(ops, query)
        self.assertStatus(r, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        body = r.json()
        self.assertIsNone(body.get("Errors"), f"Errors must be null on success: {body!r}")
        self.assertIsInstance(body["Results"], list)
        return body["Results"]

    def conflict(self, ops):
        r = self.txn(ops)
        self.assertStatus(r, 409)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        body = r.json()
        self.assertIsNone(body.get("Results"), f"Results must be null on rollback: {body!r}")
        self.assertIsInstance(body["Errors"], list)
        for err in body["Errors"]:
            self.assertEqual(set(err), {"OpIndex", "What"}, err)
            self.assertIsInstance(err["OpIndex"], int)
            self.assertIsInstance(err["What"], str)
        return body["Errors"]

    def result_kv(self, result):
        self.assertEqual(set(result), {"KV"}, result)
        entry = result["KV"]
        self.assertEqual(set(entry) - {"Session"}, RESULT_FIELDS, entry)
        return entry

    def assertNothingApplied(self, before, what):
        self.assertEqual(self.agent.kv_dump(), before, f"{what} changed the store")

    # ---- writes ----
    def test_set_results_and_atomic_index(self):
        a, b = self.k("a"), self.k("b")
        results = self.ok([kv("set", a, b"va", Flags=3), kv("set", b, b"")])
        self.assertEqual(len(results), 2)
        ra, rb = (self.result_kv(x) for x in results)
        self.assertEqual((ra["Key"], ra["Flags"], ra["Value"]), (a, 3, None),
                         "Value is null in results except for get/get-tree")
        self.assertEqual((rb["Key"], rb["Flags"], rb["Value"]), (b, 0, None))
        self.assertEqual(ra["ModifyIndex"], rb["ModifyIndex"], "one txn = one index")
        self.assertEqual(ra["CreateIndex"], ra["ModifyIndex"])
        self.assertGreater(ra["ModifyIndex"], 0)
        ea = self.agent.kv_get(a)
        self.assertEqual(base64.b64decode(ea["Value"]), b"va")
        self.assertEqual(ea["Flags"], 3)
        self.assertEqual(ea["ModifyIndex"], ra["ModifyIndex"])
        self.assertIsNone(self.agent.kv_get(b)["Value"])

    def test_cas(self):
        key = self.k("c")
        r = self.result_kv(self.ok([kv("cas", key, b"1", Index=0)])[0])
        idx = r["ModifyIndex"]
        self.assertIsNone(r["Value"])
        errors = self.conflict([kv("cas", key, b"2", Index=0)])
        self.assertEqual(errors, [{"OpIndex": 0,
                                   "What": f'failed to set key "{key}", index is stale'}])
        errors = self.conflict([kv("cas", key, b"2", Index=idx + 1000)])
        self.assertEqual([e["OpIndex"] for e in errors], [0])
        self.assertEqual(self.agent.kv_value(key), b"1")
        r = self.result_kv(self.ok([kv("cas", key, b"2", Index=idx)])[0])
        self.assertGreater(r["ModifyIndex"], idx)
        self.assertEqual(r["CreateIndex"], idx)
        self.assertEqual(self.agent.kv_value(key), b"2")
        errors = self.conflict([kv("cas", self.k("missing"), b"x", Index=5)])
        self.assertEqual([e["OpIndex"] for e in errors], [0])
        self.assertIsNone(self.agent.kv_get(self.k("missing")))

    def test_lock_and_unlock_fail_without_sessions(self):
        key = self.k("l")
        self.agent.kv_put(key, b"v")
        before = self.agent.kv_dump()
        for verb in ("lock", "unlock"):
            errors = self.conflict([kv(verb, key, b"mine", Session=SID)])
            self.assertEqual([e["OpIndex"] for e in errors], [0], verb)
            self.assertIn("session", errors[0]["What"].lower(), verb)
            self.assertNothingApplied(before, verb)
        errors = self.conflict([kv("lock", self.k("new"), b"mine", Session=SID)])
        self.assertEqual([e["OpIndex"] for e in errors], [0])
        self.assertNothingApplied(before, "lock of a new key")

    def test_delete_verbs_add_no_results(self):
        base = self.k()
        for n in ("a", "t/1", "t/2", "tx", "c"):
            self.agent.kv_put(f"{base}/{n}", b"v")
        c_idx = self.agent.kv_get(f"{base}/c")["ModifyIndex"]
        results = self.ok([kv("delete", f"{base}/a"), kv("delete-tree", f"{base}/t/"),
                           kv("delete-cas", f"{base}/c", Index=c_idx),
                           kv("delete", f"{base}/never-existed")])
        self.assertEqual(results, [], "delete verbs add no result")
        keys = [e["Key"] for e in self.agent.get(kv_url(base + "/", "recurse")).json()]
        self.assertEqual(keys, [f"{base}/tx"])

    def test_delete_cas_mismatch(self):
        key = self.k("d")
        self.agent.kv_put(key, b"v")
        idx = self.agent.kv_get(key)["ModifyIndex"]
        errors = self.conflict([kv("delete-cas", key, Index=idx + 1000)])
        self.assertEqual(errors, [{"OpIndex": 0,
                                   "What": f'failed to delete key "{key}", index is stale'}])
        self.assertIsNotNone(self.agent.kv_get(key))

    # ---- reads ----
    def test_get_verbs(self):
        base = self.k()
        self.agent.kv_put(f"{base}/a", b"va", "flags=4")
        self.agent.kv_put(f"{base}/t/2", b"2")
        self.agent.kv_put(f"{base}/t/1", b"1")
        results = self.ok([kv("get", f"{base}/a"), kv("get-tree", f"{base}/t/"),
                           kv("get-or-empty", f"{base}/a"),
                           kv("get-or-empty", f"{base}/missing")])
        self.assertEqual(len(results), 5, "get-tree adds one result per entry")
        get, t1, t2, goe, goe_missing = (self.result_kv(x) for x in results)
        self.assertEqual(get, self.agent.kv_get(f"{base}/a"))
        self.assertEqual(base64.b64decode(get["Value"]), b"va")
        self.assertEqual(get["Flags"], 4)
        self.assertEqual([t1["Key"], t2["Key"]], [f"{base}/t/1", f"{base}/t/2"])
        self.assertEqual([base64.b64decode(t1["Value"]), base64.b64decode(t2["Value"])],
                         [b"1", b"2"])
        # Consul (state/txn.go) keeps the value for get-or-empty as for get.
        self.assertEqual(goe["Key"], f"{base}/a")
        self.assertIsNotNone(goe["Value"], "get-or-empty of an existing key returns its value "
                             "(Consul state/txn.go keeps Value for KVGet and KVGetOrEmpty)")
        self.assertEqual(base64.b64decode(goe["Value"]), b"va")
        self.assertEqual(goe_missing["Key"], f"{base}/missing")
        self.assertIsNone(goe_missing["Value"])

    def test_ops_see_earlier_ops_of_the_same_txn(self):
        key = self.k("seq")
        results = self.ok([kv("set", key, b"one"), kv("get", key),
                           kv("set", key, b"two"), kv("get", key)])
        values = [self.result_kv(r)["Value"] for r in results]
        self.assertEqual(values, [None, b64("one"), None, b64("two")])
        self.assertEqual(self.agent.kv_value(key), b"two")

    def test_get_missing_fails(self):
        key = self.k("nope")
        errors = self.conflict([kv("get", key)])
        self.assertEqual(errors, [{"OpIndex": 0, "What": f'key "{key}" doesn\'t exist'}])

    def test_get_tree_of_missing_prefix_is_empty(self):
        self.assertEqual(self.ok([kv("get-tree", self.k("none/"))]), [])

    def test_check_verbs(self):
        key = self.k("c")
        self.agent.kv_put(key, b"v")
        idx = self.agent.kv_get(key)["ModifyIndex"]
        results = self.ok([kv("check-index", key, Index=idx),
                           kv("check-not-exists", self.k("missing"))])
        self.assertEqual(len(results), 1, "check-not-exists adds no result")
        r = self.result_kv(results[0])
        self.assertEqual(r["Key"], key)
        self.assertIsNone(r["Value"], "check-index returns the entry without its value")
        self.assertEqual(r["ModifyIndex"], idx)

        errors = self.conflict([kv("check-index", key, Index=idx + 1000)])
        self.assertEqual([e["OpIndex"] for e in errors], [0])
        errors = self.conflict([kv("check-not-exists", key)])
        self.assertEqual(errors, [{"OpIndex": 0, "What": f'key "{key}" exists'}])
        errors = self.conflict([kv("check-session", key, Session=SID)])
        self.assertEqual([e["OpIndex"] for e in errors], [0])
        errors = self.conflict([kv("check-index", self.k("missing"), Index=1)])
        self.assertEqual([e["OpIndex"] for e in errors], [0])

    def test_read_only_txn_headers_and_no_write(self):
        key = self.k("r")
        self.agent.kv_put(key, b"v")
        idx = self.agent.kv_get(key)["ModifyIndex"]
        before_index = self.agent.get(kv_url(self.k("missing"))).index()
        ops = [kv("get", key), kv("get-tree", self.k()), kv("check-index", key, Index=idx),
               kv("check-not-exists", self.k("missing"))]
        for query, mode in (("", "leader"), ("stale", "stale"), ("consistent", "consistent")):
            r = self.txn(ops, query)
            self.assertStatus(r, 200, query)
            self.assertEqual(r.headers.get("X-Consul-KnownLeader"), "true")
            self.assertEqual(r.headers.get("X-Consul-LastContact"), "0")
            self.assertEqual(len(r.json()["Results"]), 3)
        self.assertEqual(self.agent.get(kv_url(self.k("missing"))).index(), before_index,
                         "a read-only txn must not commit anything")
        r = self.txn(ops, "stale&consistent")
        self.assertStatus(r, 400)

    def test_empty_txn(self):
        r = self.txn([])
        self.assertStatus(r, 200)

    def test_lowercase_field_names(self):
        # Go encoding/json matches field names case-insensitively (docs/consul-api.md §1.1).
        key = self.k("lc")
        results = self.ok([{"kv": {"verb": "set", "key": key, "value": b64("v"), "flags": 2}}])
        self.assertEqual(len(results), 1)
        self.assertEqual(self.agent.kv_get(key)["Flags"], 2)
        self.assertEqual(self.agent.kv_value(key), b"v")

    # ---- rollback ----
    def test_rollback_lists_every_failure_and_applies_nothing(self):
        base = self.k()
        self.agent.kv_put(f"{base}/x", b"old")
        self.agent.kv_put(f"{base}/y", b"y")
        self.agent.kv_put(f"{base}/gone", b"keep me")
        before = self.agent.kv_dump()
        before_index = self.agent.get(kv_url(f"{base}/nothing")).index()
        y_idx = self.agent.kv_get(f"{base}/y")["ModifyIndex"]
        errors = self.conflict([
            kv("set", f"{base}/x", b"new"),
            kv("cas", f"{base}/y", b"y2", Index=y_idx + 1000),
            kv("get", f"{base}/missing"),
            kv("set", f"{base}/z", b"z"),
            kv("delete", f"{base}/gone"),
            kv("delete-tree", f"{base}/"),
        ])
        self.assertEqual(sorted(e["OpIndex"] for e in errors), [1, 2], errors)
        whats = {e["OpIndex"]: e["What"] for e in errors}
        self.assertEqual(whats[1], f'failed to set key "{base}/y", index is stale')
        self.assertEqual(whats[2], f'key "{base}/missing" doesn\'t exist')
        self.assertNothingApplied(before, "a rolled-back txn")
        self.assertEqual(self.agent.get(kv_url(f"{base}/nothing")).index(), before_index,
                         "a rolled-back txn must not raise the KV index")

    # ---- malformed ----
    def test_malformed_bodies_are_400(self):
        self.agent.kv_put(self.k("k"), b"v")
        before = self.agent.kv_dump()
        bodies = [b"not json", b"[", b'{"KV":{"Verb":"set","Key":"a","Value":"dg=="}}', b"42",
                  b'"str"', b'[{"KV":{"Verb":"set","Key":"a","Value":"***not base64***"}}]']
        for body in bodies:
            with self.subTest(body=body):
                r = self.txn(None, raw=body)
                self.assertStatus(r, 400, body)
                self.assertNothingApplied(before, body)

    def test_unknown_verb_rejected(self):
        before = self.agent.kv_dump()
        r = self.txn([kv("set", self.k("a"), b"v"), kv("frobnicate", self.k("b"), b"v")])
        self.assertIn(r.status, (400, 409), repr(r))
        self.assertNothingApplied(before, "a txn with an unknown verb")

    def test_op_count_limit(self):
        base = self.k()
        before = self.agent.kv_dump()
        r = self.txn([kv("set", f"{base}/{i}", b"v") for i in range(129)])
        self.assertStatus(r, 413)
        self.assertEqual(r.text().strip(), "Transaction contains too many operations (129 > 128)")
        self.assertNothingApplied(before, "an oversized txn")
        results = self.ok([kv("set", f"{base}/{i}", b"v") for i in range(128)])
        self.assertEqual(len(results), 128)
        self.assertEqual(len(self.agent.get(kv_url(base + "/", "keys")).json()), 128)

    def test_value_size_limit(self):
        before = self.agent.kv_dump()
        r = self.txn([kv("set", self.k("big"), b"x" * (KV_MAX_VALUE + 1))])
        self.assertStatus(r, 413)
        self.assertNothingApplied(before, "a txn with a value over 512 KiB")
        # a big value whose encoded body still fits the 512 KiB request limit
        value = os.urandom(300 * 1024)
        self.ok([kv("set", self.k("ok"), value)])
        self.assertEqual(self.agent.kv_value(self.k("ok")), value)

    def test_body_size_limit(self):
        before = self.agent.kv_dump()
        ops = [kv("set", self.k(str(i)), b"x" * (100 * 1024)) for i in range(6)]
        r = self.txn(ops)
        self.assertStatus(r, 413)
        self.assertNothingApplied(before, "a txn body over 512 KiB")


if __name__ == "__main__":
    harness.main()
