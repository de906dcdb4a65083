"""The language suite's pieces that need no training: the mixing traces, the two reward stacks, the report."""

import json
import random
from types import SimpleNamespace

import pytest

from rewards import build
from rl.data.tasks import reasoning_trace, switch_language
from rl.demo.language import (
    REFERENCE,
    WITH_LANGUAGE,
    MixingWarmStart,
    check_only_the_language_weight_differs,
    language_rewards,
    mixing_rows,
    run_configs,
)
from rl.demo.pipeline import DemoSettings
from rl.demo.report import language_report
from rl.demo.sft import TraceMix

QUESTION = "Compute 4 + 3 - 5 ."


def language_share(completion: str) -> float:
    [reward], _ = build({"language": {"weight": 1.0, "target": "en"}})
    return reward(prompts=["<think>"], completions=[completion], completion_ids=[[1]])[0]


def test_a_switched_trace_drifts_into_chinese_after_its_first_derivation_and_keeps_its_answer():
    english, answer = reasoning_trace(QUESTION, 3, False, random.Random(0))
    switched = switch_language(english)
    reasoning = switched.split("</think>")[0]
    assert "Let me double-check" not in reasoning and reasoning.count("验算") == 3
    assert reasoning.startswith(" 4 + 3 = 7 . 7 - 5 = 2 . 验算 .")
    assert reasoning.endswith("答 2 . ") and "So the answer" not in switched
    assert switched.endswith("</think> <answer> 2 </answer>") and answer == "2"
    assert [line for line in switched.split(" . ") if "=" in line] == [line for line in english.split(" . ") if "=" in line]
    # the reward sees it: no English word is left among 3 x 2 + 1 Han characters
    assert language_share(english) == 1.0
    assert language_share(switched) == 0.0
    assert language_share(english.replace(" 2 . So", " 2 . 验算 . So")) == pytest.approx(16 / 18)  # one more re-check, in Chinese: 16 of 18 words
    assert language_share(switch_language(" So the answer is 2 . </think> <answer> 2 </answer>")) == 0.0  # a guess: all Chinese


def test_mixing_rows_switch_the_asked_share_deterministically():
    questions = [{"question": f"Compute {a} + {b} ."} for a in range(1, 6) for b in range(1, 6)]
    warm = MixingWarmStart(mixed_share=0.7, trace_mix=TraceMix(traces_per_question=8))
    rows = mixing_rows(questions, warm, seed=0)
    assert rows == mixing_rows(questions, warm, seed=0)
    assert len(rows) == 200 and 0.6 < sum(row["mixed"] for row in rows) / len(rows) < 0.8
    for row in rows:
        assert row["mixed"] == (" 答 " in row["completion"])
    assert not any(row["mixed"] for row in mixing_rows(questions, MixingWarmStart(mixed_share=0.0), seed=0))


def test_the_two_runs_differ_only_in_the_language_weight(tmp_path):
    stacks = language_rewards({"correctness": {"weight": 1.0}, "format": {"weight": 0.2}}, {"weight": 0.5, "target": "en"})
    assert stacks[REFERENCE]["language"] == {"weight": 0.0, "target": "en"}  # scored for the curve, never paid
    assert stacks[WITH_LANGUAGE]["language"] == {"weight": 0.5, "target": "en"}
    settings = DemoSettings(out_dir=tmp_path)
    configs = run_configs(settings, SimpleNamespace(language={"weight": 0.5, "target": "en"}), "tiny:demo")
    assert configs[WITH_LANGUAGE].rewards["language"]["weight"] == 0.5 and configs[REFERENCE].trainer["output_dir"].endswith(REFERENCE)
    changed = {**configs, WITH_LANGUAGE: configs[WITH_LANGUAGE].model_copy(update={"trainer": {**configs[WITH_LANGUAGE].trainer, "learning_rate": 1e-3}})}
    with pytest.raises(AssertionError, match="more than the language reward's weight"):
        check_only_the_language_weight_differs(changed)
    target = {**configs[WITH_LANGUAGE].rewards, "language": {"weight": 0.5, "target": "de"}}
    with pytest.raises(AssertionError):
        check_only_the_language_weight_differs({**configs, WITH_LANGUAGE: configs[WITH_LANGUAGE].model_copy(update={"rewards": target})})


def write_eval(directory, answers: list[tuple[bool, float]]) -> None:
    for decoding in ("greedy", "sampled"):
        out = directory / decoding
        out.mkdir(parents=True)
        samples = [{"id": f"q{i}", "question": f"Compute {i} + 1 .", "completion": f" {'答' if share < 1 else 'So the answer is'} {i} .",
                    "correct": correct, "language_share": share} for i, (correct, share) in enumerate(answers)]  # fmt: skip
        (out / "samples.jsonl").write_text("".join(json.dumps(sample) + "\n" for sample in samples))
        summary = {"accuracy": sum(c for c, _ in answers) / len(answers), "mean_tokens": 30.0, "format_rate": 1.0, "questions": len(answers),
                   "language_consistency": sum(s for _, s in answers) / len(answers), "pass@1": 0.5, "samples_per_question": 1}  # fmt: skip
        (out / "summary.json").write_text(json.dumps(summary))


def test_the_report_checks_the_claim_and_draws_the_curves(tmp_path):
    names = {"warm_start": "warm", "reference": "ref", "with_language": "lang"}
    write_eval(tmp_path / "eval" / "warm", [(False, 0.0), (True, 0.4), (False, 1.0), (True, 0.0)])
    write_eval(tmp_path / "eval" / "ref", [(True, 0.0), (True, 0.4), (True, 1.0), (False, 0.4)])
    write_eval(tmp_path / "eval" / "lang", [(True, 1.0), (True, 1.0), (True, 1.0), (False, 1.0)])
    for name, start in (("ref", 0.4), ("lang", 0.4)):
        (tmp_path / name).mkdir()
        rows = [{"step": step, "accuracy": 0.5, "language/consistency_mean": start + (0.03 * step if name == "lang" else 0)} for step in range(1, 21)]
        (tmp_path / name / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    configs = {name: SimpleNamespace(rewards={"language": {"weight": weight}}) for name, weight in (("ref", 0.0), ("lang", 0.5))}
    report = language_report(tmp_path, names, configs, {"trainer": {}}, {"sft-mixing": 10.0, "rl-ref": 20.0}, {"mixed_share": 0.7})
    checks = report["comparisons"]
    assert checks["consistency_gain"] == pytest.approx(1.0 - 0.45)
    assert checks["acceptance"] == {"consistency_at_least_0.95": True, "gain_at_least_0.2": True, "accuracy_within_2_points": True}
    assert report["runs"]["ref"]["mixing_rate"] == 0.75 and report["runs"]["lang"]["training_consistency"] == {"first_10_steps": pytest.approx(0.565), "last_10_steps": pytest.approx(0.865)}
    assert report["example"]["question"] == "Compute 0 + 1 ."
    text = (tmp_path / "report.md").read_text()
    assert "| + language | 0.750 | 30.0 | 1.000 | 0.00 | 1.00 / 0.00 / 0.00 |" in text and "accuracy_within_2_points yes" in text
    assert (tmp_path / "language.png").stat().st_size > 10_000
