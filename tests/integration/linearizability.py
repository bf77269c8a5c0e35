"""Linearizability checker for KV histories recorded by Cairn's fault tests.

Fault tests run concurrent clients (get / put / cas / delete over Consul's HTTP KV API) against a
cluster while servers are killed, paused and partitioned. Each client records what it asked and
what it was told in a `History`; `check()` then decides whether some linearization explains it.
Standard library only; run with /usr/bin/python3.

Recording
---------
    history = History()
    op = history.invoke(process, "write", key, value=v)   # just before the request is sent
    ...                                                   # the HTTP request
    history.ok(op)          # PUT answered true
    history.fail(op)        # definitely not applied (e.g. HTTP 4xx)
    history.info(op)        # indeterminate: time-out, connection reset, 5xx

    op = history.invoke(process, "read", key)
    history.ok(op, value)   # the value read, or None for 404 (absent)

    op = history.invoke(process, "cas", key, value=new, expected=old)
    history.ok(op, True)    # or history.ok(op, False): a cas answered false is an ok op

    result = check(history)
    if not result.ok:
        history.dump(os.path.join(log_dir, "history.jsonl"))   # re-check offline:
    assert result.ok, result.report()        # python3 linearizability.py history.jsonl

`invoke` takes its timestamp (time.monotonic_ns) when called and `ok`/`fail`/`info` when they
are called, so call `invoke` before sending and complete after the answer arrived. A `process`
is any JSON scalar naming one sequential client. Values, expected values and read results are
JSON scalars (str, int, float, bool) compared with ==; None means "absent" and is never
written.

Model
-----
Each key is an independent register (P-compositionality: a history is linearizable iff each
key's sub-history is), whose state is a value or None (absent):

    read            -> the state (None if absent)
    write(v)        state = v
    delete          state = None
    cas(e, n)       -> True and state = n if state == e, else -> False (state unchanged);
                    cas(None, n) is "create if absent" (Consul's cas=0)

Consul's CAS compares the key's ModifyIndex, not its value. The clients write globally unique
values, so a ModifyIndex identifies one value: every write creates a new index together with a
new value, and an index/value read together belong to the same write. The recorder therefore
maps "cas at the ModifyIndex I read together with value v" to cas(expected=v), and "cas=0" to
cas(expected=None). This is only sound while every write writes a value no other write wrote.

Outcomes
--------
  ok    the operation took effect, exactly once, between its invocation and completion, and
        returned `result` (reads: the value; cas: True/False; write/delete: ignored).
  fail  the operation definitely did not take effect; the checker drops it.
  info  indeterminate: it may have taken effect at any time after its invocation (even after
        the completion was recorded), or never. Its completion is treated as +infinity and the
        search may also leave it out. Operations never completed count as info. Info reads
        constrain nothing and are dropped.

Algorithm
---------
Wing & Gong's backtracking search with Lowe's improvements: "just-in-time" linearization (only
operations invoked before the earliest pending completion are candidates), memoization of
(set of linearized operations as a bitmask, model state), and an explicit stack instead of
recursion. Before searching, a key whose completed reads or cas observed a value that no
operation which may have taken effect writes is rejected outright. These reductions keep the
search small; each only skips branches that cannot lead to a linearization no other branch
reaches:
  * Values that no read returns and no cas expects are indistinguishable to the model and share
    one state, so interchangeable info operations (same precondition, same resulting state) form
    a class of which only the earliest-invoked unused member is ever tried.
  * Info operations are tried only when the completed candidates are stuck, and only when the
    operation right after them could need their effect. An info operation completes at +infinity,
    so it can always be postponed until just before an operation that needs it: one invoked
    before the current horizon that expects the new value, or a cas answered false that refuses
    the current value. Anything else could go first, or overwrites the effect.
  * The register may not leave a value that a pending completed operation still has to observe
    unless some remaining operation can write that value again.
  * Memoization subsumes: a configuration with the same completed operations and state as an
    explored one, and a superset of its used info operations, is not explored again.

The worst case is still exponential in concurrency. Histories that are linearizable check in
well under a second for 10,000 operations. Histories that are not can need an exhaustive
search of everything before the violation; with hundreds of operations per key that takes
seconds. A per-key budget (DEFAULT_MAX_CONFIGURATIONS) turns a runaway search into the verdict
UNKNOWN, which fails the check. Fault tests should spread their operations over many keys.

CLI: python3 linearizability.py HISTORY.jsonl [--max-configurations N (0: no budget)]
Exit status 0 linearizable, 1 not linearizable, 2 unknown (search budget exhausted) or error.
"""
import argparse
import dataclasses
import json
import sys
import threading
import time

