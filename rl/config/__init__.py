"""Experiment config: one YAML file (optionally `extends:` another) -> validated `RunConfig`.

The lowest room of `rl/` (it imports only `rl.errors` and `rewards`). This module only hands names
on: the schema is `rl.config.schema`, reading YAML and `--set` `rl.config.files`, error text
`rl.config.messages`, loading `rl.config.load`, shipped presets `rl.config.presets`; the names the
schema checks against are `rl.config.algorithms` and `rl.config.prompts`; the bridge to TRL's config
classes is `rl.config.trainer_args`.
"""

from __future__ import annotations

from rl.config.files import apply_override, deep_merge, dump, parse_yaml, read_yaml
from rl.config.load import load_config, validate
from rl.config.schema import (
    DataSettings,
    DistillSettings,
    EvalDuringTrainingSettings,
    GeneratedTaskSettings,
    LoggingSettings,
    LoraSettings,
    ModelSettings,
    PrmLabelSettings,
    PrmSettings,
    PrmTrainSettings,
    PromptSettings,
    RunConfig,
    Section,
)
from rl.errors import ConfigError

__all__ = [
    "ConfigError", "DataSettings", "DistillSettings", "EvalDuringTrainingSettings", "GeneratedTaskSettings", "LoggingSettings", "LoraSettings", "ModelSettings",
    "PrmLabelSettings", "PrmSettings", "PrmTrainSettings", "PromptSettings", "RunConfig", "Section", "apply_override", "deep_merge", "dump", "load_config", "parse_yaml", "read_yaml",
    "validate",
]  # fmt: skip
