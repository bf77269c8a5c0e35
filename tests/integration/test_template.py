"""`cairn template` (consul-template's everyday subset) through the real binary against a real agent:
the nginx upstream example follows the catalog as instances come and go, its reload command runs
once per change of the file (a burst of registrations is one change under -wait), -once, -exec
(started after the first render, SIGHUP on a change with -exec-reload-signal, restarted
without it, SIGTERM forwarded and its exit code returned), atomic writes keeping the file mode,
and template errors (exit 1, file:line:column). docs/template.md.
Run with /usr/bin/python3.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from harness import AgentTestCase, binary, kv_url, main, wait_until

# The example verbatim: one line inside the upstream block.
NGINX = """upstream web {
  {{range service "web"}}server {{.Address}}:{{.Port}};{{end}}
}
"""

TIMEOUT = 30


def upstream(*servers):
    return "upstream web {\n  " + "".join(f"server {s};" for s in servers) + "\n}\n"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


class TemplateCase(AgentTestCase):
    """A scratch directory per test; `cairn template` processes killed at the end."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="cairn-it-template-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.procs = []
        self.addCleanup(self._stop_all)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def env(self, with_addr=True):
        e = {k: v for k, v in os.environ.items()
             if k not in ("CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR", "CAIRN_HTTP_TOKEN",
                          "CONSUL_HTTP_TOKEN")}
        if with_addr:
            e["CAIRN_HTTP_ADDR"] = f"127.0.0.1:{self.agent.http_port}"
        return e

    def start(self, *args):
        """`cairn template` in the background, its stderr in a file (its log)."""
        log = open(self.path(f"template-{len(self.procs)}.log"), "w+")
        p = subprocess.Popen([binary(), "template", *args], cwd=self.dir, env=self.env(),
                             stdout=log, stderr=subprocess.STDOUT)
        p.log = log
        self.procs.append(p)
        return p

    def run_template(self, *args, timeout=60, with_addr=True):
        p = subprocess.run([binary(), "template", *args], cwd=self.dir, env=self.env(with_addr),
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def log_of(self, p):
        p.log.flush()
        p.log.seek(0)
        return p.log.read()

    def _stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if self._has_failed():
                sys.stderr.write(f"\n===== cairn template log =====\n{self.log_of(p)}\n")
            p.log.close()

    def register(self, node, address, service_id, port, service="web"):
        body = {"Node": node, "Address": address,
                "Service": {"ID": service_id, "Service": service, "Port": port}}
        self.assertStatus(self.agent.put("/v1/catalog/register", json.dumps(body)), 200)

    def deregister(self, node):
        self.assertStatus(self.agent.put("/v1/catalog/deregister",
                                         json.dumps({"Node": node})), 200)

    def wait_file(self, path, content, p=None):
        def check():
            if p is not None and p.poll() is not None:
                self.fail(f"cairn template exited ({p.returncode}): {self.log_of(p)}")
            return read(path) == content
        wait_until(check, TIMEOUT, f"{path} == {content!r} (now {read(path)!r})")


# The test groups below are mixins of one TestCase (Template, at the end).


class NginxUpstream:
    def test_upstream_follows_the_catalog_and_reloads_once_per_change(self):
        tpl = self.write("web.ctmpl", NGINX)
        out = self.path("conf.d/web.conf")
        reloads = self.path("reloads")
        # The reload command records the file it saw, so each reload is accounted for.
        reload = f"cat {out} >> {reloads}; echo ==== >> {reloads}"
        p = self.start("-template", f"{tpl}:{out}:{reload}", "-wait", "1s:10s")

        def snapshots():
            text = read(reloads) or ""
            return [s.lstrip("\n") for s in text.split("====")[:-1]]

        def wait_reloads(expected):
            wait_until(lambda: len(snapshots()) >= len(expected), TIMEOUT,
                       f"{len(expected)} reloads (saw {snapshots()!r})")
            self.assertEqual(snapshots(), expected)

        # No instance yet: an empty upstream, written and reloaded once.
        self.wait_file(out, upstream(), p)
        wait_reloads([upstream()])

        self.register("tpl-node-1", "127.0.0.101", "web-1", 8001)
        one = upstream("127.0.0.101:8001")
        self.wait_file(out, one, p)
        wait_reloads([upstream(), one])

        # Three registrations well inside the 1 s quiet period: one render, one reload.
        self.register("tpl-node-2", "127.0.0.102", "web-2", 8002)
        self.register("tpl-node-3", "127.0.0.103", "web-3", 8003)
        self.register("tpl-node-4", "127.0.0.104", "web-4", 8004)
        four = upstream("127.0.0.101:8001", "127.0.0.102:8002", "127.0.0.103:8003",
                        "127.0.0.104:8004")
        self.wait_file(out, four, p)
        wait_reloads([upstream(), one, four])

        # A change elsewhere in the catalog renders the same file: no write, no reload.
        self.register("tpl-node-9", "127.0.0.109", "db-1", 5432, service="db")
        self.deregister("tpl-node-2")
        three = upstream("127.0.0.101:8001", "127.0.0.103:8003", "127.0.0.104:8004")
        self.wait_file(out, three, p)
        wait_reloads([upstream(), one, four, three])
        self.assertIsNone(p.poll())

        # SIGTERM without -exec: a clean exit.
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=TIMEOUT), 0)
        log = self.log_of(p)
        self.assertEqual(log.count("executing command"), 4, log)


