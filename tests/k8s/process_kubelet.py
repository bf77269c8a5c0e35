"""A StatefulSet controller and a "process kubelet" for the fake API server (docs/operator.md,
"Test harness").

Kubernetes cannot run here (no container runtime, no kube-apiserver), so this module plays the
two parts of Kubernetes the operator depends on, against tests/k8s/fake_apiserver.py:

  StatefulSetController  turns each StatefulSet into Pods and PVCs as the real controller does:
                         pod names <sts>-<ordinal>, OrderedReady (one at a time, in ordinal
                         order, each Running and Ready before the next; scale-down from the
                         highest ordinal, one at a time) or Parallel; one PVC per claim template
                         (<claim>-<sts>-<ordinal>, labelled with the selector); a pod missing or
                         gone is recreated on the same PVC; controller-revision-hash labels and
                         status.currentRevision / updateRevision / readyReplicas.
  ProcessKubelet         runs every pod as real processes on this machine: one loopback IP per
                         pod (127.A.B.n, kept by the pod's name), the container's command/args
                         with $(VAR) expansion, env (value, fieldRef incl. POD_NAME, POD_IP,
                         namespace, configMapKeyRef), configMap volumes written to a directory,
                         PVCs as directories that outlive the pod and are removed with the PVC,
                         emptyDir; restartPolicy Always with back-off; the readiness probe
                         (httpGet / tcpSocket) written back as the pod's Ready condition;
                         graceful deletion (SIGTERM, terminationGracePeriodSeconds, SIGKILL).

What is emulated rather than real (each documented in docs/operator.md):
  * Network namespace: a pod's network is its own loopback IP. An argument whose value is
    0.0.0.0 ("all my interfaces", e.g. -client=0.0.0.0) becomes the pod IP, which is what it
    means inside a pod.
  * Container filesystem: a volumeMount's mountPath is rewritten to the volume's host directory
    in the command, args and env values (there is no mount namespace).
  * Cluster DNS: names of the form <svc>.<ns>.svc[.cluster.local] and
    <pod>.<svc>.<ns>.svc[.cluster.local] in a -retry-join=NAME argument are resolved by the
    kubelet, when it starts the container, into one -retry-join=IP per address the name has at
    that moment (a headless Service: its selected pods that have an IP, not-ready ones only with
    publishNotReadyAddresses). A name that does not resolve is passed through unchanged, so a
    wrong Service name in the pod spec fails as it would in a cluster.
  * Graceful deletion: the fake deletes at once, so the controller creates pods with the
    finalizer "cairn.io/process-kubelet"; DELETE then only marks the pod (deletionTimestamp), the
    kubelet stops its process and removes the finalizer, and only then is the pod gone. A pod is
    never recreated while its old process still runs.
  * Images: every image runs the binary given as `binaries` (default: $CAIRN_BIN for any image);
    a container `command` whose first word is "cairn" runs that binary too.

Standard library only. Use:
    harness = Harness(api_url, cairn_bin, root_dir).start()   # controller + kubelet threads
    ...
    harness.stop()
or `python3 process_kubelet.py --api URL --cairn-bin PATH --dir DIR` to run one by hand.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from cluster import _spawner  # noqa: E402  (PR_SET_PDEATHSIG: no pod outlives the test)

FINALIZER = "cairn.io/process-kubelet"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
NODE_NAME = "process-kubelet"
MAX_BACKOFF = 10.0  # seconds between restarts of a crashing container (Kubernetes: 5 min)
MAX_GRACE = 30.0


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def log(*args):
    print(time.strftime("%H:%M:%S"), "[kubelet]", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# API access

class ApiError(Exception):
    def __init__(self, code, body):
        super().__init__(f"HTTP {code}: {body[:300]}")
        self.code = code


class Api:
    """A small JSON client for the API server. 429, 5xx and transport errors are retried a few
    times (the tests inject them); other answers raise ApiError."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def request(self, method, path, body=None, content_type="application/json", attempts=6):
        data = None if body is None else json.dumps(body).encode()
        delay = 0.05
        for attempt in range(attempts):
            req = urllib.request.Request(self.url + path, data=data, method=method)
            if data is not None:
                req.add_header("Content-Type", content_type)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return json.loads(r.read() or b"null")
            except urllib.error.HTTPError as e:
                text = e.read().decode(errors="replace")
                if (e.code != 429 and e.code < 500) or attempt == attempts - 1:
                    raise ApiError(e.code, text) from None
            except OSError:
                if attempt == attempts - 1:
                    raise
            time.sleep(delay)  # back-off between retries, not synchronisation
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def get(self, path):
        return self.request("GET", path)

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, "application/merge-patch+json")

    def delete(self, path):
        try:
            return self.request("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                                 "propagationPolicy": "Background"})
        except ApiError as e:
            if e.code != 404:
                raise
            return None


def collection_path(kind, ns):
    group = {"pods": "/api/v1", "persistentvolumeclaims": "/api/v1", "services": "/api/v1",
             "configmaps": "/api/v1", "secrets": "/api/v1", "statefulsets": "/apis/apps/v1"}
    return f"{group[kind]}/namespaces/{ns}/{kind}"


class Informer:
    """A cache of one resource type, kept by list + watch (resourceVersion, 410 → relist, a
    dropped watch resumes from the last event seen). Calls on_change(type, obj) for every
    change (from the watch thread) and keeps `objects` keyed by (namespace, name)."""

    def __init__(self, api, base_path, on_change, stop):
        self.api, self.base_path, self.on_change, self.stop = api, base_path, on_change, stop
        self.objects = {}
        self.lock = threading.Lock()
        self.synced = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"informer{base_path}")

    def start(self):
        self.thread.start()
        return self

    def items(self):
        with self.lock:
            return list(self.objects.values())

    def get(self, ns, name):
        with self.lock:
            return self.objects.get((ns, name))

    @staticmethod
    def key(obj):
        return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

    def relist(self):
        listed = self.api.get(self.base_path)
        fresh = {self.key(o): o for o in listed.get("items") or []}
        with self.lock:
            gone = [o for k, o in self.objects.items() if k not in fresh]
            self.objects = fresh
        for o in gone:
            self.on_change("DELETED", o)
        for o in fresh.values():
            self.on_change("ADDED", o)
        self.synced.set()
        return listed["metadata"]["resourceVersion"]

    def run(self):
        rv = None
        while not self.stop.is_set():
            try:
                if rv is None:
                    rv = self.relist()
                rv = self.watch(rv)
            except Exception as e:  # noqa: BLE001 - the API server may be faulty or gone
                if self.stop.is_set():
                    return
                log(f"watch {self.base_path}: {e}")
                self.stop.wait(0.2)  # back-off before the next list, not synchronisation

    def watch(self, rv):
        query = urllib.parse.urlencode({"watch": "1", "resourceVersion": rv,
                                        "allowWatchBookmarks": "true", "timeoutSeconds": "30"})
        with urllib.request.urlopen(f"{self.api.url}{self.base_path}?{query}", timeout=40) as r:
            for line in r:
                if self.stop.is_set():
                    return rv
                try:
                    event = json.loads(line)
                    kind, obj = event["type"], event["object"]
                except (ValueError, KeyError, TypeError):
                    continue
                if kind == "ERROR":
                    return None  # 410 Gone: list again
                rv = obj.get("metadata", {}).get("resourceVersion", rv)
                if kind == "BOOKMARK":
                    continue
                with self.lock:
                    if kind == "DELETED":
                        self.objects.pop(self.key(obj), None)
                    else:
                        self.objects[self.key(obj)] = obj
                self.on_change(kind, obj)
        return rv


