#!/usr/bin/env python3
"""deploy/helm/cairn: lint, golden renders, values schema, and every rendered object validated.

  helm lint --strict                 for the defaults and every chart_values/<case>.yaml
  golden/<case>.yaml                 `helm template demo deploy/helm/cairn -n cairn -f <case>`
                                     byte for byte; `test_helm_chart.py --update` rewrites them
  chart_values/bad-*.yaml            refused, with the message on the file's `# expect:` line
  schemas                            every rendered object (and the chart's CRD) against the
                                     Kubernetes OpenAPI schemas of a current release, unknown
                                     fields refused (k8s_openapi.py); the CairnCluster against
                                     deploy/crds' schema as the API server applies it
  NOTES.txt                          rendered by `helm install` (in-memory release storage, the
                                     fake API server for the cluster's version and API groups)
  the chart's CRD                    identical to deploy/crds/cairn.io_cairnclusters.yaml (one
                                     source: helm installs crds/ before the templates)
"""

import glob
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import k8s_openapi  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_schema import apply_schema  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402
from test_crd_samples import expected_error  # noqa: E402  (the same `# expect:` convention)

CHART = os.path.join(REPO, "deploy", "helm", "cairn")
CRD = os.path.join(REPO, "deploy", "crds", "cairn.io_cairnclusters.yaml")
VALUES = os.path.join(HERE, "chart_values")
GOLDEN = os.path.join(HERE, "golden")
CASES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(VALUES, "*.yaml"))
               if not os.path.basename(p).startswith("bad-"))
BAD = sorted(glob.glob(os.path.join(VALUES, "bad-*.yaml")))
RELEASE, NAMESPACE = "demo", "cairn"


