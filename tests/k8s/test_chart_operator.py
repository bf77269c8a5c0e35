#!/usr/bin/env python3
"""The chart's operator, run as the chart runs it, against the fake API server.

deploy/crds/ and deploy/manifests/ (the chart's default render) are applied with the real
kubectl; cairn-operator starts with the flags of the rendered Deployment (only its metrics and webhook
endpoints moved to free loopback ports, the injector settings read from the chart's ConfigMap,
and a kubeconfig instead of the in-cluster one). It must take the
Lease the chart names and turn the chart's CairnCluster into a 3-server StatefulSet of the
chart's image. Every request it made is then checked against the chart's RBAC, as the API
server would authorize it: the fake allows everything, so this is where least privilege is
proven to be enough. The binary's path comes from CAIRN_OPERATOR (set by ctest).
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import k8s_openapi  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402
import test_operator_binary as operator_binary  # noqa: E402  (its helpers, not its tests)
from test_operator_binary import free_port, wait_for  # noqa: E402

MANIFESTS = os.path.join(REPO, "deploy", "manifests")
SERVICE_ACCOUNT = ("cairn", "cairn-operator")
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def attributes(request):
    """(namespace or None, apiGroup, resource[/subresource], verb) of a resource request, as
    Kubernetes' authorizer sees it; None for discovery and other non-resource paths."""
    parts = request["path"].strip("/").split("/")
    if parts[0] == "api" and len(parts) > 2:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    resource, name = rest[0], rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource += "/" + rest[2]
    method = request["method"]
    if method == "GET":
        verb = "get" if name else ("watch" if request["query"].get("watch") else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = VERBS[method]
    return namespace, group, resource, verb


def grants(objects):
    """[(namespace or None for everywhere, rule)] bound to the operator's ServiceAccount."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o["rules"]
             for o in objects if o["kind"] in ("Role", "ClusterRole")}
    out = []
    for b in objects:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any((s.get("namespace"), s["name"]) == SERVICE_ACCOUNT for s in b["subjects"]
                   if s["kind"] == "ServiceAccount"):
            continue
        ref = b["roleRef"]
        scope = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
        key = (ref["kind"], scope if ref["kind"] == "Role" else None, ref["name"])
        out += [(scope, rule) for rule in roles.get(key, [])]
    return out


def resource_name(request):
    """The object's name in a resource request's path, or None (a list, a create)."""
    parts = request["path"].strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    return rest[1] if len(rest) > 1 else None


def allowed(grants_, namespace, group, resource, verb, name=None):
    for scope, rule in grants_:
        if scope is not None and scope != namespace:
            continue
        if (group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
                and ("resourceNames" not in rule or name in rule["resourceNames"])):
            return True
    return False


class ChartOperator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = os.environ.get("CAIRN_OPERATOR")
        for missing, what in ((not tool_path("kubectl"), "kubectl: run scripts/setup"),
                              (not cls.binary, "CAIRN_OPERATOR (ctest sets it)")):
            if missing:
                raise AssertionError(f"missing {what}")
        with open(os.path.join(MANIFESTS, "cairn.yaml")) as f:
            cls.objects = k8s_openapi.parse_yaml(f.read())
        cls.server = FakeApiServer().start()
        cls.kubectl = Kubectl(cls.server.url, namespace="cairn")
        cls.kubectl.run("apply", "-f", os.path.join(REPO, "deploy", "crds"))
        cls.kubectl.run("apply", "-f", MANIFESTS)
        cls.seen_before = len(cls.fake_requests())
        deployment = next(o for o in cls.objects if o["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        cls.port = free_port()
        cls.proc = subprocess.Popen([cls.binary, "-kubeconfig", cls.kubectl.kubeconfig,
                                     *cls.local_args(container["args"])])

    @classmethod
    def local_args(cls, args):
        """The Deployment's args for a process on this machine: its endpoints on free loopback
        ports instead of the pod's 0.0.0.0:9600 and :9443, the injector settings written from
        the chart's ConfigMap where the pod would have it mounted."""
        configmap = next(o for o in cls.objects if o["kind"] == "ConfigMap"
                         and o["metadata"]["name"].endswith("-injector"))
        injector = os.path.join(cls.kubectl.dir, "injector.json")
        with open(injector, "w") as f:
            f.write(configmap["data"]["injector.json"])
        local = {"-metrics-addr": f"127.0.0.1:{cls.port}", "-webhook-bind": "127.0.0.1",
                 "-webhook-port": str(free_port()), "-injector-config": injector}
        out = []
        for a in args:
            flag = a.split("=", 1)[0]
            out.append(f"{flag}={local[flag]}" if flag in local else a)
        return out

    @classmethod
    def tearDownClass(cls):
        # The same process, server and kubectl to stop as in k8s.operator_binary.
        operator_binary.OperatorBinary.tearDownClass.__func__(cls)

    @classmethod
    def fake_requests(cls):
        with urllib.request.urlopen(cls.server.url + "/__fake/requests", timeout=10) as r:
            return json.loads(r.read())["requests"]

    get = operator_binary.OperatorBinary.get

    def test_the_chart_runs_the_operator_it_configures(self):
        # Watched through the fake's request log only: a kubectl get now would add requests
        # the operator did not make.
        def operator_requests():
            requests = self.fake_requests()[self.seen_before:]
            named = {(attributes(r), resource_name(r)) for r in requests} - {(None, None)}
            made = {a for a, _ in named}
            done = (("cairn", "cairn.io", "cairnclusters/status", "patch") in made
                    and (None, "admissionregistration.k8s.io", "mutatingwebhookconfigurations",
                         "update") in made)
            return named if done else None

        named = wait_for("the operator's first status and caBundle", operator_requests)
        made = {a for a, _ in named if a}
        self.assertIn(("cairn", "coordination.k8s.io", "leases", "get"), made)
        self.assertIn(("cairn", "apps", "statefulsets", "patch"), made)
        self.assertIn(("cairn", "", "secrets", "create"), made)
        rbac = grants(self.objects)
        denied = sorted(str((a, n)) for a, n in named if a and not allowed(rbac, *a, n))
        self.assertEqual(denied, [], "requests the chart's RBAC would forbid")
        print(f"{len(made)} kinds of request, all granted: " + ", ".join(
            sorted(f"{v} {r}" for _, _, r, v in made)), file=sys.stderr)

        sts = self.get("statefulset", "cairn-server")
        self.assertEqual(sts["spec"]["replicas"], 3)
        self.assertEqual(sts["spec"]["template"]["spec"]["containers"][0]["image"], "cairn:0.1.0")
        lease = self.get("lease", "cairn-operator")
        self.assertTrue(lease and lease["spec"]["holderIdentity"])
        self.assertIsNone(self.proc.poll(), "the operator exited: a flag it does not know?")

    def test_the_check_would_see_a_missing_grant(self):
        rbac = grants(self.objects)
        self.assertTrue(allowed(rbac, "cairn", "apps", "statefulsets", "patch"))
        self.assertTrue(allowed(rbac, "other", "apps", "statefulsets", "patch"))
        self.assertFalse(allowed(rbac, "cairn", "apps", "statefulsets", "delete"))
        self.assertFalse(allowed(rbac, "cairn", "", "secrets", "list"))
        # The Lease Role holds in the release namespace only.
        self.assertFalse(allowed(rbac, "other", "coordination.k8s.io", "leases", "get"))
        # The webhook configuration: only the chart's own, by name.
        hooks = ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "update")
        self.assertTrue(allowed(rbac, None, *hooks, "cairn-injector"))
        self.assertFalse(allowed(rbac, None, *hooks, "someone-elses"))


if __name__ == "__main__":
    unittest.main()
