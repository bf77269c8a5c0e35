"""End to end: the cairn-operator binary runs a real Cairn cluster on the process kubelet.

The fake API server (fake_apiserver.py), the StatefulSet controller and process kubelet
(process_kubelet.py: every server pod is a real `cairn agent -server` process on its own
loopback IP) and the cairn-operator binary with a kubeconfig. kubectl applies the CRD and a
CairnCluster of 3 servers; then, while KV clients (tests/integration/test_faults.py's Client,
through the Ready endpoints of the client Service, as kube-proxy would route) write and read:

  create        Available=True and readyServers 3
  lost quorum   2 of the 3 server processes held down by the kubelet (killed, not restarted):
                no leader. `kubectl scale` to 5 and a spec.config change (node_meta) made
                meanwhile are held (Progressing=False Held, naming both changes and why;
                Degraded=True; a Warning Event) and the operator changes nothing (StatefulSet
                size and template, pods) over two more passes; then the processes are released
  config roll   the cluster recovers and the held configuration change rolls first: only the
                ConfigMap and the template's config-hash changed, a new revision. The operator
                is SIGKILLed once the first follower rolled and a new one finishes the roll;
                the rolled server's new process is SIGKILLed while it catches up. Each server
                restarted exactly once, followers first, the leader after handing leadership
                over, never while another server was not Ready; each back as the same member,
                running the new configuration (its catalog node's Meta)
  scale 3→5     then the held scale-up: every server joins as a learner and is promoted, one
                at a time
  scale 5→3     from the highest ordinal: leadership moved away if needed, the member removed
                from Raft, then the pod, then its PVC (whenScaledDown: Delete); the operator is
                SIGKILLed once the first member left Raft and a new one finishes the job
  empty disk    a follower's PVC replaced by an empty one: it rejoins under a new ID and the
                stale member is removed
  long mode     also an image upgrade (status.version), a plain 3→5→3, SIGKILL of a
                follower's and of the leader's process (each rejoins as the same member),
                3→1→3

Throughout, the fake API server injects faults (5 % of the requests on StatefulSets, pods,
PVCs and Leases answer 500/429/503, 10 % of the CairnCluster status patches 409; every open watch
is dropped every 3 s; the event history is forgotten once, so watches get 410 Gone and relist),
and a monitor samples the Raft configuration the servers report (every 0.2 s): each
change of the voter set must add or remove exactly one voter. After the clients stop, every key
is read with ?consistent on every server; the history must be linearizable
(tests/integration/linearizability.py) with no acknowledged write lost. Each scenario's time and
the number of operations are printed (docs/operator.md records them).

CAIRN_OPERATOR and CAIRN_BIN come from ctest; CAIRN_OPERATOR_E2E_MODE=long for long mode.
"""

import collections
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from fake_apiserver import FakeApiServer  # noqa: E402
from k8s_tools import REPO, Kubectl, tool_path  # noqa: E402
from process_kubelet import Harness, pod_ready  # noqa: E402
from cluster import Server, http_call  # noqa: E402
from harness import wait_until  # noqa: E402
from linearizability import History, check  # noqa: E402
from test_faults import CLIENT_TIMEOUT, Client, FaultRun, lost_writes  # noqa: E402

MODE = os.environ.get("CAIRN_OPERATOR_E2E_MODE", "short")
SEED = int(os.environ.get("CAIRN_OPERATOR_E2E_SEED", str(random.randrange(1 << 30))))
STEP_TIMEOUT = float(os.environ.get("CAIRN_OPERATOR_E2E_STEP_TIMEOUT", "120"))
CRD = os.path.join(REPO, "deploy", "crds", "cairn.io_cairnclusters.yaml")
NS = "default"
NAME = "demo"
CLUSTER = f"""apiVersion: cairn.io/v1alpha1
kind: CairnCluster
metadata:
  name: {NAME}
spec:
  servers: 3
  image: cairn:0.1.0
"""
KEYS = [f"e2e/k{i}" for i in range(5)]
CLIENTS = 4


def log(line):
    print(time.strftime("%H:%M:%S"), "[e2e]", line, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=STEP_TIMEOUT, interval=0.2):
    return wait_until(predicate, timeout, what, interval)


