"""The RL algorithms a config can name: one table entry each, mapping to TRL's config and trainer classes.

Adding a TRL trainer is adding one entry to `ALGORITHMS`; its defaults (e.g. the number of
generations per prompt) are read from TRL's own config class, never copied here. Pure declarations
(TRL is imported when a class is asked for), so the config schema can check a name against them;
which trainer class a run gets (TRL's, or the dynamic-sampling one) is `rl.train.train.trainer_class`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Algorithm:
    name: str
    config_class_name: str  # a class in `trl`, e.g. "GRPOConfig"
    trainer_class_name: str  # a class in `trl`, e.g. "GRPOTrainer"
    groups_completions: bool = True  # samples `num_generations` completions per prompt (batch geometry checks)

    def config_class(self):
        import trl

        return getattr(trl, self.config_class_name)

    def trainer_class(self):
        import trl

        return getattr(trl, self.trainer_class_name)

    def default(self, field_name: str):
        """TRL's default for one field of this algorithm's config."""
        for field in dataclasses.fields(self.config_class()):
            if field.name == field_name:
                return field.default
        raise KeyError(f"{self.config_class_name} has no field {field_name!r}")


ALGORITHMS: dict[str, Algorithm] = {
    "grpo": Algorithm("grpo", "GRPOConfig", "GRPOTrainer"),
    "rloo": Algorithm("rloo", "RLOOConfig", "RLOOTrainer"),
}


def algorithm_spec(name: str) -> Algorithm:
    return ALGORITHMS[name]