__all__ = ["READ", "WRITE", "CAS", "DELETE", "OK", "FAIL", "INFO", "Op", "History", "check",
           "CheckResult", "KeyResult", "LINEARIZABLE", "NOT_LINEARIZABLE", "UNKNOWN",
           "DEFAULT_MAX_CONFIGURATIONS"]

READ, WRITE, CAS, DELETE = "read", "write", "cas", "delete"
FUNCTIONS = (READ, WRITE, CAS, DELETE)
OK, FAIL, INFO = "ok", "fail", "info"

LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN = "linearizable", "not linearizable", "unknown"

# Per-key search budget. Linearizable keys need about one to five configurations per operation;
# proving a violation in a key of hundreds of operations, thousands to a few hundred thousand.
# A configuration costs roughly 5-50 us, growing with the operations per key.
DEFAULT_MAX_CONFIGURATIONS = 1_000_000

_SCALARS = (str, int, float, bool)


def _is_scalar(value):
    return isinstance(value, _SCALARS)


def _check_value(what, value, allow_none):
    if value is None and allow_none:
        return
    if not _is_scalar(value):
        raise ValueError(f"{what} must be a JSON scalar (str, int, float, bool)"
                         f"{' or None' if allow_none else ''}, got {value!r}")


def _validate_invocation(f, key, value, expected):
    """Raises ValueError unless (f, key, value, expected) is a well-formed invocation."""
    if not isinstance(key, str):
        raise ValueError(f"keys are strings, got {key!r}")
    if f not in FUNCTIONS:
        raise ValueError(f"unknown function {f!r}; expected one of {FUNCTIONS}")
    if f in (WRITE, CAS):
        _check_value(f"{f} value", value, allow_none=False)
    elif value is not None:
        raise ValueError(f"{f} takes no value, got {value!r}")
    if f == CAS:
        _check_value("cas expected value", expected, allow_none=True)
    elif expected is not None:
        raise ValueError(f"{f} takes no expected value, got {expected!r}")


def _validate_result(f, result):
    """Returns the result to store for an ok `f`; raises ValueError if it is malformed."""
    if f == READ:
        _check_value("read result", result, allow_none=True)
        return result
    if f == CAS:
        if not isinstance(result, bool):
            raise ValueError(f"an ok cas needs a bool result, got {result!r}")
        return result
    return None  # write/delete results carry no information


@dataclasses.dataclass
class Op:
    """One operation of a history.

    `status` is OK, FAIL, INFO or None (still pending, checked as INFO). Times are
    time.monotonic_ns() values; `complete_ns` is None while pending. `result` is meaningful for
    ok reads (value or None) and ok cas (bool) only.
    """
    id: int
    process: object
    f: str
    key: str
    invoke_ns: int
    value: object = None
    expected: object = None
    status: object = None
    result: object = None
    complete_ns: object = None

    def call(self):
        """The operation as text, e.g. "cas('a' -> 'b') -> True" or "read -> None"."""
        args = ""
        if self.f == WRITE:
            args = f"({self.value!r})"
        elif self.f == CAS:
            args = f"({self.expected!r} -> {self.value!r})"
        shown = self.status == OK and self.f in (READ, CAS)
        return f"{self.f}{args}" + (f" -> {self.result!r}" if shown else "")

    def describe(self, base_ns=0):
        """One readable line: process, call, outcome and times in ms relative to base_ns."""
        start = (self.invoke_ns - base_ns) / 1e6
        if self.complete_ns is None:
            span = f"[{start:.3f} ms .. never completed]"
        else:
            span = f"[{start:.3f} .. {(self.complete_ns - base_ns) / 1e6:.3f} ms]"
        return f"{_process_label(self.process)} {self.call()} {self.status or 'pending'} {span}"


