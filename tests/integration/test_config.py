"""Consul configuration files through the real `cairn agent` (docs/configuration.md).

An agent started (without -dev) from a config dir written the way real Consul deployments write
theirs: many keys Cairn does not implement (one warning names them), services and checks in
JSON and YAML files (registered at start, re-applied on PUT /v1/agent/reload and SIGHUP, removed
with their file, also across a restart), and /v1/agent/metrics in Consul's JSON shape. Plus the
errors: a trailing comma, an unknown key.
"""
import json
import os
import re
import signal
import shutil
import subprocess
import tempfile
import unittest

from harness import Agent, AgentTestCase, binary, http_request, wait_until

WARNING = "ignoring keys Cairn does not implement"


def consul_json(agent, data_dir):
    """A server's consul.json as deployments write it (ports are this test's free ports)."""
    return {
        "datacenter": "dc1",
        "data_dir": data_dir,
        "log_level": "INFO",
        "node_name": "cfg-node",
        "server": True,
        "bootstrap_expect": 1,
        "retry_join": [f"127.0.0.1:{agent.server_port}"],
        "bind_addr": "127.0.0.1",
        "client_addr": "127.0.0.1",
        "ui_config": {"enabled": True},
        "acl": {"enabled": False, "default_policy": "allow", "enable_token_persistence": True,
                "tokens": {"agent": "00000000-0000-0000-0000-000000000000"}},
        "primary_datacenter": "dc1",
        "encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",
        "encrypt_verify_incoming": True,
        "encrypt_verify_outgoing": True,
        "verify_incoming": False,
        "verify_outgoing": False,
        "verify_server_hostname": False,
        "tls": {"defaults": {"verify_incoming": False}},
        "telemetry": {"prometheus_retention_time": "60s", "disable_hostname": True},
        "performance": {"raft_multiplier": 1},
        "ports": {"http": agent.http_port, "dns": agent.dns_port, "server": agent.server_port,
                  "grpc": agent.grpc_port, "serf_lan": -1},
        "addresses": {"http": "127.0.0.1", "dns": "127.0.0.1"},
        "dns_config": {"allow_stale": True, "node_ttl": "10s", "service_ttl": {"*": "5s"},
                       "only_passing": False},
        "recursors": ["127.0.0.53"],
        "node_meta": {"rack": "r7", "env": "test"},
        "connect": {"enabled": False},
        "autopilot": {"cleanup_dead_servers": True, "last_contact_threshold": "200ms"},
        "limits": {"http_max_conns_per_client": 200, "kv_max_value_size": 600000},
        "disable_update_check": True,
        "disable_remote_exec": True,
        "leave_on_terminate": False,
        "skip_leave_on_interrupt": True,
    }


SERVICES = {
    "services": [
        {"id": "web-1", "name": "web", "tags": ["v1", "http"], "port": 8080,
         "meta": {"version": "1.2"},
         "check": {"id": "web-ttl", "name": "web alive", "ttl": "30s", "status": "passing"}},
        {"name": "api", "port": 9090,
         "checks": [{"name": "api tcp", "tcp": "127.0.0.1:9", "interval": "10s",
                     "timeout": "1s"}]},
    ],
    "check": {"id": "disk", "name": "Disk", "ttl": "1m", "notes": "from a file"},
}

CACHE_YAML = """\
service:
  name: cache
  port: 6379
  tags: [primary]
  check:
    ttl: 15s
"""


class ConfigDirAgent(Agent):
    """An agent started as deployments start Consul: `cairn agent -config-dir DIR`, nothing else.
    The config dir is (re)written with this attempt's ports before every start."""

    def __init__(self, conf_dir, name):
        super().__init__(name=name)
        self.conf_dir = conf_dir

    def command(self):
        with open(os.path.join(self.conf_dir, "consul.json"), "w") as f:
            json.dump(consul_json(self, self.data_dir), f, indent=2)
        return [binary(), "agent", "-config-dir", self.conf_dir]


