"""The boundary with TRL: (algorithm, `trainer:` fields, world size) -> TRL's `GRPOConfig` / `RLOOConfig`, checked.

Everything this project knows about TRL's config classes lives here: their keys and types, the
project's and this machine's defaults, the hardware-neutral check run at config load, and the batch
geometry `rl submit` checks for the GPUs it asks for. Nothing here writes into a `RunConfig`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import typing
import warnings
from dataclasses import dataclass
from typing import Any

import pydantic

from rl.config.algorithms import algorithm_spec
from rl.errors import ConfigError, did_you_mean, first_line

# The project's defaults where TRL's do not suit a run of this project (the same on every machine).
PROJECT_DEFAULTS: dict[str, Any] = {"output_dir": "runs/default", "report_to": "none", "save_strategy": "steps"}
# Fields that only describe this machine's hardware: neutralised for the check at config load, so a
# GPU preset validates on a CPU login node; the trainer checks them on the real machine.
HARDWARE_FIELDS: dict[str, Any] = {"bf16": False, "fp16": False, "tf32": None, "use_vllm": False}
# Fields TRL takes at any sign, then fails on mid-run (a division by zero, an empty batch, a
# generation of -5 tokens): checked with the types, before TRL sees them.
POSITIVE_FIELDS = (
    "per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps", "num_generations",
    "steps_per_generation", "generation_batch_size", "num_iterations", "max_completion_length", "save_steps",
    "eval_steps", "temperature",
)  # fmt: skip
NON_NEGATIVE_FIELDS = ("learning_rate",)


def config_class(algorithm: str):
    return algorithm_spec(algorithm).config_class()


def trainer_value(algorithm: str, fields: dict[str, Any], name: str) -> Any:
    """A trainer field as the run will see it: the config's value, else TRL's own default for `algorithm`."""
    value = fields.get(name)
    return algorithm_spec(algorithm).default(name) if value is None else value


def completion_budget(algorithm: str, fields: dict[str, Any]) -> int:
    """Tokens a completion may have: `trainer.max_completion_length`, else TRL's default (training, eval, distill, rewards)."""
    return int(trainer_value(algorithm, fields, "max_completion_length"))


def activation_checkpointing(fields: dict[str, Any]) -> bool:
    """Whether the run recomputes activations in the backward pass: `trainer.activation_checkpointing`, else its
    deprecated alias `trainer.gradient_checkpointing`, else TRL's default (on). Used by `rl distill`'s fine-tune."""
    for name in ("activation_checkpointing", "gradient_checkpointing"):
        if fields.get(name) is not None:
            return bool(fields[name])
    return True


# ---------------------------------------------------------------- checking the `trainer:` keys


def check_fields(algorithm: str, fields: dict[str, Any], source: str) -> None:
    """Every key a field of TRL's config class, of a type it takes; then TRL's own checks, hardware-neutral.

    Raises:
        ConfigError: one line naming the key (and the closest valid one).
    """
    cls = config_class(algorithm)
    valid = [field.name for field in dataclasses.fields(cls) if field.init]
    for key in fields:
        if key not in valid:
            raise ConfigError(f"{source}: unknown key trainer.{key}{did_you_mean(key, valid)} (not a field of trl.{cls.__name__})")
    problem = type_problem(algorithm, fields)
    if problem:
        key, wrong = problem
        raise ConfigError(f"{source}: trainer.{key}: {wrong}, got {fields[key]!r}")
    for key, value in fields.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if key in POSITIVE_FIELDS and value <= 0:
            raise ConfigError(f"{source}: trainer.{key} must be > 0, got {value!r}")
        if key in NON_NEGATIVE_FIELDS and value < 0:
            raise ConfigError(f"{source}: trainer.{key} must be >= 0, got {value!r}")
    if "report_to" in fields:
        check_report_to(fields["report_to"], source)
    if "reward_weights" in fields:
        raise ConfigError(f"{source}: trainer.reward_weights: set weights under rewards.<name>.weight instead")
    try:
        trainer_args(algorithm, fields, hardware_neutral=True)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ConfigError(f"{source}: trainer: {first_line(error)}") from None


SCALARS = {int, float, bool, str}
TYPE_WORDS = {"bool_type": "true or false", "int_type": "an integer", "float_type": "a number", "string_type": "a string"}  # in this order


@functools.cache
def scalar_fields_model(algorithm: str) -> type[pydantic.BaseModel]:
    """A strict pydantic model of the scalar fields (ints, numbers, booleans, strings, optional or not) of TRL's config class.

    Strict, as TRL is: it does not coerce, so a string where a number belongs would fail deep inside
    the trainer, mid-run. Lists, enums and dicts are left to TRL's own checks.
    """
    cls = config_class(algorithm)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an unresolvable annotation only means fewer checks
        hints = {}
    scalar = {
        field.name: (hints[field.name], None) for field in dataclasses.fields(cls)
        if field.init and field.name in hints and set(typing.get_args(hints[field.name]) or {hints[field.name]}) - {type(None)} <= SCALARS
    }  # fmt: skip
    return pydantic.create_model(f"{cls.__name__}Scalars", __config__=pydantic.ConfigDict(strict=True), **scalar)


