r"""Reading user files: strict YAML, pydantic validation with file:field errors, shipped names.

YAML traps are errors here, not surprises later: a duplicate key is rejected, and where a
string was expected but YAML produced a number or a boolean (``id: 012345``, ``NO``, ``1.10``)
the message says so and suggests quoting.

Files are untrusted input, so reading them is bounded: a user file must be a regular file of at
most :data:`MAX_FILE_BYTES`; a YAML document may nest at most :data:`MAX_DEPTH` levels and hold at
most :data:`MAX_NODES` nodes, counting every alias as a copy of what it names (so a "billion
laughs" file is refused at the alias that crosses the budget, with its line); a key must be a
scalar; a string must be Unicode text (no lone surrogate such as ``"\ud800"``); YAML's tags for
binary data, sets, ordered maps and timestamps are refused, and a date stays a string. Each is a
:class:`SpecError` naming the file and the line. Infinite and NaN numbers are refused by
:func:`validate`, with their field.
"""

from __future__ import annotations

import collections
import copy
import difflib
import functools
import hashlib
import math
import os
import stat
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from simenv.errors import SpecError, UnknownNameError, quote

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_FILE_BYTES = 512 * 2**10
"""The largest user file simenv reads (512 KiB; the largest shipped file is a few KB)."""
MAX_DEPTH = 100
"""How deep a YAML document may nest (a plan's ``on_deny`` chain adds two levels per step)."""
MAX_NODES = 200_000
"""How many nodes a YAML document may hold, each alias counted as a copy of the node it names."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_REFUSED_TAGS = ("binary", "timestamp", "omap", "pairs", "set")


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate and unhashable keys, deep nesting and alias bombs (see the module docstring)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[str, int] = {}  # anchor -> nodes it stands for, once it is composed

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"the document holds more than {MAX_NODES} nodes (each alias counts as a copy of what "
                            "it names); simenv refuses documents that large", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.anchors:
                size = self._sizes.get(event.anchor)
                if size is None:
                    raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor} refers to a node that "
                                                                  "contains it", event.start_mark)
                self._count(size, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        start = self._nodes
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if event.anchor is not None:
            self._sizes[event.anchor] = self._nodes - start
        return node


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable) or isinstance(key, tuple):
            raise yaml.constructor.ConstructorError(
                None, None, f"a {type(key).__name__} used as a key; keys must be names or numbers", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {quote(key)} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


def _int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    try:
        return loader.construct_yaml_int(node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {len(str(node.value))} digits is too large", node.start_mark) from None


def _str(loader: _StrictLoader, node: yaml.ScalarNode) -> str:
    value = loader.construct_yaml_str(node)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"a lone surrogate ({quote(value[e.start:e.end])}) is not Unicode text", node.start_mark) from None
    return value


def _refused(loader: _StrictLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported in simenv files",
        node.start_mark)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _int)
_StrictLoader.add_constructor("tag:yaml.org,2002:str", _str)
for _tag in _REFUSED_TAGS:
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refused)
_StrictLoader.yaml_implicit_resolvers = {  # a date is a string, as JSON would have it
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
    except RecursionError:  # a guard: the composer's depth limit comes first
        raise SpecError(file, [("", f"YAML: nested more than {MAX_DEPTH} levels deep")]) from None


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


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
        return f" (YAML read {quote(value)} as {kind}; quote it to keep it a string)"
    return ""


def non_finite(data: Any, loc: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    """Every infinite or NaN number in a parsed document, as ``(field path, message)`` problems.

    No simenv file has a use for them, and every consumer (JSON, Cedar, numpy) trips on them, so
    they are refused wherever they are, typed field or free-form options alike.
    """
    out: list[tuple[str, str]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [(loc, data)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            out.append((field_path(where), f"{v} is not a finite number; simenv files take finite numbers"))
        elif isinstance(v, dict):
            stack.extend(((*where, k), x) for k, x in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend(((*where, i), x) for i, x in reversed(list(enumerate(v))))
    return out


def validate(model: type[M], data: Any, file: str) -> M:
    """Validate ``data`` against ``model`` strictly; errors name ``file`` and each field path."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"{_a(type(data).__name__)}"
        raise SpecError(file, [("", f"expected a mapping at the top level, got {got}")])
    bad = non_finite(data)
    if bad:
        raise SpecError(file, bad)
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


