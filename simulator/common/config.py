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

__all__ = [
    "MAX_YAML_BYTES",
    "read_yaml",
    "parse_yaml",
    "dataclass_from_mapping",
    "dataclass_from_yaml",
    "preset_names",
    "preset_or_yaml",
    "parts_of",
    "field_names",
    "flat_values",
    "config_from_flat",
    "replace_flat",
    "renamed_message",
]

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
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):  # an explicit tag, even a standard one (!!int "5"): plain values only
            short = tag.replace("tag:yaml.org,2002:", "!!")
            raise _YAMLError(event.start_mark.line, f"tag {short} is not accepted (plain values only)")
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
    from simulator.common.files import read_text

    return parse_yaml(read_text(path, "YAML file", MAX_YAML_BYTES), str(path))


def _field_wants_float(f: dataclasses.Field) -> bool:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return t.split("|")[0].strip() == "float"


def _coerce(v: Any, f: dataclasses.Field) -> Any:
    if isinstance(v, list):
        return tuple(v)
    if isinstance(v, int) and not isinstance(v, bool) and _field_wants_float(f):
        return float(v)
    return v


def _build(cls: type, kwargs: dict[str, Any], source: str, prefix: str = "") -> Any:
    """``cls(**kwargs)``, its own errors re-sourced to ``source`` and their field names prefixed
    with the part's name (``pe.rows``)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SparsimInputError(source, prefix + name, None, "required")
    try:
        return cls(**{k: _coerce(v, fields[k]) for k, v in kwargs.items()})
    except SparsimInputError as err:
        allowed = err.allowed
        if isinstance(err.value, str) and _NUMBER.fullmatch(err.value.strip()):
            allowed += " (it was read as a string: remove the quotes)"
        field = err.field if not prefix or err.field.startswith(prefix) else prefix + err.field
        raise SparsimInputError(source, field, err.value, allowed) from None


# --------------------------------------------------------------------- composed configs
# A composed config (the array's: pe, buffers, memory, system) declares its parts in a ClassVar
# ``PARTS = {"pe": PEArray, ...}``: fields holding a frozen part dataclass each. Its names, in
# YAML, sweep specs and messages, are dotted (``pe.rows``, ``buffers.ifmap_kb``); a config file
# may nest them (``pe: {rows: 32}``) or write them dotted, not both for one name. ``RENAMED`` maps
# a name the config had before it was composed to its new name (refused with one line saying so).


def parts_of(cls: type) -> dict[str, type]:
    """The parts of a composed config class (empty for a flat one)."""
    return dict(getattr(cls, "PARTS", {}))


def field_names(cls: type) -> tuple[str, ...]:
    """Every name a config file or a sweep may set: dotted for a part's fields."""
    parts = parts_of(cls)
    out: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name in parts:
            out += [f"{f.name}.{g.name}" for g in dataclasses.fields(parts[f.name])]
        else:
            out.append(f.name)
    return tuple(out)


def flat_values(cfg: Any) -> dict[str, Any]:
    """``{name: value}`` of a config by :func:`field_names` (tuples kept)."""
    parts = parts_of(type(cfg))
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if f.name in parts:
            out.update({f"{f.name}.{g.name}": getattr(v, g.name) for g in dataclasses.fields(v)})
        else:
            out[f.name] = v
    return out


def renamed_message(cls: type, name: str) -> str | None:
    """What to say about a name the config had before it was composed (None: not an old name)."""
    new = getattr(cls, "RENAMED", {}).get(name)
    if new is None:
        return None
    parts = ", ".join(parts_of(cls))
    if not parts:
        return f"renamed {new}"
    return f"renamed {new} (the config is composed of parts: {parts}; a file may nest them or write them dotted)"


def _flat_names(data: dict, cls: type, source: str) -> dict[str, Any]:
    """A composed config's mapping (nested parts and/or dotted names) as ``{dotted name: value}``;
    an old name, an unknown name or one given twice is refused."""
    parts = parts_of(cls)
    known = set(field_names(cls))
    out: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if name in out:
            raise SparsimInputError(source, name, value, "given once (nested or dotted, not both)")
        if name not in known:
            head = name.split(".")[0]
            if head in parts and "." in name:
                allowed = ", ".join(f.name for f in dataclasses.fields(parts[head]))
                raise SparsimInputError(source, name, value, f"unknown key of {head}; allowed: {allowed}")
            msg = renamed_message(cls, name)
            allowed = msg or f"unknown key; allowed: {', '.join(sorted({*parts, *(n for n in known if '.' not in n)}))}"
            raise SparsimInputError(source, name, value, allowed)
        out[name] = value

    for k, v in data.items():
        k = str(k)
        if k in parts:
            if isinstance(v, parts[k]):  # a part object, as a program may hold one
                v = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
            if not isinstance(v, dict):
                msg = renamed_message(cls, k)
                raise SparsimInputError(source, k, v, msg or f"a mapping of {k} keys")
            for kk, vv in v.items():
                put(f"{k}.{kk}", vv)
        else:
            put(k, v)
    return out


def config_from_flat(cls: type, values: dict[str, Any], source: str) -> Any:
    """A composed config from ``{dotted name: value}`` (names already checked or checked here)."""
    parts = parts_of(cls)
    values = _flat_names(values, cls, source)
    grouped: dict[str, dict[str, Any]] = {p: {} for p in parts}
    top: dict[str, Any] = {}
    for name, v in values.items():
        head, _, rest = name.partition(".")
        if rest:
            grouped[head][rest] = v
        else:
            top[name] = v
    for p, part_cls in parts.items():
        top[p] = _build(part_cls, grouped[p], source, f"{p}.")
    return _build(cls, top, source)


def replace_flat(cfg: Any, changes: dict[str, Any], source: str = "") -> Any:
    """``cfg`` with some names (dotted for a composed config) changed, validated again."""
    if not parts_of(type(cfg)):
        return _build(type(cfg), {**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}, **changes},
                      source)  # fmt: skip
    flat = flat_values(cfg)
    for name in changes:
        if name not in flat:
            msg = renamed_message(type(cfg), name)
            raise SparsimInputError(source, name, changes[name], msg or f"unknown name; allowed: {', '.join(flat)}")
    return config_from_flat(type(cfg), {**flat, **changes}, source)


def dataclass_from_mapping(data: Any, cls: type, source: str, what: str):
    """A validated config dataclass from a mapping of its field names (``what`` names the kind of
    keys in messages). Lists become tuples, integers become floats for float fields, and the
    dataclass's own errors are re-sourced to ``source``; a value that YAML read as a string but
    that looks like a number says so. A composed config (``PARTS``) takes nested or dotted names."""
    if not isinstance(data, dict):
        raise SparsimInputError(source, "<document>", type(data).__name__, f"a mapping of {what} keys")
    if parts_of(cls):
        return config_from_flat(cls, data, source)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in data.items():
        if k not in fields:
            msg = renamed_message(cls, str(k))
            raise SparsimInputError(source, str(k), v, msg or f"unknown key; allowed: {', '.join(sorted(fields))}")
    return _build(cls, dict(data), source)


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