def _process_label(process):
    return f"p{process}" if isinstance(process, int) else str(process)


class History:
    """A thread-safe recorder of invocations and their outcomes, in real-time order.

    Operation ids are 0, 1, 2, ... in invocation order. Each operation is completed at most once
    (ok, fail or info); completing an unknown or already completed id raises ValueError.
    """

    def __init__(self, clock=time.monotonic_ns):
        """`clock` returns integer nanoseconds; tests may pass a fake one."""
        self._clock = clock
        self._lock = threading.Lock()
        self._ops = []
        self._events = []

    def invoke(self, process, f, key, value=None, expected=None):
        """Records the invocation of `f` on `key` now and returns its op id.

        write needs `value`; cas needs `value` (the new value) and `expected` (None: absent);
        read and delete take neither.
        """
        _validate_invocation(f, key, value, expected)
        with self._lock:
            return self._record_invoke(process, f, key, value, expected, self._clock())

    def ok(self, op_id, result=None):
        """The operation took effect and returned `result` (read: value or None; cas: bool)."""
        self._complete(op_id, OK, result)

    def fail(self, op_id):
        """The operation definitely did not take effect (e.g. HTTP 4xx)."""
        self._complete(op_id, FAIL, None)

    def info(self, op_id):
        """The outcome is unknown (time-out, reset, 5xx): it may take effect later, or never."""
        self._complete(op_id, INFO, None)

    def ops(self):
        """A snapshot copy of all operations, in invocation order."""
        with self._lock:
            return [dataclasses.replace(op) for op in self._ops]

    def __len__(self):
        with self._lock:
            return len(self._ops)

    def dumps(self):
        """The history as JSON lines, one event (invoke / ok / fail / info) per line."""
        with self._lock:
            return "".join(json.dumps(event, sort_keys=True) + "\n" for event in self._events)

    def dump(self, path):
        """Writes dumps() to `path`."""
        with open(path, "w", encoding="utf-8") as out:
            out.write(self.dumps())

    @classmethod
    def loads(cls, text):
        """Parses dumps() output; raises ValueError on a malformed or inconsistent line."""
        history = cls()
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                history._replay(json.loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"history line {number}: {e}: {line!r}") from None
        return history

    @classmethod
    def load(cls, path):
        """Reads a file written by dump()."""
        with open(path, encoding="utf-8") as source:
            return cls.loads(source.read())

    def _replay(self, event):
        kind = event["type"]
        if kind == "invoke":
            _validate_invocation(event["f"], event["key"], event.get("value"),
                                 event.get("expected"))
            op_id = self._record_invoke(event["process"], event["f"], event["key"],
                                        event.get("value"), event.get("expected"), event["time"])
            if op_id != event["id"]:
                raise ValueError(f"invocation ids must be 0, 1, 2, ...; got {event['id']}")
        elif kind in (OK, FAIL, INFO):
            self._record_complete(event["id"], kind, event.get("result"), event["time"])
        else:
            raise ValueError(f"unknown event type {kind!r}")

    def _complete(self, op_id, status, result):
        with self._lock:
            self._record_complete(op_id, status, result, self._clock())

    def _record_invoke(self, process, f, key, value, expected, time_ns):
        op = Op(len(self._ops), process, f, key, time_ns, value, expected)
        self._ops.append(op)
        self._events.append({"type": "invoke", "id": op.id, "process": process, "f": f,
                             "key": key, "value": value, "expected": expected, "time": time_ns})
        return op.id

    def _record_complete(self, op_id, status, result, time_ns):
        if not isinstance(op_id, int) or not 0 <= op_id < len(self._ops):
            raise ValueError(f"unknown op id {op_id!r}")
        op = self._ops[op_id]
        if op.status is not None:
            raise ValueError(f"op {op_id} already completed as {op.status}")
        if time_ns < op.invoke_ns:
            raise ValueError(f"op {op_id} completes before its invocation")
        if status == OK:
            result = _validate_result(op.f, result)
        else:
            result = None
        op.status, op.result, op.complete_ns = status, result, time_ns
        event = {"type": status, "id": op_id, "time": time_ns}
        if status == OK:
            event["result"] = result
        self._events.append(event)


