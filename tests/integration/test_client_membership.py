"""Membership of client agents through the real binaries (docs/agent.md, "Membership"): 3 servers
with client_timeout 4s and client agents on loopback (cluster.py).

- /v1/agent/members on a client lists the servers and the clients exactly as a server does
  (?wan, ?segment too), and `cairn members` against a client shows the clients;
- kill -9 of a client: its serfHealth goes critical within client_timeout, the session created
  through it (default checks) is invalidated and a waiter on the other client takes the lock,
  every server and the other client list it failed (4), the other client keeps working;
- SIGTERM of a client (leave_on_terminate is true on clients by default): left (3), node
  deregistered; with -leave-on-terminate=false it is failed instead and its node stays;
- `cairn force-leave` and `cairn leave` against a client.
The times measured are printed, never asserted. Run with /usr/bin/python3."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import wait_until  # noqa: E402
from harness import binary, main  # noqa: E402
from test_client_agent import ClientsTestCase  # noqa: E402

SERVERS = {"s1", "s2", "s3"}
CLIENTS = {"c1", "c2", "c3", "c4"}
ALIVE, LEFT, FAILED = 1, 3, 4


def members(agent, query=""):
    """{name: member} of GET /v1/agent/members on `agent`."""
    r = agent.get("/v1/agent/members" + query)
    if r.status != 200:
        raise AssertionError(f"{agent.name}: members{query}: {r!r}")
    return {m["Name"]: m for m in r.json()}


def status_of(agent, name):
    """The member status `agent` lists for `name` (None when not listed or no answer)."""
    try:
        return members(agent).get(name, {}).get("Status")
    except (OSError, AssertionError):
        return None


def serf_health(agent, node):
    """The status of `node`'s serfHealth check as `agent` reads it (None when absent)."""
    for check in agent.get(f"/v1/health/node/{node}?stale").json() or []:
        if check["CheckID"] == "serfHealth":
            return check["Status"]
    return None


def catalog_nodes(agent):
    return {n["Node"] for n in agent.get("/v1/catalog/nodes?stale").json()}


def log(message):
    print(f"[client membership] {message}", file=sys.stderr)


