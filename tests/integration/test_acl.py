"""ACLs against a real agent (docs/security.md): bootstrap once, tokens/policies/roles over
/v1/acl/*, the route x token matrix (every registered route with no token, a read token, a write
token, a management token and a deleted token), filtered lists, python-consul with tokens,
blocking queries re-checked when their token is deleted or its policy narrowed, DNS answers
filtered by the DNS token (dig), and ACLs off by default. Run with /usr/bin/python3."""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AgentTestCase  # noqa: E402

try:
    import consul
except ImportError:  # pragma: no cover - depends on the interpreter
    consul = None

MANAGEMENT_SECRET = "it-initial-management-secret"

READ_RULES = """
key_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "read" }
session_prefix "" { policy = "read" }
event_prefix "" { policy = "read" }
agent_prefix "" { policy = "read" }
query_prefix "" { policy = "read" }
operator = "read"
acl = "read"
"""

WRITE_RULES = READ_RULES.replace('"read"', '"write"')

# Every registered route: (method, path, body, level). level: "open" (any valid token, or none),
# "list" (anyone; the answer is filtered), "read", "write", "management".
# NODE, ROLE and TOKEN are substituted by the test (objects that exist, so that a handler's own
# "ACL not found" for a missing object is not mistaken for a refusal).
ROUTES = [
    ("GET", "/v1/status/leader", None, "open"),
    ("GET", "/v1/status/peers", None, "open"),
    ("GET", "/v1/operator/raft/self-health", None, "open"),
    ("GET", "/v1/catalog/datacenters", None, "open"),
    ("GET", "/", None, "open"),
    ("GET", "/ui", None, "open"),
    ("GET", "/ui/", None, "open"),
    ("GET", "/ui/assets/none.js", None, "open"),
    ("GET", "/v1/acl/token/self", None, "open"),
    ("GET", "/v1/kv/?recurse", None, "list"),
    ("GET", "/v1/kv/?keys", None, "list"),
    ("GET", "/v1/catalog/nodes", None, "list"),
    ("GET", "/v1/catalog/services", None, "list"),
    ("GET", "/v1/health/state/any", None, "list"),
    ("GET", "/v1/agent/members", None, "list"),
    ("GET", "/v1/agent/services", None, "list"),
    ("GET", "/v1/agent/checks", None, "list"),
    ("GET", "/v1/session/list", None, "list"),
    ("GET", "/v1/session/info/00000000-0000-0000-0000-00000000abcd", None, "list"),
    ("GET", "/v1/event/list", None, "list"),
    ("GET", "/v1/kv/matrix/k", None, "read"),
    ("PUT", "/v1/txn", [{"KV": {"Verb": "get", "Key": "matrix/k"}}], "read"),
    ("GET", "/v1/operator/raft/configuration", None, "read"),
    ("GET", "/v1/operator/autopilot/health", None, "read"),
    ("GET", "/v1/operator/autopilot/configuration", None, "read"),
    ("GET", "/v1/catalog/service/web", None, "read"),
    ("GET", "/v1/catalog/node/NODE", None, "read"),
    ("GET", "/v1/catalog/node-services/NODE", None, "read"),
    ("GET", "/v1/health/node/NODE", None, "read"),
    ("GET", "/v1/health/checks/web", None, "read"),
    ("GET", "/v1/health/service/web", None, "read"),
    ("GET", "/v1/agent/self", None, "read"),
    ("GET", "/v1/agent/metrics", None, "read"),
    # agent:read, as Consul; a bad level answers 400 after the ACL check, so the call returns.
    ("GET", "/v1/agent/monitor?loglevel=nope", None, "read"),
    ("GET", "/metrics", None, "read"),
    ("GET", "/v1/agent/service/ghost", None, "read"),
    ("GET", "/v1/agent/health/service/id/ghost", None, "read"),
    ("GET", "/v1/agent/health/service/name/web", None, "read"),
    ("GET", "/v1/session/node/NODE", None, "read"),
    ("GET", "/v1/acl/token/00000000-0000-0000-0000-000000000002", None, "read"),
    ("GET", "/v1/acl/tokens", None, "read"),
    ("GET", "/v1/acl/policy/00000000-0000-0000-0000-000000000001", None, "read"),
    ("GET", "/v1/acl/policy/name/global-management", None, "read"),
    ("GET", "/v1/acl/policies", None, "read"),
    ("GET", "/v1/acl/role/ROLE", None, "read"),
    ("GET", "/v1/acl/role/name/matrix-role", None, "read"),
    ("GET", "/v1/acl/roles", None, "read"),
    ("PUT", "/v1/kv/matrix/k", "v", "write"),
    ("DELETE", "/v1/kv/matrix/gone", None, "write"),
    ("DELETE", "/v1/kv/matrix/tree/?recurse", None, "write"),
    ("PUT", "/v1/txn", [{"KV": {"Verb": "set", "Key": "matrix/t", "Value": "eA=="}}], "write"),
    ("DELETE", "/v1/operator/raft/peer?id=ghost", None, "write"),
    ("POST", "/v1/operator/raft/transfer-leader?id=ghost", None, "write"),
    ("PUT", "/v1/catalog/register", {"Node": "matrix-node", "Address": "127.0.0.9",
                                     "Service": {"Service": "web"}}, "write"),
    ("PUT", "/v1/catalog/deregister", {"Node": "ghost-node"}, "write"),
    ("PUT", "/v1/agent/service/register", {"Name": "web", "ID": "web-matrix"}, "write"),
    ("PUT", "/v1/agent/service/deregister/ghost", None, "write"),
    ("PUT", "/v1/agent/check/register", {"Name": "matrix-ttl", "TTL": "30s"}, "write"),
    ("PUT", "/v1/agent/check/deregister/ghost", None, "write"),
    ("PUT", "/v1/agent/check/pass/ghost", None, "write"),
    ("PUT", "/v1/agent/check/warn/ghost", None, "write"),
    ("PUT", "/v1/agent/check/fail/ghost", None, "write"),
    ("PUT", "/v1/agent/check/update/ghost", {"Status": "passing"}, "write"),
    ("PUT", "/v1/agent/maintenance?enable=false", None, "write"),
    ("PUT", "/v1/agent/service/maintenance/ghost?enable=false", None, "write"),
    ("PUT", "/v1/agent/reload", None, "write"),
    ("PUT", "/v1/agent/join/127.0.0.1", None, "write"),
    ("PUT", "/v1/agent/force-leave/ghost", None, "write"),
    ("PUT", "/v1/session/create", {}, "write"),
    ("PUT", "/v1/session/destroy/00000000-0000-0000-0000-00000000abcd", None, "write"),
    ("PUT", "/v1/session/renew/00000000-0000-0000-0000-00000000abcd", None, "write"),
    ("PUT", "/v1/event/fire/deploy", None, "write"),
    # operator:write; the body is not JSON, so an allowed caller changes nothing (400).
    ("PUT", "/v1/operator/autopilot/configuration", "{not json", "write"),
    ("PUT", "/v1/acl/token", {"Description": "made by the matrix"}, "write"),
    ("PUT", "/v1/acl/token/ghost", {}, "write"),
    ("DELETE", "/v1/acl/token/ghost", None, "write"),
    ("PUT", "/v1/acl/token/TOKEN/clone", {}, "write"),
    ("PUT", "/v1/acl/policy", {"Name": "not a valid name"}, "write"),
    ("PUT", "/v1/acl/policy/ghost", {"Name": "ghost"}, "write"),
    ("DELETE", "/v1/acl/policy/ghost", None, "write"),
    ("PUT", "/v1/acl/role", {"Name": "not a valid name"}, "write"),
    ("PUT", "/v1/acl/role/ghost", {"Name": "ghost"}, "write"),
    ("DELETE", "/v1/acl/role/ghost", None, "write"),
    ("GET", "/v1/snapshot", None, "management"),
    ("PUT", "/v1/snapshot", "not a snapshot", "management"),
    # Prepared queries: query:write on the name to create; listing and executing are open (the
    # answers are filtered).
    ("POST", "/v1/query", {"Name": "matrix-query", "Service": {"Service": "x"}}, "write"),
    ("GET", "/v1/query", None, "list"),
    ("GET", "/v1/query/matrix-query/execute", None, "list"),
    # Last, and only with the callers that must be refused: a caller allowed through would make
    # the agent leave and stop.
    ("PUT", "/v1/agent/leave", None, "write!"),
]

