"""`rl distill`: rejection-sampling distillation towards short reasoning.

Sample K completions per training question from a model, grade them as training does, keep the
shortest correct one (or every correct one no longer than the question's mean correct length),
write the kept set as a dataset file, and fine-tune the model on it with TRL's `SFTTrainer`.
Each stage leaves its file behind, so an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rl.config import DistillSettings, RunConfig
from rl.errors import UserError

logger = logging.getLogger("rl.distill")


def select_samples(per_question: list[list[dict]], rule: str) -> tuple[list[dict], dict]:
    """The samples a rule keeps, and counts: questions, with a correct sample, skipped, kept.

    `shortest_correct`: per question, its shortest correct sample (the first of equal ones).
    `below_mean_correct`: per question, every correct sample no longer than its mean correct length.
    Incorrect samples are never kept; a question without a correct sample is skipped and counted.
    """
    if rule not in ("shortest_correct", "below_mean_correct"):
        raise ValueError(f"unknown rule {rule!r}")
    kept, skipped = [], 0
    for samples in per_question:
        correct = [sample for sample in samples if sample["correct"]]
        if not correct:
            skipped += 1
            continue
        if rule == "shortest_correct":
            kept.append(min(correct, key=lambda sample: sample["tokens"]))
        else:
            mean_tokens = sum(sample["tokens"] for sample in correct) / len(correct)
            kept += [sample for sample in correct if sample["tokens"] <= mean_tokens]
    stats = {
        "rule": rule, "questions": len(per_question), "questions_with_a_correct_sample": len(per_question) - skipped,
        "skipped_no_correct_sample": skipped, "kept_samples": len(kept),
        "mean_tokens_kept": round(sum(s["tokens"] for s in kept) / len(kept), 2) if kept else None,
        "mean_tokens_all_correct": _mean([s["tokens"] for q in per_question for s in q if s["correct"]]),
        "mean_tokens_all": _mean([s["tokens"] for q in per_question for s in q]),
    }  # fmt: skip
    return kept, stats


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def distill(config: RunConfig, model: str, out_dir: Path | None = None, seed: int = 0, context=None) -> dict:
    """Sample, select, fine-tune; returns the selection stats and the model path (also in `summary.json`).

    `context`: the `rl.eval.rollout.RolloutContext` of `model` (built here when not given), at the
    budget `distill.max_new_tokens` when that is set.
    """
    from rl.config.trainer_args import activation_checkpointing
    from rl.data.rows import load_rows
    from rl.eval.generation import EvalSettings
    from rl.eval.rollout import RolloutContext
    from rl.train.sft import fine_tune

    settings: DistillSettings = config.distill
    out = Path(out_dir or settings.output_dir or f"{config.output_dir}-distill")
    out.mkdir(parents=True, exist_ok=True)
    context = (context or RolloutContext.build(config, model)).with_budget(settings.max_new_tokens)
    samples_file = out / "samples.jsonl"
    if samples_file.is_file():
        per_question = [json.loads(line) for line in samples_file.read_text().splitlines() if line.strip()]
        logger.info("reusing %d questions' samples from %s", len(per_question), samples_file)
    else:
        data = config.data.model_copy(update={"limit": settings.limit or config.data.limit})
        rows = list(load_rows(data, config.prompt, split=config.data.split))
        sampling = EvalSettings(samples=settings.samples, temperature=settings.temperature, max_new_tokens=settings.max_new_tokens)
        generations = context.generate([row["prompt"] for row in rows], sampling)
        per_question = context.grade(rows, generations)
        for row, samples in zip(rows, per_question):
            for sample in samples:
                sample["prompt"] = row["prompt"]
        temporary = samples_file.with_suffix(".tmp")
        temporary.write_text("".join(json.dumps(samples) + "\n" for samples in per_question))
        temporary.replace(samples_file)  # complete or absent: a kill mid-write leaves no half file
    kept, stats = select_samples(per_question, settings.rule)
    if not kept:
        raise UserError(f"no training question has a correct sample among {settings.samples}: nothing to distill (sample more, or start from a better model)")
    (out / "selected.jsonl").write_text("".join(json.dumps({k: s[k] for k in ("id", "prompt", "completion", "tokens")}) + "\n" for s in kept))
    logger.info("kept %d samples (%s); %d questions without a correct sample skipped", len(kept), settings.rule, stats["skipped_no_correct_sample"])
    final = fine_tune(context.model_path, kept, out / "sft", settings.sft_steps, seed, settings.batch_size, settings.learning_rate,
                      activation_checkpointing=activation_checkpointing(config.trainer))  # fmt: skip
    summary = {"model": str(final), "source_model": model, "selection": stats, "settings": settings.model_dump()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
