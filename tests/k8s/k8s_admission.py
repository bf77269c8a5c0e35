"""Mutating admission webhooks for the fake API server (tests/k8s/fake_apiserver.py).

On a create (POST) or update (PUT) the fake calls every MutatingWebhookConfiguration webhook whose
rules, namespaceSelector and objectSelector match, in order, as kube-apiserver does: an
AdmissionReview admission.k8s.io/v1 POSTed over HTTPS to the webhook's Service (resolved through
its Endpoints; clientConfig.url works too), the server checked against clientConfig.caBundle for
the name <service>.<namespace>.svc, `?timeout=Ns` on the path and timeoutSeconds as the deadline.
The answer's JSONPatch is applied; a denial becomes the API server's error ("admission webhook
"<name>" denied the request: <message>", code at least 400); a call that fails (connection, TLS,
timeout, a malformed answer) fails the request when failurePolicy is Fail (the default) and is
skipped when it is Ignore.

Left out: reinvocationPolicy, matchConditions, matchPolicy Equivalent, PATCH requests (kubectl
apply of a new object POSTs; pods' specs are immutable anyway), sideEffects/dry-run handling.
Only loopback addresses are called. Python stdlib only.
"""

import base64
import copy
import http.client
import json
import socket
import ssl
import urllib.parse
import uuid

import k8s_patch

GROUP = "admissionregistration.k8s.io"


class Denied(Exception):
    """The request fails with this HTTP code and message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def _selector_matches(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions) against a label map. None matches all."""
    if not selector:
        return True
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _rule_matches(rule, rt, version, operation, sub):
    def has(field, value):
        listed = rule.get(field) or []
        return "*" in listed or value in listed

    resource = rt.plural + ("/" + sub if sub else "")
    resources = rule.get("resources") or []
    return (has("operations", operation) and has("apiGroups", rt.group)
            and has("apiVersions", version)
            and ("*" in resources or resource in resources or (sub and rt.plural + "/*" in resources)))


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an address while verifying (and sending SNI for) another name, as kube-apiserver
    does when it dials a Service's endpoint and checks the certificate for the Service's DNS name."""

    def __init__(self, host, port, server_hostname, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self._server_hostname = server_hostname
        self._tls = context

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        # As Go's net/http: no Nagle, so a body sent after its headers is not held back.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_hostname)


def _endpoint(store, client_config):
    """(ip, port, verify-name, path) for a webhook's clientConfig."""
    if client_config.get("url"):
        url = urllib.parse.urlsplit(client_config["url"])
        return url.hostname, url.port or 443, url.hostname, url.path or "/"
    svc = client_config.get("service") or {}
    name, ns = svc.get("name"), svc.get("namespace")
    eps = store.objects[("", "endpoints")].get((ns, name))
    for subset in (eps or {}).get("subsets") or []:
        addresses, ports = subset.get("addresses") or [], subset.get("ports") or []
        if addresses and ports:
            return addresses[0]["ip"], int(ports[0]["port"]), f"{name}.{ns}.svc", svc.get(
                "path") or "/"
    raise OSError(f"service \"{ns}/{name}\" has no ready endpoints")