# ---------------------------------------------------------------------------------------------
# Checker

@dataclasses.dataclass
class KeyResult:
    """The verdict for one key.

    `verdict` is LINEARIZABLE, NOT_LINEARIZABLE or UNKNOWN (the search exceeded its budget).
    For a key that is not linearizable (or unknown): `prefix` is the longest linearizable prefix
    found, in linearization order (it may include info operations); `state` is the register's
    value after it; `stuck` lists (op, reason) for the pending completed operations none of
    which could be linearized next. When `searched` is False no search was needed: `stuck`
    lists completed operations that observed a value nothing (but failed ops) writes.
    """
    key: str
    verdict: str
    completed: int
    indeterminate: int
    configurations: int
    prefix: list = dataclasses.field(default_factory=list)
    state: object = None
    stuck: list = dataclasses.field(default_factory=list)
    base_ns: int = 0
    searched: bool = True

    @property
    def ok(self):
        return self.verdict == LINEARIZABLE

    def summary(self):
        return (f"key {self.key!r}: {self.verdict} ({self.completed} completed and "
                f"{self.indeterminate} indeterminate ops, {self.configurations} configurations)")

    def explanation(self, context=8):
        """A readable account of why the key is not linearizable ("" if it is).

        Shows the last `context` operations of the longest linearizable prefix.
        """
        if self.ok:
            return ""
        lines = [self.summary()]
        if self.searched:
            lines.extend(self._prefix_lines(context))
            if self.verdict == UNKNOWN:
                lines.append("  the search budget ran out; at the deepest point reached, none "
                             "of these completed operations could come next:")
            else:
                lines.append("  none of these completed operations can be linearized next:")
        else:
            lines.append("  these completed operations observed values that no operation which "
                         "may have taken effect writes:")
        for op, reason in self.stuck:
            lines.append(f"    {op.describe(self.base_ns)}\n      {reason}")
        return "\n".join(lines)

    def _prefix_lines(self, context):
        linearized = sum(1 for op in self.prefix if op.status == OK)
        lines = [f"  longest linearizable prefix: {len(self.prefix)} ops ({linearized} of "
                 f"{self.completed} completed ones); the register then holds {self.state!r}"]
        if len(self.prefix) > context:
            lines.append(f"    ... {len(self.prefix) - context} earlier ops")
        lines.extend("    " + op.describe(self.base_ns) for op in self.prefix[-context:])
        return lines


@dataclasses.dataclass
class CheckResult:
    """The verdict for a whole history: `ok` iff every key is linearizable."""
    keys: dict
    elapsed: float

    @property
    def ok(self):
        return all(result.ok for result in self.keys.values())

    @property
    def failures(self):
        """The KeyResults that are not linearizable or unknown."""
        return [result for result in self.keys.values() if not result.ok]

    def report(self):
        """One summary line, then an explanation for each key that is not linearizable."""
        ops = sum(r.completed + r.indeterminate for r in self.keys.values())
        verdict = LINEARIZABLE if self.ok else NOT_LINEARIZABLE
        if not self.ok and all(r.verdict == UNKNOWN for r in self.failures):
            verdict = UNKNOWN
        lines = [f"history {verdict}: {len(self.keys)} keys, {ops} ops checked, "
                 f"{len(self.failures)} keys failing, {self.elapsed:.2f}s"]
        lines.extend(result.explanation() for result in self.failures)
        return "\n".join(lines)

    __str__ = report


def check(history, max_configurations=DEFAULT_MAX_CONFIGURATIONS):
    """Checks a History (or an iterable of Op) key by key; returns a CheckResult.

    `max_configurations` bounds the memoized configurations explored per key; a key that
    exceeds it gets the verdict UNKNOWN, which makes the result not ok (None: no bound).
    """
    started = time.monotonic()
    ops = history.ops() if isinstance(history, History) else list(history)
    for op in ops:
        _validate_op(op)
    base_ns = min((op.invoke_ns for op in ops), default=0)
    by_key = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    keys = {key: _KeyChecker(key, key_ops, base_ns).run(max_configurations)
            for key, key_ops in by_key.items()}
    return CheckResult(keys, time.monotonic() - started)


