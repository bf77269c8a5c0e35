"""Jepsen-style fault test: concurrent KV clients against every server of a cluster while a
nemesis kills, pauses, partitions and replaces servers; the recorded history must be
linearizable (linearizability.py) and no acknowledged write may be lost.

Clients (threads) run get (default and ?consistent) / put / cas / delete on a few keys, each
op on a server picked at random, and record a linearizability.History:
  * every write writes a value no other write writes ("<process>-<n>"), so a ModifyIndex read
    together with a value identifies that value: a cas at the ModifyIndex of the value last read
    is recorded as cas(expected=<that value>) (cas=0 after a 404: expected=None);
  * PUT answered true/false -> ok (cas: the bool); other 4xx -> fail; a connection refused
    before anything was sent -> fail; 5xx, resets and time-outs (10 s) -> info;
  * reads: 200/404 -> ok(value/None); anything else -> fail (an unanswered read has no effect).
The nemesis applies one fault at a time (kill -9 / SIGSTOP of the leader or a follower,
isolating the leader, a majority/minority split, removing a follower through the API and adding
it back with an empty data dir, leave_on_terminate and rejoin), lets the cluster recover (a
leader known by every member, every member a voter) and ends with a kill -9 of every server
under load and a restart. After the clients stop, every key is read with ?consistent on every
server (recorded as ops); the history is then checked.

A run fails when the history is not linearizable, when an acknowledged write is lost (an
explicit check on the final reads, besides the checker), when a server crashes (exits on its
own, or not cleanly on SIGTERM), or when the cluster does not recover from a fault within
CAIRN_FAULTS_RECOVERY_TIMEOUT (60 s). Misbehaviour that is no safety violation (a leave that
did not remove the server) is printed as an ANOMALY without failing the run.

Modes (CAIRN_FAULTS_MODE): short (default, CI: a 3-server run of ~1 min with >= 1,000 ops and
a shorter 5-server run) and long (>= 10,000 ops per run, several minutes each). CAIRN_FAULTS_SEED
fixes the random choices; CAIRN_FAULTS_KINDS (comma-separated method names of Nemesis) limits the
faults to those kinds. CAIRN_FAULTS_DISK=1 puts every server's data dir on its own 64 MiB tmpfs
(mounted by the test: needs root) and adds the disk fault: a follower's disk filled while it runs,
held full for a few seconds, then freed. On a failure the history (history.jsonl) is written
next to the servers' logs, in a directory that is kept and printed. Run with /usr/bin/python3.
"""
import collections
import dataclasses
import http.client
import json
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import Cluster, decode_value, kv_url, wait_until  # noqa: E402
from disk import Tmpfs  # noqa: E402
from harness import main  # noqa: E402
from linearizability import (CAS, DELETE, FAIL, INFO, OK, READ, WRITE, History,  # noqa: E402
                             check)

MODE = os.environ.get("CAIRN_FAULTS_MODE", "short")
SEED = int(os.environ.get("CAIRN_FAULTS_SEED", str(random.randrange(1 << 30))))
CLIENT_TIMEOUT = 10.0
RECOVERY_TIMEOUT = float(os.environ.get("CAIRN_FAULTS_RECOVERY_TIMEOUT", "60"))
DISK_FAULTS = os.environ.get("CAIRN_FAULTS_DISK") == "1"


@dataclasses.dataclass
class Profile:
    """One run's shape: `duration` seconds of faults (at least), at least `min_ops` client ops
    (faults continue until both hold, up to `max_duration`)."""
    servers: int
    duration: float
    min_ops: int
    max_duration: float
    clients: int
    keys: int


PROFILES = {
    "short": [Profile(3, duration=50, min_ops=1000, max_duration=120, clients=8, keys=5),
              Profile(5, duration=25, min_ops=400, max_duration=80, clients=10, keys=5)],
    "long": [Profile(3, duration=300, min_ops=10000, max_duration=900, clients=10, keys=10),
             Profile(5, duration=300, min_ops=10000, max_duration=900, clients=12, keys=10)],
}


# ---------------------------------------------------------------------------------------------
# Clients

