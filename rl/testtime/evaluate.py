"""`rl eval`: sample K answers per held-out question (or search with a verifier), grade them as training does, summarise.

Each test-time strategy (`rl.testtime.strategies.STRATEGY_KINDS`) generates, picks the answer of each
question and reports the tokens it generated; generation and grading go through the model's rollout
context (`rl.eval.rollout`: HF `generate`, or vLLM when it is installed and a GPU is present). Writes `samples.jsonl` (one line per sample) and `summary.json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from rl.config import RunConfig
from rl.eval.generation import EvalSettings, eval_split
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

    from rl.data.rows import load_rows
    from rl.testtime.strategies import Strategy, StrategyRun, load_strategy_verifier

    started = time.perf_counter()
    strategy = strategy or Strategy(name="greedy" if settings.greedy else "sample")
    strategy.check(settings, verifier)
    kind = strategy.kind
    if kind.greedy and not settings.greedy:
        settings = dataclasses.replace(settings, greedy=True)
    context = (context or RolloutContext.build(config, model)).with_budget(settings.max_new_tokens)
    verifier = load_strategy_verifier(strategy, verifier)
    data = config.data.model_copy(update={"limit": settings.limit or config.data.limit})
    rows = load_rows(data, config.prompt, split=eval_split(config))
    run = StrategyRun(context, strategy, settings, verifier, list(rows))
    # Sampled answers must not depend on what ran before in the process (a demo resumed mid-way, another stage)
    set_seed(settings.seed)
    generations, generated_tokens, state = kind.generate(run)
    per_question = context.grade(run.rows, generations)
    samples = [sample for graded in per_question for sample in graded]

    header = kind.header(run) if kind.header else None
    summary = {"model": model, "strategy": strategy.name, "questions": len(per_question), **sample_summary(per_question, settings, header)}
    if kind.choose is not None:
        summary.update(kind.choose(run, per_question, state))
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