def selects(selector, labels):
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def owned_by(obj, owner):
    return any(r.get("uid") == owner["metadata"]["uid"]
               for r in obj["metadata"].get("ownerReferences") or [])


def pod_ready(pod):
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def ordinal_of(name, sts_name):
    suffix = name[len(sts_name) + 1:]
    return int(suffix) if name.startswith(sts_name + "-") and suffix.isdigit() else None


class ControlLoop:
    """A controller's loop: once its informers have listed, runs sync_all() on every wake-up
    and at least every second; an error is logged and the next pass tries again."""

    def __init__(self, name, informers, stop):
        self.informers, self.stop_event = informers, stop
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name=name)

    def start(self):
        self.thread.start()
        return self

    def run(self):
        for informer in self.informers:
            informer.synced.wait()
        while not self.stop_event.is_set():
            self.wake.wait(1.0)
            self.wake.clear()
            try:
                self.sync_all()
            except Exception as e:  # noqa: BLE001 - the API server may be faulty: next pass
                if not self.stop_event.is_set():
                    log(f"{self.thread.name}: {e}")

    def sync_all(self):
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# StatefulSet controller

def revision_of(sts):
    """The ControllerRevision name a pod template makes (<sts>-<hash of the template>)."""
    text = json.dumps(sts["spec"].get("template") or {}, sort_keys=True)
    return f"{sts['metadata']['name']}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


