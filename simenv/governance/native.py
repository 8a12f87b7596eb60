"""Native YAML rule sets: the fastest authorizer, and the reference the other engines agree with.

File format (``policies/rules/<name>.yaml``)::

    default: deny                  # effect when no rule matches: deny (default) or allow
    default_reason: no rule allows the request
    rules:
      - id: intent.out_of_scope    # unique; letters, digits, . _ - (``default`` is reserved)
        effect: deny               # deny | require_approval | allow
        reason: outside the ticket's declared scope     # optional; defaults to the id
        when:                      # every condition must hold; {} matches every request
          context.in_declared_scope: false

A condition maps a dotted path of the published request model (``AccessRequest.to_input()``;
see :data:`simenv.governance.fields.FIELDS`, and ``context.args.<name>`` for a tool argument)
to a matcher:

- a plain value: equality (``principal.kind: agent``);
- a mapping of operators, all of which must hold: ``eq``, ``not`` (≠), ``in`` / ``not_in``
  (a list), ``gt`` / ``gte`` / ``lt`` / ``lte`` (numbers), ``contains`` (a list field holds
  the value), ``exists`` (``true``: the value is not null).

A null value (no target identity, a credential without TTL) matches only ``exists: false``,
``not`` and ``not_in``, and equality with null; ordering operators are false on null.
Operand types are checked against the field's type when the file is loaded.

Combining: deny overrides require_approval, which overrides allow; when no rule matches the
``default`` applies (policy id ``default``). A decision carries the ids and the reasons of
every rule of the winning effect that matched, each sorted (as in every simenv engine).

Rules are compiled once, each effect's rules into one Python function that reads the
:class:`~simenv.governance.request.AccessRequest` directly (no JSON document is built per call); the
function's text is simenv's own, and a policy's values are its constants (see :func:`_compile_group`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simenv import files
from simenv.errors import SimenvError, SpecError, quote
from simenv.governance.fields import ARGS_PREFIX, FIELDS
from simenv.governance.policy_text import MAX_POLICY_BYTES
from simenv.governance.request import AccessRequest, Decision
from simenv.governance.views import EstateView
from simenv.types import Effect
from simenv.world.model import Ticket

DEFAULT_ID = "default"
_ORDER = ("deny", "require_approval", "allow")
_EFFECTS = tuple(Effect(e) for e in _ORDER)  # the enum members, looked up once (an Enum call per episode adds up)
_NUMBER = ("int", "float")


class RuleSpec(BaseModel):
    """One rule."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    effect: Literal["deny", "require_approval", "allow"]
    reason: str = ""
    description: str = ""
    when: dict[str, Any] = Field(default_factory=dict)


class RuleSetSpec(BaseModel):
    """A native rule-set file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    description: str = ""
    default: Literal["deny", "allow"] = "deny"
    default_reason: str = ""
    rules: list[dict[str, Any]]


def _is(typ: str, value: Any) -> bool:
    base = typ.rstrip("?")
    if value is None:
        return typ.endswith("?")
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)  # str, and the items of list fields


def _operator(op: str, operand: Any, typ: str) -> tuple[str, Any]:
    """One test, as Python text over the value ``{v}`` and the operand ``{k}``, and the operand it needs.

    Raises ``ValueError`` with a message for a bad operator or operand. In every test the first ``{v}`` of the
    text is the first one evaluated (see :func:`_compile_group`).
    """
    base, is_list = typ.rstrip("?"), typ == "list"
    item = "str" if is_list else typ
    if op in ("eq", "not"):
        if is_list or not _is(item, operand) and operand is not None:
            raise ValueError(f"{op}: expected a {typ} value, got {quote(operand)}")
        return ("{v} == {k}" if op == "eq" else "{v} != {k}"), operand
    if op in ("in", "not_in"):
        if is_list or not isinstance(operand, list) or not all(_is(item, x) or x is None for x in operand):
            raise ValueError(f"{op}: expected a list of {typ} values, got {quote(operand)}")
        return ("{v} in {k}" if op == "in" else "{v} not in {k}"), frozenset(operand)
    if op in ("gt", "gte", "lt", "lte"):
        if base not in _NUMBER or not _is("float", operand):
            raise ValueError(f"{op}: needs a number field and a number operand (field is {typ}, operand {quote(operand)})")
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return "{v} is not None and float({v}) " + sign + " {k}", float(operand)
    if op == "contains":
        if not is_list or not isinstance(operand, str):
            raise ValueError(f"contains: needs a list field and a string operand (field is {typ})")
        return "{k} in {v}", operand
    if op == "exists":
        if not isinstance(operand, bool):
            raise ValueError(f"exists: expected true or false, got {quote(operand)}")
        return ("{v} is not None" if operand else "{v} is None"), None
    raise ValueError(f"unknown operator {quote(op)}; known: eq, not, in, not_in, gt, gte, lt, lte, contains, exists")


Condition = tuple[str, str | None, tuple[tuple[str, Any], ...]]
"""The expression that reads a field (empty for a tool argument), the argument's name (``None`` for a field of the
model), and the field's tests (see :func:`_operator`)."""


