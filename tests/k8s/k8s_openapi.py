"""Offline validation of rendered Kubernetes objects against the schemas of a current release.

The npm package kubernetes-models (pinned in tests/k8s/package.json, installed by scripts/setup)
is generated from the Kubernetes OpenAPI document (its models include resource.k8s.io/v1, so
1.34), and @kubernetes-models/prometheus-operator from prometheus-operator's CRDs (ServiceMonitor).
They give two things (and the npm package "yaml" a parser):

  parse_yaml(text)    the documents of a YAML stream, as a list (empty ones left out);
                      parse_yaml_many(texts) for several streams at once
  validate(objects)   its JSON-schema validators (k8s_openapi.mjs, run by node): types,
                      required fields, enums, formats. Returns one list of messages per object,
                      or None for a kind it has no model of (custom resources).
  unknown_fields(obj) the fields the API server would refuse with fieldValidation=Strict: the
                      generated validators accept unknown fields, so this walks the package's
                      TypeScript declarations (one interface per OpenAPI definition, fields
                      quoted, nested types imported from sibling files) instead.
"""

import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "node_modules")
MODELS = os.path.join(NODE_MODULES, "kubernetes-models")
# Where each kind's declaration is looked for: Kubernetes' own, then prometheus-operator's.
ROOTS = [MODELS, os.path.join(NODE_MODULES, "@kubernetes-models", "prometheus-operator")]

_IMPORT = re.compile(r'^import \{ (\w+) \} from "([^"]+)";', re.M)
_FIELD = re.compile(r'^    "([^"]+)"\??: (.*)$')


def available():
    return os.path.isdir(MODELS)


def _node(mode, text):
    proc = subprocess.run(["node", os.path.join(HERE, "k8s_openapi.mjs"), mode], input=text,
                          capture_output=True, text=True, cwd=HERE, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"node k8s_openapi.mjs {mode} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def parse_yaml(text):
    return parse_yaml_many([text])[0]


def parse_yaml_many(texts):
    """One node process for several YAML streams (node starts slowly on a loaded machine)."""
    return _node("parse", json.dumps(texts))


def validate(objects):
    return [r["errors"] if r["model"] else None for r in _node("validate", json.dumps(objects))]


def _resolve(spec, importer):
    if spec.startswith("."):
        path = os.path.normpath(os.path.join(os.path.dirname(importer), spec))
    else:
        path = os.path.join(NODE_MODULES, spec)
    path = re.sub(r"\.js$", "", path)
    return path + ".d.ts"


_cache = {}


def _interface(path):
    """{field: type text} of the first interface declared in a .d.ts file, plus its imports;
    None when the file declares a plain type (a string, IntOrString, Quantity...)."""
    if path in _cache:
        return _cache[path]
    with open(path) as f:
        text = f.read()
    imports = {name: _resolve(spec, path) for name, spec in _IMPORT.findall(text)}
    start = re.search(r"^export interface \w+[^{]*\{\n", text, re.M)
    if not start:
        _cache[path] = None
        return None
    fields = {}
    lines = text[start.end():].split("\n")
    i = 0
    while i < len(lines) and lines[i] != "}":
        m = _FIELD.match(lines[i])
        if m:
            name, type_text = m.group(1), m.group(2).rstrip(";")
            if type_text == "{":  # a map: "[key: string]: T;" on the next line
                i += 1
                type_text = "map:" + lines[i].strip().split(": ", 1)[1].rstrip(";")
            fields[name] = type_text
        i += 1
    _cache[path] = (fields, imports)
    return _cache[path]


def _walk(value, type_text, imports, where, out):
    type_text = type_text.strip()
    if type_text.startswith("map:"):
        if isinstance(value, dict):
            for k, v in value.items():
                _walk(v, type_text[4:], imports, f"{where}[{k}]", out)
        return
    if type_text.startswith("Array<") and type_text.endswith(">"):
        if isinstance(value, list):
            for n, item in enumerate(value):
                _walk(item, type_text[6:-1], imports, f"{where}[{n}]", out)
        return
    if type_text in imports and isinstance(value, dict):
        _check(value, imports[type_text], where, out)


def _check(obj, dts, where, out):
    declared = _interface(dts)
    if declared is None:
        return
    fields, imports = declared
    for name, value in obj.items():
        path = f"{where}.{name}" if where else name
        if name not in fields:
            out.append(path)
        else:
            _walk(value, fields[name], imports, path, out)


def unknown_fields(obj):
    """The dotted paths of fields the kind's schema does not declare ([] for a kind without a
    model: check custom resources with k8s_schema.apply_schema)."""
    for root in ROOTS:
        dts = os.path.join(root, obj.get("apiVersion", ""), obj.get("kind", "") + ".d.ts")
        if os.path.isfile(dts):
            break
    else:
        return []
    out = []
    _check(obj, dts, "", out)
    return out