class StatefulSetController(ControlLoop):
    """Reconciles every StatefulSet on each change of a StatefulSet, pod or PVC (and every
    second). Honours replicas, podManagementPolicy, volumeClaimTemplates and
    persistentVolumeClaimRetentionPolicy.whenDeleted; updateStrategy OnDelete (a template
    change reaches a pod only when someone deletes it) and RollingUpdate (the highest-ordinal
    outdated pod is deleted once every pod is Ready, one at a time)."""

    def __init__(self, api, statefulsets, pods, pvcs, stop):
        super().__init__("sts-controller", (statefulsets, pods, pvcs), stop)
        self.api, self.statefulsets, self.pods, self.pvcs = api, statefulsets, pods, pvcs

    def sync_all(self):
        for sts in self.statefulsets.items():
            try:
                self.sync(sts)
            except Exception as e:  # noqa: BLE001 - one StatefulSet's error spares the others
                if not self.stop_event.is_set():
                    log(f"statefulset {sts['metadata']['name']}: {e}")

    def sync(self, sts):
        meta, spec = sts["metadata"], sts["spec"]
        ns, name = meta["namespace"], meta["name"]
        if meta.get("deletionTimestamp"):
            return
        replicas = int(spec.get("replicas", 1))
        parallel = spec.get("podManagementPolicy") == "Parallel"
        update_rev = revision_of(sts)
        pods = {}
        for p in self.pods.items():
            n = ordinal_of(p["metadata"]["name"], name)
            if p["metadata"].get("namespace") == ns and n is not None and owned_by(p, sts):
                pods[n] = p
        acted = False
        # Create the missing pods below replicas (OrderedReady: the lowest, once all before it
        # are Running and Ready; Parallel: all).
        for n in range(replicas):
            if n in pods:
                if not parallel and (pods[n]["metadata"].get("deletionTimestamp")
                                     or not pod_ready(pods[n])):
                    break
                continue
            if not self.ensure_claims(sts, n):
                continue  # a claim is still being deleted: the pod would have no volume
            self.api.create(collection_path("pods", ns), self.pod_for(sts, n, update_rev))
            acted = True
            if not parallel:
                break
        # Scale down from the highest ordinal (OrderedReady: one at a time, after the pod before
        # it is gone, and only while every pod left is Ready).
        condemned = sorted((n for n in pods if n >= replicas), reverse=True)
        for n in condemned:
            if pods[n]["metadata"].get("deletionTimestamp"):
                if not parallel:
                    break
                continue
            if not parallel and not all(pod_ready(pods[m]) for m in pods if m < n):
                break
            self.api.delete(f"{collection_path('pods', ns)}/{pods[n]['metadata']['name']}")
            acted = True
            if not parallel:
                break
        if not acted and (spec.get("updateStrategy") or {}).get("type") == "RollingUpdate":
            self.roll(sts, pods, replicas, update_rev)
        self.write_status(sts, pods, update_rev)

    def roll(self, sts, pods, replicas, update_rev):
        live = [pods[n] for n in range(replicas) if n in pods]
        if len(live) < replicas or not all(pod_ready(p) and not p["metadata"].get(
                "deletionTimestamp") for p in live):
            return
        for p in reversed(live):
            if p["metadata"]["labels"].get("controller-revision-hash") != update_rev:
                ns = sts["metadata"]["namespace"]
                self.api.delete(f"{collection_path('pods', ns)}/{p['metadata']['name']}")
                return

    def claim_name(self, claim, sts, n):
        return f"{claim['metadata']['name']}-{sts['metadata']['name']}-{n}"

    def ensure_claims(self, sts, n):
        """Creates the pod's missing PVCs; False while one of them is still terminating."""
        ns = sts["metadata"]["namespace"]
        policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            name = self.claim_name(claim, sts, n)
            existing = self.pvcs.get(ns, name)
            if existing:
                if existing["metadata"].get("deletionTimestamp"):
                    return False
                continue
            # Every PVC carries Kubernetes' pvc-protection finalizer: deleting one that a pod
            # uses waits until that pod is gone (the kubelet removes the finalizer then).
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": name, "namespace": ns,
                                "labels": dict(sts["spec"]["selector"].get("matchLabels") or {}),
                                "finalizers": [PVC_PROTECTION]},
                   "spec": claim.get("spec") or {}}
            if policy.get("whenDeleted") == "Delete":
                pvc["metadata"]["ownerReferences"] = [self.owner_ref(sts)]
            try:
                created = self.api.create(collection_path("persistentvolumeclaims", ns), pvc)
                self.api.merge_patch(
                    f"{collection_path('persistentvolumeclaims', ns)}/{name}/status",
                    {"status": {"phase": "Bound",
                                "capacity": (claim.get("spec") or {}).get("resources", {})
                                .get("requests", {})}})
                log(f"created PVC {ns}/{name} ({created['metadata']['uid'][:8]})")
            except ApiError as e:
                if e.code != 409:
                    raise
        return True

    @staticmethod
    def owner_ref(obj, controller=True):
        return {"apiVersion": obj.get("apiVersion", "apps/v1"), "kind": obj.get("kind"),
                "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"],
                "controller": controller, "blockOwnerDeletion": True}

    def pod_for(self, sts, n, revision):
        template = json.loads(json.dumps(sts["spec"].get("template") or {}))
        meta = template.get("metadata") or {}
        name = f"{sts['metadata']['name']}-{n}"
        labels = dict(meta.get("labels") or {})
        labels.update({"controller-revision-hash": revision,
                       "statefulset.kubernetes.io/pod-name": name,
                       "apps.kubernetes.io/pod-index": str(n)})
        pod_spec = template.get("spec") or {}
        pod_spec["hostname"] = name
        pod_spec["subdomain"] = sts["spec"].get("serviceName", "")
        pod_spec["nodeName"] = NODE_NAME
        volumes = pod_spec.setdefault("volumes", [])
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            volumes.append({"name": claim["metadata"]["name"], "persistentVolumeClaim": {
                "claimName": self.claim_name(claim, sts, n)}})
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": sts["metadata"]["namespace"],
                             "labels": labels, "annotations": dict(meta.get("annotations") or {}),
                             "ownerReferences": [self.owner_ref(sts)],
                             "finalizers": [FINALIZER]},
                "spec": pod_spec}

    def write_status(self, sts, pods, update_rev):
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        revs = [p["metadata"]["labels"].get("controller-revision-hash") for p in live]
        old = sts.get("status") or {}
        current = old.get("currentRevision") or update_rev
        if live and all(r == update_rev for r in revs):
            current = update_rev
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": sum(1 for p in live if pod_ready(p)),
            "availableReplicas": sum(1 for p in live if pod_ready(p)),
            "currentReplicas": sum(1 for r in revs if r == current),
            "updatedReplicas": sum(1 for r in revs if r == update_rev),
            "currentRevision": current,
            "updateRevision": update_rev,
            "collisionCount": 0,
        }
        if all(old.get(k) == v for k, v in status.items()):
            return
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        self.api.merge_patch(f"{collection_path('statefulsets', ns)}/{name}/status",
                             {"status": status})