class ClientMembership(ClientsTestCase):
    """One cluster for the class: the tests run in name order, the first with every client
    alive, the second killing and stopping them."""
    NAME = "membership"
    # Short, yet two missed heartbeats (every 2 s) from a client on a loaded machine do not fail it.
    CONFIG = {"client_timeout": "4s"}
    CLIENT_ARGS = ((), (), ("-leave-on-terminate=false",), ("-leave-on-terminate=false",))

    @classmethod
    def cluster_ready(cls):
        cls.c1, cls.c2, cls.c3, cls.c4 = cls.clients
        cls.agents = list(cls.cluster.members) + list(cls.clients)
        wait_until(lambda: all(
            {n: m["Status"] for n, m in members(a).items()}
            == dict.fromkeys(SERVERS | CLIENTS, ALIVE)
            for a in cls.agents), 30, "every agent to list the 3 servers and 4 clients alive")

    def test_1_a_client_lists_what_the_servers_list(self):
        servers = self.cluster.members
        on_server = members(servers[0])
        for client in (self.c1, self.c2):
            self.assertEqual(members(client), on_server, client.name)
        c1 = on_server["c1"]
        self.assertEqual((c1["Addr"], c1["Port"]), (self.c1.ip, self.c1.http_port))
        self.assertEqual(c1["Tags"]["role"], "node")
        self.assertEqual({n for n, m in on_server.items() if m["Tags"]["role"] == "consul"},
                         SERVERS)
        # WAN: the servers only, named <node>.<dc>, as on a server.
        self.assertEqual(members(self.c1, "?wan=1"), members(servers[1], "?wan=1"))
        self.assertEqual(set(members(self.c1, "?wan=1")), {f"{s}.dc1" for s in SERVERS})
        self.assertEqual(members(self.c2, "?segment=_all"), on_server)
        for agent in (servers[2], self.c2):
            r = agent.get("/v1/agent/members?segment=alpha")
            self.assertEqual((r.status, r.body),
                             (500, b"Network segments are not supported in this version of "
                                   b"Consul"), agent.name)
            r = agent.get("/v1/agent/members?wan=1&segment=alpha")
            self.assertEqual((r.status, r.body), (400, b"Cannot provide a segment with wan=true"))
        out = subprocess.run([binary(), "members", "-http-addr",
                              f"{self.c2.ip}:{self.c2.http_port}"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
        self.assertEqual(set(rows), SERVERS | CLIENTS, out.stdout)
        self.assertIn("client", rows["c1"])
        self.assertIn("alive", rows["c1"])

    def test_2_kill_of_a_client_then_sigterm_of_the_others(self):
        servers = self.cluster.members
        c1, c2, c3 = self.c1, self.c2, self.c3
        key = "membership/lock"
        # A session through c1 with the default checks (serfHealth of c1's node).
        r = c1.put("/v1/session/create", json.dumps({"Name": "held", "LockDelay": "0s"}))
        self.assertEqual(r.status, 200, r)
        held = r.json()["ID"]
        info = c2.get(f"/v1/session/info/{held}").json()[0]
        self.assertEqual((info["Node"], info["NodeChecks"]), ("c1", ["serfHealth"]))
        self.assertEqual(c1.put(f"/v1/kv/{key}?acquire={held}", b"c1").body, b"true")
        waiter = c2.put("/v1/session/create", json.dumps({"Name": "waiter"})).json()["ID"]
        self.assertEqual(c2.put(f"/v1/kv/{key}?acquire={waiter}", b"c2").body, b"false")

        killed_at = time.monotonic()
        c1.kill()
        wait_until(lambda: serf_health(servers[0], "c1") == "critical", 30,
                   "c1's serfHealth to go critical")
        critical = time.monotonic() - killed_at
        wait_until(lambda: c2.put(f"/v1/kv/{key}?acquire={waiter}", b"c2").body == b"true", 30,
                   "the waiter on c2 to acquire the lock", interval=0.05)
        acquired = time.monotonic() - killed_at
        self.assertEqual(c2.get(f"/v1/session/info/{held}").json() or [], [])
        for agent in servers + [c2, c3]:
            wait_until(lambda: status_of(agent, "c1") == FAILED, 30,
                       f"{agent.name} to list c1 failed")
        failed_everywhere = time.monotonic() - killed_at
        log(f"kill -9 of c1 (client_timeout 4s): serfHealth critical after {critical:.2f}s, "
            f"its session invalidated and the lock taken by a waiter on c2 after "
            f"{acquired:.2f}s, listed failed on every server and client after "
            f"{failed_everywhere:.2f}s")
        self.assertEqual(members(c2)["c1"]["Status"], FAILED)
        # The other clients carry on.
        self.assertEqual(c2.put("/v1/kv/membership/after", b"x").body, b"true")
        self.assertEqual(c3.get("/v1/kv/membership/after?raw").body, b"x")
        self.assertEqual(c2.get(f"/v1/kv/{key}").json()[0]["Session"], waiter)

        # SIGTERM with the client default (leave_on_terminate true): left, node deregistered.
        stopped_at = time.monotonic()
        status, needed_kill = c2.stop()
        self.assertEqual((status, needed_kill), (0, False), c2.logs())
        for server in servers:
            wait_until(lambda: status_of(server, "c2") == LEFT, 30,
                       f"{server.name} to list c2 left")
            wait_until(lambda: "c2" not in catalog_nodes(server), 30,
                       f"c2's node to be deregistered on {server.name}")
        log(f"SIGTERM of c2: exited {status}, listed left with its node deregistered on every "
            f"server {time.monotonic() - stopped_at:.2f}s after the signal")
        self.assertEqual(status_of(c3, "c2"), LEFT)
        # The waiter's session was c2's: deregistering the node destroyed it.
        self.assertIsNone(servers[0].get(f"/v1/kv/{key}").json()[0].get("Session"))

        # -leave-on-terminate=false wins over the default: SIGTERM is a failure, not a leave.
        status, _ = c3.stop()
        self.assertEqual(status, 0, c3.logs())
        wait_until(lambda: status_of(servers[1], "c3") == FAILED, 30,
                   "c3 (leave_on_terminate false) to be listed failed")
        self.assertIn("c3", catalog_nodes(servers[1]))
        self.assertEqual(serf_health(servers[1], "c3"), "critical")

        # `cairn force-leave` through a client (forwarded to a server), then `cairn leave` of
        # that client: it leaves although its leave_on_terminate is false, and exits.
        c4 = self.c4
        address = f"{c4.ip}:{c4.http_port}"
        out = subprocess.run([binary(), "force-leave", "-http-addr", address, "c3"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: "c3" not in catalog_nodes(servers[2]), 30, "c3 to be force-left")
        self.assertEqual(status_of(servers[2], "c3"), LEFT)
        c4.expected_exit = True
        out = subprocess.run([binary(), "leave", "-http-addr", address],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        c4.proc.wait(timeout=30)
        self.assertEqual(c4.proc.returncode, 0, c4.logs())
        self.assertEqual(status_of(servers[0], "c4"), LEFT)
        self.assertNotIn("c4", catalog_nodes(servers[0]))


if __name__ == "__main__":
    main()
