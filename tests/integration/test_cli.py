"""The `cairn` command line against the real binary: every kv subcommand and flag, the global
HTTP flags and their environment variables, version/help, exit codes, and `cairn agent` start-up
(config files, validation errors). Behaviour and messages follow `consul kv` / `consul agent`.

The wire format (paths, query parameters, headers) is checked against a recording fake agent;
everything else runs against a real `cairn agent -dev` started by harness.py.
Run with /usr/bin/python3.
"""
import base64
import http.server
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import AgentTestCase, binary, free_port, http_request, wait_until


def run_cairn(*args, stdin=None, env=None, timeout=60):
    """Runs the binary; returns (exit code, stdout text, stderr text)."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR", "CAIRN_HTTP_TOKEN",
                             "CONSUL_HTTP_TOKEN")}
    full_env.update(env or {})
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.run([binary(), *args], input=stdin, capture_output=True, env=full_env,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="surrogateescape"), \
        p.stderr.decode(errors="surrogateescape")


class CliTestCase(AgentTestCase):
    def cairn(self, *args, stdin=None, env=None):
        e = {"CAIRN_HTTP_ADDR": f"127.0.0.1:{self.agent.http_port}"}
        e.update(env or {})
        return run_cairn(*args, stdin=stdin, env=e)

    def ok(self, *args, stdin=None):
        code, out, err = self.cairn(*args, stdin=stdin)
        self.assertEqual(code, 0, f"cairn {' '.join(args)} failed: {err}")
        return out

    def fails(self, *args, stdin=None):
        code, out, err = self.cairn(*args, stdin=stdin)
        self.assertEqual(code, 1, f"cairn {' '.join(args)} should fail: {out}{err}")
        self.assertEqual(out, "")
        return err

    def modify_index(self, key):
        return self.agent.kv_get(key)["ModifyIndex"]


class Put(CliTestCase):
    def setUp(self):
        super().setUp()
        self.agent.kv_clear()

    def test_literal_stdin_file_and_empty_values(self):
        self.assertEqual(self.ok("kv", "put", "p/a", "hello"), "Success! Data written to: p/a\n")
        self.ok("kv", "put", "p/b", "-", stdin=b"line1\nline2\n")
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(b"\x00binary\xff")
        self.addCleanup(os.unlink, f.name)
        self.ok("kv", "put", "p/c", "@" + f.name)
        self.ok("kv", "put", "p/d")
        self.ok("kv", "put", "p/e", "")
        self.ok("kv", "put", "p/f", "-dash-is-literal")
        self.assertEqual(self.agent.kv_value("p/a"), b"hello")
        self.assertEqual(self.agent.kv_value("p/b"), b"line1\nline2\n")
        self.assertEqual(self.agent.kv_value("p/c"), b"\x00binary\xff")
        self.assertEqual(self.agent.kv_value("p/d"), b"")
        self.assertEqual(self.agent.kv_value("p/e"), b"")
        self.assertEqual(self.agent.kv_value("p/f"), b"-dash-is-literal")

    def test_flags_and_base64(self):
        self.ok("kv", "put", "-flags=42", "p/flags", "v")
        self.assertEqual(self.agent.kv_get("p/flags")["Flags"], 42)
        self.ok("kv", "put", "--flags", "18446744073709551615", "p/flags", "v")
        self.assertEqual(self.agent.kv_get("p/flags")["Flags"], 18446744073709551615)
        self.ok("kv", "put", "p/flags", "v")  # a write without -flags resets them, like Consul
        self.assertEqual(self.agent.kv_get("p/flags")["Flags"], 0)
        self.ok("kv", "put", "-base64", "p/b64", base64.b64encode(b"\x01\x02\xfe").decode())
        self.assertEqual(self.agent.kv_value("p/b64"), b"\x01\x02\xfe")
        err = self.fails("kv", "put", "-base64", "p/b64", "not base64!")
        self.assertEqual(err, "Error! Cannot base 64 decode data: illegal base64 data at input "
                              "byte 3\n")

    def test_special_character_keys(self):
        keys = ["sp ace/k", "pct%25/x", "q?uery", "h#ash", "plus+sign", "colon:at@", "ünï/cödé",
                "amp&eq=", "semi;comma,", "tilde~dot.", "trailing space/x"]
        for i, key in enumerate(keys):
            self.ok("kv", "put", key, f"v{i}")
        for i, key in enumerate(keys):
            self.assertEqual(self.agent.kv_value(key), f"v{i}".encode(), key)
            self.assertEqual(self.ok("kv", "get", key), f"v{i}\n")
        listed = self.ok("kv", "get", "-keys", "-separator=")
        self.assertEqual(sorted(listed.splitlines()), sorted(keys))

    def test_leading_slash_is_rejected_like_the_go_client(self):
        err = self.fails("kv", "put", "/abs", "v")
        self.assertEqual(err, "Error! Failed writing data: Invalid key. Key must not begin with "
                              "a '/': /abs\n")

    def test_cas(self):
        self.ok("kv", "put", "p/cas", "1")
        idx = self.modify_index("p/cas")
        err = self.fails("kv", "put", "-cas", f"-modify-index={idx + 1000}", "p/cas", "2")
        self.assertEqual(err, "Error! Did not write to p/cas: CAS failed\n")
        self.assertEqual(self.ok("kv", "put", "-cas", f"-modify-index={idx}", "p/cas", "2"),
                         "Success! Data written to: p/cas\n")
        self.assertEqual(self.agent.kv_value("p/cas"), b"2")
        err = self.fails("kv", "put", "-cas", "p/cas", "3")
        self.assertEqual(err, "Error! Did not write to p/cas: CAS performed with index=0 and "
                              "key already exists.\n")
        self.ok("kv", "put", "-cas", "-modify-index=0", "p/new", "created")
        self.assertEqual(self.agent.kv_value("p/new"), b"created")

    def test_locks_need_a_session(self):
        for flag in ("-acquire", "-release"):
            err = self.fails("kv", "put", flag, "p/lock", "v")
            self.assertEqual(err, "Error! Missing -session (required with -acquire and "
                                  "-release)\n")
        # An unknown session is an error from the agent (Consul: 500 invalid session).
        err = self.fails("kv", "put", "-acquire", "-session=00000000-0000-0000-0000-000000000000",
                         "p/lock", "v")
        self.assertTrue(err.startswith("Error! Failed writing data: Unexpected response code: "
                                       "500 (invalid session"), err)
        self.assertIsNone(self.agent.kv_get("p/lock"))

    def test_argument_errors(self):
        self.assertEqual(self.fails("kv", "put"), "Error! Missing KEY argument\n")
        self.assertEqual(self.fails("kv", "put", "a", "b", "c"),
                         "Error! Too many arguments (expected 1 or 2, got 3)\n")
        self.assertTrue(self.fails("kv", "put", "-nope", "k").startswith(
            "flag provided but not defined: -nope\nUsage: cairn kv put"))
        self.assertTrue(self.fails("kv", "put", "-flags=x", "k").startswith(
            'invalid value "x" for flag -flags: parse error\n'))
        self.assertTrue(self.fails("kv", "put", "k", "@/nonexistent/file").startswith(
            "Error! Failed to read file: "))
        # Flags after the key are data, as with Go's flag package.
        self.ok("kv", "put", "p/k", "-flags=5")
        self.assertEqual(self.agent.kv_value("p/k"), b"-flags=5")


class Get(CliTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for key, value, flags in [("web/a", b"1", 0), ("web/b", b"two", 3),
                                  ("web/sub/c", b"\xffbin", 0), ("web-x", b"x", 0),
                                  ("empty", b"", 0)]:
            cls.agent.kv_put(key, value, f"flags={flags}" if flags else "")

    def test_value_and_missing_key(self):
        self.assertEqual(self.ok("kv", "get", "web/a"), "1\n")
        self.assertEqual(self.ok("kv", "get", "/web/a"), "1\n")  # leading slash stripped
        self.assertEqual(self.ok("kv", "get", "empty"), "\n")
        code, out, err = self.cairn("kv", "get", "web/nope")
        self.assertEqual((code, out, err), (1, "", "Error! No key exists at: web/nope\n"))
        self.assertEqual(self.fails("kv", "get"), "Error! Missing KEY argument\n")
        self.assertEqual(self.fails("kv", "get", "a", "b"),
                         "Too many arguments (expected 1, got 2)\n")

    def test_base64(self):
        self.assertEqual(self.ok("kv", "get", "-base64", "web/sub/c"),
                         base64.b64encode(b"\xffbin").decode() + "\n")

    def test_detailed(self):
        e = self.agent.kv_get("web/b")
        self.assertEqual(self.ok("kv", "get", "-detailed", "web/b"),
                         f"CreateIndex      {e['CreateIndex']}\n"
                         f"Flags            3\n"
                         f"Key              web/b\n"
                         f"LockIndex        0\n"
                         f"ModifyIndex      {e['ModifyIndex']}\n"
                         f"Session          -\n"
                         f"Value            two\n")
        out = self.ok("kv", "get", "-detailed", "-base64", "web/b")
        self.assertTrue(out.endswith("Value            dHdv\n"), out)

    def test_recurse(self):
        self.assertEqual(self.ok("kv", "get", "-recurse", "web/"),
                         "web/a:1\nweb/b:two\nweb/sub/c:\udcffbin\n")
        self.assertEqual(self.ok("kv", "get", "-recurse", "-base64", "web/"),
                         "web/a:MQ==\nweb/b:dHdv\nweb/sub/c:" +
                         base64.b64encode(b"\xffbin").decode() + "\n")
        self.assertEqual(self.ok("kv", "get", "-recurse", "nothing/here"), "")
        detailed = self.ok("kv", "get", "-recurse", "-detailed", "web/s")
        self.assertTrue(detailed.startswith("CreateIndex "), detailed)
        blocks = self.ok("kv", "get", "-recurse", "-detailed", "web/").split("\n\n")
        self.assertEqual(len(blocks), 3)
        self.assertIn("Key              web/b\n", blocks[1])
        everything = self.ok("kv", "get", "-recurse")
        self.assertIn("empty:\n", everything)

    def test_keys_and_separator(self):
        self.assertEqual(self.ok("kv", "get", "-keys", "web/"), "web/a\nweb/b\nweb/sub/\n")
        self.assertEqual(self.ok("kv", "get", "-keys", "-separator=", "web/"),
                         "web/a\nweb/b\nweb/sub/c\n")
        self.assertEqual(self.ok("kv", "get", "-keys", "-separator", "-", "web"),
                         "web-\nweb/a\nweb/b\nweb/sub/c\n")
        top = self.ok("kv", "get", "-keys").splitlines()
        self.assertEqual(top, ["empty", "web-x", "web/"])
        self.assertEqual(self.ok("kv", "get", "-keys", "nothing/"), "")
        # -keys with -recurse lists every key (Consul >= 1.17).
        self.assertEqual(self.ok("kv", "get", "-keys", "-recurse", "web/"),
                         "web/a\nweb/b\nweb/sub/c\n")
        detailed = self.ok("kv", "get", "-keys", "-recurse", "-detailed", "web/a")
        self.assertNotIn("Value", detailed)
        self.assertIn("Session          -\n", detailed)

    def test_stale_and_datacenter(self):
        self.assertEqual(self.ok("kv", "get", "-stale", "web/a"), "1\n")
        self.assertEqual(self.ok("kv", "get", "-datacenter=dc1", "web/a"), "1\n")
        self.assertEqual(self.ok("kv", "get", "-token=anything", "web/a"), "1\n")


class Delete(CliTestCase):
    def setUp(self):
        super().setUp()
        self.agent.kv_clear()
        for key in ("d/a", "d/b", "d/sub/c", "dz", "keep"):
            self.agent.kv_put(key, b"v")

    def test_delete_key(self):
        self.assertEqual(self.ok("kv", "delete", "d/a"), "Success! Deleted key: d/a\n")
        self.assertIsNone(self.agent.kv_get("d/a"))
        self.assertEqual(self.ok("kv", "delete", "d/missing"), "Success! Deleted key: d/missing\n")
        self.assertEqual(self.ok("kv", "delete", "/d/b"), "Success! Deleted key: d/b\n")
        self.assertIsNone(self.agent.kv_get("d/b"))

    def test_recurse(self):
        self.assertEqual(self.ok("kv", "delete", "-recurse", "d"),
                         "Success! Deleted keys with prefix: d\n")
        self.assertEqual([e["Key"] for e in self.agent.kv_dump()], ["keep"])
        self.assertEqual(self.ok("kv", "delete", "-recurse"),
                         "Success! Deleted keys with prefix: \n")
        self.assertEqual(self.agent.kv_dump(), [])

    def test_cas(self):
        idx = self.modify_index("d/a")
        self.assertEqual(self.fails("kv", "delete", "-cas", f"-modify-index={idx + 1000}", "d/a"),
                         "Error! Did not delete key d/a: CAS failed\n")
        self.assertEqual(self.ok("kv", "delete", "-cas", f"-modify-index={idx}", "d/a"),
                         "Success! Deleted key: d/a\n")
        self.assertIsNone(self.agent.kv_get("d/a"))

    def test_argument_errors(self):
        self.assertEqual(self.fails("kv", "delete"), "Error! Missing KEY argument\n")
        self.assertEqual(self.fails("kv", "delete", "-cas", "d/a"),
                         "Cannot delete a key that does not exist. Provide a -modify-index "
                         "greater than 0.\n")
        self.assertEqual(self.fails("kv", "delete", "-modify-index=1", "d/a"),
                         "Cannot specify -modify-index without -cas!\n")
        self.assertEqual(self.fails("kv", "delete", "-cas", "-modify-index=1", "-recurse", "d"),
                         "Cannot specify both -cas and -recurse!\n")
        self.assertEqual(self.fails("kv", "delete", "a", "b"),
                         "Too many arguments (expected 1, got 2)\n")
        self.assertIsNotNone(self.agent.kv_get("d/a"))


class ExportImport(CliTestCase):
    ENTRIES = [("ei/a", b"1", 0), ("ei/b c", b"\x00\xff binary", 7), ("ei/dir/", b"", 0),
               ("ei/html<&>", b"<tag>", 18446744073709551615), ("ei/ünï", "cödé".encode(), 1)]

    def setUp(self):
        super().setUp()
        self.agent.kv_clear()
        for key, value, flags in self.ENTRIES:
            self.agent.kv_put(key, value, f"flags={flags}")

    def snapshot(self, prefix=""):
        return [(e["Key"], e["Flags"], e["Value"]) for e in self.agent.kv_dump()
                if e["Key"].startswith(prefix)]

    def test_export_format(self):
        out = self.ok("kv", "export", "ei/")
        self.assertTrue(out.startswith('[\n\t{\n\t\t"key": "ei/a",\n\t\t"flags": 0,\n'
                                       '\t\t"value": "MQ=="\n\t},\n'), out)
        self.assertIn('"key": "ei/html\\u003c\\u0026\\u003e"', out)
        self.assertTrue(out.endswith("\n\t}\n]\n"))
        data = json.loads(out)
        self.assertEqual([(d["key"], base64.b64decode(d["value"]), d["flags"]) for d in data],
                         sorted(self.ENTRIES))
        self.assertEqual(self.ok("kv", "export", "nothing/"), "[]\n")
        self.assertEqual(json.loads(self.ok("kv", "export", "/ei/a")), data[:1])
        self.assertEqual(self.fails("kv", "export", "a", "b"),
                         "Too many arguments (expected 1, got 2)\n")

    def test_round_trip_via_stdin_file_and_argument(self):
        before = self.snapshot()
        exported = self.ok("kv", "export", "ei/")
        self.agent.kv_clear()
        out = self.ok("kv", "import", "-", stdin=exported)
        self.assertEqual(out, "".join(f"Imported: {k}\n" for k, _, _ in sorted(self.ENTRIES)))
        self.assertEqual(self.snapshot(), before)

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(exported)
        self.addCleanup(os.unlink, f.name)
        self.agent.kv_clear()
        self.ok("kv", "import", "@" + f.name)
        self.assertEqual(self.snapshot(), before)

        self.agent.kv_clear()
        self.ok("kv", "import", exported)
        self.assertEqual(self.snapshot(), before)

    def test_import_with_prefix(self):
        exported = self.ok("kv", "export", "ei/")
        out = self.ok("kv", "import", "-prefix=copy", "-", stdin=exported)
        self.assertIn("Imported: copy/ei/dir/\n", out)
        self.assertIn("Imported: copy/ei/b c\n", out)
        original = self.snapshot("ei/")
        copied = self.snapshot("copy/")
        self.assertEqual([("copy/" + k, f, v) for k, f, v in original], copied)

    def test_import_accepts_consul_exports(self):
        consul_export = '[\n\t{\n\t\t"key": "from/consul",\n\t\t"flags": 12,\n' \
                        '\t\t"value": "aGVsbG8="\n\t}\n]'
        self.assertEqual(self.ok("kv", "import", consul_export), "Imported: from/consul\n")
        entry = self.agent.kv_get("from/consul")
        self.assertEqual((entry["Flags"], base64.b64decode(entry["Value"])), (12, b"hello"))

    def test_import_errors(self):
        self.assertEqual(self.fails("kv", "import"), "Error! Missing DATA argument\n")
        self.assertEqual(self.fails("kv", "import", ""), "Error! Empty DATA argument\n")
        self.assertTrue(self.fails("kv", "import", "not json").startswith(
            "Cannot unmarshal data: "))
        self.assertTrue(self.fails("kv", "import", '{"key": "x"}').startswith(
            "Cannot unmarshal data: json: cannot unmarshal object"))
        self.assertEqual(self.fails("kv", "import", '[{"key": "bad", "value": "%%%"}]'),
                         "Error base 64 decoding value for key bad: illegal base64 data at "
                         "input byte 0\n")
        self.assertIsNone(self.agent.kv_get("bad"))
        self.assertTrue(self.fails("kv", "import", "@/nonexistent.json").startswith(
            "Error! Failed to read file: "))


class HttpAddress(CliTestCase):
    def test_flag_and_environment_precedence(self):
        self.agent.kv_put("addr/k", b"v")
        port = self.agent.http_port
        dead = f"127.0.0.1:{free_port()}"
        cases = [
            ({}, [f"-http-addr=127.0.0.1:{port}"]),
            ({}, [f"-http-addr=http://127.0.0.1:{port}"]),
            ({}, ["-http-addr", f"http://127.0.0.1:{port}/"]),
            ({"CAIRN_HTTP_ADDR": f"127.0.0.1:{port}"}, []),
            ({"CONSUL_HTTP_ADDR": f"http://127.0.0.1:{port}"}, []),
            ({"CAIRN_HTTP_ADDR": f"127.0.0.1:{port}", "CONSUL_HTTP_ADDR": dead}, []),
            ({"CAIRN_HTTP_ADDR": dead}, [f"--http-addr=127.0.0.1:{port}"]),
        ]
        for env, flags in cases:
            code, out, err = run_cairn("kv", "get", *flags, "addr/k", env=env)
            self.assertEqual((code, out), (0, "v\n"), f"{env} {flags}: {err}")

    def test_unreachable_and_invalid_addresses(self):
        dead = f"127.0.0.1:{free_port()}"
        code, out, err = run_cairn("kv", "get", "k", env={"CAIRN_HTTP_ADDR": dead})
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith(f'Error querying Cairn agent: Get "http://{dead}/v1/kv/k"'),
                        err)
        code, _, err = run_cairn("kv", "put", "-http-addr=unix:///tmp/x", "k", "v")
        self.assertEqual(code, 1)
        self.assertIn("not supported", err)


class RecordingAgent(http.server.ThreadingHTTPServer):
    """A fake agent that records each request and answers from a canned table."""

    def __init__(self):
        self.requests = []
        self.reply = (200, b"true")

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path, dict(self.headers), body))
                status, payload = server.reply
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_DELETE = handle_one

        server = self
        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.shutdown()
        self.server_close()


class WireFormat(unittest.TestCase):
    """What the CLI sends: the same requests as Consul's Go api client."""

    def setUp(self):
        self.fake = RecordingAgent()
        self.addCleanup(self.fake.close)
        self.env = {"CONSUL_HTTP_ADDR": f"127.0.0.1:{self.fake.server_address[1]}"}

    def request(self, *args, reply=(200, b"true"), stdin=None, env=None):
        self.fake.requests.clear()
        self.fake.reply = reply
        code, out, err = run_cairn(*args, stdin=stdin, env={**self.env, **(env or {})})
        self.assertEqual(len(self.fake.requests), 1, (code, out, err))
        return code, out, err, self.fake.requests[0]

    def test_put_paths_params_and_body(self):
        _, _, _, (method, path, _, body) = self.request("kv", "put", "a b/%?#+", "v a l")
        self.assertEqual((method, path, body), ("PUT", "/v1/kv/a%20b/%25%3F%23%2B", b"v a l"))
        _, _, _, (_, path, _, _) = self.request("kv", "put", "-flags=9", "-cas",
                                                "-modify-index=5", "k")
        self.assertEqual(path, "/v1/kv/k?flags=9&cas=5")
        _, _, _, (_, path, _, _) = self.request("kv", "put", "-acquire", "-session=s1", "k")
        self.assertEqual(path, "/v1/kv/k?acquire=s1")
        code, out, _, (_, path, _, _) = self.request("kv", "put", "-release", "-session=s1", "k")
        self.assertEqual((code, out, path), (0, "Success! Lock released on: k\n",
                                             "/v1/kv/k?release=s1"))
        code, _, err, _ = self.request("kv", "put", "-acquire", "-session=s1", "k",
                                       reply=(200, b"false"))
        self.assertEqual((code, err), (1, "Error! Did not acquire lock\n"))
        code, out, _, _ = self.request("kv", "put", "-acquire", "-session=s1", "k")
        self.assertEqual((code, out), (0, "Success! Lock acquired on: k\n"))
        code, _, err, _ = self.request("kv", "put", "-release", "-session=s1", "k",
                                       reply=(200, b"false"))
        self.assertEqual((code, err), (1, "Error! Did not release lock\n"))

    def test_token_datacenter_and_stale(self):
        _, _, _, (_, path, headers, _) = self.request(
            "kv", "get", "-token=t1", "-datacenter=eu", "-stale", "k",
            reply=(200, b'[{"Key":"k","Value":null}]'))
        self.assertEqual(path, "/v1/kv/k?dc=eu&stale=")
        self.assertEqual(headers.get("X-Consul-Token"), "t1")
        _, _, _, (_, path, headers, _) = self.request(
            "kv", "put", "-stale", "k", env={"CONSUL_HTTP_TOKEN": "t2"})
        self.assertEqual(path, "/v1/kv/k")  # -stale only affects reads
        self.assertEqual(headers.get("X-Consul-Token"), "t2")
        _, _, _, (_, _, headers, _) = self.request(
            "kv", "delete", "k", env={"CONSUL_HTTP_TOKEN": "t2", "CAIRN_HTTP_TOKEN": "t3"})
        self.assertEqual(headers.get("X-Consul-Token"), "t3")
        _, _, _, (_, _, headers, _) = self.request("kv", "delete", "k")
        self.assertNotIn("X-Consul-Token", headers)

    def test_read_and_delete_params(self):
        cases = [
            (("kv", "get", "-recurse", "p/"), "GET", "/v1/kv/p/?recurse=", b"[]"),
            (("kv", "get", "-keys", "p/"), "GET", "/v1/kv/p/?keys=&separator=%2F", b"[]"),
            (("kv", "get", "-keys", "-separator=", "p/"), "GET", "/v1/kv/p/?keys=", b"[]"),
            (("kv", "export", "p"), "GET", "/v1/kv/p?recurse=", b"[]"),
            (("kv", "delete", "k"), "DELETE", "/v1/kv/k", b"true"),
            (("kv", "delete", "-recurse", "p/"), "DELETE", "/v1/kv/p/?recurse=", b"true"),
            (("kv", "delete", "-cas", "-modify-index=3", "k"), "DELETE", "/v1/kv/k?cas=3",
             b"true"),
        ]
        for args, method, path, reply in cases:
            code, _, err, (m, p, _, _) = self.request(*args, reply=(200, reply))
            self.assertEqual((code, m, p), (0, method, path), f"{args}: {err}")

    def test_server_errors_are_reported(self):
        code, _, err, _ = self.request("kv", "get", "k", reply=(500, b"No cluster leader"))
        self.assertEqual((code, err), (1, "Error querying Cairn agent: Unexpected response "
                                          "code: 500 (No cluster leader)\n"))
        code, _, err, _ = self.request("kv", "put", "k", "v", reply=(413, b"too large"))
        self.assertEqual((code, err), (1, "Error! Failed writing data: Unexpected response "
                                          "code: 413 (too large)\n"))
        code, _, err, _ = self.request("kv", "delete", "-recurse", "p",
                                       reply=(403, b"Permission denied"))
        self.assertEqual((code, err), (1, "Error! Did not delete prefix p: Unexpected response "
                                          "code: 403 (Permission denied)\n"))


