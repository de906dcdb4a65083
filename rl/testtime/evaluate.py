"""`rl eval`: sample K answers per held-out question (or search with a verifier), grade them as training does, summarise.

Each test-time strategy (`rl.testtime.strategies`) picks the answer of each question and reports the
tokens it generated. Generation is `rl.eval.generation` (HF `generate`, or vLLM when it is installed
and a GPU is present) or verifier-guided beam search. Writes `samples.jsonl` (one line per sample) and `summary.json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from rl.config import RunConfig
from rl.eval.generation import EvalSettings, Generations, eval_split, load_model
from rl.eval.metrics import mean
from rl.eval.rollout import RolloutContext
from rl.eval.summary import sample_summary

logger = logging.getLogger("rl.evaluate")


def evaluate(config: RunConfig, model: str, settings: EvalSettings, out_dir: Path, strategy=None, verifier=None,
             context: RolloutContext | None = None) -> dict:  # fmt: skip
    """Generate, grade (as training does) and summarise; returns the summary (also in `out_dir/summary.json`).

    `strategy` (`rl.testtime.strategies.Strategy`; default: `greedy` when `settings.greedy`, else `sample`) picks
    the answer of each question; `verifier` overrides the one `strategy.verifier` names (tests, suites
    that score with one verifier many times). Besides the sample statistics, every summary has the
    accuracy of the strategy's answer (`answer_accuracy`) and the tokens it generated per question
    (`generated_tokens_per_question`, discarded samples and pruned beams included). `context`: the
    rollout context of `model` under `config` (built here when not given; a caller evaluating one
    model many times builds it once), its budget `settings.max_new_tokens` when that is set.
    """
    from transformers import set_seed

    import rewards
    from rl.data.rows import load_rows
    from rl.testtime.selection import completion_scores
    from rl.testtime.strategies import Strategy, choose_best_of_n, load_strategy_verifier

    started = time.perf_counter()
    strategy = strategy or Strategy(name="greedy" if settings.greedy else "sample")
    strategy.check(settings, verifier)
    if strategy.name == "greedy" and not settings.greedy:
        settings = dataclasses.replace(settings, greedy=True)
    context = (context or RolloutContext.build(config, model)).with_budget(settings.max_new_tokens)
    verifier = load_strategy_verifier(strategy, verifier)
    data = config.data.model_copy(update={"limit": settings.limit or config.data.limit})
    rows = load_rows(data, config.prompt, split=eval_split(config))
    # Sampled answers must not depend on what ran before in the process (a demo resumed mid-way, another stage)
    set_seed(settings.seed)
    if strategy.name == "beam":
        generations, results = generate_beam(context, list(rows["prompt"]), verifier, strategy, settings)
        generated_tokens = [result.generated_tokens for result in results]
    else:
        generations = context.generate(list(rows["prompt"]), settings)
        generated_tokens = [sum(len(ids) for _, ids in outputs) for outputs in generations]
    per_question = context.grade(list(rows), generations)
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


def generate_beam(context: RolloutContext, prompts: list, verifier, strategy, settings: EvalSettings) -> tuple[Generations, list]:
    """Verifier-guided step-level beam search (`rl.testtime.search.beam_search`) with HF `generate`, with a progress bar.

    Returns (per prompt, its completed beams as (text, token ids), best first; the `SearchResult`s).
    Sampled at `settings.temperature`, `settings.batch_size` prompts' beams per generate call.
    """
    from tqdm.auto import tqdm

    from rewards.layout import eos_token_ids, generation_prompt
    from rl.testtime.search import HFStepGenerator, beam_search

    model, tokenizer = load_model(context.model_path)
    if tokenizer.pad_token is None:  # as TRL does for training
        tokenizer.pad_token = tokenizer.eos_token
    stop_ids = list(eos_token_ids(tokenizer, model.generation_config, include_pad=False))
    texts = [generation_prompt(tokenizer, p, context.chat_template_kwargs) for p in prompts]
    prompt_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    generator = HFStepGenerator(model, tokenizer, prompt_ids, stop_ids, context.max_completion_length, strategy.scoring.separator_for(verifier),
                                strategy.beam.max_step_tokens, settings.temperature, batch_size=settings.batch_size * strategy.beam.beams)  # fmt: skip
    with tqdm(total=len(texts), desc=f"beam search (N={strategy.beam.beams}, M={strategy.beam.beam_width})", unit="question") as progress:
        results = beam_search(list(prompts), generator, verifier, strategy.beam, strategy.scoring, progress=progress.update)
    generations = [[(generator.decode(beam.token_ids), beam.token_ids) for beam in result.completed] for result in results]
    return generations, results


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
