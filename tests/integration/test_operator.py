"""The operator surface against `cairn agent -dev` (docs/consul-api.md §9): the Raft configuration,
remove-peer and transfer-leader on a single server, autopilot health and configuration, snapshot
save and restore (including a blocking query waiting across a restore and corrupt snapshots), the
`cairn members` / `cairn operator raft` / `cairn snapshot` commands, and the raft metrics.
Run with /usr/bin/python3.
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import AgentTestCase, BackgroundRequest, binary, kv_url, main  # noqa: E402
from test_misc_http import parse_exposition  # noqa: E402

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
GO_DURATION = re.compile(r"^(0s|(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+)$")
WAKE_BOUND = 15.0


class OperatorTestCase(AgentTestCase):
    def self_info(self):
        r = self.agent.get("/v1/agent/self")
        self.assertStatus(r, 200)
        return r.json()["Config"]

    def rpc_address(self):
        return f"127.0.0.1:{self.agent.server_port}"

    def configuration(self, query=""):
        r = self.agent.get("/v1/operator/raft/configuration" + query)
        self.assertStatus(r, 200)
        return r.json()

    def dump(self):
        """Every KV entry with the fields a restore must bring back exactly."""
        keep = ("Key", "Value", "Flags", "CreateIndex", "ModifyIndex", "LockIndex")
        return [{k: e.get(k) for k in keep} for e in self.agent.kv_dump()]


class RaftOperator(OperatorTestCase):
    def test_configuration_is_one_voter_leader(self):
        config = self.self_info()
        for query in ("", "?stale", "?consistent"):
            c = self.configuration(query)
            self.assertEqual(set(c), {"Servers", "Index"})
            self.assertIsInstance(c["Index"], int)  # 0: the bootstrap configuration
            self.assertEqual(len(c["Servers"]), 1, c)
            s = c["Servers"][0]
            self.assertEqual(s["ID"], config["NodeID"])
            self.assertEqual(s["Node"], config["NodeName"])
            self.assertEqual(s["Address"], self.rpc_address())
            self.assertIs(s["Leader"], True)
            self.assertIs(s["Voter"], True)
            self.assertEqual(s["ProtocolVersion"], "3")
            self.assertIsInstance(s["LastIndex"], int)
        r = self.agent.get("/v1/operator/raft/configuration?stale&consistent")
        self.assertStatus(r, 400)
        self.assertStatus(self.agent.put("/v1/operator/raft/configuration"), 405)

    def test_remove_peer_errors(self):
        r = self.agent.delete("/v1/operator/raft/peer")
        self.assertStatus(r, 400)
        self.assertEqual(r.text(), "Must specify either ?id with the server's ID or ?address "
                                   "with IP:port of peer to remove")
        r = self.agent.delete("/v1/operator/raft/peer?id=nope")
        self.assertStatus(r, 500)
        self.assertEqual(r.text(), 'id "nope" was not found in the Raft configuration')
        r = self.agent.delete("/v1/operator/raft/peer?address=10.9.9.9:8300")
        self.assertStatus(r, 500)
        self.assertEqual(r.text(), 'address "10.9.9.9:8300" was not found in the Raft '
                                   'configuration')
        # The only server cannot be removed, neither by ID nor by address.
        for query in (f"id={self.self_info()['NodeID']}", f"address={self.rpc_address()}"):
            r = self.agent.delete("/v1/operator/raft/peer?" + query)
            self.assertStatus(r, 500, query)
            self.assertTrue(r.text(), "the error must say why")
        self.assertEqual(len(self.configuration()["Servers"]), 1)
        self.agent.kv_put("still/writable", b"yes")
        self.assertStatus(self.agent.get("/v1/operator/raft/peer?id=x"), 405)

    def test_transfer_leader_has_nowhere_to_go(self):
        for query in ("", f"?id={self.self_info()['NodeID']}", "?id=nope"):
            r = self.agent.request("POST", "/v1/operator/raft/transfer-leader" + query)
            self.assertStatus(r, 500, query)
            self.assertTrue(r.text())
        self.assertIs(self.configuration()["Servers"][0]["Leader"], True)
        self.assertStatus(self.agent.put("/v1/operator/raft/transfer-leader"), 405)

    def test_autopilot_health(self):
        r = self.agent.get("/v1/operator/autopilot/health")
        self.assertStatus(r, 200)
        h = r.json()
        self.assertEqual(list(h), ["Healthy", "FailureTolerance", "Servers"])
        self.assertIs(h["Healthy"], True)
        self.assertEqual(h["FailureTolerance"], 0)
        self.assertEqual(len(h["Servers"]), 1)
        s = h["Servers"][0]
        self.assertEqual(list(s), ["ID", "Name", "Address", "SerfStatus", "Version", "Leader",
                                   "LastContact", "LastTerm", "LastIndex", "Healthy", "Voter",
                                   "StableSince"])
        config = self.self_info()
        self.assertEqual(s["ID"], config["NodeID"])
        self.assertEqual(s["Name"], config["NodeName"])
        self.assertEqual(s["Address"], self.rpc_address())
        self.assertEqual(s["SerfStatus"], "alive")
        self.assertEqual(s["Version"], config["Version"])
        self.assertIs(s["Leader"], True)
        self.assertEqual(s["LastContact"], "0s")
        self.assertGreaterEqual(s["LastTerm"], 1)
        self.assertIs(s["Healthy"], True)
        self.assertIs(s["Voter"], True)
        self.assertRegex(s["StableSince"], RFC3339)
        again = self.agent.get("/v1/operator/autopilot/health").json()
        self.assertEqual(again["Servers"][0]["StableSince"], s["StableSince"],
                         "a server that stays healthy keeps its StableSince")

    def test_autopilot_configuration_defaults(self):
        r = self.agent.get("/v1/operator/autopilot/configuration")
        self.assertStatus(r, 200)
        c = r.json()
        self.assertIs(c["CleanupDeadServers"], True)
        self.assertEqual(c["LastContactThreshold"], "200ms")
        self.assertEqual(c["MaxTrailingLogs"], 250)
        self.assertEqual(c["MinQuorum"], 0)
        self.assertEqual(c["ServerStabilizationTime"], "10s")
        self.assertRegex(c["LastContactThreshold"], GO_DURATION)


class Snapshots(OperatorTestCase):
    def setUp(self):
        super().setUp()
        self.agent.kv_clear()

    def snapshot(self, query=""):
        r = self.agent.get("/v1/snapshot" + query)
        self.assertStatus(r, 200)
        self.assertEqual(r.headers.get("Content-Type"), "application/x-gzip")
        self.assertGreater(r.index(), 0)
        self.assertEqual(r.headers.get("X-Consul-KnownLeader"), "true")
        self.assertIsNotNone(r.headers.get("X-Consul-LastContact"))
        gzip.decompress(r.body)  # a complete, CRC-checked gzip stream
        return r

    def test_save_write_restore_brings_the_saved_state_back(self):
        self.agent.kv_put("app/a", b"one")
        self.agent.kv_put("app/b", b"\x00two\xff", query="flags=42")
        self.agent.kv_put("app/gone", b"x")
        self.agent.delete(kv_url("app/gone"))
        saved = self.dump()
        snap = self.snapshot()
        self.agent.kv_put("app/a", b"changed")
        self.agent.kv_put("app/new", b"new")
        self.agent.delete(kv_url("app/b"))
        self.assertNotEqual(self.dump(), saved)
        before = self.agent.get(kv_url("app/a"))
        r = self.agent.put("/v1/snapshot", snap.body)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.dump(), saved)
        self.assertIsNone(self.agent.kv_get("app/new"))
        after = self.agent.get(kv_url("app/a"))
        self.assertGreater(after.index(), before.index(), "indexes stay monotonic")
        self.agent.kv_put("app/c", b"after")
        self.assertGreater(self.agent.kv_get("app/c")["ModifyIndex"], after.index())
        # The restore is durable.
        self.agent.restart()
        self.assertEqual([e for e in self.dump() if e["Key"] != "app/c"], saved)

    def test_blocking_query_waiting_across_a_restore_returns(self):
        self.agent.kv_put("w/key", b"saved")
        snap = self.snapshot()
        self.agent.kv_put("w/key", b"newer")
        current = self.agent.get(kv_url("w/key"))
        watches = [BackgroundRequest(self.agent.http_port, "GET",
                                     f"{path}?index={current.index()}&wait=60s{extra}").start()
                   for path, extra in ((kv_url("w/key"), ""), (kv_url("w/"), "&recurse"),
                                       (kv_url("unrelated/missing"), ""))]
        for w in watches:
            self.assertTrue(w.sent.wait(30))
        self.assertStatus(self.agent.get("/v1/status/leader"), 200)
        for w in watches:
            self.assertFalse(w.done.is_set(), f"returned before the restore: {w.result!r}")
        self.assertStatus(self.agent.put("/v1/snapshot", snap.body), 200)
        for w in watches:
            r = w.wait(WAKE_BOUND)
            self.assertIn(r.status, (200, 404), repr(r))
            self.assertGreater(r.index(), current.index(), repr(r))
        r = watches[0].result
        self.assertEqual(json.loads(r.body)[0]["Value"], "c2F2ZWQ=")  # "saved"

    def test_corrupt_snapshots_are_rejected_and_change_nothing(self):
        self.agent.kv_put("c/k", b"v")
        good = self.snapshot().body
        state = self.dump()
        index = self.agent.get(kv_url("c/k")).index()
        raw = gzip.decompress(good)
        wrong_format = b"\x0a\x05cairn\x10\x01"  # format "cairn", version 1
        for body in (b"", b"not a snapshot", good[: len(good) // 2], good[:-5] + b"\x00" * 5,
                     gzip.compress(b"not an image"), wrong_format, gzip.compress(wrong_format),
                     good + b"trailing"):
            r = self.agent.put("/v1/snapshot", body)
            self.assertStatus(r, 400, repr(body[:20]))
            self.assertTrue(r.text().startswith("invalid snapshot: "), r.text())
        self.assertEqual(self.dump(), state)
        self.assertEqual(self.agent.get(kv_url("c/k")).index(), index)
        # An uncompressed image is accepted too.
        self.assertStatus(self.agent.put("/v1/snapshot", raw), 200)
        self.assertEqual(self.dump(), state)

    def test_consistency_modes(self):
        r = self.snapshot("?stale")
        self.assertEqual(r.headers.get("X-Consul-Effective-Consistency"), "stale")
        r = self.snapshot("?consistent")
        self.assertEqual(r.headers.get("X-Consul-Effective-Consistency"), "consistent")
        self.assertStatus(self.agent.get("/v1/snapshot?stale&consistent"), 400)
        self.assertStatus(self.agent.get("/v1/snapshot?dc=elsewhere"), 500)
        self.assertStatus(self.agent.delete("/v1/snapshot"), 405)


def run_cairn(agent, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR", "CAIRN_HTTP_TOKEN",
                        "CONSUL_HTTP_TOKEN")}
    env["CAIRN_HTTP_ADDR"] = f"127.0.0.1:{agent.http_port}"
    p = subprocess.run([binary(), *args], capture_output=True, env=env, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Cli(OperatorTestCase):
    def cairn(self, *args):
        return run_cairn(self.agent, *args)

    def test_members(self):
        code, out, err = self.cairn("members")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(re.split(r"\s{2,}", lines[0]),
                         ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC",
                          "Partition", "Segment"])
        self.assertEqual(len(lines), 2, out)
        config = self.self_info()
        row = re.split(r"\s{2,}", lines[1])
        self.assertEqual(row[0], config["NodeName"])
        self.assertEqual(row[2:4], ["alive", "server"])
        self.assertEqual(row[4], config["Version"])
        self.assertEqual(row[6:], [config["Datacenter"], "default", "<all>"])
        self.assertEqual(self.cairn("members", "-status=failed"), (2, "", ""))
        code, out, _ = self.cairn("members", "-status=ali")
        self.assertEqual(code, 0)

    def test_list_peers(self):
        code, out, err = self.cairn("operator", "raft", "list-peers")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(re.split(r"\s{2,}", lines[0]),
                         ["Node", "ID", "Address", "State", "Voter", "RaftProtocol",
                          "Commit Index", "Trails Leader By"])
        row = re.split(r"\s{2,}", lines[1])
        config = self.self_info()
        self.assertEqual(row[:6], [config["NodeName"], config["NodeID"], self.rpc_address(),
                                   "leader", "true", "3"])
        self.assertEqual(row[7], "-")
        self.assertEqual(self.cairn("operator", "raft", "list-peers", "-stale")[0], 0)

    def test_remove_peer_and_transfer_leader_fail(self):
        code, out, err = self.cairn("operator", "raft", "remove-peer", "-id=nope")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, 'Error removing peer: Unexpected response code: 500 (id "nope" was '
                              'not found in the Raft configuration)\n')
        code, out, err = self.cairn("operator", "raft", "remove-peer")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("an address or id is required", err)
        code, out, err = self.cairn("operator", "raft", "remove-peer",
                                    "-address=" + self.rpc_address())
        self.assertEqual((code, out), (1, ""))
        self.assertTrue(err.startswith("Error removing peer: Unexpected response code: 500 ("))
        code, out, err = self.cairn("operator", "raft", "transfer-leader")
        self.assertEqual((code, out), (1, ""))
        self.assertTrue(err.startswith("Error transfering leadership: Failed to transfer "
                                       "leadership Unexpected response code: 500 ("), err)

    def test_snapshot_save_and_restore(self):
        self.agent.kv_clear()
        self.agent.kv_put("cli/a", b"1")
        saved = self.dump()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "backup.snap")
            code, out, err = self.cairn("snapshot", "save", path)
            self.assertEqual(code, 0, err)
            m = re.fullmatch(r"Saved and verified snapshot to index (\d+)\n", out)
            self.assertIsNotNone(m, out)
            self.assertGreaterEqual(int(m.group(1)), self.agent.kv_get("cli/a")["ModifyIndex"])
            self.assertEqual(os.listdir(tmp), ["backup.snap"])
            self.agent.kv_put("cli/b", b"2")
            self.agent.kv_put("cli/a", b"changed")
            self.assertEqual(self.cairn("snapshot", "restore", path),
                             (0, "Restored snapshot\n", ""))
            self.assertEqual(self.dump(), saved)
            bad = os.path.join(tmp, "bad.snap")
            with open(bad, "wb") as f:
                f.write(b"\x1f\x8bnot really gzip")
            code, out, err = self.cairn("snapshot", "restore", bad)
            self.assertEqual((code, out), (1, ""))
            self.assertTrue(err.startswith("Error restoring snapshot: Unexpected response code: "
                                           "400 (invalid snapshot: "), err)
            self.assertEqual(self.dump(), saved)
            code, _, err = self.cairn("snapshot", "save")
            self.assertEqual((code, err), (1, "Missing FILE argument\n"))


class RaftMetrics(OperatorTestCase):
    GAUGES = ("cairn_raft_has_leader", "cairn_raft_is_leader", "cairn_raft_term",
              "cairn_raft_commit_index", "cairn_raft_applied_index")
    COUNTERS = ("cairn_raft_leader_changes_total", "cairn_raft_proposals_failed_total")
    HISTOGRAMS = ("cairn_raft_fsync_duration_seconds", "cairn_raft_append_rtt_seconds",
                  "cairn_raft_snapshot_save_duration_seconds",
                  "cairn_raft_snapshot_restore_duration_seconds")

    def metrics(self):
        r = self.agent.get("/metrics")
        self.assertStatus(r, 200)
        types, samples = parse_exposition(r.text())
        values = {}
        for name, labels, value in samples:
            if not labels:
                values[name] = value
        return types, values

    def test_raft_metrics_are_exported(self):
        self.agent.kv_put("m/k", b"v")
        snap = self.agent.get("/v1/snapshot")
        self.assertStatus(self.agent.put("/v1/snapshot", snap.body), 200)
        index = self.agent.get(kv_url("m/k")).index()
        types, values = self.metrics()
        for name in self.GAUGES:
            self.assertEqual(types.get(name), "gauge", name)
        for name in self.COUNTERS:
            self.assertEqual(types.get(name), "counter", name)
        for name in self.HISTOGRAMS:
            if name == "cairn_raft_append_rtt_seconds" and name not in types:
                continue  # labelled by peer: a single server has no peers to time
            self.assertEqual(types.get(name), "histogram", name)
        self.assertEqual(values["cairn_raft_has_leader"], 1)
        self.assertEqual(values["cairn_raft_is_leader"], 1)
        self.assertGreaterEqual(values["cairn_raft_term"], 1)
        self.assertGreaterEqual(values["cairn_raft_applied_index"], index)
        self.assertGreaterEqual(values["cairn_raft_commit_index"],
                                values["cairn_raft_applied_index"])
        self.assertGreaterEqual(values["cairn_raft_leader_changes_total"], 1)
        self.assertGreaterEqual(values["cairn_raft_snapshot_save_duration_seconds_count"], 1)
        self.assertGreaterEqual(values["cairn_raft_snapshot_restore_duration_seconds_count"], 1)


if __name__ == "__main__":
    main()
