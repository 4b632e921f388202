"""Where the config file comes from, and YAML parsed with the line of every value.

Errors must name the file, the line and the field path, so the YAML is composed into
nodes and turned into plain Python values while the line of each path is recorded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

Path_ = tuple  # a field path such as ("virtual_keys", 0, "budgets", 1, "period")


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@dataclass
class ConfigIssue:
    path: Path_
    line: int | None
    message: str


class ConfigError(Exception):
    """One or more problems in a config file; str() lists them all, one per line."""

    def __init__(self, source: str, issues: list[ConfigIssue]):
        self.source = source
        self.issues = issues
        lines = []
        for issue in issues:
            where = f"{source}:{issue.line}" if issue.line else source
            lines.append(f"{where}: {format_path(issue.path)}: {issue.message}")
        super().__init__("\n".join(lines))


@dataclass
class YamlDoc:
    """Plain data of a YAML document plus the 1-based line of each path."""

    source: str
    data: object
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def parse_yaml(text: str, source: str) -> YamlDoc:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [ConfigIssue((), line, f"invalid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    doc = YamlDoc(source, None)
    if node is None:
        doc.data = {}
        return doc
    duplicates: list[ConfigIssue] = []
    doc.data = _plain(node, (), doc.lines, loader, duplicates)
    if duplicates:
        raise ConfigError(source, duplicates)
    return doc


def _plain(node: yaml.Node, path: Path_, lines: dict, loader: yaml.SafeLoader, duplicates: list) -> object:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:  # YAML would keep only the last one: say so instead of losing the first
                duplicates.append(ConfigIssue(path + (key,), key_node.start_mark.line + 1,
                                              f"duplicate field: given more than once (first on line {lines[path + (key,)]})"))
            out[key] = _plain(value_node, path + (key,), lines, loader, duplicates)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, path + (i,), lines, loader, duplicates) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "bifrost-tui"


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "bifrost-tui"


def find_config(explicit: str | None) -> Path | None:
    """--config FILE, else $BIFROST_CONFIG, else ./bifrost.yaml, else the user config dir; None = embedded default."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("BIFROST_CONFIG")
    if env:
        return Path(env)
    for candidate in (Path("bifrost.yaml"), user_config_dir() / "bifrost.yaml"):
        if candidate.is_file():
            return candidate
    return None
