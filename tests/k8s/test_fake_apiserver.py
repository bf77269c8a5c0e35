#!/usr/bin/env python3
"""The parts of tests/k8s/fake_apiserver.py that kubectl does not reach: raw watch streams
(resourceVersion replay, bookmarks, 410 Gone after compaction, dropped streams), optimistic
concurrency on PUT, DELETE bodies (preconditions, propagationPolicy), list paging, the fault
hooks (409/429/5xx with Retry-After), Lease objects and the JSON-patch/strategic-merge helpers.
"""

import http.client
import json
import os
import sys
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import k8s_patch  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

CMS = "/api/v1/namespaces/default/configmaps"


class Client:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def call(self, method, path, body=None, ctype="application/json"):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": ctype})
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        return resp.status, json.loads(text) if text else None, dict(resp.getheaders())

    def watch(self, path):
        """Opens a watch; returns a function that reads the next event (None at the end)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, resp.status

        def next_event():
            line = resp.readline()
            return json.loads(line) if line.strip() else None

        return next_event, conn


def cm(name, data=None, labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}}, "data": data or {}}


class FakeApiServerProtocol(unittest.TestCase):
    def setUp(self):
        self.server = FakeApiServer().start()
        self.addCleanup(self.server.stop)
        self.c = Client(self.server.url)

    def create(self, name, **kw):
        code, obj, _ = self.c.call("POST", CMS, cm(name, **kw))
        self.assertEqual(code, 201, obj)
        return obj

    def test_watch_replays_from_a_resource_version_and_sends_bookmarks(self):
        first = self.create("a")
        self.create("b")
        code, listed, _ = self.c.call("GET", CMS)
        rv = listed["metadata"]["resourceVersion"]
        self.c.call("PATCH", f"{CMS}/a", {"data": {"x": "1"}}, "application/merge-patch+json")
        nxt, conn = self.c.watch(f"{CMS}?watch=1&allowWatchBookmarks=true&resourceVersion="
                                 f"{first['metadata']['resourceVersion']}")
        events = [nxt() for _ in range(3)]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events[:2]],
                         [("ADDED", "b"), ("MODIFIED", "a")])
        self.assertEqual(events[2]["type"], "BOOKMARK")
        self.assertGreater(int(events[2]["object"]["metadata"]["resourceVersion"]), int(rv))
        self.c.call("DELETE", f"{CMS}/b")
        event = nxt()
        self.assertEqual((event["type"], event["object"]["metadata"]["name"]), ("DELETED", "b"))
        conn.close()

    def test_watch_from_a_compacted_resource_version_gets_410(self):
        old = self.create("a")["metadata"]["resourceVersion"]
        self.create("b")
        self.c.call("POST", "/__fake/compact")
        nxt, conn = self.c.watch(f"{CMS}?watch=1&resourceVersion={old}")
        event = nxt()
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual(event["object"]["code"], 410)
        self.assertEqual(event["object"]["reason"], "Expired")
        self.assertIsNone(nxt())
        conn.close()

    def test_dropped_watches_end_cleanly(self):
        nxt, conn = self.c.watch(f"{CMS}?watch=1&resourceVersion=0")
        self.create("a")
        self.assertEqual(nxt()["type"], "ADDED")
        self.c.call("POST", "/__fake/watches/drop")
        self.assertIsNone(nxt())
        conn.close()

    def test_put_with_a_stale_resource_version_is_409(self):
        obj = self.create("a", data={"v": "1"})
        obj["data"]["v"] = "2"
        code, fresh, _ = self.c.call("PUT", f"{CMS}/a", obj)
        self.assertEqual(code, 200)
        self.assertNotEqual(fresh["metadata"]["resourceVersion"], obj["metadata"]["resourceVersion"])
        obj["data"]["v"] = "3"
        code, status, _ = self.c.call("PUT", f"{CMS}/a", obj)
        self.assertEqual(code, 409)
        self.assertEqual((status["kind"], status["reason"]), ("Status", "Conflict"))

    def test_delete_body_preconditions_and_background_gc(self):
        parent = self.create("parent")
        child = cm("child")
        child["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap",
                                                 "name": "parent",
                                                 "uid": parent["metadata"]["uid"]}]
        self.assertEqual(self.c.call("POST", CMS, child)[0], 201)
        code, status, _ = self.c.call("DELETE", f"{CMS}/parent",
                                      {"preconditions": {"uid": "not-it"}})
        self.assertEqual(code, 409)
        code, _, _ = self.c.call("DELETE", f"{CMS}/parent",
                                 {"propagationPolicy": "Background",
                                  "preconditions": {"uid": parent["metadata"]["uid"]}})
        self.assertEqual(code, 200)
        self.assertEqual(self.c.call("GET", f"{CMS}/child")[0], 404)
        code, status, _ = self.c.call("DELETE", f"{CMS}/x", {"propagationPolicy": "Sometimes"})
        self.assertEqual(code, 400)

    def test_list_pages_with_limit_and_continue(self):
        for i in range(5):
            self.create(f"c{i}")
        names, token = [], ""
        while True:
            code, page, _ = self.c.call("GET", f"{CMS}?limit=2&continue={token}")
            names += [o["metadata"]["name"] for o in page["items"]]
            token = page["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(names, [f"c{i}" for i in range(5)])

    def test_fault_hooks_answer_the_injected_status(self):
        rules = {"rules": [{"method": "GET", "path": "configmaps/a$", "code": 429, "count": 1,
                            "retryAfter": 2},
                           {"method": "PUT", "path": "configmaps", "code": 409, "count": 1},
                           {"method": "POST", "code": 503, "rate": 0.0}]}
        self.c.call("POST", "/__fake/faults", rules)
        obj = self.create("a")  # rate 0: the 503 rule never fires
        code, status, headers = self.c.call("GET", f"{CMS}/a")
        self.assertEqual((code, status["reason"], headers.get("Retry-After")),
                         (429, "TooManyRequests", "2"))
        self.assertEqual(self.c.call("GET", f"{CMS}/a")[0], 200)
        self.assertEqual(self.c.call("PUT", f"{CMS}/a", obj)[0], 409)
        self.assertEqual(self.c.call("PUT", f"{CMS}/a", obj)[0], 200)
        fired = [r.get("fired", 0) for r in self.c.call("GET", "/__fake/faults")[1]["rules"]]
        self.assertEqual(fired, [1, 1, 0])

    def test_injected_410_on_a_watch_is_an_error_event(self):
        self.c.call("POST", "/__fake/faults",
                    {"rules": [{"path": "configmaps", "code": 410, "count": 1}]})
        nxt, conn = self.c.watch(f"{CMS}?watch=1&resourceVersion=1")
        self.assertEqual(nxt()["object"]["code"], 410)
        conn.close()

    def test_leases_take_compare_and_swap_updates(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "cairn-operator"},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
        code, held, _ = self.c.call("POST", path, lease)
        self.assertEqual(code, 201)
        for holder, want in (("b", 200), ("c", 409)):
            attempt = json.loads(json.dumps(held))
            attempt["spec"]["holderIdentity"] = holder
            code, _, _ = self.c.call("PUT", f"{path}/cairn-operator", attempt)
            self.assertEqual(code, want)

    def test_generation_moves_with_spec_only(self):
        path = "/apis/apps/v1/namespaces/default/statefulsets"
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
               "spec": {"replicas": 3}}
        self.assertEqual(self.c.call("POST", path, sts)[0], 201)
        self.c.call("PATCH", f"{path}/s/status", {"status": {"readyReplicas": 2}},
                    "application/merge-patch+json")
        self.c.call("PATCH", f"{path}/s", {"metadata": {"labels": {"a": "b"}}},
                    "application/merge-patch+json")
        code, obj, _ = self.c.call("GET", f"{path}/s")
        self.assertEqual((obj["metadata"]["generation"], obj["status"]["readyReplicas"]), (1, 2))
        code, scale, _ = self.c.call("GET", f"{path}/s/scale")
        self.assertEqual((scale["kind"], scale["spec"]["replicas"]), ("Scale", 3))
        self.c.call("PATCH", f"{path}/s/scale", {"spec": {"replicas": 4}},
                    "application/merge-patch+json")
        self.assertEqual(self.c.call("GET", f"{path}/s")[1]["metadata"]["generation"], 2)

    def test_unknown_paths_and_bad_bodies_are_4xx(self):
        self.assertEqual(self.c.call("GET", "/apis/nope/v1/things")[0], 404)
        conn = http.client.HTTPConnection(self.c.host, self.c.port, timeout=10)
        conn.request("POST", CMS, body="{not json", headers={"Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().status, 400)
        self.assertEqual(self.c.call("POST", CMS, [1, 2])[0], 400)
        self.assertEqual(self.c.call("PATCH", f"{CMS}/a", {}, "text/plain")[0], 415)


class PatchHelpers(unittest.TestCase):
    def test_strategic_merge_directives(self):
        live = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}],
                         "ports": [{"port": 80, "name": "http"}], "finalizers": ["x", "y"]}}
        patch = {"spec": {"$setElementOrder/containers": [{"name": "a"}],
                          "containers": [{"name": "b", "$patch": "delete"},
                                         {"name": "a", "image": "2"}],
                          "ports": [{"port": 443, "name": "https"}],
                          "$deleteFromPrimitiveList/finalizers": ["x"]}}
        out = k8s_patch.strategic_merge(live, patch)
        self.assertEqual(out["spec"]["containers"], [{"name": "a", "image": "2"}])
        self.assertEqual([p["port"] for p in out["spec"]["ports"]], [80, 443])
        self.assertEqual(out["spec"]["finalizers"], ["y"])

    def test_json_patch_errors(self):
        with self.assertRaises(k8s_patch.PatchError):
            k8s_patch.json_patch({}, [{"op": "remove", "path": "/nope"}])
        with self.assertRaises(k8s_patch.PatchError):
            k8s_patch.json_patch({}, {"op": "add"})
        self.assertEqual(k8s_patch.json_patch({"a": [1]}, [
            {"op": "add", "path": "/a/-", "value": 2},
            {"op": "move", "from": "/a", "path": "/b"}]), {"b": [1, 2]})


if __name__ == "__main__":
    unittest.main(verbosity=2)