def quorum(n):
    return n // 2 + 1


class Endpoint:
    """A server pod as test_faults.Client sees a server: HTTP on the pod IP, port 8500."""

    def __init__(self, name, ip):
        self.name, self.ip, self.starts = name, ip, 1

    get, put, delete = Server.get, Server.put, Server.delete  # all through request()

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        return http_call(self.ip, 8500, method, path, body, headers, timeout)

    def alive(self):
        return True

    def json(self, path, timeout=2.0):
        try:
            r = self.get(path, timeout=timeout)
        except (OSError, http.client.HTTPException):
            return None
        return r.json() if r.status in (200, 429, 503) else None


class ClientService:
    """The client Service as a Client's `cluster`: `members` are its Ready endpoints, as
    kube-proxy routes (every server pod with an IP while none is Ready)."""

    def __init__(self, harness):
        self.harness = harness
        self.endpoints = {}
        self.servers = []

    def endpoint(self, name, ip):
        key = (name, ip)
        if key not in self.endpoints:
            self.endpoints[key] = Endpoint(name, ip)
        return self.endpoints[key]

    @property
    def members(self):
        dns = self.harness.dns
        ready = dns.ready_endpoints(NS, NAME)
        if not ready:
            ready = [(p["metadata"]["name"], p["status"]["podIP"])
                     for p in dns.service_pods(NS, f"{NAME}-peers", ready_only=False)]
        return [self.endpoint(n, ip) for n, ip in ready]


class RaftMonitor(threading.Thread):
    """Samples the Raft configuration every 0.2 s and records each change of the voter set,
    and the smallest margin of healthy voters over quorum seen in autopilot's view."""

    def __init__(self, service, stop):
        super().__init__(daemon=True, name="raft-monitor")
        self.service, self.stop = service, stop
        self.changes = []  # (time, voters frozenset, learners frozenset)
        self.min_margin = None
        self.margins = []  # (time, healthy voters - quorum)
        self.samples = 0
        self.unanswered = 0

    def run(self):
        while not self.stop.wait(0.2):
            self.sample()

    def sample(self):
        for endpoint in self.service.members:
            config = endpoint.json("/v1/operator/raft/configuration")
            if not config or "Servers" not in config:
                continue
            voters = frozenset(s["Node"] for s in config["Servers"] if s.get("Voter"))
            learners = frozenset(s["Node"] for s in config["Servers"] if not s.get("Voter"))
            self.samples += 1
            if not self.changes or self.changes[-1][1:] != (voters, learners):
                self.changes.append((time.monotonic(), voters, learners))
            health = endpoint.json("/v1/operator/autopilot/health")
            if health and "Servers" in health:
                healthy = sum(1 for s in health["Servers"] if s.get("Voter") and s.get("Healthy"))
                margin = healthy - quorum(len(voters))
                self.margins.append((time.monotonic(), margin))
                self.min_margin = margin if self.min_margin is None else min(self.min_margin,
                                                                             margin)
            return
        self.unanswered += 1

    def min_margin_between(self, t0, t1):
        margins = [m for t, m in self.margins if t0 <= t <= t1]
        return min(margins) if margins else None

    def voter_steps(self):
        """(before, after) for every change of the voter set."""
        out = []
        for (_, a, _), (_, b, _) in zip(self.changes, self.changes[1:]):
            if a != b:
                out.append((a, b))
        return out


# API faults while the scenarios run (the fake's fault hooks): every client of the API server,
# the operator and the harness alike, meets them. CairnCluster reads and the scale subresource
# are spared, so that the test's own kubectl commands stay deterministic.
FAULTS = [
    {"path": "/statefulsets", "code": 500, "rate": 0.05},
    {"path": "/pods", "code": 429, "rate": 0.05, "retryAfter": 1},
    {"path": "/persistentvolumeclaims", "code": 503, "rate": 0.05},
    {"path": "/leases", "code": 500, "rate": 0.05},
    {"method": "PATCH", "path": "/cairnclusters/[^/]+/status$", "code": 409, "rate": 0.1},
]


