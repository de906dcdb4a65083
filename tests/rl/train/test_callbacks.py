"""The clipped-ratio warning: once, after `patience` logging steps above the threshold in a row."""

import logging
from types import SimpleNamespace

from rl.train.callbacks import ClippedRatioWarning


def test_the_clipped_ratio_warning_fires_once_after_a_run_of_high_steps(caplog):
    callback = ClippedRatioWarning(threshold=0.5, patience=3)
    args, state = SimpleNamespace(max_completion_length=64), SimpleNamespace(is_world_process_zero=True)
    with caplog.at_level(logging.WARNING, logger="rl.callbacks"):
        for ratio in (0.9, 0.9, 0.2, 0.9, 0.9):  # a dip resets the count
            callback.on_log(args, state, None, logs={"completions/clipped_ratio": ratio})
        callback.on_log(args, state, None, logs={"loss": 1.0})  # steps without the metric do not count
        assert not caplog.records
        for _ in range(5):
            callback.on_log(args, state, None, logs={"completions/clipped_ratio": 1.0})
    assert len(caplog.records) == 1
    assert "trainer.max_completion_length (64)" in caplog.records[0].getMessage()
