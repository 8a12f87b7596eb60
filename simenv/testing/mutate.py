"""A seeded mutator of user files: hostile and careless copies of the shipped scenarios, profiles and policies.

Each :class:`Case` is one mutated copy of one shipped file (a scenario, a profile, a native rule
set, a Cedar or a Rego policy), made by one mutation kind (:data:`YAML_KINDS` for YAML files,
:data:`TEXT_KINDS` for Cedar and Rego). Case ``i`` of seed ``s`` depends on nothing but ``(s, i)``:
its generator is ``numpy.random.default_rng(SeedSequence(s, spawn_key=(i,)))``, so any slice of the
corpus is the same in every process, and a failing case is rebuilt from its index alone.

Cases are ordered in rounds: each round makes one case of every (target, kind) pair, so that the
first round already exercises every mutation kind on every kind of file (see :func:`plan`).

>>> a, b = case(0, 7), case(0, 7)
>>> a == b and a.data == b.data
True
>>> sorted({c.kind for c in corpus(0, len(plan()))}) == sorted(set(YAML_KINDS) | set(TEXT_KINDS) | set(BYTE_KINDS))
True
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simenv import files

TARGETS = ("scenario", "profile", "rules", "cedar", "rego")
"""The kinds of file mutated; ``rules``, ``cedar`` and ``rego`` are policy files a profile names."""

_MARK = "ZZFUZZMARK"


@dataclass(frozen=True)
class Case:
    """One mutated file.

    Attributes:
        index: its index in the corpus (-1 for a regression file).
        target: which kind of file it is (:data:`TARGETS`).
        kind: the mutation that made it.
        base: the shipped file it is a copy of, relative to the source tree (``policies/rules/intent.yaml``).
        filename: the name it is written under.
        data: its bytes.
        partner: what it runs with once valid: a shipped profile for a scenario, a shipped scenario otherwise.
        profile: for a policy file, the shipped profile that names it (rewritten to name the mutated copy).
    """

    index: int
    target: str
    kind: str
    base: str
    filename: str
    data: bytes
    partner: str
    profile: str | None = None

    @property
    def name(self) -> str:
        """``0042-profile-type_swap-jit``: index, target, mutation kind and base file."""
        if self.index < 0:
            return f"{self.kind}-{self.target}-{Path(self.base).stem}"
        return f"{self.index:04d}-{self.target}-{self.kind}-{Path(self.base).stem}"


# --------------------------------------------------------------------------- the shipped bases
@functools.lru_cache(maxsize=1)
def bases() -> dict[str, tuple[str, ...]]:
    """The shipped files of each target, as paths relative to the source tree (``_bad`` examples left out)."""
    pol = files.shipped_dir("policies")
    return {
        "scenario": tuple(f"scenarios/{n}.yaml" for n in files.list_shipped("scenarios")),
        "profile": tuple(f"policies/{n}.yaml" for n in files.list_shipped("policies")),
        "rules": tuple(f"policies/rules/{p.name}" for p in sorted((pol / "rules").glob("*.yaml"))
                       if not p.stem.endswith("_bad")),
        "cedar": tuple(f"policies/cedar/{p.name}" for p in sorted((pol / "cedar").glob("*.cedar"))
                       if not p.stem.endswith("_bad")),
        "rego": tuple(f"policies/rego/{p.name}" for p in sorted((pol / "rego").glob("*.rego"))
                      if not p.stem.endswith("_bad")),
    }


def shipped_bytes(base: str) -> bytes:
    """The bytes of a shipped file named relative to the source tree."""
    kind, _, rest = base.partition("/")
    return (files.shipped_dir(kind) / rest).read_bytes()


@functools.lru_cache(maxsize=1)
def users() -> dict[str, str]:
    """Each shipped policy file (``policies/rules/intent.yaml``) → the first shipped profile that names it."""
    out: dict[str, str] = {}
    for prof in bases()["profile"]:
        doc = yaml.safe_load(shipped_bytes(prof))
        policy = (doc.get("authorizer") or {}).get("policy")
        if policy:
            out.setdefault(f"policies/{policy}", Path(prof).stem)
    return out


# --------------------------------------------------------------------------- YAML helpers
def _flow(value: Any) -> str:
    """``value`` as YAML flow text that fits anywhere a value goes."""
    return yaml.safe_dump([value], default_flow_style=True, width=10**9, allow_unicode=False)[1:-2]


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=10**9, allow_unicode=False)


def _nodes(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every node of a parsed document with its path, in document order."""
    out = [(path, doc)]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _nodes(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _nodes(v, (*path, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return doc


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _inject(doc: Any, path: tuple[Any, ...], text: str) -> str:
    """The document dumped with the node at ``path`` replaced by raw YAML ``text``."""
    return _dump(_set(doc, path, _MARK)).replace(_MARK, text, 1)


def _where(rng: np.random.Generator, doc: Any, want: Callable[[Any], bool]) -> tuple[Any, ...]:
    """A random path (not the root) whose node satisfies ``want``; any non-root path if none does."""
    nodes = [p for p, v in _nodes(doc) if p and want(v)] or [p for p, _ in _nodes(doc) if p]
    return _pick(rng, nodes)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_map(v: Any) -> bool:
    return isinstance(v, dict) and bool(v)


def _is_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v)


# --------------------------------------------------------------------------- YAML mutations
# Each takes (rng, parsed document, original text) and returns the new file text.
SWAPS: tuple[Any, ...] = (0, -1, 3.5, True, False, None, "x", "012", "NO", [], {}, ["a"], {"k": "v"}, [[1]], "1.10")
HUGE: tuple[str, ...] = ("1" + "0" * 30, str(2**63), str(2**64), str(-(2**63) - 1), "1.0e+308", "1" + "0" * 5000,
                         "-1.0e+308", "0x7fffffffffffffff", "1.0e-320")
NON_FINITE = (".inf", "-.inf", ".nan", ".Inf", "-.INF", ".NaN")
STRANGE = ("\u202e", "\u200b", "\U0001f525", "e\u0301", "\x00", "\x1b[31m", "\ufeff", "\uff21", "\n", "\t", "\x7f",
           "\u2028", "\U000e0041", "\\", "'\"", "${HOME}", "{{x}}", "%s%n")
SURROGATES = ("\\ud800", "\\udfff", "\\udbff\\udbff", "a\\ud800b")
TAGS = ("!!binary aGVsbG8=", "!!set {a, b}", "!!timestamp 2001-12-14", "2024-01-01", "!!python/object:os.system x",
        "!!omap [a: 1, b: 2]", "!!pairs [a: 1]", "!!float '1e5'", "!!int '0x10'", "!!str 5", "!!null ''", "!custom x",
        "!!python/name:os.system", "!!merge <<")
SPECIAL_PATHS = ("/dev/zero", "/dev/null", "/dev/urandom", ".", "..", "rules", "../scenarios/key_export.yaml",
                 "rules/../../scenarios/scope_creep.yaml", "missing/nothing.yaml", "rules/intent.yaml\x00x", "",
                 "rules/intent.yaml/", "~/x.yaml", "C:\\policies\\x.yaml")


def m_type_swap(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, lambda v: True)
    old = _get(doc, path)
    new = _pick(rng, [s for s in SWAPS if type(s) is not type(old)])
    return _dump(_set(doc, path, copy.deepcopy(new)))


def m_non_finite(rng: np.random.Generator, doc: Any, text: str) -> str:
    return _inject(doc, _where(rng, doc, _is_num), _pick(rng, list(NON_FINITE)))


def m_huge_number(rng: np.random.Generator, doc: Any, text: str) -> str:
    return _inject(doc, _where(rng, doc, _is_num), _pick(rng, list(HUGE)))


def m_boundary_number(rng: np.random.Generator, doc: Any, text: str) -> str:
    return _dump(_set(doc, _where(rng, doc, _is_num), _pick(rng, [0, -1, 1, -0.0, 0.5, 99, 100_001])))


def m_empty_value(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, lambda v: isinstance(v, (dict, list, str)))
    return _dump(_set(doc, path, _pick(rng, [[], {}, "", None])))


def m_missing_key(rng: np.random.Generator, doc: Any, text: str) -> str:
    maps = [(p, v) for p, v in _nodes(doc) if _is_map(v)]
    path, m = _pick(rng, maps)
    del m[_pick(rng, list(m))]
    return _dump(doc)


def m_unknown_key(rng: np.random.Generator, doc: Any, text: str) -> str:
    maps = [v for _, v in _nodes(doc) if isinstance(v, dict)]
    m = _pick(rng, maps)
    if m and rng.random() < 0.5:  # a typo of a real key
        k = _pick(rng, list(m))
        m[str(k)[:-1] + "_" if len(str(k)) > 1 else "zz"] = m.pop(k)
    else:
        m[_pick(rng, ["extra", "__proto__", "rules", "authorizer", "name", "0"])] = _pick(rng, list(SWAPS))
    return _dump(doc)


def m_duplicate_key(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, _is_map)
    m = _get(doc, path)
    if not _is_map(m):
        return text + "\n" + text.split("\n", 1)[0] + "\n"
    items = [f"{_flow(k)}: {_flow(v)}" for k, v in m.items()]
    k = _pick(rng, list(m))
    items.insert(int(rng.integers(len(items) + 1)), f"{_flow(k)}: {_flow(_pick(rng, list(SWAPS)))}")
    return _inject(doc, path, "{" + ", ".join(items) + "}")


def m_unhashable_key(rng: np.random.Generator, doc: Any, text: str) -> str:
    key = _pick(rng, ["[a, b]", "{x: 1}", "[]", "{}", "[[1]]"])
    path = _where(rng, doc, lambda v: isinstance(v, dict))
    m = _get(doc, path)
    items = [f"{_flow(k)}: {_flow(v)}" for k, v in (m.items() if isinstance(m, dict) else [])]
    items.insert(int(rng.integers(len(items) + 1)), f"? {key} : 1")
    return _inject(doc, path, "{" + ", ".join(items) + "}")


def m_deep_nesting(rng: np.random.Generator, doc: Any, text: str) -> str:
    depth = int(_pick(rng, [100, 300, 600, 1000, 5000, 50_000]))
    kind = int(rng.integers(3))
    if kind == 0:
        nest = "[" * depth + "x" + "]" * depth
    elif kind == 1:
        nest = "{a: " * depth + "1" + "}" * depth
    else:
        nest = "[{a: " * (depth // 2) + "1" + "}]" * (depth // 2)
    return _inject(doc, _where(rng, doc, lambda v: True), nest)


def m_alias_bomb(rng: np.random.Generator, doc: Any, text: str) -> str:
    variant = int(rng.integers(4))
    if variant == 0:  # billion laughs: 9 levels of 9 aliases
        levels, width = int(rng.integers(4, 10)), int(rng.integers(5, 10))
        parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
        parts += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, levels)]
        bomb = "[" + ", ".join(parts) + "]"
    elif variant == 1:  # a recursive alias
        bomb = _pick(rng, ["&r [*r]", "&r {a: *r}", "&r [1, [2, *r]]"])
    elif variant == 2:  # an alias to an undefined anchor
        bomb = "*nowhere"
    else:  # a benign alias: a copy of another node of the file
        nodes = [p for p, _ in _nodes(doc) if p]
        src = _pick(rng, nodes)
        value = _get(doc, src)
        bomb = f"[&orig {_flow(value)}, *orig, *orig]"
    return _inject(doc, _where(rng, doc, lambda v: True), bomb)


def m_merge_key(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, _is_map)
    return _inject(doc, path, _pick(rng, ["{<<: {extra: 1}, a: 1}", "{<<: [x, y]}", "{<<: *nope}", "{<<: 5}"]))


def m_numbers_only(rng: np.random.Generator, doc: Any, text: str) -> str:
    return _pick(rng, ["42", "1e999", "-.inf", ".nan", "0x1F", "1" + "0" * 6000, "3.14", "-0", "12_345", "0o17"]) + "\n"


def m_empty_file(rng: np.random.Generator, doc: Any, text: str) -> str:
    return _pick(rng, ["", "\n", "---\n", "null\n", "~\n", "[]\n", "{}\n", "...\n", "# only a comment\n", "- a\n- b\n",
                       "--- 1\n--- 2\n", "\ufeff", "true\n", "'just a string'\n"])


def m_unicode(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, _is_str)
    old = _get(doc, path)
    odd = _pick(rng, list(STRANGE))
    base = old if isinstance(old, str) else "x"
    cut = int(rng.integers(len(base) + 1))
    new = base[:cut] + odd + base[cut:] if rng.random() < 0.7 else odd
    if rng.random() < 0.3:  # in a key, not a value
        parent = _get(doc, path[:-1])
        if isinstance(parent, dict):
            parent[odd + str(path[-1])] = parent.pop(path[-1])
            return _dump(doc)
    return _dump(_set(doc, path, new))


def m_lone_surrogate(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, _is_str)
    old = _get(doc, path)
    base = old if isinstance(old, str) else "x"
    esc = base.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    cut = int(rng.integers(len(esc) + 1))
    while cut and esc[cut - 1] == "\\":
        cut -= 1
    return _inject(doc, path, '"' + esc[:cut] + _pick(rng, list(SURROGATES)) + esc[cut:] + '"')


def m_oversize_string(rng: np.random.Generator, doc: Any, text: str) -> str:
    n = int(_pick(rng, [10_000, 100_000, 400_000, 1_000_000, 5_000_000]))
    filler = _pick(rng, ["A", "é", "ab", "\U0001f525"]) * (n // 2 if rng.random() < 0.5 else n)
    path = _where(rng, doc, _is_str)
    if rng.random() < 0.2:  # an oversize key
        parent = _get(doc, path[:-1])
        if isinstance(parent, dict):
            parent[filler] = parent.pop(path[-1])
            return yaml.safe_dump(doc, sort_keys=False, width=10**9, allow_unicode=True)
    return yaml.safe_dump(_set(doc, path, filler), sort_keys=False, width=10**9, allow_unicode=True)


def m_repeat(rng: np.random.Generator, doc: Any, text: str) -> str:
    path = _where(rng, doc, _is_list)
    lst = _get(doc, path)
    if not _is_list(lst):
        lst = [lst]
    n = int(_pick(rng, [2, 10, 200, 3000]))
    return _dump(_set(doc, path, [copy.deepcopy(_pick(rng, lst)) for _ in range(n)]))


def _names(doc: Any) -> set[str]:
    """Values of ``name``, ``id``, ``identity`` and similar keys: what references point at."""
    out = set()
    for p, v in _nodes(doc):
        if p and isinstance(v, str) and p[-1] in ("name", "id", "identity", "assignee", "owner", "resource", "parent",
                                                  "attacker", "acts_as", "yields", "tool", "engine", "mode", "kind",
                                                  "policy"):
            out.add(v)
    return out


def m_dangling_reference(rng: np.random.Generator, doc: Any, text: str) -> str:
    names = _names(doc)
    refs = [p for p, v in _nodes(doc) if p and isinstance(v, str) and v in names]
    if not refs:
        refs = [p for p, v in _nodes(doc) if p and isinstance(v, str)] or [_where(rng, doc, lambda v: True)]
    path = _pick(rng, refs)
    if path and path[-1] == "policy":
        return _dump(_set(doc, path, _pick(rng, list(SPECIAL_PATHS))))
    return _dump(_set(doc, path, _pick(rng, ["ghost", "ghost-agent", "T-999", "$self", "*", "secret://nothing",
                                             "package.module:Class", "os:system", "simenv.errors:SpecError", "cred-999"])))


def m_special_path(rng: np.random.Generator, doc: Any, text: str) -> str:
    """A profile's policy path (or any string) set to a device, a folder, a path outside, a file of another kind."""
    if isinstance(doc, dict) and isinstance(doc.get("authorizer"), dict) and rng.random() < 0.8:
        auth = doc["authorizer"]
        if "policy" not in auth:
            auth["engine"] = _pick(rng, ["native", "cedar", "rego"])
        auth["policy"] = _pick(rng, list(SPECIAL_PATHS))
        return _dump(doc)
    return _dump(_set(doc, _where(rng, doc, _is_str), _pick(rng, list(SPECIAL_PATHS))))


def m_yaml_tag(rng: np.random.Generator, doc: Any, text: str) -> str:
    return _inject(doc, _where(rng, doc, lambda v: True), _pick(rng, list(TAGS)))


ODD: tuple[str, ...] = (".inf", "-.inf", ".nan", "1.0e+300", "1.0e-300", str(2**63), "1" + "0" * 30, "-1", "0", "'x'",
                        "''", "[]", "{}", "true", "null", "1.5", "[1, 2]", "{a: 1}", "1000000000", '"\\ud800"', "'0'")
"""Values that are valid YAML and wrong for simenv in most places: what :func:`m_odd_value` plants."""
ODD_TEXT: tuple[str, ...] = ('"\\ud800"', '"a\\udfffb"', '"\\0"', '"\\u202e"', '"\\x1b[2J"', "'" + "A" * 20_000 + "'",
                             "'secret://ghost'", "'$self'", "'*'", "'never'", "'0'", "'-1'", "'99999999999999999999'",
                             "''", "'cred-99999999999999999999'", "'$newest'", "'\u0130'", "7", "true", "[]", "null")
"""What :func:`m_odd_value` plants where a plan step carries text: arguments, justifications, credentials."""
ATTRS = ("version", "exports", "runs", "exposes", "state", "note", "value", "trusted_domain", "var:x")
"""Resource attributes the tools read and write."""
EVENT_PARAMS = {"rollback": ("since", "scope"), "steal_credential": ("attacker", "which"), "session_end": ("x",),
                "owner_offboarded": ("identity",), "identity_disabled": ("identity",), "identity_enabled": ("identity",)}
APPROVAL_OPTIONS = ("latency", "accuracy", "rubber_stamp", "fatigue", "window", "approvers", "quorum", "review_minutes",
                    "names", "quorum_for", "catch", "kind")
MONITOR_OPTIONS = ("threshold", "window", "action", "risks", "quarantine", "release", "id", "kind")
MATCH_FIELDS = ("resource.sensitivity", "context.chain_depth", "context.lifetime", "principal.trust_tier", "action.risk",
                "resource.marks", "context.credential.ttl", "context.tick", "context.args.lifetime", "principal.name")
MATCH_OPS = ("eq", "not", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists")


def _plan_targets(doc: dict[str, Any]) -> list[str]:
    """Names the scenario's plans act on: a resource there is one a tool will read and write."""
    out = []
    for p, v in _nodes(doc.get("agents", [])):
        if len(p) >= 2 and p[-2] == "args" and isinstance(v, str):
            out.append(v)
    return out


def m_odd_value(rng: np.random.Generator, doc: Any, text: str) -> str:
    """A value that parses and that simenv's consumers read specially: attributes, event params, options, operands."""
    odd = _pick(rng, list(ODD))
    if not isinstance(doc, dict):
        return _inject(doc, _where(rng, doc, lambda v: True), odd)
    if "identities" in doc:  # a scenario
        choice = int(rng.integers(5))
        res = doc.get("resources") or []
        if choice == 0 and res:
            used = set(_plan_targets(doc))
            cands = [r for r in res if isinstance(r, dict) and r.get("name") in used] or res
            r = _pick(rng, cands)
            r.setdefault("attrs", {})[_pick(rng, list(ATTRS))] = _MARK
            return _dump(doc).replace(_MARK, odd, 1)
        if choice == 1:
            kind = _pick(rng, list(EVENT_PARAMS))
            agents = [i["name"] for i in doc["identities"] if isinstance(i, dict) and i.get("kind") == "agent"]
            ev: dict[str, Any] = {"tick": int(rng.integers(0, 12)), "kind": kind, "params": {}}
            if kind in ("steal_credential", "session_end") and agents:
                ev["agent"] = _pick(rng, agents)
            ev["params"][_pick(rng, list(EVENT_PARAMS[kind]))] = _MARK
            doc.setdefault("events", []).append(ev)
            return _dump(doc).replace(_MARK, odd, 1)
        if choice == 3:
            steps = [v for p, v in _nodes(doc.get("agents", [])) if isinstance(v, dict) and "tool" in v]
            if steps:
                step = _pick(rng, steps)
                args = step.get("args") if isinstance(step.get("args"), dict) else {}
                key = _pick(rng, ["justification", "credential", "note", *(["args"] * 3 if args else [])])
                if key == "args":
                    args[_pick(rng, list(args))] = _MARK
                else:
                    step[key] = _MARK
                return _dump(doc).replace(_MARK, _pick(rng, list(ODD_TEXT)), 1)
        if choice == 2:
            paths = [p for p, v in _nodes(doc) if p and p[-1] in ("sensitivity", "trust_tier", "opens_at", "tick", "max_ticks",
                                                                  "exposure_horizon", "size", "learner", "shared")]
            return _inject(doc, _pick(rng, paths) if paths else ("max_ticks",), odd)
        return _inject(doc, _where(rng, doc, lambda v: not isinstance(v, (dict, list))), odd)
    if "authorizer" in doc or "credentials" in doc:  # a profile
        choice = int(rng.integers(4))
        if choice == 0:
            appr: dict[str, Any] = doc["approvals"] if isinstance(doc.get("approvals"), dict) else {}
            appr[_pick(rng, list(APPROVAL_OPTIONS))] = _MARK
            doc["approvals"] = appr
        elif choice == 1:
            mon = {"kind": _pick(rng, ["denials", "out_of_scope", "invalid_calls", "high_risk", "orphaned"])}
            mon[_pick(rng, list(MONITOR_OPTIONS))] = _MARK
            doc.setdefault("monitors", []).append(mon)
        elif choice == 2:
            cred: dict[str, Any] = doc["credentials"] if isinstance(doc.get("credentials"), dict) else {"mode": "jit"}
            key = _pick(rng, ["ttl", "options", "mode", "intersect_chain", "max_chain_depth"])
            if key in ("intersect_chain", "max_chain_depth"):
                cred["mode"] = _pick(rng, ["jit", "session_bound"])
                cred["options"] = {key: _MARK}
            else:
                cred[key] = _MARK
            doc["credentials"] = cred
        else:
            doc["authorizer"] = {"engine": _pick(rng, ["allow_all", "deny_all", "rbac", "native", "cedar", "rego"]),
                                 _pick(rng, ["options", "policy"]): _MARK}
        return _dump(doc).replace(_MARK, odd, 1)
    if "rules" in doc and isinstance(doc["rules"], list) and doc["rules"]:  # a rule set
        rule = _pick(rng, doc["rules"])
        if isinstance(rule, dict):
            when = rule.setdefault("when", {}) if isinstance(rule.get("when"), dict) else {}
            rule["when"] = when
            when[_pick(rng, list(MATCH_FIELDS))] = {_pick(rng, list(MATCH_OPS)): _MARK} if rng.random() < 0.8 else _MARK
            return _dump(doc).replace(_MARK, odd, 1)
    return _inject(doc, _where(rng, doc, lambda v: not isinstance(v, (dict, list))), odd)


YAML_KINDS: dict[str, Callable[[np.random.Generator, Any, str], str]] = {
    "type_swap": m_type_swap, "non_finite": m_non_finite, "huge_number": m_huge_number,
    "boundary_number": m_boundary_number, "empty_value": m_empty_value, "missing_key": m_missing_key,
    "unknown_key": m_unknown_key, "duplicate_key": m_duplicate_key, "unhashable_key": m_unhashable_key,
    "deep_nesting": m_deep_nesting, "alias_bomb": m_alias_bomb, "merge_key": m_merge_key,
    "numbers_only": m_numbers_only, "empty_file": m_empty_file, "unicode": m_unicode,
    "lone_surrogate": m_lone_surrogate, "oversize_string": m_oversize_string, "repeat": m_repeat,
    "dangling_reference": m_dangling_reference, "special_path": m_special_path, "yaml_tag": m_yaml_tag,
    "odd_value": m_odd_value,
}
"""Mutation kinds of YAML files (scenarios, profiles, native rule sets), by name."""


# --------------------------------------------------------------------------- byte mutations (every file)
def b_truncate(rng: np.random.Generator, data: bytes) -> bytes:
    return data[: int(rng.integers(len(data)))]


def b_byte_flip(rng: np.random.Generator, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        i = int(rng.integers(len(out)))
        out[i] ^= 1 << int(rng.integers(8))
    return bytes(out)


BYTE_KINDS: dict[str, Callable[[np.random.Generator, bytes], bytes]] = {"truncate": b_truncate, "byte_flip": b_byte_flip}


# --------------------------------------------------------------------------- Cedar and Rego text mutations
def _lines(text: str) -> list[str]:
    return text.split("\n")


def t_deep_nesting(rng: np.random.Generator, text: str, lang: str) -> str:
    depth = int(_pick(rng, [50, 200, 400, 800, 3000, 20_000]))
    if lang == "cedar":
        return text.replace("when {", "when { " + "(" * depth + "true" + ")" * depth + " && ", 1)
    nest = "[" * depth + "1" + "]" * depth
    return text.replace("if {\n", f"if {{\n\tx := {nest}\n", 1)


def t_huge_number(rng: np.random.Generator, text: str, lang: str) -> str:
    nums = list(re.finditer(r"(?<![\w.])\d+(\.\d+)?(?![\w.])", text))
    big = _pick(rng, ["1" + "0" * 30, str(2**63), str(2**64), "9223372036854775807", "1e400", "1" + "0" * 5000, "-9" * 3])
    if not nums:
        return text + f"\n{big}\n"
    m = _pick(rng, nums)
    return text[: m.start()] + big + text[m.end():]


def t_non_finite(rng: np.random.Generator, text: str, lang: str) -> str:
    nums = list(re.finditer(r"(?<![\w.])\d+(\.\d+)?(?![\w.])", text))
    odd = _pick(rng, ["1e999", "-1e999", "NaN", "Infinity", "0.0/0.0", "1/0"])
    if not nums:
        return text + f"\n{odd}\n"
    m = _pick(rng, nums)
    return text[: m.start()] + odd + text[m.end():]


def _strings(text: str) -> list[re.Match[str]]:
    return [m for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text)]


def t_unicode(rng: np.random.Generator, text: str, lang: str) -> str:
    odd = _pick(rng, [s for s in STRANGE if s not in ("\n", '\'"', "\\")])
    strings = _strings(text)
    if not strings or rng.random() < 0.2:  # raw, outside a string
        at = int(rng.integers(len(text) + 1))
        return text[:at] + odd + text[at:]
    m = _pick(rng, strings)
    return text[: m.end() - 1] + odd + text[m.end() - 1:]


def t_lone_surrogate(rng: np.random.Generator, text: str, lang: str) -> str:
    esc = _pick(rng, ["\\u{d800}", "\\u{dfff}"]) if lang == "cedar" else _pick(rng, ["\\ud800", "\\udfff"])
    strings = _strings(text)
    if not strings:
        return text + f'\n"{esc}"\n'
    m = _pick(rng, strings)
    return text[: m.end() - 1] + esc + text[m.end() - 1:]


def t_oversize_string(rng: np.random.Generator, text: str, lang: str) -> str:
    filler = "A" * int(_pick(rng, [10_000, 400_000, 1_000_000, 5_000_000]))
    strings = _strings(text)
    if not strings:
        return text + f'\n"{filler}"\n'
    m = _pick(rng, strings)
    return text[: m.start() + 1] + filler + text[m.end() - 1:]


def t_numbers_only(rng: np.random.Generator, text: str, lang: str) -> str:
    return _pick(rng, ["42", "1e999", "-1", "0", "1" + "0" * 6000, "3.14"]) + "\n"


def t_empty_file(rng: np.random.Generator, text: str, lang: str) -> str:
    return _pick(rng, ["", "\n", "// nothing\n" if lang == "cedar" else "# nothing\n", "\ufeff", "package simenv\n",
                       "x = a\n", "permit(principal, action, resource);\n"])


def t_line_delete(rng: np.random.Generator, text: str, lang: str) -> str:
    lines = _lines(text)
    code = [i for i, x in enumerate(lines) if x.strip() and not x.lstrip().startswith(("//", "#"))]
    for _ in range(int(rng.integers(1, 4))):
        if code:
            lines[_pick(rng, code)] = ""
    return "\n".join(lines)


def t_duplicate(rng: np.random.Generator, text: str, lang: str) -> str:
    blocks = text.split("\n\n")
    i = int(rng.integers(len(blocks)))
    blocks.insert(int(rng.integers(len(blocks) + 1)), blocks[i])
    return "\n\n".join(blocks)


def t_dangling_reference(rng: np.random.Generator, text: str, lang: str) -> str:
    refs = list(re.finditer(r"\b(?:context|principal|resource|action|input\.\w+)\.(\w+)", text))
    if not refs:
        return text.replace("package simenv", "package nowhere")
    m = _pick(rng, refs)
    ghost = _pick(rng, ["ghost", "__proto__", "sensitivity_x", "kind2"])
    return text[: m.start(1)] + ghost + text[m.end(1):]


def t_token_swap(rng: np.random.Generator, text: str, lang: str) -> str:
    swaps = {"cedar": [("forbid", "permit"), ("&&", "||"), (">", "<"), ("==", "!="), ("when", "unless"), (";", ""),
                       ("decimal(", "ip("), ("@id(", "@ID(")],
             "rego": [("contains", "if"), ("==", "="), (":=", "="), ("not ", ""), ("if {", "{"), ("import rego.v1", ""),
                      ("package simenv", "package simenv.x"), ("deny", "allow")]}[lang]
    present = [s for s in swaps if s[0] in text]
    a, b = _pick(rng, present) if present else ("\n", "\n\n")
    hits = [m.start() for m in re.finditer(re.escape(a), text)]
    at = _pick(rng, hits)
    return text[:at] + b + text[at + len(a):]


TEXT_KINDS: dict[str, Callable[[np.random.Generator, str, str], str]] = {
    "deep_nesting": t_deep_nesting, "huge_number": t_huge_number, "non_finite": t_non_finite, "unicode": t_unicode,
    "lone_surrogate": t_lone_surrogate, "oversize_string": t_oversize_string, "numbers_only": t_numbers_only,
    "empty_file": t_empty_file, "line_delete": t_line_delete, "duplicate": t_duplicate,
    "dangling_reference": t_dangling_reference, "token_swap": t_token_swap,
}
"""Mutation kinds of Cedar and Rego files, by name."""


# --------------------------------------------------------------------------- the corpus
def kinds_of(target: str) -> tuple[str, ...]:
    """The mutation kinds that apply to a target."""
    return (*(TEXT_KINDS if target in ("cedar", "rego") else YAML_KINDS), *BYTE_KINDS)


@functools.lru_cache(maxsize=1)
def plan() -> tuple[tuple[str, str], ...]:
    """One round: every (target, kind) pair, interleaved so that any prefix mixes targets and kinds."""
    by_target = {t: list(kinds_of(t)) for t in TARGETS}
    out: list[tuple[str, str]] = []
    while any(by_target.values()):
        for t in TARGETS:
            if by_target[t]:
                out.append((t, by_target[t].pop(0)))
    return tuple(out)


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def case(seed: int, index: int) -> Case:
    """Case ``index`` of the corpus of ``seed`` (a pure function of both)."""
    target, kind = plan()[index % len(plan())]
    rng = _rng(seed, index)
    base = _pick(rng, list(bases()[target]))
    data = mutate(rng, target, kind, shipped_bytes(base))
    if target == "scenario":
        partner, profile = _pick(rng, [Path(p).stem for p in bases()["profile"]]), None
    else:
        partner = _pick(rng, [Path(p).stem for p in bases()["scenario"]])
        profile = users().get(base) if target != "profile" else None
    return Case(index, target, kind, base, Path(base).name, data, partner, profile)


def mutate(rng: np.random.Generator, target: str, kind: str, data: bytes) -> bytes:
    """``data`` (a file of ``target``) mutated by ``kind``."""
    if kind in BYTE_KINDS:
        return BYTE_KINDS[kind](rng, data)
    text = data.decode("utf-8")
    if target in ("cedar", "rego"):
        return TEXT_KINDS[kind](rng, text, target).encode("utf-8", "surrogatepass")
    doc = yaml.safe_load(text)
    return YAML_KINDS[kind](rng, doc, text).encode("utf-8", "surrogatepass")


def corpus(seed: int, n: int, start: int = 0) -> list[Case]:
    """Cases ``start`` .. ``start + n - 1`` of the corpus of ``seed``."""
    return [case(seed, i) for i in range(start, start + n)]
