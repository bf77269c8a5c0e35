"""A real server cluster on loopback (cluster.py): formation from the documented command line,
replication and follower forwarding, the three read modes and their headers, restarts on the same
data dir, a foreign data dir, growing and shrinking the cluster (join as learner, leave on
terminate, remove-peer, transfer-leader), autopilot health, "No cluster leader" on a server cut
off from the majority, and -retry-join through host names.

Each test gets its own cluster on its own 127.A.B.0/24 block (see cluster.py), except
DefaultPorts, which runs on the dedicated triple 127.0.0.21/.22/.23 with the default ports
8500/8300 (no other test binds those; concurrent runs of this file take a lock). Run with
/usr/bin/python3.
"""
import base64
import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClusterTestCase, free_port, kv_url, wait_until  # noqa: E402
from harness import main  # noqa: E402

HOLD = 5.0            # the server's documented wait for a leader before "No cluster leader"
SLOW = 15.0           # an HTTP time-out comfortably above HOLD
DEFAULT_TRIPLE = ("127.0.0.21", "127.0.0.22", "127.0.0.23")
DEFAULT_PORTS_LOCK = os.path.join(tempfile.gettempdir(), "cairn-it-default-ports.lock")


def value_of(result):
    """The decoded Value of a one-entry KV GET answer."""
    return base64.b64decode(result.json()[0]["Value"]).decode()


class ClusterAssertions(ClusterTestCase):
    """Shared assertions for cluster tests."""

    def assertStatus(self, result, status, msg=""):
        if result.status != status:
            self.fail(f"expected HTTP {status}, got {result!r} {msg}")

    def assertReads(self, server, key, value, modes=("", "consistent")):
        """Every mode in `modes` on `server` returns `value` for `key` at once."""
        for mode in modes:
            r = server.get(kv_url(key, mode))
            self.assertStatus(r, 200, f"{server.name} ?{mode}")
            self.assertEqual(value_of(r), value, f"{server.name} ?{mode}")

    def wait_stale(self, server, key, value, timeout=10.0):
        """Waits until a ?stale read of `key` on `server` returns `value`."""
        def seen():
            r = server.get(kv_url(key, "stale"))
            return r.status == 200 and value_of(r) == value
        wait_until(seen, timeout, f"{server.name} to replicate {key}={value}")

    def leader_view(self, server):
        return server.get("/v1/status/leader").json()


# ---------------------------------------------------------------------------------------------

class DefaultPorts(ClusterAssertions):
    """The documented command line with the default ports (HTTP 8500, server 8300) on three
    loopback addresses. The issue names 127.0.0.1/.2/.3; this test uses the dedicated triple
    127.0.0.21/.22/.23 because 127.0.0.1 is shared by every other test and by developers' agents.
    Runs of this class on one machine are serialized by a lock file; it is skipped when a default
    port on the triple is taken by something else."""

    start_cluster = False
    cluster_size = 0

    def setUp(self):
        # The lock is taken before, and released after, the cluster's life (cleanups run LIFO).
        self.lock = open(DEFAULT_PORTS_LOCK, "w")
        self.addCleanup(self.lock.close)
        try:
            wait_until(self._try_lock, 120, "the default-ports lock", 0.2)
        except AssertionError:
            self.skipTest(f"{DEFAULT_PORTS_LOCK} is held by another run for more than 120 s")
        busy = [f"{ip}:{port}" for ip in DEFAULT_TRIPLE for port in (8300, 8500) if
                not _port_free(ip, port)]
        if busy:
            self.skipTest(f"default ports taken: {busy}")
        super().setUp()

    def _try_lock(self):
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def test_servers_with_default_ports_form_a_cluster(self):
        c = self.cluster
        # One -retry-join without a port (8300 is implied), the others with ":8300".
        join = [DEFAULT_TRIPLE[0], f"{DEFAULT_TRIPLE[1]}:8300", f"{DEFAULT_TRIPLE[2]}:8300"]
        for ip in DEFAULT_TRIPLE:
            c.members.append(c.new_server(ip=ip, join=join, bootstrap_expect=3,
                                          ports=(8500, 8300), port_flags=False))
        leader = c.start()
        self.assertIn(leader.ip, DEFAULT_TRIPLE)
        self.assertEqual(leader.rpc_address, f"{leader.ip}:8300")
        for s in c.members:
            self.assertEqual(self.leader_view(s), leader.rpc_address)
            peers = s.get("/v1/status/peers").json()
            self.assertEqual(sorted(peers), sorted(f"{ip}:8300" for ip in DEFAULT_TRIPLE))
        for s in c.members:
            self.assertIs(s.kv_put(f"default/{s.name}", s.name), True)
        for s in c.members:
            for other in c.members:
                self.assertReads(s, f"default/{other.name}", other.name)


