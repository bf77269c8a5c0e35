"""Acknowledged writes survive a graceful (SIGTERM) and a hard (kill -9) restart on the same
-data-dir, and indexes keep increasing across restarts (clients treat a lower index as a reset,
docs/consul-api.md §1.5)."""
import base64
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, kv_url, wait_until  # noqa: E402


class DurabilityTests(AgentTestCase):
    def k(self, name=""):
        return f"{self._testMethodName}/{name}" if name else self._testMethodName

    def state(self, prefix):
        r = self.agent.get(kv_url(prefix, "recurse"))
        if r.status == 404:
            return {}, r.index()
        self.assertStatus(r, 200)
        return {e["Key"]: e for e in r.json()}, r.index()

    def write_sample(self, base):
        """A mix of writes: values, flags, empty value, an overwrite, deletes, a txn."""
        for i in range(20):
            self.agent.kv_put(f"{base}/k{i:02d}", f"value-{i}".encode(), f"flags={i}")
        self.agent.kv_put(f"{base}/empty", b"")
        self.agent.kv_put(f"{base}/binary", bytes(range(256)))
        self.agent.kv_put(f"{base}/k00", b"overwritten")
        self.agent.delete(kv_url(f"{base}/k01"))
        self.agent.kv_put(f"{base}/tree/a", b"a")
        self.agent.kv_put(f"{base}/tree/b", b"b")
        self.agent.delete(kv_url(f"{base}/tree/", "recurse"))
        r = self.agent.put("/v1/txn", (
            '[{"KV":{"Verb":"set","Key":"%s/txn1","Value":"dHhu"}},'
            '{"KV":{"Verb":"set","Key":"%s/txn2","Value":null}}]' % (base, base)).encode())
        self.assertStatus(r, 200)

    def assertSurvives(self, hard):
        base = self.k()
        self.write_sample(base)
        before, _ = self.state(base + "/")
        max_before = max(e["ModifyIndex"] for e in before.values())
        self.assertNotIn(f"{base}/k01", before)
        self.assertNotIn(f"{base}/tree/a", before)
        self.assertEqual(len(before), 19 + 2 + 2)

        if hard:
            self.agent.restart(hard=True)
        else:
            rc, needed_kill = self.agent.stop()
            self.assertFalse(needed_kill, "the agent did not exit within 20 s of SIGTERM")
            self.assertEqual(rc, 0, "a SIGTERM shutdown should exit with status 0")
            self.agent.start()

        after, index_after = self.state(base + "/")
        self.assertEqual(after, before, "the store differs after the restart")
        self.assertGreaterEqual(index_after, max_before,
                                "X-Consul-Index must not go backwards across a restart")
        missing = self.agent.get(kv_url(f"{base}/k01"))
        self.assertStatus(missing, 404)
        self.assertGreaterEqual(missing.index(), max_before,
                                "the index of a deleted key must not go backwards")
        # New writes get higher indexes than anything before the restart.
        self.agent.kv_put(f"{base}/after", b"x")
        e = self.agent.kv_get(f"{base}/after")
        self.assertGreater(e["ModifyIndex"], max_before)
        self.agent.kv_put(f"{base}/k02", b"updated")
        e2 = self.agent.kv_get(f"{base}/k02")
        self.assertGreater(e2["ModifyIndex"], e["ModifyIndex"])
        self.assertEqual(e2["CreateIndex"], before[f"{base}/k02"]["CreateIndex"])
        # cas with a pre-restart index still works
        idx = before[f"{base}/k03"]["ModifyIndex"]
        self.assertIs(self.agent.put(kv_url(f"{base}/k03", f"cas={idx}"), b"cas").json(), True)

    def test_writes_survive_sigterm_restart(self):
        self.assertSurvives(hard=False)

    def test_writes_survive_kill_9_restart(self):
        self.assertSurvives(hard=True)

    def test_every_acknowledged_write_survives_kill_9_under_load(self):
        base = self.k()
        acked = {}        # key -> value of the last acknowledged write
        lock = threading.Lock()
        stop = threading.Event()
        errors = []
        count = [0]

        def writer(w):
            i = 0
            while not stop.is_set():
                key = f"{base}/w{w}/{i % 25}"
                value = f"{w}-{i}".encode()
                try:
                    r = harness.http_request(self.agent.http_port, "PUT", kv_url(key), value,
                                             timeout=30)
                except OSError:
                    return  # the agent was killed mid-request: unacknowledged
                if r.status == 200 and r.json() is True:
                    with lock:
                        acked[key] = value
                        count[0] += 1
                elif not stop.is_set():
                    errors.append(r)
                    return
                i += 1

        threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: (len(acked) == 100 and count[0] >= 1000) or errors, 120,
                   "1000 acknowledged writes to 100 keys")
        self.assertEqual(errors, [])
        self.agent.kill()   # kill -9 while writers are still running
        stop.set()
        for t in threads:
            t.join(60)
        with lock:
            expected = dict(acked)
        self.agent.start()
        after, _ = self.state(base + "/")
        lost = {k: v for k, v in expected.items()
                if k not in after or base64.b64decode(after[k]["Value"] or "") != v}
        # A write acknowledged to one writer is the newest value of its key only if no later
        # write to the same key was in flight; each writer owns its keys, and a writer's
        # in-flight write (unacknowledged) may or may not have landed.
        really_lost = {}
        for k, v in lost.items():
            got = base64.b64decode(after[k]["Value"] or "") if k in after else None
            if got is None or not _is_later_or_same(got, v):
                really_lost[k] = (v, got)
        self.assertEqual(really_lost, {}, "acknowledged writes lost by kill -9 "
                                          "(key: (acknowledged, found))")


def _is_later_or_same(found, acked):
    """Values are b"<writer>-<seq>"; a later (unacknowledged) write of the same writer may have
    replaced the acknowledged one."""
    try:
        fw, fs = found.decode().split("-")
        aw, as_ = acked.decode().split("-")
    except ValueError:
        return False
    return fw == aw and int(fs) >= int(as_)


if __name__ == "__main__":
    harness.main()
