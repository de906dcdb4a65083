"""`rl eval` grades through the training reward stack: same answers, correctness and format on the same text."""

import pytest

import rewards
from rl.evaluate import grade_samples
from rl.prompts import R1_ZERO

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
    generations = [[(completion, 10 + i)] for i, completion in enumerate(COMPLETIONS)]

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
