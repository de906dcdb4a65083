"""`rl eval` grades through the training reward stack: same answers, correctness and format on the same text."""

import pytest

import rewards
from rl.config.prompts import R1_ZERO
from rl.eval.grading import grade_samples

PROMPT = R1_ZERO.replace("{question}", "Compute 2 + 2 .")
COMPLETIONS = [
    " 2 + 2 = 4 . </think> <answer> 4 </answer>",  # continues the prompt's <think>
    "<think> 2 + 2 = 4 </think> <answer>4</answer>",  # repeats it
    " so 4 </think> <answer> 4 </answer> trailing",  # format broken, answer right
    " the answer is 4",  # no closing tags
    " 2 + 2 = 5 . </think> <answer> \\frac{10}{2} </answer>",
    " </think> <answer></answer>",
]


@pytest.mark.parametrize(
    "spec",
    [
        {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}},
        {"correctness": {"weight": 1.0}, "format": {"weight": 0.2, "strict": False}},
    ],
)
def test_eval_and_training_rewards_agree_sample_by_sample(spec):
    golds = ["4", "4", "4", "4", "5", "4"]
    rows = [{"id": f"q{i}", "question": "Compute 2 + 2 .", "answer": gold, "prompt": PROMPT} for i, gold in enumerate(golds)]
    generations = [[(completion, [0] * (10 + i))] for i, completion in enumerate(COMPLETIONS)]

    functions, _ = rewards.build(spec, warn=False)
    by_name = {f.__name__: f for f in functions}
    columns = {"answer": golds, "id": [r["id"] for r in rows], "question": [r["question"] for r in rows]}
    ids = [[0] * (10 + i) for i in range(len(COMPLETIONS))]
    training_correct = by_name["correctness"]([PROMPT] * len(COMPLETIONS), COMPLETIONS, ids, **columns)
    training_format = by_name["format"]([PROMPT] * len(COMPLETIONS), COMPLETIONS, ids, **columns)

    graded = [sample for question in grade_samples(spec, rows, generations) for sample in question]
    assert [float(s["correct"]) for s in graded] == training_correct
    assert [s["format_score"] for s in graded] == training_format
    assert [s["tokens"] for s in graded] == [10 + i for i in range(len(COMPLETIONS))]
    assert graded[4]["correct"] and not graded[5]["correct"]


# Reasoning models: a chat template that opens <think>, boxed answers after </think>, unfinished completions.
EOS, BUDGET = 0, 12
CHAT = [{"role": "user", "content": "Compute 2 + 3 ."}]
REASONING_CASES = [
    # (prompt, completion, completion ids)
    (CHAT, "2 + 3 = 5\n</think>\n\nSo the total is \\boxed{5}.", [7, 7, EOS]),  # closes the tag the template opened
    (CHAT, "<think>2 + 3 = 5</think> \\boxed{5}", [7, 7, 7, EOS]),  # repeats it
    (CHAT, "2 + 3 = 5\n</think>\n<answer>5</answer>", [7, EOS]),  # R1-Zero's layout
    (CHAT, "Is it \\boxed{5}?\n</think>\n\nI am not sure.", [7, EOS]),  # a box only inside the reasoning
    (CHAT, "So \\boxed{5}. Let me double-check the second step: 2 + 3 = 5, which", [7] * 5 + [EOS]),  # never closed
    (CHAT, "2 + 3 = 5\n</think>\n\nSo the total is \\boxed{5}.", [7] * BUDGET),  # cut at the budget, no EOS
    (CHAT, "2 + 3 = 5\n</think>\n\nSo the total is \\boxed{5}.", [7] * (BUDGET - 1) + [EOS]),  # EOS just at the budget
    ("Compute 2 + 3 . Assistant: <think>", " 5 </think> <answer>5</answer> and", [7] * BUDGET),  # string prompt, tagged, cut
    ("Compute 2 + 3 .", "2 + 3 = 5, so \\boxed{5} and then", [7] * BUDGET),  # untagged, cut
    ("Compute 2 + 3 .", "2 + 3 = 5, so \\boxed{5}", [7, EOS]),  # untagged, finished
]


@pytest.mark.parametrize("layout", ["think_boxed", "r1_zero"])
@pytest.mark.parametrize("grade_unfinished", [False, True])
def test_eval_and_training_agree_on_reasoning_model_outputs(layout, grade_unfinished):
    spec = {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}}
    checking = {"layout": layout, "chat_opens_reasoning": True, "max_completion_length": BUDGET, "eos_token_ids": [EOS],
                "grade_unfinished": grade_unfinished}  # fmt: skip
    rows = [{"id": f"q{i}", "question": "Compute 2 + 3 .", "answer": "5", "prompt": p} for i, (p, _, _) in enumerate(REASONING_CASES)]
    generations = [[(completion, ids)] for _, completion, ids in REASONING_CASES]
    prompts = [p for p, _, _ in REASONING_CASES]
    completions = [c for _, c, _ in REASONING_CASES]
    ids = [i for _, _, i in REASONING_CASES]

    functions, _ = rewards.build(spec, checking, warn=False)
    by_name = {f.__name__: f for f in functions}
    columns = {"answer": ["5"] * len(rows), "id": [r["id"] for r in rows], "question": [r["question"] for r in rows]}
    training_correct = by_name["correctness"](prompts, completions, ids, **columns)
    training_format = by_name["format"](prompts, completions, ids, **columns)

    graded = [sample for question in grade_samples(spec, rows, generations, checking) for sample in question]
    assert [float(s["correct"]) for s in graded] == training_correct
    assert [s["format_score"] for s in graded] == training_format
    unfinished = [False, False, False, False, True, True, False, True, True, False]
    assert [s["unfinished"] for s in graded] == unfinished
    expected = [1, 1, 1, 0, 1, 1, 1, 1, 1, 1] if grade_unfinished else [1, 1, 1, 0, 0, 0, 1, 0, 0, 1]
    assert training_correct == [float(x) for x in expected]
    assert [s["truncated_correct"] for s in graded] == unfinished
    expected_format = [1, 1, 0, 0, 0, 1, 1, 0, 0, 0] if layout == "think_boxed" else [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert training_format == [float(x) for x in expected_format]


def test_a_sampled_eval_gives_the_same_answers_whatever_ran_before(tmp_path):
    """`rl eval` seeds its sampling: a demo resumed mid-way or a stage run in another process samples the same answers."""
    import json
    from pathlib import Path

    import torch

    from rl.config import load_config
    from rl.eval.generation import EvalSettings
    from rl.testtime.evaluate import evaluate

    config = load_config(Path(__file__).resolve().parents[3] / "configs" / "demo" / "smoke.yaml")

    def answers(name: str, seed: int = 0) -> list[str]:
        evaluate(config, "tiny:test", EvalSettings(samples=2, temperature=1.0, limit=3, seed=seed), tmp_path / name)
        return [json.loads(line)["completion"] for line in (tmp_path / name / "samples.jsonl").read_text().splitlines()]

    first = answers("first")
    torch.rand(1000)  # what another stage would have drawn
    assert answers("again") == first
    assert answers("other-seed", seed=1) != first
