"""Reading user files: strict YAML, pydantic validation with file:field errors, shipped names.

YAML traps are errors here, not surprises later: a duplicate key is rejected, and where a
string was expected but YAML produced a number or a boolean (``id: 012345``, ``NO``, ``1.10``)
the message says so and suggests quoting.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
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


NOUNS = {"scenarios": "scenario", "policies": "profile"}


def suggest(value: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` when a known name is close to ``value``, else ``""``."""
    close = difflib.get_close_matches(value, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def is_path(name_or_path: str | Path) -> bool:
    """Whether a reference is written as a file path (a folder separator or a ``.yaml`` suffix), not a name.

    A bare name always means the shipped file: a file of that name in the working folder never shadows it.
    """
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or "/" in text or os.sep in text or text.endswith((".yaml", ".yml"))


def resolve(name_or_path: str | Path, kind: str) -> Path:
    """A shipped name or a file path → the file's path; an unknown name gets a one-line error with a suggestion."""
    noun = NOUNS.get(kind, kind)
    if is_path(name_or_path):
        p = Path(name_or_path)
        if p.is_dir():
            raise UnknownNameError(f"{p}: is a folder, not a {noun} file")
        if not p.exists():
            raise UnknownNameError(f"{p}: no such file")
        return p
    cand = shipped_dir(kind) / f"{name_or_path}.yaml"
    if cand.exists():
        return cand
    shipped = list_shipped(kind)
    hint = suggest(str(name_or_path), shipped)
    raise UnknownNameError(f"unknown {noun} {str(name_or_path)!r}{hint} (shipped: {', '.join(shipped)}; "
                           f"or give a file path)")


MAX_POLICY_BYTES = 1 << 20
"""The largest policy file a profile may name (1 MiB; the shipped ones are a few KiB)."""


def confined(profile: Path, ref: str, max_bytes: int = MAX_POLICY_BYTES) -> Path:
    """The file ``ref`` names, relative to the folder of ``profile``, confined to that folder's tree.

    A profile may come from a pull request: it may name only a regular file of at most ``max_bytes`` inside its own
    folder tree, written as a relative path without ``..``, and not reached through a symlink that leaves the tree.

    Raises:
        ValueError: the one-line reason, for the caller to report against its field.
    """
    rel = Path(ref)
    if rel.is_absolute() or ref.startswith("~"):
        raise ValueError(f"{ref!r} is an absolute path; name a file beside the profile, relative to its folder")
    if ".." in rel.parts:
        raise ValueError(f"{ref!r} leaves the profile's folder ('..'); keep policy files in its folder tree")
    root = profile.parent.resolve()
    target = (profile.parent / rel)
    real = target.resolve()
    if not real.is_relative_to(root):
        raise ValueError(f"{ref!r} is a symlink out of the profile's folder ({real}); copy the file into it")
    try:
        st = real.stat()
    except OSError:
        raise ValueError(f"no such file: {target}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{ref!r} is not a regular file; name a policy file")
    if st.st_size > max_bytes:
        raise ValueError(f"{ref!r} is {st.st_size:,} bytes, more than the {max_bytes:,} a policy file may hold")
    return target
