"""Deployments, ReplicaSets and pods of several containers for the process kubelet
(process_kubelet.py), as the journey test (test_journey.py) needs them: an app Deployment whose
pods get a cairn-sidecar container from the injection webhook.

  DeploymentController  a Deployment → one ReplicaSet per pod template (<deploy>-<hash>, owned
                        by the Deployment; older ones scaled to 0: a Recreate-like rollout, no
                        surge) → pods from the template with generated names (<rs>-xxxxx, owned
                        by the ReplicaSet, created through the API so the admission webhooks see
                        them); scale up and down (not-ready and newest pods go first);
                        status.replicas / readyReplicas on both. Deleting the Deployment leaves
                        the rest to the fake's owner-reference garbage collection.
  PodOfContainers       a PodWorker for a pod of several containers: each container its own
                        process (a ContainerWorker) with its own restarts and readiness, the pod
                        Ready when all are; the pod's status lists every container.
  ContainerWorker       one container, with what a pod of several containers needs beyond
                        process_kubelet.PodWorker:
                          * a shared network namespace emulated on the pod's one loopback IP:
                            127.0.0.1, localhost and 0.0.0.0 in args and env values become the
                            pod IP, and binaries whose defaults listen on loopback or on every
                            interface (LOOPBACK_FLAGS: cairn-sidecar's API, DNS and probes) are
                            given the pod IP explicitly, so two pods never share a port;
                          * downwardAPI volumes (metadata.annotations / labels as the kubelet
                            writes them: key="value" lines, Go-quoted, sorted; name, namespace,
                            uid);
                          * "-retry-join NAME" as two arguments resolved like "-retry-join=NAME";
                          * commands looked up in `commands` (e.g. cairn-sidecar → the built
                            binary) before $PATH, as an image's PATH would find them.
  WorkloadHarness       process_kubelet.Harness plus the DeploymentController (for the
                        namespaces given) and PodOfContainers for every pod.

Standard library only.
"""

import hashlib
import json
import os
import re
import sys
import threading
import time

from process_kubelet import (FINALIZER, ApiError, ControlLoop, Harness, Informer, PodWorker,
                             now_rfc3339, owned_by, pod_ready)

# Flags a binary needs so that it listens on the pod's IP instead of its built-in 127.0.0.1 or
# 0.0.0.0 (which, without a network namespace, every pod on this machine would share).
LOOPBACK_FLAGS = {"cairn-sidecar": ("-client", "-probe-addr")}
PENDING_TTL = 30.0  # seconds a created or deleted pod is expected before the informer shows it


def log(*args):
    print(time.strftime("%H:%M:%S"), "[workloads]", *args, file=sys.stderr, flush=True)


def apps_path(kind, ns, name=""):
    return f"/apis/apps/v1/namespaces/{ns}/{kind}" + (f"/{name}" if name else "")


def pods_path(ns, name=""):
    return f"/api/v1/namespaces/{ns}/pods" + (f"/{name}" if name else "")


def template_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def owner_ref(obj):
    return {"apiVersion": obj.get("apiVersion", "apps/v1"), "kind": obj["kind"],
            "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"], "controller": True,
            "blockOwnerDeletion": True}


