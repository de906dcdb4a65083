"""The shared batch analysis (rewards/analysis.py): unchecked answers are counted and reported, once per bad stretch."""

import logging

from rewards.analysis import AnalysisOptions, Analyzer

HOSTILE = r"9^{9^{9^{9^{9}}}}"  # sympy would work on this for ever: every check of it overruns its bound


def completions(answers: list[str]) -> list[str]:
    return [f"<think>so</think><answer>{answer}</answer>" for answer in answers]


def analyse(analyzer: Analyzer, answers: list[str], golds: list[str]):
    analysis = analyzer.analyse(["Q:"] * len(answers), completions(answers), None, answer=golds)
    analysis.correct  # noqa: B018 - decides correctness, as the first reward of a step does
    return analysis


def test_a_batch_with_unchecked_answers_says_so_once_with_the_reason_and_again_after_a_good_batch(caplog):
    analyzer = Analyzer(AnalysisOptions(timeout_s=0.3))
    with caplog.at_level(logging.WARNING, logger="rewards.verify"):
        bad = analyse(analyzer, [HOSTILE, r"\sqrt{4}"], ["1", "2"])
        assert bad.check_failures == 1 and bad.correct == [False, True]
        analyse(analyzer, [HOSTILE + "+1", r"\sqrt{9}"], ["1", "3"])  # still bad: no second warning
        good = analyse(analyzer, [r"\sqrt{25}", r"\frac{x}{x}"], ["5", "1"])
        assert good.check_failures == 0 and good.correct == [True, True]
        analyse(analyzer, [HOSTILE + "+2", r"\sqrt{36}"], ["1", "6"])  # bad again: warned again
    warnings = [record.getMessage() for record in caplog.records if "went unchecked" in record.getMessage()]
    assert len(warnings) == 2
    assert "1 of 2 answers" in warnings[0] and "overran the per-check bound" in warnings[0]
