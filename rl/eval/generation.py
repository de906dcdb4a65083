"""Generation backends of evaluation: K answers per prompt from HF `generate` or vLLM, rendered and stopped as TRL does.

HF `generate` serves CPUs and small GPUs (a saved model, or the model being trained); vLLM is used
when it is installed and a GPU is present (`use_vllm`). `EvalSettings` are the decoding settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from rl.config import RunConfig
from rl.errors import ConfigError, first_line


@dataclass
class EvalSettings:
    samples: int = 1  # K answers per question
    limit: int | None = None  # first N questions only
    greedy: bool = False  # K must be 1; deterministic decoding
    temperature: float = 1.0
    max_new_tokens: int | None = None  # default: the training budget, trainer.max_completion_length (TRL's if unset)
    batch_size: int = 16  # prompts per generate call
    seed: int = 0  # seeds python, numpy and torch before generating, so a sampled eval gives the same answers every time

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"--samples must be >= 1, got {self.samples}")
        if self.greedy and self.samples != 1:
            raise ConfigError("--greedy gives one answer per question; drop --samples or --greedy")
        if not self.greedy and not self.temperature > 0:
            raise ConfigError(f"--temperature must be > 0 for sampling, got {self.temperature}; use --greedy for deterministic decoding")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise ConfigError(f"--max-new-tokens must be >= 1, got {self.max_new_tokens}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {self.limit}")


def eval_split(config: RunConfig) -> str:
    if config.data.source.startswith("generated:"):
        return "test"
    return config.data.eval_split or config.data.split


Generations = list[list[tuple[str, list[int]]]]  # per prompt, K samples of (completion text, completion token ids)


def load_model(model_path: str):
    """(model in eval mode, tokenizer) from `model_path`, a load failure reported in one line."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    except OSError as error:  # not on the hub, offline, gated: one line for the user
        raise ConfigError(f"--model {model_path}: cannot load it: {first_line(error)}") from None
    model = AutoModelForCausalLM.from_pretrained(model_path)
    model.eval()
    return model, tokenizer


def generate_hf(model_path: str, prompts: list, settings: EvalSettings, max_new_tokens: int, chat_template_kwargs: dict | None = None,
                cache_implementation: str | None = None) -> Generations:  # fmt: skip
    """(completion text, completion token ids up to and including EOS) for K samples per prompt, with a progress bar.

    Loads the model and tokenizer from `model_path`, then `generate_with_model`.
    """
    model, tokenizer = load_model(model_path)
    return generate_with_model(model, tokenizer, prompts, settings, max_new_tokens, chat_template_kwargs,
                               cache_implementation=cache_implementation)  # fmt: skip


def generate_with_model(
    model, tokenizer, prompts: list, settings: EvalSettings, max_new_tokens: int, chat_template_kwargs: dict | None = None,
    progress: bool = True, cache_implementation: str | None = None,
) -> Generations:  # fmt: skip
    """K samples per prompt from a loaded model (HF `generate`, `settings.batch_size` prompts per call), in prompt order.

    Chat prompts are rendered as TRL renders them for generation (`rewards.layout.generation_prompt`),
    and generation stops at the ids TRL stops at (the generation config's EOS ids and the tokenizer's).
    `cache_implementation` is HF's KV-cache choice (None: the model's default, a growing cache;
    "static": preallocated, which on CPU saves the growing cache's copy per token); callers pass the
    run's `trainer.cache_implementation`, so held-out answers are decoded as the rollouts were.
    Used by `rl eval` on a saved model and by `rl.eval.during_training` on the model being trained;
    the caller puts the model in eval mode. The tokenizer's padding side is left for the call and restored.
    """
    import torch
    from tqdm.auto import tqdm

    from rewards.layout import eos_token_ids, generation_prompt

    if tokenizer.pad_token is None:  # as TRL does for training
        tokenizer.pad_token = tokenizer.eos_token
    stop_ids = list(eos_token_ids(tokenizer, model.generation_config, include_pad=False))
    texts = [generation_prompt(tokenizer, p, chat_template_kwargs) for p in prompts]
    results: Generations = []
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"  # decoder-only batches pad on the left
    try:
        with tqdm(total=len(texts), desc="generating", unit="question", disable=not progress) as bar:
            for start in range(0, len(texts), settings.batch_size):
                chunk = texts[start : start + settings.batch_size]
                encoded = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
                with torch.no_grad():
                    output = model.generate(
                        **encoded,
                        max_new_tokens=max_new_tokens,
                        do_sample=not settings.greedy,
                        temperature=settings.temperature if not settings.greedy else None,
                        top_p=None, top_k=None,
                        num_return_sequences=settings.samples,
                        pad_token_id=tokenizer.pad_token_id,
                        eos_token_id=stop_ids,
                        cache_implementation=cache_implementation,
                    )  # fmt: skip
                completions = output[:, encoded["input_ids"].shape[1] :]
                for row in range(len(chunk)):
                    samples = []
                    for sample in completions[row * settings.samples : (row + 1) * settings.samples]:
                        ids = sample.tolist()
                        stops = [index for index, token in enumerate(ids) if token in stop_ids]
                        if stops:  # what follows the first EOS is padding; the EOS itself counts, as in TRL
                            ids = ids[: stops[0] + 1]
                        samples.append((tokenizer.decode(ids, skip_special_tokens=True), ids))
                    results.append(samples)
                bar.update(len(chunk))
    finally:
        tokenizer.padding_side = padding_side
    return results


def generate_vllm(model_path: str, prompts: list, settings: EvalSettings, max_new_tokens: int, chat_template_kwargs: dict | None = None) -> Generations:
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path)
    params = SamplingParams(n=settings.samples, temperature=0.0 if settings.greedy else settings.temperature, max_tokens=max_new_tokens,
                            seed=settings.seed)  # fmt: skip
    chats = [p for p in prompts if isinstance(p, list)]
    if chats and len(chats) == len(prompts):
        outputs = llm.chat(chats, params, chat_template_kwargs=chat_template_kwargs or None)
    else:
        outputs = llm.generate(prompts, params)
    return [[(c.text, list(c.token_ids)) for c in output.outputs] for output in outputs]


def use_vllm() -> bool:
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()
