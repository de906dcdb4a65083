"""Experiment config: one YAML file (optionally `extends:` another) -> validated `RunConfig`.

Every section is a strict pydantic model, so a misspelt key fails at load time with its full path
and the closest valid key; `trainer` is checked against TRL's own `GRPOConfig`/`RLOOConfig`.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rl.errors import ConfigError, did_you_mean


class Section(BaseModel):
    """A config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class LoraSettings(Section):
    """LoRA adapters via peft (GPU runs of large models)."""

    r: int = Field(16, gt=0, description="adapter rank")
    alpha: int = Field(32, gt=0, description="LoRA scaling alpha")
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = Field("all-linear", description="modules to adapt")


class ModelSettings(Section):
    name_or_path: str = Field("tiny:demo", description="hub id, local path, or tiny:<preset> (built locally)")
    cache_dir: str | None = Field(None, description="where tiny: models are built and kept; default $LENGTHRL_CACHE, else $XDG_CACHE_HOME/lengthrl or ~/.cache/lengthrl")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: str | None = Field(None, description="e.g. flash_attention_2 on GPUs")
    trust_remote_code: bool = False
    lora: LoraSettings | None = Field(None, description="set to enable LoRA (needs peft)")


class GeneratedTaskSettings(Section):
    """The shipped synthetic task (`data.source: generated:arithmetic`)."""

    train_size: int = Field(256, gt=0)
    test_size: int = Field(64, ge=0)
    seed: int = 0
    min_terms: int = Field(2, ge=2)
    max_terms: int = Field(4, ge=2)
    max_operand: int = Field(9, ge=1)
    operators: str = Field("+-*", pattern=r"^[-+*]+$", description="operators to draw from, a subset of +-*")


class DataSettings(Section):
    source: str = Field("generated:arithmetic", description="hub dataset, local .jsonl/.json/.parquet/.csv, or generated:arithmetic")
    subset: str | None = Field(None, description="hub dataset config name")
    split: str = "train"
    eval_split: str | None = Field(None, description="held-out split for `rl eval` (generated: `test`)")
    question_column: str = "question"
    answer_column: str = "answer"
    id_column: str | None = Field(None, description="stable question id; default: `id` if present, else a hash of the question")
    language_column: str | None = Field(None, description="target language of each row, for the `language` reward")
    answer_format: Literal["auto", "plain", "gsm8k", "boxed"] = Field(
        "auto", description="how to read the gold: `#### 42` (gsm8k), last \\boxed{} of a solution (boxed), as-is (plain)"
    )
    limit: int | None = Field(None, gt=0, description="use only the first N rows")
    missing_answer: Literal["skip", "error"] = Field(
        "skip", description="rows whose gold answer is null or empty: skipped with one warning (skip) or a data error (error)"
    )
    max_prompt_tokens: int | None = Field(
        None, gt=0, description="drop longer prompts, with a count; default: the model's context minus trainer.max_completion_length"
    )
    generated: GeneratedTaskSettings = Field(default_factory=GeneratedTaskSettings)


class PromptSettings(Section):
    template: str = Field(
        "r1_zero", description="r1_zero | r1_zero_budget | boxed_chat | boxed_chat_budget | a custom string containing {question}"
    )
    system: str | None = Field(None, description="system message (boxed_chat* only)")
    budget: int | None = Field(None, gt=0, description="token budget for {budget} templates, the same for every row")
    budget_range: tuple[int, int] | None = Field(
        None, description="[low, high]: each question gets its own budget, drawn uniformly (fixed per question id), as L1 trains"
    )
    budget_column: str | None = Field(None, description="dataset column with each row's budget")

    @field_validator("template")
    @classmethod
    def _known_or_custom(cls, value: str) -> str:
        from rl.prompts import NAMED_TEMPLATES

        if value not in NAMED_TEMPLATES and "{question}" not in value:
            raise ValueError(f"unknown template {value!r}; use {', '.join(NAMED_TEMPLATES)}, or a string containing {{question}}")
        return value

    @model_validator(mode="after")
    def _budget_source(self) -> PromptSettings:
        from rl.prompts import uses_budget

        sources = [name for name in ("budget", "budget_range", "budget_column") if getattr(self, name) is not None]
        if uses_budget(self.template) and not sources:
            raise ValueError("the template asks for a {budget}: set prompt.budget, prompt.budget_range or prompt.budget_column")
        if len(sources) > 1:
            raise ValueError(f"give one budget source, not {' and '.join('prompt.' + s for s in sources)}")
        if self.budget_range is not None and not 0 < self.budget_range[0] <= self.budget_range[1]:
            raise ValueError(f"prompt.budget_range must be [low, high] with 0 < low <= high, got {list(self.budget_range)}")
        return self


