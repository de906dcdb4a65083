import pytest

from rewards import extract_answer
from rewards.extract import last_boxed


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>2+2</think><answer>4</answer>", "4"),
        (r"<think>..</think><answer>The answer is \boxed{\frac{1}{2}}.</answer>", r"\frac{1}{2}"),
        (r"<think>\boxed{9}</think><answer>\boxed{1} then \boxed{\sqrt{\frac{2}{3}}}</answer>", r"\sqrt{\frac{2}{3}}"),
        (r"no tags, so \boxed{3} then \boxed{{7}}", "{7}"),
        ("<think>I think it is 7</think><answer></answer>", None),
        ("<think>I think it is 7</think><answer>   </answer>", None),
        ("<think>I think it is 7</think>", None),
        ("I think it is 7", None),
        ("", None),
        (r"<answer>\boxed{unclosed</answer>", r"\boxed{unclosed"),
    ],
)
def test_extract_answer_follows_the_documented_order(completion, expected):
    assert extract_answer(completion) == expected


def test_number_inside_think_is_never_graded_even_with_fallback():
    assert extract_answer("<think>the result is 42</think>", fallback="last_number") is None


def test_last_number_fallback_for_plain_gsm8k_outputs():
    assert extract_answer("so she earns 1,250 dollars, then 10", fallback="last_number") == "10"


def test_unknown_fallback_is_rejected():
    with pytest.raises(ValueError, match="fallback"):
        extract_answer("x", fallback="first_number")


def test_last_boxed_handles_nesting_and_space_form():
    assert last_boxed(r"\boxed{\frac{a}{\sqrt{b}}}") == r"\frac{a}{\sqrt{b}}"
    assert last_boxed(r"\boxed 5") == "5"
    assert last_boxed(r"\fbox{x}") == "x"
    assert last_boxed("no box") is None


def test_huge_input_is_fast():
    import time

    text = "<think>" + "{" * 100_000 + "</think>" + r"\boxed{" * 5000
    start = time.perf_counter()
    assert extract_answer(text) is None
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("**73**", "73"), ("__73__", "73"), ("*73*", "73"), ("_73_", "73"), ("***-5***", "-5"), ("`73`", "73"),
        ("$73$.", "73"), ("$$73$$", "73"), (r"\(73\)", "73"), (r"\textbf{73}", "73"), (r"\mathbf{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"**$\boxed{73}$**", "73"), ("The answer is **73**.", "73"), ("**Answer:** 12 apples", "12"),
        # not decoration: products, powers, subscripts, parts of a larger expression
        ("2**3", "2**3"), ("a * b * c", "a * b * c"), ("x_1 + x_2", "x_1 + x_2"), (r"\textbf{1} + \textbf{2}", r"\textbf{1} + \textbf{2}"),
        ("$1$ and $2$", "1, 2"),
    ],
)  # fmt: skip
def test_decoration_around_an_answer_is_dropped(section, expected):
    assert extract_answer(f"<think>t</think><answer>{section}</answer>") == expected


def test_boxes_in_the_answer_section_form_a_list():
    assert extract_answer(r"<think>list them</think><answer>\boxed{3}, \boxed{5}, \boxed{7}</answer>") == "3, 5, 7"
    assert extract_answer(r"<answer>$\boxed{1}$ and $\boxed{2}$</answer>") == "1, 2"


def test_hostile_decoration_is_fast():
    import time

    for section in ("*a " * 50_000, "**" * 50_000, r"\textbf{" * 5000 + "7" + "}" * 5000, "_x" * 50_000 + "_"):
        start = time.perf_counter()
        extract_answer(f"<think>t</think><answer>{section}</answer>")
        assert time.perf_counter() - start < 1.0, section[:20]