def _port_free(ip, port):
    """Whether `port` can be bound on `ip` now (SO_REUSEADDR, like the agent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
            return True
        except OSError:
            return False


# ---------------------------------------------------------------------------------------------

class Formation(ClusterAssertions):
    """A freshly formed 3-server cluster: one leader, replication, forwarding, read modes."""

    def test_servers_agree_on_leader_peers_and_configuration(self):
        c = self.cluster
        leader = c.leader()
        addresses = sorted(s.rpc_address for s in c.members)
        for s in c.members:
            self.assertEqual(self.leader_view(s), leader.rpc_address, s.name)
            self.assertEqual(sorted(s.get("/v1/status/peers").json()), addresses, s.name)
        for s in c.members:
            config = s.configuration()
            self.assertIsNotNone(config, s.name)
            servers = config["Servers"]
            self.assertGreaterEqual(config["Index"], 1, config)
            self.assertEqual(sorted(e["Address"] for e in servers), addresses)
            self.assertTrue(all(e["Voter"] for e in servers), config)
            self.assertEqual([e["Address"] for e in servers if e["Leader"]],
                             [leader.rpc_address], config)
            self.assertEqual(sorted(e["Node"] for e in servers), ["s1", "s2", "s3"])

    def test_writes_on_every_server_are_visible_on_every_server(self):
        c = self.cluster
        for s in c.members:
            self.assertIs(s.kv_put(f"every/{s.name}", f"from-{s.name}"), True)
        for reader in c.members:
            for writer in c.members:
                # Linearizable modes see an acknowledged write at once, on every server.
                self.assertReads(reader, f"every/{writer.name}", f"from-{writer.name}")
                self.wait_stale(reader, f"every/{writer.name}", f"from-{writer.name}")

    def test_read_your_writes_through_any_pair_of_servers(self):
        c = self.cluster
        for i in range(30):
            writer, reader = c.members[i % 3], c.members[(i + 1 + i // 3) % 3]
            value = f"v{i}"
            self.assertIs(writer.kv_put("ryw", value), True)
            mode = ("", "consistent")[i % 2]
            self.assertReads(reader, "ryw", value, modes=(mode,))

    def test_follower_forwarding_of_put_cas_and_delete(self):
        c = self.cluster
        follower = c.followers()[0]
        self.assertIs(follower.kv_put("fwd", "one"), True)
        _, index = follower.kv_get("fwd")
        self.assertIs(follower.kv_put("fwd", "stale-cas", f"cas={index + 1000}"), False)
        self.assertIs(follower.kv_put("fwd", "two", f"cas={index}"), True)
        self.assertIs(follower.kv_put("fwd", "again", f"cas={index}"), False)
        self.assertIs(follower.kv_put("fwd", "create", "cas=0"), False)  # exists already
        for s in c.members:
            self.assertReads(s, "fwd", "two")
        r = follower.delete(kv_url("fwd"))
        self.assertStatus(r, 200)
        for s in c.members:
            self.assertStatus(s.get(kv_url("fwd")), 404, s.name)
            self.assertStatus(s.get(kv_url("fwd", "consistent")), 404, s.name)
        self.assertIs(follower.kv_put("fwd", "created", "cas=0"), True)
        self.assertReads(c.leader(), "fwd", "created")

    def test_read_modes_and_leader_headers(self):
        c = self.cluster
        leader = c.leader()
        self.assertIs(leader.kv_put("modes", "x"), True)
        for s in c.members:
            self.wait_stale(s, "modes", "x")
        for s in c.members:
            for query, effective in (("", "leader"), ("consistent", "consistent"),
                                     ("stale", "stale")):
                r = s.get(kv_url("modes", query))
                self.assertStatus(r, 200)
                self.assertEqual(value_of(r), "x")
                h = r.headers
                what = f"{s.name} ?{query}: {r!r}"
                self.assertEqual(h.get("X-Consul-Effective-Consistency"), effective, what)
                self.assertEqual(h.get("X-Consul-KnownLeader"), "true", what)
                self.assertRegex(h.get("X-Consul-LastContact", ""), r"^\d+$", what)
                if s is leader:
                    self.assertEqual(h["X-Consul-LastContact"], "0", what)
                self.assertGreaterEqual(int(h["X-Consul-Index"]), 1, what)


# ---------------------------------------------------------------------------------------------

class Restarts(ClusterAssertions):
    """kill -9 and SIGTERM restarts on the same data dir; a data dir of another cluster."""

    def test_follower_restarted_on_its_data_dir_rejoins(self):
        c = self.cluster
        follower = c.followers()[0]
        c.leader().kv_put("restart/before", "1")
        self.wait_stale(follower, "restart/before", "1")
        follower.kill()
        leader = c.wait_for_leader()
        self.assertIs(leader.kv_put("restart/while-down", "2"), True)
        c.restart(follower)
        self.assertIs(c.wait_for_leader(), leader, "a rejoining follower must not disrupt")
        self.wait_stale(follower, "restart/while-down", "2")
        self.assertReads(follower, "restart/before", "1")
        c.wait_configuration(c.members)

    def test_leader_killed_then_restarted_rejoins_as_follower(self):
        c = self.cluster
        old = c.leader()
        self.assertIs(old.kv_put("restart/a", "1"), True)
        old.kill()
        rest = [s for s in c.members if s is not old]
        new = c.wait_for_leader(servers=rest)
        self.assertIsNot(new, old)
        self.assertIs(rest[0].kv_put("restart/b", "2"), True)
        self.assertReads(rest[1], "restart/a", "1")
        c.restart(old)
        c.wait_for_leader()
        self.wait_stale(old, "restart/b", "2")
        self.assertReads(old, "restart/a", "1")
        self.assertReads(old, "restart/b", "2")

    def test_sigterm_restart_of_every_server(self):
        c = self.cluster
        self.assertIs(c.leader().kv_put("restart/all", "1"), True)
        for s in c.members:
            rc, needed_kill = s.stop()
            self.assertEqual((rc, needed_kill), (0, False), s.name)
        for s in c.members:
            s.spawn()
        for s in c.members:
            s.wait_serving()
        c.wait_for_leader()
        for s in c.members:
            self.assertReads(s, "restart/all", "1")

    def test_data_dir_of_another_cluster_is_refused(self):
        c = self.cluster
        other = c.new_server(join=[], bootstrap_expect=1)  # a one-server cluster of its own
        other.start()
        wait_until(lambda: other.leader() == other.rpc_address, 30, "the lone server to lead")
        self.assertIs(other.kv_put("foreign", "1"), True)
        self.assertEqual(other.stop(), (0, False))
        # The same data dir, now pointed at the 3-server cluster.
        other.bootstrap_expect = 0
        other.join = [s.rpc_address for s in c.members]
        other.spawn()
        try:
            rc = other.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.fail(f"a server with a foreign data dir kept running\n{other.logs()}")
        other.expected_exit = True
        self.assertNotEqual(rc, 0)
        logs = other.logs()
        m = re.search(r"the data dir belongs to cluster (\S+), but the -retry-join servers are "
                      r"cluster (\S+): refusing to start", logs)
        self.assertIsNotNone(m, logs)
        self.assertNotEqual(m.group(1), m.group(2))
        self.assertIn(f"bootstrapping cluster {m.group(2)}", c.members[0].logs())
        c.wait_configuration(c.members)


# ---------------------------------------------------------------------------------------------

class Membership(ClusterAssertions):
    """Growing and shrinking: join as learner then voter, leave_on_terminate, remove-peer,
    transfer-leader."""

    def test_fourth_server_joins_as_voter_and_leaves_on_terminate(self):
        c = self.cluster
        self.assertIs(c.leader().kv_put("grow/before", "1"), True)
        fourth = c.add_server(config={"leave_on_terminate": True})
        config = c.wait_configuration(c.members)
        self.assertEqual(len(config["Servers"]), 4)
        self.wait_stale(fourth, "grow/before", "1")
        self.assertIs(fourth.kv_put("grow/via-fourth", "2"), True)
        for s in c.members:
            self.assertReads(s, "grow/via-fourth", "2")
            wait_until(lambda s=s: len(s.get("/v1/status/peers").json()) == 4, 20,
                       f"{s.name} to list 4 peers")
        rc, needed_kill = fourth.stop()
        self.assertEqual((rc, needed_kill), (0, False))
        c.forget(fourth)
        config = c.wait_configuration(c.members)
        self.assertNotIn(fourth.rpc_address, [e["Address"] for e in config["Servers"]])
        self.assertIs(c.leader().kv_put("grow/after", "3"), True)
        # Started again on the same data dir (same ID), it joins again by itself and catches up.
        fourth.start()
        c.members.append(fourth)
        c.wait_configuration(c.members)
        self.wait_stale(fourth, "grow/after", "3")

    def test_remove_dead_peer(self):
        c = self.cluster
        leader = c.leader()
        dead = c.followers(leader)[0]
        dead.kill()
        via = c.wait_for_leader()
        r = via.delete(f"/v1/operator/raft/peer?address={dead.rpc_address}")
        self.assertStatus(r, 200)
        c.forget(dead)
        config = c.wait_configuration(c.members)
        self.assertEqual(len(config["Servers"]), 2)
        self.assertIs(via.kv_put("removed/after", "1"), True)
        r = via.delete(f"/v1/operator/raft/peer?address={dead.rpc_address}")
        self.assertStatus(r, 500)
        self.assertIn("was not found in the Raft configuration", r.text())

    def test_transfer_leader(self):
        c = self.cluster
        old = c.leader()
        r = old.request("POST", "/v1/operator/raft/transfer-leader")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"Success": True})
        # Like Consul, the answer comes once the transfer is done: the old leader has stepped
        # down; the other servers learn the new leader within a heartbeat.
        self.assertNotEqual(old.leader(), old.rpc_address, "answered before leadership moved")
        new = wait_until(lambda: leader_other_than(c, old), 20, "leadership to move")
        target = next(s for s in c.members if s is not new)
        self.transfer_to(target)
        self.assertIs(c.wait_for_leader(), target)
        self.assertIs(target.kv_put("transfer/after", "1"), True)

    def transfer_to(self, target):
        """POST transfer-leader?id=<target's node ID> on the current leader; waits for it."""
        config = self.cluster.configuration()
        node_id = next(e["ID"] for e in config["Servers"] if e["Address"] == target.rpc_address)
        r = self.cluster.leader().request("POST", f"/v1/operator/raft/transfer-leader?id={node_id}")
        self.assertStatus(r, 200)
        self.assertEqual(target.leader(), target.rpc_address, "answered before the target led")
        wait_until(lambda: self.cluster.current_leader() is target, 20,
                   f"{target.name} to lead after the transfer")