class DistillSettings(Section):
    """`rl distill`: sample, keep the short correct answers, fine-tune on them (rejection-sampling distillation)."""

    samples: int = Field(8, ge=1, description="completions sampled per training question")
    rule: Literal["shortest_correct", "below_mean_correct"] = Field(
        "shortest_correct", description="keep each question's shortest correct sample, or every correct one no longer than its mean"
    )
    temperature: float = Field(1.0, gt=0, description="sampling temperature")
    max_new_tokens: int | None = Field(None, gt=0, description="default: trainer.max_completion_length")
    limit: int | None = Field(None, gt=0, description="use only the first N training questions")
    sft_steps: int = Field(200, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(2e-5, gt=0)
    output_dir: str | None = Field(None, description="default: <trainer.output_dir>-distill")


class LoggingSettings(Section):
    metrics_file: str = Field("metrics.jsonl", description="one JSON object per logging step, in trainer.output_dir")
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class RunConfig(Section):
    """A whole experiment."""

    model: ModelSettings = Field(default_factory=ModelSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    prompt: PromptSettings = Field(default_factory=PromptSettings)
    rewards: dict[str, dict[str, Any] | None] = Field(
        default_factory=lambda: {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}}
    )
    answer_checking: dict[str, Any] = Field(
        default_factory=dict, description="how answers are found and checked, shared by every reward: rewards.AnalysisOptions"
    )
    algorithm: str = Field("grpo", description="an entry of rl.algorithms.ALGORITHMS: grpo | rloo")
    trainer: dict[str, Any] = Field(default_factory=dict, description="fields of trl.GRPOConfig / trl.RLOOConfig")
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    distill: DistillSettings = Field(default_factory=DistillSettings)

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        from rl.algorithms import ALGORITHMS

        if value not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {value!r}{did_you_mean(value, list(ALGORITHMS))} (available: {', '.join(ALGORITHMS)})")
        return value

    @property
    def output_dir(self) -> Path:
        return Path(self.trainer.get("output_dir", "runs/default"))


# ---------------------------------------------------------------- loading


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
        raise ConfigError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if data is None:
        raise ConfigError(f"{path}: the config file is empty (start from a preset in configs/, e.g. configs/r1_zero.yaml)")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    base = read_yaml(path.parent / parent, (*_seen, path.resolve()))
    return deep_merge(base, data)


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


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, merge, override and validate a config; raises `ConfigError` naming the bad key."""
    from rl.presets_lookup import config_file

    path = config_file(path)
    data = read_yaml(path)
    for assignment in overrides:
        apply_override(data, assignment)
    return validate(data, source=str(path))


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error)}") from None
    check_rewards(config.rewards, source, config.answer_checking)
    config.trainer = resolve_trainer_fields(config, source)
    return config


def _describe(error: ValidationError) -> str:
    """One line for the first problem: the full key path, what is wrong, and a suggestion."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    key_path = ".".join(location)
    if first["type"] == "extra_forbidden":
        return f"unknown key {key_path}{did_you_mean(location[-1], _valid_keys(location[:-1]))}"
    if first["type"] == "missing":
        return f"missing required key {key_path}"
    message = first["msg"].removeprefix("Value error, ")
    return f"{key_path}: {message} (got {first.get('input')!r})"


def _valid_keys(location: list[str]) -> list[str]:
    model: type[BaseModel] = RunConfig
    for part in location:
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next(c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel))
    return list(model.model_fields)


def check_rewards(spec: dict, source: str, checking: dict | None = None) -> None:
    """Validate the reward stack at load time, so a bad reward name/parameter fails before any model loads."""
    from rewards import RewardSpecError, components, weight_problems

    try:
        functions, weights = components(spec, checking)
    except RewardSpecError as error:
        raise ConfigError(f"{source}: {error}") from None
    for problem in weight_problems(functions, weights):
        warnings.warn(f"{source}: {problem}", stacklevel=2)


def trainer_config_class(algorithm: str):
    from rl.algorithms import algorithm_spec

    return algorithm_spec(algorithm).config_class()


