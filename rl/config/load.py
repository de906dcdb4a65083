"""Loading a config: read the file, apply `--set`, validate every section; the result is never modified.

Validation checks the schema, the reward stack (parsed once here, `RunConfig.reward_entries`, then its
weights: `rewards.spec_problems`) and the `trainer:` fields (`rl.config.trainer_args.check_fields`, TRL's
own checks, hardware-neutral); building the real TRL config and reward stack is the trainer's job, once.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rl.config.files import apply_override, read_yaml
from rl.config.messages import describe
from rl.config.presets import config_file
from rl.config.schema import RunConfig
from rl.config.trainer_args import check_fields
from rl.errors import ConfigError


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, merge, override and validate a config; raises `ConfigError` naming the bad key."""
    path = config_file(path)
    data = read_yaml(path)
    for assignment in overrides:
        apply_override(data, assignment)
    return validate(data, source=str(path))


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    """`data` as a `RunConfig`, every section checked; warns (once) about reward weights that invert the ranking."""
    from rewards import RewardSpecError, spec_problems

    try:
        config = RunConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe(error)}") from None
    check_fields(config.algorithm, config.trainer, source)
    try:
        problems = spec_problems(config.reward_entries, config.answer_checking)
    except RewardSpecError as error:
        raise ConfigError(f"{source}: {error}") from None
    for problem in problems:
        warnings.warn(f"{source}: {problem}", stacklevel=2)
    return config
