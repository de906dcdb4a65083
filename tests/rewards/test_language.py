import pytest

from rewards import build
from rewards.language import dominant_script, script_share, script_units


def test_cjk_counted_per_character_and_latex_ignored():
    units = script_units(r"我们 compute $\frac{a}{b}$ then 123")
    assert [u for u, s in units if s == "Han"] == ["我", "们"]
    assert [u for u, s in units if s == "Latin"] == ["compute", "then"]


def test_share_of_target_script():
    assert script_share("first we add 首先 we", "Latin") == pytest.approx(4 / 6)
    assert script_share("$x^2$ 42 + ()", "Latin") is None
    assert dominant_script("Что такое 2+2?") == "Cyrillic"


def _call(reward, reasoning, **columns):
    text = f"<think>{reasoning}</think><answer>1</answer>"
    return reward(prompts=["p"], completions=[text], completion_ids=[[1]], **columns)[0]


def test_language_reward_target_param_column_and_detection():
    [by_param], _ = build({"language": {"weight": 1.0, "target": "en"}})
    assert _call(by_param, "we add the numbers") == 1.0
    assert _call(by_param, "我们 add") == pytest.approx(1 / 3)
    [by_column], _ = build({"language": {"weight": 1.0}})
    assert _call(by_column, "我们先加", language=["zh"]) == 1.0
    assert _call(by_column, "我们先加", question=["What is 1+1?"]) == 0.0
    assert _call(by_column, "$1+1=2$", question=["What is 1+1?"]) == 1.0
    assert _call(by_column, "", question=["What is 1+1?"]) == 0.0


def test_logs_consistency_metric():
    [reward], _ = build({"language": {"weight": 1.0, "target": "en"}})
    logged = {}
    reward(prompts=["p"], completions=["<think>ok 好</think>"], completion_ids=[[1]], log_metric=logged.__setitem__)
    assert logged["language/consistency_mean"] == pytest.approx(0.5)


def test_undecodable_bytes_are_words_in_no_language():
    # a byte-level model's broken Chinese decodes to U+FFFD: garbling a foreign word must not read as consistent
    [reward], _ = build({"language": {"weight": 1.0, "target": "en"}})
    assert _call(reward, "2 + 3 = 5 . \ufffd\ufffd 5 .") == 0.0
    assert _call(reward, "2 + 3 = 5 . So \ufffd 5 .") == pytest.approx(0.5)
    assert _call(reward, "2 + 3 = 5 .") == 1.0
    assert script_units("ok \ufffd\ufffd 好") == [("ok", "Latin"), ("好", "Han"), ("\ufffd\ufffd", "Undecodable")]