class LeaderLeaves(ClusterAssertions):
    """Every server has leave_on_terminate: SIGTERM on the leader hands leadership over and
    removes it from the configuration."""

    cluster_config = {"leave_on_terminate": True}

    def test_leader_with_leave_on_terminate_hands_over_and_leaves(self):
        c = self.cluster
        old = c.leader()
        self.assertIs(old.kv_put("leave/before", "1"), True)
        rc, needed_kill = old.stop()
        self.assertEqual((rc, needed_kill), (0, False))
        c.forget(old)
        new = c.wait_for_leader()
        config = c.wait_configuration(c.members)
        self.assertEqual(len(config["Servers"]), 2)
        self.assertIs(new.kv_put("leave/after", "2"), True)
        for s in c.members:
            self.assertReads(s, "leave/before", "1")


# ---------------------------------------------------------------------------------------------

class Health(ClusterAssertions):
    """Autopilot health and the behaviour of servers cut off from the majority."""

    def test_autopilot_health_turns_429_when_a_server_is_down(self):
        c = self.cluster
        wait_until(lambda: self.health(c.leader())[0] == 200, 20, "a healthy cluster")
        status, body = self.health(c.leader())
        self.assertEqual(status, 200)
        self.assertIs(body["Healthy"], True)
        self.assertEqual(body["FailureTolerance"], 1)
        self.assertEqual(len(body["Servers"]), 3)
        down = c.followers()[0]
        down.kill()
        leader = c.wait_for_leader()

        def unhealthy():
            status, body = self.health(leader)
            return (status, body) if status == 429 else None
        status, body = wait_until(unhealthy, 20, "autopilot to report 429")
        self.assertIs(body["Healthy"], False)
        health = {s["Address"]: s for s in body["Servers"]}
        self.assertIs(health[down.rpc_address]["Healthy"], False)
        self.assertIs(health[leader.rpc_address]["Healthy"], True)
        c.restart(down)
        wait_until(lambda: self.health(leader)[0] == 200, 30, "autopilot to recover")

    def health(self, server):
        r = server.get("/v1/operator/autopilot/health")
        return r.status, r.json()

    def test_isolated_follower_answers_no_cluster_leader_after_the_hold(self):
        c = self.cluster
        leader = c.leader()
        self.assertIs(leader.kv_put("iso/key", "before"), True)
        follower = c.followers(leader)[0]
        self.wait_stale(follower, "iso/key", "before")
        c.isolate(follower)
        rest = [s for s in c.members if s is not follower]
        wait_until(lambda: follower.leader() == "", 20, "the isolated follower to lose its leader")
        self.assertIs(c.wait_for_leader(servers=rest).kv_put("iso/key", "after"), True)
        self.assertNoLeaderAnswers(follower)
        r = follower.get(kv_url("iso/key", "stale"))
        self.assertStatus(r, 200)
        self.assertEqual(value_of(r), "before", "a stale read is served from local state")
        self.assertEqual(r.headers.get("X-Consul-KnownLeader"), "false", repr(r))
        c.heal()
        c.wait_for_leader()
        self.assertReads(follower, "iso/key", "after")

    def test_isolated_leader_steps_down_and_majority_elects_another(self):
        c = self.cluster
        old = c.leader()
        self.assertIs(old.kv_put("iso/leader", "before"), True)
        c.isolate(old)
        rest = [s for s in c.members if s is not old]
        new = c.wait_for_leader(servers=rest)
        self.assertIsNot(new, old)
        self.assertIs(rest[0].kv_put("iso/leader", "after"), True)
        wait_until(lambda: old.leader() == "", 20, "the isolated leader to step down")
        self.assertNoLeaderAnswers(old)
        c.heal()
        self.assertIs(c.wait_for_leader(), new, "the healed old leader must not disrupt")
        self.assertReads(old, "iso/leader", "after")

    def assertNoLeaderAnswers(self, server):
        """A write, a default read and a consistent read on `server` each wait for a leader
        for the hold time, then answer 500 "No cluster leader"."""
        for method, path in (("PUT", kv_url("iso/never")), ("GET", kv_url("iso/key")),
                             ("GET", kv_url("iso/key", "consistent"))):
            started = time.monotonic()
            r = server.request(method, path, body=b"x" if method == "PUT" else None,
                               timeout=SLOW)
            elapsed = time.monotonic() - started
            self.assertStatus(r, 500, f"{method} {path}")
            self.assertEqual(r.text(), "No cluster leader", f"{method} {path}")
            self.assertGreater(elapsed, HOLD - 1.0, f"{method} {path} answered before the hold")


