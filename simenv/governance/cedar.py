"""The Cedar authorizer (cedarpy). The only module that imports cedarpy.

A policy file is parsed once into a resident ``cedarpy.PolicySet`` and validated against the
request model's schema (``policies/cedar/simenv.cedarschema``, see
:mod:`simenv.governance.cedar_schema` for the mapping). ``prepare()`` builds the episode's
entities (every identity and resource of the estate) once into a resident ``cedarpy.Entities``;
``authorize()`` only builds the small request (uids and the context record), hands it to
cedarpy's extension as ``cedarpy.is_authorized`` does, and looks the answer up among those it has
seen (``CedarAuthorizer._answer``). A request naming
an identity or resource the store does not hold, or holds with other attributes, is decided
against a small store of its own (the action entities plus the request's); ``authorize_batch()``
adds the unknown entities of a whole batch to the resident store at once.

Policy conventions:

- every policy has a unique ``@id("...")``: decisions report these ids; an optional
  ``@reason("...")`` gives the reason (the id otherwise); ids and reasons are each sorted;
- forbid overrides permit, and no permit means deny (policy id ``default``);
- a deny whose every satisfied forbid carries ``@approval("lift")`` is ``require_approval``;
  such a policy must stop applying when ``context.approval == "granted"``.

Policies are untrusted: :mod:`simenv.governance.policy_text` refuses a file larger than its
limit or nested deeper than Cedar survives (800 brackets segfault cedarpy) before cedarpy
sees it. Requests are bounded: a request holding a value Cedar cannot represent (a
sensitivity outside its ``decimal``, an integer outside ``Long``, text that is not valid
Unicode; see :mod:`simenv.governance.bounds`) is a deny with policy id ``request.invalid``,
and an error inside cedarpy a deny with ``cedar.error``: ``authorize`` never raises.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from simenv import files
from simenv.errors import SimenvError, SpecError
from simenv.governance import bounds, policy_text
from simenv.governance.cedar_schema import ACTION, IDENTITY, RESOURCE, schema_text
from simenv.governance.request import AccessRequest, Decision, PrincipalView, ResourceView
from simenv.governance.views import EstateView
from simenv.types import Effect
from simenv.world.model import Ticket

DEFAULT_ID = "default"
_DEFAULT = Decision(Effect.DENY, ("no policy allows the request (default deny)",), (DEFAULT_ID,))
_INSTALL = "the cedar engine needs cedarpy: pip install simenv[all] (or pip install cedarpy)"


def _cedarpy() -> Any:
    try:
        import cedarpy
    except ImportError:
        raise SimenvError(_INSTALL) from None
    return cedarpy


@functools.lru_cache(maxsize=1)
def _schema() -> tuple[Any, Any]:
    """The parsed schema and an entity store holding only the action entities (parsed once)."""
    cedarpy = _cedarpy()
    schema = cedarpy.Schema.from_str(schema_text())
    return schema, cedarpy.Entities.from_json_str("[]", schema)


@dataclass(frozen=True)
class CedarPolicies:
    """A parsed, validated policy file: the resident set and what each policy id means."""

    policy_set: Any
    names: Mapping[str, tuple[str, str]]  # positional id -> (@id, reason), read-only
    lift: frozenset[str]  # positional ids carrying @approval("lift")
    named: frozenset[tuple[bool, str]] = frozenset()  # identities (False) and resources (True) the policies name


def named_entities(doc: Any) -> frozenset[tuple[bool, str]]:
    """The identities and resources a policy set's JSON form names as literals (``Simenv::Identity::"alice"``).

    >>> sorted(named_entities({"a": [{"__entity": {"type": "Simenv::Resource", "id": "vault"}},
    ...                              {"type": "Simenv::Action", "id": "read"}]}))
    [(True, 'vault')]
    """
    out: set[tuple[bool, str]] = set()
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("type") in (IDENTITY, RESOURCE) and isinstance(x.get("id"), str):
                out.add((x["type"] == RESOURCE, x["id"]))
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return frozenset(out)


_POSITIONAL = re.compile(r"policy(\d+)")
_MENTION = re.compile(r"`(policy\d+)`")
_ID_ANNOTATION = re.compile(r'@id\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)')


def statements(text: str) -> list[tuple[int, str]]:
    """Each policy statement of Cedar ``text`` in order, with the line it starts on.

    The k-th statement is the policy cedarpy calls ``policy{k}``. Statements end at a ``;``
    outside strings and ``//`` comments; a trailing statement without its ``;`` counts too.
    """
    out: list[tuple[int, str]] = []
    i, n, line, start, first = 0, len(text), 1, 0, 0
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "/" and text.startswith("//", i):
            while i + 1 < n and text[i + 1] != "\n":
                i += 1
        elif c == '"':
            first = first or line
            i += 1
            while i < n and text[i] != '"':
                line += text[i] == "\n"
                i += 2 if text[i] == "\\" else 1
        elif c == ";":
            out.append((first or line, text[start:i + 1]))
            start, first = i + 1, 0
        elif not c.isspace():
            first = first or line
        i += 1
    if first:
        out.append((first, text[start:]))
    return out


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _Labels:
    """How messages name each policy of a file: ``policy <@id>``, else ``the 3rd policy (line 12)``."""

    def __init__(self, text: str, ids: Mapping[str, str]):
        self.lines = [line for line, _ in statements(text)]
        self.ids = ids  # positional id -> @id
        self.shared = {n for n in ids.values() if n and list(ids.values()).count(n) > 1}

    def position(self, pid: str, inline: bool = False) -> str:
        """``the 3rd policy (line 12)``; ``inline``: ``the 3rd policy, line 12``."""
        m = _POSITIONAL.fullmatch(pid)
        if m is None:
            return pid
        k = int(m.group(1))
        nth = f"the {_ordinal(k + 1)} policy"
        if k >= len(self.lines):
            return nth
        return f"{nth}, line {self.lines[k]}" if inline else f"{nth} (line {self.lines[k]})"

    def __call__(self, pid: str) -> str:
        name = self.ids.get(pid)
        if not name:
            return self.position(pid)
        return f"policy {name} ({self.position(pid, inline=True)})" if name in self.shared else f"policy {name}"

    def rename(self, msg: str) -> str:
        """``msg`` with cedarpy's positional ids (`` `policy2` ``) replaced by what they stand for."""
        return _MENTION.sub(lambda m: f"`{self.ids[m.group(1)]}`" if self.ids.get(m.group(1)) else self.position(m.group(1)),
                            msg)


