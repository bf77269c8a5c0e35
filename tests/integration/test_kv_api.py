"""The Consul KV HTTP API of the real binary: every parameter, headers, and bad input."""
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


def get(path):
    return agent.request("GET", path)


def put(key, value=b"", **params):
    return agent.request("PUT", agent.kv_path(key, **params), body=value)


def delete(key, **params):
    return agent.request("DELETE", agent.kv_path(key, **params))


def entries(key, **params):
    status, headers, body = get(agent.kv_path(key, **params))
    assert status == 200, (status, body)
    return json.loads(body), headers


class KvReadWrite(unittest.TestCase):
    def test_put_get_entry_shape(self):
        self.assertEqual(put("shape/a", b"hello", flags=42)[2], b"true")
        [e], headers = entries("shape/a")
        self.assertEqual(set(e), {"LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"})
        self.assertEqual((e["Key"], e["Flags"], e["LockIndex"]), ("shape/a", 42, 0))
        self.assertEqual(base64.b64decode(e["Value"]), b"hello")
        self.assertEqual(e["CreateIndex"], e["ModifyIndex"])
        self.assertEqual(int(headers["x-consul-index"]), e["ModifyIndex"])
        self.assertEqual(headers["x-consul-knownleader"], "true")
        self.assertEqual(headers["x-consul-lastcontact"], "0")
        self.assertEqual(headers["x-consul-effective-consistency"], "leader")
        self.assertEqual(headers["content-type"], "application/json")

    def test_empty_value_is_null_and_omitted_flags_reset(self):
        put("empty", b"x", flags=7)
        put("empty", b"")
        [e], _ = entries("empty")
        self.assertIsNone(e["Value"])
        self.assertEqual(e["Flags"], 0)

    def test_update_keeps_create_index_and_raises_modify_index(self):
        put("upd", b"1")
        [first], _ = entries("upd")
        put("upd", b"2")
        [second], _ = entries("upd")
        self.assertEqual(second["CreateIndex"], first["CreateIndex"])
        self.assertGreater(second["ModifyIndex"], first["ModifyIndex"])

    def test_missing_key_is_404_with_index_headers_and_empty_body(self):
        status, headers, body = get(agent.kv_path("never/there"))
        self.assertEqual((status, body), (404, b""))
        self.assertGreater(int(headers["x-consul-index"]), 0)
        self.assertEqual(headers["x-consul-knownleader"], "true")

    def test_raw(self):
        put("rawkey", b"\x00bin\xff")
        status, headers, body = get(agent.kv_path("rawkey", raw=None))
        self.assertEqual((status, body), (200, b"\x00bin\xff"))
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.assertEqual(headers["x-content-type-options"], "nosniff")

    def test_recurse_sorted_and_missing_prefix_404(self):
        for k in ["rec/b", "rec/a/z", "rec/a", "rec/B", "recx"]:
            put(k, b"v")
        es, _ = entries("rec/", recurse=None)
        self.assertEqual([e["Key"] for e in es], ["rec/B", "rec/a", "rec/a/z", "rec/b"])
        self.assertEqual(get(agent.kv_path("norec/", recurse=None))[0], 404)

    def test_keys_and_separator(self):
        for k in ["web/bar", "web/foo", "web/subdir/a", "web/subdir/b"]:
            put(k, b"v")
        keys, _ = entries("web/", keys=None, separator="/")
        self.assertEqual(keys, ["web/bar", "web/foo", "web/subdir/"])
        keys, _ = entries("web/", keys=None, seperator="/")
        self.assertEqual(keys, ["web/bar", "web/foo", "web/subdir/"])
        keys, _ = entries("web/", keys=None)
        self.assertEqual(len(keys), 4)
        self.assertEqual(get(agent.kv_path("nokeys/", keys=None))[0], 404)

    def test_cas(self):
        self.assertEqual(put("cas/k", b"1", cas=0)[2], b"true")
        self.assertEqual(put("cas/k", b"2", cas=0)[2], b"false")
        [e], _ = entries("cas/k")
        self.assertEqual(put("cas/k", b"3", cas=e["ModifyIndex"] + 100)[2], b"false")
        self.assertEqual(put("cas/k", b"3", cas=e["ModifyIndex"])[2], b"true")
        self.assertEqual(put("cas/missing", b"3", cas=5)[2], b"false")
        [e], _ = entries("cas/k")
        self.assertEqual(base64.b64decode(e["Value"]), b"3")

    def test_delete_variants(self):
        put("del/a", b"1")
        put("del/b/c", b"1")
        put("del/b/d", b"1")
        self.assertEqual(delete("del/a")[2], b"true")
        self.assertEqual(get(agent.kv_path("del/a"))[0], 404)
        self.assertEqual(delete("del/never")[2], b"true")
        [e], _ = entries("del/b/c")
        self.assertEqual(delete("del/b/c", cas=0)[2], b"false")
        self.assertEqual(delete("del/b/c", cas=e["ModifyIndex"])[2], b"true")
        self.assertEqual(delete("del/b/", recurse=None)[2], b"true")
        self.assertEqual(get(agent.kv_path("del/", recurse=None))[0], 404)

    def test_indexes_strictly_increase_and_deletes_raise_prefix_index(self):
        put("idx/a", b"1")
        _, h1 = entries("idx/", recurse=None)
        delete("idx/a")
        status, h2, _ = get(agent.kv_path("idx/", recurse=None))
        self.assertEqual(status, 404)
        self.assertGreater(int(h2["x-consul-index"]), int(h1["x-consul-index"]))

    def test_special_characters_in_keys(self):
        for key in ["sp/a b", "sp/c:d@e", "sp/100%", "sp/é"]:
            self.assertEqual(put(key, b"v")[0], 200, key)
            [e], _ = entries(key)
            self.assertEqual(e["Key"], key)
        status, _, body = agent.request("PUT", "/v1/kv/sp/x%2Fy", body=b"v")
        self.assertEqual(status, 200)
        [e], _ = entries("sp/x/y")
        self.assertEqual(e["Key"], "sp/x/y")

    def test_consistency_headers_and_pretty(self):
        put("cons", b"v")
        _, h = entries("cons", stale=None)
        self.assertEqual(h["x-consul-effective-consistency"], "stale")
        _, h = entries("cons", consistent=None)
        self.assertEqual(h["x-consul-effective-consistency"], "consistent")
        status, _, body = get(agent.kv_path("cons", pretty=None))
        self.assertTrue(body.startswith(b"[\n    {\n"), body)

    def test_root_keys_and_recurse(self):
        status, _, body = get("/v1/kv/?keys")
        self.assertEqual(status, 200)
        self.assertIsInstance(json.loads(body), list)
        self.assertEqual(get("/v1/kv/?recurse")[0], 200)


