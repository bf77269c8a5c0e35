"""Blocking queries on the real binary: wake-ups only on relevant changes, time-outs, many waiters."""
import json
import threading
import time
import unittest

from agent_process import Agent

agent = None


def setUpModule():
    global agent
    agent = Agent().start()


def tearDownModule():
    agent.cleanup()


def index_of(path):
    status, headers, _ = agent.request("GET", path)
    return int(headers["x-consul-index"])


class Waiter(threading.Thread):
    """Runs one blocking GET in the background and records when it returned."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.result = None

    def run(self):
        started = time.monotonic()
        status, headers, body = agent.request("GET", self.path, timeout=120)
        self.result = (status, int(headers["x-consul-index"]), body, time.monotonic() - started)




class BlockingQueries(unittest.TestCase):
    def test_times_out_with_same_index(self):
        agent.request("PUT", "/v1/kv/b/timeout", body=b"1")
        idx = index_of("/v1/kv/b/timeout")
        started = time.monotonic()
        status, headers, _ = agent.request("GET", f"/v1/kv/b/timeout?index={idx}&wait=1s")
        elapsed = time.monotonic() - started
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["x-consul-index"]), idx)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 10)

    def test_write_to_watched_key_wakes(self):
        agent.request("PUT", "/v1/kv/b/key", body=b"1")
        idx = index_of("/v1/kv/b/key")
        w = Waiter(f"/v1/kv/b/key?index={idx}&wait=60s")
        w.start()
        time.sleep(0.2)
        agent.request("PUT", "/v1/kv/b/key", body=b"2")
        w.join(30)
        self.assertIsNotNone(w.result, "the waiter did not return")
        status, new_idx, body, elapsed = w.result
        self.assertEqual(status, 200)
        self.assertGreater(new_idx, idx)
        self.assertLess(elapsed, 30)
        self.assertIn(b'"Value":"Mg=="', body)

    def test_unrelated_write_does_not_wake_key_watch(self):
        agent.request("PUT", "/v1/kv/b/quiet", body=b"1")
        idx = index_of("/v1/kv/b/quiet")
        w = Waiter(f"/v1/kv/b/quiet?index={idx}&wait=1500ms")
        w.start()
        time.sleep(0.2)
        for i in range(5):
            agent.request("PUT", f"/v1/kv/b/noise{i}", body=b"x")
        w.join(30)
        status, new_idx, _, elapsed = w.result
        self.assertEqual(new_idx, idx)
        self.assertGreaterEqual(elapsed, 1.4)

    def test_prefix_watch_wakes_on_put_and_delete_under_prefix_only(self):
        agent.request("PUT", "/v1/kv/p/a", body=b"1")
        idx = index_of("/v1/kv/p/?recurse")
        w = Waiter(f"/v1/kv/p/?recurse&index={idx}&wait=2s")
        w.start()
        time.sleep(0.2)
        agent.request("PUT", "/v1/kv/q/a", body=b"1")
        w.join(30)
        self.assertEqual(w.result[1], idx, "a write under q/ must not wake a p/ watch")
        w = Waiter(f"/v1/kv/p/?recurse&index={idx}&wait=60s")
        w.start()
        time.sleep(0.2)
        agent.request("DELETE", "/v1/kv/p/a")
        w.join(30)
        status, new_idx, _, elapsed = w.result
        self.assertEqual(status, 404)
        self.assertGreater(new_idx, idx)
        self.assertLess(elapsed, 30)

    def test_index_ahead_of_store_blocks_until_wait(self):
        idx = index_of("/v1/kv/b/ahead")
        started = time.monotonic()
        agent.request("GET", f"/v1/kv/b/ahead?index={idx + 1000}&wait=1s")
        self.assertGreaterEqual(time.monotonic() - started, 0.9)

    def test_two_hundred_waiters_do_not_block_other_requests_and_all_wake(self):
        agent.request("PUT", "/v1/kv/b/hot", body=b"0")
        idx = index_of("/v1/kv/b/hot")
        waiters = [Waiter(f"/v1/kv/b/hot?index={idx}&wait=120s") for _ in range(200)]
        for w in waiters:
            w.start()
        time.sleep(0.5)
        started = time.monotonic()
        status, _, _ = agent.request("GET", "/v1/kv/b/key")
        self.assertLess(time.monotonic() - started, 5, "an unrelated read was held up by waiters")
        agent.request("PUT", "/v1/kv/b/hot", body=b"1")
        for w in waiters:
            w.join(60)
        self.assertTrue(all(w.result and w.result[1] > idx for w in waiters))


if __name__ == "__main__":
    unittest.main()