class DeploymentController(ControlLoop):
    """Deployments → ReplicaSets → pods in `namespaces` (others are left alone: the chart's own
    operator Deployment is run by the test as a process, not by this controller)."""

    def __init__(self, api, deployments, replicasets, pods, namespaces, stop):
        super().__init__("deployment-controller", (deployments, replicasets, pods), stop)
        self.api, self.deployments, self.replicasets = api, deployments, replicasets
        self.pods, self.namespaces = pods, set(namespaces)
        # ReplicaSet uid -> {pod name: (time, "create" | "delete")} not yet in the informer: a
        # pass right after a create must not create the same pod again.
        self.pending = {}

    def sync_all(self):
        for d in self.deployments.items():
            if d["metadata"]["namespace"] in self.namespaces and not d["metadata"].get(
                    "deletionTimestamp"):
                self.sync_deployment(d)
        for rs in self.replicasets.items():
            if rs["metadata"]["namespace"] in self.namespaces and not rs["metadata"].get(
                    "deletionTimestamp"):
                self.sync_replicaset(rs)

    # -- Deployment → ReplicaSets --
    def sync_deployment(self, d):
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        template = d["spec"].get("template") or {}
        current = f"{name}-{template_hash(template)}"
        replicas = int(d["spec"].get("replicas", 1))
        owned = [rs for rs in self.replicasets.items()
                 if rs["metadata"]["namespace"] == ns and owned_by(rs, d)]
        if not any(rs["metadata"]["name"] == current for rs in owned) and self.exists(
                apps_path("deployments", ns, name), d):
            self.create_replicaset(d, current, template, replicas)
        for rs in owned:
            want = replicas if rs["metadata"]["name"] == current else 0
            if int(rs["spec"].get("replicas", 0)) != want:
                self.api.merge_patch(apps_path("replicasets", ns, rs["metadata"]["name"]),
                                     {"spec": {"replicas": want}})
        status = {"observedGeneration": d["metadata"].get("generation", 1),
                  "replicas": sum(int((rs.get("status") or {}).get("replicas", 0))
                                  for rs in owned),
                  "readyReplicas": sum(int((rs.get("status") or {}).get("readyReplicas", 0))
                                       for rs in owned)}
        status["availableReplicas"] = status["updatedReplicas"] = status["readyReplicas"]
        self.write_status("deployments", d, status)

    def create_replicaset(self, d, name, template, replicas):
        ns = d["metadata"]["namespace"]
        pod_hash = name.rsplit("-", 1)[1]
        template = json.loads(json.dumps(template))
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels["pod-template-hash"] = pod_hash
        template.setdefault("metadata", {})["labels"] = labels
        selector = {"matchLabels": dict((d["spec"].get("selector") or {}).get("matchLabels")
                                        or {}, **{"pod-template-hash": pod_hash})}
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": name, "namespace": ns, "labels": labels,
                           "ownerReferences": [owner_ref(d)]},
              "spec": {"replicas": replicas, "selector": selector, "template": template}}
        try:
            self.api.create(apps_path("replicasets", ns), rs)
            log(f"created ReplicaSet {ns}/{name}")
        except ApiError as e:
            if e.code != 409:
                raise

    # -- ReplicaSet → pods --
    def sync_replicaset(self, rs):
        ns, uid = rs["metadata"]["namespace"], rs["metadata"]["uid"]
        pending = self.pending.setdefault(uid, {})
        now = time.monotonic()
        pods = {p["metadata"]["name"]: p for p in self.pods.items()
                if p["metadata"]["namespace"] == ns and owned_by(p, rs)}
        for name, (since, what) in list(pending.items()):
            seen = pods.get(name)
            arrived = seen is not None if what == "create" else (
                seen is None or seen["metadata"].get("deletionTimestamp"))
            if arrived or now - since > PENDING_TTL:
                del pending[name]
        live = {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        live_names = (set(live) | {n for n, (_, w) in pending.items() if w == "create"}) - {
            n for n, (_, w) in pending.items() if w == "delete"}
        want = int(rs["spec"].get("replicas", 0))
        if want > len(live_names) and not self.exists(
                apps_path("replicasets", ns, rs["metadata"]["name"]), rs):
            return  # deleted, and the informer has not seen it yet: no orphan pods
        for _ in range(want - len(live_names)):
            created = self.api.create(pods_path(ns), self.pod_for(rs))
            pending[created["metadata"]["name"]] = (now, "create")
            log(f"created pod {ns}/{created['metadata']['name']} of ReplicaSet "
                f"{rs['metadata']['name']}")
        if len(live_names) > want:
            # Not-ready pods first, then the newest (as the ReplicaSet controller ranks them).
            victims = sorted((live[n] for n in live_names if n in live),
                             key=lambda p: p["metadata"].get("creationTimestamp", ""),
                             reverse=True)
            victims.sort(key=pod_ready)
            for p in victims[:len(live_names) - want]:
                self.api.delete(pods_path(ns, p["metadata"]["name"]))
                pending[p["metadata"]["name"]] = (now, "delete")
                log(f"deleted pod {ns}/{p['metadata']['name']} (scale down)")
        status = {"observedGeneration": rs["metadata"].get("generation", 1),
                  "replicas": len(live), "readyReplicas": sum(1 for p in live.values()
                                                              if pod_ready(p))}
        status["availableReplicas"] = status["readyReplicas"]
        self.write_status("replicasets", rs, status)

    def pod_for(self, rs):
        template = json.loads(json.dumps(rs["spec"].get("template") or {}))
        meta = template.get("metadata") or {}
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": rs["metadata"]["name"] + "-",
                             "namespace": rs["metadata"]["namespace"],
                             "labels": dict(meta.get("labels") or {}),
                             "annotations": dict(meta.get("annotations") or {}),
                             "ownerReferences": [owner_ref(rs)],
                             # Graceful deletion through the kubelet (process_kubelet.py).
                             "finalizers": [FINALIZER]},
                "spec": template.get("spec") or {}}

    def exists(self, path, obj):
        """Whether obj is still in the API (the informers may lag behind a deletion)."""
        try:
            current = self.api.get(path)
        except ApiError as e:
            if e.code == 404:
                return False
            raise
        return (current["metadata"]["uid"] == obj["metadata"]["uid"]
                and not current["metadata"].get("deletionTimestamp"))

    def write_status(self, kind, obj, status):
        old = obj.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()):
            return
        meta = obj["metadata"]
        try:
            self.api.merge_patch(apps_path(kind, meta["namespace"], meta["name"]) + "/status",
                                 {"status": status})
        except ApiError as e:
            if e.code != 404:  # deleted meanwhile
                raise


