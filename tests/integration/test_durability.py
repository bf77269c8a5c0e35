"""Acknowledged writes survive a graceful restart and kill -9 on the same data dir."""
import json
import shutil
import signal
import tempfile
import threading
import unittest

from agent_process import Agent


class Durability(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-durable-")
        self.agent = Agent(data_dir=self.dir).start()

    def tearDown(self):
        self.agent.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def index(self):
        return int(self.agent.request("GET", "/v1/kv/?recurse")[1]["x-consul-index"])

    def all_values(self):
        status, _, body = self.agent.request("GET", "/v1/kv/?recurse")
        return {e["Key"]: e["Value"] for e in json.loads(body)} if status == 200 else {}

    def test_graceful_restart_keeps_data_and_index(self):
        self.agent.request("PUT", "/v1/kv/g/a", body=b"1")
        before, idx = self.all_values(), self.index()
        self.assertEqual(self.agent.restart(signal.SIGTERM).proc.poll(), None)
        self.assertEqual(self.all_values(), before)
        self.agent.request("PUT", "/v1/kv/g/b", body=b"2")
        self.assertGreater(self.index(), idx, "indexes keep increasing after a restart")

    def test_kill_9_loses_no_acknowledged_write(self):
        acked = {}
        lock = threading.Lock()

        def writer(n):
            for i in range(40):
                key = f"k/{n}/{i}"
                status, _, body = self.agent.request("PUT", f"/v1/kv/{key}", body=key.encode())
                if status == 200 and body == b"true":
                    with lock:
                        acked[key] = True

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        idx = self.index()
        self.agent.restart(signal.SIGKILL)
        values = self.all_values()
        missing = [k for k in acked if k not in values]
        self.assertEqual(missing, [], "acknowledged writes lost after kill -9")
        self.assertEqual(len(acked), 320)
        self.assertGreaterEqual(self.index(), idx)


if __name__ == "__main__":
    unittest.main()
