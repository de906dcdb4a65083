"""Reasoning models as the starting point: a prompt that opened `<think>`, the two layouts, unfinished completions."""

import pytest

import rewards
from rewards.layout import hit_length_limit, prompt_opens_reasoning, reasoning_unclosed

EOS = 0
BUDGET = 16
QUESTION = [{"role": "user", "content": "What is 2 + 3?"}]
R1_ZERO_PROMPT = "A conversation ... User: What is 2 + 3? Assistant: <think>"
REASONING = {"layout": "think_boxed", "chat_opens_reasoning": True, "max_completion_length": BUDGET, "eos_token_ids": [EOS]}
R1_ZERO = {"layout": "r1_zero", "max_completion_length": BUDGET, "eos_token_ids": [EOS]}


def finished(tokens: int = 5) -> list[int]:
    return [7] * (tokens - 1) + [EOS]


def cut() -> list[int]:
    return [7] * BUDGET  # the whole budget, no EOS


def stack(checking: dict, spec: dict | None = None) -> dict:
    spec = spec or {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}}
    functions, _ = rewards.build(spec, checking, warn=False)
    return {function.__name__: function for function in functions}


def score(functions: dict, prompts: list, completions: list, ids: list, golds: list | None = None) -> dict:
    golds = golds or ["5"] * len(completions)
    return {name: function(prompts, completions, ids, answer=golds) for name, function in functions.items()}


# ---------------------------------------------------------------- the prompt opened the reasoning


def test_a_chat_template_that_opens_think_makes_a_closing_tag_enough_for_string_and_message_prompts():
    completion_r1 = "I add two and three to get five.\n</think>\n<answer>5</answer>"
    completion_boxed = "I add two and three to get five.\n</think>\n\nSo the total is \\boxed{5}."
    r1_zero = stack({**R1_ZERO, "chat_opens_reasoning": True})
    # the case: a message-list prompt whose chat template already opened <think>
    assert score(r1_zero, [QUESTION], [completion_r1], [finished()]) == {"correctness": [1.0], "format": [1.0]}
    # a plain-string prompt decides by its own text, whatever the chat template does
    assert score(r1_zero, [R1_ZERO_PROMPT], [completion_r1], [finished()]) == {"correctness": [1.0], "format": [1.0]}
    assert score(r1_zero, ["User: 2 + 3? Assistant:"], [completion_r1], [finished()])["format"] == [0.0]
    reasoning = stack(REASONING)
    assert score(reasoning, [QUESTION], [completion_boxed], [finished()]) == {"correctness": [1.0], "format": [1.0]}
    conversational = [{"role": "assistant", "content": completion_boxed}]
    assert score(reasoning, [QUESTION], [conversational], [finished()]) == {"correctness": [1.0], "format": [1.0]}


def test_without_the_chat_template_opening_it_a_lone_closing_tag_is_not_the_layout():
    completion = "reasoning\n</think>\n\nSo the total is \\boxed{5}."
    functions = stack({**REASONING, "chat_opens_reasoning": False})
    assert score(functions, [QUESTION], [completion], [finished()])["format"] == [0.0]
    # the model that writes its own <think> (Qwen3 in thinking mode) is read the same either way
    own = "<think>\nreasoning\n</think>\n\nSo the total is \\boxed{5}."
    assert score(functions, [QUESTION], [own], [finished()]) == {"correctness": [1.0], "format": [1.0]}
    assert score(stack(REASONING), [QUESTION], [own], [finished()]) == {"correctness": [1.0], "format": [1.0]}


def test_prompt_opens_reasoning_rules():
    assert prompt_opens_reasoning("... Assistant: <think>\n")
    assert not prompt_opens_reasoning("... Assistant: <think>\n\n</think>\n\n")
    assert not prompt_opens_reasoning(QUESTION)
    assert prompt_opens_reasoning(QUESTION, chat_opens_reasoning=True)
    assert not prompt_opens_reasoning("plain", chat_opens_reasoning=True)  # a string is not templated


# ---------------------------------------------------------------- the two layouts, both ways


@pytest.mark.parametrize(
    ("layout", "completion", "expected"),
    [
        ("r1_zero", "<think>2 + 3 = 5</think> <answer>5</answer>", 1.0),
        ("r1_zero", "<think>2 + 3 = 5</think>\n\nSo the total is \\boxed{5}.", 0.0),
        ("r1_zero", "<think>2 + 3 = 5</think> <answer></answer>", 0.0),
        ("think_boxed", "<think>2 + 3 = 5</think>\n\nSo the total is \\boxed{5}.", 1.0),
        ("think_boxed", "<think>\n2 + 3 = 5\n</think>\n\\boxed{5}", 1.0),
        ("think_boxed", "<think>2 + 3 = 5</think> <answer>5</answer>", 0.0),
        ("think_boxed", "<think>2 + 3 = \\boxed{5}</think> So the total is 5.", 0.0),  # the box is inside the reasoning
        ("think_boxed", "<think>a</think><think>b</think> \\boxed{5}", 0.0),
        ("think_boxed", "<think>a</think> \\boxed{}", 0.0),
        ("think_boxed", "So the total is \\boxed{5}.", 0.0),
    ],
)
def test_format_of_each_layout_both_ways(layout, completion, expected):
    functions = stack({"layout": layout}, {"format": {"weight": 1.0}})
    assert functions["format"](["q"], [completion], [finished()]) == [expected]