# ---------------------------------------------------------------------------------------------
# Pods of several containers

def go_quote(text):
    """The kubelet's downward-API files quote values as Go's %q does (ASCII: as JSON does)."""
    return json.dumps(text, ensure_ascii=True)


class ContainerWorker(PodWorker):
    """Container `index` of the pod run by `parent` (a PodOfContainers)."""

    def __init__(self, parent, index):
        self.parent, self.index = parent, index
        super().__init__(parent.kubelet, parent.pod, parent.ip)
        self.terminate = parent.terminate  # the pod's deletion stops every container
        self.thread.name = f"pod-{self.name}-{self.container['name']}"

    @property
    def pod(self):
        return self.parent.pod

    @pod.setter
    def pod(self, value):
        pass  # the parent holds the pod (the kubelet updates it there)

    @property
    def container(self):
        return self.parent.pod["spec"]["containers"][self.index]

    def write_status(self):
        self.parent.write_status()

    def finish_deletion(self):
        pass  # the parent lets the pod go once every container stopped

    def volume_dir(self, v):
        if "downwardAPI" not in v:
            return super().volume_dir(v)
        target = os.path.join(self.dir, "volumes", v["name"])
        os.makedirs(target, exist_ok=True)
        meta = self.pod["metadata"]
        for item in v["downwardAPI"].get("items") or []:
            field = (item.get("fieldRef") or {}).get("fieldPath", "")
            if field in ("metadata.annotations", "metadata.labels"):
                values = meta.get(field.split(".")[1]) or {}
                text = "".join(f"{k}={go_quote(values[k])}\n" for k in sorted(values))
            else:
                text = self.field_value(field)
            path = os.path.join(target, item["path"])
            with open(path + ".tmp", "w") as f:  # replaced whole, as the kubelet's symlink swap
                f.write(text)
            os.replace(path + ".tmp", path)
        return target

    def rewrite_args(self, args, mounts):
        joined, i = [], 0
        while i < len(args):
            if args[i] in ("-retry-join", "--retry-join") and i + 1 < len(args):
                joined.append(f"{args[i]}={args[i + 1]}")
                i += 2
            else:
                joined.append(args[i])
                i += 1
        return [self.pod_local(a) for a in super().rewrite_args(joined, mounts)]

    def pod_local(self, text):
        """127.0.0.1, localhost and 0.0.0.0 as hosts in `text` mean the pod's own IP."""
        return re.sub(r"(?<![\w.])(127\.0\.0\.1|localhost|0\.0\.0\.0)(?![\w.])", self.ip, text)

    def prepare(self):
        argv, env, cwd = super().prepare()
        commands = getattr(self.kubelet, "commands", {})
        name = os.path.basename(argv[0])
        argv[0] = commands.get(argv[0], argv[0])
        given = {a.split("=", 1)[0] for a in argv[1:]}
        argv += [f"{flag}={self.ip}" for flag in LOOPBACK_FLAGS.get(name, ())
                 if flag not in given]
        env = {k: (v if k == "PATH" else self.pod_local(v)) for k, v in env.items()}
        return argv, env, cwd