def _validate_op(op):
    """Raises ValueError if `op` (perhaps built by hand) is inconsistent."""
    if op.status not in (OK, FAIL, INFO, None):
        raise ValueError(f"op {op.id}: unknown status {op.status!r}")
    if op.status == OK and op.complete_ns is None:
        raise ValueError(f"op {op.id}: an ok op needs complete_ns")
    if op.complete_ns is not None and op.complete_ns < op.invoke_ns:
        raise ValueError(f"op {op.id} completes before its invocation")
    if op.status == OK and op.f == CAS and not isinstance(op.result, bool):
        raise ValueError(f"op {op.id}: an ok cas needs a bool result, got {op.result!r}")


# Register tokens: small ints standing for model states. Values that no operation ever compares
# against share UNOBSERVED; every other value gets its own token >= 2.
ABSENT, UNOBSERVED, _FIRST_VALUE_TOKEN = 0, 1, 2
KEEP = -1                           # effect: the state does not change
ANY, EQUAL, NOT_EQUAL = 0, 1, 2     # guard kinds


class _Step:
    """An operation compiled for the search: guard, effect, bit, interval."""
    __slots__ = ("op", "bit", "guard", "guard_token", "effect", "finite", "invoke", "complete",
                 "klass")

    def __init__(self, op, guard, guard_token, effect, finite):
        self.op, self.guard, self.guard_token, self.effect = op, guard, guard_token, effect
        self.finite = finite
        self.invoke = op.invoke_ns
        self.complete = op.complete_ns if finite else None
        self.bit = 0
        self.klass = -1


class _Entry:
    """A call or return entry of the doubly linked list of completed operations."""
    __slots__ = ("step", "time", "is_call", "match", "prev", "next")

    def __init__(self, step, time_ns, is_call):
        self.step, self.time, self.is_call = step, time_ns, is_call
        self.match = self.prev = self.next = None


def _is_optional(op):
    """Info or pending operations other than reads: they may or may not have taken effect."""
    return op.status in (INFO, None) and op.f != READ


