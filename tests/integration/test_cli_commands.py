"""The `cairn` CLI (kv put/get/delete/export/import, version) against the real agent."""
import json
import os
import subprocess
import tempfile
import unittest

from agent_process import Agent, binary

agent = None


def setUpModule():
    global agent
    agent = Agent().start()


def tearDownModule():
    agent.cleanup()


def cairn(*args, stdin=None, env_addr=True):
    env = dict(os.environ)
    env.pop("CONSUL_HTTP_ADDR", None)
    if env_addr:
        env["CAIRN_HTTP_ADDR"] = f"127.0.0.1:{agent.port}"
    else:
        env.pop("CAIRN_HTTP_ADDR", None)
    p = subprocess.run([binary(), *args], input=stdin, capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Cli(unittest.TestCase):
    def test_version(self):
        code, out, _ = cairn("version")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^Cairn v\d+\.\d+\.\d+\nRevision \S+\n$")

    def test_put_get_variants(self):
        self.assertEqual(cairn("kv", "put", "cli/a", "hello")[1], "Success! Data written to: cli/a\n")
        self.assertEqual(cairn("kv", "put", "cli/b", "-", stdin=b"from stdin")[0], 0)
        with tempfile.NamedTemporaryFile("wb", delete=False) as f:
            f.write(b"from file")
        self.assertEqual(cairn("kv", "put", "-flags=7", "cli/c", "@" + f.name)[0], 0)
        os.unlink(f.name)
        self.assertEqual(cairn("kv", "put", "-base64", "cli/d", "aGk=")[0], 0)
        self.assertEqual(cairn("kv", "get", "cli/a")[1], "hello\n")
        self.assertEqual(cairn("kv", "get", "cli/b")[1], "from stdin\n")
        self.assertEqual(cairn("kv", "get", "cli/d")[1], "hi\n")
        self.assertEqual(cairn("kv", "get", "-base64", "cli/d")[1], "aGk=\n")
        code, out, _ = cairn("kv", "get", "-detailed", "cli/c")
        self.assertIn("Flags            7\n", out)
        self.assertIn("Value            from file\n", out)
        self.assertEqual(cairn("kv", "get", "-recurse", "cli/")[1],
                         "cli/a:hello\ncli/b:from stdin\ncli/c:from file\ncli/d:hi\n")
        self.assertEqual(cairn("kv", "get", "-keys", "cli/")[1], "cli/a\ncli/b\ncli/c\ncli/d\n")

    def test_http_addr_flag(self):
        cairn("kv", "put", "addr/k", "v")
        code, out, _ = cairn("kv", "get", f"-http-addr=http://127.0.0.1:{agent.port}", "addr/k", env_addr=False)
        self.assertEqual((code, out), (0, "v\n"))

    def test_cas_and_errors(self):
        cairn("kv", "put", "cas/k", "1")
        status, _, body = agent.request("GET", "/v1/kv/cas/k")
        idx = json.loads(body)[0]["ModifyIndex"]
        code, _, err = cairn("kv", "put", "-cas", f"-modify-index={idx + 100}", "cas/k", "2")
        self.assertEqual(code, 1)
        self.assertIn("CAS failed", err)
        self.assertEqual(cairn("kv", "put", "-cas", f"-modify-index={idx}", "cas/k", "2")[0], 0)
        self.assertEqual(cairn("kv", "put", "-cas", "cas/k", "2")[0], 1)
        code, _, err = cairn("kv", "get", "cas/none")
        self.assertEqual((code, err), (1, "Error! No key exists at: cas/none\n"))
        self.assertEqual(cairn("kv", "put")[0], 1)
        self.assertEqual(cairn("kv", "bogus")[0], 1)
        self.assertIn("not defined", cairn("kv", "get", "-nope", "x")[2])

    def test_delete(self):
        cairn("kv", "put", "del/a", "1")
        cairn("kv", "put", "del/b", "1")
        self.assertEqual(cairn("kv", "delete", "del/a")[1], "Success! Deleted key: del/a\n")
        self.assertEqual(cairn("kv", "delete", "-recurse", "del/")[1], "Success! Deleted keys with prefix: del/\n")
        self.assertEqual(cairn("kv", "delete", "-recurse", "-cas", "-modify-index=1", "del/")[0], 1)
        self.assertEqual(cairn("kv", "get", "-recurse", "del/")[1], "")

    def test_export_import_round_trip(self):
        cairn("kv", "put", "exp/a", "1")
        cairn("kv", "put", "-flags=3", "exp/b c", "2")
        code, exported, _ = cairn("kv", "export", "exp/")
        self.assertEqual(code, 0)
        data = json.loads(exported)
        self.assertEqual([(d["key"], d["flags"]) for d in data], [("exp/a", 0), ("exp/b c", 3)])
        cairn("kv", "delete", "-recurse", "exp/")
        code, out, _ = cairn("kv", "import", "-", stdin=exported.encode())
        self.assertEqual(code, 0, out)
        self.assertEqual(out, "Imported: exp/a\nImported: exp/b c\n")
        self.assertEqual(cairn("kv", "get", "exp/b c")[1], "2\n")
        self.assertEqual(cairn("kv", "import", "not json")[0], 1)

    def test_unreachable_agent_is_a_clear_error(self):
        code, _, err = cairn("kv", "get", "-http-addr=127.0.0.1:1", "x")
        self.assertEqual(code, 1)
        self.assertIn("Error connecting", err)


if __name__ == "__main__":
    unittest.main()