class PodOfContainers(PodWorker):
    """Runs each container of a pod on its own ContainerWorker; the pod's status is theirs."""

    def __init__(self, kubelet, pod, ip):
        super().__init__(kubelet, pod, ip)
        self.status_lock = threading.Lock()
        self.containers = [ContainerWorker(self, i)
                           for i in range(len(pod["spec"].get("containers") or []))]

    @property
    def proc(self):
        """The first container's process (what Harness.pod_process returns)."""
        containers = getattr(self, "containers", None)
        return containers[0].proc if containers else None

    @proc.setter
    def proc(self, value):
        pass

    def container_worker(self, name):
        return next((c for c in self.containers if c.container["name"] == name), None)

    def run(self):
        self.write_status()  # Pending, with the pod IP
        for c in self.containers:
            c.thread.start()
        for c in self.containers:
            c.thread.join()
        if self.terminate.is_set():
            self.finish_deletion()

    def write_status(self):
        with self.status_lock:
            self.write_merged_status()

    def write_merged_status(self):
        containers = getattr(self, "containers", [])
        running = bool(containers) and all(c.started_at for c in containers)
        ready = bool(containers) and all(c.ready and c.waiting is None for c in containers)
        cond = lambda t, ok: {"type": t, "status": "True" if ok else "False",  # noqa: E731
                              "lastTransitionTime": now_rfc3339()}
        statuses = []
        for c in containers:
            state = ({"running": {"startedAt": c.started_at}} if c.waiting is None
                     else {"waiting": {"reason": c.waiting}})
            statuses.append({"name": c.container["name"], "image": c.container.get("image", ""),
                             "ready": c.ready and c.waiting is None,
                             "started": c.waiting is None, "restartCount": c.restarts,
                             "state": state})
        status = {"phase": "Running" if running else "Pending", "hostIP": "127.0.0.1",
                  "podIP": self.ip, "podIPs": [{"ip": self.ip}],
                  "conditions": [cond("PodScheduled", True), cond("Initialized", True),
                                 cond("ContainersReady", ready), cond("Ready", ready)],
                  "containerStatuses": statuses}
        self.send_status(status, json.dumps([status["phase"], ready, [
            (s["name"], s["ready"], s["restartCount"], s["state"].get("waiting"))
            for s in statuses]]))


class WorkloadHarness(Harness):
    """Harness + Deployments/ReplicaSets in `namespaces`, every pod run by PodOfContainers, and
    `commands` (name → path) for container commands that are not on $PATH."""

    def __init__(self, api_url, cairn_bin, root, namespaces, commands=None, binaries=None):
        super().__init__(api_url, cairn_bin, root, binaries)
        self.kubelet.worker_class = PodOfContainers
        self.kubelet.commands = dict(commands or {})

        def changed(_kind, _obj):
            self.deployment_controller.wake.set()
            self.kubelet.wake.set()

        self.deployments = Informer(self.api, "/apis/apps/v1/deployments", changed,
                                    self.stop_event)
        self.replicasets = Informer(self.api, "/apis/apps/v1/replicasets", changed,
                                    self.stop_event)
        self.workload_pods = Informer(self.api, "/api/v1/pods", changed, self.stop_event)
        self.deployment_controller = DeploymentController(
            self.api, self.deployments, self.replicasets, self.workload_pods, namespaces,
            self.stop_event)

    def start(self):
        for informer in (self.deployments, self.replicasets, self.workload_pods):
            informer.start()
        self.deployment_controller.start()
        return super().start()

    def stop(self):
        self.deployment_controller.wake.set()
        super().stop()

    def container_process(self, ns, name, container):
        worker = self.kubelet.worker(ns, name)
        c = worker.container_worker(container) if isinstance(worker, PodOfContainers) else None
        return c.proc if c is not None else None