class _KeyChecker:
    """Compiles one key's operations into guarded steps and searches for a linearization."""

    def __init__(self, key, ops, base_ns):
        self.key, self.base_ns = key, base_ns
        self.completed = [op for op in ops if op.status == OK]
        self.optional = [op for op in ops if _is_optional(op)]
        self.failed = [op for op in ops if op.status == FAIL]
        self.tokens = self._tokens()
        self.steps = [self._compile(op, True) for op in self.completed]
        self.optional_steps = [self._compile(op, False) for op in self.optional]
        self._assign_bits()
        self._build_classes()
        self._build_counters()
        self.head = self._build_list()

    # -- compilation -------------------------------------------------------------------------

    def _tokens(self):
        """Maps every value some operation compares against to its own token."""
        observed = [op.result for op in self.completed if op.f == READ]
        observed += [op.expected for op in self.completed + self.optional if op.f == CAS]
        tokens = {}
        for value in observed:
            if value is not None and value not in tokens:
                tokens[value] = _FIRST_VALUE_TOKEN + len(tokens)
        return tokens

    def token(self, value):
        if value is None:
            return ABSENT
        return self.tokens.get(value, UNOBSERVED)

    def _compile(self, op, finite):
        if op.f == READ:
            return _Step(op, EQUAL, self.token(op.result), KEEP, finite)
        if op.f == WRITE:
            return _Step(op, ANY, 0, self.token(op.value), finite)
        if op.f == DELETE:
            return _Step(op, ANY, 0, ABSENT, finite)
        if finite and op.result is False:
            return _Step(op, NOT_EQUAL, self.token(op.expected), KEEP, finite)
        return _Step(op, EQUAL, self.token(op.expected), self.token(op.value), finite)

    def _assign_bits(self):
        everything = sorted(self.steps + self.optional_steps, key=lambda s: (s.invoke, s.op.id))
        for index, step in enumerate(everything):
            step.bit = 1 << index

    def _build_classes(self):
        """Groups interchangeable optional steps; members sorted by invocation."""
        groups = {}
        for step in sorted(self.optional_steps, key=lambda s: (s.invoke, s.op.id)):
            groups.setdefault((step.guard, step.guard_token, step.effect), []).append(step)
        self.class_members = list(groups.values())
        self.class_effect = [members[0].effect for members in self.class_members]
        self.any_classes = []         # class ids with no precondition
        self.classes_on = {}          # token -> class ids requiring state == token
        for klass, ((guard, guard_token, _), members) in enumerate(groups.items()):
            for step in members:
                step.klass = klass
            if guard == ANY:
                self.any_classes.append(klass)
            else:
                self.classes_on.setdefault(guard_token, []).append(klass)

    def _build_counters(self):
        """Counts over all steps, before any is linearized."""
        self.remaining = _Remaining(_FIRST_VALUE_TOKEN + len(self.tokens),
                                    self.steps + self.optional_steps)

    def _build_list(self):
        """The call and return entries of the completed steps in time order (calls first on
        ties), after a sentinel head; returns the head."""
        entries = []
        for step in self.steps:
            call, ret = _Entry(step, step.invoke, True), _Entry(step, step.complete, False)
            call.match = ret
            entries += [call, ret]
        entries.sort(key=lambda e: (e.time, not e.is_call, e.step.op.id))
        head = _Entry(None, None, False)
        previous = head
        for entry in entries:
            previous.next, entry.prev = entry, previous
            previous = entry
        return head

    # -- search ------------------------------------------------------------------------------

    def run(self, max_configurations):
        """Searches for a linearization; returns a KeyResult."""
        phantoms = self._phantoms()
        if phantoms:
            return KeyResult(self.key, NOT_LINEARIZABLE, len(self.completed),
                             len(self.optional), 0, base_ns=self.base_ns, searched=False,
                             stuck=[(s.op, self._observed(s.op)) for s in phantoms])
        verdict, configurations, best = self._search(max_configurations)
        result = KeyResult(self.key, verdict, len(self.completed), len(self.optional),
                           configurations, base_ns=self.base_ns)
        if verdict != LINEARIZABLE:
            self._explain(result, best)
        return result

    def _phantoms(self):
        """Completed steps that need a value no step (completed or optional) produces."""
        producers = self.remaining.producers
        return [s for s in self.steps if s.guard == EQUAL and s.guard_token != ABSENT
                and producers[s.guard_token] == 0]

    def _available(self, klass, used, horizon):
        """Whether class `klass` has an unused member invoked by `horizon`."""
        members, index = self.class_members[klass], used[klass]
        return index < len(members) and members[index].invoke <= horizon

    def _optional_candidates(self, state, stuck, used):
        """Classes whose next member may usefully be linearized now (see module docstring).

        `stuck` is the earliest pending return entry; the call entries before it are the
        completed candidates, and its time is the horizon for invocations.
        """
        if self.remaining.stranded(state):
            return []  # every optional step would leave a value that must still be observed
        horizon, wanted, refused = stuck.time, set(), False
        entry = self.head.next
        while entry is not stuck:
            step = entry.step
            if step.guard == EQUAL:
                wanted.add(step.guard_token)
            elif step.guard == NOT_EQUAL and step.guard_token == state:
                refused = True
            entry = entry.next
        candidates = []
        for klass in self.any_classes + self.classes_on.get(state, []):
            effect = self.class_effect[klass]
            if effect == state or not self._available(klass, used, horizon):
                continue
            if refused or effect in wanted or any(self._available(other, used, horizon)
                                                  for other in self.classes_on.get(effect, ())):
                candidates.append(klass)
        return candidates

    def _search(self, max_configurations):
        """The iterative WGL search. Returns (verdict, configurations, deepest (stack, state)).

        A configuration is (lin, opt, state): the bitmasks of the completed and of the optional
        steps linearized so far, and the model state. A stack frame is (entry, state, lin, opt,
        candidates, index, step), holding the configuration before `step`: for a completed step
        `entry` is its call entry; for an optional one `entry` is None and candidates[index] is
        its class.
        """
        head, memo, stack, used = self.head, _Memo(), [], [0] * len(self.class_members)
        remaining = self.remaining
        obligations, producers = remaining.obligations, remaining.producers
        limit = max_configurations if max_configurations is not None else float("inf")
        state, lin, opt, linearized = ABSENT, 0, 0, 0
        best_count, best = -1, ([], ABSENT)
        entry = head.next

        def try_optional(candidates, start):
            """Applies the first candidate from `start` that reaches a new configuration."""
            nonlocal state, opt
            for index in range(start, len(candidates)):
                klass = candidates[index]
                step = self.class_members[klass][used[klass]]
                remaining.update(step, -1)
                if not memo.add(lin, opt | step.bit, step.effect):
                    remaining.update(step, 1)
                    continue
                stack.append((None, state, lin, opt, candidates, index, step))
                used[klass] += 1
                state, opt = step.effect, opt | step.bit
                return True
            return False

        while head.next is not None:
            if memo.size > limit:
                return UNKNOWN, memo.size, best
            if entry.is_call:
                step = entry.step
                guard = step.guard
                if (guard == EQUAL and state != step.guard_token) or \
                        (guard == NOT_EQUAL and state == step.guard_token):
                    entry = entry.next
                    continue
                new = step.effect
                if new == KEEP:
                    new = state
                elif new != state and producers[state] == 0 and \
                        obligations[state] - (guard == EQUAL) > 0:
                    entry = entry.next  # it would leave a value a pending op must still see
                    continue
                remaining.update(step, -1)
                if not memo.add(lin | step.bit, opt, new):
                    remaining.update(step, 1)
                    entry = entry.next
                    continue
                stack.append((entry, state, lin, opt, None, 0, step))
                state, lin = new, lin | step.bit
                linearized += 1
                _lift(entry)
                if linearized > best_count:
                    best_count, best = linearized, (stack[:], state)
                entry = head.next
                continue
            # Stuck at the earliest pending return: try optional steps, else backtrack.
            if try_optional(self._optional_candidates(state, entry, used), 0):
                entry = head.next
                continue
            while True:
                if not stack:
                    return NOT_LINEARIZABLE, memo.size, best
                popped, state, lin, opt, candidates, index, step = stack.pop()
                remaining.update(step, 1)
                if popped is not None:
                    _unlift(popped)
                    linearized -= 1
                    entry = popped.next
                    break
                used[step.klass] -= 1
                if try_optional(candidates, index + 1):
                    entry = head.next
                    break
        return LINEARIZABLE, memo.size, best

    # -- explanation -------------------------------------------------------------------------

    def _explain(self, result, best):
        """Fills result.prefix/state/stuck from the deepest configuration reached."""
        frames, token = best
        result.prefix = [frame[-1].op for frame in frames]
        result.state = _replay(result.prefix)
        done = {id(op) for op in result.prefix}
        pending = [s for s in self.steps if id(s.op) not in done]
        if not pending:
            return
        unused = [s for s in self.optional_steps if id(s.op) not in done]
        rewritable = any(s.effect == token for s in pending + unused)
        horizon = min(s.complete for s in pending)
        candidates = sorted((s for s in pending if s.invoke <= horizon),
                            key=lambda s: (s.invoke, s.op.id))
        result.stuck = [(s.op, self._reason(s, token, result.state, pending, rewritable))
                        for s in candidates]

    def _reason(self, step, token, value, pending, rewritable):
        """Why `step` cannot come next when the register holds `value` (model token `token`);
        `rewritable` tells whether a remaining step can write `value` again."""
        op = step.op
        if step.guard == EQUAL and token != step.guard_token:
            return f"{self._observed(op)}, but the register holds {value!r}"
        if step.guard == NOT_EQUAL and token == step.guard_token:
            return f"returned False, but the register holds the expected value {value!r}"
        new = token if step.effect == KEEP else step.effect
        if new != token and not rewritable:
            waiting = [s for s in pending if s is not step and s.guard == EQUAL
                       and s.guard_token == token]
            if waiting:
                return (f"would overwrite {value!r}, which "
                        f"{waiting[0].op.describe(self.base_ns)} still has to observe "
                        f"and no remaining operation writes it again")
        return "could come next, but no order of the remaining operations fits after it"

    def _observed(self, op):
        """What a read or successful cas observed, noting when no op that may have taken
        effect writes that value."""
        wanted = op.result if op.f == READ else op.expected
        text = f"{'returned' if op.f == READ else 'succeeded expecting'} {wanted!r}"
        if wanted is None or any(o.f in (WRITE, CAS) and o.value == wanted
                                 for o in self.completed + self.optional):
            return text
        failed = [o for o in self.failed if o.f in (WRITE, CAS) and o.value == wanted]
        if failed:
            return (f"{text}, which only a failed op wrote: "
                    f"{failed[0].describe(self.base_ns)}")
        return f"{text}, which no operation in the history writes"


