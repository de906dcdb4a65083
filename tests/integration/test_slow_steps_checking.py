"""A real GRPO run whose steps outlast the answer checker's old 30-second start-up bound still checks every answer.

Symbolic golds (`\\sqrt{49}` for 7) send every extracted answer to a sympy worker process: the
in-process fast path decides none of them, so a checker that failed to start would show here as
`rewards/errors` > 0 and an accuracy of 0.
"""

import json
import math
import time

import pytest

import rl.train.train
from rl.config import load_config
from rl.data.tasks import ArithmeticTask, generate_rows
from rl.demo.base import shipped_base_dir
from rl.train.callbacks import ClippedRatioWarning

pytestmark = pytest.mark.integration
STEP_SECONDS = 31.0  # longer than the old bound, counted from when the stack was built


class SlowStep(ClippedRatioWarning):
    """The trainer's own callback, plus the wait of a slow step (a real model's generation) before each step."""

    def on_step_begin(self, args, state, control, **kwargs):
        time.sleep(STEP_SECONDS)


def symbolic_gold(answer: str) -> str:
    value = int(answer)
    return ("-" if value < 0 else "") + rf"\sqrt{{{value * value}}}"


def test_grpo_steps_longer_than_the_old_start_up_bound_check_every_latex_answer(tmp_path, monkeypatch):
    rows = generate_rows(64, "train", ArithmeticTask(min_terms=2, max_terms=3, max_operand=5, operators="+-"), seed=0)
    data = tmp_path / "latex.jsonl"
    data.write_text("".join(json.dumps({**row, "answer": symbolic_gold(row["answer"])}) + "\n" for row in rows))
    config = load_config("demo/r1_zero", [
        f"model.name_or_path={shipped_base_dir()}", f"data.source={data}", f"trainer.output_dir={tmp_path / 'run'}",
        "trainer.max_steps=3", "trainer.per_device_train_batch_size=16", "trainer.num_generations=4",
        "trainer.max_completion_length=64", "trainer.save_steps=100",
    ])  # fmt: skip
    monkeypatch.setattr(rl.train.train, "ClippedRatioWarning", SlowStep)
    started = time.monotonic()
    run = rl.train.train.train(config)
    assert time.monotonic() - started > 3 * STEP_SECONDS
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"rewards/errors"' in line]
    assert [row["step"] for row in steps] == [1, 2, 3]
    for row in steps:
        assert row["rewards/errors"] == 0, row
        assert row["accuracy"] > 0 and not math.isnan(row["accuracy"]), row  # sympy decided some answers right
