"""The everyday Consul commands of `cairn` against the real binary and a real agent started from a
consul.d-style directory (fixtures/consul.d: agent.hcl, services.hcl with checks, checks.json):
catalog datacenters|nodes|services, services register|deregister, reload, maint, info, validate,
operator autopilot get-config|state. Output shapes and messages follow `consul`.
Run with /usr/bin/python3.
"""
import os
import shutil
import tempfile
import unittest

from harness import Agent, AgentTestCase, wait_until
from test_cli import run_cairn

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "consul.d")


class ToolboxCase(AgentTestCase):
    """One agent per class, started with -config-dir on a copy of fixtures/consul.d."""

    @classmethod
    def setUpClass(cls):
        cls.conf_dir = tempfile.mkdtemp(prefix="cairn-it-consuld-")
        for name in os.listdir(FIXTURES):
            shutil.copy(os.path.join(FIXTURES, name), cls.conf_dir)
        cls.agent = Agent(extra_args=["-config-dir", cls.conf_dir], name=cls.__name__)
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

    def cairn(self, *args):
        return run_cairn(*args, env={"CAIRN_HTTP_ADDR": f"127.0.0.1:{self.agent.http_port}"})

    def ok(self, *args):
        code, out, err = self.cairn(*args)
        self.assertEqual(code, 0, f"cairn {' '.join(args)} failed: {out}{err}")
        return out

    def fails(self, *args):
        code, out, err = self.cairn(*args)
        self.assertEqual(code, 1, f"cairn {' '.join(args)} should fail: {out}{err}")
        return err

    def node_name(self):
        return self.agent.get("/v1/agent/self").json()["Config"]["NodeName"]

    def wait_service(self, name, present=True):
        wait_until(lambda: (name in self.agent.get("/v1/agent/services").json()) == present,
                   30, f"service {name} {'registered' if present else 'gone'}")


