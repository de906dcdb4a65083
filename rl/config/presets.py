"""Preset files shipped with the package (`configs/`, `launch/accelerate/`), found by name from any directory.

They live at the top of the checkout and are linked into the package as `rl/presets/`, so a wheel
carries them and `importlib.resources` finds them in an editable and a normal install alike.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from rl.errors import ConfigError, LaunchError, did_you_mean


def presets_root() -> Path:
    return Path(str(files("rl") / "presets"))


def config_presets() -> list[str]:
    """Names a `--config` can give instead of a path: `r1_zero`, `demo/smoke`, ..."""
    root = presets_root() / "configs"
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


def config_file(name_or_path: str | Path) -> Path:
    """An existing config file: the path itself, or the shipped preset of that name (`r1_zero`, `demo/smoke`)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    name = str(name_or_path).removesuffix(".yaml").removeprefix("configs/")
    preset = presets_root() / "configs" / f"{name}.yaml"
    if preset.is_file():
        return preset
    names = config_presets()
    raise ConfigError(f"config file not found: {name_or_path}{did_you_mean(name, names)} (presets: {', '.join(names)})")


def demo_config_dir() -> Path:
    return presets_root() / "configs" / "demo"


def accelerate_file(name: str) -> Path:
    """An accelerate config: a shipped preset (`ddp`, `zero2`, `zero3`) or a path to a file."""
    directory = presets_root() / "launch" / "accelerate"
    is_path = os.sep in name or name.endswith(".yaml")
    path = Path(name) if is_path else directory / f"{name}.yaml"
    if not path.is_file():
        presets = sorted(p.stem for p in directory.glob("*.yaml"))
        raise LaunchError(f"--accelerate {name}: accelerate config not found at {path}{did_you_mean(name, presets)} (presets: {', '.join(presets)})")
    return path


def default_cache_dir() -> Path:
    """Where `tiny:` models are built: $LENGTHRL_CACHE, else $XDG_CACHE_HOME/lengthrl, else ~/.cache/lengthrl."""
    if os.environ.get("LENGTHRL_CACHE"):
        return Path(os.environ["LENGTHRL_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "lengthrl"
