#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server, on loopback, for Cairn's operator tests.

No kube-apiserver can run on our machines, so this speaks the real REST and watch protocol well
enough that the real kubectl works against it (tests/k8s/test_kubectl_conformance.py keeps it
honest). docs/operator.md describes what it implements and what it leaves out. Python stdlib only.

Run alone:   python3 fake_apiserver.py [--host 127.0.0.1] [--port 0] [--port-file FILE]
In a test:   server = FakeApiServer(); server.start(); ... server.url ...; server.stop()

Fault hooks (tests only), on the same port:
  POST /__fake/faults         {"rules": [{"method": "PUT", "path": "regex", "code": 409,
                               "rate": 1.0, "count": 3, "retryAfter": 1}]}: matching requests
                               answer `code` (a watch with code 410 gets an ERROR event instead)
  GET  /__fake/faults         the rules and how often each fired
  POST /__fake/watches/drop   ends every open watch stream
  POST /__fake/compact        forgets the event history: a watch from any older
                               resourceVersion gets 410 Gone
  GET  /__fake/requests       the requests seen (method, path, query, content type)
  The environment variable CAIRN_FAKE_FAULTS may hold the initial rules (the same JSON).
"""

import argparse
import collections
import copy
import datetime
import http.server
import json
import os
import queue
import random
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8s_admission  # noqa: E402
import k8s_patch  # noqa: E402
import k8s_schema  # noqa: E402

SERVER_VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.9", "platform": "linux/amd64",
                  "goVersion": "go1.22.0", "compiler": "gc", "buildDate": "2025-05-15T00:00:00Z",
                  "gitCommit": "0000000000000000000000000000000000000000",
                  "gitTreeState": "clean"}
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
EVENT_WINDOW = 10000  # watch events kept; an older resourceVersion gets 410 Gone
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_age(stamp):
    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    secs = max(0, int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()))
    if secs < 120:
        return f"{secs}s"
    if secs < 3600 * 3:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


class ApiError(Exception):
    """An answer in Kubernetes' Status shape."""

    REASONS = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict",
               410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
               429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}

    def __init__(self, code, message, reason=None, details=None, retry_after=None):
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = reason or self.REASONS.get(code, "Unknown")
        self.details, self.retry_after = details, retry_after

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


class ResourceType:
    def __init__(self, group, version, plural, singular, kind, namespaced, short=(), status=False,
                 scale=None, crd=None):
        self.group, self.versions, self.plural = group, [version], plural
        self.singular, self.kind, self.namespaced = singular, kind, namespaced
        self.short, self.status, self.scale, self.crd = list(short), status, scale, crd
        self.schemas, self.columns, self.categories = {}, {}, []

    @property
    def builtin(self):
        return self.crd is None

    def gv(self, version):
        return f"{self.group}/{version}" if self.group else version

    def qualified(self):
        return f"{self.plural}.{self.group}" if self.group else self.plural


_REPLICAS = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
             "labelSelectorPath": ".status.selector"}
BUILTINS = [
    ResourceType("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"], status=True),
    ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, ["cm"]),
    ResourceType("", "v1", "secrets", "secret", "Secret", True),
    ResourceType("", "v1", "services", "service", "Service", True, ["svc"], status=True),
    ResourceType("", "v1", "endpoints", "endpoints", "Endpoints", True, ["ep"]),
    ResourceType("", "v1", "pods", "pod", "Pod", True, ["po"], status=True),
    ResourceType("", "v1", "persistentvolumeclaims", "persistentvolumeclaim",
                 "PersistentVolumeClaim", True, ["pvc"], status=True),
    ResourceType("", "v1", "events", "event", "Event", True, ["ev"]),
    ResourceType("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ["sa"]),
    ResourceType("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True, ["sts"],
                 status=True, scale=_REPLICAS),
    ResourceType("apps", "v1", "deployments", "deployment", "Deployment", True, ["deploy"],
                 status=True, scale=_REPLICAS),
    ResourceType("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ["rs"],
                 status=True, scale=_REPLICAS),
    ResourceType("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
                 "PodDisruptionBudget", True, ["pdb"], status=True),
    ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding",
                 True),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole",
                 False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding",
                 "ClusterRoleBinding", False),
    ResourceType("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                 "mutatingwebhookconfiguration", "MutatingWebhookConfiguration", False),
    ResourceType("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
                 "validatingwebhookconfiguration", "ValidatingWebhookConfiguration", False),
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                 "customresourcedefinition", "CustomResourceDefinition", False, ["crd", "crds"],
                 status=True),
]
# Metadata the server owns: never taken from a client's body, never part of field ownership.
SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                   "deletionTimestamp", "selfLink")


