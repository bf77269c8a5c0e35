"""The patch formats of the Kubernetes API, on plain JSON values (dicts, lists, scalars).

  merge_patch        RFC 7386 (application/merge-patch+json): maps merge, lists are replaced,
                     null deletes
  strategic_merge    application/strategic-merge-patch+json on built-in kinds: lists of objects
                     with a merge key (containers/env/volumes by name, container ports by
                     containerPort, service ports by port, ...) merge item by item; the
                     directives kubectl sends ($patch, $setElementOrder/..., $retainKeys,
                     $deleteFromPrimitiveList/...) are understood
  json_patch         RFC 6902 (application/json-patch+json): add, remove, replace, move, copy, test
  leaf_paths         the field paths an applied object sets (server-side apply's field ownership,
                     simplified: a list is one field)

Errors raise PatchError, which the server answers with 422 (or 409 for a failed `test`).
"""

import copy

# The merge key of each list field that strategic merge patch merges item by item (the
# patchMergeKey tags of k8s.io/api). "ports" depends on where it sits: see _merge_key.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
}


class PatchError(Exception):
    def __init__(self, message, code=422):
        super().__init__(message)
        self.code = code


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field, items, apply=False):
    if field == "ports":
        # Container ports merge on containerPort, Service ports on port. Server-side apply keys
        # both on (port, protocol) (x-kubernetes-list-map-keys), so the TCP and UDP entries of
        # one port number stay two entries; strategic merge's single key folds them into one,
        # a known Kubernetes bug that client-side apply still has.
        for item in items:
            if isinstance(item, dict) and "containerPort" in item:
                return ("containerPort", "protocol") if apply else "containerPort"
        return ("port", "protocol") if apply else "port"
    return MERGE_KEYS.get(field)


def _key_of(item, key):
    if isinstance(key, tuple):  # a list-map key; protocol defaults to TCP
        return tuple(item.get(k, "TCP" if k == "protocol" else None) for k in key)
    return item.get(key)


def strategic_merge(target, patch, apply=False):
    """Applies a strategic merge patch to an object (a dict). apply=True merges lists with
    server-side apply's list-map keys where they differ from strategic merge's."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    return _sm_map(target if isinstance(target, dict) else {}, patch, apply)


def _sm_map(target, patch, apply=False):
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _sm_map(result.get(key) if isinstance(result.get(key), dict) else {}, value,
                             apply)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _sm_list(key, result.get(key), value, apply)
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _sm_list(field, target, patch, apply=False):
    target = target if isinstance(target, list) else []
    key = _merge_key(field, patch + target, apply)
    if key is None or not all(isinstance(item, dict) for item in patch):
        # Lists without a merge key (and lists of scalars) are replaced, as in Kubernetes.
        if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
            return [copy.deepcopy(i) for i in patch if not isinstance(i, dict) or "$patch" not in i]
        return copy.deepcopy(patch)
    if any(item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if "$patch" not in i]
    result = copy.deepcopy(target)
    for item in patch:
        if (key[0] if isinstance(key, tuple) else key) not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        index = next(
            (i for i, t in enumerate(result)
             if isinstance(t, dict) and _key_of(t, key) == _key_of(item, key)),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_sm_map({}, item, apply))
        else:
            result[index] = _sm_map(result[index], item, apply)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts, path):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: {path!r}")
    return node


def _get(doc, path):
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise PatchError(f"doc is missing path: {path!r}")


def _add(doc, path, value):
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        if last == "-":
            parent.append(copy.deepcopy(value))
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), copy.deepcopy(value))
        else:
            raise PatchError(f"add operation index out of range: {path!r}")
    else:
        raise PatchError(f"doc is missing path: {path!r}")
    return doc


def _remove(doc, path):
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent.pop(int(last))
    else:
        raise PatchError(f"unable to remove nonexistent key: {path!r}")
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a JSON array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op!r}")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation has no value")
        if kind == "add":
            doc = _add(doc, path, op["value"])
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, op["value"]) if _pointer(path) else op["value"]
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed", code=422)
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


def leaf_paths(obj, prefix=()):
    """The paths a (partial) object sets; maps are walked, anything else is one field."""
    out = set()
    for key, value in obj.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            out |= leaf_paths(value, path)
        else:
            out.add(path)
    return out


def get_path(obj, path):
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def remove_path(obj, path):
    """Removes a field and the maps it leaves empty."""
    if len(path) == 1:
        if isinstance(obj, dict):
            obj.pop(path[0], None)
        return
    child = obj.get(path[0]) if isinstance(obj, dict) else None
    if isinstance(child, dict):
        remove_path(child, path[1:])
        if not child:
            obj.pop(path[0], None)


def fields_v1(paths):
    """managedFields' fieldsV1 shape ({"f:spec": {"f:servers": {}}}) of a set of paths."""
    out = {}
    for path in sorted(paths):
        node = out
        for part in path:
            node = node.setdefault("f:" + part, {})
    return out