def _condition(path: str, matcher: Any) -> Condition:
    if path.startswith(ARGS_PREFIX) and len(path) > len(ARGS_PREFIX):
        typ, source, arg = "str?", "", path[len(ARGS_PREFIX):]
    elif path in FIELDS:
        (typ, source), arg = FIELDS[path], None
    else:
        from simenv.files import suggest

        raise ValueError(f"unknown field of the request model{suggest(path, FIELDS)}; the fields are listed in the "
                         "README's section for policy authors (The request model)")
    ops = matcher if isinstance(matcher, dict) else {"eq": matcher}
    if not ops:
        raise ValueError("an empty matcher")
    return source, arg, tuple(_operator(str(op), operand, typ) for op, operand in ops.items())


class Group(NamedTuple):
    """The rules of one effect, in file order, and the function that tells which of them match a request.

    ``match(request)`` is a bit mask: bit ``i`` is set when every condition of ``rules[i]`` holds.
    """

    rules: tuple[tuple[str, str], ...]  # (id, reason)
    match: Callable[[AccessRequest], int]
    source: str


def _compile_group(rules: Sequence[tuple[str, str, tuple[Condition, ...]]]) -> Group:
    """Compile one effect's rules into a single Python function.

    The function's text is made only of simenv's own templates: the expressions of
    :data:`~simenv.governance.fields.FIELDS`, the tests of :func:`_operator`, and ``kN``, the N-th operand (a
    keyword-only default: a policy's values and argument names are constants of the function, never part of its
    text, and neither are its ids and reasons). Each condition reads its field once (into ``v`` when a test reads
    it twice); the tests of a rule run in file order and stop at the first that fails, as the rules document says.
    """
    consts: list[Any] = []

    def k(value: Any) -> str:  # the n-th operand, a keyword-only default of the function (a local, read fast)
        consts.append(value)
        return f"k{len(consts) - 1}"

    body = []
    for i, (_, _, conds) in enumerate(rules):
        tests = []
        for source, arg, ops in conds:
            value = source if arg is None else f"r.args.get({k(arg)})"
            once = sum(text.count("{v}") for text, _ in ops) == 1  # read once: no need to keep the value in v
            for j, (text, operand) in enumerate(ops):
                if j == 0:
                    text = text.replace("{v}", value if once else f"(v := {value})", 1)
                tests.append("(" + text.format(v="v", k=k(operand) if "{k}" in text else "") + ")")
        body.append(f"    if {' and '.join(tests)}:\n        m |= 1 << {i}" if tests else f"    m |= 1 << {i}")
    params = "".join(f", k{n}=K[{n}]" for n in range(len(consts)))
    source = "\n".join([f"def match(r, *{params}):" if consts else "def match(r):", "    m = 0", *body, "    return m"])
    scope: dict[str, Any] = {"K": tuple(consts), "__builtins__": {"float": float}}
    exec(compile(source + "\n", "<simenv native rules>", "exec"), scope)  # noqa: S102 - simenv's own templates only
    return Group(tuple((rid, why) for rid, why, _ in rules), scope["match"], source)


Compiled = dict[str, Group]