# ---------------------------------------------------------------------------------------------
# Cluster DNS (the part -retry-join needs)

class ClusterDns:
    """Resolves Service and pod DNS names from the API objects, as CoreDNS would."""

    def __init__(self, services, pods, ip_of):
        self.services, self.pods = services, pods
        self.ip_of = ip_of  # pod -> its IP or None (the kubelet assigns them)

    def resolve(self, name):
        """Addresses of `name`, or None when it is not a cluster name at all."""
        parts = name.rstrip(".").split(".")
        if parts[-2:] == ["cluster", "local"]:
            parts = parts[:-2]
        if len(parts) == 3 and parts[2] == "svc":
            return self.service_ips(parts[1], parts[0])
        if len(parts) == 4 and parts[3] == "svc":
            for pod in self.service_pods(parts[2], parts[1], ready_only=False):
                if pod["spec"].get("hostname") == parts[0]:
                    return [self.ip_of(pod)]
            return []
        return None

    def service_pods(self, ns, service, ready_only):
        svc = self.services.get(ns, service)
        if svc is None:
            return []
        spec = svc.get("spec") or {}
        include_unready = spec.get("publishNotReadyAddresses", False) and not ready_only
        out = []
        for pod in self.pods.items():
            if pod["metadata"].get("namespace") != ns or pod["metadata"].get("deletionTimestamp"):
                continue
            if not selects(spec.get("selector"), pod["metadata"].get("labels")):
                continue
            if not self.ip_of(pod):
                continue
            if include_unready or pod_ready(pod):
                out.append(pod)
        return sorted(out, key=lambda p: p["metadata"]["name"])

    def service_ips(self, ns, service):
        return [self.ip_of(p) for p in self.service_pods(ns, service, ready_only=False)]

    def ready_endpoints(self, ns, service):
        """(pod name, pod IP) of the Ready pods a Service routes to (what kube-proxy uses)."""
        return [(p["metadata"]["name"], self.ip_of(p))
                for p in self.service_pods(ns, service, ready_only=True)]


# ---------------------------------------------------------------------------------------------
# The process kubelet

