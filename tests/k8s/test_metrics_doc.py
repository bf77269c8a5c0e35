#!/usr/bin/env python3
"""docs/metrics.md names every metric the code exports, and only those.

A metric name is any `cairn_...` word inside a string literal of the C++ sources (core, agent,
sidecar, operator): the registrations in core/metrics/metrics.cc and the operator's hand-written
exposition in operator/operator_process.cc. Cheap: no build, no process.
"""

import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from k8s_tools import REPO  # noqa: E402

SOURCES = ("core", "agent", "sidecar", "operator")
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_NAME = re.compile(r"\bcairn_[a-z0-9_]+")


def code_metrics():
    names = set()
    for top in SOURCES:
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith((".cc", ".h")):
                    with open(os.path.join(folder, name)) as f:
                        for literal in _LITERAL.findall(f.read()):
                            names.update(_NAME.findall(literal))
    return names


def doc_metrics():
    with open(os.path.join(REPO, "docs", "metrics.md")) as f:
        names = set(re.findall(r"`(cairn_[a-z0-9_]+)", f.read()))
    # A histogram's series (x_bucket, x_sum, x_count) and prefixes like `cairn_` are not names.
    return {n for n in names if not re.search(r"_(bucket|sum|count)$", n) and n != "cairn_"}


class MetricsDoc(unittest.TestCase):
    def test_the_code_has_metrics(self):
        self.assertGreaterEqual(len(code_metrics()), 20)

    def test_every_metric_is_documented(self):
        missing = sorted(code_metrics() - doc_metrics())
        self.assertEqual(missing, [], "add these to docs/metrics.md")

    def test_the_doc_names_no_metric_the_code_lacks(self):
        stale = sorted(doc_metrics() - code_metrics())
        self.assertEqual(stale, [], "docs/metrics.md names metrics the code does not export")


if __name__ == "__main__":
    unittest.main()
