#!/usr/bin/env python3
"""The Dockerfile, linted without a Docker engine (none runs in CI, and Debian has no hadolint).

  every RUN step runs scripts of this repo (or a copy of one), plus only apt-list cleanup and
  the useradd of the runtime user; the build stage builds with `scripts/build release`
  the runtime stage is debian slim, installs Debian runtime packages only (scripts/setup
  --runtime, no -dev package in its list), and runs as the non-root uid it creates
  the binaries copied from the build stage are the CMake targets that build them
  the chart runs what the image holds: its commands exist there, its runAsUser is the image's
  user, its image repository is the one docs/kubernetes.md builds
"""

import json
import os
import re
import shlex
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from k8s_tools import REPO  # noqa: E402

# Commands a RUN step may chain after its script.
ALLOWED_EXTRA = (re.compile(r"^rm -rf /var/lib/apt/lists/\*$"),
                 re.compile(r"^useradd --system --uid (\d+) --user-group .* cairn$"))


def instructions(text):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            word, _, rest = current.partition(" ")
            out.append((word.upper(), rest.strip()))
            current = ""
    return out


def stages(text):
    result = []
    for word, rest in instructions(text):
        if word == "FROM":
            result.append({"from": rest, "steps": []})
        else:
            result[-1]["steps"].append((word, rest))
    return result


def read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = stages(read("Dockerfile"))
        cls.build, cls.runtime = cls.stages[0], cls.stages[-1]

    def copies(self, stage):
        """{destination: source} of a stage's COPY steps (JSON form not used here)."""
        result = {}
        for word, rest in stage["steps"]:
            if word == "COPY":
                args = [a for a in shlex.split(rest) if not a.startswith("--")]
                result[args[-1]] = (args[0], "--from=" in rest)
        return result

    def run_steps(self, stage):
        return [rest for word, rest in stage["steps"] if word == "RUN"]

    def test_two_stages(self):
        self.assertEqual(len(self.stages), 2)
        self.assertRegex(self.build["from"], r"^debian:bookworm AS build$")
        self.assertRegex(self.runtime["from"], r"^debian:bookworm-slim$")

    def test_every_run_step_is_a_repo_script(self):
        for stage in self.stages:
            copies = self.copies(stage)
            for step in self.run_steps(stage):
                commands = [c.strip() for c in step.split("&&")]
                scripts = []
                for command in commands:
                    if any(p.match(command) for p in ALLOWED_EXTRA):
                        continue
                    program = shlex.split(command)[0]
                    # A script copied into the image counts as its repo source.
                    source, from_stage = copies.get(program, (program, False))
                    self.assertFalse(from_stage, f"RUN {command}: not a repo script")
                    path = os.path.join(REPO, source)
                    self.assertTrue(os.path.isfile(path) and os.access(path, os.X_OK),
                                    f"RUN {command}: {source} is not an executable repo script")
                    self.assertTrue(source.startswith("scripts/"), f"RUN {command}")
                    scripts.append(command)
                self.assertTrue(scripts, f"RUN {step}: runs no repo script")
        self.assertIn("scripts/setup && scripts/build release", self.run_steps(self.build))

    def test_runtime_is_debian_runtime_packages(self):
        self.assertTrue(any("setup --runtime" in s for s in self.run_steps(self.runtime)))
        setup = read("scripts", "setup")
        runtime = re.search(r"^runtime=\(\n(.*?)^\)", setup, re.M | re.S).group(1).split()
        self.assertTrue(runtime)
        for package in runtime:
            self.assertFalse(package.endswith("-dev"), f"{package} is not a runtime package")
        self.assertFalse([s for s in self.run_steps(self.runtime) if "apt-get" in s or
                          "curl" in s or "wget" in s], "the runtime stage installs nothing else")

    def test_runtime_runs_as_the_user_it_creates(self):
        users = [rest for word, rest in self.runtime["steps"] if word == "USER"]
        self.assertEqual(len(users), 1)
        uid = users[0].split(":")[0]
        self.assertTrue(uid.isdigit() and int(uid) != 0, f"USER {users[0]} must be a non-root uid")
        created = [m.group(1) for s in self.run_steps(self.runtime)
                   for c in s.split("&&") for m in [ALLOWED_EXTRA[1].match(c.strip())] if m]
        self.assertEqual(created, [uid])
        # The chart's pods run as that user.
        deployment = read("deploy", "helm", "cairn", "templates", "operator-deployment.yaml")
        self.assertIn(f"runAsUser: {uid}", deployment)

    def test_binaries_are_the_cmake_targets(self):
        copied = {dest: src for dest, (src, from_stage) in self.copies(self.runtime).items()
                  if from_stage}
        self.assertEqual(sorted(os.path.basename(d) for d in copied),
                         ["cairn", "cairn-operator", "cairn-sidecar"])
        for dest, src in copied.items():
            m = re.fullmatch(r"/src/build/release/(\w+)/([\w-]+)", src)
            self.assertTrue(m, f"{src} is not in the release build tree")
            self.assertEqual(m.group(2), os.path.basename(dest))
            cmake = read(m.group(1), "CMakeLists.txt")
            self.assertRegex(cmake, rf"add_executable\({re.escape(m.group(2))}\s")
            self.assertTrue(dest.startswith("/usr/local/bin/"))
        entry = [rest for word, rest in self.runtime["steps"] if word == "ENTRYPOINT"]
        self.assertEqual(json.loads(entry[0]), ["cairn"])

    def test_the_chart_runs_what_the_image_holds(self):
        held = {os.path.basename(d) for d in self.copies(self.runtime)}
        templates = os.path.join(REPO, "deploy", "helm", "cairn", "templates")
        commands = set()
        for name in os.listdir(templates):
            with open(os.path.join(templates, name)) as f:
                commands.update(re.findall(r"command: \[([\w-]+)\]", f.read()))
        self.assertEqual(commands, {"cairn-operator"})
        self.assertLessEqual(commands, held)
        values = read("deploy", "helm", "cairn", "values.yaml")
        self.assertRegex(values, r"(?m)^  repository: cairn$")
        # The servers' pods (operator/desired_objects.cc) run the entrypoint with agent args, and
        # the CRD's default image is the chart's image:tag.
        chart = read("deploy", "helm", "cairn", "Chart.yaml")
        app_version = re.search(r'(?m)^appVersion: "([^"]+)"', chart).group(1)
        self.assertIn(f"default: cairn:{app_version}", read("deploy", "crds",
                                                             "cairn.io_cairnclusters.yaml"))
        self.assertIn("cairn-sidecar", held)


if __name__ == "__main__":
    unittest.main()