def expand(text, env):
    """Kubernetes' $(VAR) expansion: defined variables are replaced, $$ is a literal $,
    anything else is left as written."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, text)


class PodWorker:
    """One pod: its (single) container process, restarts, readiness probe and status. Runs on
    its own thread until the pod is deleted or the kubelet stops."""

    def __init__(self, kubelet, pod, ip):
        self.kubelet, self.pod, self.ip = kubelet, pod, ip
        self.ns, self.name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.dir = os.path.join(kubelet.root, "pods", f"{self.ns}_{self.name}_{self.uid[:8]}")
        self.proc = None
        self.restarts = 0
        self.ready = False
        self.started_at = None
        self.waiting = "ContainerCreating"
        self.terminate = threading.Event()  # the pod was deleted: stop the container
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"pod-{self.name}")
        self.last_status = None
        self.held = threading.Event()  # hold(): the container stays down until release()

    @property
    def container(self):
        return self.pod["spec"]["containers"][0]

    def path(self, suffix=""):
        return f"{collection_path('pods', self.ns)}/{self.name}{suffix}"

    # -- lifecycle --
    def run(self):
        backoff = 1.0
        self.write_status()  # Pending, with the pod IP (a CNI assigns it before containers run)
        try:
            while not self.terminate.is_set() and not self.kubelet.stop_event.is_set():
                if self.held.is_set():
                    self.stay_down()
                    continue
                try:
                    argv, env, cwd = self.prepare()
                except PodNotReady as e:
                    self.waiting = str(e)
                    self.write_status()
                    self.terminate.wait(0.5)  # the PVC or ConfigMap may appear: look again
                    continue
                try:
                    self.start(argv, env, cwd)
                except OSError as e:  # no such binary, bad cwd: the container cannot start
                    log(f"{self.ns}/{self.name}: cannot start: {e}")
                    self.waiting = "RunContainerError"
                else:
                    self.supervise()
                if self.terminate.is_set() or self.kubelet.stop_event.is_set():
                    break
                self.restarts += 1
                self.waiting = self.waiting or "CrashLoopBackOff"
                self.ready = False
                self.write_status()
                self.terminate.wait(backoff)  # restart back-off (Kubernetes': 10 s, doubling)
                backoff = min(backoff * 2, MAX_BACKOFF)
        finally:
            self.kill_container()
            if self.terminate.is_set():
                self.finish_deletion()

    def hold(self):
        """SIGKILLs the container, as a machine that lost power, and keeps it down until
        release(): the pod stays (not Ready, same IP and volumes), nothing restarts it."""
        self.held.set()
        with self.lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        log(f"{self.ns}/{self.name}: held down")

    def release(self):
        self.held.clear()
        log(f"{self.ns}/{self.name}: released")

    def stay_down(self):
        self.ready = False
        self.waiting = "ContainerHeld"
        self.write_status()
        while self.held.is_set() and not self.terminate.is_set() and \
                not self.kubelet.stop_event.is_set():
            self.terminate.wait(0.1)  # released by the test, or the pod deleted

    def start(self, argv, env, cwd):
        os.makedirs(self.dir, exist_ok=True)
        n = self.restarts
        with open(os.path.join(self.dir, f"{self.container['name']}.{n}.log"), "wb") as out:
            proc = _spawner.popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        with self.lock:
            self.proc = proc
        self.started_at = now_rfc3339()
        self.waiting = None
        command = shlex.join(argv[1:]).replace("\n", "\\n")
        log(f"started {self.ns}/{self.name} (pid {self.proc.pid}, ip {self.ip}, restart {n}): "
            f"{command[:600]}")
        self.write_status()

    def supervise(self):
        """Probes readiness every periodSeconds until the process exits or the pod is deleted."""
        probe = self.container.get("readinessProbe")
        period = float((probe or {}).get("periodSeconds", 10))
        failures, successes = 0, 0
        next_probe = time.monotonic() + float((probe or {}).get("initialDelaySeconds", 0))
        while not self.terminate.is_set() and not self.kubelet.stop_event.is_set():
            if self.held.is_set() and self.proc.poll() is None:
                self.proc.kill()  # held while it was starting
                self.proc.wait()
            if self.proc.poll() is not None:
                log(f"{self.ns}/{self.name}: container exited with {self.proc.returncode}")
                return
            if time.monotonic() >= next_probe:
                next_probe = time.monotonic() + period
                if probe is None:
                    self.ready = True
                elif self.run_probe(probe):
                    failures, successes = 0, successes + 1
                    if successes >= int(probe.get("successThreshold", 1)):
                        self.ready = True
                else:
                    failures, successes = failures + 1, 0
                    if failures >= int(probe.get("failureThreshold", 3)):
                        self.ready = False
                self.write_status()
            self.terminate.wait(min(0.1, max(0.0, next_probe - time.monotonic())))

    def run_probe(self, probe):
        timeout = float(probe.get("timeoutSeconds", 1))
        if "httpGet" in probe:
            get = probe["httpGet"]
            port = self.port_number(get.get("port"))
            url = f"http://{self.ip}:{port}{get.get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return 200 <= r.status < 400
            except urllib.error.HTTPError as e:
                return 200 <= e.code < 400
            except OSError:
                return False
        if "tcpSocket" in probe:
            try:
                with socket.create_connection(
                        (self.ip, self.port_number(probe["tcpSocket"].get("port"))), timeout):
                    return True
            except OSError:
                return False
        return True  # exec probes are not emulated: counted as passing

    def port_number(self, port):
        if isinstance(port, int):
            return port
        for p in self.container.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
        return int(port)

    def kill_container(self):
        with self.lock:
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        if self.terminate.is_set():
            for hook in self.kubelet.before_stop:  # tests look at the server before it goes
                hook(self.ns, self.name, self.ip)
        grace = min(float(self.pod["spec"].get("terminationGracePeriodSeconds", 30)), MAX_GRACE)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{self.ns}/{self.name}: SIGKILL after {grace}s grace")
            proc.kill()
            proc.wait()

    def finish_deletion(self):
        """The container stopped: let the API server delete the pod (remove our finalizer)."""
        pod = self.kubelet.pods.get(self.ns, self.name)
        if pod is None or pod["metadata"]["uid"] != self.uid:
            return
        finalizers = [f for f in pod["metadata"].get("finalizers") or [] if f != FINALIZER]
        try:
            self.kubelet.api.merge_patch(self.path(), {"metadata": {
                "finalizers": finalizers or None,
                "resourceVersion": pod["metadata"]["resourceVersion"]}})
        except ApiError as e:
            if e.code == 409:  # changed meanwhile: the kubelet's sync pass retries
                return
            if e.code != 404:
                log(f"{self.ns}/{self.name}: removing the finalizer: {e}")
        except OSError as e:
            log(f"{self.ns}/{self.name}: removing the finalizer: {e}")

    # -- the container's command line, environment and volumes --
    def prepare(self):
        k = self.kubelet
        c = self.container
        env_map = {}
        for e in c.get("env") or []:
            env_map[e["name"]] = self.env_value(e, env_map)
        mounts = self.mounts()
        command = [expand(x, env_map) for x in c.get("command") or []]
        args = [expand(x, env_map) for x in c.get("args") or []]
        if command:
            binary = k.binary_for(c.get("image", ""), command[0])
            argv = [binary] + command[1:] + args
        else:
            argv = [k.binary_for(c.get("image", ""), None)] + args
        argv = [argv[0]] + self.rewrite_args(argv[1:], mounts)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": self.name,
               **{n: self.rewrite_paths(v, mounts) for n, v in env_map.items()}}
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"):
            if name in os.environ:
                env[name] = os.environ[name]
        cwd = mounts.get(c.get("workingDir", ""), self.dir) if c.get("workingDir") else self.dir
        os.makedirs(cwd, exist_ok=True)
        return argv, env, cwd

    def env_value(self, e, env_map):
        if "value" in e:
            return expand(str(e["value"]), env_map)
        source = e.get("valueFrom") or {}
        if "fieldRef" in source:
            return self.field_value(source["fieldRef"].get("fieldPath", ""))
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            cm = self.kubelet.configmaps.get(self.ns, ref.get("name"))
            if cm is None or ref.get("key") not in (cm.get("data") or {}):
                if ref.get("optional"):
                    return ""
                raise PodNotReady(f"CreateContainerConfigError: configmap {ref.get('name')}")
            return cm["data"][ref["key"]]
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret = self.kubelet.api.get(f"{collection_path('secrets', self.ns)}/{ref['name']}")
            return base64.b64decode(secret["data"][ref["key"]]).decode()
        return ""

    def field_value(self, path):
        meta = self.pod["metadata"]
        m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
        if m:
            return (meta.get(m.group(1)) or {}).get(m.group(2), "")
        return {"metadata.name": self.name, "metadata.namespace": self.ns,
                "metadata.uid": self.uid, "status.podIP": self.ip, "status.hostIP": "127.0.0.1",
                "spec.nodeName": NODE_NAME,
                "spec.serviceAccountName": self.pod["spec"].get("serviceAccountName",
                                                                "default")}.get(path, "")

    def mounts(self):
        """mountPath → host directory, each volume made ready (ConfigMap files written)."""
        volumes = {v["name"]: v for v in self.pod["spec"].get("volumes") or []}
        out = {}
        for m in self.container.get("volumeMounts") or []:
            v = volumes.get(m["name"])
            if v is None:
                raise PodNotReady(f"volume {m['name']} is not defined")
            host = self.volume_dir(v)
            if m.get("subPath"):
                host = os.path.join(host, m["subPath"])
                os.makedirs(host, exist_ok=True)
            out[m["mountPath"].rstrip("/") or "/"] = host
        return out

    def volume_dir(self, v):
        k = self.kubelet
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            pvc = k.pvcs.get(self.ns, claim)
            if pvc is None:
                raise PodNotReady(f"persistentvolumeclaim \"{claim}\" not found")
            return k.pvc_dir(pvc)
        if "configMap" in v:
            name = v["configMap"]["name"]
            cm = k.configmaps.get(self.ns, name)
            if cm is None:
                raise PodNotReady(f"configmap \"{name}\" not found")
            target = os.path.join(self.dir, "volumes", v["name"])
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(target)
            items = v["configMap"].get("items") or [{"key": key, "path": key}
                                                   for key in cm.get("data") or {}]
            for item in items:
                with open(os.path.join(target, item["path"]), "w") as f:
                    f.write((cm.get("data") or {}).get(item["key"], ""))
            return target
        if "emptyDir" in v:
            target = os.path.join(self.dir, "volumes", v["name"])
            os.makedirs(target, exist_ok=True)
            return target
        raise PodNotReady(f"volume {v['name']}: kind not emulated")

    @staticmethod
    def rewrite_paths(text, mounts):
        for mount_path in sorted(mounts, key=len, reverse=True):
            text = re.sub(re.escape(mount_path) + r"(?=/|$|\s|,|\")", lambda _m, h=mounts[
                mount_path]: h, text)
        return text

    def rewrite_args(self, args, mounts):
        out = []
        for a in args:
            a = self.rewrite_paths(a, mounts)
            m = re.fullmatch(r"(-{1,2}[A-Za-z0-9_.-]+=)(.*)", a)
            if m and m.group(2) == "0.0.0.0":
                a = m.group(1) + self.ip  # inside a pod, "all interfaces" is the pod's IP
            elif m and m.group(1) in ("-retry-join=", "--retry-join="):
                ips = self.resolve_join(m.group(2))
                if ips:
                    out.extend(m.group(1) + ip for ip in ips)
                    continue
            out.append(a)
        return out

    def resolve_join(self, name, patience=10.0):
        """The addresses of a cluster name given to -retry-join. A Service created just before
        the pod may not be in the informers yet (CoreDNS lags the same way, and a retrying DNS
        client rides it out), so an empty answer is asked again for a while."""
        deadline = time.monotonic() + patience
        while True:
            ips = self.kubelet.dns.resolve(name)
            if ips is None or ips or time.monotonic() >= deadline or self.terminate.is_set():
                return ips
            time.sleep(0.1)

    # -- status --
    def write_status(self):
        ready = self.ready and self.waiting is None
        cond = lambda t, ok: {"type": t, "status": "True" if ok else "False",  # noqa: E731
                              "lastTransitionTime": now_rfc3339()}
        state = ({"running": {"startedAt": self.started_at}} if self.waiting is None
                 else {"waiting": {"reason": self.waiting}})
        status = {
            "phase": "Running" if self.started_at else "Pending",
            "hostIP": "127.0.0.1", "podIP": self.ip, "podIPs": [{"ip": self.ip}],
            "conditions": [cond("PodScheduled", True), cond("Initialized", True),
                           cond("ContainersReady", ready), cond("Ready", ready)],
            "containerStatuses": [{"name": self.container["name"],
                                   "image": self.container.get("image", ""),
                                   "ready": ready, "started": self.waiting is None,
                                   "restartCount": self.restarts, "state": state}],
        }
        self.send_status(status, json.dumps([status["phase"], ready, self.restarts,
                                             self.waiting]))

    def send_status(self, status, key):
        """Patches the pod's status, unless `key` says it is what was sent last."""
        if key == self.last_status:
            return
        try:
            self.kubelet.api.merge_patch(self.path("/status"), {"status": status})
            self.last_status = key
        except (ApiError, OSError) as e:
            if not self.terminate.is_set():
                log(f"{self.ns}/{self.name}: status: {e}")