class TopLevel(unittest.TestCase):
    def test_version(self):
        code, out, _ = run_cairn("version")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^Cairn v\d+\.\d+\.\d+\nRevision ([0-9a-f]+|unknown)\n$")
        self.assertEqual(run_cairn("--version")[1], out)

    def test_help_and_usage_errors(self):
        code, out, err = run_cairn()
        self.assertEqual((code, out), (1, ""))
        self.assertIn("Available commands are:", err)
        code, out, _ = run_cairn("-h")
        self.assertEqual(code, 0)
        self.assertIn("Available commands are:", out)
        code, _, err = run_cairn("bogus")
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("Unknown command: bogus"))
        self.assertEqual(run_cairn("kv")[0], 1)
        self.assertEqual(run_cairn("kv", "bogus")[0], 1)
        for sub in ("put", "get", "delete", "export", "import"):
            code, out, _ = run_cairn("kv", sub, "-h")
            self.assertEqual(code, 0, sub)
            self.assertIn(f"Usage: cairn kv {sub}", out)
            self.assertIn("-http-addr=<string>", out)


class AgentStartup(unittest.TestCase):
    """`cairn agent`: config errors exit 1 before starting; config files take effect."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-cli-agent-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_config_errors_exit_1(self):
        cases = [
            (["-dev", "-bootstrap-expect", "3"], "-dev cannot be combined with bootstrap_expect"),
            (["-dev", "-http-port", "0"], "ports.http (-http-port) must be in 1..65535"),
            (["-dev", "-x"], "flag provided but not defined: -x"),
            (["-dev", "-log-level", "loud"], "log_level (-log-level) \"loud\" is invalid"),
            (["-dev", "-datacenter", "d c"], "datacenter \"d c\" is invalid"),
            (["-server", "-bootstrap", "-bootstrap-expect=2", "-data-dir", self.dir],
             "mutually exclusive"),
            (["-dev", "-config-file", self.write("a.hcl", "server = \n")],
             "a.hcl:2:1: expected a value"),
            (["-dev", "-config-file", self.write("b.json", '{"nope": 1}')],
             'unknown key "nope"'),
        ]
        for args, message in cases:
            code, out, err = run_cairn("agent", *args, timeout=30)
            self.assertEqual(code, 1, f"{args}: {out}{err}")
            self.assertIn(message, err, args)

    def test_config_file_and_dir_take_effect(self):
        http_port, dns_port = free_port(), free_port()
        conf_dir = os.path.join(self.dir, "conf.d")
        os.mkdir(conf_dir)
        with open(os.path.join(conf_dir, "10-ports.yaml"), "w") as f:
            f.write(f"ports:\n  http: 1\n  dns: {dns_port}\n  server: {free_port()}\n"
                    f"  grpc: {free_port()}\n")
        with open(os.path.join(conf_dir, "20-http.json"), "w") as f:
            json.dump({"ports": {"http": http_port}, "node_name": "from-file",
                       "datacenter": "DC-Test"}, f)
        pid_file = os.path.join(self.dir, "cairn.pid")
        data_dir = os.path.join(self.dir, "data")
        log_path = os.path.join(self.dir, "agent.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([binary(), "agent", "-dev", "-config-dir", conf_dir,
                                     "-data-dir", data_dir, "-pid-file", pid_file,
                                     "-log-level=warn"], stdout=log, stderr=log)
        self.addCleanup(proc.kill)

        def leader_known():
            if proc.poll() is not None:
                with open(log_path, errors="replace") as f:
                    raise AssertionError(f"agent exited with {proc.returncode}: {f.read()}")
            try:
                r = http_request(http_port, "GET", "/v1/status/leader", timeout=2)
                return r.status == 200 and r.json() != ""
            except OSError:
                return False

        wait_until(leader_known, 60, "agent configured by files")
        self_info = http_request(http_port, "GET", "/v1/agent/self").json()
        self.assertEqual(self_info["Config"]["NodeName"], "from-file")
        self.assertEqual(self_info["Config"]["Datacenter"], "dc-test")
        # The PID file is written while the agent starts, not necessarily before HTTP answers.
        wait_until(lambda: os.path.exists(pid_file), 30, "the pid file")
        with open(pid_file) as f:
            self.assertEqual(int(f.read()), proc.pid)
        env = {"CAIRN_HTTP_ADDR": f"127.0.0.1:{http_port}"}
        self.assertEqual(run_cairn("kv", "put", "cfg", "ok", env=env)[0], 0)
        self.assertEqual(run_cairn("kv", "get", "cfg", env=env)[1], "ok\n")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertFalse(os.path.exists(pid_file))



class Membership(CliTestCase):
    """cairn join / force-leave / leave: consul's output and exit codes (docs/agent.md,
    "Membership"). leave runs last: it stops the agent."""

    def test_1_join(self):
        self.assertEqual(self.ok("join", "127.0.0.1"),
                         "Successfully joined cluster by contacting 1 nodes.\n")
        err = self.fails("join", "10.9.9.9")
        self.assertIn("Error joining address '10.9.9.9': ", err)
        self.assertIn("not a server of this cluster", err)
        self.assertTrue(err.endswith("Failed to join any nodes.\n"), err)
        self.assertIn("At least one address to join must be specified.", self.fails("join"))

    def test_2_force_leave(self):
        self.assertIn("A single node name must be specified to force leave.",
                      self.fails("force-leave"))
        err = self.fails("force-leave", "nobody")
        self.assertIn("Error force leaving: ", err)
        self.assertIn("No node found with name 'nobody'", err)
        err = self.fails("force-leave", "-prune", self.self_name())
        self.assertIn("remove-peer", err)

    def test_3_leave(self):
        self.assertIn("This command takes no arguments", self.fails("leave", "extra"))
        self.agent.expected_exit = True
        self.assertEqual(self.ok("leave"), "Graceful leave complete\n")
        self.assertEqual(self.agent.proc.wait(timeout=60), 0)

    def self_name(self):
        return self.agent.get("/v1/agent/self").json()["Config"]["NodeName"]


if __name__ == "__main__":
    unittest.main()
