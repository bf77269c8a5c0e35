"""Raw-HTTP tests of GET/PUT/DELETE /v1/kv against Consul's documented behaviour.

Contract: docs/consul-api.md §1 (conventions), §2 (KV). Where the reference
is silent, the expected behaviour follows Consul's agent/kvs_endpoint.go and agent/http.go.
"""
import unittest
import base64
import http.client
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, KV_MAX_VALUE, b64, kv_url  # noqa: E402

ENTRY_FIELDS = {"LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"}
U64_MAX = 2 ** 64 - 1


class KvTestCase(AgentTestCase):
    def k(self, name=""):
        """A key unique to the running test method."""
        return f"{self._testMethodName}/{name}" if name else self._testMethodName

    def assertEntry(self, entry, key, value, flags=0):
        self.assertEqual(set(entry), ENTRY_FIELDS,
                         f"entry fields (Session must be absent when empty): {entry!r}")
        self.assertEqual(entry["Key"], key)
        self.assertEqual(entry["Flags"], flags)
        self.assertEqual(entry["LockIndex"], 0)
        if value in (None, b""):
            self.assertIsNone(entry["Value"], "an empty value is encoded as null")
        else:
            self.assertEqual(base64.b64decode(entry["Value"]), value)
        for field in ("CreateIndex", "ModifyIndex", "LockIndex", "Flags"):
            self.assertIsInstance(entry[field], int)
        self.assertGreater(entry["CreateIndex"], 0)
        self.assertGreaterEqual(entry["ModifyIndex"], entry["CreateIndex"])

    def assertJson(self, result):
        self.assertTrue(result.headers.get("Content-Type", "").startswith("application/json"),
                        repr(result))
        return result.json()

    def snapshot(self):
        return self.agent.kv_dump()

    def assertUnchanged(self, before, what):
        self.assertEqual(self.snapshot(), before, f"the store changed after {what}")


