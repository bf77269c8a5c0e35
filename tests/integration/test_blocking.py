"""Blocking queries on /v1/kv (docs/consul-api.md §1.5).

Timing bounds are deliberately loose: the machine is shared and the agent is a debug build.
A blocking GET with ?index=N returns when the watched data's index exceeds N, or after ?wait
(plus at most wait/16 jitter) with the same index.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase, BackgroundRequest, Timer, kv_url, wait_until  # noqa: E402

SHORT_WAIT = "2s"
MIN_ELAPSED = 1.5   # a 2 s wait must not return much earlier...
MAX_ELAPSED = 10.0  # ...nor hang (loose: shared machine)
WAKE_BOUND = 10.0   # a write must wake a 30 s watch well before its timeout


class BlockingTestCase(AgentTestCase):
    def k(self, name=""):
        return f"{self._testMethodName}/{name}" if name else self._testMethodName

    def watch(self, path, index, wait="30s", extra=""):
        sep = "&" if "?" in path else "?"
        req = BackgroundRequest(self.agent.http_port, "GET",
                                f"{path}{sep}index={index}&wait={wait}{extra}").start()
        self.assertTrue(req.sent.wait(30), "the watch request could not be sent")
        return req

    def assertStillWaiting(self, req):
        # One synchronous round trip after the watch was sent; nothing it watches has changed,
        # so it must still be parked (spurious wake-ups may re-run the query, never answer).
        self.assertStatus(self.agent.get("/v1/status/leader"), 200)
        self.assertFalse(req.done.is_set(),
                         f"the watch returned although nothing changed: {req.result!r}")


class BlockingKvTests(BlockingTestCase):

    def test_wait_times_out_with_same_index(self):
        key = self.k("a")
        self.agent.kv_put(key, b"v")
        first = self.agent.get(kv_url(key))
        idx = first.index()
        for wait in (SHORT_WAIT, "2000ms", "2.0s"):
            with Timer() as t:
                r = self.agent.get(kv_url(key, f"index={idx}&wait={wait}"))
            self.assertStatus(r, 200, wait)
            self.assertGreaterEqual(t.elapsed, MIN_ELAPSED, f"wait={wait} returned too early")
            self.assertLess(t.elapsed, MAX_ELAPSED, f"wait={wait}")
            self.assertEqual(r.index(), idx, "no change -> same index")
            self.assertEqual(r.json(), first.json())
            self.assertConsulReadHeaders(r)

    def test_stale_blocking_query(self):
        key = self.k("s")
        self.agent.kv_put(key, b"v")
        idx = self.agent.get(kv_url(key)).index()
        with Timer() as t:
            r = self.agent.get(kv_url(key, f"index={idx}&wait={SHORT_WAIT}&stale="))
        self.assertStatus(r, 200)
        self.assertGreaterEqual(t.elapsed, MIN_ELAPSED)
        self.assertEqual(r.index(), idx)
        self.assertConsulReadHeaders(r, "stale")

    def test_write_wakes_watch(self):
        key = self.k("a")
        self.agent.kv_put(key, b"v1")
        idx = self.agent.get(kv_url(key)).index()
        w = self.watch(kv_url(key), idx)
        self.assertStillWaiting(w)
        with Timer() as t:
            self.agent.kv_put(key, b"v2")
            r = w.wait(WAKE_BOUND + 5)
        self.assertLess(t.elapsed, WAKE_BOUND, "the write did not wake the watch promptly")
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)
        self.assertEqual(r.index(), r.json()[0]["ModifyIndex"])
        self.assertEqual(r.json()[0]["Value"], harness.b64("v2"))

    def test_delete_wakes_watch(self):
        key = self.k("a")
        self.agent.kv_put(key, b"v1")
        idx = self.agent.get(kv_url(key)).index()
        w = self.watch(kv_url(key), idx)
        self.assertStillWaiting(w)
        self.agent.delete(kv_url(key))
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 404)
        self.assertGreater(r.index(), idx, "a delete must raise the index of the watched key")

    def test_create_wakes_watch_on_missing_key(self):
        key = self.k("later")
        self.agent.kv_put(self.k("other"), b"x")
        miss = self.agent.get(kv_url(key))
        self.assertStatus(miss, 404)
        idx = miss.index()
        w = self.watch(kv_url(key), idx)
        self.agent.kv_put(key, b"born")
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)
        self.assertEqual(r.json()[0]["Value"], harness.b64("born"))

    def test_other_key_does_not_wake_single_key_watch(self):
        key, other = self.k("watched"), self.k("other")
        self.agent.kv_put(key, b"v")
        self.agent.kv_put(other, b"0")
        first = self.agent.get(kv_url(key))
        idx = first.index()
        w = self.watch(kv_url(key), idx, wait=SHORT_WAIT)
        for i in range(5):
            self.agent.kv_put(other, str(i + 1).encode())
        r = w.wait(MAX_ELAPSED + 5)
        self.assertGreaterEqual(w.elapsed, MIN_ELAPSED,
                                f"a write to another key woke the watch: {r!r}")
        self.assertLess(w.elapsed, MAX_ELAPSED)
        self.assertStatus(r, 200)
        self.assertEqual(r.index(), idx)
        self.assertEqual(r.json(), first.json())

    def test_noop_write_does_not_wake_watch(self):
        # A write with the same value and flags keeps ModifyIndex (docs/consul-api.md §2), so the
        # watch keeps waiting and times out with the same index.
        key = self.k("same")
        self.agent.kv_put(key, b"v", "flags=1")
        idx = self.agent.get(kv_url(key)).index()
        w = self.watch(kv_url(key), idx, wait=SHORT_WAIT)
        self.agent.kv_put(key, b"v", "flags=1")
        r = w.wait(MAX_ELAPSED + 5)
        self.assertGreaterEqual(w.elapsed, MIN_ELAPSED, f"a no-op write woke the watch: {r!r}")
        self.assertEqual(r.index(), idx)

    def test_recurse_watch_wakes_on_prefix_writes_and_deletes_only(self):
        p, q = self.k("p/"), self.k("q/")
        self.agent.kv_put(p + "a", b"1")
        self.agent.kv_put(q + "x", b"1")
        idx = self.agent.get(kv_url(p, "recurse")).index()

        # A write under q/ leaves the p/ watch parked; a write under p/ wakes it.
        w = self.watch(kv_url(p, "recurse"), idx)
        self.agent.kv_put(q + "x", b"2")
        self.assertStillWaiting(w)
        self.agent.kv_put(p + "b", b"1")
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)
        self.assertEqual([e["Key"] for e in r.json()], [p + "a", p + "b"])
        idx = r.index()

        # A delete under p/ wakes it.
        w = self.watch(kv_url(p, "recurse"), idx)
        self.assertStillWaiting(w)
        self.agent.delete(kv_url(p + "a"))
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)
        self.assertEqual([e["Key"] for e in r.json()], [p + "b"])
        idx = r.index()

        # Writes and deletes under q/ do not: the watch times out with the same index.
        w = self.watch(kv_url(p, "recurse"), idx, wait=SHORT_WAIT)
        self.agent.kv_put(q + "y", b"1")
        self.agent.delete(kv_url(q + "x"))
        r = w.wait(MAX_ELAPSED + 5)
        self.assertGreaterEqual(w.elapsed, MIN_ELAPSED, f"a q/ write woke the p/ watch: {r!r}")
        self.assertEqual(r.index(), idx)

        # Deleting the last key under p/ wakes it with a 404 and a higher index.
        w = self.watch(kv_url(p, "recurse"), idx)
        self.agent.delete(kv_url(p, "recurse"))
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 404)
        self.assertGreater(r.index(), idx)

    def test_keys_watch_wakes_on_new_key(self):
        p = self.k("k/")
        self.agent.kv_put(p + "a", b"1")
        r = self.agent.get(kv_url(p, "keys"))
        idx = r.index()
        w = self.watch(kv_url(p, "keys"), idx)
        self.assertStillWaiting(w)
        self.agent.kv_put(p + "b", b"1")
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)
        self.assertEqual(r.json(), [p + "a", p + "b"])

    def test_index_greater_than_current_blocks_until_wait(self):
        key = self.k("a")
        self.agent.kv_put(key, b"v")
        idx = self.agent.get(kv_url(key)).index()
        with Timer() as t:
            r = self.agent.get(kv_url(key, f"index={idx + 1000}&wait={SHORT_WAIT}"))
        self.assertStatus(r, 200)
        self.assertGreaterEqual(t.elapsed, MIN_ELAPSED)
        self.assertLess(t.elapsed, MAX_ELAPSED)
        self.assertEqual(r.index(), idx, "the answer carries the current index")

    def test_many_waiters_do_not_block_other_requests_and_all_wake(self):
        n = 200
        hot = self.k("hot")
        self.agent.kv_put(hot, b"0")
        self.agent.kv_put(self.k("cold"), b"c")
        idx = self.agent.get(kv_url(hot)).index()
        waiters = [BackgroundRequest(self.agent.http_port, "GET",
                                     kv_url(hot, f"index={idx}&wait=60s"), timeout=120)
                   for _ in range(n)]
        for w in waiters:
            w.start()
        wait_until(lambda: all(w.sent.is_set() for w in waiters), 60, "all waiters sent")
        self.assertEqual([w for w in waiters if w.done.is_set() and w.error], [],
                         "some waiters failed")
        self.assertFalse(any(w.done.is_set() for w in waiters),
                         "a waiter returned although nothing changed")
        # Unrelated requests are served while the waiters are parked.
        for _ in range(3):
            with Timer() as t:
                r = self.agent.get(kv_url(self.k("cold")))
            self.assertStatus(r, 200)
            self.assertLess(t.elapsed, 3.0, "a GET was slowed down by parked waiters")
        with Timer() as t:
            self.agent.kv_put(self.k("cold"), b"c2")
        self.assertLess(t.elapsed, 3.0, "a PUT was slowed down by parked waiters")
        self.assertFalse(any(w.done.is_set() for w in waiters),
                         "a write to another key woke the waiters")
        # One write wakes them all.
        self.agent.kv_put(hot, b"1")
        deadline = 30
        for w in waiters:
            r = w.wait(deadline)
            self.assertStatus(r, 200)
            self.assertGreater(r.index(), idx)
            self.assertEqual(r.json()[0]["Value"], harness.b64("1"))


class FreshStoreBlockingTests(BlockingTestCase):
    """The very first write to a fresh store must wake a watch taken from the first 404.

    (In Consul the Raft index of the first KV write is always above the index reported for
    the empty store; an implementation that reports 1 for "empty" and also gives the first
    write index 1 loses that write for every watcher.)
    """

    def test_first_write_wakes_watch_on_missing_key(self):
        key = "first"
        miss = self.agent.get(kv_url(key))
        self.assertStatus(miss, 404)
        idx = miss.index()
        self.assertGreater(idx, 0, "X-Consul-Index is never 0")
        w = self.watch(kv_url(key), idx)
        self.agent.kv_put(key, b"v")
        created = self.agent.get(kv_url(key))
        self.assertGreater(created.index(), idx,
                           "the first write must get an index above the one reported by the "
                           "404 before it, else watchers never see it")
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)



class FreshStoreRecurseBlockingTests(BlockingTestCase):
    """Same as FreshStoreBlockingTests, for a recurse watch on the root (own fresh agent)."""

    def test_first_write_wakes_recurse_watch_on_empty_store(self):
        r = self.agent.get("/v1/kv/?recurse")
        self.assertStatus(r, 404)
        idx = r.index()
        w = self.watch("/v1/kv/?recurse", idx)
        self.agent.kv_put("dir/x", b"v")
        r = w.wait(WAKE_BOUND)
        self.assertStatus(r, 200)
        self.assertGreater(r.index(), idx)


if __name__ == "__main__":
    harness.main()
