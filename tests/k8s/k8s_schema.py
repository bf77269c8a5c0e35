"""What the API server does with a custom resource's structural schema (openAPIV3Schema).

  apply_schema(obj, schema)  defaults applied, unknown fields pruned (unless
                             x-kubernetes-preserve-unknown-fields), then validated: type, required,
                             enum, minimum/maximum (and exclusive), minLength/maxLength, pattern,
                             minItems/maxItems, nullable, x-kubernetes-int-or-string. Returns the
                             list of causes ({reason, message, field}) in Kubernetes' wording.
  jsonpath(obj, expr)        the subset of JSONPath that additionalPrinterColumns use:
                             .a.b.c, [N], [*] and [?(@.field=="value")]
"""

import copy
import re

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
# The fields every object has, whatever its schema says.
_ALWAYS = ("apiVersion", "kind", "metadata")


def _show(value):
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "\"object\"" if isinstance(value, dict) else "\"array\""
    return str(value)


def _default(obj, schema):
    """Fills absent fields that have a default, depth first, as the API server does."""
    if isinstance(obj, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name not in obj and "default" in sub:
                obj[name] = copy.deepcopy(sub["default"])
            if name in obj:
                _default(obj[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for value in obj.values():
                _default(value, extra)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            _default(item, schema["items"])


def _prune(obj, schema, pruned, field=""):
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(obj, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is not None and not extra:
            for name in list(obj):
                if name not in props and not (not field and name in _ALWAYS):
                    pruned.append(f"{field}.{name}" if field else name)
                    del obj[name]
        for name, value in obj.items():
            sub = (props or {}).get(name) or (extra if isinstance(extra, dict) else None)
            if sub:
                _prune(value, sub, pruned, f"{field}.{name}" if field else name)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(obj):
            _prune(item, schema["items"], pruned, f"{field}[{i}]")


def _cause(causes, field, reason, message):
    # Kubernetes keeps the field out of a cause's message; the Status message joins the two.
    if message.startswith(f"{field}: "):
        message = message[len(field) + 2:]
    causes.append({"reason": reason, "message": message, "field": field})


def _validate(value, schema, field, causes):
    if value is None:
        if not schema.get("nullable"):
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: \"null\": {field} in body must be of type "
                   f"{schema.get('type', 'object')}: \"null\"")
        return
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _TYPES["integer"](value)):
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: {_show(value)}: {field} in body must be of type "
                   "integer or string")
        return
    if kind and kind in _TYPES and not _TYPES[kind](value):
        actual = next(t for t in ("boolean", "integer", "number", "string", "array", "object")
                      if _TYPES[t](value))
        _cause(causes, field, "FieldValueTypeInvalid",
               f"{field}: Invalid value: {_show(value)}: {field} in body must be of type {kind}: "
               f"\"{actual}\"")
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(_show(v) for v in schema["enum"])
        _cause(causes, field, "FieldValueNotSupported",
               f"{field}: Unsupported value: {_show(value)}: supported values: {allowed}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and (value < low or (schema.get("exclusiveMinimum") and value == low)):
            word = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: {value}: {field} in body should be {word} {low}")
        if high is not None and (value > high or (schema.get("exclusiveMaximum") and value == high)):
            word = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: {value}: {field} in body should be {word} {high}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: {_show(value)}: {field} in body should be at least "
                   f"{schema['minLength']} chars long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            _cause(causes, field, "FieldValueTooLong",
                   f"{field}: Too long: may not be longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: {_show(value)}: {field} in body should match "
                   f"'{schema['pattern']}'")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            _cause(causes, field, "FieldValueInvalid",
                   f"{field}: Invalid value: {len(value)}: {field} in body should have at least "
                   f"{schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            _cause(causes, field, "FieldValueTooMany",
                   f"{field}: Too many: {len(value)}: must have at most {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                _validate(item, schema["items"], f"{field}[{i}]", causes)
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                sub = f"{field}.{name}" if field else name
                _cause(causes, sub, "FieldValueRequired", f"{sub}: Required value")
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = f"{field}.{name}" if field else name
            if name in props:
                _validate(item, props[name], sub, causes)
            elif isinstance(extra, dict):
                _validate(item, extra, sub, causes)


def apply_schema(obj, schema, pruned=None):
    """Defaults, prunes and validates obj in place; returns the validation causes. The fields
    pruned as unknown are appended to `pruned`."""
    _default(obj, schema)
    _prune(obj, schema, pruned if pruned is not None else [])
    causes = []
    top = {k: v for k, v in obj.items() if k not in _ALWAYS}
    props = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _ALWAYS}
    _validate(top, dict(schema, properties=props,
                        required=[r for r in schema.get("required") or [] if r not in _ALWAYS]),
              "", causes)
    return causes


_FILTER = re.compile(r"\[\?\(@\.([\w.]+)\s*==\s*[\"']([^\"']*)[\"']\)\]")


def jsonpath(obj, expr):
    """Evaluates a printer-column JSONPath; returns a list of the values found."""
    expr = expr.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    if expr.startswith("$"):
        expr = expr[1:]
    nodes = [obj]
    pos = 0
    while pos < len(expr):
        if expr[pos] == ".":
            match = re.match(r"\.([\w\-/]+)", expr[pos:])
            if not match:
                return []
            name = match.group(1)
            nodes = [n[name] for n in nodes if isinstance(n, dict) and name in n]
            pos += match.end()
        elif expr.startswith("[*]", pos):
            nodes = [item for n in nodes if isinstance(n, list) for item in n]
            pos += 3
        elif _FILTER.match(expr, pos):
            match = _FILTER.match(expr, pos)
            path, want = match.group(1).split("."), match.group(2)
            kept = []
            for n in nodes:
                for item in n if isinstance(n, list) else []:
                    value = item
                    for part in path:
                        value = value.get(part) if isinstance(value, dict) else None
                    if value is not None and str(value) == want:
                        kept.append(item)
            nodes = kept
            pos = match.end()
        elif re.match(r"\[(\d+)\]", expr[pos:]):
            match = re.match(r"\[(\d+)\]", expr[pos:])
            i = int(match.group(1))
            nodes = [n[i] for n in nodes if isinstance(n, list) and i < len(n)]
            pos += match.end()
        else:
            return []
    return nodes