class Once:
    def test_once_renders_kv_and_catalog_data_and_exits(self):
        self.assertStatus(self.agent.put(kv_url("app/config/port"), "8080"), 200)
        self.assertStatus(self.agent.put(kv_url("app/config/host"), "db.local"), 200)
        self.assertStatus(self.agent.put(kv_url("app/config/nested/deep"), "x"), 200)
        self.assertStatus(self.agent.put(kv_url("app/json"), '{"replicas": [1, 2, 3]}'), 200)
        self.register("once-node", "127.0.0.111", "api-1", 9000, service="api")
        tpl = self.write("app.tpl", """\
port={{ key "app/config/port" }}
missing={{ keyOrDefault "app/config/missing" "none" }}
{{ range ls "app/config" }}ls {{ .Key }}={{ .Value }}
{{ end }}{{ range tree "app/config" }}tree {{ .Key }}
{{ end }}{{ with $j := key "app/json" | parseJSON }}replicas={{ len $j.replicas }}{{ end }}
{{ range services }}{{ if eq .Name "api" }}service {{ .Name }}{{ end }}{{ end }}
{{ range service "api" }}{{ .Node }} {{ .Address | printf "%q" }} {{ .Port }}{{ end }}
{{ with node "once-node" }}node {{ .Node.Address }}{{ range .Services }} {{ .ID }}{{ end }}{{ end }}
{{ range nodes }}{{ if eq .Node "once-node" }}nodes {{ .Node }}{{ end }}{{ end }}
env={{ env "TEMPLATE_TEST_VAR" | toUpper }}
""")
        out = self.path("app.conf")
        env = self.env()
        env["TEMPLATE_TEST_VAR"] = "yes"
        p = subprocess.run([binary(), "template", "-once", "-template", f"{tpl}:{out}"],
                           cwd=self.dir, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(read(out), """\
port=8080
missing=none
ls host=db.local
ls port=8080
tree host
tree nested/deep
tree port
replicas=3
service api
once-node "127.0.0.111" 9000
node 127.0.0.111 api-1
nodes once-node
env=YES
""")

    def test_key_waits_until_it_exists(self):
        tpl = self.write("late.tpl", 'late={{ key "late/key" }}\n')
        out = self.path("late.out")
        p = self.start("-once", "-template", f"{tpl}:{out}")
        # The first render ran (the log names what it watches) and wrote nothing.
        wait_until(lambda: "watching kv.block(late/key)" in self.log_of(p), TIMEOUT,
                   "the watch on late/key")
        self.assertIsNone(p.poll())
        self.assertIsNone(read(out))
        self.assertStatus(self.agent.put(kv_url("late/key"), "here"), 200)
        self.assertEqual(p.wait(timeout=TIMEOUT), 0, self.log_of(p))
        self.assertEqual(read(out), "late=here\n")

    def test_unchanged_output_runs_no_command_and_keeps_the_mode(self):
        self.assertStatus(self.agent.put(kv_url("mode/v"), "1"), 200)
        tpl = self.write("m.tpl", 'v={{ key "mode/v" }}\n')
        out = self.write("m.out", "v=1\n")
        marker = self.path("ran")
        code, _, err = self.run_template("-once", "-template", f"{tpl}:{out}:touch {marker}")
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(marker), "the command ran for an unchanged file")
        os.chmod(out, 0o600)
        self.assertStatus(self.agent.put(kv_url("mode/v"), "2"), 200)
        # consul-template's -consul-addr works as -http-addr does.
        code, _, err = self.run_template("-consul-addr", f"127.0.0.1:{self.agent.http_port}",
                                         "-once", "-template", f"{tpl}:{out}:touch {marker}",
                                         with_addr=False)
        self.assertEqual(code, 0, err)
        self.assertEqual(read(out), "v=2\n")
        self.assertTrue(os.path.exists(marker))
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        self.assertEqual(sorted(os.listdir(self.dir)), ["m.out", "m.tpl", "ran"])

    def test_dry_prints_instead_of_writing(self):
        tpl = self.write("d.tpl", '{{ "dry" | toUpper }}\n')
        code, out, err = self.run_template("-once", "-dry", "-template",
                                           f"{tpl}:never.out:touch ran")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "> never.out\nDRY\n")
        self.assertFalse(os.path.exists(self.path("never.out")))
        self.assertFalse(os.path.exists(self.path("ran")), "-dry ran the command")