class Catalog(ToolboxCase):
    def test_datacenters(self):
        self.assertEqual(self.ok("catalog", "datacenters"), "toolbox-dc\n")

    def test_nodes_table_and_filters(self):
        node = self.node_name()
        lines = self.ok("catalog", "nodes").splitlines()
        self.assertEqual(lines[0].split(), ["Node", "ID", "Address", "DC"])
        row = lines[1].split()
        self.assertEqual(row[0], node)
        self.assertEqual(len(row[1]), 8)  # the ID's first 8 characters, as consul prints it
        self.assertEqual(row[3], "toolbox-dc")
        detailed = self.ok("catalog", "nodes", "-detailed")
        self.assertEqual(detailed.splitlines()[0].split(),
                         ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"])
        self.assertIn("env=test, rack=r7", detailed)  # node_meta from agent.hcl, sorted
        wait_until(lambda: node in self.cairn("catalog", "nodes", "-service=hopscotch")[1],
                   30, "hopscotch in the catalog")
        self.assertIn(node, self.ok("catalog", "nodes", "-node-meta", "rack=r7"))
        code, out, err = self.cairn("catalog", "nodes", "-node-meta", "rack=r8")
        self.assertEqual((code, out), (0, ""))
        self.assertEqual(err, "No nodes match the given query - try expanding your search.\n")
        code, out, err = self.cairn("catalog", "nodes", "-service", "nonexistent")
        self.assertEqual((code, out), (0, ""))
        self.assertIn("No nodes match", err)
        self.assertIn("want key=value", self.fails("catalog", "nodes", "-node-meta", "rack"))

    def test_services_with_tags_and_node(self):
        wait_until(lambda: "redis" in self.cairn("catalog", "services")[1], 30, "redis listed")
        out = self.ok("catalog", "services")
        self.assertEqual(out.splitlines(), sorted(out.splitlines()))
        self.assertIn("hopscotch", out.splitlines())
        tags = {line.split()[0]: line.split()[1:] for line in
                self.ok("catalog", "services", "-tags").splitlines()}
        self.assertEqual(tags["hopscotch"], ["primary,v1"])
        self.assertEqual(tags["redis"], ["cache"])
        on_node = self.ok("catalog", "services", "-node", self.node_name()).splitlines()
        self.assertIn("hopscotch", on_node)
        code, out, err = self.cairn("catalog", "services", "-node", "no-such-node")
        self.assertEqual((code, out), (0, ""))
        self.assertIn("No services match", err)

    def test_usage_errors(self):
        err = self.fails("catalog", "nodes", "-bogus")
        self.assertIn("flag provided but not defined: -bogus", err)
        self.assertIn("Usage: cairn catalog nodes", err)
        self.assertIn("Unknown command: catalog frobnicate", self.fails("catalog", "frobnicate"))
        self.assertIn("Usage: cairn catalog", self.fails("catalog"))
        self.assertIn("Too many arguments", self.fails("catalog", "datacenters", "extra"))
        code, out, _ = self.cairn("catalog", "-h")
        self.assertEqual(code, 0)
        self.assertIn("datacenters", out)


class Services(ToolboxCase):
    def test_register_and_deregister_with_flags(self):
        out = self.ok("services", "register", "-name=web", "-id=web-1", "-port=8081",
                      "-tag=a", "-tag=b", "-meta", "owner=ops", "-address=127.0.0.9")
        self.assertEqual(out, "Registered service: web\n")
        svc = self.agent.get("/v1/agent/service/web-1").json()
        self.assertEqual((svc["Service"], svc["Port"], svc["Tags"], svc["Meta"], svc["Address"]),
                         ("web", 8081, ["a", "b"], {"owner": "ops"}, "127.0.0.9"))
        self.assertEqual(self.ok("services", "deregister", "-id=web-1"),
                         "Deregistered service: web-1\n")
        self.wait_service("web-1", present=False)

    def test_register_and_deregister_from_hcl_and_json_files(self):
        d = tempfile.mkdtemp(prefix="cairn-it-svc-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        hcl = os.path.join(d, "api.hcl")
        with open(hcl, "w") as f:
            f.write('service {\n  name = "api"\n  port = 9000\n'
                    '  check {\n    ttl = "10s"\n  }\n}\n')
        js = os.path.join(d, "queue.json")
        with open(js, "w") as f:
            f.write('{"services": [{"id": "q1", "name": "queue"}, {"id": "q2", "name": "queue"}]}')
        self.assertEqual(self.ok("services", "register", hcl, js),
                         "Registered service: api\nRegistered service: queue\n"
                         "Registered service: queue\n")
        services = self.agent.get("/v1/agent/services").json()
        self.assertEqual(services["api"]["Port"], 9000)
        self.assertIn("q2", services)
        checks = self.agent.get("/v1/agent/checks").json()
        self.assertEqual(checks["service:api"]["ServiceID"], "api")
        self.assertEqual(self.ok("services", "deregister", hcl, js),
                         "Deregistered service: api\nDeregistered service: q1\n"
                         "Deregistered service: q2\n")
        self.wait_service("q2", present=False)

    def test_errors(self):
        self.assertIn("Service name is required", self.fails("services", "register"))
        self.assertIn("want key=value",
                      self.fails("services", "register", "-name=x", "-meta", "novalue"))
        self.assertIn("cannot be used together",
                      self.fails("services", "register", "-name=x", "/nonexistent.hcl"))
        self.assertIn("No such file",
                      self.fails("services", "register", "/nonexistent/x.hcl"))
        self.assertIn("give either -id or service definition files",
                      self.fails("services", "deregister"))
        self.assertIn("invalid value", self.fails("services", "register", "-name=x", "-port=abc"))


class AgentCommands(ToolboxCase):
    def test_reload_picks_up_a_new_hcl_file_and_drops_a_removed_one(self):
        path = os.path.join(self.conf_dir, "extra.hcl")
        with open(path, "w") as f:
            f.write('service {\n  name = "late"\n  port = 7000\n}\n')
        self.addCleanup(lambda: os.path.exists(path) and os.remove(path))
        self.assertEqual(self.ok("reload"), "Configuration reload triggered\n")
        self.wait_service("late")
        os.remove(path)
        self.ok("reload")
        self.wait_service("late", present=False)

    def test_reload_reports_a_bad_file(self):
        path = os.path.join(self.conf_dir, "broken.hcl")
        with open(path, "w") as f:
            f.write('service {\n  name = \n}\n')
        self.addCleanup(lambda: os.path.exists(path) and os.remove(path))
        err = self.fails("reload")
        self.assertIn("broken.hcl:3:1", err)
        os.remove(path)
        self.ok("reload")

    def test_maint_node_and_service(self):
        self.assertEqual(self.ok("maint", "-enable", "-reason", "kernel upgrade"),
                         "Node maintenance is now enabled\n")
        self.addCleanup(self.cairn, "maint", "-disable")
        self.assertEqual(self.ok("maint", "-enable", "-service", "hopscotch-1"),
                         'Service maintenance is now enabled for "hopscotch-1"\n')
        self.addCleanup(self.cairn, "maint", "-disable", "-service", "hopscotch-1")
        listing = self.ok("maint")
        self.assertIn(f"Node:\n  Name:   {self.node_name()}\n  Reason: kernel upgrade\n", listing)
        self.assertIn("Service:\n  ID:     hopscotch-1\n", listing)
        self.assertEqual(self.ok("maint", "-disable", "-service", "hopscotch-1"),
                         'Service maintenance is now disabled for "hopscotch-1"\n')
        self.assertEqual(self.ok("maint", "-disable"), "Node maintenance is now disabled\n")
        self.assertEqual(self.ok("maint"), "")
        self.assertIn("Only one of -enable or -disable",
                      self.fails("maint", "-enable", "-disable"))
        self.assertIn("-reason flag requires -enable", self.fails("maint", "-reason", "x"))
        self.assertIn("404", self.fails("maint", "-enable", "-service", "no-such-service"))

    def test_info(self):
        out = self.ok("info")
        self.assertIn("Config:\n", out)
        self.assertIn(f"\tNodeName = {self.node_name()}\n", out)
        self.assertIn("\tDatacenter = toolbox-dc\n", out)

    def test_operator_autopilot(self):
        self.assertEqual(self.ok("operator", "autopilot", "get-config"),
                         "CleanupDeadServers = true\nLastContactThreshold = 200ms\n"
                         "MaxTrailingLogs = 250\nMinQuorum = 0\nServerStabilizationTime = 10s\n"
                         'RedundancyZoneTag = ""\nDisableUpgradeMigration = false\n'
                         'UpgradeVersionTag = ""\n')
        node_id = self.agent.get("/v1/agent/self").json()["Config"]["NodeID"]
        state = self.ok("operator", "autopilot", "state")
        self.assertIn(f"Leader:                       {node_id}\n", state)
        self.assertIn(f"Voters:\n   {node_id}\n", state)
        self.assertIn(f"      Name:            {self.node_name()}\n", state)
        self.assertIn("      Status:          leader\n", state)
        self.assertIn("Unknown command: operator autopilot set",
                      self.fails("operator", "autopilot", "set"))


class ReadableLogs(AgentTestCase):
    agent_args = ("-log-level", "info")

    def test_start_banner_and_leader_by_name(self):
        node = self.agent.get("/v1/agent/self").json()["Config"]["NodeName"]
        logs = self.agent.logs()
        self.assertRegex(logs, r"agent: Cairn v[0-9.]+ \(revision \w+\) starting a server agent: "
                               rf"node={node} dc=dc1 ports: http=127\.0\.0\.1:{self.agent.http_port} "
                               rf"dns=127\.0\.0\.1:{self.agent.dns_port} "
                               rf"server=127\.0\.0\.1:{self.agent.server_port} "
                               rf"grpc=127\.0\.0\.1:{self.agent.grpc_port}")
        self.assertIn(f"raft: leader is now {node} (127.0.0.1:{self.agent.server_port}) "
                      "(I am leader)", logs)


class Validate(unittest.TestCase):
    def test_valid_fixture_dir_and_files(self):
        code, out, err = run_cairn("validate", FIXTURES)
        # The fixture has no data_dir (the test agent gets -data-dir): validate says so, as
        # `consul validate` does for a configuration an agent could not start with.
        self.assertEqual(code, 1, out + err)
        self.assertIn("data_dir (-data-dir) is required", err)
        d = tempfile.mkdtemp(prefix="cairn-it-validate-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        for name in os.listdir(FIXTURES):
            shutil.copy(os.path.join(FIXTURES, name), d)
        with open(os.path.join(d, "data.hcl"), "w") as f:
            f.write(f'data_dir = "{d}/data"\n')
        self.assertEqual(run_cairn("validate", d), (0, "Configuration is valid!\n", ""))
        self.assertEqual(run_cairn("validate", "-quiet", d), (0, "", ""))
        self.assertFalse(os.path.exists(os.path.join(d, "data")))  # nothing was started

    def test_errors_name_file_line_and_column(self):
        d = tempfile.mkdtemp(prefix="cairn-it-validate-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        bad = os.path.join(d, "bad.hcl")
        with open(bad, "w") as f:
            f.write('data_dir = "/tmp/x"\nports {\n  http = "a" "b"\n}\n')
        code, out, err = run_cairn("validate", bad)
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, f"Config validation failed: config file {bad}:4:1: expected '=' or "
                              "'{' after key \"b\", found '}'\n")
        with open(bad, "w") as f:
            f.write('data_dir = "/tmp/x"\nbogus_key = 1\n')
        code, _, err = run_cairn("validate", bad)
        self.assertEqual(code, 1)
        self.assertIn(f"{bad}:2:13: unknown key \"bogus_key\"", err)
        with open(bad, "w") as f:
            f.write('data_dir = "/tmp/x"\nservice {\n  port = 80\n}\n')
        code, _, err = run_cairn("validate", bad)
        self.assertEqual(code, 1)
        self.assertIn("missing service name", err)
        code, _, err = run_cairn("validate")
        self.assertEqual(code, 1)
        self.assertIn("Must specify at least one config file or directory", err)
        code, _, err = run_cairn("validate", os.path.join(d, "missing.hcl"))
        self.assertEqual(code, 1)
        self.assertIn("no such file or directory", err)


if __name__ == "__main__":
    unittest.main()