def type_problem(algorithm: str, fields: dict[str, Any]) -> tuple[str, str] | None:
    """(key, what is wrong) for the first `trainer:` field of the wrong type for TRL's config class, or None."""
    try:
        scalar_fields_model(algorithm).model_validate(fields)
    except pydantic.ValidationError as error:
        key = str(error.errors()[0]["loc"][0])
        if fields[key] is None:
            return key, "must be set"
        words = {TYPE_WORDS[e["type"]] for e in error.errors() if e["loc"][0] == key and e["type"] in TYPE_WORDS}
        return key, "expected " + " or ".join(word for word in TYPE_WORDS.values() if word in words)
    return None


def check_report_to(report_to: object, source: str) -> None:
    """Each `report_to` backend must be one transformers knows and one that is installed here."""
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    backends = [report_to] if isinstance(report_to, str) else list(report_to or [])
    installed = get_available_reporting_integrations()
    for backend in backends:
        if backend in ("none", "all"):
            continue
        if backend not in INTEGRATION_TO_CALLBACK:
            raise ConfigError(
                f"{source}: trainer.report_to: unknown backend {backend!r}{did_you_mean(backend, list(INTEGRATION_TO_CALLBACK))} "
                f"(known: none, all, {', '.join(INTEGRATION_TO_CALLBACK)})"
            )
        if backend not in installed:
            raise ConfigError(f"{source}: trainer.report_to: {backend} is not installed here (pip install {backend.replace('_', '-')})")


# ---------------------------------------------------------------- this machine


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def machine_defaults(fields: dict[str, Any]) -> dict[str, Any]:
    """What this machine fills in for fields the config leaves unset (recorded beside a run, never saved into its config)."""
    filled: dict[str, Any] = {}
    cuda = cuda_available()
    if "bf16" not in fields and not cuda:
        filled["bf16"] = False  # TRL defaults to bf16, which a CPU run rejects
    if "LOCAL_RANK" in os.environ and not cuda:
        # One of several launched processes on a machine without a GPU (CI, laptops): without these,
        # accelerate sees a world of 1 and every process trains alone.
        if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true":
            if "ddp_backend" not in fields:
                filled["ddp_backend"] = "gloo"  # DeepSpeed's CPU accelerator joins a gloo group
        elif "use_cpu" not in fields:
            filled["use_cpu"] = True  # accelerate's multi-CPU mode: DDP over gloo
    return filled


def resolved_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments TRL gets on this machine: project defaults, the config's fields, this machine's defaults."""
    return {**PROJECT_DEFAULTS, **fields, **machine_defaults(fields)}


# ---------------------------------------------------------------- batch geometry


@dataclass(frozen=True)
class BatchGeometry:
    """How completions are batched for one algorithm at one world size (TRL's rules, TRL's defaults)."""

    processes: int
    per_device_train_batch_size: int
    steps_per_generation: int
    generation_batch_size: int
    num_generations: int
    groups_completions: bool

    def problem(self) -> str | None:
        """Why a generation batch would not hold whole groups of `num_generations` completions, or None."""
        if not self.groups_completions or self.generation_batch_size % self.num_generations == 0:
            return None
        return (
            f"{self.processes} training processes x per_device_train_batch_size {self.per_device_train_batch_size} x "
            f"{self.steps_per_generation} step(s) per generation = {self.generation_batch_size} completions per generation "
            f"batch, not divisible into groups of num_generations={self.num_generations}; change the GPU count, the batch "
            "size or num_generations"
        )


def batch_geometry(algorithm: str, fields: dict[str, Any], world_size: int) -> BatchGeometry:
    """The batch geometry of `fields` on `world_size` training processes, with `algorithm`'s TRL defaults."""
    per_device = int(trainer_value(algorithm, fields, "per_device_train_batch_size"))
    steps = int(fields.get("steps_per_generation") or trainer_value(algorithm, fields, "gradient_accumulation_steps"))
    generation_batch = fields.get("generation_batch_size") or per_device * world_size * steps
    return BatchGeometry(
        processes=world_size, per_device_train_batch_size=per_device, steps_per_generation=steps,
        generation_batch_size=int(generation_batch), num_generations=int(trainer_value(algorithm, fields, "num_generations")),
        groups_completions=algorithm_spec(algorithm).groups_completions,
    )  # fmt: skip


# ---------------------------------------------------------------- the TRL config


def trainer_args(algorithm: str, fields: dict[str, Any], reward_weights: list[float] | None = None, hardware_neutral: bool = False):
    """TRL's config for `algorithm` from the `trainer:` fields (TRL's own validation runs in `__post_init__`).

    Args:
        algorithm: an entry of `rl.config.algorithms.ALGORITHMS`.
        fields: the config's `trainer:` section (not modified); the project's and this machine's
            defaults are added (`resolved_fields`).
        reward_weights: one per reward function, in order.
        hardware_neutral: the check of config load, on any machine: hardware fields off and a
            per-device batch that holds whole groups at any world size. Otherwise TRL reads this
            launch's world size from accelerate and checks the batch geometry against it
            (`batch_geometry` is the same rule for a world size asked for, as `rl submit` does).

    Raises:
        ValueError, TypeError: TRL's own, with its message.
    """
    kwargs = resolved_fields(fields)
    if hardware_neutral:
        kwargs.update(HARDWARE_FIELDS)
        kwargs.pop("generation_batch_size", None)
        kwargs.pop("steps_per_generation", None)
        per_device = int(trainer_value(algorithm, fields, "per_device_train_batch_size"))
        kwargs["per_device_train_batch_size"] = per_device * int(trainer_value(algorithm, fields, "num_generations"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return config_class(algorithm)(**kwargs, reward_weights=reward_weights)