class _Remaining:
    """Per-token counts over the steps not yet linearized, updated as the search takes steps
    (update(step, -1)) and gives them back (update(step, 1)).

      obligations[t]  completed steps that need state == t
      producers[t]    steps, completed or optional, whose effect sets state = t
    """

    def __init__(self, size, steps):
        self.obligations, self.producers = [0] * size, [0] * size
        for step in steps:
            self.update(step, 1)

    def update(self, step, delta):
        """Adds `step` to the remaining steps (delta 1) or removes it (delta -1)."""
        if step.guard == EQUAL and step.finite:
            self.obligations[step.guard_token] += delta
        if step.effect != KEEP:
            self.producers[step.effect] += delta

    def stranded(self, state):
        """Whether the register may not leave `state`: a completed step still has to observe
        it and no remaining step can write it again."""
        return self.obligations[state] > 0 and self.producers[state] == 0


class _Memo:
    """The configurations explored so far, with subsumption on optional steps.

    Two configurations with the same completed steps and model state differ only in which
    optional steps they used up; the one that used a subset of the other's can do everything
    the other can (it has every remaining optional step the other has), so once it has been
    explored the other need not be.
    """

    def __init__(self):
        self._seen = {}    # (lin, state) -> the opt masks explored with it
        self.size = 0

    def add(self, lin, opt, state):
        """Records configuration (lin, opt, state) and returns True, unless one with the same
        lin and state and a subset of `opt` was recorded already (then returns False)."""
        masks = self._seen.get((lin, state))
        if masks is None:
            self._seen[(lin, state)] = [opt]
        elif any(explored & ~opt == 0 for explored in masks):
            return False
        else:
            masks.append(opt)
        self.size += 1
        return True