class Client(threading.Thread):
    """One sequential client (a linearizability "process") issuing random ops until stopped.

    Remembers, per key, the (value, ModifyIndex) of its last ok read, for cas.
    """

    OPS = (("read", 20), ("read-consistent", 15), ("write", 30), ("cas", 25), ("delete", 10))

    REFUSED_BACKOFF = 0.2  # seconds a client avoids a server that refused a connection

    def __init__(self, process, cluster, history, keys, stop, seed, served):
        super().__init__(name=f"client-{process}", daemon=True)
        self.process, self.cluster, self.history, self.keys = process, cluster, history, keys
        self.served = served  # shared list: who answered each ok read (see note_served)
        self.stop = stop
        self.rng = random.Random(seed)
        self.last_read = {}
        self.counter = 0
        self.refused = {}  # server -> monotonic time until which it is avoided
        self.reasons = collections.Counter()  # why ops failed or are indeterminate
        self.error = None

    def run(self):
        names = [name for name, _ in self.OPS]
        weights = [weight for _, weight in self.OPS]
        try:
            while not self.stop.is_set():
                kind = self.rng.choices(names, weights)[0]
                key = self.rng.choice(self.keys)
                server = self.pick_server()
                try:
                    getattr(self, "op_" + kind.replace("-", "_"))(server, key)
                except ConnectionRefusedError:
                    self.refused[server] = time.monotonic() + self.REFUSED_BACKOFF
        except BaseException as e:  # reported by the test
            self.error = e

    def pick_server(self):
        """A random target, avoiding servers that recently refused a connection (a dead
        process); when every target did, first waits for the earliest back-off to end (pacing,
        so that clients do not spin while the whole cluster is down)."""
        candidates = targets(self.cluster)
        now = time.monotonic()
        up = [s for s in candidates if self.refused.get(s, 0) <= now]
        if not up:
            self.stop.wait(min(self.refused[s] for s in candidates) - now)
            up = candidates
        return self.rng.choice(up)

    def next_value(self):
        self.counter += 1
        return f"{self.process}-{self.counter}"

    # -- operations --
    def op_read(self, server, key, query=""):
        op = self.history.invoke(self.process, READ, key)
        try:
            r = server.get(kv_url(key, query), timeout=CLIENT_TIMEOUT)
        except (OSError, http.client.HTTPException) as e:
            self.failed(op, describe_error(e))
            if isinstance(e, ConnectionRefusedError):
                raise
            return
        if r.status == 404:
            self.history.ok(op, None)
            self.last_read[key] = (None, 0)
        elif r.status == 200:
            entry = r.json()[0]
            value = decode_value(entry)
            self.history.ok(op, value)
            self.last_read[key] = (value, entry["ModifyIndex"])
        else:
            self.failed(op, describe_answer(r))
            return
        self.note_served(op, server, r)

    def note_served(self, op, server, r):
        """Which server answered an ok read, with its index and leader headers: the evidence
        to explain a stale read (the history itself does not name servers)."""
        self.served.append({"id": op, "server": server.name, "start": server.starts,
                            "index": r.headers.get("X-Consul-Index"),
                            "known_leader": r.headers.get("X-Consul-KnownLeader"),
                            "last_contact": r.headers.get("X-Consul-LastContact")})

    def op_read_consistent(self, server, key):
        self.op_read(server, key, "consistent")

    def op_write(self, server, key):
        value = self.next_value()
        op = self.history.invoke(self.process, WRITE, key, value=value)
        self.complete_put(op, lambda: server.put(kv_url(key), value, timeout=CLIENT_TIMEOUT))

    def op_cas(self, server, key):
        if key not in self.last_read:
            return self.op_read(server, key)
        expected, index = self.last_read.pop(key)
        value = self.next_value()
        op = self.history.invoke(self.process, CAS, key, value=value, expected=expected)
        self.complete_put(op, lambda: server.put(kv_url(key, f"cas={index}"), value,
                                                 timeout=CLIENT_TIMEOUT), cas=True)

    def op_delete(self, server, key):
        op = self.history.invoke(self.process, DELETE, key)
        self.complete_put(op, lambda: server.delete(kv_url(key), timeout=CLIENT_TIMEOUT))

    def complete_put(self, op, send, cas=False):
        """Sends a mutation and records its outcome (see the module docstring)."""
        try:
            r = send()
        except ConnectionRefusedError as e:
            self.failed(op, describe_error(e))  # nothing was sent
            raise
        except (OSError, http.client.HTTPException) as e:
            self.indeterminate(op, describe_error(e))
            return
        if r.status == 200 and r.body.strip() in (b"true", b"false"):
            answer = r.body.strip() == b"true"
            if cas:
                self.history.ok(op, answer)
            elif answer:
                self.history.ok(op)
            else:
                self.failed(op, "answered false")
        elif 400 <= r.status < 500:
            self.failed(op, describe_answer(r))
        else:
            self.indeterminate(op, describe_answer(r))

    def failed(self, op, why):
        self.history.fail(op)
        self.reasons[f"fail: {why}"] += 1

    def indeterminate(self, op, why):
        self.history.info(op)
        self.reasons[f"info: {why}"] += 1


