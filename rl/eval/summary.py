"""Summaries of graded samples (`rl.eval.grading` dicts): rates, the majority vote, pass@k, maj@k, accuracy by length.

The keys of `rl eval`'s `summary.json` and, prefixed `eval/`, of eval during training.
"""

from __future__ import annotations

from rl.eval.generation import EvalSettings
from rl.eval.metrics import accuracy_by_length_quintile, majority_answer, mean, pass_at_k


def majority_correct(question_samples: list[dict]) -> bool:
    """Whether the self-consistency vote (answers clustered by equivalence) is right."""
    import rewards

    vote = majority_answer([s["answer"] for s in question_samples], rewards.answers_match)
    return vote is not None and rewards.answers_match(vote, question_samples[0]["gold"])


def sample_rates(samples: list[dict]) -> dict[str, float | None]:
    """Per-sample means over graded samples (`grade_samples` dicts): accuracy, token counts, rates.

    Returns `accuracy`, `mean_tokens`, `mean_tokens_correct`, `mean_tokens_incorrect` (tokens, EOS
    included), `unfinished_rate`, `truncated_correct_rate`, `format_rate`, `language_consistency`;
    each in [0, 1] or tokens, None when no sample counts (no samples, or none correct for `mean_tokens_correct`).
    The keys of `rl eval`'s summary and, prefixed `eval/`, of eval during training.
    """
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


def sample_summary(per_question: list[list[dict]], settings: EvalSettings, header: dict | None = None) -> dict:
    """Accuracy, pass@k, maj@k and lengths of the graded samples.

    `header`: a strategy's own description of its samples (beam search: its N, M and decoding),
    which replaces the samples' decoding, pass@k and maj@k; the sample statistics follow either way.
    """
    samples = [sample for graded in per_question for sample in graded]
    if header is not None:
        summary = dict(header)
    else:
        k = settings.samples
        summary = {
            "samples_per_question": k,
            "decoding": "greedy" if settings.greedy else f"sampled (temperature {settings.temperature})",
            "pass@1": mean([pass_at_k(k, sum(s["correct"] for s in q), 1) for q in per_question]),
            f"pass@{k}": mean([pass_at_k(k, sum(s["correct"] for s in q), k) for q in per_question]),
            f"maj@{k}": mean([majority_correct(q) for q in per_question]),
        }  # fmt: skip
        summary["answer_accuracy"] = summary[f"maj@{k}"]  # greedy: the one answer; sample: the majority vote
    summary.update(sample_rates(samples))
    summary["accuracy_by_length_quintile"] = accuracy_by_length_quintile([s["tokens"] for s in samples], [s["correct"] for s in samples])
    return summary