class PodNotReady(Exception):
    pass


class ProcessKubelet(ControlLoop):
    """Runs every pod of the API server (all are on this one node) as PodWorkers."""

    # What runs a pod: PodWorker runs its first container; workloads.PodOfContainers all of them.
    worker_class = PodWorker

    def __init__(self, api, pods, pvcs, configmaps, dns, root, binaries, stop):
        super().__init__("kubelet", (pods, pvcs, configmaps), stop)
        self.api, self.pods, self.pvcs, self.configmaps = api, pods, pvcs, configmaps
        self.dns, self.root, self.binaries = dns, root, binaries
        self.workers = {}  # (ns, name) -> PodWorker
        self.before_stop = []  # hook(ns, name, ip) before a deleted pod's process is stopped
        self.ips = {}  # (ns, name) -> IP, kept for the pod's name
        self.ips_lock = threading.Lock()
        self.prefix = self.allocate_prefix()

    @staticmethod
    def allocate_prefix():
        a = 64 + (os.getpid() * 7) % 128
        return f"127.{a}.{random.randrange(1, 255)}."

    def binary_for(self, image, command):
        if command is not None and os.path.basename(command) not in ("cairn",):
            return command
        repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        return self.binaries.get(repo) or self.binaries.get("*")

    def ip_for(self, ns, name):
        with self.ips_lock:
            key = (ns, name)
            if key not in self.ips:
                self.ips[key] = self.prefix + str(10 + len(self.ips))
            return self.ips[key]

    def ip_of(self, pod):
        """A pod's IP: the one in its status, else the one this kubelet assigned it."""
        ip = (pod.get("status") or {}).get("podIP")
        if ip:
            return ip
        with self.ips_lock:
            return self.ips.get((pod["metadata"].get("namespace"), pod["metadata"]["name"]))

    def volume_path(self, pvc):
        """Where a PVC's data lives: named after its uid, so a new PVC of the same name is a
        new, empty disk."""
        meta = pvc["metadata"]
        return os.path.join(self.root, "volumes",
                            f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}")

    def pvc_dir(self, pvc):
        path = self.volume_path(pvc)
        os.makedirs(path, exist_ok=True)
        return path

    def on_pvc_deleted(self, pvc):
        """A deleted PVC takes its data with it (a later PVC of the same name is empty)."""
        meta = pvc["metadata"]
        path = self.volume_path(pvc)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            log(f"deleted the volume of PVC {meta['namespace']}/{meta['name']}")

    def sync_all(self):
        seen = set()
        pods = self.pods.items()
        # Every pod gets its IP before any container starts, as a CNI gives one to each pod
        # sandbox: pods created together (a Parallel StatefulSet) then find each other in DNS.
        for pod in pods:
            if not pod["metadata"].get("deletionTimestamp"):
                self.ip_for(pod["metadata"]["namespace"], pod["metadata"]["name"])
        for pod in pods:
            meta = pod["metadata"]
            key = (meta["namespace"], meta["name"])
            seen.add(key)
            worker = self.workers.get(key)
            if worker is not None and worker.uid != meta["uid"]:
                self.retire(key)  # a new pod of the same name: the old process goes first
                worker = None
            if meta.get("deletionTimestamp"):
                if worker is None:
                    if FINALIZER in (meta.get("finalizers") or []):
                        PodWorker(self, pod, self.ip_for(*key)).finish_deletion()
                else:
                    worker.pod = pod
                    worker.terminate.set()
                    if not worker.thread.is_alive():
                        worker.finish_deletion()
                continue
            if worker is None:
                if (pod.get("spec") or {}).get("nodeName") not in (None, NODE_NAME):
                    continue
                worker = self.worker_class(self, pod, self.ip_for(*key))
                self.workers[key] = worker
                worker.thread.start()
            else:
                worker.pod = pod
        for key in [k for k in self.workers if k not in seen]:
            self.retire(key)  # gone from the API (force-deleted): stop its process
        self.release_claims(pods)

    def release_claims(self, pods):
        """pvc-protection: a deleted PVC goes once no pod that mounts it exists any more."""
        used = set()
        for pod in pods:
            for v in (pod.get("spec") or {}).get("volumes") or []:
                if "persistentVolumeClaim" in v:
                    used.add((pod["metadata"]["namespace"],
                              v["persistentVolumeClaim"].get("claimName")))
        for pvc in self.pvcs.items():
            meta = pvc["metadata"]
            if not meta.get("deletionTimestamp") or PVC_PROTECTION not in (
                    meta.get("finalizers") or []):
                continue
            if (meta["namespace"], meta["name"]) in used:
                continue
            finalizers = [f for f in meta["finalizers"] if f != PVC_PROTECTION]
            try:
                self.api.merge_patch(
                    f"{collection_path('persistentvolumeclaims', meta['namespace'])}/"
                    f"{meta['name']}", {"metadata": {"finalizers": finalizers or None,
                                                     "resourceVersion": meta["resourceVersion"]}})
            except ApiError as e:
                if e.code not in (404, 409):  # gone, or changed: the next pass looks again
                    raise

    def retire(self, key):
        worker = self.workers.pop(key)
        worker.terminate.set()
        worker.thread.join()

    def shutdown(self):
        for key in list(self.workers):
            worker = self.workers.pop(key)
            worker.thread.join(timeout=MAX_GRACE + 5)

    def worker(self, ns, name):
        return self.workers.get((ns, name))