# ---------------------------------------------------------------------------------------------

class RetryJoinHostNames(ClusterAssertions):
    """-retry-join with host names instead of IP addresses."""

    start_cluster = False
    cluster_size = 0

    def test_retry_join_localhost(self):
        """`localhost` resolves to 127.0.0.1 only: s1 listens there; s2 and s3 (on the cluster's
        block) find it, and each other, through -retry-join localhost:<port>."""
        c = self.cluster
        port = free_port("127.0.0.1")
        name = f"localhost:{port}"
        first = c.new_server(ip="127.0.0.1", join=[name], bootstrap_expect=3,
                             ports=(free_port("127.0.0.1"), port))
        c.members.append(first)
        for _ in range(2):
            c.members.append(c.new_server(join=[name], bootstrap_expect=3))
        leader = c.start()
        self.assertIs(leader.kv_put("dns/localhost", "1"), True)
        for s in c.members:
            self.assertReads(s, "dns/localhost", "1")
        c.wait_configuration(c.members)

    def test_retry_join_name_with_several_addresses(self):
        """A name that resolves to all three servers (like a Kubernetes headless service). Each
        server runs in a private mount namespace whose /etc/hosts maps the name to the three
        addresses; the machine's /etc/hosts is not touched. Skipped where unshare/mount are not
        permitted."""
        c = self.cluster
        name = "cairn-servers.test"
        ips = [c.prefix + str(i) for i in (1, 2, 3)]
        hosts = os.path.join(c.root, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n" + "".join(f"{ip} {name}\n" for ip in ips))
        wrapper = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                   hosts]
        self.require_private_hosts(wrapper, name, len(ips))
        port = common_free_port(ips)
        for ip in ips:
            c.members.append(c.new_server(ip=ip, join=[f"{name}:{port}"], bootstrap_expect=3,
                                          ports=(free_port(ip), port), wrapper=wrapper))
        leader = c.start()
        self.assertIs(leader.kv_put("dns/multi", "1"), True)
        for s in c.members:
            self.assertReads(s, "dns/multi", "1")
        # A fourth server finds the cluster through the same name.
        fourth = c.new_server(join=[f"{name}:{port}"], wrapper=wrapper)
        fourth.start()
        c.members.append(fourth)
        c.wait_configuration(c.members)
        self.assertReads(fourth, "dns/multi", "1")

    def require_private_hosts(self, wrapper, name, count):
        if shutil.which("unshare") is None:
            self.skipTest("unshare is not installed")
        try:
            out = subprocess.run(wrapper + ["getent", "ahostsv4", name], capture_output=True,
                                 text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.skipTest(f"cannot run unshare: {e}")
        found = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
        if out.returncode != 0 or len(found) != count:
            self.skipTest("no private /etc/hosts (unshare -m + mount --bind not permitted): "
                          f"{out.stderr.strip() or out.stdout.strip()}")


def leader_other_than(cluster, old):
    """The agreed leader if it is not `old`, else None."""
    now = cluster.current_leader()
    return now if now is not None and now is not old else None


def common_free_port(ips, attempts=200):
    """A port free on every one of `ips` (checked by binding it on each)."""
    for _ in range(attempts):
        port = free_port(ips[0])
        if all(_port_free(ip, port) for ip in ips[1:]):
            return port
    raise AssertionError(f"no common free port on {ips}")


if __name__ == "__main__":
    main()