class KvGetTests(KvTestCase):
    """Single-key reads, recurse, keys/separator, raw, headers."""

    def test_single_get_entry_shape_and_headers(self):
        key = self.k("a")
        r = self.agent.put(kv_url(key), b"hello")
        self.assertStatus(r, 200)
        self.assertIs(self.assertJson(r), True)
        r = self.agent.get(kv_url(key))
        self.assertStatus(r, 200)
        entries = self.assertJson(r)
        self.assertIsInstance(entries, list)
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEntry(e, key, b"hello")
        self.assertEqual(e["CreateIndex"], e["ModifyIndex"])
        self.assertConsulReadHeaders(r, "leader")
        self.assertEqual(r.index(), e["ModifyIndex"],
                         "X-Consul-Index of an existing key is its ModifyIndex")
        self.assertEqual(r.headers.get("X-Consul-Default-ACL-Policy"), "allow")

    def test_compact_json_by_default_and_pretty(self):
        key = self.k("p")
        self.agent.kv_put(key, b"v")
        compact = self.agent.get(kv_url(key))
        self.assertStatus(compact, 200)
        self.assertNotIn(b"\n", compact.body, "responses are compact by default")
        self.assertNotIn(b": ", compact.body)
        pretty = self.agent.get(kv_url(key, "pretty"))
        self.assertStatus(pretty, 200)
        self.assertEqual(pretty.json(), compact.json())
        self.assertTrue(pretty.body.endswith(b"\n"), "?pretty output ends with a newline")
        self.assertIn(b'\n        "Key": ', pretty.body, "?pretty indents by 4 spaces per level")
        self.assertTrue(pretty.body.startswith(b"[\n    {\n"), pretty.body[:40])

    def test_binary_value_round_trips(self):
        key = self.k("bin")
        value = bytes(range(256)) * 4
        self.agent.kv_put(key, value)
        self.assertEqual(self.agent.kv_value(key), value)
        raw = self.agent.get(kv_url(key, "raw"))
        self.assertStatus(raw, 200)
        self.assertEqual(raw.body, value)

    def test_empty_value_is_null(self):
        key = self.k("empty")
        self.agent.kv_put(key, b"")
        e = self.agent.kv_get(key)
        self.assertEntry(e, key, None)
        self.assertIn('"Value":null', self.agent.get(kv_url(key)).text().replace(" ", ""))
        raw = self.agent.get(kv_url(key, "raw"))
        self.assertStatus(raw, 200)
        self.assertEqual(raw.body, b"")

    def test_missing_key_404_empty_body_with_index(self):
        self.agent.kv_put(self.k("other"), b"x")
        r = self.agent.get(kv_url(self.k("missing")))
        self.assertStatus(r, 404)
        self.assertEqual(r.body, b"", "404 for a missing key has an empty body")
        self.assertConsulReadHeaders(r, "leader")
        # Missing key -> KV table index, which covers the write just made.
        other = self.agent.kv_get(self.k("other"))
        self.assertGreaterEqual(r.index(), other["ModifyIndex"])

    def test_update_keeps_create_index_and_raises_modify_index(self):
        key = self.k("u")
        self.agent.kv_put(key, b"1")
        first = self.agent.kv_get(key)
        self.agent.kv_put(key, b"2")
        second = self.agent.kv_get(key)
        self.assertEqual(second["CreateIndex"], first["CreateIndex"])
        self.assertGreater(second["ModifyIndex"], first["ModifyIndex"])
        self.assertEqual(base64.b64decode(second["Value"]), b"2")

    def test_noop_write_keeps_modify_index(self):
        # docs/consul-api.md §2: a no-op write (same value/flags/session) keeps ModifyIndex.
        key = self.k("same")
        self.agent.kv_put(key, b"v", "flags=7")
        first = self.agent.kv_get(key)
        self.assertIs(self.agent.kv_put(key, b"v", "flags=7"), True)
        self.assertEqual(self.agent.kv_get(key)["ModifyIndex"], first["ModifyIndex"])

    def test_index_header_strictly_increases_across_writes(self):
        seen = []
        for i in range(5):
            key = self.k(f"w{i}")
            self.agent.kv_put(key, str(i).encode())
            r = self.agent.get(kv_url(key))
            self.assertStatus(r, 200)
            self.assertEqual(r.index(), r.json()[0]["ModifyIndex"])
            seen.append(r.index())
        self.assertEqual(seen, sorted(set(seen)), f"indexes must strictly increase: {seen}")
        self.assertGreater(seen[0], 0)

    def test_index_header_is_per_key_modify_index(self):
        a, b = self.k("a"), self.k("b")
        self.agent.kv_put(a, b"1")
        self.agent.kv_put(b, b"2")
        ra = self.agent.get(kv_url(a))
        rb = self.agent.get(kv_url(b))
        self.assertLess(ra.index(), rb.index())
        self.assertEqual(ra.index(), ra.json()[0]["ModifyIndex"])
        self.assertEqual(rb.index(), rb.json()[0]["ModifyIndex"])

    def test_recurse_sorted_by_key_bytes(self):
        base = self.k()
        names = ["b", "a/c", "a", "B", "a0", "Z", "a/b", "~", "a-"]
        for n in names:
            self.agent.kv_put(f"{base}/{n}", n.encode())
        self.agent.kv_put(base + "X/outside", b"not under prefix")
        r = self.agent.get(kv_url(base + "/", "recurse"))
        self.assertStatus(r, 200)
        self.assertConsulReadHeaders(r)
        entries = r.json()
        keys = [e["Key"] for e in entries]
        expected = sorted(f"{base}/{n}" for n in names)
        self.assertEqual(keys, sorted(keys, key=lambda s: s.encode()))
        self.assertEqual(keys, sorted(expected, key=lambda s: s.encode()))
        for e in entries:
            self.assertEntry(e, e["Key"], e["Key"][len(base) + 1:].encode())
        self.assertEqual(r.index(), max(e["ModifyIndex"] for e in entries),
                         "recurse index = max ModifyIndex under the prefix")

    def test_recurse_prefix_is_bytes_not_path(self):
        base = self.k()
        for n in ("p/a", "pq", "p"):
            self.agent.kv_put(f"{base}/{n}", b"x")
        r = self.agent.get(kv_url(f"{base}/p", "recurse"))
        self.assertStatus(r, 200)
        self.assertEqual([e["Key"] for e in r.json()], [f"{base}/p", f"{base}/p/a", f"{base}/pq"])

    def test_recurse_missing_prefix_404_with_index(self):
        r = self.agent.get(kv_url(self.k("nothing/"), "recurse"))
        self.assertStatus(r, 404)
        self.assertEqual(r.body, b"")
        self.assertConsulReadHeaders(r)

    def test_recurse_flag_is_presence_based(self):
        base = self.k()
        self.agent.kv_put(f"{base}/x", b"1")
        self.agent.kv_put(f"{base}/y", b"2")
        for q in ("recurse", "recurse=", "recurse=1", "recurse=true", "recurse=false"):
            r = self.agent.get(kv_url(base + "/", q))
            self.assertStatus(r, 200, q)
            self.assertEqual(len(r.json()), 2, q)

    def test_keys_and_separator(self):
        base = self.k("web")
        for n in ("foo", "bar", "subdir/a", "subdir/b/c"):
            self.agent.kv_put(f"{base}/{n}", b"v")
        r = self.agent.get(kv_url(base + "/", "keys"))
        self.assertStatus(r, 200)
        self.assertConsulReadHeaders(r)
        self.assertEqual(r.json(), [f"{base}/bar", f"{base}/foo", f"{base}/subdir/a",
                                    f"{base}/subdir/b/c"])
        expected = [f"{base}/bar", f"{base}/foo", f"{base}/subdir/"]
        for q in ("keys&separator=/", "keys&separator=%2F", "keys=True&separator=/",
                  "keys&seperator=/"):
            r = self.agent.get(kv_url(base + "/", q))
            self.assertStatus(r, 200, q)
            self.assertEqual(r.json(), expected, q)
        # Prefix without the trailing slash: the cut happens after the first separator that
        # follows the prefix.
        r = self.agent.get(kv_url(base, "keys&separator=/"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), [base + "/"])

    def test_keys_missing_prefix_404(self):
        r = self.agent.get(kv_url(self.k("none/"), "keys"))
        self.assertStatus(r, 404)
        self.assertConsulReadHeaders(r)

    def test_raw(self):
        key = self.k("raw")
        self.agent.kv_put(key, b"<script>alert(1)</script>")
        r = self.agent.get(kv_url(key, "raw"))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"<script>alert(1)</script>")
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"), repr(r))
        self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.headers.get("Content-Security-Policy"), "sandbox")
        self.assertConsulReadHeaders(r)
        self.assertEqual(self.agent.get(kv_url(self.k("nope"), "raw")).status, 404)

    def test_raw_ignored_with_recurse(self):
        # Consul: raw applies to single-key GETs only; a recurse listing stays JSON.
        key = self.k("r/1")
        self.agent.kv_put(key, b"v")
        r = self.agent.get(kv_url(self.k("r/"), "recurse&raw"))
        self.assertStatus(r, 200)
        self.assertEqual([e["Key"] for e in r.json()], [key])

    def test_consistency_modes(self):
        key = self.k("c")
        self.agent.kv_put(key, b"v")
        for query, mode in (("", "leader"), ("stale", "stale"), ("stale=1", "stale"),
                            ("consistent", "consistent"), ("consistent=", "consistent"),
                            ("leader", "leader")):
            r = self.agent.get(kv_url(key, query))
            self.assertStatus(r, 200, query)
            self.assertConsulReadHeaders(r, mode)
            r = self.agent.get(kv_url(self.k("missing"), query))
            self.assertStatus(r, 404, query)
            self.assertConsulReadHeaders(r, mode)
            r = self.agent.get(kv_url(self.k(), "recurse" + ("&" + query if query else "")))
            self.assertStatus(r, 200, query)
            self.assertConsulReadHeaders(r, mode)

    def test_stale_and_consistent_conflict(self):
        key = self.k("c")
        self.agent.kv_put(key, b"v")
        r = self.agent.get(kv_url(key, "stale&consistent"))
        self.assertStatus(r, 400)
        self.assertEqual(r.text().strip(),
                         "Cannot specify ?stale with ?consistent, conflicting semantics.")

    def test_dc_and_token_parameters(self):
        key = self.k("dc")
        self.agent.kv_put(key, b"v", "token=anything")
        dc = self.agent.get("/v1/agent/self").json()["Config"]["Datacenter"]
        r = self.agent.get(kv_url(key, f"dc={dc}&token=secret"))
        self.assertStatus(r, 200)
        r = self.agent.get(kv_url(key), headers={"X-Consul-Token": "secret"})
        self.assertStatus(r, 200)
        r = self.agent.get(kv_url(key), headers={"Authorization": "Bearer secret"})
        self.assertStatus(r, 200)

    def test_unknown_dc_read(self):
        # docs/consul-api.md §1.2: unknown dc -> 500 `No path to datacenter`.
        key = self.k("dc")
        self.agent.kv_put(key, b"v")
        for query in ("dc=no-such-dc", "dc=no-such-dc&recurse", "dc=no-such-dc&keys"):
            r = self.agent.get(kv_url(key, query))
            self.assertStatus(r, 500, query)
            self.assertIn("No path to datacenter", r.text())

    def test_unknown_dc_write(self):
        key = self.k("dc")
        self.agent.kv_put(key, b"v")
        before = self.snapshot()
        for method, body in (("PUT", b"changed"), ("DELETE", None)):
            r = self.agent.request(method, kv_url(key, "dc=no-such-dc"), body=body)
            self.assertStatus(r, 500, method)
            self.assertIn("No path to datacenter", r.text())
            self.assertUnchanged(before, f"a {method} to an unknown datacenter")

    def test_non_blocking_without_index_or_with_index_zero(self):
        key = self.k("nb")
        self.agent.kv_put(key, b"v")
        for q in ("wait=30s", "index=0&wait=30s", "index=0"):
            with harness.Timer() as t:
                r = self.agent.get(kv_url(key, q))
            self.assertStatus(r, 200, q)
            self.assertLess(t.elapsed, 10, f"?{q} must not block")


