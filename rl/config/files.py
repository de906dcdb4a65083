"""Config files: YAML in (`extends:` merged underneath, `--set a.b.c=value` on top) and YAML out.

Only reads and writes plain data; checking it is `rl.config.load.validate`.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from rl.errors import ConfigError, first_line


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but `1e-6` is a float (YAML 1.2, and how every ML config writes rates).

    Plain PyYAML follows YAML 1.1 and reads `learning_rate: 1e-6` as the string "1e-6", which TRL
    then rejects deep inside the trainer.
    """


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML file as a dict, with `extends: other.yaml` (relative to it) merged underneath."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: `extends` cycle through {' -> '.join(str(p) for p in _seen)}")
    try:
        data = parse_yaml(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if data is None:
        raise ConfigError(f"{path}: the config file is empty (start from a preset in configs/, e.g. configs/r1_zero.yaml)")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not (path.parent / parent).is_file():
        raise ConfigError(f"{path}: extends: {parent!r}: config file not found (looked for {path.parent / str(parent)})")
    base = read_yaml(path.parent / parent, (*_seen, path.resolve()))
    return deep_merge(base, data)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's complaint with the line and column it points at (both 1-based, as editors count)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or first_line(error)
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def deep_merge(base: dict, override: dict) -> dict:
    """`override` on top of `base`; nested mappings merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `a.b.c=value` (value read as YAML: `1e-6`, `true`, `[1, 2]`, `null`)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY.PATH=VALUE")
    key_path, raw_value = assignment.split("=", 1)
    keys = [key for key in key_path.strip().split(".") if key]
    if not keys:
        raise ConfigError(f"--set {assignment!r}: empty key")
    try:
        value = parse_yaml(raw_value) if raw_value.strip() else None
    except yaml.YAMLError:
        value = raw_value
    node = data
    for depth, key in enumerate(keys[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key_path}: {'.'.join(keys[: depth + 1])} is not a section")
        node = child
    node[keys[-1]] = value


def dump(config) -> str:
    """A `RunConfig` as YAML: the config as the user resolved it (presets, `extends`, `--set`), no machine defaults.

    Saved beside each run as `config.yaml`; loading it on another machine gives the same config.
    """
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