def read_text(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """A user file's text: a regular file of at most ``limit`` bytes, UTF-8; any other is a :class:`SpecError`.

    The file is opened without blocking (a FIFO cannot hang the reader) and read at most
    ``limit + 1`` bytes (a device such as ``/dev/zero`` cannot exhaust memory).
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise SpecError(str(p), [("", f"cannot read: {e.strerror or e}")]) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
            raise SpecError(str(p), [("", f"not a regular file ({what})")])
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(limit + 1)
    except OSError as e:
        raise SpecError(str(p), [("", f"cannot read: {e.strerror or e}")]) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise SpecError(str(p), [("", f"larger than {limit} bytes; simenv reads files up to {limit} bytes")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(str(p), [("", f"not UTF-8 text (byte {e.start})")]) from None


def cached(loader: Callable[[Path, str], T], *, immutable: bool = False, size: int = 256,
           deps: Callable[[Path, T], Iterable[Path]] | None = None) -> Callable[[Path], T]:
    """Memoize a ``(path, text) -> spec`` loader on the file's path and *content*.

    A file is parsed only when its bytes are new to this process. Its content key (resolved
    path and SHA-256) is found by reading the file, or, once the file has been read and had not
    changed for :data:`SETTLED_NS` before that read, by its ``stat`` signature alone (device,
    inode, size, and modification and change times to the nanosecond): a file rewritten later
    gets a new change time, which no user can set back, so it is read again. A file that was
    changed just before it was read is read on every call (the "racy" case of Git's index), so
    a rewrite within one timestamp tick is never served stale. The cache holds the last ``size``
    results, keyed by path and SHA-256 (not by the text, which may be megabytes). ``deps`` names
    the other files a loaded value was built from (a scenario's estate file): their SHA-256
    (:func:`file_sha256`, known the same way) is checked on every call too, and a change (or a
    missing file) loads again. Unless the loader returns an ``immutable`` value, the cached value
    is never handed out: each caller gets its own deep copy, so no caller can change what another
    one loads. A loader that raises caches nothing.
    """
    memo: collections.OrderedDict[tuple[str, str], tuple[T, tuple[tuple[Path, str | None], ...]]] = \
        collections.OrderedDict()
    settled: dict[str, tuple[tuple[int, ...], tuple[str, str]]] = {}  # path as given → (stat signature, content key)

    def shared(path: Path) -> T:
        """The cached value itself, not a copy: for callers inside simenv that never change what they get."""
        given = os.fspath(path)
        sig = _signature(given)
        hit = settled.get(given)
        text = None
        if sig is not None and hit is not None and hit[0] == sig and hit[1] in memo:
            key = hit[1]
        else:
            text = read_text(path)
            key = (str(Path(path).resolve()), hashlib.sha256(text.encode("utf-8")).hexdigest())
            if sig is not None and _settled(sig):
                if len(settled) > 4 * size:
                    settled.clear()
                settled[given] = (sig, key)
        entry = memo.get(key)
        if entry is None or not all(file_sha256(dep) == sha for dep, sha in entry[1]):
            if text is None:  # known by its signature, but a file it was built from changed: load it again
                text = read_text(path)
                key = (key[0], hashlib.sha256(text.encode("utf-8")).hexdigest())
            value = loader(Path(key[0]), text)
            entry = (value, tuple((dep, file_sha256(dep)) for dep in deps(Path(key[0]), value)) if deps else ())
            memo[key] = entry
        memo.move_to_end(key)
        if len(memo) > size:
            memo.popitem(last=False)
        return entry[0]

    def load(path: Path) -> T:
        value = shared(path)
        return value if immutable else copy.deepcopy(value)

    def clear() -> None:
        memo.clear()
        settled.clear()

    load.cache_clear = clear  # type: ignore[attr-defined]
    load.shared = shared  # type: ignore[attr-defined]
    return load


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file's bytes, or ``None`` if it is not one or cannot be read (never blocks on a FIFO).

    A file unchanged for :data:`SETTLED_NS` before it was hashed is known by its ``stat`` signature afterwards.
    """
    given = os.fspath(path)
    sig = _signature(given)
    if sig is None:
        return None
    hit = _DIGESTS.get(given)
    if hit is not None and hit[0] == sig:
        return hit[1]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb") as f:
            fd = -1
            sha = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    if _settled(sig):
        if len(_DIGESTS) > 1024:
            _DIGESTS.clear()
        _DIGESTS[given] = (sig, sha)
    return sha


_DIGESTS: dict[str, tuple[tuple[int, ...], str]] = {}  # path as given → (stat signature, SHA-256), settled files only
SETTLED_NS = 2_000_000_000
"""How long a file must have been unchanged, when it is read, for its ``stat`` signature to stand for its
content (two seconds: coarser than the timestamp granularity of any filesystem simenv runs on)."""


def _settled(sig: tuple[int, ...]) -> bool:
    """Whether a file of this signature was last changed more than :data:`SETTLED_NS` ago."""
    return time.time_ns() - max(sig[3], sig[4]) > SETTLED_NS


def _signature(path: str) -> tuple[int, ...] | None:
    """``(device, inode, size, mtime_ns, ctime_ns)`` of a regular file, or ``None`` (not one, or not there)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@functools.cache
def shipped_dir(kind: str) -> Path:
    """The folder of shipped scenarios or policies (installed package data or source tree); found once per process."""
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


def _mode(p: Path) -> int | None:
    """``st_mode`` of what ``p`` names (following symlinks), or ``None`` if it is not there or cannot be looked at."""
    try:
        return os.stat(p).st_mode
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _shipped_file(kind: str, name: str) -> Path:
    """The path a shipped name stands for (whether or not the file is there: the caller looks)."""
    return shipped_dir(kind) / f"{name}.yaml"


def resolve(name_or_path: str | Path, kind: str) -> Path:
    """A shipped name or a file path → the file's path; an unknown name gets a one-line error with a suggestion."""
    noun = NOUNS.get(kind, kind)
    if is_path(name_or_path):
        p = Path(name_or_path)
        mode = _mode(p)
        if mode is not None and stat.S_ISDIR(mode):
            raise UnknownNameError(f"{p}: is a folder, not a {noun} file")
        if mode is None:
            raise UnknownNameError(f"{p}: no such file")
        return p
    cand = _shipped_file(kind, str(name_or_path))
    if _mode(cand) is not None:
        return cand
    shipped = list_shipped(kind)
    hint = suggest(str(name_or_path), shipped)
    raise UnknownNameError(f"unknown {noun} {str(name_or_path)!r}{hint} (shipped: {', '.join(shipped)}; "
                           f"or give a file path)")


def confined(profile: Path, ref: str, max_bytes: int = MAX_FILE_BYTES) -> Path:
    """The file ``ref`` names, relative to the folder of ``profile``, confined to that folder's tree.

    A profile may come from a pull request: it may name only a regular file of at most ``max_bytes`` inside its own
    folder tree, written as a relative path without ``..``, and not reached through a symlink that leaves the tree.

    Raises:
        ValueError: the one-line reason, for the caller to report against its field.
    """
    rel, q = Path(ref), quote(ref, 80)
    if rel.is_absolute() or ref.startswith("~"):
        raise ValueError(f"{q} is an absolute path; name a file beside the profile, relative to its folder")
    if ".." in rel.parts:
        raise ValueError(f"{q} leaves the profile's folder ('..'); keep policy files in its folder tree")
    root = profile.parent.resolve()
    target = profile.parent / rel

    def refused(e: OSError | ValueError) -> ValueError:  # a name too long, a NUL byte, a loop of symlinks
        if isinstance(e, FileNotFoundError):
            return ValueError(f"no such file: {target}")
        return ValueError(f"{q}: cannot use this path: {getattr(e, 'strerror', None) or e}")

    try:
        real = target.resolve()
    except (OSError, ValueError) as e:
        raise refused(e) from None
    if not real.is_relative_to(root):
        raise ValueError(f"{q} is a symlink out of the profile's folder ({real}); copy the file into it")
    try:
        st = real.stat()
    except OSError as e:
        raise refused(e) from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{q} is not a regular file; name a policy file")
    if st.st_size > max_bytes:
        raise ValueError(f"{q} is {st.st_size:,} bytes, more than the {max_bytes:,} a policy file may hold")
    return target