class KvWriteTests(KvTestCase):
    """PUT flags/cas, DELETE recurse/cas."""

    def test_flags_stored_and_reset_when_omitted(self):
        key = self.k("f")
        self.agent.kv_put(key, b"v", "flags=42")
        self.assertEntry(self.agent.kv_get(key), key, b"v", flags=42)
        self.agent.kv_put(key, b"v2", f"flags={U64_MAX}")
        self.assertEqual(self.agent.kv_get(key)["Flags"], U64_MAX)
        self.agent.kv_put(key, b"v3")
        self.assertEqual(self.agent.kv_get(key)["Flags"], 0, "omitted flags reset to 0")
        # flags stays in the listing too
        self.agent.kv_put(key, b"v4", "flags=9")
        r = self.agent.get(kv_url(self.k(), "recurse"))
        self.assertEqual(r.json()[0]["Flags"], 9)

    def test_cas_zero_creates_only_if_absent(self):
        key = self.k("c0")
        r = self.agent.put(kv_url(key, "cas=0"), b"first")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        r = self.agent.put(kv_url(key, "cas=0"), b"second")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), False)
        self.assertEqual(self.agent.kv_value(key), b"first")

    def test_cas_index(self):
        key = self.k("cn")
        self.agent.kv_put(key, b"v1")
        idx = self.agent.kv_get(key)["ModifyIndex"]
        r = self.agent.put(kv_url(key, f"cas={idx + 1000}"), b"wrong")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), False)
        self.assertEqual(self.agent.kv_get(key)["ModifyIndex"], idx)
        r = self.agent.put(kv_url(key, f"cas={idx}&flags=5"), b"v2")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        e = self.agent.kv_get(key)
        self.assertEntry(e, key, b"v2", flags=5)
        self.assertGreater(e["ModifyIndex"], idx)
        r = self.agent.put(kv_url(key, f"cas={idx}"), b"stale")
        self.assertIs(r.json(), False, "the old index is stale now")
        self.assertEqual(self.agent.kv_value(key), b"v2")

    def test_cas_on_missing_key_is_false(self):
        key = self.k("gone")
        r = self.agent.put(kv_url(key, "cas=5"), b"v")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), False)
        self.assertIsNone(self.agent.kv_get(key))

    def test_plain_put_returns_true(self):
        r = self.agent.put(kv_url(self.k("t")), b"x")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))

    def test_trailing_slash_key_is_a_normal_key(self):
        key = self.k("folder/")
        self.agent.kv_put(key, b"")
        self.assertEntry(self.agent.kv_get(key), key, None)

    def test_delete(self):
        key = self.k("d")
        self.agent.kv_put(key, b"v")
        r = self.agent.delete(kv_url(key))
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        self.assertIsNone(self.agent.kv_get(key))
        r = self.agent.delete(kv_url(key))
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True, "deleting a missing key reports true")

    def test_delete_is_exact_without_recurse(self):
        base = self.k()
        for n in ("a", "a/b", "ab"):
            self.agent.kv_put(f"{base}/{n}", b"v")
        self.agent.delete(kv_url(f"{base}/a"))
        keys = [e["Key"] for e in self.agent.get(kv_url(base + "/", "recurse")).json()]
        self.assertEqual(keys, [f"{base}/a/b", f"{base}/ab"])

    def test_delete_recurse(self):
        base = self.k()
        for n in ("p/a", "p/b/c", "pq", "q/a"):
            self.agent.kv_put(f"{base}/{n}", b"v")
        r = self.agent.delete(kv_url(f"{base}/p/", "recurse"))
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        keys = [e["Key"] for e in self.agent.get(kv_url(base + "/", "recurse")).json()]
        self.assertEqual(keys, [f"{base}/pq", f"{base}/q/a"])

    def test_delete_cas(self):
        key = self.k("dc")
        self.agent.kv_put(key, b"v")
        idx = self.agent.kv_get(key)["ModifyIndex"]
        r = self.agent.delete(kv_url(key, "cas=0"))
        self.assertStatus(r, 200)
        self.assertIs(r.json(), False, "cas=0 never deletes an existing key")
        r = self.agent.delete(kv_url(key, f"cas={idx + 1000}"))
        self.assertIs(r.json(), False)
        self.assertIsNotNone(self.agent.kv_get(key))
        r = self.agent.delete(kv_url(key, f"cas={idx}"))
        self.assertIs(r.json(), True)
        self.assertIsNone(self.agent.kv_get(key))
        r = self.agent.delete(kv_url(key, "cas=77"))
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True, "delete-cas of a missing key reports true")

    def test_delete_recurse_with_cas_conflicts(self):
        key = self.k("x")
        self.agent.kv_put(key, b"v")
        before = self.snapshot()
        r = self.agent.delete(kv_url(self.k(), "recurse&cas=0"))
        self.assertStatus(r, 400)
        self.assertTrue(r.text().startswith("Conflicting flags"), repr(r))
        self.assertUnchanged(before, "DELETE ?recurse&cas")

    def test_put_cas_with_acquire_conflicts(self):
        key = self.k("x")
        self.agent.kv_put(key, b"v")
        before = self.snapshot()
        for q in ("cas=0&acquire=abc", "acquire=abc&release=abc", "cas=1&release=abc"):
            r = self.agent.put(kv_url(key, q), b"changed")
            self.assertStatus(r, 400, q)
            self.assertTrue(r.text().startswith("Conflicting flags: "), repr(r))
            self.assertUnchanged(before, f"PUT ?{q}")

    def test_acquire_and_release_without_sessions(self):
        # Sessions do not exist yet: acquire must fail clearly (Consul: 500
        # `invalid session "<id>"`); release of a lock that is not held is `false` in Consul.
        key = self.k("lock")
        sid = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"
        self.agent.kv_put(key, b"v")
        before = self.snapshot()
        r = self.agent.put(kv_url(key, f"acquire={sid}"), b"mine")
        self.assertIn(r.status // 100, (4, 5), repr(r))
        self.assertIn("session", r.text().lower(), repr(r))
        self.assertUnchanged(before, "acquire with an unknown session")
        r = self.agent.put(kv_url(self.k("newlock"), f"acquire={sid}"), b"mine")
        self.assertIn(r.status // 100, (4, 5), repr(r))
        self.assertUnchanged(before, "acquire of a new key with an unknown session")
        r = self.agent.put(kv_url(key, f"release={sid}"), b"mine")
        if r.status == 200:
            self.assertIs(r.json(), False, repr(r))
        else:
            self.assertIn(r.status // 100, (4, 5), repr(r))
            self.assertIn("session", r.text().lower(), repr(r))
        self.assertUnchanged(before, "release with an unknown session")

    def test_value_of_exactly_512_kib(self):
        key = self.k("big")
        value = os.urandom(KV_MAX_VALUE)
        r = self.agent.put(kv_url(key), value)
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        raw = self.agent.get(kv_url(key, "raw"))
        self.assertEqual(raw.body, value)
        self.assertEqual(self.agent.kv_value(key), value)

    def test_value_over_512_kib_is_413(self):
        key = self.k("toobig")
        self.agent.kv_put(key, b"small")
        before = self.snapshot()
        r = self.agent.put(kv_url(key), b"x" * (KV_MAX_VALUE + 1))
        self.assertStatus(r, 413)
        self.assertTrue(r.text().startswith(
            f"Request body({KV_MAX_VALUE + 1} bytes) too large, max size: {KV_MAX_VALUE} bytes"),
            repr(r))
        self.assertUnchanged(before, "a 413")
        r = self.agent.put(kv_url(self.k("new")), b"x" * (KV_MAX_VALUE + 1))
        self.assertStatus(r, 413)
        self.assertUnchanged(before, "a 413 on a new key")


class KvTransportTests(KvTestCase):
    """HTTP/1.1 details real clients rely on: keep-alive, chunked bodies, Expect, early 413."""

    def test_keep_alive_connection_serves_many_requests(self):
        # Go's api, requests (python-consul) and node reuse connections.
        conn = http.client.HTTPConnection(harness.HOST, self.agent.http_port, timeout=30)
        try:
            for i in range(10):
                for method, path, body, status in (
                        ("PUT", kv_url(self.k(str(i))), str(i).encode(), 200),
                        ("GET", kv_url(self.k(str(i))), None, 200),
                        ("GET", kv_url(self.k("missing")), None, 404),
                        ("GET", "/v1/kv/", None, 400),
                        ("DELETE", kv_url(self.k(str(i))), None, 200)):
                    conn.request(method, path, body=body)
                    resp = conn.getresponse()
                    resp.read()
                    self.assertEqual(resp.status, status, f"{method} {path} (request {i})")
        finally:
            conn.close()

    def test_chunked_request_body(self):
        key = self.k("chunked")
        conn = http.client.HTTPConnection(harness.HOST, self.agent.http_port, timeout=30)
        try:
            conn.request("PUT", kv_url(key), body=iter([b"hello ", b"chunked ", b"world"]),
                         encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
            resp = conn.getresponse()
            body = resp.read()
            self.assertEqual(resp.status, 200, body)
        finally:
            conn.close()
        self.assertEqual(self.agent.kv_value(key), b"hello chunked world")

    def test_expect_100_continue(self):
        # curl sends `Expect: 100-continue` for bodies over 1 KiB.
        key = self.k("expect")
        value = b"e" * 4096
        r = self.agent.put(kv_url(key), value, headers={"Expect": "100-continue"})
        self.assertStatus(r, 200)
        self.assertEqual(self.agent.kv_value(key), value)

    # The server checks the route's limit once the header is in, before reading the body.
    def test_oversized_content_length_rejected_without_reading_body(self):
        # Consul checks Content-Length before reading the body (kvs_endpoint.go KVSPut).
        before = self.snapshot()
        with socket.create_connection((harness.HOST, self.agent.http_port), timeout=10) as s:
            s.sendall((f"PUT {kv_url(self.k('huge'))} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode() + b"x" * 1024)
            reply = b""
            try:
                while b"\r\n" not in reply:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            except socket.timeout:
                self.fail("no answer to a request announcing a 50 MiB body")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
        self.assertUnchanged(before, "an oversized Content-Length")

    def test_many_keys_listed_completely(self):
        base = self.k()
        names = [f"{i:04d}" for i in range(600)]
        for start in range(0, len(names), 100):
            ops = [{"KV": {"Verb": "set", "Key": f"{base}/{n}", "Value": b64(n)}}
                   for n in names[start:start + 100]]
            self.assertStatus(self.agent.put("/v1/txn", json.dumps(ops)), 200)
        r = self.agent.get(kv_url(base + "/", "recurse"))
        self.assertStatus(r, 200)
        self.assertEqual([e["Key"] for e in r.json()], [f"{base}/{n}" for n in names])
        r = self.agent.get(kv_url(base + "/", "keys"))
        self.assertEqual(r.json(), [f"{base}/{n}" for n in names])


class KvKeyTests(KvTestCase):
    """Key encoding and validation (docs/consul-api.md §1.1, §2 Key rules)."""

    SPECIAL = [
        ("a/b", "a%2Fb"), ("a b", "a%20b"), ("a:b", "a:b"), ("a:b", "a%3Ab"), ("a@b", "a@b"),
        ("a@b", "a%40b"), ("50%", "50%25"), ("a+b", "a+b"), ("x.json", "x.json"),
        ("v1.2..3", "v1.2..3"), ("caf\u00e9", "caf%C3%A9"), ("q?x=1", "q%3Fx%3D1"),
        ("semi;colon", "semi%3Bcolon"), ("hash#tag", "hash%23tag"), ("a..b/c", "a..b/c"),
        ("scope%2Fname", "scope%252Fname"), ("dots/.hidden", "dots/.hidden"),
    ]

    def test_percent_encoded_keys_round_trip(self):
        base = self.k()
        for i, (key, encoded) in enumerate(self.SPECIAL):
            full = f"{base}/{i}/{key}"
            path = f"/v1/kv/{base}/{i}/{encoded}"
            r = self.agent.put(path, key.encode())
            self.assertStatus(r, 200, f"PUT {path}")
            self.assertIs(r.json(), True)
            r = self.agent.get(path)
            self.assertStatus(r, 200, f"GET {path}")
            self.assertEqual(r.json()[0]["Key"], full, path)
            self.assertEqual(base64.b64decode(r.json()[0]["Value"]), key.encode())
            # the canonical encoding reaches the same key
            self.assertEqual(self.agent.kv_get(full)["Key"], full)
        listed = [e["Key"] for e in self.agent.get(kv_url(base + "/", "recurse")).json()]
        self.assertEqual(listed, sorted((f"{base}/{i}/{key}" for i, (key, _) in
                                         enumerate(self.SPECIAL)), key=lambda s: s.encode()))

    def test_path_traversal_rejected(self):
        self.agent.kv_put("x", b"original")
        self.agent.kv_put("b", b"original")
        before = self.snapshot()
        for path in ("/v1/kv/../x", "/v1/kv/a/../b", "/v1/kv/%2e%2e/x", "/v1/kv/%2E%2E/x",
                     "/v1/kv/a/%2e%2e/b", "/v1/kv/..%2fx", "/v1/kv/%2e%2e%2fx",
                     "/v1/kv/a/..%2Fb", "/v1/kv/a%2F..%2Fb"):
            for method in ("PUT", "DELETE", "GET"):
                with self.subTest(method=method, path=path):
                    r = self.agent.request(method, path,
                                           body=b"evil" if method == "PUT" else None)
                    # Consul checks the raw path before dispatching on the method, so a GET
                    # is rejected too (agent/kvs_endpoint.go KVSEndpoint).
                    self.assertStatus(r, 400, f"{method} {path}")
                    self.assertUnchanged(before, f"{method} {path}")

    def test_leading_or_trailing_space_rejected(self):
        before = self.snapshot()
        for enc in ("%20a", "a%20", "%20", "%20dir/a", "dir/a%20", "a%20%20"):
            r = self.agent.put(f"/v1/kv/{enc}", b"v")
            self.assertStatus(r, 400, enc)
            self.assertUnchanged(before, f"PUT {enc}")

    def test_non_printable_rejected(self):
        before = self.snapshot()
        for enc in ("a%0ab", "a%00b", "a%09b", "a%7fb", "a%1bb"):
            for method in ("PUT", "GET", "DELETE"):
                with self.subTest(method=method, key=enc):
                    r = self.agent.request(method, f"/v1/kv/{enc}",
                                           body=b"v" if method == "PUT" else None)
                    self.assertStatus(r, 400, f"{method} {enc}")
                    self.assertUnchanged(before, enc)

    def test_empty_key(self):
        self.agent.kv_put(self.k("k"), b"v")
        before = self.snapshot()
        r = self.agent.get("/v1/kv/")
        self.assertStatus(r, 400)
        self.assertEqual(r.text().strip(), "Missing key name")
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"), repr(r))
        r = self.agent.put("/v1/kv/", b"v")
        self.assertStatus(r, 400)
        self.assertEqual(r.text().strip(), "Missing key name")
        r = self.agent.delete("/v1/kv/")
        self.assertStatus(r, 400)
        self.assertEqual(r.text().strip(), "Missing key name")
        self.assertUnchanged(before, "requests with an empty key")


class KvBadRequestTests(KvTestCase):
    """Malformed parameters, unknown paths and methods; the store must be unchanged after each."""

    def setUp(self):
        super().setUp()
        self.key = self.k("k")
        self.agent.kv_put(self.key, b"v", "flags=3")
        self.before = self.snapshot()

    def check(self, method, path, status, text=None, startswith=None, body=None):
        r = self.agent.request(method, path, body=body)
        self.assertStatus(r, status, f"{method} {path}")
        if text is not None:
            self.assertEqual(r.text().strip(), text, f"{method} {path}")
        if startswith is not None:
            self.assertTrue(r.text().startswith(startswith), f"{method} {path}: {r!r}")
        self.assertUnchanged(self.before, f"{method} {path}")
        return r

    def test_bad_index(self):
        for q in ("index=abc", "index=-1", "index=1.5", "index=18446744073709551616"):
            self.check("GET", kv_url(self.key, q), 400, text="Invalid index")
            self.check("GET", kv_url(self.k(), "recurse&" + q), 400, text="Invalid index")

    def test_bad_wait(self):
        for q in ("wait=10x", "wait=abc", "index=1&wait=5", "index=1&wait=1d"):
            self.check("GET", kv_url(self.key, q), 400, text="Invalid wait time")

    def test_bad_flags(self):
        for q in ("flags=abc", "flags=-1", "flags=1.5", "flags=18446744073709551616"):
            self.check("PUT", kv_url(self.key, q), 400, body=b"changed")

    def test_bad_cas(self):
        for q in ("cas=abc", "cas=-1", "cas=", "cas=1x"):
            self.check("PUT", kv_url(self.key, q), 400, body=b"changed")
            self.check("DELETE", kv_url(self.key, q), 400)

    def test_unknown_endpoint(self):
        for path in ("/v1/nope", "/v1/kvx/a", "/v1/status/nope", "/v1/"):
            self.check("GET", path, 404,
                       text="Invalid URL path: not a recognized HTTP API endpoint")

    def test_wrong_method(self):
        r = self.check("POST", kv_url(self.key), 405, body=b"changed")
        self.assertEqual(r.text().strip(), "method POST not allowed")
        allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
        self.assertTrue({"GET", "PUT", "DELETE"} <= allow, f"Allow header: {allow}")
        r = self.check("PATCH", kv_url(self.key), 405, body=b"changed")
        self.assertIn("PUT", r.headers.get("Allow", ""))
        r = self.check("DELETE", "/v1/status/leader", 405)
        self.assertIn("GET", r.headers.get("Allow", ""))
        r = self.check("GET", "/v1/txn", 405)
        self.assertIn("PUT", r.headers.get("Allow", ""))

    def test_options(self):
        r = self.check("OPTIONS", kv_url(self.key), 200)
        allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
        self.assertTrue({"GET", "PUT", "DELETE"} <= allow, f"Allow header: {allow}")

    def test_unknown_parameters_ignored(self):
        r = self.agent.get(kv_url(self.key, "foo=bar&ns=default&partition=default"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), [self.agent.kv_get(self.key)])


class KvEmptyStoreTests(KvTestCase):
    """Listing at the root of an empty store; empty key + recurse."""

    def test_root_listings(self):
        self.agent.kv_clear()
        r = self.agent.get("/v1/kv/?keys")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), [], "keys at the root of an empty store is []")
        self.assertConsulReadHeaders(r)
        r = self.agent.get("/v1/kv/?keys&separator=/")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), [])
        r = self.agent.get("/v1/kv/?recurse")
        self.assertStatus(r, 404, "recurse of an empty store is a 404")
        self.assertConsulReadHeaders(r)

        for key in ("a", "b/c", "b/d", "z"):
            self.agent.kv_put(key, key.encode())
        r = self.agent.get("/v1/kv/?recurse")
        self.assertStatus(r, 200)
        self.assertEqual([e["Key"] for e in r.json()], ["a", "b/c", "b/d", "z"])
        r = self.agent.get("/v1/kv/?keys")
        self.assertEqual(r.json(), ["a", "b/c", "b/d", "z"])
        r = self.agent.get("/v1/kv/?keys&separator=/")
        self.assertEqual(r.json(), ["a", "b/", "z"])

        r = self.agent.delete("/v1/kv/?recurse")
        self.assertStatus(r, 200)
        self.assertIs(r.json(), True)
        self.assertEqual(self.agent.get("/v1/kv/?keys").json(), [])
        self.assertEqual(self.agent.get("/v1/kv/?recurse").status, 404)

    def test_index_after_delete_all_does_not_go_backwards(self):
        self.agent.kv_put("x", b"1")
        idx = self.agent.get(kv_url("x")).index()
        self.agent.kv_clear()
        for path in (kv_url("x"), "/v1/kv/?recurse", "/v1/kv/?keys", kv_url("x/", "recurse")):
            r = self.agent.get(path)
            self.assertGreater(r.index(), idx, f"{path}: deletes leave tombstones, the index "
                                               "must not slide back")


if __name__ == "__main__":
    harness.main()
