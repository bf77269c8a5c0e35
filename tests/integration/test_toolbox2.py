"""Part 2 of the Consul toolbox through the real binary (docs/cli.md): `cairn monitor` and
GET /v1/agent/monitor (log streaming at a level, streams that hold no thread while idle, a client
leaving ends its stream), `cairn snapshot inspect` (a saved snapshot, a damaged one), `cairn
operator autopilot set-config` (PUT /v1/operator/autopilot/configuration with ?cas=), and `cairn
exec` on a server and two client agents, one of which keeps the default disable_remote_exec
(filters, output, exit codes, the -timeout, the job's keys cleaned up). Run with
/usr/bin/python3.
"""
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import Cluster, ClientAgent, wait_until  # noqa: E402
from harness import AgentTestCase, binary  # noqa: E402
from test_cli import run_cairn  # noqa: E402


class Monitor:
    """A `cairn monitor` process whose output lines are collected by a thread."""

    def __init__(self, port, *args):
        env = {k: v for k, v in os.environ.items() if k not in ("CAIRN_HTTP_ADDR",)}
        env["CAIRN_HTTP_ADDR"] = f"127.0.0.1:{port}"
        self.proc = subprocess.Popen([binary(), "monitor", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def text(self):
        return "\n".join(self.lines)

    def wait_for(self, needle, timeout=20):
        return wait_until(lambda: needle in self.text(), timeout, f"{needle!r} in the monitor")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(5)


class MonitorAndTools(AgentTestCase):
    def cairn(self, *args, stdin=None):
        return run_cairn(*args, stdin=stdin,
                         env={"CAIRN_HTTP_ADDR": f"127.0.0.1:{self.agent.http_port}"})

    def monitor(self, *args):
        m = Monitor(self.agent.http_port, *args)
        self.addCleanup(m.stop)
        return m

    def register(self, service_id):
        body = ('{"ID": "%s", "Name": "web", "Port": 80}' % service_id).encode()
        self.assertEqual(self.agent.put("/v1/agent/service/register", body).status, 200)

    def maintenance(self, service_id):
        path = f"/v1/agent/service/maintenance/{service_id}?enable=true&reason=test"
        self.assertEqual(self.agent.put(path).status, 200)

    # ---- monitor ----
    def test_monitor_streams_lines_at_its_level(self):
        self.register("mon-1")
        debug = self.monitor("-log-level", "debug")
        # A debug monitor sees debug records although the agent logs at info: its own start.
        debug.wait_for("[DEBUG] agent: monitor started at level DEBUG")
        info = self.monitor()  # -log-level info
        debug.wait_for("monitor started at level INFO")
        warn = self.monitor("-log-level", "warn")
        debug.wait_for("monitor started at level WARN")
        self.maintenance("mon-1")
        info.wait_for("[INFO] local: service mon-1 entered maintenance mode")
        debug.wait_for("service mon-1 entered maintenance mode")
        # Below a monitor's level nothing arrives: neither debug lines nor, at warn, info lines.
        self.assertNotIn("[DEBUG]", info.text())
        self.assertNotIn("maintenance mode", warn.text())
        self.assertNotIn("[INFO]", warn.text())
        # The agent's own log stays at its level.
        self.assertNotIn("monitor started at level", self.agent.logs(since=self._log_offsets))

    def test_monitor_json_lines(self):
        self.register("mon-2")
        m = self.monitor("-log-json", "-log-level", "debug")
        m.wait_for('"@message":"monitor started at level DEBUG"')
        self.maintenance("mon-2")
        m.wait_for('"@message":"service mon-2 entered maintenance mode"')
        line = next(l for l in m.lines if "mon-2" in l)
        self.assertTrue(line.startswith('{"@level":"info","@message":"service mon-2 entered'),
                        line)
        self.assertIn('"@module":"local"', line)
        self.assertIn('"@timestamp":"', line)

    def test_a_client_leaving_ends_its_stream(self):
        watcher = self.monitor("-log-level", "debug")
        watcher.wait_for("monitor started at level DEBUG")
        leaving = Monitor(self.agent.http_port)
        wait_until(lambda: watcher.text().count("monitor started") >= 2, 20, "second monitor")
        leaving.stop()  # kill -9: the connection closes
        watcher.wait_for("[DEBUG] agent: monitor ended")

    def test_idle_monitors_hold_no_thread(self):
        # More idle streams than the agent has I/O threads: every other request is still served.
        watcher = self.monitor("-log-level", "debug")
        watcher.wait_for("monitor started at level DEBUG")
        monitors = [self.monitor("-log-level", "err") for _ in range(6)]
        wait_until(lambda: watcher.text().count("monitor started at level ERROR") == 6, 20,
                   "six idle monitors connected")
        for i in range(20):
            self.assertEqual(self.agent.put(f"/v1/kv/idle/{i}", b"x").status, 200)
        self.assertEqual(self.agent.get("/v1/kv/idle/?keys").status, 200)
        self.assertTrue(all(m.proc.poll() is None for m in monitors))

    def test_monitor_errors(self):
        code, _, err = self.cairn("monitor", "-log-level", "loud")
        self.assertEqual(code, 1)
        self.assertIn("Unknown log level: loud", err)
        r = self.agent.get("/v1/agent/monitor?loglevel=bogus")
        self.assertEqual((r.status, r.body), (400, b"Unknown log level: bogus"))

    def test_monitor_over_raw_http_is_chunked(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.agent.http_port, timeout=10)
        conn.request("GET", "/v1/agent/monitor?loglevel=debug")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertIn("text/plain", r.getheader("Content-Type"))
        first = r.readline().decode()
        self.assertIn("monitor started at level DEBUG", first)
        conn.close()

    # ---- snapshot inspect ----
    def test_snapshot_inspect(self):
        for i in range(5):
            self.assertEqual(self.agent.put(f"/v1/kv/snap/{i}", b"value").status, 200)
        # The autopilot configuration is part of the state a snapshot carries.
        self.assertEqual(self.agent.put("/v1/operator/autopilot/configuration",
                                        b'{"MinQuorum": 1}').status, 200)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "backup.snap")
            code, out, err = self.cairn("snapshot", "save", path)
            self.assertEqual(code, 0, err)
            index = int(out.split()[-1])
            code, out, err = self.cairn("snapshot", "inspect", path)
            self.assertEqual(code, 0, err)
            lines = out.splitlines()
            fields = {l.split()[0]: l.split()[1] for l in lines[:5]}
            self.assertEqual(fields["Index"], str(index))
            self.assertEqual(fields["Size"], str(os.path.getsize(path)))
            self.assertEqual(fields["Version"], "1")
            self.assertEqual(fields["Term"], "0")
            self.assertTrue(fields["ID"].startswith(f"0-{index}-"))
            self.assertEqual(lines[6].split(), ["Type", "Count", "Size"])
            rows = {l.split()[0]: l.split()[1:] for l in lines[8:]}
            self.assertGreaterEqual(int(rows["KVS"][0]), 5)
            self.assertIn("Node", rows)
            self.assertEqual(rows["Autopilot"][0], "1")
            self.assertIn("Total", rows)
            # A damaged file: a clear error and exit code 1.
            with open(path, "rb") as f:
                data = f.read()
            damaged = os.path.join(d, "damaged.snap")
            with open(damaged, "wb") as f:
                f.write(data[: len(data) // 2])
            code, out, err = self.cairn("snapshot", "inspect", damaged)
            self.assertEqual((code, out), (1, ""))
            self.assertIn(f"Error inspecting snapshot {damaged}: ", err)
            code, _, err = self.cairn("snapshot", "inspect", os.path.join(d, "missing.snap"))
            self.assertEqual(code, 1)
            self.assertIn("no such file or directory", err.lower())
            code, _, err = self.cairn("snapshot", "inspect")
            self.assertEqual(code, 1)
            self.assertIn("Missing FILE argument", err)

    # ---- autopilot set-config ----
    def test_autopilot_set_config(self):
        code, out, err = self.cairn("operator", "autopilot", "set-config",
                                    "-cleanup-dead-servers=false", "-max-trailing-logs=300",
                                    "-last-contact-threshold=500ms",
                                    "-server-stabilization-time=20s")
        self.assertEqual((code, out), (0, "Configuration updated!\n"), err)
        code, out, err = self.cairn("operator", "autopilot", "get-config")
        self.assertEqual(code, 0, err)
        conf = dict(line.split(" = ", 1) for line in out.splitlines())
        self.assertEqual(conf["CleanupDeadServers"], "false")
        self.assertEqual(conf["MaxTrailingLogs"], "300")
        self.assertEqual(conf["LastContactThreshold"], "500ms")
        self.assertEqual(conf["ServerStabilizationTime"], "20s")
        self.assertEqual(conf["MinQuorum"], "0")  # not given: unchanged
        # Check-and-set over HTTP: a stale ModifyIndex answers false and changes nothing.
        current = self.agent.get("/v1/operator/autopilot/configuration").json()
        stale = current["ModifyIndex"] - 1
        r = self.agent.put(f"/v1/operator/autopilot/configuration?cas={stale}",
                           b'{"MaxTrailingLogs": 1}')
        self.assertEqual((r.status, r.body), (200, b"false"))
        r = self.agent.put(f"/v1/operator/autopilot/configuration?cas={current['ModifyIndex']}",
                           b'{"MaxTrailingLogs": 400, "MinQuorum": 3}')
        self.assertEqual((r.status, r.body), (200, b"true"))
        after = self.agent.get("/v1/operator/autopilot/configuration").json()
        self.assertEqual((after["MaxTrailingLogs"], after["MinQuorum"]), (400, 3))
        self.assertFalse(after["CleanupDeadServers"])
        self.assertGreater(after["ModifyIndex"], current["ModifyIndex"])
        # Bad input: 400 with a message; a bad flag value: exit 1.
        r = self.agent.put("/v1/operator/autopilot/configuration", b"{not json")
        self.assertEqual(r.status, 400)
        r = self.agent.put("/v1/operator/autopilot/configuration?cas=x", b"{}")
        self.assertEqual((r.status, r.body), (400, b"Error parsing cas value: x"))
        code, _, err = self.cairn("operator", "autopilot", "set-config",
                                  "-last-contact-threshold=soon")
        self.assertEqual(code, 1)
        self.assertIn('invalid value "soon" for flag -last-contact-threshold', err)


REMOTE_EXEC_ON = 'disable_remote_exec = false\n'


class Exec(unittest.TestCase):
    """One server and two client agents: s1 and c1 run jobs (disable_remote_exec = false), c2
    keeps the default and never does."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(1, name="exec")
        try:
            conf = os.path.join(cls.cluster.root, "remote-exec.hcl")
            with open(conf, "w") as f:
                f.write(REMOTE_EXEC_ON)
            cls.s1 = cls.cluster.members[0]
            cls.s1.extra_args += ["-config-file", conf]
            cls.cluster.start()
            join = [cls.s1.rpc_address]
            cls.c1 = ClientAgent("c1", cls.cluster.prefix + "101", cls.cluster.root, join=join,
                                 extra_args=["-config-file", conf])
            cls.c2 = ClientAgent("c2", cls.cluster.prefix + "102", cls.cluster.root, join=join)
            for c in (cls.c1, cls.c2):
                cls.cluster.servers.append(c)
                c.start()
            # c1 serves web; every agent in the catalog.
            body = b'{"ID": "web-1", "Name": "web", "Tags": ["blue"], "Port": 80}'
            assert cls.c1.put("/v1/agent/service/register", body).status == 200
            wait_until(lambda: {"s1", "c1", "c2"} <= {n["Node"] for n in
                                                      cls.s1.get("/v1/catalog/nodes").json()},
                       30, "every node in the catalog")
            wait_until(lambda: cls.s1.get("/v1/catalog/service/web").json(), 30, "web listed")
        except BaseException:
            sys.stderr.write(cls.cluster.logs())
            cls.cluster.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()

    def tearDown(self):
        crashed = self.cluster.crashed()
        if crashed:
            self.fail(f"crashed: {crashed}\n{self.cluster.logs()}")

    def exec(self, via, *args, timeout=90):
        """`cairn exec` against `via`; -wait 5s unless given: a loaded machine may take a while
        to deliver the event and the first ack."""
        wait = () if "-wait" in args else ("-wait", "5s")
        return run_cairn("exec", *wait, *args,
                         env={"CAIRN_HTTP_ADDR": f"{via.ip}:{via.http_port}"}, timeout=timeout)

    def assert_cleaned_up(self):
        self.assertEqual(self.s1.get("/v1/kv/_rexec/?keys").status, 404)
        sessions = [s for s in self.s1.get("/v1/session/list").json()
                    if s["Name"] == "Remote Exec"]
        self.assertEqual(sessions, [])

    def test_enabled_agents_run_the_job(self):
        code, out, err = self.exec(self.c2, "echo", "hello-$((1+1))")
        self.assertEqual(code, 0, out + err)
        self.assertIn("    s1: hello-2\n", out)
        self.assertIn("    c1: hello-2\n", out)
        self.assertIn("==> s1: finished with exit code 0\n", out)
        self.assertIn("==> c1: finished with exit code 0\n", out)
        self.assertNotIn("c2", out)  # disable_remote_exec defaults to true
        self.assertTrue(out.endswith("2 / 2 node(s) completed / acknowledged\n"), out)
        self.assert_cleaned_up()

    def test_node_filter(self):
        code, out, err = self.exec(self.c1, "-node", "^s", "-verbose", "uname")
        self.assertEqual(code, 0, out + err)
        self.assertIn("Created remote execution session: ", out)
        self.assertIn("==> s1: acknowledged\n", out)
        self.assertIn("    s1: Linux\n", out)
        self.assertNotIn("c1:", out)
        self.assertIn("1 / 1 node(s) completed / acknowledged", out)
        code, out, err = self.exec(self.s1, "-wait", "2s", "-service", "web", "-tag", "green",
                                   "hostname")
        self.assertEqual((code, out), (0, "0 / 0 node(s) completed / acknowledged\n"), err)
        self.assert_cleaned_up()

    # A client agent's watch of /v1/event/list is forwarded to the server; the server's own
    # watch asks the same query at the same index. They must not share one answer (the fan-out
    # of blocking queries keys on the forwarding agent too), or the client sees the server's
    # events and a job addressed to the client alone never runs there.
    def test_filters_addressed_to_a_client(self):
        code, out, err = self.exec(self.s1, "-node", "^c", "hostname")
        self.assertEqual(code, 0, out + err)
        self.assertIn("==> c1: finished with exit code 0", out)
        self.assertNotIn("s1:", out)
        code, out, err = self.exec(self.s1, "-service", "web", "-tag", "blu", "hostname")
        self.assertEqual(code, 0, out + err)
        self.assertIn("==> c1: finished with exit code 0", out)
        self.assertNotIn("s1:", out)
        self.assert_cleaned_up()

    def test_non_zero_exit_code(self):
        code, out, err = self.exec(self.c1, "echo partial; exit 3")
        self.assertEqual(code, 2, out + err)
        self.assertIn("    c1: partial\n", out)
        self.assertIn("==> c1: finished with exit code 3\n", out)
        self.assertIn("==> s1: finished with exit code 3\n", out)
        self.assertIn("2 / 2 node(s) completed / acknowledged", out)

    def test_timeout_and_the_job_killed(self):
        marker = f"sleep 61.{os.getpid()}"  # a command line to find with pgrep
        started = time.monotonic()
        code, out, err = self.exec(self.s1, "-timeout", "4s", f"echo started; {marker}")
        elapsed = time.monotonic() - started
        self.assertEqual(code, 2, out + err)
        self.assertIn("    c1: started\n", out)
        self.assertIn("0 / 2 node(s) completed / acknowledged", out)
        self.assertLess(elapsed, 40)
        print(f"\n[exec] -timeout 4s returned after {elapsed:.1f}s", file=sys.stderr)

        # exec destroyed the session: the agents' next writes fail and they kill the job.
        def sleeping():
            return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0
        wait_until(lambda: not sleeping(), 30, "the remote jobs killed")
        self.assert_cleaned_up()

    def test_usage_errors(self):
        code, _, err = self.exec(self.s1)
        self.assertEqual(code, 1)
        self.assertIn("Must specify a command to execute", err)
        code, _, err = self.exec(self.s1, "-tag", "x", "true")
        self.assertEqual(code, 1)
        self.assertIn("Cannot provide tag filter without service filter.", err)
        code, _, err = self.exec(self.s1, "-node", "(", "true")
        self.assertEqual(code, 1)
        self.assertIn("Failed to compile node filter regexp", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