def helm(*args, check=True):
    proc = subprocess.run([tool_path("helm"), *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def render(case):
    return helm("template", RELEASE, CHART, "--namespace", NAMESPACE, "-f",
                os.path.join(VALUES, case + ".yaml")).stdout


def read(path):
    with open(path) as f:
        return f.read()




def setUpModule():
    # CI installs helm and the schemas with scripts/setup: their absence is a failure.
    if not tool_path("helm"):
        raise AssertionError("helm not found: run scripts/setup (or set CAIRN_HELM)")
    if not k8s_openapi.available():
        raise AssertionError("tests/k8s/node_modules lacks kubernetes-models: run scripts/setup")


class HelmChart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rendered = {case: render(case) for case in CASES}
        parsed = k8s_openapi.parse_yaml_many([read(CRD)] + [cls.rendered[c] for c in CASES])
        cls.crd, cls.objects = parsed[0], dict(zip(CASES, parsed[1:]))

    def find(self, case, kind, name=None):
        found = [o for o in self.objects[case]
                 if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
        self.assertEqual(len(found), 1, f"{case}: one {kind} {name or ''} expected")
        return found[0]

    def test_lint_strict(self):
        helm("lint", "--strict", CHART)
        for case in CASES:
            with self.subTest(case=case):
                helm("lint", "--strict", CHART, "-f", os.path.join(VALUES, case + ".yaml"))

    def test_the_charts_crd_is_deploy_crds(self):
        copy = os.path.join(CHART, "crds", os.path.basename(CRD))
        self.assertEqual(read(CRD), read(copy),
                         "deploy/helm/cairn/crds/ differs from deploy/crds/: copy it over")

    def test_golden_renders(self):
        self.assertGreaterEqual(len(CASES), 4)
        for case in CASES:
            with self.subTest(case=case):
                path = os.path.join(GOLDEN, case + ".yaml")
                self.assertTrue(os.path.exists(path), f"{path} missing: run with --update")
                self.assertEqual(self.rendered[case], read(path),
                                 f"{case} renders differently: check the diff, then "
                                 "tests/k8s/test_helm_chart.py --update")

    def test_bad_values_are_refused_with_a_clear_message(self):
        self.assertGreaterEqual(len(BAD), 5)
        for path in BAD:
            with self.subTest(values=os.path.basename(path)):
                proc = helm("template", RELEASE, CHART, "-f", path, check=False)
                self.assertNotEqual(proc.returncode, 0, "accepted")
                self.assertIn(expected_error(path), proc.stderr)

    def test_every_object_matches_the_kubernetes_schemas(self):
        labelled = [(case, obj) for case in CASES for obj in self.objects[case]]
        labelled += [("crds/", obj) for obj in self.crd]
        results = k8s_openapi.validate([obj for _, obj in labelled])
        for (case, obj), errors in zip(labelled, results):
            label = f"{case}: {obj['kind']}/{obj['metadata']['name']}"
            if obj["kind"] == "CairnCluster":
                continue  # test_cairncluster_matches_the_crd
            with self.subTest(object=label):
                self.assertIsNotNone(errors, f"{label}: no schema for this kind")
                self.assertEqual(errors, [])
                self.assertEqual(k8s_openapi.unknown_fields(obj), [], "unknown fields")

    def test_the_validation_catches_mistakes(self):
        # The checks above would pass anything if the schemas were not really read.
        deployment = self.find("default", "Deployment")
        broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two",
                                         "replicaz": 2}}
        self.assertTrue(k8s_openapi.validate([broken])[0])
        self.assertEqual(k8s_openapi.unknown_fields(broken), ["spec.replicaz"])
        container = dict(deployment["spec"]["template"]["spec"]["containers"][0])
        container["readinessProbe"] = {"httpGet": {"paht": "/readyz", "port": "metrics"}}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
               "spec": {"containers": [container]}}
        self.assertEqual(k8s_openapi.unknown_fields(pod),
                         ["spec.containers[0].readinessProbe.httpGet.paht"])

    def test_cairncluster_matches_the_crd(self):
        schema = self.crd[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for case in CASES:
            with self.subTest(case=case):
                cluster = self.find(case, "CairnCluster")
                pruned = []
                causes = apply_schema(cluster, schema, pruned)
                self.assertEqual(causes, [])
                self.assertEqual(pruned, [], "fields the CRD would prune")

    def test_default_install(self):
        kinds = sorted((o["kind"], o["metadata"]["name"]) for o in self.objects["default"])
        self.assertEqual(kinds, [
            ("CairnCluster", "demo-cairn-server"),
            ("ClusterRole", "demo-cairn-operator"),
            ("ClusterRole", "demo-cairn-operator-webhook"),
            ("ClusterRoleBinding", "demo-cairn-operator"),
            ("ClusterRoleBinding", "demo-cairn-operator-webhook"),
            ("ConfigMap", "demo-cairn-injector"),
            ("Deployment", "demo-cairn-operator"),
            ("MutatingWebhookConfiguration", "demo-cairn-injector"),
            ("PodDisruptionBudget", "demo-cairn-operator"),
            ("Role", "demo-cairn-operator-local"),
            ("RoleBinding", "demo-cairn-operator-local"),
            ("Service", "demo-cairn-server-metrics"),
            ("Service", "demo-cairn-ui"),
            ("Service", "demo-cairn-webhook"),
            ("ServiceAccount", "demo-cairn-operator"),
        ])
        self.assertEqual(self.find("default", "CairnCluster")["spec"]["servers"], 3)
        deployment = self.find("default", "Deployment")
        self.assertEqual(deployment["spec"]["replicas"], 2)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["image"], "cairn:0.1.0")
        self.assertEqual(container["command"], ["cairn-operator"])
        self.assertIn("-leader-elect=true", container["args"])
        self.assertIn("-lease-namespace=cairn", container["args"])
        # The webhook contract with cairn-operator: <release>-cairn-webhook:443 -> 9443.
        service = self.find("default", "Service", "demo-cairn-webhook")
        self.assertEqual(service["spec"]["ports"][0]["port"], 443)
        self.assertIn({"name": "webhook", "containerPort": 9443, "protocol": "TCP"},
                      container["ports"])
        hook = self.find("default", "MutatingWebhookConfiguration")["webhooks"][0]
        self.assertEqual(hook["clientConfig"]["service"],
                         {"name": "demo-cairn-webhook", "namespace": "cairn",
                          "path": "/mutate-pods", "port": 443})
        self.assertEqual(hook["failurePolicy"], "Ignore")
        self.assertIn("kube-system",
                      hook["namespaceSelector"]["matchExpressions"][0]["values"])

    def test_the_operator_serves_the_webhook_the_chart_configures(self):
        # Every case with injection on: the operator's -webhook-* flags name the Service,
        # namespace and MutatingWebhookConfiguration the chart renders, on the port the Service
        # targets, with the injector settings where the ConfigMap is mounted.
        for case in CASES:
            hooks = [o for o in self.objects[case] if o["kind"] == "MutatingWebhookConfiguration"]
            pod = self.find(case, "Deployment")["spec"]["template"]["spec"]
            container = pod["containers"][0]
            flags = dict(a.split("=", 1) for a in container["args"] if a.startswith("-"))
            with self.subTest(case=case):
                if not hooks:
                    self.assertNotIn("-webhook-service", flags)
                    continue
                service = hooks[0]["webhooks"][0]["clientConfig"]["service"]
                self.assertEqual(flags["-webhook-service"], service["name"])
                self.assertEqual(flags["-webhook-namespace"], service["namespace"])
                self.assertEqual(flags["-webhook-config"], hooks[0]["metadata"]["name"])
                svc = self.find(case, "Service", service["name"])
                self.assertEqual(svc["spec"]["ports"][0]["port"], service["port"])
                target = svc["spec"]["ports"][0]["targetPort"]
                port = next(p for p in container["ports"] if p["name"] == target)
                self.assertEqual(flags["-webhook-port"], str(port["containerPort"]))
                mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
                config = next(v for v in pod["volumes"] if v["name"] == "injector-config")
                self.find(case, "ConfigMap", config["configMap"]["name"])
                self.assertEqual(flags["-injector-config"],
                                 mounts["injector-config"] + "/injector.json")

    def test_operator_rbac_is_exactly_what_it_uses(self):
        # operator/operator_process.cc and leader_election.cc: keep in step with them.
        rules = {(g, r): sorted(rule["verbs"])
                 for rule in self.find("default", "ClusterRole", "demo-cairn-operator")["rules"]
                 for g in rule["apiGroups"] for r in rule["resources"]}
        self.assertEqual(rules, {
            ("cairn.io", "cairnclusters"): ["list", "watch"],
            ("cairn.io", "cairnclusters/status"): ["patch"],
            ("apps", "statefulsets"): ["create", "get", "list", "patch", "watch"],
            ("", "configmaps"): ["create", "patch"],
            ("", "services"): ["create", "patch"],
            ("policy", "poddisruptionbudgets"): ["create", "patch"],
            ("", "pods"): ["delete", "list", "watch"],
            ("", "persistentvolumeclaims"): ["delete", "list"],
            ("", "events"): ["create"],
        })
        local = self.find("default", "Role", "demo-cairn-operator-local")["rules"]
        self.assertEqual(local[0], {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                                    "verbs": ["get", "create", "update"]})
        # No wildcard anywhere.
        for case in CASES:
            for obj in self.objects[case]:
                for rule in obj.get("rules", []) if obj["kind"] in ("Role", "ClusterRole") else []:
                    for key in ("apiGroups", "resources", "verbs"):
                        self.assertNotIn("*", rule[key], f"{case}: {obj['metadata']['name']}")

    def test_five_servers_with_custom_storage(self):
        spec = self.find("five-servers", "CairnCluster")["spec"]
        self.assertEqual(spec["servers"], 5)
        self.assertEqual(spec["storage"], {"size": "50Gi", "storageClassName": "fast-ssd",
                                           "whenScaledDown": "Retain", "whenDeleted": "Delete"})
        self.assertEqual(spec["config"], {"log_level": "debug"})
        self.assertEqual(spec["nodeSelector"], {"node-role.example.com/cairn": "true"})

    def test_injection_by_namespace(self):
        hook = self.find("injection-by-namespace", "MutatingWebhookConfiguration")["webhooks"][0]
        self.assertEqual(hook["namespaceSelector"], {"matchLabels": {"cairn.io/inject": "true"}})
        self.assertEqual(hook["failurePolicy"], "Fail")
        self.assertEqual(hook["timeoutSeconds"], 5)
        config = self.find("injection-by-namespace", "ConfigMap", "demo-cairn-injector")
        self.assertIn('"defaultInject": true', config["data"]["injector.json"])

    def test_metrics_off_with_servicemonitor(self):
        objects = self.objects["metrics-off-servicemonitor"]
        self.assertNotIn("prometheus.io/scrape", self.rendered["metrics-off-servicemonitor"])
        monitor = self.find("metrics-off-servicemonitor", "ServiceMonitor")
        self.assertEqual(monitor["metadata"]["labels"]["release"], "prometheus")
        selected = [o["metadata"]["name"] for o in objects if o["kind"] == "Service"
                    and o["metadata"]["labels"].get("cairn.io/metrics") == "true"]
        self.assertEqual(sorted(selected), ["demo-cairn-operator-metrics",
                                            "demo-cairn-server-metrics"])
        # With the defaults: annotations, no ServiceMonitor.
        self.assertIn('prometheus.io/scrape: "true"', self.rendered["default"])
        self.assertFalse([o for o in self.objects["default"] if o["kind"] == "ServiceMonitor"])

    def test_one_namespace_operator(self):
        kinds = {o["kind"] for o in self.objects["one-namespace-ingress"]}
        self.assertNotIn("ClusterRole", kinds)
        self.assertNotIn("MutatingWebhookConfiguration", kinds)
        args = self.find("one-namespace-ingress", "Deployment")["spec"]["template"]["spec"][
            "containers"][0]["args"]
        self.assertIn("-namespace=cairn", args)
        self.assertEqual(self.find("one-namespace-ingress", "Ingress")["spec"]["ingressClassName"],
                         "nginx")

    def test_notes_say_what_to_do_next(self):
        server = FakeApiServer().start()
        kubectl = Kubectl(server.url)
        # Helm keeps releases in Secrets sent as protobuf, which the fake does not speak: the
        # memory driver keeps them in the process instead.
        with tempfile.NamedTemporaryFile(suffix=".yaml") as releases:
            env = dict(os.environ, HELM_DRIVER="memory", HELM_MEMORY_DRIVER_DATA=releases.name)
            try:
                for case in ("default", "injection-by-namespace"):
                    proc = subprocess.run(
                        [tool_path("helm"), "--kubeconfig", kubectl.kubeconfig, "install", RELEASE,
                         CHART, "-n", NAMESPACE, "-f", os.path.join(VALUES, case + ".yaml"),
                         "--disable-openapi-validation"],
                        capture_output=True, text=True, env=env, timeout=120)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    notes = proc.stdout[proc.stdout.index("NOTES:"):]
                    with self.subTest(case=case):
                        self.assertIn("kubectl -n cairn get cairncluster demo-cairn-server -w",
                                      notes)
                        self.assertIn("port-forward svc/demo-cairn-ui 8500:80", notes)
                        self.assertIn('cairn.io/inject: "true"', notes)
                        self.assertIn("docs/kubernetes.md", notes)
                        self.assertEqual("matched by injection.namespaceSelector" in notes,
                                         case == "injection-by-namespace")
            finally:
                kubectl.close()
                server.stop()


def update():
    for case in CASES:
        with open(os.path.join(GOLDEN, case + ".yaml"), "w") as f:
            f.write(render(case))
        print(f"wrote tests/k8s/golden/{case}.yaml")


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        unittest.main()