def describe_error(error):
    """A short, aggregatable reason for a request that got no answer."""
    return "time-out" if isinstance(error, TimeoutError) else type(error).__name__


def describe_answer(result):
    """A short, aggregatable reason for an unexpected HTTP answer."""
    return f"HTTP {result.status} {result.text()[:60]!r}"


def targets(cluster):
    """The servers a client may pick: every member, and any other server still running (e.g. one
    removed from the configuration but not yet stopped)."""
    members = list(cluster.members)
    return members + [s for s in list(cluster.servers) if s not in members and s.alive()]


# ---------------------------------------------------------------------------------------------
# Nemesis

class Nemesis:
    """Applies faults one at a time and waits for the cluster to recover after each.

    Every fault method applies its fault, holds it for a random while (by design, not as
    synchronisation), undoes it, and returns a description. `recover()` raises AssertionError
    when the cluster does not get back to a leader known by all members within
    RECOVERY_TIMEOUT: that is a finding.
    """

    def __init__(self, cluster, rng, log):
        self.cluster, self.rng, self.log = cluster, rng, log
        self.applied = []
        self.crashes = []    # servers that crashed: each fails the test
        self.anomalies = []  # misbehaviour that is not a safety violation: reported only
        self.kinds = ["kill_leader", "kill_follower", "pause_leader", "pause_follower",
                      "isolate_leader", "split", "remove_and_readd", "leave_and_rejoin"]
        self.disks = {}  # server name -> Tmpfs holding its data dir (CAIRN_FAULTS_DISK=1)
        if DISK_FAULTS:
            self.kinds.append("fill_follower_disk")
        if os.environ.get("CAIRN_FAULTS_KINDS"):  # e.g. "remove_and_readd,split", to dig into one
            self.kinds = os.environ["CAIRN_FAULTS_KINDS"].split(",")
        self._order = []

    def next_kind(self):
        """Each kind once per round, in a random order."""
        if not self._order:
            self._order = list(self.kinds)
            self.rng.shuffle(self._order)
        return self._order.pop()

    def apply(self, kind):
        started = time.monotonic()
        wall = time.strftime("%H:%M:%S", time.gmtime())  # UTC, to match the servers' logs
        description = getattr(self, kind)()
        faulted = time.monotonic() - started
        self.recover()
        elapsed = time.monotonic() - started
        self.applied.append((kind, description, elapsed))
        self.log(f"nemesis {wall}Z: {description} ({faulted:.1f}s, {elapsed:.1f}s with recovery)")

    def hold(self, low=1.0, high=4.0):
        time.sleep(self.rng.uniform(low, high))

    def recover(self):
        """Resumes and restarts every member, heals partitions, waits for a leader known by all
        and for every member to be a voter."""
        c = self.cluster
        self.note_crashes()
        c.heal()
        c.start_all_stopped(RECOVERY_TIMEOUT)
        c.wait_for_leader(RECOVERY_TIMEOUT)
        c.wait_configuration(c.members, RECOVERY_TIMEOUT)

    def note_crashes(self):
        """Records servers that exited on their own (they are restarted by recover())."""
        for server in self.cluster.crashed():
            self.crash(server, f"exited with status {server.proc.returncode} on its own")
            server.expected_exit = True

    def crash(self, server, what):
        description = f"{server.name} (start #{server.starts}, logs in {server.dir}) {what}"
        self.crashes.append(description)
        self.log(f"CRASH: {description}")

    def anomaly(self, description):
        self.anomalies.append(description)
        self.log(f"ANOMALY: {description}")

    def follower(self):
        leader = self.cluster.wait_for_leader(RECOVERY_TIMEOUT)
        return leader, self.rng.choice([s for s in self.cluster.members if s is not leader])

    # -- faults --
    def kill_leader(self):
        leader = self.cluster.wait_for_leader(RECOVERY_TIMEOUT)
        leader.kill()
        self.hold()
        return f"kill -9 leader {leader.name}, restart"

    def kill_follower(self):
        _, follower = self.follower()
        follower.kill()
        self.hold()
        return f"kill -9 follower {follower.name}, restart"

    def pause_leader(self):
        leader = self.cluster.wait_for_leader(RECOVERY_TIMEOUT)
        leader.pause()
        self.hold()
        leader.resume()
        return f"SIGSTOP/SIGCONT leader {leader.name}"

    def pause_follower(self):
        _, follower = self.follower()
        follower.pause()
        self.hold()
        follower.resume()
        return f"SIGSTOP/SIGCONT follower {follower.name}"

    def isolate_leader(self):
        leader = self.cluster.wait_for_leader(RECOVERY_TIMEOUT)
        self.cluster.isolate(leader)
        self.hold(2.0, 5.0)
        self.cluster.heal()
        return f"isolate leader {leader.name}, heal"

    def split(self):
        leader = self.cluster.wait_for_leader(RECOVERY_TIMEOUT)
        include = leader if self.rng.random() < 0.5 else None
        majority, minority = self.cluster.split(include=include)
        self.hold(2.0, 5.0)
        self.cluster.heal()
        return (f"split {[s.name for s in majority]} | {[s.name for s in minority]} "
                f"(leader {leader.name}), heal")

    def fill_follower_disk(self):
        _, follower = self.follower()
        disk = self.disks.get(follower.name)
        if disk is None:
            return f"fill {follower.name}'s disk: it has no tmpfs, skipped"
        disk.fill()
        self.hold(2.0, 5.0)
        disk.free()
        return f"fill {follower.name}'s disk while it runs, free it"

    def remove_and_readd(self):
        leader, follower = self.follower()
        r = self.cluster.remove_server(follower, via=leader)
        if r.status != 200:
            return f"remove {follower.name}: refused ({r.status} {r.text()!r}), skipped"
        self.cluster.wait_configuration(self.cluster.members, RECOVERY_TIMEOUT)
        self.hold(0.5, 2.0)  # the removed server keeps running and serving clients meanwhile
        self.cluster.replace(follower, RECOVERY_TIMEOUT)
        return f"remove {follower.name} via the API, add back with an empty data dir"

    def leave_and_rejoin(self):
        server = self.rng.choice(self.cluster.members)
        role = "leader" if self.cluster.current_leader() is server else "follower"
        rc, needed_kill = server.stop()
        self.cluster.forget(server)
        note = ""
        if (rc, needed_kill) != (0, False):
            note = f" (exit {rc}, needed SIGKILL: {needed_kill})"
            self.crash(server, f"did not exit cleanly on SIGTERM{note}")
        try:
            self.cluster.wait_configuration(self.cluster.members, 10)
        except AssertionError:
            # The leave did not go through (refused in a degraded cluster): remove it.
            said = [line for line in server.logs(limit=100000).splitlines() if "leave" in line]
            note += ", leave incomplete: removed via the API"
            self.anomaly(f"{server.name} ({role}) exited on SIGTERM with leave_on_terminate but "
                         f"stayed in the configuration; it logged: {said[-1:]}")
            leader = self.cluster.wait_for_leader(RECOVERY_TIMEOUT)
            leader.delete(f"/v1/operator/raft/peer?address={server.rpc_address}")
            self.cluster.wait_configuration(self.cluster.members, RECOVERY_TIMEOUT)
        self.hold(0.5, 2.0)
        self.cluster.replace(server, RECOVERY_TIMEOUT)
        return f"SIGTERM {role} {server.name} with leave_on_terminate{note}, rejoin empty"

    def crash_all(self):
        """kill -9 of every server at once, then a restart of all."""
        self.cluster.kill_all()
        self.hold(0.5, 1.5)
        return "kill -9 every server, restart all"


