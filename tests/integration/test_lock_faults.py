"""Leader-election fault test: contenders running `cairn lock` and contenders following the
session + acquire recipe of docs/sessions.md (lock_recipe.py) compete for one lock on a 3-server
cluster while a nemesis kills (-9) and freezes (SIGSTOP) holders, waiting contenders and servers,
and cuts a holder's server off from the others.

Every leader appends "<holder> <token> <monotonic time>" to one shared file every 50 ms while it
believes it leads (a `cairn lock` child until it is ended; a recipe contender only while its hold
deadline lasts). Afterwards the leadership intervals are checked:
  * no two holders' intervals overlap at all (the bound docs/sessions.md derives is 0: the old
    holder's child is dead before the lock delay lets anyone else in), where a recipe write that
    arrives after a newer fencing token was written is refused, as a fenced resource
    would refuse it, and counted (the token is the lock key's ModifyIndex at the acquire);
  * after each loss a new leader took over within 2 x TTL + lock delay + an acquire retry + the
    new child's start-up: 75 s.

Modes (CAIRN_LOCK_FAULTS_MODE): short (default, CI: 3 contenders, one fault of each main kind in
~3 min) and long (5 contenders, random faults for CAIRN_LOCK_FAULTS_SECONDS, default 600).
CAIRN_LOCK_FAULTS_SEED fixes the random choices. Run with /usr/bin/python3.
"""
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClusterTestCase, wait_until  # noqa: E402
from harness import binary, main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODE = os.environ.get("CAIRN_LOCK_FAULTS_MODE", "short")
SEED = int(os.environ.get("CAIRN_LOCK_FAULTS_SEED", str(random.randrange(1 << 30))))
LONG_SECONDS = float(os.environ.get("CAIRN_LOCK_FAULTS_SECONDS", "600"))
PREFIX = "svc/election"
# A holder killed without releasing keeps its session until 2 x TTL (30 s) after its last renew;
# then the lock delay (15 s), one acquire retry (5 s) and the new child's start-up.
TAKEOVER_BOUND = 75.0
# A `cairn lock` child: ticks until it is ended.
CHILD = ("import sys, time\n"
         "out = open(sys.argv[2], 'a', buffering=1)\n"
         "while True:\n"
         "    out.write(f'{sys.argv[1]} - {time.monotonic():.6f}\\n')\n"
         "    time.sleep(0.05)\n")


class Slot(threading.Thread):
    """One contender seat: runs a contender process, and a new one whenever it exits."""

    def __init__(self, kind, number, server, ticks, logdir):
        super().__init__(daemon=True)
        self.kind, self.number, self.server = kind, number, server
        self.ticks, self.logdir = ticks, logdir
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.proc = None
        self.holder = None
        self.incarnation = 0

    def command(self, holder):
        addr = f"{self.server.ip}:{self.server.http_port}"
        if self.kind == "lock":
            return [binary(), "lock", "-http-addr", addr, "-shell=false", PREFIX,
                    sys.executable, "-c", CHILD, holder, self.ticks]
        return [sys.executable, os.path.join(HERE, "lock_recipe.py"), addr, PREFIX + "/.lock",
                holder, self.ticks]

    def run(self):
        while not self.stop.is_set():
            self.incarnation += 1
            holder = f"{self.kind[0]}{self.number}.{self.incarnation}"
            log = open(os.path.join(self.logdir, f"{holder}.log"), "wb")
            with self.lock:
                if self.stop.is_set():
                    break
                self.holder = holder
                self.proc = subprocess.Popen(self.command(holder), stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT)
            self.proc.wait()
            log.close()
            self.stop.wait(0.5)

    def signal(self, sig):
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(sig)

    def finish(self):
        self.stop.set()
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        self.join(30)


def read_ticks(path):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    ticks = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            ticks.append((parts[0], parts[1], float(parts[2])))
    return ticks


def analyse(ticks):
    """Leadership intervals from the ticks (file order), fencing stale recipe writes."""
    highest_token, fenced, spans = -1, 0, {}
    for holder, token, t in ticks:
        if token != "-":
            if int(token) < highest_token:
                fenced += 1
                continue
            highest_token = int(token)
        start, end = spans.get(holder, (t, t))
        spans[holder] = (min(start, t), max(end, t))
    intervals = sorted((start, end, holder) for holder, (start, end) in spans.items())
    worst_overlap, slowest_takeover, overlaps = None, 0.0, []
    reach_end, reach_holder = None, None
    for start, end, holder in intervals:
        if reach_end is not None:
            overlap = reach_end - start  # > 0: two leaders at once; < 0: a gap
            if overlap > 0:
                overlaps.append((reach_holder, holder, overlap))
            worst_overlap = overlap if worst_overlap is None else max(worst_overlap, overlap)
            slowest_takeover = max(slowest_takeover, -overlap)
        if reach_end is None or end > reach_end:
            reach_end, reach_holder = end, holder
    return {"intervals": intervals, "fenced": fenced, "overlaps": overlaps,
            "worst_overlap": worst_overlap, "slowest_takeover": slowest_takeover}


