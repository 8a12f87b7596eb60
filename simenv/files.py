"""Reading user files: strict YAML, pydantic validation with file:field errors, shipped names.

YAML traps are errors here, not surprises later: a duplicate key is rejected, and where a
string was expected but YAML produced a number or a boolean (``id: 012345``, ``NO``, ``1.10``)
the message says so and suggests quoting.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from simenv.errors import SpecError, UnknownNameError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate mapping keys."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; any problem becomes a :class:`SpecError` naming the file."""
    return parse_yaml(read_text(path), str(path))


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text that came from ``file``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(file, [(where, f"YAML: {e.problem or e.context}")]) from None
    except yaml.YAMLError as e:
        raise SpecError(file, [("", f"YAML: {e}")]) from None


def field_path(loc: tuple[Any, ...]) -> str:
    """``("tickets", 0, "scope")`` → ``tickets[0].scope``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _hint(err: Any) -> str:
    value = err.get("input")
    if err.get("type") in ("string_type", "literal_error", "enum") and isinstance(value, (bool, int, float)):
        kind = "a boolean" if isinstance(value, bool) else "a number"
        return f" (YAML read {value!r} as {kind}; quote it to keep it a string)"
    return ""


def validate(model: type[M], data: Any, file: str) -> M:
    """Validate ``data`` against ``model`` strictly; errors name ``file`` and each field path."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise SpecError(file, [("", f"expected a mapping at the top level, got {got}")])
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            problems.append((field_path(err["loc"]), msg + _hint(err)))
        raise SpecError(file, problems) from None


def read_text(path: str | Path) -> str:
    """A user file's text; a problem reading it becomes a :class:`SpecError` naming the file."""
    p = Path(path)
    try:
        return p.read_bytes().decode("utf-8")
    except OSError as e:
        raise SpecError(str(p), [("", f"cannot read: {e.strerror or e}")]) from None
    except UnicodeDecodeError:
        raise SpecError(str(p), [("", "not UTF-8 text")]) from None


def cached(loader: Callable[[Path, str], T], *, immutable: bool = False) -> Callable[[Path], T]:
    """Memoize a ``(path, text) -> spec`` loader on the file's path and *content*.

    The file is read on every call (a few microseconds) and parsed only when its bytes are new
    to this process, so a file rewritten within one modification-time tick is never served
    stale. Unless the loader returns an ``immutable`` value, the cached value is never handed
    out: each caller gets its own deep copy, so no caller can change what another one loads.
    """

    @functools.lru_cache(maxsize=256)
    def by_content(path: str, digest: str, text: str) -> T:
        return loader(Path(path), text)

    def load(path: Path) -> T:
        text = read_text(path)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        value = by_content(str(Path(path).resolve()), digest, text)
        return value if immutable else copy.deepcopy(value)

    load.cache_clear = by_content.cache_clear  # type: ignore[attr-defined]
    return load


def shipped_dir(kind: str) -> Path:
    """The folder of shipped scenarios or policies (installed package data or source tree)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_shipped" / kind, here.parent / kind):
        if cand.is_dir():
            return cand
    raise UnknownNameError(f"no shipped {kind} folder found near {here}")


def list_shipped(kind: str) -> list[str]:
    """Names of the shipped files of ``kind`` (``scenarios`` or ``policies``)."""
    return sorted(p.stem for p in shipped_dir(kind).glob("*.yaml") if not p.stem.endswith("_bad"))


def resolve(name_or_path: str | Path, kind: str) -> Path:
    """A shipped name or a file path → the file's path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise UnknownNameError(f"{p}: no such file")
        return p
    cand = shipped_dir(kind) / f"{name_or_path}.yaml"
    if cand.exists():
        return cand
    known = ", ".join(list_shipped(kind))
    noun = {"policies": "profile"}.get(kind, kind.removesuffix("s"))
    raise UnknownNameError(f"unknown {noun} {str(name_or_path)!r}; shipped: {known}")
