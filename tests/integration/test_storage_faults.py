"""Full disks (issue 17): the data dir on a small tmpfs mounted by the test, filled while the agent
runs and at start-up. The agent stays up, refuses writes with "disk full" (5xx), keeps serving
reads, reports the fault (agent/self, autopilot, metrics, log) and resumes by itself when space
returns; nothing acknowledged is lost. A 3-server cluster keeps working with one full follower,
which catches up afterwards. Needs root to mount (skipped with the reason otherwise)."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import Cluster, ClusterTestCase  # noqa: E402
from disk import Tmpfs  # noqa: E402
from harness import Agent, AgentDied, kv_url, wait_until  # noqa: E402

BIG = b"x" * (64 * 1024)  # each write needs fresh pages, whatever slack the WAL's last one has


def storage_stats(server):
    r = server.get("/v1/agent/self")
    assert r.status == 200, r
    return r.json()["Stats"]["storage"]


def metric(server, name):
    r = server.get("/metrics")
    assert r.status == 200, r
    for line in r.text().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"metric {name} not found")


class SingleAgentFullDiskTest(unittest.TestCase):
    def setUp(self):
        self.disk = Tmpfs.fresh("16m").mount()
        self.addCleanup(self.disk.unmount)
        self.agent = Agent(data_dir=os.path.join(self.disk.path, "data"), name="full")
        self.addCleanup(self.agent.cleanup)

    def fill_until_a_write_fails(self, acknowledged):
        """Fills the disk, then writes until one fails; returns that response."""
        self.disk.fill()
        for i in range(64):
            key = f"during/{i}"
            r = self.agent.put(kv_url(key), BIG, timeout=30)
            if r.status != 200:
                return r
            acknowledged[key] = BIG
        self.fail("64 writes of 64 KiB succeeded on a full 16 MiB disk")

    def test_stays_up_refuses_writes_serves_reads_and_resumes(self):
        self.agent.start()
        acknowledged = {f"before/{i}": f"v{i}".encode() for i in range(20)}
        for key, value in acknowledged.items():
            self.agent.kv_put(key, value)

        r = self.fill_until_a_write_fails(acknowledged)
        self.assertGreaterEqual(r.status, 500, r)
        self.assertIn("disk full", r.text(), r)
        # Later writes are refused at once, before they reach the log.
        for _ in range(3):
            started = time.monotonic()
            r = self.agent.put(kv_url("refused"), b"1")
            self.assertLess(time.monotonic() - started, 2.0, "a refused write should fail fast")
            self.assertGreaterEqual(r.status, 500, r)
            self.assertIn("disk full", r.text(), r)
            self.assertIn("refused, not applied", r.text(), r)
        r = self.agent.put("/v1/txn", b'[{"KV":{"Verb":"set","Key":"txn","Value":"eA=="}}]')
        self.assertGreaterEqual(r.status, 500, r)
        self.assertTrue(self.agent.alive())

        # Reads keep working, in every mode.
        for query in ("", "consistent", "stale"):
            r = self.agent.get(kv_url("before/3", query))
            self.assertEqual(r.status, 200, (query, r))
        self.assertEqual(self.agent.kv_value("before/7"), b"v7")

        # Reported everywhere.
        stats = storage_stats(self.agent)
        self.assertEqual(stats["disk_full"], "true", stats)
        self.assertEqual(stats["healthy"], "false", stats)
        self.assertIn("No space left", stats["write_error"], stats)
        self.assertEqual(metric(self.agent, "cairn_storage_disk_full"), 1)
        r = self.agent.get("/v1/operator/autopilot/health")
        self.assertEqual(r.status, 429, r)  # 429 when not every server is healthy
        self.assertIs(r.json()["Healthy"], False, r.json())
        self.assertIn("disk full", self.agent.logs())

        # Space returns: writes resume without a restart.
        self.disk.free()
        wait_until(lambda: self.agent.put(kv_url("after"), b"1").status == 200, 30,
                   "writes to resume after the space came back")
        self.assertEqual(storage_stats(self.agent)["disk_full"], "false")
        self.assertEqual(metric(self.agent, "cairn_storage_disk_full"), 0)
        wait_until(lambda: self.agent.get("/v1/operator/autopilot/health").json()["Healthy"], 10,
                   "autopilot to report the agent healthy again")
        self.assertIsNone(self.agent.kv_get("refused"))
        for key, value in acknowledged.items():
            self.assertEqual(self.agent.kv_value(key), value, key)

    def test_start_on_a_full_disk_says_so_and_loses_nothing(self):
        self.agent.start()
        acknowledged = {f"k/{i}": f"v{i}".encode() for i in range(20)}
        for key, value in acknowledged.items():
            self.agent.kv_put(key, value)
        rc, needed_kill = self.agent.stop()
        self.assertEqual(rc, 0)
        self.disk.fill()
        try:
            self.agent.start(timeout=20, new_ports_on_failure=False)
        except AssertionError:
            # Could not start at all: one clear line naming the disk, a non-zero exit, and no
            # abort (no RocksDB assertion, no CHECK).
            logs = self.agent.logs()
            self.assertIn("disk full", logs)
            self.assertNotEqual(self.agent.proc.returncode, 0)
            self.assertGreater(self.agent.proc.returncode, 0, "killed by a signal (abort?)")
            self.assertNotIn("Assertion", logs)
            self.assertNotIn("CHECK failed", logs)
        else:
            # Started (nothing to write yet): it must say so as soon as it has to write.
            r = self.agent.put(kv_url("k/new"), BIG)
            self.assertGreaterEqual(r.status, 500, r)
            self.assertIn("disk full", r.text())
            self.assertEqual(self.agent.kv_value("k/3"), b"v3")
            self.agent.stop()
        self.disk.free()
        self.agent.start()
        for key, value in acknowledged.items():
            self.assertEqual(self.agent.kv_value(key), value, key)


class ClusterFullFollowerTest(ClusterTestCase):
    start_cluster = False

    def setUp(self):
        super().setUp()
        self.disks = {}
        for server in self.cluster.members:
            disk = Tmpfs(server.data_dir, "16m").mount()
            self.addCleanup(disk.unmount)
            self.disks[server.name] = disk
        self.cluster.start()

    def healthy_in_autopilot(self, leader, server):
        r = leader.get("/v1/operator/autopilot/health")
        if r.status not in (200, 429):  # 429: not every server healthy
            return None
        for s in r.json()["Servers"]:
            if s["Name"] == server.name:
                return s["Healthy"]
        return None

    def test_full_follower_stops_acknowledging_and_catches_up(self):
        c = self.cluster
        leader = c.leader()
        follower = c.followers(leader)[0]
        self.assertIs(leader.kv_put("a", "1"), True)
        wait_until(lambda: follower.kv_get("a", "stale")[0] == "1", 10, "the follower to apply a")

        self.disks[follower.name].fill()
        for i in range(40):  # the two others are a majority: every write succeeds
            self.assertIs(leader.kv_put(f"b/{i}", BIG, timeout=30), True)
        wait_until(lambda: storage_stats(follower)["disk_full"] == "true", 20,
                   "the follower to report its full disk")
        wait_until(lambda: self.healthy_in_autopilot(leader, follower) is False, 20,
                   "autopilot to report the full follower unhealthy")
        self.assertTrue(follower.alive())
        r = follower.put(kv_url("x"), b"1")
        self.assertGreaterEqual(r.status, 500, r)
        self.assertIn("disk full", r.text(), r)
        self.assertEqual(follower.kv_get("a", "stale")[0], "1")  # stale reads still work
        self.assertEqual(metric(follower, "cairn_storage_disk_full"), 1)

        self.disks[follower.name].free()
        wait_until(lambda: follower.kv_get("b/39", "stale")[0] is not None, 30,
                   "the follower to catch up once space returned")
        wait_until(lambda: self.healthy_in_autopilot(leader, follower) is True, 30,
                   "autopilot to report the follower healthy again")
        self.assertEqual(storage_stats(follower)["disk_full"], "false")
        self.assertIs(follower.kv_put("after", "1"), True)
        self.assertIsNone(leader.kv_get("x")[0])
        self.assertEqual(c.crashed(), [])


if __name__ == "__main__":
    unittest.main()
