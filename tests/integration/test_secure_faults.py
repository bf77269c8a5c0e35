"""The fault test (test_faults.py) on a TLS + ACL cluster: issue 15's "Done when".

Three servers with mutual TLS on the server port (verify_incoming, verify_server_hostname),
HTTPS only (plain HTTP off, client certificates required) and ACLs on with default_policy deny.
The KV clients of the fault test use a token whose one policy is `key_prefix "faults/" write`;
the harness's own calls (leader, Raft configuration, peer removal, partitions) use the
management token from `acl.tokens.initial_management`. The nemesis kills, pauses, partitions,
removes and replaces servers (a replaced server starts with an empty data dir and gets the ACL
tables back through Raft) while the clients run; the history must be linearizable and no
acknowledged write may be lost, exactly as in test_faults.py. An ACL refusal ("ACL not found"
on a server that has not caught up yet) is a 4xx: the op is recorded as failed, which is
correct since the guard refuses before anything is proposed.

Modes (CAIRN_SECURE_FAULTS_MODE): short (default, CI: 30-50 s of faults, >= 300 ops) and long
(>= 10,000 ops, several minutes). CAIRN_FAULTS_SEED and CAIRN_FAULTS_KINDS work as in
test_faults.py. Run with /usr/bin/python3.
"""
import http.client
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_faults  # noqa: E402
from cluster import Cluster, Server, free_port, wait_until  # noqa: E402
from harness import HttpResult, main  # noqa: E402
from test_tls import Pki, https_context  # noqa: E402

MODE = os.environ.get("CAIRN_SECURE_FAULTS_MODE", "short")
PROFILES = {
    "short": test_faults.Profile(3, duration=30, min_ops=300, max_duration=50, clients=6, keys=4),
    "long": test_faults.Profile(3, duration=300, min_ops=10000, max_duration=900, clients=10,
                                keys=10),
}
MANAGEMENT_SECRET = str(uuid.uuid4())
CLIENT_SECRET = str(uuid.uuid4())
CLIENT_RULES = 'key_prefix "faults/" { policy = "write" }'


class SecureServer(Server):
    """A server reached over HTTPS with the client certificate; plain HTTP is off. Requests to
    /v1/kv/ carry the client token, every other request the management token."""

    tls_context = None  # set by SecureCluster once the certificates exist

    def __init__(self, name, ip, root, **kw):
        super().__init__(name, ip, root, port_flags=False, **kw)
        self.https_port = free_port(ip)
        while self.https_port in (self.server_port, self.http_port):
            self.https_port = free_port(ip)
        # The ports in the configuration file: plain HTTP off.
        self.config["ports"] = {"http": -1, "https": self.https_port,
                                "server": self.server_port}

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        headers = dict(headers or {})
        headers.setdefault("X-Consul-Token",
                           CLIENT_SECRET if path.startswith("/v1/kv/") else MANAGEMENT_SECRET)
        conn = http.client.HTTPSConnection(self.ip, self.https_port, context=self.tls_context,
                                           timeout=timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return HttpResult(resp.status, resp.headers, resp.read())
        finally:
            conn.close()


class SecureCluster(Cluster):
    """A Cluster of SecureServers sharing one CA made with `cairn tls`; start() also creates the
    clients' policy and token and waits until every member knows it."""

    server_class = SecureServer

    def __init__(self, size, **kw):
        super().__init__(size, **kw)
        ips = [self.prefix + str(n) for n in range(1, 10)]  # members and their replacements
        self.pki = Pki(self.root, "pki", ips)
        self.tls_context = https_context(self.pki.ca, self.pki.client)
        self.config.update({
            "tls": {"defaults": {"ca_file": self.pki.ca, "cert_file": self.pki.server[0],
                                 "key_file": self.pki.server[1], "verify_incoming": True,
                                 "verify_outgoing": True},
                    "internal_rpc": {"verify_server_hostname": True}},
            "acl": {"enabled": True, "default_policy": "deny",
                    "tokens": {"initial_management": MANAGEMENT_SECRET}},
        })
        for server in self.servers:
            self.secure(server)

    def secure(self, server):
        server.tls_context = self.tls_context
        for key in ("tls", "acl"):
            server.config[key] = self.config[key]
        return server

    def new_server(self, *args, **kw):
        server = super().new_server(*args, **kw)
        return self.secure(server) if hasattr(self, "tls_context") else server

    def start(self, timeout=test_faults.RECOVERY_TIMEOUT):
        leader = super().start(timeout)
        r = leader.put("/v1/acl/policy", json.dumps({"Name": "faults-kv", "Rules": CLIENT_RULES}))
        assert r.status == 200, f"policy: {r!r}"
        r = leader.put("/v1/acl/token", json.dumps({"SecretID": CLIENT_SECRET,
                                                    "Description": "fault clients",
                                                    "Policies": [{"Name": "faults-kv"}]}))
        assert r.status == 200, f"token: {r!r}"
        for server in self.members:
            wait_until(lambda: server.get("/v1/acl/token/self",
                                          headers={"X-Consul-Token": CLIENT_SECRET}).status == 200,
                       timeout, f"{server.name} to know the clients' token", 0.05)
        return leader


class SecureFaultRun(test_faults.FaultRun):
    def make_cluster(self, profile):
        return SecureCluster(profile.servers, name=f"secure-faults{profile.servers}",
                             config={"leave_on_terminate": True},
                             log_level=os.environ.get("CAIRN_FAULTS_LOG_LEVEL", "info"))


class SecureFaultTests(test_faults.FaultTests):
    run_class = SecureFaultRun
    test_five_servers = None  # one 3-server run: the 5-server shape adds nothing to TLS/ACLs

    def test_three_servers(self):
        self.run_profile(PROFILES[MODE])

    def test_clients_cannot_leave_their_prefix(self):
        """The token the clients use really is limited: outside faults/ and off the KV API it is
        refused, and a request without a client certificate gets no answer."""
        cluster = SecureCluster(1, name="secure-check")
        try:
            server = cluster.start()
            self.assertEqual(server.put("/v1/kv/faults/x", "1").status, 200)
            denied = server.put("/v1/kv/other", "1")
            self.assertEqual(denied.status, 403)
            self.assertIn("lacks permission 'key:write'", denied.text())
            self.assertEqual(server.get("/v1/catalog/nodes",
                                        headers={"X-Consul-Token": CLIENT_SECRET}).json(), [])
            no_cert = http.client.HTTPSConnection(server.ip, server.https_port, timeout=10,
                                                  context=https_context(cluster.pki.ca))
            with self.assertRaises((OSError, http.client.HTTPException)):
                no_cert.request("GET", "/v1/status/leader")
                no_cert.getresponse().read()
            no_cert.close()
        finally:
            cluster.cleanup()


if __name__ == "__main__":
    main()
