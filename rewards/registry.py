"""The reward registry: config name -> component class, so a YAML `rewards:` list selects components.

`register` adds a user component; replacing a registered name needs `replace=True` (verl's rule).
A config may also name a user's component by path, `module:Class` (`my_pkg.rewards:Brevity`), as
verl names a custom scorer: `component_class` imports it once and registers it under that name.
"""

from __future__ import annotations

import difflib
import importlib

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


def did_you_mean(word: object, options: list | tuple) -> str:
    """`; did you mean 'x'?` for the closest option, or an empty string (the one suggestion helper, shared with `rl`)."""
    close = difflib.get_close_matches(str(word), [str(option) for option in options], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def register(name: str, component: type[RewardComponent], replace: bool = False) -> None:
    """Add a user component to the registry so configs can name it; an existing name needs `replace=True`."""
    if name in REGISTRY and REGISTRY[name] is not component and not replace:
        raise ValueError(f"reward {name!r} is already registered ({REGISTRY[name].__name__}); pass replace=True to replace it")
    REGISTRY[name] = component


class UnknownReward(LookupError):
    """A reward name that is neither registered nor an importable `module:Class`; the message is one line."""


def component_class(name: str) -> type[RewardComponent]:
    """The component class a config names: a registered name, or `module:Class`, imported and registered on first use.

    Raises:
        UnknownReward: an unregistered name without a colon, a module that does not import, a
            missing class, or a class that is not a `RewardComponent` (one line naming it).
    """
    if name in REGISTRY:
        return REGISTRY[name]
    module_name, colon, class_name = name.partition(":")
    if not colon:
        raise UnknownReward(
            f"unknown reward{did_you_mean(name, list(REGISTRY))} (registered: {', '.join(REGISTRY)}; or a class of your own as module:Class)"
        )
    if not module_name or not class_name:
        raise UnknownReward(f"expected module:Class (e.g. my_pkg.rewards:Brevity), got {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UnknownReward(f"cannot import module {module_name!r} ({error}); is it installed or on PYTHONPATH?") from None
    component = getattr(module, class_name, None)
    if component is None:
        classes = [key for key, value in vars(module).items() if isinstance(value, type) and issubclass(value, RewardComponent)]
        raise UnknownReward(f"module {module_name} has no class {class_name!r}{did_you_mean(class_name, classes)}")
    if not (isinstance(component, type) and issubclass(component, RewardComponent)):
        raise UnknownReward(f"{name} is not a rewards.RewardComponent subclass (a component has Params and score(analysis, columns))")
    register(name, component)
    return component