def test_soft_format_of_the_reasoning_layout():
    functions = stack({"layout": "think_boxed"}, {"format": {"weight": 1.0, "strict": False}})
    scores = functions["format"](["q"] * 3, ["<think>a</think> \\boxed{5}", "<think>a</think> 5", "a \\boxed{5}"], [finished()] * 3)
    assert scores == [1.0, pytest.approx(2 / 3), 0.0]


@pytest.mark.parametrize("layout", ["r1_zero", "think_boxed"])
def test_the_answer_is_taken_after_the_reasoning_never_inside_it(layout):
    functions = stack({**REASONING, "layout": layout})
    completions = [
        "Is it \\boxed{5}? Let me see.\n</think>\n\nSo the total is \\boxed{6}.",
        "Is it \\boxed{5}? Let me see.\n</think>\n\nI am not sure.",
    ]
    assert score(functions, [QUESTION] * 2, completions, [finished()] * 2)["correctness"] == [0.0, 0.0]
    assert rewards.extract_answer("<think>Is it \\boxed{5}?</think> So it is \\boxed{6}.") == "6"
    assert rewards.extract_answer("<think>Is it \\boxed{5}?</think> I am not sure.") is None


def test_an_unknown_layout_is_refused_naming_the_key():
    with pytest.raises(rewards.RewardSpecError, match="answer_checking: layout must be one of r1_zero, think_boxed, boxed"):
        rewards.build({"format": {}}, {"layout": "instruct"})


# ---------------------------------------------------------------- unfinished completions


UNFINISHED = [
    # (prompt, completion, completion ids, layout): every one holds the right answer, none finished
    (R1_ZERO_PROMPT, "2 + 3 = 5 </think> <answer>5</answer> and", cut(), "r1_zero"),  # tagged, cut at the limit
    ("What is 2 + 3?", "2 + 3 = 5, so \\boxed{5} and", cut(), "think_boxed"),  # untagged, cut at the limit
    (QUESTION, "So \\boxed{3}... no: 2 + 3 = \\boxed{5}. Let me double-check: 2 + 3 = 5, which", finished(), "think_boxed"),  # never closed
    (QUESTION, "2 + 3 = 5\n</think>\n\nSo the total is \\boxed{5}.", cut(), "think_boxed"),  # closed, but cut without EOS
]


@pytest.mark.parametrize(("prompt", "completion", "ids", "layout"), UNFINISHED, ids=["tagged", "untagged", "never_closed", "cut_at_limit"])
def test_unfinished_completions_earn_no_correctness_unless_asked(prompt, completion, ids, layout):
    logged = {}
    checking = {**REASONING, "layout": layout}
    functions = stack(checking)
    result = functions["correctness"]([prompt], [completion], [ids], answer=["5"], log_metric=logged.__setitem__)
    assert result == [0.0]
    assert logged["accuracy"] == 0.0 and logged["completions/truncated_correct_frac"] == 1.0
    assert logged["length/incorrect_mean"] == len(ids) and "length/correct_mean" not in logged
    old = stack({**checking, "grade_unfinished": True})
    assert old["correctness"]([prompt], [completion], [ids], answer=["5"]) == [1.0]


def test_a_completion_that_ends_with_eos_exactly_at_the_budget_finished():
    functions = stack(REASONING)
    completion = "2 + 3 = 5\n</think>\n\nSo the total is \\boxed{5}."
    assert score(functions, [QUESTION], [completion], [finished(BUDGET)])["correctness"] == [1.0]
    assert hit_length_limit(finished(BUDGET), BUDGET, [EOS]) is False
    assert hit_length_limit(cut(), BUDGET, [EOS]) is True
    assert hit_length_limit(cut(), None, [EOS]) is True  # TRL's own rule: the last id is not an EOS id
    assert hit_length_limit([7] * (BUDGET - 1), BUDGET, None) is False
    assert hit_length_limit(cut(), None, None) is False  # nothing known: only the text decides
    assert reasoning_unclosed("<think>a</think> b <think> c") and not reasoning_unclosed("no tags")


def test_length_rewards_see_the_same_verdicts():
    spec = {"correctness": {"weight": 1.0}, "length": {"weight": 0.5, "reference": "group"}}
    done = "2 + 3 = 5\n</think>\n\nSo the total is \\boxed{5}."
    completions, ids = [done, done, done], [finished(4), finished(8), cut()]
    functions = stack(REASONING, spec)
    scores = score(functions, [QUESTION] * 3, completions, ids)
    # the cut one is incorrect: no correctness, no length penalty, and it does not enter the reference (mean 6)
    assert scores == {"correctness": [1.0, 1.0, 0.0], "length": [0.0, pytest.approx(-1 / 3), 0.0]}
    old = stack({**REASONING, "grade_unfinished": True}, spec)
    assert score(old, [QUESTION] * 3, completions, ids)["correctness"] == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------- deciding it from the tokenizer, as TRL renders