def _parse_problem(text: str, error: ValueError) -> tuple[str, str]:
    """A parse error, placed: the first statement that does not parse on its own, by its @id or position and line."""
    cedarpy = _cedarpy()
    for k, (line, chunk) in enumerate(statements(text)):
        try:
            cedarpy.PolicySet.from_str(chunk)
        except ValueError as e:
            head = re.split(r"\b(?:permit|forbid)\b", chunk, maxsplit=1)[0]
            m = _ID_ANNOTATION.search(head)
            who = f"policy {m.group(1)}" if m and m.group(1) else f"the {_ordinal(k + 1)} policy"
            return f"{who} (line {line})", f"Cedar parse error: {e}"
    return "", f"Cedar parse error: {error}"


def _by_position(policies: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The policies in file order (``policy2`` before ``policy10``)."""
    def key(kv: tuple[str, Any]) -> int:
        m = _POSITIONAL.fullmatch(kv[0])
        return int(m.group(1)) if m else -1
    return sorted(policies.items(), key=key)


def _problems_of(text: str, file: str) -> tuple[Any, list[tuple[str, str]], dict[str, Any]]:
    found = policy_text.problems(text, "cedar")  # before cedarpy sees it: what is known to crash it
    if found:
        return None, found, {}
    cedarpy = _cedarpy()
    try:
        ps = cedarpy.PolicySet.from_str(text)
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as e:
        return None, [_parse_problem(text, e)], {}
    except RecursionError:
        return None, [("", "an expression chains too many operators (several hundred) for simenv to read: "
                           "split it into several conditions or policies")], {}
    problems: list[tuple[str, str]] = []
    policies = est.get("staticPolicies", {})
    templates = est.get("templates", {})
    ids = {pid: str(p.get("annotations", {}).get("id") or "") for pid, p in (*policies.items(), *templates.items())}
    label = _Labels(text, ids)
    for pid, _ in _by_position(templates):
        problems.append((label(pid), "is a template (a ?principal / ?resource slot), which is not supported"))
    try:
        result = cedarpy.validate_policies(text, _schema()[0])
    except (ValueError, RecursionError) as e:
        return ps, [*problems, ("", f"Cedar validation error: {str(e)[:300]}")], policies
    seen: set[tuple[str, str]] = set()
    for err in result.errors:
        who = label(err.policy_id) if err.policy_id else ""
        msg = re.sub(r' (in context )?for Simenv::Action::"[^"]+"', r" \1", err.error).replace("  ", " ").strip()
        msg = label.rename(re.sub(r"^for policy `[^`]*`, ", "", msg))
        if (who, msg) not in seen:
            seen.add((who, msg))
            problems.append((who, f"does not match the request model: {msg}"))
    first: dict[str, str] = {}
    for pid, pol in _by_position(policies):
        ann = pol.get("annotations", {})
        name = ann.get("id")
        if not name:
            problems.append((label(pid), 'has no @id("...") annotation; add one (decisions report it)'))
        elif name in first:
            problems.append((label(pid), f"duplicate @id: it repeats the @id of {label.position(first[name])}; "
                                         "give each policy its own"))
        elif name == DEFAULT_ID:
            problems.append((f"policy {name}", f"@id {DEFAULT_ID!r} is reserved for the default decision"))
        if name:
            first.setdefault(name, pid)
        if "approval" in ann and ann["approval"] != "lift":
            problems.append((label(pid), f'@approval must be "lift", not {ann["approval"]!r}'))
        if "approval" in ann and pol.get("effect") != "forbid":
            problems.append((label(pid), "@approval(\"lift\") only makes sense on a forbid policy"))
    return ps, problems, policies


def parse_policies(text: str, file: str) -> CedarPolicies:
    """Parse and validate Cedar policy text; raise :class:`SpecError` naming the file and policy."""
    ps, problems, policies = _problems_of(text, file)
    if problems:
        raise SpecError(file, problems)
    names = {pid: (p["annotations"]["id"], p["annotations"].get("reason") or p["annotations"]["id"])
             for pid, p in policies.items()}
    lift = frozenset(pid for pid, p in policies.items() if p["annotations"].get("approval") == "lift")
    return CedarPolicies(ps, MappingProxyType(names), lift, named_entities(policies))


def load_policies(path: Path) -> CedarPolicies:
    """Load a ``.cedar`` file (parsed once per process for each distinct content)."""
    try:
        return _load(path)  # the cache looks at the file once: no stat of its own first
    except SpecError:
        if not path.exists():
            raise SpecError(str(path), [("", "no such file")]) from None
        raise


def _parse_file(path: Path, text: str) -> CedarPolicies:
    return parse_policies(text, str(path))


_load = files.cached(_parse_file, immutable=True)  # CedarPolicies is frozen; its PolicySet is never mutated


# --------------------------------------------------------------------------- entities and requests
def identity_entity(v: PrincipalView) -> dict[str, Any]:
    """An identity as a Cedar entity."""
    attrs: dict[str, Any] = {"kind": v.kind, "trust_tier": v.trust_tier, "shared": v.shared, "spiffe_id": v.spiffe_id,
                             "tenant": v.tenant, "owner_active": v.owner_active, "enabled": v.enabled}
    if v.owner is not None:
        attrs["owner"] = v.owner
    return {"uid": {"type": IDENTITY, "id": v.name}, "attrs": attrs, "parents": []}


def resource_entity(v: ResourceView) -> dict[str, Any]:
    """A resource as a Cedar entity (sensitivity as a 4-place decimal: exact for a canonical value, see ``bounds``)."""
    attrs: dict[str, Any] = {"type": v.type, "system": v.system,
                             "sensitivity": {"__extn": {"fn": "decimal", "arg": f"{v.sensitivity:.4f}"}},
                             "tenant": v.tenant, "marks": list(v.marks)}
    if v.owner is not None:
        attrs["owner"] = v.owner
    return {"uid": {"type": RESOURCE, "id": v.name}, "attrs": attrs, "parents": []}


def cedar_request(r: AccessRequest) -> dict[str, Any]:
    """The Cedar request for an access request: uids and the context record (nulls omitted)."""
    cred: dict[str, Any] = {"covers": r.credential_covers}
    if r.credential_id is not None:
        cred["id"] = r.credential_id
    if r.credential_kind is not None:
        cred["kind"] = r.credential_kind
    if r.credential_ttl is not None:
        cred["ttl"] = r.credential_ttl
    ctx: dict[str, Any] = {
        "represents": {"__entity": {"type": IDENTITY, "id": r.represents.name}},
        "declared_systems": list(r.declared_systems), "declared_risks": list(r.declared_risks),
        "in_declared_scope": r.in_declared_scope, "approval": r.approval, "credential": cred,
        "chain": list(r.chain), "chain_depth": r.chain_depth, "self_target": r.self_target,
        "cross_tenant": r.cross_tenant, "tick": r.tick, "session": r.session, "args": r.args,
    }
    if r.justification is not None:
        ctx["justification"] = r.justification
    if r.lifetime is not None:
        ctx["lifetime"] = r.lifetime
    if r.target_identity is not None:
        ctx["target_identity"] = {"__entity": {"type": IDENTITY, "id": r.target_identity.name}}
    if r.ticket is not None:
        ctx["ticket"] = r.ticket
    return {"principal": {"type": IDENTITY, "id": r.principal.name}, "action": {"type": ACTION, "id": r.action},
            "resource": {"type": RESOURCE, "id": r.resource.name}, "context": ctx}


def _views(r: AccessRequest) -> list[PrincipalView | ResourceView]:
    out: list[PrincipalView | ResourceView] = [r.principal, r.represents, r.resource]
    if r.target_identity is not None:
        out.append(r.target_identity)
    return out


def _entity(v: PrincipalView | ResourceView) -> dict[str, Any]:
    return resource_entity(v) if isinstance(v, ResourceView) else identity_entity(v)


ANSWERS = 4096
"""How many distinct answers of cedarpy an authorizer remembers (see ``CedarAuthorizer._answer``)."""

EAGER_ENTITIES = 20_000
"""Up to this many identities and resources, an episode's Cedar store holds the whole estate (see ``prepare``)."""


class CedarAuthorizer:
    """Cedar policies with resident ``PolicySet`` and ``Entities`` handles."""

    name = "cedar"

    def __init__(self, policy: Path | str | None = None):
        if policy is None:
            raise SimenvError("the cedar engine needs a policy file: set authorizer.policy in the profile")
        self._setup(load_policies(Path(policy)))

    def _setup(self, policies: CedarPolicies) -> None:
        self._cedarpy = _cedarpy()
        self.policies = policies
        self._schema, self._actions = _schema()
        self._entities = self._actions
        self._known: dict[tuple[bool, str], PrincipalView | ResourceView] = {}
        self._cache: dict[tuple[bool, tuple[str, ...]], Decision] = {}
        self._answers: dict[str, Decision] = {}  # cedarpy's answer text (without its timings) -> decision
        self._batch = getattr(getattr(self._cedarpy, "_internal", None), "is_authorized_batch", None)

    @classmethod
    def from_text(cls, text: str, file: str = "<cedar>") -> CedarAuthorizer:
        """An authorizer from policy text."""
        authz = cls.__new__(cls)
        authz._setup(parse_policies(text, file))
        return authz

    @property
    def entities(self) -> Any:
        """The resident ``cedarpy.Entities`` handle."""
        return self._entities

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """The episode's entity store, built once per estate template.

        Up to :data:`EAGER_ENTITIES` identities and resources it holds the whole estate. Beyond,
        it holds the entities the policies name, and each request adds the entities it brings:
        the decisions are the same, since an entity has no parents and a request carries every
        entity it refers to, but a 100,000-identity estate is not converted for a few calls.
        """
        if len(estate.identities) + len(estate.resources) <= EAGER_ENTITIES:
            known, self._entities = estate.derived("cedar.entities", lambda: self._store_of(estate))
        else:
            named = self.policies.named
            key = "cedar.named:" + ",".join(f"{int(r)}{n}" for r, n in sorted(named))
            known, self._entities = estate.derived(key, lambda: self._store_of(estate, named))
        self._known = dict(known)  # this episode's own: entities added later go into it

    def _store_of(self, estate: EstateView, only: frozenset[tuple[bool, str]] | None = None,
                  ) -> tuple[dict[tuple[bool, str], PrincipalView | ResourceView], Any]:
        ids = estate.identities
        people = ids if only is None else [ids[estate.ident_index[n]] for r, n in sorted(only)
                                           if not r and n in estate.ident_index]
        things = estate.resources if only is None else [estate.resources[estate.res_index[n]] for r, n in sorted(only)
                                                        if r and n in estate.res_index]
        views: list[PrincipalView | ResourceView] = [
            PrincipalView(i.name, str(i.kind), ids[i.owner].name if i.owner is not None else None, i.trust_tier, i.shared,
                          i.spiffe_id, estate.tenant(i), estate.owner_active(i.idx), estate.enabled(i.idx))
            for i in people]
        views += [ResourceView(r.name, str(r.type), str(r.system), bounds.canonical_sensitivity(r.sensitivity),
                               ids[r.owner].name if r.owner is not None else None, estate.tenant(r), tuple(sorted(r.marks)))
                  for r in things]
        self._known = {}
        self._entities = self._actions
        self._add(views)
        return self._known, self._entities

    def _add(self, views: Sequence[PrincipalView | ResourceView]) -> None:
        """Add entities to the resident store; one Cedar cannot represent stays out (its requests are invalid)."""
        fresh = {}
        for v in views:
            key = (isinstance(v, ResourceView), v.name)
            if key not in self._known and key not in fresh and _view_problem(v) is None:
                fresh[key] = v
        if fresh:
            delta = json.dumps([_entity(v) for v in fresh.values()])
            self._entities = self._entities.with_added_json_str(delta, self._schema)
            self._known.update(fresh)

    def _store_for(self, r: AccessRequest) -> Any:
        """The resident store if it holds the request's entities as they are; else a small one for this call."""
        known = self._known
        views = _views(r)
        if any((isinstance(v, ResourceView), v.name) not in known for v in views):
            self._add(views)  # first seen (a large estate's store grows as requests bring entities)
        for v in views:
            have = known.get((isinstance(v, ResourceView), v.name))
            if have is None or have is not v and have != v:
                mine = {(isinstance(x, ResourceView), x.name): x for x in _views(r)}
                return self._actions.with_added_json_str(json.dumps([_entity(x) for x in mine.values()]), self._schema)
        return self._entities

    def authorize(self, request: AccessRequest) -> Decision:
        """Decide one request against the resident handles; never raises."""
        problem = bounds.request_problem(request)
        if problem is not None:
            return bounds.invalid(problem)
        try:
            store = self._store_for(request)
            if self._batch is None or type(store) is not self._cedarpy.Entities:
                return self._decision(self._cedarpy.is_authorized(cedar_request(request), self.policies.policy_set, store))
            q = cedar_request(request)
            q["context"] = json.dumps(q["context"])
            return self._answer(self._batch([q], self.policies.policy_set, store._inner, None, False)[0])
        except Exception as e:  # noqa: BLE001 - whatever cedarpy does, the call gets a decision
            return _error(e)

    def _answer(self, text: str) -> Decision:
        """The decision of cedarpy's answer text, as ``cedarpy.is_authorized`` would have given it to :meth:`_decision`.

        ``is_authorized`` is ``is_authorized_batch`` of cedarpy's extension on one request, with the context
        turned into JSON and each answer parsed into an ``AuthzResult``; :meth:`authorize` makes that call
        itself, so that an answer seen before costs a lookup. An answer is
        ``{"decision":…,"correlation_id":…,"diagnostics":{…},"metrics":{…}}``: all but the timings in its
        ``metrics`` decides, so a key is the text before ``,"metrics":``, kept only when it holds the whole
        diagnostics and no error (any other shape is parsed every time, as cedarpy parses it).
        """
        cut = text.rfind(',"metrics":')
        key = text[:cut]
        dec = self._answers.get(key)
        if dec is not None:
            return dec
        dec = self._decision(self._cedarpy.AuthzResult(json.loads(text)))
        if cut > 0 and key.startswith('{"decision":"') and key.endswith(',"errors":[]}'):
            if len(self._answers) >= ANSWERS:
                self._answers.clear()
            self._answers[key] = dec
        return dec

    def authorize_batch(self, requests: Sequence[AccessRequest]) -> list[Decision]:
        """Decide many requests in one call to Cedar (same decisions as :meth:`authorize`)."""
        out: list[Decision | None] = [None] * len(requests)
        good = []
        for i, r in enumerate(requests):
            problem = bounds.request_problem(r)
            if problem is None:
                good.append(i)
            else:
                out[i] = bounds.invalid(problem)
        try:
            self._add([v for i in good for v in _views(requests[i])
                       if (isinstance(v, ResourceView), v.name) not in self._known])
            stores = {i: self._store_for(requests[i]) for i in good}
            batch = [i for i in good if stores[i] is self._entities]
            results = self._cedarpy.is_authorized_batch([cedar_request(requests[i]) for i in batch],
                                                         self.policies.policy_set, self._entities)
            for i, res in zip(batch, results, strict=True):
                out[i] = self._decision(res)
        except Exception:  # noqa: BLE001 - decide one by one, each with its own error
            pass
        for i in good:
            if out[i] is None:
                out[i] = self.authorize(requests[i])
        return [d for d in out if d is not None]

    def _decision(self, res: Any) -> Decision:
        diag = res.diagnostics
        reasons = tuple(diag.reasons)
        if diag.errors:
            return self._with_errors(res.allowed, reasons, tuple(map(str, diag.errors)))
        key = (res.allowed, reasons)
        dec = self._cache.get(key)
        if dec is None:
            dec = self._cache[key] = self._make(res.allowed, reasons)
        return dec

    def _make(self, allowed: bool, reasons: tuple[str, ...]) -> Decision:
        if allowed:
            effect, deciding = Effect.ALLOW, reasons
        elif not reasons:
            return _DEFAULT
        else:
            hard = tuple(p for p in reasons if p not in self.policies.lift)
            effect, deciding = (Effect.DENY, hard) if hard else (Effect.REQUIRE_APPROVAL, reasons)
        chosen = [self.policies.names[p] for p in deciding]
        return Decision(effect, tuple(sorted({why for _, why in chosen})), tuple(sorted(i for i, _ in chosen)))

    def _with_errors(self, allowed: bool, reasons: tuple[str, ...], errors: tuple[str, ...]) -> Decision:
        dec = self._make(allowed, reasons)
        return Decision(dec.effect, (*dec.reasons, *(f"cedar evaluation error: {self._rename(e)}" for e in errors)),
                        dec.policy_ids)

    def _rename(self, error: str) -> str:
        """An evaluation error naming policies by their ``@id`` rather than cedarpy's positional ids."""
        names = self.policies.names
        return _MENTION.sub(lambda m: f"`{names[m.group(1)][0]}`" if m.group(1) in names else m.group(0), error)


def _view_problem(v: PrincipalView | ResourceView) -> str | None:
    """Why Cedar cannot hold this entity as it is (see :mod:`simenv.governance.bounds`), or ``None``."""
    if isinstance(v, ResourceView):
        problem, texts = bounds.sensitivity_problem(v.sensitivity), (v.name, v.type, v.system, v.owner, v.tenant, *v.marks)
    else:
        problem, texts = bounds.long_problem(v.trust_tier), (v.name, v.kind, v.owner, v.spiffe_id, v.tenant)
    for t in texts:
        problem = problem or (bounds.text_problem(t, None) if t is not None else None)
    return problem


def _error(e: Exception) -> Decision:
    return Decision(Effect.DENY, (f"Cedar could not evaluate the request: {str(e)[:200] or type(e).__name__}",),
                    ("cedar.error",))


def validate_schema_file(path: Path) -> None:
    """Validate a ``.cedarschema`` file: it must parse as a Cedar schema."""
    cedarpy = _cedarpy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(str(path), [("", f"cannot read: {e}")]) from None
    try:
        cedarpy.Schema.from_str(text)
    except ValueError as e:
        raise SpecError(str(path), [("", f"Cedar schema error: {e}")]) from None