# ---------------------------------------------------------------------------------------------
# A run

@dataclasses.dataclass
class RunReport:
    profile: Profile
    seed: int
    history: History
    final: dict
    faults: list
    duration: float
    check_seconds: float = 0.0
    check_report: str = ""
    check_ok: bool = False
    lost: list = dataclasses.field(default_factory=list)
    diverged: str = ""  # how the members' final states differ ("" when identical)
    crashes: list = dataclasses.field(default_factory=list)
    anomalies: list = dataclasses.field(default_factory=list)
    client_ops: int = 0
    reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def passed(self):
        """Linearizable, no lost write, identical replicas, no crash."""
        return self.check_ok and not self.lost and not self.diverged and not self.crashes

    def problems(self):
        """Every finding as text ("" when passed)."""
        parts = []
        if not self.check_ok:
            parts.append(self.check_report)
        parts += [f"lost write: {problem}" for problem in self.lost]
        if self.diverged:
            parts.append(f"replicas diverged: {self.diverged}")
        parts += [f"crash: {crash}" for crash in self.crashes]
        return "\n".join(parts)

    @property
    def effective_ops(self):
        """Client ops that took effect or may have (ok + info): the checker's real input."""
        return sum(1 for op in self.history.ops()[:self.client_ops] if op.status in (OK, INFO))

    def summary(self):
        ops = self.history.ops()
        by_status = collections.Counter(op.status or "pending" for op in ops)
        by_f = collections.Counter((op.f, op.status or "pending") for op in ops)
        kinds = collections.Counter(kind for kind, _, _ in self.faults)
        lines = [f"faults run: {self.profile.servers} servers, seed {self.seed}, "
                 f"{self.duration:.1f}s, {len(ops)} ops ({self.client_ops} by clients, "
                 f"{self.effective_ops} of them ok or info): "
                 + ", ".join(f"{s} {by_status[s]}" for s in (OK, FAIL, INFO, "pending")),
                 "  per op: " + ", ".join(f"{f}/{s} {n}" for (f, s), n in sorted(by_f.items())),
                 "  top fail/info reasons: " + "; ".join(
                     f"{why} x{n}" for why, n in self.reasons.most_common(8)),
                 f"  faults applied ({len(self.faults)}): "
                 + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())),
                 f"  checker: {self.check_seconds:.2f}s, "
                 f"{'linearizable' if self.check_ok else 'NOT linearizable'}; "
                 f"lost writes: {len(self.lost)}; "
                 f"replicas: {'DIVERGED' if self.diverged else 'identical'}; "
                 f"crashes: {len(self.crashes)}"]
        lines += [f"  ANOMALY (not failing the run): {a}" for a in self.anomalies]
        return "\n".join(lines)


