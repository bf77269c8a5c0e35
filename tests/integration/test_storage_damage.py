"""Damaged data directories (issue 17) are never served silently: a WAL truncated or bit-flipped
before its tail, a missing CURRENT (with the WAL), Raft state removed while the node ID stays, are
each refused at start with a message naming the damage (exit status 1, no abort); a flipped byte
in a KV SST fails the reads that meet it with a 500 and marks the agent unhealthy, and the agent
keeps serving everything else. Each case first checks that the undamaged data dir starts."""
import glob
import hashlib
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Agent, kv_url  # noqa: E402

KEYS = 200


def token(i):
    """A value that LZ4 leaves intact in an SST (nothing repeats), so the test can find it."""
    return hashlib.sha256(str(i).encode()).hexdigest()


def column_family(sst_bytes):
    """The column family an SST belongs to, from its properties block, where the key
    "rocksdb.column.family.name" follows "...family.id" with its first 22 bytes shared: the entry
    is <shared=22><unshared=4><value length>"name"<value>."""
    m = re.search(rb"\x16\x04(.)name", sst_bytes, re.DOTALL)
    if not m:
        return None
    start = m.end()
    return sst_bytes[start:start + m.group(1)[0]]


class DamageTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(name="damage")
        self.addCleanup(self.agent.cleanup)
        self.db = os.path.join(self.agent.data_dir, "db")

    def write_and_stop(self, hard=True):
        """Starts the agent, writes KEYS acknowledged keys, and stops it (kill -9 by default: the
        data stays in the WAL)."""
        self.agent.start()
        for i in range(KEYS):
            self.agent.kv_put(f"k/{i:04d}", token(i).encode())
        if hard:
            self.agent.kill()
        else:
            rc, _ = self.agent.stop()
            self.assertEqual(rc, 0)

    def newest_wal(self):
        wals = sorted(glob.glob(os.path.join(self.db, "*.log")))
        self.assertTrue(wals, os.listdir(self.db))
        return max(wals, key=os.path.getsize)

    def assertRefused(self, *phrases):
        with self.assertRaises(AssertionError):
            self.agent.start(timeout=30, new_ports_on_failure=False)
        logs = self.agent.logs()
        self.assertIsNotNone(self.agent.proc.returncode)
        self.assertGreater(self.agent.proc.returncode, 0, "killed by a signal:\n" + logs)
        self.assertNotIn("CHECK failed", logs)
        self.assertIn("data dir damaged", logs)
        for phrase in phrases:
            self.assertIn(phrase, logs)
        self.assertIn("docs/operations.md", logs)
        return logs

    def test_undamaged_restart_serves_everything(self):
        self.write_and_stop()
        self.agent.start()
        for i in (0, KEYS // 2, KEYS - 1):
            self.assertEqual(self.agent.kv_value(f"k/{i:04d}"), token(i).encode())

    def test_wal_truncated_to_half_is_refused(self):
        self.write_and_stop()
        wal = self.newest_wal()
        with open(wal, "r+b") as f:
            f.truncate(os.path.getsize(wal) // 2)
        self.assertRefused("entries up to index")

    def test_wal_with_a_flipped_byte_is_refused(self):
        self.write_and_stop()
        wal = self.newest_wal()
        with open(wal, "r+b") as f:
            f.seek(os.path.getsize(wal) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x40]))
        self.assertRefused("entries up to index")

    def test_missing_current_and_wal_is_refused(self):
        self.write_and_stop()
        os.remove(os.path.join(self.db, "CURRENT"))
        for wal in glob.glob(os.path.join(self.db, "*.log")):
            os.remove(wal)
        self.assertRefused("no CURRENT file")

    def test_raft_state_removed_with_identity_kept_is_refused(self):
        self.write_and_stop()
        shutil.rmtree(self.db)  # node-id stays
        self.assertTrue(os.path.exists(os.path.join(self.agent.data_dir, "node-id")))
        self.assertRefused("has a node ID")

    def test_wal_removed_is_refused(self):
        self.write_and_stop()  # kill -9: nothing flushed, the Raft state lives in the WAL only
        for wal in glob.glob(os.path.join(self.db, "*.log")):
            os.remove(wal)
        self.assertRefused()

    def test_flipped_byte_in_a_kv_sst_fails_reads_not_the_agent(self):
        self.write_and_stop(hard=False)  # SIGTERM flushes the memtables into SSTs
        victim = KEYS // 2
        needle = token(victim).encode()
        hits, seen = [], []
        for sst in glob.glob(os.path.join(self.db, "*.sst")):
            with open(sst, "rb") as f:
                data = f.read()
            at = data.find(needle)
            seen.append((os.path.basename(sst), column_family(data), at))
            if at >= 0 and column_family(data) == b"kv":  # not the Raft log's copy
                hits.append((sst, at))
        self.assertTrue(hits, f"the value was not found verbatim in a kv SST: {seen}")
        for sst, at in hits:
            with open(sst, "r+b") as f:
                f.seek(at + 3)
                byte = f.read(1)
                f.seek(-1, os.SEEK_CUR)
                f.write(bytes([byte[0] ^ 0x01]))
        self.agent.start()
        r = self.agent.get(kv_url(f"k/{victim:04d}"))
        self.assertEqual(r.status, 500, r)
        self.assertIn("corruption", r.text().lower(), r)
        self.assertTrue(self.agent.alive())
        r = self.agent.get(kv_url(f"k/{victim:04d}"))  # again: still an answer, not a crash
        self.assertEqual(r.status, 500, r)
        stats = self.agent.get("/v1/agent/self").json()["Stats"]["storage"]
        self.assertEqual(stats["corrupted"], "true", stats)
        self.assertEqual(stats["healthy"], "false", stats)
        self.assertIn("corrupt", stats["corruption"].lower())
        metrics = self.agent.get("/metrics").text()
        self.assertIn("cairn_storage_corrupted 1", metrics)
        r = self.agent.get("/v1/operator/autopilot/health")
        self.assertIs(r.json()["Healthy"], False, r.json())
        self.assertIn("corruption", self.agent.logs())
        # A write that must read the damaged entry fails too (the server stops applying, stays up).
        r = self.agent.put(kv_url(f"k/{victim:04d}", "cas=1"), b"new")
        self.assertGreaterEqual(r.status, 500, r)
        self.assertIn("corruption", r.text().lower(), r)
        self.assertTrue(self.agent.alive())
        # Everything that does not touch the damaged block is still served.
        self.assertEqual(self.agent.kv_value("k/0000"), token(0).encode())
        self.assertEqual(self.agent.get("/v1/catalog/nodes").status, 200)
        # Writes are refused from now on (this server stopped applying), with the reason.
        r = self.agent.put(kv_url("other"), b"1")
        self.assertGreaterEqual(r.status, 500, r)
        self.assertIn("corruption", r.text(), r)
        self.assertTrue(self.agent.alive())


if __name__ == "__main__":
    unittest.main()
