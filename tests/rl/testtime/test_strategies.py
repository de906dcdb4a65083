"""`rl eval --strategy best_of_n`: the verifier's pick is the answer, its weighted vote is reported, every sample's tokens are paid."""

import json
from pathlib import Path

import pytest

from rl.config import load_config
from rl.errors import ConfigError
from rl.eval.generation import EvalSettings
from rl.testtime.evaluate import evaluate
from rl.testtime.selection import StepScoring
from rl.testtime.strategies import Strategy

SMOKE = Path(__file__).resolve().parents[3] / "configs" / "demo" / "smoke.yaml"


def answer(value: str) -> str:
    return f" 1 + 1 = {value} . </think> <answer> {value} </answer>"


class TableVerifier:
    """An outcome verifier with a fixed score per completion text: scripted, not learned."""

    kind = "outcome"

    def __init__(self, scores: dict[str, float]):
        self.scores = scores
        self.seen: list[str] = []

    def score(self, prompts, completions):
        self.seen += completions
        return [self.scores[completion] for completion in completions]

    def score_steps(self, prompts, steps):
        raise AssertionError("an outcome verifier scores whole completions")


@pytest.fixture
def fake_generation(monkeypatch):
    """Each of the 2 questions gets 3 samples: two wrong ones that agree, one right one (the gold of the smoke set's rows)."""
    import rl.data.models as models_module
    import rl.eval.rollout as rollout_module

    def generate(model_path, prompts, settings, max_new_tokens, chat_template_kwargs=None, **generation):
        return [[(answer("-77"), [5] * 7), (answer(gold), [5] * 11), (answer("-77"), [5] * 6)] for gold in golds]

    golds: list[str] = []
    monkeypatch.setattr(rollout_module, "generate_hf", generate)
    monkeypatch.setattr(rollout_module, "use_vllm", lambda: False)
    monkeypatch.setattr(models_module, "resolve_model", lambda settings: "unused")
    monkeypatch.setattr(models_module, "generation_checking", lambda path, checking, budget, *rest: dict(checking))
    from rl.data.rows import load_rows

    config = load_config(SMOKE)
    golds += [row["answer"] for row in load_rows(config.data.model_copy(update={"limit": 2}), config.prompt, split="test")]
    return config, golds


def test_best_of_n_answers_with_the_verifiers_choice_and_pays_for_all_samples(fake_generation, tmp_path):
    config, golds = fake_generation
    scores = {answer("-77"): 0.3, **{answer(gold): 0.9 for gold in golds}}
    verifier = TableVerifier(scores)
    summary = evaluate(config, "tiny:test", EvalSettings(samples=3, limit=2), tmp_path, Strategy(name="best_of_n"), verifier)

    assert summary["strategy"] == "best_of_n"
    assert summary["maj@3"] == 0.0  # the two agreeing wrong answers win the plain vote
    assert summary["answer_accuracy"] == summary["best_of_n_accuracy"] == 1.0  # the verifier picks the right one
    assert summary["weighted_vote_accuracy"] == 1.0  # 0.9 for the right answer against 0.3 + 0.3
    assert summary["generated_tokens_per_question"] == 7 + 11 + 6  # the discarded samples are paid for
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert [s["chosen"] for s in samples] == [False, True, False] * 2
    assert [s["verifier_score"] for s in samples] == [0.3, 0.9, 0.3] * 2
    assert len(verifier.seen) == 6


def test_weighted_vote_follows_the_scores_not_the_count(fake_generation, tmp_path):
    config, golds = fake_generation
    verifier = TableVerifier({answer("-77"): 0.5, **{answer(gold): 0.8 for gold in golds}})
    summary = evaluate(config, "tiny:test", EvalSettings(samples=3, limit=2), tmp_path, Strategy(name="best_of_n"), verifier)
    assert summary["best_of_n_accuracy"] == 1.0 and summary["weighted_vote_accuracy"] == 0.0  # 0.5 + 0.5 > 0.8


def test_sample_and_greedy_report_their_answer_and_token_cost(fake_generation, tmp_path):
    config, _ = fake_generation
    summary = evaluate(config, "tiny:test", EvalSettings(samples=3, limit=2), tmp_path, Strategy(name="sample"))
    assert summary["answer_accuracy"] == summary["maj@3"] == 0.0
    assert summary["generated_tokens_per_question"] == 24


def test_strategies_reject_settings_that_do_not_fit(fake_generation, tmp_path):
    config, _ = fake_generation
    with pytest.raises(ConfigError, match="needs --verifier"):
        evaluate(config, "tiny:test", EvalSettings(samples=3, limit=2), tmp_path, Strategy(name="best_of_n"))
    with pytest.raises(ConfigError, match="--beams"):
        evaluate(config, "tiny:test", EvalSettings(samples=3, limit=2), tmp_path, Strategy(name="beam"), TableVerifier({}))
    with pytest.raises(ConfigError, match="unknown 'beamsearch'"):
        Strategy(name="beamsearch")
    with pytest.raises(ConfigError, match="--aggregation"):
        StepScoring(aggregation="mean")


def shortest_sample(run, per_question, state) -> dict:
    """A strategy of this test module: each question's answer is its shortest sample's."""
    from rl.eval.metrics import mean

    return {"answer_accuracy": mean([min(graded, key=lambda s: s["tokens"])["correct"] for graded in per_question])}


@pytest.fixture
def registered_strategy():
    from rl.testtime import strategies

    # A new strategy is one declaration and one line:
    strategies.register_strategy(strategies.StrategyKind("shortest", "the shortest of K samples", strategies.sampled, choose=shortest_sample))
    yield "shortest"
    del strategies.STRATEGY_KINDS["shortest"]  # the registration ends with the test


def test_a_strategy_declared_in_a_test_module_runs_through_rl_eval(fake_generation, registered_strategy, tmp_path):
    from rl.cli import build_parser

    config, _ = fake_generation
    summary = evaluate(config, "tiny:test", EvalSettings(samples=3, limit=2), tmp_path, Strategy(name=registered_strategy))
    assert summary["strategy"] == "shortest" and summary["answer_accuracy"] == 0.0  # the shortest sample (6 tokens) is wrong
    assert summary["generated_tokens_per_question"] == 24 and summary["maj@3"] == 0.0
    args = build_parser().parse_args(["eval", "--model", "tiny:test", "--config", str(SMOKE), "--strategy", "shortest"])
    assert args.strategy == "shortest"