class ApiFaults(threading.Thread):
    """Sets FAULTS, drops every open watch every 3 s and forgets the event history once (so
    the next watches get 410 Gone and list again), until stopped; then clears the rules."""

    def __init__(self, url, stop):
        super().__init__(daemon=True, name="api-faults")
        self.url, self.stop = url, stop
        self.drops = 0
        self.compactions = 0
        self.fired = {}

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read() or b"null")

    def run(self):
        self.post("/__fake/faults", {"rules": FAULTS})
        while not self.stop.wait(3.0):
            self.post("/__fake/watches/drop", {})
            self.drops += 1
            if self.drops == 5:
                self.post("/__fake/compact", {})
                self.compactions += 1
        with urllib.request.urlopen(self.url + "/__fake/faults", timeout=5) as r:
            rules = json.loads(r.read())["rules"]
        self.fired = {f"{r.get('method', '*')} {r['path']} {r['code']}": r.get("fired", 0)
                      for r in rules}
        self.post("/__fake/faults", {"rules": []})


class OperatorE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not tool_path("kubectl"):
            raise AssertionError("kubectl not found: run scripts/setup (or set CAIRN_KUBECTL)")
        cls.operator_bin = os.environ.get("CAIRN_OPERATOR")
        cls.cairn_bin = os.environ.get("CAIRN_BIN")
        if not cls.operator_bin or not cls.cairn_bin:
            raise AssertionError("CAIRN_OPERATOR and CAIRN_BIN must be set (ctest sets them)")
        cls.dir = tempfile.mkdtemp(prefix="cairn-operator-e2e-")
        cls.server = FakeApiServer().start()
        cls.kubectl = Kubectl(cls.server.url)
        cls.kubectl.run("apply", "-f", CRD)
        cls.harness = Harness(cls.server.url, cls.cairn_bin, os.path.join(cls.dir, "node"))
        cls.stops = []  # (pod, was it the Raft leader) for every server pod deleted
        cls.harness.kubelet.before_stop.append(cls.note_stop)
        cls.harness.start()
        cls.operator_log = open(os.path.join(cls.dir, "operator.log"), "wb")
        cls.operator = None
        cls.start_operator()

    @classmethod
    def note_stop(cls, ns, name, ip):
        """Called by the kubelet before it stops a deleted pod's process: was it leading, and
        how many of the other servers were Ready (by their pod, or their own self-health)?"""
        health = Endpoint(name, ip).json("/v1/operator/raft/self-health") or {}
        others = [p for p in cls.harness.pods.items()
                  if p["metadata"]["name"].startswith(NAME + "-")
                  and p["metadata"]["name"] != name and not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in others if pod_ready(p) or (Endpoint(
            p["metadata"]["name"], cls.harness.kubelet.ip_of(p)).json(
                "/v1/operator/raft/self-health") or {}).get("Ready"))
        cls.stops.append((name, bool(health.get("Leader")), ready, len(others)))
        log(f"pod {name} deleted ({'the leader' if health.get('Leader') else 'not leading'}: "
            f"{health.get('Reason')}; {ready} of the {len(others)} others Ready)")

    @classmethod
    def start_operator(cls):
        # A 5 s Lease (15 s by default): a restarted operator waits that long for the dead
        # one's Lease to expire, twice per run. A resync every second (2 s by default): the
        # servers' Raft health is not watched, only polled, and each step waits for it.
        cls.metrics_port = free_port()
        cls.operator = subprocess.Popen(
            [cls.operator_bin, "-kubeconfig", cls.kubectl.kubeconfig, "-namespace", NS,
             "-metrics-addr", f"127.0.0.1:{cls.metrics_port}", "-lease-namespace", NS,
             "-lease-duration-s", "5", "-resync-ms", "1000"],
            stdout=cls.operator_log, stderr=subprocess.STDOUT)

    def kill_operator(self, why):
        self.operator.kill()
        self.operator.wait()
        log(f"killed the operator ({why}); starting a new one")
        self.start_operator()

    def reconciles(self):
        """The running operator's cairn_operator_reconciles_total (0 until it answers)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                        timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return 0
        for line in text.splitlines():
            if line.startswith("cairn_operator_reconciles_total "):
                return int(float(line.split()[1]))
        return 0

    @classmethod
    def tearDownClass(cls):
        if cls.operator and cls.operator.poll() is None:
            cls.operator.terminate()
            cls.operator.wait(timeout=30)
        cls.harness.stop()
        cls.server.stop()
        cls.kubectl.close()
        cls.operator_log.close()
        if os.environ.get("CAIRN_KEEP_TMP"):
            log(f"kept {cls.dir}")
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def kubectl_run(self, *args):
        """kubectl through the injected API faults: a command the fake refused on purpose
        (before acting on it) is run again."""
        for _ in range(10):
            code, out, err = self.kubectl.run(*args, check=False)
            if code == 0:
                return out
            if "injected fault" not in err:
                break
        raise AssertionError(f"kubectl {' '.join(args)} failed ({code}): {err}")

    # -- reading the cluster --
    def cluster(self):
        code, out, _ = self.kubectl.run("get", "cairncluster", NAME, "-o", "json", check=False)
        return json.loads(out) if code == 0 else {}

    def status(self):
        return self.cluster().get("status") or {}

    def condition(self, status, kind):
        for c in status.get("conditions") or []:
            if c.get("type") == kind:
                return c
        return {}

    def available_with(self, servers):
        s = self.status()
        return (self.condition(s, "Available").get("status") == "True"
                and s.get("readyServers") == servers and s.get("voters") == servers
                and self.condition(s, "Progressing").get("reason") == "Stable" and s)

    def pod(self, name):
        return self.harness.pods.get(NS, name)

    def raft_members(self):
        for endpoint in self.service.members:
            config = endpoint.json("/v1/operator/raft/configuration")
            if config and "Servers" in config:
                return {s["Node"]: s for s in config["Servers"]}
        return {}

    def diagnostics(self):
        self.operator_log.flush()
        with open(os.path.join(self.dir, "operator.log"), errors="replace") as f:
            operator = f.read()[-6000:]
        return (f"status: {json.dumps(self.status(), indent=1)}\n"
                f"raft: {json.dumps(self.raft_members(), indent=1)}\n"
                f"operator log:\n{operator}\n{self.harness.logs(3000)}")

    def step(self, name, fn):
        t0 = time.monotonic()
        ops0 = len(self.history)
        try:
            fn()
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}\n{self.diagnostics()}") from None
        took = time.monotonic() - t0
        margin = self.monitor.min_margin_between(t0, t0 + took) if self.monitor else None
        self.timings.append((name, took, len(self.history) - ops0, margin))
        log(f"{name}: {took:.1f}s, {len(self.history) - ops0} ops, smallest healthy-voter "
            f"margin over quorum {margin}")

    # -- scenarios --
    def create(self):
        self.kubectl.run("apply", "-f", "-", stdin=CLUSTER)
        wait_for("Available with 3 ready servers", lambda: self.available_with(3))

    def scale(self, servers, meanwhile=None):
        before = {n: m["ID"] for n, m in self.raft_members().items()}
        self.kubectl.run("scale", f"cairncluster/{NAME}", f"--replicas={servers}")
        if meanwhile:
            meanwhile()
        self.scaled(servers, before)

    def scaled(self, servers, before):
        """Waits for the cluster to be Available at `servers`: exactly those members, all
        voters, those that stayed with their IDs, the pods and PVCs of removed ones gone."""
        self.expected_stops += max(0, len(before) - servers)
        wait_for(f"Available with {servers} ready servers", lambda: self.available_with(servers))
        members = self.raft_members()
        self.assertEqual(sorted(members), [f"{NAME}-{i}" for i in range(servers)])
        self.assertTrue(all(m["Voter"] for m in members.values()), members)
        for name, member in members.items():
            if name in before:  # a server that stayed kept its identity
                self.assertEqual(member["ID"], before[name], name)
        wait_for("the StatefulSet's pods", lambda: sorted(
            p["metadata"]["name"] for p in self.harness.pods.items()
            if p["metadata"]["name"].startswith(NAME + "-")) == sorted(members))
        pvcs = lambda: sorted(p["metadata"]["name"] for p in self.harness.pvcs.items())  # noqa
        wait_for("the PVCs of removed servers to go",
                 lambda: pvcs() == sorted(f"data-{NAME}-{i}" for i in range(servers)))

    def kill_operator_mid_scale_down(self):
        """SIGKILL the operator once the first server left the Raft configuration (usually
        before the StatefulSet shrank), then start a new one: it must wait for the Lease of the
        dead one to expire, observe where the scale-down is and finish it."""
        def removing():
            members = self.raft_members()
            sts = self.harness.statefulsets.get(NS, NAME) or {"spec": {}}
            return len(members) < 5 and members and (len(members), sts["spec"].get("replicas"))
        members, replicas = wait_for("the first member to leave", removing, interval=0.05)
        self.kill_operator(f"mid scale-down, {members} Raft members, StatefulSet replicas "
                           f"{replicas}")

    def roll(self, patch, rolled, meanwhile=None):
        """A spec change that makes a new pod template: every server restarted onto the new
        revision exactly once, followers first, never while leading (it hands leadership over
        first) nor while another server is not Ready, each back as the same member; then
        `rolled()` must hold."""
        members = {n: m["ID"] for n, m in self.raft_members().items()}
        uids = {n: self.pod(n)["metadata"]["uid"] for n in members}
        stops = len(self.stops)
        self.expected_stops += len(members)
        self.kubectl_run("patch", "cairncluster", NAME, "--type=merge", "-p",
                         json.dumps({"spec": patch}))
        if meanwhile:
            meanwhile(uids)
        wait_for("every pod replaced", lambda: all(
            (self.pod(n) or {}).get("metadata", {}).get("uid") not in (None, uids[n])
            for n in uids))
        wait_for("the new revision everywhere, Available", lambda: self.available_with(
            len(members)) and rolled())
        self.check_rolled(members, stops)
        self.assertEqual({n: m["ID"] for n, m in self.raft_members().items()}, members,
                         "every server came back as the same member")

    def check_rolled(self, members, stops):
        """Each of `members` was restarted exactly once since self.stops[stops], never while
        leading, never while another server was not Ready."""
        restarted = self.stops[stops:]
        self.assertEqual(sorted(n for n, *_ in restarted), sorted(members),
                         f"each server restarted exactly once: {restarted}")
        for name, leading, ready, others in restarted:
            self.assertFalse(leading, f"{name} was deleted while leading")
            self.assertEqual(ready, others, f"{name} was deleted while another server was not "
                                            f"Ready ({ready} of {others})")
        log(f"rolling upgrade order: {[n for n, *_ in restarted]}")

    def rolling_upgrade(self):
        """An image change (long mode: short mode rolls a configuration change)."""
        self.roll({"image": "cairn:0.2.0"},
                  lambda: self.status().get("version") == "cairn:0.2.0")

    def node_meta_everywhere(self, servers):
        """Every server's catalog node carries node_meta rollout=2 (the new configuration)."""
        endpoints = self.service.members
        for i in range(servers):
            r = endpoints[0].json(f"/v1/catalog/node/{NAME}-{i}") if endpoints else None
            if ((r or {}).get("Node") or {}).get("Meta", {}).get("rollout") != "2":
                return False
        return True

    def lost_quorum_holds(self):
        """Two of the three servers held down by the kubelet (killed and kept from restarting):
        no quorum. A scale to 5 and a spec.config change made meanwhile are held and said so,
        and nothing changes; then the servers are released. The held changes are the next
        two steps."""
        members = self.raft_members()
        self.before_hold = {n: m["ID"] for n, m in members.items()}
        self.uids_before_roll = {n: self.pod(n)["metadata"]["uid"] for n in members}
        self.stops_before_roll = stops = len(self.stops)
        leader = next(n for n, m in members.items() if m["Leader"])
        held = sorted(n for n in members if n != leader)
        template = self.harness.statefulsets.get(NS, NAME)["spec"]["template"]
        for name in held:
            self.harness.hold(NS, name)
        log(f"held down {held}: {leader} alone")
        try:
            wait_for("the operator to report the lost quorum", lambda: self.condition(
                self.status(), "Degraded").get("reason") in ("QuorumLost", "QuorumAtRisk"))
            self.kubectl.run("scale", f"cairncluster/{NAME}", "--replicas=5")
            self.kubectl_run("patch", "cairncluster", NAME, "--type=merge", "-p",
                             json.dumps({"spec": {"config": {"node_meta": {"rollout": "2"}}}}))
            generation = self.cluster()["metadata"]["generation"]
            wanted = ("scaling from 3 to 5 servers", "the configuration change")

            def held_changes():
                st = self.status()
                progressing = self.condition(st, "Progressing")
                return (st.get("observedGeneration") == generation
                        and progressing.get("reason") == "Held"
                        and all(w in progressing.get("message", "") for w in wanted) and st)
            st = wait_for("the changes held, saying why", held_changes)
            degraded = self.condition(st, "Degraded")
            log(f"Progressing: {self.condition(st, 'Progressing')['message']!r}; Degraded "
                f"{degraded.get('reason')}: {degraded.get('message')!r}")
            self.assertEqual(degraded.get("status"), "True")
            self.assertIn("no ", self.condition(st, "Progressing")["message"])  # no leader/quorum
            passes = self.reconciles()
            wait_for("two more passes of the operator", lambda: self.reconciles() >= passes + 2)
            sts = self.harness.statefulsets.get(NS, NAME)
            self.assertEqual(sts["spec"]["replicas"], 3, "the StatefulSet grew while held")
            self.assertEqual(sts["spec"]["template"], template,
                             "the new pod template was applied while held")
            self.assertEqual(self.stops[stops:], [], "a pod was deleted while held")
            events = self.kubectl.json("get", "events")["items"]
            said = [e["message"] for e in events if e.get("type") == "Warning"
                    and any(w in e.get("message", "") for w in wanted)]
            self.assertTrue(said, "a Warning Event names the held change")
            log(f"Events: {said}")
        finally:
            for name in held:
                self.harness.release(NS, name)

    def held_config_roll(self):
        """The cluster recovers and the held configuration change rolls first (the reconciler
        upgrades before it scales): only the ConfigMap and the template's config-hash changed.
        The operator is SIGKILLed once the first follower rolled, and that follower's new
        process while it catches up; a new operator finishes the roll. Each server is
        restarted exactly once, never while leading nor while another is not Ready, comes back
        as the same member, and then runs the new configuration (its catalog node's Meta)."""
        uids = self.uids_before_roll
        self.expected_stops += len(uids)
        self.disrupt_roll(uids)
        wait_for("every server rolled, Ready, on the new configuration", lambda: all(
            (self.pod(n) or {}).get("metadata", {}).get("uid") not in (None, uids[n])
            and pod_ready(self.pod(n)) for n in uids) and self.node_meta_everywhere(len(uids)))
        self.check_rolled(uids, self.stops_before_roll)
        members = self.raft_members()
        self.assertEqual({n: members[n]["ID"] for n in uids}, self.before_hold,
                         "every server came back as the same member")

    def held_scale_up(self):
        """Then the held scale-up, one learner at a time."""
        self.scaled(5, self.before_hold)

    def disrupt_roll(self, uids):
        def first_rolled():
            for name, uid in uids.items():
                pod = self.pod(name)
                if pod and pod["metadata"]["uid"] != uid and not pod["metadata"].get(
                        "deletionTimestamp"):
                    return name
            return None
        first = wait_for("the first pod replaced", first_rolled, interval=0.05)
        new_uid = self.pod(first)["metadata"]["uid"]

        def new_process():
            worker = self.harness.kubelet.worker(NS, first)
            proc = worker and worker.uid == new_uid and worker.proc
            return proc if proc and proc.poll() is None else None
        proc = wait_for(f"{first}'s new process", new_process, interval=0.05)
        restarts = self.restart_count(first)
        log(f"SIGKILL {first} (pid {proc.pid}) while it rejoins after its restart")
        proc.send_signal(signal.SIGKILL)
        wait_for(f"{first} to restart", lambda: self.restart_count(first) > restarts)
        wait_for(f"{first} Ready on the new revision", lambda: pod_ready(self.pod(first)))
        rolled = sorted(n for n, uid in uids.items()
                        if (self.pod(n) or {}).get("metadata", {}).get("uid") != uid)
        self.kill_operator(f"mid-upgrade, pods replaced so far: {rolled}")

    def replace_pvc_with_empty(self):
        """A follower's PVC is deleted (it waits for the pod, pvc-protection) and its pod too:
        the StatefulSet brings the pod back on a new, empty PVC; the server starts with a new
        node ID under the same name, joins as a learner, and the operator removes the stale
        member that had the name."""
        members = self.raft_members()
        victim = max(n for n, m in members.items() if not m["Leader"])
        old_id = members[victim]["ID"]
        pvc = f"data-{victim}"
        old_uid = self.harness.pvcs.get(NS, pvc)["metadata"]["uid"]
        self.kubectl_run("delete", "pvc", pvc, "--wait=false")
        self.kubectl_run("delete", "pod", victim, "--wait=false")
        self.expected_stops += 1
        wait_for(f"a new {pvc}", lambda: (self.harness.pvcs.get(NS, pvc) or {}).get(
            "metadata", {}).get("uid") not in (None, old_uid))

        def rejoined():
            now = self.raft_members()
            return (len(now) == 3 and victim in now and now[victim]["ID"] != old_id
                    and now[victim]["Voter"] and now)
        now = wait_for(f"{victim} back under a new ID, the stale member gone", rejoined)
        self.assertNotIn(old_id, [m["ID"] for m in now.values()])
        wait_for("Available with 3 ready servers", lambda: self.available_with(3))
        log(f"{victim}: member {old_id[:8]} replaced by {now[victim]['ID'][:8]}")

    def kill_pod_process(self, leader=False):
        members = self.raft_members()
        if leader:
            victim = next(n for n, m in members.items() if m["Leader"])
        else:
            victim = next(n for n, m in sorted(members.items()) if not m["Leader"])
        old_id = members[victim]["ID"]
        restarts = self.restart_count(victim)
        proc = self.harness.pod_process(NS, victim)
        log(f"SIGKILL {victim} (pid {proc.pid}{', the leader' if leader else ''})")
        proc.send_signal(signal.SIGKILL)
        wait_for(f"{victim} to restart", lambda: self.restart_count(victim) > restarts)
        endpoint = Endpoint(victim, self.pod(victim)["status"]["podIP"])
        health = wait_for(f"the restarted {victim} to report itself ready",
                          lambda: (endpoint.json("/v1/operator/raft/self-health") or {})
                          .get("Ready") and endpoint.json("/v1/operator/raft/self-health"))
        self.assertTrue(health["Member"] and health["Voter"], health)
        wait_for(f"{victim}'s pod Ready", lambda: pod_ready(self.pod(victim)))
        wait_for("Available again with 3 ready servers", lambda: self.available_with(3))
        member = wait_for(f"{victim} back as a voter",
                          lambda: (self.raft_members().get(victim) or {}).get("Voter")
                          and self.raft_members()[victim])
        self.assertEqual(member["ID"], old_id, "the restarted server is the same member")

    def restart_count(self, name):
        statuses = ((self.pod(name) or {}).get("status") or {}).get("containerStatuses") or [{}]
        return statuses[0].get("restartCount", 0)

    # -- clients --
    def start_clients(self):
        rng = random.Random(SEED)
        for process in range(CLIENTS):
            client = Client(process, self.service, self.history, KEYS, self.stop_clients,
                            rng.randrange(1 << 30), self.served)
            client.start()
            self.clients.append(client)

    def final_reads(self):
        """Every key read with ?consistent on every server, recorded in the history (the fault
        tests' final read, which needs only `self.history`)."""
        return {key: [FaultRun.final_read(self, endpoint, key) for endpoint in
                      self.service.members] for key in KEYS}

    def test_create_scale_and_heal_under_load(self):
        log(f"mode {MODE}, seed {SEED}")
        self.service = ClientService(self.harness)
        self.history = History()
        self.timings = []
        self.served = []
        self.clients = []
        self.stop_clients = threading.Event()
        stop_monitor = threading.Event()
        started = time.monotonic()

        self.monitor = None
        self.expected_stops = 0
        self.step("create (3 servers, Available)", self.create)
        self.monitor = monitor = RaftMonitor(self.service, stop_monitor)
        monitor.start()
        faults = ApiFaults(self.server.url, stop_monitor)
        faults.start()
        self.start_clients()
        try:
            self.step("lost quorum (2 of 3 servers held down): scale 3 -> 5 and a spec.config "
                      "change held", self.lost_quorum_holds)
            self.step("recovery, the held spec.config change rolled; the operator and the "
                      "rolled server SIGKILLed midway", self.held_config_roll)
            self.step("the held scale 3 -> 5", self.held_scale_up)
            self.step("scale 5 -> 3, the operator killed and restarted midway",
                      lambda: self.scale(3, self.kill_operator_mid_scale_down))
            self.step("replace a follower's PVC with an empty one", self.replace_pvc_with_empty)
            if MODE == "long":
                # Short mode rolls a configuration change already, through the same revisions.
                self.step("rolling upgrade (image change)", self.rolling_upgrade)
                self.step("scale 3 -> 5", lambda: self.scale(5))
                self.step("scale 5 -> 3", lambda: self.scale(3))
                # Short mode kills a server's process in the configuration roll already.
                self.step("kill a follower pod's process", self.kill_pod_process)
                self.step("kill the leader pod's process",
                          lambda: self.kill_pod_process(leader=True))
                self.step("scale 3 -> 1", lambda: self.scale(1))
                self.step("scale 1 -> 3", lambda: self.scale(3))
        finally:
            self.stop_clients.set()
            for client in self.clients:
                client.join(CLIENT_TIMEOUT * 3)
            stop_monitor.set()
            monitor.join()
            faults.join()
        for client in self.clients:
            self.assertIsNone(client.error, f"{client.name} failed: {client.error!r}")
        client_ops = len(self.history)
        final = self.final_reads()
        t0 = time.monotonic()
        result = check(self.history)
        ok_ops = sum(1 for op in self.history.ops()[:client_ops] if op.status == "ok")
        summary = [f"operator e2e ({MODE}): {time.monotonic() - started:.1f}s in all, "
                   f"{len(self.history)} ops in the checked history ({client_ops} by "
                   f"{CLIENTS} clients, {ok_ops} of them ok), checked in "
                   f"{time.monotonic() - t0:.2f}s: "
                   f"{'linearizable' if result.ok else 'NOT linearizable'}"]
        summary += [f"  {name}: {took:.1f}s, {ops} ops, smallest healthy-voter margin {m}"
                    for name, took, ops, m in self.timings]
        summary.append(f"  Raft configuration: {monitor.samples} samples, "
                       f"{len(monitor.voter_steps())} voter changes, smallest healthy-voter "
                       f"margin over quorum {monitor.min_margin}, {monitor.unanswered} "
                       f"samples without an answer")
        summary.append(f"  API faults: {faults.fired}, {faults.drops} dropped watches, "
                       f"{faults.compactions} compaction")
        reasons = sum((c.reasons for c in self.clients), collections.Counter())
        summary.append("  client fail/info reasons: " + "; ".join(
            f"{why} x{n}" for why, n in reasons.most_common(6)))
        log("\n".join(summary))
        if not result.ok:
            path = os.path.join(tempfile.gettempdir(), f"operator-e2e-history-{SEED}.jsonl")
            self.history.dump(path)
            log(f"history written to {path}")
        self.assertTrue(result.ok, result.report())
        self.assertEqual(lost_writes(self.history.ops(), final), [])
        self.assertGreater(ok_ops, 100, "the clients made progress")
        for before, after in monitor.voter_steps():
            self.assertEqual(len(before ^ after), 1,
                             f"voters changed by more than one server: {sorted(before)} -> "
                             f"{sorted(after)}")
        self.assertIsNone(self.operator.poll(), "the operator is still running")
        # Every pod deletion is one the scenarios asked for: the scale-downs' victims, one per
        # server per upgrade, the PVC replacement. An apply that does not round-trip would roll
        # every server on each pass; a restarted operator must not restart a server again.
        self.assertEqual(len(self.stops), self.expected_stops, self.stops)
        events = self.kubectl.json("get", "events")["items"]
        reasons = collections.Counter(e.get("reason") for e in events)
        log(f"events: {dict(reasons)}")
        # One per server and upgrade (fewer when the operator is killed between a restart and
        # its Event).
        self.assertLessEqual(reasons["RollingUpgrade"], 6 if MODE == "long" else 3)
        # The operator never has a leader's pod deleted: it transfers leadership first.
        self.assertEqual([stop[0] for stop in self.stops if stop[1]], [], self.stops)

if __name__ == "__main__":
    unittest.main()
