"""The DNS interface of the real binary, queried with dig (Debian dnsutils) over UDP and TCP
(docs/consul-api.md §10): node and service lookups, SRV with additional records, tags, RFC 2782,
health filtering, NXDOMAIN vs NODATA, SOA, and a malformed packet that must not hurt the agent.
Run with /usr/bin/python3."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase  # noqa: E402

DIG = shutil.which("dig")


@unittest.skipIf(DIG is None, "dig (dnsutils) is not installed")
class DnsTests(AgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for node, address, status, tags in (("dns-a", "10.3.0.1", "passing", ["primary"]),
                                            ("dns-b", "10.3.0.2", "warning", ["replica"]),
                                            ("dns-c", "10.3.0.3", "critical", ["replica"])):
            body = {"Node": node, "Address": address, "NodeMeta": {"zone": "z1"},
                    "Service": {"Service": "pg", "Port": 5432, "Tags": tags},
                    "Check": {"Name": "pg", "Status": status, "ServiceID": "pg"}}
            r = cls.agent.put("/v1/catalog/register", json.dumps(body))
            assert r.status == 200, r.text()

    def dig(self, name, rtype="A", *flags):
        out = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.agent.dns_port), "+time=5",
                              "+tries=2", name, rtype, *flags],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def short(self, name, rtype="A", *flags):
        return sorted(self.dig(name, rtype, "+short", *flags).split("\n")[:-1])

    def test_node_lookup(self):
        self.assertEqual(self.short("dns-a.node.consul"), ["10.3.0.1"])
        self.assertEqual(self.short("DNS-A.node.dc1.consul"), ["10.3.0.1"])
        self.assertIn('"zone=z1"', self.short("dns-a.node.consul", "TXT"))

    def test_service_lookup_filters_critical_instances(self):
        self.assertEqual(self.short("pg.service.consul"), ["10.3.0.1", "10.3.0.2"])
        self.assertEqual(self.short("replica.pg.service.consul"), ["10.3.0.2"])
        self.assertEqual(self.short("_pg._primary.service.consul", "SRV"),
                         ["1 1 5432 dns-a.node.dc1.consul."])

    def test_srv_has_additional_a_records(self):
        out = self.dig("pg.service.consul", "SRV")
        self.assertIn("ANSWER: 2", out)
        self.assertIn("ADDITIONAL SECTION", out)
        self.assertIn("10.3.0.1", out.split("ADDITIONAL SECTION")[1])

    def test_tcp(self):
        self.assertEqual(self.short("pg.service.consul", "A", "+tcp"), ["10.3.0.1", "10.3.0.2"])

    def test_negative_answers(self):
        out = self.dig("nope.service.consul")
        self.assertIn("status: NXDOMAIN", out)
        self.assertIn("SOA", out.split("AUTHORITY SECTION")[1])
        out = self.dig("dns-a.node.consul", "AAAA")
        self.assertIn("status: NOERROR", out)
        self.assertIn("ANSWER: 0", out)
        self.assertIn("status: NXDOMAIN", self.dig("pg.service.otherdc.consul"))

    def test_soa_and_ns_at_the_apex(self):
        self.assertIn("ns.consul. hostmaster.consul.", self.dig("consul", "SOA"))

    def test_garbage_packets_leave_the_server_answering(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for junk in (b"", b"\x00", b"\xff" * 12, b"\x12\x34" + b"\x01" * 40, os.urandom(600)):
                s.sendto(junk, ("127.0.0.1", self.agent.dns_port))
        self.assertEqual(self.short("dns-a.node.consul"), ["10.3.0.1"])


@unittest.skipIf(DIG is None, "dig (dnsutils) is not installed")
class DnsConfigTests(AgentTestCase):
    """dns_config from a config file: only_passing drops warning instances, TTLs apply."""

    @classmethod
    def setUpClass(cls):
        cls.config_dir = tempfile.mkdtemp(prefix="cairn-dns-config-")
        path = os.path.join(cls.config_dir, "dns.json")
        with open(path, "w") as f:
            json.dump({"dns_config": {"only_passing": True, "node_ttl": "30s",
                                      "service_ttl": {"*": "5s"}}}, f)
        cls.agent_args = ("-config-file", path)
        super().setUpClass()
        for node, address, status in (("cfg-a", "10.5.0.1", "passing"),
                                      ("cfg-b", "10.5.0.2", "warning")):
            body = {"Node": node, "Address": address,
                    "Service": {"Service": "kv", "Port": 1},
                    "Check": {"Name": "kv", "Status": status, "ServiceID": "kv"}}
            assert cls.agent.put("/v1/catalog/register", json.dumps(body)).status == 200

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    def test_only_passing_and_ttls(self):
        out = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.agent.dns_port), "+noall",
                              "+answer", "kv.service.consul"], capture_output=True, text=True,
                             timeout=30).stdout.split()
        self.assertEqual(out, ["kv.service.consul.", "5", "IN", "A", "10.5.0.1"])
        out = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.agent.dns_port), "+noall",
                              "+answer", "cfg-a.node.consul"], capture_output=True, text=True,
                             timeout=30).stdout.split()
        self.assertEqual(out[1], "30")


if __name__ == "__main__":
    harness.main()
