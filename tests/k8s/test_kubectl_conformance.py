#!/usr/bin/env python3
"""The real kubectl (1.31, from .tools/bin) against tests/k8s/fake_apiserver.py.

Every kubectl verb the operator's tests and users rely on, so that the fake cannot drift from
what Kubernetes does: create, apply (client-side three-way and server-side with conflicts), get
(-o json/yaml, tables, printer columns of the CairnCluster CRD, -w), patch (merge, strategic,
JSON, the status subresource), replace (409 on a stale resourceVersion), scale (the CRD's scale
subresource), label selectors, namespaces, delete (cascading by owner references, orphaning,
finalizers). Each test gets a fresh kubectl --cache-dir.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402

CRD = os.path.join(REPO, "deploy", "crds", "cairn.io_cairnclusters.yaml")


def deployment(name, image="app:1", env=None, replicas=1):
    container = {"name": "app", "image": image, "ports": [{"containerPort": 8080}]}
    if env:
        container["env"] = env
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container,
                                                 {"name": "side", "image": "side:1"}]}},
        },
    }


def configmap(name, labels=None, data=None, namespace=None):
    meta = {"name": name, "labels": labels or {}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}



def setUpModule():
    # CI installs kubectl with scripts/setup: its absence is a failure, not a reason to skip.
    if not tool_path("kubectl"):
        raise AssertionError("kubectl not found: run scripts/setup (or set CAIRN_KUBECTL)")


class KubectlConformance(unittest.TestCase):
    def setUp(self):
        self.server = FakeApiServer().start()
        self.kubectl = Kubectl(self.server.url)
        self.addCleanup(self.server.stop)
        self.addCleanup(self.kubectl.close)

    def k(self, *args, stdin=None, check=True):
        if isinstance(stdin, (dict, list)):
            stdin = json.dumps(stdin)
        return self.kubectl.run(*args, stdin=stdin, check=check)

    def get(self, *args):
        return self.kubectl.json("get", *args)

    def install_crd(self):
        self.k("apply", "-f", CRD)
        self.k("create", "-f", "-", stdin={"apiVersion": "cairn.io/v1alpha1",
                                           "kind": "CairnCluster", "metadata": {"name": "prod"},
                                           "spec": {"servers": 3}})

    # -- create, get ----------------------------------------------------------------------------
    def test_create_and_get_in_every_format(self):
        _, out, _ = self.k("create", "-f", "-", stdin=configmap("c1", {"tier": "a"}, {"k": "v"}))
        self.assertEqual(out.strip(), "configmap/c1 created")
        obj = self.get("configmap", "c1")
        self.assertEqual(obj["data"], {"k": "v"})
        self.assertEqual(obj["metadata"]["namespace"], "default")
        for field in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertIn(field, obj["metadata"])
        _, yaml_out, _ = self.k("get", "cm", "c1", "-o", "yaml")
        self.assertIn("name: c1", yaml_out)
        self.assertIn("k: v", yaml_out)
        _, table, _ = self.k("get", "configmaps")
        self.assertRegex(table.splitlines()[0], r"^NAME\s+AGE$")
        self.assertRegex(table, r"(?m)^c1\s+\d+s$")
        code, _, err = self.k("create", "-f", "-", stdin=configmap("c1"), check=False)
        self.assertNotEqual(code, 0)
        self.assertIn('configmaps "c1" already exists', err)
        code, _, err = self.k("get", "cm", "nope", check=False)
        self.assertIn('configmaps "nope" not found', err)

    def test_bad_names_and_missing_namespaces_are_refused(self):
        code, _, err = self.k("create", "-f", "-", stdin=configmap("Bad_Name"), check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("metadata.name: Invalid value", err)
        code, _, err = self.k("create", "-f", "-", stdin=configmap("c", namespace="ghost"),
                              check=False)
        self.assertIn('namespaces "ghost" not found', err)
        self.k("create", "namespace", "team")
        self.k("create", "-f", "-", stdin=configmap("c", namespace="team"))
        _, out, _ = self.k("get", "cm", "-A")
        self.assertRegex(out, r"(?m)^team\s+c\s")
        self.k("delete", "namespace", "team")
        self.assertEqual(self.get("cm", "-A")["items"], [])

    # -- apply ----------------------------------------------------------------------------------
    def test_client_side_apply_is_a_three_way_strategic_merge(self):
        first = deployment("web", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        _, out, _ = self.k("apply", "-f", "-", stdin=first)
        self.assertEqual(out.strip(), "deployment.apps/web created")
        # Another writer adds a container the applied file never mentions: apply keeps it.
        self.k("patch", "deployment", "web", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [{"name": "extra", "image": "x"}]}}}}))
        second = deployment("web", image="app:2", env=[{"name": "A", "value": "1"}])
        _, out, _ = self.k("apply", "-f", "-", stdin=second)
        self.assertEqual(out.strip(), "deployment.apps/web configured")
        obj = self.get("deployment", "web")
        containers = {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}
        self.assertEqual(set(containers), {"app", "side", "extra"})
        self.assertEqual(containers["app"]["image"], "app:2")
        self.assertEqual(containers["app"]["env"], [{"name": "A", "value": "1"}])
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration",
                      obj["metadata"]["annotations"])
        self.assertEqual(obj["metadata"]["generation"], 3)
        # Applying the same file again changes nothing: no new resourceVersion.
        self.k("apply", "-f", "-", stdin=second)
        self.assertEqual(self.get("deployment", "web")["metadata"]["resourceVersion"],
                         obj["metadata"]["resourceVersion"])
        self.k("apply", "-f", "-", stdin=deployment("fresh"))
        _, out, _ = self.k("apply", "-f", "-", stdin=deployment("fresh"))
        self.assertEqual(out.strip(), "deployment.apps/fresh unchanged")

    def test_server_side_apply_owns_fields_and_reports_conflicts(self):
        cm = configmap("owned", data={"a": "1", "b": "2"})
        _, out, _ = self.k("apply", "--server-side", "--field-manager=alice", "-f", "-",
                           stdin=cm)
        self.assertEqual(out.strip(), "configmap/owned serverside-applied")
        managed = self.get("cm", "owned", "--show-managed-fields")["metadata"]["managedFields"]
        self.assertEqual([m["manager"] for m in managed], ["alice"])
        self.assertEqual(managed[0]["operation"], "Apply")
        self.assertIn("f:a", managed[0]["fieldsV1"]["f:data"])
        # bob sets a field alice owns to another value: a conflict, unless forced.
        bob = configmap("owned", data={"a": "9"})
        code, _, err = self.k("apply", "--server-side", "--field-manager=bob", "-f", "-",
                              stdin=bob, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn('conflict with "alice"', err)
        self.assertIn(".data.a", err)
        self.k("apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", "-",
               stdin=bob)
        self.assertEqual(self.get("cm", "owned")["data"], {"a": "9", "b": "2"})
        # alice stops applying b: the field she alone owned goes away.
        self.k("apply", "--server-side", "--field-manager=alice", "-f", "-",
               stdin=configmap("owned", data={}))
        self.assertEqual(self.get("cm", "owned")["data"], {"a": "9"})

    def test_server_side_apply_keys_ports_by_port_and_protocol(self):
        # The operator's server pods expose DNS on 8600 over TCP and UDP. Server-side apply keys
        # container ports on (containerPort, protocol), so applying the same object again keeps
        # both (strategic merge's containerPort-only key would fold them into one, and every
        # apply would change the pod template).
        d = deployment("dns")
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = [
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            {"name": "dns-udp", "containerPort": 53, "protocol": "UDP"}]
        for _ in range(2):
            self.k("apply", "--server-side", "--field-manager=op", "-f", "-", stdin=d)
        ports = self.get("deploy", "dns")["spec"]["template"]["spec"]["containers"][0]["ports"]
        self.assertEqual([(p["name"], p["protocol"]) for p in ports],
                         [("dns-tcp", "TCP"), ("dns-udp", "UDP")])

    # -- patch, replace -------------------------------------------------------------------------
    def test_patch_merge_strategic_and_json(self):
        self.k("create", "-f", "-", stdin=deployment("p", env=[{"name": "A", "value": "1"}]))
        self.k("patch", "deploy", "p", "--type=strategic", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "app", "env": [{"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 9090}]}]}}}}))
        app = self.get("deploy", "p")["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual([e["name"] for e in app["env"]], ["A", "B"])
        self.assertEqual([p["containerPort"] for p in app["ports"]], [8080, 9090])
        # A merge patch replaces lists wholesale.
        self.k("patch", "deploy", "p", "--type=merge", "-p", json.dumps(
            {"metadata": {"labels": {"x": "y"}},
             "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "o"}]}}}}))
        obj = self.get("deploy", "p")
        self.assertEqual([c["name"] for c in obj["spec"]["template"]["spec"]["containers"]],
                         ["only"])
        self.assertEqual(obj["metadata"]["labels"], {"x": "y"})
        self.k("patch", "deploy", "p", "--type=json", "-p", json.dumps(
            [{"op": "replace", "path": "/spec/replicas", "value": 4},
             {"op": "add", "path": "/metadata/labels/z", "value": "w"},
             {"op": "remove", "path": "/metadata/labels/x"}]))
        obj = self.get("deploy", "p")
        self.assertEqual(obj["spec"]["replicas"], 4)
        self.assertEqual(obj["metadata"]["labels"], {"z": "w"})
        code, _, err = self.k("patch", "deploy", "p", "--type=json", "-p", json.dumps(
            [{"op": "test", "path": "/spec/replicas", "value": 1}]), check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("testing value /spec/replicas failed", err)

    def test_replace_with_a_stale_resource_version_is_a_conflict(self):
        self.k("create", "-f", "-", stdin=configmap("r", data={"v": "1"}))
        stale = self.get("cm", "r")
        self.k("patch", "cm", "r", "-p", '{"data":{"v":"2"}}')
        stale["data"]["v"] = "3"
        code, _, err = self.k("replace", "-f", "-", stdin=stale, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("Operation cannot be fulfilled on configmaps \"r\": the object has been "
                      "modified", err)
        fresh = self.get("cm", "r")
        fresh["data"]["v"] = "3"
        _, out, _ = self.k("replace", "-f", "-", stdin=fresh)
        self.assertEqual(out.strip(), "configmap/r replaced")
        self.assertEqual(self.get("cm", "r")["data"], {"v": "3"})

    # -- selectors, delete ----------------------------------------------------------------------
    def test_label_selectors(self):
        for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}),
                             ("c", {"env": "dev"})):
            self.k("create", "-f", "-", stdin=configmap(name, labels))

        def names(selector):
            return [o["metadata"]["name"] for o in self.get("cm", "-l", selector)["items"]]

        self.assertEqual(names("tier=web"), ["a"])
        self.assertEqual(names("tier!=web"), ["b", "c"])
        self.assertEqual(names("tier in (web,db)"), ["a", "b"])
        self.assertEqual(names("env notin (prod)"), ["b", "c"])
        self.assertEqual(names("tier"), ["a", "b"])
        self.assertEqual(names("!tier"), ["c"])
        self.assertEqual(names("tier=web,env=prod"), ["a"])
        self.k("delete", "cm", "-l", "tier")
        self.assertEqual([o["metadata"]["name"] for o in self.get("cm")["items"]], ["c"])

    def test_delete_cascades_through_owner_references(self):
        self.k("create", "-f", "-", stdin=deployment("owner"))
        uid = self.get("deploy", "owner")["metadata"]["uid"]
        ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner", "uid": uid,
               "controller": True, "blockOwnerDeletion": True}
        for name in ("child1", "child2"):
            cm = configmap(name)
            cm["metadata"]["ownerReferences"] = [ref]
            self.k("create", "-f", "-", stdin=cm)
        self.k("create", "-f", "-", stdin=configmap("bystander"))
        _, out, _ = self.k("delete", "deployment", "owner")
        self.assertEqual(out.strip(), 'deployment.apps "owner" deleted')
        self.assertEqual([o["metadata"]["name"] for o in self.get("cm")["items"]], ["bystander"])
        # --cascade=orphan keeps the dependents and drops their owner reference.
        self.k("create", "-f", "-", stdin=deployment("owner2"))
        uid = self.get("deploy", "owner2")["metadata"]["uid"]
        cm = configmap("kept")
        cm["metadata"]["ownerReferences"] = [dict(ref, name="owner2", uid=uid)]
        self.k("create", "-f", "-", stdin=cm)
        self.k("delete", "deployment", "owner2", "--cascade=orphan")
        kept = self.get("cm", "kept")
        self.assertEqual(kept["metadata"].get("ownerReferences", []), [])
        bodies = [r for r in self.server.requests if r["method"] == "DELETE"]
        self.assertTrue(bodies)

    def test_finalizers_hold_a_deletion(self):
        cm = configmap("held")
        cm["metadata"]["finalizers"] = ["cairn.io/test"]
        self.k("create", "-f", "-", stdin=cm)
        self.k("delete", "cm", "held", "--wait=false")
        obj = self.get("cm", "held")
        self.assertIn("deletionTimestamp", obj["metadata"])
        self.k("patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
        code, _, err = self.k("get", "cm", "held", check=False)
        self.assertIn("not found", err)

    # -- watch ----------------------------------------------------------------------------------
    def watch_lines(self, *args):
        proc = subprocess.Popen(self.kubectl.command("get", *args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()

        def wait_for(predicate, what):
            deadline = time.monotonic() + 30
            seen = []
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=0.5)
                except queue.Empty:
                    continue
                seen.append(line)
                if predicate(line):
                    return line
            self.fail(f"kubectl get {' '.join(args)} never showed {what}; saw {seen}")

        return wait_for

    def test_get_watch_sees_updates(self):
        self.k("create", "-f", "-", stdin=configmap("w", data={"v": "1"}))
        wait_for = self.watch_lines("cm", "w", "-w", "--output-watch-events", "-o",
                                    "jsonpath={.type} {.object.data.v}{\"\\n\"}")
        wait_for(lambda l: l.strip() == "ADDED 1", "the object")
        self.k("patch", "cm", "w", "-p", '{"data":{"v":"2"}}')
        wait_for(lambda l: l.strip() == "MODIFIED 2", "the update")
        self.k("delete", "cm", "w")
        wait_for(lambda l: l.strip().startswith("DELETED"), "the deletion")

    def test_get_watch_prints_table_rows_of_a_custom_resource(self):
        self.install_crd()
        wait_for = self.watch_lines("cairnclusters", "-w")
        wait_for(lambda l: l.startswith("prod "), "the row")
        self.k("scale", "cairncluster/prod", "--replicas=5")
        wait_for(lambda l: l.split()[:2] == ["prod", "5"], "the new size")

    # -- the CairnCluster resource --------------------------------------------------------------
    def test_cairnclusters_print_their_columns(self):
        self.install_crd()
        self.k("patch", "cairncluster", "prod", "--subresource=status", "--type=merge", "-p",
               json.dumps({"status": {"readyServers": 3, "voters": 3, "leader": "prod-1",
                                      "version": "cairn:0.1.0", "conditions": [
                                          {"type": "Available", "status": "True",
                                           "reason": "QuorumHealthy", "message": "ok"},
                                          {"type": "Progressing", "status": "False",
                                           "reason": "Idle", "message": "nothing to do"}]}}))
        _, out, _ = self.k("get", "cairnclusters")
        header, row = out.splitlines()
        self.assertEqual(header.split(),
                         ["NAME", "SERVERS", "READY", "VOTERS", "LEADER", "AVAILABLE", "AGE"])
        self.assertEqual(row.split()[:6], ["prod", "3", "3", "3", "prod-1", "True"])
        _, out, _ = self.k("get", "cairn", "-o", "wide")
        self.assertEqual(out.splitlines()[0].split(),
                         ["NAME", "SERVERS", "READY", "VOTERS", "LEADER", "VERSION", "AVAILABLE",
                          "REASON", "AGE"])
        self.assertIn("cairn:0.1.0", out)
        self.assertIn("Idle", out)

    def test_status_subresource_keeps_spec_and_status_apart(self):
        self.install_crd()
        before = self.get("cairncluster", "prod")
        self.k("patch", "cairncluster", "prod", "--type=merge", "-p",
               '{"spec":{"servers":5},"status":{"leader":"ignored"}}')
        obj = self.get("cairncluster", "prod")
        self.assertEqual(obj["spec"]["servers"], 5)
        self.assertNotIn("status", obj)
        self.assertEqual(obj["metadata"]["generation"], before["metadata"]["generation"] + 1)
        self.k("patch", "cairncluster", "prod", "--subresource=status", "--type=merge", "-p",
               '{"spec":{"servers":1},"status":{"leader":"prod-0"}}')
        obj = self.get("cairncluster", "prod")
        self.assertEqual(obj["spec"]["servers"], 5)
        self.assertEqual(obj["status"]["leader"], "prod-0")
        self.assertEqual(obj["metadata"]["generation"], before["metadata"]["generation"] + 1)

    def test_scale_subresource_maps_to_spec_servers(self):
        self.install_crd()
        _, out, _ = self.k("scale", "cairncluster/prod", "--replicas=5")
        self.assertEqual(out.strip(), "cairncluster.cairn.io/prod scaled")
        obj = self.get("cairncluster", "prod")
        self.assertEqual(obj["spec"]["servers"], 5)
        self.assertEqual(obj["metadata"]["generation"], 2)
        code, _, err = self.k("scale", "cairncluster/prod", "--replicas=0", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("spec.servers in body should be greater than or equal to 1", err)
        code, _, err = self.k("patch", "cairncluster", "prod", "--type=strategic", "-p",
                              '{"spec":{"servers":3}}', check=False)
        self.assertIn("strategic-merge-patch+json is not supported", err)

    def test_custom_resources_are_validated_defaulted_and_pruned(self):
        self.install_crd()
        spec = self.get("cairncluster", "prod")["spec"]
        self.assertEqual(spec["image"], "cairn:0.1.0")
        self.assertEqual(spec["storage"], {"size": "10Gi", "whenScaledDown": "Delete",
                                           "whenDeleted": "Retain"})
        bad = {"apiVersion": "cairn.io/v1alpha1", "kind": "CairnCluster",
               "metadata": {"name": "typo"}, "spec": {"servrs": 3}}
        code, _, err = self.k("apply", "-f", "-", stdin=bad, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn('unknown field "spec.servrs"', err)
        self.k("apply", "--validate=false", "-f", "-", stdin=bad)
        self.assertNotIn("servrs", self.get("cairncluster", "typo")["spec"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
