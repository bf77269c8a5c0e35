// The node half of k8s_openapi.py.
//   node k8s_openapi.mjs parse     stdin: a JSON array of YAML streams; stdout: for each, the JSON
//                                  array of its documents (empty ones left out). Debian's python3
//                                  has no YAML parser without an extra package; npm's "yaml" does.
//   node k8s_openapi.mjs validate  stdin: a JSON array of objects; stdout: one entry per object,
//                                  {"model": true|false, "errors": ["<path>: <message>", ...]}.
// validate uses the kubernetes-models validators (JSON schemas generated from the Kubernetes
// OpenAPI of a current release): types, required fields, enums, formats. An object whose
// apiVersion/kind has no model (a custom resource) comes back with model=false. Unknown fields are
// not judged here (the generated schemas allow them): k8s_openapi.py checks those.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// "apps/v1" Deployment -> kubernetes-models/apps/v1/Deployment; core "v1" -> kubernetes-models/v1/...
// prometheus-operator's kinds (ServiceMonitor) come from the same project's package for them.
const ROOTS = ["kubernetes-models", "@kubernetes-models/prometheus-operator"];

async function loadModel(apiVersion, kind) {
  for (const root of ROOTS) {
    try {
      const mod = await import(`${root}/${apiVersion}/${kind}`);
      if (mod[kind]) return mod[kind];
    } catch {
      // not in this package: try the next one
    }
  }
  return null;
}

async function validate(objects) {
  const results = [];
  for (const obj of objects) {
    const Model = await loadModel(String(obj.apiVersion), String(obj.kind));
    if (!Model) {
      results.push({ model: false, errors: [] });
      continue;
    }
    const errors = [];
    try {
      new Model(obj).validate();
    } catch (e) {
      for (const err of e.errors ?? [{ instancePath: "", message: String(e.message) }]) {
        const params = err.params && Object.keys(err.params).length ? err.params : null;
        errors.push(`${err.instancePath || "/"}: ${err.message}${params ? " " + JSON.stringify(params) : ""}`);
      }
    }
    results.push({ model: true, errors });
  }
  return results;
}

const input = readFileSync(0, "utf8");
if (process.argv[2] === "parse") {
  const streams = JSON.parse(input).map((text) => parseAllDocuments(text));
  const bad = streams.flat().flatMap((d) => d.errors);
  if (bad.length) {
    process.stderr.write(bad.map(String).join("\n") + "\n");
    process.exit(1);
  }
  const docs = streams.map((stream) => stream.map((d) => d.toJS()).filter((d) => d != null));
  process.stdout.write(JSON.stringify(docs));
} else if (process.argv[2] === "validate") {
  process.stdout.write(JSON.stringify(await validate(JSON.parse(input))));
} else {
  process.stderr.write("usage: node k8s_openapi.mjs parse|validate < input\n");
  process.exit(2);
}