class Harness:
    """The fake cluster's node side: informers, the StatefulSet controller and the kubelet."""

    def __init__(self, api_url, cairn_bin, root, binaries=None):
        self.api = Api(api_url)
        self.root = root
        self.stop_event = threading.Event()
        self.binaries = dict(binaries or {})
        self.binaries.setdefault("*", os.path.abspath(cairn_bin))
        os.makedirs(root, exist_ok=True)

        def on(kinds):
            def changed(kind, obj):
                if self.kubelet is not None:
                    self.controller.wake.set()
                    self.kubelet.wake.set()
                if kinds == "pvcs" and kind == "DELETED" and self.kubelet is not None:
                    self.kubelet.on_pvc_deleted(obj)
            return changed

        self.kubelet = None
        self.statefulsets = Informer(self.api, "/apis/apps/v1/statefulsets", on("sts"),
                                     self.stop_event)
        self.pods = Informer(self.api, "/api/v1/pods", on("pods"), self.stop_event)
        self.pvcs = Informer(self.api, "/api/v1/persistentvolumeclaims", on("pvcs"),
                             self.stop_event)
        self.services = Informer(self.api, "/api/v1/services", on("services"), self.stop_event)
        self.configmaps = Informer(self.api, "/api/v1/configmaps", on("configmaps"),
                                   self.stop_event)
        self.dns = ClusterDns(self.services, self.pods, lambda pod: self.kubelet.ip_of(pod))
        self.kubelet = ProcessKubelet(self.api, self.pods, self.pvcs, self.configmaps, self.dns,
                                      root, self.binaries, self.stop_event)
        self.controller = StatefulSetController(self.api, self.statefulsets, self.pods,
                                                self.pvcs, self.stop_event)

    def start(self):
        for informer in (self.statefulsets, self.pods, self.pvcs, self.services,
                         self.configmaps):
            informer.start()
        self.controller.start()
        self.kubelet.start()
        return self

    def stop(self):
        """Stops every pod's process (SIGTERM, then SIGKILL after the grace period)."""
        self.stop_event.set()
        self.kubelet.wake.set()
        self.controller.wake.set()
        self.kubelet.thread.join(timeout=10)
        self.kubelet.shutdown()

    def hold(self, ns, name):
        """Kills a pod's container and keeps it down until release() (a server that is gone
        but whose pod is not: lost quorum, a dead machine). The pod must be running here."""
        self.kubelet.worker(ns, name).hold()

    def release(self, ns, name):
        """Lets a held pod's container start again (it counts as a restart)."""
        worker = self.kubelet.worker(ns, name)
        if worker is not None:
            worker.release()

    def pod_process(self, ns, name):
        """The running container process of a pod (subprocess.Popen), or None."""
        worker = self.kubelet.worker(ns, name)
        return worker.proc if worker is not None else None

    def logs(self, limit=4000):
        """The tail of every container log, for failure reports."""
        out = []
        pods_dir = os.path.join(self.root, "pods")
        for d in sorted(os.listdir(pods_dir)) if os.path.isdir(pods_dir) else []:
            for f in sorted(os.listdir(os.path.join(pods_dir, d))):
                if f.endswith(".log"):
                    with open(os.path.join(pods_dir, d, f), errors="replace") as fh:
                        out.append(f"==== {d}/{f}\n{fh.read()[-limit:]}")
        return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", required=True, help="the API server's URL")
    parser.add_argument("--cairn-bin", default=os.environ.get("CAIRN_BIN"))
    parser.add_argument("--dir", required=True, help="where pods and volumes live")
    opts = parser.parse_args()
    harness = Harness(opts.api, opts.cairn_bin, opts.dir).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log(f"running pods from {opts.api} on {harness.kubelet.prefix}0/24")
    stop.wait()
    harness.stop()


if __name__ == "__main__":
    main()
