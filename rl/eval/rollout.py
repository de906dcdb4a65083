"""One rollout context: how a run's model generates and how its answers are graded, built once from (config, model).

`rl eval`, `rl distill`, `rl prm label`, eval during training and `rl train` take a `RolloutContext`
instead of each resolving the model, the token budget, the chat-template kwargs, the checking options
from the tokenizer, the reward stack and the generation backend again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rewards import RewardEntry
from rl.config import RunConfig
from rl.config.trainer_args import completion_budget
from rl.errors import ConfigError
from rl.eval.generation import EvalSettings, Generations, generate_hf, generate_vllm, generate_with_model, use_vllm
from rl.eval.grading import grade_with_stack, grading_stack

BACKENDS = ("hf", "vllm")


@dataclass(frozen=True)
class RolloutContext:
    """Everything generating and grading need about one model under one config, decided once.

    Args:
        model_path: the resolved model (`rl.data.models.resolve_model`): a path or hub id.
        max_completion_length: the token budget of a completion (`trainer.max_completion_length`,
            TRL's default if unset, or the caller's own, e.g. `rl eval --max-new-tokens`).
        generation: how this model generates, from its tokenizer and generation config
            (`rewards.layout.generation_settings`: reasoning opened by the chat template, EOS ids, budget).
        answer_checking: the config's `answer_checking` section (its keys win over `generation`).
        reward_entries: the config's parsed rewards (`RunConfig.reward_entries`), parsed once per launch.
        chat_template_kwargs: `trainer.chat_template_kwargs`, as TRL renders prompts for generation.
        cache_implementation: `trainer.cache_implementation`, HF's KV-cache choice of the rollouts.
        backend: `hf` (transformers `generate`) or `vllm` (installed and a GPU present), chosen once.
    """

    model_path: str
    max_completion_length: int
    generation: dict[str, Any]
    answer_checking: dict[str, Any]
    reward_entries: tuple[RewardEntry, ...]
    chat_template_kwargs: dict | None = None
    cache_implementation: str | None = None
    backend: str = "hf"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")

    @classmethod
    def build(cls, config: RunConfig, model: str | None = None, max_completion_length: int | None = None,
              model_path: str | None = None, backend: str | None = None) -> RolloutContext:  # fmt: skip
        """The context of `model` (default: `config.model.name_or_path`) under `config`.

        Args:
            config: the loaded config (its rewards parsed once at load).
            model: a model name as a user gives it (`--model`): checkpoint directory, hub id, `tiny:`.
            max_completion_length: the token budget; default `trainer.max_completion_length` (TRL's if unset).
            model_path: the model already resolved (`rl train` resolved and checked it); skips resolving.
            backend: `hf` or `vllm`; default vLLM when it is installed and a GPU is present.

        Raises:
            ConfigError: the model cannot be resolved or its tokenizer cannot be loaded (one line).
        """
        from rl.data import models

        if model_path is None:
            settings = config.model if model is None else config.model.model_copy(update={"name_or_path": model})
            try:
                model_path = models.resolve_model(settings)
            except ConfigError as error:
                if model is None:
                    raise
                raise ConfigError(str(error).replace("model.name_or_path", "--model")) from None
        budget = max_completion_length or completion_budget(config.algorithm, config.trainer)
        chat_template_kwargs = config.trainer.get("chat_template_kwargs")
        # Only how the model generates: the user's answer_checking is kept apart and wins (see `checking`).
        generation = models.generation_checking(model_path, {}, budget, chat_template_kwargs, config.model.trust_remote_code)
        return cls(
            model_path=model_path, max_completion_length=budget, generation=generation, answer_checking=dict(config.answer_checking),
            reward_entries=tuple(config.reward_entries), chat_template_kwargs=chat_template_kwargs,
            cache_implementation=config.trainer.get("cache_implementation"), backend=backend or ("vllm" if use_vllm() else "hf"),
        )  # fmt: skip

    def with_budget(self, max_completion_length: int | None) -> RolloutContext:
        """The same context with another token budget (None: unchanged); grading then cuts at that budget."""
        if max_completion_length is None or max_completion_length == self.max_completion_length:
            return self
        return dataclasses.replace(self, max_completion_length=max_completion_length,
                                   generation={**self.generation, "max_completion_length": max_completion_length})  # fmt: skip

    @property
    def checking(self) -> dict[str, Any]:
        """The answer-checking options of every reward and of grading: how the model generates, then the config's keys."""
        return {**self.generation, **self.answer_checking}

    @property
    def reward_weights(self) -> list[float]:
        return [entry.weight for entry in self.reward_entries]

    def reward_functions(self) -> list:
        """The training reward stack (`rewards.build` of the parsed entries with this model's checking options)."""
        import rewards

        functions, _ = rewards.build(list(self.reward_entries), self.checking, warn=False)  # loading warned already
        return functions

    @cached_property
    def grading_stack(self) -> dict:
        """The reward components that grade a sample on its own (`rl.eval.grading.grading_entries`), built once."""
        return grading_stack(self.reward_entries, self.checking)

    def generate(self, prompts: list, decoding: EvalSettings, model=None, tokenizer=None, progress: bool = True) -> Generations:
        """K completions per prompt (`decoding`), within `max_completion_length` tokens.

        With `model` and `tokenizer` (a loaded model: the one being trained), HF `generate` on it;
        otherwise the context's backend loads `model_path`.
        """
        budget = self.max_completion_length
        if model is not None:
            return generate_with_model(model, tokenizer, prompts, decoding, budget, self.chat_template_kwargs, progress=progress,
                                       cache_implementation=self.cache_implementation)  # fmt: skip
        if self.backend == "vllm":
            return generate_vllm(self.model_path, prompts, decoding, budget, self.chat_template_kwargs)
        return generate_hf(self.model_path, prompts, decoding, budget, self.chat_template_kwargs, cache_implementation=self.cache_implementation)

    def grade(self, rows: list[dict], generations: Generations) -> list[list[dict]]:
        """Per question, its samples graded through the run's reward stack (`rl.eval.grading.grade_with_stack`)."""
        return grade_with_stack(self.grading_stack, rows, generations)
