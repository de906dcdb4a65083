"""The config schema: one strict pydantic model per section of an experiment's YAML file.

Unknown keys are errors, not silently ignored; `trainer` stays a plain mapping of TRL's own fields,
checked against TRL's config class by `rl.config.trainer_args` (never filled in here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from rewards import RewardEntry, parse_spec
from rl.config.algorithms import ALGORITHMS
from rl.config.prompts import NAMED_TEMPLATES, uses_budget
from rl.config.trainer_args import PROJECT_DEFAULTS, completion_budget
from rl.errors import did_you_mean


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
    name_or_path: str = Field(
        "tiny:demo",
        description="hub id, local directory, a .gguf file, package:<pip distribution shipping a checkpoint>, or tiny:<preset> (built locally)",
    )
    gguf_file: str | None = Field(
        None,
        description="a GGUF checkpoint inside name_or_path (hub id or directory), dequantized to model.dtype once into cache_dir "
        "(transformers' gguf_file; needs the gguf package); runs and checkpoints are plain safetensors",
    )
    cache_dir: str | None = Field(None, description="where tiny: models are built and GGUF files converted; default $LENGTHRL_CACHE, else $XDG_CACHE_HOME/lengthrl or ~/.cache/lengthrl")
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
    system: str | None = Field(None, description="system message (boxed_chat* only); default: none (the chat template's own)")
    examples: list[dict[str, str]] = Field(
        default_factory=list, description="boxed_chat* only: worked examples, each {question, answer}, given first as finished user/assistant turns (few-shot)"
    )
    user_message: str | None = Field(
        None, description="boxed_chat* only: the user turn, a string containing {question} (e.g. with a worked example); "
        "default: the question, then 'Please reason step by step, and put your final answer within \\boxed{}.'",
    )
    budget: int | None = Field(None, gt=0, description="token budget for {budget} templates, the same for every row")
    budget_range: tuple[int, int] | None = Field(
        None, description="[low, high]: each question gets its own budget, drawn uniformly (fixed per question id), as L1 trains"
    )
    budget_column: str | None = Field(None, description="dataset column with each row's budget")

    @field_validator("template")
    @classmethod
    def _known_or_custom(cls, value: str) -> str:
        if value not in NAMED_TEMPLATES and "{question}" not in value:
            raise ValueError(f"unknown template {value!r}; use {', '.join(NAMED_TEMPLATES)}, or a string containing {{question}}")
        return value

    @model_validator(mode="after")
    def _budget_source(self) -> PromptSettings:
        sources = [name for name in ("budget", "budget_range", "budget_column") if getattr(self, name) is not None]
        if uses_budget(self.template) and not sources:
            raise ValueError("the template asks for a {budget}: set prompt.budget, prompt.budget_range or prompt.budget_column")
        if len(sources) > 1:
            raise ValueError(f"give one budget source, not {' and '.join('prompt.' + s for s in sources)}")
        if self.examples and not self.template.startswith("boxed_chat"):
            raise ValueError("prompt.examples are chat turns: they need prompt.template boxed_chat or boxed_chat_budget")
        for index, example in enumerate(self.examples):
            if set(example) != {"question", "answer"}:
                raise ValueError(f"prompt.examples[{index}] must have exactly the keys question and answer, got {sorted(example)}")
        if self.user_message is not None:
            if not self.template.startswith("boxed_chat"):
                raise ValueError("prompt.user_message is the user turn of a chat template: it needs prompt.template boxed_chat or boxed_chat_budget")
            if "{question}" not in self.user_message:
                raise ValueError("prompt.user_message must contain {question}, where each row's question goes")
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
    max_new_tokens: int | None = Field(None, gt=0, description="default: trainer.max_completion_length (TRL's default if unset)")
    limit: int | None = Field(None, gt=0, description="use only the first N training questions")
    sft_steps: int = Field(200, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(2e-5, gt=0)
    output_dir: str | None = Field(None, description="default: <trainer.output_dir>-distill")


class PrmLabelSettings(Section):
    """`rl prm label`: Monte-Carlo step labels (Math-Shepherd, Wang et al. 2024, arXiv:2312.08935)."""

    samples: int = Field(4, ge=1, description="K: solutions sampled per question")
    rollouts: int = Field(4, ge=1, description="n: continuations sampled from each step prefix; a step's label is m/n")
    temperature: float | None = Field(None, gt=0, description="sampling temperature of solutions and rollouts; default: trainer.temperature, else 1.0")
    max_new_tokens: int | None = Field(None, gt=0, description="token budget of a whole solution (a rollout gets what its prefix left); default: trainer.max_completion_length")
    split: str | None = Field(None, description="questions to label: default data.split (train); `test` for held-out labels (the AUC)")
    limit: int | None = Field(None, gt=0, description="label only the first N questions")
    batch_size: int = Field(32, ge=1, description="prompts per generate call (each with its n rollouts)")
    seed: int = Field(0, description="torch seed of the sampling")
    output_dir: str | None = Field(None, description="default: <trainer.output_dir>-prm-labels (-<split> when not train)")


class PrmTrainSettings(Section):
    """`rl prm train`: a verifier (token-classification head at each step's last token) trained with transformers' Trainer."""

    kind: Literal["process", "outcome"] = Field("process", description="process: every step's m/n label; outcome: the final correctness only")
    targets: Literal["soft", "hard"] = Field("soft", description="soft: BCE on m/n; hard: BCE on m/n > hard_threshold")
    hard_threshold: float = Field(0.5, ge=0, lt=1, description="a step counts as good above it (hard targets, AUC)")
    max_steps: int = Field(300, ge=1, description="optimizer steps")
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    max_length: int = Field(1024, ge=8, description="tokens of prompt + solution kept; steps ending beyond are dropped")
    seed: int = 0
    output_dir: str | None = Field(None, description="default: <trainer.output_dir>-<kind>-verifier")


class PrmSettings(Section):
    """Step labels and verifiers (`rl prm label`, `rl prm train`)."""

    step_separator: str = Field("\n", min_length=1, description="a step ends with it (rl.testtime.verifiers.split_steps); the demo's derivations: ' .'")
    label: PrmLabelSettings = Field(default_factory=PrmLabelSettings)
    train: PrmTrainSettings = Field(default_factory=PrmTrainSettings)


class EvalDuringTrainingSettings(Section):
    """Held-out accuracy and length while training (`rl.eval.during_training`): off unless this section is set.

    Named apart from `rl eval` (which takes its options as flags) and from TRL's `trainer.eval_steps`
    (loss on an `eval_dataset`): this grades answers, as `rl eval` does, on the model being trained.
    """

    every_steps: int = Field(..., gt=0, description="grade the held-out questions after every N-th optimizer step (global step)")
    at_start: bool = Field(True, description="also grade before the first step (step 0), so the curves start at the starting model")
    limit: int | None = Field(64, gt=0, description="the first N questions of the held-out split (rl eval's); null: all of them")
    samples: int = Field(1, ge=1, description="answers per question (1 with greedy)")
    greedy: bool = Field(True, description="greedy decoding; false: sample at `temperature`")
    temperature: float = Field(1.0, gt=0, description="sampling temperature when greedy is false")
    max_new_tokens: int | None = Field(None, gt=0, description="default: trainer.max_completion_length, the training budget")
    batch_size: int = Field(32, ge=1, description="prompts per generate call on each process")

    @model_validator(mode="after")
    def _greedy_is_one_sample(self) -> EvalDuringTrainingSettings:
        if self.greedy and self.samples != 1:
            raise ValueError(
                f"eval_during_training.samples is {self.samples} but greedy decoding gives one answer per question; "
                "set eval_during_training.greedy=false to sample, or samples=1"
            )
        return self


class LoggingSettings(Section):
    metrics_file: str = Field("metrics.jsonl", description="one JSON object per logging step, in trainer.output_dir")
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class DynamicSamplingSettings(Section):
    """DAPO dynamic sampling (arXiv 2503.14476): only prompt groups whose completions score differently enter
    the loss; more prompts are generated to fill the batch (`rl.train.dynamic_sampling`). GRPO only."""

    metric: str = Field(
        "correctness",
        description="what must differ within a group: a reward's name (correctness: DAPO's filter, neither all right nor all wrong) "
        "or `reward` (the weighted total TRL normalises)",
    )
    max_rounds: int = Field(
        4, ge=1, description="generation rounds per step at most, the first included (verl: max_num_gen_batches); "
        "short of groups after them, filtered groups fill the batch with their tokens masked out of the loss",
    )  # fmt: skip


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
    algorithm: str = Field("grpo", description="an entry of rl.config.algorithms.ALGORITHMS: grpo | rloo")
    trainer: dict[str, Any] = Field(default_factory=dict, description="fields of trl.GRPOConfig / trl.RLOOConfig")
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    distill: DistillSettings = Field(default_factory=DistillSettings)
    prm: PrmSettings = Field(default_factory=PrmSettings)
    eval_during_training: EvalDuringTrainingSettings | None = Field(
        None, description="grade held-out questions every N steps while training (off when unset)"
    )
    dynamic_sampling: DynamicSamplingSettings | None = Field(None, description="set to filter uniform groups and refill the batch (DAPO)")
    # (what was parsed: the rewards section and the budget, as JSON; the entries): `reward_entries`' one parse
    _parsed_rewards: tuple[str, tuple[RewardEntry, ...]] | None = PrivateAttr(None)

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {value!r}{did_you_mean(value, list(ALGORITHMS))} (available: {', '.join(ALGORITHMS)})")
        return value

    @model_validator(mode="after")
    def _dynamic_sampling_fits(self) -> RunConfig:
        settings = self.dynamic_sampling
        if settings is None:
            return self
        if self.algorithm != "grpo":
            raise ValueError(f"dynamic_sampling works with algorithm: grpo, not {self.algorithm}")
        if settings.metric != "reward" and settings.metric not in self.rewards:
            raise ValueError(
                f"dynamic_sampling.metric: {settings.metric!r} is not a reward of this config{did_you_mean(settings.metric, list(self.rewards))} "
                f"(rewards: {', '.join(self.rewards)}; or `reward`, the weighted total)"
            )
        if self.trainer.get("multi_objective_aggregation", "sum_then_normalize") != "sum_then_normalize":
            raise ValueError("dynamic_sampling needs trainer.multi_objective_aggregation: sum_then_normalize (the default)")
        return self

    @property
    def reward_entries(self) -> tuple[RewardEntry, ...]:
        """The `rewards:` section parsed by `rewards.parse_spec`, with this run's completion budget.

        Parsed once, when the config is loaded (`rl.config.load.validate`), and kept: the trainer's
        weights, the reward stack and the eval's grading all read these entries. A copy whose
        rewards or budget changed (`model_copy(update=...)`) parses its own.

        Raises:
            rewards.RewardSpecError: naming the bad key.
        """
        budget = completion_budget(self.algorithm, self.trainer)
        key = json.dumps([self.rewards, budget], sort_keys=True, default=str)
        if self._parsed_rewards is None or self._parsed_rewards[0] != key:
            self._parsed_rewards = (key, tuple(parse_spec(self.rewards, budget)))
        return self._parsed_rewards[1]

    @property
    def reward_weights(self) -> list[float]:
        """One weight per reward, in config order: what TRL's `reward_weights` gets."""
        return [entry.weight for entry in self.reward_entries]

    @property
    def output_dir(self) -> Path:
        return Path(self.trainer.get("output_dir") or PROJECT_DEFAULTS["output_dir"])
