"""`rl eval`: sample K answers per held-out question, grade them with the reward library, summarise.

Generation is HF `generate` (CPU and small GPUs) or vLLM when it is installed and a GPU is present.
Writes `samples.jsonl` (one line per sample) and `summary.json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from rl.config import RunConfig
from rl.errors import ConfigError, first_line
from rl.eval.metrics import mean

logger = logging.getLogger("rl.evaluate")


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


def generate_beam(model_path: str, prompts: list, verifier, strategy, settings: EvalSettings, max_new_tokens: int,
                  chat_template_kwargs: dict | None = None) -> tuple[Generations, list]:  # fmt: skip
    """Verifier-guided step-level beam search (`rl.testtime.search.beam_search`) with HF `generate`, with a progress bar.

    Returns (per prompt, its completed beams as (text, token ids), best first; the `SearchResult`s).
    Sampled at `settings.temperature`, `settings.batch_size` prompts' beams per generate call.
    """
    from tqdm.auto import tqdm

    from rewards.layout import eos_token_ids, generation_prompt
    from rl.testtime.search import HFStepGenerator, beam_search

    model, tokenizer = load_model(model_path)
    if tokenizer.pad_token is None:  # as TRL does for training
        tokenizer.pad_token = tokenizer.eos_token
    stop_ids = list(eos_token_ids(tokenizer, model.generation_config, include_pad=False))
    texts = [generation_prompt(tokenizer, p, chat_template_kwargs) for p in prompts]
    prompt_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    generator = HFStepGenerator(model, tokenizer, prompt_ids, stop_ids, max_new_tokens, strategy.scoring.separator_for(verifier),
                                strategy.beam.max_step_tokens, settings.temperature, batch_size=settings.batch_size * strategy.beam.beams)  # fmt: skip
    with tqdm(total=len(texts), desc=f"beam search (N={strategy.beam.beams}, M={strategy.beam.beam_width})", unit="question") as progress:
        results = beam_search(list(prompts), generator, verifier, strategy.beam, strategy.scoring, progress=progress.update)
    generations = [[(generator.decode(beam.token_ids), beam.token_ids) for beam in result.completed] for result in results]
    return generations, results


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


def majority_correct(question_samples: list[dict]) -> bool:
    """Whether the self-consistency vote (answers clustered by equivalence) is right."""
    import rewards
    from rl.eval.metrics import majority_answer

    vote = majority_answer([s["answer"] for s in question_samples], rewards.answers_match)
    return vote is not None and rewards.answers_match(vote, question_samples[0]["gold"])


def grading_stack(reward_spec: dict, checking: dict | None = None) -> dict:
    """The training config's reward components that grade a sample on its own (no state, no group).

    `format` and `language` are added with their defaults when the config does not use them, so
    every eval reports them; built by `rewards.components`, so the answer-checking options
    (fallback, time bound) are the training run's.
    """
    import rewards

    spec = {"correctness": {}, "format": {}, "language": {}, **{k: v for k, v in reward_spec.items() if k in ("correctness", "format", "language")}}
    params = {name: {k: v for k, v in (settings or {}).items() if k != "weight"} for name, settings in spec.items()}
    functions, _ = rewards.components(params, checking)
    return {function.__name__: function for function in functions}


def grade_samples(reward_spec: dict, rows: list[dict], generations: Generations, checking: dict | None = None) -> list[list[dict]]:
    """Grade every sample through the training reward stack's own analysis; per question, its samples.

    `checking` is the run's `answer_checking` with how the model generates (`rl.data.models.generation_checking`):
    a sample cut at the token budget or with its reasoning never closed is graded incorrect, as in training.
    """
    return grade_with_stack(grading_stack(reward_spec, checking), rows, generations)


def grade_with_stack(stack: dict, rows: list[dict], generations: Generations) -> list[list[dict]]:
    """`grade_samples` with a `grading_stack` built once (a caller that grades again and again: eval during training)."""
    prompts, completions, completion_ids, columns = [], [], [], {"answer": [], "id": [], "question": []}
    for row, outputs in zip(rows, generations):
        for completion, ids in outputs:
            prompts.append(row["prompt"])
            completions.append(completion)
            completion_ids.append(ids)
            for key in columns:
                columns[key].append(row[key])
    gold_column = stack["correctness"].analyzer.options.gold_column
    columns[gold_column] = columns["answer"]
    if not completions:
        return [[] for _ in rows]
    scores = {name: function(prompts, completions, completion_ids, **columns) for name, function in stack.items()}
    analysis = stack["correctness"].analyzer.analyse(prompts, completions, completion_ids, **columns)
    per_question, index = [], 0
    for row, outputs in zip(rows, generations):
        graded = []
        for sample_index, (completion, ids) in enumerate(outputs):
            graded.append({
                "id": row["id"], "sample": sample_index, "question": row["question"], "gold": row["answer"],
                "completion": completion, "answer": analysis.answers[index], "correct": bool(analysis.correct[index]),
                "unfinished": bool(analysis.unfinished[index]), "truncated_correct": bool(analysis.truncated_correct[index]),
                "tokens": len(ids), "format": scores["format"][index] == 1.0, "format_score": scores["format"][index],
                "language_share": scores["language"][index],
            })  # fmt: skip
            index += 1
        per_question.append(graded)
    return per_question


def sample_rates(samples: list[dict]) -> dict[str, float | None]:
    """Per-sample means over graded samples (`grade_samples` dicts): accuracy, token counts, rates.

    Returns `accuracy`, `mean_tokens`, `mean_tokens_correct`, `mean_tokens_incorrect` (tokens, EOS
    included), `unfinished_rate`, `truncated_correct_rate`, `format_rate`, `language_consistency`;
    each in [0, 1] or tokens, None when no sample counts (no samples, or none correct for `mean_tokens_correct`).
    The keys of `rl eval`'s summary and, prefixed `eval/`, of eval during training.
    """
    from rl.eval.metrics import mean

    correct_flags = [s["correct"] for s in samples]
    tokens = [s["tokens"] for s in samples]
    return {
        "accuracy": mean(correct_flags),
        "mean_tokens": mean(tokens),
        "mean_tokens_correct": mean([t for t, c in zip(tokens, correct_flags) if c]),
        "mean_tokens_incorrect": mean([t for t, c in zip(tokens, correct_flags) if not c]),
        "unfinished_rate": mean([s["unfinished"] for s in samples]),
        "truncated_correct_rate": mean([s["truncated_correct"] for s in samples]),
        "format_rate": mean([s["format"] for s in samples]),
        "language_consistency": mean([s["language_share"] for s in samples]),
    }


def evaluate(config: RunConfig, model: str, settings: EvalSettings, out_dir: Path, strategy=None, verifier=None) -> dict:
    """Generate, grade (as training does) and summarise; returns the summary (also in `out_dir/summary.json`).

    `strategy` (`rl.testtime.strategies.Strategy`; default: `greedy` when `settings.greedy`, else `sample`) picks
    the answer of each question; `verifier` overrides the one `strategy.verifier` names (tests, suites
    that score with one verifier many times). Besides the sample statistics, every summary has the
    accuracy of the strategy's answer (`answer_accuracy`) and the tokens it generated per question
    (`generated_tokens_per_question`, discarded samples and pruned beams included).
    """
    from transformers import set_seed

    import rewards
    from rl.config.trainer_args import completion_budget
    from rl.data.models import generation_checking, resolve_model
    from rl.data.rows import load_rows
    from rl.testtime.selection import completion_scores
    from rl.testtime.strategies import Strategy, choose_best_of_n, load_strategy_verifier

    started = time.perf_counter()
    strategy = strategy or Strategy(name="greedy" if settings.greedy else "sample")
    strategy.check(settings, verifier)
    if strategy.name == "greedy" and not settings.greedy:
        settings = dataclasses.replace(settings, greedy=True)
    try:
        model_path = resolve_model(config.model.model_copy(update={"name_or_path": model}))
    except ConfigError as error:
        raise ConfigError(str(error).replace("model.name_or_path", "--model")) from None
    verifier = load_strategy_verifier(strategy, verifier)
    data = config.data.model_copy(update={"limit": settings.limit or config.data.limit})
    rows = load_rows(data, config.prompt, split=eval_split(config))
    max_new_tokens = settings.max_new_tokens or completion_budget(config.algorithm, config.trainer)
    chat_template_kwargs = config.trainer.get("chat_template_kwargs")
    checking = generation_checking(model_path, config.answer_checking, max_new_tokens, chat_template_kwargs, config.model.trust_remote_code)
    # Sampled answers must not depend on what ran before in the process (a demo resumed mid-way, another stage)
    set_seed(settings.seed)
    if strategy.name == "beam":
        generations, results = generate_beam(model_path, list(rows["prompt"]), verifier, strategy, settings, max_new_tokens, chat_template_kwargs)
        generated_tokens = [result.generated_tokens for result in results]
    else:
        if use_vllm():
            generations = generate_vllm(model_path, list(rows["prompt"]), settings, max_new_tokens, chat_template_kwargs)
        else:
            generations = generate_hf(model_path, list(rows["prompt"]), settings, max_new_tokens, chat_template_kwargs,
                                      cache_implementation=config.trainer.get("cache_implementation"))  # fmt: skip
        generated_tokens = [sum(len(ids) for _, ids in outputs) for outputs in generations]
    per_question = grade_samples(config.rewards, list(rows), generations, checking)
    samples = [sample for graded in per_question for sample in graded]

    summary = {"model": model, "strategy": strategy.name, "questions": len(per_question), **sample_summary(per_question, strategy, settings)}
    if strategy.name == "best_of_n":
        prompts = [row["prompt"] for row, graded in zip(rows, per_question) for _ in graded]
        scores = completion_scores(verifier, prompts, [s["completion"] for s in samples], strategy.scoring)
        chosen = choose_best_of_n(per_question, scores, rewards.answers_match)
        summary.update({"answer_accuracy": chosen["best_of_n_accuracy"], **chosen})
    if strategy.name == "beam":
        summary.update(beam_summary(per_question, results, strategy))
    summary["generated_tokens_per_question"] = mean(generated_tokens)
    summary["wall_seconds"] = round(time.perf_counter() - started, 2)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "samples.jsonl").open("w") as handle:
        for sample in samples:
            handle.write(json.dumps(sample) + "\n")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    logger.info("eval %s (%s): answer accuracy %.3f, %.1f tokens generated per question -> %s", model, strategy.name,
                summary["answer_accuracy"] or 0, summary["generated_tokens_per_question"] or 0, out_dir)  # fmt: skip
    return summary


def sample_summary(per_question: list[list[dict]], strategy, settings: EvalSettings) -> dict:
    """Accuracy, pass@k, maj@k and lengths of the graded samples (beam search: of its completed beams)."""
    from rl.eval.metrics import accuracy_by_length_quintile, pass_at_k

    samples = [sample for graded in per_question for sample in graded]
    summary = {"samples_per_question": settings.samples}
    if strategy.name == "beam":
        summary = {"beams": strategy.beam.beams, "beam_width": strategy.beam.beam_width, "aggregation": strategy.scoring.aggregation,
                   "decoding": f"beam search, steps sampled (temperature {settings.temperature})"}  # fmt: skip
    else:
        k = settings.samples
        summary.update({
            "decoding": "greedy" if settings.greedy else f"sampled (temperature {settings.temperature})",
            "pass@1": mean([pass_at_k(k, sum(s["correct"] for s in q), 1) for q in per_question]),
            f"pass@{k}": mean([pass_at_k(k, sum(s["correct"] for s in q), k) for q in per_question]),
            f"maj@{k}": mean([majority_correct(q) for q in per_question]),
        })  # fmt: skip
        summary["answer_accuracy"] = summary[f"maj@{k}"]  # greedy: the one answer; sample: the majority vote
    summary.update(sample_rates(samples))
    summary["accuracy_by_length_quintile"] = accuracy_by_length_quintile([s["tokens"] for s in samples], [s["correct"] for s in samples])
    return summary


def beam_summary(per_question: list[list[dict]], results: list, strategy) -> dict:
    """Beam search's answer (each question's best completed beam) and its search statistics; marks `chosen`."""
    for graded, result in zip(per_question, results):
        for sample, beam in zip(graded, result.completed):
            sample.update({"verifier_score": beam.score, "step_scores": beam.step_scores, "chosen": sample["sample"] == 0})
    return {
        "answer_accuracy": mean([bool(graded) and graded[0]["correct"] for graded in per_question]),
        "answer_mean_tokens": mean([graded[0]["tokens"] for graded in per_question if graded]),
        "no_completed_beam_rate": mean([not graded for graded in per_question]),
        "mean_iterations": mean([result.iterations for result in results]),
    }  # fmt: skip
