"""Failover time: kill -9 the leader under a steady write load and measure the time until the
first acknowledged write that was sent after the kill (through a surviving server).

    python3 failover.py [-n 10] [--servers 3] [--writers 4]

Prints each sample and the median / p90 / max. A measurement tool, not a test: nothing here
asserts timing. Uses CAIRN_BIN like the tests (cluster.py).
"""
import argparse
import http.client
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import Cluster, kv_url, wait_until  # noqa: E402

WRITE_TIMEOUT = 10.0
FAILOVER_TIMEOUT = 60.0


class Writers:
    """Threads writing continuously through `servers` (round robin per writer), recording the
    (sent, acknowledged) monotonic times of every acknowledged write."""

    def __init__(self, servers, count):
        self.servers = servers
        self.acks = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(count)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(WRITE_TIMEOUT * 2)
        return False

    def _run(self, index):
        n = 0
        while not self._stop.is_set():
            server = self.servers[(index + n) % len(self.servers)]
            n += 1
            sent = time.monotonic()
            try:
                r = server.put(kv_url(f"failover/w{index}"), f"{index}-{n}",
                               timeout=WRITE_TIMEOUT)
                acked = r.status == 200 and r.body.strip() == b"true"
            except (OSError, http.client.HTTPException):
                acked = False
            if acked:
                with self._lock:
                    self.acks.append((sent, time.monotonic()))
            else:
                self._stop.wait(0.01)  # pacing after an error, not synchronisation

    def first_ack_sent_after(self, t):
        """The acknowledgement time of the first write sent at or after `t`, or None."""
        with self._lock:
            times = [acked for sent, acked in self.acks if sent >= t]
        return min(times) if times else None

    def count(self):
        with self._lock:
            return len(self.acks)


def measure_once(cluster, writers=4):
    """One sample: seconds from kill -9 of the leader to the first acknowledged write sent after
    it. Restarts the killed server and waits until the cluster is whole again."""
    leader = cluster.wait_for_leader()
    cluster.wait_configuration(cluster.members)
    survivors = [s for s in cluster.members if s is not leader]
    with Writers(survivors, writers) as w:
        before = w.count()
        wait_until(lambda: w.count() >= before + 20, 30, "writes to flow before the kill")
        killed_at = time.monotonic()
        leader.kill()
        acked = wait_until(lambda: w.first_ack_sent_after(killed_at), FAILOVER_TIMEOUT,
                           "a write acknowledged after the leader was killed", 0.005)
    cluster.restart(leader)
    cluster.wait_for_leader()
    cluster.wait_configuration(cluster.members)
    return acked - killed_at


def measure(samples=10, servers=3, writers=4, log=print):
    """Runs `samples` measurements on a fresh cluster; returns the list of seconds."""
    cluster = Cluster(servers, name="failover")
    try:
        cluster.start()
        results = []
        for i in range(samples):
            seconds = measure_once(cluster, writers)
            results.append(seconds)
            log(f"sample {i + 1}/{samples}: {seconds * 1000:.0f} ms")
        return results
    finally:
        cluster.cleanup()


def percentile(values, fraction):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values):
    return (f"failover over {len(values)} kills: median {statistics.median(values) * 1000:.0f} "
            f"ms, p90 {percentile(values, 0.9) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--samples", type=int, default=10)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args(argv)
    values = measure(args.samples, args.servers, args.writers)
    print(summary(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