class RealisticConfig(AgentTestCase):
    @classmethod
    def setUpClass(cls):
        cls.conf_dir = tempfile.mkdtemp(prefix="cairn-it-conf-")
        with open(os.path.join(cls.conf_dir, "services.json"), "w") as f:
            json.dump(SERVICES, f, indent=2)
        with open(os.path.join(cls.conf_dir, "20-cache.yaml"), "w") as f:
            f.write(CACHE_YAML)
        cls.agent = ConfigDirAgent(cls.conf_dir, cls.__name__)
        try:
            cls.agent.start()
        except BaseException:
            cls.agent.cleanup()
            shutil.rmtree(cls.conf_dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.conf_dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.conf_dir, name)
        with open(path, "w") as f:
            f.write(text)
        self.addCleanup(lambda: os.path.exists(path) and os.remove(path))
        return path

    def services(self):
        r = self.agent.get("/v1/agent/services")
        self.assertStatus(r, 200)
        return r.json()

    def test_starts_with_one_warning_naming_the_ignored_keys(self):
        # The first start's output only: a reload logs the warning again, as Consul does.
        logs = ""
        for stream in ("stdout", "stderr"):
            with open(os.path.join(self.agent.work_dir, f"{self.agent.name}.1.{stream}.log"),
                      errors="replace") as f:
                logs += f.read()
        start = logs[:logs.index("Cairn agent running")]
        lines = [line for line in start.splitlines() if WARNING in line]
        self.assertEqual(len(lines), 1, logs)
        line = lines[0]
        for key in ("encrypt", "primary_datacenter",
                    "telemetry.prometheus_retention_time", "performance.raft_multiplier",
                    "autopilot.cleanup_dead_servers", "ports.serf_lan",
                    "limits.http_max_conns_per_client",
                    "connect.enabled", "recursors", "skip_leave_on_interrupt",
                    "(file consul.json)"):
            self.assertIn(key, line)
        # Implemented and no-op keys are not named (acl.* takes effect since the ACL system).
        self.assertNotIn("acl.enabled", line)
        # The TLS keys are implemented since issue 15 (docs/security.md).
        self.assertNotIn("tls.defaults.verify_incoming", line)
        self.assertNotIn(" verify_incoming,", line)
        for key in (" datacenter", "node_meta", "services", "dns_config.node_ttl",
                    "disable_update_check", "dns_config.allow_stale", "ui_config.enabled",
                    "20-cache.yaml", "services.json"):
            self.assertNotIn(key, line)

    def test_implemented_keys_take_effect(self):
        r = self.agent.get("/v1/agent/self")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["Config"]["NodeName"], "cfg-node")
        self.assertEqual(r.json()["DebugConfig"]["KVMaxValueSize"], 600000)
        node = wait_until(lambda: self.agent.get("/v1/catalog/node/cfg-node").json(), 30,
                          "the node in the catalog")
        self.assertEqual(node["Node"]["Meta"], {"rack": "r7", "env": "test"})

    def test_services_and_checks_from_json_and_yaml_files(self):
        services = self.services()
        self.assertEqual(set(services), {"web-1", "api", "cache"})
        self.assertEqual(services["web-1"]["Service"], "web")
        self.assertEqual(services["web-1"]["Tags"], ["v1", "http"])
        self.assertEqual(services["web-1"]["Meta"], {"version": "1.2"})
        self.assertEqual(services["cache"]["Port"], 6379)
        checks = self.agent.get("/v1/agent/checks").json()
        self.assertEqual(checks["web-ttl"]["Status"], "passing")
        self.assertEqual(checks["web-ttl"]["ServiceID"], "web-1")
        self.assertEqual(checks["service:api"]["Type"], "tcp")
        self.assertEqual(checks["disk"]["Notes"], "from a file")
        self.assertEqual(checks["disk"]["ServiceID"], "")
        # Anti-entropy puts them in the catalog like any registration.
        web = wait_until(lambda: self.agent.get("/v1/catalog/service/web").json(), 30,
                         "web in the catalog")
        self.assertEqual(web[0]["ServicePort"], 8080)
        self.assertEqual(web[0]["Node"], "cfg-node")

    def test_reload_applies_edits_and_removes_definitions_whose_file_is_gone(self):
        api_made = self.agent.put("/v1/agent/service/register",
                                  json.dumps({"Name": "manual", "Port": 1}))
        self.assertStatus(api_made, 200)
        self.addCleanup(lambda: self.agent.put("/v1/agent/service/deregister/manual"))
        extra = self.write("50-extra.json", json.dumps(
            {"services": [{"name": "extra", "port": 1000}, {"name": "gone-soon", "port": 1}]}))
        self.assertStatus(self.agent.put("/v1/agent/reload"), 200)
        self.assertTrue({"extra", "gone-soon", "manual"} <= set(self.services()))

        # Edited: one service changes its port, the other disappears.
        self.write("50-extra.json", json.dumps({"service": {"name": "extra", "port": 2000}}))
        self.assertStatus(self.agent.put("/v1/agent/reload"), 200)
        services = self.services()
        self.assertEqual(services["extra"]["Port"], 2000)
        self.assertNotIn("gone-soon", services)
        self.assertIn("manual", services)  # registered through the API: not the files' business

        # A file that does not parse: 500 naming file, line and column; nothing changes.
        bad = self.write("60-bad.json", '{"service": {"name": "x"},}')
        r = self.agent.put("/v1/agent/reload")
        self.assertStatus(r, 500)
        self.assertIn(f"{bad}:1:27: trailing comma before '}}'", r.text())
        self.assertIn("extra", self.services())
        os.remove(bad)

        # The file removed, then SIGHUP.
        os.remove(extra)
        self.agent.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "extra" not in self.services(), 20, "extra removed after SIGHUP")
        self.assertIn("manual", self.services())
        self.assertIn("web-1", self.services())

    def test_zz_definition_removed_while_stopped_is_gone_after_restart(self):
        path = self.write("70-restart.json", json.dumps({"service": {"name": "ephemeral"}}))
        self.assertStatus(self.agent.put("/v1/agent/reload"), 200)
        self.assertIn("ephemeral", self.services())
        self.agent.stop()
        os.remove(path)
        self.agent.start()
        services = self.services()
        self.assertNotIn("ephemeral", services)
        self.assertEqual({"web-1", "api", "cache"}, set(services))

    def test_metrics_json_has_consuls_shape(self):
        self.agent.get("/v1/status/leader")  # at least one HTTP request counted
        r = self.agent.get("/v1/agent/metrics")
        self.assertStatus(r, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        m = r.json()
        self.assertEqual(set(m), {"Timestamp", "Gauges", "Points", "Counters", "Samples"})
        self.assertRegex(m["Timestamp"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d0 \+0000 UTC$")
        self.assertEqual(m["Points"], [])
        self.assertTrue(m["Gauges"] and m["Counters"] and m["Samples"])
        for g in m["Gauges"]:
            self.assertEqual(set(g), {"Name", "Value", "Labels"})
        for s in m["Counters"] + m["Samples"]:
            self.assertEqual(set(s), {"Name", "Count", "Rate", "Sum", "Min", "Max", "Mean",
                                      "Stddev", "Labels"})
        by_name = {g["Name"]: g for g in m["Gauges"]}
        self.assertEqual(by_name["cairn_raft_is_leader"]["Value"], 1)
        requests = [c for c in m["Counters"] if c["Name"] == "cairn_http_requests_total"]
        self.assertTrue(any(c["Labels"].get("route") == "/v1/status/leader" and c["Count"] >= 1
                            for c in requests), requests)
        text = self.agent.get("/v1/agent/metrics?format=prometheus")
        self.assertStatus(text, 200)
        self.assertIn("# TYPE cairn_raft_is_leader gauge", text.text())


class ConfigErrors(unittest.TestCase):
    """Bad files stop the agent before it starts, naming file, line, column and key."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-it-conf-err-")
        self.addCleanup(lambda: shutil.rmtree(self.dir, ignore_errors=True))

    def start_with(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([binary(), "agent", "-dev", "-config-file", path],
                           capture_output=True, text=True, timeout=60)
        return path, p.returncode, p.stderr

    def test_trailing_comma_in_json(self):
        path, code, err = self.start_with("a.json", '{\n  "server": true,\n}\n')
        self.assertEqual(code, 1, err)
        self.assertIn(f"config file {path}:3:1: trailing comma before '}}'", err)

    def test_unknown_key_in_a_known_block(self):
        path, code, err = self.start_with("b.json", '{"acl": {"enabeld": true}}')
        self.assertEqual(code, 1, err)
        self.assertIn(f'config file {path}:1:21: unknown key "acl.enabeld"', err)

    def test_bad_service_definition(self):
        path, code, err = self.start_with("c.yaml", "services:\n  - port: 80\n")
        self.assertEqual(code, 1, err)
        self.assertIn(f"config file {path}:2:5: service: Missing service name", err)
        self.assertTrue(re.search(r"\bMissing service name\b", err))


if __name__ == "__main__":
    unittest.main()