def resolve_trainer_fields(config: RunConfig, source: str) -> dict[str, Any]:
    """`trainer:` with project defaults filled in, every key checked against TRL's config class."""
    config_class = trainer_config_class(config.algorithm)
    valid = [field.name for field in dataclasses.fields(config_class) if field.init]
    for key in config.trainer:
        if key not in valid:
            raise ConfigError(
                f"{source}: unknown key trainer.{key}{did_you_mean(key, valid)} "
                f"(not a field of trl.{config_class.__name__})"
            )
    hints = _field_types(config_class)
    for key, value in config.trainer.items():
        problem = _type_problem(value, hints.get(key))
        if problem:
            # TRL does not coerce: a wrong type fails deep inside the trainer, mid-run.
            raise ConfigError(f"{source}: trainer.{key}: {problem}, got {value!r}")
    if "report_to" in config.trainer:
        check_report_to(config.trainer["report_to"], source)
    if "reward_weights" in config.trainer:
        raise ConfigError(f"{source}: trainer.reward_weights: set weights under rewards.<name>.weight instead")
    fields = dict(config.trainer)
    fields.setdefault("output_dir", "runs/default")
    fields.setdefault("report_to", "none")
    fields.setdefault("save_strategy", "steps")
    if "bf16" not in fields and not _cuda_available():
        fields["bf16"] = False  # TRL defaults to bf16, which a CPU run rejects
    if "LOCAL_RANK" in os.environ and not _cuda_available():
        # One of several launched processes on a machine without a GPU (CI, laptops): without these,
        # accelerate sees a world of 1 and every process trains alone.
        if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true":
            fields.setdefault("ddp_backend", "gloo")  # DeepSpeed's CPU accelerator joins a gloo group
        else:
            fields.setdefault("use_cpu", True)  # accelerate's multi-CPU mode: DDP over gloo
    # Validate values with TRL's own checks, minus those about this machine's hardware (a GPU preset
    # must validate on a CPU login node); the trainer re-checks everything on the real machine.
    # The batch geometry (whole prompt groups per generation batch) depends on the world size, which
    # is only known at launch: `rl submit` checks it for the requested GPUs and the trainer on start.
    hardware_neutral = {**fields, "bf16": False, "fp16": False, "tf32": None, "use_vllm": False}
    hardware_neutral.pop("generation_batch_size", None)
    hardware_neutral.pop("steps_per_generation", None)
    per_device = int(fields.get("per_device_train_batch_size", 8))
    default_generations = dataclasses.fields(config_class)  # TRL's own default, not a copy
    num_generations = fields.get("num_generations") or next(f.default for f in default_generations if f.name == "num_generations")
    hardware_neutral["per_device_train_batch_size"] = per_device * int(num_generations)
    try:
        trainer_args(config.algorithm, hardware_neutral, reward_weights=None)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{source}: trainer: {str(error).splitlines()[0]}") from None
    return fields


def _field_types(config_class) -> dict[str, object]:
    try:
        return typing.get_type_hints(config_class)
    except Exception:  # noqa: BLE001 - an unresolvable annotation only means fewer checks
        return {}


def _type_problem(value: object, hint: object) -> str | None:
    """What is wrong with `value` for a field annotated `hint` (simple scalars only), or None."""
    if hint is None:
        return None
    allowed = set(typing.get_args(hint)) if typing.get_origin(hint) in (typing.Union, types.UnionType) else {hint}
    allows_none = type(None) in allowed
    allowed.discard(type(None))
    if not allowed or not allowed <= {int, float, bool, str}:
        return None  # lists, enums, dicts: left to TRL
    if value is None:
        return None if allows_none else "must be set"
    if isinstance(value, bool):
        return None if bool in allowed else f"expected {' or '.join(sorted(t.__name__ for t in allowed))}"
    if isinstance(value, int) and (int in allowed or float in allowed):
        return None
    if isinstance(value, float) and float in allowed:
        return None
    if isinstance(value, str) and str in allowed:
        return None
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    return "expected " + " or ".join(names[t] for t in (bool, int, float, str) if t in allowed)


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


def trainer_args(algorithm: str, fields: dict[str, Any], reward_weights: list[float] | None):
    """Instantiate TRL's config (its own validation runs in `__post_init__`)."""
    config_class = trainer_config_class(algorithm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return config_class(**fields, reward_weights=reward_weights)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def dump(config: RunConfig) -> str:
    """The resolved config as YAML (saved next to each run, so a run records what it was)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
