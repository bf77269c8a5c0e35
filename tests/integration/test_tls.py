"""TLS on real binaries (docs/security.md, "TLS"): certificates made by `cairn tls`, a 3-server
cluster with mutual TLS on the server port and HTTPS with client certificates, a server whose
certificate comes from another CA refused, a client agent without a certificate refused, the CLI
and python-consul over HTTPS, and certificates switched by SIGHUP on every server while writes
go on, none failing.

Run with /usr/bin/python3 (python3-consul is a Debian package).
"""
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClientAgent, Cluster, ServerDied, free_port  # noqa: E402
from harness import binary, wait_until  # noqa: E402

import consul  # noqa: E402

TIMEOUT = 60.0


def run_cairn(args, cwd, env=None):
    r = subprocess.run([binary()] + args, cwd=cwd, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **(env or {})))
    return r.returncode, r.stdout, r.stderr


class Pki:
    """A CA and certificates made with `cairn tls` in their own directory."""

    def __init__(self, root, name, ips):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        code, out, err = run_cairn(["tls", "ca", "create"], self.dir)
        assert code == 0, err
        assert "==> Saved consul-agent-ca.pem" in out, out
        self.ca = os.path.join(self.dir, "consul-agent-ca.pem")
        self.server = self._cert(["-server"] + [a for ip in ips for a in
                                                ("-additional-ipaddress", ip)])
        self.client = self._cert(["-client"])

    def _cert(self, flags):
        code, out, err = run_cairn(["tls", "cert", "create"] + flags, self.dir)
        assert code == 0, err
        base = re.search(r"==> Saved (\S+)\.pem", out).group(1)
        return (os.path.join(self.dir, base + ".pem"), os.path.join(self.dir, base + "-key.pem"))


def install(files):
    """Copies {destination: source} over the live files, each by an atomic rename."""
    for dest, src in files.items():
        shutil.copyfile(src, dest + ".new")
        os.replace(dest + ".new", dest)


def bundle(dest, *cas):
    with open(dest + ".new", "w") as f:
        for ca in cas:
            with open(ca) as c:
                f.write(c.read())
    os.replace(dest + ".new", dest)