class Nemesis:
    def __init__(self, test, slots, rng):
        self.test, self.cluster, self.slots, self.rng = test, test.cluster, slots, rng
        self.log = []
        self.faults = 0

    def note(self, what):
        self.log.append(what)
        print(f"[nemesis {time.strftime('%H:%M:%S')}] {what}", flush=True)

    def current_holder(self):
        """The slot whose contender is leading now (it ticked within the last second)."""
        ticks = read_ticks(self.test.ticks)
        if not ticks or time.monotonic() - ticks[-1][2] > 1.0:
            return None
        return next((s for s in self.slots if s.holder == ticks[-1][0]), None)

    def holder_slot(self):
        return wait_until(self.current_holder, TAKEOVER_BOUND + 30, "a current leader")

    def wait_for_leader_after(self, after, not_holder=None):
        """Waits until a holder other than `not_holder` ticks after `after` (monotonic)."""
        def ticked():
            return any(t > after and h != not_holder for h, _, t in read_ticks(self.test.ticks))
        wait_until(ticked, TAKEOVER_BOUND + 30, "a leader after the fault")

    def hold(self, low, high):
        time.sleep(self.rng.uniform(low, high))

    def kill_holder(self):
        slot = self.holder_slot()
        holder = slot.holder
        self.note(f"kill -9 holder {holder} ({slot.kind})")
        slot.signal(signal.SIGKILL)
        return holder  # a new leader must be someone else

    def pause_holder(self):
        slot = self.holder_slot()
        self.note(f"SIGSTOP holder {slot.holder} ({slot.kind})")
        slot.signal(signal.SIGSTOP)
        self.hold(20, 35)
        slot.signal(signal.SIGCONT)
        self.note(f"SIGCONT {slot.holder}")

    def kill_contender(self):
        holder = self.holder_slot()
        slot = self.rng.choice([s for s in self.slots if s is not holder])
        self.note(f"kill -9 waiting contender {slot.holder}")
        slot.signal(signal.SIGKILL)

    def pause_contender(self):
        holder = self.holder_slot()
        slot = self.rng.choice([s for s in self.slots if s is not holder])
        self.note(f"SIGSTOP waiting contender {slot.holder}")
        slot.signal(signal.SIGSTOP)
        self.hold(10, 25)
        slot.signal(signal.SIGCONT)

    def kill_holder_server(self):
        server = self.holder_slot().server
        self.note(f"kill -9 server {server.name} (the holder's)")
        server.kill()
        self.hold(5, 15)
        self.cluster.restart(server)
        self.note(f"restarted {server.name}")

    def pause_holder_server(self):
        server = self.holder_slot().server
        self.note(f"SIGSTOP server {server.name} (the holder's)")
        server.pause()
        self.hold(15, 25)
        server.resume()
        self.note(f"SIGCONT {server.name}")

    def isolate_holder_server(self):
        server = self.holder_slot().server
        self.note(f"isolate server {server.name} (the holder's)")
        self.cluster.isolate(server)
        self.hold(20, 30)
        self.cluster.heal()
        self.note("healed")

    KINDS = ["kill_holder", "pause_holder", "kill_contender", "pause_contender",
             "kill_holder_server", "pause_holder_server", "isolate_holder_server"]

    def apply(self, kind):
        """One fault, then waits for a leader (someone ticking after the fault ended)."""
        self.faults += 1
        excluded = getattr(self, kind)()
        self.wait_for_leader_after(time.monotonic(), excluded)
        self.cluster.wait_for_leader()
        self.hold(2, 5)


class LeaderElectionUnderFaults(ClusterTestCase):
    def _keep_evidence_on_failure(self):
        if self._has_failed():
            self.cluster.keep = True
            print(f"evidence (ticks.log, contenders/) kept in {self.cluster.root}", flush=True)

    def test_no_two_leaders(self):
        rng = random.Random(SEED)
        print(f"\nlock faults: mode={MODE} seed={SEED}", flush=True)
        self.ticks = os.path.join(self.cluster.root, "ticks.log")
        logdir = os.path.join(self.cluster.root, "contenders")
        os.makedirs(logdir)
        kinds = ["lock", "recipe", "lock"] if MODE == "short" else \
            ["lock", "recipe", "lock", "recipe", "lock"]
        servers = self.cluster.members
        slots = [Slot(kind, i, servers[i % len(servers)], self.ticks, logdir)
                 for i, kind in enumerate(kinds)]
        for slot in slots:
            slot.start()
        self.addCleanup(lambda: [slot.finish() for slot in slots])
        nemesis = Nemesis(self, slots, rng)
        wait_until(lambda: read_ticks(self.ticks), 90, "a first leader")
        started = time.monotonic()
        self.addCleanup(self._keep_evidence_on_failure)
        try:
            if MODE == "short":
                for kind in ["pause_holder", "isolate_holder_server", "kill_holder",
                             "pause_holder_server"]:
                    nemesis.apply(kind)
            else:
                while time.monotonic() - started < LONG_SECONDS:
                    nemesis.apply(rng.choice(Nemesis.KINDS))
        finally:
            for slot in slots:
                slot.finish()
        result = analyse(read_ticks(self.ticks))
        intervals = result["intervals"]
        print(f"lock faults: {nemesis.faults} faults, {len(intervals)} leadership intervals "
              f"({len(intervals) - 1} changes) in {time.monotonic() - started:.0f} s; worst "
              f"overlap {result['worst_overlap']:.3f} s (negative: the smallest gap between "
              f"leaders); slowest takeover {result['slowest_takeover']:.1f} s; "
              f"{result['fenced']} fenced stale writes", flush=True)
        try:
            self.assertEqual(result["overlaps"], [], "two leaders at once")
            self.assertLessEqual(result["slowest_takeover"], TAKEOVER_BOUND)
            self.assertGreaterEqual(len(intervals), 2, "the leadership never changed hands")
        except AssertionError:
            self.cluster.keep = True
            print(f"evidence (ticks.log, contenders/) kept in {self.cluster.root}", flush=True)
            raise


if __name__ == "__main__":
    main()