class FaultRun:
    """One run: start the cluster, clients + nemesis, full crash, final reads, checks."""

    def __init__(self, profile, seed, log):
        self.profile, self.seed, self.log = profile, seed, log
        self.rng = random.Random(seed)
        self.history = History()
        self.keys = [f"faults/k{i}" for i in range(profile.keys)]
        self.cluster = self.make_cluster(profile)
        self.stop = threading.Event()
        self.clients = []
        self.served = []  # appended by clients (list.append is atomic)
        self.nemesis = Nemesis(self.cluster, self.rng, log)

    def make_cluster(self, profile):
        """The cluster under test, not started (test_secure_faults.py: TLS and ACLs)."""
        return Cluster(profile.servers, name=f"faults{profile.servers}",
                       config={"leave_on_terminate": True},
                       log_level=os.environ.get("CAIRN_FAULTS_LOG_LEVEL", "info"))

    def run(self):
        """Returns a RunReport; raises AssertionError when the cluster does not recover."""
        started = time.monotonic()
        if DISK_FAULTS:
            for server in self.cluster.members:
                self.nemesis.disks[server.name] = Tmpfs(server.data_dir, "64m").mount()
        self.cluster.start()
        nemesis = self.nemesis
        self.start_clients()
        try:
            self.run_faults(nemesis, started)
            nemesis.note_crashes()
            nemesis.applied.append(("crash_all", nemesis.crash_all(), 0.0))
            nemesis.recover()
            self.log("nemesis: kill -9 every server, restart all")
            settle_from = len(self.history)
            wait_until(lambda: len(self.history) >= settle_from + 50, RECOVERY_TIMEOUT,
                       "clients to make progress after the full restart", 0.1)
        finally:
            self.stop_clients()
        client_ops = len(self.history)
        final = self.final_reads()
        diverged = self.compare_replicas()
        nemesis.note_crashes()
        report = RunReport(self.profile, self.seed, self.history, final, nemesis.applied,
                           time.monotonic() - started, client_ops=client_ops, diverged=diverged,
                           reasons=sum((c.reasons for c in self.clients), collections.Counter()),
                           crashes=list(nemesis.crashes), anomalies=list(nemesis.anomalies))
        self.check(report)
        return report

    def run_faults(self, nemesis, started):
        p = self.profile
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= p.max_duration:
                break
            if elapsed >= p.duration and effective_ops(self.history) >= p.min_ops:
                break
            nemesis.apply(nemesis.next_kind())
            self.raise_client_errors()
            nemesis.hold(0.5, 1.5)

    def start_clients(self):
        for process in range(self.profile.clients):
            client = Client(process, self.cluster, self.history, self.keys, self.stop,
                            self.rng.randrange(1 << 30), self.served)
            client.start()
            self.clients.append(client)

    def stop_clients(self):
        self.stop.set()
        for client in self.clients:
            client.join(CLIENT_TIMEOUT * 3)
        self.raise_client_errors()

    def raise_client_errors(self):
        for client in self.clients:
            if client.error is not None:
                raise AssertionError(f"{client.name} failed: {client.error!r}") from client.error

    def final_reads(self):
        """Reads every key with ?consistent on every member (recorded); returns key -> the
        values read (one per member)."""
        final = {}
        for key in self.keys:
            final[key] = []
            for server in self.cluster.members:
                final[key].append(self.final_read(server, key))
        return final

    def compare_replicas(self):
        """Once the clients stopped, every member's whole KV store and catalog (read with
        ?consistent, so each first applies all the leader committed) must be identical, indexes
        included. A member that applied some entry differently diverges here even when every
        read in the history happened to be right. Returns "" or how the states differ."""
        def attempt():
            states = {server.name: replica_state(server) for server in self.cluster.members}
            return states if len(set(states.values())) == 1 else None
        try:
            wait_until(attempt, RECOVERY_TIMEOUT, "identical replicas", 0.5)
            return ""
        except AssertionError:
            states = {server.name: replica_state(server) for server in self.cluster.members}
            return describe_divergence(states) if len(set(states.values())) > 1 else ""

    def final_read(self, server, key):
        process = f"final-{server.name}"

        def attempt():
            op = self.history.invoke(process, READ, key)
            try:
                r = server.get(kv_url(key, "consistent"), timeout=CLIENT_TIMEOUT)
            except (OSError, http.client.HTTPException):
                self.history.fail(op)
                return None
            if r.status in (200, 404):
                value = decode_value(r.json()[0]) if r.status == 200 else None
                self.history.ok(op, value)
                return (value,)
            self.history.fail(op)
            return None
        return wait_until(attempt, RECOVERY_TIMEOUT, f"a final read of {key} on {server.name}",
                          0.2)[0]

    def check(self, report):
        result = check(self.history)
        report.check_seconds = result.elapsed
        report.check_ok = result.ok
        report.check_report = result.report()
        report.lost = lost_writes(self.history.ops(), report.final)

    def keep_evidence(self, report):
        """Writes history.jsonl (and reads.jsonl: who answered each ok read) next to the logs
        and keeps the cluster dir; returns its path."""
        path = os.path.join(self.cluster.root, "history.jsonl")
        self.history.dump(path)
        with open(os.path.join(self.cluster.root, "reads.jsonl"), "w") as f:
            f.writelines(json.dumps(entry, sort_keys=True) + "\n" for entry in self.served)
        with open(os.path.join(self.cluster.root, "report.txt"), "w") as f:
            f.write(report.summary() + "\n\n" + report.problems() + "\n")
        self.cluster.keep = True
        return self.cluster.root

    def cleanup(self):
        self.stop.set()
        for disk in self.nemesis.disks.values():
            disk.unmount()  # lazily: the servers still have files open there
        self.cluster.cleanup()


