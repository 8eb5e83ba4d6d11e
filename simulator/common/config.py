"""Config files at the CLI edge: one safe YAML reader and one mapping-to-dataclass loader for every
block's config.

Why here: every block's config is a frozen, validated dataclass; YAML is parsed only at the edge,
and a bad file must give one line naming the file, the line and the problem. The reader is
stricter than ``yaml.safe_load`` where a careless or hostile file would otherwise hang the
machine or be silently misread:

- **no aliases** (``*name``): a "billion laughs" file of a few hundred bytes expands to gigabytes
  once anything walks it (a sweep writes its spec back as JSON); configs never need them;
- **no duplicate keys**: YAML keeps the last silently; we name both lines;
- **no tags** beyond the plain scalars, lists and mappings (``!!python/...`` and custom tags);
- **YAML 1.2 numbers**: ``1e2`` and ``1E-3`` are numbers (YAML 1.1 reads them as strings);
- **a size bound** (:data:`MAX_YAML_BYTES`) checked before the file is read.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from simulator.common.errors import SparsimInputError

__all__ = ["MAX_YAML_BYTES", "read_yaml", "parse_yaml", "dataclass_from_mapping", "dataclass_from_yaml",
           "preset_names", "preset_or_yaml"]

#: a config or sweep spec is a few kilobytes; anything near this is not one
MAX_YAML_BYTES = 4 << 20
_NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


class _YAMLError(Exception):
    def __init__(self, line: int | None, problem: str):
        self.line, self.problem = line, problem


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, duplicate keys or tags, with YAML 1.2 floats."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _YAMLError(event.start_mark.line, f"alias *{event.anchor} (YAML aliases are not accepted)")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _YAMLError(key_node.start_mark.line, "a mapping key must be a plain value") from None
            line = key_node.start_mark.line
            if key in seen:
                raise _YAMLError(line, f"duplicate key {key!r} (first on line {seen[key] + 1})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _no_tag(loader, tag_suffix, node):
    raise _YAMLError(node.start_mark.line, f"tag !{tag_suffix} is not accepted (plain values only)")


_StrictLoader.add_multi_constructor("!", _no_tag)
_StrictLoader.add_multi_constructor("tag:yaml.org,2002:python/", _no_tag)
for _tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:set",
             "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):  # fmt: skip
    _StrictLoader.add_constructor(_tag, lambda loader, node, t=_tag: _no_tag(loader, t.split(":")[-1], node))
# YAML 1.2 floats: 1e2, 1E-3 (YAML 1.1 requires a dot)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text with the strict loader; one :class:`SparsimInputError` naming
    ``source:line`` on any problem."""
    lines = text.splitlines()

    def fail(line: int | None, problem: str):
        where = f"{source}:{line + 1}" if line is not None else source
        shown = lines[line].strip()[:120] if line is not None and line < len(lines) else ""
        raise SparsimInputError(where, "<yaml>", shown, f"valid YAML needed ({problem})") from None

    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - the strict safe loader above
    except _YAMLError as err:
        fail(err.line, err.problem)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        fail(mark.line if mark is not None else None, getattr(err, "problem", None) or "syntax error")
    except RecursionError:
        fail(None, "nested too deeply")


def read_yaml(path: str | Path) -> Any:
    """A user's YAML file through :func:`parse_yaml`; a missing, unreadable, oversized or
    non-UTF-8 file is one :class:`SparsimInputError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SparsimInputError(str(path), "file", str(path), "a YAML file (it is not a regular file)")
        if size > MAX_YAML_BYTES:
            raise SparsimInputError(str(path), "file", f"{size:,} bytes", f"at most {MAX_YAML_BYTES:,} bytes")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise SparsimInputError(str(path), "file", str(path), f"cannot be read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise SparsimInputError(str(path), "file", str(path), f"UTF-8 text needed (byte {err.start})") from None
    return parse_yaml(text, str(path))


def _field_wants_float(f: dataclasses.Field) -> bool:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return t.split("|")[0].strip() == "float"


def dataclass_from_mapping(data: Any, cls: type, source: str, what: str):
    """A validated config dataclass from a mapping of its field names (``what`` names the kind of
    keys in messages). Lists become tuples, integers become floats for float fields, and the
    dataclass's own errors are re-sourced to ``source``; a value that YAML read as a string but
    that looks like a number says so."""
    if not isinstance(data, dict):
        raise SparsimInputError(source, "<document>", type(data).__name__, f"a mapping of {what} keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for k, v in data.items():
        if k not in fields:
            raise SparsimInputError(source, str(k), v, f"unknown key; allowed: {', '.join(sorted(fields))}")
        if isinstance(v, list):
            v = tuple(v)
        elif isinstance(v, int) and not isinstance(v, bool) and _field_wants_float(fields[k]):
            v = float(v)
        kwargs[k] = v
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SparsimInputError(source, name, None, "required")
    try:
        return cls(**kwargs)
    except SparsimInputError as err:
        allowed = err.allowed
        if isinstance(err.value, str) and _NUMBER.fullmatch(err.value.strip()):
            allowed += " (it was read as a string: remove the quotes)"
        raise SparsimInputError(source, err.field, err.value, allowed) from None


def dataclass_from_yaml(path: str | Path, cls: type, what: str):
    """:func:`dataclass_from_mapping` of a YAML file."""
    return dataclass_from_mapping(read_yaml(path), cls, str(path), what)


def preset_names(preset_dir: Path) -> list[str]:
    """Names of the shipped presets of a config type (``preset_dir/NAME.yaml``)."""
    return sorted(p.stem for p in Path(preset_dir).glob("*.yaml"))


def preset_or_yaml(spec: str | Path, cls: type, preset_dir: Path, what: str, source: str, field: str):
    """``cls`` from a shipped preset by name or from a YAML file; anything else is one error
    naming ``field`` and the presets."""
    text = str(spec)
    names = preset_names(preset_dir)
    if text in names:
        return dataclass_from_yaml(Path(preset_dir) / f"{text}.yaml", cls, f"{what} preset {text}")
    if not Path(text).is_file() and not text.lower().endswith((".yaml", ".yml")):
        raise SparsimInputError(source, field, text, f"a preset ({', '.join(names)}) or a {what} YAML file")
    return dataclass_from_yaml(spec, cls, what)
