"""The reward registry: config name -> component class, so a YAML `rewards:` list selects components.

`register` adds a user component; replacing a registered name needs `replace=True` (verl's rule).
"""

from __future__ import annotations

from rewards.base import RewardComponent
from rewards.baselines import CosineLength, KimiLength, LengthTarget, Overlong
from rewards.correctness import Correctness
from rewards.format import Format
from rewards.language import LanguageConsistency
from rewards.length import LengthPenalty

REGISTRY: dict[str, type[RewardComponent]] = {
    "correctness": Correctness,
    "format": Format,
    "language": LanguageConsistency,
    "length": LengthPenalty,
    "kimi_length": KimiLength,
    "cosine_length": CosineLength,
    "overlong": Overlong,
    "length_target": LengthTarget,
}


def register(name: str, component: type[RewardComponent], replace: bool = False) -> None:
    """Add a user component to the registry so configs can name it; an existing name needs `replace=True`."""
    if name in REGISTRY and REGISTRY[name] is not component and not replace:
        raise ValueError(f"reward {name!r} is already registered ({REGISTRY[name].__name__}); pass replace=True to replace it")
    REGISTRY[name] = component
