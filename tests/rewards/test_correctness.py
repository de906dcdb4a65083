"""The `correctness` reward as a TRL user calls it: extraction and checking through the public entry points."""

import math
import warnings

import pytest

from rewards import build, extract_answer
from rewards.extract import final_answer

# (answer section, the answer the documented rules give, a gold it equals, a gold it does not)
SECTIONS = [
    ("**73**", "73", "73", "74"),
    ("__73__", "73", "73", "74"),
    ("*73*", "73", "73", "74"),
    ("***73***", "73", "73", "74"),
    ("`73`", "73", "73", "74"),
    ("$73$.", "73", "73", "74"),
    (r"\textbf{73}", "73", "73", "74"),
    (r"**$\frac{1}{2}$**", r"\frac{1}{2}", "0.5", "2"),
    ("The answer is **73**.", "73", "73", "7"),
    (r"**Final Answer:** $\dfrac{3}{4}$", r"\dfrac{3}{4}", "0.75", "3"),
    (r"\boxed{3}, \boxed{5}, \boxed{7}", "3, 5, 7", "3, 5, 7", "7"),
    (r"\boxed{3} and \boxed{5}", "3, 5", "5, 3", "5"),
    (r"The solutions are $\boxed{-2}$ or $\boxed{1}$.", "-2, 1", "-2,1", "1"),
    (r"\boxed{5}. On reflection, the answer is 6.", "6", "6", "5"),  # a final statement after the last box wins
    (r"\boxed{1} then \boxed{2}", "2", "2", "1"),  # not joined by separators: the last box
    ("2**3", "2**3", "8", "6"),  # a power, not emphasis
    # LaTeX stated without math delimiters is read whole, never by the first digit inside it
    (r"The answer is \frac{1}{2}.", r"\frac{1}{2}", "0.5", "1"),
    (r"**Answer:** \sqrt{3} units", r"\sqrt{3}", r"3^{1/2}", "3"),
]


def _correctness():
    [correctness], _ = build({"correctness": {"weight": 1.0}})
    return correctness


@pytest.mark.parametrize(("section", "answer", "equal_gold", "other_gold"), SECTIONS)
def test_extract_answer_final_answer_and_the_reward_apply_one_rule(section, answer, equal_gold, other_gold):
    completion = f"<think>work it out</think><answer>{section}</answer>"
    assert final_answer(section) == answer
    assert extract_answer(completion) == answer
    correctness = _correctness()
    scores = correctness(prompts=["q", "q"], completions=[completion] * 2, completion_ids=[[1], [1]], answer=[equal_gold, other_gold])
    assert scores == [1.0, 0.0]


def test_untagged_completions_are_graded_by_their_boxes_only():
    assert extract_answer(r"so \boxed{3}, \boxed{5}") == "3, 5"
    assert extract_answer(r"thinking... \boxed{**7**}.") == "7"
    assert extract_answer("I think it is 7") is None


@pytest.mark.parametrize("gold", [None, float("nan"), "", "   "])
def test_a_missing_gold_is_never_paid_and_is_counted(gold):
    correctness = _correctness()
    logged = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = correctness(
            prompts=["q", "q"], completions=["<answer>None</answer>", "<answer>nan</answer>"], completion_ids=[[1], [1]],
            answer=[gold, gold], log_metric=logged.__setitem__,
        )  # fmt: skip
    assert scores == [0.0, 0.0]
    assert logged["rewards/errors"] == 2.0 and logged["accuracy"] == 0.0
    assert any("without a gold answer" in str(w.message) for w in caught)


def test_a_missing_gold_earns_no_length_reward_either():
    functions, _ = build({"correctness": {}, "length": {}, "kimi_length": {}, "cosine_length": {}})
    batch = dict(
        prompts=["q"] * 4, completions=["<answer>4</answer>"] * 4, completion_ids=[[0], [0] * 5, [0] * 9, [0] * 2],
        answer=[None, math.nan, None, None],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for function in functions:
            assert function(**batch) == [0.0] * 4, function.__name__


def test_rows_with_a_gold_still_score_beside_a_missing_one():
    correctness = _correctness()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = correctness(prompts=["a", "b"], completions=["<answer>4</answer>"] * 2, completion_ids=[[1], [1]], answer=["4", None])
    assert scores == [1.0, 0.0]


def test_decimal_comma_is_a_config_option_of_the_stack():
    completions = ["<answer>0,5</answer>", "<answer>0.5</answer>"]
    default, _ = build({"correctness": {}})
    assert default[0](prompts=["q"] * 2, completions=completions, completion_ids=[[1], [1]], answer=["0,5"] * 2) == [1.0, 0.0]
    european, _ = build({"correctness": {}}, {"decimal_comma": True})
    assert european[0](prompts=["q"] * 2, completions=completions, completion_ids=[[1], [1]], answer=["0,5"] * 2) == [1.0, 1.0]