class KvBadInput(unittest.TestCase):
    def assertUnchanged(self, before):
        self.assertEqual(get("/v1/kv/?recurse")[2], before)

    def snapshot(self):
        put("guard/key", b"guarded")
        return get("/v1/kv/?recurse")[2]

    def expect(self, method, path, status, text=None, body=None):
        before = self.snapshot()
        got_status, headers, got_body = agent.request(method, path, body=body)
        self.assertEqual(got_status, status, (method, path, got_body))
        if text is not None:
            self.assertIn(text, got_body.decode(errors="replace"))
        self.assertUnchanged(before)
        return headers

    def test_missing_key_name(self):
        self.expect("GET", "/v1/kv/", 400, "Missing key name")
        self.expect("PUT", "/v1/kv/", 400, "Missing key name", b"x")
        self.expect("DELETE", "/v1/kv/", 400, "Missing key name")

    def test_bad_index_and_wait(self):
        self.expect("GET", "/v1/kv/guard/key?index=abc", 400, "Invalid index")
        self.expect("GET", "/v1/kv/guard/key?index=-1", 400, "Invalid index")
        self.expect("GET", "/v1/kv/guard/key?index=1&wait=10x", 400, "Invalid wait time")

    def test_conflicting_flags(self):
        self.expect("GET", "/v1/kv/guard/key?stale&consistent", 400,
                    "Cannot specify ?stale with ?consistent, conflicting semantics.")
        self.expect("PUT", "/v1/kv/guard/key?cas=0&acquire=abc", 400, "Conflicting flags", b"x")
        self.expect("DELETE", "/v1/kv/guard/?recurse&cas=1", 400, "Conflicting flags")

    def test_bad_numbers(self):
        self.expect("PUT", "/v1/kv/guard/key?flags=x", 400, "flags", b"x")
        self.expect("PUT", "/v1/kv/guard/key?cas=-3", 400, "cas", b"x")
        self.expect("DELETE", "/v1/kv/guard/key?cas=zz", 400, "cas")

    def test_sessions_do_not_exist_yet(self):
        self.expect("PUT", "/v1/kv/guard/key?acquire=abc", 500, 'invalid session "abc"', b"x")
        self.expect("PUT", "/v1/kv/guard/key?release=abc", 500, 'invalid session "abc"', b"x")

    def test_value_size_limit(self):
        limit = 512 * 1024
        self.assertEqual(put("big/ok", b"a" * limit)[2], b"true")
        self.expect("PUT", "/v1/kv/big/too", 413, "too large", b"a" * (limit + 1))
        self.assertEqual(get(agent.kv_path("big/too"))[0], 404)

    def test_path_traversal_and_spaces(self):
        for path in ["/v1/kv/../x", "/v1/kv/a/../b", "/v1/kv/%2e%2e/x", "/v1/kv/a/%2E%2E/b",
                     "/v1/kv/%20lead", "/v1/kv/trail%20"]:
            self.expect("PUT", path, 400, None, b"x")
        self.expect("DELETE", "/v1/kv/a/../b", 400)

    def test_non_printable_and_bad_escapes(self):
        self.expect("PUT", "/v1/kv/a%0ab", 400, None, b"x")
        self.expect("PUT", "/v1/kv/a%zzb", 400, None, b"x")

    def test_unknown_path_and_wrong_method(self):
        self.expect("GET", "/v1/nonsense", 404, "Invalid URL path")
        headers = self.expect("POST", "/v1/kv/guard/key", 405, "method POST not allowed", b"x")
        self.assertIn("PUT", headers["allow"])
        status, headers, _ = agent.request("OPTIONS", "/v1/kv/x")
        self.assertEqual(status, 200)
        self.assertIn("GET", headers["allow"])


if __name__ == "__main__":
    unittest.main()