def _call(store, hook, review):
    """POSTs the review to the webhook; returns its response part or raises OSError/ValueError."""
    with store.lock:
        host, port, verify_name, path = _endpoint(store, hook.get("clientConfig") or {})
    if not host.startswith("127."):
        raise OSError(f"the fake API server calls loopback webhooks only, not {host}")
    bundle = (hook.get("clientConfig") or {}).get("caBundle")
    context = ssl.create_default_context(
        cadata=base64.b64decode(bundle).decode() if bundle else None)
    timeout = int(hook.get("timeoutSeconds") or 10)
    conn = _Connection(host, port, verify_name, context, timeout)
    try:
        conn.request("POST", f"{path}?timeout={timeout}s", body=json.dumps(review).encode(),
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise ValueError(f"the server responded with {resp.status}: {body[:200]!r}")
    answer = json.loads(body)
    if answer.get("apiVersion") != "admission.k8s.io/v1" or answer.get("kind") != (
            "AdmissionReview"):
        raise ValueError("expected a response of kind AdmissionReview admission.k8s.io/v1")
    response = answer.get("response")
    if not isinstance(response, dict) or response.get("uid") != review["request"]["uid"]:
        raise ValueError("expected response.uid to be " + review["request"]["uid"])
    return response


def _review(rt, version, ns, obj, old, operation, sub):
    gvk = {"group": rt.group, "version": version, "kind": rt.kind}
    gvr = {"group": rt.group, "version": version, "resource": rt.plural}
    request = {"uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk,
               "requestResource": gvr, "name": (obj.get("metadata") or {}).get("name", ""),
               "namespace": ns or "", "operation": operation,
               "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
               "object": obj, "oldObject": old, "dryRun": False,
               "options": {"kind": f"{operation.title()}Options", "apiVersion": "meta.k8s.io/v1"}}
    if sub:
        request["subResource"] = sub
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def mutate(store, rt, version, ns, obj, old, operation, sub=None, record=None):
    """Runs the mutating webhooks on obj (a dict); returns the object to store. Raises Denied."""
    with store.lock:
        configs = copy.deepcopy(sorted(
            store.objects[(GROUP, "mutatingwebhookconfigurations")].values(),
            key=lambda c: c["metadata"]["name"]))
        ns_obj = store.objects[("", "namespaces")].get(("", ns)) if ns else None
        ns_labels = ((ns_obj or {}).get("metadata") or {}).get("labels") or {}
    if not isinstance(obj, dict):
        return obj
    for config in configs:
        for hook in config.get("webhooks") or []:
            name = hook.get("name", "")
            if not any(_rule_matches(r, rt, version, operation, sub)
                       for r in hook.get("rules") or []):
                continue
            if rt.namespaced and not _selector_matches(hook.get("namespaceSelector"), ns_labels):
                continue
            labels = (obj.get("metadata") or {}).get("labels")
            old_labels = ((old or {}).get("metadata") or {}).get("labels")
            if not (_selector_matches(hook.get("objectSelector"), labels) or (
                    old is not None and _selector_matches(hook.get("objectSelector"), old_labels))):
                continue
            if "v1" not in (hook.get("admissionReviewVersions") or []):
                raise Denied(500, f"Internal error occurred: webhook \"{name}\" does not accept "
                             "admission.k8s.io/v1")
            review = _review(rt, version, ns, obj, old, operation, sub)
            try:
                response = _call(store, hook, review)
            except (OSError, ValueError, ssl.SSLError, http.client.HTTPException) as e:
                if record is not None:
                    record({"webhook": name, "error": str(e)})
                if hook.get("failurePolicy", "Fail") == "Ignore":
                    continue
                raise Denied(500, f"Internal error occurred: failed calling webhook \"{name}\": "
                             f"failed to call webhook: {e}")
            if record is not None:
                record({"webhook": name, "allowed": bool(response.get("allowed")),
                        "patched": "patch" in response})
            if not response.get("allowed"):
                status = response.get("status") or {}
                code = max(int(status.get("code") or 400), 400)
                message = status.get("message") or "without explanation"
                raise Denied(code, f"admission webhook \"{name}\" denied the request: {message}")
            if response.get("patch"):
                if response.get("patchType") != "JSONPatch":
                    raise Denied(500, f"Internal error occurred: webhook \"{name}\" returned an "
                                 "unsupported patchType")
                try:
                    ops = json.loads(base64.b64decode(response["patch"]))
                    obj = k8s_patch.json_patch(obj, ops)
                except (ValueError, k8s_patch.PatchError) as e:
                    raise Denied(500, f"Internal error occurred: webhook \"{name}\": the patch "
                                 f"does not apply: {e}")
    return obj