class Errors:
    def test_syntax_error_exits_1_with_position(self):
        tpl = self.write("bad.tpl", 'upstream {\n{{ range service "web" }}\n  x\n}\n')
        code, _, err = self.run_template("-once", "-template", f"{tpl}:out")
        self.assertEqual(code, 1)
        self.assertIn(f"{tpl}:2:4: unexpected EOF: {{{{range}}}} has no {{{{end}}}}", err)
        tpl = self.write("fn.tpl", 'a\n  {{ servce "web" }}\n')
        code, _, err = self.run_template("-once", "-template", f"{tpl}:out")
        self.assertEqual(code, 1)
        self.assertIn(f'{tpl}:2:6: function "servce" not defined', err)
        self.assertFalse(os.path.exists(self.path("out")))

    def test_render_error_and_bad_flags(self):
        tpl = self.write("r.tpl", '{{ service "web|sleepy" }}')
        code, _, err = self.run_template("-once", "-template", f"{tpl}:out")
        self.assertEqual(code, 1)
        self.assertIn(f"{tpl}:1:4: error calling service: invalid service", err)
        code, _, err = self.run_template("-once", "-template", self.path("missing.tpl") + ":out")
        self.assertEqual(code, 1)
        self.assertIn("missing.tpl: No such file or directory", err)
        code, _, err = self.run_template("-once")
        self.assertEqual(code, 1)
        self.assertIn("At least one -template is required", err)
        code, _, err = self.run_template("-wait", "soon", "-template", "a:b")
        self.assertEqual(code, 1)
        self.assertIn("invalid -wait soon", err)


CHILD = r"""
import os, signal, sys
events = sys.argv[1]
def note(text):
    with open(events, "a") as f:
        f.write(text + "\n")
def on_term(*_):
    note("term")
    sys.exit(7)
signal.signal(signal.SIGHUP, lambda *_: note("hup"))
signal.signal(signal.SIGTERM, on_term)
note(f"start {os.getpid()} " + open(sys.argv[2]).read().strip())
while True:
    signal.pause()
"""


class Exec:
    def events(self):
        return (read(self.path("events")) or "").splitlines()

    def wait_events(self, expected):
        wait_until(lambda: len(self.events()) >= len(expected), TIMEOUT,
                   f"child events {expected} (saw {self.events()})")
        self.assertEqual([e.split(" ")[0] + (" " + e.split(" ")[2] if e.startswith("start")
                                             else "") for e in self.events()], expected)

    def exec_args(self, key, *extra):
        self.assertStatus(self.agent.put(kv_url(key), "v1"), 200)
        tpl = self.write("c.tpl", f'value={{{{ key "{key}" }}}}\n')
        out = self.path("c.out")
        child = self.write("child.py", CHILD)
        cmd = f"exec /usr/bin/python3 {child} {self.path('events')} {out}"
        return ["-template", f"{tpl}:{out}", "-exec", cmd, *extra]

    def test_reload_signal_on_change_and_sigterm_forwarded(self):
        p = self.start(*self.exec_args("exec/a", "-exec-reload-signal", "SIGHUP"))
        self.wait_events(["start value=v1"])
        self.assertStatus(self.agent.put(kv_url("exec/a"), "v2"), 200)
        self.wait_events(["start value=v1", "hup"])
        self.assertEqual(read(self.path("c.out")), "value=v2\n")
        # SIGHUP to cairn template is forwarded.
        p.send_signal(signal.SIGHUP)
        self.wait_events(["start value=v1", "hup", "hup"])
        # SIGTERM is forwarded; the child's exit code becomes ours.
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=TIMEOUT), 7, self.log_of(p))
        self.wait_events(["start value=v1", "hup", "hup", "term"])

    def test_restart_on_change_and_exit_code_of_the_child(self):
        p = self.start(*self.exec_args("exec/b"))
        self.wait_events(["start value=v1"])
        self.assertStatus(self.agent.put(kv_url("exec/b"), "v2"), 200)
        # Stopped with SIGTERM (-exec-kill-signal), started again on the new file.
        self.wait_events(["start value=v1", "term", "start value=v2"])
        pids = [e.split(" ")[1] for e in self.events() if e.startswith("start")]
        self.assertNotEqual(pids[0], pids[1])
        self.assertIsNone(p.poll())
        os.kill(int(pids[1]), signal.SIGTERM)  # the child exits by itself: so do we
        self.assertEqual(p.wait(timeout=TIMEOUT), 7, self.log_of(p))


class Template(NginxUpstream, Once, Errors, Exec, TemplateCase):
    """Every test above on one agent (a start costs seconds on a loaded machine)."""


if __name__ == "__main__":
    main()