def replica_state(server):
    """The member's KV entries and catalog nodes with their indexes, as canonical JSON text
    (an error text when it does not answer)."""
    state = {}
    for name, path in (("kv", "/v1/kv/?recurse&consistent"),
                       ("nodes", "/v1/catalog/nodes?consistent")):
        try:
            r = server.get(path, timeout=CLIENT_TIMEOUT)
        except (OSError, http.client.HTTPException) as e:
            return f"unreachable: {describe_error(e)}"
        if r.status not in (200, 404):
            return f"{path}: {describe_answer(r)}"
        rows = r.json() if r.status == 200 else []
        fields = ("Key", "Value", "Flags", "CreateIndex", "ModifyIndex") if name == "kv" else \
            ("Node", "Address", "CreateIndex", "ModifyIndex")
        state[name] = sorted([row.get(f) for f in fields] for row in rows)
    return json.dumps(state, sort_keys=True)


def describe_divergence(states):
    """Which members agree with which, and the first rows where two states differ."""
    groups = collections.defaultdict(list)
    for name, state in states.items():
        groups[state].append(name)
    parts = [f"{len(groups)} different states: " + " | ".join(
        ",".join(sorted(names)) for names in groups.values())]
    texts = list(groups)
    a, b = (json.loads(t) if t.startswith("{") else {"error": [t]} for t in texts[:2])
    for table in sorted(set(a) | set(b)):
        only_a = [row for row in a.get(table, []) if row not in b.get(table, [])]
        only_b = [row for row in b.get(table, []) if row not in a.get(table, [])]
        if only_a or only_b:
            parts.append(f"{table}: only in the first {only_a[:3]}, only in the second "
                         f"{only_b[:3]}")
    return "; ".join(parts)