def https_context(ca, cert=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def https_get(server, ctx, path, timeout=10.0):
    conn = http.client.HTTPSConnection(server.ip, server.https_port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class TlsCluster(unittest.TestCase):
    """A 3-server cluster, every server port with verify_incoming and verify_server_hostname,
    HTTPS beside plain HTTP (the harness waits on HTTP)."""

    def setUp(self):
        self.cluster = Cluster(3, name="tls")
        self.addCleanup(self._finish)
        root = self.cluster.root
        ips = [s.ip for s in self.cluster.members] + [self.cluster.prefix + str(n)
                                                      for n in range(4, 8)]
        self.pki = Pki(root, "pki1", ips)
        self.live = os.path.join(root, "live")
        os.makedirs(self.live)
        self.files = {name: os.path.join(self.live, name + ".pem")
                      for name in ("ca", "cert", "key")}
        install({self.files["ca"]: self.pki.ca, self.files["cert"]: self.pki.server[0],
                 self.files["key"]: self.pki.server[1]})
        for server in self.cluster.members:
            self.configure(server, self.files)
        self.cluster.start()

    def _finish(self):
        failed = any(t is self for t, _ in getattr(self._outcome.result, "failures", []) +
                     getattr(self._outcome.result, "errors", []))
        if failed or self.cluster.crashed():
            sys.stderr.write(self.cluster.logs())
        self.cluster.cleanup()

    def tls_config(self, files, verify_incoming=True):
        return {"tls": {"defaults": {"ca_file": files["ca"], "cert_file": files["cert"],
                                     "key_file": files["key"],
                                     "verify_incoming": verify_incoming,
                                     "verify_outgoing": True},
                        "internal_rpc": {"verify_server_hostname": True}}}

    def configure(self, server, files):
        server.https_port = free_port(server.ip)
        server.config.update(self.tls_config(files))
        server.config["ports"] = {"https": server.https_port}

    def client_ctx(self, pki=None):
        pki = pki or self.pki
        return https_context(pki.ca, pki.client)

    def test_cluster_replicates_over_tls_and_serves_https(self):
        leader = self.cluster.leader()
        for i, server in enumerate(self.cluster.members):  # followers forward over TLS
            server.kv_put(f"tls/{i}", f"v{i}")
        for server in self.cluster.members:
            status, body = https_get(server, self.client_ctx(), "/v1/kv/tls/2?raw")
            self.assertEqual((status, body), (200, b"v2"))
        # No client certificate: the HTTPS handshake is refused (verify_incoming).
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            https_get(leader, https_context(self.pki.ca), "/v1/kv/tls/2?raw")
        # A client that does not trust the CA refuses the server.
        other = Pki(self.cluster.root, "other", [])
        with self.assertRaises(ssl.SSLError):
            https_get(leader, https_context(other.ca, other.client), "/v1/kv/tls/2?raw")
        # The CLI over HTTPS, flags and CONSUL_* variables.
        addr = f"https://{leader.ip}:{leader.https_port}"
        code, out, err = run_cairn(["kv", "get", "-http-addr", addr, "-ca-file", self.pki.ca,
                                    "-client-cert", self.pki.client[0], "-client-key",
                                    self.pki.client[1], "tls/0"], self.cluster.root)
        self.assertEqual((code, out), (0, "v0\n"), err)
        env = {"CONSUL_HTTP_ADDR": f"{leader.ip}:{leader.https_port}", "CONSUL_HTTP_SSL": "true",
               "CONSUL_CACERT": self.pki.ca, "CONSUL_CLIENT_CERT": self.pki.client[0],
               "CONSUL_CLIENT_KEY": self.pki.client[1]}
        code, out, err = run_cairn(["kv", "put", "tls/cli", "yes"], self.cluster.root, env)
        self.assertEqual(code, 0, err)
        code, out, err = run_cairn(["kv", "get", "-client-cert", "", "tls/cli"], self.cluster.root,
                                   dict(env, CONSUL_CLIENT_CERT="", CONSUL_CLIENT_KEY=""))
        self.assertNotEqual(code, 0)  # no client certificate
        # python-consul over HTTPS.
        c = consul.Consul(host=leader.ip, port=leader.https_port, scheme="https",
                          verify=self.pki.ca, cert=self.pki.client)
        self.assertTrue(c.kv.put("tls/python", "ok"))
        self.assertEqual(c.kv.get("tls/python")[1]["Value"], b"ok")

    def test_server_of_another_ca_cannot_join(self):
        stranger_pki = Pki(self.cluster.root, "stranger", [self.cluster.prefix + "9"])
        stranger = self.cluster.new_server(ip=self.cluster.prefix + "9")
        files = {"ca": stranger_pki.ca, "cert": stranger_pki.server[0],
                 "key": stranger_pki.server[1]}
        self.configure(stranger, files)
        stranger.spawn()
        # The TLS handshakes between it and the members fail: it never joins.
        wait_until(lambda: "Handshake failed" in stranger.logs(limit=10 ** 6), TIMEOUT,
                   "the stranger's TLS handshakes to fail")
        ids = [s["Address"] for s in self.cluster.configuration()["Servers"]]
        self.assertNotIn(stranger.rpc_address, ids)
        self.assertEqual(len(ids), 3)
        self.assertIsNone(stranger.leader())  # no cluster for it

    def test_client_agent_needs_a_certificate_when_verify_incoming(self):
        join = [s.rpc_address for s in self.cluster.members]
        bare = ClientAgent("c1", self.cluster.prefix + "11", self.cluster.root, join=join)
        self.cluster.servers.append(bare)
        cfg = {"tls": {"defaults": {"ca_file": self.pki.ca, "verify_outgoing": True}}}
        bare.extra_args = ["-config-file", self._write(bare, cfg)]
        bare.spawn()
        wait_until(lambda: "Handshake failed" in "".join(
            s.logs(limit=10 ** 6) for s in self.cluster.members), TIMEOUT,
            "a server to refuse the client's handshake")
        # Its requests cannot reach a server: an error status, or no answer while it keeps
        # trying the servers (the forwarder's own deadline is longer than this wait).
        try:
            r = bare.get("/v1/kv/tls/none", timeout=10)
            self.assertNotIn(r.status, (200, 404), r)
        except OSError:
            pass

        good = ClientAgent("c2", self.cluster.prefix + "12", self.cluster.root, join=join)
        cfg = {"tls": {"defaults": {"ca_file": self.pki.ca, "cert_file": self.pki.client[0],
                                    "key_file": self.pki.client[1], "verify_outgoing": True},
                       "internal_rpc": {"verify_server_hostname": True}}}
        good.extra_args = ["-config-file", self._write(good, cfg)]
        self.cluster.servers.append(good)
        good.spawn()
        wait_until(lambda: good.alive() and good.put("/v1/kv/tls/client", b"c2").status == 200
                   if self._answers(good) else False, TIMEOUT, "the client with a certificate")
        self.assertEqual(self.cluster.leader().kv_get("tls/client")[0], "c2")

    def _answers(self, agent):
        try:
            agent.get("/v1/status/leader", timeout=2)
            return True
        except OSError:
            return False

    def _write(self, agent, config):
        path = os.path.join(agent.dir, "tls.json")
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    def test_sighup_switches_certificates_while_writes_go_on(self):
        pki2 = Pki(self.cluster.root, "pki2", [s.ip for s in self.cluster.members])
        stop = threading.Event()
        failures, done = [], [0]

        def writer(server):
            n = 0
            while not stop.is_set():
                try:
                    r = server.put(f"/v1/kv/rotate/{server.name}", str(n).encode(), timeout=15)
                    if r.status != 200:
                        failures.append((server.name, r.status, r.text()))
                except Exception as e:  # noqa: BLE001 - any failure counts
                    failures.append((server.name, repr(e)))
                n += 1
                done[0] += 1

        threads = [threading.Thread(target=writer, args=(s,)) for s in self.cluster.members]
        for t in threads:
            t.start()
        try:
            def hup_all():
                for s in self.cluster.members:
                    os.kill(s.proc.pid, signal.SIGHUP)
                for s in self.cluster.members:
                    wait_until(lambda s=s: s.logs(limit=10 ** 7).count("certificates reloaded")
                               >= self.reloads, TIMEOUT, f"{s.name} to reload")

            def progress(n=50):
                start = done[0]
                wait_until(lambda: done[0] >= start + n, TIMEOUT, f"{n} more writes")

            progress()
            # 1. Trust both CAs. 2. Switch every server to the new certificate. 3. Drop the old CA.
            self.reloads = 1
            bundle(self.files["ca"], self.pki.ca, pki2.ca)
            hup_all()
            progress()
            self.reloads = 2
            install({self.files["cert"]: pki2.server[0], self.files["key"]: pki2.server[1]})
            hup_all()
            progress()
            self.reloads = 3
            bundle(self.files["ca"], pki2.ca)
            hup_all()
            progress()
            # New HTTPS handshakes present the new certificate (gRPC looks again within 1 s).
            for s in self.cluster.members:
                status, _ = https_get(s, self.client_ctx(pki2), "/v1/status/leader")
                self.assertEqual(status, 200)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        sys.stderr.write(f"[tls] {done[0]} writes across three reloads, none failed\n")
        # The servers' gRPC listeners took the new certificate and dropped the old CA: a
        # restarted follower (which trusts only the new CA) replicates again.
        follower = self.cluster.followers()[0]
        self.cluster.restart(follower)
        self.cluster.leader().kv_put("rotate/after", "yes")
        wait_until(lambda: follower.kv_get("rotate/after", "stale")[0] == "yes", TIMEOUT,
                   "the restarted follower to replicate")


if __name__ == "__main__":
    unittest.main()