# PUT /v1/acl/bootstrap is tested on its own (it is the one route an unknown token may call).
# A route added to the agent but not to the enforcer's table needs a management token
# (tests/unit/http/acl_test.cc); add it here too (test_route_matrix_covers_every_registered_route
# fails until it is). A level ending in "!" is called only by the callers it must refuse.
LEVELS = ("open", "list", "read", "write", "management")
ALLOWED = {  # which callers get past the guard, per level
    "none": {"open", "list"},
    "read": {"open", "list", "read"},
    "write": {"open", "list", "read", "write"},
    "management": set(LEVELS),
    "deleted": set(),
}


class AclAgent(AgentTestCase):
    """One agent with ACLs on, default deny, and an initial management token."""

    @classmethod
    def setUpClass(cls):
        cls.config_dir = tempfile.mkdtemp(prefix="cairn-it-acl-")
        path = os.path.join(cls.config_dir, "acl.json")
        with open(path, "w") as f:
            json.dump({"acl": {"enabled": True, "default_policy": "deny",
                               "tokens": {"initial_management": MANAGEMENT_SECRET}}}, f)
        cls.agent_args = ("-config-file", path)
        super().setUpClass()
        cls.node = cls.call("GET", "/v1/agent/self", token=MANAGEMENT_SECRET).json()[
            "Config"]["NodeName"]

    @classmethod
    def call(cls, method, path, body=None, token=None, headers=None):
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["X-Consul-Token"] = token
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        return cls.agent.request(method, path, body=body, headers=hdrs)

    def ok(self, method, path, body=None, token=MANAGEMENT_SECRET):
        r = self.call(method, path, body, token)
        self.assertEqual(r.status, 200, f"{method} {path}: {r.status} {r.text()}")
        return r.json()

    def policy(self, name, rules):
        return self.ok("PUT", "/v1/acl/policy", {"Name": name, "Rules": rules})

    def token(self, *policy_names, **extra):
        body = {"Policies": [{"Name": n} for n in policy_names]}
        body.update(extra)
        return self.ok("PUT", "/v1/acl/token", body)


