"""Grading: every sample through the training reward stack's own analysis, so a training curve and an eval table agree.

A sample's correctness, format and language share come from the same `rewards` components (and
answer-checking options) the run trained with; a sample cut at the budget is graded as in training.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewards import RewardEntry
from rl.eval.generation import Generations

GRADING_REWARDS = ("correctness", "format", "language")  # the components that grade a sample on its own (no state, no group)


def grading_entries(entries: Sequence[RewardEntry]) -> list[RewardEntry]:
    """The training config's `correctness`, `format` and `language` entries (its parameters), in that order.

    A component the config does not use is added with its defaults, so every eval reports all three.
    """
    import rewards
    from rewards.spec import parse_params

    by_name = {entry.name: entry for entry in entries}
    return [
        by_name.get(name) or RewardEntry(name, rewards.REGISTRY[name], parse_params(name, rewards.REGISTRY[name], {}), 1.0)
        for name in GRADING_REWARDS
    ]


def grading_stack(reward_spec: dict | Sequence[RewardEntry], checking: dict | None = None) -> dict:
    """The grading components (`grading_entries`) by name, sharing one analysis, with the run's answer-checking options.

    `reward_spec`: the config's `rewards:` mapping, or its parsed entries (`RunConfig.reward_entries`).
    """
    import rewards

    if isinstance(reward_spec, dict):
        reward_spec = rewards.parse_spec({name: reward_spec[name] for name in GRADING_REWARDS if name in reward_spec} or {"correctness": {}})
    functions = rewards.instantiate(grading_entries(reward_spec), checking)
    return {function.__name__: function for function in functions}


def grade_samples(reward_spec: dict | Sequence[RewardEntry], rows: list[dict], generations: Generations, checking: dict | None = None) -> list[list[dict]]:
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