def parse_selector(text):
    """A label selector (a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a) as predicates."""
    preds = []
    for term in re.findall(r"(?:[^,(]|\([^)]*\))+", text or ""):
        term = term.strip()
        if not term:
            continue
        m = re.match(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$", term)
        if m:
            key, op = m.group(1), m.group(2)
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            preds.append(lambda lb, k=key, o=op, vs=values: (lb.get(k) in vs) == (o == "in"))
            continue
        m = re.match(r"^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$", term)
        if m:
            key, op, value = m.groups()
            preds.append(lambda lb, k=key, o=op, v=value: (lb.get(k) == v) == (o != "!="))
            continue
        m = re.match(r"^(!?)([\w./-]+)$", term)
        if not m:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
        preds.append(lambda lb, neg=m.group(1), k=m.group(2): (k in lb) != bool(neg))
    return preds


def parse_field_selector(text):
    preds = []
    for term in (text or "").split(","):
        if not term.strip():
            continue
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", term.strip())
        if not m:
            raise ApiError(400, f"invalid field selector: {term!r}")
        path, op, value = m.groups()
        parts = path.split(".")
        preds.append(lambda o, p=parts, op=op, v=value:
                     (str(k8s_patch.get_path(o, p) or "") == v) == (op != "!="))
    return preds


class Watcher:
    def __init__(self, rt, namespace, name, labels, fields, table):
        self.rt, self.namespace, self.name = rt, namespace, name
        self.labels, self.fields, self.table = labels, fields, table
        self.queue = queue.Queue()

    def wants(self, rt, obj):
        meta = obj.get("metadata", {})
        if rt is not self.rt:
            return False
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.name and meta.get("name") != self.name:
            return False
        lb = meta.get("labels") or {}
        return all(p(lb) for p in self.labels) and all(p(obj) for p in self.fields)


class Store:
    """Every object, the watch event history and field ownership, under one lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.rv = 1
        self.types = {}  # (group, plural) -> ResourceType
        self.objects = collections.defaultdict(dict)  # (group, plural) -> {(ns, name): obj}
        self.owners = {}  # (group, plural, ns, name) -> {manager: [operation, set(paths)]}
        self.events = collections.deque()
        self.compacted = 0  # a watch must start at or after this resourceVersion
        self.watchers = []
        for rt in BUILTINS:
            self.types[(rt.group, rt.plural)] = rt
        for ns in ("default", "kube-system", "kube-public"):
            self.write(self.types[("", "namespaces")], None,
                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # -- resource types -------------------------------------------------------------------------
    def find_type(self, group, version, plural):
        rt = self.types.get((group, plural))
        if rt is None or version not in rt.versions:
            return None
        return rt

    def groups(self):
        out = collections.OrderedDict()
        for rt in self.types.values():
            for v in rt.versions:
                out.setdefault(rt.group, [])
                if v not in out[rt.group]:
                    out[rt.group].append(v)
        return out

    def register_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        served = [v for v in spec.get("versions", []) if v.get("served", True)]
        if not served:
            return
        rt = ResourceType(spec["group"], served[0]["name"], names["plural"],
                          names.get("singular", names["plural"]), names["kind"],
                          spec.get("scope", "Namespaced") == "Namespaced",
                          names.get("shortNames", []), crd=crd["metadata"]["name"])
        rt.versions = [v["name"] for v in served]
        rt.categories = names.get("categories", [])
        for v in served:
            sub = v.get("subresources") or {}
            rt.status = rt.status or "status" in sub
            rt.scale = rt.scale or sub.get("scale")
            rt.schemas[v["name"]] = (v.get("schema") or {}).get("openAPIV3Schema")
            rt.columns[v["name"]] = v.get("additionalPrinterColumns")
        self.types[(rt.group, rt.plural)] = rt

    def validate_crd(self, crd):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        causes = []
        for field, value in (("spec.group", spec.get("group")), ("spec.names.plural",
                             names.get("plural")), ("spec.names.kind", names.get("kind"))):
            if not value:
                causes.append({"reason": "FieldValueRequired", "field": field,
                               "message": f"{field}: Required value"})
        if not spec.get("versions"):
            causes.append({"reason": "FieldValueRequired", "field": "spec.versions",
                           "message": "spec.versions: Required value"})
        if not causes and crd["metadata"]["name"] != f"{names['plural']}.{spec['group']}":
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                           "message": "metadata.name: Invalid value: "
                           f"\"{crd['metadata']['name']}\": must be spec.names.plural+\".\"+"
                           "spec.group"})
        return causes

    # -- objects --------------------------------------------------------------------------------
    def get(self, rt, ns, name):
        obj = self.objects[(rt.group, rt.plural)].get((ns or "", name))
        if obj is None:
            raise ApiError(404, f"{rt.qualified()} \"{name}\" not found",
                           details={"name": name, "group": rt.group, "kind": rt.plural})
        return obj

    def items(self, rt, ns=None):
        objs = self.objects[(rt.group, rt.plural)]
        return [o for (n, _), o in sorted(objs.items()) if not ns or n == ns]

    def next_rv(self):
        self.rv += 1
        return self.rv

    def emit(self, rt, kind, obj):
        self.events.append((int(obj["metadata"]["resourceVersion"]), rt, kind, obj))
        while len(self.events) > EVENT_WINDOW:
            self.compacted = self.events.popleft()[0]
        for w in list(self.watchers):
            if w.wants(rt, obj):
                w.queue.put((kind, obj))

    def write(self, rt, old, obj, dry_run=False):
        """Stores a new version of obj (already checked); returns it."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if rt.crd or "spec" in obj:
                meta["generation"] = 1
        else:
            for f in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if f in old["metadata"]:
                    meta[f] = old["metadata"][f]
            if "generation" in meta and spec_of(old) != spec_of(obj):
                meta["generation"] += 1
        if dry_run:
            meta["resourceVersion"] = old["metadata"]["resourceVersion"] if old else "0"
            return obj
        if old is not None and same_object(old, obj):
            return old  # a write that changes nothing is no new version (and no watch event)
        meta["resourceVersion"] = str(self.next_rv())
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self.remove(rt, obj, "Background")
        self.objects[(rt.group, rt.plural)][key] = obj
        self.render_owners(rt, obj)
        self.emit(rt, "ADDED" if old is None else "MODIFIED", obj)
        if rt.plural == "customresourcedefinitions":
            self.register_crd(obj)
        return obj

    def remove(self, rt, obj, propagation):
        """Deletes obj now (its finalizers are gone) and collects what it owned."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        self.objects[(rt.group, rt.plural)].pop(key, None)
        self.owners.pop((rt.group, rt.plural) + key, None)
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.next_rv())
        self.emit(rt, "DELETED", gone)
        if rt.plural == "customresourcedefinitions":
            crt = self.types.get((obj["spec"]["group"], obj["spec"]["names"]["plural"]))
            if crt is not None and crt.crd:
                for child in self.items(crt):
                    self.remove(crt, child, "Background")
                del self.types[(crt.group, crt.plural)]
        if rt.plural == "namespaces":
            for other in list(self.types.values()):
                if other.namespaced:
                    for child in self.items(other, meta["name"]):
                        self.remove(other, child, "Background")
        self.collect(meta["uid"], propagation)
        return gone

    def collect(self, uid, propagation):
        """Owner-reference garbage collection of uid's dependents."""
        for rt in list(self.types.values()):
            for child in list(self.items(rt)):
                refs = child["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                if propagation == "Orphan":
                    kept = copy.deepcopy(child)
                    kept["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    self.write(rt, child, kept)
                else:
                    self.delete(rt, child, "Background")

    def delete(self, rt, obj, propagation):
        if obj["metadata"].get("finalizers"):
            marked = copy.deepcopy(obj)
            marked["metadata"].setdefault("deletionTimestamp", now_rfc3339())
            return self.write(rt, obj, marked)
        return self.remove(rt, obj, propagation)

    # -- field ownership (server-side apply, simplified: a list is one field) -------------------
    def render_owners(self, rt, obj):
        meta = obj["metadata"]
        owners = self.owners.get((rt.group, rt.plural, meta.get("namespace", ""), meta["name"]))
        if owners:
            meta["managedFields"] = [
                {"manager": m, "operation": op, "apiVersion": obj.get("apiVersion", ""),
                 "time": now_rfc3339(), "fieldsType": "FieldsV1",
                 "fieldsV1": k8s_patch.fields_v1(paths)}
                for m, (op, paths) in sorted(owners.items()) if paths]

    def record_update(self, rt, old, new, manager):
        meta = new["metadata"]
        owners = self.owners.setdefault(
            (rt.group, rt.plural, meta.get("namespace", ""), meta["name"]), {})
        old_paths = owned_paths(old) if old else set()
        changed = {p for p in owned_paths(new)
                   if old is None or p not in old_paths
                   or k8s_patch.get_path(old, p) != k8s_patch.get_path(new, p)}
        for m, (_, paths) in owners.items():
            if m != manager:
                paths -= changed
        entry = owners.setdefault(manager, ["Update", set()])
        entry[1] |= changed


def same_object(a, b):
    def strip(o):
        o = copy.deepcopy(o)
        for f in ("resourceVersion", "managedFields"):
            o["metadata"].pop(f, None)
        return o

    return strip(a) == strip(b)


def spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def owned_paths(obj):
    """The fields an object sets that field ownership tracks: all but server metadata/status."""
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    meta = obj.get("metadata") or {}
    for f in ("labels", "annotations"):
        if meta.get(f):
            body.setdefault("metadata", {})[f] = meta[f]
    return k8s_patch.leaf_paths(body)


class FakeApiServer:
    def __init__(self, host="127.0.0.1", port=0):
        self.store = Store()
        self.rules = json.loads(os.environ.get("CAIRN_FAKE_FAULTS", '{"rules": []}'))["rules"]
        self.requests = collections.deque(maxlen=10000)
        self.stopping = threading.Event()
        self.drop_epoch = 0
        handler = type("Handler", (Handler,), {"api": self})
        self.httpd = http.server.ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = self.handle_error
        self.thread = None

    @staticmethod
    def handle_error(request, client_address):
        """A client that went away (a killed operator) is no error worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            traceback.print_exc()

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.drop_watches()
        self.httpd.shutdown()
        self.httpd.server_close()

    def drop_watches(self):
        with self.store.lock:
            self.drop_epoch += 1
            for w in self.store.watchers:
                w.queue.put(None)

    def fault_for(self, method, path):
        for rule in self.rules:
            if rule.get("method") and rule["method"].upper() != method:
                continue
            if rule.get("path") and not re.search(rule["path"], path):
                continue
            if rule.get("count") is not None and rule.get("fired", 0) >= rule["count"]:
                continue
            if random.random() >= float(rule.get("rate", 1.0)):
                continue
            rule["fired"] = rule.get("fired", 0) + 1
            return rule
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # the FakeApiServer, set by a subclass
    field_validation = "Ignore"

    def log_message(self, fmt, *args):  # quiet: tests read /__fake/requests instead
        pass

    # -- plumbing -------------------------------------------------------------------------------
    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_error_status(self, err):
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
        self.send_json(err.code, err.status(), headers)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self, raw):
        try:
            return json.loads(raw or b"null")
        except ValueError as e:
            raise ApiError(400, f"the body of the request is not valid JSON: {e}")

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        raw = self.read_body()
        try:
            if path.startswith("/__fake/"):
                return self.control(method, path, raw)
            self.api.requests.append({"method": method, "path": path, "query": query,
                                      "contentType": self.headers.get("Content-Type", "")})
            rule = self.api.fault_for(method, path)
            watching = query.get("watch") in ("1", "true")
            if rule and not (watching and int(rule.get("code", 500)) == 410):
                raise ApiError(int(rule.get("code", 500)), f"injected fault ({rule.get('code')})",
                               retry_after=rule.get("retryAfter"))
            self.route(method, path, query, raw, watch_fault=rule)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # a bug here must show as a 500, not kill the connection silently
            self.send_error_status(ApiError(500, f"fake API server error: {e!r}"))

    def control(self, method, path, raw):
        api = self.api
        if path == "/__fake/faults" and method == "POST":
            api.rules = (self.json_body(raw) or {}).get("rules", [])
            return self.send_json(200, {"rules": api.rules})
        if path == "/__fake/faults":
            return self.send_json(200, {"rules": api.rules})
        if path == "/__fake/watches/drop":
            api.drop_watches()
            return self.send_json(200, {})
        if path == "/__fake/compact":
            with api.store.lock:
                api.store.compacted = api.store.rv
                api.store.events.clear()
            return self.send_json(200, {"compacted": api.store.compacted})
        if path == "/__fake/requests":
            return self.send_json(200, {"requests": list(api.requests)})
        raise ApiError(404, f"no fake control endpoint {path}")

    # -- routing --------------------------------------------------------------------------------
    def route(self, method, path, query, raw, watch_fault=None):
        store = self.api.store
        if path == "/version":
            return self.send_json(200, SERVER_VERSION)
        if path in ("/healthz", "/readyz", "/livez"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            return self.wfile.write(data)
        if path == "/api":
            host = "%s:%d" % self.server.server_address[:2]
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [
                                            {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})
        if path == "/apis":
            return self.send_json(200, self.group_list())
        if path == "/openapi/v3":
            return self.send_json(200, self.openapi_index())
        if path.startswith("/openapi/v3/"):
            return self.send_json(200, self.openapi_doc(path[len("/openapi/v3/"):]))
        if path.startswith("/openapi"):
            raise ApiError(404, "the fake API server publishes no OpenAPI v2 document")
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                return self.send_json(200, self.group(parts[1]))
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, f"the server could not find the requested resource ({path})")
        if not rest:
            return self.send_json(200, self.resource_list(group, version))
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        rt = store.find_type(group, version, rest[0])
        if rt is None:
            raise ApiError(404, f"the server could not find the requested resource ({path})")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status", "scale") or (sub == "status" and not rt.status) or (
                sub == "scale" and not rt.scale):
            raise ApiError(404, f"the server could not find the requested resource ({path})")
        if rt.namespaced and name is not None and ns is None:
            raise ApiError(404, f"the server could not find the requested resource ({path})")
        self.resource(method, rt, version, ns, name, sub, query, raw, watch_fault)

    # kubectl reads the OpenAPI v3 documents only to learn that each PATCH accepts
    # fieldValidation (then it lets the server validate instead of validating on its own), so the
    # documents list the operations and their parameters, without schemas.
    def openapi_index(self):
        paths = {}
        for group, versions in self.api.store.groups().items():
            for v in versions:
                gv = f"apis/{group}/{v}" if group else f"api/{v}"
                paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={self.api.store.rv}"}
        return {"paths": paths}

    def openapi_doc(self, gv):
        parts = gv.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        params = [{"name": n, "in": "query", "schema": {"type": "string"}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]
        paths = {}
        for rt in list(self.api.store.types.values()):
            if rt.group != group or version not in rt.versions:
                continue
            scope = "/namespaces/{namespace}" if rt.namespaced else ""
            gvk = {"group": group, "version": version, "kind": rt.kind}
            op = {"x-kubernetes-group-version-kind": gvk, "parameters": params,
                  "responses": {"200": {"description": "OK"}}}
            paths[f"/{gv}{scope}/{rt.plural}/{{name}}"] = {"patch": op, "put": op}
            paths[f"/{gv}{scope}/{rt.plural}"] = {"post": op}
        if not paths:
            raise ApiError(404, f"no OpenAPI document for {gv}")
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.31.9"},
                "paths": paths, "components": {"schemas": {}}}

    def group_list(self):
        groups = []
        for group, versions in self.api.store.groups().items():
            if group:
                groups.append(self.group_doc(group, versions))
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def group_doc(self, group, versions):
        vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": vs, "preferredVersion": vs[0]}

    def group(self, group):
        versions = self.api.store.groups().get(group)
        if not versions:
            raise ApiError(404, f"the server could not find the requested resource ({group})")
        return dict(self.group_doc(group, versions), kind="APIGroup", apiVersion="v1")

    def resource_list(self, group, version):
        resources = []
        for rt in list(self.api.store.types.values()):
            if rt.group != group or version not in rt.versions:
                continue
            verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                     "watch"]
            doc = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                   "kind": rt.kind, "verbs": verbs}
            if rt.short:
                doc["shortNames"] = rt.short
            if rt.categories:
                doc["categories"] = rt.categories
            resources.append(doc)
            if rt.status:
                resources.append({"name": f"{rt.plural}/status", "singularName": "",
                                  "namespaced": rt.namespaced, "kind": rt.kind,
                                  "verbs": ["get", "patch", "update"]})
            if rt.scale:
                resources.append({"name": f"{rt.plural}/scale", "singularName": "",
                                  "namespaced": rt.namespaced, "group": "autoscaling",
                                  "version": "v1", "kind": "Scale",
                                  "verbs": ["get", "patch", "update"]})
        if not resources:
            raise ApiError(404, f"the server could not find the requested resource ({group})")
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": resources}

    # -- one resource ---------------------------------------------------------------------------
    def resource(self, method, rt, version, ns, name, sub, query, raw, watch_fault):
        store = self.api.store
        dry = query.get("dryRun") == "All"
        self.field_validation = query.get("fieldValidation", "Ignore")
        if ns and rt.namespaced and method in ("POST", "PUT", "PATCH"):
            with store.lock:
                if ("", ns) not in store.objects[("", "namespaces")]:
                    raise ApiError(404, f"namespaces \"{ns}\" not found",
                                   details={"name": ns, "kind": "namespaces"})
        if name is None:
            if method == "GET" and query.get("watch") in ("1", "true"):
                return self.watch(rt, version, ns, None, query, watch_fault)
            if method == "GET":
                return self.send_json(200, self.list(rt, version, ns, query))
            if method == "POST":
                obj = self.admit(rt, version, ns, self.json_body(raw), None, "CREATE", dry)
                with store.lock:
                    return self.send_json(201, self.out(rt, version,
                                                        self.create(rt, ns, obj, query, dry)))
            if method == "DELETE":
                with store.lock:
                    listed = self.list(rt, version, ns, query, table=False)
                    for item in listed["items"]:
                        store.delete(rt, store.get(rt, ns or item["metadata"].get("namespace"),
                                                   item["metadata"]["name"]), "Background")
                return self.send_json(200, listed)
            raise ApiError(405, f"the server does not allow this method on the requested resource")
        if method == "GET" and query.get("watch") in ("1", "true"):
            return self.watch(rt, version, ns, name, query, watch_fault)
        admitted = None
        if method == "PUT" and sub is None:
            with store.lock:
                old = copy.deepcopy(store.get(rt, ns, name))
            admitted = self.admit(rt, version, ns, self.json_body(raw), old, "UPDATE", dry)
        with store.lock:
            if method == "GET":
                obj = store.get(rt, ns, name)
                if sub == "scale":
                    return self.send_json(200, scale_of(rt, obj))
                return self.send_json(200, self.out(rt, version, obj, self.wants_table()))
            if method == "PUT":
                body = self.json_body(raw) if admitted is None else admitted
                return self.send_json(200, self.out(rt, version,
                                                    self.update(rt, ns, name, sub, body, query,
                                                                dry)))
            if method == "PATCH":
                code, obj = self.patch(rt, ns, name, sub, raw, query, dry)
                return self.send_json(code, self.out(rt, version, obj) if sub != "scale" else obj)
            if method == "DELETE":
                opts = self.json_body(raw) or {}
                policy = query.get("propagationPolicy") or opts.get("propagationPolicy") or (
                    "Background")
                if policy not in ("Background", "Foreground", "Orphan"):
                    raise ApiError(400, f"unsupported propagationPolicy {policy!r}")
                obj = store.get(rt, ns, name)
                pre = opts.get("preconditions") or {}
                if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                    raise self.conflict(rt, name, "Precondition failed: UID in precondition: "
                                        f"{pre['uid']}, UID in object meta: "
                                        f"{obj['metadata']['uid']}")
                if pre.get("resourceVersion") and (
                        pre["resourceVersion"] != obj["metadata"]["resourceVersion"]):
                    raise self.conflict(rt, name, "Precondition failed: ResourceVersion in "
                                        f"precondition: {pre['resourceVersion']}, ResourceVersion "
                                        f"in object meta: {obj['metadata']['resourceVersion']}")
                if dry:
                    return self.send_json(200, self.out(rt, version, obj))
                return self.send_json(200, self.out(rt, version, store.delete(rt, obj, policy)))
        raise ApiError(405, "the server does not allow this method on the requested resource")

    # -- admission (mutating webhooks; k8s_admission.py) -----------------------------------------
    # Called without the store lock: a webhook may call this server while it answers.
    def admit(self, rt, version, ns, obj, old, operation, dry):
        if dry or not isinstance(obj, dict):
            return obj
        if rt.namespaced:
            ns = ns or (obj.get("metadata") or {}).get("namespace") or "default"

        def record(call):
            self.api.requests.append(dict(call, method="ADMIT", path=rt.plural, query={},
                                          contentType="application/json"))
        try:
            return k8s_admission.mutate(self.api.store, rt, version, ns, obj, old, operation,
                                        record=record)
        except k8s_admission.Denied as e:
            raise ApiError(e.code, e.message)

    def conflict(self, rt, name, why):
        return ApiError(409, f"Operation cannot be fulfilled on {rt.qualified()} \"{name}\": {why}",
                        details={"name": name, "group": rt.group, "kind": rt.plural})

    def wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def out(self, rt, version, obj, table=False):
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = rt.gv(version)
        if table:
            return self.table(rt, version, [obj], str(self.api.store.rv))
        return obj

    def list(self, rt, version, ns, query, table=None):
        store = self.api.store
        labels = parse_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
        with store.lock:
            items = [self.out(rt, version, o) for o in store.items(rt, ns)
                     if all(p((o["metadata"].get("labels") or {})) for p in labels)
                     and all(p(o) for p in fields)]
            rv = str(store.rv)
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0)
        meta = {"resourceVersion": rv}
        if limit and start + limit < len(items):
            meta["continue"] = str(start + limit)
            meta["remainingItemCount"] = len(items) - start - limit
        items = items[start:start + limit] if limit else items[start:]
        if table if table is not None else self.wants_table():
            result = self.table(rt, version, items, rv)
            result["metadata"].update(meta)
            return result
        return {"kind": f"{rt.kind}List", "apiVersion": rt.gv(version), "metadata": meta,
                "items": items}

    def table(self, rt, version, objs, rv):
        cols = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
                 "description": "Name must be unique within a namespace."}]
        extra = rt.columns.get(version) or [{"name": "Age", "type": "date",
                                             "jsonPath": ".metadata.creationTimestamp"}]
        for c in extra:
            cols.append({"name": c["name"], "type": c.get("type", "string"),
                         "format": c.get("format", ""), "description": c.get("description", ""),
                         "priority": c.get("priority", 0)})
        rows = []
        for obj in objs:
            cells = [obj["metadata"]["name"]]
            for c in extra:
                found = k8s_schema.jsonpath(obj, c["jsonPath"])
                value = found[0] if found else None
                if c.get("type") == "date" and value is not None:
                    value = human_age(value)
                cells.append(value)
            partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": obj["metadata"]}
            rows.append({"cells": cells, "object": partial})
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": rv}, "columnDefinitions": cols, "rows": rows}

    # -- writes ---------------------------------------------------------------------------------
    def check(self, rt, ns, obj, name=None):
        """The checks every write makes; fills apiVersion/kind/namespace; returns obj."""
        if not isinstance(obj, dict):
            raise ApiError(400, "the body of the request must be a JSON object")
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if obj.get("kind") and obj["kind"] != rt.kind:
            raise ApiError(400, f"the kind {obj['kind']!r} does not match the resource "
                           f"{rt.plural!r} ({rt.kind})")
        if rt.namespaced:
            if meta.get("namespace") and ns and meta["namespace"] != ns:
                raise ApiError(400, "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = ns or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if name is not None and meta.get("name") and meta["name"] != name:
            raise ApiError(400, "the name of the object "
                           f"({meta['name']}) does not match the name on the URL ({name})")
        if name is not None:
            meta["name"] = name
        obj["kind"] = rt.kind
        nm = meta.get("name", "")
        causes = []
        if not nm:
            causes.append({"reason": "FieldValueRequired", "field": "metadata.name",
                           "message": "metadata.name: Required value: name or generateName is "
                           "required"})
        elif len(nm) > 253 or not NAME_RE.match(nm):
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                           "message": f"metadata.name: Invalid value: \"{nm}\": a lowercase RFC "
                           "1123 subdomain must consist of lower case alphanumeric characters, "
                           "'-' or '.', and must start and end with an alphanumeric character"})
        if rt.plural == "customresourcedefinitions" and not causes:
            causes += self.api.store.validate_crd(obj)
        schema = None
        if rt.crd:
            version = obj.get("apiVersion", "").split("/")[-1]
            schema = rt.schemas.get(version) or rt.schemas.get(rt.versions[0])
        if schema and not causes:
            pruned = []
            causes += k8s_schema.apply_schema(obj, schema, pruned)
            if pruned and self.field_validation == "Strict":
                raise ApiError(400, "strict decoding error: " + ", ".join(
                    f"unknown field \"{f}\"" for f in pruned))
        if causes:
            for c in causes:
                if c["message"].startswith(c["field"] + ": "):
                    c["message"] = c["message"][len(c["field"]) + 2:]
            what = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
            what = what if len(causes) == 1 else f"[{what}]"
            raise ApiError(422, f"{rt.kind}{'.' + rt.group if rt.group else ''} \"{nm}\" is "
                           f"invalid: {what}",
                           details={"name": nm, "group": rt.group, "kind": rt.kind,
                                    "causes": causes})
        for f in SERVER_METADATA:
            if f != "deletionTimestamp":
                meta.pop(f, None)
        return obj

    def create(self, rt, ns, obj, query, dry=False):
        store = self.api.store
        if isinstance(obj, dict) and not (obj.get("metadata") or {}).get("name") and (
                (obj.get("metadata") or {}).get("generateName")):
            obj["metadata"]["name"] = obj["metadata"]["generateName"] + uuid.uuid4().hex[:5]
        obj = self.check(rt, ns, obj)
        if not obj.get("apiVersion"):
            obj["apiVersion"] = rt.gv(rt.versions[0])
        if rt.status:
            obj.pop("status", None)
        meta = obj["metadata"]
        meta.pop("deletionTimestamp", None)
        if (meta.get("namespace", ""), meta["name"]) in store.objects[(rt.group, rt.plural)]:
            raise ApiError(409, f"{rt.qualified()} \"{meta['name']}\" already exists",
                           reason="AlreadyExists",
                           details={"name": meta["name"], "group": rt.group, "kind": rt.plural})
        if rt.plural == "customresourcedefinitions":
            obj["status"] = crd_status(obj)
        if not dry:
            store.record_update(rt, None, obj, query.get("fieldManager", "unknown"))
        return store.write(rt, None, obj, dry)

    def update(self, rt, ns, name, sub, body, query, dry=False, manager=None):
        store = self.api.store
        old = store.get(rt, ns, name)
        if sub == "scale":
            return self.write_scale(rt, old, body, query, dry)
        meta = body.get("metadata") if isinstance(body, dict) else None
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        body = self.check(rt, ns, copy.deepcopy(body) if isinstance(body, dict) else body, name)
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise self.conflict(rt, name, "the object has been modified; please apply your "
                                "changes to the latest version and try again")
        if not rv and rt.crd and manager is None:
            raise ApiError(422, f"{rt.kind}.{rt.group} \"{name}\" is invalid: "
                           "metadata.resourceVersion: Invalid value: 0x0: must be specified for "
                           "an update")
        new = body
        if rt.status:
            if sub == "status":
                new = copy.deepcopy(old)
                new["status"] = body.get("status")
                if new["status"] is None:
                    new.pop("status")
            else:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
        if rt.plural == "customresourcedefinitions":
            new["status"] = crd_status(new)
        if not dry:
            store.record_update(rt, old, new, manager or query.get("fieldManager", "unknown"))
        return store.write(rt, old, new, dry)

    def write_scale(self, rt, old, body, query, dry):
        if not isinstance(body, dict) or not isinstance((body.get("spec") or {}).get("replicas"),
                                                          int):
            raise ApiError(422, "Scale is invalid: spec.replicas: Required value")
        new = copy.deepcopy(old)
        path = rt.scale["specReplicasPath"].lstrip(".").split(".")
        node = new
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = body["spec"]["replicas"]
        new = self.check(rt, old["metadata"].get("namespace"), new, old["metadata"]["name"])
        if not dry:
            self.api.store.record_update(rt, old, new, query.get("fieldManager", "unknown"))
        return scale_of(rt, self.api.store.write(rt, old, new, dry))

    def patch(self, rt, ns, name, sub, raw, query, dry):
        store = self.api.store
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        kind = PATCH_TYPES.get(ctype)
        if kind is None or (kind == "strategic" and not rt.builtin):
            raise ApiError(415, f"the body of the request was in an unknown format - accepted "
                           "media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml"
                           + (", application/strategic-merge-patch+json" if rt.builtin else ""))
        if kind == "apply":
            return self.apply(rt, ns, name, sub, raw, query, dry)
        patch = self.json_body(raw)
        old = store.get(rt, ns, name)
        base = scale_of(rt, old) if sub == "scale" else copy.deepcopy(old)
        try:
            if kind == "merge":
                new = k8s_patch.merge_patch(base, patch)
            elif kind == "strategic":
                new = k8s_patch.strategic_merge(base, patch)
            else:
                new = k8s_patch.json_patch(base, patch)
        except k8s_patch.PatchError as e:
            raise ApiError(e.code, str(e))
        if not isinstance(new, dict):
            raise ApiError(422, "the patch made the object something other than a JSON object")
        new.setdefault("metadata", {})
        # A patch that carries a resourceVersion is a precondition, as in Kubernetes.
        patched_rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(
            patch, dict) else None
        if patched_rv is None:
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if sub == "scale":
            return 200, self.write_scale(rt, old, new, query, dry)
        return 200, self.update(rt, ns, name, sub, new, query, dry,
                                manager=query.get("fieldManager", "unknown"))

    def apply(self, rt, ns, name, sub, raw, query, dry):
        """Server-side apply, with field ownership simplified (a list is one field)."""
        store = self.api.store
        manager = query.get("fieldManager")
        if not manager:
            raise ApiError(422, "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                           "value: is required for apply patch")
        try:
            applied = json.loads(raw)
        except ValueError:
            raise ApiError(415, "the fake API server reads apply patches written as JSON only "
                           "(kubectl sends JSON)")
        if not isinstance(applied, dict):
            raise ApiError(400, "an apply patch must be an object")
        force = query.get("force") == "true"
        key = (rt.group, rt.plural, ns or "", name)
        old = store.objects[(rt.group, rt.plural)].get((ns or "", name))
        if old is None:
            if sub:
                store.get(rt, ns, name)
            applied.setdefault("metadata", {})["name"] = name
            obj = self.create(rt, ns, copy.deepcopy(applied), {"fieldManager": manager}, dry)
            if not dry:
                store.owners[key] = {manager: ["Apply", owned_paths(applied)]}
                store.render_owners(rt, obj)
            return 201, obj
        paths = owned_paths(applied)
        owners = store.owners.setdefault(key, {})
        conflicts = []
        for other, (_, theirs) in owners.items():
            if other == manager:
                continue
            for p in sorted(paths & theirs):
                if k8s_patch.get_path(old, p) != k8s_patch.get_path(applied, p):
                    conflicts.append((other, p))
        if conflicts and not force:
            lines = "; ".join(f"conflict with \"{m}\": .{'.'.join(p)}" for m, p in conflicts)
            raise ApiError(409, f"Apply failed with {len(conflicts)} conflict"
                           f"{'s' if len(conflicts) > 1 else ''}: {lines}",
                           details={"name": name, "group": rt.group, "kind": rt.plural,
                                    "causes": [{"reason": "FieldManagerConflict",
                                                "message": f"conflict with \"{m}\"",
                                                "field": "." + ".".join(p)}
                                               for m, p in conflicts]})
        body = {k: v for k, v in applied.items() if k != "metadata"}
        if rt.builtin:
            new = k8s_patch.strategic_merge(copy.deepcopy(old), body, apply=True)
        else:
            new = k8s_patch.merge_patch(copy.deepcopy(old), body)
        meta = applied.get("metadata") or {}
        for f in ("labels", "annotations"):
            if meta.get(f):
                new["metadata"][f] = dict(new["metadata"].get(f) or {}, **meta[f])
        before = owners.get(manager, ["Apply", set()])[1]
        others = set().union(*[p for m, (_, p) in owners.items() if m != manager]) if len(
            owners) > (1 if manager in owners else 0) else set()
        for p in before - paths - others:
            k8s_patch.remove_path(new, p)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        obj = self.update(rt, ns, name, sub, new, {}, dry, manager=manager)
        if not dry:
            owners[manager] = ["Apply", paths]
            store.render_owners(rt, obj)
        return 200, obj

    # -- watch ----------------------------------------------------------------------------------
    def watch(self, rt, version, ns, name, query, watch_fault):
        store = self.api.store
        table = self.wants_table()
        labels = parse_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
        if name:
            fields.append(lambda o, n=name: o["metadata"]["name"] == n)
        w = Watcher(rt, ns, None, labels, fields, table)
        rv_text = query.get("resourceVersion") or "0"
        timeout = float(query.get("timeoutSeconds") or 1800)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with store.lock:
            backlog = []
            expired = watch_fault is not None
            if rv_text == "0":
                backlog = [("ADDED", o) for o in store.items(rt, ns) if w.wants(rt, o)]
            elif not rv_text.isdigit():
                expired = True
            elif int(rv_text) < store.compacted:
                expired = True
            else:
                backlog = [(k, o) for (rv, t, k, o) in store.events
                           if rv > int(rv_text) and w.wants(t, o)]
            if not expired:
                store.watchers.append(w)
        try:
            if expired:
                self.chunk({"type": "ERROR", "object": ApiError(
                    410, f"too old resource version: {rv_text} ({store.compacted})",
                    reason="Expired").status()})
                return self.end_chunks()
            for kind, obj in backlog:
                self.send_event(rt, version, kind, obj, table)
            if query.get("allowWatchBookmarks") in ("1", "true"):
                self.send_event(rt, version, "BOOKMARK", {"kind": rt.kind, "apiVersion":
                                rt.gv(version), "metadata": {"resourceVersion": str(store.rv)}},
                                False)
            deadline = time.monotonic() + timeout
            while not self.api.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = w.queue.get(timeout=min(left, 1.0))
                except queue.Empty:
                    continue
                if item is None:
                    break
                self.send_event(rt, version, item[0], item[1], table)
            self.end_chunks()
        finally:
            with store.lock:
                if w in store.watchers:
                    store.watchers.remove(w)
            self.close_connection = True

    def send_event(self, rt, version, kind, obj, table):
        if kind == "BOOKMARK":
            body = obj
        elif table:
            body = self.table(rt, version, [self.out(rt, version, obj)],
                              obj["metadata"]["resourceVersion"])
        else:
            body = self.out(rt, version, obj)
        self.chunk({"type": kind, "object": body})

    def chunk(self, event):
        data = (json.dumps(event) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass


def crd_status(crd):
    names = (crd.get("spec") or {}).get("names") or {}
    stamp = now_rfc3339()
    return {
        "acceptedNames": names,
        "storedVersions": [v["name"] for v in (crd.get("spec") or {}).get("versions", [])
                           if v.get("storage")],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": stamp},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": stamp},
        ],
    }


def scale_of(rt, obj):
    def at(path):
        found = k8s_schema.jsonpath(obj, path) if path else []
        return found[0] if found else None

    meta = obj["metadata"]
    status = {"replicas": at(rt.scale.get("statusReplicasPath")) or 0}
    selector = at(rt.scale.get("labelSelectorPath"))
    if selector:
        status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                 "creationTimestamp") if k in meta},
            "spec": {"replicas": at(rt.scale["specReplicasPath"]) or 0}, "status": status}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    args = parser.parse_args()
    if not args.host.startswith("127."):
        parser.error("the fake API server listens on loopback (127.0.0.0/8) only")
    server = FakeApiServer(args.host, args.port)
    print(f"fake API server listening on {server.url}", flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(server.httpd.server_address[1]))
        os.replace(args.port_file + ".tmp", args.port_file)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
