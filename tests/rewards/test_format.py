import pytest

from rewards import build
from rewards.format import format_score


@pytest.mark.parametrize(
    ("text", "strict", "expected"),
    [
        ("<think>reason</think> <answer>4</answer>", True, 1.0),
        ("<think>reason</think>\n<answer>4</answer>\n", True, 1.0),
        ("<think>reason</think><answer>4</answer> trailing", True, 0.0),
        ("<think>a</think><think>b</think><answer>4</answer>", True, 0.0),
        ("<think>a</think><answer></answer>", True, 0.0),
        ("<answer>4</answer>", True, 0.0),
        ("<think>a</think><answer>4</answer><answer>5</answer>", True, 0.0),
        ("<think>a</think> 4", False, 0.5),
        ("<think>a</think><answer>4</answer>", False, 1.0),
        ("nothing", False, 0.0),
    ],
)
def test_format_score(text, strict, expected):
    assert format_score(text, strict) == expected


def test_r1_zero_prompt_ending_in_think_counts_as_opened():
    [reward], _ = build({"format": {"weight": 1.0}})
    prompt = "User: 2+2? Assistant: <think>"
    assert reward(prompts=[prompt], completions=[" 2+2=4 </think> <answer>4</answer>"], completion_ids=[[1]]) == [1.0]
    assert reward(prompts=["User: 2+2?"], completions=[" 2+2=4 </think> <answer>4</answer>"], completion_ids=[[1]]) == [0.0]


def test_conversational_completions_are_read():
    [reward], _ = build({"format": {"weight": 1.0}})
    completion = [{"role": "assistant", "content": "<think>x</think><answer>1</answer>"}]
    assert reward(prompts=[[{"role": "user", "content": "q"}]], completions=[completion], completion_ids=[[1]]) == [1.0]