def compile_rules(data: Any, file: str) -> tuple[RuleSetSpec, Compiled]:
    """Validate a rule-set document and compile it; raise :class:`SpecError` naming each bad field."""
    spec = files.validate(RuleSetSpec, data, file)
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    groups: dict[str, list[Any]] = {e: [] for e in _ORDER}
    for i, raw in enumerate(spec.rules):
        try:
            rule = RuleSpec.model_validate(raw, strict=True)
        except ValidationError as e:
            problems.extend((f"rules[{i}].{files.field_path(err['loc'])}",
                             "unknown field" if err["type"] == "extra_forbidden" else err["msg"]) for err in e.errors())
            continue
        if rule.id in seen:
            problems.append((f"rules[{i}].id", f"duplicate id {quote(rule.id)} (first at rules[{seen[rule.id]}])"))
        elif rule.id == DEFAULT_ID:
            problems.append((f"rules[{i}].id", f"{DEFAULT_ID!r} is reserved for the default decision"))
        seen.setdefault(rule.id, i)
        conds = []
        for path, matcher in rule.when.items():
            try:
                conds.append(_condition(path, matcher))
            except ValueError as e:
                problems.append((f"rules[{i}].when.{path}", str(e)))
        groups[rule.effect].append((rule.id, rule.reason or rule.id, tuple(conds)))
    if problems:
        raise SpecError(file, problems)
    return spec, {e: _compile_group(g) for e, g in groups.items()}


def load_rules(path: Path) -> tuple[RuleSetSpec, Compiled]:
    """Load and compile a rule-set file (parsed once per process and modification time)."""
    try:
        return _load_rules(path)  # the cache looks at the file once: no stat of its own first
    except SpecError as e:
        if not path.exists():
            raise SpecError(str(path), [("", "no such file")]) from None
        raise SpecError(str(path), e.problems) from None


def _compile_file(path: Path, text: str) -> tuple[RuleSetSpec, Compiled]:
    size = len(text.encode("utf-8"))
    if size > MAX_POLICY_BYTES:  # the limit of every policy file (simenv.governance.policy_text)
        raise SpecError(str(path), [("", f"the policy file is {size:,} bytes; the limit is {MAX_POLICY_BYTES:,}: "
                                         "split it or simplify it")])
    return compile_rules(files.parse_yaml(text, str(path)), str(path))


_load_rules = files.cached(_compile_file, immutable=True)  # a frozen spec and compiled predicates: nothing to change


class NativeRules:
    """The native rule-set authorizer.

    Example:
        >>> rules = NativeRules.from_data({"rules": [
        ...     {"id": "no_export", "effect": "deny", "when": {"action.risk": "key_export"}},
        ...     {"id": "reads", "effect": "allow", "when": {"action.risk": {"in": ["read"]}}}]})
        >>> rules.rule_ids
        ('no_export', 'reads')
    """

    name = "native"

    def __init__(self, policy: Path | str | None = None):
        if policy is None:
            raise SimenvError("the native engine needs a rule file: set authorizer.policy in the profile")
        self._setup(load_rules(Path(policy)))

    def _setup(self, compiled: tuple[RuleSetSpec, Compiled]) -> None:
        self.spec, groups = compiled
        self._groups = tuple((effect, groups[e]) for e, effect in zip(_ORDER, _EFFECTS, strict=True))
        self._default = Decision(Effect(self.spec.default),
                                 (self.spec.default_reason or f"no rule matched (default {self.spec.default})",),
                                 (DEFAULT_ID,))
        self._cache: dict[tuple[int, int], Decision] = {}

    @classmethod
    def from_data(cls, data: Any, file: str = "<rules>") -> NativeRules:
        """A rule set from an in-memory document."""
        rules = cls.__new__(cls)
        rules._setup(compile_rules(data, file))
        return rules

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The ids of every rule, in file order."""
        return tuple(r["id"] for r in self.spec.rules)

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare: the rules were compiled when the file was loaded."""

    def authorize(self, request: AccessRequest) -> Decision:
        """Deny > require_approval > allow > the default."""
        for k, (effect, group) in enumerate(self._groups):
            hits = group.match(request)
            if hits:
                key = (k, hits)
                dec = self._cache.get(key)
                if dec is None:
                    matched = [rule for i, rule in enumerate(group.rules) if hits >> i & 1]
                    dec = Decision(effect, tuple(sorted({why for _, why in matched})), tuple(sorted(i for i, _ in matched)))
                    self._cache[key] = dec
                return dec
        return self._default