class Acl(AclAgent):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.call("PUT", "/v1/acl/bootstrap")
        assert r.status == 200, r.text()
        cls.bootstrap = r.json()

    def test_bootstrap_only_once(self):
        self.assertEqual(self.bootstrap["Description"], "Bootstrap Token (Global Management)")
        self.assertEqual(self.bootstrap["Policies"],
                         [{"ID": "00000000-0000-0000-0000-000000000001",
                           "Name": "global-management"}])
        for key in ("AccessorID", "SecretID", "CreateTime", "Hash", "CreateIndex",
                    "ModifyIndex", "Local"):
            self.assertIn(key, self.bootstrap)
        again = self.call("PUT", "/v1/acl/bootstrap")
        self.assertEqual(again.status, 403)
        self.assertRegex(again.text(), r"^ACL bootstrap no longer allowed \(reset index: \d+\)$")
        # The bootstrap token is a management token.
        r = self.call("GET", "/v1/snapshot", token=self.bootstrap["SecretID"])
        self.assertEqual(r.status, 200)

    def test_default_policy_header(self):
        r = self.call("GET", "/v1/status/leader")
        self.assertEqual(r.headers["X-Consul-Default-ACL-Policy"], "deny")

    def test_tokens_policies_roles(self):
        p = self.policy("crud-read", 'key_prefix "crud/" { policy = "read" }')
        self.assertEqual(p["Rules"], 'key_prefix "crud/" { policy = "read" }')
        self.assertEqual(self.ok("GET", "/v1/acl/policy/name/crud-read")["ID"], p["ID"])
        stubs = self.ok("GET", "/v1/acl/policies")
        self.assertIn("crud-read", [s["Name"] for s in stubs])
        self.assertNotIn("Rules", stubs[0])
        role = self.ok("PUT", "/v1/acl/role", {"Name": "crud-role", "Policies": [{"ID": p["ID"]}]})
        self.assertEqual(role["Policies"], [{"ID": p["ID"], "Name": "crud-read"}])
        t = self.ok("PUT", "/v1/acl/token", {"Description": "crud", "Roles": [{"Name": "crud-role"}]})
        self.assertEqual(t["Roles"], [{"ID": role["ID"], "Name": "crud-role"}])
        self.ok("PUT", "/v1/kv/crud/a", "1")
        self.assertEqual(self.call("GET", "/v1/kv/crud/a", token=t["SecretID"]).status, 200)
        self.assertEqual(self.call("PUT", "/v1/kv/crud/a", "2", token=t["SecretID"]).status, 403)
        # self, read (secret hidden from acl:read callers), list, update, clone, delete.
        me = self.ok("GET", "/v1/acl/token/self", token=t["SecretID"])
        self.assertEqual(me["AccessorID"], t["AccessorID"])
        self.assertEqual(me["SecretID"], t["SecretID"])
        reader = self.token(self.policy("acl-reader", 'acl = "read"')["Name"])
        seen = self.ok("GET", "/v1/acl/token/" + t["AccessorID"], token=reader["SecretID"])
        self.assertEqual(seen["SecretID"], "<hidden>")
        listed = self.ok("GET", "/v1/acl/tokens?role=" + role["ID"])
        self.assertEqual([x["AccessorID"] for x in listed], [t["AccessorID"]])
        updated = self.ok("PUT", "/v1/acl/token/" + t["AccessorID"],
                          {"Description": "crud v2", "Policies": [{"ID": p["ID"]}]})
        self.assertEqual(updated["Description"], "crud v2")
        self.assertEqual(updated["SecretID"], t["SecretID"])
        self.assertEqual(updated["CreateIndex"], t["CreateIndex"])
        self.assertGreater(updated["ModifyIndex"], t["ModifyIndex"])
        clone = self.ok("PUT", "/v1/acl/token/" + t["AccessorID"] + "/clone",
                        {"Description": "the clone"})
        self.assertNotEqual(clone["SecretID"], t["SecretID"])
        self.assertEqual(clone["Policies"], updated["Policies"])
        self.assertIs(self.ok("DELETE", "/v1/acl/token/" + t["AccessorID"]), True)
        gone = self.call("GET", "/v1/kv/crud/a", token=t["SecretID"])
        self.assertEqual((gone.status, gone.text()), (403, "ACL not found"))
        self.assertEqual(self.call("GET", "/v1/kv/crud/a", token=clone["SecretID"]).status, 200)
        # Renaming a policy shows in the tokens that hold it; deleting it drops the link.
        self.ok("PUT", "/v1/acl/policy/" + p["ID"],
                {"Name": "crud-read-2", "Rules": 'key_prefix "crud/" { policy = "read" }'})
        again = self.ok("GET", "/v1/acl/token/" + clone["AccessorID"])
        self.assertEqual(again["Policies"], [{"ID": p["ID"], "Name": "crud-read-2"}])
        self.assertIs(self.ok("DELETE", "/v1/acl/policy/" + p["ID"]), True)
        self.assertNotIn("Policies", self.ok("GET", "/v1/acl/token/" + clone["AccessorID"]))
        self.assertEqual(self.call("GET", "/v1/kv/crud/a", token=clone["SecretID"]).status, 403)

    def test_bad_bodies_are_400_with_a_reason(self):
        r = self.call("PUT", "/v1/acl/policy",
                      {"Name": "broken", "Rules": 'key "a" {\n  policy = "admin"\n}'},
                      token=MANAGEMENT_SECRET)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.text(), 'Invalid Policy: failed to parse rules: rules:2:12: expected '
                                   'key policy "read", "write", "list", or "deny", found "admin"')
        r = self.call("PUT", "/v1/acl/token", {"Policies": [{"Name": "no-such-policy"}]},
                      token=MANAGEMENT_SECRET)
        self.assertEqual((r.status, r.text()), (400, 'cannot find policy "no-such-policy"'))
        r = self.call("PUT", "/v1/acl/token", "{not json", token=MANAGEMENT_SECRET)
        self.assertEqual(r.status, 400)
        r = self.call("PUT", "/v1/acl/token", {"ExpirationTTL": "1s"}, token=MANAGEMENT_SECRET)
        self.assertEqual(r.status, 400)
        self.assertIn("should be between 1m0s and 24h0m0s", r.text())
        r = self.call("DELETE", "/v1/acl/policy/00000000-0000-0000-0000-000000000001",
                      token=MANAGEMENT_SECRET)
        self.assertEqual(r.status, 400)

    def test_every_way_of_sending_a_token(self):
        t = self.token(self.policy("any-way", 'key "any/way" { policy = "write" }')["Name"])
        secret = t["SecretID"]
        for headers, query in (({"X-Consul-Token": secret}, ""),
                               ({"Authorization": "Bearer " + secret}, ""),
                               ({}, "?token=" + secret)):
            r = self.call("PUT", "/v1/kv/any/way" + query, "x", headers=headers)
            self.assertEqual(r.status, 200, (headers, query, r.text()))
        denied = self.call("PUT", "/v1/kv/any/other", "x", token=secret)
        self.assertEqual(denied.status, 403)
        self.assertEqual(denied.text(), "Permission denied: token with AccessorID '%s' lacks "
                         "permission 'key:write' on \"any/other\"" % t["AccessorID"])
        self.assertNotIn(secret, denied.text())
        anonymous = self.call("GET", "/v1/kv/any/way")
        self.assertEqual(anonymous.text(), "Permission denied: anonymous token lacks permission "
                         "'key:read' on \"any/way\"")
        self.assertNotIn(secret, self.agent.logs())

    def test_lists_are_filtered(self):
        for key in ("filt/pub/a", "filt/pub/b", "filt/priv/c"):
            self.ok("PUT", "/v1/kv/" + key, "x")
        t = self.token(self.policy("filt-pub", 'key_prefix "filt/pub/" { policy = "read" }')[
            "Name"])
        r = self.call("GET", "/v1/kv/filt/?recurse", token=t["SecretID"])
        self.assertEqual(r.status, 200)
        self.assertEqual([e["Key"] for e in r.json()], ["filt/pub/a", "filt/pub/b"])
        self.assertEqual(r.headers["X-Consul-Results-Filtered-By-ACLs"], "true")
        self.assertIsNotNone(r.index())
        keys = self.call("GET", "/v1/kv/filt/?keys", token=t["SecretID"])
        self.assertEqual(keys.json(), ["filt/pub/a", "filt/pub/b"])
        full = self.call("GET", "/v1/kv/filt/?recurse", token=MANAGEMENT_SECRET)
        self.assertEqual(len(full.json()), 3)
        self.assertNotIn("X-Consul-Results-Filtered-By-ACLs", full.headers)
        # Recursive delete needs write over the whole tree.
        w = self.token(self.policy("filt-write", 'key_prefix "filt/" { policy = "write" }\n'
                                   'key "filt/priv/c" { policy = "read" }')["Name"])
        self.assertEqual(self.call("DELETE", "/v1/kv/filt/?recurse", token=w["SecretID"]).status,
                         403)
        self.assertEqual(self.call("DELETE", "/v1/kv/filt/pub/?recurse",
                                   token=w["SecretID"]).status, 200)

    def test_route_matrix(self):
        read = self.token(self.policy("matrix-read", READ_RULES)["Name"])
        write = self.token(self.policy("matrix-write", WRITE_RULES)["Name"])
        deleted = self.token("matrix-read")
        self.ok("DELETE", "/v1/acl/token/" + deleted["AccessorID"])
        role = self.ok("PUT", "/v1/acl/role", {"Name": "matrix-role"})
        callers = {"none": None, "read": read["SecretID"], "write": write["SecretID"],
                   "management": MANAGEMENT_SECRET, "deleted": deleted["SecretID"]}
        failures = []
        for method, path, body, level in ROUTES:
            path = path.replace("NODE", self.node).replace("ROLE", role["ID"])
            path = path.replace("TOKEN", read["AccessorID"])
            refused_only = level.endswith("!")
            level = level.rstrip("!")
            for caller, secret in callers.items():
                if refused_only and level in ALLOWED[caller]:
                    continue
                r = self.call(method, path, body, token=secret)
                refused = r.status == 403 and (r.text().startswith("Permission denied")
                                               or r.text() == "ACL not found")
                expect_allowed = level in ALLOWED[caller]
                if refused == expect_allowed:
                    failures.append(f"{caller:10} {method} {path} ({level}): {r.status} "
                                    f"{r.text()[:100]}")
                if caller == "deleted" and r.text() != "ACL not found":
                    failures.append(f"deleted token: {method} {path}: {r.status} {r.text()[:80]}")
        self.assertEqual(failures, [], "\n" + "\n".join(failures))

    def test_route_matrix_covers_every_registered_route(self):
        """Every route pattern registered in the sources (core/http, agent) is called by the
        matrix, so a new route cannot be left out of it. Not in the matrix: the router's own
        "/v1/" 404 check, PUT /v1/acl/bootstrap (test_bootstrap_only_once) and the fault
        injection route (registered only with CAIRN_FAULT_INJECTION=1; management only)."""
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        skipped = {"/v1/", "/v1/acl/bootstrap", "/v1/cairn/debug/blocked-peers"}
        registered = set()
        for d in ("core/http", "agent"):
            for name in os.listdir(os.path.join(root, d)):
                if not name.endswith(".cc") or name in ("acl_enforcer.cc", "router.cc"):
                    continue
                with open(os.path.join(root, d, name)) as f:
                    registered |= set(re.findall(r'"(/v1/[A-Za-z0-9/_-]*)"', f.read()))
        self.assertIn("/v1/kv/", registered)  # the scan works
        called = [path.split("?")[0] for _, path, _, _ in ROUTES]
        missing = sorted(pattern for pattern in registered - skipped
                         if not any(c == pattern or (pattern.endswith("/") and c.startswith(
                             pattern) and c != pattern) for c in called))
        self.assertEqual(missing, [], "registered routes the matrix does not call")

    def cli(self, *args, token=MANAGEMENT_SECRET):
        env = dict(os.environ)
        env.pop("CONSUL_HTTP_TOKEN", None)
        env.pop("CAIRN_HTTP_TOKEN", None)
        if token:
            env["CONSUL_HTTP_TOKEN"] = token
        p = subprocess.run([harness.binary(), "acl", *args,
                            f"-http-addr=127.0.0.1:{self.agent.http_port}"],
                           capture_output=True, text=True, env=env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_cli(self):
        code, out, err = self.cli("bootstrap")
        self.assertEqual(code, 1)
        self.assertRegex(err, r"Failed ACL bootstrapping: Unexpected response code: 403 "
                              r"\(ACL bootstrap no longer allowed \(reset index: \d+\)\)")
        code, out, err = self.cli("policy", "create", "-name", "cli-kv", "-description", "cli",
                                  "-rules", 'key_prefix "cli/" { policy = "write" }')
        self.assertEqual(code, 0, err)
        self.assertIn("Name:         cli-kv\n", out)
        self.assertIn('Rules:\nkey_prefix "cli/" { policy = "write" }\n', out)
        code, out, err = self.cli("policy", "read", "-name", "cli-kv")
        self.assertEqual(code, 0, err)
        self.assertIn("Description:  cli\n", out)
        code, out, err = self.cli("policy", "list")
        self.assertIn("cli-kv:\n", out)
        code, out, err = self.cli("token", "create", "-description", "from the cli",
                                  "-policy-name", "cli-kv", "-format", "json")
        self.assertEqual(code, 0, err)
        token = json.loads(out)
        self.assertEqual(token["Policies"][0]["Name"], "cli-kv")
        code, out, err = self.cli("token", "read", "-self", token=token["SecretID"])
        self.assertEqual(code, 0, err)
        self.assertIn("AccessorID:       %s\n" % token["AccessorID"], out)
        self.assertIn("Description:      from the cli\n", out)
        self.assertIn("Policies:\n   %s - cli-kv\n" % token["Policies"][0]["ID"], out)
        code, out, err = self.cli("token", "list")
        self.assertIn(token["AccessorID"], out)
        code, out, err = self.cli("token", "list", token=token["SecretID"])
        self.assertEqual(code, 1)
        self.assertIn("403 (Permission denied: token with AccessorID", err)
        code, out, err = self.cli("token", "delete", "-id", token["AccessorID"])
        self.assertEqual((code, out), (0, 'Token "%s" deleted successfully\n' % token["AccessorID"]))
        code, out, err = self.cli("policy", "delete", "-name", "cli-kv")
        self.assertEqual(code, 0, err)
        self.assertIn("deleted successfully", out)

    @harness.unittest.skipIf(consul is None, "python-consul is not installed")
    def test_python_consul_with_tokens(self):
        t = self.token(self.policy("pyc", 'key_prefix "pyc/" { policy = "write" }')["Name"])
        c = consul.Consul(port=self.agent.http_port, token=t["SecretID"])
        self.assertTrue(c.kv.put("pyc/a", "1"))
        self.assertEqual(c.kv.get("pyc/a")[1]["Value"], b"1")
        with self.assertRaises(consul.ACLPermissionDenied):
            c.kv.put("other", "1")
        anonymous = consul.Consul(port=self.agent.http_port)
        with self.assertRaises(consul.ACLPermissionDenied):
            anonymous.kv.get("pyc/a")


class AclBlocking(AclAgent):
    """A blocking query is checked again when its token or policy changes: it answers at once
    (403, or a list filtered by the narrower policy) instead of waiting for its data to change
    and then serving it (docs/security.md, "Blocking queries")."""

    WAIT_BOUND = 10.0  # seconds: "promptly", with room for a loaded machine

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pool = concurrent.futures.ThreadPoolExecutor(4)

    @classmethod
    def tearDownClass(cls):
        cls.pool.shutdown(wait=True)
        super().tearDownClass()

    def waiting_queries(self):
        text = self.call("GET", "/metrics", token=MANAGEMENT_SECRET).text()
        return int(re.search(r"\ncairn_http_blocking_queries (\d+)", text).group(1))

    def start_blocking(self, path, secret):
        """Starts GET path (with ?index at the current index and wait=60s) and waits until the
        agent holds it; returns (future answer, the index it waits on)."""
        before = self.waiting_queries()
        index = self.call("GET", path, token=MANAGEMENT_SECRET).index()
        sep = "&" if "?" in path else "?"
        future = self.pool.submit(self.call, "GET", f"{path}{sep}index={index}&wait=60s",
                                  None, secret)
        harness.wait_until(lambda: future.done() or self.waiting_queries() > before, 10,
                           "the blocking query to wait", 0.02)
        if future.done():
            self.fail(f"{path} answered at once: {future.result()!r}")
        return future, index

    def answered(self, future):
        started = time.monotonic()
        r = future.result(timeout=self.WAIT_BOUND)
        return r, time.monotonic() - started

    def test_deleted_token_ends_a_kv_wait_with_403(self):
        self.ok("PUT", "/v1/kv/blk/a", "1")
        t = self.token(self.policy("blk-read", 'key_prefix "blk/" { policy = "read" }')["Name"])
        future, _ = self.start_blocking("/v1/kv/blk/a", t["SecretID"])
        self.ok("DELETE", "/v1/acl/token/" + t["AccessorID"])
        r, took = self.answered(future)
        self.assertEqual((r.status, r.text()), (403, "ACL not found"), f"after {took:.2f}s")

    def narrowed_while_waiting(self, path, name, rules, narrower):
        """A token of policy `name` (`rules`) waits on `path`; the policy becomes `narrower`.
        Returns (the answer, seconds it took after the change, the index waited on)."""
        p = self.policy(name, rules)
        t = self.token(name)
        future, index = self.start_blocking(path, t["SecretID"])
        self.ok("PUT", "/v1/acl/policy/" + p["ID"], {"Name": name, "Rules": narrower})
        return self.answered(future) + (index,)

    def test_narrowed_policy_filters_a_waiting_list(self):
        for key in ("blkl/pub", "blkl/priv"):
            self.ok("PUT", "/v1/kv/" + key, "x")
        r, took, index = self.narrowed_while_waiting(
            "/v1/kv/blkl/?recurse", "blkl", 'key_prefix "blkl/" { policy = "read" }',
            'key "blkl/pub" { policy = "read" }')
        self.assertEqual(r.status, 200, f"{r!r} after {took:.2f}s")
        self.assertEqual([e["Key"] for e in r.json()], ["blkl/pub"])
        self.assertEqual(r.headers.get("X-Consul-Results-Filtered-By-ACLs"), "true")
        self.assertEqual(r.index(), index)  # the data did not change: the ACLs did

    def test_catalog_wait_loses_its_permission(self):
        r = self.call("PUT", "/v1/catalog/register", {"Node": "blk-node", "Address": "10.9.0.1",
                                                      "Service": {"Service": "blk-svc"}},
                      token=MANAGEMENT_SECRET)
        self.assertEqual(r.status, 200, r.text())
        r, took, _ = self.narrowed_while_waiting(
            "/v1/health/service/blk-svc", "blk-cat",
            'service "blk-svc" { policy = "read" }\nnode_prefix "" { policy = "read" }',
            'node_prefix "" { policy = "read" }')
        self.assertEqual(r.status, 403, f"{r!r} after {took:.2f}s")
        self.assertIn("lacks permission 'service:read' on \"blk-svc\"", r.text())

    def test_other_tokens_do_not_end_the_wait(self):
        self.ok("PUT", "/v1/kv/blko/a", "1")
        t = self.token(self.policy("blko", 'key_prefix "blko/" { policy = "read" }')["Name"])
        future, index = self.start_blocking("/v1/kv/blko/a", t["SecretID"])
        self.token("blko")  # another token of the same policy
        self.ok("PUT", "/v1/kv/blko/a", "2")  # the answer must come from this write
        r, _ = self.answered(future)
        self.assertEqual(r.status, 200)
        self.assertGreater(r.index(), index)


DIG = shutil.which("dig")
ANONYMOUS = "00000000-0000-0000-0000-000000000002"


@unittest.skipIf(DIG is None, "dig (dnsutils) is not installed")
class AclDns(AclAgent):
    """DNS answers show what the DNS token may read: `tokens.default`, else the anonymous token
    (here: the anonymous token; the default token is covered by tests/unit/http/acl_test.cc).
    Nodes need node:read, services service:read and node:read of each instance's node; what
    the token cannot read is NXDOMAIN."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for node, address, service in (("dns-web", "10.4.0.1", "web"),
                                       ("dns-db", "10.4.0.2", "db"),
                                       ("hidden-web", "10.4.0.3", "web")):
            r = cls.call("PUT", "/v1/catalog/register",
                         {"Node": node, "Address": address, "Service": {"Service": service}},
                         token=MANAGEMENT_SECRET)
            assert r.status == 200, r.text()

    def dig(self, name, rtype="A"):
        out = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.agent.dns_port), "+time=5",
                              "+tries=2", name, rtype], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        status = re.search(r"status: (\w+)", out.stdout).group(1)
        answers = sorted(re.findall(r"^[^;\s]\S*\s+\d+\s+IN\s+A\s+(\S+)$", out.stdout, re.M))
        return status, answers

    def anonymous_policies(self, *names):
        self.ok("PUT", "/v1/acl/token/" + ANONYMOUS,
                {"Description": "Anonymous Token", "Policies": [{"Name": n} for n in names]})

    def test_dns_follows_the_anonymous_token(self):
        # Default deny, no bootstrap yet: the anonymous token may read nothing.
        self.assertEqual(self.dig("web.service.consul"), ("NXDOMAIN", []))
        self.assertEqual(self.dig("dns-web.node.consul"), ("NXDOMAIN", []))
        self.ok("PUT", "/v1/acl/bootstrap", token=None)
        self.policy("dns", 'service "web" { policy = "read" }\n'
                    'node_prefix "dns-" { policy = "read" }')
        self.anonymous_policies("dns")
        self.assertEqual(self.dig("web.service.consul"), ("NOERROR", ["10.4.0.1"]))
        self.assertEqual(self.dig("db.service.consul"), ("NXDOMAIN", []))
        self.assertEqual(self.dig("dns-db.node.consul"), ("NOERROR", ["10.4.0.2"]))
        self.assertEqual(self.dig("hidden-web.node.consul"), ("NXDOMAIN", []))
        self.assertEqual(self.dig("3.0.4.10.in-addr.arpa", "PTR")[0], "NXDOMAIN")
        # Taking the policy away hides everything again, at once.
        self.anonymous_policies()
        self.assertEqual(self.dig("web.service.consul"), ("NXDOMAIN", []))


class AclOff(AgentTestCase):
    """ACLs are off by default: nothing is enforced and /v1/acl/* says so."""

    def test_acl_routes_say_disabled(self):
        r = self.agent.put("/v1/acl/bootstrap")
        self.assertEqual((r.status, r.text()), (401, "ACL support disabled"))
        r = self.agent.request("PUT", "/v1/kv/off", body=b"x",
                               headers={"X-Consul-Token": "anything"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["X-Consul-Default-ACL-Policy"], "allow")


if __name__ == "__main__":
    harness.main()