def _lift(entry):
    """Removes a call entry and its return entry from the list."""
    entry.prev.next = entry.next
    entry.next.prev = entry.prev
    match = entry.match
    match.prev.next = match.next
    if match.next is not None:
        match.next.prev = match.prev


def _unlift(entry):
    """Undoes _lift(entry); entries must be unlifted in the reverse order of lifting."""
    match = entry.match
    match.prev.next = match
    if match.next is not None:
        match.next.prev = match
    entry.prev.next = entry
    entry.next.prev = entry


def _replay(ops):
    """The register's value after applying `ops` (a linearization) in order."""
    value = None
    for op in ops:
        if op.f == WRITE:
            value = op.value
        elif op.f == DELETE:
            value = None
        elif op.f == CAS and (op.status != OK or op.result is True) and value == op.expected:
            value = op.value
    return value


def main(argv=None):
    """CLI: checks a JSON-lines history file and prints the report."""
    parser = argparse.ArgumentParser(description="Check a KV history for linearizability.")
    parser.add_argument("history", help="a JSON-lines file written by History.dump()")
    parser.add_argument("--max-configurations", type=int, default=DEFAULT_MAX_CONFIGURATIONS,
                        help="per-key search budget, 0 for none "
                             f"(default {DEFAULT_MAX_CONFIGURATIONS})")
    args = parser.parse_args(argv)
    try:
        history = History.load(args.history)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = check(history, args.max_configurations or None)
    print(result.report())
    if result.ok:
        return 0
    return 2 if any(r.verdict == UNKNOWN for r in result.failures) else 1


if __name__ == "__main__":
    sys.exit(main())