def effective_ops(history):
    """Ops of `history` completed ok or info so far."""
    return sum(1 for op in history.ops() if op.status in (OK, INFO))


def lost_writes(ops, final):
    """Acknowledged writes that nothing can explain losing.

    For each key, the final value must be the same on every server. Each ok write / ok cas(True)
    whose value is not that final value must have been overwritten: some other mutation of the
    key that was not definitely refused (a write, a delete, a cas not answered false) must have
    completed after the write was invoked (or be indeterminate) -- otherwise the write was the
    last one and its value must be the final value. Returns a list of descriptions.
    """
    problems = []
    by_key = collections.defaultdict(list)
    for op in ops:
        if op.f in (WRITE, CAS, DELETE) and op.status in (OK, INFO, None) and \
                not (op.f == CAS and op.status == OK and op.result is False):
            by_key[op.key].append(op)
    for key, values in final.items():
        if len(set(values)) != 1:
            problems.append(f"{key}: servers disagree on the final value: {values}")
            continue
        value = values[0]
        for op in by_key.get(key, []):
            if op.status != OK or op.value == value:
                continue
            later = [m for m in by_key[key] if m is not op and
                     (m.status != OK or m.complete_ns > op.invoke_ns)]
            if not later:
                problems.append(f"{key}: acknowledged {op.describe()} is lost: the final value "
                                f"is {value!r} and no later mutation could overwrite it")
    return problems


# ---------------------------------------------------------------------------------------------

class FaultTests(unittest.TestCase):
    """One test per profile of the mode; each prints its run summary."""

    run_class = FaultRun  # test_secure_faults.py runs the same on a TLS + ACL cluster

    def run_profile(self, profile):
        seed = SEED + profile.servers
        log = lambda line: sys.stderr.write(f"[faults{profile.servers}] {line}\n")  # noqa: E731
        log(f"mode {MODE}, seed {seed} (CAIRN_FAULTS_SEED={SEED} reproduces the choices)")
        run = self.run_class(profile, seed, log)
        report = None
        try:
            report = run.run()
            log(report.summary())
            if not report.passed or os.environ.get("CAIRN_KEEP_TMP"):
                where = run.keep_evidence(report)
                log(f"evidence kept in {where}")
            if not report.passed:
                self.fail(f"FAULT TEST FAILURE (a server bug): evidence (history.jsonl, logs) "
                          f"kept in {where}\n{report.problems()}")
            self.assertGreaterEqual(report.effective_ops, profile.min_ops,
                                    "too few operations (machine too slow?)")
        except BaseException:
            if report is None:
                run.cluster.keep = True
                run.history.dump(os.path.join(run.cluster.root, "history.jsonl"))
                log(f"run aborted; history and logs kept in {run.cluster.root}; crashes: "
                    f"{run.nemesis.crashes}\n{run.cluster.logs(limit=4000)}")
            raise
        finally:
            run.cleanup()

    def test_three_servers(self):
        self.run_profile(PROFILES[MODE][0])

    def test_five_servers(self):
        self.run_profile(PROFILES[MODE][1])


if __name__ == "__main__":
    main()