def tokenizer_with(chat_template: str | None):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<eos>": 1, "<pad>": 2}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")), eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.chat_template = chat_template
    return tokenizer


TURNS = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
R1_DISTILL_LIKE = TURNS + "{% if add_generation_prompt %}<|Assistant|><think>\n{% endif %}"
# Qwen3: in thinking mode the model writes <think> itself; with enable_thinking=False the template closes an empty one.
QWEN3_LIKE = TURNS + (
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


def test_generation_settings_render_the_chat_template_as_trl_does():
    from rewards.layout import chat_template_opens_reasoning, generation_settings

    assert generation_settings(tokenizer_with(R1_DISTILL_LIKE), 4096) == {
        "chat_opens_reasoning": True, "max_completion_length": 4096, "eos_token_ids": (1, 2),
    }  # fmt: skip
    qwen3 = tokenizer_with(QWEN3_LIKE)
    assert not chat_template_opens_reasoning(qwen3, {"enable_thinking": True})
    assert not chat_template_opens_reasoning(qwen3, {"enable_thinking": False})  # opened and closed: no reasoning to continue
    assert not chat_template_opens_reasoning(tokenizer_with(None))
    # what the settings do to a completion that only closes the tag
    checking = {"layout": "think_boxed", **generation_settings(tokenizer_with(R1_DISTILL_LIKE), BUDGET)}
    completion = "2 + 3 = 5\n</think>\n\n\\boxed{5}"
    assert score(stack(checking), [QUESTION], [completion], [[7, 1]]) == {"correctness": [1.0], "format": [1.0]}
    assert score(stack(checking), [QUESTION], [completion], [[7] * BUDGET])["correctness"] == [0.0]


# ---------------------------------------------------------------- the instruct-model layout (`boxed`)

INSTRUCT = {"layout": "boxed", "max_completion_length": BUDGET, "eos_token_ids": [EOS]}
INSTRUCT_SPEC = {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}, "language": {"weight": 0.1, "target": "en"}}


def test_an_instruct_models_plain_boxed_answer_is_paid_by_every_reward():
    # SmolLM2-Instruct's way of answering: steps in plain English, the answer boxed at the end; no tags anywhere.
    completion = "18 + 11 = 29. First I add the tens, then the ones. So, the final answer is $\\boxed{29}$."
    scores = score(stack(INSTRUCT, INSTRUCT_SPEC), [QUESTION], [completion], [finished()], golds=["29"])
    assert scores == {"correctness": [1.0], "format": [1.0], "language": [1.0]}


def test_a_bare_boxed_answer_is_well_formed_and_its_empty_reasoning_is_not_inconsistent():
    scores = score(stack(INSTRUCT, INSTRUCT_SPEC), [QUESTION], ["\\boxed{5}"], [finished()])
    assert scores == {"correctness": [1.0], "format": [1.0], "language": [1.0]}


def test_the_boxed_format_wants_exactly_one_box_at_the_end_and_no_tags():
    functions = stack(INSTRUCT, {"format": {"weight": 1.0}})
    completions = [
        "So it is \\boxed{5}. I hope it is correct.",       # prose after the box
        "Maybe \\boxed{4}? No: \\boxed{5}",                 # two boxes
        "<think>2+3</think> \\boxed{5}",                     # tags: not this layout
        "So it is \\boxed{}.",                              # an empty box
        "So it is 5.",                                      # no box
        "2 + 3 = 5, so \\[ \\boxed{5} \\]",                  # display math around the box: fine
    ]  # fmt: skip
    assert score(functions, [QUESTION] * 6, completions, [finished()] * 6)["format"] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_the_stated_fallback_grades_an_unboxed_final_answer_and_never_a_cut_one():
    functions = stack({**INSTRUCT, "fallback": "stated"}, INSTRUCT_SPEC)
    plain = "18 + 11 = 29. So, the final answer is 29."
    scores = score(functions, [QUESTION] * 3, [plain, plain, "18 + 11 = 29 and then"], [finished(), cut(), finished()], golds=["29"] * 3)
    assert scores["correctness"] == [1.0, 0.0, 0.0]  # right; right but cut at the budget; states nothing
    assert scores["format"] == [0.0, 0.0, 0.0] and scores["language"] == [1.0, 1.0, 1.0]
    # without the fallback only boxes are answers
    assert score(stack(INSTRUCT, INSTRUCT_SPEC), [QUESTION], [plain], [finished()], golds=["29"])["correctness"] == [0.0]


def test_an_unknown_layout_or_fallback_is_one_line_naming_the_choices():
    with pytest.raises(ValueError, match="layout must be one of r1_zero, think_boxed, boxed"):
        rewards.AnalysisOptions(layout="instruct")
    with pytest.raises(ValueError, match="'stated'"):
        rewards.AnalysisOptions(fallback="words")
