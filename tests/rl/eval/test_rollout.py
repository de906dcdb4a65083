"""`rl.eval.rollout.RolloutContext`: built once from (config, model); its budget, checking options and grading."""

from pathlib import Path

import pytest

from rl.config import load_config
from rl.eval.rollout import RolloutContext

SMOKE = Path(__file__).resolve().parents[3] / "configs" / "demo" / "smoke.yaml"


@pytest.fixture
def context(monkeypatch):
    import rl.data.models as models_module

    built = []
    monkeypatch.setattr(models_module, "resolve_model", lambda settings: f"resolved:{settings.name_or_path}")

    def checking(path, answer_checking, budget, chat_template_kwargs=None, trust_remote_code=False):
        built.append(path)
        return {"chat_opens_reasoning": False, "max_completion_length": budget, "eos_token_ids": (0,), **answer_checking}

    monkeypatch.setattr(models_module, "generation_checking", checking)
    config = load_config(SMOKE, ["answer_checking.timeout_s=2.0"])
    return RolloutContext.build(config, "tiny:other", backend="hf"), built


def test_the_context_holds_the_model_budget_and_checking_options(context):
    context, built = context
    assert context.model_path == "resolved:tiny:other" and built == ["resolved:tiny:other"]
    assert context.max_completion_length == 32  # the smoke preset's trainer.max_completion_length
    assert context.checking == {"chat_opens_reasoning": False, "max_completion_length": 32, "eos_token_ids": (0,), "timeout_s": 2.0}
    assert context.reward_weights == [1.0, 0.2, 0.1, 0.5]
    shorter = context.with_budget(8)
    assert shorter.checking["max_completion_length"] == 8 and context.checking["max_completion_length"] == 32
    assert context.with_budget(None) is context and built == ["resolved:tiny:other"]  # the tokenizer is read once


def test_grading_reads_the_parsed_entries_and_never_parses_again(context, monkeypatch):
    import rewards.spec

    context, _ = context
    monkeypatch.setattr(rewards.spec, "parse_spec", lambda *args, **kwargs: pytest.fail("parsed again"))
    rows = [{"prompt": "Compute 1 + 1 .", "answer": "2", "id": "q", "question": "1 + 1"}]
    graded = context.grade(rows, [[(" 1 + 1 = 2 . </think> <answer> 2 </answer>", [5, 6, 0]), (" <answer> 3 </answer>", [5, 0])]])
    assert [sample["correct"] for sample in graded[0]] == [True, False]
    assert list(context.grading_stack) == ["correctness", "format", "language"]
    assert [function.__name__ for function in context.reward_functions()] == ["correctness", "format", "language", "length"]
