"""Held-out evaluation during training with the real GRPOTrainer: the steps it logs at, its numbers, and that it leaves training alone."""

from pathlib import Path

import pytest

from rl.config import load_config
from rl.demo.base import shipped_base_dir
from rl.eval.generation import EvalSettings
from rl.eval.plot import curves_figure, read_metrics
from rl.testtime.evaluate import evaluate
from rl.train.train import train

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"
pytestmark = pytest.mark.integration


def base_overrides(run: Path) -> list[str]:
    # The shipped warm start on the demo's task: it answers some held-out questions right, so accuracy is not 0 throughout.
    return [
        f"trainer.output_dir={run}", f"model.name_or_path={shipped_base_dir()}", "trainer.max_steps=4",
        "data.generated={train_size: 32, test_size: 16, seed: 0, min_terms: 2, max_terms: 4, max_operand: 5, operators: '+-'}",
        "trainer.max_completion_length=48", "trainer.save_steps=4", "trainer.learning_rate=1e-3",
    ]  # fmt: skip


def training_rows(run: Path) -> list[dict]:
    return [row for row in read_metrics(run) if "completions/mean_length" in row]


def test_eval_metrics_are_logged_at_step_0_and_every_n_steps_and_equal_rl_eval_of_those_models(tmp_path):
    run = tmp_path / "run"
    overrides = [*base_overrides(run), "eval_during_training.every_steps=2", "eval_during_training.limit=12"]
    config = load_config(SMOKE, overrides)
    train(config)

    records = read_metrics(run)
    evals = [row for row in records if "eval/accuracy" in row]
    assert [row["step"] for row in evals] == [0, 2, 4]
    assert [row["step"] for row in training_rows(run)] == [1, 2, 3, 4]  # every step's training record is still written
    assert not any("eval/accuracy" in row for row in training_rows(run))
    for row in evals:
        assert row["eval/questions"] == 12
        for key in ("eval/mean_tokens", "eval/format_rate", "eval/unfinished_rate"):
            assert key in row, key
    assert any(row["eval/accuracy"] > 0 for row in evals)

    # The same questions, decoding and grading as `rl eval`: its numbers for the starting and the final model.
    settings = EvalSettings(greedy=True, limit=12, batch_size=32)
    for row, model in ((evals[0], shipped_base_dir()), (evals[-1], run)):
        summary = evaluate(config, str(model), settings, tmp_path / f"eval-{row['step']}")
        for key in ("accuracy", "mean_tokens", "mean_tokens_correct", "mean_tokens_incorrect", "format_rate"):
            assert row.get(f"eval/{key}") == pytest.approx(summary[key]), (row["step"], key)

    figure = curves_figure({"run": records})
    held_out = [axis for axis in figure.axes if axis.get_title().startswith("Held-out")]
    assert [axis.get_title() for axis in held_out] == ["Held-out accuracy (eval during training)", "Held-out mean tokens (eval during training)"]
    steps_drawn = held_out[0].get_lines()[0].get_xdata()
    assert list(steps_drawn) == [0, 2, 4]


def test_sampled_eval_during_training_leaves_the_training_run_unchanged(tmp_path):
    plain = train(load_config(SMOKE, [*base_overrides(tmp_path / "plain"), "trainer.max_steps=2"]))
    with_eval = train(load_config(SMOKE, [
        *base_overrides(tmp_path / "with_eval"), "trainer.max_steps=2", "eval_during_training.every_steps=1",
        "eval_during_training.limit=4", "eval_during_training.greedy=false", "eval_during_training.samples=2",
    ]))  # fmt: skip
    keys = ("completions/mean_length", "accuracy", "loss", "grad_norm", "reward")
    assert [[row[k] for k in keys] for row in training_rows(plain)] == [[row[k] for k in keys] for row in training_rows(with_eval)]
    assert [row["step"] for row in read_metrics(with_eval) if "eval/accuracy" in row] == [0, 1, 2]
